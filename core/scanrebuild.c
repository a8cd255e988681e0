/*
 * The recovery scanner's rebuilding (scan.c describes the scanner): index
 * entries from line-framed data, a header from the entries, the index
 * written again, and a segment rewritten without its lost batches.
 */
#include "scanint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


/* Appends batches of complete lines from data position `pos` up to the
 * last newline, all with timestamp ts. Returns the records added. */
int lfs_sc_rebuild_lines(struct scan *sc, uint64_t pos, uint64_t ts, uint64_t *records)
{
	const char *d = (const char *)sc->data;
	/* Fix (reliability_powercut.sh, harsh copies): stop before the first
	 * whole page of zeros. After a power cut a page of the data file that
	 * never reached the disk reads as zeros; without an index nothing else
	 * tells it from records, and the rebuild served the zeros, joined with
	 * the lines around them, as records. Log data does not hold an aligned
	 * 4 KiB of NUL bytes in practice: the rest is cut instead. */
	uint64_t limit = lfs_sc_first_zero_page(sc, pos);
	const char *last = limit > pos ? memrchr(d + pos, '\n', limit - pos) : NULL;
	uint64_t end = last ? (uint64_t)(last - d) + 1 : pos;
	*records = 0;
	lfs_sc_mark_rewrite(sc, sc->n);
	while (pos < end) {
		uint64_t len = end - pos;
		if (len > REBUILD_BATCH) {
			const char *nl = memrchr(d + pos, '\n', REBUILD_BATCH);
			if (nl)
				len = (uint64_t)(nl - (d + pos)) + 1;
			else
				len = (uint64_t)((const char *)memchr(d + pos + REBUILD_BATCH, '\n',
								      end - pos - REBUILD_BATCH) -
						 (d + pos)) + 1;
		}
		struct lfs_idx_entry e = {.offset = lfs_sc_next_offset(sc),
					  .pos = pos,
					  .len = (uint32_t)len,
					  .count = (uint32_t)lfs_count_byte(d + pos, len, '\n'),
					  .ts = ts,
					  .crc = lfs_crc32c(0, d + pos, len),
					  .type = LFS_ENTRY_BATCH};
		int rc = lfs_sc_push(sc, &e);
		if (rc < 0)
			return rc;
		*records += e.count;
		pos += len;
	}
	return 0;
}

