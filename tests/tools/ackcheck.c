/*
 * ackcheck: verifies a topic on a logfs mount against the ack logs of the
 * ackwriter processes that wrote it (docs/RELIABILITY.md).
 *
 *   ackcheck -t TOPICDIR -A ACKDIR [-b] [-D | -P] [-F DONEFILE] [-r SEED]
 *
 *   -t DIR   the topic directory on the mount
 *   -A DIR   the ack logs of every writer of this topic, named wWID.ack
 *   -b       write framing (binary payloads)
 *   -D       durability mode (power cut): per writer, every record up to
 *            the last one logged durable (S) must be present; acknowledged
 *            but unsynced records may be missing
 *   -P       prefix mode: no record is required, only validity; and a
 *            write(2)'s records may be cut apart at the end (an index
 *            rebuilt from line-framed data cannot know where writes ended)
 *   (default: crash mode: every acknowledged record (A) must be present)
 *   -G       allow gaps in the offsets (records lost with a data file keep
 *            their offsets, never reused): next_offset - first_offset may
 *            exceed the records read; segment names and @N are not checked
 *   -L       with -D: the recovery recorded lost ranges (damaged batches
 *            whose records lose their offsets, the valid batches after
 *            them kept): a writer's records may miss a run of sequence
 *            numbers that were none of them logged durable; implies -G
 *   -F FILE  follow: read `tail` as it grows until FILE exists and the end
 *            is reached, then check that a fresh read returns the same bytes
 *   -r SEED  seed for the @N probes (default 1)
 *   -N       also print "durable_records N": the shortest prefix of the
 *            log that holds every record its writer logged durable (S)
 *
 * Always checked: every record served is whole (header, CRC, every payload
 * byte, final '\n') and was written by a known writer; per writer the
 * sequence numbers run 0, 1, 2, ... with no gap, duplicate or reordering;
 * the last record present of each writer ends one of its write(2)s (a
 * write's records are all there or none); records not attempted are absent;
 * user.logfs.first_offset/next_offset/bytes agree with what was read; the
 * sealed segments concatenated are a prefix of `tail`, each named by the
 * offset of its first record; `@N` starts at record N for sampled N,
 * `@next_offset` is empty and `@next_offset+1` is ENOENT.
 *
 * Prints one summary line; exit 0 when everything holds, 1 otherwise.
 */
#include "ackrec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

enum mode { MODE_CRASH, MODE_DURABLE, MODE_PREFIX };

/* -L: a run of missing records is allowed when none of it was durable. */
static bool lost_unsynced;

struct writer {
	unsigned wid;
	bool known;
	long long acked, synced, attempted; /* last seq, -1 for none */
	unsigned char *ends;                /* bitmap: seq ends a write(2) */
	size_t ends_cap;
	uint64_t present; /* records found */
	uint64_t errors;
};

static struct writer *writers[65536];
static int nerrors;
static const char *topic_dir;

