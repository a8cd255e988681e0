/*
 * A topic's files on demand. A loaded topic used to keep its directory and
 * its active segment's two files open, and both files mapped, for as long
 * as the volume was mounted: three descriptors and two mappings per topic,
 * so that a volume of some thousands of topics could no longer be mounted
 * ("Too many open files", or the kernel's limit on mappings). Now at most
 * open_max topics hold theirs; the others are closed while idle and opened
 * again by whoever needs them:
 *
 *  - the directory (t->dirfd): every use holds files_lock for reading
 *    (lfs_topic_files_enter, which reopens it by name and checks it is the
 *    directory that was loaded); closing takes files_lock for writing, with
 *    a try-lock, so a topic in use is simply passed over;
 *  - the active segment: released (cut to its length, made durable,
 *    unmapped, closed, as a clean unmount leaves it) only while nothing
 *    pins it (its references are the segment list's and the active
 *    pointer's: no reader, no sync in flight) and no rolled segment waits
 *    for its seal; the appender takes it again under append_mu
 *    (lfs_topic_active_open), a reader that pinned it while released
 *    through lfs_topic_wake_active;
 *  - the cursor store's descriptor and the group commit's io_uring.
 *
 * Which topics close: a CLOCK over the ring of open topics (files_used is
 * set on every use and cleared as the hand passes), from the ticker, after
 * each topic a mount loads and after a topic is made. The limit defaults
 * to an eighth of the descriptor limit (each open topic takes three to
 * five descriptors; the rest is the daemon's, its handles' and the
 * kernel's), at least 16 and at most 8192.
 *
 * Locks: files_lock, files_mu and the volume's open_mu have their places
 * in the lock table (internal.h); the sweep takes a topic's locks with
 * try-locks only, holding none of the volume's.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPEN_MIN 16
#define OPEN_MAX 8192

/* A build with -DLFS_OPEN_TOPICS_DEFAULT=N keeps N at most: with 1, every
 * idle topic closes its files at each tick, which runs every suite through
 * the reopening paths. */
size_t lfs_files_default_max(void)
{
#ifdef LFS_OPEN_TOPICS_DEFAULT
	return LFS_OPEN_TOPICS_DEFAULT;
#endif
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return OPEN_MAX;
	size_t n = (size_t)(rl.rlim_cur / 8);
	return n < OPEN_MIN ? OPEN_MIN : n > OPEN_MAX ? OPEN_MAX : n;
}

/* Adds t to the ring (open_mu held). */
static void ring_add(lfs_volume *v, lfs_topic *t)
{
	if (!v->open_hand) {
		t->open_prev = t->open_next = t;
		v->open_hand = t;
	} else {
		lfs_topic *h = v->open_hand;
		t->open_next = h;
		t->open_prev = h->open_prev;
		h->open_prev->open_next = t;
		h->open_prev = t;
	}
	v->nopen++;
}

/* Takes t out of the ring (open_mu held). */
static void ring_del(lfs_volume *v, lfs_topic *t)
{
	if (!t->open_next)
		return;
	if (t->open_next == t) {
		v->open_hand = NULL;
	} else {
		t->open_prev->open_next = t->open_next;
		t->open_next->open_prev = t->open_prev;
		if (v->open_hand == t)
			v->open_hand = t->open_next;
	}
	t->open_next = t->open_prev = NULL;
	v->nopen--;
}

int lfs_topic_files_opened(lfs_topic *t)
{
	struct stat st;
	if (fstat(t->dirfd, &st) < 0)
		return -errno;
	t->dir_dev = (uint64_t)st.st_dev;
	t->dir_ino = (uint64_t)st.st_ino;
	int rc = lfs_topic_dir_identity(t->dirfd, t->dir_id);
	if (rc < 0)
		return rc;
	atomic_store(&t->files_used, true);
	atomic_store(&t->files_open, true);
	return 0;
}

void lfs_topic_files_loaded(lfs_topic *t)
{
	lfs_mutex_lock(&t->vol->open_mu);
	ring_add(t->vol, t);
	lfs_mutex_unlock(&t->vol->open_mu);
}

void lfs_topic_files_forget(lfs_topic *t)
{
	lfs_mutex_lock(&t->vol->open_mu);
	ring_del(t->vol, t);
	lfs_mutex_unlock(&t->vol->open_mu);
}

/* Opens the directory again (files_mu held): the same one, by name. */
static int reopen_dir(lfs_topic *t)
{
	LFS_ASSERT_HELD(&t->files_mu);
	if (atomic_load(&t->deleted))
		return -ENOENT; /* its name may be another topic's now */
	int fd = lfs_open_dir(t->vol->topics_fd, t->name);
	if (fd < 0)
		return fd == -ENOENT ? -EIO : fd;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	if ((uint64_t)st.st_dev != t->dir_dev || (uint64_t)st.st_ino != t->dir_ino) {
		lfs_log(t->vol, LFS_LOG_ERR, "topic %s: its directory was replaced behind the daemon's back: "
			"run fsck.logfs", t->name);
		close(fd);
		return -EIO;
	}
	t->dirfd = fd;
	atomic_store_explicit(&t->files_open, true, memory_order_release);
	lfs_mutex_lock(&t->vol->open_mu);
	ring_add(t->vol, t);
	lfs_mutex_unlock(&t->vol->open_mu);
	return 0;
}

