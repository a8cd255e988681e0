/*
 * Loading segments: sealed ones from their files or from the summary of a
 * clean close, rolled ones known from a scan, and the active one reopened
 * for appending.
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
	lfs_segment *s = lfs_segment_new(t, &t->seg_host, base);
	int fd, rc;

	if (!s)
		return -ENOMEM;
	fd = lfs_segment_open_file(s, "idx", O_RDONLY);
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
	lfs_segment *s = lfs_segment_new(t, &t->seg_host, e->base);
	if (s)
		set_sealed_state(s, e);
	return s;
}

int lfs_segment_load_scanned(lfs_topic *t, uint64_t base, const struct lfs_scan_result *r,
			     lfs_segment **out)
{
	struct lfs_idx_header h;
	lfs_segment *s = lfs_segment_new(t, &t->seg_host, base);
	int fd, rc;

	if (!s)
		return -ENOMEM;
	fd = lfs_segment_open_file(s, "idx", O_RDONLY);
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
	lfs_segment *s = lfs_segment_new(t, &t->seg_host, base);
	int rc;

	if (!s)
		return -ENOMEM;
	int mode = t->vol->readonly ? O_RDONLY : O_RDWR;
	rc = lfs_segment_open_file(s, "idx", mode);
	if (rc < 0)
		goto fail;
	s->idx_fd = rc;
	rc = lfs_segment_open_file(s, "log", mode);
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
	lfs_segment_note_data_file(s, &st);
	rc = lfs_segment_map_active(s, lfs_topic_segment_size(t));
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
		    (e.type != LFS_ENTRY_BATCH && e.type != LFS_ENTRY_LOST) || e.offset != next ||
		    e.pos != pos ||
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
