/*
 * The recovery scanner: one piece of code for the daemon at mount and for
 * fsck. It walks a segment's index, checks every entry's checksum, that
 * offsets and positions follow on, that every batch lies inside the data
 * and (with LFS_SCAN_VERIFY_PAYLOAD) its CRC, and the seal.
 *
 * What it concludes, and what repair does about it:
 *  - a torn or corrupt tail (bad entry with nothing valid after it, a batch
 *    past the end of the data, a payload CRC mismatch): cut data and index
 *    back to the last valid batch, reporting the offsets and bytes cut;
 *  - a damaged entry between valid ones (the seal counts as one): its
 *    fields follow from its neighbours, so it is rebuilt (CRC recomputed
 *    over the data, timestamp the next batch's) when the data agrees with
 *    the framing;
 *  - a damaged header whose first entry is intact: the header alone is
 *    rebuilt (base from the file name, stream position from the hint);
 *  - a missing index, or a damaged header and first entry, line framing:
 *    rebuilt from the data, one batch per up to 1 MiB of complete lines;
 *  - bytes after the last batch or after the last whole index entry: cut
 *    (zeros are the preallocated tail of an active segment and not a
 *    problem);
 *  - a missing or wrong seal: reported, and (re)written when asked to
 *    seal.
 * It never invents data: every record it keeps is bytes found in the data
 * file, framed as the index or the framing says.
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

static int open_file(struct scan *sc, const char *ext)
{
	char name[32];
	lfs_seg_name(sc->base, ext, name);
	int fl = (sc->flags & LFS_SCAN_REPAIR) ? O_RDWR : O_RDONLY;
	return lfs_open_file(sc->dirfd, name, fl);
}

/* What a power cut leaves of a segment created since the last sync point:
 * the segment's creation flushes nothing (its header and directory entries
 * become durable at the next sync point, commit.c), so its index may be
 * empty, short or zeros where its header goes, while some of its data
 * reached the disk. Not a header damaged since (bit rot leaves bytes that
 * are not all zeros, and a segment sealed once has its seal). */
static bool header_never_written(const struct scan *sc, bool had_seal)
{
	return sc->idx_fd >= 0 && !had_seal && sc->data_fd >= 0 &&
	       (sc->idx_size < LFS_IDX_HEADER_SIZE || lfs_all_zero(sc->idx, LFS_IDX_HEADER_SIZE)) &&
	       lfs_nonzero_len(sc->data, sc->data_size) > 0;
}

/* Such a segment held nothing durable (a sync point would have made its
 * header durable first), and its records cannot be framed as they were
 * written: write framing needs the index to split them, and a rebuild of
 * line framing could not tell where each write(2) ended, so it could keep
 * part of one. Like a torn end, its records are cut: the data file goes
 * whole to lost+found/topics/NAME/, the segment is left empty (so the
 * cross-segment policy drops what follows it, recover.c), and the next
 * append takes its base offset. */
static int drop_unsynced(struct scan *sc, const struct lfs_scan_hint *hint, bool seal)
{
	bool repair = (sc->flags & LFS_SCAN_REPAIR) && sc->voldirfd >= 0;
	uint64_t written = lfs_nonzero_len(sc->data, sc->data_size);
	uint64_t records = 1;
	if (hint->framing == LFS_FRAMING_LINE) {
		size_t nl = lfs_count_byte(sc->data, written, '\n');
		records = nl + (sc->data[written - 1] != '\n');
	}
	lfs_sc_report(sc, LFS_PROB_INDEX_HEADER, sc->base, sc->base + records, written, repair,
		      "index header never written to disk (a power cut before the segment's first "
		      "sync): its records cannot be framed: %llu bytes of data %s",
		      (unsigned long long)written,
		      repair ? "moved to " LFS_LOST_FOUND ", segment emptied"
			     : "to be moved to " LFS_LOST_FOUND);
	sc->res->records_cut = records;
	sc->res->bytes_cut = written;
	if (!repair)
		return 0;
	sc->hdr = (struct lfs_idx_header){LFS_FORMAT_VERSION, hint->framing, sc->base,
					  hint->stream_pos, lfs_sc_data_mtime_ns(sc)};
	munmap((void *)sc->data, sc->data_size);
	sc->data = NULL;
	sc->data_size = 0;
	close(sc->data_fd);
	sc->data_fd = -1;
	char name[32], sub[300];
	lfs_seg_name(sc->base, "log", name);
	snprintf(sub, sizeof(sub), "%s/%s", LFS_TOPICS_DIR, sc->topic);
	/* A crash from here on leaves an index without a header and no data
	 * file: the next scan writes the same empty segment. */
	int rc = lfs_lost_found_move(sc->voldirfd, sc->dirfd, name, sub);
	if (rc < 0)
		return rc;
	int fd = lfs_open_file(sc->dirfd, name, O_RDWR | O_CREAT);
	if (fd < 0)
		return fd;
	sc->data_fd = fd;
	sc->n = 0;
	rc = lfs_sc_write_index(sc, seal);
	if (rc == 0)
		rc = lfs_fsync_dir(sc->dirfd);
	if (rc == 0)
		sc->res->sealed = seal;
	return rc;
}

