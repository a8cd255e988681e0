/*
 * lfsrec: self-describing records for the integration tests of the mount
 * (tests/integration/mount_*.sh): generate them, append them through the
 * mount, check a stream of them, and follow a growing file of them.
 *
 *   lfsrec gen ID FIRST COUNT [-l MIN:MAX] [-B]
 *   lfsrec write PATH ID COUNT [-b BATCH] [-l MIN:MAX] [-B] [-a ACKFILE] [-d USEC] [-S]
 *   lfsrec check FILE NWRITERS COUNT [-b BATCH] [-B] [-P] [-F SEQ] [-A ACKPREFIX]
 *   lfsrec follow PATH NWRITERS COUNT [-b BATCH] [-B] [-P] [-F SEQ] [-t SECS]
 *                 [-r READYFILE] [-o OUTFILE] [-M] [-D DONEFILE]
 *
 * A record of writer ID number SEQ has a length and payload derived from
 * (ID, SEQ), so a checker can verify every byte without a copy of what was
 * written. Line form (framing=line):  "w<ID> s<SEQ> l<LEN> <LEN letters>\n".
 * Binary form (-B, framing=write, one record per write(2)): 'R', ID, '\n',
 * '\0', SEQ (u32 LE), LEN (u32 LE), then LEN bytes of any value.
 *
 * write: appends records SEQ 0..COUNT-1 of writer ID, BATCH records per
 *   write(2) (line form); stops at the first error (printed as its errno
 *   name). With -a, after every successful write the number of records
 *   acknowledged so far is stored in ACKFILE. -S: fdatasync(2) after every
 *   write (the acknowledgement then follows it).
 * check: FILE ("-" for stdin) must hold only whole, valid records; the
 *   records of each writer 0..NWRITERS-1 must be SEQ 0..COUNT-1 exactly
 *   once, in order; the BATCH records of one write(2) must be adjacent.
 *   -P: a writer's records may start after 0 (retention removed a prefix);
 *   -F SEQ: the first record must be writer 0's record SEQ;
 *   -A: after a crash: writer ID must have at least the count stored in
 *   ACKPREFIX<ID>, at most one batch more, and whole batches only.
 * follow: reads PATH while it grows, with the checks of `check`, and also:
 *   a read that returns less than asked ends on a record boundary (a reader
 *   never sees part of a record), the size seen through the handle never
 *   decreases (else, once all is read, exit status 3), and bytes read earlier
 *   read back the same. It ends when every
 *   writer's last record has been read (or fails after -t SECS, default 120).
 *   -D: once DONEFILE exists (the writers have ended), read to the end and
 *   stop; with -P a writer none of whose records were read is accepted
 *   (retention removed them before this reader opened).
 *   -M: PATH is a topic directory; follow TOPIC/@N for an N in the middle of
 *   what is retained (user.logfs.first_offset/next_offset), choosing again
 *   while retention deletes it before the open (ENOENT).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MAXW 64

static unsigned minlen = 8, maxlen = 64, batch = 1, first_seq_opt;
static bool binary, partial, has_first, middle, sync_each;
static const char *ackfile, *ackprefix, *readyfile, *outfile, *donefile;
static long delay_us;
static double timeout_s = 120;

static void die(const char *fmt, const char *a)
{
	fprintf(stderr, "lfsrec: ");
	fprintf(stderr, fmt, a);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t seed_of(unsigned id, uint64_t seq)
{
	return ((uint64_t)id << 40) ^ (seq * 0x100000001B3ull) ^ 0x5EEDull;
}

static unsigned len_of(unsigned id, uint64_t seq)
{
	uint64_t x = seed_of(id, seq);
	return minlen + (unsigned)(splitmix(&x) % (maxlen - minlen + 1));
}

/* Payload bytes of record (id, seq). */
static void payload(unsigned id, uint64_t seq, unsigned char *out, size_t len)
{
	uint64_t x = seed_of(id, seq) ^ 0xABCDEFull, v = 0;
	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = splitmix(&x);
		unsigned char b = (unsigned char)(v >> (8 * (i % 8)));
		out[i] = binary ? b : (unsigned char)('a' + b % 26);
	}
}

