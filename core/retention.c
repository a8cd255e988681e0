/*
 * Retention: deleting a topic's oldest segments by size, age, or on
 * request, never past the retention floor.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lfs_topic_delete_segment(lfs_topic *t, uint64_t base)
{
	if (t->vol->readonly)
		return -EROFS;
	lfs_rwlock_wrlock(&t->segs_lock);
	int rc = -EPERM;
	if (t->nsegs > 1 && t->segs[0]->base == base && atomic_load(&t->segs[0]->sealed))
		rc = lfs_topic_drop_oldest(t);
	else if (t->nsegs == 0 || base < t->segs[0]->base)
		rc = -ENOENT;
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

void lfs_topic_set_retention_floor(lfs_topic *t, uint64_t floor)
{
	atomic_store(&t->retention_floor, floor);
}

uint64_t lfs_topic_retention_floor(lfs_topic *t)
{
	return atomic_load(&t->retention_floor);
}

int lfs_topic_apply_retention(lfs_topic *t, uint64_t now_ns)
{
	struct lfs_settings st;
	int deleted = 0;

	if (t->vol->readonly)
		return 0;
	lfs_topic_settings(t, &st);
	if (!st.retention_bytes && !st.retention_ms)
		return 0;
	lfs_rwlock_wrlock(&t->segs_lock);
	while (t->nsegs > 1 && atomic_load(&t->segs[0]->sealed)) {
		lfs_segment *s = t->segs[0];
		uint64_t bytes = atomic_load(&t->end_pos) - s->stream_pos;
		bool by_bytes = st.retention_bytes && bytes > st.retention_bytes;
		uint64_t newest = atomic_load(&s->last_ts);
		/* "newest + retention < now" without overflowing. */
		bool by_age = st.retention_ms && newest < now_ns &&
			      now_ns - newest > lfs_ms_to_ns(st.retention_ms);
		if (!by_bytes && !by_age)
			break;
		/* Records at or past the floor stay, whatever the limits say. */
		if (atomic_load(&s->next_offset) > atomic_load(&t->retention_floor))
			break;
		int rc = lfs_topic_drop_oldest(t);
		if (rc < 0) {
			lfs_log(t->vol, LFS_LOG_ERR, "topic %s: retention could not delete segment: %s",
				t->name, strerror(-rc));
			break;
		}
		deleted++;
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return deleted;
}