static int load_files(struct scan *sc)
{
	struct stat st;
	int rc;

	sc->data_fd = open_file(sc, "log");
	if (sc->data_fd < 0 && sc->data_fd != -ENOENT)
		return sc->data_fd;
	if (sc->data_fd >= 0) {
		if (fstat(sc->data_fd, &st) < 0)
			return -errno;
		sc->data_size = (uint64_t)st.st_size;
		if (sc->data_size) {
			void *p = mmap(NULL, sc->data_size, PROT_READ, MAP_SHARED, sc->data_fd, 0);
			if (p == MAP_FAILED)
				return -errno;
			sc->data = p;
		}
	}
	sc->idx_fd = open_file(sc, "idx");
	if (sc->idx_fd < 0 && sc->idx_fd != -ENOENT)
		return sc->idx_fd;
	if (sc->idx_fd >= 0) {
		if (fstat(sc->idx_fd, &st) < 0)
			return -errno;
		sc->idx_size = (uint64_t)st.st_size;
		sc->idx = malloc(sc->idx_size + 1);
		if (!sc->idx)
			return -ENOMEM;
		rc = sc->idx_size ? lfs_pread_full(sc->idx_fd, sc->idx, sc->idx_size, 0) : 0;
		if (rc < 0)
			return rc;
		if (sc->idx_size >= LFS_IDX_HEADER_SIZE &&
		    lfs_idx_header_decode(sc->idx, &sc->hdr) == 0 && sc->hdr.base_offset == sc->base)
			sc->hdr_ok = true;
	}
	return 0;
}

int lfs_scan_segment(int dirfd, const char *topic, uint64_t base, unsigned flags, bool seal,
		     const struct lfs_scan_hint *hint, lfs_problem_fn fn, void *ctx,
		     struct lfs_scan_result *res)
{
	struct scan sc = {.dirfd = dirfd,
			  .topic = topic,
			  .base = base,
			  .flags = flags,
			  .fn = fn,
			  .ctx = ctx,
			  .res = res,
			  .data_fd = -1,
			  .idx_fd = -1};
	bool repair = flags & LFS_SCAN_REPAIR, seal_ok = false;
	int rc;

	memset(res, 0, sizeof(*res));
	res->base_offset = base;
	sc.voldirfd = (flags & LFS_SCAN_LOSE_DAMAGED) ? hint->voldirfd : -1;
	rc = lfs_sc_finish_rewrite(&sc);
	if (rc < 0)
		goto out;
	rc = load_files(&sc);
	if (rc < 0)
		goto out;
	res->had_seal = lfs_sc_seal_present(&sc);

