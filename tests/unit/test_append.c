/* The append path: line and write framing, record offsets, timestamps,
 * rolls by size and age, sync modes, full filesystems. */
#include "testutil.h"

#include "internal.h"

#include <sys/statvfs.h>


static struct lfs_topic_stat stat_of(lfs_topic *t)
{
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	return st;
}

static uint64_t durable_offset(lfs_topic *t)
{
	lfs_mutex_lock(&t->sync_mu);
	uint64_t d = t->durable_offset;
	lfs_mutex_unlock(&t->sync_mu);
	return d;
}

/* ---- line framing ---- */

static void test_line_each_line_one_record(void **state)
{
	struct tu_fix *f = *state;
	struct lfs_append_result res = {99, 99};
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "a\nbb\nccc\n", 9, &res), 0);
	assert_true(res.first_offset == 0);
	assert_int_equal(res.records, 3);
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "dddd\n", 5, &res), 0);
	assert_true(res.first_offset == 3);
	assert_int_equal(res.records, 1);
	/* Empty lines are records too. */
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "\n\n", 2, &res), 0);
	assert_true(res.first_offset == 4);
	assert_int_equal(res.records, 2);
	/* A line may span iovecs; iovec boundaries are not record boundaries. */
	struct iovec iov[4] = {{"he", 2}, {"llo\nwor", 7}, {"", 0}, {"ld\n", 3}};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, iov, 4, &res), 0);
	assert_true(res.first_offset == 6);
	assert_int_equal(res.records, 2);
	/* res may be NULL. */
	tu_append(f->t, LFS_FRAMING_LINE, "x\n", 2);

	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.first_offset == 0);
	assert_true(st.next_offset == 9);
	const char *want = "a\nbb\nccc\ndddd\n\n\nhello\nworld\nx\n";
	assert_true(st.bytes == strlen(want));
	assert_true(st.end_pos - st.start_pos == strlen(want));
	tu_expect_contents(f->t, want, strlen(want));

	/* Each record starts where its offset says. */
	static const char *recs[] = {"a\n", "bb\n", "ccc\n", "dddd\n", "\n",
				     "\n", "hello\n", "world\n", "x\n"};
	for (uint64_t o = 0; o < 9; o++) {
		lfs_reader *r = tu_reader_at(f->t, o);
		assert_true(lfs_reader_start_offset(r) == o);
		char buf[16] = {0};
		size_t l = strlen(recs[o]);
		assert_int_equal(lfs_reader_read(r, buf, l, 0), (ssize_t)l);
		assert_memory_equal(buf, recs[o], l);
		lfs_reader_close(r);
	}
}

static void test_line_binary_bytes(void **state)
{
	struct tu_fix *f = *state;
	/* Any bytes but '\n' belong to the line, NUL included. */
	const char rec[] = {'a', 0, (char)0xff, '\r', 'b', '\n', 0, '\n'};
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, rec, sizeof(rec), &res), 0);
	assert_int_equal(res.records, 2);
	tu_expect_contents(f->t, rec, sizeof(rec));
}

static void test_line_too_long(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_MAX_RECORD, "16");
	tu_append_str(f->t, "first\n");
	/* 16 bytes including the '\n' is the limit. */
	char line[64];
	memset(line, 'x', sizeof(line));
	line[15] = '\n';
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, line, 16, &res), 0);
	assert_true(res.first_offset == 1);
	struct lfs_topic_stat before = stat_of(f->t);

	/* 17 bytes: refused, and nothing of the batch is appended, not even
	 * the good lines before and after the long one. */
	char batch[64];
	memcpy(batch, "ok\n", 3);
	memset(batch + 3, 'y', 16);
	batch[19] = '\n';
	memcpy(batch + 20, "ok2\n", 4);
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, batch, 24, NULL), -EMSGSIZE);
	/* The same long line split over iovecs is still one line. */
	struct iovec iov[3] = {{batch, 10}, {batch + 10, 5}, {batch + 15, 9}};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, iov, 3, NULL), -EMSGSIZE);
	struct lfs_topic_stat after = stat_of(f->t);
	assert_true(after.next_offset == before.next_offset);
	assert_true(after.bytes == before.bytes);
	line[15] = 'x';
	line[16] = '\n';
	tu_expect_contents(f->t, "first\nxxxxxxxxxxxxxxx\n", 22);

	/* A larger limit takes effect at once. */
	tu_set(f->t, LFS_SET_MAX_RECORD, "17");
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, batch, 24, &res), 0);
	assert_int_equal(res.records, 3);
	assert_true(stat_of(f->t).next_offset == 5);
}

