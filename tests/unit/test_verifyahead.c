/* Checking the next sealed segment ahead of its reader (core/verifyahead.c).
 * The queue runs in the test's own thread (manual), so nothing here depends
 * on a background thread's schedule. */
#include "testutil.h"

#include "internal.h"

/* tu_sealed_build, opened with the check in the test's own thread. */
static void build(struct tu_sealed *f, int bad)
{
	tu_sealed_build(f, bad);
	f->v = tu_open(f->vol);
	f->v->ahead.manual = true;
	assert_int_equal(lfs_topic_get(f->v, "act", &f->t), 0);
}

static bool pending(struct tu_sealed *f, size_t i)
{
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, f->bases[i], &s), 0);
	bool p = atomic_load(&s->verify_pending);
	lfs_segment_put(s);
	return p;
}

static int verify(struct tu_sealed *f, size_t i)
{
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, f->bases[i], &s), 0);
	int rc = lfs_segment_verify(s);
	lfs_segment_put(s);
	return rc;
}

/* Opening segment k queues k+1, whose check then runs; good and bad
 * results are both kept in the segment, as its own first open would. */
static void test_checks_the_next_segment(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, 2);
	assert_true(pending(&f, 1) && pending(&f, 2));
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(f.v->ahead.count, 1);
	assert_true(lfs_verify_ahead_run_one(f.v));
	assert_false(lfs_verify_ahead_run_one(f.v));
	assert_false(pending(&f, 1));
	assert_true(pending(&f, 0)); /* only the next one */
	assert_int_equal(verify(&f, 1), 0);

	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[1]), 0);
	assert_true(lfs_verify_ahead_run_one(f.v));
	assert_false(pending(&f, 2));
	assert_int_equal(verify(&f, 2), -EIO);
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f.t, f.bases[2], &s), 0);
	assert_int_equal(lfs_segment_open_data(s), -EIO);
	lfs_segment_put(s);
	tu_sealed_done(&f);
}

/* Nothing is queued for a segment already checked, for the active one
 * after the last sealed segment, or for a base past every segment. */
static void test_nothing_to_check(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	assert_int_equal(verify(&f, 1), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[f.nb - 1]), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, UINT64_MAX), 0);
	assert_int_equal(f.v->ahead.count, 0);
	assert_false(lfs_verify_ahead_run_one(f.v));
	tu_sealed_done(&f);
}

/* A segment is queued once; a full queue drops requests (their segments
 * are checked by their own first open); a close drops what is queued
 * without checking it and without leaking a reference. */
static void test_queue_bounds_and_close(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(f.v->ahead.count, 1);
	for (size_t i = 1; i + 1 < f.nb; i++)
		assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[i]), 0);
	size_t want = f.nb - 1 < LFS_AHEAD_SLOTS ? f.nb - 1 : LFS_AHEAD_SLOTS;
	assert_int_equal(f.v->ahead.count, want);
	tu_sealed_done(&f);
}

/* The queue keeps its segment alive when the file goes away under it: the
 * check then fails to open the file, concludes nothing (a later open with
 * the file back checks it), and drops its references. */
static void test_file_gone_concludes_nothing(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	char *lp = tu_seg_path(f.vol, "act", f.bases[1], "log");
	char *moved = tu_fmt("%s.away", lp);
	assert_int_equal(rename(lp, moved), 0);
	assert_true(lfs_verify_ahead_run_one(f.v));
	assert_true(pending(&f, 1));
	assert_int_equal(rename(moved, lp), 0);
	assert_int_equal(verify(&f, 1), 0);
	free(lp);
	free(moved);
	tu_sealed_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks_the_next_segment),
		cmocka_unit_test(test_nothing_to_check),
		cmocka_unit_test(test_queue_bounds_and_close),
		cmocka_unit_test(test_file_gone_concludes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
