/*
 * Volumes: opening (the lock, the state, loading every topic into the
 * table) and closing, the background ticker (interval syncs, retention by
 * age), the volume's figures. Its files: volfiles.c; its topic table:
 * topictable.c.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- open / close ---- */

static uint64_t real_clock(void *ctx)
{
	(void)ctx;
	return lfs_now_ns();
}

uint64_t lfs_volume_now(lfs_volume *v)
{
	return v->clock(v->clock_ctx);
}

static void *ticker_main(void *arg)
{
	lfs_volume *v = arg;
	lfs_mutex_lock(&v->tick_mu);
	while (!v->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		/* 10 ms: the finest sync interval worth honouring. */
		ts.tv_nsec += 10 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		lfs_cond_timedwait(&v->tick_cond, &v->tick_mu, &ts);
		if (v->stopping)
			break;
		lfs_mutex_unlock(&v->tick_mu);
		lfs_volume_tick(v, lfs_volume_now(v));
		lfs_mutex_lock(&v->tick_mu);
	}
	lfs_mutex_unlock(&v->tick_mu);
	return NULL;
}

/* A snapshot of the topics, each with a reference. */
static int snapshot_topics(lfs_volume *v, lfs_topic ***out, size_t *n)
{
	lfs_rwlock_rdlock(&v->topics_lock);
	lfs_topic **ts = malloc((v->ntopics + 1) * sizeof(*ts));
	if (ts) {
		for (size_t i = 0; i < v->ntopics; i++) {
			ts[i] = v->topics[i];
			lfs_topic_ref(ts[i]);
		}
		*n = v->ntopics;
	}
	lfs_rwlock_unlock(&v->topics_lock);
	if (!ts)
		return -ENOMEM;
	*out = ts;
	return 0;
}

void lfs_volume_tick(lfs_volume *v, uint64_t now_ns)
{
	lfs_topic **ts;
	size_t n;
	if (snapshot_topics(v, &ts, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		lfs_topic_tick(ts[i], now_ns);
		lfs_topic_put(ts[i]);
	}
	free(ts);
	lfs_volume_files_trim(v);
	lfs_volume_maps_trim(v);
}

/* Errors of loading one topic that are the machine's, not the topic's: they
 * fail the mount rather than leave the topic out (the next try may work). */
static bool topic_error_is_fatal(int rc)
{
	return rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE || rc == -ENOSPC || rc == -EDQUOT ||
	       rc == -EROFS || rc == -EINTR;
}

static int load_topics(lfs_volume *v, bool was_clean, const struct lfs_summary *sum,
		       struct lfs_open_report *rep)
{
	DIR *d;
	int rc = lfs_dir_open(v->topics_fd, &d);
	if (rc < 0)
		return rc;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type == DT_DIR && !v->readonly &&
		    !strncmp(de->d_name, LFS_TRASH_PREFIX, strlen(LFS_TRASH_PREFIX))) {
			/* A topic deletion that a crash cut short. */
			lfs_log(v, LFS_LOG_WARNING, "topic %s: finishing its deletion",
				de->d_name + strlen(LFS_TRASH_PREFIX));
			lfs_remove_tree(v->topics_fd, de->d_name);
			continue;
		}
		if (lfs_topic_name_check(de->d_name) < 0 || de->d_type != DT_DIR)
			continue;
		lfs_topic *t;
		rc = lfs_topic_load(v, de->d_name, was_clean, lfs_summary_topic(sum, de->d_name), rep,
				    &t);
		if (rc < 0 && !topic_error_is_fatal(rc)) {
			/* One damaged topic must not take the others down: it
			 * stays out of the mount until fsck.logfs repairs it. */
			const char *why = lfs_refusal(rc);
			lfs_log(v, LFS_LOG_ERR,
				"topic %s: cannot load (%s%s): left out of the mount, run fsck.logfs",
				de->d_name, why ? "a file of it " : "", why ? why : strerror(-rc));
			rc = 0;
			continue;
		}
		if (rc < 0) {
			lfs_log(v, LFS_LOG_ERR, "topic %s: cannot load: %s", de->d_name, strerror(-rc));
			break;
		}
		lfs_rwlock_wrlock(&v->topics_lock);
		rc = lfs_volume_topics_insert(v, t, true);
		lfs_rwlock_unlock(&v->topics_lock);
		if (rc < 0) {
			lfs_topic_put(t);
			break;
		}
		if (rep)
			rep->topics++;
		/* A volume of more topics than may keep their files open
		 * mounts with the rest closed (files.c). */
		lfs_volume_files_trim(v);
	}
	closedir(d);
	lfs_rwlock_wrlock(&v->topics_lock);
	lfs_volume_topics_sort(v);
	lfs_rwlock_unlock(&v->topics_lock);
	return rc;
}

