/*
 * Test tool: appends deterministic records to a topic through the core, or
 * prints what those records are, so tests can compare a volume's contents
 * byte for byte.
 *
 *   lfs_write [options] VOLUME TOPIC     append records
 *   lfs_write [options] --expect A B     print records A..B-1 (no volume)
 *
 *   -n N          records to append (default 100)
 *   -r SIZE       bytes per record, the line's '\n' included (default 100)
 *   -b K          records per append, i.e. per batch (default 1)
 *   -w            write framing (binary records); set when the topic is new
 *   -s SIZE       the topic's segment_size (set when given)
 *   --crash       exit without closing the volume: state stays dirty and
 *                 the active segment keeps its preallocated tails. It
 *                 syncs first, so rolled segments carry their seals (a
 *                 crash that finds nothing torn); --crash-nosync does not
 *                 (rolled segments are left unsealed)
 *   --hold        after appending, print "ready" and keep the volume open
 *                 (locked) until standard input reaches end of file or a
 *                 SIGTERM arrives
 *
 * Record number i (its offset in the topic) has the same bytes whoever
 * writes it: line framing "rec 0000000042 abcdef...\n"; write framing the
 * number then pseudo-random bytes (with '\n' and NUL among them).
 */
#include "logfs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what, int rc)
{
	fprintf(stderr, "lfs_write: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(2);
}

static void record(uint64_t i, size_t size, bool binary, unsigned char *out)
{
	if (!binary) {
		int n = snprintf((char *)out, size, "rec %010llu ", (unsigned long long)i);
		for (size_t k = (size_t)n; k + 1 < size; k++)
			out[k] = (unsigned char)('a' + (i + k) % 26);
		out[size - 1] = '\n';
		return;
	}
	uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
	for (size_t k = 0; k < size; k++) {
		if (k < 8) {
			out[k] = (unsigned char)(i >> (8 * k));
			continue;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out[k] = (unsigned char)(x % 7 == 0 ? '\n' : x % 11 == 0 ? 0 : x >> 24);
	}
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	uint64_t n = 100, rsize = 100, batch = 1, segsize = 0, ea = 0, eb = 0;
	bool binary = false, crash = false, crash_sync = false, hold = false, expect = false;
	const char *pos[2];
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-n") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "-r") && i + 1 < argc)
			rsize = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "-b") && i + 1 < argc)
			batch = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "-s") && i + 1 < argc) {
			if (lfs_parse_size(argv[++i], &segsize) < 0)
				die("bad -s", EINVAL);
		} else if (!strcmp(a, "-w"))
			binary = true;
		else if (!strcmp(a, "--crash"))
			crash = crash_sync = true;
		else if (!strcmp(a, "--crash-nosync"))
			crash = true;
		else if (!strcmp(a, "--hold"))
			hold = true;
		else if (!strcmp(a, "--expect") && i + 2 < argc) {
			expect = true;
			ea = strtoull(argv[++i], NULL, 10);
			eb = strtoull(argv[++i], NULL, 10);
		} else if (a[0] != '-' && npos < 2)
			pos[npos++] = a;
		else {
			fprintf(stderr, "lfs_write: bad argument '%s'\n", a);
			return 2;
		}
	}
	if (rsize < 16 || batch == 0)
		die("record size must be >= 16 and batch >= 1", EINVAL);
	unsigned char *buf = malloc(rsize * batch);
	if (!buf)
		die("malloc", ENOMEM);

	if (expect) {
		for (uint64_t i = ea; i < eb; i++) {
			record(i, rsize, binary, buf);
			if (fwrite(buf, 1, rsize, stdout) != rsize)
				die("stdout", errno);
		}
		free(buf);
		return fflush(stdout) ? 2 : 0;
	}
	if (npos != 2) {
		fprintf(stderr, "usage: lfs_write [options] VOLUME TOPIC\n");
		return 2;
	}

	lfs_volume *v;
	lfs_topic *t;
	int rc = lfs_volume_open(pos[0], NULL, &v, NULL);
	if (rc < 0)
		die("open volume", rc);
	rc = lfs_topic_get(v, pos[1], &t);
	if (rc == -ENOENT) {
		struct lfs_topic_meta m = {.mode = 0755, .uid = getuid(), .gid = getgid()};
		rc = lfs_topic_create(v, pos[1], &m, &t);
		if (rc == 0 && binary)
			rc = lfs_topic_set(t, LFS_SET_FRAMING, "write");
	}
	if (rc < 0)
		die("topic", rc);
	if (segsize) {
		char s[32];
		snprintf(s, sizeof(s), "%llu", (unsigned long long)segsize);
		rc = lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, s);
		if (rc < 0)
			die("segment_size", rc);
	}
	struct lfs_settings st;
	lfs_topic_settings(t, &st);
	if (binary && st.framing != LFS_FRAMING_WRITE)
		die("-w on a line-framed topic", EINVAL);
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	uint64_t i = ts.next_offset, end = ts.next_offset + n;
	while (i < end) {
		if (binary) {
			record(i, rsize, true, buf);
			struct iovec iov = {buf, rsize};
			rc = lfs_topic_append(t, LFS_FRAMING_WRITE, &iov, 1, NULL);
			i++;
		} else {
			uint64_t k = 0;
			for (; k < batch && i + k < end; k++)
				record(i + k, rsize, false, buf + k * rsize);
			struct iovec iov = {buf, k * rsize};
			rc = lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL);
			i += k;
		}
		if (rc < 0)
			die("append", rc);
	}
	if (crash_sync) {
		int r = lfs_topic_sync(t);
		if (r < 0)
			die("sync", r);
	}
	if (crash)
		_exit(0);
	if (hold) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigaction(SIGTERM, &sa, NULL);
		printf("ready\n");
		fflush(stdout);
		char c;
		while (!stop && read(0, &c, 1) > 0)
			;
	}
	lfs_topic_put(t);
	rc = lfs_volume_close(v);
	if (rc < 0)
		die("close", rc);
	free(buf);
	return 0;
}
