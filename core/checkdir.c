/*
 * The volume checker's directory listings, and entries that are no part of
 * a volume moved aside to VOLUME/lost+found (never deleted).
 */
#include "checkint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- directory listings ---- */

static int cmp_dent(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

void lfs_ck_free_dents(struct dent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Lists a directory (without . and ..), sorted by name, with types and
 * sizes from lstat: symlinks are never followed. */
int lfs_ck_list_dir(int dirfd, struct dent **out, size_t *count)
{
	struct dent *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int rc = lfs_dir_open(dirfd, &d);

	if (rc < 0)
		return rc;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				rc = -errno;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (lfs_array_reserve(&v, n, &cap, sizeof(*v), 64) < 0) {
			rc = -ENOMEM;
			break;
		}
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			rc = -errno;
			break;
		}
		v[n].name = strdup(de->d_name);
		if (!v[n].name) {
			rc = -ENOMEM;
			break;
		}
		v[n].type = S_ISDIR(st.st_mode)	  ? DT_DIR
			    : S_ISREG(st.st_mode) ? DT_REG
			    : S_ISLNK(st.st_mode) ? DT_LNK
						  : DT_UNKNOWN;
		v[n].size = (uint64_t)st.st_size;
		v[n].mode = st.st_mode & 07777;
		n++;
	}
	closedir(d);
	if (rc < 0) {
		lfs_ck_free_dents(v, n);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_dent);
	*out = v;
	*count = n;
	return 0;
}

/* ---- lost+found ---- */

/* Moves fromfd/name to lost+found/<sub>/name (or name.N if taken). */
static int move_lost(struct checker *ck, int fromfd, const char *name, const char *sub)
{
	return lfs_lost_found_move(ck->dirfd, fromfd, name, sub);
}

static const char *type_name(unsigned char t)
{
	return t == DT_DIR ? "directory" : t == DT_LNK ? "symbolic link" : t == DT_REG ? "file" : "special file";
}

/* Reports an unknown entry and, when repairing, moves it to lost+found.
 * A failed move is not fatal (the daemon ignores such entries): the problem
 * stays unrepaired. */
void lfs_ck_unknown_entry(struct checker *ck, int dirfd, const struct dent *e, const char *topic,
			  const char *where, const char *sub)
{
	char done[400] = "";
	int rc = 0;
	if (ck->repair) {
		rc = move_lost(ck, dirfd, e->name, sub);
		if (rc == 0)
			snprintf(done, sizeof(done), ": moved to %s%s%s", LOST_FOUND, *sub ? "/" : "",
				 sub);
		else
			snprintf(done, sizeof(done), ": cannot move it to %s: %s", LOST_FOUND,
				 strerror(-rc));
	}
	lfs_ck_problem(ck, LFS_PROB_UNKNOWN_FILE, topic, UINT64_MAX, 0, 0, 0, ck->repair && rc == 0,
		"unknown %s '%s%s'%s", type_name(e->type), where, e->name, done);
}
