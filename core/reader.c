/*
 * Readers: a view of the topic's byte stream from a start record onwards,
 * growing with appends. A reader pins (holds references on) every segment
 * from its start, so retention may unlink them without pulling data from
 * under it; reads inside pinned segments take no lock at all.
 *
 * Segments that appear after the reader opened are pinned when a read
 * reaches them. One that retention deletes before that would be lost to the
 * reader (and the next segment's bytes read at its place), so the topic
 * keeps a list of its open readers and retention hands each of them the
 * segments they still need (lfs_reader_retire).
 */
#include "readerint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Takes a use of s for the pointers this call hands out. */
static int hold(lfs_reader *r, lfs_segment *s)
{
	for (size_t i = 0; i < r->nused; i++)
		if (r->used[i] == s)
			return 0;
	if (lfs_array_reserve(&r->used, r->nused, &r->used_cap, sizeof(*r->used), 4) < 0)
		return -ENOMEM;
	lfs_segment_use(s);
	r->used[r->nused++] = s;
	return 0;
}

/* A new call: what the last one handed out is no longer the caller's. */
static void let_go(lfs_reader *r)
{
	for (size_t i = 0; i < r->nused; i++)
		lfs_segment_unuse(r->used[i]);
	r->nused = 0;
}

static int pin(lfs_reader *r, lfs_segment *s)
{
	if (lfs_array_reserve(&r->segs, r->nsegs, &r->cap, sizeof(*r->segs), 8) < 0)
		return -ENOMEM;
	lfs_segment_ref(s);
	r->segs[r->nsegs++] = s;
	return 0;
}