static void test_line_unterminated_or_empty(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "keep\n");
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "abc", 3, NULL), -EINVAL);
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "a\nb", 3, NULL), -EINVAL);
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "", 0, NULL), -EINVAL);
	struct iovec iov[2] = {{"x\n", 2}, {"y", 1}};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, iov, 2, NULL), -EINVAL);
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, iov, 0, NULL), -EINVAL);
	struct iovec empty[2] = {{"", 0}, {"", 0}};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, empty, 2, NULL), -EINVAL);
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.next_offset == 1);
	assert_true(st.bytes == 5);
	tu_expect_contents(f->t, "keep\n", 5);
}

/* A batch must be framed as its topic is: bytes appended with another
 * framing would be misread by readers and cut by recovery. */
static void test_framing_must_match_topic(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "line\n");
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_WRITE, "blob", 4, NULL), -EINVAL);
	assert_true(stat_of(f->t).next_offset == 1);

	lfs_topic *w = tu_topic(f->v, "w");
	tu_set(w, LFS_SET_FRAMING, "write");
	assert_int_equal(tu_append_rc(w, LFS_FRAMING_LINE, "a\nb\n", 4, NULL), -EINVAL);
	tu_append(w, LFS_FRAMING_WRITE, "a\nb\n", 4);
	assert_true(stat_of(w).next_offset == 1);
	lfs_topic_put(w);
}

/* ---- write framing ---- */

static void test_write_one_call_one_record(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_FRAMING, "write");
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_WRITE, "abc", 3, &res), 0);
	assert_true(res.first_offset == 0);
	assert_int_equal(res.records, 1);
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_WRITE, "x\ny\nz\n", 6, &res), 0);
	assert_true(res.first_offset == 1);
	assert_int_equal(res.records, 1);
	const char bin[] = {0, 1, 2, '\n', 0, (char)0xff};
	struct iovec iov[3] = {{(void *)bin, 2}, {(void *)(bin + 2), 0}, {(void *)(bin + 2), 4}};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_WRITE, iov, 3, &res), 0);
	assert_true(res.first_offset == 2);
	assert_int_equal(res.records, 1);
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_WRITE, "", 0, NULL), -EINVAL);
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_WRITE, iov, 0, NULL), -EINVAL);

	struct tu_buf want = {0};
	tu_buf_add(&want, "abc", 3);
	tu_buf_add(&want, "x\ny\nz\n", 6);
	tu_buf_add(&want, bin, sizeof(bin));
	tu_expect_contents(f->t, want.p, want.len);
	assert_true(stat_of(f->t).next_offset == 3);

	/* @N lands on the N-th write. */
	lfs_reader *r = tu_reader_at(f->t, 2);
	char buf[8];
	assert_int_equal(lfs_reader_size(r), sizeof(bin));
	assert_int_equal(lfs_reader_read(r, buf, sizeof(buf), 0), (ssize_t)sizeof(bin));
	assert_memory_equal(buf, bin, sizeof(bin));
	lfs_reader_close(r);
	free(want.p);
}

