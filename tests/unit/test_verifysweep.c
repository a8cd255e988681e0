/* The background check of cached sealed segments after a mount
 * (core/verifysweep.c). The sweep runs in the test's own thread (manual),
 * one step per call, and whether a file is cached is answered by the test
 * (the `cached` hook), so nothing here depends on a thread's schedule or on
 * what the page cache holds. */
#include "testutil.h"

#include "internal.h"

/* What the `cached` hook answers, call after call (then 1). */
static int answers[16];
static int (*kernel_cached)(int fd, uint64_t size); /* the sweep's own hook */
static size_t nanswers, asked;

static int scripted_cached(int fd, uint64_t size)
{
	(void)fd;
	(void)size;
	return asked < nanswers ? answers[asked++] : (asked++, 1);
}

static void script(const int *a, size_t n)
{
	if (n > 0) /* (a may be NULL then) */
		memcpy(answers, a, n * sizeof(*a));
	nanswers = n;
	asked = 0;
}

/* tu_sealed_build, opened with the check in the test's own thread. */
static void build(struct tu_sealed *f, int bad)
{
	tu_sealed_build(f, bad);
	f->v = tu_open(f->vol);
	f->v->sweep.manual = true;
	kernel_cached = f->v->sweep.cached;
	f->v->sweep.cached = scripted_cached;
	script(NULL, 0);
	assert_int_equal(lfs_topic_get(f->v, "act", &f->t), 0);
}

static lfs_segment *seg(struct tu_sealed *f, size_t i)
{
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, f->bases[i], &s), 0);
	lfs_segment_put(s); /* the topic keeps it */
	return s;
}

static bool pending(struct tu_sealed *f, size_t i)
{
	return atomic_load(&seg(f, i)->verify_pending);
}

static uint64_t seg_size(struct tu_sealed *f, size_t i)
{
	return atomic_load(&seg(f, i)->size);
}

/* Runs the sweep to its end; returns the number of steps. */
static int sweep_all(struct tu_sealed *f)
{
	int steps = 1;
	while (lfs_verify_sweep_step(f->v))
		steps++;
	return steps;
}

/* Every cached sealed segment is checked, one step each (a step finds a
 * segment and checks its first `step` bytes) and one to end; the active segment is not touched; later calls do nothing. */
static void test_checks_every_cached_segment(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	for (size_t i = 0; i < f.nb; i++)
		assert_true(pending(&f, i));
	assert_int_equal(lfs_volume_verify_cached(f.v, UINT64_MAX), 0);
	assert_int_equal(sweep_all(&f), (int)f.nb + 1);
	for (size_t i = 0; i < f.nb; i++)
		assert_false(pending(&f, i));
	assert_int_equal(f.v->sweep.checked, f.nb);
	assert_int_equal(f.v->sweep.failed, 0);
	assert_int_equal(asked, f.nb);
	assert_false(lfs_verify_sweep_step(f.v));
	assert_int_equal(lfs_volume_verify_cached(f.v, UINT64_MAX), 0);
	assert_false(lfs_verify_sweep_step(f.v));
	for (size_t i = 0; i < f.nb; i++) {
		int fd = lfs_segment_open_data(seg(&f, i));
		assert_true(fd >= 0);
		close(fd);
	}
	tu_sealed_done(&f);
}

/* Newest first: with a budget of two segments, the two newest are checked
 * and the rest are left to their first open; a segment whose file is not
 * wholly cached is skipped, and the budget goes to the next. */
static void test_budget_and_not_cached(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	size_t last = f.nb - 1;
	uint64_t budget = seg_size(&f, last - 1) + seg_size(&f, last - 2);
	const int a[] = {0}; /* the newest is not cached */
	script(a, 1);
	assert_int_equal(lfs_volume_verify_cached(f.v, budget), 0);
	sweep_all(&f);
	assert_true(pending(&f, last));
	assert_false(pending(&f, last - 1));
	assert_false(pending(&f, last - 2));
	for (size_t i = 0; i < last - 2; i++)
		assert_true(pending(&f, i));
	assert_int_equal(f.v->sweep.checked, 2);
	assert_int_equal(f.v->sweep.skipped, 1);
	tu_sealed_done(&f);
}

/* A segment is checked in steps of about `step` bytes (here one batch),
 * each letting go of it: a first open that comes between two steps checks
 * only what is left and succeeds, and the sweep then finds it done. */
