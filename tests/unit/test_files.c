/*
 * Topics' files on demand (core/files.c, #15 item 11): at most
 * open_topics_max topics keep descriptors and mappings while idle; the
 * others give them back and take them again for an append, a read, a
 * setting, a cursor, a segment's deletion, with everything served as
 * before. Descriptors and mappings are counted in /proc/self.
 */
#include "internal.h"
#include "testutil.h"

#include <dirent.h>

#define NTOPICS 60
#define OPEN_MAX 8

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", "..", the DIR's own */
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	int n = 0, c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static lfs_volume *open_bounded(const char *vol)
{
	struct lfs_open_opts o = {.open_topics_max = OPEN_MAX};
	lfs_volume *v;
	assert_int_equal(tu_volume_open(vol, &o, &v, NULL), 0);
	return v;
}

static char *name_of(int i)
{
	return tu_fmt("t%03d", i);
}

/* Makes NTOPICS topics, each with records in several segments. */
static void fill(lfs_volume *v)
{
	for (int i = 0; i < NTOPICS; i++) {
		char *n = name_of(i);
		lfs_topic *t = tu_topic(v, n);
		assert_int_equal(lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, "4096"), 0);
		for (int k = 0; k < 300; k++) {
			char *line = tu_fmt("topic %d record %d\n", i, k);
			tu_append_str(t, line);
			free(line);
		}
		lfs_topic_put(t);
		free(n);
	}
	lfs_volume_tick(v, tu_now()); /* seals the rolled segments, trims */
}

static void expect_topic(lfs_volume *v, int i, int records)
{
	char *n = name_of(i);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, n, &t), 0);
	size_t len = 0, cap = 0;
	char *want = NULL;
	for (int k = 0; k < records; k++) {
		char *line = tu_fmt("topic %d record %d\n", i, k);
		size_t l = strlen(line);
		if (len + l + 1 > cap) {
			cap = (len + l + 1) * 2;
			want = realloc(want, cap);
		}
		memcpy(want + len, line, l);
		len += l;
		free(line);
	}
	tu_expect_contents(t, want, len);
	free(want);
	lfs_topic_put(t);
	free(n);
}

/* Many topics: descriptors and mappings stay bounded, while every topic
 * reads back and takes appends. */