static void test_write_too_large(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_FRAMING, "write");
	tu_set(f->t, LFS_SET_MAX_RECORD, "100");
	char buf[101];
	memset(buf, 'w', sizeof(buf));
	tu_append(f->t, LFS_FRAMING_WRITE, buf, 100);
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_WRITE, buf, 101, NULL), -EMSGSIZE);
	struct iovec iov[2] = {{buf, 60}, {buf, 41}};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_WRITE, iov, 2, NULL), -EMSGSIZE);
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.next_offset == 1);
	assert_true(st.bytes == 100);
}

/* No batch may exceed LFS_BATCH_MAX, whatever max_record says. */
static void test_batch_max(void **state)
{
	struct tu_fix *f = *state;
	size_t chunk = 1 << 20;
	char *buf = malloc(chunk);
	assert_non_null(buf);
	/* 1 MiB of 1 KiB lines, repeated 65 times: every line is short. */
	for (size_t i = 0; i < chunk; i++)
		buf[i] = (i % 1024 == 1023) ? '\n' : 'l';
	int n = (int)(LFS_BATCH_MAX / chunk) + 1;
	struct iovec *iov = calloc((size_t)n, sizeof(*iov));
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){buf, chunk};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, iov, n, NULL), -EMSGSIZE);
	assert_true(stat_of(f->t).next_offset == 0);
	/* Two of them are fine. */
	struct lfs_append_result res;
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, iov, 2, &res), 0);
	assert_int_equal(res.records, 2048);
	free(iov);
	free(buf);
}

/* ---- timestamps ---- */

static void test_timestamps_non_decreasing(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	uint64_t t0 = tu_now();
	char line[64];
	for (int i = 0; i < 300; i++) {
		int n = snprintf(line, sizeof(line), "%d %s\n", i,
				 i % 3 ? "a record of some length, long enough to roll a few times"
				       : "two\nlines");
		tu_append(f->t, LFS_FRAMING_LINE, line, (size_t)n);
		tu_advance_ns((uint64_t)(i % 7) * 1000);
	}
	uint64_t t1 = tu_now();
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.segments > 2);

	/* Seals are written off the append path; a sync writes them. */
	assert_int_equal(lfs_topic_sync(f->t), 0);
	/* Walk every segment's index: one entry per append, offsets
	 * contiguous, timestamps inside [t0, t1] and never decreasing. */
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	assert_int_equal(nb, st.segments - 1);
	uint64_t next = 0, prev_ts = 0, entries = 0, pos = 0;
	for (size_t k = 0; k <= nb; k++) {
		uint64_t base = k < nb ? bases[k] : next;
		char *p = tu_seg_path(f->vol, "app", base, "idx");
		struct lfs_idx_header h;
		struct lfs_idx_entry *e;
		size_t n;
		bool sealed;
		assert_true(tu_idx_load(p, &h, &e, &n, &sealed));
		assert_int_equal(sealed, k < nb);
		assert_true(h.base_offset == base);
		assert_true(h.stream_pos == pos);
		assert_int_equal(h.framing, LFS_FRAMING_LINE);
		uint64_t seg_pos = 0;
		for (size_t i = 0; i < n; i++) {
			assert_true(e[i].offset == next);
			assert_true(e[i].pos == seg_pos);
			assert_true(e[i].ts >= t0 && e[i].ts <= t1);
			assert_true(e[i].ts >= prev_ts);
			prev_ts = e[i].ts;
			if (k == 0 && i == 0)
				assert_true(e[i].ts == st.first_timestamp);
			next += e[i].count;
			seg_pos += e[i].len;
			entries++;
		}
		pos += seg_pos;
		free(e);
		free(p);
	}
	assert_int_equal(entries, 300);
	assert_true(next == st.next_offset);
	assert_true(next == 400);
	assert_true(prev_ts == st.last_timestamp);
	assert_true(pos == st.bytes);
	free(bases);
}

/* ---- rolls ---- */

