/*
 * Reading handles of consumer cursors: a reader from the committed offset
 * whose returned bytes become the next commit (at flush, close, and from
 * the ticker).
 */
#include "cursorint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


/* Commits what handle c returned (store mu held). A handle that another
 * took over, a non-reading handle and explicit mode commit nothing. */
static int commit_handle(lfs_cursor *c, uint64_t now_ns)
{
	LFS_ASSERT_HELD(&c->t->cursors->mu);
	lfs_topic *t = c->t;
	struct rec *r = c->rec;
	if (!c->reader || r->reader != c || (r->c.flags & LFS_CURSOR_EXPLICIT) || t->vol->readonly)
		return 0;
	uint64_t off;
	lfs_mutex_lock(&c->mu);
	int rc = lfs_reader_offset_at(c->reader, c->consumed, &off);
	lfs_mutex_unlock(&c->mu);
	if (rc < 0)
		return rc;
	c->last_commit_ns = now_ns;
	if (off == r->c.offset)
		return 0;
	struct lfs_cursor_found s = r->c;
	s.offset = off;
	s.committed_at = now_ns;
	return lfs_cursor_commit_slot(t, r, &s);
}

int lfs_cursor_open(lfs_topic *t, const char *name, bool read, lfs_cursor **out)
{
	struct lfs_cursor_store *st = t->cursors;
	lfs_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	lfs_mutex_init(&c->mu);
	c->t = t;
	int rc = lfs_cursor_lock_store(t);
	if (rc < 0) {
		lfs_mutex_destroy(&c->mu);
		free(c);
		return rc;
	}
	ssize_t i = lfs_cursor_find(st, name);
	if (i < 0) {
		rc = -ENOENT;
		goto out;
	}
	struct rec *r = st->recs[i];
	if (read && r->reader) {
		if (!atomic_load(&r->reader->flushed)) {
			rc = -EBUSY;
			goto out;
		}
		/* Closed by its opener, its release still on the way: the new
		 * reader takes over (the old one commits nothing more). */
		r->reader = NULL;
		st->readers--;
	}
	if (read) {
		struct lfs_start start = {.kind = LFS_START_AT_OR_AFTER, .value = r->c.offset};
		rc = lfs_reader_open(t, &start, &c->reader);
		if (rc < 0)
			goto out;
		uint64_t from = lfs_reader_start_offset(c->reader);
		if (from > r->c.offset) {
			uint64_t lost = from - r->c.offset;
			lfs_log(t->vol, LFS_LOG_WARNING,
				"topic %s: cursor %s: %llu records (offsets %llu to %llu) were deleted "
				"before it read them: it resumes at offset %llu",
				t->name, name, (unsigned long long)lost,
				(unsigned long long)r->c.offset, (unsigned long long)from - 1,
				(unsigned long long)from);
			struct lfs_cursor_found s = r->c;
			s.offset = from;
			s.skipped += lost;
			s.committed_at = lfs_volume_now(t->vol);
			if (t->vol->readonly)
				r->c = s;
			else
				rc = lfs_cursor_commit_slot(t, r, &s);
			if (rc < 0) {
				lfs_reader_close(c->reader);
				goto out;
			}
		}
		r->reader = c;
		st->readers++;
		c->last_commit_ns = lfs_volume_now(t->vol);
	}
	r->opens++;
	c->rec = r;
out:
	lfs_mutex_unlock(&st->mu);
	if (rc < 0) {
		lfs_mutex_destroy(&c->mu);
		free(c);
		return rc;
	}
	lfs_topic_ref(t);
	lfs_topic_hold(t);
	*out = c;
	return 0;
}

uint64_t lfs_cursor_size(lfs_cursor *c)
{
	return c->reader ? lfs_reader_size(c->reader) : 0;
}

static void consumed_to(lfs_cursor *c, uint64_t off, ssize_t n)
{
	if (n > 0 && off + (uint64_t)n > c->consumed)
		c->consumed = off + (uint64_t)n;
	atomic_store(&c->flushed, false);
}

ssize_t lfs_cursor_peek(lfs_cursor *c, uint64_t off, size_t len, struct iovec *iov, int max,
			int *niov)
{
	if (!c->reader)
		return -EBADF;
	lfs_mutex_lock(&c->mu);
	ssize_t n = lfs_reader_peek(c->reader, off, len, iov, max, niov);
	consumed_to(c, off, n);
	lfs_mutex_unlock(&c->mu);
	return n;
}

ssize_t lfs_cursor_read(lfs_cursor *c, void *buf, size_t len, uint64_t off)
{
	if (!c->reader)
		return -EBADF;
	lfs_mutex_lock(&c->mu);
	ssize_t n = lfs_reader_read(c->reader, buf, len, off);
	consumed_to(c, off, n);
	lfs_mutex_unlock(&c->mu);
	return n;
}

int lfs_cursor_flush(lfs_cursor *c, bool hand_over)
{
	struct lfs_cursor_store *st = c->t->cursors;
	lfs_mutex_lock(&st->mu);
	int rc = commit_handle(c, lfs_volume_now(c->t->vol));
	lfs_mutex_unlock(&st->mu);
	if (hand_over && c->reader)
		atomic_store(&c->flushed, true);
	return rc;
}

int lfs_cursor_close(lfs_cursor *c)
{
	if (!c)
		return 0;
	lfs_topic *t = c->t;
	struct lfs_cursor_store *st = t->cursors;
	lfs_mutex_lock(&st->mu);
	int rc = commit_handle(c, lfs_volume_now(c->t->vol));
	if (c->rec->reader == c) {
		c->rec->reader = NULL;
		st->readers--;
	}
	c->rec->opens--;
	lfs_mutex_unlock(&st->mu);
	lfs_reader_close(c->reader);
	lfs_mutex_destroy(&c->mu);
	free(c);
	lfs_topic_release(t);
	lfs_topic_put(t);
	return rc;
}

void lfs_cursors_tick(lfs_topic *t, uint64_t now_ns)
{
	struct lfs_cursor_store *st = t->cursors;
	if (!st || t->vol->readonly)
		return;
	lfs_mutex_lock(&st->mu);
	for (size_t i = 0; st->readers && i < st->n; i++) {
		lfs_cursor *c = st->recs[i]->reader;
		if (c && now_ns > c->last_commit_ns && now_ns - c->last_commit_ns >= COMMIT_EVERY_NS)
			commit_handle(c, now_ns); /* a failure is logged; retried next tick */
	}
	lfs_mutex_unlock(&st->mu);
}

