/*
 * The core's locks: pthread mutexes and rwlocks that, in a debug build (no
 * NDEBUG), know who holds them, so that a function documented "(X held)"
 * asserts it on entry (LFS_ASSERT_HELD and friends). The order they are
 * taken in is the lock table in internal.h.
 */
#ifndef LFS_LOCK_H
#define LFS_LOCK_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

/* A token unique to the calling thread: the address of a thread-local. */
extern _Thread_local char lfs_self_token;
static inline const void *lfs_thread_self(void)
{
	return &lfs_self_token;
}

typedef struct {
	pthread_mutex_t mu;
#ifndef NDEBUG
	_Atomic(const void *) owner;
#endif
} lfs_mutex;

typedef struct {
	pthread_rwlock_t rw;
#ifndef NDEBUG
	_Atomic(const void *) writer;
	atomic_int readers;
#endif
} lfs_rwlock;

static inline void lfs_mutex_init(lfs_mutex *m)
{
	pthread_mutex_init(&m->mu, NULL);
#ifndef NDEBUG
	atomic_init(&m->owner, NULL);
#endif
}

static inline void lfs_mutex_destroy(lfs_mutex *m)
{
	pthread_mutex_destroy(&m->mu);
}

static inline void lfs_mutex_lock(lfs_mutex *m)
{
	pthread_mutex_lock(&m->mu);
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, lfs_thread_self(), memory_order_relaxed);
#endif
}

/* 0 when taken, else EBUSY (pthread_mutex_trylock). */
static inline int lfs_mutex_trylock(lfs_mutex *m)
{
	int rc = pthread_mutex_trylock(&m->mu);
#ifndef NDEBUG
	if (rc == 0)
		atomic_store_explicit(&m->owner, lfs_thread_self(), memory_order_relaxed);
#endif
	return rc;
}

static inline void lfs_mutex_unlock(lfs_mutex *m)
{
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
#endif
	pthread_mutex_unlock(&m->mu);
}

/* pthread_cond_wait on m: m is released while waiting. */
static inline void lfs_cond_wait(pthread_cond_t *c, lfs_mutex *m)
{
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
#endif
	pthread_cond_wait(c, &m->mu);
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, lfs_thread_self(), memory_order_relaxed);
#endif
}

static inline int lfs_cond_timedwait(pthread_cond_t *c, lfs_mutex *m, const struct timespec *ts)
{
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
#endif
	int rc = pthread_cond_timedwait(c, &m->mu, ts);
#ifndef NDEBUG
	atomic_store_explicit(&m->owner, lfs_thread_self(), memory_order_relaxed);
#endif
	return rc;
}

static inline void lfs_rwlock_init(lfs_rwlock *l)
{
	pthread_rwlock_init(&l->rw, NULL);
#ifndef NDEBUG
	atomic_init(&l->writer, NULL);
	atomic_init(&l->readers, 0);
#endif
}

static inline void lfs_rwlock_destroy(lfs_rwlock *l)
{
	pthread_rwlock_destroy(&l->rw);
}

static inline void lfs_rwlock_rdlock(lfs_rwlock *l)
{
	pthread_rwlock_rdlock(&l->rw);
#ifndef NDEBUG
	atomic_fetch_add_explicit(&l->readers, 1, memory_order_relaxed);
#endif
}

static inline void lfs_rwlock_wrlock(lfs_rwlock *l)
{
	pthread_rwlock_wrlock(&l->rw);
#ifndef NDEBUG
	atomic_store_explicit(&l->writer, lfs_thread_self(), memory_order_relaxed);
#endif
}

/* 0 when taken for writing, else EBUSY (pthread_rwlock_trywrlock). */
static inline int lfs_rwlock_trywrlock(lfs_rwlock *l)
{
	int rc = pthread_rwlock_trywrlock(&l->rw);
#ifndef NDEBUG
	if (rc == 0)
		atomic_store_explicit(&l->writer, lfs_thread_self(), memory_order_relaxed);
#endif
	return rc;
}

static inline void lfs_rwlock_unlock(lfs_rwlock *l)
{
#ifndef NDEBUG
	/* A writer excludes readers: if this thread is the writer, it is
	 * its write lock that ends. */
	if (atomic_load_explicit(&l->writer, memory_order_relaxed) == lfs_thread_self())
		atomic_store_explicit(&l->writer, NULL, memory_order_relaxed);
	else
		atomic_fetch_sub_explicit(&l->readers, 1, memory_order_relaxed);
#endif
	pthread_rwlock_unlock(&l->rw);
}

#ifndef NDEBUG
static inline bool lfs_mutex_held(lfs_mutex *m)
{
	return atomic_load_explicit(&m->owner, memory_order_relaxed) == lfs_thread_self();
}
static inline bool lfs_rwlock_held_write(lfs_rwlock *l)
{
	return atomic_load_explicit(&l->writer, memory_order_relaxed) == lfs_thread_self();
}
/* Held by this thread for writing, or by some thread for reading (which
 * reader is not recorded). */
static inline bool lfs_rwlock_held(lfs_rwlock *l)
{
	return lfs_rwlock_held_write(l) || atomic_load_explicit(&l->readers, memory_order_relaxed) > 0;
}
#define LFS_ASSERT_HELD(m) assert(lfs_mutex_held(m))
#define LFS_ASSERT_WRITE_HELD(l) assert(lfs_rwlock_held_write(l))
#define LFS_ASSERT_READ_HELD(l) assert(lfs_rwlock_held(l))
#else
#define LFS_ASSERT_HELD(m) ((void)(m))
#define LFS_ASSERT_WRITE_HELD(l) ((void)(l))
#define LFS_ASSERT_READ_HELD(l) ((void)(l))
#endif

#endif
