/*
 * The cursor store's structures, shared by cursor.c (the store and the
 * operations by name) and cursorhandle.c (reading handles); the check that
 * mount and fsck share is cursorcheck.c. Locks: the lock table in
 * internal.h (cursors->mu > cursor->mu).
 */
#ifndef LFS_CURSORINT_H
#define LFS_CURSORINT_H

#include "internal.h"

/* Background commit period of an open reading handle: with the ticker's
 * granularity, a position reached is durable within a second. */
#define COMMIT_EVERY_NS 500000000ull

/* Kept small (the name apart): a mount builds one per cursor of every
 * topic, and fresh memory costs a page fault per 4 KiB touched. */
struct rec {
	struct lfs_cursor_found c; /* name, state and pair */
	unsigned opens;     /* handles open on it */
	lfs_cursor *reader; /* the reading handle, or NULL */
};

struct lfs_cursor_store {
	lfs_mutex mu;
	int fd;              /* -1 until the file exists (or read-only) */
	struct rec **recs;   /* sorted by name */
	size_t n, cap;
	uint64_t npairs;     /* pairs the file holds */
	uint64_t *free;      /* zeroed pairs to reuse */
	size_t nfree, freecap;
	unsigned readers;    /* open reading handles */
	/* Loaded lazily (lfs_cursor_lock_store): a mount reads no store, and
	 * a topic's store is read and checked, against the log as it was at
	 * mount, by the first operation on its cursors. */
	bool loaded;
	uint64_t mount_first, mount_next; /* the log's offsets when the topic was loaded */
};

struct lfs_cursor {
	lfs_topic *t;
	struct rec *rec;
	lfs_reader *reader; /* NULL for a handle that does not read */
	lfs_mutex mu;
	uint64_t consumed;       /* bytes of the view returned so far (under mu) */
	uint64_t last_commit_ns; /* under the store's mu */
	atomic_bool flushed;     /* its opener closed it and it has not read since */
};


/* The index of the record called name in the store (store mu held), or
 * -(where it would go) - 1. */
ssize_t lfs_cursor_find(struct lfs_cursor_store *st, const char *name);
/* Locks the store of t (its mu), loading it first if no operation has
 * yet. Returns 0 with the lock held, or -errno without it (a failed load
 * is tried again by the next operation). */
int lfs_cursor_lock_store(lfs_topic *t);
/* Durably replaces the record's state by s (seq one higher): the slot that
 * does not hold the current state is written (store mu held). */
int lfs_cursor_commit_slot(lfs_topic *t, struct rec *r, const struct lfs_cursor_found *s);

#endif
