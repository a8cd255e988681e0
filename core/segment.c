/*
 * Segments: a data file holding exactly the payload bytes, and an index file
 * framing it (docs/FORMAT.md).
 *
 * The active segment is written through shared mappings of both files, which
 * are extended with fallocate ahead of the writer: an append is two memcpys
 * and no system call, and a full filesystem shows up as ENOSPC from
 * fallocate before anything is written, never as SIGBUS. Stores into a
 * MAP_SHARED mapping are in the page cache at once, so they survive a crash
 * of the daemon; fdatasync makes them durable. When the segment is sealed or
 * closed cleanly both files are cut to their exact length.
 *
 * Sealed segments are mapped read-only on first use (segread.c); the
 * mapping lives as long as the segment object, which is reference counted,
 * so a reader keeps a segment that retention unlinked readable until it
 * lets go. Loading segments from disk is segload.c.
 *
 * What a segment needs of its topic (its directory, the read-only flag,
 * the segment size, where messages go) comes through s->host
 * (struct lfs_seg_host); segment.c does not look into the topic.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t page_round(uint64_t n)
{
	long ps = sysconf(_SC_PAGESIZE);
	return (size_t)((n + (uint64_t)ps - 1) & ~((uint64_t)ps - 1));
}

void lfs_segment_log(lfs_segment *s, bool error, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		s->host->error(s->host->ctx, msg);
	else
		s->host->log(s->host->ctx, level, msg);
}

lfs_segment *lfs_segment_new(lfs_topic *t, const struct lfs_seg_host *host, uint64_t base)
{
	lfs_segment *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->topic = t;
	s->host = host;
	s->base = base;
	s->data_fd = -1;
	s->idx_fd = -1;
	atomic_init(&s->next_offset, base);
	atomic_init(&s->good_end, UINT64_MAX);
	lfs_mutex_init(&s->mu);
	return s;
}

void lfs_segment_ref(lfs_segment *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void lfs_segment_put(lfs_segment *s)
{
	if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	s->host->maps_forget(s->host->ctx, s);
	unsigned char *d = atomic_load(&s->data), *x = atomic_load(&s->idx);
	if (d)
		munmap(d, s->data_maplen);
	if (x)
		munmap(x, s->idx_maplen);
	if (s->data_fd >= 0)
		close(s->data_fd);
	if (s->idx_fd >= 0)
		close(s->idx_fd);
	lfs_mutex_destroy(&s->mu);
	free(s);
}

void lfs_segment_stat(lfs_segment *s, struct lfs_segment_stat *st)
{
	st->base_offset = s->base;
	st->records = atomic_load(&s->next_offset) - s->base;
	st->bytes = atomic_load(&s->size);
	st->first_timestamp = s->first_ts;
	st->last_timestamp = atomic_load(&s->last_ts);
	st->sealed = atomic_load(&s->sealed);
}

void lfs_segment_note_data_file(lfs_segment *s, const struct stat *st)
{
	s->data_dev = (uint64_t)st->st_dev;
	s->data_ino = (uint64_t)st->st_ino;
}

/* Opens one of the segment's files (O_TRUNC: a new one, replacing whatever
 * had its name); a file that is not one (SPEC "Security") is refused and
 * logged. */
int lfs_segment_open_file(lfs_segment *s, const char *ext, int flags)
{
	char name[32];
	lfs_seg_name(s->base, ext, name);
	int dirfd = s->host->dir_enter(s->host->ctx);
	if (dirfd < 0)
		return dirfd;
	int fd = (flags & O_TRUNC) ? lfs_create_file(dirfd, name, flags & ~(O_CREAT | O_TRUNC))
				   : lfs_open_file(dirfd, name, flags);
	s->host->dir_exit(s->host->ctx);
	if (fd < 0 && lfs_refusal(fd))
		lfs_segment_log(s, false, LFS_LOG_ERR, "topic %s: %s %s: not opened", s->host->name, name,
			lfs_refusal(fd));
	return fd;
}

