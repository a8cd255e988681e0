/*
 * The one cross-segment recovery policy. The recovery scanner (scan.c)
 * judges one segment; what happens to a segment because of the others is
 * decided here, for the daemon's mount (topic.c) and for fsck.logfs
 * (check.c) alike, so that the same bytes on disk always become the same
 * log. Walking a topic's segments in base order, for each one:
 *
 *  - the oldest segment has an index but no data file, and later segments
 *    follow: a deletion (retention, rm) unlinks the data file first and the
 *    index second, and a crash came in between. The user asked for it:
 *    the deletion is finished (the index removed), nothing is reported lost.
 *  - its index header names another base offset than its file name: it is
 *    not this segment, and goes to lost+found.
 *  - it starts before the previous kept segment ends (offsets overlap): it
 *    goes to lost+found.
 *  - the previous kept segment was never sealed and ends short of this
 *    one's base: a crash lost the end of a rolled segment before its seal
 *    was written. A log is a prefix: nothing acknowledged as durable
 *    follows such a loss (a sync writes every pending seal first), so this
 *    segment and every later one go to lost+found, and the next append
 *    takes the first lost offset. A segment that was sealed once and lost
 *    records since (damage, not a crash) keeps what follows.
 *  - otherwise it is kept (loaded or scanned by the caller), and its stream
 *    position must continue where the previous kept segment ends; the
 *    first kept one keeps its header's, or, when its header is lost, ends
 *    where the next segment's header says the stream continues.
 *
 * The actions that lose nothing (finishing a deletion, rewriting a stream
 * position) are safe: fsck -p applies them. Moves to lost+found are not.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void lfs_recover_init(struct lfs_recover *r, const struct lfs_rec_seg *segs, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->segs = segs;
	r->n = n;
}

enum lfs_rec_action lfs_recover_decide(struct lfs_recover *r, size_t i, int hdr_rc,
				       const struct lfs_idx_header *h)
{
	const struct lfs_rec_seg *s = &r->segs[i];
	if (r->after_loss)
		return LFS_REC_AFTER_LOSS;
	if (r->kept == 0 && !s->has_log && s->has_idx && i + 1 < r->n)
		return LFS_REC_FINISH_DELETION;
	if (hdr_rc == 0 && h->base_offset != s->base)
		return LFS_REC_MISNAMED;
	if (r->kept > 0 && s->base < r->next)
		return LFS_REC_OVERLAP;
	if (r->kept > 0 && r->prev_never_sealed && s->base > r->next) {
		r->after_loss = true;
		r->lost_from = r->next;
		return LFS_REC_AFTER_LOSS;
	}
	return LFS_REC_LOAD;
}

bool lfs_recover_safe(enum lfs_rec_action a)
{
	return a == LFS_REC_LOAD || a == LFS_REC_FINISH_DELETION;
}

uint64_t lfs_recover_position(const struct lfs_recover *r, int tfd, size_t i, int hdr_rc,
			      const struct lfs_idx_header *h)
{
	if (r->kept > 0)
		return r->end;
	if (hdr_rc == 0)
		return h->stream_pos;
	/* The first segment lost its header: it ends where the next one
	 * starts (retention may have deleted what came before it). */
	struct lfs_idx_header nh;
	struct stat st;
	char name[32];
	lfs_seg_name(r->segs[i].base, "log", name);
	if (i + 1 < r->n && lfs_idx_header_read(tfd, r->segs[i + 1].base, &nh) == 0 &&
	    nh.base_offset == r->segs[i + 1].base &&
	    fstatat(tfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && nh.stream_pos >= (uint64_t)st.st_size)
		return nh.stream_pos - (uint64_t)st.st_size;
	return 0;
}

void lfs_recover_keep(struct lfs_recover *r, uint64_t stream_pos, uint64_t size,
		      uint64_t next_offset, bool never_sealed)
{
	r->kept++;
	r->next = next_offset;
	r->end = stream_pos + size;
	r->prev_never_sealed = never_sealed;
}

const char *lfs_recover_action_text(enum lfs_rec_action a, bool applied)
{
	switch (a) {
	case LFS_REC_FINISH_DELETION:
		return applied ? "the oldest segment has no data file (a deletion cut short): "
				 "deletion finished"
			       : "the oldest segment has no data file (a deletion cut short): "
				 "its index is to be removed";
	case LFS_REC_MISNAMED:
		return applied ? "its index header names another base offset: segment moved to " LFS_LOST_FOUND
			       : "its index header names another base offset: the segment cannot stay";
	case LFS_REC_OVERLAP:
		return applied ? "its offsets overlap the previous segment's: segment moved to " LFS_LOST_FOUND
			       : "its offsets overlap the previous segment's: the segment cannot stay";
	case LFS_REC_AFTER_LOSS:
		return applied ? "it follows records lost before their segment was sealed: moved to " LFS_LOST_FOUND
			       : "it follows records lost before their segment was sealed: it cannot stay "
				 "in the log";
	case LFS_REC_LOAD:
		break;
	}
	return "kept";
}

int lfs_recover_apply(int voldirfd, int tfd, const char *topic, uint64_t base,
		      enum lfs_rec_action a)
{
	char name[32];
	switch (a) {
	case LFS_REC_FINISH_DELETION:
		lfs_seg_name(base, "idx", name);
		if (unlinkat(tfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		return lfs_fsync_dir(tfd);
	case LFS_REC_MISNAMED:
	case LFS_REC_OVERLAP:
	case LFS_REC_AFTER_LOSS:
		return lfs_lost_found_move_segment(voldirfd, tfd, topic, base);
	case LFS_REC_LOAD:
		break;
	}
	return 0;
}

int lfs_idx_header_read(int tfd, uint64_t base, struct lfs_idx_header *h)
{
	char name[32];
	unsigned char buf[LFS_IDX_HEADER_SIZE];
	lfs_seg_name(base, "idx", name);
	int fd = lfs_open_file(tfd, name, O_RDONLY);
	if (fd < 0)
		return fd;
	int rc = lfs_pread_full(fd, buf, sizeof(buf), 0);
	close(fd);
	if (rc == -ENODATA)
		return -EUCLEAN;
	if (rc < 0)
		return rc;
	return lfs_idx_header_decode(buf, h) < 0 ? -EUCLEAN : 0;
}

int lfs_idx_header_write(int tfd, uint64_t base, const struct lfs_idx_header *h)
{
	char name[32];
	unsigned char buf[LFS_IDX_HEADER_SIZE];
	lfs_seg_name(base, "idx", name);
	int fd = lfs_open_file(tfd, name, O_WRONLY);
	if (fd < 0)
		return fd;
	lfs_idx_header_encode(h, buf);
	int rc = lfs_pwrite_full(fd, buf, sizeof(buf), 0);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}
