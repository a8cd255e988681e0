/*
 * The volume checker's problems: counted, passed to the caller, held while a
 * PREEN trial scan decides whether its segment will be repaired, and each
 * repair appended to VOLUME/fsck.log; progress and cancellation.
 */
#include "checkint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool lfs_ck_cancelled(struct checker *ck)
{
	if (ck->o->cancel && *ck->o->cancel) {
		ck->res->cancelled = true;
		return true;
	}
	return false;
}

/* ---- problems ---- */

static void log_repair(struct checker *ck, const struct lfs_problem *p)
{
	char line[600], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (ck->err)
		return;
	if (ck->logfd < 0) {
		ck->logfd = lfs_open_file(ck->dirfd, FSCK_LOG, O_WRONLY | O_APPEND | O_CREAT);
		if (ck->logfd < 0) {
			ck->err = ck->logfd;
			return;
		}
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (p->topic && p->segment != UINT64_MAX)
		n = snprintf(line, sizeof(line), "%s topic %s segment %020llu: %s\n", ts, p->topic,
			     (unsigned long long)p->segment, p->message);
	else if (p->topic)
		n = snprintf(line, sizeof(line), "%s topic %s: %s\n", ts, p->topic, p->message);
	else
		n = snprintf(line, sizeof(line), "%s volume: %s\n", ts, p->message);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	int rc = lfs_pwrite_full(ck->logfd, line, (size_t)n, 0); /* O_APPEND: offset ignored */
	if (rc < 0)
		ck->err = rc;
}

void lfs_ck_emit(struct checker *ck, const struct lfs_problem *p)
{
	if (ck->holding) {
		if (lfs_array_reserve(&ck->held, ck->nheld, &ck->capheld, sizeof(*ck->held), 16) < 0) {
			ck->err = -ENOMEM;
			return;
		}
		ck->held[ck->nheld++] = *p;
		return;
	}
	ck->res->problems++;
	if (p->repaired) {
		ck->res->repaired++;
		log_repair(ck, p);
		/* The segment summary of the last clean close may describe
		 * what was just changed: it goes (the next mount reads every
		 * segment once). Should fsck die between the change and this,
		 * the mount still never serves a changed segment: its files
		 * no longer agree with the summary when first read (EIO). */
		if (!ck->summary_dropped) {
			int r = lfs_summary_drop(ck->dirfd);
			if (r < 0 && !ck->err)
				ck->err = r;
			ck->summary_dropped = true;
		}
	} else {
		ck->res->unrepaired++;
		ck->seg_unrepaired++;
	}
	if (ck->o->problem)
		ck->o->problem(ck->o->ctx, p);
}

void lfs_ck_scan_problem(void *ctx, const struct lfs_problem *p)
{
	lfs_ck_emit(ctx, p);
}

void lfs_ck_problem(struct checker *ck, enum lfs_problem_kind kind, const char *topic,
		    uint64_t segment, uint64_t first, uint64_t last, uint64_t bytes, bool repaired,
		    const char *fmt, ...)
{
	struct lfs_problem p;
	va_list ap;
	va_start(ap, fmt);
	lfs_problem_vset(&p, kind, topic, segment, first, last, bytes, repaired, fmt, ap);
	va_end(ap);
	lfs_ck_emit(ck, &p);
}

void lfs_ck_progress(struct checker *ck, uint64_t bytes)
{
	ck->done_bytes += bytes;
	if (ck->o->progress)
		ck->o->progress(ck->o->ctx, ck->done_bytes, ck->total_bytes);
}
