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
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lfs_reader {
	lfs_topic *t;
	uint64_t start_pos;
	uint64_t start_offset;
	lfs_segment **segs;
	size_t nsegs, cap;
	size_t cursor; /* index of the segment the last read used */
	/* The record cursor (lfs_reader_next_record): the next record's
	 * offset and its byte position relative to start_pos. */
	uint64_t rec_offset, rec_off;
	/* Under the topic's segs_lock: the topic's list of readers, and the
	 * segments retention deleted before this reader pinned them (with a
	 * reference each), in offset order, taken over by refresh. */
	lfs_reader *prev, *next;
	lfs_segment **retired;
	size_t nretired, retired_cap;
	/* Segments whose mappings the last call handed out pointers into
	 * (lfs_reader_peek, lfs_reader_next_record), with a use each
	 * (maps.c): kept until the next call or the close. */
	lfs_segment **used;
	size_t nused, used_cap;
};

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
	if (r->nsegs == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		lfs_segment **n = realloc(r->segs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->segs = n;
		r->cap = cap;
	}
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

struct nl_job {
	const char *p;
	size_t len;
	const char *nl;
};

static void nl_job_run(void *arg)
{
	struct nl_job *j = arg;
	j->nl = memchr(j->p, '\n', j->len);
}

struct count_job {
	const unsigned char *p;
	size_t len, n;
};

static void count_job_run(void *arg)
{
	struct count_job *j = arg;
	j->n = lfs_count_byte(j->p, j->len, '\n');
}

/* Skips n lines from data position pos of a line-framed batch that ends at
 * end, through lfs_segment_peek: checked bytes only, within the mapping
 * (the caller holds a use of s). */
static int skip_lines(lfs_segment *s, uint64_t pos, uint64_t end, uint64_t n, uint64_t *out)
{
	while (n--) {
		const void *p;
		ssize_t len = pos < end ? lfs_segment_peek(s, pos, (size_t)(end - pos), &p) : 0;
		if (len < 0)
			return (int)len;
		struct nl_job j = {p, (size_t)len, NULL};
		if (len == 0 || lfs_mapped_access(nl_job_run, &j) < 0 || !j.nl)
			return -EIO;
		pos += (uint64_t)(j.nl - (const char *)p) + 1;
	}
	*out = pos;
	return 0;
}

/* Whether an index entry read from s can be used: within the data and, for
 * a batch holding `offset`, holding it. The entries of a segment loaded from
 * disk were checked against their seal's CRC, not against a volume crafted
 * to pass it. */
static bool entry_sane(lfs_segment *s, const struct lfs_idx_entry *e, uint64_t offset)
{
	uint64_t size = atomic_load_explicit(&s->size, memory_order_acquire);
	if (e->pos > size || e->len > size - e->pos || e->offset < s->base ||
	    (offset != UINT64_MAX && (offset < e->offset || offset - e->offset >= e->count)))
		return false;
	return true;
}

static int bad_entry(lfs_segment *s, uint64_t i)
{
	lfs_volume_error(s->topic->vol,
		"topic %s: segment %llu: index entry %llu points outside the segment: "
		"reads there fail with EIO (run fsck.logfs)",
		s->topic->name, (unsigned long long)s->base, (unsigned long long)i);
	return -EIO;
}

/* Finds where record `offset` starts within segment s (a use held). */
static int locate_offset_used(lfs_segment *s, uint64_t offset, uint64_t *pos)
{
	struct lfs_idx_entry e;
	int rc = lfs_segment_map_idx(s);
	if (rc < 0)
		return rc;
	uint64_t i = lfs_segment_find_offset(s, offset);
	lfs_segment_read_entry(s, i, &e);
	if (!entry_sane(s, &e, offset))
		return bad_entry(s, i);
	if (e.offset == offset) {
		*pos = e.pos;
		return 0;
	}
	if (s->framing != LFS_FRAMING_LINE)
		return -EUCLEAN;
	rc = skip_lines(s, e.pos, e.pos + e.len, offset - e.offset, pos);
	return rc == -EIO ? bad_entry(s, i) : rc;
}

static int locate_offset(lfs_segment *s, uint64_t offset, uint64_t *pos)
{
	lfs_segment_use(s);
	int rc = locate_offset_used(s, offset, pos);
	lfs_segment_unuse(s);
	return rc;
}

/* Starts r at the first record that has bytes from entry k of segment i on,
 * past lost ranges (LFS_ENTRY_LOST: offsets recovery recorded as lost).
 * Leaves r where the caller put it (the end) when there is none. */
static int start_at_entry(lfs_reader *r, size_t i, uint64_t k, size_t *seg_index)
{
	lfs_topic *t = r->t;
	for (; i < t->nsegs; i++, k = 0) {
		lfs_segment *s = t->segs[i];
		uint64_t ne = atomic_load_explicit(&s->nentries, memory_order_acquire);
		if (k >= ne)
			continue;
		lfs_segment_use(s);
		int rc = lfs_segment_map_idx(s);
		struct lfs_idx_entry e;
		for (; rc == 0 && k < ne; k++) {
			lfs_segment_read_entry(s, k, &e);
			if (e.type != LFS_ENTRY_LOST)
				break;
		}
		lfs_segment_unuse(s);
		if (rc < 0)
			return rc;
		if (k == ne)
			continue;
		if (!entry_sane(s, &e, UINT64_MAX))
			return bad_entry(s, k);
		*seg_index = i;
		r->start_pos = s->stream_pos + e.pos;
		r->start_offset = e.offset;
		return 0;
	}
	return 0;
}

/* Whether entry k of segment s is a lost range. Only recovery writes them,
 * sealing or rewriting what it repairs: a segment whose index is neither
 * mapped (active) nor sealed (a rolled segment a read-only mount serves as
 * scanned) holds none. */
static int entry_lost(lfs_segment *s, uint64_t k, bool *lost)
{
	struct lfs_idx_entry e;
	*lost = false;
	if (k >= atomic_load_explicit(&s->nentries, memory_order_acquire) ||
	    (!atomic_load(&s->idx) && !atomic_load(&s->sealed)))
		return 0;
	lfs_segment_use(s);
	int rc = lfs_segment_map_idx(s);
	if (rc == 0) {
		lfs_segment_read_entry(s, k, &e);
		*lost = e.type == LFS_ENTRY_LOST;
	}
	lfs_segment_unuse(s);
	return rc;
}

/* Where a reader of st starts (segs_lock held): its first segment's index,
 * start_pos and start_offset. next and end are the log's end as one
 * append left it (lfs_topic_end), taken before segs_lock: segments a roll
 * added since start at or after end. */
static int find_start(lfs_reader *r, const struct lfs_start *st, uint64_t next, uint64_t end,
		      size_t *seg_index)
{
	LFS_ASSERT_READ_HELD(&r->t->segs_lock);
	lfs_topic *t = r->t;
	size_t n = t->nsegs, i;

	/* The end: an empty reader that grows from the next append, from the
	 * segment that holds position end (the last one, unless a roll came
	 * after the end was read). */
	*seg_index = n ? n - 1 : 0;
	while (*seg_index > 0 && t->segs[*seg_index]->stream_pos > end)
		(*seg_index)--;
	r->start_pos = end;
	r->start_offset = next;

	switch (st->kind) {
	case LFS_START_FIRST:
		/* (A lost range at the start has no bytes: the first record
		 * read is the one after it; lfs_reader_next_record skips its
		 * offsets.) */
		if (n) {
			*seg_index = 0;
			r->start_pos = t->segs[0]->stream_pos;
			r->start_offset = t->segs[0]->base;
		}
		return 0;
	case LFS_START_AT_OR_AFTER:
	case LFS_START_OFFSET: {
		bool after = st->kind == LFS_START_AT_OR_AFTER;
		if (st->value == next)
			return 0;
		if (after && n && st->value < t->segs[0]->base) {
			*seg_index = 0;
			r->start_pos = t->segs[0]->stream_pos;
			r->start_offset = t->segs[0]->base;
			return 0;
		}
		if (!n || st->value > next || st->value < t->segs[0]->base)
			return -ENOENT;
		size_t lo = 0, hi = n;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (t->segs[mid]->base <= st->value)
				lo = mid;
			else
				hi = mid;
		}
		lfs_segment *s = t->segs[lo];
		if (st->value >= atomic_load_explicit(&s->next_offset, memory_order_acquire) ||
		    atomic_load_explicit(&s->nentries, memory_order_acquire) == 0) {
			if (!after)
				return -ENOENT; /* a gap left by a repair */
			/* The first record after the gap: the next segment
			 * with records, or the end. */
			for (i = lo + 1; i < n; i++)
				if (atomic_load_explicit(&t->segs[i]->nentries, memory_order_acquire)) {
					*seg_index = i;
					r->start_pos = t->segs[i]->stream_pos;
					r->start_offset = t->segs[i]->base;
					return 0;
				}
			return 0;
		}
		{
			/* @N inside a lost range starts at the next record. */
			uint64_t k = 0;
			bool lost = false;
			lfs_segment_use(s);
			int rc = lfs_segment_map_idx(s);
			if (rc == 0)
				k = lfs_segment_find_offset(s, st->value);
			lfs_segment_unuse(s);
			if (rc == 0)
				rc = entry_lost(s, k, &lost);
			if (rc < 0)
				return rc;
			if (lost)
				return start_at_entry(r, lo, k, seg_index);
		}
		if (after) {
			/* In a lost range inside the segment: the batch after it. */
			struct lfs_idx_entry e;
			lfs_segment_use(s);
			int rc = lfs_segment_map_idx(s);
			if (rc < 0) {
				lfs_segment_unuse(s);
				return rc;
			}
			uint64_t k = lfs_segment_find_offset(s, st->value);
			lfs_segment_read_entry(s, k, &e);
			bool past = st->value >= e.offset + e.count &&
				    k + 1 < atomic_load_explicit(&s->nentries, memory_order_acquire);
			if (past)
				lfs_segment_read_entry(s, k + 1, &e);
			lfs_segment_unuse(s);
			if (past) {
				if (!entry_sane(s, &e, UINT64_MAX))
					return bad_entry(s, k + 1);
				*seg_index = lo;
				r->start_pos = s->stream_pos + e.pos;
				r->start_offset = e.offset;
				return 0;
			}
		}
		uint64_t pos = 0;
		int rc = locate_offset(s, st->value, &pos);
		if (rc < 0)
			return rc;
		*seg_index = lo;
		r->start_pos = s->stream_pos + pos;
		r->start_offset = st->value;
		return 0;
	}
	case LFS_START_TIME: {
		/* First segment whose newest record is at or after the time;
		 * per-segment newest timestamps never decrease. An empty
		 * segment (the new active one, or one a repair emptied) has no
		 * time of its own: it sorts with the nearest non-empty one
		 * before it, which keeps the bisection's predicate monotonic
		 * (taking empty ones as "before" skipped the segments before
		 * an emptied one in the middle). */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2, j = mid;
			while (j > 0 && atomic_load(&t->segs[j]->nentries) == 0)
				j--;
			if (atomic_load(&t->segs[j]->nentries) == 0 ||
			    atomic_load(&t->segs[j]->last_ts) < st->value)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < n; i++) {
			lfs_segment *s = t->segs[i];
			lfs_segment_use(s);
			int rc = lfs_segment_map_idx(s);
			if (rc < 0) {
				lfs_segment_unuse(s);
				return rc;
			}
			uint64_t k = lfs_segment_find_time(s, st->value);
			struct lfs_idx_entry e;
			bool found = k < atomic_load_explicit(&s->nentries, memory_order_acquire);
			if (found)
				lfs_segment_read_entry(s, k, &e);
			lfs_segment_unuse(s);
			bool lost;
			rc = entry_lost(s, k, &lost);
			if (rc < 0)
				return rc;
			if (lost)
				return start_at_entry(r, i, k, seg_index);
			if (found) {
				if (!entry_sane(s, &e, UINT64_MAX))
					return bad_entry(s, k);
				*seg_index = i;
				r->start_pos = s->stream_pos + e.pos;
				r->start_offset = e.offset;
				return 0;
			}
		}
		return 0;
	}
	}
	return -EINVAL;
}

