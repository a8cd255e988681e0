/*
 * Sealed segments mapped on demand (core/maps.c, #15 item 10): with
 * mapped_segments_max at 8, a topic of thousands of 4 KiB segments keeps
 * the process's mappings bounded while it is written and read, reads are
 * exact, and pointers a reader handed out stay valid while the sweep runs.
 * The long test rolls past the kernel's 65,530 mappings (32,765 segments of
 * two mappings each), where appends used to fail with ENOMEM.
 */
#include "internal.h"
#include "testutil.h"

#define MAP_MAX 8

/* Mappings of the volume's files (a sanitizer's allocator maps memory of
 * its own as it goes: only the segments' count here). */
static int count_maps(const char *vol)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	int n = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0)
		n += strstr(line, vol) != NULL;
	free(line);
	fclose(f);
	return n;
}

static lfs_volume *open_bounded(const char *vol)
{
	struct lfs_open_opts o = {.mapped_segments_max = MAP_MAX};
	lfs_volume *v;
	assert_int_equal(tu_volume_open(vol, &o, &v, NULL), 0);
	return v;
}

/* Record k: a line of about 1000 bytes that says k. */
static size_t record(uint64_t k, char *buf)
{
	int n = snprintf(buf, 64, "record %llu ", (unsigned long long)k);
	memset(buf + n, 'a' + (int)(k % 26), 1000 - (size_t)n - 1);
	buf[999] = '\n';
	return 1000;
}

/* Appends n records (four to a 4 KiB segment: a roll every fourth). */
static void write_records(lfs_topic *t, uint64_t from, uint64_t n)
{
	char buf[1000];
	for (uint64_t k = from; k < from + n; k++) {
		struct iovec iov = {buf, record(k, buf)};
		assert_int_equal(lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL), 0);
	}
}

static void expect_records(lfs_topic *t, uint64_t from, uint64_t n)
{
	struct lfs_start st = {LFS_START_OFFSET, from};
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	char want[1000], got[1000];
	for (uint64_t k = from; k < from + n; k++) {
		record(k, want);
		assert_int_equal(lfs_reader_read(r, got, 1000, (k - from) * 1000), 1000);
		assert_memory_equal(got, want, 1000);
	}
	lfs_reader_close(r);
}

static lfs_topic *small_topic(lfs_volume *v)
{
	lfs_topic *t = tu_topic(v, "t");
	assert_int_equal(lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, "4096"), 0);
	return t;
}

/* Thousands of segments written and read: mappings stay bounded. */
static void test_mappings_bounded(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	int maps0 = count_maps(vol);
	lfs_volume *v = open_bounded(vol);
	lfs_topic *t = small_topic(v);
	const uint64_t n = 2400; /* 600 segments */
	write_records(t, 0, n);
	lfs_volume_tick(v, tu_now()); /* seals the rolled ones, unmaps */
	/* Two mappings a segment before: about 4,000 more. */
	int bound = 2 * MAP_MAX + 40; /* (the active segment's, the ring's) */
	assert_true(count_maps(vol) - maps0 <= bound);
	expect_records(t, 0, n);
	assert_true(count_maps(vol) - maps0 <= bound);
	/* Starts in the middle, by offset and by time, and records one by
	 * one. */
	expect_records(t, n / 2 + 1, 100);
	struct lfs_record rec;
	struct lfs_start st = {LFS_START_FIRST, 0};
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	for (uint64_t k = 0; k < n; k++) {
		char want[1000];
		record(k, want);
		assert_int_equal(lfs_reader_next_record(r, &rec), 1);
		assert_int_equal(rec.offset, k);
		assert_int_equal(rec.len, 1000);
		assert_memory_equal(rec.data, want, 1000);
	}
	lfs_reader_close(r);
	assert_true(count_maps(vol) - maps0 <= bound);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);

	/* After a remount, the same from the files. */
	v = open_bounded(vol);
	assert_int_equal(lfs_topic_get(v, "t", &t), 0);
	expect_records(t, 0, n);
	assert_true(count_maps(vol) - maps0 <= bound);
	struct lfs_start at = {LFS_START_TIME, 0};
	assert_int_equal(lfs_reader_open(t, &at, &r), 0);
	assert_int_equal(lfs_reader_start_offset(r), 0);
	lfs_reader_close(r);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

/* What a reader's last call handed out stays mapped, whatever the sweep
 * does, until its next call. */
static void test_pointers_survive_the_sweep(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = open_bounded(vol);
	lfs_topic *t = small_topic(v);
	write_records(t, 0, 400);
	lfs_volume_tick(v, tu_now());
	lfs_reader *r;
	struct lfs_start st = {LFS_START_FIRST, 0};
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	/* 16 iovecs over 16 segments: more than the bound. */
	struct iovec iov[64];
	int niov;
	ssize_t got = lfs_reader_peek(r, 0, 64 * 1000, iov, 64, &niov);
	assert_true(got >= 16 * 4000);
	/* Another reader maps all the rest, and the ticker sweeps. */
	expect_records(t, 100, 300);
	lfs_volume_tick(v, tu_now());
	uint64_t k = 0;
	size_t off = 0;
	char want[1000];
	for (int i = 0; i < niov; i++) {
		for (size_t b = 0; b < iov[i].iov_len; b++, off++) {
			if (off % 1000 == 0)
				record(k++, want);
			assert_int_equal(((char *)iov[i].iov_base)[b], want[off % 1000]);
		}
	}
	lfs_reader_close(r);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

/* Past the kernel's limit on mappings: 33,000 segments (132,000 appends,
 * a roll every fourth; minutes, so only with LFS_MAPS_LONG=1, on a tmpfs
 * as TMPDIR preferably). Appends used to fail with ENOMEM from the 32,733rd
 * segment on. */
static void test_past_the_kernel_limit(void **state)
{
	(void)state;
	const char *e = getenv("LFS_MAPS_LONG");
	if (!e || strcmp(e, "1"))
		skip();
	char *vol = tu_mkvol(0);
	lfs_volume *v = open_bounded(vol);
	lfs_topic *t = small_topic(v);
	const uint64_t n = 132000;
	for (uint64_t k = 0; k < n; k += 4000) {
		write_records(t, k, 4000);
		lfs_volume_tick(v, tu_now());
	}
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	assert_int_equal(ts.next_offset, n);
	assert_true(ts.segments >= 33000);
	expect_records(t, n - 100, 100);
	expect_records(t, 0, 100);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mappings_bounded),
		cmocka_unit_test(test_pointers_survive_the_sweep),
		cmocka_unit_test(test_past_the_kernel_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
