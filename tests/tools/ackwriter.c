/*
 * ackwriter: appends self-describing records (ackrec.h) to a logfs `tail`
 * and logs what write(2) acknowledged, for the reliability suites
 * (tests/integration/reliability_*.sh, docs/RELIABILITY.md).
 *
 *   ackwriter -p TAIL -i WID -a ACKFILE [options]
 *
 *   -p PATH    the topic's tail file (opened O_WRONLY|O_APPEND)
 *   -i WID     writer id, 0..65535: each record carries it; sequence
 *              numbers run 0, 1, 2, ... per writer id
 *   -a FILE    ack log (on a non-logfs directory), appended line by line
 *              with write(2), so it survives the death of the daemon:
 *                I FIRST LAST   before a write(2) holding records FIRST..LAST
 *                A LAST         write(2) returned: FIRST..LAST acknowledged
 *                S LAST         durable: fsync(2) returned (or -d)
 *                E ERRNO FIRST  write(2) or fsync(2) failed
 *   -b         write framing: binary payloads, one record per write(2)
 *              (default: line framing, printable payloads)
 *   -n COUNT   stop after COUNT records (default: no limit)
 *   -t SECS    stop after SECS seconds (default: no limit)
 *   -q FILE    stop when FILE exists
 *   -s SEED    PRNG seed for lengths and batching (default 1)
 *   -m MIN     shortest record in bytes (default 39, the least possible)
 *   -M MAX     longest record (default 200)
 *   -k K       line framing: 1..K records per write(2) (default 1)
 *   -x         line framing: sometimes split a record over two write(2)s
 *              (the first part is held by the daemon as a fragment)
 *   -f N       fsync(2) after every N writes and log S (default never)
 *   -d         every write(2) is durable when it returns (sync=always):
 *              log S with each A
 *   -e         fsync(2) before exiting and log S
 *   -c         on ENOSPC, log E, wait and retry the same records (disk
 *              full test); other errors end the writer
 *   -u USEC    pause between writes
 *
 * Exit: 0 stopped by a limit, 3 stopped by a write error (the daemon was
 * killed, say), 1 setup error, 2 usage.
 */
#include "ackrec.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int ack_fd = -1;

static void ack_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ack_line(const char *fmt, ...)
{
	char buf[96];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(ack_fd, buf, (size_t)n) != n) {
		perror("ackwriter: ack log");
		exit(1);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: ackwriter -p TAIL -i WID -a ACKFILE [-b] [-n COUNT] [-t SECS] "
			"[-q STOPFILE] [-s SEED] [-m MIN] [-M MAX] [-k K] [-x] [-f N] [-d] [-e] "
			"[-c] [-u USEC]\n");
	exit(2);
}

