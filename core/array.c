/*
 * Growable arrays by doubling (array.h).
 */
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t lfs_array_capacity(size_t cap, size_t need, size_t size, size_t first)
{
	if (need <= cap)
		return cap;
	size_t c = cap ? cap : first ? first : 1;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return 0;
		c *= 2;
	}
	return size && c > SIZE_MAX / size ? 0 : c;
}

int lfs_array_reserve_n(void *arrp, size_t need, size_t *cap, size_t size, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t c = lfs_array_capacity(*cap, need, size, first);
	if (!c)
		return -ENOMEM;
	/* arrp points at a pointer of some object type: read and write it
	 * by its bytes rather than through a void ** (aliasing rules). */
	void *old;
	memcpy(&old, arrp, sizeof(old));
	void *v = realloc(old, c * size);
	if (!v)
		return -ENOMEM;
	memcpy(arrp, &v, sizeof(v));
	*cap = c;
	return 0;
}

int lfs_array_reserve(void *arrp, size_t n, size_t *cap, size_t size, size_t first)
{
	if (n == SIZE_MAX)
		return -ENOMEM;
	return lfs_array_reserve_n(arrp, n + 1, cap, size, first);
}
