/*
 * Sealed segments mapped on demand. A sealed segment used to stay mapped
 * from its first read (or, for one this process rolled, from its creation)
 * until it was deleted: two mappings each, and a topic of 4 KiB segments
 * reached the kernel's 65,530 mappings at append number 32,733, after
 * which every append and mkdir of the volume failed with ENOMEM. Now at
 * most map_max sealed segments stay mapped while nothing reads them: a
 * CLOCK over the ring of mapped ones (map_used set on each use, cleared as
 * the hand passes) unmaps the others, from the ticker and whenever a
 * mapping is made past the limit; a read maps them again.
 *
 * A reader never holds a pointer into a mapping that is taken down: every
 * read through a segment's mappings holds a use (lfs_segment_use ..
 * lfs_segment_unuse; a reader keeps the uses of what its last call handed
 * out until its next call, core/reader.c). Unmapping happens under the
 * segment's mu with uses at 0, announced by `evicting` and checked again
 * after it (the two sides each write their flag before reading the
 * other's, sequentially consistent: one of them sees the other), so a use
 * that arrives meanwhile waits for mu and finds the mappings gone or kept.
 *
 * Never unmapped: the active segment, a rolled one whose seal is not
 * written yet (its files are still being made durable), and one retention
 * deleted (its files are gone: it could not be mapped again).
 */
#include "internal.h"

#include <stdlib.h>

/* Two mappings a segment: well under the kernel's 65,530 with the active
 * segments' and the daemon's own. A build with -DLFS_MAPPED_SEGMENTS_DEFAULT=N
 * keeps N (with 1, every suite runs through the unmapping). */
#ifdef LFS_MAPPED_SEGMENTS_DEFAULT
#define MAP_MAX_DEFAULT LFS_MAPPED_SEGMENTS_DEFAULT
#else
#define MAP_MAX_DEFAULT 16384
#endif

void lfs_segment_use(lfs_segment *s)
{
	atomic_fetch_add(&s->uses, 1);
	atomic_store_explicit(&s->map_used, true, memory_order_relaxed);
	if (!atomic_load(&s->evicting))
		return;
	/* An unmapping is under way: wait for it (it holds mu), then take
	 * the use where it cannot run. */
	atomic_fetch_sub(&s->uses, 1);
	lfs_mutex_lock(&s->mu);
	atomic_fetch_add(&s->uses, 1);
	lfs_mutex_unlock(&s->mu);
}

void lfs_segment_unuse(lfs_segment *s)
{
	atomic_fetch_sub(&s->uses, 1);
}

static lfs_volume *vol_of(lfs_segment *s)
{
	return s->topic->vol;
}

void lfs_maps_track(lfs_segment *s)
{
	lfs_volume *v = vol_of(s);
	lfs_mutex_lock(&v->map_mu);
	if (!s->in_ring) {
		if (!v->map_hand) {
			s->map_prev = s->map_next = s;
			v->map_hand = s;
		} else {
			lfs_segment *h = v->map_hand;
			s->map_next = h;
			s->map_prev = h->map_prev;
			h->map_prev->map_next = s;
			h->map_prev = s;
		}
		s->in_ring = true;
		v->nmapped++;
	}
	lfs_mutex_unlock(&v->map_mu);
	atomic_store(&s->map_used, true);
}

/* (map_mu held) */
static void ring_del(lfs_volume *v, lfs_segment *s)
{
	if (!s->in_ring)
		return;
	if (s->map_next == s) {
		v->map_hand = NULL;
	} else {
		s->map_prev->map_next = s->map_next;
		s->map_next->map_prev = s->map_prev;
		if (v->map_hand == s)
			v->map_hand = s->map_next;
	}
	s->map_next = s->map_prev = NULL;
	s->in_ring = false;
	v->nmapped--;
}

void lfs_maps_forget(lfs_segment *s)
{
	lfs_volume *v = vol_of(s);
	lfs_mutex_lock(&v->map_mu);
	ring_del(v, s);
	lfs_mutex_unlock(&v->map_mu);
}

size_t lfs_maps_default_max(void)
{
	return MAP_MAX_DEFAULT;
}

void lfs_volume_maps_trim(lfs_volume *v)
{
	lfs_mutex_lock(&v->map_mu);
	size_t budget = 2 * v->nmapped + 1;
	while (v->nmapped > v->map_max && budget-- > 0 && v->map_hand) {
		lfs_segment *s = v->map_hand;
		v->map_hand = s->map_next;
		if (atomic_exchange(&s->map_used, false) || atomic_load(&s->uses))
			continue;
		/* A segment whose last reference is going waits for map_mu to
		 * leave the ring: not one to take a reference on. */
		int refs = atomic_load(&s->refs);
		do
			if (refs == 0)
				break;
		while (!atomic_compare_exchange_weak(&s->refs, &refs, refs + 1));
		if (refs == 0)
			continue;
		lfs_mutex_unlock(&v->map_mu);
		bool gone = false;
		if (lfs_mutex_trylock(&s->mu) == 0) {
			gone = lfs_segment_unmap(s);
			lfs_mutex_unlock(&s->mu);
		}
		lfs_mutex_lock(&v->map_mu);
		if (gone)
			ring_del(v, s);
		lfs_mutex_unlock(&v->map_mu);
		lfs_segment_put(s); /* (takes map_mu if it was the last) */
		lfs_mutex_lock(&v->map_mu);
	}
	lfs_mutex_unlock(&v->map_mu);
}
