/*
 * The volume checker's shared state and calls (check.c, checktopic.c,
 * checkreport.c, checkdir.c): private to the checker.
 */
#ifndef LFS_CHECKINT_H
#define LFS_CHECKINT_H

#include "internal.h"

#define LOST_FOUND LFS_LOST_FOUND
#define FSCK_LOG "fsck.log"

struct dent {
	char *name;
	unsigned char type; /* DT_* (resolved, never DT_UNKNOWN unless stat failed) */
	uint32_t mode;      /* permission bits */
	uint64_t size;
};

struct seg {
	uint64_t base;
	bool has_log, has_idx;
	uint64_t log_size;
};

struct checker {
	const char *path;
	const struct lfs_check_opts *o;
	struct lfs_check_result *res;
	enum lfs_check_mode mode;
	bool repair;
	int dirfd, topics_fd, logfd;
	struct lfs_sb_info sb;
	uint64_t total_bytes, done_bytes;
	/* PREEN: problems of a trial scan are held until it is known whether
	 * the segment will be repaired. */
	bool holding;
	struct lfs_problem *held;
	size_t nheld, capheld;
	unsigned seg_unrepaired; /* unrepaired problems of the current segment */
	bool summary_dropped;
	bool full;               /* every record: force, or recorded errors */
	int err;                 /* first error seen inside a callback */
};

/* One topic while it is checked. */
struct topic_ctx {
	const char *name;
	int tfd;
	struct seg *segs;
	size_t nsegs;
	uint32_t framing; /* for scan hints */
	uint64_t first, next; /* the log's offsets once checked, for its cursors */
};

/* checkreport.c: problems, progress, cancellation. */

/* True when the caller asked to stop (and the result says so). */
bool lfs_ck_cancelled(struct checker *ck);
/* Reports p: held while a PREEN trial scan runs, else counted, passed to
 * the caller, and a repair appended to VOLUME/fsck.log (the summary goes
 * with the first repair). */
void lfs_ck_emit(struct checker *ck, const struct lfs_problem *p);
/* lfs_ck_emit as the scanner's callback (ctx: the checker). */
void lfs_ck_scan_problem(void *ctx, const struct lfs_problem *p);
/* A problem built from its fields and a message. */
void lfs_ck_problem(struct checker *ck, enum lfs_problem_kind kind, const char *topic,
		    uint64_t segment, uint64_t first, uint64_t last, uint64_t bytes, bool repaired,
		    const char *fmt, ...) __attribute__((format(printf, 9, 10)));
/* bytes more of the volume's data checked. */
void lfs_ck_progress(struct checker *ck, uint64_t bytes);

/* checkdir.c: listings and lost+found. */

/* The entries of a directory but . and .., sorted by name, types resolved. */
int lfs_ck_list_dir(int dirfd, struct dent **out, size_t *count);
void lfs_ck_free_dents(struct dent *v, size_t n);
/* An entry that is no part of a volume: reported, and moved to
 * VOLUME/lost+found/SUB when repairing. */
void lfs_ck_unknown_entry(struct checker *ck, int dirfd, const struct dent *e, const char *topic,
			  const char *where, const char *sub);

/* checktopic.c: one topic. */
int lfs_ck_topic(struct checker *ck, const char *name);

#endif
