/*
 * Loading a topic's segments at open: the listing of its directory, the
 * recovery policy (recover.c) applied to it, each kept segment loaded from
 * the summary of a clean close or scanned (scan.c), stream positions.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_rec_seg(const void *a, const void *b)
{
	uint64_t x = ((const struct lfs_rec_seg *)a)->base, y = ((const struct lfs_rec_seg *)b)->base;
	return x < y ? -1 : x > y;
}

/* The segments present (a .log, a .idx or both), sorted by base. */
static int list_segments(int dirfd, struct lfs_rec_seg **out, size_t *count)
{
	DIR *d;
	struct dirent *de;
	struct lfs_rec_seg *v = NULL;
	uint64_t base;
	size_t n = 0, cap = 0;
	int rc = lfs_dir_open(dirfd, &d);

	if (rc < 0)
		return rc;
	while ((de = readdir(d))) {
		bool log = lfs_seg_name_parse(de->d_name, "log", &base) == 0;
		/* A rewrite a crash interrupted (scan.c): the segment is
		 * scanned, which finishes or undoes it. */
		bool rw = lfs_seg_name_parse(de->d_name, "log.new", &base) == 0 ||
			  lfs_seg_name_parse(de->d_name, "idx.new", &base) == 0;
		if (!log && !rw && lfs_seg_name_parse(de->d_name, "idx", &base) < 0)
			continue;
		if (lfs_array_reserve(&v, n, &cap, sizeof(*v), 64) < 0) {
			free(v);
			closedir(d);
			return -ENOMEM;
		}
		v[n++] = (struct lfs_rec_seg){
			.base = base, .has_log = log, .has_idx = !log && !rw, .rewriting = rw};
	}
	closedir(d);
	if (n) /* v is NULL for a new topic: qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), cmp_rec_seg);
	/* A segment has two files: merge each base's (sorted, so they are
	 * neighbours; linear in the number of segments). */
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u > 0 && v[u - 1].base == v[i].base) {
			v[u - 1].has_log |= v[i].has_log;
			v[u - 1].has_idx |= v[i].has_idx;
			v[u - 1].rewriting |= v[i].rewriting;
		} else {
			v[u++] = v[i];
		}
	}
	*out = v;
	*count = u;
	return 0;
}

static void log_problem(void *ctx, const struct lfs_problem *p)
{
	lfs_topic *t = ctx;
	lfs_log(t->vol, LFS_LOG_WARNING, "recovery: topic %s segment %llu: %s", t->name,
		(unsigned long long)p->segment, p->message);
}

/* Runs the recovery scanner over one segment, repairing (cutting back) and,
 * for all but the last, sealing it. */
static int recover_segment(lfs_topic *t, uint64_t base, uint64_t stream_pos, bool seal,
			   struct lfs_open_report *rep, struct lfs_scan_result *out)
{
	struct lfs_scan_result r;
	struct lfs_scan_hint hint = {.framing = t->own_mask & (1u << LFS_SET_FRAMING)
						       ? t->own.framing
						       : t->vol->defaults.framing,
				     .stream_pos = stream_pos};
	hint.voldirfd = t->vol->dirfd;
	unsigned flags = LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_LOSE_DAMAGED |
			 (t->vol->readonly ? 0 : LFS_SCAN_REPAIR);
	int rc = lfs_scan_segment(t->dirfd, t->name, base, flags, seal && !t->vol->readonly, &hint,
				  log_problem, t, &r);
	if (rep) {
		rep->segments_scanned++;
		rep->records_cut += r.records_cut;
		rep->bytes_cut += r.bytes_cut;
	}
	*out = r;
	return rc;
}

/* A segment the recovery policy does not keep (recover.c): the action is
 * applied (read-only: only left out) and logged. */
