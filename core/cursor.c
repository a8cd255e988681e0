/*
 * Consumer cursors: named, durable read positions of a topic.
 *
 * The store is one file per topic (LFS_CURSOR_FILE in the topic directory,
 * format.h and docs/FORMAT.md): a pair of slots per cursor. A commit writes
 * the slot that does not hold the newest state, then fdatasyncs: one
 * pwrite and one flush, and a crash in the middle leaves the previous
 * commit in the other slot. Creating and deleting write a whole pair.
 *
 * A cursor has at most one reading handle. The handle records how far into
 * its view (an lfs_reader from the committed offset) reads have returned
 * bytes; a commit turns that byte count into the offset of the record after
 * the last whole one returned (lfs_reader_offset_at). Commits happen at
 * flush (close(2)), at close, and from the volume's ticker at least every
 * second while the handle stays open.
 *
 * A mount reads no store: a topic's store is read and checked by the first
 * operation on its cursors (lfs_cursor_lock_store), against the log as it
 * was when the topic was loaded, so a mount's time does not grow with the
 * number of cursors and the check finds what a check at mount would have.
 *
 * Locks: store->mu protects the loading, the records, the file and each record's
 * reading-handle pointer; a handle's mu protects its reader and its
 * consumed count (taken under store->mu by commits, alone by reads).
 */
#include "cursorint.h"
#include "bisect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the store file ---- */

struct name_key {
	const struct lfs_cursor_store *st;
	const char *name;
};

static bool name_before(uint64_t i, void *ctx)
{
	const struct name_key *k = ctx;
	return strcmp(k->st->recs[i]->c.name, k->name) < 0;
}

ssize_t lfs_cursor_find(struct lfs_cursor_store *st, const char *name)
{
	struct name_key k = {st, name};
	size_t i = lfs_bisect(0, st->n, name_before, &k);
	if (i < st->n && strcmp(st->recs[i]->c.name, name) == 0)
		return (ssize_t)i;
	return -(ssize_t)i - 1;
}

static int ensure_file(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	if (st->fd >= 0)
		return 0;
	if (t->vol->readonly)
		return -EROFS;
	int rc = lfs_topic_files_enter(t);
	if (rc < 0)
		return rc;
	int fd = lfs_cursor_store_open(t->dirfd, O_RDWR | O_CREAT);
	/* The file's name must survive a crash as its first cursor does. */
	rc = fd < 0 ? fd : lfs_fsync_dir(t->dirfd);
	lfs_topic_files_exit(t);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	st->fd = fd;
	return 0;
}

static int write_sync(int fd, const void *buf, size_t len, uint64_t off)
{
	int rc = lfs_pwrite_full(fd, buf, len, off);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	return rc;
}

/* Durably replaces the record's state by s (seq one higher): the slot that
 * does not hold the current state is written. */
int lfs_cursor_commit_slot(lfs_topic *t, struct rec *r, const struct lfs_cursor_found *s)
{
	unsigned char buf[LFS_CURSOR_SLOT_SIZE];
	struct lfs_cursor_found n = *s;
	struct lfs_cursor_slot slot;
	n.seq = r->c.seq + 1;
	lfs_cursor_found_to_slot(&n, &slot);
	lfs_cursor_slot_encode(&slot, buf);
	int rc = ensure_file(t); /* an idle topic's store is closed (files.c) */
	if (rc == 0)
		rc = write_sync(t->cursors->fd, buf, sizeof(buf), lfs_cursor_slot_pos(r->c.pair, n.seq));
	if (rc < 0) {
		lfs_log(t->vol, LFS_LOG_ERR, "topic %s: cursor %s: commit failed: %s", t->name, r->c.name,
			strerror(-rc));
		return rc;
	}
	r->c = n;
	return 0;
}

static uint64_t first_offset(lfs_topic *t)
{
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	return ts.first_offset;
}

/* ---- loading ---- */

static void log_problem(void *ctx, const struct lfs_problem *p)
{
	lfs_topic *t = ctx;
	lfs_log(t->vol, LFS_LOG_WARNING, "topic %s: %s%s", t->name, p->message, p->repaired ? " (repaired)" : "");
}

static int push_free(struct lfs_cursor_store *st, uint64_t pair)
{
	if (lfs_array_reserve(&st->free, st->nfree, &st->freecap, sizeof(*st->free), 16) < 0)
		return -ENOMEM;
	st->free[st->nfree++] = pair;
	return 0;
}