	if (sc.data_fd < 0) {
		/* Without its data a segment holds nothing: keep an empty
		 * one, so offsets are never reused. */
		uint64_t lost = 0;
		if (sc.hdr_ok) {
			sc.n = 0;
			lost = lfs_sc_claimed_end(&sc, 0, (sc.idx_size - LFS_IDX_HEADER_SIZE) /
							   LFS_IDX_ENTRY_SIZE) - base;
		}
		lfs_sc_report(&sc, LFS_PROB_MISSING_DATA, base, base + lost, 0, repair,
		       "data file missing: offsets %llu..%llu %s", (unsigned long long)base,
		       (unsigned long long)(base + lost), repair ? "lost, segment emptied" : "lost");
		res->records_cut = lost;
		if (repair) {
			char name[32];
			lfs_seg_name(base, "log", name);
			int fd = lfs_open_file(dirfd, name, O_RDWR | O_CREAT);
			if (fd < 0) {
				rc = fd;
				goto out;
			}
			close(fd);
			if (!sc.hdr_ok)
				sc.hdr = (struct lfs_idx_header){LFS_FORMAT_VERSION, hint->framing, base,
								 hint->stream_pos, lfs_now_ns()};
			/* Sealed even as the last segment when offsets were
			 * lost: the seal keeps them from being reused. */
			sc.lost_next = base + lost;
			rc = lfs_sc_write_index(&sc, seal || lost > 0);
			if (rc < 0)
				goto out;
			res->sealed = seal || lost > 0;
		}
		goto done;
	}

	if (!sc.hdr_ok && header_never_written(&sc, res->had_seal)) {
		rc = drop_unsynced(&sc, hint, seal);
		if (rc < 0)
			goto out;
		goto done;
	} else if (!sc.hdr_ok && lfs_sc_header_from_entries(&sc, hint)) {
		lfs_sc_report(&sc, LFS_PROB_INDEX_HEADER, base, base, 0, repair,
		       "index header damaged: %s from the file name and the previous segment, "
		       "entries kept",
		       repair ? "rebuilt" : "can be rebuilt");
		rc = lfs_sc_walk(&sc, &seal_ok);
		if (rc < 0)
			goto out;
		sc.changed = true; /* the header must be written */
	} else if (!sc.hdr_ok) {
		bool line = hint->framing == LFS_FRAMING_LINE;
		sc.hdr = (struct lfs_idx_header){LFS_FORMAT_VERSION, hint->framing, base,
						 hint->stream_pos, lfs_sc_data_mtime_ns(&sc)};
		if (!line && (sc.data_size == 0 || lfs_all_zero(sc.data, sc.data_size))) {
			/* Fix (reliability_regress.sh): a kill during a roll, between
			 * creating the new segment's files and writing its index
			 * header, left an empty index and no data; write framing
			 * made that unrepairable and the mount failed. No data
			 * (or only preallocated zeros) means no record: an empty
			 * index loses nothing. */
			lfs_sc_report(&sc, sc.idx_fd < 0 ? LFS_PROB_MISSING_INDEX : LFS_PROB_INDEX_HEADER, base,
			       base, 0, repair, "index %s and no data: %s",
			       sc.idx_fd < 0 ? "missing" : "header damaged",
			       repair ? "empty index written" : "an empty index can be written");
			lfs_sc_mark_rewrite(&sc, 0);
		} else if (!line) {
			lfs_sc_report(&sc, sc.idx_fd < 0 ? LFS_PROB_MISSING_INDEX : LFS_PROB_INDEX_HEADER, base,
			       base, sc.data_size, false,
			       "index %s and the topic uses write framing: cannot rebuild",
			       sc.idx_fd < 0 ? "missing" : "header damaged");
			goto done;
		} else {
			uint64_t records;
			rc = lfs_sc_rebuild_lines(&sc, 0, sc.hdr.ctime_ns, &records);
			if (rc < 0)
				goto out;
			lfs_sc_report(&sc, sc.idx_fd < 0 ? LFS_PROB_MISSING_INDEX : LFS_PROB_INDEX_HEADER,
			       base, base + records, 0, repair,
			       "index %s: %s %llu records from the data",
			       sc.idx_fd < 0 ? "missing" : "header damaged",
			       repair ? "rebuilt" : "can rebuild", (unsigned long long)records);
		}
	} else {
		rc = lfs_sc_walk(&sc, &seal_ok);
		if (rc < 0)
			goto out;
	}

