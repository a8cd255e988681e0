/*
 * The segment summary: a clean close writes what it knows of every sealed
 * segment, and the next open loads the sealed segments from it without
 * opening their files. It must describe the log exactly, be used only when
 * it can be trusted (clean state, checksums, the directory holding exactly
 * the segments it names), and never let a changed segment be served.
 */
#include "internal.h"
#include "testutil.h"

#define TOPIC "app"
#define NREC 2000
#define RECLEN 8

struct fix {
	char *vol;
	char *sum;
	struct tu_buf want;
	struct lfs_topic_stat st;
};

/* A volume with one topic of NREC records in many 4 KiB segments, closed
 * cleanly. */
static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->vol = tu_mkvol(0);
	f->sum = tu_fmt("%s/summary", f->vol);
	lfs_volume *v = tu_open(f->vol);
	lfs_topic *t = tu_topic(v, TOPIC);
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	char rec[16];
	for (int i = 0; i < NREC; i++) {
		snprintf(rec, sizeof(rec), "s%06d\n", i);
		tu_append(t, LFS_FRAMING_LINE, rec, RECLEN);
		tu_buf_add(&f->want, rec, RECLEN);
	}
	lfs_topic_stat(t, &f->st);
	assert_true(f->st.segments >= 4);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	tu_rmvol(f->vol);
	free(f->sum);
	free(f->want.p);
	free(f);
	return 0;
}

/* Opens the volume, checks that it serves exactly the records written and
 * the same topic figures, and returns how many segments the summary gave. */
static unsigned open_and_compare(struct fix *f, const struct lfs_open_opts *o)
{
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, o, &v, &rep), 0);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->want.p, f->want.len);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_int_equal(st.segments, f->st.segments);
	assert_true(st.next_offset == f->st.next_offset);
	assert_true(st.bytes == f->st.bytes);
	assert_true(st.first_timestamp == f->st.first_timestamp);
	assert_true(st.last_timestamp == f->st.last_timestamp);
	/* @N lands where it did, in every segment. */
	for (uint64_t n = 0; n < NREC; n += 397) {
		lfs_reader *r = tu_reader_at(t, n);
		char buf[RECLEN];
		assert_int_equal(lfs_reader_read(r, buf, RECLEN, 0), RECLEN);
		assert_memory_equal(buf, f->want.p + n * RECLEN, RECLEN);
		lfs_reader_close(r);
	}
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	return rep.segments_summarized;
}

static void test_clean_close_writes_summary_next_open_uses_it(void **state)
{
	struct fix *f = *state;
	assert_true(tu_exists(f->sum));
	/* Read-only: used and left in place. */
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(open_and_compare(f, &ro), f->st.segments - 1);
	assert_true(tu_exists(f->sum));
	/* Read-write: used, and written again by the clean close. */
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_int_equal(rep.segments_summarized, f->st.segments - 1);
	assert_int_equal(rep.segments_scanned, 0);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_true(tu_exists(f->sum));
	assert_int_equal(open_and_compare(f, NULL), f->st.segments - 1);
}

/* Appends after the clean close, then a crash: the summary still stands
 * in for the segments it names (sealed segments never change); those
 * sealed since are read from their files, the active one scanned. */
static int crash_after_appends(void *arg)
{
	lfs_volume *v;
	lfs_topic *t;
	if (tu_volume_open(arg, NULL, &v, NULL) < 0 || lfs_topic_get(v, TOPIC, &t) < 0)
		return 1;
	char rec[16];
	for (int i = NREC; i < NREC + 1000; i++) {
		snprintf(rec, sizeof(rec), "s%06d\n", i);
		struct iovec iov = {rec, RECLEN};
		if (lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL) < 0)
			return 2;
	}
	return lfs_topic_sync(t) < 0;
}

static void test_summary_used_after_crash(void **state)
{
	struct fix *f = *state;
	unsigned summarized = f->st.segments - 1;
	tu_crash_child(crash_after_appends, f->vol);
	char rec[16];
	for (int i = NREC; i < NREC + 1000; i++) {
		snprintf(rec, sizeof(rec), "s%06d\n", i);
		tu_buf_add(&f->want, rec, RECLEN);
	}
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_false(rep.was_clean);
	assert_int_equal(rep.segments_summarized, summarized);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->want.p, f->want.len);
	lfs_topic_stat(t, &f->st);
	assert_true(f->st.next_offset == NREC + 1000);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* Retention removed the oldest segments: the summary's entries for them
 * are skipped, the others used. */
