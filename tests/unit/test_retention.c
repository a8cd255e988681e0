/* Retention by bytes and by age, manual deletion of the oldest segment,
 * sealed segments as files, and readers that outlive deleted segments. */
#include "testutil.h"

#include "internal.h"

#define SEC 1000000000ull

struct fix {
	char *vol;
	lfs_volume *v;
	lfs_topic *t;
	struct tu_buf data;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	tu_fix_open(&f->vol, &f->v, &f->t);
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	tu_fix_close(f->vol, f->v, f->t);
	free(f->data.p);
	free(f);
	return 0;
}

/* n records of 1 KiB: four to a 4 KiB segment. */
static void fill(struct fix *f, int n)
{
	static int seq;
	char rec[1024];
	for (int i = 0; i < n; i++) {
		memset(rec, 'a' + seq % 26, sizeof(rec));
		snprintf(rec, sizeof(rec), "record %d", seq++);
		rec[strlen(rec)] = ' ';
		rec[sizeof(rec) - 1] = '\n';
		tu_append(f->t, LFS_FRAMING_LINE, rec, sizeof(rec));
		tu_buf_add(&f->data, rec, sizeof(rec));
	}
}

static struct lfs_topic_stat stat_of(lfs_topic *t)
{
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	return st;
}

static void expect_sealed(lfs_topic *t, const uint64_t *want, size_t n)
{
	uint64_t *bases;
	size_t count;
	assert_int_equal(lfs_topic_list_sealed(t, &bases, &count), 0);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++)
		assert_true(bases[i] == want[i]);
	free(bases);
}

static bool seg_files_exist(struct fix *f, uint64_t base)
{
	char *l = tu_seg_path(f->vol, "app", base, "log");
	char *x = tu_seg_path(f->vol, "app", base, "idx");
	bool a = tu_exists(l), b = tu_exists(x);
	free(l);
	free(x);
	assert_int_equal(a, b);
	return a;
}

/* Everything a FIRST reader sees is the tail of what was appended. */
static void expect_retained_tail(struct fix *f, uint64_t first_offset)
{
	size_t len = f->data.len - first_offset * 1024;
	tu_expect_contents(f->t, f->data.p + first_offset * 1024, len);
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.first_offset == first_offset);
	assert_true(st.bytes == len);
	assert_true(st.start_pos == first_offset * 1024);
}

static void test_retention_by_bytes(void **state)
{
	struct fix *f = *state;
	fill(f, 40); /* segments 0,4,...,32 sealed; 36 active */
	const uint64_t all[] = {0, 4, 8, 12, 16, 20, 24, 28, 32};
	expect_sealed(f->t, all, 9);
	/* No limit: nothing to do. */
	assert_int_equal(lfs_topic_apply_retention(f->t, tu_now()), 0);
	expect_sealed(f->t, all, 9);
	/* 40 KiB retained; keep deleting the oldest while over 10000. */
	tu_set(f->t, LFS_SET_RETENTION_BYTES, "10000");
	assert_int_equal(lfs_topic_apply_retention(f->t, tu_now()), 8);
	const uint64_t left[] = {32};
	expect_sealed(f->t, left, 1);
	assert_int_equal(lfs_topic_apply_retention(f->t, tu_now()), 0);
	expect_retained_tail(f, 32);
	for (int i = 0; i < 9; i++)
		assert_int_equal(seg_files_exist(f, all[i]), all[i] == 32);
	/* Exactly at the limit: nothing more goes. */
	tu_set(f->t, LFS_SET_RETENTION_BYTES, "8192");
	assert_int_equal(lfs_topic_apply_retention(f->t, tu_now()), 0);
	expect_sealed(f->t, left, 1);
	tu_set(f->t, LFS_SET_RETENTION_BYTES, "8191");
	assert_int_equal(lfs_topic_apply_retention(f->t, tu_now()), 1);
	expect_sealed(f->t, NULL, 0);
	expect_retained_tail(f, 36);
	/* The state survives a reopen. */
	tu_reopen(f->vol, &f->v, &f->t);
	expect_retained_tail(f, 36);
	expect_sealed(f->t, NULL, 0);
}

