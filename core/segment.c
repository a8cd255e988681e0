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
 * Sealed segments are mapped read-only on first use; the mapping lives as
 * long as the segment object, which is reference counted, so a reader keeps
 * a segment that retention unlinked readable until it lets go.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A sealed segment's file can be cut behind the daemon's back (another
 * process, a damaged disk) after it was mapped: touching a page past the
 * new end raises SIGBUS. The daemon's own reads of mappings run under
 * lfs_mapped_access, which turns that SIGBUS into -EIO for the one read
 * (a reply the kernel copies from such a mapping fails inside the kernel,
 * which ends that request with EIO itself: mount_untrusted.sh reads both
 * ways). */
static _Thread_local sigjmp_buf *bus_env;
static struct sigaction bus_prev;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	if (bus_env)
		siglongjmp(*bus_env, 1);
	/* Not a guarded access: back to what the process had, and the
	 * faulting instruction faults again under it. */
	sigaction(SIGBUS, &bus_prev, NULL);
}

static void bus_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &bus_prev);
}

int lfs_mapped_access(void (*fn)(void *), void *arg)
{
	sigjmp_buf env;
	pthread_once(&bus_once, bus_install);
	if (sigsetjmp(env, 0)) {
		bus_env = NULL;
		return -EIO;
	}
	bus_env = &env;
	fn(arg);
	bus_env = NULL;
	return 0;
}

struct crc_job {
	const unsigned char *p;
	size_t len;
	uint32_t crc;
};

static void crc_job_run(void *arg)
{
	struct crc_job *j = arg;
	j->crc = lfs_crc32c(0, j->p, j->len);
}

struct copy_job {
	void *dst;
	const void *src;
	size_t len;
};

static void copy_job_run(void *arg)
{
	struct copy_job *j = arg;
	memcpy(j->dst, j->src, j->len);
}

static size_t page_round(uint64_t n)
{
	long ps = sysconf(_SC_PAGESIZE);
	return (size_t)((n + (uint64_t)ps - 1) & ~((uint64_t)ps - 1));
}