/* Grows a file to at least want bytes (rounded to step), allocating blocks
 * so that later stores through the mapping cannot fail for lack of space. */
static int grow_file(int fd, uint64_t *alloc, uint64_t want, uint64_t step, uint64_t cap)
{
	if (want <= *alloc)
		return 0;
	uint64_t target = (want + step - 1) / step * step;
	if (target > cap)
		target = cap;
	if (target < want)
		return -EMSGSIZE;
	int rc;
	do
		rc = fallocate(fd, 0, (off_t)*alloc, (off_t)(target - *alloc));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	*alloc = target;
	return 0;
}

int lfs_segment_reserve(lfs_segment *s, uint64_t data_len)
{
	uint64_t size = atomic_load_explicit(&s->size, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&s->nentries, memory_order_relaxed);
	/* Steps grow with the segment (half its size, 1 to 16 MiB): a small
	 * topic holds little unused space, and a stream of 1 MiB appends
	 * does not pay an fallocate for each. */
	uint64_t step = size / 2;
	step = step < LFS_DATA_GROW ? LFS_DATA_GROW : step > LFS_DATA_GROW_MAX ? LFS_DATA_GROW_MAX : step;
	int rc = grow_file(s->data_fd, &s->data_alloc, size + data_len, step, s->data_maplen);
	if (rc < 0)
		return rc;
	return grow_file(s->idx_fd, &s->idx_alloc,
			 LFS_IDX_HEADER_SIZE + (n + 2) * LFS_IDX_ENTRY_SIZE, LFS_IDX_GROW,
			 s->idx_maplen);
}

int lfs_segment_map_active(lfs_segment *s, uint64_t segment_size)
{
	void *d, *x;

	/* The data file may already be larger than segment_size (a reopened
	 * segment written while segment_size was larger): map all of it, or
	 * reads past the mapping would fault. */
	if (s->data_alloc > segment_size)
		segment_size = s->data_alloc;
	s->data_maplen = page_round(segment_size + LFS_BATCH_MAX);
	s->idx_maplen =
		page_round(LFS_IDX_HEADER_SIZE + (uint64_t)(LFS_IDX_MAX_ENTRIES + 1) * LFS_IDX_ENTRY_SIZE);
	/* A read-only volume (possibly on a read-only filesystem) opened its
	 * last segment's files read-only: map them so. */
	int prot = s->host->readonly ? PROT_READ : PROT_READ | PROT_WRITE;
	d = mmap(NULL, s->data_maplen, prot, MAP_SHARED, s->data_fd, 0);
	if (d == MAP_FAILED)
		return -errno;
	x = mmap(NULL, s->idx_maplen, prot, MAP_SHARED, s->idx_fd, 0);
	if (x == MAP_FAILED) {
		int e = -errno;
		munmap(d, s->data_maplen);
		return e;
	}
	atomic_store(&s->data, d);
	atomic_store(&s->idx, x);
	return 0;
}