uint64_t lfs_sc_data_mtime_ns(struct scan *sc)
{
	struct stat st;
	if (sc->data_fd < 0 || fstat(sc->data_fd, &st) < 0)
		return lfs_now_ns();
	return (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
}

/* Fix: a damaged header sent the segment to the rebuild-from-data path,
 * throwing away entries that carry their own checksums: a write-framed
 * segment became unrepairable, a line-framed one lost every timestamp. If
 * the first entry is a valid batch (or an empty segment's seal) at the
 * segment's base, only the header is rebuilt: base from the file name,
 * stream position from the hint, framing from the hint unless the first
 * batch contradicts it. A header that decodes but names another base is
 * not damaged, and still takes the old path. */
bool lfs_sc_header_from_entries(struct scan *sc, const struct lfs_scan_hint *hint)
{
	struct lfs_idx_header h;
	struct lfs_idx_entry e;

	if (sc->idx_size < LFS_IDX_HEADER_SIZE + LFS_IDX_ENTRY_SIZE ||
	    lfs_idx_header_decode(sc->idx, &h) != -EUCLEAN ||
	    lfs_idx_entry_decode(lfs_sc_entry_at(sc, 0), &e) < 0 || e.offset != sc->base || e.pos != 0)
		return false;
	uint32_t framing = hint->framing;
	if (e.type == LFS_ENTRY_BATCH) {
		if (framing == LFS_FRAMING_WRITE && e.count != 1)
			framing = LFS_FRAMING_LINE;
		else if (framing == LFS_FRAMING_LINE &&
			 !lfs_sc_framing_agrees(sc, LFS_FRAMING_LINE, 0, e.len, e.count))
			framing = LFS_FRAMING_WRITE;
	} else if (e.count != 0) {
		return false;
	}
	sc->hdr = (struct lfs_idx_header){LFS_FORMAT_VERSION, framing, sc->base, hint->stream_pos,
					  e.type == LFS_ENTRY_BATCH ? e.ts : lfs_sc_data_mtime_ns(sc)};
	return true;
}

int lfs_sc_write_index(struct scan *sc, bool seal)
{
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	int rc;

	if (sc->idx_fd < 0) {
		char name[32];
		lfs_seg_name(sc->base, "idx", name);
		sc->idx_fd = lfs_open_file(sc->dirfd, name, O_RDWR | O_CREAT);
		if (sc->idx_fd < 0)
			return sc->idx_fd;
	}
	if (!sc->hdr_ok) {
		unsigned char h[LFS_IDX_HEADER_SIZE];
		lfs_idx_header_encode(&sc->hdr, h);
		rc = lfs_pwrite_full(sc->idx_fd, h, sizeof(h), 0);
		if (rc < 0)
			return rc;
	}
	uint64_t from = sc->rewrite_from_set ? sc->rewrite_from : sc->n;
	for (uint64_t i = from; i < sc->n; i++) {
		lfs_idx_entry_encode(&sc->ents[i], buf);
		rc = lfs_pwrite_full(sc->idx_fd, buf, sizeof(buf),
				     LFS_IDX_HEADER_SIZE + i * LFS_IDX_ENTRY_SIZE);
		if (rc < 0)
			return rc;
	}
	uint64_t len = LFS_IDX_HEADER_SIZE + sc->n * LFS_IDX_ENTRY_SIZE;
	if (ftruncate(sc->idx_fd, (off_t)len) < 0)
		return -errno;
	if (seal) {
		/* The seal's CRC covers the entries as written on disk. */
		uint32_t crc = 0;
		for (uint64_t i = 0; i < sc->n; i++) {
			lfs_idx_entry_encode(&sc->ents[i], buf);
			crc = lfs_crc32c(crc, buf, sizeof(buf));
		}
		struct lfs_idx_entry s = {.offset = lfs_sc_next_offset(sc),
					  .pos = lfs_sc_next_pos(sc),
					  .count = (uint32_t)sc->n,
					  .ts = lfs_sc_last_ts(sc),
					  .crc = crc,
					  .type = LFS_ENTRY_SEAL};
		lfs_idx_entry_encode(&s, buf);
		rc = lfs_pwrite_full(sc->idx_fd, buf, sizeof(buf), len);
		if (rc < 0)
			return rc;
	}
	if (fdatasync(sc->idx_fd) < 0)
		return -errno;
	return 0;
}

/* The repair of a segment with newly lost batches: their bytes go to
 * lost+found, then the segment is written again without them, as
 * BASE.log.new and BASE.idx.new (both durable), which replace the old pair
 * by two renames: the index's is the commit point. finish_rewrite
 * completes or undoes one a crash interrupted. */
int lfs_sc_rewrite_without_lost(struct scan *sc, bool seal)
{
	char name[40], lname[40], iname[40];
	int rc = 0;

	if (sc->voldirfd < 0)
		return -EINVAL;
	for (uint64_t i = 0; i < sc->n; i++) {
		const struct lfs_idx_entry *e = &sc->ents[i];
		if (e->type != LFS_ENTRY_LOST || e->len == 0)
			continue;
		lfs_seg_name(e->offset, "lost", name);
		rc = lfs_lost_found_save(sc->voldirfd, sc->topic, name, sc->data + e->pos, e->len);
		if (rc < 0)
			return rc;
	}
	lfs_seg_name(sc->base, "log.new", lname);
	lfs_seg_name(sc->base, "idx.new", iname);
	int fd = lfs_create_file(sc->dirfd, lname, O_RDWR);
	if (fd < 0)
		return fd;
	uint64_t removed = 0;
	for (uint64_t i = 0; i < sc->n && rc == 0; i++) {
		struct lfs_idx_entry *e = &sc->ents[i];
		uint64_t was = e->pos;
		e->pos -= removed;
		if (e->type == LFS_ENTRY_LOST) {
			removed += e->len;
			e->len = 0;
			continue;
		}
		rc = lfs_pwrite_full(fd, sc->data + was, e->len, e->pos);
	}
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		return rc;
	sc->nlost_pending = 0;
	int ifd = lfs_create_file(sc->dirfd, iname, O_RDWR);
	if (ifd < 0)
		return ifd;
	if (sc->idx_fd >= 0)
		close(sc->idx_fd);
	sc->idx_fd = ifd;
	sc->hdr_ok = false; /* the new file needs its header */
	sc->rewrite_from = 0;
	sc->rewrite_from_set = true;
	rc = lfs_sc_write_index(sc, seal);
	if (rc < 0)
		return rc;
	lfs_seg_name(sc->base, "idx", name);
	if (renameat(sc->dirfd, iname, sc->dirfd, name) < 0)
		return -errno;
	lfs_seg_name(sc->base, "log", name);
	if (renameat(sc->dirfd, lname, sc->dirfd, name) < 0)
		return -errno;
	return lfs_fsync_dir(sc->dirfd);
}

/* A rewrite (rewrite_without_lost) a crash interrupted: with BASE.idx.new
 * still there it had not committed, and the old pair stands; without it the
 * new index is in place and BASE.log.new is the data that goes with it. */
int lfs_sc_finish_rewrite(struct scan *sc)
{
	char lname[40], iname[40], name[40];
	struct stat st;
	lfs_seg_name(sc->base, "log.new", lname);
	lfs_seg_name(sc->base, "idx.new", iname);
	bool has_l = fstatat(sc->dirfd, lname, &st, AT_SYMLINK_NOFOLLOW) == 0;
	bool has_i = fstatat(sc->dirfd, iname, &st, AT_SYMLINK_NOFOLLOW) == 0;
	bool repair = sc->flags & LFS_SCAN_REPAIR;
	if (!has_l && !has_i)
		return 0;
	lfs_sc_report(sc, LFS_PROB_INDEX_ENTRY, sc->base, sc->base, 0, repair,
	       "a repair that recorded lost records was interrupted: %s",
	       !repair ? "left as it is" : has_i ? "undone" : "finished");
	if (!repair)
		return 0;
	if (has_i) {
		if (unlinkat(sc->dirfd, iname, 0) < 0 && errno != ENOENT)
			return -errno;
		if (has_l && unlinkat(sc->dirfd, lname, 0) < 0 && errno != ENOENT)
			return -errno;
	} else {
		lfs_seg_name(sc->base, "log", name);
		if (renameat(sc->dirfd, lname, sc->dirfd, name) < 0)
			return -errno;
	}
	return lfs_fsync_dir(sc->dirfd);
}