/* Empties the store (its mu held, or the last reference gone). */
static void unload_locked(struct lfs_cursor_store *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->recs[i]->c.name);
		free(st->recs[i]);
	}
	free(st->recs);
	free(st->free);
	if (st->fd >= 0)
		close(st->fd);
	st->recs = NULL;
	st->free = NULL;
	st->n = st->cap = st->nfree = st->freecap = 0;
	st->npairs = 0;
	st->fd = -1;
}

void lfs_cursors_free(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	if (!st)
		return;
	unload_locked(st);
	lfs_mutex_destroy(&st->mu);
	free(st);
	t->cursors = NULL;
}

int lfs_cursors_load(lfs_topic *t)
{
	struct lfs_cursor_store *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	lfs_mutex_init(&st->mu);
	st->fd = -1;
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	st->mount_first = ts.first_offset;
	st->mount_next = ts.next_offset;
	t->cursors = st;
	return 0;
}

/* Reads and checks the store, as the mount's recovery would have: with
 * the log as it was at mount (what appends added since cannot make a
 * position stored before them valid), repairing unless read-only and
 * logging what it found. The same check as fsck.logfs's. */
static int load_locked(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	struct lfs_cursor_found *f = NULL;
	size_t n = 0;
	bool repaired;
	/* An idle topic's directory is closed (files.c): held open for the
	 * check and the store's opening. */
	int rc = lfs_topic_files_enter(t);
	if (rc < 0)
		return rc;
	rc = lfs_cursor_store_check(t->dirfd, t->name, st->mount_first, st->mount_next,
				    !t->vol->readonly, log_problem, t, &f, &n, &repaired);
	int fd = rc == 0 && !t->vol->readonly ? lfs_cursor_store_open(t->dirfd, O_RDWR) : -ENOENT;
	lfs_topic_files_exit(t);
	if (rc < 0)
		return rc;
	st->recs = calloc(n ? n : 1, sizeof(*st->recs));
	rc = st->recs ? 0 : -ENOMEM;
	uint64_t npairs = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct rec *r = calloc(1, sizeof(*r));
		if (!r) {
			rc = -ENOMEM;
			break;
		}
		r->c = f[i];
		f[i].name = NULL; /* the record's now */
		st->recs[st->n++] = r;
		if (f[i].pair + 1 > npairs)
			npairs = f[i].pair + 1;
	}
	st->cap = n ? n : 1;
	if (rc < 0)
		goto fail;
	if (fd >= 0) {
		struct stat sb;
		if (fstat(fd, &sb) < 0) {
			rc = -errno;
			goto fail;
		}
		st->fd = fd;
		fd = -1;
		if ((uint64_t)sb.st_size / LFS_CURSOR_PAIR_SIZE > npairs)
			npairs = (uint64_t)sb.st_size / LFS_CURSOR_PAIR_SIZE;
	} else if (fd != -ENOENT && fd != -EUCLEAN) {
		rc = fd;
		fd = -1;
		goto fail;
	}
	st->npairs = npairs;
	/* Pairs no cursor uses are free (the check found them zero). */
	unsigned char *used = calloc(npairs ? npairs : 1, 1);
	if (!used) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < st->n; i++)
		used[st->recs[i]->c.pair] = 1;
	for (uint64_t i = npairs; i-- > 0 && rc == 0;)
		if (!used[i])
			rc = push_free(st, i);
	free(used);
	if (rc < 0)
		goto fail;
	lfs_cursor_found_free(f, n);
	st->loaded = true;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	lfs_cursor_found_free(f, n);
	unload_locked(st);
	return rc;
}

int lfs_cursor_lock_store(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	lfs_mutex_lock(&st->mu);
	int rc = st->loaded ? 0 : load_locked(t);
	if (rc < 0)
		lfs_mutex_unlock(&st->mu);
	return rc;
}

/* Locks t's store and finds NAME in it: its index with the store locked,
 * or a negative errno (-ENOENT when there is no such cursor) with nothing
 * held. */
static ssize_t lock_cursor(lfs_topic *t, const char *name)
{
	int rc = lfs_cursor_lock_store(t);
	if (rc < 0)
		return rc;
	ssize_t i = lfs_cursor_find(t->cursors, name);
	if (i < 0)
		lfs_mutex_unlock(&t->cursors->mu);
	return i < 0 ? -ENOENT : i;
}

