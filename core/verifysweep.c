/*
 * Checking cached sealed history right after the mount.
 *
 * A sealed segment is handed to FUSE passthrough only once every batch of
 * it has passed its CRC since the volume was opened, so the first reader of
 * each segment after a mount pays for one read of it (lfs_segment_verify).
 * Segments whose data files are already in the page cache (the volume was
 * in use before this mount, or its files were just written) can be checked
 * before anyone asks, at no disk cost: this sweep does that in one thread
 * at the lowest CPU priority (nice 19), so that a user's first `grep` over
 * history finds them checked.
 *
 * Bounds: only a data file in the page cache (cachestat(2); all but at
 * most 1/16 of its pages) is checked, so the sweep reads next to nothing
 * from the disk and evicts next to nothing; at
 * most `budget` bytes per mount; newest segments of each topic first (the
 * history most likely read). A segment is checked in steps of
 * LFS_SWEEP_STEP bytes, letting go of it between steps: a reader's first
 * open that comes meanwhile waits for one step at most, and then checks
 * only what is left, at its own priority. What a step concludes is what a
 * first open would: a bad batch is logged and recorded the same way, and
 * the segment is then served by the daemon (EIO from the bad batch).
 *
 * The thread stops at lfs_volume_close, before the topics close, dropping
 * what it has not checked. A sweep in `manual` mode (unit tests) starts no
 * thread: lfs_verify_sweep_step runs one step in the caller.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LFS_SWEEP_STEP (2u << 20)
#define LFS_SWEEP_MISSING 16

/* cachestat(2) (Linux 6.5; syscall 451 on every architecture), which
 * Debian 12's headers do not have: the kernel's UAPI structures. */
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif
struct lfs_cachestat_range {
	uint64_t off, len;
};
struct lfs_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

bool lfs_sweep_enough_cached(uint64_t cached, uint64_t pages)
{
	return cached >= pages - pages / LFS_SWEEP_MISSING;
}

/* 1 when the file's first `size` bytes are in the page cache but for at
 * most 1/LFS_SWEEP_MISSING of their pages, 0 when more are missing, -errno
 * when the kernel cannot say (ENOSYS before Linux 6.5). Not "every page":
 * proactive reclaim (DAMON, as on the VMs this was measured on) keeps
 * evicting a percent or two of the pages of files nobody reads, and
 * reading those few again costs little next to the check. */
static int file_cached(int fd, uint64_t size)
{
	struct lfs_cachestat_range r = {0, size};
	struct lfs_cachestat cs;
	if (syscall(SYS_cachestat, fd, &r, &cs, 0) < 0)
		return -errno;
	long ps = sysconf(_SC_PAGESIZE);
	return lfs_sweep_enough_cached(cs.nr_cache, (size + (uint64_t)ps - 1) / (uint64_t)ps);
}

