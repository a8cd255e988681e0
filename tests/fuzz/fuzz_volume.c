/*
 * Fuzz target (libFuzzer) for the daemon's load and first-read path: a
 * volume directory made from the input (tests/fuzz/fuzz_vol.h: summary,
 * state, topic.conf, segment indexes and data, cursor stores) is opened
 * with lfs_volume_open as the daemon opens it, and every topic is read
 * through every way the mount serves it. `make fuzz` builds it with clang
 * -fsanitize=fuzzer,address,undefined; tests/tools/fuzz_replay_volume.c
 * builds it with the project's compiler and replays
 * tests/fuzz/corpus-volume and tests/fuzz/regressions-volume in `make check`.
 *
 * Flags (byte 0) beyond fuzz_vol.h's: 32 open read-only, 64 append a
 * record after the reads (read-write opens).
 *
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *  - nothing crashes, hangs or leaks on any volume (the sanitizers);
 *  - a loaded topic's stat is consistent: first <= next, start <= end;
 *  - a reader never returns more bytes than its size, nor bytes past a
 *    failure, and a read of the same range twice returns the same bytes;
 *  - records walked one by one are the reader's bytes, in order, with
 *    offsets rising by one from the reader's start;
 *  - an append to a loaded topic is read back at the offset it was given,
 *    and still after a clean close and a second open.
 */
#include "internal.h"

#define FZ_NAME "fuzz_volume"
#include "fuzz_util.h"
#include "fuzz_vol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RDONLY 32
#define FZ_APPEND 64

/* Bounds that keep one input's work small whatever its files claim. */
#define FZ_READ_MAX (1u << 20)
#define FZ_RECORDS_MAX 4096

/* The volume's messages: FZ_VERBOSE=1 in the environment prints them. */
static void fz_quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (getenv("FZ_VERBOSE"))
		fprintf(stderr, "log %d: %s\n", level, msg);
}

static uint64_t fz_clock(void *ctx)
{
	(void)ctx;
	return 1800000000000000000ull; /* 2027: after any time the seeds hold */
}

static struct lfs_open_opts fz_opts(unsigned flags)
{
	struct lfs_open_opts o = {.flags = LFS_OPEN_DEFER_TICKER |
					   (flags & FZ_RDONLY ? LFS_OPEN_RDONLY : 0),
				  .log = fz_quiet,
				  .clock = fz_clock};
	return o;
}

/* Reads the reader's bytes from 0 (up to FZ_READ_MAX) into *out; returns
 * how many, stopping at the first failure. */
static size_t fz_read_all(lfs_reader *r, unsigned char **out)
{
	uint64_t size = lfs_reader_size(r);
	size_t cap = size < FZ_READ_MAX ? (size_t)size : FZ_READ_MAX;
	unsigned char *b = malloc(cap + 1);
	if (!b)
		fz_fail("malloc");
	size_t done = 0;
	while (done < cap) {
		size_t want = cap - done < 4096 ? cap - done : 4096;
		ssize_t n = lfs_reader_read(r, b + done, want, done);
		if (n < 0)
			break;
		if ((size_t)n > want)
			fz_fail("a read returned more than asked");
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done > lfs_reader_size(r))
		fz_fail("a reader returned more bytes than its size");
	/* The same range again: the same bytes (or a failure). */
	if (done) {
		unsigned char *again = malloc(done);
		if (!again)
			fz_fail("malloc");
		ssize_t n = lfs_reader_read(r, again, done, 0);
		if (n > 0 && memcmp(again, b, (size_t)n))
			fz_fail("a second read of the same bytes differs");
		free(again);
	}
	*out = b;
	return done;
}

/* Records one by one must be the byte stream, cut where records end. */
static void fz_records(lfs_topic *t, const unsigned char *bytes, size_t nbytes)
{
	struct lfs_start st = {LFS_START_FIRST, 0};
	lfs_reader *r;
	if (lfs_reader_open(t, &st, &r) < 0)
		return;
	uint64_t expect = lfs_reader_start_offset(r);
	size_t pos = 0;
	for (int i = 0; i < FZ_RECORDS_MAX; i++) {
		struct lfs_record rec;
		int rc = lfs_reader_next_record(r, &rec);
		if (rc <= 0)
			break;
		if (rec.offset != expect)
			fz_fail("records out of sequence");
		expect++;
		if (rec.len == 0)
			fz_fail("an empty record");
		if (pos + rec.len <= nbytes && memcmp(bytes + pos, rec.data, rec.len))
			fz_fail("a record differs from the bytes at its place");
		pos += rec.len;
	}
	lfs_reader_close(r);
}

