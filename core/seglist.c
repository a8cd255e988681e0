/*
 * A topic's segment list: sealed retained segments then the active one,
 * under segs_lock, and the lookups over it.
 */
#include "internal.h"
#include "bisect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends seg to the segment list (segs_lock held for writing). */
int lfs_topic_segs_push(lfs_topic *t, lfs_segment *s)
{
	LFS_ASSERT_WRITE_HELD(&t->segs_lock);
	if (lfs_array_reserve(&t->segs, t->nsegs, &t->segs_cap, sizeof(*t->segs), 16) < 0)
		return -ENOMEM;
	t->segs[t->nsegs++] = s;
	return 0;
}

/* Makes s (whose creation reference the list takes over) the active
 * segment, adding the active pointer's own reference. */
static int set_active(lfs_topic *t, lfs_segment *s)
{
	lfs_rwlock_wrlock(&t->segs_lock);
	int rc = lfs_topic_segs_push(t, s);
	if (rc == 0) {
		lfs_segment_ref(s);
		t->active = s;
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

/* Creates the segment that starts at (base, stream_pos) and makes it the
 * active one (append_mu held, or the topic not yet shared). The creation
 * is not durable until the next sync point (commit.c): it counts in
 * t->rolls. */
int lfs_topic_start_active(lfs_topic *t, uint64_t base, uint64_t stream_pos, uint32_t framing)
{
	lfs_segment *s;
	int rc = lfs_segment_create_active(t, &t->seg_host, base, stream_pos, framing,
					   lfs_volume_now(t->vol), &s);
	if (rc < 0)
		return rc;
	t->rolls++;
	rc = set_active(t, s);
	if (rc < 0)
		lfs_segment_put(s);
	return rc;
}

int lfs_topic_list_sealed(lfs_topic *t, uint64_t **bases, size_t *count)
{
	lfs_rwlock_rdlock(&t->segs_lock);
	size_t n = 0;
	uint64_t *v = malloc((t->nsegs + 1) * sizeof(*v));
	if (v)
		for (size_t i = 0; i < t->nsegs; i++)
			if (atomic_load(&t->segs[i]->sealed))
				v[n++] = t->segs[i]->base;
	lfs_rwlock_unlock(&t->segs_lock);
	if (!v)
		return -ENOMEM;
	*bases = v;
	*count = n;
	return 0;
}

struct base_key {
	lfs_segment *const *segs;
	uint64_t key;
};

static bool base_before(uint64_t i, void *ctx)
{
	const struct base_key *k = ctx;
	return k->segs[i]->base < k->key;
}

static bool stream_pos_at_or_before(uint64_t i, void *ctx)
{
	const struct base_key *k = ctx;
	return k->segs[i]->stream_pos <= k->key;
}

/* The index of the first segment whose base is at least base (segs_lock
 * held). */
static size_t seg_lower_bound(lfs_topic *t, uint64_t base)
{
	LFS_ASSERT_READ_HELD(&t->segs_lock);
	struct base_key k = {t->segs, base};
	return lfs_bisect(0, t->nsegs, base_before, &k);
}

int lfs_segment_get(lfs_topic *t, uint64_t base, lfs_segment **out)
{
	int rc = -ENOENT;
	lfs_rwlock_rdlock(&t->segs_lock);
	size_t i = seg_lower_bound(t, base);
	if (i < t->nsegs && t->segs[i]->base == base && atomic_load(&t->segs[i]->sealed)) {
		lfs_segment_ref(t->segs[i]);
		*out = t->segs[i];
		rc = 0;
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

int lfs_segment_get_next(lfs_topic *t, uint64_t base, lfs_segment **out)
{
	int rc = -ENOENT;
	if (base == UINT64_MAX)
		return rc;
	lfs_rwlock_rdlock(&t->segs_lock);
	size_t i = seg_lower_bound(t, base + 1);
	if (i < t->nsegs && atomic_load(&t->segs[i]->sealed)) {
		lfs_segment_ref(t->segs[i]);
		*out = t->segs[i];
		rc = 0;
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

lfs_segment *lfs_topic_segment_at(lfs_topic *t, uint64_t pos)
{
	lfs_segment *s = NULL;
	lfs_rwlock_rdlock(&t->segs_lock);
	/* Last segment whose stream_pos <= pos. */
	struct base_key k = {t->segs, pos};
	size_t lo = lfs_bisect_last(t->nsegs, stream_pos_at_or_before, &k);
	if (t->nsegs && t->segs[lo]->stream_pos <= pos) {
		s = t->segs[lo];
		lfs_segment_ref(s);
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return s;
}

/* Removes the oldest sealed segment (segs_lock held for writing). */
int lfs_topic_drop_oldest(lfs_topic *t)
{
	LFS_ASSERT_WRITE_HELD(&t->segs_lock);
	lfs_segment *s = t->segs[0];
	/* Open readers that still need s take a reference first, so that
	 * unlink maps it for them. */
	lfs_reader_retire(t, s);
	int rc = lfs_segment_unlink(s);
	memmove(t->segs, t->segs + 1, (t->nsegs - 1) * sizeof(*t->segs));
	t->nsegs--;
	/* Gone from the list, whatever the unlink said: its name no longer
	 * resolves, which whoever caches names may want to know. */
	if (t->vol->segment_gone)
		t->vol->segment_gone(t->vol->segment_gone_ctx, t, s->base);
	lfs_segment_put(s);
	return rc;
}