/* Retention runs when an append rolls, too. */
static void test_retention_on_roll(void **state)
{
	struct fix *f = *state;
	tu_set(f->t, LFS_SET_RETENTION_BYTES, "12K");
	for (int i = 0; i < 30; i++) {
		fill(f, 1);
		struct lfs_topic_stat st = stat_of(f->t);
		/* At most one segment beyond the limit, briefly: deletion
		 * follows the roll. */
		assert_true(st.bytes <= 12 * 1024 + 4096);
	}
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.next_offset == 30);
	/* 28 active (2 records), sealed 16..27: 14 KiB > 12K; 20.. leaves 10K. */
	const uint64_t left[] = {20, 24};
	expect_sealed(f->t, left, 2);
	expect_retained_tail(f, 20);
}

static void test_retention_by_age(void **state)
{
	struct fix *f = *state;
	fill(f, 8);
	tu_advance_ms(5);
	fill(f, 8);
	tu_advance_ms(5);
	fill(f, 6); /* sealed 0,4,8,12,16; active 20 */
	uint64_t newest[5];
	const uint64_t all[] = {0, 4, 8, 12, 16};
	for (int i = 0; i < 5; i++) {
		lfs_segment *s;
		struct lfs_segment_stat ss;
		assert_int_equal(lfs_segment_get(f->t, all[i], &s), 0);
		lfs_segment_stat(s, &ss);
		newest[i] = ss.last_timestamp;
		assert_true(ss.first_timestamp <= ss.last_timestamp);
		assert_true(i == 0 || newest[i] >= newest[i - 1]);
		lfs_segment_put(s);
	}
	/* An hour: nothing is that old now. */
	tu_set(f->t, LFS_SET_RETENTION_MS, "1h");
	uint64_t hour = 3600 * SEC;
	assert_int_equal(lfs_topic_apply_retention(f->t, tu_now()), 0);
	expect_sealed(f->t, all, 5);
	/* Exactly an hour after segment 4's newest record: not older yet. */
	assert_int_equal(lfs_topic_apply_retention(f->t, newest[1] + hour), newest[0] < newest[1]);
	/* One nanosecond later, segments 0 and 4 (and whatever shares their
	 * newest timestamp) are. */
	int want = 0;
	for (int i = 0; i < 5; i++)
		want += newest[i] + hour < newest[1] + hour + 1;
	int got = lfs_topic_apply_retention(f->t, newest[1] + hour + 1);
	expect_sealed(f->t, all + want, (size_t)(5 - want));
	assert_true(got <= want);
	expect_retained_tail(f, all[want]);
	/* Far in the future: every sealed segment, never the active one. */
	assert_true(lfs_topic_apply_retention(f->t, newest[4] + 100 * hour) >= 1);
	expect_sealed(f->t, NULL, 0);
	expect_retained_tail(f, 20);
	assert_int_equal(lfs_topic_apply_retention(f->t, UINT64_MAX / 2), 0);
	assert_true(stat_of(f->t).segments == 1);
	/* And appends go on. */
	fill(f, 1);
	expect_retained_tail(f, 20);
}

/* Retention times so long they overflow nanoseconds ("keep for ages")
 * keep everything; they must not wrap around into "delete now". */
static void test_huge_retention_ms(void **state)
{
	struct fix *f = *state;
	fill(f, 12);
	static const char *forever[] = {"200000d", "18446744073709551615", "18446744073710",
					"5000000000h"};
	for (size_t i = 0; i < sizeof(forever) / sizeof(forever[0]); i++) {
		tu_set(f->t, LFS_SET_RETENTION_MS, forever[i]);
		assert_int_equal(lfs_topic_apply_retention(f->t, tu_now()), 0);
		assert_int_equal(lfs_topic_apply_retention(f->t, tu_now() + 100 * 86400 * SEC), 0);
		lfs_volume_tick(f->v, tu_now());
		assert_true(stat_of(f->t).segments == 3);
	}
	expect_retained_tail(f, 0);
}

