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
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define REBUILD_BATCH (1u << 20)

struct scan {
	int dirfd;
	const char *topic;
	uint64_t base;
	unsigned flags;
	lfs_problem_fn fn;
	void *ctx;
	struct lfs_scan_result *res;

	int data_fd, idx_fd;
	const unsigned char *data;
	uint64_t data_size;
	unsigned char *idx; /* malloc'd copy of the index file */
	uint64_t idx_size;
	struct lfs_idx_header hdr;
	bool hdr_ok;

	/* The valid entries, possibly rebuilt. */
	struct lfs_idx_entry *ents;
	uint64_t n, cap;
	bool rewrite_from_set; /* entries from rewrite_from on must be written */
	uint64_t rewrite_from;
	bool changed;
	bool walked;    /* walk() ran over the entries */
	bool seal_seen; /* walk() met a seal entry (valid or not) */
	bool cut;       /* walk() cut the segment at a bad entry or batch */
	/* An empty segment's next offset when records were lost with its
	 * data (0: none). */
	uint64_t lost_next;
	/* Damaged batches recorded as lost whose bytes are still in the
	 * data file (their entries keep len until the rewrite). */
	uint64_t nlost_pending;
	uint64_t lost_ok_until; /* entries before this one: a valid one follows */
	int voldirfd;
};

static void report(struct scan *sc, enum lfs_problem_kind kind, uint64_t first, uint64_t last,
		   uint64_t bytes, bool repaired, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void report(struct scan *sc, enum lfs_problem_kind kind, uint64_t first, uint64_t last,
		   uint64_t bytes, bool repaired, const char *fmt, ...)
{
	struct lfs_problem p = {.kind = kind,
				.topic = sc->topic,
				.segment = sc->base,
				.first_offset = first,
				.last_offset = last,
				.bytes = bytes,
				.repaired = repaired};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p.message, sizeof(p.message), fmt, ap);
	va_end(ap);
	sc->res->damaged = true;
	if (repaired)
		sc->res->repaired = true;
	if (sc->fn)
		sc->fn(sc->ctx, &p);
}

