/*
 * The reading side of segments: mapping sealed segments on demand (maps.c
 * takes idle ones down again, lfs_segment_unmap), checking their batches
 * (CRC) as they are mapped or opened, and reads of them (guarded against a
 * file cut under its mapping: mapguard.c).
 */
#include "internal.h"
#include "bisect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
	int fd = lfs_segment_open_file(s, "idx", O_RDONLY);
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
		lfs_segment_log(s, true, LFS_LOG_ERR,
				"topic %s: segment %llu changed on disk since it was loaded: run fsck.logfs",
				s->host->name, (unsigned long long)s->base);
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

/* The batch of `count` records at `offset` (count 0: not known), starting
 * at byte `good`, failed its check (s->mu held): reads from there on fail
 * with EIO until fsck.logfs records the batch as a lost range (the daemon
 * does not rewrite a segment it serves: docs/DESIGN.md, "Damage found while
 * serving"). The error is recorded in the volume, so that fsck.logfs checks
 * every record even after a clean unmount; the log names the range. */
static void verify_failed(lfs_segment *s, uint64_t offset, uint32_t count, uint64_t good)
{
	LFS_ASSERT_HELD(&s->mu);
	char range[64];
	if (count)
		snprintf(range, sizeof(range), "offsets %llu..%llu (%u record%s)",
			 (unsigned long long)offset, (unsigned long long)(offset + count - 1),
			 (unsigned)count, count == 1 ? "" : "s");
	else
		snprintf(range, sizeof(range), "offsets from %llu", (unsigned long long)offset);
	lfs_segment_log(s, true, LFS_LOG_ERR,
		"topic %s: segment %llu: batch at offset %llu fails its checksum: %s damaged; "
		"reads from byte %llu of the segment fail with EIO until fsck.logfs -y records "
		"the batch as a lost range",
		s->host->name, (unsigned long long)s->base, (unsigned long long)offset, range,
		(unsigned long long)good);
	s->host->checksum_failed(s->host->ctx);
	/* good_end before verify_pending (see verify_done). */
	atomic_store(&s->good_end, good);
	atomic_store(&s->verify_pending, false);
}

/* Publishes how far the batches of s are known good (s->mu held): all of
 * them once the n entries are checked and none failed. */
static void verify_done(lfs_segment *s, uint64_t n, uint64_t good)
{
	LFS_ASSERT_HELD(&s->mu);
	bool all = s->verify_next == n && atomic_load(&s->verify_pending);
	if (all)
		good = UINT64_MAX;
	/* good_end first, verify_pending second: whoever reads them without
	 * s->mu (lfs_segment_peek, lfs_segment_verify) and finds the check
	 * over then finds its outcome. */
	atomic_store(&s->good_end, good);
	if (all)
		atomic_store(&s->verify_pending, false);
}

static void verify_upto(lfs_segment *s, uint64_t want)
{
	lfs_mutex_lock(&s->mu);
	if (!atomic_load(&s->verify_pending) || map_idx_locked(s) < 0) {
		lfs_mutex_unlock(&s->mu);
		return;
	}
	const unsigned char *d = atomic_load(&s->data);
	uint64_t n = atomic_load(&s->nentries), good = atomic_load(&s->good_end);
	while (s->verify_next < n && good < want) {
		struct lfs_idx_entry e = {0};
		bool decoded = lfs_idx_entry_decode(atomic_load(&s->idx) + LFS_IDX_HEADER_SIZE +
							    s->verify_next * LFS_IDX_ENTRY_SIZE,
						    &e) == 0;
		if (!decoded || e.pos != good || e.pos + e.len > s->data_maplen ||
		    !batch_crc_ok(d + e.pos, e.len, e.crc)) {
			verify_failed(s, e.offset, decoded ? e.count : 0, good);
			break;
		}
		good += e.len;
		s->verify_next++;
	}
	verify_done(s, n, good);
	lfs_mutex_unlock(&s->mu);
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
	lfs_mutex_lock(&s->mu);
	int rc = 0;
	if (!atomic_load(&s->data)) {
		int fd = lfs_segment_open_file(s, "log", O_RDONLY);
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
			lfs_segment_log(s, true, LFS_LOG_ERR,
					"topic %s: segment %llu changed on disk since it was loaded: "
					"run fsck.logfs",
					s->host->name, (unsigned long long)s->base);
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
				lfs_segment_note_data_file(s, &st);
				atomic_store_explicit(&s->data, p, memory_order_release);
				lfs_maps_track(s);
				/* (Mapped again after an unmapping: what was
				 * found bad stays bad.) */
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
				lfs_segment_note_data_file(s, &st);
				atomic_store_explicit(&s->data, p, memory_order_release);
				lfs_maps_track(s);
			}
			close(fd);
		}
	}
	lfs_mutex_unlock(&s->mu);
	s->host->maps_trim(s->host->ctx);
	return rc;
}

int lfs_segment_map_idx(lfs_segment *s)
{
	if (atomic_load_explicit(&s->idx, memory_order_acquire))
		return 0;
	if (atomic_load(&s->released))
		return lfs_topic_wake_active(s);
	lfs_mutex_lock(&s->mu);
	int rc = map_idx_locked(s);
	lfs_mutex_unlock(&s->mu);
	s->host->maps_trim(s->host->ctx);
	return rc;
}

