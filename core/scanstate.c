/*
 * The recovery scanner's state (struct scan, scanint.h) and what every part
 * of it uses: problems reported, entries kept, the positions they reach,
 * and whether a batch's bytes verify.
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

void lfs_sc_report(struct scan *sc, enum lfs_problem_kind kind, uint64_t first, uint64_t last,
		   uint64_t bytes, bool repaired, const char *fmt, ...)
{
	struct lfs_problem p;
	va_list ap;
	va_start(ap, fmt);
	lfs_problem_vset(&p, kind, sc->topic, sc->base, first, last, bytes, repaired, fmt, ap);
	va_end(ap);
	sc->res->damaged = true;
	if (repaired)
		sc->res->repaired = true;
	if (sc->fn)
		sc->fn(sc->ctx, &p);
}

int lfs_sc_push(struct scan *sc, const struct lfs_idx_entry *e)
{
	if (lfs_array_reserve(&sc->ents, sc->n, &sc->cap, sizeof(*sc->ents), 1024) < 0)
		return -ENOMEM;
	sc->ents[sc->n++] = *e;
	return 0;
}

void lfs_sc_mark_rewrite(struct scan *sc, uint64_t from)
{
	if (!sc->rewrite_from_set || from < sc->rewrite_from)
		sc->rewrite_from = from;
	sc->rewrite_from_set = true;
	sc->changed = true;
}

uint64_t lfs_sc_next_offset(struct scan *sc)
{
	if (sc->n)
		return sc->ents[sc->n - 1].offset + sc->ents[sc->n - 1].count;
	return sc->lost_next > sc->base ? sc->lost_next : sc->base;
}

uint64_t lfs_sc_next_pos(struct scan *sc)
{
	return sc->n ? sc->ents[sc->n - 1].pos + sc->ents[sc->n - 1].len : 0;
}

uint64_t lfs_sc_last_ts(struct scan *sc)
{
	return sc->n ? sc->ents[sc->n - 1].ts : 0;
}

const unsigned char *lfs_sc_entry_at(struct scan *sc, uint64_t i)
{
	return sc->idx + LFS_IDX_HEADER_SIZE + i * LFS_IDX_ENTRY_SIZE;
}

/* Does [pos, pos+len) of the data hold exactly `count` records of the
 * framing? Line: count newlines, the last byte one of them. */
bool lfs_sc_framing_agrees(struct scan *sc, uint32_t framing, uint64_t pos, uint64_t len,
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
bool lfs_sc_batch_verifies(struct scan *sc, uint32_t framing, const struct lfs_idx_entry *e)
{
	if (framing == LFS_FRAMING_WRITE)
		return e->count == 1 && lfs_crc32c(0, sc->data + e->pos, e->len) == e->crc;
	size_t lines;
	uint32_t crc = lfs_crc32c_count(0, sc->data + e->pos, e->len, '\n', &lines);
	return crc == e->crc && e->len > 0 && e->len <= LFS_BATCH_MAX &&
	       sc->data[e->pos + e->len - 1] == '\n' && lines == e->count;
}

/* The first page of the data file from `from` on that the lost-page rule
 * (format.h) calls lost, or the data's size. */
uint64_t lfs_sc_first_zero_page(const struct scan *sc, uint64_t from)
{
	return lfs_lost_page_find(sc->data, sc->data_size, from);
}

/* Whether the lost-page rule (format.h) calls any of the bytes [pos, end)
 * of the data lost: for each page they touch, the zeros that may end it
 * (from the last of these bytes in the page to the page's end, or to the
 * end of the data) are checked, so this finds both a whole page lost and
 * the tail of a page that reached the disk before these bytes were written
 * into it (a page reaches the disk whole: its bytes past the end written
 * when it did read as zeros). When it is false, each page under [pos, end)
 * reached the disk after its last byte in the range was written, so those
 * bytes are the data as written (unless the data ends a page in NUL bytes,
 * which log data does not in practice; such a batch is then cut too). */
bool lfs_sc_lost_under(const struct scan *sc, uint64_t pos, uint64_t end)
{
	if (end > sc->data_size)
		end = sc->data_size;
	if (pos >= end)
		return false;
	for (uint64_t p = lfs_lost_page_of(pos); p < end; p += LFS_LOST_PAGE) {
		uint64_t page_end = p + LFS_LOST_PAGE < sc->data_size ? p + LFS_LOST_PAGE : sc->data_size;
		uint64_t last = (end < page_end ? end : page_end) - 1;
		if (lfs_all_zero(sc->data + last, page_end - last))
			return true;
	}
	return false;
}
