/*
 * A volume's topic table (topics_lock): kept sorted by name, lookups,
 * listings, and making and deleting topics.
 */
#include "internal.h"
#include "bisect.h"

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

/* Adds t to the topic table (topics_lock held for writing). at_end: a
 * mount's load appends, then sorts once (lfs_volume_topics_sort): inserting 100,000
 * topics in order moved 20 GB of pointers. */
struct name_key {
	lfs_topic *const *topics;
	const char *name;
};

static bool name_before(uint64_t i, void *ctx)
{
	const struct name_key *k = ctx;
	return strcmp(k->topics[i]->name, k->name) < 0;
}

int lfs_volume_topics_insert(lfs_volume *v, lfs_topic *t, bool at_end)
{
	LFS_ASSERT_WRITE_HELD(&v->topics_lock);
	if (lfs_array_reserve(&v->topics, v->ntopics, &v->topics_cap, sizeof(*v->topics), 16) < 0)
		return -ENOMEM;
	/* Kept sorted by name: lookups bisect, listings come out in order. */
	struct name_key key = {v->topics, t->name};
	size_t lo = at_end ? v->ntopics : lfs_bisect(0, v->ntopics, name_before, &key);
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
void lfs_volume_topics_sort(lfs_volume *v)
{
	LFS_ASSERT_WRITE_HELD(&v->topics_lock);
	if (v->ntopics)
		qsort(v->topics, v->ntopics, sizeof(*v->topics), cmp_topic);
}

/* The index of the topic called name, or -1 (topics_lock held). */
static ssize_t topics_find(lfs_volume *v, const char *name)
{
	LFS_ASSERT_READ_HELD(&v->topics_lock);
	struct name_key key = {v->topics, name};
	size_t i = lfs_bisect(0, v->ntopics, name_before, &key);
	return i < v->ntopics && strcmp(v->topics[i]->name, name) == 0 ? (ssize_t)i : -1;
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
	rc = lfs_volume_topics_insert(v, t, false);
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