static void test_roll_by_size(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	char rec[1024];
	struct tu_buf want = {0};
	for (int i = 0; i < 18; i++) {
		memset(rec, 'a' + i, sizeof(rec) - 1);
		rec[sizeof(rec) - 1] = '\n';
		struct lfs_append_result res;
		assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, rec, sizeof(rec), &res), 0);
		assert_true(res.first_offset == (uint64_t)i);
		tu_buf_add(&want, rec, sizeof(rec));
	}
	/* Four 1 KiB records fill a 4 KiB segment exactly; the fifth rolls.
	 * Seals are written off the append path; a sync writes them. */
	assert_int_equal(lfs_topic_sync(f->t), 0);
	uint64_t *bases;
	size_t n;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &n), 0);
	assert_int_equal(n, 4);
	for (size_t k = 0; k < n; k++) {
		assert_true(bases[k] == 4 * k);
		lfs_segment *s;
		struct lfs_segment_stat ss;
		assert_int_equal(lfs_segment_get(f->t, bases[k], &s), 0);
		lfs_segment_stat(s, &ss);
		assert_true(ss.base_offset == 4 * k);
		assert_true(ss.records == 4);
		assert_true(ss.bytes == 4096);
		assert_true(ss.sealed);
		lfs_segment_put(s);
		/* Sealed files are cut to their exact length, with a seal. */
		char *p = tu_seg_path(f->vol, "app", bases[k], "log");
		assert_int_equal(tu_file_size(p), 4096);
		free(p);
		p = tu_seg_path(f->vol, "app", bases[k], "idx");
		assert_int_equal(tu_file_size(p), LFS_IDX_HEADER_SIZE + 5 * LFS_IDX_ENTRY_SIZE);
		free(p);
	}
	free(bases);
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.segments == 5);
	assert_true(st.next_offset == 18);
	assert_true(st.bytes == 18 * 1024);
	tu_expect_contents(f->t, want.p, want.len);
	/* The same after a clean reopen. */
	tu_reopen(f->vol, &f->v, &f->t);
	tu_expect_contents(f->t, want.p, want.len);
	st = stat_of(f->t);
	assert_true(st.segments == 5);
	assert_true(st.next_offset == 18);
	free(want.p);
}

static void test_roll_exact_fit_and_one_over(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	char rec[4096];
	memset(rec, 'r', sizeof(rec));
	rec[4094] = '\n';
	tu_append(f->t, LFS_FRAMING_LINE, rec, 4095);
	tu_append(f->t, LFS_FRAMING_LINE, "\n", 1); /* 4096: fits */
	assert_true(stat_of(f->t).segments == 1);
	tu_append(f->t, LFS_FRAMING_LINE, "\n", 1); /* 4097: rolls */
	assert_true(stat_of(f->t).segments == 2);
	uint64_t *bases;
	size_t n;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &n), 0);
	assert_int_equal(n, 1);
	assert_true(bases[0] == 0);
	free(bases);
}

static void test_roll_by_age(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_MS, "150");
	tu_append_str(f->t, "one\n");
	tu_append_str(f->t, "two\n");
	assert_true(stat_of(f->t).segments == 1);
	tu_advance_ms(200);
	/* Aged: this append goes into a new segment. */
	tu_append_str(f->t, "three\n");
	assert_true(stat_of(f->t).segments == 2);
	tu_append_str(f->t, "four\n");
	assert_true(stat_of(f->t).segments == 2);
	uint64_t *bases;
	size_t n;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &n), 0);
	assert_int_equal(n, 1);
	assert_true(bases[0] == 0);
	free(bases);
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, 0, &s), 0);
	struct lfs_segment_stat ss;
	lfs_segment_stat(s, &ss);
	assert_true(ss.records == 2);
	lfs_segment_put(s);
	/* An empty segment never rolls, however old. */
	tu_advance_ms(200);
	tu_append_str(f->t, "five\n");
	assert_true(stat_of(f->t).segments == 3);
	tu_expect_contents(f->t, "one\ntwo\nthree\nfour\nfive\n", 24);
	/* segment_ms 0: no age roll. */
	tu_set(f->t, LFS_SET_SEGMENT_MS, "0");
	tu_advance_ms(200);
	tu_append_str(f->t, "six\n");
	assert_true(stat_of(f->t).segments == 3);
}

