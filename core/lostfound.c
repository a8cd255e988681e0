/*
 * VOLUME/lost+found: where fsck and mount recovery put files they cannot
 * keep in the log but must not destroy (segments after a loss, unknown
 * entries). Nothing is ever deleted on the way: an operator can look.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens lost+found/<sub> (sub "" or "topics" or "topics/NAME") under the
 * volume directory, creating the directories as needed (each creation made
 * durable before the move that relies on it). */
static int open_lost_found(int voldirfd, const char *sub, int *out)
{
	char path[512];
	int fd = voldirfd, rc = 0;
	bool own = false;

	snprintf(path, sizeof(path), "%s%s%s", LFS_LOST_FOUND, *sub ? "/" : "", sub);
	for (char *comp = path, *next; comp; comp = next) {
		next = strchr(comp, '/');
		if (next)
			*next++ = 0;
		if (mkdirat(fd, comp, LFS_DIR_MODE) == 0) {
			rc = lfs_fsync_dir(fd);
			if (rc < 0)
				break;
		} else if (errno != EEXIST) {
			rc = -errno;
			break;
		}
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			rc = -errno;
			break;
		}
		if (own)
			close(fd);
		fd = nfd;
		own = true;
	}
	if (rc < 0) {
		if (own)
			close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* The first of name, name.1, ... name.9999 that lf does not hold: what is
 * kept in lost+found is never overwritten. 0, or -EEXIST, or -errno. */
static int free_name(int lf, const char *name, char *target, size_t size)
{
	struct stat st;

	snprintf(target, size, "%s", name);
	for (int i = 1; fstatat(lf, target, &st, AT_SYMLINK_NOFOLLOW) == 0; i++) {
		if (i > 9999)
			return -EEXIST;
		snprintf(target, size, "%s.%d", name, i);
	}
	return errno == ENOENT ? 0 : -errno;
}

int lfs_lost_found_move(int voldirfd, int fromfd, const char *name, const char *sub)
{
	int lf, rc = open_lost_found(voldirfd, sub, &lf);
	char target[300];

	if (rc < 0)
		return rc;
	rc = free_name(lf, name, target, sizeof(target));
	if (rc == 0 && renameat(fromfd, name, lf, target) < 0)
		rc = -errno;
	if (rc == 0)
		rc = lfs_fsync_dir(lf);
	if (rc == 0)
		rc = lfs_fsync_dir(fromfd);
	close(lf);
	return rc;
}

int lfs_lost_found_move_segment(int voldirfd, int topicfd, const char *topic, uint64_t base)
{
	char sub[300], name[32];
	const char *ext[2] = {"log", "idx"};

	snprintf(sub, sizeof(sub), "%s/%s", LFS_TOPICS_DIR, topic);
	for (int i = 0; i < 2; i++) {
		lfs_seg_name(base, ext[i], name);
		if (faccessat(topicfd, name, F_OK, 0) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		int rc = lfs_lost_found_move(voldirfd, topicfd, name, sub);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int lfs_lost_found_save(int voldirfd, const char *topic, const char *name, const void *buf,
			size_t len)
{
	char sub[300], target[300];
	int lf, rc;

	snprintf(sub, sizeof(sub), "%s/%s", LFS_TOPICS_DIR, topic);
	rc = open_lost_found(voldirfd, sub, &lf);
	if (rc < 0)
		return rc;
	rc = free_name(lf, name, target, sizeof(target));
	if (rc < 0) {
		close(lf);
		return rc;
	}
	int fd = lfs_open_file(lf, target, O_WRONLY | O_CREAT);
	if (fd < 0) {
		close(lf);
		return fd;
	}
	rc = lfs_pwrite_full(fd, buf, len, 0);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0)
		rc = lfs_fsync_dir(lf);
	close(lf);
	return rc;
}
