/* A read of a sealed segment whose first check another thread finishes
 * while the read is under way (core/segread.c, lfs_segment_peek): the
 * background sweep of cached segments after a mount, the verify-ahead
 * thread, or a second reader. The read loaded good_end (0: nothing checked
 * yet), then found verify_pending false (the other check had just ended)
 * and failed with EIO from the stale good_end: a spurious EIO on a segment
 * that is whole. The interleaving is made deterministic by running the
 * other check from inside the read, at its read-ahead advice (madvise,
 * wrapped: -Wl,--wrap=madvise), which lies between the two loads. */
#include "testutil.h"

#include "internal.h"

#include <sys/mman.h>

int __real_madvise(void *addr, size_t len, int advice);

static lfs_segment *race_seg;
static int raced;

int __wrap_madvise(void *addr, size_t len, int advice)
{
	if (race_seg && !raced) {
		raced = 1;
		/* The other thread's check of the same segment, start to end. */
		assert_int_equal(lfs_segment_verify(race_seg), 0);
	}
	return __real_madvise(addr, len, advice);
}

static void test_read_while_another_check_ends(void **state)
{
	(void)state;
	struct tu_sealed f;
	tu_sealed_build(&f, -1);
	f.v = tu_open(f.vol);
	assert_int_equal(lfs_topic_get(f.v, "act", &f.t), 0);
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f.t, f.bases[1], &s), 0);
	assert_true(atomic_load(&s->verify_pending));
	char buf[64];
	race_seg = s;
	raced = 0;
	ssize_t n = lfs_segment_read(s, buf, sizeof(buf), 0);
	race_seg = NULL;
	assert_true(raced);
	assert_false(atomic_load(&s->verify_pending));
	assert_int_equal(n, (ssize_t)sizeof(buf)); /* was -EIO */
	assert_int_equal(buf[0], 'x');
	lfs_segment_put(s);
	tu_sealed_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_while_another_check_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