lfs_segment *lfs_segment_new(lfs_topic *t, uint64_t base)
{
	lfs_segment *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->topic = t;
	s->base = base;
	s->data_fd = -1;
	s->idx_fd = -1;
	atomic_init(&s->next_offset, base);
	atomic_init(&s->good_end, UINT64_MAX);
	pthread_mutex_init(&s->mu, NULL);
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
	lfs_maps_forget(s);
	unsigned char *d = atomic_load(&s->data), *x = atomic_load(&s->idx);
	if (d)
		munmap(d, s->data_maplen);
	if (x)
		munmap(x, s->idx_maplen);
	if (s->data_fd >= 0)
		close(s->data_fd);
	if (s->idx_fd >= 0)
		close(s->idx_fd);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

bool lfs_segment_unmap(lfs_segment *s)
{
	/* The active segment, a rolled one whose seal is still being written
	 * (its descriptors open), one whose files retention removed: kept. */
	if (!atomic_load(&s->sealed) || s->data_fd >= 0 || atomic_load(&s->retired) ||
	    atomic_load(&s->uses))
		return false;
	atomic_store(&s->evicting, true);
	if (atomic_load(&s->uses)) {
		atomic_store(&s->evicting, false);
		return false;
	}
	unsigned char *d = atomic_load(&s->data), *x = atomic_load(&s->idx);
	atomic_store(&s->data, NULL);
	atomic_store(&s->idx, NULL);
	if (d)
		munmap(d, s->data_maplen);
	if (x)
		munmap(x, s->idx_maplen);
	atomic_store(&s->prefetched, 0);
	atomic_store(&s->evicting, false);
	return true;
}

static void note_data_file(lfs_segment *s, const struct stat *st)
{
	s->data_dev = (uint64_t)st->st_dev;
	s->data_ino = (uint64_t)st->st_ino;
}

/* Opens one of the segment's files (O_TRUNC: a new one, replacing whatever
 * had its name); a file that is not one (SPEC "Security") is refused and
 * logged. */
static int open_seg_file(lfs_segment *s, const char *ext, int flags)
{
	char name[32];
	lfs_seg_name(s->base, ext, name);
	int fd = lfs_topic_files_enter(s->topic);
	if (fd < 0)
		return fd;
	fd = (flags & O_TRUNC) ? lfs_create_file(s->topic->dirfd, name, flags & ~(O_CREAT | O_TRUNC))
			       : lfs_open_file(s->topic->dirfd, name, flags);
	lfs_topic_files_exit(s->topic);
	if (fd < 0 && lfs_refusal(fd))
		lfs_log(s->topic->vol, LFS_LOG_ERR, "topic %s: %s %s: not opened", s->topic->name, name,
			lfs_refusal(fd));
	return fd;
}

void lfs_segment_read_entry(lfs_segment *s, uint64_t i, struct lfs_idx_entry *e)
{
	const unsigned char *p = atomic_load_explicit(&s->idx, memory_order_acquire) +
				 LFS_IDX_HEADER_SIZE + i * LFS_IDX_ENTRY_SIZE;
	/* Committed entries were verified when written or loaded: decode the
	 * fields without re-checking the CRC on the read path. */
	lfs_idx_entry_fields(p, e);
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

static int map_active(lfs_segment *s, uint64_t segment_size)
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
	int prot = s->topic->vol->readonly ? PROT_READ : PROT_READ | PROT_WRITE;
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

static uint64_t topic_segment_size(lfs_topic *t)
{
	struct lfs_settings st;
	lfs_topic_settings(t, &st);
	return st.segment_size;
}

int lfs_segment_create_active(lfs_topic *t, uint64_t base, uint64_t stream_pos, uint32_t framing,
			      lfs_segment **out)
{
	unsigned char hdr[LFS_IDX_HEADER_SIZE];
	int rc;
	lfs_segment *s = lfs_segment_new(t, base);

	if (!s)
		return -ENOMEM;
	s->stream_pos = stream_pos;
	s->framing = framing;
	s->ctime_ns = lfs_volume_now(t->vol);
	rc = open_seg_file(s, "log", O_RDWR | O_CREAT | O_TRUNC);
	if (rc < 0)
		goto fail;
	s->data_fd = rc;
	rc = open_seg_file(s, "idx", O_RDWR | O_CREAT | O_TRUNC);
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
	note_data_file(s, &st);
	rc = map_active(s, topic_segment_size(t));
	if (rc < 0)
		goto fail;
	/* The new files must survive a power cut before anything that depends
	 * on them is acknowledged. */
	if (fdatasync(s->idx_fd) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = lfs_topic_files_enter(t);
	if (rc < 0)
		goto fail;
	rc = lfs_fsync_dir(t->dirfd);
	lfs_topic_files_exit(t);
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	if (lfs_topic_files_enter(t) == 0) {
		char name[32];
		lfs_seg_name(base, "log", name);
		unlinkat(t->dirfd, name, 0);
		lfs_seg_name(base, "idx", name);
		unlinkat(t->dirfd, name, 0);
		lfs_topic_files_exit(t);
	}
	lfs_segment_put(s);
	return rc;
}

static int read_header(int idx_fd, struct lfs_idx_header *h)
{
	unsigned char buf[LFS_IDX_HEADER_SIZE];
	int rc = lfs_pread_full(idx_fd, buf, sizeof(buf), 0);
	if (rc < 0)
		return rc == -ENODATA ? -EUCLEAN : rc;
	return lfs_idx_header_decode(buf, h);
}

/* Reads the summary of a sealed segment from its header, first entry and
 * seal (three small reads, no scan): -EUCLEAN when there is no valid seal. */
/* A sealed segment loaded from disk: trusted by its seal (or the summary
 * of a clean close), its batches CRC-checked as reads first reach them. */
static void set_sealed_state(lfs_segment *s, const struct lfs_sum_seg *e)
{
	s->stream_pos = e->stream_pos;
	s->framing = e->framing;
	s->ctime_ns = e->ctime_ns;
	s->first_ts = e->first_ts;
	atomic_store(&s->size, e->size);
	atomic_store(&s->next_offset, e->next_offset);
	atomic_store(&s->nentries, e->nentries);
	atomic_store(&s->last_ts, e->last_ts);
	atomic_store(&s->sealed, true);
	atomic_store(&s->good_end, 0);
	atomic_store(&s->verify_pending, true);
}

int lfs_segment_load_sealed(lfs_topic *t, uint64_t base, lfs_segment **out)
{
	struct lfs_idx_header h;
	struct lfs_idx_entry seal, first;
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	struct stat st;
	lfs_segment *s = lfs_segment_new(t, base);
	int fd, rc;

	if (!s)
		return -ENOMEM;
	fd = open_seg_file(s, "idx", O_RDONLY);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = read_header(fd, &h);
	if (rc < 0)
		goto out;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	uint64_t isz = (uint64_t)st.st_size;
	if (h.base_offset != base || isz < LFS_IDX_HEADER_SIZE + LFS_IDX_ENTRY_SIZE ||
	    (isz - LFS_IDX_HEADER_SIZE) % LFS_IDX_ENTRY_SIZE) {
		rc = -EUCLEAN;
		goto out;
	}
	rc = lfs_pread_full(fd, buf, sizeof(buf), isz - LFS_IDX_ENTRY_SIZE);
	if (rc < 0 || (rc = lfs_idx_entry_decode(buf, &seal)) < 0)
		goto out;
	uint64_t n = (isz - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE - 1;
	if (seal.type != LFS_ENTRY_SEAL || seal.count != n) {
		rc = -EUCLEAN;
		goto out;
	}
	first.ts = seal.ts;
	if (n > 0) {
		rc = lfs_pread_full(fd, buf, sizeof(buf), LFS_IDX_HEADER_SIZE);
		if (rc < 0 || (rc = lfs_idx_entry_decode(buf, &first)) < 0)
			goto out;
	}
	struct lfs_sum_seg e = {.base = base,
				.stream_pos = h.stream_pos,
				.size = seal.pos,
				.next_offset = seal.offset,
				.nentries = n,
				.first_ts = n ? first.ts : 0,
				.last_ts = n ? seal.ts : 0,
				.ctime_ns = h.ctime_ns,
				.framing = h.framing};
	set_sealed_state(s, &e);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		lfs_segment_put(s);
		return rc;
	}
	*out = s;
	return 0;
}

lfs_segment *lfs_segment_from_summary(lfs_topic *t, const struct lfs_sum_seg *e)
{
	lfs_segment *s = lfs_segment_new(t, e->base);
	if (s)
		set_sealed_state(s, e);
	return s;
}

int lfs_segment_load_scanned(lfs_topic *t, uint64_t base, const struct lfs_scan_result *r,
			     lfs_segment **out)
{
	struct lfs_idx_header h;
	lfs_segment *s = lfs_segment_new(t, base);
	int fd, rc;

	if (!s)
		return -ENOMEM;
	fd = open_seg_file(s, "idx", O_RDONLY);
	rc = fd < 0 ? fd : read_header(fd, &h);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		lfs_segment_put(s);
		return rc;
	}
	s->stream_pos = h.stream_pos;
	s->framing = h.framing;
	s->ctime_ns = h.ctime_ns;
	s->first_ts = r->first_timestamp;
	atomic_store(&s->size, r->valid_bytes);
	atomic_store(&s->next_offset, r->next_offset);
	atomic_store(&s->nentries, r->entries);
	atomic_store(&s->last_ts, r->last_timestamp);
	atomic_store(&s->sealed, true); /* scanned with payload CRCs */
	*out = s;
	return 0;
}

/* Opens the last segment of a topic for appending. Its state comes from the
 * recovery scanner, which the caller ran (and repaired with) beforehand when
 * the volume was not cleanly unmounted; here the index is trusted. A
 * read-only open cannot repair: it passes the scan's result, and the
 * segment ends where recovery would cut it. */
int lfs_segment_load_active(lfs_topic *t, uint64_t base, const struct lfs_scan_result *scan,
			    lfs_segment **out)
{
	struct lfs_idx_header h;
	struct stat st;
	lfs_segment *s = lfs_segment_new(t, base);
	int rc;

	if (!s)
		return -ENOMEM;
	int mode = t->vol->readonly ? O_RDONLY : O_RDWR;
	rc = open_seg_file(s, "idx", mode);
	if (rc < 0)
		goto fail;
	s->idx_fd = rc;
	rc = open_seg_file(s, "log", mode);
	if (rc < 0)
		goto fail;
	s->data_fd = rc;
	rc = read_header(s->idx_fd, &h);
	if (rc < 0)
		goto fail;
	if (h.base_offset != base) {
		rc = -EUCLEAN;
		goto fail;
	}
	s->stream_pos = h.stream_pos;
	s->framing = h.framing;
	s->ctime_ns = h.ctime_ns;
	if (fstat(s->idx_fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	s->idx_alloc = (uint64_t)st.st_size;
	if (fstat(s->data_fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	s->data_alloc = (uint64_t)st.st_size;
	note_data_file(s, &st);
	rc = map_active(s, topic_segment_size(t));
	if (rc < 0)
		goto fail;

	/* Count entries up to the first one that does not decode (the
	 * preallocated zero tail). */
	uint64_t n = 0, next = base, pos = 0, last_ts = 0, first_ts = 0;
	const unsigned char *x = atomic_load(&s->idx);
	uint64_t max = (s->idx_alloc - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE;
	for (; n < max; n++) {
		struct lfs_idx_entry e;
		if (lfs_idx_entry_decode(x + LFS_IDX_HEADER_SIZE + n * LFS_IDX_ENTRY_SIZE, &e) < 0 ||
		    e.type != LFS_ENTRY_BATCH || e.offset != next || e.pos != pos ||
		    pos + e.len > s->data_alloc)
			break;
		if (n == 0)
			first_ts = e.ts;
		next += e.count;
		pos += e.len;
		last_ts = e.ts;
	}
	if (n > LFS_IDX_MAX_ENTRIES) {
		rc = -EUCLEAN;
		goto fail;
	}
	/* The scan checked payloads and stops at the first bad batch. (It may
	 * also mend an entry in memory; the files keep the damaged one, so
	 * the shorter of the two is what can be served.) */
	if (scan && scan->entries < n) {
		n = scan->entries;
		next = scan->next_offset;
		pos = scan->valid_bytes;
		last_ts = scan->last_timestamp;
		first_ts = scan->first_timestamp;
	}
	s->first_ts = first_ts;
	atomic_store(&s->nentries, n);
	atomic_store(&s->next_offset, next);
	atomic_store(&s->size, pos);
	atomic_store(&s->last_ts, last_ts);
	/* What an earlier mount wrote is checked like a sealed segment's
	 * batches before it is served: a clean unmount vouches for no byte
	 * the disk changed since. What this mount appends is trusted. */
	if (n > 0 && !scan) {
		atomic_store(&s->good_end, 0);
		atomic_store(&s->verify_pending, true);
	}
	*out = s;
	return 0;
fail:
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
	pthread_mutex_lock(&s->mu);
	close(s->data_fd);
	close(s->idx_fd);
	s->data_fd = s->idx_fd = -1;
	/* Its mappings (the active ones) may come down from now on. */
	lfs_maps_track(s);
	pthread_mutex_unlock(&s->mu);
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

static int read_open_error(int rc);

/* An idle topic's active segment gives back its descriptors and mappings
 * (files.c decides when: nothing pins it, under append_mu and segs_lock
 * held for writing): its files are cut to their exact length and made
 * durable, as at a clean unmount. */
int lfs_segment_release_active(lfs_segment *s)
{
	if (atomic_load(&s->released) || s->data_fd < 0)
		return 0;
	int rc = lfs_segment_close_active(s);
	if (rc < 0)
		return rc;
	unsigned char *d = atomic_load(&s->data), *x = atomic_load(&s->idx);
	atomic_store(&s->data, NULL);
	atomic_store(&s->idx, NULL);
	if (d)
		munmap(d, s->data_maplen);
	if (x)
		munmap(x, s->idx_maplen);
	pthread_mutex_lock(&s->mu); /* a group commit leader syncs under it */
	close(s->data_fd);
	close(s->idx_fd);
	s->data_fd = s->idx_fd = -1;
	pthread_mutex_unlock(&s->mu);
	atomic_store(&s->released, true);
	return 0;
}

/* Takes them again (append_mu held): the same files, at least as long as
 * what was committed. */
int lfs_segment_reopen_active(lfs_segment *s)
{
	if (!atomic_load(&s->released))
		return 0;
	int mode = s->topic->vol->readonly ? O_RDONLY : O_RDWR;
	int dfd = open_seg_file(s, "log", mode);
	if (dfd < 0)
		return read_open_error(dfd);
	int xfd = open_seg_file(s, "idx", mode);
	if (xfd < 0) {
		close(dfd);
		return read_open_error(xfd);
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
		lfs_log(s->topic->vol, LFS_LOG_ERR,
			"topic %s: segment %llu changed on disk since it was loaded: run fsck.logfs",
			s->topic->name, (unsigned long long)s->base);
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
	rc = map_active(s, topic_segment_size(s->topic));
	if (rc < 0) {
		close(dfd);
		close(xfd);
		s->data_fd = s->idx_fd = -1;
		return rc;
	}
	atomic_store(&s->released, false);
	return 0;
}

/* Whether a sealed segment's index (mapped at map, len bytes) says what
 * was loaded of it: its seal agrees, and the entries the seal vouches for
 * are the ones it sealed (their CRC). Reads trust the entries' fields from
 * then on (lfs_segment_read_entry), so a flipped byte in one must be found
 * here: one pass over the index, small beside the data. */
static bool seal_agrees(lfs_segment *s, const unsigned char *map, size_t len, uint64_t n)
{
	struct lfs_idx_entry e;
	struct crc_job j = {map + LFS_IDX_HEADER_SIZE, (size_t)n * LFS_IDX_ENTRY_SIZE, 0};
	return lfs_idx_entry_decode(map + len - LFS_IDX_ENTRY_SIZE, &e) == 0 &&
	       e.type == LFS_ENTRY_SEAL && e.count == n && e.offset == atomic_load(&s->next_offset) &&
	       e.pos == atomic_load(&s->size) && lfs_mapped_access(crc_job_run, &j) == 0 &&
	       j.crc == e.crc;
}

/* A file a read needs that is now refused (open_seg_file logged why) is
 * damage made since the mount: the read fails with EIO, like any. */
static int read_open_error(int rc)
{
	return lfs_refusal(rc) ? -EIO : rc;
}

static int map_idx_locked(lfs_segment *s)
{
	if (atomic_load(&s->idx))
		return 0;
	int fd = open_seg_file(s, "idx", O_RDONLY);
	if (fd < 0)
		return read_open_error(fd);
	int rc = 0;
	uint64_t n = atomic_load(&s->nentries);
	size_t len = LFS_IDX_HEADER_SIZE + (n + 1) * LFS_IDX_ENTRY_SIZE;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	void *p = (uint64_t)st.st_size == len ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : NULL;
	if (p == MAP_FAILED) {
		rc = -errno;
	} else if (!p || !seal_agrees(s, p, len, n)) {
		/* What was loaded (the seal at mount, or the summary of the
		 * last clean close) no longer describes the files: changed
		 * behind the daemon's back. Serving it could show wrong
		 * bytes; fsck.logfs repairs it. Mapping past the end of a
		 * shorter file would fault (SIGBUS). */
		if (p)
			munmap(p, len);
		lfs_log(s->topic->vol, LFS_LOG_ERR,
			"topic %s: segment %llu changed on disk since it was loaded: run fsck.logfs",
			s->topic->name, (unsigned long long)s->base);
		rc = -EIO;
	} else {
		s->idx_maplen = len;
		atomic_store_explicit(&s->idx, p, memory_order_release);
		lfs_maps_track(s);
	}
	close(fd);
	return rc;
}

/* Asks the kernel to read a sealed segment's data ahead of the reads (and
 * checks): through the mapping, a cold segment would otherwise be read a
 * fault, a few pages, at a time. Asked again once reads come within half
 * the distance; advice only, so a failure changes nothing but speed. */
#define READAHEAD (8u << 20)
static void read_ahead(lfs_segment *s, uint64_t upto, uint64_t size)
{
	uint64_t have = atomic_load_explicit(&s->prefetched, memory_order_relaxed);
	if (upto + READAHEAD / 2 <= have || have >= size)
		return;
	uint64_t want = upto + READAHEAD < size ? upto + READAHEAD : size;
	if (!atomic_compare_exchange_strong(&s->prefetched, &have, want))
		return; /* another reader asked */
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t from = have & ~((uint64_t)ps - 1);
	(void)madvise((void *)(atomic_load(&s->data) + from), want - from, MADV_WILLNEED);
}

/* Checks the batches of a segment loaded from disk (sealed, or the active
 * one an earlier mount wrote) against their CRCs, in order, until the good
 * prefix covers `want` bytes (or a batch fails). A seal vouches for what
 * was written; this catches what the disk changed since. Once every batch
 * is checked, good_end becomes UINT64_MAX: an active segment's later
 * batches are this process's own appends. Checking as reads arrive keeps a first read to one pass
 * over the data, and asking the kernel to read ahead of the check makes a
 * cold segment stream at disk speed rather than fault page by page. */
/* A batch's bytes against its CRC; false too when they cannot be read (the
 * file was cut under the mapping). */
static bool batch_crc_ok(const unsigned char *p, size_t len, uint32_t crc)
{
	struct crc_job j = {p, len, 0};
	return lfs_mapped_access(crc_job_run, &j) == 0 && j.crc == crc;
}

/* The batch at `offset`, starting at byte `good`, failed its check (s->mu
 * held): reads from there on fail with EIO, and the volume stays marked
 * dirty at unmount, so that the next mount and fsck.logfs check it in full. */
static void verify_failed(lfs_segment *s, uint64_t offset, uint64_t good)
{
	lfs_log(s->topic->vol, LFS_LOG_ERR,
		"topic %s: segment %llu: batch at offset %llu fails its checksum: "
		"reads from byte %llu fail with EIO (run fsck.logfs)",
		s->topic->name, (unsigned long long)s->base, (unsigned long long)offset,
		(unsigned long long)good);
	atomic_store(&s->topic->vol->checksum_errors, true);
	atomic_store(&s->verify_pending, false);
}

/* Publishes how far the batches of s are known good (s->mu held): all of
 * them once the n entries are checked and none failed. */
static void verify_done(lfs_segment *s, uint64_t n, uint64_t good)
{
	if (s->verify_next == n && atomic_load(&s->verify_pending)) {
		good = UINT64_MAX;
		atomic_store(&s->verify_pending, false);
	}
	atomic_store_explicit(&s->good_end, good, memory_order_release);
}

static void verify_upto(lfs_segment *s, uint64_t want)
{
	pthread_mutex_lock(&s->mu);
	if (!atomic_load(&s->verify_pending) || map_idx_locked(s) < 0) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	const unsigned char *d = atomic_load(&s->data);
	uint64_t n = atomic_load(&s->nentries), good = atomic_load(&s->good_end);
	while (s->verify_next < n && good < want) {
		struct lfs_idx_entry e;
		if (lfs_idx_entry_decode(atomic_load(&s->idx) + LFS_IDX_HEADER_SIZE +
						 s->verify_next * LFS_IDX_ENTRY_SIZE,
					 &e) < 0 ||
		    e.pos != good || e.pos + e.len > s->data_maplen ||
		    !batch_crc_ok(d + e.pos, e.len, e.crc)) {
			verify_failed(s, e.offset, good);
			break;
		}
		good += e.len;
		s->verify_next++;
	}
	verify_done(s, n, good);
	pthread_mutex_unlock(&s->mu);
}

int lfs_segment_map_data(lfs_segment *s)
{
	if (atomic_load_explicit(&s->data, memory_order_acquire))
		return 0;
	if (atomic_load(&s->released))
		return lfs_topic_wake_active(s);
	uint64_t size = atomic_load(&s->size);
	if (size == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	int rc = 0;
	if (!atomic_load(&s->data)) {
		int fd = open_seg_file(s, "log", O_RDONLY);
		struct stat st;
		if (fd < 0) {
			rc = read_open_error(fd);
		} else if (fstat(fd, &st) < 0) {
			rc = -errno;
			close(fd);
		} else if (s->data_ino && ((uint64_t)st.st_dev != s->data_dev ||
					   (uint64_t)st.st_ino != s->data_ino)) {
			/* Not the file that was checked (replaced behind the
			 * daemon's back since): fsck.logfs repairs it. */
			lfs_log(s->topic->vol, LFS_LOG_ERR,
				"topic %s: segment %llu changed on disk since it was loaded: run fsck.logfs",
				s->topic->name, (unsigned long long)s->base);
			rc = -EIO;
			close(fd);
		} else if ((uint64_t)st.st_size < size) {
			/* The file is shorter than its seal says (cut behind
			 * our back): mapping past its end would make reads
			 * there fault (SIGBUS). Map what is there; the batches
			 * it does not hold whole are not good. */
			uint64_t len = (uint64_t)st.st_size;
			void *p = len ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : NULL;
			if (p == MAP_FAILED) {
				rc = -errno;
			} else if (!p) {
				atomic_store(&s->good_end, 0); /* nothing to map */
			} else {
				s->data_maplen = len;
				note_data_file(s, &st);
				atomic_store_explicit(&s->data, p, memory_order_release);
				lfs_maps_track(s);
				if (!atomic_load(&s->verify_pending) &&
				    atomic_load(&s->good_end) > len)
					atomic_store(&s->good_end, len);
			}
			close(fd);
		} else {
			void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED) {
				rc = -errno;
			} else {
				s->data_maplen = size;
				note_data_file(s, &st);
				atomic_store_explicit(&s->data, p, memory_order_release);
				lfs_maps_track(s);
			}
			close(fd);
		}
	}
	pthread_mutex_unlock(&s->mu);
	lfs_volume_maps_trim(s->topic->vol);
	return rc;
}

int lfs_segment_map_idx(lfs_segment *s)
{
	if (atomic_load_explicit(&s->idx, memory_order_acquire))
		return 0;
	if (atomic_load(&s->released))
		return lfs_topic_wake_active(s);
	pthread_mutex_lock(&s->mu);
	int rc = map_idx_locked(s);
	pthread_mutex_unlock(&s->mu);
	lfs_volume_maps_trim(s->topic->vol);
	return rc;
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
	rc = lfs_topic_files_enter(s->topic);
	if (rc < 0)
		return rc;
	lfs_seg_name(s->base, "log", name);
	if (unlinkat(s->topic->dirfd, name, 0) < 0)
		rc = -errno;
	lfs_seg_name(s->base, "idx", name);
	if (unlinkat(s->topic->dirfd, name, 0) < 0 && rc == 0)
		rc = -errno;
	lfs_topic_files_exit(s->topic);
	return rc;
}

uint64_t lfs_segment_find_offset(lfs_segment *s, uint64_t offset)
{
	uint64_t lo = 0, hi = atomic_load_explicit(&s->nentries, memory_order_acquire);
	/* Last entry whose first offset is <= offset. */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct lfs_idx_entry e;
		lfs_segment_read_entry(s, mid, &e);
		if (e.offset <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

uint64_t lfs_segment_find_time(lfs_segment *s, uint64_t ts)
{
	uint64_t lo = 0, hi = atomic_load_explicit(&s->nentries, memory_order_acquire);
	/* First entry with timestamp >= ts; timestamps never decrease. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct lfs_idx_entry e;
		lfs_segment_read_entry(s, mid, &e);
		if (e.ts < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
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

ssize_t lfs_segment_peek(lfs_segment *s, uint64_t off, size_t len, const void **ptr)
{
	uint64_t size = atomic_load_explicit(&s->size, memory_order_acquire);
	if (off >= size)
		return 0;
	int rc = lfs_segment_map_data(s);
	if (rc < 0)
		return rc;
	uint64_t good = atomic_load_explicit(&s->good_end, memory_order_acquire);
	if (atomic_load_explicit(&s->sealed, memory_order_relaxed) && s->data_maplen >= size)
		read_ahead(s, off + len < size ? off + len : size, size);
	if (off + len > good && atomic_load(&s->verify_pending)) {
		verify_upto(s, off + len < size ? off + len : size);
		good = atomic_load_explicit(&s->good_end, memory_order_acquire);
	}
	if (off >= good)
		return -EIO;
	if (size > good)
		size = good;
	if (len > size - off)
		len = (size_t)(size - off);
	*ptr = atomic_load_explicit(&s->data, memory_order_acquire) + off;
	return (ssize_t)len;
}

/* Checks the batches from verify_next on, in order, reading them from the
 * data file through fd (under s->mu), like verify_upto but for all of them
 * and without the mapping: on this class of machine, faulting a cached
 * segment's pages into a mapping costs several times a pread(2) of them,
 * and a segment handed to passthrough is never mapped at all. Returns 0,
 * or -errno when the file could not be read (nothing is concluded then). */
#define VERIFY_CHUNK (256u << 10) /* stays in the L2 cache between read and CRC */
static int verify_fd_locked(lfs_segment *s, int fd)
{
	if (!atomic_load(&s->verify_pending))
		return 0;
	int rc = map_idx_locked(s);
	if (rc < 0)
		return rc;
	unsigned char *buf = malloc(VERIFY_CHUNK);
	if (!buf)
		return -ENOMEM;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* advice: speed only */
	uint64_t n = atomic_load(&s->nentries), good = atomic_load(&s->good_end);
	while (rc == 0 && s->verify_next < n) {
		struct lfs_idx_entry e;
		bool ok = lfs_idx_entry_decode(atomic_load(&s->idx) + LFS_IDX_HEADER_SIZE +
						       s->verify_next * LFS_IDX_ENTRY_SIZE,
					       &e) == 0 &&
			  e.pos == good;
		uint32_t crc = 0;
		for (uint64_t done = 0; ok && done < e.len;) {
			size_t k = e.len - done < VERIFY_CHUNK ? (size_t)(e.len - done) : VERIFY_CHUNK;
			rc = lfs_pread_full(fd, buf, k, e.pos + done);
			if (rc == -ENODATA) /* the file ends inside the batch */
				rc = 0, ok = false;
			if (rc < 0)
				break;
			crc = lfs_crc32c(crc, buf, k);
			done += k;
		}
		if (rc < 0)
			break;
		if (!ok || crc != e.crc) {
			verify_failed(s, e.offset, good);
			break;
		}
		good += e.len;
		s->verify_next++;
	}
	verify_done(s, n, good);
	free(buf);
	return rc;
}

/* Opens the data file of a sealed segment and checks that it is the file
 * this segment is (the one mapped, if any, else it becomes that one) and of
 * exactly its payload's length; then checks its batches if that is still to
 * be done. Returns the descriptor or -errno (-EIO: a batch fails). */
static int open_verified(lfs_segment *s)
{
	if (!atomic_load_explicit(&s->sealed, memory_order_acquire))
		return -EINVAL;
	int fd = open_seg_file(s, "log", O_RDONLY);
	if (fd < 0)
		return read_open_error(fd);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	pthread_mutex_lock(&s->mu);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != atomic_load(&s->size) ||
	    (s->data_ino && ((uint64_t)st.st_dev != s->data_dev || (uint64_t)st.st_ino != s->data_ino)))
		rc = -ESTALE;
	else if (!s->data_ino)
		note_data_file(s, &st);
	if (rc == 0)
		rc = verify_fd_locked(s, fd);
	if (rc == 0 && atomic_load_explicit(&s->good_end, memory_order_acquire) < atomic_load(&s->size))
		rc = -EIO;
	pthread_mutex_unlock(&s->mu);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int lfs_segment_verify(lfs_segment *s)
{
	uint64_t size = atomic_load_explicit(&s->size, memory_order_acquire);
	if (!atomic_load(&s->verify_pending))
		return atomic_load_explicit(&s->good_end, memory_order_acquire) >= size ? 0 : -EIO;
	if (atomic_load_explicit(&s->sealed, memory_order_acquire)) {
		int fd = open_verified(s);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	}
	/* The active segment an earlier mount wrote: its file runs past its
	 * data (preallocated), so it is checked through its mapping. */
	if (size == 0)
		return 0;
	int rc = lfs_segment_map_data(s);
	if (rc < 0)
		return rc;
	verify_upto(s, size);
	return atomic_load_explicit(&s->good_end, memory_order_acquire) >= size ? 0 : -EIO;
}

int lfs_segment_open_data(lfs_segment *s)
{
	return open_verified(s);
}

ssize_t lfs_segment_read(lfs_segment *s, void *buf, size_t len, uint64_t off)
{
	const void *p;
	lfs_segment_use(s);
	ssize_t n = lfs_segment_peek(s, off, len, &p);
	struct copy_job j = {buf, p, (size_t)(n > 0 ? n : 0)};
	if (n > 0 && lfs_mapped_access(copy_job_run, &j) < 0)
		n = -EIO;
	lfs_segment_unuse(s);
	return n;
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
