/*
 * The recovery scanner's walk over a segment's index entries (scan.c
 * describes the scanner): each entry judged against the data, damage cut
 * or recorded as lost, the seal checked.
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


/* Whether the index holds a seal entry (valid or not, wherever a cut may
 * fall): the segment was sealed once, so its data was durable before, and a
 * loss in it is damage since, not a crash's. */
bool lfs_sc_seal_present(struct scan *sc)
{
	if (!sc->idx || sc->idx_size < LFS_IDX_HEADER_SIZE)
		return false;
	uint64_t nraw = (sc->idx_size - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE;
	while (nraw > 0 && lfs_all_zero(lfs_sc_entry_at(sc, nraw - 1), LFS_IDX_ENTRY_SIZE))
		nraw--;
	struct lfs_idx_entry e;
	return nraw > 0 && lfs_idx_entry_decode(lfs_sc_entry_at(sc, nraw - 1), &e) == 0 &&
	       e.type == LFS_ENTRY_SEAL;
}

/* Estimates the records that the entries from i on claimed (for reports). */
uint64_t lfs_sc_claimed_end(struct scan *sc, uint64_t i, uint64_t nraw)
{
	uint64_t end = lfs_sc_next_offset(sc);
	for (; i < nraw; i++) {
		struct lfs_idx_entry e;
		if (lfs_idx_entry_decode(lfs_sc_entry_at(sc, i), &e) == 0 && e.type == LFS_ENTRY_BATCH &&
		    e.offset >= end && e.count < (1u << 30))
			end = e.offset + e.count;
	}
	return end;
}

/* The data bytes written from pos on: up to the last non-zero byte, as the
 * rest of an unsealed data file is its zero-filled preallocation. (A
 * write-framed record that ends in zero bytes is counted short by them.) */
uint64_t lfs_sc_written_from(const struct scan *sc, uint64_t pos)
{
	return pos < sc->data_size ? lfs_nonzero_len(sc->data + pos, sc->data_size - pos) : 0;
}

/* The end of the offsets lost when the segment is cut at entry i (data
 * position pos): what the later entries claim and, in line framing, at
 * least one offset for each line written from pos on, as lines can be
 * counted without their index entries. *written: the bytes written from
 * pos on (written_from). */
static uint64_t lost_end(struct scan *sc, uint64_t i, uint64_t nraw, uint64_t pos,
			 uint64_t *written)
{
	uint64_t end = lfs_sc_claimed_end(sc, i, nraw);
	*written = lfs_sc_written_from(sc, pos);
	/* (It is 0 where there is no data mapped, or none from pos.) */
	if (sc->hdr.framing == LFS_FRAMING_LINE && *written) {
		uint64_t lines = lfs_sc_next_offset(sc) + lfs_count_byte(sc->data + pos, *written, '\n');
		if (lines > end)
			end = lines;
	}
	return end;
}

/* Cuts the segment at entry i, the first that is not valid (what: why, for
 * the report): reports the offsets and bytes lost with it and all after. */
static void cut_at(struct scan *sc, enum lfs_problem_kind kind, uint64_t i, uint64_t nraw,
		   const char *what)
{
	bool repair = sc->flags & LFS_SCAN_REPAIR;
	uint64_t from = lfs_sc_next_offset(sc), written;
	uint64_t lost = lost_end(sc, i, nraw, lfs_sc_next_pos(sc), &written);
	lfs_sc_report(sc, kind, from, lost, written, repair, "%s: offsets %llu..%llu %s", what,
	       (unsigned long long)from, (unsigned long long)lost, repair ? "cut" : "invalid");
	sc->res->records_cut += lost - from;
	sc->changed = true;
	sc->cut = true;
}

/* Whether the batch of entry i (e, which fails its checksum) is followed by
 * a valid batch in this segment, or vouched for by a valid seal: then only
 * it is lost, and what follows keeps its offsets. Not where bytes a power
 * cut lost lie under it in a segment never sealed (a whole page of zeros,
 * or the zero tail of the page holding the durable end: lfs_sc_lost_under):
 * that is a torn end, cut with what follows (a log is a prefix;
 * docs/FORMAT.md, "recovery"). */
static bool valid_follows(struct scan *sc, uint32_t framing, uint64_t i, uint64_t nraw,
			  const struct lfs_idx_entry *e)
{
	if (!sc->res->had_seal && lfs_sc_lost_under(sc, e->pos, e->pos + e->len))
		return false;
	if (i < sc->lost_ok_until)
		return true;
	uint64_t off = e->offset + e->count, pos = e->pos + e->len;
	for (uint64_t j = i + 1; j < nraw; j++) {
		struct lfs_idx_entry nx;
		if (lfs_idx_entry_decode(lfs_sc_entry_at(sc, j), &nx) < 0 || nx.offset != off || nx.pos != pos)
			return false;
		if (nx.type == LFS_ENTRY_SEAL) {
			if (nx.count != j)
				return false;
			sc->lost_ok_until = j;
			return true;
		}
		off += nx.count;
		if (nx.type == LFS_ENTRY_LOST)
			continue;
		if (nx.pos + nx.len > sc->data_size)
			return false;
		if (lfs_sc_batch_verifies(sc, framing, &nx)) {
			sc->lost_ok_until = j;
			return true;
		}
		pos += nx.len;
	}
	return false;
}

/* Records the damaged batch e as lost: a lost entry whose len still counts
 * the damaged bytes until the repair moves them out of the data file. */
static int lose_batch(struct scan *sc, const struct lfs_idx_entry *e)
{
	bool repair = sc->flags & LFS_SCAN_REPAIR;
	struct lfs_idx_entry l = *e;
	l.type = LFS_ENTRY_LOST;
	l.crc = 0;
	lfs_sc_report(sc, LFS_PROB_PAYLOAD_CRC, e->offset, e->offset + e->count, e->len, repair,
	       "batch at offset %llu fails its checksum: offsets %llu..%llu %s",
	       (unsigned long long)e->offset, (unsigned long long)e->offset,
	       (unsigned long long)(e->offset + e->count),
	       repair ? "recorded as lost, the batch's bytes moved to " LFS_LOST_FOUND
		      : "lost (the records after them keep their offsets)");
	sc->res->records_lost += e->count;
	sc->nlost_pending++;
	lfs_sc_mark_rewrite(sc, sc->n);
	return lfs_sc_push(sc, &l);
}

/* Walks the index entries. Returns 0, or a negative errno for I/O errors. */
int lfs_sc_walk(struct scan *sc, bool *seal_ok)
{
	uint64_t nraw = sc->idx_size >= LFS_IDX_HEADER_SIZE
				? (sc->idx_size - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE
				: 0;
	bool verify = sc->flags & LFS_SCAN_VERIFY_PAYLOAD;
	bool repair = sc->flags & LFS_SCAN_REPAIR;
	uint32_t framing = sc->hdr.framing;
	uint64_t i;

	*seal_ok = false;
	sc->walked = true;
	for (i = 0; i < nraw; i++) {
		const unsigned char *raw = lfs_sc_entry_at(sc, i);
		struct lfs_idx_entry e;
		uint64_t want_off = lfs_sc_next_offset(sc), want_pos = lfs_sc_next_pos(sc);

		if (lfs_all_zero(raw, LFS_IDX_ENTRY_SIZE)) {
			/* The preallocated tail: the end, unless valid
			 * entries follow (a zeroed block in the middle). */
			bool more = false;
			for (uint64_t j = i + 1; j < nraw && !more; j++)
				more = !lfs_all_zero(lfs_sc_entry_at(sc, j), LFS_IDX_ENTRY_SIZE);
			if (!more)
				return 0;
		}
		int drc = lfs_idx_entry_decode(raw, &e);
		if (drc == 0 && e.type == LFS_ENTRY_SEAL) {
			sc->seal_seen = true;
			uint32_t crc = lfs_crc32c(0, sc->idx + LFS_IDX_HEADER_SIZE, i * LFS_IDX_ENTRY_SIZE);
			/* A segment emptied because its data was lost keeps
			 * the lost offsets in its seal, so they are never
			 * given out again. */
			bool lost = i == 0 && e.pos == 0 && e.offset > want_off;
			bool fields = (e.offset == want_off || lost) && e.pos == want_pos && e.count == i;
			if (fields && lost)
				sc->lost_next = e.offset;
			if (fields && e.crc == crc && !sc->changed) {
				*seal_ok = true;
			} else if (fields && sc->rewrite_from_set) {
				/* Its checksum differs only because entries
				 * before it were mended (reported): repair
				 * reseals without a second report. */
				*seal_ok = true;
			} else {
				lfs_sc_report(sc, LFS_PROB_SEAL, want_off, want_off, 0, repair,
				       "seal does not match the segment (%s)",
				       repair ? "resealed" : "left");
				sc->changed = true;
			}
			if (i + 1 < nraw && !lfs_all_zero(lfs_sc_entry_at(sc, i + 1),
							  (nraw - i - 1) * LFS_IDX_ENTRY_SIZE)) {
				lfs_sc_report(sc, LFS_PROB_INDEX_ENTRY, want_off, want_off, 0, repair,
				       "%llu index entries after the seal (%s)",
				       (unsigned long long)(nraw - i - 1), repair ? "removed" : "left");
				sc->changed = true;
			} else if (i + 1 < nraw) {
				sc->changed = true;
			}
			return 0;
		}
		bool fields_ok = drc == 0 && e.offset == want_off && e.pos == want_pos;
		if (fields_ok && e.type == LFS_ENTRY_LOST) {
			/* A lost range a repair recorded: no bytes to check. */
			int rc = lfs_sc_push(sc, &e);
			if (rc < 0)
				return rc;
			continue;
		}
		if (!fields_ok) {
			/* Damaged entry. If a later entry is valid and lines
			 * up, the hole's fields follow from its neighbours.
			 * Fix: a valid seal is a right-hand neighbour too (its
			 * offset and pos are the segment's next offset and
			 * data length); the last batch of a sealed segment
			 * used to be cut instead. */
			uint64_t j;
			struct lfs_idx_entry nx;
			for (j = i + 1; j < nraw; j++)
				if (lfs_idx_entry_decode(lfs_sc_entry_at(sc, j), &nx) == 0 &&
				    (nx.type == LFS_ENTRY_BATCH || nx.type == LFS_ENTRY_LOST ||
				     (nx.type == LFS_ENTRY_SEAL && nx.count == j)))
					break;
			/* In a segment without its seal, never over bytes a
			 * power cut lost (lfs_sc_lost_under): a whole page of
			 * zeros, or the zeros that end the page holding the
			 * durable end when that page reached the disk before
			 * the hole's bytes were written into it. The rebuilt
			 * entry's CRC is computed over the bytes found, so it
			 * cannot tell; in write framing, where any bytes are a
			 * record, and in line framing when no newline lay in
			 * the zeros, they were served as records
			 * (reliability_powercut.sh, "pages" cuts). A sealed
			 * segment was durable whole: its zeros are data. */
			bool mend = j < nraw && nx.offset > want_off && nx.pos > want_pos &&
				    (j == i + 1 || framing == LFS_FRAMING_LINE) &&
				    lfs_sc_framing_agrees(sc, framing, want_pos, nx.pos - want_pos,
						   nx.offset - want_off) &&
				    (sc->res->had_seal || !lfs_sc_lost_under(sc, want_pos, nx.pos));
			if (mend) {
				struct lfs_idx_entry r = {
					.offset = want_off,
					.pos = want_pos,
					.len = (uint32_t)(nx.pos - want_pos),
					.count = (uint32_t)(nx.offset - want_off),
					/* Fix: the time lies between the
					 * neighbours'. The earlier one (0 for a
					 * first entry) made a search by time
					 * skip these records; the later one
					 * may only start it a batch early. */
					.ts = drc == 0 ? e.ts : nx.ts,
					.crc = lfs_crc32c(0, sc->data + want_pos, nx.pos - want_pos),
					.type = LFS_ENTRY_BATCH};
				if (r.ts < lfs_sc_last_ts(sc))
					r.ts = lfs_sc_last_ts(sc);
				lfs_sc_report(sc, LFS_PROB_INDEX_ENTRY, want_off, nx.offset, 0, repair,
				       "index entries %llu..%llu damaged; %s from the data",
				       (unsigned long long)i, (unsigned long long)(j - 1),
				       repair ? "rebuilt" : "can be rebuilt");
				lfs_sc_mark_rewrite(sc, sc->n);
				int rc = lfs_sc_push(sc, &r);
				if (rc < 0)
					return rc;
				i = j - 1;
				continue;
			}
			char what[64];
			snprintf(what, sizeof(what), "index entry %llu %s", (unsigned long long)i,
				 drc == 0 ? "does not follow on" : "is corrupt");
			cut_at(sc, drc == 0 ? LFS_PROB_CONTIGUITY : LFS_PROB_INDEX_ENTRY, i, nraw, what);
			return 0;
		}
		if (e.pos + e.len > sc->data_size) {
			char what[64];
			snprintf(what, sizeof(what), "data ends inside batch at offset %llu",
				 (unsigned long long)want_off);
			cut_at(sc, LFS_PROB_DATA_SHORT, i, nraw, what);
			return 0;
		}
		if (verify && !lfs_sc_batch_verifies(sc, framing, &e)) {
			if ((sc->flags & LFS_SCAN_LOSE_DAMAGED) && valid_follows(sc, framing, i, nraw, &e)) {
				int rc = lose_batch(sc, &e);
				if (rc < 0)
					return rc;
				continue;
			}
			char what[64];
			snprintf(what, sizeof(what), "batch at offset %llu fails its checksum",
				 (unsigned long long)want_off);
			cut_at(sc, LFS_PROB_PAYLOAD_CRC, i, nraw, what);
			return 0;
		}
		int rc = lfs_sc_push(sc, &e);
		if (rc < 0)
			return rc;
	}
	return 0;
}
