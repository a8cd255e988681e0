/*
 * Topics: one directory of segments, the append path with its roll, group
 * commit, and retention.
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
	pthread_mutex_init(&t->conf_mu, NULL);
	pthread_mutex_init(&t->append_mu, NULL);
	pthread_mutex_init(&t->seal_mu, NULL);
	pthread_rwlock_init(&t->segs_lock, NULL);
	pthread_mutex_init(&t->sync_mu, NULL);
	pthread_cond_init(&t->sync_cond, NULL);
	return t;
}

static void topic_free(lfs_topic *t)
{
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
	pthread_mutex_destroy(&t->conf_mu);
	pthread_mutex_destroy(&t->append_mu);
	for (size_t i = 0; i < t->nunsealed; i++)
		lfs_segment_put(t->unsealed[i]);
	free(t->unsealed);
	pthread_mutex_destroy(&t->seal_mu);
	pthread_rwlock_destroy(&t->segs_lock);
	pthread_mutex_destroy(&t->sync_mu);
	pthread_cond_destroy(&t->sync_cond);
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
	pthread_mutex_lock(&t->conf_mu);
	*meta = t->meta;
	pthread_mutex_unlock(&t->conf_mu);
}

int lfs_topic_set_meta(lfs_topic *t, const struct lfs_topic_meta *meta)
{
	if (t->vol->readonly)
		return -EROFS;
	if (lfs_mirror_name_check(meta->mirror) < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->conf_mu);
	int rc = lfs_topic_dir_own(t->dirfd, meta);
	if (rc == 0)
		rc = lfs_topic_conf_write(t->dirfd, meta, &t->own, t->own_mask);
	if (rc < 0)
		lfs_topic_dir_own(t->dirfd, &t->meta); /* best effort */
	if (rc == 0)
		t->meta = *meta;
	pthread_mutex_unlock(&t->conf_mu);
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
	pthread_mutex_lock(&t->conf_mu);
	lfs_settings_merge(s, &t->vol->defaults, &t->own, t->own_mask);
	pthread_mutex_unlock(&t->conf_mu);
	/* A max_record inherited from the mount may pass what one write can
	 * carry; lfs_topic_set refuses a topic's own that does. */
	uint64_t wmax = atomic_load(&t->vol->write_record_max);
	if (s->framing == LFS_FRAMING_WRITE && wmax && s->max_record > wmax)
		s->max_record = wmax;
}