int lfs_reader_open(lfs_topic *t, const struct lfs_start *st, lfs_reader **out)
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
		/* find_start may read the active segment's index, which an
		 * idle topic gave back (files.c): taken again first, under
		 * append_mu, since a read under segs_lock could not ask for it
		 * (append_mu comes before segs_lock). */
		lfs_mutex_lock(&t->append_mu);
		rc = lfs_topic_active_open(t);
		lfs_mutex_unlock(&t->append_mu);
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
	rc = find_start(r, st, next, end, &first);
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
	lfs_topic_hold(t);
	*out = r;
	return 0;
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

/* The index of the pinned segment holding stream position pos, or SIZE_MAX:
 * a bisection that reads the pinned array only. */
static size_t pinned_index(const lfs_reader *r, uint64_t pos)
{
	size_t lo = 0, hi = r->nsegs;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->segs[mid]->stream_pos <= pos)
			lo = mid;
		else
			hi = mid;
	}
	if (!r->nsegs || r->segs[lo]->stream_pos > pos)
		return SIZE_MAX;
	return lo;
}

/* Only reads the reader (never its segment cache): a cursor's background
 * commit calls it while the reading thread may be between requests. */
static int offset_at_used(lfs_segment *s, uint64_t rel, uint64_t *out);

int lfs_reader_offset_at(lfs_reader *r, uint64_t byte, uint64_t *out)
{
	if (byte == 0) {
		*out = r->start_offset;
		return 0;
	}
	uint64_t pos = r->start_pos + byte - 1; /* the last byte returned */
	size_t lo = pinned_index(r, pos);
	if (lo == SIZE_MAX)
		return -EIO;
	lfs_segment *s = r->segs[lo];
	/* A use of its own: the reading thread's (r->used) is not this
	 * thread's to touch. */
	lfs_segment_use(s);
	int rc = offset_at_used(s, pos - s->stream_pos, out);
	lfs_segment_unuse(s);
	return rc;
}

