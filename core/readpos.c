/*
 * Offsets and positions of a reader (reader.c): where it starts (@N, a
 * time, the first or next record; lost ranges skipped), and which offset a
 * byte it returned belongs to.
 */
#include "readerint.h"
#include "bisect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Bisection keys (bisect.h) over an array of segments. */
struct seg_key {
	lfs_segment *const *segs;
	uint64_t key;
};

static bool base_at_or_before(uint64_t i, void *ctx)
{
	const struct seg_key *k = ctx;
	return k->segs[i]->base <= k->key;
}

size_t lfs_reader_first_after(lfs_segment *const *segs, size_t n, uint64_t base)
{
	struct seg_key key = {segs, base};
	return lfs_bisect(0, n, base_at_or_before, &key);
}

static bool stream_pos_at_or_before(uint64_t i, void *ctx)
{
	const struct seg_key *k = ctx;
	return k->segs[i]->stream_pos <= k->key;
}

/* Before the first segment whose newest record is at or after the time. An
 * empty segment (the new active one, or one a repair emptied) has no time
 * of its own: it sorts with the nearest non-empty one before it, which
 * keeps the predicate monotonic (taking empty ones as "before" skipped the
 * segments before an emptied one in the middle). */
static bool newest_before(uint64_t i, void *ctx)
{
	const struct seg_key *k = ctx;
	uint64_t j = i;
	while (j > 0 && atomic_load(&k->segs[j]->nentries) == 0)
		j--;
	return atomic_load(&k->segs[j]->nentries) == 0 || atomic_load(&k->segs[j]->last_ts) < k->key;
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

/* Starts r at entry k (e, as read) of segment i of its topic. */
static int start_at(lfs_reader *r, size_t i, uint64_t k, const struct lfs_idx_entry *e,
		    size_t *seg_index)
{
	lfs_segment *s = r->t->segs[i];
	if (!entry_sane(s, e, UINT64_MAX))
		return bad_entry(s, k);
	*seg_index = i;
	r->start_pos = s->stream_pos + e->pos;
	r->start_offset = e->offset;
	return 0;
}

/* Starts r at the start of segment i of its topic. */
static void start_at_segment(lfs_reader *r, size_t i, size_t *seg_index)
{
	*seg_index = i;
	r->start_pos = r->t->segs[i]->stream_pos;
	r->start_offset = r->t->segs[i]->base;
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
		return start_at(r, i, k, &e, seg_index);
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
int lfs_reader_find_start(lfs_reader *r, const struct lfs_start *st, uint64_t next, uint64_t end,
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
		if (n)
			start_at_segment(r, 0, seg_index);
		return 0;
	case LFS_START_AT_OR_AFTER:
	case LFS_START_OFFSET: {
		bool after = st->kind == LFS_START_AT_OR_AFTER;
		if (st->value == next)
			return 0;
		if (after && n && st->value < t->segs[0]->base) {
			start_at_segment(r, 0, seg_index);
			return 0;
		}
		if (!n || st->value > next || st->value < t->segs[0]->base)
			return -ENOENT;
		struct seg_key key = {t->segs, st->value};
		size_t lo = lfs_bisect_last(n, base_at_or_before, &key);
		lfs_segment *s = t->segs[lo];
		if (st->value >= atomic_load_explicit(&s->next_offset, memory_order_acquire) ||
		    atomic_load_explicit(&s->nentries, memory_order_acquire) == 0) {
			if (!after)
				return -ENOENT; /* a gap left by a repair */
			/* The first record after the gap: the next segment
			 * with records, or the end. */
			for (i = lo + 1; i < n; i++)
				if (atomic_load_explicit(&t->segs[i]->nentries, memory_order_acquire)) {
					start_at_segment(r, i, seg_index);
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
			if (past)
				return start_at(r, lo, k + 1, &e, seg_index);
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
		 * per-segment newest timestamps never decrease (empty
		 * segments: newest_before). */
		struct seg_key key = {t->segs, st->value};
		size_t lo = lfs_bisect(0, n, newest_before, &key);
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
			if (found)
				return start_at(r, i, k, &e, seg_index);
		}
		return 0;
	}
	}
	return -EINVAL;
}

/* The index of the pinned segment holding stream position pos, or SIZE_MAX:
 * a bisection that reads the pinned array only. */
size_t lfs_reader_pinned_index(const lfs_reader *r, uint64_t pos)
{
	struct seg_key key = {r->segs, pos};
	size_t lo = lfs_bisect_last(r->nsegs, stream_pos_at_or_before, &key);
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
	size_t lo = lfs_reader_pinned_index(r, pos);
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
	uint64_t n = atomic_load_explicit(&s->nentries, memory_order_acquire);
	if (n == 0)
		return -EIO;
	uint64_t a = lfs_segment_find_pos(s, rel);
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