/* Appends seg to the segment list (segs_lock held for writing). */
static int segs_push(lfs_topic *t, lfs_segment *s)
{
	if (t->nsegs == t->segs_cap) {
		size_t cap = t->segs_cap ? t->segs_cap * 2 : 16;
		lfs_segment **n = realloc(t->segs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->segs = n;
		t->segs_cap = cap;
	}
	t->segs[t->nsegs++] = s;
	return 0;
}

/* Makes s (whose creation reference the list takes over) the active
 * segment, adding the active pointer's own reference. */
static int set_active(lfs_topic *t, lfs_segment *s)
{
	pthread_rwlock_wrlock(&t->segs_lock);
	int rc = segs_push(t, s);
	if (rc == 0) {
		lfs_segment_ref(s);
		t->active = s;
	}
	pthread_rwlock_unlock(&t->segs_lock);
	return rc;
}

/* Rewrites the index header of the (empty) active segment with another
 * framing, in place. The segment object and its files stay: readers that
 * pinned it keep following the topic (they find new segments by base
 * offset, and a replacement would have had the same base), and nothing is
 * unlinked if the write fails. */
static int rewrite_framing(lfs_segment *s, uint32_t framing)
{
	unsigned char hdr[LFS_IDX_HEADER_SIZE];
	struct lfs_idx_header h = {.version = LFS_FORMAT_VERSION,
				   .framing = framing,
				   .base_offset = s->base,
				   .stream_pos = s->stream_pos,
				   .ctime_ns = s->ctime_ns};
	lfs_idx_header_encode(&h, hdr);
	int rc = lfs_pwrite_full(s->idx_fd, hdr, sizeof(hdr), 0);
	if (rc == 0 && fdatasync(s->idx_fd) < 0)
		rc = -errno;
	if (rc == 0)
		s->framing = framing;
	return rc;
}

/* Creates the segment that starts at (base, stream_pos) and makes it the
 * active one. */
static int start_active(lfs_topic *t, uint64_t base, uint64_t stream_pos, uint32_t framing)
{
	lfs_segment *s;
	int rc = lfs_segment_create_active(t, base, stream_pos, framing, &s);
	if (rc < 0)
		return rc;
	rc = set_active(t, s);
	if (rc < 0)
		lfs_segment_put(s);
	return rc;
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
	pthread_mutex_lock(&t->append_mu);
	pthread_mutex_lock(&t->conf_mu);
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
			rc = rewrite_framing(t->active, framing);
		}
	}
	if (rc == 0) {
		rc = lfs_topic_conf_write(t->dirfd, &t->meta, &own, mask);
		if (rc < 0 && old_framing)
			rewrite_framing(t->active, old_framing); /* best effort */
	}
	if (rc == 0) {
		t->own = own;
		t->own_mask = mask;
	}
	pthread_mutex_unlock(&t->conf_mu);
	pthread_mutex_unlock(&t->append_mu);
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Base offsets of the segments present (a .log or a .idx), sorted. */
static int list_bases(int dirfd, uint64_t **out, size_t *count)
{
	DIR *d;
	struct dirent *de;
	uint64_t *v = NULL, base;
	size_t n = 0, cap = 0;
	int rc = lfs_dir_open(dirfd, &d);

	if (rc < 0)
		return rc;
	while ((de = readdir(d))) {
		if (lfs_seg_name_parse(de->d_name, "log", &base) < 0 &&
		    lfs_seg_name_parse(de->d_name, "idx", &base) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			uint64_t *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = base;
	}
	closedir(d);
	if (n) /* v is NULL for a new topic: qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), cmp_u64);
	/* A segment has two files: keep each base once (sorted, so the
	 * duplicates are neighbours; linear in the number of segments). */
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || v[u - 1] != v[i])
			v[u++] = v[i];
	n = u;
	*out = v;
	*count = n;
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
	unsigned flags = LFS_SCAN_VERIFY_PAYLOAD | (t->vol->readonly ? 0 : LFS_SCAN_REPAIR);
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

/* Segments bases[from..n) follow records a crash lost in a rolled segment
 * whose seal was not yet written: keeping them would leave a gap in the
 * offsets, and a log is a prefix (whatever was acknowledged as durable
 * precedes the loss: a sync writes every pending seal first). They go to
 * lost+found, not away: the operator may still want their bytes. */
static int drop_after_loss(lfs_topic *t, const uint64_t *bases, size_t from, size_t n,
			   uint64_t lost_from, struct lfs_open_report *rep)
{
	for (size_t j = from; j < n; j++) {
		char name[32];
		struct stat st;
		lfs_seg_name(bases[j], "log", name);
		if (rep && fstatat(t->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			rep->bytes_cut += (uint64_t)st.st_size;
		if (t->vol->readonly)
			continue;
		int rc = lfs_lost_found_move_segment(t->vol->dirfd, t->dirfd, t->name, bases[j]);
		if (rc < 0) {
			lfs_log(t->vol, 0, "topic %s: cannot move segment %llu to %s: %s", t->name,
				(unsigned long long)bases[j], LFS_LOST_FOUND, strerror(-rc));
			return rc;
		}
	}
	lfs_log(t->vol, 1,
		"recovery: topic %s: records from offset %llu were lost before their segment "
		"was sealed; %zu later segment(s) from offset %llu %s",
		t->name, (unsigned long long)lost_from, n - from, (unsigned long long)bases[from],
		t->vol->readonly ? "left out (read-only)" : "moved to " LFS_LOST_FOUND);
	return 0;
}

/* How many of the segments found (from the first) the summary of a clean
 * close describes: its entries for segments retention has removed since
 * are skipped, the rest must name bases[0..k) in order. 0 when it is not
 * this topic's (a topic made again under the same name) or disagrees. */
static size_t summary_covers(lfs_topic *t, const struct lfs_sum_topic *sum, const uint64_t *bases,
			     size_t n, size_t *skip)
{
	uint64_t id[2];
	size_t i = 0, k = 0;
	if (n == 0 || lfs_topic_dir_identity(t->dirfd, id) < 0 || id[0] != sum->id[0] ||
	    id[1] != sum->id[1])
		return 0;
	/* A deletion of the oldest segment that a crash cut short (its data
	 * file gone): the file-by-file load finishes it. */
	char name[32];
	struct stat st;
	lfs_seg_name(bases[0], "log", name);
	if (fstatat(t->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	struct lfs_sum_seg e;
	for (; i < sum->nsegs; i++) {
		lfs_sum_seg_decode(sum->segs + i * (size_t)LFS_SUM_SEG_SIZE, &e);
		if (e.base >= bases[0])
			break;
	}
	*skip = i;
	for (; i < sum->nsegs; i++, k++) {
		lfs_sum_seg_decode(sum->segs + i * (size_t)LFS_SUM_SEG_SIZE, &e);
		if (k == n || e.base != bases[k])
			return 0;
	}
	return k;
}

/* Loads the sealed segments the summary describes, opening no file. */
static int load_from_summary(lfs_topic *t, const struct lfs_sum_topic *sum, size_t skip, size_t k)
{
	int rc = 0;
	pthread_rwlock_wrlock(&t->segs_lock);
	for (size_t i = skip; i < skip + k && rc == 0; i++) {
		struct lfs_sum_seg e;
		lfs_sum_seg_decode(sum->segs + i * (size_t)LFS_SUM_SEG_SIZE, &e);
		lfs_segment *s = lfs_segment_from_summary(t, &e);
		rc = s ? segs_push(t, s) : -ENOMEM;
		if (rc < 0 && s)
			lfs_segment_put(s);
	}
	pthread_rwlock_unlock(&t->segs_lock);
	return rc;
}

static int load_segments(lfs_topic *t, bool was_clean, const struct lfs_sum_topic *sum,
			 struct lfs_open_report *rep)
{
	uint64_t *bases = NULL;
	size_t n = 0, first = 0;
	int rc = list_bases(t->dirfd, &bases, &n);
	uint64_t stream_pos = 0, prev_next = 0;
	bool prev_scanned = false;

	if (rc < 0)
		return rc;
	size_t skip = 0, k = sum ? summary_covers(t, sum, bases, n, &skip) : 0;
	if (k > 0) {
		rc = load_from_summary(t, sum, skip, k);
		first = k;
		if (rep)
			rep->segments_summarized += (unsigned)k;
		if (rc == 0 && first > 0) {
			lfs_segment *s = t->segs[t->nsegs - 1];
			stream_pos = s->stream_pos + atomic_load(&s->size);
			prev_next = atomic_load(&s->next_offset);
		}
	}
	for (size_t i = first; i < n && rc == 0; i++) {
		bool last = i + 1 == n;
		lfs_segment *s = NULL;

		/* A scanned (unsealed) segment that ends short of the next
		 * one lost records to the crash. */
		if (prev_scanned && bases[i] > prev_next) {
			rc = drop_after_loss(t, bases, i, n, prev_next, rep);
			break;
		}
		prev_scanned = false;
		rc = lfs_segment_load_sealed(t, bases[i], &s);
		if (rc == 0 && t->nsegs == 0 && !last) {
			/* Fix (reliability_regress.sh): deleting the oldest
			 * segment (retention, rm) unlinks its data file, then
			 * its index. A crash between the two left a sealed
			 * index without data at the front, which mount
			 * trusted: reads of tail failed (ENOENT) until fsck.
			 * Finish the deletion. */
			char name[32];
			struct stat st;
			lfs_seg_name(bases[i], "log", name);
			if (fstatat(t->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
				lfs_log(t->vol, 1,
					"topic %s: segment %llu has no data file (a deletion cut "
					"short): %s",
					t->name, (unsigned long long)bases[i],
					t->vol->readonly ? "skipped" : "deleted");
				lfs_seg_name(bases[i], "idx", name);
				if (!t->vol->readonly)
					unlinkat(t->dirfd, name, 0);
				lfs_segment_put(s);
				continue;
			}
		}
		if (rc == -EUCLEAN || rc == -ENOENT || rc == -ENODATA) {
			/* Not sealed: the active segment, or one whose roll a
			 * crash interrupted. Only those can be torn. */
			struct lfs_scan_result r = {0};
			bool scanned = !was_clean || !last;
			if (scanned) {
				rc = recover_segment(t, bases[i], stream_pos, !last, rep, &r);
				if (rc < 0)
					break;
				/* A sealed segment damaged since (bit rot) keeps
				 * what follows: its loss is not a crash's. */
				prev_scanned = !r.had_seal;
			}
			/* Recovery seals even the last segment when its
			 * data was lost, to keep the lost offsets. */
			rc = lfs_segment_load_sealed(t, bases[i], &s);
			/* Read-only: nothing is sealed or cut; a rolled segment
			 * is served as far as the scan found it valid. */
			if (rc != 0 && t->vol->readonly && !last && scanned)
				rc = lfs_segment_load_scanned(t, bases[i], &r, &s);
			if (rc != 0 && last && !t->vol->readonly)
				rc = lfs_segment_load_active(t, bases[i], scanned ? &r : NULL, &s);
			/* Read-only after a crash: served as far as recovery
			 * would keep it, decided in memory. */
			if (rc < 0 && t->vol->readonly && last)
				rc = lfs_segment_load_active(t, bases[i], scanned ? &r : NULL, &s);
		}
		if (rc < 0) {
			lfs_log(t->vol, 0, "topic %s: cannot load segment %llu: %s", t->name,
				(unsigned long long)bases[i], strerror(-rc));
			break;
		}
		stream_pos = s->stream_pos + atomic_load(&s->size);
		prev_next = atomic_load(&s->next_offset);
		pthread_rwlock_wrlock(&t->segs_lock);
		rc = segs_push(t, s);
		pthread_rwlock_unlock(&t->segs_lock);
		if (rc < 0) {
			lfs_segment_put(s);
			break;
		}
		if (!atomic_load(&s->sealed)) {
			lfs_segment_ref(s);
			t->active = s;
		}
	}
	free(bases);
	if (rc < 0)
		return rc;

	lfs_segment *last = t->nsegs ? t->segs[t->nsegs - 1] : NULL;
	uint64_t next = last ? atomic_load(&last->next_offset) : 0;
	uint64_t end = last ? last->stream_pos + atomic_load(&last->size) : 0;
	if (!t->active && !t->vol->readonly) {
		/* No open segment (new topic, or the last one is sealed). */
		struct lfs_settings st;
		lfs_topic_settings(t, &st);
		rc = start_active(t, next, end, st.framing);
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
	*out = t;
	return 0;
fail:
	topic_free(t);
	return rc;
}

static int seal_unsealed(lfs_topic *t);

int lfs_topic_flush(lfs_topic *t)
{
	int rc = t->vol->readonly ? 0 : seal_unsealed(t);
	pthread_mutex_lock(&t->append_mu);
	if (t->active && !t->vol->readonly) {
		int r = lfs_segment_close_active(t->active);
		if (rc == 0)
			rc = r;
	}
	pthread_mutex_unlock(&t->append_mu);
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
	pthread_rwlock_rdlock(&t->segs_lock);
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
	pthread_rwlock_unlock(&t->segs_lock);
	st->next_offset = atomic_load_explicit(&t->next_offset, memory_order_acquire);
	st->end_pos = atomic_load_explicit(&t->end_pos, memory_order_acquire);
	if (st->end_pos < st->start_pos)
		st->end_pos = st->start_pos;
	st->bytes = st->end_pos - st->start_pos;
}

int lfs_topic_list_sealed(lfs_topic *t, uint64_t **bases, size_t *count)
{
	pthread_rwlock_rdlock(&t->segs_lock);
	size_t n = 0;
	uint64_t *v = malloc((t->nsegs + 1) * sizeof(*v));
	if (v)
		for (size_t i = 0; i < t->nsegs; i++)
			if (atomic_load(&t->segs[i]->sealed))
				v[n++] = t->segs[i]->base;
	pthread_rwlock_unlock(&t->segs_lock);
	if (!v)
		return -ENOMEM;
	*bases = v;
	*count = n;
	return 0;
}

int lfs_segment_get(lfs_topic *t, uint64_t base, lfs_segment **out)
{
	int rc = -ENOENT;
	pthread_rwlock_rdlock(&t->segs_lock);
	size_t lo = 0, hi = t->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->segs[mid]->base < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nsegs && t->segs[lo]->base == base && atomic_load(&t->segs[lo]->sealed)) {
		lfs_segment_ref(t->segs[lo]);
		*out = t->segs[lo];
		rc = 0;
	}
	pthread_rwlock_unlock(&t->segs_lock);
	return rc;
}

lfs_segment *lfs_topic_segment_at(lfs_topic *t, uint64_t pos)
{
	lfs_segment *s = NULL;
	pthread_rwlock_rdlock(&t->segs_lock);
	size_t lo = 0, hi = t->nsegs;
	/* Last segment whose stream_pos <= pos. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->segs[mid]->stream_pos <= pos)
			lo = mid;
		else
			hi = mid;
	}
	if (t->nsegs && t->segs[lo]->stream_pos <= pos) {
		s = t->segs[lo];
		lfs_segment_ref(s);
	}
	pthread_rwlock_unlock(&t->segs_lock);
	return s;
}

/* ---- append ---- */

/* Batches at least this large are written with pwrite(2) rather than
 * stored through the mapping. */
#define LFS_PWRITE_MIN (16u << 10)

/* Checks a batch and counts its records, outside any lock. */
static int frame_batch(enum lfs_framing framing, const struct iovec *iov, int iovcnt,
		       uint64_t max_record, size_t *len_out, uint32_t *count_out, uint32_t *crc_out)
{
	size_t len = 0, line = 0;
	uint64_t count = 0;
	uint32_t crc = 0;

	for (int i = 0; i < iovcnt; i++) {
		const char *p = iov[i].iov_base, *end = p + iov[i].iov_len;
		len += iov[i].iov_len;
		if (len > LFS_BATCH_MAX)
			return -EMSGSIZE;
		if (framing != LFS_FRAMING_LINE) {
			crc = lfs_crc32c(crc, p, iov[i].iov_len);
			continue;
		}
		size_t lines;
		crc = lfs_crc32c_count(crc, p, iov[i].iov_len, '\n', &lines);
		count += lines;
		/* No line may pass max_record: from the start of each line (of
		 * which `line` bytes came before), a '\n' must come within the
		 * room left. The last '\n' of that window starts the next one,
		 * so each byte is searched about once, and a batch of short
		 * lines costs a search or two per max_record bytes. */
		while (p < end) {
			size_t room = max_record > line ? (size_t)(max_record - line) : 0;
			size_t win = (size_t)(end - p) < room ? (size_t)(end - p) : room;
			const char *nl = win ? memrchr(p, '\n', win) : NULL;
			if (nl) {
				line = 0;
				p = nl + 1;
			} else if (win == (size_t)(end - p)) {
				line += win; /* carried into the next iovec */
				p = end;
			} else {
				return -EMSGSIZE;
			}
		}
	}
	if (len == 0)
		return -EINVAL;
	if (framing == LFS_FRAMING_LINE) {
		if (line != 0) /* the caller holds unterminated fragments */
			return -EINVAL;
	} else {
		if (len > max_record)
			return -EMSGSIZE;
		count = 1;
	}
	*len_out = len;
	*count_out = (uint32_t)count;
	*crc_out = crc;
	return 0;
}

/* Queues a frozen segment for its seal (append_mu held); takes over the
 * caller's reference. */
static int unsealed_push(lfs_topic *t, lfs_segment *s)
{
	if (t->nunsealed == t->unsealed_cap) {
		size_t cap = t->unsealed_cap ? t->unsealed_cap * 2 : 4;
		lfs_segment **n = realloc(t->unsealed, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->unsealed = n;
		t->unsealed_cap = cap;
	}
	t->unsealed[t->nunsealed++] = s;
	return 0;
}

/* sync=never leaves durability to the operating system, so the ticker
 * does not flush a rolled segment of such a topic at once: the kernel
 * writes dirty pages back within about 30 s on its own (dirty_expire), and
 * a seal written after that costs no disk wait. Flushing every 64 MiB
 * during a bulk load cost about a sixth of its throughput. What stays
 * unsealed is what mount recovery rescans after a crash, so it is bounded
 * in bytes as well. A sync, fsync(2) and unmount seal everything. */
#define NEVER_SEAL_AGE_NS (30ull * 1000000000ull)
#define NEVER_UNSEALED_MAX (1ull << 30)

/* How many of the oldest queued segments the ticker seals now (append_mu
 * held). */
static size_t seals_due(lfs_topic *t, uint32_t sync_mode, uint64_t now_ns)
{
	if (sync_mode != LFS_SYNC_NEVER)
		return t->nunsealed;
	uint64_t bytes = 0;
	for (size_t i = 0; i < t->nunsealed; i++)
		bytes += atomic_load(&t->unsealed[i]->size);
	size_t k = 0;
	/* The ticker reads its clock before it takes append_mu, so a segment
	 * rolled in between is younger than now_ns says: not due. */
	while (k < t->nunsealed &&
	       (bytes > NEVER_UNSEALED_MAX ||
		(now_ns >= t->unsealed[k]->frozen_ns &&
		 now_ns - t->unsealed[k]->frozen_ns >= NEVER_SEAL_AGE_NS))) {
		bytes -= atomic_load(&t->unsealed[k]->size);
		k++;
	}
	return k;
}

/* Writes the seals of the rolled segments, oldest first (all of them, or
 * those seals_due names): each one's data and index made durable, then its
 * seal. A segment whose seal fails stays queued, with those after it (and
 * is scanned at mount if the daemon stops before). */
static int seal_rolled(lfs_topic *t, bool all, uint64_t now_ns)
{
	int rc = 0;
	struct lfs_settings st;
	lfs_topic_settings(t, &st); /* (takes conf_mu: not under append_mu) */
	pthread_mutex_lock(&t->seal_mu);
	pthread_mutex_lock(&t->append_mu);
	size_t due = all ? t->nunsealed : seals_due(t, st.sync_mode, now_ns), done = 0;
	pthread_mutex_unlock(&t->append_mu);
	while (done < due) {
		/* Entries before `due` stay put (only seal_mu's holder removes
		 * any), but a roll may move the array. */
		pthread_mutex_lock(&t->append_mu);
		lfs_segment *s = t->unsealed[done];
		pthread_mutex_unlock(&t->append_mu);
		rc = lfs_segment_write_seal(s);
		if (rc < 0) {
			lfs_log(t->vol, 0, "topic %s: cannot seal segment %llu yet: %s", t->name,
				(unsigned long long)s->base, strerror(-rc));
			break;
		}
		done++;
	}
	pthread_mutex_lock(&t->append_mu);
	if (done) { /* (the queue may be NULL when nothing was due) */
		for (size_t i = 0; i < done; i++)
			lfs_segment_put(t->unsealed[i]);
		memmove(t->unsealed, t->unsealed + done,
			(t->nunsealed - done) * sizeof(*t->unsealed));
		t->nunsealed -= done;
	}
	pthread_mutex_unlock(&t->append_mu);
	pthread_mutex_unlock(&t->seal_mu);
	return rc;
}

static int seal_unsealed(lfs_topic *t)
{
	return seal_rolled(t, true, 0);
}

/* Ends the active segment and opens the next one (append_mu held). The
 * old segment is frozen here; its seal, which costs disk flushes, is
 * written later (seal_unsealed), off the append path. */
static int roll(lfs_topic *t, uint32_t framing)
{
	lfs_segment *old = t->active;
	int rc;
	/* A roll whose seal succeeded but whose new segment could not be
	 * created (ENOSPC, EMFILE...) left old sealed, its descriptors closed,
	 * as the active segment: only the creation is left to do. Sealing it
	 * again would fail with EBADF on every later append. */
	if (!atomic_load(&old->sealed)) {
		rc = lfs_segment_freeze(old);
		if (rc < 0)
			return rc;
	}
	rc = start_active(t, atomic_load(&old->next_offset),
			  old->stream_pos + atomic_load(&old->size), framing);
	if (rc < 0)
		return rc;
	/* The active pointer's reference goes to the queue of seals. */
	old->frozen_ns = lfs_volume_now(t->vol);
	if (unsealed_push(t, old) < 0) {
		rc = lfs_segment_write_seal(old);
		lfs_segment_put(old);
		return rc;
	}
	return 0;
}

/* ms to ns, saturating: a limit of "ages" (say 200000d) must not wrap
 * around into a short one. */
static uint64_t ms_to_ns(uint64_t ms)
{
	return ms > UINT64_MAX / 1000000ull ? UINT64_MAX : ms * 1000000ull;
}

static bool should_roll(lfs_segment *s, const struct lfs_settings *st, size_t len, uint64_t now)
{
	uint64_t size = atomic_load_explicit(&s->size, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&s->nentries, memory_order_relaxed);
	if (atomic_load(&s->sealed))
		return true; /* frozen by a roll whose next segment failed */
	if (n == 0)
		return false;
	if (size + len > st->segment_size || size + len > s->data_maplen)
		return true;
	if (n + 2 > LFS_IDX_MAX_ENTRIES)
		return true;
	return st->segment_ms && now > s->first_ts && now - s->first_ts >= ms_to_ns(st->segment_ms);
}

static int commit_wait(lfs_topic *t, uint64_t target);

int lfs_topic_append(lfs_topic *t, enum lfs_framing framing, const struct iovec *iov, int iovcnt,
		     struct lfs_append_result *res)
{
	struct lfs_settings st;

	lfs_topic_settings(t, &st);
	return lfs_topic_append_as(t, &st, framing, iov, iovcnt, res);
}

int lfs_topic_append_as(lfs_topic *t, const struct lfs_settings *settings, enum lfs_framing framing,
			const struct iovec *iov, int iovcnt, struct lfs_append_result *res)
{
	const struct lfs_settings st = *settings;
	size_t len;
	uint32_t count, crc;
	int rc;

	if (t->vol->readonly)
		return -EROFS;
	if (atomic_load(&t->deleted))
		return -ENOENT;
	rc = frame_batch(framing, iov, iovcnt, st.max_record, &len, &count, &crc);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&t->append_mu);
	uint64_t now = lfs_volume_now(t->vol);
	lfs_segment *s = t->active;
	/* The batch must be framed as the topic's segments are: bytes framed
	 * otherwise would be split into other records by readers and cut as
	 * corrupt by recovery. */
	if (framing != s->framing) {
		/* Fix (reliability_regress.sh): a framing change rewrites the
		 * empty active segment's header, then topic.conf; a crash in
		 * between left the topic framed one way and its empty segment
		 * the other, and every append failed with EINVAL. An empty
		 * segment takes the topic's framing. */
		rc = -EINVAL;
		if (framing == st.framing && atomic_load(&s->nentries) == 0 &&
		    !atomic_load(&s->sealed) && s->idx_fd >= 0)
			rc = rewrite_framing(s, framing);
		if (rc < 0) {
			pthread_mutex_unlock(&t->append_mu);
			return rc;
		}
	}
	/* A sealed active segment is what a failed roll leaves (see roll). */
	bool rolled = atomic_load(&s->sealed) || should_roll(s, &st, len, now);
	if (rolled) {
		rc = roll(t, st.framing);
		if (rc < 0) {
			pthread_mutex_unlock(&t->append_mu);
			return rc;
		}
		s = t->active;
	}
	rc = lfs_segment_reserve(s, len);
	if (rc < 0) {
		pthread_mutex_unlock(&t->append_mu);
		return rc;
	}
	uint64_t pos = atomic_load_explicit(&s->size, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&s->nentries, memory_order_relaxed);
	uint64_t first = atomic_load_explicit(&s->next_offset, memory_order_relaxed);
	uint64_t last_ts = atomic_load_explicit(&s->last_ts, memory_order_relaxed);
	if (len >= LFS_PWRITE_MIN) {
		/* Large batches go in with pwrite: a store through the mapping
		 * faults each fresh page in first, and ext4 zero-fills the
		 * preallocated page on that fault before the copy overwrites it
		 * (docs/BENCHMARKS.md). The mapping shares the page cache, so
		 * readers see the same bytes; on error nothing is committed. */
		uint64_t at = pos;
		for (int i = 0; i < iovcnt; i++) {
			rc = lfs_pwrite_full(s->data_fd, iov[i].iov_base, iov[i].iov_len, at);
			if (rc < 0) {
				pthread_mutex_unlock(&t->append_mu);
				return rc;
			}
			at += iov[i].iov_len;
		}
	} else {
		unsigned char *d = atomic_load_explicit(&s->data, memory_order_relaxed) + pos;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(d, iov[i].iov_base, iov[i].iov_len);
			d += iov[i].iov_len;
		}
	}
	/* Timestamps never go backwards within a topic, so a search by time
	 * can bisect the index. */
	uint64_t ts = now > last_ts ? now : last_ts;
	struct lfs_idx_entry e = {.offset = first,
				  .pos = pos,
				  .len = (uint32_t)len,
				  .count = count,
				  .ts = ts,
				  .crc = crc,
				  .type = LFS_ENTRY_BATCH};
	lfs_idx_entry_encode(&e, atomic_load_explicit(&s->idx, memory_order_relaxed) +
					 LFS_IDX_HEADER_SIZE + n * LFS_IDX_ENTRY_SIZE);
	if (n == 0)
		s->first_ts = ts;
	atomic_store_explicit(&s->last_ts, ts, memory_order_relaxed);
	atomic_store_explicit(&s->nentries, n + 1, memory_order_release);
	atomic_store_explicit(&s->next_offset, first + count, memory_order_release);
	atomic_store_explicit(&s->size, pos + len, memory_order_release);
	atomic_store_explicit(&t->next_offset, first + count, memory_order_release);
	atomic_store_explicit(&t->end_pos, s->stream_pos + pos + len, memory_order_release);
	atomic_store_explicit(&t->dirty, true, memory_order_relaxed);
	pthread_mutex_unlock(&t->append_mu);

	if (rolled)
		lfs_topic_apply_retention(t, now);
	if (res) {
		res->first_offset = first;
		res->records = count;
	}
	rc = st.sync_mode == LFS_SYNC_ALWAYS ? commit_wait(t, first + count) : 0;
	uint64_t acked = atomic_load(&t->acked_offset);
	while (acked < first + count &&
	       !atomic_compare_exchange_weak(&t->acked_offset, &acked, first + count))
		;
	return rc;
}

/* The leader's flush (only one leader at a time uses the ring). */
static int leader_sync(lfs_topic *t, lfs_segment *s)
{
	if (!t->ring && !t->ring_failed) {
		struct io_uring *r = calloc(1, sizeof(*r));
		int rc = r ? io_uring_queue_init(4, r, 0) : -ENOMEM;
		if (rc < 0) {
			free(r);
			t->ring_failed = true;
			lfs_log(t->vol, 1, "topic %s: io_uring unavailable (%s): syncing with fdatasync",
				t->name, strerror(-rc));
		} else {
			t->ring = r;
		}
	}
	return t->ring ? lfs_segment_sync_ring(s, t->ring) : lfs_segment_sync(s);
}

/* Group commit: the first waiter becomes the leader and runs fdatasync for
 * everything appended so far; the others wait for a sync that covers their
 * records, so N concurrent appenders share one disk flush. */
static int commit_wait(lfs_topic *t, uint64_t target)
{
	int rc = 0;
	pthread_mutex_lock(&t->sync_mu);
	while (t->durable_offset < target) {
		if (t->syncing) {
			pthread_cond_wait(&t->sync_cond, &t->sync_mu);
			continue;
		}
		t->syncing = true;
		pthread_mutex_unlock(&t->sync_mu);

		pthread_mutex_lock(&t->append_mu);
		uint64_t upto = atomic_load(&t->next_offset);
		lfs_segment *s = t->active;
		lfs_segment_ref(s);
		atomic_store(&t->dirty, false);
		pthread_mutex_unlock(&t->append_mu);
		/* Everything before s is in rolled segments: seal them (which
		 * makes them durable) first. A roll after the capture freezes
		 * s itself; its seal closes s's descriptors, so s->mu keeps
		 * them open while we sync through them. */
		int r = seal_unsealed(t);
		pthread_mutex_lock(&s->mu);
		if (r == 0)
			r = s->data_fd >= 0 ? leader_sync(t, s) : 0;
		pthread_mutex_unlock(&s->mu);
		lfs_segment_put(s);

		pthread_mutex_lock(&t->sync_mu);
		t->syncing = false;
		if (r == 0 && t->durable_offset < upto)
			t->durable_offset = upto;
		if (r < 0) {
			atomic_store(&t->dirty, true);
			rc = r;
		}
		atomic_store(&t->last_sync_ns, lfs_volume_now(t->vol));
		pthread_cond_broadcast(&t->sync_cond);
		if (r < 0)
			break;
	}
	pthread_mutex_unlock(&t->sync_mu);
	return rc;
}

int lfs_topic_sync(lfs_topic *t)
{
	if (t->vol->readonly)
		return 0;
	return commit_wait(t, atomic_load_explicit(&t->acked_offset, memory_order_acquire));
}

/* ---- retention ---- */

/* Removes the oldest sealed segment (segs_lock held for writing). */
static int drop_oldest(lfs_topic *t)
{
	lfs_segment *s = t->segs[0];
	/* Open readers that still need s take a reference first, so that
	 * unlink maps it for them. */
	lfs_reader_retire(t, s);
	int rc = lfs_segment_unlink(s);
	memmove(t->segs, t->segs + 1, (t->nsegs - 1) * sizeof(*t->segs));
	t->nsegs--;
	lfs_segment_put(s);
	return rc;
}

int lfs_topic_delete_segment(lfs_topic *t, uint64_t base)
{
	if (t->vol->readonly)
		return -EROFS;
	pthread_rwlock_wrlock(&t->segs_lock);
	int rc = -EPERM;
	if (t->nsegs > 1 && t->segs[0]->base == base && atomic_load(&t->segs[0]->sealed))
		rc = drop_oldest(t);
	else if (t->nsegs == 0 || base < t->segs[0]->base)
		rc = -ENOENT;
	pthread_rwlock_unlock(&t->segs_lock);
	return rc;
}

void lfs_topic_set_retention_floor(lfs_topic *t, uint64_t floor)
{
	atomic_store(&t->retention_floor, floor);
}

uint64_t lfs_topic_retention_floor(lfs_topic *t)
{
	return atomic_load(&t->retention_floor);
}

int lfs_topic_apply_retention(lfs_topic *t, uint64_t now_ns)
{
	struct lfs_settings st;
	int deleted = 0;

	if (t->vol->readonly)
		return 0;
	lfs_topic_settings(t, &st);
	if (!st.retention_bytes && !st.retention_ms)
		return 0;
	pthread_rwlock_wrlock(&t->segs_lock);
	while (t->nsegs > 1 && atomic_load(&t->segs[0]->sealed)) {
		lfs_segment *s = t->segs[0];
		uint64_t bytes = atomic_load(&t->end_pos) - s->stream_pos;
		bool by_bytes = st.retention_bytes && bytes > st.retention_bytes;
		uint64_t newest = atomic_load(&s->last_ts);
		/* "newest + retention < now" without overflowing. */
		bool by_age = st.retention_ms && newest < now_ns &&
			      now_ns - newest > ms_to_ns(st.retention_ms);
		if (!by_bytes && !by_age)
			break;
		/* Records at or past the floor stay, whatever the limits say. */
		if (atomic_load(&s->next_offset) > atomic_load(&t->retention_floor))
			break;
		int rc = drop_oldest(t);
		if (rc < 0) {
			lfs_log(t->vol, 0, "topic %s: retention could not delete segment: %s",
				t->name, strerror(-rc));
			break;
		}
		deleted++;
	}
	pthread_rwlock_unlock(&t->segs_lock);
	return deleted;
}

void lfs_topic_tick(lfs_topic *t, uint64_t now_ns)
{
	struct lfs_settings st;
	lfs_cursors_tick(t, now_ns);
	if (!t->vol->readonly && seal_rolled(t, false, now_ns) < 0)
		return; /* logged; retried next tick */
	lfs_topic_settings(t, &st);
	if (st.sync_mode == LFS_SYNC_INTERVAL && atomic_load(&t->dirty) &&
	    now_ns - atomic_load(&t->last_sync_ns) >= (uint64_t)st.sync_ms * 1000000ull) {
		int rc = lfs_topic_sync(t);
		if (rc < 0)
			lfs_log(t->vol, 0, "topic %s: background sync failed: %s", t->name,
				strerror(-rc));
	}
	lfs_topic_apply_retention(t, now_ns);
}
