/*
 * Consumer cursors in the mount: TOPIC/cursors/NAME. The request handlers
 * (ops.c, xattr.c) route cursor nodes here; the store, the exclusive reader
 * and the commits are core/cursor.c's.
 */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};
	return ts;
}

/* A cursor's size is its backlog; for the process reading it, the size of
 * its own view (which never shrinks under it, as tail -f needs). */
int cursor_node_stat(struct node *n, lfs_cursor *open_handle, struct stat *st)
{
	struct lfs_topic_meta m;
	struct lfs_cursor_info ci;
	int rc = lfs_cursor_stat(n->topic, n->at, &ci);
	if (rc < 0)
		return rc;
	lfs_topic_get_meta(n->topic, &m);
	uint64_t size = open_handle ? lfs_cursor_size(open_handle) : ci.backlog;
	st->st_mode = S_IFREG | (m.mode & 0666);
	st->st_uid = m.uid;
	st->st_gid = m.gid;
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blocks = 0; /* the backlog is the log's bytes, counted there */
	st->st_mtim = st->st_ctim = st->st_atim = ns_ts(ci.committed_at);
	return 0;
}

int cursor_write(const struct daemon *d, struct node *n, const char *buf, size_t size)
{
	char text[64];
	/* `echo 1200 >`: one trailing newline is not part of the position. */
	if (size && buf[size - 1] == '\n')
		size--;
	if (size == 0 || size >= sizeof(text) || memchr(buf, 0, size))
		return -EINVAL;
	memcpy(text, buf, size);
	text[size] = 0;
	if (d->readonly)
		return -EROFS;
	return lfs_cursor_seek(n->topic, n->at, text, lfs_now_ns());
}

static const char *const keys[] = {"offset", "lag", "committed_at", "skipped", "commit"};
#define NKEYS (sizeof(keys) / sizeof(*keys))

int cursor_xattr_get(struct node *n, const char *key, char *buf, size_t len)
{
	struct lfs_cursor_info ci;
	int rc = lfs_cursor_stat(n->topic, n->at, &ci);
	if (rc < 0)
		return rc;
	uint64_t v;
	if (!strcmp(key, "offset"))
		v = ci.offset;
	else if (!strcmp(key, "lag"))
		v = ci.lag;
	else if (!strcmp(key, "committed_at"))
		v = ci.committed_at;
	else if (!strcmp(key, "skipped"))
		v = ci.skipped;
	else if (!strcmp(key, "commit"))
		return snprintf(buf, len, "%s", ci.explicit_commit ? "explicit" : "close");
	else
		return -ENODATA;
	return snprintf(buf, len, "%llu", (unsigned long long)v);
}

int cursor_xattr_names(char *buf, size_t cap)
{
	size_t used = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		int k = snprintf(buf + used, cap - used, "user.logfs.%s", keys[i]);
		used += (size_t)k + 1;
	}
	return (int)used;
}

/* Whether KEY of cursor n may be changed: 0, -ENODATA (not ours), -EPERM
 * (a read-only key: every key but commit), -EROFS. */
static int check_settable(const struct daemon *d, struct node *n, const char *key)
{
	char cur[64];
	int rc = cursor_xattr_get(n, key, cur, sizeof(cur));
	if (rc < 0)
		return rc;
	if (strcmp(key, "commit") != 0)
		return -EPERM;
	return d->readonly ? -EROFS : 0;
}

/* 0, -ENODATA (not ours), -EPERM (read-only), -EINVAL (bad value). */
int cursor_xattr_set(const struct daemon *d, struct node *n, const char *key, const char *value)
{
	int rc = check_settable(d, n, key);
	if (rc < 0)
		return rc;
	if (strcmp(value, "explicit") != 0 && strcmp(value, "close") != 0)
		return -EINVAL;
	return lfs_cursor_set_explicit(n->topic, n->at, !strcmp(value, "explicit"));
}

/* setfattr -x user.logfs.commit: back to the default, close. */
int cursor_xattr_remove(const struct daemon *d, struct node *n, const char *key)
{
	int rc = check_settable(d, n, key);
	if (rc < 0)
		return rc;
	return lfs_cursor_set_explicit(n->topic, n->at, false);
}
