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
