/* Small I/O helpers: full reads and writes, atomic file replacement. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

int lfs_act_as_volume_owner(const char *path, uid_t *uid, gid_t *gid)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	*uid = st.st_uid;
	*gid = st.st_gid;
	if (geteuid() != 0 || st.st_uid == 0)
		return 0;
	/* setfsuid and setfsgid report nothing but the previous ids: ask
	 * again (-1 changes nothing) to know whether they took. The group
	 * first: with a non-root fsuid the thread could still change it,
	 * but the order keeps both changes under root's rights. */
	setfsgid(st.st_gid);
	setfsuid(st.st_uid);
	if ((gid_t)setfsgid((gid_t)-1) != st.st_gid || (uid_t)setfsuid((uid_t)-1) != st.st_uid)
		return -EPERM;
	/* A volume in a directory closed to its owner (root's /srv/x/vol
	 * of a user) cannot be worked on as the owner: stay root. AT_EACCESS
	 * checks with the filesystem ids just set. */
	if (faccessat(AT_FDCWD, path, R_OK | W_OK | X_OK, AT_EACCESS) < 0) {
		int e = errno;
		setfsuid(0);
		setfsgid(getegid());
		return e == EACCES ? 1 : -e;
	}
	return 0;
}

uint64_t lfs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void lfs_log(lfs_volume *v, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (v && v->log)
		v->log(v->log_ctx, level, msg);
}

int lfs_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int lfs_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

void lfs_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int lfs_fsync_dir(int dirfd)
{
	return fsync(dirfd) < 0 ? -errno : 0;
}

/* ---- opening what the volume holds ----
 *
 * A volume is untrusted input (SPEC "Security"): whoever can write the
 * volume directory may have put a symlink, a FIFO or a device where a
 * backing file belongs. Every backing file is opened here: a symlink is
 * never followed (O_NOFOLLOW), only a regular file is opened (checked by
 * lstat before the open, so no FIFO or device is ever opened, and by fstat
 * after it, so a swap in between is caught), and the open cannot block
 * (O_NONBLOCK, cleared once it is known to be a regular file). */

static int not_regular(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return 0;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	return S_ISDIR(st->st_mode) ? -EISDIR : -ENXIO;
}

const char *lfs_refusal(int err)
{
	switch (err) {
	case -ELOOP:
		return "is a symbolic link (never followed)";
	case -EISDIR:
		return "is a directory, not a file";
	case -ENXIO:
		return "is not a regular file (a FIFO, socket or device)";
	case -ENOTDIR:
		return "is not a directory";
	default:
		return NULL;
	}
}

static int open_existing(int dirfd, const char *name, int flags)
{
	struct stat st, fst;
	bool trunc = flags & O_TRUNC;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	int rc = not_regular(&st);
	if (rc < 0)
		return rc;
	int fd = openat(dirfd, name,
			(flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &fst) < 0)
		rc = -errno;
	else if ((rc = not_regular(&fst)) == 0 && (fst.st_ino != st.st_ino || fst.st_dev != st.st_dev))
		rc = -EAGAIN; /* replaced between the two looks */
	if (rc == 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
			rc = -errno;
	}
	if (rc == 0 && trunc && ftruncate(fd, 0) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int lfs_open_file(int dirfd, const char *name, int flags)
{
	if (flags & O_CREAT) {
		/* O_EXCL never follows a link, not even a dangling one. */
		int fd = openat(dirfd, name,
				(flags & ~O_TRUNC) | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
				LFS_FILE_MODE);
		if (fd >= 0 || errno != EEXIST || (flags & O_EXCL))
			return fd >= 0 ? fd : -errno;
	}
	for (int tries = 0;; tries++) {
		int fd = open_existing(dirfd, name, flags);
		if (fd != -EAGAIN || tries == 3)
			return fd;
	}
}

int lfs_create_file(int dirfd, const char *name, int flags)
{
	/* unlinkat removes a link itself, never its target. */
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return lfs_open_file(dirfd, name, flags | O_CREAT | O_EXCL);
}

int lfs_open_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	/* A symlink with O_DIRECTORY|O_NOFOLLOW: ELOOP or ENOTDIR depending
	 * on the kernel; say which it was. */
	int e = errno;
	struct stat st;
	if ((e == ENOTDIR || e == ELOOP) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
	return -e;
}

/* Write to a temporary name, fsync, rename over the target, fsync the
 * directory: readers see the old or the new file, never a torn one. A
 * stale temporary file is removed first and the new one created with
 * O_EXCL, so nothing placed at the temporary name is ever written through;
 * rename replaces a link at the target, never its target. */
int lfs_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len)
{
	char tmp[300];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = lfs_create_file(dirfd, tmp, O_WRONLY);
	if (fd < 0)
		return fd;
	rc = lfs_pwrite_full(fd, buf, len, 0);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc == 0)
		rc = lfs_fsync_dir(dirfd);
	if (rc < 0)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int lfs_read_file(int dirfd, const char *name, void *buf, size_t cap, size_t *len)
{
	int fd = lfs_open_file(dirfd, name, O_RDONLY);
	size_t got = 0;

	if (fd < 0)
		return fd;
	while (got < cap) {
		ssize_t n = read(fd, (char *)buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return 0;
}

/* A DIR stream over an open directory, from its start. The stream owns a
 * dup of dirfd, which shares the directory offset with dirfd and with any
 * other dup: hence the rewind. */
int lfs_dir_open(int dirfd, DIR **out)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	rewinddir(d);
	*out = d;
	return 0;
}

/* Removes name (a directory tree, or anything else) under dirfd. A symlink
 * is removed itself, at any level, never followed: each directory is opened
 * with O_NOFOLLOW and its entries unlinked relative to it. */
int lfs_remove_tree(int dirfd, const char *name)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;
	int fd = lfs_open_dir(dirfd, name);

	if (fd == -ELOOP || fd == -ENOTDIR)
		return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = 0;
		if (de->d_type == DT_DIR)
			r = lfs_remove_tree(fd, de->d_name);
		else if (unlinkat(fd, de->d_name, 0) < 0)
			/* d_type may be DT_UNKNOWN: a directory says EISDIR. */
			r = errno == EISDIR ? lfs_remove_tree(fd, de->d_name) : -errno;
		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	if (rc == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		rc = -errno;
	return rc;
}

bool lfs_all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len && ((uintptr_t)p & 7)) {
		if (*p++)
			return false;
		len--;
	}
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		if (w)
			return false;
	}
	while (len--)
		if (*p++)
			return false;
	return true;
}

