/*
 * Bisection over positions with a caller's predicate (bisect.h).
 */
#include "bisect.h"

uint64_t lfs_bisect(uint64_t lo, uint64_t hi, lfs_bisect_before before, void *ctx)
{
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2; /* no overflow: mid < hi */
		if (before(mid, ctx))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t lfs_bisect_last(uint64_t n, lfs_bisect_before at_or_before, void *ctx)
{
	/* The first position past 0 that does not hold, less one. */
	return n <= 1 ? 0 : lfs_bisect(1, n, at_or_before, ctx) - 1;
}
