/*
 * Lookups in a segment's index: an entry's fields, and the entry that holds
 * an offset or a byte, or is the first at or after a time (bisection,
 * bisect.h).
 */
#include "internal.h"
#include "bisect.h"

void lfs_segment_read_entry(lfs_segment *s, uint64_t i, struct lfs_idx_entry *e)
{
	const unsigned char *p = atomic_load_explicit(&s->idx, memory_order_acquire) +
				 LFS_IDX_HEADER_SIZE + i * LFS_IDX_ENTRY_SIZE;
	/* Committed entries were verified when written or loaded: decode the
	 * fields without re-checking the CRC on the read path. */
	lfs_idx_entry_fields(p, e);
}

struct entry_key {
	lfs_segment *s;
	uint64_t key;
};

static bool offset_at_or_before(uint64_t i, void *ctx)
{
	struct entry_key *k = ctx;
	struct lfs_idx_entry e;
	lfs_segment_read_entry(k->s, i, &e);
	return e.offset <= k->key;
}

static bool pos_at_or_before(uint64_t i, void *ctx)
{
	struct entry_key *k = ctx;
	struct lfs_idx_entry e;
	lfs_segment_read_entry(k->s, i, &e);
	return e.pos <= k->key;
}

static bool time_before(uint64_t i, void *ctx)
{
	struct entry_key *k = ctx;
	struct lfs_idx_entry e;
	lfs_segment_read_entry(k->s, i, &e);
	return e.ts < k->key;
}

uint64_t lfs_segment_find_offset(lfs_segment *s, uint64_t offset)
{
	/* Last entry whose first offset is <= offset. */
	struct entry_key k = {s, offset};
	return lfs_bisect_last(atomic_load_explicit(&s->nentries, memory_order_acquire),
			       offset_at_or_before, &k);
}

uint64_t lfs_segment_find_pos(lfs_segment *s, uint64_t pos)
{
	/* Last entry whose data starts at or before pos. */
	struct entry_key k = {s, pos};
	return lfs_bisect_last(atomic_load_explicit(&s->nentries, memory_order_acquire),
			       pos_at_or_before, &k);
}

uint64_t lfs_segment_find_time(lfs_segment *s, uint64_t ts)
{
	/* First entry with timestamp >= ts; timestamps never decrease. */
	struct entry_key k = {s, ts};
	return lfs_bisect(0, atomic_load_explicit(&s->nentries, memory_order_acquire), time_before,
			  &k);
}