bool lfs_segment_unmap(lfs_segment *s)
{
	LFS_ASSERT_HELD(&s->mu);
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
	lfs_segment_unmap_files(s);
	atomic_store(&s->prefetched, 0);
	atomic_store(&s->evicting, false);
	return true;
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
	/* good was loaded before verify_pending: a check that another
	 * thread (the sweep after a mount, verify-ahead, another reader)
	 * finished in between makes it stale, so it is loaded again before a
	 * refusal; verify_done stores good_end before it clears
	 * verify_pending. */
	if (off + len > good) {
		if (atomic_load(&s->verify_pending))
			verify_upto(s, off + len < size ? off + len : size);
		good = atomic_load(&s->good_end);
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

/* Checking a sealed segment's batches through a descriptor, before it is
 * handed to FUSE passthrough: reading the data file with pread(2) into a
 * small buffer and computing its CRCs there. On this class of machine,
 * faulting a cached segment's pages into a mapping costs several times a
 * pread of them, and a segment handed to passthrough is never mapped at
 * all. The CRC of a buffer in the L2 cache runs at tens of GB/s; the copy
 * out of the page cache is the cost, about that of the reader's own read,
 * and it is bound per CPU: so a large segment is checked by two threads,
 * each over half of its batches (batch CRCs are independent). */
#define VERIFY_CHUNK (256u << 10) /* stays in the L2 cache between read and CRC */
#define VERIFY_SPLIT_MIN (8u << 20) /* below this a thread costs more than it saves */

/* One run of batches [from, to) of s, the first expected at byte pos. */
struct verify_run {
	lfs_segment *s;
	int fd;
	uint64_t from, to, pos;
	uint64_t start; /* pos as given */
	/* Results: the batches [from, next) are good and end at byte pos;
	 * bad: batch `next` fails (bad_count records at offset bad_offset);
	 * rc < 0: the file could not be read, nothing concluded from `next` on. */
	uint64_t next, bad_offset;
	uint32_t bad_count;
	bool bad;
	int rc;
};

static void *verify_run(void *arg)
{
	struct verify_run *v = arg;
	lfs_segment *s = v->s;
	v->next = v->from;
	v->start = v->pos;
	v->bad = false;
	v->rc = 0;
	unsigned char *buf = malloc(VERIFY_CHUNK);
	if (!buf) {
		v->rc = -ENOMEM;
		return NULL;
	}
	const unsigned char *idx = atomic_load(&s->idx) + LFS_IDX_HEADER_SIZE;
	while (v->next < v->to) {
		struct lfs_idx_entry e;
		bool ok = lfs_idx_entry_decode(idx + v->next * LFS_IDX_ENTRY_SIZE, &e) == 0 &&
			  e.pos == v->pos;
		uint32_t crc = 0;
		int rc = 0;
		for (uint64_t done = 0; ok && done < e.len;) {
			size_t k = e.len - done < VERIFY_CHUNK ? (size_t)(e.len - done) : VERIFY_CHUNK;
			rc = lfs_pread_full(v->fd, buf, k, e.pos + done);
			if (rc == -ENODATA) /* the file ends inside the batch */
				rc = 0, ok = false;
			if (rc < 0)
				break;
			crc = lfs_crc32c(crc, buf, k);
			done += k;
		}
		if (rc < 0) {
			v->rc = rc;
			break;
		}
		if (!ok || crc != e.crc) {
			v->bad = true;
			v->bad_offset = e.offset;
			v->bad_count = ok ? e.count : 0;
			break;
		}
		v->pos += e.len;
		v->next++;
	}
	free(buf);
	return NULL;
}

struct pos_key {
	const unsigned char *idx;
	uint64_t at;
	bool bad; /* an entry on the way did not decode */
};

static bool pos_before(uint64_t i, void *ctx)
{
	struct pos_key *k = ctx;
	struct lfs_idx_entry e;
	if (lfs_idx_entry_decode(k->idx + i * LFS_IDX_ENTRY_SIZE, &e) < 0) {
		k->bad = true;
		return false;
	}
	return e.pos < k->at;
}

/* The first batch of [lo, hi) that starts at or after byte `at`, by
 * bisection (positions grow with the index); false when an entry on the
 * way does not decode (the caller then checks in one run, which reports
 * it in order). */
static bool batch_at(const unsigned char *idx, uint64_t lo, uint64_t hi, uint64_t at,
		     uint64_t *out)
{
	struct pos_key k = {idx, at, false};
	*out = lfs_bisect(lo, hi, pos_before, &k);
	return !k.bad;
}

/* Checks the batches from verify_next on through fd (under s->mu), like
 * verify_upto but without the mapping: all of them, or (limit not
 * UINT64_MAX) in one run those that start within `limit` bytes of the good
 * prefix, at least one. Returns 0, or -errno when the file could not be
 * read (nothing is concluded then). */
static int verify_fd_locked(lfs_segment *s, int fd, uint64_t limit)
{
	if (!atomic_load(&s->verify_pending))
		return 0;
	int rc = map_idx_locked(s);
	if (rc < 0)
		return rc;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* advice: speed only */
	uint64_t n = atomic_load(&s->nentries), good = atomic_load(&s->good_end);
	uint64_t size = atomic_load(&s->size);
	const unsigned char *idx = atomic_load(&s->idx) + LFS_IDX_HEADER_SIZE;
	struct verify_run runs[2] = {
		{.s = s, .fd = fd, .from = s->verify_next, .to = n, .pos = good},
		{.s = s, .fd = fd, .to = n},
	};
	int nruns = 1;
	uint64_t mid;
	struct lfs_idx_entry me;
	pthread_t helper;
	if (limit != UINT64_MAX) {
		uint64_t end;
		if (size > good && limit < size - good && batch_at(idx, s->verify_next, n, good + limit, &end) &&
		    end < n)
			runs[0].to = end > s->verify_next ? end : s->verify_next + 1;
	} else if (size > good && size - good >= VERIFY_SPLIT_MIN &&
		   sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
	    batch_at(idx, s->verify_next, n, good + (size - good) / 2, &mid) &&
	    mid > s->verify_next && mid < n &&
	    lfs_idx_entry_decode(idx + mid * LFS_IDX_ENTRY_SIZE, &me) == 0) {
		runs[0].to = mid;
		runs[1].from = mid;
		runs[1].pos = me.pos;
		/* Without a thread, the first run covers every batch:
		 * slower, same result. */
		nruns = pthread_create(&helper, NULL, verify_run, &runs[1]) == 0 ? 2 : 1;
		if (nruns == 1)
			runs[0].to = n;
	}
	verify_run(&runs[0]);
	if (nruns == 2)
		pthread_join(helper, NULL);
	/* The runs in order: the first failure or unreadable batch ends the
	 * good prefix; the second run counts only if the first ended exactly
	 * where the second's first batch starts. */
	for (int i = 0; i < nruns; i++) {
		struct verify_run *v = &runs[i];
		if (i == 1 && good != v->start) {
			verify_failed(s, me.offset, 0, good);
			break;
		}
		s->verify_next = v->next;
		good = v->pos;
		if (v->rc < 0) {
			rc = v->rc;
			break;
		}
		if (v->bad) {
			verify_failed(s, v->bad_offset, v->bad_count, good);
			break;
		}
	}
	verify_done(s, n, good);
	return rc;
}

/* Opens the data file of a sealed segment and checks that it is the file
 * this segment is (the one mapped, if any, else it becomes that one) and of
 * exactly its payload's length; then checks its batches if that is still to
 * be done (all, or about `limit` bytes of them: verify_fd_locked). Returns
 * the descriptor or -errno (-EIO: a batch fails). */
static int open_verified(lfs_segment *s, uint64_t limit)
{
	if (!atomic_load_explicit(&s->sealed, memory_order_acquire))
		return -EINVAL;
	int fd = lfs_segment_open_file(s, "log", O_RDONLY);
	if (fd < 0)
		return read_open_error(fd);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	lfs_mutex_lock(&s->mu);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != atomic_load(&s->size) ||
	    (s->data_ino && ((uint64_t)st.st_dev != s->data_dev || (uint64_t)st.st_ino != s->data_ino)))
		rc = -ESTALE;
	else if (!s->data_ino)
		lfs_segment_note_data_file(s, &st);
	if (rc == 0)
		rc = verify_fd_locked(s, fd, limit);
	if (rc == 0 && atomic_load_explicit(&s->good_end, memory_order_acquire) < atomic_load(&s->size) &&
	    !atomic_load(&s->verify_pending))
		rc = -EIO;
	lfs_mutex_unlock(&s->mu);
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
		int fd = open_verified(s, UINT64_MAX);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	}
	/* The active segment an earlier mount wrote: its file runs past its
	 * data (preallocated), so it is checked through its mapping. */
	if (size == 0)
		return 0;
	lfs_segment_use(s); /* (a seal may come meanwhile, and then an unmapping) */
	int rc = lfs_segment_map_data(s);
	if (rc == 0)
		verify_upto(s, size);
	lfs_segment_unuse(s);
	if (rc < 0)
		return rc;
	return atomic_load_explicit(&s->good_end, memory_order_acquire) >= size ? 0 : -EIO;
}

int lfs_segment_verify_part(lfs_segment *s, uint64_t limit)
{
	if (!atomic_load(&s->verify_pending))
		return atomic_load_explicit(&s->good_end, memory_order_acquire) >=
				       atomic_load_explicit(&s->size, memory_order_acquire)
			       ? 0
			       : -EIO;
	if (!atomic_load_explicit(&s->sealed, memory_order_acquire))
		return -EINVAL;
	int fd = open_verified(s, limit ? limit : 1);
	if (fd < 0)
		return fd;
	close(fd);
	return atomic_load(&s->verify_pending) ? 1 : 0;
}

int lfs_segment_open_data(lfs_segment *s)
{
	return open_verified(s, UINT64_MAX);
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

