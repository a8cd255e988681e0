/*
 * A volume's own files: the superblock (two copies), the clean/dirty state,
 * the exclusive lock; and making a volume (lfs_mkfs).
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
	unsigned char one[LFS_SB_SIZE], buf[LFS_SB_FILE_SIZE];
	lfs_sb_encode(sb, one);
	lfs_sb_file_encode(one, buf);
	return lfs_write_file_atomic(dirfd, LFS_SB_FILE, buf, sizeof(buf));
}

/* Reads the superblock, falling back to the backup copy. *primary_ok tells
 * whether the first copy was good. */
static int read_superblock_at(int dirfd, struct lfs_sb_info *sb, bool *primary_ok)
{
	unsigned char buf[LFS_SB_FILE_SIZE];
	size_t len;
	int rc = lfs_read_file(dirfd, LFS_SB_FILE, buf, sizeof(buf), &len);
	if (rc < 0)
		return rc == -ENOENT ? -EUCLEAN : rc;
	return lfs_sb_file_decode(buf, len, sb, primary_ok);
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
int lfs_volume_lock(int dirfd)
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
	int rc = lfs_volume_lock(fd);
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
	rc = lfs_volume_lock(fd);
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
