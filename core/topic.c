/*
 * Topics: the object and its settings, and loading a topic's segments at
 * open. The append path is in append.c, group commit and seals in commit.c,
 * retention in retention.c, the segment list in seglist.c.
 */
#include "internal.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static lfs_topic *topic_alloc(lfs_volume *v, const char *name)
{
	lfs_topic *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->vol = v;
	t->dirfd = -1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	atomic_init(&t->retention_floor, UINT64_MAX);
	lfs_mutex_init(&t->conf_mu);
	lfs_mutex_init(&t->append_mu);
	lfs_mutex_init(&t->seal_mu);
	lfs_rwlock_init(&t->segs_lock);
	lfs_mutex_init(&t->sync_mu);
	pthread_cond_init(&t->sync_cond, NULL);
	lfs_rwlock_init(&t->files_lock);
	lfs_mutex_init(&t->files_mu);
	return t;
}

static void topic_free(lfs_topic *t)
{
	lfs_topic_files_forget(t);
	lfs_cursors_free(t);
	/* The active pointer holds a reference of its own. */
	lfs_segment_put(t->active);
	for (size_t i = 0; i < t->nsegs; i++)
		lfs_segment_put(t->segs[i]);
	free(t->segs);
	if (t->dirfd >= 0)
		close(t->dirfd);
	if (t->ring) {
		io_uring_queue_exit(t->ring);
		free(t->ring);
	}
	lfs_mutex_destroy(&t->conf_mu);
	lfs_mutex_destroy(&t->append_mu);
	for (size_t i = 0; i < t->nunsealed; i++)
		lfs_segment_put(t->unsealed[i]);
	free(t->unsealed);
	lfs_mutex_destroy(&t->seal_mu);
	lfs_rwlock_destroy(&t->segs_lock);
	lfs_mutex_destroy(&t->sync_mu);
	pthread_cond_destroy(&t->sync_cond);
	lfs_rwlock_destroy(&t->files_lock);
	lfs_mutex_destroy(&t->files_mu);
	free(t);
}

