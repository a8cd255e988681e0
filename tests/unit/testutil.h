/* Helpers shared by the cmocka unit tests: temporary volumes. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "format.h"
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

/* The unit tests' clock. Volumes opened here read it (lfs_open_opts.clock)
 * and run no background thread (LFS_OPEN_DEFER_TICKER, never started): time
 * moves, and periodic work runs, only when a test says so, so that no result
 * depends on how fast or how loaded the machine is. It starts at a fixed
 * instant (2026-09-21T14:13:20Z) in every test program. */
#define TU_SEC 1000000000ull
static _Atomic uint64_t tu_clock_ns = 1790000000ull * TU_SEC;

static inline uint64_t tu_clock(void *ctx)
{
	(void)ctx;
	return atomic_load(&tu_clock_ns);
}

static inline uint64_t tu_now(void)
{
	return atomic_load(&tu_clock_ns);
}

static inline void tu_advance_ns(uint64_t ns)
{
	atomic_fetch_add(&tu_clock_ns, ns);
}

static inline void tu_advance_ms(uint64_t ms)
{
	tu_advance_ns(ms * 1000000ull);
}

/* lfs_volume_open with the tests' clock and without the background thread;
 * o may be NULL. */
static inline int tu_volume_open(const char *path, const struct lfs_open_opts *o, lfs_volume **v,
				 struct lfs_open_report *rep)
{
	struct lfs_open_opts oo = {0};
	if (o)
		oo = *o;
	oo.flags |= LFS_OPEN_DEFER_TICKER;
	if (!oo.clock)
		oo.clock = tu_clock;
	return lfs_volume_open(path, &oo, v, rep);
}