static int drop_segment(lfs_topic *t, const struct lfs_recover *rec, const struct lfs_rec_seg *seg,
			enum lfs_rec_action a, struct lfs_open_report *rep)
{
	char name[32];
	struct stat st;
	lfs_seg_name(seg->base, "log", name);
	if (rep && a != LFS_REC_FINISH_DELETION &&
	    fstatat(t->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		rep->bytes_cut += (uint64_t)st.st_size;
	int rc = t->vol->readonly ? 0 : lfs_recover_apply(t->vol->dirfd, t->dirfd, t->name, seg->base, a);
	if (rc < 0) {
		lfs_log(t->vol, LFS_LOG_ERR, "topic %s: segment %llu: %s: %s", t->name,
			(unsigned long long)seg->base, lfs_recover_action_text(a, false), strerror(-rc));
		return rc;
	}
	if (a == LFS_REC_AFTER_LOSS)
		lfs_log(t->vol, LFS_LOG_WARNING,
			"recovery: topic %s segment %llu: records from offset %llu lost: %s", t->name,
			(unsigned long long)seg->base, (unsigned long long)rec->lost_from,
			t->vol->readonly ? "left out (read-only)" : lfs_recover_action_text(a, true));
	else
		lfs_log(t->vol, LFS_LOG_WARNING, "recovery: topic %s segment %llu: %s", t->name,
			(unsigned long long)seg->base,
			t->vol->readonly ? lfs_recover_action_text(a, false) : lfs_recover_action_text(a, true));
	return 0;
}

/* How many of the segments found (from the first) the summary of a clean
 * close describes: its entries for segments retention has removed since
 * are skipped, the rest must name segs[0..k) in order. 0 when it is not
 * this topic's (a topic made again under the same name) or disagrees. It
 * stops before a segment that lacks one of its files: the recovery policy
 * decides about that one (a deletion of the oldest cut short, a data file
 * lost). */
static size_t summary_covers(lfs_topic *t, const struct lfs_sum_topic *sum,
			     const struct lfs_rec_seg *segs, size_t n, size_t *skip)
{
	uint64_t id[2];
	size_t i = 0, k = 0;
	if (n == 0 || lfs_topic_dir_identity(t->dirfd, id) < 0 || id[0] != sum->id[0] ||
	    id[1] != sum->id[1])
		return 0;
	struct lfs_sum_seg e;
	for (; i < sum->nsegs; i++) {
		lfs_sum_seg_decode(sum->segs + i * (size_t)LFS_SUM_SEG_SIZE, &e);
		if (e.base >= segs[0].base)
			break;
	}
	*skip = i;
	for (; i < sum->nsegs; i++, k++) {
		lfs_sum_seg_decode(sum->segs + i * (size_t)LFS_SUM_SEG_SIZE, &e);
		if (k == n || e.base != segs[k].base)
			return 0;
	}
	for (size_t j = 0; j < k; j++)
		if (!segs[j].has_log || !segs[j].has_idx || segs[j].rewriting)
			return j;
	return k;
}

/* Loads the sealed segments the summary describes, opening no file. */
static int load_from_summary(lfs_topic *t, const struct lfs_sum_topic *sum, size_t skip, size_t k,
			     struct lfs_recover *rec)
{
	int rc = 0;
	lfs_rwlock_wrlock(&t->segs_lock);
	for (size_t i = skip; i < skip + k && rc == 0; i++) {
		struct lfs_sum_seg e;
		lfs_sum_seg_decode(sum->segs + i * (size_t)LFS_SUM_SEG_SIZE, &e);
		lfs_segment *s = lfs_segment_from_summary(t, &e);
		rc = s ? lfs_topic_segs_push(t, s) : -ENOMEM;
		if (rc < 0 && s)
			lfs_segment_put(s);
		if (rc == 0)
			lfs_recover_keep(rec, e.stream_pos, e.size, e.next_offset, false);
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

/* A kept segment must start where the previous one ends in the topic's
 * byte stream (recover.c): its header is rewritten if not (read-only: in
 * memory only). */
static int fix_position(lfs_topic *t, lfs_segment *s, uint64_t pos)
{
	if (s->stream_pos == pos)
		return 0;
	lfs_log(t->vol, LFS_LOG_WARNING,
		"recovery: topic %s segment %llu: starts at stream position %llu, the previous one "
		"ends at %llu: %s",
		t->name, (unsigned long long)s->base, (unsigned long long)s->stream_pos,
		(unsigned long long)pos, t->vol->readonly ? "taken as such" : "header rewritten");
	if (!t->vol->readonly) {
		struct lfs_idx_header h;
		int rc = lfs_idx_header_read(t->dirfd, s->base, &h);
		if (rc == 0) {
			h.stream_pos = pos;
			rc = lfs_idx_header_write(t->dirfd, s->base, &h);
		}
		if (rc < 0)
			return rc;
	}
	s->stream_pos = pos;
	return 0;
}

int lfs_topic_load_segments(lfs_topic *t, bool was_clean, const struct lfs_sum_topic *sum,
			    struct lfs_open_report *rep)
{
	struct lfs_rec_seg *segs = NULL;
	struct lfs_recover rec;
	size_t n = 0, first = 0;
	int rc = list_segments(t->dirfd, &segs, &n);

	if (rc < 0)
		return rc;
	lfs_recover_init(&rec, segs, n);
	size_t skip = 0, k = sum ? summary_covers(t, sum, segs, n, &skip) : 0;
	if (k > 0) {
		rc = load_from_summary(t, sum, skip, k, &rec);
		first = k;
		if (rep)
			rep->segments_summarized += (unsigned)k;
	}
	for (size_t i = first; i < n && rc == 0; i++) {
		bool last = i + 1 == n;
		lfs_segment *s = NULL;
		struct lfs_idx_header h;

		int hrc = segs[i].has_idx ? lfs_idx_header_read(t->dirfd, segs[i].base, &h) : -ENOENT;
		if (hrc < 0 && hrc != -ENOENT && hrc != -EUCLEAN) {
			rc = hrc;
			lfs_log(t->vol, LFS_LOG_ERR, "topic %s: cannot read segment %llu: %s", t->name,
				(unsigned long long)segs[i].base, strerror(-rc));
			break;
		}
		enum lfs_rec_action a = lfs_recover_decide(&rec, i, hrc, &h);
		if (a != LFS_REC_LOAD) {
			rc = drop_segment(t, &rec, &segs[i], a, rep);
			continue;
		}
		uint64_t stream_pos = lfs_recover_position(&rec, t->dirfd, i, hrc, &h);
		bool never_sealed = false;
		/* A sealed index without its data file: scanned (its records
		 * are lost, its offsets kept). */
		rc = segs[i].has_log && !segs[i].rewriting ? lfs_segment_load_sealed(t, segs[i].base, &s)
							    : -ENOENT;
		if (rc == -EUCLEAN || rc == -ENOENT || rc == -ENODATA) {
			/* Not sealed: the active segment, or one whose roll a
			 * crash interrupted. Only those can be torn. */
			struct lfs_scan_result r = {0};
			bool scanned = !was_clean || !last || !segs[i].has_log || segs[i].rewriting;
			if (scanned) {
				rc = recover_segment(t, segs[i].base, stream_pos, !last, rep, &r);
				if (rc < 0)
					break;
				/* A sealed segment damaged since (bit rot) keeps
				 * what follows: its loss is not a crash's. */
				never_sealed = !r.had_seal;
			}
			/* Recovery seals even the last segment when its
			 * data was lost, to keep the lost offsets. */
			rc = lfs_segment_load_sealed(t, segs[i].base, &s);
			/* Read-only: nothing is sealed or cut; a rolled segment
			 * is served as far as the scan found it valid. */
			if (rc != 0 && t->vol->readonly && !last && scanned)
				rc = lfs_segment_load_scanned(t, segs[i].base, &r, &s);
			if (rc != 0 && last && !t->vol->readonly)
				rc = lfs_segment_load_active(t, segs[i].base, scanned ? &r : NULL, &s);
			/* Read-only after a crash: served as far as recovery
			 * would keep it, decided in memory. */
			if (rc < 0 && t->vol->readonly && last)
				rc = lfs_segment_load_active(t, segs[i].base, scanned ? &r : NULL, &s);
		}
		if (rc == 0 && rec.kept > 0)
			rc = fix_position(t, s, stream_pos);
		if (rc < 0) {
			lfs_log(t->vol, LFS_LOG_ERR, "topic %s: cannot load segment %llu: %s", t->name,
				(unsigned long long)segs[i].base, strerror(-rc));
			if (s)
				lfs_segment_put(s);
			break;
		}
		lfs_recover_keep(&rec, s->stream_pos, atomic_load(&s->size),
				 atomic_load(&s->next_offset), never_sealed);
		lfs_rwlock_wrlock(&t->segs_lock);
		rc = lfs_topic_segs_push(t, s);
		lfs_rwlock_unlock(&t->segs_lock);
		if (rc < 0) {
			lfs_segment_put(s);
			break;
		}
		if (!atomic_load(&s->sealed)) {
			lfs_segment_ref(s);
			t->active = s;
		}
	}
	free(segs);
	if (rc < 0)
		return rc;

	lfs_segment *last = t->nsegs ? t->segs[t->nsegs - 1] : NULL;
	if (last && !t->active && !t->vol->readonly && atomic_load(&last->sealed) &&
	    atomic_load(&last->next_offset) == last->base) {
		/* A sealed segment without records at the end (recovery
		 * emptied it: its data was lost, and no offset with it): the
		 * new active segment starts at the same base, so its files
		 * would take the place of this one's (fuzz_volume found the
		 * two in the list, the second read as the first). It keeps
		 * nothing: it goes. */
		lfs_rwlock_wrlock(&t->segs_lock);
		t->nsegs--;
		rc = lfs_segment_unlink(last);
		lfs_rwlock_unlock(&t->segs_lock);
		lfs_segment_put(last);
		if (rc < 0)
			return rc;
		last = t->nsegs ? t->segs[t->nsegs - 1] : NULL;
	}
	uint64_t next = last ? atomic_load(&last->next_offset) : 0;
	uint64_t end = last ? last->stream_pos + atomic_load(&last->size) : 0;
	if (!t->active && !t->vol->readonly) {
		/* No open segment (new topic, or the last one is sealed). */
		struct lfs_settings st;
		lfs_topic_settings(t, &st);
		rc = lfs_topic_start_active(t, next, end, st.framing);
		if (rc < 0)
			return rc;
	}
	atomic_store(&t->next_offset, next);
	atomic_store(&t->acked_offset, next);
	atomic_store(&t->end_pos, end);
	t->durable_offset = was_clean ? next : 0;
	return 0;
}