	/* Fix: bytes after the last whole index entry (a torn append to the
	 * index) were neither reported nor cut, and the daemon refuses a
	 * sealed index whose length is not whole entries. Zeros in an
	 * unsealed index are its preallocated tail. */
	uint64_t partial = sc.idx_size > LFS_IDX_HEADER_SIZE
				   ? (sc.idx_size - LFS_IDX_HEADER_SIZE) % LFS_IDX_ENTRY_SIZE
				   : 0;
	if (sc.walked && partial) {
		if (!sc.cut && (seal_ok || !lfs_all_zero(sc.idx + sc.idx_size - partial, partial)))
			lfs_sc_report(&sc, LFS_PROB_INDEX_ENTRY, lfs_sc_next_offset(&sc), lfs_sc_next_offset(&sc), 0, repair,
			       "%llu bytes after the last whole index entry %s",
			       (unsigned long long)partial, repair ? "cut" : "found");
		sc.changed = true;
	}

	/* Bytes after the last valid batch. */
	uint64_t valid = lfs_sc_next_pos(&sc);
	if (sc.data_size > valid) {
		uint64_t extra = sc.data_size - valid;
		/* Fix: after a cut in lfs_sc_walk() these bytes are the cut batches,
		 * already reported with them; they were reported a second
		 * time as trailing data. */
		uint64_t written = lfs_sc_written_from(&sc, valid);
		if (sc.cut) {
			res->bytes_cut += written;
		} else if (written || seal_ok) {
			/* Fix: the preallocated zero tail was counted as
			 * data (a sealed file has none, so there zeros are
			 * bytes too many). */
			uint64_t bytes = seal_ok ? extra : written;
			lfs_sc_report(&sc, LFS_PROB_DATA_TRAILING, lfs_sc_next_offset(&sc), lfs_sc_next_offset(&sc), bytes,
			       repair, "%llu bytes of data after the last valid batch %s",
			       (unsigned long long)bytes, repair ? "cut" : "found");
			res->bytes_cut += bytes;
		}
		sc.changed = true;
	}
	/* An unsealed segment that should be (a roll cut short) gets its
	 * seal written by repair. Fix: this used to happen silently, so fsck
	 * could not report a missing seal; report it unless lfs_sc_walk() already
	 * explained why the seal goes (a bad seal, a cut before it). */
	if (seal && !seal_ok) {
		if (sc.walked && !sc.seal_seen && !sc.cut)
			lfs_sc_report(&sc, LFS_PROB_SEAL, lfs_sc_next_offset(&sc), lfs_sc_next_offset(&sc), 0, repair,
			       "segment is not sealed (stopped before its seal was written): %s",
			       repair ? "sealed" : "left unsealed");
		sc.changed = true;
	}
	if (seal_ok && !sc.changed)
		res->sealed = true;
	if (repair && sc.changed && sc.nlost_pending) {
		rc = lfs_sc_rewrite_without_lost(&sc, seal || seal_ok);
		if (rc < 0)
			goto out;
		res->sealed = seal || seal_ok;
	} else if (repair && sc.changed) {
		if (sc.data_size > valid) {
			if (ftruncate(sc.data_fd, (off_t)valid) < 0) {
				rc = -errno;
				goto out;
			}
		}
		if (fdatasync(sc.data_fd) < 0) {
			rc = -errno;
			goto out;
		}
		rc = lfs_sc_write_index(&sc, seal || seal_ok);
		if (rc < 0)
			goto out;
		res->sealed = seal || seal_ok;
	}
done:
	res->had_seal = res->had_seal || sc.seal_seen;
	res->next_offset = lfs_sc_next_offset(&sc);
	res->valid_bytes = lfs_sc_next_pos(&sc);
	res->entries = sc.n;
	for (uint64_t i = 0; i < sc.n; i++)
		if (sc.ents[i].type == LFS_ENTRY_BATCH) {
			res->records += sc.ents[i].count;
			res->batches++;
		}
	res->first_timestamp = sc.n ? sc.ents[0].ts : 0;
	res->last_timestamp = lfs_sc_last_ts(&sc);
	rc = 0;
out:
	if (sc.data)
		munmap((void *)sc.data, sc.data_size);
	if (sc.data_fd >= 0)
		close(sc.data_fd);
	if (sc.idx_fd >= 0)
		close(sc.idx_fd);
	free(sc.idx);
	free(sc.ents);
	return rc;
}


