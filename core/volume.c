/*
 * Volumes: the superblock, the clean/dirty state, the exclusive lock, the
 * topic table and the background ticker (interval syncs, retention by age).
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

/* The superblock file holds two copies (at 0 and at LFS_SB_BACKUP) so that
 * fsck can restore a damaged primary. */
#define LFS_SB_BACKUP 512

int lfs_uuid_parse(const char *text, uint8_t uuid[16])
{
	int n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '-' && (p - text == 8 || p - text == 13 || p - text == 18 || p - text == 23))
			continue;
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v = *p - 'A' + 10;
		else
			return -EINVAL;
		if (n >= 32)
			return -EINVAL;
		if (n % 2 == 0)
			uuid[n / 2] = (uint8_t)(v << 4);
		else
			uuid[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 && strlen(text) == 36 ? 0 : -EINVAL;
}

void lfs_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int write_superblock(int dirfd, const struct lfs_sb_info *sb)
{
	unsigned char buf[LFS_SB_BACKUP + LFS_SB_SIZE];
	memset(buf, 0, sizeof(buf));
	lfs_sb_encode(sb, buf);
	lfs_sb_encode(sb, buf + LFS_SB_BACKUP);
	return lfs_write_file_atomic(dirfd, LFS_SB_FILE, buf, sizeof(buf));
}

/* Reads the superblock, falling back to the backup copy. *primary_ok tells
 * whether the first copy was good. */
static int read_superblock_at(int dirfd, struct lfs_sb_info *sb, bool *primary_ok)
{
	unsigned char buf[LFS_SB_BACKUP + LFS_SB_SIZE];
	size_t len;
	int rc = lfs_read_file(dirfd, LFS_SB_FILE, buf, sizeof(buf), &len);
	if (rc < 0)
		return rc == -ENOENT ? -EUCLEAN : rc;
	int r1 = len >= LFS_SB_SIZE ? lfs_sb_decode(buf, sb) : -EUCLEAN;
	if (primary_ok)
		*primary_ok = r1 == 0;
	if (r1 == 0 || r1 == -EPROTONOSUPPORT)
		return r1;
	if (len < sizeof(buf))
		return -EUCLEAN;
	return lfs_sb_decode(buf + LFS_SB_BACKUP, sb);
}

int lfs_read_superblock(const char *path, struct lfs_sb_info *out)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = read_superblock_at(fd, out, NULL);
	close(fd);
	return rc;
}

int lfs_superblock_repair(int dirfd, bool *repaired)
{
	struct lfs_sb_info sb;
	bool ok;
	int rc = read_superblock_at(dirfd, &sb, &ok);
	*repaired = false;
	if (rc < 0 || ok)
		return rc;
	rc = write_superblock(dirfd, &sb);
	if (rc == 0)
		*repaired = true;
	return rc;
}

int lfs_superblock_rewrite(int dirfd, const struct lfs_sb_info *sb)
{
	return write_superblock(dirfd, sb);
}

int lfs_superblock_check(int dirfd, struct lfs_sb_info *sb, bool *primary_ok)
{
	return read_superblock_at(dirfd, sb, primary_ok);
}

/* ---- state ---- */

int lfs_state_read(int dirfd)
{
	unsigned char buf[LFS_STATE_SIZE + 1];
	size_t len;
	int rc = lfs_read_file(dirfd, LFS_STATE_FILE, buf, sizeof(buf), &len);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	return (int)lfs_state_decode(buf, len);
}

int lfs_state_write(int dirfd, uint32_t state)
{
	unsigned char buf[LFS_STATE_SIZE];
	lfs_state_encode(state, buf);
	return lfs_write_file_atomic(dirfd, LFS_STATE_FILE, buf, sizeof(buf));
}

/* ---- lock ---- */

/* The lock is a flock on the volume directory itself: it needs no file of
 * its own, dies with the process, and survives the daemon's fork. */
