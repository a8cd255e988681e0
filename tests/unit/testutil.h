/* Helpers shared by the cmocka unit tests: temporary volumes. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfs.h"

/* Makes a fresh empty directory under $TMPDIR and returns its path. */
static inline char *tu_tempdir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *p = malloc(strlen(base) + 32);
	assert_non_null(p);
	sprintf(p, "%s/lfs-unit-XXXXXX", base);
	assert_non_null(mkdtemp(p));
	return p;
}

static inline void tu_rmrf(const char *path)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* A formatted volume at <tempdir>/vol with the given segment size. */
static inline char *tu_mkvol(uint64_t segment_size)
{
	char *dir = tu_tempdir();
	char *vol = malloc(strlen(dir) + 8);
	assert_non_null(vol);
	sprintf(vol, "%s/vol", dir);
	free(dir);
	struct lfs_mkfs_opts o = {.segment_size = segment_size};
	assert_int_equal(lfs_mkfs(vol, &o, NULL), 0);
	return vol;
}

static inline void tu_rmvol(char *vol)
{
	char *slash = strrchr(vol, '/');
	*slash = 0;
	tu_rmrf(vol);
	free(vol);
}

static inline lfs_volume *tu_open(const char *vol)
{
	lfs_volume *v = NULL;
	assert_int_equal(lfs_volume_open(vol, NULL, &v, NULL), 0);
	return v;
}

static inline lfs_topic *tu_topic(lfs_volume *v, const char *name)
{
	lfs_topic *t = NULL;
	struct lfs_topic_meta m = {.mode = 0755};
	assert_int_equal(lfs_topic_create(v, name, &m, &t), 0);
	return t;
}

static inline void tu_append_str(lfs_topic *t, const char *s)
{
	struct iovec iov = {(void *)s, strlen(s)};
	assert_int_equal(lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL), 0);
}

/* Reads everything a fresh reader from the first record sees. */
static inline char *tu_read_all(lfs_topic *t, size_t *len)
{
	lfs_reader *r;
	struct lfs_start st = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	uint64_t size = lfs_reader_size(r);
	char *buf = malloc(size + 1);
	assert_non_null(buf);
	ssize_t n = lfs_reader_read(r, buf, size, 0);
	assert_int_equal(n, (ssize_t)size);
	buf[size] = 0;
	lfs_reader_close(r);
	*len = size;
	return buf;
}

#endif