static void test_idle_topics_close_their_files(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	int fds0 = count_fds(), maps0 = count_maps();
	lfs_volume *v = open_bounded(vol);
	fill(v);
	lfs_volume_tick(v, tu_now());
	/* Three descriptors a topic before (directory, data, index): 180. */
	int fds = count_fds() - fds0, maps = count_maps() - maps0;
	fprintf(stderr, "fds %d maps %d\n", fds, maps);
	assert_true(fds <= OPEN_MAX * 5 + 4);
	for (int i = 0; i < NTOPICS; i++)
		expect_topic(v, i, 300);
	/* Appends to closed topics, then reads. */
	for (int i = 0; i < NTOPICS; i++) {
		char *n = name_of(i);
		lfs_topic *t;
		assert_int_equal(lfs_topic_get(v, n, &t), 0);
		char *line = tu_fmt("topic %d record %d\n", i, 300);
		tu_append_str(t, line);
		free(line);
		lfs_topic_put(t);
		free(n);
		lfs_volume_tick(v, tu_now());
	}
	assert_true(count_fds() - fds0 <= OPEN_MAX * 5 + 4);
	for (int i = 0; i < NTOPICS; i++)
		expect_topic(v, i, 301);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(count_fds(), fds0);

	/* A mount of them all holds no more than the bound either, and
	 * serves the same. */
	v = open_bounded(vol);
	assert_true(count_fds() - fds0 <= OPEN_MAX * 5 + 4);
	assert_true(count_maps() - maps0 <= OPEN_MAX * 8 + 8);
	for (int i = 0; i < NTOPICS; i += 7)
		expect_topic(v, i, 301);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

static bool closed(lfs_topic *t)
{
	return !atomic_load(&t->files_open);
}

/* Uses every other topic, so that t (not used) is closed. */
static void close_by_use(lfs_volume *v, lfs_topic *t)
{
	for (int round = 0; round < 3 && !closed(t); round++) {
		for (int i = 1; i < NTOPICS; i++)
			expect_topic(v, i, 300);
		lfs_volume_tick(v, tu_now());
	}
	assert_true(closed(t));
}

/* A reader opened on a topic whose files are closed, a follower that finds
 * the active segment closed, settings, cursors, deletion of the oldest
 * segment and of the topic: all work on closed topics. */
static void test_closed_topic_operations(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = open_bounded(vol);
	fill(v);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, "t000", &t), 0);

	/* A reader from the first record. */
	close_by_use(v, t);
	expect_topic(v, 0, 300);

	/* A follower at the end pins the active segment; a roll makes
	 * another, which closes while the follower has not reached it. */
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	lfs_reader *r;
	struct lfs_start at = {LFS_START_OFFSET, ts.next_offset};
	assert_int_equal(lfs_reader_open(t, &at, &r), 0);
	assert_int_equal(lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, "4096"), 0);
	char big[3000];
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	struct iovec iov = {big, sizeof(big)};
	for (int k = 0; k < 3; k++)
		assert_int_equal(lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL), 0);
	close_by_use(v, t);
	char *got = malloc(3 * sizeof(big));
	assert_non_null(got);
	assert_int_equal(lfs_reader_read(r, got, 3 * sizeof(big), 0), (ssize_t)(3 * sizeof(big)));
	for (int k = 0; k < 3; k++)
		assert_memory_equal(got + k * sizeof(big), big, sizeof(big));
	free(got);
	lfs_reader_close(r);

	/* A setting, a cursor and its commit. */
	close_by_use(v, t);
	assert_int_equal(lfs_topic_set(t, LFS_SET_RETENTION_BYTES, "1M"), 0);
	close_by_use(v, t);
	assert_int_equal(lfs_cursor_create(t, "c", true), 0);
	close_by_use(v, t);
	assert_int_equal(lfs_cursor_seek(t, "c", "5", tu_now()), 0);
	struct lfs_cursor_info ci;
	assert_int_equal(lfs_cursor_stat(t, "c", &ci), 0);
	assert_int_equal(ci.offset, 5);

	/* The oldest segment's deletion. */
	uint64_t *bases;
	size_t n;
	assert_int_equal(lfs_topic_list_sealed(t, &bases, &n), 0);
	assert_true(n > 1);
	close_by_use(v, t);
	assert_int_equal(lfs_topic_delete_segment(t, bases[0]), 0);
	char *seg = tu_seg_path(vol, "t000", bases[0], "log");
	assert_false(tu_exists(seg));
	free(seg);
	free(bases);
	lfs_topic_put(t);

	/* What the closed topic was given survives a remount. */
	assert_int_equal(lfs_volume_close(v), 0);
	v = open_bounded(vol);
	assert_int_equal(lfs_topic_get(v, "t000", &t), 0);
	assert_int_equal(lfs_cursor_stat(t, "c", &ci), 0);
	assert_int_equal(ci.offset, 5);
	struct lfs_settings st;
	lfs_topic_settings(t, &st);
	assert_int_equal(st.retention_bytes, 1u << 20);
	lfs_topic_stat(t, &ts);
	assert_int_equal(ts.next_offset, 303);

	/* The topic's deletion while closed: its name is free again, and
	 * the old object opens nothing by it. */
	close_by_use(v, t);
	assert_int_equal(lfs_topic_delete(v, "t000"), 0);
	lfs_topic *t2 = tu_topic(v, "t000");
	assert_int_equal(lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL), -ENOENT);
	assert_int_equal(lfs_topic_set(t, LFS_SET_RETENTION_BYTES, "2M"), -ENOENT);
	lfs_topic_settings(t2, &st);
	assert_int_equal(st.retention_bytes, 0);
	lfs_topic_put(t2);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_topics_close_their_files),
		cmocka_unit_test(test_closed_topic_operations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