void lfs_topic_ref(lfs_topic *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void lfs_topic_put(lfs_topic *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		topic_free(t);
}

const char *lfs_topic_name(const lfs_topic *t)
{
	return t->name;
}

bool lfs_topic_deleted(lfs_topic *t)
{
	return atomic_load(&t->deleted);
}

uint64_t lfs_topic_id(const lfs_topic *t)
{
	return t->id;
}

void lfs_topic_hold(lfs_topic *t)
{
	atomic_fetch_add(&t->holds, 1);
}

void lfs_topic_release(lfs_topic *t)
{
	atomic_fetch_sub(&t->holds, 1);
}

void lfs_topic_get_meta(lfs_topic *t, struct lfs_topic_meta *meta)
{
	lfs_mutex_lock(&t->conf_mu);
	*meta = t->meta;
	lfs_mutex_unlock(&t->conf_mu);
}

int lfs_topic_set_meta(lfs_topic *t, const struct lfs_topic_meta *meta)
{
	if (t->vol->readonly)
		return -EROFS;
	if (lfs_mirror_name_check(meta->mirror) < 0)
		return -EINVAL;
	lfs_mutex_lock(&t->conf_mu);
	int rc = lfs_topic_files_enter(t);
	if (rc < 0) {
		lfs_mutex_unlock(&t->conf_mu);
		return rc;
	}
	rc = lfs_topic_dir_own(t->dirfd, meta);
	if (rc == 0)
		rc = lfs_topic_conf_write(t->dirfd, meta, &t->own, t->own_mask);
	if (rc < 0)
		lfs_topic_dir_own(t->dirfd, &t->meta); /* best effort */
	lfs_topic_files_exit(t);
	if (rc == 0)
		t->meta = *meta;
	lfs_mutex_unlock(&t->conf_mu);
	return rc;
}

/* A topic's backing directory belongs to the topic's owner where the daemon
 * may give it (as root, not acting as the volume's owner), so that
 * fsck.logfs can prove the owner when topic.conf is damaged. Elsewhere it
 * stays the daemon's, which is the narrower proof. Its mode stays
 * LFS_DIR_MODE. */
int lfs_topic_dir_own(int dirfd, const struct lfs_topic_meta *meta)
{
	if (geteuid() != 0)
		return 0;
	if (fchown(dirfd, meta->uid, meta->gid) < 0 && errno != EPERM)
		return -errno;
	return 0;
}

void lfs_topic_settings(lfs_topic *t, struct lfs_settings *s)
{
	lfs_mutex_lock(&t->conf_mu);
	lfs_settings_merge(s, &t->vol->defaults, &t->own, t->own_mask);
	lfs_mutex_unlock(&t->conf_mu);
	/* A max_record inherited from the mount may pass what one write can
	 * carry; lfs_topic_set refuses a topic's own that does. */
	uint64_t wmax = atomic_load(&t->vol->write_record_max);
	if (s->framing == LFS_FRAMING_WRITE && wmax && s->max_record > wmax)
		s->max_record = wmax;
}

/* Sets one setting of the topic from text, or, value NULL, drops the
 * topic's own value so that the volume default applies again; persists the
 * result. */
static int topic_update(lfs_topic *t, enum lfs_setting_id id, const char *value)
{
	struct lfs_settings own;
	int rc = 0;
	uint32_t old_framing = 0;

	if (t->vol->readonly)
		return -EROFS;
	if ((unsigned)id >= LFS_SET_COUNT)
		return -EINVAL;
	lfs_mutex_lock(&t->append_mu);
	/* A framing change rewrites the active segment's header. (Its
	 * reopening reads the settings: before conf_mu.) */
	rc = lfs_topic_active_open(t);
	if (rc < 0) {
		lfs_mutex_unlock(&t->append_mu);
		return rc;
	}
	lfs_mutex_lock(&t->conf_mu);
	own = t->own;
	if (value)
		rc = lfs_setting_parse(&own, id, value);
	uint32_t mask = value ? t->own_mask | (1u << id) : t->own_mask & ~(1u << id);
	uint64_t wmax = atomic_load(&t->vol->write_record_max);
	uint32_t framing = mask & (1u << LFS_SET_FRAMING) ? own.framing : t->vol->defaults.framing;
	if (rc == 0 && wmax && framing == LFS_FRAMING_WRITE && (mask & (1u << LFS_SET_MAX_RECORD)) &&
	    own.max_record > wmax)
		rc = -EINVAL;
	if (rc == 0 && id == LFS_SET_FRAMING) {
		/* Framing decides how existing bytes split into records: it
		 * may only change while the topic has never had one. */
		if (atomic_load(&t->next_offset) != 0 || t->nsegs != 1)
			rc = -EINVAL;
		else if (t->active->framing != framing) {
			old_framing = t->active->framing;
			rc = lfs_segment_rewrite_framing(t->active, framing);
		}
	}
	if (rc == 0) {
		rc = lfs_topic_files_enter(t);
		if (rc == 0) {
			rc = lfs_topic_conf_write(t->dirfd, &t->meta, &own, mask);
			lfs_topic_files_exit(t);
		}
		if (rc < 0 && old_framing)
			lfs_segment_rewrite_framing(t->active, old_framing); /* best effort */
	}
	if (rc == 0) {
		t->own = own;
		t->own_mask = mask;
	}
	lfs_mutex_unlock(&t->conf_mu);
	lfs_mutex_unlock(&t->append_mu);
	return rc;
}

int lfs_topic_set(lfs_topic *t, enum lfs_setting_id id, const char *value)
{
	return value ? topic_update(t, id, value) : -EINVAL;
}

int lfs_topic_unset(lfs_topic *t, enum lfs_setting_id id)
{
	return topic_update(t, id, NULL);
}

/* ---- loading ---- */

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
	lfs_log(t->vol, 1, "recovery: topic %s segment %llu: %s", t->name,
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
		lfs_log(t->vol, 0, "topic %s: segment %llu: %s: %s", t->name,
			(unsigned long long)seg->base, lfs_recover_action_text(a, false), strerror(-rc));
		return rc;
	}
	if (a == LFS_REC_AFTER_LOSS)
		lfs_log(t->vol, 1, "recovery: topic %s segment %llu: records from offset %llu lost: %s",
			t->name, (unsigned long long)seg->base, (unsigned long long)rec->lost_from,
			t->vol->readonly ? "left out (read-only)" : lfs_recover_action_text(a, true));
	else
		lfs_log(t->vol, 1, "recovery: topic %s segment %llu: %s", t->name,
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
	lfs_log(t->vol, 1,
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

static int load_segments(lfs_topic *t, bool was_clean, const struct lfs_sum_topic *sum,
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
			lfs_log(t->vol, 0, "topic %s: cannot read segment %llu: %s", t->name,
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
			lfs_log(t->vol, 0, "topic %s: cannot load segment %llu: %s", t->name,
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

int lfs_topic_load(lfs_volume *v, const char *name, bool was_clean,
		   const struct lfs_sum_topic *sum, struct lfs_open_report *rep, lfs_topic **out)
{
	lfs_topic *t = topic_alloc(v, name);
	int rc;

	if (!t)
		return -ENOMEM;
	t->dirfd = lfs_open_dir(v->topics_fd, name);
	if (t->dirfd < 0) {
		rc = t->dirfd;
		goto fail;
	}
	rc = lfs_topic_files_opened(t);
	if (rc < 0)
		goto fail;
	rc = lfs_topic_conf_read(t->dirfd, &t->meta, &t->own, &t->own_mask);
	if (rc < 0) {
		/* The topic's owner, mode and framing are in topic.conf: any
		 * guess could open the topic to others or split its bytes
		 * into other records. The caller leaves it out of the mount
		 * until fsck.logfs rebuilds the file from what it can prove. */
		const char *why = lfs_refusal(rc);
		lfs_log(v, 0, "topic %s: %s %s: the topic's owner, mode and framing are unknown",
			name, LFS_TOPIC_CONF, why ? why : rc == -EUCLEAN ? "damaged" : strerror(-rc));
		if (rc == -EUCLEAN || rc == -ENOENT)
			rc = -EUCLEAN;
		goto fail;
	}
	rc = load_segments(t, was_clean, sum, rep);
	if (rc < 0)
		goto fail;
	rc = lfs_cursors_load(t);
	if (rc < 0)
		goto fail;
	lfs_topic_files_loaded(t);
	*out = t;
	return 0;
fail:
	topic_free(t);
	return rc;
}

void lfs_topic_unload(lfs_topic *t)
{
	lfs_topic_put(t);
}

/* ---- stat ---- */

void lfs_topic_stat(lfs_topic *t, struct lfs_topic_stat *st)
{
	memset(st, 0, sizeof(*st));
	lfs_rwlock_rdlock(&t->segs_lock);
	if (t->nsegs) {
		lfs_segment *f = t->segs[0], *l = t->segs[t->nsegs - 1];
		st->first_offset = f->base;
		st->start_pos = f->stream_pos;
		st->segments = t->nsegs;
		for (size_t i = 0; i < t->nsegs; i++) {
			lfs_segment *s = t->segs[i];
			if (atomic_load(&s->nentries)) {
				st->first_timestamp = s->first_ts;
				break;
			}
		}
		st->last_timestamp = atomic_load(&l->last_ts);
		if (!st->last_timestamp && t->nsegs > 1)
			st->last_timestamp = atomic_load(&t->segs[t->nsegs - 2]->last_ts);
	}
	lfs_rwlock_unlock(&t->segs_lock);
	st->next_offset = atomic_load_explicit(&t->next_offset, memory_order_acquire);
	st->end_pos = atomic_load_explicit(&t->end_pos, memory_order_acquire);
	if (st->end_pos < st->start_pos)
		st->end_pos = st->start_pos;
	st->bytes = st->end_pos - st->start_pos;
}