size_t lfs_nonzero_len(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len && ((uintptr_t)(p + len) & 7)) {
		if (p[len - 1])
			return len;
		len--;
	}
	for (; len >= 8; len -= 8) {
		uint64_t w;
		memcpy(&w, p + len - 8, 8);
		if (w)
			break;
	}
	while (len && !p[len - 1])
		len--;
	return len;
}

size_t lfs_count_byte_portable(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *p = buf;
	size_t n = 0;
#ifdef __SSE2__
	/* A line-framed batch is counted at about memory speed: 16 byte
	 * compares at a time into per-byte counters, summed before any of
	 * them can overflow (255 rounds). */
	const __m128i needle = _mm_set1_epi8((char)c), zero = _mm_setzero_si128();
	while (len >= 16) {
		size_t rounds = len / 16 < 255 ? len / 16 : 255;
		__m128i acc = zero;
		for (size_t i = 0; i < rounds; i++, p += 16)
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), needle));
		__m128i sums = _mm_sad_epu8(acc, zero);
		n += (size_t)_mm_cvtsi128_si32(sums) + (size_t)_mm_extract_epi16(sums, 4);
		len -= rounds * 16;
	}
#endif
	while (len--)
		n += *p++ == c;
	return n;
}

#if defined(__x86_64__)
#include <immintrin.h>

/* The same with 32-byte compares: a 1 MiB append batch is counted in half
 * the instructions, which showed as 4% of core_bench batch's profile. */
__attribute__((target("avx2"))) size_t lfs_count_byte_avx2(const void *buf, size_t len,
							    unsigned char c)
{
	const unsigned char *p = buf;
	size_t n = 0;
	const __m256i needle = _mm256_set1_epi8((char)c), zero = _mm256_setzero_si256();
	while (len >= 32) {
		size_t rounds = len / 32 < 255 ? len / 32 : 255;
		__m256i acc = zero;
		for (size_t i = 0; i < rounds; i++, p += 32)
			acc = _mm256_sub_epi8(
				acc, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), needle));
		__m256i sums = _mm256_sad_epu8(acc, zero);
		n += (size_t)_mm256_extract_epi64(sums, 0) + (size_t)_mm256_extract_epi64(sums, 1) +
		     (size_t)_mm256_extract_epi64(sums, 2) + (size_t)_mm256_extract_epi64(sums, 3);
		len -= rounds * 32;
	}
	return n + lfs_count_byte_portable(p, len, c);
}
#endif

typedef size_t (*count_fn)(const void *, size_t, unsigned char);
static count_fn count_impl;
static pthread_once_t count_once = PTHREAD_ONCE_INIT;

static void count_init(void)
{
	count_impl = lfs_count_byte_portable;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		count_impl = lfs_count_byte_avx2;
#endif
}

size_t lfs_count_byte(const void *buf, size_t len, unsigned char c)
{
	pthread_once(&count_once, count_init);
	return count_impl(buf, len, c);
}

void lfs_problem_vset(struct lfs_problem *p, enum lfs_problem_kind kind, const char *topic,
		      uint64_t segment, uint64_t first, uint64_t last, uint64_t bytes, bool repaired,
		      const char *fmt, va_list ap)
{
	*p = (struct lfs_problem){.kind = kind,
				  .topic = topic,
				  .segment = segment,
				  .first_offset = first,
				  .last_offset = last,
				  .bytes = bytes,
				  .repaired = repaired};
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
}