static int push(struct scan *sc, const struct lfs_idx_entry *e)
{
	if (sc->n == sc->cap) {
		uint64_t cap = sc->cap ? sc->cap * 2 : 1024;
		struct lfs_idx_entry *v = realloc(sc->ents, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sc->ents = v;
		sc->cap = cap;
	}
	sc->ents[sc->n++] = *e;
	return 0;
}

static void mark_rewrite(struct scan *sc, uint64_t from)
{
	if (!sc->rewrite_from_set || from < sc->rewrite_from)
		sc->rewrite_from = from;
	sc->rewrite_from_set = true;
	sc->changed = true;
}

static uint64_t next_offset(struct scan *sc)
{
	if (sc->n)
		return sc->ents[sc->n - 1].offset + sc->ents[sc->n - 1].count;
	return sc->lost_next > sc->base ? sc->lost_next : sc->base;
}

static uint64_t next_pos(struct scan *sc)
{
	return sc->n ? sc->ents[sc->n - 1].pos + sc->ents[sc->n - 1].len : 0;
}

static uint64_t last_ts(struct scan *sc)
{
	return sc->n ? sc->ents[sc->n - 1].ts : 0;
}

static int open_file(struct scan *sc, const char *ext)
{
	char name[32];
	lfs_seg_name(sc->base, ext, name);
	int fl = (sc->flags & LFS_SCAN_REPAIR) ? O_RDWR : O_RDONLY;
	return lfs_open_file(sc->dirfd, name, fl);
}

static const unsigned char *entry_at(struct scan *sc, uint64_t i)
{
	return sc->idx + LFS_IDX_HEADER_SIZE + i * LFS_IDX_ENTRY_SIZE;
}

/* Does [pos, pos+len) of the data hold exactly `count` records of the
 * framing? Line: count newlines, the last byte one of them. */
static bool framing_agrees(struct scan *sc, uint32_t framing, uint64_t pos, uint64_t len,
			   uint64_t count)
{
	if (pos + len > sc->data_size || len == 0 || len > LFS_BATCH_MAX)
		return false;
	if (framing == LFS_FRAMING_WRITE)
		return count == 1;
	return sc->data[pos + len - 1] == '\n' && lfs_count_byte(sc->data + pos, len, '\n') == count;
}

/* A batch inside the data checked against its entry: payload CRC and
 * framing, in one pass over the bytes for line framing. */
static bool batch_verifies(struct scan *sc, uint32_t framing, const struct lfs_idx_entry *e)
{
	if (framing == LFS_FRAMING_WRITE)
		return e->count == 1 && lfs_crc32c(0, sc->data + e->pos, e->len) == e->crc;
	size_t lines;
	uint32_t crc = lfs_crc32c_count(0, sc->data + e->pos, e->len, '\n', &lines);
	return crc == e->crc && e->len > 0 && e->len <= LFS_BATCH_MAX &&
	       sc->data[e->pos + e->len - 1] == '\n' && lines == e->count;
}

/* The first whole aligned 4 KiB page of the data file from `from` (a
 * multiple of 4096) on that reads as zeros, or the data's size: a page a
 * power cut lost. Log data does not hold an aligned 4 KiB of NUL bytes in
 * practice (see rebuild_lines). */
static uint64_t first_zero_page(const struct scan *sc, uint64_t from)
{
	for (uint64_t p = from; p + 4096 <= sc->data_size; p += 4096)
		if (lfs_all_zero(sc->data + p, 4096))
			return p;
	return sc->data_size;
}

/* Appends batches of complete lines from data position `pos` up to the
 * last newline, all with timestamp ts. Returns the records added. */
static int rebuild_lines(struct scan *sc, uint64_t pos, uint64_t ts, uint64_t *records)
{
	const char *d = (const char *)sc->data;
	/* Fix (reliability_powercut.sh, harsh copies): stop before the first
	 * whole page of zeros. After a power cut a page of the data file that
	 * never reached the disk reads as zeros; without an index nothing else
	 * tells it from records, and the rebuild served the zeros, joined with
	 * the lines around them, as records. Log data does not hold an aligned
	 * 4 KiB of NUL bytes in practice: the rest is cut instead. */
	uint64_t limit = first_zero_page(sc, (pos + 4095) / 4096 * 4096);
	const char *last = limit > pos ? memrchr(d + pos, '\n', limit - pos) : NULL;
	uint64_t end = last ? (uint64_t)(last - d) + 1 : pos;
	*records = 0;
	mark_rewrite(sc, sc->n);
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
		struct lfs_idx_entry e = {.offset = next_offset(sc),
					  .pos = pos,
					  .len = (uint32_t)len,
					  .count = (uint32_t)lfs_count_byte(d + pos, len, '\n'),
					  .ts = ts,
					  .crc = lfs_crc32c(0, d + pos, len),
					  .type = LFS_ENTRY_BATCH};
		int rc = push(sc, &e);
		if (rc < 0)
			return rc;
		*records += e.count;
		pos += len;
	}
	return 0;
}

static uint64_t data_mtime_ns(struct scan *sc)
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
static bool header_from_entries(struct scan *sc, const struct lfs_scan_hint *hint)
{
	struct lfs_idx_header h;
	struct lfs_idx_entry e;

	if (sc->idx_size < LFS_IDX_HEADER_SIZE + LFS_IDX_ENTRY_SIZE ||
	    lfs_idx_header_decode(sc->idx, &h) != -EUCLEAN ||
	    lfs_idx_entry_decode(entry_at(sc, 0), &e) < 0 || e.offset != sc->base || e.pos != 0)
		return false;
	uint32_t framing = hint->framing;
	if (e.type == LFS_ENTRY_BATCH) {
		if (framing == LFS_FRAMING_WRITE && e.count != 1)
			framing = LFS_FRAMING_LINE;
		else if (framing == LFS_FRAMING_LINE &&
			 !framing_agrees(sc, LFS_FRAMING_LINE, 0, e.len, e.count))
			framing = LFS_FRAMING_WRITE;
	} else if (e.count != 0) {
		return false;
	}
	sc->hdr = (struct lfs_idx_header){LFS_FORMAT_VERSION, framing, sc->base, hint->stream_pos,
					  e.type == LFS_ENTRY_BATCH ? e.ts : data_mtime_ns(sc)};
	return true;
}

/* Whether the index holds a seal entry (valid or not, wherever a cut may
 * fall): the segment was sealed once, so its data was durable before, and a
 * loss in it is damage since, not a crash's. */