static void test_steps_and_a_first_open_between(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	size_t last = f.nb - 1;
	lfs_segment *s = seg(&f, last);
	f.v->sweep.step = 1;
	assert_int_equal(lfs_volume_verify_cached(f.v, UINT64_MAX), 0);
	assert_true(lfs_verify_sweep_step(f.v)); /* finds the newest */
	assert_ptr_equal(f.v->sweep.seg, s);
	assert_true(lfs_verify_sweep_step(f.v));
	assert_true(pending(&f, last));
	assert_int_equal(s->verify_next, 2); /* one batch per step */
	assert_int_equal(atomic_load(&s->good_end), 200);
	int fd = lfs_segment_open_data(s);
	assert_true(fd >= 0);
	close(fd);
	assert_false(pending(&f, last));
	assert_true(lfs_verify_sweep_step(f.v)); /* nothing left of it */
	assert_null(f.v->sweep.seg);
	assert_int_equal(f.v->sweep.checked, 1);
	sweep_all(&f);
	for (size_t i = 0; i < f.nb; i++)
		assert_false(pending(&f, i));
	tu_sealed_done(&f);
}

/* A bad batch found by the sweep is what a first open would find: logged,
 * the segment's check over, and its data file never handed out (-EIO);
 * the sweep goes on with the others. */
static void test_bad_segment(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, 2);
	assert_int_equal(lfs_volume_verify_cached(f.v, UINT64_MAX), 0);
	sweep_all(&f);
	assert_int_equal(f.v->sweep.checked, f.nb);
	assert_int_equal(f.v->sweep.failed, 1);
	assert_true(atomic_load(&f.v->checksum_errors));
	assert_false(pending(&f, 2));
	assert_int_equal(lfs_segment_open_data(seg(&f, 2)), -EIO);
	assert_int_equal(lfs_segment_verify(seg(&f, 1)), 0);
	tu_sealed_done(&f);
}

/* A kernel that cannot say what is cached (no cachestat): nothing is
 * checked blind. */
static void test_no_cachestat_checks_nothing(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	const int a[] = {-ENOSYS};
	script(a, 1);
	assert_int_equal(lfs_volume_verify_cached(f.v, UINT64_MAX), 0);
	assert_int_equal(sweep_all(&f), 1);
	for (size_t i = 0; i < f.nb; i++)
		assert_true(pending(&f, i));
	assert_int_equal(f.v->sweep.no_cachestat, -ENOSYS);
	tu_sealed_done(&f);
}

/* A budget of 0 starts nothing; a close in the middle of a segment drops
 * the sweep's references (ASan checks the leak) and checks nothing more. */
static void test_off_and_close_midway(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	assert_int_equal(lfs_volume_verify_cached(f.v, 0), 0);
	assert_false(lfs_verify_sweep_step(f.v));
	tu_sealed_done(&f);

	build(&f, -1);
	f.v->sweep.step = 1;
	assert_int_equal(lfs_volume_verify_cached(f.v, UINT64_MAX), 0);
	assert_true(lfs_verify_sweep_step(f.v));
	assert_true(lfs_verify_sweep_step(f.v));
	assert_non_null(f.v->sweep.seg);
	tu_sealed_done(&f);
}

/* A file counts as cached with at most 1/16 of its pages missing (what
 * proactive reclaim takes from files nobody reads), not with more. */
static void test_enough_cached(void **state)
{
	(void)state;
	assert_true(lfs_sweep_enough_cached(16384, 16384));
	assert_true(lfs_sweep_enough_cached(16200, 16358));
	assert_true(lfs_sweep_enough_cached(15360, 16384));
	assert_false(lfs_sweep_enough_cached(15359, 16384));
	assert_false(lfs_sweep_enough_cached(0, 16384));
	assert_true(lfs_sweep_enough_cached(1, 1));
	assert_false(lfs_sweep_enough_cached(0, 1));
	assert_true(lfs_sweep_enough_cached(0, 0));
}

/* The real question to the kernel: a file just read is cached. */
static void test_cachestat_of_a_read_file(void **state)
{
	(void)state;
	struct tu_sealed f;
	build(&f, -1);
	char *lp = tu_seg_path(f.vol, "act", f.bases[0], "log");
	int fd = open(lp, O_RDONLY);
	assert_true(fd >= 0);
	char buf[8192];
	uint64_t size = seg_size(&f, 0);
	assert_true(size <= sizeof(buf));
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), (ssize_t)size);
	int rc = kernel_cached(fd, size);
	if (rc == -ENOSYS) {
		close(fd);
		free(lp);
		tu_sealed_done(&f);
		skip(); /* a kernel before 6.5 */
	}
	assert_int_equal(rc, 1);
	close(fd);
	free(lp);
	tu_sealed_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks_every_cached_segment),
		cmocka_unit_test(test_budget_and_not_cached),
		cmocka_unit_test(test_steps_and_a_first_open_between),
		cmocka_unit_test(test_bad_segment),
		cmocka_unit_test(test_no_cachestat_checks_nothing),
		cmocka_unit_test(test_off_and_close_midway),
		cmocka_unit_test(test_enough_cached),
		cmocka_unit_test(test_cachestat_of_a_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