/* Encodes record (id, seq) at out (room for 32 + maxlen); returns its size. */
static size_t encode(unsigned id, uint64_t seq, unsigned char *out)
{
	unsigned len = len_of(id, seq);
	size_t h;
	if (binary) {
		out[0] = 'R';
		out[1] = (unsigned char)id;
		out[2] = '\n';
		out[3] = 0;
		for (int i = 0; i < 4; i++) {
			out[4 + i] = (unsigned char)(seq >> (8 * i));
			out[8 + i] = (unsigned char)(len >> (8 * i));
		}
		h = 12;
	} else {
		h = (size_t)sprintf((char *)out, "w%u s%llu l%u ", id, (unsigned long long)seq, len);
	}
	payload(id, seq, out + h, len);
	if (!binary)
		out[h + len++] = '\n';
	return h + len;
}

/* ---- parsing and checking a stream ---- */

struct checker {
	unsigned nwriters;
	uint64_t count;
	int64_t next[MAXW]; /* next expected seq, -1 before the first */
	uint64_t seen[MAXW];
	uint64_t records;
	int last_id;
	int64_t last_seq;
	char err[256];
};

static void checker_init(struct checker *c, unsigned nwriters, uint64_t count)
{
	memset(c, 0, sizeof(*c));
	c->nwriters = nwriters;
	c->count = count;
	for (unsigned i = 0; i < MAXW; i++)
		c->next[i] = -1;
	c->last_id = -1;
}

static unsigned char scratch[1 << 21];

/* Parses one record at p[0..n): its size, 0 if incomplete, -1 if invalid. */
static long parse_one(struct checker *c, const unsigned char *p, size_t n, unsigned *id,
		      uint64_t *seq)
{
	unsigned len;
	size_t h;
	if (binary) {
		if (n < 12)
			return 0;
		if (p[0] != 'R' || p[2] != '\n' || p[3] != 0) {
			snprintf(c->err, sizeof(c->err), "bad record header at record %llu",
				 (unsigned long long)c->records);
			return -1;
		}
		*id = p[1];
		*seq = 0;
		len = 0;
		for (int i = 0; i < 4; i++) {
			*seq |= (uint64_t)p[4 + i] << (8 * i);
			len |= (unsigned)p[8 + i] << (8 * i);
		}
		h = 12;
		if (len > sizeof(scratch) - 64 || *id >= c->nwriters) {
			snprintf(c->err, sizeof(c->err), "bad record header at record %llu",
				 (unsigned long long)c->records);
			return -1;
		}
		if (n < h + len)
			return 0;
	} else {
		const unsigned char *nl = memchr(p, '\n', n);
		if (!nl) {
			if (n > sizeof(scratch) - 64) {
				snprintf(c->err, sizeof(c->err), "no newline at record %llu",
					 (unsigned long long)c->records);
				return -1;
			}
			return 0;
		}
		unsigned long long s;
		int k = 0;
		/* sscanf on a copy of the header: the stream is not
		 * NUL-terminated, and sscanf would strlen() all of it. */
		char head[64];
		size_t hl = (size_t)(nl - p) < sizeof(head) - 1 ? (size_t)(nl - p) : sizeof(head) - 1;
		memcpy(head, p, hl);
		head[hl] = 0;
		if (sscanf(head, "w%u s%llu l%u %n", id, &s, &len, &k) != 3 || k == 0 ||
		    *id >= c->nwriters || len > sizeof(scratch) - 64 ||
		    (size_t)(nl - p) != k + (size_t)len) {
			snprintf(c->err, sizeof(c->err), "malformed line at record %llu: '%s'",
				 (unsigned long long)c->records, head);
			return -1;
		}
		*seq = s;
		h = (size_t)k;
	}
	if (len != len_of(*id, *seq)) {
		snprintf(c->err, sizeof(c->err), "record w%u s%llu has length %u, not %u", *id,
			 (unsigned long long)*seq, len, len_of(*id, *seq));
		return -1;
	}
	payload(*id, *seq, scratch, len);
	if (memcmp(scratch, p + h, len) != 0) {
		snprintf(c->err, sizeof(c->err), "record w%u s%llu: payload differs", *id,
			 (unsigned long long)*seq);
		return -1;
	}
	return (long)(h + len + (binary ? 0 : 1));
}