static bool seal_present(struct scan *sc)
{
	if (!sc->idx || sc->idx_size < LFS_IDX_HEADER_SIZE)
		return false;
	uint64_t nraw = (sc->idx_size - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE;
	while (nraw > 0 && lfs_all_zero(entry_at(sc, nraw - 1), LFS_IDX_ENTRY_SIZE))
		nraw--;
	struct lfs_idx_entry e;
	return nraw > 0 && lfs_idx_entry_decode(entry_at(sc, nraw - 1), &e) == 0 &&
	       e.type == LFS_ENTRY_SEAL;
}

/* Estimates the records that the entries from i on claimed (for reports). */
static uint64_t claimed_end(struct scan *sc, uint64_t i, uint64_t nraw)
{
	uint64_t end = next_offset(sc);
	for (; i < nraw; i++) {
		struct lfs_idx_entry e;
		if (lfs_idx_entry_decode(entry_at(sc, i), &e) == 0 && e.type == LFS_ENTRY_BATCH &&
		    e.offset >= end && e.count < (1u << 30))
			end = e.offset + e.count;
	}
	return end;
}

/* The data bytes written from pos on: up to the last non-zero byte, as the
 * rest of an unsealed data file is its zero-filled preallocation. (A
 * write-framed record that ends in zero bytes is counted short by them.) */
static uint64_t written_from(const struct scan *sc, uint64_t pos)
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
	uint64_t end = claimed_end(sc, i, nraw);
	*written = written_from(sc, pos);
	/* (It is 0 where there is no data mapped, or none from pos.) */
	if (sc->hdr.framing == LFS_FRAMING_LINE && *written) {
		uint64_t lines = next_offset(sc) + lfs_count_byte(sc->data + pos, *written, '\n');
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
	uint64_t from = next_offset(sc), written;
	uint64_t lost = lost_end(sc, i, nraw, next_pos(sc), &written);
	report(sc, kind, from, lost, written, repair, "%s: offsets %llu..%llu %s", what,
	       (unsigned long long)from, (unsigned long long)lost, repair ? "cut" : "invalid");
	sc->res->records_cut += lost - from;
	sc->changed = true;
	sc->cut = true;
}

/* Whether the batch of entry i (e, which fails its checksum) is followed by
 * a valid batch in this segment, or vouched for by a valid seal: then only
 * it is lost, and what follows keeps its offsets. Not where a page a power
 * cut lost lies under it in a segment never sealed: that is a torn end, cut
 * with what follows (a log is a prefix; docs/FORMAT.md, "recovery"). */
static bool valid_follows(struct scan *sc, uint32_t framing, uint64_t i, uint64_t nraw,
			  const struct lfs_idx_entry *e)
{
	if (!sc->res->had_seal && first_zero_page(sc, e->pos / 4096 * 4096) < e->pos + e->len)
		return false;
	if (i < sc->lost_ok_until)
		return true;
	uint64_t off = e->offset + e->count, pos = e->pos + e->len;
	for (uint64_t j = i + 1; j < nraw; j++) {
		struct lfs_idx_entry nx;
		if (lfs_idx_entry_decode(entry_at(sc, j), &nx) < 0 || nx.offset != off || nx.pos != pos)
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
		if (batch_verifies(sc, framing, &nx)) {
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
	report(sc, LFS_PROB_PAYLOAD_CRC, e->offset, e->offset + e->count, e->len, repair,
	       "batch at offset %llu fails its checksum: offsets %llu..%llu %s",
	       (unsigned long long)e->offset, (unsigned long long)e->offset,
	       (unsigned long long)(e->offset + e->count),
	       repair ? "recorded as lost, the batch's bytes moved to " LFS_LOST_FOUND
		      : "lost (the records after them keep their offsets)");
	sc->res->records_lost += e->count;
	sc->nlost_pending++;
	mark_rewrite(sc, sc->n);
	return push(sc, &l);
}

/* Walks the index entries. Returns 0, or a negative errno for I/O errors. */
static int walk(struct scan *sc, bool *seal_ok)
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
		const unsigned char *raw = entry_at(sc, i);
		struct lfs_idx_entry e;
		uint64_t want_off = next_offset(sc), want_pos = next_pos(sc);

		if (lfs_all_zero(raw, LFS_IDX_ENTRY_SIZE)) {
			/* The preallocated tail: the end, unless valid
			 * entries follow (a zeroed block in the middle). */
			bool more = false;
			for (uint64_t j = i + 1; j < nraw && !more; j++)
				more = !lfs_all_zero(entry_at(sc, j), LFS_IDX_ENTRY_SIZE);
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
				report(sc, LFS_PROB_SEAL, want_off, want_off, 0, repair,
				       "seal does not match the segment (%s)",
				       repair ? "resealed" : "left");
				sc->changed = true;
			}
			if (i + 1 < nraw && !lfs_all_zero(entry_at(sc, i + 1),
							  (nraw - i - 1) * LFS_IDX_ENTRY_SIZE)) {
				report(sc, LFS_PROB_INDEX_ENTRY, want_off, want_off, 0, repair,
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
			int rc = push(sc, &e);
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
				if (lfs_idx_entry_decode(entry_at(sc, j), &nx) == 0 &&
				    (nx.type == LFS_ENTRY_BATCH || nx.type == LFS_ENTRY_LOST ||
				     (nx.type == LFS_ENTRY_SEAL && nx.count == j)))
					break;
			/* Fix (reliability_powercut.sh, "pages" cuts): in a
			 * segment without its seal, never over a lost page. The
			 * hole was rebuilt over one, and in write framing, where
			 * any bytes are a record, its zeros were served. A
			 * sealed segment was durable whole: its zeros are data. */
			bool mend = j < nraw && nx.offset > want_off && nx.pos > want_pos &&
				    (j == i + 1 || framing == LFS_FRAMING_LINE) &&
				    framing_agrees(sc, framing, want_pos, nx.pos - want_pos,
						   nx.offset - want_off) &&
				    (sc->res->had_seal ||
				     first_zero_page(sc, want_pos / 4096 * 4096) >= nx.pos);
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
				if (r.ts < last_ts(sc))
					r.ts = last_ts(sc);
				report(sc, LFS_PROB_INDEX_ENTRY, want_off, nx.offset, 0, repair,
				       "index entries %llu..%llu damaged; %s from the data",
				       (unsigned long long)i, (unsigned long long)(j - 1),
				       repair ? "rebuilt" : "can be rebuilt");
				mark_rewrite(sc, sc->n);
				int rc = push(sc, &r);
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
		if (verify && !batch_verifies(sc, framing, &e)) {
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
		int rc = push(sc, &e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int write_index(struct scan *sc, bool seal)
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
		struct lfs_idx_entry s = {.offset = next_offset(sc),
					  .pos = next_pos(sc),
					  .count = (uint32_t)sc->n,
					  .ts = last_ts(sc),
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
static int rewrite_without_lost(struct scan *sc, bool seal)
{
	char name[40], lname[40], iname[40];
	int rc = 0;

	if (sc->voldirfd < 0)
		return -EINVAL;
	for (uint64_t i = 0; i < sc->n; i++) {
		const struct lfs_idx_entry *e = &sc->ents[i];
		if (e->type != LFS_ENTRY_LOST || e->len == 0)
			continue;
		snprintf(name, sizeof(name), "%020llu.lost", (unsigned long long)e->offset);
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
	rc = write_index(sc, seal);
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
static int finish_rewrite(struct scan *sc)
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
	report(sc, LFS_PROB_INDEX_ENTRY, sc->base, sc->base, 0, repair,
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
	report(sc, LFS_PROB_INDEX_HEADER, sc->base, sc->base + records, written, repair,
	       "index header never written to disk (a power cut before the segment's first "
	       "sync): its records cannot be framed: %llu bytes of data %s",
	       (unsigned long long)written,
	       repair ? "moved to " LFS_LOST_FOUND ", segment emptied" : "to be moved to " LFS_LOST_FOUND);
	sc->res->records_cut = records;
	sc->res->bytes_cut = written;
	if (!repair)
		return 0;
	sc->hdr = (struct lfs_idx_header){LFS_FORMAT_VERSION, hint->framing, sc->base,
					  hint->stream_pos, data_mtime_ns(sc)};
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
	rc = write_index(sc, seal);
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
	rc = finish_rewrite(&sc);
	if (rc < 0)
		goto out;
	rc = load_files(&sc);
	if (rc < 0)
		goto out;
	res->had_seal = seal_present(&sc);

	if (sc.data_fd < 0) {
		/* Without its data a segment holds nothing: keep an empty
		 * one, so offsets are never reused. */
		uint64_t lost = 0;
		if (sc.hdr_ok) {
			sc.n = 0;
			lost = claimed_end(&sc, 0, (sc.idx_size - LFS_IDX_HEADER_SIZE) /
							   LFS_IDX_ENTRY_SIZE) - base;
		}
		report(&sc, LFS_PROB_MISSING_DATA, base, base + lost, 0, repair,
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
			rc = write_index(&sc, seal || lost > 0);
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
	} else if (!sc.hdr_ok && header_from_entries(&sc, hint)) {
		report(&sc, LFS_PROB_INDEX_HEADER, base, base, 0, repair,
		       "index header damaged: %s from the file name and the previous segment, "
		       "entries kept",
		       repair ? "rebuilt" : "can be rebuilt");
		rc = walk(&sc, &seal_ok);
		if (rc < 0)
			goto out;
		sc.changed = true; /* the header must be written */
	} else if (!sc.hdr_ok) {
		bool line = hint->framing == LFS_FRAMING_LINE;
		sc.hdr = (struct lfs_idx_header){LFS_FORMAT_VERSION, hint->framing, base,
						 hint->stream_pos, data_mtime_ns(&sc)};
		if (!line && (sc.data_size == 0 || lfs_all_zero(sc.data, sc.data_size))) {
			/* Fix (reliability_regress.sh): a kill during a roll, between
			 * creating the new segment's files and writing its index
			 * header, left an empty index and no data; write framing
			 * made that unrepairable and the mount failed. No data
			 * (or only preallocated zeros) means no record: an empty
			 * index loses nothing. */
			report(&sc, sc.idx_fd < 0 ? LFS_PROB_MISSING_INDEX : LFS_PROB_INDEX_HEADER, base,
			       base, 0, repair, "index %s and no data: %s",
			       sc.idx_fd < 0 ? "missing" : "header damaged",
			       repair ? "empty index written" : "an empty index can be written");
			mark_rewrite(&sc, 0);
		} else if (!line) {
			report(&sc, sc.idx_fd < 0 ? LFS_PROB_MISSING_INDEX : LFS_PROB_INDEX_HEADER, base,
			       base, sc.data_size, false,
			       "index %s and the topic uses write framing: cannot rebuild",
			       sc.idx_fd < 0 ? "missing" : "header damaged");
			goto done;
		} else {
			uint64_t records;
			rc = rebuild_lines(&sc, 0, sc.hdr.ctime_ns, &records);
			if (rc < 0)
				goto out;
			report(&sc, sc.idx_fd < 0 ? LFS_PROB_MISSING_INDEX : LFS_PROB_INDEX_HEADER,
			       base, base + records, 0, repair,
			       "index %s: %s %llu records from the data",
			       sc.idx_fd < 0 ? "missing" : "header damaged",
			       repair ? "rebuilt" : "can rebuild", (unsigned long long)records);
		}
	} else {
		rc = walk(&sc, &seal_ok);
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
			report(&sc, LFS_PROB_INDEX_ENTRY, next_offset(&sc), next_offset(&sc), 0, repair,
			       "%llu bytes after the last whole index entry %s",
			       (unsigned long long)partial, repair ? "cut" : "found");
		sc.changed = true;
	}

	/* Bytes after the last valid batch. */
	uint64_t valid = next_pos(&sc);
	if (sc.data_size > valid) {
		uint64_t extra = sc.data_size - valid;
		/* Fix: after a cut in walk() these bytes are the cut batches,
		 * already reported with them; they were reported a second
		 * time as trailing data. */
		uint64_t written = written_from(&sc, valid);
		if (sc.cut) {
			res->bytes_cut += written;
		} else if (written || seal_ok) {
			/* Fix: the preallocated zero tail was counted as
			 * data (a sealed file has none, so there zeros are
			 * bytes too many). */
			uint64_t bytes = seal_ok ? extra : written;
			report(&sc, LFS_PROB_DATA_TRAILING, next_offset(&sc), next_offset(&sc), bytes,
			       repair, "%llu bytes of data after the last valid batch %s",
			       (unsigned long long)bytes, repair ? "cut" : "found");
			res->bytes_cut += bytes;
		}
		sc.changed = true;
	}
	/* An unsealed segment that should be (a roll cut short) gets its
	 * seal written by repair. Fix: this used to happen silently, so fsck
	 * could not report a missing seal; report it unless walk() already
	 * explained why the seal goes (a bad seal, a cut before it). */
	if (seal && !seal_ok) {
		if (sc.walked && !sc.seal_seen && !sc.cut)
			report(&sc, LFS_PROB_SEAL, next_offset(&sc), next_offset(&sc), 0, repair,
			       "segment is not sealed (stopped before its seal was written): %s",
			       repair ? "sealed" : "left unsealed");
		sc.changed = true;
	}
	if (seal_ok && !sc.changed)
		res->sealed = true;
	if (repair && sc.changed && sc.nlost_pending) {
		rc = rewrite_without_lost(&sc, seal || seal_ok);
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
		rc = write_index(&sc, seal || seal_ok);
		if (rc < 0)
			goto out;
		res->sealed = seal || seal_ok;
	}
done:
	res->had_seal = res->had_seal || sc.seal_seen;
	res->next_offset = next_offset(&sc);
	res->valid_bytes = next_pos(&sc);
	res->entries = sc.n;
	res->first_timestamp = sc.n ? sc.ents[0].ts : 0;
	res->last_timestamp = last_ts(&sc);
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