static void volume_free(lfs_volume *v)
{
	for (size_t i = 0; i < v->ntopics; i++)
		lfs_topic_put(v->topics[i]);
	free(v->topics);
	if (v->topics_fd >= 0)
		close(v->topics_fd);
	if (v->dirfd >= 0)
		close(v->dirfd);
	lfs_mutex_destroy(&v->create_mu);
	lfs_rwlock_destroy(&v->topics_lock);
	/* After the topics: each leaves the ring of open files as it goes. */
	lfs_mutex_destroy(&v->open_mu);
	lfs_mutex_destroy(&v->map_mu);
	lfs_mutex_destroy(&v->tick_mu);
	pthread_cond_destroy(&v->tick_cond);
	lfs_verify_ahead_destroy(&v->ahead);
	lfs_verify_sweep_destroy(&v->sweep);
	lfs_mutex_destroy(&v->errors_mu);
	free(v->path);
	free(v);
}

int lfs_volume_open(const char *path, const struct lfs_open_opts *o, lfs_volume **out,
		    struct lfs_open_report *rep)
{
	static const struct lfs_open_opts none;
	lfs_volume *v = calloc(1, sizeof(*v));
	int rc;

	if (!o)
		o = &none;
	if (!v)
		return -ENOMEM;
	if (rep)
		memset(rep, 0, sizeof(*rep));
	v->dirfd = v->topics_fd = -1;
	v->path = strdup(path);
	v->readonly = o->flags & LFS_OPEN_RDONLY;
	v->log = o->log;
	v->log_ctx = o->log_ctx;
	v->held_max = o->held_max ? o->held_max : LFS_HELD_MAX_DEFAULT;
	v->clock = o->clock ? o->clock : real_clock;
	v->clock_ctx = o->clock_ctx;
	lfs_mutex_init(&v->create_mu);
	lfs_rwlock_init(&v->topics_lock);
	lfs_mutex_init(&v->open_mu);
	lfs_mutex_init(&v->map_mu);
	v->map_max = o->mapped_segments_max ? o->mapped_segments_max : lfs_maps_default_max();
	v->segment_gone = o->segment_gone;
	v->segment_gone_ctx = o->segment_gone_ctx;
	v->open_max = o->open_topics_max ? o->open_topics_max : lfs_files_default_max();
	lfs_mutex_init(&v->tick_mu);
	pthread_cond_init(&v->tick_cond, NULL);
	lfs_verify_ahead_init(&v->ahead);
	lfs_verify_sweep_init(&v->sweep);
	lfs_mutex_init(&v->errors_mu);
	if (!v->path) {
		rc = -ENOMEM;
		goto fail;
	}
	v->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (v->dirfd < 0) {
		rc = -errno;
		goto fail;
	}
	/* Read-only mounts lock too: one daemon per volume, and no fsck
	 * repair under a reader. */
	rc = lfs_volume_lock(v->dirfd);
	if (rc < 0)
		goto fail;
	bool primary_ok;
	rc = lfs_superblock_check(v->dirfd, &v->sb, &primary_ok);
	if (rc < 0)
		goto fail;
	if (!primary_ok)
		lfs_log(v, LFS_LOG_WARNING, "volume %s: primary superblock damaged: using the backup copy "
			"(fsck.logfs restores the primary)", path);
	int bad = lfs_settings_invalid(&v->sb.defaults);
	if (bad >= 0) {
		lfs_log(v, LFS_LOG_ERR, "volume %s: the superblock's default %s is out of range: "
			"run fsck.logfs", path, lfs_setting_name((enum lfs_setting_id)bad));
		rc = -EINVAL;
		goto fail;
	}
	lfs_settings_merge(&v->defaults, &v->sb.defaults, &o->overrides, o->override_mask);
	v->topics_fd = lfs_open_dir(v->dirfd, LFS_TOPICS_DIR);
	if (v->topics_fd < 0) {
		/* The superblock was good: say what is wrong, not "no volume". */
		rc = v->topics_fd;
		const char *why = lfs_refusal(rc);
		lfs_log(v, LFS_LOG_ERR, "volume %s: its directory '%s' %s: run fsck.logfs", path, LFS_TOPICS_DIR,
			why ? why : rc == -ENOENT ? "is missing" : strerror(-rc));
		goto fail;
	}
	int state = lfs_state_read(v->dirfd);
	bool was_clean = state == LFS_STATE_CLEAN;
	if (rep)
		rep->was_clean = was_clean;
	if (!v->readonly && v->sb.version < LFS_FORMAT_VERSION) {
		/* Recovery may write what an older version would misread (a
		 * lost range): such a program must refuse the volume. */
		v->sb.version = LFS_FORMAT_VERSION;
		rc = lfs_superblock_rewrite(v->dirfd, &v->sb);
		if (rc < 0)
			goto fail;
		lfs_log(v, LFS_LOG_WARNING, "volume %s: format raised to version %d", path,
			LFS_FORMAT_VERSION);
	}
	if (!v->readonly) {
		/* Dirty from now until a clean close: a crash at any point
		 * after this makes the next open run recovery. */
		rc = lfs_state_write(v->dirfd, LFS_STATE_DIRTY);
		if (rc < 0)
			goto fail;
	}
	if (!was_clean)
		lfs_log(v, LFS_LOG_WARNING, "volume %s was not cleanly unmounted: running recovery", path);
	lfs_volume_errors_load(v);
	/* The summary of the last clean close stands in for the files of
	 * the sealed segments it names (summary.c says why that holds after
	 * a crash too). */
	struct lfs_summary *sum = NULL;
	int r = lfs_summary_read(v->dirfd, &sum);
	if (r < 0 && r != -ENOENT)
		lfs_log(v, LFS_LOG_WARNING, "volume %s: segment summary unusable (%s): reading every segment", path,
			strerror(-r));
	rc = load_topics(v, was_clean, sum, rep);
	lfs_summary_free(sum);
	if (rc < 0)
		goto fail;
	if (!(o->flags & LFS_OPEN_DEFER_TICKER)) {
		rc = lfs_volume_start_ticker(v);
		if (rc < 0)
			goto fail;
	}
	*out = v;
	return 0;
fail:
	volume_free(v);
	return rc;
}