/* Accounts for one record: 0, or -1 with c->err set. */
static int account(struct checker *c, unsigned id, uint64_t seq)
{
	if (c->records == 0 && has_first && (id != 0 || seq != first_seq_opt)) {
		snprintf(c->err, sizeof(c->err), "first record is w%u s%llu, expected w0 s%u", id,
			 (unsigned long long)seq, first_seq_opt);
		return -1;
	}
	int64_t want = c->next[id];
	if (want < 0 && !partial && !has_first)
		want = 0;
	if (want >= 0 && (int64_t)seq != want) {
		snprintf(c->err, sizeof(c->err), "writer %u: record s%llu where s%lld was expected (%s)",
			 id, (unsigned long long)seq, (long long)want,
			 (int64_t)seq < want ? "duplicate or out of order" : "records missing");
		return -1;
	}
	if (seq >= c->count) {
		snprintf(c->err, sizeof(c->err), "writer %u: record s%llu beyond the count", id,
			 (unsigned long long)seq);
		return -1;
	}
	/* The records of one write(2) are adjacent. */
	if (batch > 1 && seq % batch != 0 && !(c->records == 0 && (partial || has_first)) &&
	    (c->last_id != (int)id || c->last_seq != (int64_t)seq - 1)) {
		snprintf(c->err, sizeof(c->err),
			 "writer %u: record s%llu is not adjacent to s%llu of the same write", id,
			 (unsigned long long)seq, (unsigned long long)seq - 1);
		return -1;
	}
	c->next[id] = (int64_t)seq + 1;
	c->seen[id]++;
	c->records++;
	c->last_id = (int)id;
	c->last_seq = (int64_t)seq;
	return 0;
}

/* Consumes whole records of p[0..n); returns bytes consumed or -1. */
static long consume(struct checker *c, const unsigned char *p, size_t n)
{
	size_t off = 0;
	for (;;) {
		unsigned id;
		uint64_t seq;
		long k = parse_one(c, p + off, n - off, &id, &seq);
		if (k < 0)
			return -1;
		if (k == 0)
			return (long)off;
		if (account(c, id, seq) < 0)
			return -1;
		off += (size_t)k;
	}
}

static bool complete(const struct checker *c)
{
	for (unsigned i = 0; i < c->nwriters; i++)
		if (c->next[i] != (int64_t)c->count)
			return false;
	return true;
}

static int final_check(struct checker *c)
{
	for (unsigned i = 0; i < c->nwriters; i++) {
		uint64_t got = c->next[i] < 0 ? 0 : (uint64_t)c->next[i];
		if (ackprefix) {
			char path[4096];
			unsigned long long acked = 0;
			snprintf(path, sizeof(path), "%s%u", ackprefix, i);
			FILE *f = fopen(path, "r");
			if (f) {
				if (fscanf(f, "%llu", &acked) != 1)
					acked = 0;
				fclose(f);
			}
			if (got < acked || got > acked + batch ||
			    (got % batch != 0 && got != c->count)) {
				fprintf(stderr,
					"lfsrec: writer %u: %llu records in the log, %llu acknowledged "
					"(batch %u)\n",
					i, (unsigned long long)got, acked, batch);
				return 1;
			}
		} else if (partial && c->next[i] < 0) {
			continue; /* retention removed all of this writer's records */
		} else if (got != c->count) {
			fprintf(stderr, "lfsrec: writer %u: %llu records of %llu\n", i,
				(unsigned long long)got, (unsigned long long)c->count);
			return 1;
		}
	}
	return 0;
}

/* ---- commands ---- */

static int cmd_gen(unsigned id, uint64_t first, uint64_t count)
{
	unsigned char *buf = malloc(64 + maxlen);
	for (uint64_t s = first; s < first + count; s++) {
		size_t n = encode(id, s, buf);
		if (fwrite(buf, 1, n, stdout) != n)
			return 1;
	}
	free(buf);
	return fflush(stdout) ? 1 : 0;
}