/* An age limit so long that it overflows nanoseconds never rolls. */
static void test_huge_segment_ms(void **state)
{
	struct tu_fix *f = *state;
	static const char *forever[] = {"18446744073710", "18446744073709551615", "250000d"};
	for (size_t i = 0; i < sizeof(forever) / sizeof(forever[0]); i++) {
		tu_set(f->t, LFS_SET_SEGMENT_MS, forever[i]);
		tu_append_str(f->t, "a\n");
		tu_append_str(f->t, "b\n");
		tu_advance_ms(2);
		tu_append_str(f->t, "c\n");
	}
	assert_true(stat_of(f->t).segments == 1);
}

static void test_single_append_larger_than_segment(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	tu_set(f->t, LFS_SET_FRAMING, "write");
	size_t big = 3 * 4096 + 123;
	char *buf = malloc(big);
	for (size_t i = 0; i < big; i++)
		buf[i] = (char)(i * 31);
	/* Into the empty active segment: no roll, one segment. */
	tu_append(f->t, LFS_FRAMING_WRITE, buf, big);
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.segments == 1);
	assert_true(st.bytes == big);
	/* The next append rolls; a big one after a small one gets a new
	 * segment of its own. */
	tu_append(f->t, LFS_FRAMING_WRITE, "s", 1);
	tu_append(f->t, LFS_FRAMING_WRITE, buf, big);
	tu_append(f->t, LFS_FRAMING_WRITE, "t", 1);
	uint64_t *bases;
	size_t n;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &n), 0);
	assert_int_equal(n, 3);
	assert_true(bases[0] == 0 && bases[1] == 1 && bases[2] == 2);
	free(bases);
	lfs_segment *s;
	struct lfs_segment_stat ss;
	assert_int_equal(lfs_segment_get(f->t, 2, &s), 0);
	lfs_segment_stat(s, &ss);
	assert_true(ss.records == 1 && ss.bytes == big);
	char *back = malloc(big);
	assert_int_equal(lfs_segment_read(s, back, big, 0), (ssize_t)big);
	assert_memory_equal(back, buf, big);
	lfs_segment_put(s);
	struct tu_buf want = {0};
	tu_buf_add(&want, buf, big);
	tu_buf_add(&want, "s", 1);
	tu_buf_add(&want, buf, big);
	tu_buf_add(&want, "t", 1);
	tu_expect_contents(f->t, want.p, want.len);
	free(want.p);
	free(back);
	free(buf);
}

/* The index of a segment is bounded (its mapping is): a segment rolls
 * when its index would pass LFS_IDX_MAX_ENTRIES, however small the data. */
static void test_roll_by_index_entries(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SYNC, "never");
	uint64_t n = LFS_IDX_MAX_ENTRIES + 10;
	for (uint64_t i = 0; i < n; i++) {
		struct iovec iov = {"\n", 1};
		if (lfs_topic_append(f->t, LFS_FRAMING_LINE, &iov, 1, NULL) != 0)
			fail_msg("append %llu failed", (unsigned long long)i);
	}
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.next_offset == n);
	assert_true(st.segments == 2);
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, 0, &s), 0);
	struct lfs_segment_stat ss;
	lfs_segment_stat(s, &ss);
	assert_true(ss.records < LFS_IDX_MAX_ENTRIES && ss.records > LFS_IDX_MAX_ENTRIES - 10);
	lfs_segment_put(s);
	lfs_reader *r = tu_reader_at(f->t, n - 1);
	assert_int_equal(lfs_reader_size(r), 1);
	lfs_reader_close(r);
}

/* ---- sync modes ---- */