int lfs_volume_start_ticker(lfs_volume *v)
{
	if (v->readonly || v->ticker_running)
		return 0;
	int rc = pthread_create(&v->ticker, NULL, ticker_main, v);
	if (rc != 0)
		return -rc;
	v->ticker_running = true;
	return 0;
}

int lfs_volume_close(lfs_volume *v)
{
	int rc = 0;
	if (!v)
		return 0;
	if (v->ticker_running) {
		lfs_mutex_lock(&v->tick_mu);
		v->stopping = true;
		pthread_cond_broadcast(&v->tick_cond);
		lfs_mutex_unlock(&v->tick_mu);
		pthread_join(v->ticker, NULL);
	}
	lfs_verify_sweep_stop(v);
	lfs_verify_ahead_stop(v);
	if (!v->readonly) {
		int er = lfs_volume_errors_flush(v);
		if (er < 0)
			lfs_log(v, LFS_LOG_ERR, "volume %s: cannot record its runtime errors: %s", v->path,
				strerror(-er));
		for (size_t i = 0; i < v->ntopics; i++) {
			int r = lfs_topic_flush(v->topics[i]);
			if (r < 0) {
				lfs_log(v, LFS_LOG_ERR, "topic %s: flush at close failed: %s",
					v->topics[i]->name, strerror(-r));
				if (rc == 0)
					rc = r;
			}
		}
		/* Only a volume whose every topic was flushed is clean. The
		 * summary goes first: the state must not say clean before it
		 * is durable. Without it the next mount reads each segment. */
		if (rc == 0) {
			int r = lfs_summary_write(v);
			if (r < 0)
				lfs_log(v, LFS_LOG_ERR, "volume %s: cannot write the segment summary: %s", v->path,
					strerror(-r));
		}
		if (rc == 0 && atomic_load(&v->checksum_errors))
			lfs_log(v, LFS_LOG_ERR, "volume %s: left marked not cleanly unmounted: a batch failed "
				"its checksum (the next mount recovers; run fsck.logfs)", v->path);
		else if (rc == 0)
			rc = lfs_state_write(v->dirfd, LFS_STATE_CLEAN);
	}
	volume_free(v);
	return rc;
}

const struct lfs_sb_info *lfs_volume_info(const lfs_volume *v)
{
	return &v->sb;
}

uint64_t lfs_volume_held_bytes(lfs_volume *v)
{
	return atomic_load(&v->held_bytes);
}

bool lfs_volume_readonly(const lfs_volume *v)
{
	return v->readonly;
}

void lfs_volume_set_write_record_max(lfs_volume *v, uint64_t max)
{
	atomic_store(&v->write_record_max, max);
}

uint64_t lfs_volume_write_record_max(lfs_volume *v)
{
	return atomic_load(&v->write_record_max);
}

int lfs_volume_fd(const lfs_volume *v)
{
	return v->dirfd;
}

int lfs_volume_stat(lfs_volume *v, struct lfs_volume_stat *st)
{
	lfs_topic **ts;
	size_t n;
	int rc = snapshot_topics(v, &ts, &n);
	if (rc < 0)
		return rc;
	memset(st, 0, sizeof(*st));
	st->topics = n;
	for (size_t i = 0; i < n; i++) {
		struct lfs_topic_stat tst;
		lfs_topic_stat(ts[i], &tst);
		st->bytes += tst.bytes;
		lfs_topic_put(ts[i]);
	}
	free(ts);
	return 0;
}