static int cmd_write(const char *path, unsigned id, uint64_t count)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	int ackfd = -1;
	if (fd < 0)
		die("open: %s", strerrorname_np(errno));
	if (ackfile) {
		ackfd = open(ackfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (ackfd < 0)
			die("open ack file: %s", strerror(errno));
	}
	if (binary)
		batch = 1;
	unsigned char *buf = malloc((size_t)batch * (64 + maxlen));
	for (uint64_t s = 0; s < count;) {
		size_t n = 0;
		uint64_t k = 0;
		for (; k < batch && s + k < count; k++)
			n += encode(id, s + k, buf + n);
		ssize_t w = write(fd, buf, n);
		if (w < 0)
			die("write: %s", strerrorname_np(errno));
		if ((size_t)w != n)
			die("short write%s", "");
		if (sync_each && fdatasync(fd) < 0)
			die("fdatasync: %s", strerrorname_np(errno));
		s += k;
		if (ackfd >= 0) {
			char a[32];
			int m = snprintf(a, sizeof(a), "%020llu\n", (unsigned long long)s);
			if (pwrite(ackfd, a, (size_t)m, 0) != m)
				die("ack: %s", strerror(errno));
		}
		if (delay_us)
			usleep((useconds_t)delay_us);
	}
	if (close(fd) < 0)
		die("close: %s", strerrorname_np(errno));
	free(buf);
	return 0;
}

static int cmd_check(const char *path, unsigned nwriters, uint64_t count)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		die("cannot open %s", path);
	size_t cap = 1 << 20, n = 0, k;
	unsigned char *buf = malloc(cap);
	while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	struct checker c;
	checker_init(&c, nwriters, count);
	long used = consume(&c, buf, n);
	if (used < 0) {
		fprintf(stderr, "lfsrec: %s: %s\n", path, c.err);
		return 1;
	}
	if ((size_t)used != n) {
		fprintf(stderr, "lfsrec: %s: %zu bytes of a partial record at the end\n", path,
			n - (size_t)used);
		return 1;
	}
	free(buf);
	return final_check(&c);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t xattr_u64(const char *path, const char *name)
{
	char buf[32];
	ssize_t n = getxattr(path, name, buf, sizeof(buf) - 1);
	if (n < 0)
		die("getxattr: %s", strerrorname_np(errno));
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

/* Opens TOPIC/@N for N in the middle of the retained records (-M). */
static int open_middle(const char *topic)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t first = xattr_u64(topic, "user.logfs.first_offset");
		uint64_t next = xattr_u64(topic, "user.logfs.next_offset");
		char path[4096];
		snprintf(path, sizeof(path), "%s/@%llu", topic,
			 (unsigned long long)(first + (next - first) / 2));
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd;
	}
	errno = ENOENT;
	return -1;
}