/* The ticker applies retention by age; a fake clock drives it. */
static void test_retention_by_tick(void **state)
{
	struct fix *f = *state;
	fill(f, 12);
	tu_set(f->t, LFS_SET_RETENTION_MS, "1d");
	lfs_volume_tick(f->v, tu_now());
	assert_true(stat_of(f->t).segments == 3);
	lfs_volume_tick(f->v, tu_now() + 2 * 86400 * SEC);
	assert_true(stat_of(f->t).segments == 1);
	expect_retained_tail(f, 8);
}

static void test_active_never_deleted(void **state)
{
	struct fix *f = *state;
	fill(f, 3);
	tu_set(f->t, LFS_SET_RETENTION_BYTES, "1");
	tu_set(f->t, LFS_SET_RETENTION_MS, "1");
	assert_int_equal(lfs_topic_apply_retention(f->t, UINT64_MAX / 2), 0);
	expect_retained_tail(f, 0);
	assert_int_equal(lfs_topic_delete_segment(f->t, 0), -EPERM);
	fill(f, 2); /* rolls, and the roll deletes the sealed segment */
	expect_sealed(f->t, NULL, 0);
	expect_retained_tail(f, 4);
	assert_true(stat_of(f->t).segments == 1);
}

static void check_reader_all(lfs_reader *r, const char *want, size_t len)
{
	assert_int_equal(lfs_reader_size(r), len);
	char *buf = malloc(len + 1);
	/* In odd-sized pieces, so that reads straddle segment boundaries. */
	size_t done = 0;
	while (done < len) {
		size_t step = len - done < 1500 ? len - done : 1500;
		assert_int_equal(lfs_reader_read(r, buf + done, step, done), (ssize_t)step);
		done += step;
	}
	assert_memory_equal(buf, want, len);
	free(buf);
}

static void reader_outlives_retention(struct fix *f, bool reopened)
{
	fill(f, 24); /* sealed 0..16, active 20 */
	if (reopened)
		tu_reopen(f->vol, &f->v, &f->t); /* sealed segments come back unmapped */
	lfs_reader *first, *mid;
	struct lfs_start s = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(f->t, &s, &first), 0);
	mid = tu_reader_at(f->t, 6);
	lfs_segment *seg;
	assert_int_equal(lfs_segment_get(f->t, 4, &seg), 0);

	tu_set(f->t, LFS_SET_RETENTION_BYTES, "1");
	assert_true(lfs_topic_apply_retention(f->t, tu_now()) >= 0);
	expect_sealed(f->t, NULL, 0);
	for (uint64_t b = 0; b < 20; b += 4)
		assert_false(seg_files_exist(f, b));
	/* The files are gone; the readers and the segment handle read on. */
	check_reader_all(first, f->data.p, f->data.len);
	check_reader_all(mid, f->data.p + 6 * 1024, f->data.len - 6 * 1024);
	char buf[4096];
	assert_int_equal(lfs_segment_read(seg, buf, sizeof(buf), 0), 4096);
	assert_memory_equal(buf, f->data.p + 4 * 1024, 4096);
	/* A new reader only sees what is retained. */
	expect_retained_tail(f, 20);
	/* The old readers grow with new appends. */
	fill(f, 6);
	check_reader_all(first, f->data.p, f->data.len);
	check_reader_all(mid, f->data.p + 6 * 1024, f->data.len - 6 * 1024);
	lfs_segment_put(seg);
	lfs_reader_close(first);
	lfs_reader_close(mid);
}

static void test_reader_outlives_retention(void **state)
{
	reader_outlives_retention(*state, false);
}

static void test_reader_outlives_retention_after_reopen(void **state)
{
	reader_outlives_retention(*state, true);
}

