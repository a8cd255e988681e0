/*
 * The recovery scanner's state and calls shared by its files. scan.c: the
 * entry point and loading; scanwalk.c: judging the index entries against
 * the data; scanrebuild.c: rebuilding and rewriting the files; scanstate.c:
 * what they all use. Calls go one way: scan.c -> scanwalk.c, scanrebuild.c
 * -> scanstate.c. Private to the scanner.
 */
#ifndef LFS_SCANINT_H
#define LFS_SCANINT_H

#include "internal.h"

#define REBUILD_BATCH (1u << 20)

struct scan {
	int dirfd;
	const char *topic;
	uint64_t base;
	unsigned flags;
	lfs_problem_fn fn;
	void *ctx;
	struct lfs_scan_result *res;

	int data_fd, idx_fd;
	const unsigned char *data;
	uint64_t data_size;
	unsigned char *idx; /* malloc'd copy of the index file */
	uint64_t idx_size;
	struct lfs_idx_header hdr;
	bool hdr_ok;

	/* The valid entries, possibly rebuilt. */
	struct lfs_idx_entry *ents;
	size_t n, cap;
	bool rewrite_from_set; /* entries from rewrite_from on must be written */
	uint64_t rewrite_from;
	bool changed;
	bool walked;    /* walk() ran over the entries */
	bool seal_seen; /* walk() met a seal entry (valid or not) */
	bool cut;       /* walk() cut the segment at a bad entry or batch */
	/* An empty segment's next offset when records were lost with its
	 * data (0: none). */
	uint64_t lost_next;
	/* Damaged batches recorded as lost whose bytes are still in the
	 * data file (their entries keep len until the rewrite). */
	uint64_t nlost_pending;
	uint64_t lost_ok_until; /* entries before this one: a valid one follows */
	int voldirfd;
};

/* scanstate.c */
void lfs_sc_report(struct scan *sc, enum lfs_problem_kind kind, uint64_t first, uint64_t last,
		   uint64_t bytes, bool repaired, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
int lfs_sc_push(struct scan *sc, const struct lfs_idx_entry *e);
void lfs_sc_mark_rewrite(struct scan *sc, uint64_t from);
uint64_t lfs_sc_next_offset(struct scan *sc);
uint64_t lfs_sc_next_pos(struct scan *sc);
uint64_t lfs_sc_last_ts(struct scan *sc);
const unsigned char *lfs_sc_entry_at(struct scan *sc, uint64_t i);
bool lfs_sc_framing_agrees(struct scan *sc, uint32_t framing, uint64_t pos, uint64_t len,
			   uint64_t count);
bool lfs_sc_batch_verifies(struct scan *sc, uint32_t framing, const struct lfs_idx_entry *e);
uint64_t lfs_sc_first_zero_page(const struct scan *sc, uint64_t from);
bool lfs_sc_lost_under(const struct scan *sc, uint64_t pos, uint64_t end);

/* scanwalk.c */
bool lfs_sc_seal_present(struct scan *sc);
uint64_t lfs_sc_claimed_end(struct scan *sc, uint64_t i, uint64_t nraw);
uint64_t lfs_sc_written_from(const struct scan *sc, uint64_t pos);
int lfs_sc_walk(struct scan *sc, bool *seal_ok);

/* scanrebuild.c */
int lfs_sc_rebuild_lines(struct scan *sc, uint64_t pos, uint64_t ts, uint64_t *records);
uint64_t lfs_sc_data_mtime_ns(struct scan *sc);
bool lfs_sc_header_from_entries(struct scan *sc, const struct lfs_scan_hint *hint);
int lfs_sc_write_index(struct scan *sc, bool seal);
int lfs_sc_rewrite_without_lost(struct scan *sc, bool seal);
int lfs_sc_finish_rewrite(struct scan *sc);

#endif