int lfs_topic_files_enter(lfs_topic *t)
{
	lfs_rwlock_rdlock(&t->files_lock);
	atomic_store_explicit(&t->files_used, true, memory_order_relaxed);
	if (atomic_load_explicit(&t->files_open, memory_order_acquire))
		return 0;
	lfs_mutex_lock(&t->files_mu);
	int rc = atomic_load(&t->files_open) ? 0 : reopen_dir(t);
	lfs_mutex_unlock(&t->files_mu);
	if (rc < 0)
		lfs_rwlock_unlock(&t->files_lock);
	return rc;
}

void lfs_topic_files_exit(lfs_topic *t)
{
	lfs_rwlock_unlock(&t->files_lock);
}

int lfs_topic_active_open(lfs_topic *t)
{
	LFS_ASSERT_HELD(&t->append_mu);
	lfs_segment *s = t->active;
	atomic_store_explicit(&t->files_used, true, memory_order_relaxed);
	if (!s || !atomic_load(&s->released))
		return 0;
	return lfs_segment_reopen_active(s);
}

int lfs_topic_active_ensure(lfs_topic *t)
{
	lfs_mutex_lock(&t->append_mu);
	int rc = lfs_topic_active_open(t);
	lfs_mutex_unlock(&t->append_mu);
	return rc;
}

int lfs_topic_wake_active(lfs_segment *s)
{
	lfs_topic *t = s->topic;
	lfs_mutex_lock(&t->append_mu);
	/* Only the active segment is ever released, and it is taken again
	 * before a roll can make it another. */
	int rc = t->active == s ? lfs_topic_active_open(t) : 0;
	lfs_mutex_unlock(&t->append_mu);
	return rc;
}

/* Closes an idle topic's files: true when it holds none any more. Takes
 * every lock with a try-lock: a topic in use is passed over. */
static bool release(lfs_topic *t)
{
	bool done = false;
	if (lfs_mutex_trylock(&t->append_mu) != 0)
		return false;
	if (lfs_rwlock_trywrlock(&t->segs_lock) != 0) {
		lfs_mutex_unlock(&t->append_mu);
		return false;
	}
	lfs_segment *s = t->active;
	bool idle = t->nunsealed == 0 && (!s || atomic_load(&s->refs) == 2);
	/* The active segment first: its release takes s->mu, which a mapping
	 * holds while it opens a file (under files_lock): never while holding
	 * files_lock. */
	if (idle && s && !t->vol->readonly && lfs_segment_release_active(s) < 0)
		idle = false;
	/* The cursor store's mu is taken before files_lock too (ensure_file). */
	if (idle && !lfs_cursors_release(t))
		idle = false;
	if (idle && lfs_rwlock_trywrlock(&t->files_lock) == 0) {
		bool ring = lfs_mutex_trylock(&t->sync_mu) == 0;
		if (ring && !t->syncing) {
			if (t->ring) {
				io_uring_queue_exit(t->ring);
				free(t->ring);
				t->ring = NULL;
			}
			if (t->dirfd >= 0)
				close(t->dirfd);
			t->dirfd = -1;
			atomic_store(&t->files_open, false);
			lfs_mutex_lock(&t->vol->open_mu);
			ring_del(t->vol, t);
			lfs_mutex_unlock(&t->vol->open_mu);
			done = true;
		}
		if (ring)
			lfs_mutex_unlock(&t->sync_mu);
		lfs_rwlock_unlock(&t->files_lock);
	}
	lfs_rwlock_unlock(&t->segs_lock);
	lfs_mutex_unlock(&t->append_mu);
	return done;
}

void lfs_volume_files_trim(lfs_volume *v)
{
	lfs_mutex_lock(&v->open_mu);
	/* Two turns of the hand at most: the first clears the bits of the
	 * topics used since the last sweep, the second finds them idle. */
	size_t budget = 2 * v->nopen + 1;
	while (v->nopen > v->open_max && budget-- > 0 && v->open_hand) {
		lfs_topic *t = v->open_hand;
		v->open_hand = t->open_next;
		if (atomic_exchange(&t->files_used, false))
			continue;
		/* A topic whose last reference is going waits for open_mu
		 * to leave the ring (lfs_topic_files_forget): not one to
		 * take a reference on. */
		int refs = atomic_load(&t->refs);
		do
			if (refs == 0)
				break;
		while (!atomic_compare_exchange_weak(&t->refs, &refs, refs + 1));
		if (refs == 0)
			continue;
		lfs_mutex_unlock(&v->open_mu);
		release(t);
		lfs_topic_put(t);
		lfs_mutex_lock(&v->open_mu);
	}
	lfs_mutex_unlock(&v->open_mu);
}