static void test_delete_segment_only_oldest(void **state)
{
	struct fix *f = *state;
	fill(f, 18); /* sealed 0,4,8,12; active 16 */
	const uint64_t all[] = {0, 4, 8, 12};
	/* Not the oldest: EPERM, whether a segment, the active one, or no
	 * segment at all. */
	assert_int_equal(lfs_topic_delete_segment(f->t, 4), -EPERM);
	assert_int_equal(lfs_topic_delete_segment(f->t, 12), -EPERM);
	assert_int_equal(lfs_topic_delete_segment(f->t, 16), -EPERM);
	assert_int_equal(lfs_topic_delete_segment(f->t, 5), -EPERM);
	assert_int_equal(lfs_topic_delete_segment(f->t, 1000), -EPERM);
	expect_sealed(f->t, all, 4);
	lfs_reader *r = tu_reader_at(f->t, 2);
	/* The oldest: deleted, files and all. */
	assert_int_equal(lfs_topic_delete_segment(f->t, 0), 0);
	expect_sealed(f->t, all + 1, 3);
	assert_false(seg_files_exist(f, 0));
	assert_true(seg_files_exist(f, 4));
	expect_retained_tail(f, 4);
	/* Already gone (below the first retained): ENOENT. */
	assert_int_equal(lfs_topic_delete_segment(f->t, 0), -ENOENT);
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, 0, &s), -ENOENT);
	/* The reader opened before keeps its view. */
	check_reader_all(r, f->data.p + 2 * 1024, f->data.len - 2 * 1024);
	lfs_reader_close(r);
	for (size_t i = 1; i < 4; i++)
		assert_int_equal(lfs_topic_delete_segment(f->t, all[i]), 0);
	expect_sealed(f->t, NULL, 0);
	/* The active segment, now the oldest, still cannot go. */
	assert_int_equal(lfs_topic_delete_segment(f->t, 16), -EPERM);
	expect_retained_tail(f, 16);
	tu_reopen(f->vol, &f->v, &f->t);
	expect_retained_tail(f, 16);
	/* Offsets go on from where they were. */
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, "z\n", 2, &res), 0);
	assert_true(res.first_offset == 18);
}

static void test_sealed_segment_access(void **state)
{
	struct fix *f = *state;
	fill(f, 9); /* sealed 0 and 4; active 8 */
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, 8, &s), -ENOENT); /* active */
	assert_int_equal(lfs_segment_get(f->t, 1, &s), -ENOENT);
	assert_int_equal(lfs_segment_get(f->t, 100, &s), -ENOENT);
	uint64_t t_before = tu_now();
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t base = 0; base <= 4; base += 4) {
			assert_int_equal(lfs_segment_get(f->t, base, &s), 0);
			struct lfs_segment_stat ss;
			lfs_segment_stat(s, &ss);
			assert_true(ss.base_offset == base);
			assert_true(ss.records == 4);
			assert_true(ss.bytes == 4096);
			assert_true(ss.sealed);
			assert_true(ss.first_timestamp > 0 && ss.first_timestamp <= ss.last_timestamp);
			assert_true(ss.last_timestamp <= t_before);
			char buf[5000];
			const char *want = f->data.p + base * 1024;
			/* Whole, pieces, past the end. */
			assert_int_equal(lfs_segment_read(s, buf, sizeof(buf), 0), 4096);
			assert_memory_equal(buf, want, 4096);
			assert_int_equal(lfs_segment_read(s, buf, 10, 4090), 6);
			assert_memory_equal(buf, want + 4090, 6);
			assert_int_equal(lfs_segment_read(s, buf, 100, 1000), 100);
			assert_memory_equal(buf, want + 1000, 100);
			assert_int_equal(lfs_segment_read(s, buf, 10, 4096), 0);
			assert_int_equal(lfs_segment_read(s, buf, 10, 1 << 30), 0);
			assert_int_equal(lfs_segment_read(s, buf, 0, 0), 0);
			const void *p = NULL;
			assert_int_equal(lfs_segment_peek(s, 2048, 100000, &p), 2048);
			assert_memory_equal(p, want + 2048, 2048);
			assert_int_equal(lfs_segment_peek(s, 4096, 1, &p), 0);
			lfs_segment_put(s);
		}
		/* Sealed files on disk: exactly the payload, and the seal. */
		char *lp = tu_seg_path(f->vol, "app", 4, "log");
		assert_int_equal(tu_file_size(lp), 4096);
		free(lp);
		tu_reopen(f->vol, &f->v, &f->t); /* then from disk */
	}
	/* A segment handle keeps the segment readable after its deletion. */
	assert_int_equal(lfs_segment_get(f->t, 0, &s), 0);
	assert_int_equal(lfs_topic_delete_segment(f->t, 0), 0);
	char buf[4096];
	assert_int_equal(lfs_segment_read(s, buf, sizeof(buf), 0), 4096);
	assert_memory_equal(buf, f->data.p, 4096);
	struct lfs_segment_stat ss;
	lfs_segment_stat(s, &ss);
	assert_true(ss.records == 4);
	lfs_segment_put(s);
}