static int lock_volume(int dirfd)
{
	if (flock(dirfd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

int lfs_volume_in_use(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = flock(fd, LOCK_SH | LOCK_NB);
	int busy = rc < 0 && errno == EWOULDBLOCK;
	rc = rc < 0 && !busy ? -errno : busy;
	close(fd);
	return rc;
}

int lfs_volume_lock_path(const char *path, int *fd_out)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = lock_volume(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

/* ---- mkfs ---- */

static bool dir_is_empty(int dirfd)
{
	DIR *d;
	if (lfs_dir_open(dirfd, &d) < 0)
		return false;
	bool empty = true;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

static int clear_dir(int dirfd)
{
	DIR *d;
	/* lfs_dir_open rewinds the offset dir_is_empty() moved: without it
	 * nothing was listed, nothing removed, and mkfs -F failed. */
	int rc = lfs_dir_open(dirfd, &d);
	if (rc < 0)
		return rc;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = de->d_type == DT_DIR ? lfs_remove_tree(dirfd, de->d_name)
					     : (unlinkat(dirfd, de->d_name, 0) < 0 ? -errno : 0);
		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	return rc;
}

int lfs_mkfs(const char *path, const struct lfs_mkfs_opts *o, struct lfs_sb_info *out)
{
	struct lfs_sb_info sb;
	int fd, rc;

	memset(&sb, 0, sizeof(sb));
	sb.version = LFS_FORMAT_VERSION;
	lfs_settings_default(&sb.defaults);
	if (o->segment_size) {
		char v[32];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)o->segment_size);
		if (lfs_setting_parse(&sb.defaults, LFS_SET_SEGMENT_SIZE, v) < 0)
			return -EINVAL;
	}
	if (o->label) {
		if (strlen(o->label) > LFS_LABEL_MAX)
			return -ENAMETOOLONG;
		snprintf(sb.label, sizeof(sb.label), "%s", o->label);
	}
	if (o->uuid) {
		memcpy(sb.uuid, o->uuid, 16);
	} else {
		if (getrandom(sb.uuid, 16, 0) != 16)
			return -errno;
		sb.uuid[6] = (uint8_t)((sb.uuid[6] & 0x0f) | 0x40); /* version 4 */
		sb.uuid[8] = (uint8_t)((sb.uuid[8] & 0x3f) | 0x80);
	}
	sb.ctime_ns = lfs_now_ns();

	if (mkdir(path, LFS_DIR_MODE) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = lock_volume(fd);
	if (rc < 0)
		goto out;
	if (!dir_is_empty(fd)) {
		struct lfs_sb_info old;
		bool is_volume = read_superblock_at(fd, &old, NULL) != -EUCLEAN;
		if (!is_volume) {
			rc = -ENOTEMPTY;
			goto out;
		}
		if (!o->force) {
			rc = -EEXIST;
			goto out;
		}
		rc = clear_dir(fd);
		if (rc < 0)
			goto out;
	}
	/* SPEC "Security": the volume reveals no more than the mount, an
	 * existing directory made a volume included. */
	if (fchmod(fd, LFS_DIR_MODE) < 0) {
		rc = -errno;
		goto out;
	}
	if (mkdirat(fd, LFS_TOPICS_DIR, LFS_DIR_MODE) < 0) {
		rc = -errno;
		goto out;
	}
	rc = lfs_state_write(fd, LFS_STATE_CLEAN);
	if (rc == 0)
		rc = write_superblock(fd, &sb);
	if (rc == 0)
		rc = lfs_fsync_dir(fd);
	if (rc == 0 && out)
		*out = sb;
out:
	close(fd);
	return rc;
}

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

/* Adds t to the topic table (topics_lock held for writing). at_end: a
 * mount's load appends, then sorts once (topics_sort): inserting 100,000
 * topics in order moved 20 GB of pointers. */
static int topics_insert(lfs_volume *v, lfs_topic *t, bool at_end)
{
	LFS_ASSERT_WRITE_HELD(&v->topics_lock);
	if (v->ntopics == v->topics_cap) {
		size_t cap = v->topics_cap ? v->topics_cap * 2 : 16;
		lfs_topic **n = realloc(v->topics, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		v->topics = n;
		v->topics_cap = cap;
	}
	/* Kept sorted by name: lookups bisect, listings come out in order. */
	size_t lo = at_end ? v->ntopics : 0, hi = v->ntopics;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(v->topics[mid]->name, t->name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(v->topics + lo + 1, v->topics + lo, (v->ntopics - lo) * sizeof(*v->topics));
	v->topics[lo] = t;
	v->ntopics++;
	t->id = ++v->next_topic_id;
	return 0;
}

static int cmp_topic(const void *a, const void *b)
{
	return strcmp((*(lfs_topic *const *)a)->name, (*(lfs_topic *const *)b)->name);
}

/* (topics_lock held for writing) */
static void topics_sort(lfs_volume *v)
{
	LFS_ASSERT_WRITE_HELD(&v->topics_lock);
	if (v->ntopics)
		qsort(v->topics, v->ntopics, sizeof(*v->topics), cmp_topic);
}

/* The index of the topic called name, or -1 (topics_lock held). */
static ssize_t topics_find(lfs_volume *v, const char *name)
{
	LFS_ASSERT_READ_HELD(&v->topics_lock);
	size_t lo = 0, hi = v->ntopics;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v->topics[mid]->name, name);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
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
		rc = topics_insert(v, t, true);
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
	topics_sort(v);
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
	v->open_max = o->open_topics_max ? o->open_topics_max : lfs_files_default_max();
	lfs_mutex_init(&v->tick_mu);
	pthread_cond_init(&v->tick_cond, NULL);
	lfs_verify_ahead_init(&v->ahead);
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
	rc = lock_volume(v->dirfd);
	if (rc < 0)
		goto fail;
	bool primary_ok;
	rc = read_superblock_at(v->dirfd, &v->sb, &primary_ok);
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
		lfs_log(v, 1, "volume %s: format raised to version %d", path, LFS_FORMAT_VERSION);
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

int lfs_volume_list_topics(lfs_volume *v, char ***names, size_t *count)
{
	lfs_rwlock_rdlock(&v->topics_lock);
	size_t n = v->ntopics;
	char **out = calloc(n + 1, sizeof(*out));
	int rc = out ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (!(out[i] = strdup(v->topics[i]->name)))
			rc = -ENOMEM;
	lfs_rwlock_unlock(&v->topics_lock);
	if (rc < 0) {
		lfs_names_free(out, n);
		return rc;
	}
	*names = out;
	*count = n;
	return 0;
}

int lfs_topic_get(lfs_volume *v, const char *name, lfs_topic **out)
{
	int rc = -ENOENT;
	lfs_rwlock_rdlock(&v->topics_lock);
	ssize_t i = topics_find(v, name);
	if (i >= 0) {
		*out = v->topics[i];
		lfs_topic_ref(*out);
		rc = 0;
	}
	lfs_rwlock_unlock(&v->topics_lock);
	return rc;
}

/* Removes what a failed lfs_topic_create made (create_mu held). The
 * removal of a tree opens the directory, and the failure may be EMFILE
 * itself, which left a stray directory that the next mount took
 * for a topic: then the files a creation makes are removed by their paths,
 * which needs no descriptor (the directory is the one mkdirat just made,
 * under the lock), and the directory with them. */
static void undo_create(lfs_volume *v, const char *name)
{
	LFS_ASSERT_HELD(&v->create_mu);
	if (lfs_remove_tree(v->topics_fd, name) == 0)
		return;
	static const char *const made[] = {LFS_TOPIC_CONF, "." LFS_TOPIC_CONF ".tmp", LFS_CURSOR_FILE,
					   "00000000000000000000.log", "00000000000000000000.idx"};
	char path[LFS_TOPIC_NAME_MAX + 64];
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", name, made[i]);
		(void)unlinkat(v->topics_fd, path, 0); /* absent ones: ENOENT */
	}
	if (unlinkat(v->topics_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		lfs_log(v, LFS_LOG_ERR, "topic %s: its creation failed and its directory cannot be removed: %s",
			name, strerror(errno));
}

int lfs_topic_create(lfs_volume *v, const char *name, const struct lfs_topic_meta *meta,
		     lfs_topic **out)
{
	int rc = lfs_topic_name_check(name);
	if (rc < 0)
		return rc;
	if (v->readonly)
		return -EROFS;
	/* The directory is made and the topic loaded under create_mu only:
	 * lookups, listings and the other topics' opens go on meanwhile, and
	 * no other creation or deletion can take the name. */
	lfs_mutex_lock(&v->create_mu);
	lfs_rwlock_rdlock(&v->topics_lock);
	bool exists = topics_find(v, name) >= 0;
	lfs_rwlock_unlock(&v->topics_lock);
	if (exists) {
		rc = -EEXIST;
		goto out;
	}
	if (mkdirat(v->topics_fd, name, LFS_DIR_MODE) < 0) {
		rc = -errno;
		goto out;
	}
	int dfd = lfs_open_dir(v->topics_fd, name);
	if (dfd < 0) {
		rc = dfd;
		goto undo;
	}
	rc = lfs_topic_dir_own(dfd, meta);
	if (rc < 0) {
		close(dfd);
		goto undo;
	}
	/* Fix (reliability_regress.sh): the framing decides how a topic's
	 * bytes split into records, so it is fixed when the topic is created
	 * (the mount option is the default for new topics). It was not
	 * stored and followed each mount's option: after a remount with
	 * another framing, appends failed with EINVAL. */
	struct lfs_settings own;
	memset(&own, 0, sizeof(own));
	own.framing = v->defaults.framing;
	rc = lfs_topic_conf_write(dfd, meta, &own, 1u << LFS_SET_FRAMING);
	close(dfd);
	if (rc == 0)
		rc = lfs_fsync_dir(v->topics_fd);
	if (rc < 0)
		goto undo;
	lfs_topic *t;
	rc = lfs_topic_load(v, name, true, NULL, NULL, &t);
	if (rc < 0)
		goto undo;
	lfs_rwlock_wrlock(&v->topics_lock);
	rc = topics_insert(v, t, false);
	lfs_rwlock_unlock(&v->topics_lock);
	if (rc < 0) {
		lfs_topic_put(t);
		goto undo;
	}
	if (out) {
		lfs_topic_ref(t);
		*out = t;
	}
	lfs_mutex_unlock(&v->create_mu);
	lfs_volume_files_trim(v);
	return 0;
undo:
	undo_create(v, name);
out:
	lfs_mutex_unlock(&v->create_mu);
	return rc;
}

int lfs_topic_delete(lfs_volume *v, const char *name)
{
	if (v->readonly)
		return -EROFS;
	lfs_mutex_lock(&v->create_mu);
	lfs_rwlock_wrlock(&v->topics_lock);
	ssize_t i = topics_find(v, name);
	lfs_topic *t = i >= 0 ? v->topics[i] : NULL;
	int rc = 0;
	if (!t)
		rc = -ENOENT;
	else if (atomic_load(&t->holds) > 0)
		rc = -EBUSY;
	else
		atomic_store(&t->deleted, true); /* appends fail from now on */
	lfs_rwlock_unlock(&v->topics_lock);
	if (rc < 0)
		goto out;
	/* Fix (reliability_regress.sh): the topic's files used to be removed
	 * one by one; a crash in between brought the topic back at the next
	 * mount with any part of its segments missing (tail failed with EIO or
	 * ENOENT). The directory is first renamed, durably, to a name no topic
	 * can have: a crash leaves the whole topic or a trash directory, which
	 * the next mount removes (load_topics). Until the rename succeeds
	 * the topic stays in the table: a deletion that fails leaves it as
	 * it was, visible and appendable. */
	char trash[LFS_TOPIC_NAME_MAX + 16];
	snprintf(trash, sizeof(trash), LFS_TRASH_PREFIX "%s", name);
	lfs_remove_tree(v->topics_fd, trash); /* left by a read-only mount */
	if (renameat(v->topics_fd, name, v->topics_fd, trash) < 0) {
		rc = -errno;
		atomic_store(&t->deleted, false);
		goto out;
	}
	lfs_rwlock_wrlock(&v->topics_lock);
	i = topics_find(v, name);
	memmove(v->topics + i, v->topics + i + 1, (v->ntopics - (size_t)i - 1) * sizeof(*v->topics));
	v->ntopics--;
	lfs_rwlock_unlock(&v->topics_lock);
	rc = lfs_fsync_dir(v->topics_fd);
	if (rc == 0)
		rc = lfs_remove_tree(v->topics_fd, trash);
	if (rc == 0)
		rc = lfs_fsync_dir(v->topics_fd);
	lfs_topic_put(t);
out:
	lfs_mutex_unlock(&v->create_mu);
	return rc;
}