static void test_sync_always(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SYNC, "always");
	for (int i = 0; i < 20; i++) {
		tu_append_str(f->t, "durable\n");
		/* Acknowledged only once durable. */
		assert_true(durable_offset(f->t) == (uint64_t)i + 1);
	}
	assert_false(atomic_load(&f->t->dirty));
}

static void test_sync_never_and_explicit_sync(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SYNC, "never");
	tu_append_str(f->t, "a\n");
	tu_append_str(f->t, "b\n");
	assert_true(durable_offset(f->t) == 0);
	assert_true(atomic_load(&f->t->dirty));
	/* No background sync, however late it is. */
	lfs_volume_tick(f->v, tu_now() + 3600ull * 1000000000ull);
	assert_true(durable_offset(f->t) == 0);
	assert_true(atomic_load(&f->t->dirty));
	/* fsync(2) always works. */
	assert_int_equal(lfs_topic_sync(f->t), 0);
	assert_true(durable_offset(f->t) == 2);
	assert_false(atomic_load(&f->t->dirty));
	/* Nothing to do: still fine. */
	assert_int_equal(lfs_topic_sync(f->t), 0);
	assert_true(durable_offset(f->t) == 2);
}

static void test_sync_interval(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SYNC, "1h");
	tu_append_str(f->t, "a\n");
	uint64_t now = tu_now();
	/* Whether or not a sync is due depends on the last sync time. */
	lfs_volume_tick(f->v, atomic_load(&f->t->last_sync_ns) + 3600ull * 1000000000ull - 1);
	assert_true(durable_offset(f->t) == 0 || atomic_load(&f->t->last_sync_ns) == 0);
	lfs_volume_tick(f->v, now + 2 * 3600ull * 1000000000ull);
	assert_true(durable_offset(f->t) == 1);
	assert_false(atomic_load(&f->t->dirty));
	uint64_t last = atomic_load(&f->t->last_sync_ns);
	assert_true(last != 0);
	/* Not dirty: no sync, whatever the time. */
	lfs_volume_tick(f->v, now + 4 * 3600ull * 1000000000ull);
	assert_true(atomic_load(&f->t->last_sync_ns) == last);
	/* Dirty but not yet due. */
	tu_append_str(f->t, "b\n");
	lfs_volume_tick(f->v, last + 1000000000ull);
	assert_true(durable_offset(f->t) == 1);
	/* Due. */
	lfs_volume_tick(f->v, last + 3601ull * 1000000000ull);
	assert_true(durable_offset(f->t) == 2);

	/* Short intervals as well: a tick 20 ms after the last sync syncs, one
	 * a nanosecond earlier does not. */
	tu_set(f->t, LFS_SET_SYNC, "20");
	last = atomic_load(&f->t->last_sync_ns);
	tu_append_str(f->t, "c\n");
	lfs_volume_tick(f->v, last + 20000000ull - 1);
	assert_true(durable_offset(f->t) == 2);
	lfs_volume_tick(f->v, last + 20000000ull);
	assert_true(durable_offset(f->t) == 3);
}

/* ---- full filesystem ---- */

/* The tmpfs of the running test, unmounted by the teardown even when an
 * assertion fails half way. */
static char *g_mnt;

static int teardown_mnt(void **state)
{
	(void)state;
	if (g_mnt) {
		tu_umount_tmpfs(g_mnt);
		g_mnt = NULL;
	}
	return 0;
}

static void fill_file(const char *path, size_t bytes)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	char buf[4096];
	memset(buf, 'F', sizeof(buf));
	for (size_t done = 0; done < bytes; done += sizeof(buf))
		assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
}