/* Topic stat of a partly retained topic. */
static void test_stat_after_retention(void **state)
{
	struct fix *f = *state;
	fill(f, 10);
	struct lfs_topic_stat st = stat_of(f->t);
	assert_true(st.first_offset == 0 && st.next_offset == 10 && st.segments == 3);
	assert_true(st.bytes == 10 * 1024);
	uint64_t first_ts = st.first_timestamp, last_ts = st.last_timestamp;
	assert_true(first_ts && first_ts <= last_ts);
	assert_int_equal(lfs_topic_delete_segment(f->t, 0), 0);
	st = stat_of(f->t);
	assert_true(st.first_offset == 4 && st.next_offset == 10 && st.segments == 2);
	assert_true(st.bytes == 6 * 1024);
	assert_true(st.start_pos == 4 * 1024 && st.end_pos == 10 * 1024);
	assert_true(st.first_timestamp >= first_ts);
	assert_true(st.last_timestamp == last_ts);
}

/* A retention floor keeps every segment holding records at or after it,
 * whatever the limits say; lowering it (moving it on) lets them go. */
static void test_retention_floor(void **state)
{
	struct fix *f = *state;
	assert_true(lfs_topic_retention_floor(f->t) == UINT64_MAX);
	lfs_topic_set_retention_floor(f->t, 0);
	fill(f, 40);
	tu_set(f->t, LFS_SET_RETENTION_BYTES, "4096");
	tu_set(f->t, LFS_SET_RETENTION_MS, "1");
	assert_int_equal(lfs_topic_apply_retention(f->t, lfs_now_ns() + 10 * SEC), 0);
	expect_retained_tail(f, 0);
	/* Offset 5 is in the segment at 4: only the one at 0 may go. */
	/* (the volume's ticker may do the deleting first: counts are at
	 * most, the state is exact) */
	lfs_topic_set_retention_floor(f->t, 5);
	assert_true(lfs_topic_apply_retention(f->t, lfs_now_ns() + 10 * SEC) <= 1);
	expect_retained_tail(f, 4);
	/* Exactly at a segment's end: that segment goes too. */
	lfs_topic_set_retention_floor(f->t, 12);
	assert_true(lfs_topic_apply_retention(f->t, lfs_now_ns() + 10 * SEC) <= 2);
	expect_retained_tail(f, 12);
	lfs_topic_set_retention_floor(f->t, UINT64_MAX);
	assert_true(lfs_topic_apply_retention(f->t, lfs_now_ns() + 10 * SEC) <= 6);
	expect_retained_tail(f, 36);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_retention_by_bytes),
		T(test_retention_on_roll),
		T(test_retention_by_age),
		T(test_retention_by_tick),
		T(test_huge_retention_ms),
		T(test_active_never_deleted),
		T(test_reader_outlives_retention),
		T(test_reader_outlives_retention_after_reopen),
		T(test_delete_segment_only_oldest),
		T(test_sealed_segment_access),
		T(test_stat_after_retention),
		T(test_retention_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
