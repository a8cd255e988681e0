/*
 * What the fuzz targets share (included once by each, after FZ_NAME, the
 * target's name, is defined): the report of a violated invariant, and a
 * private temporary directory (in /dev/shm where there is one, so that
 * files cost no disk I/O) for the files an input becomes.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fz_dirfd = -1;
static char fz_path[64];

static void fz_cleanup(void)
{
	/* Each input's files are removed after it: only the directory is
	 * left (a crash leaves it all, for a look). */
	if (fz_path[0])
		rmdir(fz_path);
}

static void fz_fail(const char *what)
{
	fprintf(stderr, FZ_NAME ": invariant violated: %s\n", what);
	abort();
}

static int fz_dir(void)
{
	if (fz_dirfd >= 0)
		return fz_dirfd;
	snprintf(fz_path, sizeof(fz_path), "/dev/shm/lfs-" FZ_NAME ".XXXXXX");
	if (!mkdtemp(fz_path)) {
		snprintf(fz_path, sizeof(fz_path), "/tmp/lfs-" FZ_NAME ".XXXXXX");
		if (!mkdtemp(fz_path))
			fz_fail("cannot create a temporary directory");
	}
	fz_dirfd = open(fz_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fz_dirfd < 0)
		fz_fail("cannot open the temporary directory");
	atexit(fz_cleanup);
	return fz_dirfd;
}

__attribute__((unused)) static void fz_put(int dirfd, const char *name, const uint8_t *b, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fz_fail("cannot create a file");
	if (len && lfs_pwrite_full(fd, b, len, 0) < 0)
		fz_fail("cannot write a file");
	close(fd);
}

#endif