static void test_enospc_nothing_partial(void **state)
{
	(void)state;
	char *mnt = g_mnt = tu_mount_tmpfs("size=4M");
	if (!mnt) {
		fprintf(stderr, "test_enospc_nothing_partial skipped: no tmpfs\n");
		skip();
	}
	char *vol = tu_fmt("%s/vol", mnt), *filler = tu_fmt("%s/filler", mnt);
	tu_mkvol_at(vol, 0);
	fill_file(filler, 1536 << 10);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "full");
	char rec[4000];
	struct tu_buf want = {0};
	int ok = 0, rc = 0;
	for (int i = 0; i < 10000; i++) {
		memset(rec, 'a' + i % 26, sizeof(rec));
		snprintf(rec, sizeof(rec), "%d", i);
		rec[sizeof(rec) - 1] = '\n';
		rc = tu_append_rc(t, LFS_FRAMING_LINE, rec, sizeof(rec), NULL);
		if (rc < 0)
			break;
		tu_buf_add(&want, rec, sizeof(rec));
		ok++;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_true(ok > 100);
	/* Still full: refused again, and nothing of either attempt is there. */
	assert_int_equal(tu_append_rc(t, LFS_FRAMING_LINE, rec, sizeof(rec), NULL), -ENOSPC);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == (uint64_t)ok);
	assert_true(st.bytes == want.len);
	tu_expect_contents(t, want.p, want.len);
	assert_int_equal(lfs_topic_sync(t), 0);
	/* Space comes back: appends work again. */
	assert_int_equal(unlink(filler), 0);
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(t, LFS_FRAMING_LINE, rec, sizeof(rec), &res), 0);
	assert_true(res.first_offset == (uint64_t)ok);
	tu_buf_add(&want, rec, sizeof(rec));
	tu_append_str(t, "after\n");
	tu_buf_add(&want, "after\n", 6);
	tu_expect_contents(t, want.p, want.len);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	/* And everything survives a reopen. */
	v = tu_open(vol);
	assert_int_equal(lfs_topic_get(v, "full", &t), 0);
	tu_expect_contents(t, want.p, want.len);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	free(want.p);
	free(vol);
	free(filler);
}

/* ENOSPC in the middle of a roll (no inode for the next segment's files):
 * the append fails, nothing is lost, and appends work again once there is
 * room. */
static void test_enospc_during_roll(void **state)
{
	(void)state;
	char *mnt = g_mnt = tu_mount_tmpfs("size=16M,nr_inodes=64");
	if (!mnt) {
		fprintf(stderr, "test_enospc_during_roll skipped: no tmpfs\n");
		skip();
	}
	char *vol = tu_fmt("%s/vol", mnt);
	tu_mkvol_at(vol, 0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "roll");
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	char rec[1000];
	memset(rec, 'r', sizeof(rec));
	rec[sizeof(rec) - 1] = '\n';
	for (int i = 0; i < 4; i++)
		tu_append(t, LFS_FRAMING_LINE, rec, sizeof(rec));
	/* Use up every inode. */
	int nfill = 0;
	for (;; nfill++) {
		char *p = tu_fmt("%s/f%d", mnt, nfill);
		int fd = open(p, O_WRONLY | O_CREAT, 0644);
		free(p);
		if (fd < 0) {
			assert_int_equal(errno, ENOSPC);
			break;
		}
		close(fd);
	}
	assert_true(nfill > 0);
	/* This one needs a new segment. */
	for (int k = 0; k < 3; k++)
		assert_int_equal(tu_append_rc(t, LFS_FRAMING_LINE, rec, sizeof(rec), NULL),
				 -ENOSPC);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == 4);
	assert_true(st.bytes == 4000);
	/* Free two inodes. */
	for (int k = 0; k < 2; k++) {
		char *p = tu_fmt("%s/f%d", mnt, k);
		assert_int_equal(unlink(p), 0);
		free(p);
	}
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(t, LFS_FRAMING_LINE, rec, sizeof(rec), &res), 0);
	assert_true(res.first_offset == 4);
	tu_append(t, LFS_FRAMING_LINE, rec, sizeof(rec));
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == 6);
	assert_true(st.segments == 2);
	struct tu_buf want = {0};
	for (int i = 0; i < 6; i++)
		tu_buf_add(&want, rec, sizeof(rec));
	tu_expect_contents(t, want.p, want.len);
	/* Closing cleanly writes the state file: give it room. */
	for (int k = 2; k < nfill; k++) {
		char *p = tu_fmt("%s/f%d", mnt, k);
		assert_int_equal(unlink(p), 0);
		free(p);
	}
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	v = tu_open(vol);
	assert_int_equal(lfs_topic_get(v, "roll", &t), 0);
	tu_expect_contents(t, want.p, want.len);
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == 6);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	free(want.p);
	free(vol);
}

