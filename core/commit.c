/*
 * Durability: the queue of rolled segments whose seal is still to be
 * written, group commit, and the ticker's per-topic work.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Queues a frozen segment for its seal (append_mu held); takes over the
 * caller's reference. */
int lfs_topic_queue_seal(lfs_topic *t, lfs_segment *s)
{
	LFS_ASSERT_HELD(&t->append_mu);
	if (lfs_array_reserve(&t->unsealed, t->nunsealed, &t->unsealed_cap, sizeof(*t->unsealed),
			      4) < 0)
		return -ENOMEM;
	t->unsealed[t->nunsealed++] = s;
	return 0;
}

/* sync=never leaves durability to the operating system, so the ticker
 * does not flush a rolled segment of such a topic at once: the kernel
 * writes dirty pages back within about 30 s on its own (dirty_expire), and
 * a seal written after that costs no disk wait. Flushing every 64 MiB
 * during a bulk load cost about a sixth of its throughput. What stays
 * unsealed is what mount recovery rescans after a crash, so it is bounded
 * in bytes as well. A sync, fsync(2) and unmount seal everything. */
#define NEVER_SEAL_AGE_NS (30ull * 1000000000ull)
#define NEVER_UNSEALED_MAX (1ull << 30)

/* How many of the oldest queued segments the ticker seals now (append_mu
 * held). */
static size_t seals_due(lfs_topic *t, uint32_t sync_mode, uint64_t now_ns)
{
	LFS_ASSERT_HELD(&t->append_mu);
	if (sync_mode != LFS_SYNC_NEVER)
		return t->nunsealed;
	uint64_t bytes = 0;
	for (size_t i = 0; i < t->nunsealed; i++)
		bytes += atomic_load(&t->unsealed[i]->size);
	size_t k = 0;
	/* The ticker reads its clock before it takes append_mu, so a segment
	 * rolled in between is younger than now_ns says: not due. */
	while (k < t->nunsealed &&
	       (bytes > NEVER_UNSEALED_MAX ||
		(now_ns >= t->unsealed[k]->frozen_ns &&
		 now_ns - t->unsealed[k]->frozen_ns >= NEVER_SEAL_AGE_NS))) {
		bytes -= atomic_load(&t->unsealed[k]->size);
		k++;
	}
	return k;
}

/* Makes the directory entries of every segment created up to `rolls`
 * durable (seal_mu held): one fsync of the topic directory for all the
 * rolls since the last one. */
static int sync_rolls(lfs_topic *t, uint64_t rolls)
{
	LFS_ASSERT_HELD(&t->seal_mu);
	if (t->rolls_synced >= rolls)
		return 0;
	int rc = lfs_topic_files_enter(t);
	if (rc == 0) {
		rc = lfs_fsync_dir(t->dirfd);
		lfs_topic_files_exit(t);
	}
	if (rc < 0) {
		lfs_log(t->vol, LFS_LOG_ERR, "topic %s: cannot sync the directory after a roll: %s",
			t->name, strerror(-rc));
		return rc;
	}
	t->rolls_synced = rolls;
	return 0;
}

/* Writes the seals of the rolled segments, oldest first (all of them, or
 * those seals_due names): the topic directory synced first if segments
 * were created since it last was (so that a sealed segment's successor,
 * and every segment before it, has a durable directory entry), then each
 * one's data and index made durable, then its seal. A segment whose seal
 * fails stays queued, with those after it (and is scanned at mount if the
 * daemon stops before). With all, the directory is synced even when no
 * seal is due: a sync point owes every roll's durability. */
static int seal_rolled(lfs_topic *t, bool all, uint64_t now_ns)
{
	int rc = 0;
	struct lfs_settings st;
	/* Before seal_mu: conf_mu is taken under append_mu (lfs_topic_set),
	 * never the other way, and nothing needs it while seals are written. */
	lfs_topic_settings(t, &st);
	lfs_mutex_lock(&t->seal_mu);
	lfs_mutex_lock(&t->append_mu);
	size_t due = all ? t->nunsealed : seals_due(t, st.sync_mode, now_ns), done = 0;
	uint64_t rolls = t->rolls;
	lfs_mutex_unlock(&t->append_mu);
	if (all || due > 0)
		rc = sync_rolls(t, rolls);
	while (rc == 0 && done < due) {
		/* Entries before `due` stay put (only seal_mu's holder removes
		 * any), but a roll may move the array. */
		lfs_mutex_lock(&t->append_mu);
		lfs_segment *s = t->unsealed[done];
		lfs_mutex_unlock(&t->append_mu);
		rc = lfs_segment_write_seal(s);
		if (rc < 0) {
			lfs_log(t->vol, LFS_LOG_ERR, "topic %s: cannot seal segment %llu yet: %s", t->name,
				(unsigned long long)s->base, strerror(-rc));
			break;
		}
		done++;
	}
	lfs_mutex_lock(&t->append_mu);
	if (done) { /* (the queue may be NULL when nothing was due) */
		for (size_t i = 0; i < done; i++)
			lfs_segment_put(t->unsealed[i]);
		memmove(t->unsealed, t->unsealed + done,
			(t->nunsealed - done) * sizeof(*t->unsealed));
		t->nunsealed -= done;
	}
	lfs_mutex_unlock(&t->append_mu);
	lfs_mutex_unlock(&t->seal_mu);
	return rc;
}

