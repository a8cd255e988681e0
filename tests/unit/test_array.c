/* The core's one growable array (array.h): doubling from the first
 * capacity, room for exactly what is asked, the contents kept across
 * growth, nothing touched on failure, overflow refused. */
#include "testutil.h"

#include "array.h"

#include <stdint.h>

static void test_capacity(void **state)
{
	(void)state;
	assert_true(lfs_array_capacity(0, 0, 8, 16) == 0);   /* nothing needed */
	assert_true(lfs_array_capacity(0, 1, 8, 16) == 16);  /* the first */
	assert_true(lfs_array_capacity(0, 17, 8, 16) == 32); /* doubled from it */
	assert_true(lfs_array_capacity(16, 16, 8, 16) == 16);
	assert_true(lfs_array_capacity(16, 17, 8, 16) == 32);
	assert_true(lfs_array_capacity(16, 100, 8, 16) == 128);
	assert_true(lfs_array_capacity(3, 4, 8, 16) == 6);   /* doubles what is there */
	assert_true(lfs_array_capacity(0, 5, 8, 0) == 8);    /* first 0: from 1 */
	/* Past size_t: 0. */
	assert_true(lfs_array_capacity(SIZE_MAX / 2 + 1, SIZE_MAX, 1, 1) == 0);
	assert_true(lfs_array_capacity(0, SIZE_MAX / 4, 8, 16) == 0);
	assert_true(lfs_array_capacity(0, (size_t)1 << 20, 8, 16) == (size_t)1 << 20);
}

static void test_grows_one_at_a_time_and_keeps_contents(void **state)
{
	(void)state;
	uint64_t *v = NULL;
	size_t n = 0, cap = 0, grew = 0;
	for (uint64_t i = 0; i < 1000; i++) {
		size_t before = cap;
		assert_int_equal(lfs_array_reserve(&v, n, &cap, sizeof(*v), 4), 0);
		assert_true(cap > n);
		if (cap != before) {
			grew++;
			assert_true(cap == (before ? before * 2 : 4));
		}
		v[n++] = i * 7;
	}
	/* 4, 8, ..., 1024: nine allocations for a thousand elements. */
	assert_true(grew == 9);
	assert_true(cap == 1024);
	for (uint64_t i = 0; i < 1000; i++)
		assert_true(v[i] == i * 7);
	/* Room already there: no change. */
	uint64_t *same = v;
	assert_int_equal(lfs_array_reserve(&v, 999, &cap, sizeof(*v), 4), 0);
	assert_ptr_equal(v, same);
	assert_true(cap == 1024);
	free(v);
}

static void test_reserve_n_for_byte_buffers(void **state)
{
	(void)state;
	char *b = NULL;
	size_t cap = 0;
	assert_int_equal(lfs_array_reserve_n(&b, 10, &cap, 1, 4096), 0);
	assert_true(cap == 4096);
	memset(b, 'x', 10);
	assert_int_equal(lfs_array_reserve_n(&b, 4096, &cap, 1, 4096), 0);
	assert_true(cap == 4096);
	assert_int_equal(lfs_array_reserve_n(&b, 4097 + 8192, &cap, 1, 4096), 0);
	assert_true(cap == 16384);
	for (int i = 0; i < 10; i++)
		assert_int_equal(b[i], 'x');
	free(b);
}

static void test_failure_leaves_the_array_untouched(void **state)
{
	(void)state;
	int *v = malloc(4 * sizeof(*v));
	assert_non_null(v);
	int *orig = v;
	size_t cap = 4;
	/* More than size_t can count in bytes: refused before any allocation. */
	assert_int_equal(lfs_array_reserve_n(&v, SIZE_MAX / 2, &cap, sizeof(*v), 4), -ENOMEM);
	assert_ptr_equal(v, orig);
	assert_true(cap == 4);
	assert_int_equal(lfs_array_reserve(&v, SIZE_MAX, &cap, sizeof(*v), 4), -ENOMEM);
	assert_ptr_equal(v, orig);
	assert_true(cap == 4);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_grows_one_at_a_time_and_keeps_contents),
		cmocka_unit_test(test_reserve_n_for_byte_buffers),
		cmocka_unit_test(test_failure_leaves_the_array_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
