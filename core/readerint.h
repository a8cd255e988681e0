/*
 * A reader's structure and the calls between reader.c (pinning segments,
 * reading) and readpos.c (start positions, offsets of bytes): private to
 * them. Calls go one way: reader.c -> readpos.c.
 */
#ifndef LFS_READERINT_H
#define LFS_READERINT_H

#include "internal.h"

struct lfs_reader {
	lfs_topic *t;
	bool held; /* counted in t->holds (lfs_reader_open, not a glance) */
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

/* Finds where a reader starts: the index of its first segment in the
 * topic's list (*seg_index), r->start_pos and r->start_offset (segs_lock
 * held). 0 or -errno (-ENOENT: no such record). */
int lfs_reader_find_start(lfs_reader *r, const struct lfs_start *st, uint64_t next, uint64_t end,
			  size_t *seg_index);
/* The index of the pinned segment holding stream position pos, or SIZE_MAX. */
size_t lfs_reader_pinned_index(const lfs_reader *r, uint64_t pos);
/* The index of the first of segs[0..n) whose base is past base. */
size_t lfs_reader_first_after(lfs_segment *const *segs, size_t n, uint64_t base);

#endif