static void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err(const char *fmt, ...)
{
	va_list ap;
	if (++nerrors > 30)
		return;
	fprintf(stdout, "ackcheck %s: ", topic_dir);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static struct writer *writer_get(unsigned wid)
{
	if (!writers[wid]) {
		writers[wid] = calloc(1, sizeof(struct writer));
		if (!writers[wid]) {
			perror("ackcheck");
			exit(2);
		}
		writers[wid]->wid = wid;
		writers[wid]->acked = writers[wid]->synced = writers[wid]->attempted = -1;
	}
	return writers[wid];
}

static void mark_end(struct writer *w, unsigned long long seq)
{
	size_t byte = (size_t)(seq / 8);
	if (byte >= w->ends_cap) {
		size_t cap = w->ends_cap ? w->ends_cap : 1024;
		while (cap <= byte)
			cap *= 2;
		unsigned char *n = realloc(w->ends, cap);
		if (!n) {
			perror("ackcheck");
			exit(2);
		}
		memset(n + w->ends_cap, 0, cap - w->ends_cap);
		w->ends = n;
		w->ends_cap = cap;
	}
	w->ends[byte] |= (unsigned char)(1u << (seq % 8));
}

static bool is_end(const struct writer *w, unsigned long long seq)
{
	size_t byte = (size_t)(seq / 8);
	return byte < w->ends_cap && (w->ends[byte] >> (seq % 8) & 1);
}

static void load_acks(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d) {
		err("cannot open ack directory %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		unsigned wid;
		char tail[8];
		if (sscanf(de->d_name, "w%u.ac%1[k]%1s", &wid, tail, tail + 2) != 2 || wid > 0xffff)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		if (!f) {
			err("%s: %s", path, strerror(errno));
			continue;
		}
		struct writer *w = writer_get(wid);
		w->known = true;
		char line[128];
		while (fgets(line, sizeof(line), f)) {
			unsigned long long a, b;
			if (sscanf(line, "I %llu %llu", &a, &b) == 2) {
				if ((long long)b > w->attempted)
					w->attempted = (long long)b;
				mark_end(w, b);
			} else if (sscanf(line, "A %llu", &a) == 1) {
				if ((long long)a > w->acked)
					w->acked = (long long)a;
			} else if (sscanf(line, "S %llu", &a) == 1) {
				if ((long long)a > w->synced)
					w->synced = (long long)a;
			} else if (sscanf(line, "E %llu %llu", &a, &b) == 2) {
				w->errors++;
			} else if (strchr(line, '\n')) {
				err("%s: bad line '%.40s'", path, line);
			}
			/* A line without '\n' is one the writer was writing
			 * when it stopped: ignore it. */
		}
		fclose(f);
	}
	closedir(d);
}

/* Reads a whole file descriptor to its current end. */
static unsigned char *read_all(int fd, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	unsigned char *b = malloc(cap);
	for (;;) {
		if (!b) {
			perror("ackcheck");
			exit(2);
		}
		if (cap - n < (1 << 20)) {
			cap *= 2;
			b = realloc(b, cap);
			continue;
		}
		ssize_t r = read(fd, b + n, 1 << 20);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err("read: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return b;
}

/* The records parsed so far, for both the whole-log check and a follower. */
struct parser {
	bool binary;
	bool broken;      /* stop parsing after the first bad record */
	bool keep_starts; /* remember where each record starts (for @N) */
	uint64_t nrec, durable_prefix;
	uint64_t *starts;
	size_t cap;
	unsigned char *scratch;
};

/* Parses the whole records in buf[0..len), which starts at byte `base` of
 * the log; returns the bytes consumed. An incomplete record at the end is
 * left for the next call, or, if final, reported as cut. */
static size_t parse(struct parser *p, const unsigned char *buf, size_t len, uint64_t base,
		    bool final)
{
	size_t pos = 0;
	while (pos < len && !p->broken) {
		struct rec_hdr h;
		if (len - pos < REC_HDR_LEN && !final)
			break;
		if (!rec_parse_hdr(buf + pos, len - pos, &h)) {
			err("byte %llu (record %llu): not a record header: '%.38s'",
			    (unsigned long long)(base + pos), (unsigned long long)p->nrec,
			    (const char *)buf + pos);
			p->broken = true;
			break;
		}
		if (h.len > len - pos) {
			if (!final)
				break;
			err("record %llu (writer %u seq %llu) at byte %llu is cut: %u bytes, %zu left",
			    (unsigned long long)p->nrec, h.wid, (unsigned long long)h.seq,
			    (unsigned long long)(base + pos), h.len, len - pos);
			p->broken = true;
			break;
		}
		if (!rec_verify(buf + pos, &h, p->binary, p->scratch)) {
			err("record %llu (writer %u seq %llu) at byte %llu is damaged",
			    (unsigned long long)p->nrec, h.wid, (unsigned long long)h.seq,
			    (unsigned long long)(base + pos));
			p->broken = true;
			break;
		}
		if (!p->binary && memchr(buf + pos, '\n', h.len - 1)) {
			err("record %llu holds a newline", (unsigned long long)p->nrec);
			p->broken = true;
			break;
		}
		struct writer *w = writer_get(h.wid);
		if (h.seq > w->present && lost_unsynced && (long long)w->present > w->synced) {
			/* A lost range of records none of which was durable. */
			w->present = h.seq + 1;
		} else if (h.seq != w->present) {
			err("record %llu: writer %u seq %llu where %llu was due (%s)",
			    (unsigned long long)p->nrec, h.wid, (unsigned long long)h.seq,
			    (unsigned long long)w->present,
			    h.seq < w->present ? "duplicate or reordered" : "records missing");
			if (h.seq > w->present)
				w->present = h.seq + 1;
		} else {
			w->present++;
		}
		if ((long long)h.seq <= w->synced)
			p->durable_prefix = p->nrec + 1;
		if (p->keep_starts) {
			if (p->nrec == p->cap) {
				p->cap = p->cap ? p->cap * 2 : 1024;
				p->starts = realloc(p->starts, p->cap * sizeof(*p->starts));
				if (!p->starts) {
					perror("ackcheck");
					exit(2);
				}
			}
			p->starts[p->nrec] = base + pos;
		}
		p->nrec++;
		pos += h.len;
	}
	return pos;
}

/* Follows tail as it grows until donefile exists and the end is reached,
 * verifying records as they arrive, without keeping the log. Returns the
 * bytes read; *crc is the CRC32C of all of them. */
static uint64_t follow(int fd, const char *donefile, struct parser *p, uint32_t *crc)
{
	size_t cap = 8u << 20, wlen = 0;
	unsigned char *win = malloc(cap);
	uint64_t total = 0, consumed = 0;
	int idle_after_done = 0;
	*crc = 0;
	if (!win) {
		perror("ackcheck");
		exit(2);
	}
	for (;;) {
		if (cap - wlen < (1u << 20)) {
			cap *= 2;
			win = realloc(win, cap);
			if (!win) {
				perror("ackcheck");
				exit(2);
			}
		}
		ssize_t r = read(fd, win + wlen, 1u << 20);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err("follow: read: %s", strerror(errno));
			break;
		}
		if (r > 0) {
			*crc = lfs_crc32c(*crc, win + wlen, (size_t)r);
			wlen += (size_t)r;
			total += (uint64_t)r;
			size_t n = p->broken ? wlen : parse(p, win, wlen, consumed, false);
			memmove(win, win + n, wlen - n);
			wlen -= n;
			consumed += n;
			idle_after_done = 0;
			continue;
		}
		if (access(donefile, F_OK) == 0) {
			if (++idle_after_done >= 2)
				break;
		} else {
			usleep(2000);
		}
	}
	parse(p, win, wlen, consumed, true);
	free(win);
	return total;
}

static bool get_xattr_u64(const char *path, const char *name, uint64_t *v)
{
	char buf[64];
	ssize_t n = getxattr(path, name, buf, sizeof(buf) - 1);
	if (n < 0) {
		err("getxattr %s %s: %s", path, name, strerror(errno));
		return false;
	}
	buf[n] = 0;
	char *end;
	*v = strtoull(buf, &end, 10);
	return end != buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sealed segments, concatenated in name order, are a prefix of the
 * log, and each is named by the offset of its first record. */
static unsigned check_segments(const unsigned char *log, size_t len, const uint64_t *starts,
			       uint64_t nrec)
{
	DIR *d = opendir(topic_dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	if (!d) {
		err("opendir: %s", strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		uint64_t base;
		if (lfs_seg_name_parse(de->d_name, "log", &base) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	size_t pos = 0;
	uint64_t rec = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t base;
		lfs_seg_name_parse(names[i], "log", &base);
		while (rec < nrec && starts[rec] < pos)
			rec++;
		if (base > nrec || rec != base || (rec < nrec && starts[rec] != pos) ||
		    (rec == nrec && pos != len))
			err("segment %s starts at byte %zu of the log, which is not record %llu",
			    names[i], pos, (unsigned long long)base);
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", topic_dir, names[i]);
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			err("open %s: %s", path, strerror(errno));
			continue;
		}
		size_t slen;
		unsigned char *s = read_all(fd, &slen);
		close(fd);
		if (pos + slen > len || memcmp(s, log + pos, slen))
			err("segment %s differs from bytes %zu..%zu of tail", names[i], pos, pos + slen);
		pos += slen;
		free(s);
		free(names[i]);
	}
	free(names);
	return (unsigned)n;
}

static void check_at(uint64_t n, const unsigned char *log, size_t len, const uint64_t *starts,
		     uint64_t nrec)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/@%llu", topic_dir, (unsigned long long)n);
	int fd = open(path, O_RDONLY);
	if (n > nrec) {
		if (fd >= 0 || errno != ENOENT)
			err("open @%llu (past the end): expected ENOENT, got %s", (unsigned long long)n,
			    fd >= 0 ? "success" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fd < 0) {
		err("open @%llu: %s", (unsigned long long)n, strerror(errno));
		return;
	}
	size_t want = n == nrec ? 0 : (n + 1 < nrec ? starts[n + 1] : len) - starts[n];
	unsigned char *buf = malloc(want + 1);
	size_t got = 0;
	while (got < want + 1) {
		ssize_t r = read(fd, buf + got, want + 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (n == nrec) {
		if (got != 0)
			err("@%llu (next offset) is not empty", (unsigned long long)n);
	} else if (got < want || memcmp(buf, log + starts[n], want)) {
		err("@%llu does not start with record %llu", (unsigned long long)n,
		    (unsigned long long)n);
	}
	free(buf);
}

int main(int argc, char **argv)
{
	const char *ackdir = NULL, *donefile = NULL;
	bool binary = false;
	enum mode mode = MODE_CRASH;
	uint64_t seed = 1;
	bool print_durable = false, gaps = false;
	int c;

	while ((c = getopt(argc, argv, "t:A:bDPGLF:r:N")) != -1) {
		switch (c) {
		case 't': topic_dir = optarg; break;
		case 'A': ackdir = optarg; break;
		case 'b': binary = true; break;
		case 'D': mode = MODE_DURABLE; break;
		case 'P': mode = MODE_PREFIX; break;
		case 'F': donefile = optarg; break;
		case 'r': seed = strtoull(optarg, NULL, 0); break;
		case 'N': print_durable = true; break;
		case 'G': gaps = true; break;
		case 'L': lost_unsynced = gaps = true; break;
		default:
			fprintf(stderr, "usage: ackcheck -t TOPICDIR -A ACKDIR [-b] [-D|-P] [-G] [-L] [-F DONE] "
					"[-r SEED] [-N]\n");
			return 2;
		}
	}
	if (!topic_dir || !ackdir) {
		fprintf(stderr, "ackcheck: -t and -A are required\n");
		return 2;
	}
	/* A follower reads the ack logs once the writers are done. */
	if (!donefile)
		load_acks(ackdir);

	char tail_path[4096];
	snprintf(tail_path, sizeof(tail_path), "%s/tail", topic_dir);
	int fd = open(tail_path, O_RDONLY);
	if (fd < 0) {
		err("open %s: %s", tail_path, strerror(errno));
		printf("ackcheck %s: FAILED\n", topic_dir);
		return 1;
	}
	struct parser p = {.binary = binary, .keep_starts = !donefile};
	p.scratch = malloc(REC_MAX_LEN + 1);
	size_t len = 0;
	unsigned char *log = NULL;
	if (donefile) {
		/* A follower: verify the stream as it grows, then check that a
		 * fresh read returns the same bytes. */
		uint32_t fcrc, crc = 0;
		uint64_t flen = follow(fd, donefile, &p, &fcrc);
		close(fd);
		fd = open(tail_path, O_RDONLY);
		if (fd < 0) {
			err("reopen %s: %s", tail_path, strerror(errno));
			return 1;
		}
		unsigned char *buf = malloc(1u << 20);
		uint64_t got = 0;
		for (;;) {
			ssize_t r = read(fd, buf, 1u << 20);
			if (r <= 0)
				break;
			size_t take = got >= flen ? 0 : (size_t)(flen - got < (uint64_t)r ? flen - got : (uint64_t)r);
			crc = lfs_crc32c(crc, buf, take);
			got += (uint64_t)r;
		}
		free(buf);
		if (got < flen || crc != fcrc)
			err("what the follower read (%llu bytes) is not a prefix of the log (%llu bytes)",
			    (unsigned long long)flen, (unsigned long long)got);
		else if (got != flen)
			err("the follower stopped at %llu bytes of %llu", (unsigned long long)flen,
			    (unsigned long long)got);
		len = (size_t)flen;
		load_acks(ackdir);
	} else {
		log = read_all(fd, &len);
		parse(&p, log, len, 0, true);
	}
	close(fd);
	uint64_t nrec = p.nrec, durable_prefix = p.durable_prefix;
	uint64_t *starts = p.starts;

	/* Per writer, against its ack log. */
	unsigned nwriters = 0;
	uint64_t required = 0, unacked = 0;
	for (unsigned wid = 0; wid < 65536; wid++) {
		struct writer *w = writers[wid];
		if (!w)
			continue;
		nwriters++;
		if (w->present && !w->known)
			err("writer %u: %llu records present but it has no ack log", wid,
			    (unsigned long long)w->present);
		long long last = (long long)w->present - 1;
		long long need = mode == MODE_CRASH ? w->acked : mode == MODE_DURABLE ? w->synced : -1;
		if (last < need)
			err("writer %u: records %lld..%lld %s but missing", wid, last + 1, need,
			    mode == MODE_CRASH ? "acknowledged" : "durable");
		if (last > w->attempted)
			err("writer %u: record %lld present but never written", wid, last);
		if (last >= 0 && mode != MODE_PREFIX && !is_end(w, (unsigned long long)last))
			err("writer %u: last record %lld does not end a write(2): a write was torn",
			    wid, last);
		if (need >= 0)
			required += (uint64_t)need + 1;
		if (last > w->acked)
			unacked += (uint64_t)(last - w->acked);
	}

	/* What the daemon says about the topic. */
	uint64_t first = 0, next = 0, bytes = 0;
	if (get_xattr_u64(topic_dir, "user.logfs.first_offset", &first) &&
	    get_xattr_u64(topic_dir, "user.logfs.next_offset", &next) &&
	    get_xattr_u64(topic_dir, "user.logfs.bytes", &bytes)) {
		if (first != 0)
			err("first_offset is %llu, expected 0 (no retention)", (unsigned long long)first);
		if (gaps ? next - first < nrec : next - first != nrec)
			err("next_offset - first_offset = %llu but %llu records were read",
			    (unsigned long long)(next - first), (unsigned long long)nrec);
		if (bytes != len)
			err("user.logfs.bytes = %llu but %zu bytes were read", (unsigned long long)bytes,
			    len);
	}
	unsigned nsegs = 0;
	if (log && !p.broken && !gaps) {
		nsegs = check_segments(log, len, starts, nrec);
		/* @N probes: the ends, and a few in between. */
		uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 7;
		check_at(0, log, len, starts, nrec);
		check_at(nrec, log, len, starts, nrec);
		check_at(nrec + 1, log, len, starts, nrec);
		for (int i = 0; i < 6 && nrec > 1; i++)
			check_at(rec_rng_next(&rng) % nrec, log, len, starts, nrec);
	}

	printf("ackcheck %s: %s: %llu records (%zu bytes) verified whole, %u writers, "
	       "%llu %s records required and present, %llu unacknowledged present, "
	       "%u sealed segments\n",
	       topic_dir, nerrors ? "FAILED" : "ok", (unsigned long long)nrec, len, nwriters,
	       (unsigned long long)required, mode == MODE_DURABLE ? "durable" : "acknowledged",
	       (unsigned long long)unacked, nsegs);
	if (print_durable)
		printf("durable_records %llu\n", (unsigned long long)durable_prefix);
	if (nerrors > 30)
		printf("ackcheck %s: %d more errors not shown\n", topic_dir, nerrors - 30);
	free(log);
	free(starts);
	free(p.scratch);
	return nerrors ? 1 : 0;
}
