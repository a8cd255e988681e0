/*
 * Checking sealed history ahead of its readers.
 *
 * The first open of a sealed segment after the volume is opened checks
 * every batch of it before its data file is handed out (lfs_segment_verify:
 * a copy out of the page cache and a CRC, about the cost of reading it).
 * Readers of history read segment after segment (a grep or a cat over all
 * of a topic's segment files), so while one reads segment k, one background thread
 * checks segment k+1; on a machine with a CPU to spare, the next open then
 * finds its check done. Like readahead, it is a guess: a reader that opens
 * one old segment makes the thread read one segment it will not use.
 *
 * The queue holds at most LFS_AHEAD_SLOTS segments; a request that finds
 * it full is dropped (the segment is then checked by its own first open,
 * as without this thread). Each queued segment holds a reference to itself
 * and to its topic, so retention or rmdir cannot free either under the
 * thread; a check of a segment whose files are gone fails, concludes
 * nothing, and is forgotten.
 *
 * The thread starts with the first request and stops in lfs_volume_close,
 * before the topics close. A volume whose verify-ahead is `manual` (unit
 * tests) starts no thread: lfs_verify_ahead_run_one runs one job in the
 * caller.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

void lfs_verify_ahead_init(struct lfs_verify_ahead *va)
{
	memset(va, 0, sizeof(*va));
	lfs_mutex_init(&va->mu);
	pthread_cond_init(&va->cond, NULL);
}

/* Takes the oldest job off the queue (va->mu held); false when empty. */
static bool take_job(struct lfs_verify_ahead *va, lfs_segment **s, lfs_topic **t)
{
	LFS_ASSERT_HELD(&va->mu);
	if (va->count == 0)
		return false;
	*s = va->segs[va->head];
	*t = va->topics[va->head];
	va->head = (va->head + 1) % LFS_AHEAD_SLOTS;
	va->count--;
	return true;
}

static void run_job(lfs_segment *s, lfs_topic *t)
{
	/* The result is kept in the segment (good or bad from the batch that
	 * fails); its readers see it at their own open. */
	(void)lfs_segment_verify(s);
	lfs_segment_put(s);
	lfs_topic_put(t);
}

bool lfs_verify_ahead_run_one(lfs_volume *v)
{
	struct lfs_verify_ahead *va = &v->ahead;
	lfs_segment *s;
	lfs_topic *t;
	lfs_mutex_lock(&va->mu);
	bool got = take_job(va, &s, &t);
	lfs_mutex_unlock(&va->mu);
	if (got)
		run_job(s, t);
	return got;
}

static void *ahead_main(void *arg)
{
	lfs_volume *v = arg;
	struct lfs_verify_ahead *va = &v->ahead;
	lfs_mutex_lock(&va->mu);
	while (!va->stopping) {
		lfs_segment *s;
		lfs_topic *t;
		if (take_job(va, &s, &t)) {
			lfs_mutex_unlock(&va->mu);
			run_job(s, t);
			lfs_mutex_lock(&va->mu);
		} else {
			lfs_cond_wait(&va->cond, &va->mu);
		}
	}
	lfs_mutex_unlock(&va->mu);
	return NULL;
}

/* Queues s of t (va->mu held); false when the queue is full or s is
 * already queued. Takes the references the queue keeps. */
static bool queue_job(struct lfs_verify_ahead *va, lfs_segment *s, lfs_topic *t)
{
	LFS_ASSERT_HELD(&va->mu);
	if (va->count == LFS_AHEAD_SLOTS || va->stopping)
		return false;
	for (unsigned i = 0; i < va->count; i++)
		if (va->segs[(va->head + i) % LFS_AHEAD_SLOTS] == s)
			return false;
	unsigned tail = (va->head + va->count) % LFS_AHEAD_SLOTS;
	lfs_segment_ref(s);
	lfs_topic_ref(t);
	va->segs[tail] = s;
	va->topics[tail] = t;
	va->count++;
	return true;
}

int lfs_topic_verify_ahead(lfs_topic *t, uint64_t base)
{
	lfs_volume *v = t->vol;
	struct lfs_verify_ahead *va = &v->ahead;
	lfs_segment *next;
	int rc = lfs_segment_get_next(t, base, &next);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	if (!atomic_load(&next->verify_pending)) {
		lfs_segment_put(next);
		return 0;
	}
	lfs_mutex_lock(&va->mu);
	rc = 0;
	if (!va->manual && !va->running && !va->stopping) {
		rc = -pthread_create(&va->thread, NULL, ahead_main, v);
		va->running = rc == 0;
	}
	if (rc == 0 && queue_job(va, next, t))
		pthread_cond_signal(&va->cond);
	lfs_mutex_unlock(&va->mu);
	lfs_segment_put(next);
	return rc;
}

void lfs_verify_ahead_stop(lfs_volume *v)
{
	struct lfs_verify_ahead *va = &v->ahead;
	lfs_mutex_lock(&va->mu);
	va->stopping = true;
	bool running = va->running;
	pthread_cond_broadcast(&va->cond);
	lfs_mutex_unlock(&va->mu);
	if (running)
		pthread_join(va->thread, NULL);
	/* What is still queued is dropped unchecked: a close does not wait
	 * for checks that no reader asked for. */
	lfs_segment *s;
	lfs_topic *t;
	lfs_mutex_lock(&va->mu);
	while (take_job(va, &s, &t)) {
		lfs_mutex_unlock(&va->mu);
		lfs_segment_put(s);
		lfs_topic_put(t);
		lfs_mutex_lock(&va->mu);
	}
	va->running = false;
	lfs_mutex_unlock(&va->mu);
}

void lfs_verify_ahead_destroy(struct lfs_verify_ahead *va)
{
	pthread_cond_destroy(&va->cond);
	lfs_mutex_destroy(&va->mu);
}
