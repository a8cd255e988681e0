/* The core's one bisection (bisect.h): lower bound and "last at or before"
 * over arrays of every small shape, against a linear scan; the predicate is
 * only ever asked about positions inside the range, a bounded number of
 * times, and positions near 2^64 do not overflow. */
#include "testutil.h"

#include "bisect.h"

struct probe {
	const uint64_t *v;
	uint64_t key;
	uint64_t lo, hi;   /* the range the predicate may be asked about */
	uint64_t calls;
	bool outside;      /* asked about a position outside [lo, hi) */
};

/* Counts the call; false when i is outside the range it may be asked about. */
static bool asked(struct probe *p, uint64_t i)
{
	p->calls++;
	if (i < p->lo || i >= p->hi)
		p->outside = true;
	return !p->outside;
}

static bool below(uint64_t i, void *ctx)
{
	struct probe *p = ctx;
	return asked(p, i) && p->v[i] < p->key;
}

static bool at_or_below(uint64_t i, void *ctx)
{
	struct probe *p = ctx;
	return asked(p, i) && p->v[i] <= p->key;
}

static uint64_t log2_ceil(uint64_t n)
{
	uint64_t b = 0;
	while ((1ull << b) < n)
		b++;
	return b;
}

static void test_empty(void **state)
{
	(void)state;
	struct probe p = {.v = NULL, .key = 5};
	assert_true(lfs_bisect(0, 0, below, &p) == 0);
	assert_true(lfs_bisect(7, 7, below, &p) == 7);
	assert_true(lfs_bisect(9, 3, below, &p) == 9); /* lo >= hi: lo */
	assert_true(lfs_bisect_last(0, at_or_below, &p) == 0);
	assert_true(p.calls == 0);
}

static void test_one_element(void **state)
{
	(void)state;
	uint64_t v[1] = {10};
	struct probe p = {.v = v, .lo = 0, .hi = 1};
	p.key = 9; /* before the element */
	assert_true(lfs_bisect(0, 1, below, &p) == 0);
	p.key = 10;
	assert_true(lfs_bisect(0, 1, below, &p) == 0);
	p.key = 11; /* after it */
	assert_true(lfs_bisect(0, 1, below, &p) == 1);
	assert_false(p.outside);
	/* One element: position 0, never tested. */
	p.calls = 0;
	p.key = 0;
	assert_true(lfs_bisect_last(1, at_or_below, &p) == 0);
	assert_true(p.calls == 0);
}

static void test_all_equal(void **state)
{
	(void)state;
	uint64_t v[9];
	for (int i = 0; i < 9; i++)
		v[i] = 4;
	struct probe p = {.v = v, .lo = 0, .hi = 9};
	p.key = 4;
	assert_true(lfs_bisect(0, 9, below, &p) == 0);     /* the first equal */
	p.lo = 1;
	assert_true(lfs_bisect_last(9, at_or_below, &p) == 8); /* the last equal */
	p.lo = 0;
	p.key = 3;
	assert_true(lfs_bisect(0, 9, below, &p) == 0);
	p.key = 5;
	assert_true(lfs_bisect(0, 9, below, &p) == 9);
	assert_false(p.outside);
}

static void test_key_before_first_and_after_last(void **state)
{
	(void)state;
	uint64_t v[5] = {10, 20, 30, 40, 50};
	struct probe p = {.v = v, .lo = 0, .hi = 5};
	p.key = 1;
	assert_true(lfs_bisect(0, 5, below, &p) == 0);
	p.key = 99;
	assert_true(lfs_bisect(0, 5, below, &p) == 5);
	/* "last at or before": 0 when the key is before the first (the
	 * caller checks position 0), the last position after the last. */
	p.lo = 1;
	p.key = 1;
	assert_true(lfs_bisect_last(5, at_or_below, &p) == 0);
	p.key = 99;
	assert_true(lfs_bisect_last(5, at_or_below, &p) == 4);
	p.key = 35;
	assert_true(lfs_bisect_last(5, at_or_below, &p) == 2);
	p.key = 40;
	assert_true(lfs_bisect_last(5, at_or_below, &p) == 3);
	assert_false(p.outside);
}

/* Every sorted array of length 0..12 over values 0..3 whose run lengths
 * come from a counter, every key, every sub-range: the results are those of
 * a linear scan, the probes stay inside and within the bound. */
static void test_against_linear_scan(void **state)
{
	(void)state;
	uint64_t v[12];
	for (uint64_t n = 0; n <= 12; n++) {
		for (uint64_t seed = 0; seed < 64; seed++) {
			uint64_t x = 0, s = seed;
			for (uint64_t i = 0; i < n; i++) {
				x += (s & 1) + ((s >> 1) & 1);
				s = (s >> 2) | ((s & 3) << 4);
				v[i] = x;
			}
			for (uint64_t key = 0; key <= x + 1; key++) {
				for (uint64_t lo = 0; lo <= n; lo++) {
					struct probe p = {.v = v, .key = key, .lo = lo, .hi = n};
					uint64_t want = lo;
					while (want < n && v[want] < key)
						want++;
					assert_true(lfs_bisect(lo, n, below, &p) == want);
					assert_false(p.outside);
					assert_true(p.calls <= log2_ceil(n - lo + 1));
				}
				struct probe p = {.v = v, .key = key, .lo = 1, .hi = n};
				uint64_t last = 0;
				for (uint64_t i = 1; i < n; i++)
					if (v[i] <= key)
						last = i;
				assert_true(lfs_bisect_last(n, at_or_below, &p) == last);
				assert_false(p.outside);
			}
		}
	}
}

/* Positions near 2^64: the midpoint does not overflow. */
static bool below_big(uint64_t i, void *ctx)
{
	return i < *(uint64_t *)ctx;
}

static void test_positions_near_the_top(void **state)
{
	(void)state;
	uint64_t cut = UINT64_MAX - 3;
	assert_true(lfs_bisect(UINT64_MAX - 100, UINT64_MAX, below_big, &cut) == cut);
	assert_true(lfs_bisect(0, UINT64_MAX, below_big, &cut) == cut);
	cut = 1;
	assert_true(lfs_bisect(0, UINT64_MAX, below_big, &cut) == 1);
	assert_true(lfs_bisect_last(UINT64_MAX, below_big, &cut) == 0);
	cut = UINT64_MAX;
	assert_true(lfs_bisect_last(UINT64_MAX, below_big, &cut) == UINT64_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_one_element),
		cmocka_unit_test(test_all_equal),
		cmocka_unit_test(test_key_before_first_and_after_last),
		cmocka_unit_test(test_against_linear_scan),
		cmocka_unit_test(test_positions_near_the_top),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