/* ---- operations by name ---- */

int lfs_cursor_create(lfs_topic *t, const char *name, bool excl)
{
	struct lfs_cursor_store *st = t->cursors;
	int rc = lfs_topic_name_check(name);
	if (rc < 0)
		return rc;
	rc = lfs_cursor_lock_store(t);
	if (rc < 0)
		return rc;
	ssize_t i = lfs_cursor_find(st, name);
	if (i >= 0) {
		rc = excl ? -EEXIST : 1;
		goto out;
	}
	if (t->vol->readonly) {
		rc = -EROFS;
		goto out;
	}
	if (lfs_array_reserve(&st->recs, st->n, &st->cap, sizeof(*st->recs), 16) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	struct rec *r = calloc(1, sizeof(*r));
	char *dup = strdup(name);
	rc = r && dup ? ensure_file(t) : -ENOMEM;
	if (rc < 0) {
		free(r);
		free(dup);
		goto out;
	}
	r->c.pair = st->nfree ? st->free[st->nfree - 1] : st->npairs;
	r->c.name = dup;
	r->c.seq = 1;
	r->c.offset = first_offset(t);
	r->c.committed_at = lfs_volume_now(t->vol);
	unsigned char buf[LFS_CURSOR_PAIR_SIZE] = {0};
	struct lfs_cursor_slot slot;
	lfs_cursor_found_to_slot(&r->c, &slot);
	lfs_cursor_slot_encode(&slot, buf + lfs_cursor_slot_pos(0, slot.seq));
	rc = write_sync(st->fd, buf, sizeof(buf), lfs_cursor_slot_pos(r->c.pair, 0));
	if (rc < 0) {
		free(dup);
		free(r);
		goto out;
	}
	if (st->nfree)
		st->nfree--;
	else
		st->npairs++;
	size_t at = (size_t)(-i - 1);
	memmove(st->recs + at + 1, st->recs + at, (st->n - at) * sizeof(*st->recs));
	st->recs[at] = r;
	st->n++;
	lfs_log(t->vol, LFS_LOG_INFO, "topic %s: cursor %s created at offset %llu", t->name, name,
		(unsigned long long)r->c.offset);
out:
	lfs_mutex_unlock(&st->mu);
	return rc;
}

int lfs_cursor_delete(lfs_topic *t, const char *name)
{
	struct lfs_cursor_store *st = t->cursors;
	ssize_t i = lock_cursor(t, name);
	if (i < 0)
		return (int)i;
	int rc = 0;
	if (st->recs[i]->opens) {
		rc = -EBUSY;
	} else if (t->vol->readonly) {
		rc = -EROFS;
	} else {
		struct rec *r = st->recs[i];
		unsigned char zero[LFS_CURSOR_PAIR_SIZE] = {0};
		rc = ensure_file(t); /* an idle topic's store is closed (files.c) */
		if (rc == 0)
			rc = push_free(st, r->c.pair); /* room first: nothing to undo after the write */
		if (rc == 0) {
			rc = write_sync(st->fd, zero, sizeof(zero), r->c.pair * LFS_CURSOR_PAIR_SIZE);
			if (rc < 0)
				st->nfree--;
		}
		if (rc == 0) {
			memmove(st->recs + i, st->recs + i + 1,
				(st->n - (size_t)i - 1) * sizeof(*st->recs));
			st->n--;
			free(r->c.name);
			free(r);
		}
	}
	lfs_mutex_unlock(&st->mu);
	return rc;
}

int lfs_cursor_list(lfs_topic *t, char ***names, size_t *count)
{
	struct lfs_cursor_store *st = t->cursors;
	int rc = lfs_cursor_lock_store(t);
	if (rc < 0)
		return rc;
	char **v = calloc(st->n + 1, sizeof(*v));
	rc = v ? 0 : -ENOMEM;
	size_t n = 0;
	for (; rc == 0 && n < st->n; n++)
		if (!(v[n] = strdup(st->recs[n]->c.name)))
			rc = -ENOMEM;
	lfs_mutex_unlock(&st->mu);
	if (rc < 0) {
		lfs_names_free(v, n);
		return rc;
	}
	*names = v;
	*count = n;
	return 0;
}

int lfs_cursor_stat(lfs_topic *t, const char *name, struct lfs_cursor_info *out)
{
	struct lfs_cursor_store *st = t->cursors;
	ssize_t i = lock_cursor(t, name);
	if (i < 0)
		return (int)i;
	struct rec *r = st->recs[i];
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	memset(out, 0, sizeof(*out));
	out->offset = r->c.offset;
	out->committed_at = r->c.committed_at;
	out->skipped = r->c.skipped;
	out->explicit_commit = r->c.flags & LFS_CURSOR_EXPLICIT;
	out->reading = r->reader != NULL;
	out->lag = ts.next_offset > r->c.offset ? ts.next_offset - r->c.offset : 0;
	struct lfs_start start = {.kind = LFS_START_AT_OR_AFTER, .value = r->c.offset};
	lfs_reader *rd;
	if (out->lag && lfs_reader_glance(t, &start, &rd) == 0) {
		out->backlog = lfs_reader_size(rd);
		lfs_reader_close(rd);
	}
	lfs_mutex_unlock(&st->mu);
	return 0;
}

/* The position text names: 0 and *offset, or -EINVAL. */
static int parse_position(lfs_topic *t, const char *text, uint64_t now_ns, uint64_t *offset)
{
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	if (!strcmp(text, "begin")) {
		*offset = ts.first_offset;
		return 0;
	}
	if (!strcmp(text, "end")) {
		*offset = ts.next_offset;
		return 0;
	}
	struct lfs_start start;
	const char *p = text[0] == '@' ? text + 1 : text;
	int rc = lfs_start_parse(p, now_ns, &start);
	if (rc < 0)
		return -EINVAL;
	/* A bare text is an offset only: "-5m" or a time needs its '@'. */
	if (p == text && start.kind != LFS_START_OFFSET)
		return -EINVAL;
	if (start.kind == LFS_START_OFFSET) {
		if (start.value > ts.next_offset)
			return -EINVAL;
		*offset = start.value < ts.first_offset ? ts.first_offset : start.value;
		return 0;
	}
	lfs_reader *r;
	rc = lfs_reader_glance(t, &start, &r);
	if (rc < 0)
		return rc == -ENOENT ? -EINVAL : rc;
	*offset = lfs_reader_start_offset(r);
	lfs_reader_close(r);
	return 0;
}

int lfs_cursor_seek(lfs_topic *t, const char *name, const char *text, uint64_t now_ns)
{
	struct lfs_cursor_store *st = t->cursors;
	ssize_t i = lock_cursor(t, name);
	if (i < 0)
		return (int)i;
	uint64_t off = 0;
	int rc;
	if (st->recs[i]->reader)
		rc = -EBUSY;
	else if (t->vol->readonly)
		rc = -EROFS;
	else
		rc = parse_position(t, text, now_ns, &off);
	if (rc == 0) {
		struct rec *r = st->recs[i];
		struct lfs_cursor_found s = r->c;
		s.offset = off;
		s.committed_at = lfs_volume_now(t->vol);
		rc = lfs_cursor_commit_slot(t, r, &s);
		if (rc == 0)
			lfs_log(t->vol, LFS_LOG_INFO, "topic %s: cursor %s set to offset %llu", t->name, name,
				(unsigned long long)off);
	}
	lfs_mutex_unlock(&st->mu);
	return rc;
}

int lfs_cursor_set_explicit(lfs_topic *t, const char *name, bool explicit_commit)
{
	struct lfs_cursor_store *st = t->cursors;
	ssize_t i = lock_cursor(t, name);
	if (i < 0)
		return (int)i;
	int rc = 0;
	if (t->vol->readonly) {
		rc = -EROFS;
	} else {
		struct rec *r = st->recs[i];
		struct lfs_cursor_found s = r->c;
		s.flags = explicit_commit ? s.flags | LFS_CURSOR_EXPLICIT
					  : s.flags & ~LFS_CURSOR_EXPLICIT;
		if (s.flags != r->c.flags)
			rc = lfs_cursor_commit_slot(t, r, &s);
	}
	lfs_mutex_unlock(&st->mu);
	return rc;
}

bool lfs_cursors_release(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	if (!st)
		return true;
	if (lfs_mutex_trylock(&st->mu) != 0)
		return false;
	if (st->fd >= 0) {
		close(st->fd);
		st->fd = -1;
	}
	lfs_mutex_unlock(&st->mu);
	return true;
}
