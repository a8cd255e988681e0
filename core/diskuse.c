/*
 * Disk use of a topic's backing files, in 512-byte blocks (st_blocks), for
 * the mount's st_blocks: every byte on disk is counted by exactly one name
 * of the mount, so `du` of a topic is the disk use of its directory in the
 * volume (docs/DESIGN.md, "Sizes").
 */
#include "internal.h"
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

/* Blocks of one file of the topic directory; a missing file has none
 * (retention or rm may remove a segment between a lookup and a stat). */
static int file_blocks(int dirfd, const char *name, uint64_t *sum)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	*sum += (uint64_t)st.st_blocks;
	return 0;
}

int lfs_segment_blocks(lfs_topic *t, uint64_t base, uint64_t *blocks)
{
	char name[32];
	*blocks = 0;
	int rc = lfs_topic_files_enter(t); /* an idle topic's directory is closed (files.c) */
	if (rc < 0)
		return rc;
	lfs_seg_name(base, "log", name);
	rc = file_blocks(t->dirfd, name, blocks);
	if (rc == 0) {
		lfs_seg_name(base, "idx", name);
		rc = file_blocks(t->dirfd, name, blocks);
	}
	lfs_topic_files_exit(t);
	return rc;
}

int lfs_topic_blocks(lfs_topic *t, struct lfs_topic_blocks *b)
{
	struct stat st;
	/* The list's last segment is the active one (seglist.c). */
	lfs_rwlock_rdlock(&t->segs_lock);
	bool any = t->nsegs > 0; /* none once the topic is deleted */
	uint64_t active = any ? t->segs[t->nsegs - 1]->base : 0;
	lfs_rwlock_unlock(&t->segs_lock);
	b->active = 0;
	int rc = any ? lfs_segment_blocks(t, active, &b->active) : 0;
	if (rc < 0)
		return rc;
	rc = lfs_topic_files_enter(t);
	if (rc < 0)
		return rc;
	if (fstat(t->dirfd, &st) < 0)
		rc = -errno;
	b->topic = rc == 0 ? (uint64_t)st.st_blocks : 0;
	if (rc == 0)
		rc = file_blocks(t->dirfd, LFS_TOPIC_CONF, &b->topic);
	if (rc == 0)
		rc = file_blocks(t->dirfd, LFS_CURSOR_FILE, &b->topic);
	lfs_topic_files_exit(t);
	return rc;
}
