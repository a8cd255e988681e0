/*
 * Small helpers shared by the benchmark programs (header only, so that each
 * bench/NAME.c still builds alone into BUILD/bench/NAME).
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline double bu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void bu_die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int bu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double bu_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bu_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Parses 123, 4K, 16M, 1G (powers of 1024). */
static inline uint64_t bu_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	default: break;
	}
	return (uint64_t)v;
}

/* Fills buf with lines of rec bytes each ('\n'-terminated), printable. */
static inline void bu_fill_lines(char *buf, size_t len, size_t rec)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + i / rec) % 26);
	for (size_t i = rec - 1; i < len; i += rec)
		buf[i] = '\n';
}

/* Drops a file's clean pages from the page cache. */
static inline int bu_evict(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	fdatasync(fd);
	int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return -rc;
}

#endif