static int cmd_follow(const char *path, unsigned nwriters, uint64_t count)
{
	int fd = middle ? open_middle(path) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open: %s", strerrorname_np(errno));
	if (readyfile) {
		int r = open(readyfile, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (r >= 0)
			close(r);
	}
	struct checker c;
	checker_init(&c, nwriters, count);
	size_t cap = 1 << 22, have = 0, parsed = 0;
	const size_t chunk = 65536;
	unsigned char *buf = malloc(cap), *again = malloc(4096);
	off_t last_size = 0;
	unsigned long reads = 0, shrinks = 0;
	bool done_seen = false;
	double deadline = now_s() + timeout_s;
	unsigned rnd = 12345;

	for (;;) {
		if (have + chunk > cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = pread(fd, buf + have, chunk, (off_t)have);
		if (n < 0)
			die("read: %s", strerrorname_np(errno));
		reads++;
		if (n > 0) {
			have += (size_t)n;
			long k = consume(&c, buf + parsed, have - parsed);
			if (k < 0) {
				fprintf(stderr, "lfsrec: %s: %s\n", path, c.err);
				return 1;
			}
			parsed += (size_t)k;
			if ((size_t)n < chunk && parsed != have) {
				fprintf(stderr,
					"lfsrec: %s: a short read (%zd bytes) ended inside a record "
					"(%zu bytes of it)\n",
					path, n, have - parsed);
				return 1;
			}
		}
		/* Bytes already read read back the same. */
		if (have > 0 && reads % 32 == 0) {
			rnd = rnd * 1103515245u + 12345u;
			size_t off = (rnd >> 4) % have, len = have - off < 4096 ? have - off : 4096;
			ssize_t m = pread(fd, again, len, (off_t)off);
			if (m != (ssize_t)len || memcmp(again, buf + off, len) != 0) {
				fprintf(stderr, "lfsrec: %s: bytes at %zu read back differently\n", path,
					off);
				return 1;
			}
		}
		if (n == 0) {
			off_t size = lseek(fd, 0, SEEK_END);
			if (size < 0)
				die("lseek: %s", strerrorname_np(errno));
			if (size < last_size || (size_t)size < have) {
				if (!shrinks)
					fprintf(stderr,
						"lfsrec: %s: size went from %lld to %lld (%zu bytes "
						"read)\n",
						path, (long long)last_size, (long long)size, have);
				shrinks++;
			} else {
				last_size = size;
			}
			if (complete(&c))
				break;
			if (done_seen) {
				if (final_check(&c) != 0)
					return 1;
				break;
			}
			if (donefile && access(donefile, F_OK) == 0) {
				done_seen = true; /* one more pass to the end */
				continue;
			}
			if (now_s() > deadline) {
				fprintf(stderr, "lfsrec: %s: timed out after %zu bytes, %llu records\n",
					path, have, (unsigned long long)c.records);
				for (unsigned i = 0; i < nwriters; i++)
					fprintf(stderr, "  writer %u: next s%lld\n", i,
						(long long)c.next[i]);
				return 1;
			}
			usleep(2000);
		}
	}
	if (outfile) {
		FILE *o = fopen(outfile, "wb");
		if (!o || fwrite(buf, 1, have, o) != have || fclose(o) != 0)
			die("cannot write %s", outfile);
	}
	close(fd);
	free(buf);
	free(again);
	if (shrinks) {
		fprintf(stderr, "lfsrec: %s: the size seen through the handle shrank %lu times\n",
			path, shrinks);
		return 3;
	}
	return 0;
}

static uint64_t num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || !*s)
		die("bad number '%s'", s);
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: see the comment at the top of tests/tools/lfsrec.c\n");
		return 2;
	}
	const char *cmd = argv[1];
	char *pos[4];
	int npos = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] && a[2] == 0 && strchr("lbBPFAatdroMDS", a[1])) {
			char o = a[1];
			if (o == 'M') {
				middle = partial = true;
				continue;
			}
			if (o == 'B') {
				binary = true;
				continue;
			}
			if (o == 'P') {
				partial = true;
				continue;
			}
			if (o == 'S') {
				sync_each = true;
				continue;
			}
			if (i + 1 >= argc)
				die("option %s needs a value", a);
			const char *v = argv[++i];
			switch (o) {
			case 'l':
				if (sscanf(v, "%u:%u", &minlen, &maxlen) != 2 || minlen > maxlen ||
				    maxlen > (1u << 20))
					die("bad -l %s", v);
				break;
			case 'b': batch = (unsigned)num(v); break;
			case 'F':
				first_seq_opt = (unsigned)num(v);
				has_first = true;
				break;
			case 'A': ackprefix = v; break;
			case 'a': ackfile = v; break;
			case 't': timeout_s = (double)num(v); break;
			case 'd': delay_us = (long)num(v); break;
			case 'r': readyfile = v; break;
			case 'o': outfile = v; break;
			case 'D': donefile = v; break;
			}
			continue;
		}
		if (npos == 4)
			die("too many arguments%s", "");
		pos[npos++] = argv[i];
	}
	if (batch == 0)
		batch = 1;
	if (strcmp(cmd, "gen") == 0 && npos == 3)
		return cmd_gen((unsigned)num(pos[0]), num(pos[1]), num(pos[2]));
	if (strcmp(cmd, "write") == 0 && npos == 3)
		return cmd_write(pos[0], (unsigned)num(pos[1]), num(pos[2]));
	if (strcmp(cmd, "check") == 0 && npos == 3 && num(pos[1]) <= MAXW)
		return cmd_check(pos[0], (unsigned)num(pos[1]), num(pos[2]));
	if (strcmp(cmd, "follow") == 0 && npos == 3 && num(pos[1]) <= MAXW)
		return cmd_follow(pos[0], (unsigned)num(pos[1]), num(pos[2]));
	fprintf(stderr, "lfsrec: bad command line\n");
	return 2;
}
