/*
 * The one growable array of the core: an element pointer, a count and a
 * capacity that the caller keeps in its own structure (typed fields, no
 * wrapper type), grown by doubling. Every list that grows one element at a
 * time (segments, entries found by a scan, problems, directory entries) and
 * every byte buffer that grows by appends goes through it.
 */
#ifndef LFS_ARRAY_H
#define LFS_ARRAY_H

#include <stddef.h>

/* The capacity an array of cap elements grows to so that it holds need:
 * cap when it already does, else doubling from cap (from first when cap is
 * 0); 0 when that would not fit in size_t elements of size bytes. */
size_t lfs_array_capacity(size_t cap, size_t need, size_t size, size_t first);

/* Makes room for need elements of `size` bytes in the array *arrp (a pointer
 * to the caller's element pointer) of *cap elements, by
 * lfs_array_capacity: 0, or -ENOMEM with the array and *cap untouched. */
int lfs_array_reserve_n(void *arrp, size_t need, size_t *cap, size_t size, size_t first);

/* Makes room for one more element after n: lfs_array_reserve_n(n + 1). */
int lfs_array_reserve(void *arrp, size_t n, size_t *cap, size_t size, size_t first);

#endif