/* Pins the topic's segments from index i on (segs_lock held). */
static int pin_from(lfs_reader *r, size_t i)
{
	LFS_ASSERT_READ_HELD(&r->t->segs_lock);
	lfs_topic *t = r->t;
	for (; i < t->nsegs; i++) {
		int rc = pin(r, t->segs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int open_reader(lfs_topic *t, const struct lfs_start *st, bool hold, lfs_reader **out)
{
	lfs_reader *r = calloc(1, sizeof(*r));
	size_t first;
	int rc;

	if (!r)
		return -ENOMEM;
	r->t = t;
	/* The end of the log as a pair (an append between two loads would
	 * pair the offset of one record with the position of the next, and
	 * the reader would skip a record). The write lock: the reader joins
	 * the topic's list of readers. */
	uint64_t next, end;
	for (;;) {
		/* lfs_reader_find_start may read the active segment's index, which an
		 * idle topic gave back (files.c): taken again first, since a read
		 * under segs_lock could not ask for it. */
		rc = lfs_topic_active_ensure(t);
		if (rc < 0) {
			free(r);
			return rc;
		}
		lfs_topic_end(t, &next, &end);
		lfs_rwlock_wrlock(&t->segs_lock);
		/* Rolls and retention in between may have dropped the
		 * segment that holds end (it is rare): read the end again.
		 * The same if the sweep gave the active segment back in
		 * between (it needs segs_lock: not from here on). */
		if ((t->nsegs == 0 || t->segs[0]->stream_pos <= end) &&
		    !(t->active && atomic_load(&t->active->released)))
			break;
		lfs_rwlock_unlock(&t->segs_lock);
	}
	rc = lfs_reader_find_start(r, st, next, end, &first);
	if (rc == 0)
		rc = pin_from(r, first);
	r->rec_offset = r->start_offset;
	if (rc == 0) {
		r->next = t->readers;
		if (t->readers)
			t->readers->prev = r;
		t->readers = r;
	}
	lfs_rwlock_unlock(&t->segs_lock);
	if (rc < 0) {
		for (size_t i = 0; i < r->nsegs; i++)
			lfs_segment_put(r->segs[i]);
		free(r->segs);
		free(r);
		return rc;
	}
	lfs_topic_ref(t);
	r->held = hold;
	if (hold)
		lfs_topic_hold(t);
	*out = r;
	return 0;
}

int lfs_reader_open(lfs_topic *t, const struct lfs_start *st, lfs_reader **out)
{
	return open_reader(t, st, true, out);
}

/* An open file keeps its topic busy for rmdir(2); a look of a few
 * microseconds that sizes a view while nothing is open (stat(2) of
 * TOPIC/@N) must not, or rmdir would fail now and then with EBUSY. */
int lfs_reader_glance(lfs_topic *t, const struct lfs_start *st, lfs_reader **out)
{
	return open_reader(t, st, false, out);
}

void lfs_reader_close(lfs_reader *r)
{
	if (!r)
		return;
	lfs_rwlock_wrlock(&r->t->segs_lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		r->t->readers = r->next;
	if (r->next)
		r->next->prev = r->prev;
	lfs_rwlock_unlock(&r->t->segs_lock);
	let_go(r);
	free(r->used);
	for (size_t i = 0; i < r->nretired; i++)
		lfs_segment_put(r->retired[i]);
	free(r->retired);
	for (size_t i = 0; i < r->nsegs; i++)
		lfs_segment_put(r->segs[i]);
	free(r->segs);
	if (r->held)
		lfs_topic_release(r->t);
	lfs_topic_put(r->t);
	free(r);
}

uint64_t lfs_reader_size(lfs_reader *r)
{
	uint64_t end = atomic_load_explicit(&r->t->end_pos, memory_order_acquire);
	return end > r->start_pos ? end - r->start_pos : 0;
}

uint64_t lfs_reader_start_offset(lfs_reader *r)
{
	return r->start_offset;
}

/* Segment s leaves the topic (retention; segs_lock held for writing):
 * readers that have not pinned it yet but will need it (it follows all
 * they pinned) get a reference to it. */
void lfs_reader_retire(lfs_topic *t, lfs_segment *s)
{
	LFS_ASSERT_WRITE_HELD(&t->segs_lock);
	for (lfs_reader *r = t->readers; r; r = r->next) {
		uint64_t last = r->nretired ? r->retired[r->nretired - 1]->base
			      : r->nsegs  ? r->segs[r->nsegs - 1]->base
					  : 0;
		if ((r->nsegs || r->nretired) && s->base <= last)
			continue;
		if (lfs_array_reserve(&r->retired, r->nretired, &r->retired_cap,
				      sizeof(*r->retired), 4) < 0)
			continue; /* the reader will miss it: it gets EIO */
		lfs_segment_ref(s);
		r->retired[r->nretired++] = s;
	}
}

/* Pins segments that appeared after the last pinned one (rolls). */
static int refresh(lfs_reader *r)
{
	lfs_topic *t = r->t;
	int rc = 0;
	lfs_rwlock_rdlock(&t->segs_lock);
	/* First the segments retention took away before we got to them. */
	while (r->nretired) {
		if (lfs_array_reserve(&r->segs, r->nsegs, &r->cap, sizeof(*r->segs), 8) < 0) {
			lfs_rwlock_unlock(&t->segs_lock);
			return -ENOMEM;
		}
		r->segs[r->nsegs++] = r->retired[0];
		memmove(r->retired, r->retired + 1, --r->nretired * sizeof(*r->retired));
	}
	uint64_t last = r->nsegs ? r->segs[r->nsegs - 1]->base : 0;
	size_t lo = lfs_reader_first_after(t->segs, t->nsegs, last);
	if (!r->nsegs)
		lo = 0;
	rc = pin_from(r, lo);
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

/* The pinned segment holding stream position pos, or NULL. */
static lfs_segment *pinned_at(lfs_reader *r, uint64_t pos)
{
	if (r->cursor < r->nsegs) {
		lfs_segment *s = r->segs[r->cursor];
		if (pos >= s->stream_pos &&
		    (r->cursor + 1 == r->nsegs || pos < r->segs[r->cursor + 1]->stream_pos))
			return s;
	}
	size_t lo = lfs_reader_pinned_index(r, pos);
	if (lo == SIZE_MAX)
		return NULL;
	r->cursor = lo;
	return r->segs[lo];
}

ssize_t lfs_reader_peek(lfs_reader *r, uint64_t off, size_t len, struct iovec *iov, int max,
			int *niov)
{
	uint64_t end = atomic_load_explicit(&r->t->end_pos, memory_order_acquire);
	uint64_t pos = r->start_pos + off;
	size_t done = 0;
	int k = 0;

	*niov = 0;
	let_go(r);
	if (pos >= end)
		return 0;
	if (len > end - pos)
		len = (size_t)(end - pos);
	while (done < len && k < max) {
		lfs_segment *s = pinned_at(r, pos);
		uint64_t in_seg = s ? pos - s->stream_pos : 0;
		if (!s || (in_seg >= atomic_load_explicit(&s->size, memory_order_acquire) &&
			   r->cursor + 1 == r->nsegs)) {
			size_t before = r->nsegs;
			int rc = refresh(r);
			if (rc < 0) {
				*niov = k; /* the bytes described so far go out */
				return done ? (ssize_t)done : rc;
			}
			if (r->nsegs == before)
				break; /* nothing further is committed */
			continue;
		}
		const void *p;
		int rc = hold(r, s);
		ssize_t n = rc < 0 ? rc : lfs_segment_peek(s, in_seg, len - done, &p);
		if (n < 0) {
			/* A bad batch (EIO) after good bytes: serve the good
			 * ones; the next read from here fails. Without *niov
			 * the reply carried no bytes: a silent EOF. */
			*niov = k;
			return done ? (ssize_t)done : n;
		}
		if (n == 0) {
			/* Empty or exhausted segment: move to the next one. */
			if (r->cursor + 1 < r->nsegs) {
				/* Never serve the next segment's bytes at
				 * positions that are not theirs. */
				if (r->segs[r->cursor + 1]->stream_pos != pos) {
					*niov = k;
					return done ? (ssize_t)done : -EIO;
				}
				r->cursor++;
				continue;
			}
			break;
		}
		iov[k].iov_base = (void *)p;
		iov[k].iov_len = (size_t)n;
		k++;
		done += (size_t)n;
		pos += (uint64_t)n;
	}
	*niov = k;
	return (ssize_t)done;
}

ssize_t lfs_reader_read(lfs_reader *r, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		struct iovec iov[8];
		int n;
		ssize_t got = lfs_reader_peek(r, off + done, len - done, iov, 8, &n);
		if (got < 0)
			return done ? (ssize_t)done : got;
		if (got == 0)
			break;
		for (int i = 0; i < n; i++) {
			memcpy((char *)buf + done, iov[i].iov_base, iov[i].iov_len);
			done += iov[i].iov_len;
		}
	}
	return (ssize_t)done;
}

int lfs_reader_next_record(lfs_reader *r, struct lfs_record *rec)
{
	struct iovec iov;
	int n;
	/* peek pins what the position needs and leaves r->cursor on the
	 * segment holding it (segments are never empty at a committed byte). */
	ssize_t got = lfs_reader_peek(r, r->rec_off, 1, &iov, 1, &n);
	if (got <= 0)
		return (int)got;
	lfs_segment *s = r->segs[r->cursor];
	uint64_t in_seg = r->start_pos + r->rec_off - s->stream_pos;
	int rc = hold(r, s); /* (peek took it: rec->data points into s) */
	if (rc < 0)
		return rc;
	rc = lfs_segment_map_idx(s);
	if (rc < 0)
		return rc;
	uint64_t k = lfs_segment_find_offset(s, r->rec_offset);
	if (k >= atomic_load_explicit(&s->nentries, memory_order_acquire))
		return -EIO;
	struct lfs_idx_entry e;
	lfs_segment_read_entry(s, k, &e);
	/* Lost ranges have no bytes: the record at the byte cursor is the
	 * first after them (in this segment, or the next one's first when
	 * the previous segment ended with them). */
	uint64_t ne = atomic_load_explicit(&s->nentries, memory_order_acquire);
	while (e.type == LFS_ENTRY_LOST && k + 1 < ne)
		lfs_segment_read_entry(s, ++k, &e);
	if (e.type == LFS_ENTRY_BATCH && r->rec_offset < e.offset && in_seg == e.pos)
		r->rec_offset = e.offset;
	/* The byte cursor and the record cursor must name the same record. */
	if (r->rec_offset < e.offset || r->rec_offset - e.offset >= e.count || in_seg < e.pos ||
	    in_seg >= e.pos + e.len)
		return -EIO;
	size_t len;
	const void *p;
	if (s->framing == LFS_FRAMING_WRITE) {
		if (in_seg != e.pos || e.count != 1)
			return -EIO;
		len = e.len;
	} else {
		ssize_t avail = lfs_segment_peek(s, in_seg, (size_t)(e.pos + e.len - in_seg), &p);
		if (avail <= 0)
			return avail < 0 ? (int)avail : -EIO;
		const char *nl = memchr(p, '\n', (size_t)avail);
		if (!nl)
			return -EIO;
		len = (size_t)(nl - (const char *)p) + 1;
	}
	ssize_t avail = lfs_segment_peek(s, in_seg, len, &p);
	if (avail < 0)
		return (int)avail;
	if ((size_t)avail != len)
		return -EIO;
	rec->offset = r->rec_offset;
	rec->timestamp = e.ts;
	rec->data = p;
	rec->len = len;
	r->rec_offset++;
	r->rec_off += len;
	return 1;
}