/* ---- reopen ---- */

static void test_offsets_continue_after_reopen(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	char line[100];
	struct tu_buf want = {0};
	for (int i = 0; i < 150; i++) {
		int n = snprintf(line, sizeof(line), "line %d of the first session\n", i);
		tu_append(f->t, LFS_FRAMING_LINE, line, (size_t)n);
		tu_buf_add(&want, line, (size_t)n);
	}
	tu_reopen(f->vol, &f->v, &f->t);
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "next\n", 5, &res), 0);
	assert_true(res.first_offset == 150);
	tu_buf_add(&want, "next\n", 5);
	tu_expect_contents(f->t, want.p, want.len);
	free(want.p);
}

/* An active segment written with a large segment_size stays readable and
 * appendable after segment_size is lowered and the volume reopened. */
static void test_active_larger_than_segment_size_after_reopen(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "1G");
	tu_set(f->t, LFS_SET_FRAMING, "write");
	tu_set(f->t, LFS_SET_SYNC, "never");
	size_t chunk = 1 << 20;
	unsigned char *buf = malloc(chunk);
	int nchunks = (int)(LFS_BATCH_MAX / chunk) + 4; /* more than the mapping slack */
	for (int i = 0; i < nchunks; i++) {
		memset(buf, i, chunk);
		tu_append(f->t, LFS_FRAMING_WRITE, buf, chunk);
	}
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	tu_reopen(f->vol, &f->v, &f->t);
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.bytes == (uint64_t)nchunks * chunk);
	assert_true(st.segments == 1);
	/* Read the last records (beyond segment_size + LFS_BATCH_MAX). */
	for (int i = nchunks - 3; i < nchunks; i++) {
		lfs_reader *r = tu_reader_at(f->t, (uint64_t)i);
		assert_int_equal(lfs_reader_read(r, buf, chunk, 0), (ssize_t)chunk);
		for (size_t k = 0; k < chunk; k += 4093)
			assert_int_equal(buf[k], (unsigned char)i);
		lfs_reader_close(r);
	}
	/* The next append rolls. */
	tu_append(f->t, LFS_FRAMING_WRITE, "z", 1);
	st = stat_of(f->t);
	assert_true(st.segments == 2);
	assert_true(st.next_offset == (uint64_t)nchunks + 1);
	free(buf);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_fix_setup, tu_fix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_line_each_line_one_record),
		T(test_line_binary_bytes),
		T(test_line_too_long),
		T(test_line_unterminated_or_empty),
		T(test_framing_must_match_topic),
		T(test_write_one_call_one_record),
		T(test_write_too_large),
		T(test_batch_max),
		T(test_timestamps_non_decreasing),
		T(test_roll_by_size),
		T(test_roll_exact_fit_and_one_over),
		T(test_roll_by_age),
		T(test_huge_segment_ms),
		T(test_single_append_larger_than_segment),
		T(test_roll_by_index_entries),
		T(test_sync_always),
		T(test_sync_never_and_explicit_sync),
		T(test_sync_interval),
		cmocka_unit_test_teardown(test_enospc_nothing_partial, teardown_mnt),
		cmocka_unit_test_teardown(test_enospc_during_roll, teardown_mnt),
		T(test_offsets_continue_after_reopen),
		T(test_active_larger_than_segment_size_after_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
