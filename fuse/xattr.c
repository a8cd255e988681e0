/*
 * Extended attributes: user.logfs.* on topics (statistics read-only,
 * settings read-write), on sealed segments, on tail and @ views, and on
 * the mount's root (the volume; read-only).
 */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "user.logfs."

static const char *const topic_stats[] = {"first_offset", "next_offset", "bytes", "segments"};
static const char *const file_stats[] = {"base_offset", "records", "first_timestamp",
					 "last_timestamp"};
#define NSTATS 4
static const char *const root_stats[] = {"label", "uuid", "format_version", "topics", "bytes"};
#define NROOT 5

/* The volume, on the mount's root. */
static int root_value(const struct daemon *d, const char *key, char *buf, size_t len)
{
	const struct lfs_sb_info *sb = lfs_volume_info(d->vol);
	struct lfs_volume_stat vs;
	char uuid[37];
	int rc;

	if (strcmp(key, "label") == 0)
		return snprintf(buf, len, "%s", sb->label);
	if (strcmp(key, "uuid") == 0) {
		lfs_uuid_format(sb->uuid, uuid);
		return snprintf(buf, len, "%s", uuid);
	}
	if (strcmp(key, "format_version") == 0)
		return snprintf(buf, len, "%u", sb->version);
	if (strcmp(key, "topics") != 0 && strcmp(key, "bytes") != 0)
		return -ENODATA;
	rc = lfs_volume_stat(d->vol, &vs);
	if (rc < 0)
		return rc;
	return snprintf(buf, len, "%llu",
			(unsigned long long)(key[0] == 't' ? vs.topics : vs.bytes));
}

/* An @ view's four statistics describe the view: from its start record
 * (as a reader opened on it now starts) to the newest record. */
static int at_stats(struct node *n, uint64_t v[NSTATS])
{
	struct lfs_topic_stat ts;
	struct lfs_start start;
	struct lfs_record rec;
	lfs_reader *r;
	int rc = lfs_start_parse(n->at, lfs_now_ns(), &start);
	if (rc == 0)
		rc = lfs_reader_glance(n->topic, &start, &r);
	if (rc < 0)
		return rc;
	lfs_topic_stat(n->topic, &ts);
	v[0] = lfs_reader_start_offset(r);
	v[1] = ts.next_offset > v[0] ? ts.next_offset - v[0] : 0;
	rc = lfs_reader_next_record(r, &rec);
	lfs_reader_close(r);
	if (rc < 0)
		return rc;
	v[2] = rc == 1 ? rec.timestamp : 0;
	v[3] = rc == 1 ? ts.last_timestamp : 0;
	return 0;
}

static int stat_value(struct node *n, const char *key, char *buf, size_t len)
{
	struct lfs_topic_stat ts;
	uint64_t v[NSTATS];
	const char *const *names;

	if (n->kind == NODE_TOPIC) {
		lfs_topic_stat(n->topic, &ts);
		names = topic_stats;
		v[0] = ts.first_offset;
		v[1] = ts.next_offset;
		v[2] = ts.bytes;
		v[3] = ts.segments;
	} else if (n->kind == NODE_SEGMENT) {
		lfs_segment *s;
		struct lfs_segment_stat ss;
		int rc = lfs_segment_get(n->topic, n->base, &s);
		if (rc < 0)
			return rc;
		lfs_segment_stat(s, &ss);
		lfs_segment_put(s);
		names = file_stats;
		v[0] = ss.base_offset;
		v[1] = ss.records;
		v[2] = ss.first_timestamp;
		v[3] = ss.last_timestamp;
	} else if (n->kind == NODE_AT) {
		int rc = at_stats(n, v);
		if (rc < 0)
			return rc;
		names = file_stats;
	} else if (n->kind == NODE_TAIL) {
		lfs_topic_stat(n->topic, &ts);
		names = file_stats;
		v[0] = ts.first_offset;
		v[1] = ts.next_offset - ts.first_offset;
		v[2] = ts.first_timestamp;
		v[3] = ts.last_timestamp;
	} else {
		return -ENODATA;
	}
	for (int i = 0; i < NSTATS; i++)
		if (strcmp(key, names[i]) == 0)
			return snprintf(buf, len, "%llu", (unsigned long long)v[i]);
	return -ENODATA;
}