/* Writes all of buf in one write(2) call; the call must take it whole. */
static int write_once(int fd, const void *buf, size_t len)
{
	ssize_t n;
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len) {
		fprintf(stderr, "ackwriter: short write %zd of %zu\n", n, len);
		return -EPROTO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *ackpath = NULL, *stopfile = NULL;
	unsigned wid = 0;
	bool have_wid = false, binary = false, split = false, durable = false, final_sync = false,
	     retry_enospc = false;
	unsigned long long count = 0, seed = 1, fsync_every = 0, pause_us = 0;
	double seconds = 0;
	uint32_t minlen = REC_MIN_LEN, maxlen = 200, maxbatch = 1;
	int c;

	while ((c = getopt(argc, argv, "p:i:a:bn:t:q:s:m:M:k:xf:deu:c")) != -1) {
		switch (c) {
		case 'p': path = optarg; break;
		case 'i': wid = (unsigned)strtoul(optarg, NULL, 0); have_wid = true; break;
		case 'a': ackpath = optarg; break;
		case 'b': binary = true; break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'q': stopfile = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'm': minlen = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'M': maxlen = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'k': maxbatch = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'x': split = true; break;
		case 'f': fsync_every = strtoull(optarg, NULL, 0); break;
		case 'd': durable = true; break;
		case 'e': final_sync = true; break;
		case 'c': retry_enospc = true; break;
		case 'u': pause_us = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (!path || !ackpath || !have_wid || wid > 0xffff || minlen < REC_MIN_LEN ||
	    maxlen < minlen || maxlen > (1u << 20) || maxbatch < 1 || maxbatch > 1024)
		usage();
	if (binary)
		maxbatch = 1;

	ack_fd = open(ackpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (ack_fd < 0) {
		perror(ackpath);
		return 1;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	/* Page-aligned, so a record up to 1 MiB reaches the daemon as one
	 * request (docs/DESIGN.md). */
	size_t cap = (size_t)maxlen * maxbatch;
	unsigned char *buf;
	if (posix_memalign((void **)&buf, 4096, cap + 4096)) {
		fprintf(stderr, "ackwriter: out of memory\n");
		return 1;
	}
	uint64_t rng = seed * 0x9E3779B97F4A7C15ull + wid + 1;
	uint64_t seq = 0, writes = 0;
	double t0 = now_s();
	int rc = 0, status = 0;

	while (!count || seq < count) {
		if (seconds > 0 && now_s() - t0 >= seconds)
			break;
		if (stopfile && (writes & 15) == 0 && access(stopfile, F_OK) == 0)
			break;
		uint32_t k = maxbatch > 1 ? 1 + (uint32_t)(rec_rng_next(&rng) % maxbatch) : 1;
		if (count && seq + k > count)
			k = (uint32_t)(count - seq);
		size_t len = 0, last_start = 0;
		for (uint32_t i = 0; i < k; i++) {
			uint32_t span = maxlen - minlen + 1;
			/* Mostly short records, some long ones. */
			uint64_t r = rec_rng_next(&rng);
			uint32_t l = minlen + (uint32_t)((r >> 8) % ((r & 7) == 0 ? span
								     : (span < 64 ? span : 64)));
			rec_build(buf + len, wid, seq + i, l, binary);
			last_start = len;
			len += l;
		}
		/* Split: the last record arrives in two writes; the first also
		 * carries the batch's other records, which it commits. */
		bool do_split = split && !binary && !retry_enospc && (rec_rng_next(&rng) & 7) == 0;
		size_t cut = last_start + 1 + (size_t)(rec_rng_next(&rng) % (len - last_start - 1));
		for (;;) {
			if (do_split) {
				if (k > 1)
					ack_line("I %llu %llu\n", (unsigned long long)seq,
						 (unsigned long long)(seq + k - 2));
				else
					ack_line("I %llu %llu\n", (unsigned long long)seq,
						 (unsigned long long)seq);
				rc = write_once(fd, buf, cut);
				if (rc == 0 && k > 1) {
					ack_line("A %llu\n", (unsigned long long)(seq + k - 2));
					if (durable)
						ack_line("S %llu\n", (unsigned long long)(seq + k - 2));
					ack_line("I %llu %llu\n", (unsigned long long)(seq + k - 1),
						 (unsigned long long)(seq + k - 1));
				}
				if (rc == 0)
					rc = write_once(fd, buf + cut, len - cut);
			} else {
				ack_line("I %llu %llu\n", (unsigned long long)seq,
					 (unsigned long long)(seq + k - 1));
				rc = write_once(fd, buf, len);
			}
			if (rc == -ENOSPC && retry_enospc) {
				/* Nothing of a failed write is appended: retry
				 * the same records. */
				ack_line("E %d %llu\n", ENOSPC, (unsigned long long)seq);
				if (stopfile && access(stopfile, F_OK) == 0)
					goto out;
				usleep(20000);
				do_split = false;
				continue;
			}
			break;
		}
		if (rc < 0) {
			ack_line("E %llu %llu\n", (unsigned long long)-rc, (unsigned long long)seq);
			status = 3;
			break;
		}
		seq += k;
		writes++;
		ack_line("A %llu\n", (unsigned long long)(seq - 1));
		if (durable)
			ack_line("S %llu\n", (unsigned long long)(seq - 1));
		if (fsync_every && writes % fsync_every == 0) {
			if (fsync(fd) < 0) {
				ack_line("E %llu %llu\n", (unsigned long long)errno,
					 (unsigned long long)seq);
				status = 3;
				break;
			}
			ack_line("S %llu\n", (unsigned long long)(seq - 1));
		}
		if (pause_us)
			usleep((useconds_t)pause_us);
	}
out:
	if (status == 0 && final_sync && seq > 0) {
		if (fsync(fd) < 0) {
			ack_line("E %llu %llu\n", (unsigned long long)errno, (unsigned long long)seq);
			status = 3;
		} else {
			ack_line("S %llu\n", (unsigned long long)(seq - 1));
		}
	}
	if (close(fd) < 0 && status == 0) {
		ack_line("E %llu %llu\n", (unsigned long long)errno, (unsigned long long)seq);
		status = 3;
	}
	fprintf(stderr, "ackwriter %u: %llu records acknowledged in %llu writes%s%s\n", wid,
		(unsigned long long)seq, (unsigned long long)writes, status ? ": stopped by " : "",
		status ? strerror(-rc ? -rc : errno) : "");
	free(buf);
	close(ack_fd);
	return status;
}
