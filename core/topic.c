/*
 * Topics: the object and its settings, opening one (its segments are
 * loaded by topicload.c). The append path is in append.c, group commit and
 * seals in commit.c, retention in retention.c, the segment list in
 * seglist.c.
 */
#include "internal.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t lfs_topic_segment_size(lfs_topic *t)
{
	struct lfs_settings st;
	lfs_topic_settings(t, &st);
	return st.segment_size;
}

/* The topic's side of struct lfs_seg_host. */
static int host_dir_enter(void *ctx)
{
	lfs_topic *t = ctx;
	int rc = lfs_topic_files_enter(t);
	return rc < 0 ? rc : t->dirfd;
}

static void host_dir_exit(void *ctx)
{
	lfs_topic_files_exit(ctx);
}

static uint64_t host_segment_size(void *ctx)
{
	return lfs_topic_segment_size(ctx);
}

static void host_log(void *ctx, int level, const char *msg)
{
	lfs_log(((lfs_topic *)ctx)->vol, level, "%s", msg);
}

static void host_error(void *ctx, const char *msg)
{
	lfs_volume_error(((lfs_topic *)ctx)->vol, "%s", msg);
}

static void host_maps_track(void *ctx, lfs_segment *s)
{
	(void)ctx;
	lfs_maps_track(s);
}

static void host_maps_forget(void *ctx, lfs_segment *s)
{
	(void)ctx;
	lfs_maps_forget(s);
}

static void host_maps_trim(void *ctx)
{
	lfs_volume_maps_trim(((lfs_topic *)ctx)->vol);
}

static void host_checksum_failed(void *ctx)
{
	atomic_store(&((lfs_topic *)ctx)->vol->checksum_errors, true);
}

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
	t->seg_host = (struct lfs_seg_host){.ctx = t,
					    .name = t->name,
					    .readonly = v->readonly,
					    .dir_enter = host_dir_enter,
					    .dir_exit = host_dir_exit,
					    .segment_size = host_segment_size,
					    .log = host_log,
					    .error = host_error,
					    .maps_track = host_maps_track,
					    .maps_forget = host_maps_forget,
					    .maps_trim = host_maps_trim,
					    .checksum_failed = host_checksum_failed,
					    .append_mu = &t->append_mu,
					    .segs_lock = &t->segs_lock};
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
		lfs_log(v, LFS_LOG_ERR, "topic %s: %s %s: the topic's owner, mode and framing are unknown",
			name, LFS_TOPIC_CONF, why ? why : rc == -EUCLEAN ? "damaged" : strerror(-rc));
		if (rc == -EUCLEAN || rc == -ENOENT)
			rc = -EUCLEAN;
		goto fail;
	}
	rc = lfs_topic_load_segments(t, was_clean, sum, rep);
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