static inline lfs_volume *tu_open(const char *vol)
{
	lfs_volume *v = NULL;
	assert_int_equal(tu_volume_open(vol, NULL, &v, NULL), 0);
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

/* Reads everything a reader sees now; caller frees. */
static inline char *tu_reader_all(lfs_reader *r, size_t *len)
{
	uint64_t size = lfs_reader_size(r);
	char *buf = malloc(size + 1);
	assert_non_null(buf);
	ssize_t n = lfs_reader_read(r, buf, size, 0);
	assert_int_equal(n, (ssize_t)size);
	buf[size] = 0;
	*len = size;
	return buf;
}

/* Reads everything a fresh reader from the first record sees. */
static inline char *tu_read_all(lfs_topic *t, size_t *len)
{
	lfs_reader *r;
	struct lfs_start st = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	char *buf = tu_reader_all(r, len);
	lfs_reader_close(r);
	return buf;
}

/* A fresh reader from the first record sees exactly want. */
static inline void tu_expect_contents(lfs_topic *t, const void *want, size_t len)
{
	size_t got_len;
	char *got = tu_read_all(t, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* Closes the volume, then opens it and gets the topic again, as a remount
 * would: *t names the topic. */
static inline void tu_reopen(const char *vol, lfs_volume **v, lfs_topic **t)
{
	char name[LFS_TOPIC_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", lfs_topic_name(*t));
	lfs_topic_put(*t);
	assert_int_equal(lfs_volume_close(*v), 0);
	*v = tu_open(vol);
	assert_int_equal(lfs_topic_get(*v, name, t), 0);
}

/* ---- more helpers (paths, files, settings, crash children, tmpfs) ---- */

/* printf-style path; caller frees. */
static inline char *tu_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *tu_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Path of a segment file: <vol>/topics/<topic>/<20 digits>.<ext>; caller frees. */
static inline char *tu_seg_path(const char *vol, const char *topic, uint64_t base, const char *ext)
{
	return tu_fmt("%s/topics/%s/%020llu.%s", vol, topic, (unsigned long long)base, ext);
}

/* File size, or -1 when the file does not exist. */
static inline long long tu_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return (long long)st.st_size;
}

static inline bool tu_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static inline void tu_set(lfs_topic *t, enum lfs_setting_id id, const char *value)
{
	assert_int_equal(lfs_topic_set(t, id, value), 0);
}

/* Appends len bytes as one batch with the given framing, asserting success. */
static inline void tu_append(lfs_topic *t, enum lfs_framing f, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	assert_int_equal(lfs_topic_append(t, f, &iov, 1, NULL), 0);
}

static inline int tu_append_rc(lfs_topic *t, enum lfs_framing f, const void *buf, size_t len,
			       struct lfs_append_result *res)
{
	struct iovec iov = {(void *)buf, len};
	return lfs_topic_append(t, f, &iov, 1, res);
}

static inline lfs_reader *tu_reader_at(lfs_topic *t, uint64_t offset)
{
	lfs_reader *r = NULL;
	struct lfs_start st = {.kind = LFS_START_OFFSET, .value = offset};
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	return r;
}

/* A growable byte buffer for expected contents. */
struct tu_buf {
	char *p;
	size_t len, cap;
};

static inline void tu_buf_add(struct tu_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;
}

/* Runs fn(arg) in a child process that then _exit()s without closing
 * anything: a crash, as far as the volume is concerned (the flock dies with
 * the process, the state file stays dirty, nothing is trimmed). fn returns
 * 0 on success; the child's exit status is checked. */
static inline void tu_crash_child(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg) == 0 ? 0 : 3);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Mounts a fresh tmpfs with the given options on a new temporary directory.
 * Returns NULL (the caller skips) when that is not possible, e.g. not root. */
static inline char *tu_mount_tmpfs(const char *opts)
{
	if (geteuid() != 0) {
		fprintf(stderr, "tmpfs test skipped: needs root to mount a tmpfs\n");
		return NULL;
	}
	char *dir = tu_tempdir();
	if (mount("tmpfs", dir, "tmpfs", 0, opts) < 0) {
		fprintf(stderr, "tmpfs test skipped: mount -t tmpfs -o %s: %s\n", opts,
			strerror(errno));
		rmdir(dir);
		free(dir);
		return NULL;
	}
	return dir;
}

static inline void tu_umount_tmpfs(char *dir)
{
	assert_int_equal(umount2(dir, MNT_DETACH), 0);
	rmdir(dir);
	free(dir);
}

/* Formats a volume at path (which may exist and be empty). */
static inline void tu_mkvol_at(const char *path, uint64_t segment_size)
{
	struct lfs_mkfs_opts o = {.segment_size = segment_size};
	assert_int_equal(lfs_mkfs(path, &o, NULL), 0);
}

/* Reads an index file: its header and the batch entries up to the first
 * one that does not decode or is not a batch; *sealed when a valid seal
 * entry follows them. Returns false when the header does not decode. The
 * caller frees *ents. */
static inline bool tu_idx_load(const char *path, struct lfs_idx_header *h,
			       struct lfs_idx_entry **ents, size_t *n, bool *sealed)
{
	FILE *f = fopen(path, "rb");
	unsigned char buf[LFS_IDX_HEADER_SIZE];
	*ents = NULL;
	*n = 0;
	*sealed = false;
	assert_non_null(f);
	if (fread(buf, 1, sizeof(buf), f) != sizeof(buf) || lfs_idx_header_decode(buf, h) < 0) {
		fclose(f);
		return false;
	}
	size_t cap = 0;
	for (;;) {
		struct lfs_idx_entry e;
		if (fread(buf, 1, LFS_IDX_ENTRY_SIZE, f) != LFS_IDX_ENTRY_SIZE ||
		    lfs_idx_entry_decode(buf, &e) < 0)
			break;
		if (e.type == LFS_ENTRY_SEAL) {
			*sealed = true;
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*ents = realloc(*ents, cap * sizeof(**ents));
			assert_non_null(*ents);
		}
		(*ents)[(*n)++] = e;
	}
	fclose(f);
	return true;
}

/* The common fixture: a fresh volume, open, with one topic "app". */
struct tu_fix {
	char *vol;
	lfs_volume *v;
	lfs_topic *t;
};

/* A fresh volume, opened, with topic "app": the fields of a fixture (a
 * test's own fixture struct may hold more besides). */
static inline void tu_fix_open(char **vol, lfs_volume **v, lfs_topic **t)
{
	*vol = tu_mkvol(0);
	*v = tu_open(*vol);
	*t = tu_topic(*v, "app");
}

/* Puts the topic, closes the volume (which must succeed), removes it. */
static inline void tu_fix_close(char *vol, lfs_volume *v, lfs_topic *t)
{
	if (t)
		lfs_topic_put(t);
	if (v)
		assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

static inline int tu_fix_setup(void **state)
{
	struct tu_fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	tu_fix_open(&f->vol, &f->v, &f->t);
	*state = f;
	return 0;
}

static inline int tu_fix_teardown(void **state)
{
	struct tu_fix *f = *state;
	tu_fix_close(f->vol, f->v, f->t);
	free(f);
	return 0;
}

/* A volume with topic "act": 240 lines (one batch each) over 4 KiB
 * segments, closed and opened again (so no sealed segment is checked yet),
 * with damage at byte 150 of the sealed segment bad (an index into bases,
 * or -1: none). The volume is left closed: the caller opens it with what
 * it needs set before the topic is taken. */
struct tu_sealed {
	char *vol;
	lfs_volume *v;
	lfs_topic *t;
	uint64_t bases[16];
	size_t nb;
};

static inline void tu_sealed_build(struct tu_sealed *f, int bad)
{
	f->vol = tu_mkvol(4096);
	f->v = tu_open(f->vol);
	f->t = tu_topic(f->v, "act");
	char line[100];
	memset(line, 'x', sizeof(line));
	line[99] = '\n';
	for (int i = 0; i < 240; i++)
		tu_append(f->t, LFS_FRAMING_LINE, line, sizeof(line));
	uint64_t *bases;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &f->nb), 0);
	assert_true(f->nb >= 5 && f->nb <= 16);
	memcpy(f->bases, bases, f->nb * sizeof(*bases));
	free(bases);
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	if (bad >= 0) {
		char *lp = tu_seg_path(f->vol, "act", f->bases[bad], "log");
		FILE *fp = fopen(lp, "r+b");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, 150, SEEK_SET), 0);
		fputc('#', fp);
		fclose(fp);
		free(lp);
	}
}

static inline void tu_sealed_done(struct tu_sealed *f)
{
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	tu_rmvol(f->vol);
}

#endif