static void test_summary_after_retention(void **state)
{
	struct fix *f = *state;
	lfs_volume *v = tu_open(f->vol);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_set(t, LFS_SET_RETENTION_BYTES, "8192");
	assert_true(lfs_topic_apply_retention(t, tu_now()) >= 0);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.segments < f->st.segments);
	lfs_topic_put(t);
	/* A crash, so that the summary from before retention is the one
	 * the next open finds. */
	char *copy = tu_fmt("%s.copy", f->sum);
	assert_int_equal(rename(f->sum, copy), 0);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(rename(copy, f->sum), 0);
	free(copy);
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_int_equal(rep.segments_summarized, st.segments - 1);
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	size_t len;
	char *got = tu_read_all(t, &len);
	assert_true(len == st.bytes);
	assert_memory_equal(got, f->want.p + (f->want.len - len), len);
	free(got);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* A topic deleted and made again under the same name: same segment names,
 * other segments; the old summary must not be taken for it. */
static void test_summary_not_used_for_recreated_topic(void **state)
{
	struct fix *f = *state;
	char *copy = tu_fmt("%s.copy", f->sum);
	char cmd[9000];
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", f->sum, copy);
	assert_int_equal(system(cmd), 0);
	lfs_volume *v = tu_open(f->vol);
	assert_int_equal(lfs_topic_delete(v, TOPIC), 0);
	lfs_topic *t = tu_topic(v, TOPIC);
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	free(f->want.p);
	memset(&f->want, 0, sizeof(f->want));
	char rec[16];
	for (int i = 0; i < NREC; i++) {
		snprintf(rec, sizeof(rec), "x%06d\n", i * 3);
		tu_append(t, LFS_FRAMING_LINE, rec, RECLEN);
		tu_buf_add(&f->want, rec, RECLEN);
	}
	lfs_topic_stat(t, &f->st);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(rename(copy, f->sum), 0);
	free(copy);
	assert_int_equal(open_and_compare(f, NULL), 0);
}

static void test_damaged_summary_ignored(void **state)
{
	struct fix *f = *state;
	int fd = open(f->sum, O_RDWR);
	assert_true(fd >= 0);
	char c;
	assert_int_equal(pread(fd, &c, 1, 40), 1);
	c ^= 1;
	assert_int_equal(pwrite(fd, &c, 1, 40), 1);
	close(fd);
	assert_int_equal(open_and_compare(f, NULL), 0);
}

/* A segment removed from the middle behind the volume's back: the summary
 * no longer names what the directory holds and is not used. */
static void test_summary_not_used_when_segments_differ(void **state)
{
	struct fix *f = *state;
	lfs_volume *v = tu_open(f->vol);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(t, &bases, &nb), 0);
	assert_true(nb >= 3);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	for (int i = 0; i < 2; i++) {
		char *p = tu_seg_path(f->vol, TOPIC, bases[1], i ? "idx" : "log");
		assert_int_equal(unlink(p), 0);
		free(p);
	}
	free(bases);
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_int_equal(rep.segments_summarized, 0);
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_int_equal(st.segments, f->st.segments - 1);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* A sealed segment changed in place after the clean close: the summary is
 * used, but nothing of the changed segment is served (EIO), and what it
 * does not touch still is. */