void lfs_verify_sweep_init(struct lfs_verify_sweep *sw)
{
	memset(sw, 0, sizeof(*sw));
	lfs_mutex_init(&sw->mu);
	sw->cached = file_cached;
	sw->step = LFS_SWEEP_STEP;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Drops the segment and topic the sweep holds. */
static void drop_segment(struct lfs_verify_sweep *sw)
{
	if (sw->seg)
		lfs_segment_put(sw->seg);
	sw->seg = NULL;
}

static void drop_topic(struct lfs_verify_sweep *sw)
{
	drop_segment(sw);
	if (sw->topic)
		lfs_topic_put(sw->topic);
	sw->topic = NULL;
	free(sw->bases);
	sw->bases = NULL;
	sw->nbases = 0;
}

static void drop_all(struct lfs_verify_sweep *sw)
{
	drop_topic(sw);
	for (size_t i = 0; i < sw->ntopics; i++)
		free(sw->names[i]);
	free(sw->names);
	sw->names = NULL;
	sw->ntopics = sw->ti = 0;
}

/* Whether segment s is one to check now: pending, within the budget, its
 * data file cached (counted as skipped otherwise). */
static bool worth_checking(struct lfs_verify_sweep *sw, lfs_segment *s)
{
	if (!atomic_load(&s->verify_pending) || !atomic_load(&s->sealed))
		return false;
	uint64_t size = atomic_load(&s->size);
	if (size > sw->budget) {
		sw->skipped++;
		return false;
	}
	int fd = lfs_segment_open_file(s, "log", O_RDONLY);
	if (fd < 0) {
		sw->skipped++;
		return false;
	}
	int rc = sw->cached(fd, size);
	close(fd);
	if (rc < 0) {
		/* The kernel cannot say (before 6.5): nothing is checked
		 * blind, which could read the whole volume from the disk. */
		sw->no_cachestat = rc;
		sw->budget = 0;
		return false;
	}
	if (rc == 0)
		sw->skipped++;
	return rc == 1;
}

/* Finds the next segment to check (newest first within a topic, topics in
 * name order); false when there is none. */
static bool next_segment(lfs_volume *v, struct lfs_verify_sweep *sw)
{
	for (;;) {
		if (sw->budget == 0 || atomic_load(&sw->stopping))
			return false;
		while (sw->nbases > 0) {
			lfs_segment *s;
			uint64_t base = sw->bases[--sw->nbases];
			if (lfs_segment_get(sw->topic, base, &s) < 0)
				continue; /* retention came first */
			if (worth_checking(sw, s)) {
				sw->seg = s;
				sw->seg_size = atomic_load(&s->size);
				sw->budget -= sw->seg_size;
				return true;
			}
			lfs_segment_put(s);
			if (sw->budget == 0)
				return false;
		}
		drop_topic(sw);
		if (sw->ti == sw->ntopics)
			return false;
		if (lfs_topic_get(v, sw->names[sw->ti++], &sw->topic) < 0)
			continue; /* removed since listed */
		if (lfs_topic_list_sealed(sw->topic, &sw->bases, &sw->nbases) < 0)
			sw->nbases = 0;
	}
}

static void report(lfs_volume *v, struct lfs_verify_sweep *sw)
{
	if (sw->no_cachestat)
		lfs_log(v, LFS_LOG_INFO,
			"sealed segments are checked at their first open: the kernel cannot say "
			"which are cached (cachestat: %s)",
			strerror(-sw->no_cachestat));
	else
		lfs_log(v, LFS_LOG_INFO,
			"background check of cached sealed segments done: %llu checked (%llu "
			"MiB, %llu failed) in %.0f ms, %llu left to their first open",
			(unsigned long long)sw->checked, (unsigned long long)(sw->bytes >> 20),
			(unsigned long long)sw->failed, now_ms() - sw->started_ms,
			(unsigned long long)sw->skipped);
}

bool lfs_verify_sweep_step(lfs_volume *v)
{
	struct lfs_verify_sweep *sw = &v->sweep;
	lfs_mutex_lock(&sw->mu);
	bool more = true;
	if (!sw->seg && !next_segment(v, sw)) {
		if (!sw->finished && !atomic_load(&sw->stopping))
			report(v, sw);
		sw->finished = true;
		drop_all(sw);
		more = false;
	} else {
		lfs_segment *s = sw->seg;
		int rc = lfs_segment_verify_part(s, sw->step);
		if (rc != 1) {
			/* Done with it: good, bad (logged by the check), or
			 * unreadable (nothing concluded; its first open
			 * checks it). */
			if (rc == 0 || rc == -EIO) {
				sw->checked++;
				sw->bytes += sw->seg_size;
			}
			if (rc == -EIO)
				sw->failed++;
			drop_segment(sw);
		}
	}
	lfs_mutex_unlock(&sw->mu);
	return more;
}

static void *sweep_main(void *arg)
{
	lfs_volume *v = arg;
	/* The lowest priority: readers, writers and the check of a segment
	 * someone opens come first. Per thread on Linux (its tid). */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19) < 0)
		lfs_log(v, LFS_LOG_INFO, "background check runs at normal priority: %s",
			strerror(errno));
	while (!atomic_load(&v->sweep.stopping) && lfs_verify_sweep_step(v))
		;
	return NULL;
}

int lfs_volume_verify_cached(lfs_volume *v, uint64_t budget)
{
	struct lfs_verify_sweep *sw = &v->sweep;
	lfs_mutex_lock(&sw->mu);
	int rc = 0;
	if (sw->started || budget == 0)
		goto out;
	rc = lfs_volume_list_topics(v, &sw->names, &sw->ntopics);
	if (rc < 0)
		goto out;
	sw->started = true;
	sw->budget = budget;
	sw->started_ms = now_ms();
	if (!sw->manual) {
		rc = -pthread_create(&sw->thread, NULL, sweep_main, v);
		sw->running = rc == 0;
		if (rc < 0)
			drop_all(sw);
	}
out:
	lfs_mutex_unlock(&sw->mu);
	return rc;
}

void lfs_verify_sweep_stop(lfs_volume *v)
{
	struct lfs_verify_sweep *sw = &v->sweep;
	atomic_store(&sw->stopping, true);
	lfs_mutex_lock(&sw->mu);
	bool running = sw->running;
	sw->running = false;
	lfs_mutex_unlock(&sw->mu);
	if (running)
		pthread_join(sw->thread, NULL);
	lfs_mutex_lock(&sw->mu);
	drop_all(sw);
	lfs_mutex_unlock(&sw->mu);
}

void lfs_verify_sweep_destroy(struct lfs_verify_sweep *sw)
{
	lfs_mutex_destroy(&sw->mu);
}