/* A topic's mirror: its target (read-write) and its status (read-only). */
static const char *const mirror_keys[] = {"mirror", "mirror_offset", "mirror_lag",
					  "mirror_error"};
#define NMIRROR 4

static int mirror_value(const struct daemon *d, struct node *n, const char *key, char *buf, size_t len)
{
	struct lfs_topic_meta meta;
	struct mirror_status ms;
	if (strcmp(key, "mirror") == 0) {
		lfs_topic_get_meta(n->topic, &meta);
		return snprintf(buf, len, "%s", meta.mirror);
	}
	int k;
	for (k = 1; k < NMIRROR && strcmp(key, mirror_keys[k]) != 0; k++)
		;
	if (k == NMIRROR)
		return -ENODATA;
	if (!d->mirror || mirror_status(d->mirror, n->topic, &ms) < 0)
		return k == 3 ? 0 : -ENODATA; /* not mirrored: no error either */
	if (k == 3)
		return snprintf(buf, len, "%s", ms.error);
	return snprintf(buf, len, "%llu",
			(unsigned long long)(k == 1 ? ms.next_offset : ms.lag));
}

/* The value of user.logfs.KEY of node n, into buf: length or -errno. */
static int xattr_value(const struct daemon *d, struct node *n, const char *key, char *buf, size_t len)
{
	if (n->kind == NODE_CURSOR)
		return cursor_xattr_get(n, key, buf, len);
	if (n->kind == NODE_ROOT)
		return root_value(d, key, buf, len);
	int rc = stat_value(n, key, buf, len);
	if (rc != -ENODATA || n->kind != NODE_TOPIC)
		return rc;
	rc = mirror_value(d, n, key, buf, len);
	if (rc != -ENODATA || strncmp(key, "mirror", 6) == 0)
		return rc;
	int id = lfs_setting_lookup(key);
	if (id < 0)
		return -ENODATA;
	struct lfs_settings st;
	lfs_topic_settings(n->topic, &st);
	return lfs_setting_format(&st, id, buf, len);
}

static int node_names(const struct daemon *d, struct node *n, char *buf, size_t cap)
{
	size_t used = 0;
	const char *const *names = n->kind == NODE_TOPIC ? topic_stats : file_stats;
	struct mirror_status ms;
	/* The mirror's status only while it has one: a listed name that
	 * reads as ENODATA would fail getfattr -d. */
	bool mirrored = n->kind == NODE_TOPIC && d->mirror &&
			mirror_status(d->mirror, n->topic, &ms) == 0;
	int extra = n->kind == NODE_TOPIC ? LFS_SET_COUNT + (mirrored ? NMIRROR : 1) : 0;

	if (n->kind == NODE_CURSORS)
		return 0;
	if (n->kind == NODE_CURSOR)
		return cursor_xattr_names(buf, cap);
	if (n->kind == NODE_ROOT) {
		names = root_stats;
		for (int i = 0; i < NROOT; i++) {
			int k = snprintf(buf + used, cap - used, PREFIX "%s", names[i]);
			used += (size_t)k + 1;
		}
		return (int)used;
	}
	for (int i = 0; i < NSTATS + extra; i++) {
		const char *key = i < NSTATS		     ? names[i]
				  : i < NSTATS + LFS_SET_COUNT ? lfs_setting_name(i - NSTATS)
							       : mirror_keys[i - NSTATS - LFS_SET_COUNT];
		int k = snprintf(buf + used, cap - used, PREFIX "%s", key);
		used += (size_t)k + 1;
	}
	return (int)used;
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	const struct daemon *d = daemon_of(req);
	struct node *n = nodes_find(ino);
	char buf[MIRROR_ERROR_MAX + 64];
	int rc;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	rc = strncmp(name, PREFIX, strlen(PREFIX)) == 0
		     ? xattr_value(d, n, name + strlen(PREFIX), buf, sizeof(buf))
		     : -ENODATA;
	nodes_put(n);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)rc);
	else if (size < (size_t)rc)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)rc);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	const struct daemon *d = daemon_of(req);
	struct node *n = nodes_find(ino);
	char buf[1024];

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	int len = node_names(d, n, buf, sizeof(buf));
	nodes_put(n);
	if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if (size < (size_t)len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)len);
}

