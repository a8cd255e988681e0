/*
 * The one bisection of the core: sorted index entries, segment lists,
 * topic and cursor names all go through it. The caller supplies the order
 * as a predicate over positions, so the search never needs to know how an
 * element is stored (a mapped index, an array of pointers, a struct array).
 */
#ifndef LFS_BISECT_H
#define LFS_BISECT_H

#include <stdbool.h>
#include <stdint.h>

/* True while position i lies before the position sought. Over [lo, hi) it
 * must hold for a prefix and fail for the rest (what a sorted array gives). */
typedef bool (*lfs_bisect_before)(uint64_t i, void *ctx);

/* The first position of [lo, hi) for which before fails, or hi when it holds
 * for all (lo when lo >= hi). before is called only at positions inside
 * [lo, hi), at most about log2(hi - lo) + 1 times. */
uint64_t lfs_bisect(uint64_t lo, uint64_t hi, lfs_bisect_before before, void *ctx);

/* The last position of [0, n) for which at_or_before holds, where position 0
 * is taken to hold without being tested: 0 when no later one holds or when
 * n <= 1. A caller for whom position 0 may not hold checks it itself. */
uint64_t lfs_bisect_last(uint64_t n, lfs_bisect_before at_or_before, void *ctx);

#endif