/* The offset after the last whole record of s up to byte rel (a use held). */
static int offset_at_used(lfs_segment *s, uint64_t rel, uint64_t *out)
{
	int rc = lfs_segment_map_idx(s);
	if (rc < 0)
		return rc;
	uint64_t a = 0, b = atomic_load_explicit(&s->nentries, memory_order_acquire);
	if (b == 0)
		return -EIO;
	/* The last batch whose data starts at or before rel. */
	while (b - a > 1) {
		uint64_t mid = a + (b - a) / 2;
		struct lfs_idx_entry e;
		lfs_segment_read_entry(s, mid, &e);
		if (e.pos <= rel)
			a = mid;
		else
			b = mid;
	}
	struct lfs_idx_entry e;
	lfs_segment_read_entry(s, a, &e);
	if (rel < e.pos || rel >= e.pos + e.len)
		return -EIO;
	if (rel == e.pos + e.len - 1) {
		*out = e.offset + e.count;
		return 0;
	}
	if (s->framing != LFS_FRAMING_LINE) {
		*out = e.offset; /* one record per batch, not returned whole */
		return 0;
	}
	rc = lfs_segment_map_data(s);
	if (rc < 0)
		return rc;
	const unsigned char *d = atomic_load(&s->data);
	struct count_job j = {d + e.pos, (size_t)(rel + 1 - e.pos), 0};
	if (!d || rel >= s->data_maplen || lfs_mapped_access(count_job_run, &j) < 0)
		return -EIO;
	*out = e.offset + j.n;
	return 0;
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
		if (r->nretired == r->retired_cap) {
			size_t cap = r->retired_cap ? r->retired_cap * 2 : 4;
			lfs_segment **n = realloc(r->retired, cap * sizeof(*n));
			if (!n)
				continue; /* the reader will miss it: it gets EIO */
			r->retired = n;
			r->retired_cap = cap;
		}
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
		if (r->nsegs == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 8;
			lfs_segment **n = realloc(r->segs, cap * sizeof(*n));
			if (!n) {
				lfs_rwlock_unlock(&t->segs_lock);
				return -ENOMEM;
			}
			r->segs = n;
			r->cap = cap;
		}
		r->segs[r->nsegs++] = r->retired[0];
		memmove(r->retired, r->retired + 1, --r->nretired * sizeof(*r->retired));
	}
	uint64_t last = r->nsegs ? r->segs[r->nsegs - 1]->base : 0;
	size_t lo = 0, hi = t->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->segs[mid]->base <= last)
			lo = mid + 1;
		else
			hi = mid;
	}
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
	size_t lo = pinned_index(r, pos);
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