static void test_segment_changed_in_place_is_not_served(void **state)
{
	struct fix *f = *state;
	char *idx = tu_seg_path(f->vol, TOPIC, 0, "idx");
	long long isz = tu_file_size(idx);
	assert_int_equal(truncate(idx, isz - 2 * LFS_IDX_ENTRY_SIZE), 0);
	free(idx);
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_true(rep.segments_summarized > 0);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	lfs_reader *r;
	struct lfs_start st = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	char buf[64];
	assert_int_equal(lfs_reader_read(r, buf, sizeof(buf), 0), -EIO);
	lfs_reader_close(r);
	/* The last segment is untouched. */
	r = tu_reader_at(t, NREC - 1);
	assert_int_equal(lfs_reader_read(r, buf, RECLEN, 0), RECLEN);
	assert_memory_equal(buf, f->want.p + (NREC - 1) * RECLEN, RECLEN);
	lfs_reader_close(r);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* fsck: checks that change nothing leave the summary; one that repairs
 * drops it, and the next open reads every segment. */
static void test_fsck_repair_drops_summary(void **state)
{
	struct fix *f = *state;
	struct lfs_check_opts co = {.mode = LFS_CHECK_NONE, .force = true};
	struct lfs_check_result cr;
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_int_equal(cr.problems, 0);
	assert_true(tu_exists(f->sum));
	co.mode = LFS_CHECK_PREEN;
	co.force = false; /* the quick check of a clean volume keeps it */
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_true(tu_exists(f->sum));
	/* A full repairing check that finds nothing changes nothing. */
	co.mode = LFS_CHECK_REPAIR;
	co.force = true;
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_int_equal(cr.problems, 0);
	assert_true(tu_exists(f->sum));
	/* One that repairs something drops it. */
	char *log = tu_seg_path(f->vol, TOPIC, 0, "log");
	int fd = open(log, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 5), 1);
	close(fd);
	free(log);
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_true(cr.repaired > 0);
	assert_false(tu_exists(f->sum));
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_int_equal(rep.segments_summarized, 0);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* Rewrites the checksums of a summary whose body was changed, so that only
 * its layout can refuse it. */
static void reseal(unsigned char *b, size_t len)
{
	lfs_put32(b + 24, lfs_crc32c(0, b + 32, len - 32));
	lfs_put32(b + 28, lfs_crc32c(0, b, 28));
}

/* Where the name of the summary's topic NAME starts. */
static size_t name_at(const unsigned char *b, size_t len, const char *name)
{
	size_t pos = 32;
	for (uint32_t i = 0; i < lfs_get32(b + 12) && pos + 4 <= len; i++) {
		uint32_t nlen = lfs_get32(b + pos);
		if (nlen == strlen(name) && !memcmp(b + pos + 4, name, nlen))
			return pos + 4;
		pos += 4 + nlen;
		pos += 20 + (size_t)lfs_get32(b + pos + 16) * LFS_SUM_SEG_SIZE;
	}
	fail_msg("no topic %s in the summary", name);
	return 0;
}

static int parse_copy(const unsigned char *b, size_t len, struct lfs_summary **s)
{
	unsigned char *copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, b, len);
	return lfs_summary_parse(copy, len, s);
}

/* Topics are sorted by name, and looked up by bisection: a summary whose
 * names are out of order, repeated or hold a NUL (which would pass for a
 * shorter name) is refused, not half used. Found by fuzz_summary. */
static void test_parser_refuses_disordered_names(void **state)
{
	struct fix *f = *state;
	lfs_volume *v = tu_open(f->vol);
	lfs_topic_put(tu_topic(v, "b"));
	lfs_topic_put(tu_topic(v, "c"));
	assert_int_equal(lfs_volume_close(v), 0);
	int fd = open(f->sum, O_RDONLY);
	assert_true(fd >= 0);
	unsigned char b[65536];
	ssize_t n = read(fd, b, sizeof(b));
	close(fd);
	assert_true(n > 32 && n < (ssize_t)sizeof(b));
	size_t len = (size_t)n;

	struct lfs_summary *s;
	size_t count;
	assert_int_equal(parse_copy(b, len, &s), 0);
	const struct lfs_sum_topic *t = lfs_summary_topics(s, &count);
	assert_int_equal(count, 3);
	for (size_t i = 0; i < count; i++)
		assert_ptr_equal(lfs_summary_topic(s, t[i].name), &t[i]);
	lfs_summary_free(s);

	static const struct {
		const char *from, *to;
	} bad[] = {
		{"b", "z"},  /* app z c: c could not be found */
		{"b", "c"},  /* app c c */
		{"app", "a\0p"}, /* would be found as "a" */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char c[sizeof(b)];
		memcpy(c, b, len);
		memcpy(c + name_at(c, len, bad[i].from), bad[i].to, strlen(bad[i].from));
		reseal(c, len);
		s = (struct lfs_summary *)c; /* not NULL: the parser must reset it */
		assert_int_equal(parse_copy(c, len, &s), -EUCLEAN);
		assert_null(s);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_clean_close_writes_summary_next_open_uses_it),
		T(test_summary_used_after_crash),
		T(test_summary_after_retention),
		T(test_summary_not_used_for_recreated_topic),
		T(test_damaged_summary_ignored),
		T(test_summary_not_used_when_segments_differ),
		T(test_segment_changed_in_place_is_not_served),
		T(test_fsck_repair_drops_summary),
		T(test_parser_refuses_disordered_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