int lfs_segment_create_active(lfs_topic *t, const struct lfs_seg_host *host, uint64_t base,
			      uint64_t stream_pos, uint32_t framing, uint64_t ctime_ns,
			      lfs_segment **out)
{
	unsigned char hdr[LFS_IDX_HEADER_SIZE];
	int rc;
	lfs_segment *s = lfs_segment_new(t, host, base);

	if (!s)
		return -ENOMEM;
	s->stream_pos = stream_pos;
	s->framing = framing;
	s->ctime_ns = ctime_ns;
	rc = lfs_segment_open_file(s, "log", O_RDWR | O_CREAT | O_TRUNC);
	if (rc < 0)
		goto fail;
	s->data_fd = rc;
	rc = lfs_segment_open_file(s, "idx", O_RDWR | O_CREAT | O_TRUNC);
	if (rc < 0)
		goto fail;
	s->idx_fd = rc;
	struct lfs_idx_header h = {.version = LFS_FORMAT_VERSION,
				   .framing = framing,
				   .base_offset = base,
				   .stream_pos = stream_pos,
				   .ctime_ns = s->ctime_ns};
	lfs_idx_header_encode(&h, hdr);
	rc = lfs_pwrite_full(s->idx_fd, hdr, sizeof(hdr), 0);
	if (rc < 0)
		goto fail;
	s->idx_alloc = sizeof(hdr);
	struct stat st;
	if (fstat(s->data_fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	lfs_segment_note_data_file(s, &st);
	rc = lfs_segment_map_active(s, host->segment_size(host->ctx));
	if (rc < 0)
		goto fail;
	/* Nothing is flushed here: the files, the header and the directory
	 * entries become durable at the next sync point (commit.c), before
	 * anything that depends on them is reported durable. A power cut
	 * before that may lose them; recovery takes such a segment as empty
	 * (scan.c, recover.c). */
	*out = s;
	return 0;
fail: {
	int dirfd = host->dir_enter(host->ctx);
	if (dirfd >= 0) {
		char name[32];
		lfs_seg_name(base, "log", name);
		unlinkat(dirfd, name, 0);
		lfs_seg_name(base, "idx", name);
		unlinkat(dirfd, name, 0);
		host->dir_exit(host->ctx);
	}
}
	lfs_segment_put(s);
	return rc;
}

int lfs_segment_sync(lfs_segment *s)
{
	if (fdatasync(s->data_fd) < 0)
		return -errno;
	if (fdatasync(s->idx_fd) < 0)
		return -errno;
	return 0;
}

int lfs_segment_sync_ring(lfs_segment *s, struct io_uring *ring)
{
	struct io_uring_sqe *a = io_uring_get_sqe(ring), *b = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int rc = 0;

	if (!a || !b)
		return -EBUSY; /* the ring is only ever used by one leader */
	io_uring_prep_fsync(a, s->data_fd, IORING_FSYNC_DATASYNC);
	io_uring_prep_fsync(b, s->idx_fd, IORING_FSYNC_DATASYNC);
	int n = io_uring_submit_and_wait(ring, 2);
	if (n < 0)
		return n;
	for (int i = 0; i < 2; i++) {
		int w = io_uring_wait_cqe(ring, &cqe);
		if (w < 0)
			return w;
		if (cqe->res < 0 && rc == 0)
			rc = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return rc;
}

/* Cuts the preallocated tails off, so the files hold exactly what is
 * committed. */
static int trim_active(lfs_segment *s, uint64_t idx_len)
{
	uint64_t size = atomic_load(&s->size);
	if (ftruncate(s->data_fd, (off_t)size) < 0)
		return -errno;
	s->data_alloc = size;
	if (ftruncate(s->idx_fd, (off_t)idx_len) < 0)
		return -errno;
	s->idx_alloc = idx_len;
	return 0;
}

/* Seal: make the data and entries durable first, then write the seal and
 * make it durable. A seal therefore only ever vouches for durable data, and
 * mount can trust it without rescanning. */
int lfs_segment_freeze(lfs_segment *s)
{
	uint64_t n = atomic_load(&s->nentries);
	int rc = trim_active(s, LFS_IDX_HEADER_SIZE + n * LFS_IDX_ENTRY_SIZE);
	if (rc == 0)
		atomic_store_explicit(&s->sealed, true, memory_order_release);
	return rc;
}

int lfs_segment_write_seal(lfs_segment *s)
{
	uint64_t n = atomic_load(&s->nentries);
	uint64_t idx_len = LFS_IDX_HEADER_SIZE + (n + 1) * LFS_IDX_ENTRY_SIZE;
	unsigned char *x = atomic_load(&s->idx);
	int rc;

	if (s->data_fd < 0)
		return 0; /* sealed already */
	rc = lfs_segment_sync(s);
	if (rc < 0)
		return rc;
	struct lfs_idx_entry seal = {
		.offset = atomic_load(&s->next_offset),
		.pos = atomic_load(&s->size),
		.len = 0,
		.count = (uint32_t)n,
		.ts = atomic_load(&s->last_ts),
		.crc = lfs_crc32c(0, x + LFS_IDX_HEADER_SIZE, n * LFS_IDX_ENTRY_SIZE),
		.type = LFS_ENTRY_SEAL,
	};
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	lfs_idx_entry_encode(&seal, buf);
	rc = lfs_pwrite_full(s->idx_fd, buf, sizeof(buf), LFS_IDX_HEADER_SIZE + n * LFS_IDX_ENTRY_SIZE);
	if (rc < 0)
		return rc;
	s->idx_alloc = idx_len;
	if (fdatasync(s->idx_fd) < 0)
		return -errno;
	/* The mappings stay (readers may hold pointers into them); writing
	 * ends here. A group commit leader may be syncing through the
	 * descriptors (commit_wait): close them under s->mu. */
	lfs_mutex_lock(&s->mu);
	close(s->data_fd);
	close(s->idx_fd);
	s->data_fd = s->idx_fd = -1;
	/* Its mappings (the active ones) may come down from now on. */
	s->host->maps_track(s->host->ctx, s);
	lfs_mutex_unlock(&s->mu);
	return 0;
}

int lfs_segment_seal(lfs_segment *s)
{
	int rc = atomic_load(&s->sealed) ? 0 : lfs_segment_freeze(s);
	return rc < 0 ? rc : lfs_segment_write_seal(s);
}

/* Clean close of the active segment: durable, exact length, not sealed. */
int lfs_segment_close_active(lfs_segment *s)
{
	if (s->data_fd < 0)
		return 0;
	uint64_t n = atomic_load(&s->nentries);
	int rc = trim_active(s, LFS_IDX_HEADER_SIZE + n * LFS_IDX_ENTRY_SIZE);
	if (rc == 0)
		rc = lfs_segment_sync(s);
	return rc;
}

/* An idle topic's active segment gives back its descriptors and mappings
 * (files.c decides when: nothing pins it, under append_mu and segs_lock
 * held for writing): its files are cut to their exact length and made
 * durable, as at a clean unmount. */
void lfs_segment_unmap_files(lfs_segment *s)
{
	unsigned char *d = atomic_load(&s->data), *x = atomic_load(&s->idx);
	atomic_store(&s->data, NULL);
	atomic_store(&s->idx, NULL);
	if (d)
		munmap(d, s->data_maplen);
	if (x)
		munmap(x, s->idx_maplen);
}

int lfs_segment_release_active(lfs_segment *s)
{
	LFS_ASSERT_HELD(s->host->append_mu);
	LFS_ASSERT_WRITE_HELD(s->host->segs_lock);
	if (atomic_load(&s->released) || s->data_fd < 0)
		return 0;
	int rc = lfs_segment_close_active(s);
	if (rc < 0)
		return rc;
	lfs_segment_unmap_files(s);
	lfs_mutex_lock(&s->mu); /* a group commit leader syncs under it */
	close(s->data_fd);
	close(s->idx_fd);
	s->data_fd = s->idx_fd = -1;
	lfs_mutex_unlock(&s->mu);
	atomic_store(&s->released, true);
	return 0;
}

/* A file the active segment needs again that is now refused
 * (lfs_segment_open_file logged why) is damage made since: EIO. */
static int reopen_error(int rc)
{
	return lfs_refusal(rc) ? -EIO : rc;
}

/* Takes them again (append_mu held): the same files, at least as long as
 * what was committed. */
int lfs_segment_reopen_active(lfs_segment *s)
{
	LFS_ASSERT_HELD(s->host->append_mu);
	if (!atomic_load(&s->released))
		return 0;
	int mode = s->host->readonly ? O_RDONLY : O_RDWR;
	int dfd = lfs_segment_open_file(s, "log", mode);
	if (dfd < 0)
		return reopen_error(dfd);
	int xfd = lfs_segment_open_file(s, "idx", mode);
	if (xfd < 0) {
		close(dfd);
		return reopen_error(xfd);
	}
	struct stat ds, xs;
	int rc = 0;
	if (fstat(dfd, &ds) < 0 || fstat(xfd, &xs) < 0)
		rc = -errno;
	else if ((uint64_t)ds.st_dev != s->data_dev || (uint64_t)ds.st_ino != s->data_ino ||
		 (uint64_t)ds.st_size < atomic_load(&s->size) ||
		 (uint64_t)xs.st_size < LFS_IDX_HEADER_SIZE +
						atomic_load(&s->nentries) * LFS_IDX_ENTRY_SIZE) {
		/* Not the files it left (replaced or cut behind the daemon's
		 * back while it held none of them open). */
		lfs_segment_log(s, true, LFS_LOG_ERR,
			"topic %s: segment %llu changed on disk since it was loaded: run fsck.logfs",
			s->host->name, (unsigned long long)s->base);
		rc = -EIO;
	}
	if (rc < 0) {
		close(dfd);
		close(xfd);
		return rc;
	}
	s->data_fd = dfd;
	s->idx_fd = xfd;
	s->data_alloc = (uint64_t)ds.st_size;
	s->idx_alloc = (uint64_t)xs.st_size;
	rc = lfs_segment_map_active(s, s->host->segment_size(s->host->ctx));
	if (rc < 0) {
		close(dfd);
		close(xfd);
		s->data_fd = s->idx_fd = -1;
		return rc;
	}
	atomic_store(&s->released, false);
	return 0;
}

/* Retention: unlink the files. Whoever still holds a reference keeps
 * reading through the mappings, made now since the names are going. */
int lfs_segment_unlink(lfs_segment *s)
{
	char name[32];
	int rc = 0;

	/* Retired first: its mappings are never taken down from then on
	 * (maps.c), since its files cannot be mapped again. */
	atomic_store(&s->retired, true);
	if (atomic_load(&s->refs) > 1) {
		rc = lfs_segment_map_data(s);
		if (rc == 0)
			rc = lfs_segment_map_idx(s);
		if (rc < 0) {
			atomic_store(&s->retired, false);
			return rc;
		}
	}
	int dirfd = s->host->dir_enter(s->host->ctx);
	if (dirfd < 0)
		return dirfd;
	lfs_seg_name(s->base, "log", name);
	if (unlinkat(dirfd, name, 0) < 0)
		rc = -errno;
	lfs_seg_name(s->base, "idx", name);
	if (unlinkat(dirfd, name, 0) < 0 && rc == 0)
		rc = -errno;
	s->host->dir_exit(s->host->ctx);
	return rc;
}
/* Rewrites the index header of the (empty) active segment with another
 * framing, in place. The segment object and its files stay: readers that
 * pinned it keep following the topic (they find new segments by base
 * offset, and a replacement would have had the same base), and nothing is
 * unlinked if the write fails. */
int lfs_segment_rewrite_framing(lfs_segment *s, uint32_t framing)
{
	unsigned char hdr[LFS_IDX_HEADER_SIZE];
	struct lfs_idx_header h = {.version = LFS_FORMAT_VERSION,
				   .framing = framing,
				   .base_offset = s->base,
				   .stream_pos = s->stream_pos,
				   .ctime_ns = s->ctime_ns};
	lfs_idx_header_encode(&h, hdr);
	int rc = lfs_pwrite_full(s->idx_fd, hdr, sizeof(hdr), 0);
	if (rc == 0 && fdatasync(s->idx_fd) < 0)
		rc = -errno;
	if (rc == 0)
		s->framing = framing;
	return rc;
}