static int seal_unsealed(lfs_topic *t)
{
	return seal_rolled(t, true, 0);
}

/* The leader's flush (only one leader at a time uses the ring). */
static int leader_sync(lfs_topic *t, lfs_segment *s)
{
	if (!t->ring && !t->ring_failed) {
		struct io_uring *r = calloc(1, sizeof(*r));
		int rc = r ? io_uring_queue_init(4, r, 0) : -ENOMEM;
		if (rc < 0) {
			free(r);
			t->ring_failed = true;
			lfs_log(t->vol, LFS_LOG_WARNING, "topic %s: io_uring unavailable (%s): syncing with fdatasync",
				t->name, strerror(-rc));
		} else {
			t->ring = r;
		}
	}
	return t->ring ? lfs_segment_sync_ring(s, t->ring) : lfs_segment_sync(s);
}

/* Group commit: the first waiter becomes the leader and runs fdatasync for
 * everything appended so far; the others wait for a sync that covers their
 * records, so N concurrent appenders share one disk flush. */
int lfs_topic_commit_wait(lfs_topic *t, uint64_t target)
{
	int rc = 0;
	lfs_mutex_lock(&t->sync_mu);
	while (t->durable_offset < target) {
		if (t->syncing) {
			lfs_cond_wait(&t->sync_cond, &t->sync_mu);
			continue;
		}
		t->syncing = true;
		lfs_mutex_unlock(&t->sync_mu);

		lfs_mutex_lock(&t->append_mu);
		uint64_t upto = atomic_load(&t->next_offset);
		lfs_segment *s = t->active;
		lfs_segment_ref(s);
		atomic_store(&t->dirty, false);
		lfs_mutex_unlock(&t->append_mu);
		/* Everything before s is in rolled segments: seal them (which
		 * makes them durable) first. A roll after the capture freezes
		 * s itself; its seal closes s's descriptors, so s->mu keeps
		 * them open while we sync through them. */
		int r = seal_unsealed(t);
		lfs_mutex_lock(&s->mu);
		if (r == 0)
			r = s->data_fd >= 0 ? leader_sync(t, s) : 0;
		lfs_mutex_unlock(&s->mu);
		lfs_segment_put(s);

		lfs_mutex_lock(&t->sync_mu);
		t->syncing = false;
		if (r == 0 && t->durable_offset < upto)
			t->durable_offset = upto;
		if (r < 0) {
			atomic_store(&t->dirty, true);
			rc = r;
		}
		atomic_store(&t->last_sync_ns, lfs_volume_now(t->vol));
		pthread_cond_broadcast(&t->sync_cond);
		if (r < 0)
			break;
	}
	lfs_mutex_unlock(&t->sync_mu);
	return rc;
}

int lfs_topic_sync(lfs_topic *t)
{
	if (t->vol->readonly)
		return 0;
	return lfs_topic_commit_wait(t, atomic_load_explicit(&t->acked_offset, memory_order_acquire));
}

int lfs_topic_flush(lfs_topic *t)
{
	int rc = t->vol->readonly ? 0 : seal_unsealed(t);
	lfs_mutex_lock(&t->append_mu);
	if (t->active && !t->vol->readonly) {
		int r = lfs_segment_close_active(t->active);
		if (rc == 0)
			rc = r;
	}
	lfs_mutex_unlock(&t->append_mu);
	return rc;
}

void lfs_topic_tick(lfs_topic *t, uint64_t now_ns)
{
	struct lfs_settings st;
	lfs_cursors_tick(t, now_ns);
	if (!t->vol->readonly && seal_rolled(t, false, now_ns) < 0)
		return; /* logged; retried next tick */
	lfs_topic_settings(t, &st);
	if (st.sync_mode == LFS_SYNC_INTERVAL && atomic_load(&t->dirty) &&
	    now_ns - atomic_load(&t->last_sync_ns) >= (uint64_t)st.sync_ms * 1000000ull) {
		int rc = lfs_topic_sync(t);
		if (rc == -EIO) /* the disk's: the data may not be there */
			lfs_volume_error(t->vol, "topic %s: background sync failed: %s", t->name,
					 strerror(-rc));
		else if (rc < 0)
			lfs_log(t->vol, LFS_LOG_ERR, "topic %s: background sync failed: %s", t->name,
				strerror(-rc));
	}
	lfs_topic_apply_retention(t, now_ns);
}