static void fz_read_topic(lfs_topic *t)
{
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	if (ts.first_offset > ts.next_offset || ts.start_pos > ts.end_pos)
		fz_fail("a topic's stat is inconsistent");

	struct lfs_start st = {LFS_START_FIRST, 0};
	lfs_reader *r;
	unsigned char *bytes = NULL;
	size_t n = 0;
	if (lfs_reader_open(t, &st, &r) == 0) {
		n = fz_read_all(r, &bytes);
		lfs_reader_close(r);
	}
	fz_records(t, bytes, n);
	free(bytes);

	/* Starts by offset and time, as @N and @TIME open them. */
	uint64_t offs[] = {ts.first_offset, ts.first_offset + 1, ts.next_offset / 2,
			   ts.next_offset ? ts.next_offset - 1 : 0, ts.next_offset};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (int kind = 0; kind < 2; kind++) {
			struct lfs_start o = {kind ? LFS_START_AT_OR_AFTER : LFS_START_OFFSET, offs[i]};
			if (lfs_reader_open(t, &o, &r) == 0) {
				unsigned char buf[256];
				(void)lfs_reader_read(r, buf, sizeof(buf), 0);
				lfs_reader_close(r);
			}
		}
	}
	uint64_t times[] = {0, ts.first_timestamp, ts.last_timestamp, ts.last_timestamp + 1};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		struct lfs_start o = {LFS_START_TIME, times[i]};
		if (lfs_reader_open(t, &o, &r) == 0) {
			unsigned char buf[256];
			(void)lfs_reader_read(r, buf, sizeof(buf), 0);
			lfs_reader_close(r);
		}
	}

	/* Sealed segments as files (SEGMENT.log under the mount). */
	uint64_t *bases;
	size_t nb;
	if (lfs_topic_list_sealed(t, &bases, &nb) == 0) {
		for (size_t i = 0; i < nb && i < 64; i++) {
			lfs_segment *s;
			if (lfs_segment_get(t, bases[i], &s) < 0)
				continue;
			struct lfs_segment_stat ss;
			lfs_segment_stat(s, &ss);
			unsigned char buf[4096];
			uint64_t off = 0;
			for (int k = 0; k < 64 && off < ss.bytes; k++) {
				ssize_t got = lfs_segment_read(s, buf, sizeof(buf), off);
				if (got <= 0)
					break;
				off += (uint64_t)got;
			}
			(void)lfs_segment_verify(s);
			int fd = lfs_segment_open_data(s);
			if (fd >= 0)
				close(fd);
			lfs_segment_put(s);
		}
		free(bases);
	}

	char **names;
	size_t nc;
	if (lfs_cursor_list(t, &names, &nc) == 0) {
		for (size_t i = 0; i < nc; i++) {
			struct lfs_cursor_info ci;
			(void)lfs_cursor_stat(t, names[i], &ci);
		}
		lfs_names_free(names, nc);
	}
}

/* Appends one record and reads it back at its offset: 0 and *off, or -1
 * when the append was refused (a topic that cannot take one is fine). */
static int fz_append(lfs_topic *t, uint64_t *off)
{
	struct lfs_settings st;
	lfs_topic_settings(t, &st);
	static const char line[] = "fuzz record\n";
	size_t len = st.framing == LFS_FRAMING_WRITE ? 11 : sizeof(line) - 1;
	struct iovec iov = {(void *)line, len};
	struct lfs_append_result res;
	if (lfs_topic_append(t, (enum lfs_framing)st.framing, &iov, 1, &res) < 0)
		return -1;
	if (res.records != 1)
		fz_fail("one record appended as several");
	*off = res.first_offset;
	return 0;
}

static void fz_check_record(lfs_topic *t, uint64_t off)
{
	struct lfs_settings st;
	lfs_topic_settings(t, &st);
	size_t len = st.framing == LFS_FRAMING_WRITE ? 11 : 12;
	struct lfs_start o = {LFS_START_OFFSET, off};
	lfs_reader *r;
	if (lfs_reader_open(t, &o, &r) < 0)
		fz_fail("an appended record cannot be found at its offset");
	char buf[16];
	ssize_t n = lfs_reader_read(r, buf, len, 0);
	if (n != (ssize_t)len || memcmp(buf, "fuzz record\n", len)) {
		if (getenv("FZ_VERBOSE"))
			fprintf(stderr, "offset %llu: read %zd: %.*s\n", (unsigned long long)off, n,
				n > 0 ? (int)n : 0, buf);
		fz_fail("an appended record does not read back");
	}
	lfs_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > (1u << 20))
		return 0;
	struct fv_input in;
	fv_parse(data, size, &in);
	const char *path = fv_build(&in);

	struct lfs_open_opts o = fz_opts(in.flags);
	lfs_volume *v;
	if (lfs_volume_open(path, &o, &v, NULL) < 0) {
		fv_free(&in);
		return 0;
	}
	char **names;
	size_t n;
	if (lfs_volume_list_topics(v, &names, &n) < 0)
		fz_fail("cannot list topics");
	bool appended[2] = {false, false};
	uint64_t at[2] = {0, 0};
	for (size_t i = 0; i < n; i++) {
		lfs_topic *t;
		if (lfs_topic_get(v, names[i], &t) < 0)
			fz_fail("a listed topic cannot be found");
		fz_read_topic(t);
		if ((in.flags & FZ_APPEND) && !(in.flags & FZ_RDONLY) && i < 2 &&
		    fz_append(t, &at[i]) == 0) {
			appended[i] = true;
			fz_check_record(t, at[i]);
		}
		lfs_topic_put(t);
	}
	int rc = lfs_volume_close(v);
	/* What was appended is there after a clean close and a new open. */
	if (rc == 0 && (appended[0] || appended[1])) {
		if (lfs_volume_open(path, &o, &v, NULL) < 0)
			fz_fail("a volume closed cleanly does not open again");
		for (size_t i = 0; i < n && i < 2; i++) {
			lfs_topic *t;
			if (!appended[i])
				continue;
			if (lfs_topic_get(v, names[i], &t) < 0)
				fz_fail("a topic is gone after a clean close");
			fz_check_record(t, at[i]);
			lfs_topic_put(t);
		}
		lfs_volume_close(v);
	}
	lfs_names_free(names, n);
	fv_free(&in);
	return 0;
}