/* user.logfs.mirror: the stream to mirror into, "" for none. */
static int set_mirror(const struct daemon *d, struct node *n, const char *value, size_t size)
{
	char val[LFS_MIRROR_NAME_MAX + 1];
	if (d->readonly || !d->mirror)
		return -EROFS;
	if (size && value[size - 1] == '\n')
		size--; /* from echo based tools */
	if (size >= sizeof(val) || memchr(value, 0, size))
		return -EINVAL;
	memcpy(val, value, size);
	val[size] = 0;
	return mirror_set_target(d->mirror, n->topic, val);
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags)
{
	const struct daemon *d = daemon_of(req);
	struct node *n = nodes_find(ino);
	char val[64], cur[64];
	int rc;

	(void)flags;
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind == NODE_TOPIC && strcmp(name, PREFIX "mirror") == 0) {
		rc = set_mirror(d, n, value, size);
	} else if (strncmp(name, PREFIX, strlen(PREFIX)) != 0) {
		rc = -ENOTSUP;
	} else if (n->kind == NODE_TOPIC && strncmp(name, PREFIX "mirror_", strlen(PREFIX) + 7) == 0 &&
		   mirror_value(d, n, name + strlen(PREFIX), cur, sizeof(cur)) != -ENODATA) {
		rc = -EPERM; /* the mirror's status is read-only */
	} else if (n->kind == NODE_CURSOR) {
		if (size == 0 || size >= sizeof(val)) {
			rc = -EINVAL;
		} else {
			memcpy(val, value, size);
			val[size] = 0;
			if (val[size - 1] == '\n')
				val[size - 1] = 0;
			rc = cursor_xattr_set(d, n, name + strlen(PREFIX), val);
			if (rc == -ENODATA)
				rc = -ENOTSUP;
		}
	} else if (xattr_value(d, n, name + strlen(PREFIX), cur, sizeof(cur)) < 0) {
		rc = -ENOTSUP; /* not one of ours */
	} else if (n->kind != NODE_TOPIC || lfs_setting_lookup(name + strlen(PREFIX)) < 0) {
		rc = -EPERM; /* statistics are read-only */
	} else if (d->readonly) {
		rc = -EROFS;
	} else if (size == 0 || size >= sizeof(val)) {
		rc = -EINVAL;
	} else {
		memcpy(val, value, size);
		val[size] = 0;
		/* `setfattr -v 100` sends "100"; tolerate a trailing newline
		 * from `echo` based tools. */
		if (val[size - 1] == '\n')
			val[--size] = 0;
		/* A NUL inside ("200\0junk") would cut the value short
		 * unseen: refused like any malformed value. */
		rc = strlen(val) != size
			     ? -EINVAL
			     : lfs_topic_set(n->topic, lfs_setting_lookup(name + strlen(PREFIX)), val);
	}
	nodes_put(n);
	fuse_reply_err(req, -rc);
}

/* setfattr -x: a topic's setting goes back to the mount's default (its
 * own value is dropped from the volume); the mirror target to none;
 * statistics cannot be removed. */
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	const struct daemon *d = daemon_of(req);
	struct node *n = nodes_find(ino);
	char cur[MIRROR_ERROR_MAX + 64];
	int rc;
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	const char *key = name + strlen(PREFIX);
	if (strncmp(name, PREFIX, strlen(PREFIX)) != 0) {
		rc = -ENODATA;
	} else if (n->kind == NODE_CURSOR) {
		rc = cursor_xattr_remove(d, n, key);
	} else if (xattr_value(d, n, key, cur, sizeof(cur)) < 0) {
		rc = -ENODATA;
	} else if (n->kind == NODE_TOPIC && strcmp(key, "mirror") == 0) {
		rc = set_mirror(d, n, "", 0);
	} else if (n->kind != NODE_TOPIC || lfs_setting_lookup(key) < 0) {
		rc = -EPERM;
	} else if (d->readonly) {
		rc = -EROFS;
	} else {
		rc = lfs_topic_unset(n->topic, lfs_setting_lookup(key));
	}
	nodes_put(n);
	fuse_reply_err(req, -rc);
}
