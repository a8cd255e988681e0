/*
 * FUSE requests on directories: listing (opendir, readdir, releasedir), a
 * topic's creation (mkdir) and deletion (rmdir), unlink (a segment's
 * deletion, or a cursor's), and the refusals of what a log does not do
 * (mknod, symlink, link, rename). File requests are in ops.c.
 */
#include "daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A snapshot of a directory's names taken at opendir, so offsets stay
 * stable while the listing is read. */
struct dir_handle {
	char **names;
	size_t count;
	bool topic; /* a topic's listing: its "cursors" entry is a directory */
};

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = ops_node_or_reply(req, ino);
	if (!n)
		return;
	struct dir_handle *d = calloc(1, sizeof(*d));
	int rc = d ? 0 : -ENOMEM;
	if (rc == 0 && n->kind == NODE_ROOT) {
		rc = lfs_volume_list_topics(daemon_of(req)->vol, &d->names, &d->count);
	} else if (rc == 0 && n->kind == NODE_TOPIC) {
		uint64_t *bases;
		size_t nb;
		rc = lfs_topic_list_sealed(n->topic, &bases, &nb);
		if (rc == 0) {
			d->topic = true;
			d->names = calloc(nb + 3, sizeof(char *));
			rc = d->names ? 0 : -ENOMEM;
			if (rc == 0)
				d->names[d->count++] = strdup("tail");
			if (rc == 0)
				d->names[d->count++] = strdup(CURSORS_DIR);
			for (size_t i = 0; rc == 0 && i < nb; i++) {
				char name[32];
				lfs_seg_name(bases[i], "log", name);
				d->names[d->count++] = strdup(name);
			}
			free(bases);
		}
	} else if (rc == 0 && n->kind == NODE_CURSORS) {
		rc = lfs_cursor_list(n->topic, &d->names, &d->count);
	} else if (rc == 0) {
		rc = -ENOTDIR;
	}
	nodes_put(n);
	if (rc < 0) {
		if (d) {
			for (size_t i = 0; i < d->count; i++)
				free(d->names[i]);
			free(d->names);
			free(d);
		}
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Entries 0 and 1 are "." and ".."; names follow. */
	for (size_t i = (size_t)off; i < d->count + 2; i++) {
		struct stat st = {0};
		const char *name = i == 0 ? "." : i == 1 ? ".." : d->names[i - 2];
		if (!name)
			continue;
		/* Tools skip entries with inode 0; the real number comes
		 * with lookup. */
		st.st_ino = i + 2;
		st.st_mode = ((fuse_ino_t)ino == FUSE_ROOT_ID || i < 2 ||
			      (d->topic && !strcmp(name, CURSORS_DIR)))
				     ? S_IFDIR
				     : S_IFREG;
		size_t len = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(i + 1));
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	(void)ino;
	for (size_t i = 0; i < d->count; i++)
		free(d->names[i]);
	free(d->names);
	free(d);
	fuse_reply_err(req, 0);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct node *p = ops_node_or_reply(req, parent);
	if (!p)
		return;
	int rc;
	lfs_topic *t = NULL;
	if (p->kind != NODE_ROOT) {
		rc = -EPERM;
	} else if (daemon_of(req)->readonly) {
		rc = -EROFS;
	} else {
		const struct fuse_ctx *ctx = fuse_req_ctx(req);
		struct lfs_topic_meta m = {.mode = mode & 07777, .uid = ctx->uid, .gid = ctx->gid};
		rc = lfs_topic_create(daemon_of(req)->vol, name, &m, &t);
	}
	nodes_put(p);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	struct node *n = nodes_get(NODE_TOPIC, t, 0, NULL);
	lfs_topic_put(t);
	if (!n)
		fuse_reply_err(req, ENOMEM);
	else
		ops_reply_entry(req, n);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *p = ops_node_or_reply(req, parent);
	if (!p)
		return;
	int rc;
	if (p->kind == NODE_TOPIC && !strcmp(name, CURSORS_DIR))
		rc = -EPERM; /* every topic has it */
	else if (p->kind != NODE_ROOT)
		rc = -ENOTDIR;
	else if (daemon_of(req)->readonly)
		rc = -EROFS;
	else {
		/* The mirror's reader would keep the topic busy. */
		if (daemon_of(req)->mirror)
			mirror_pause(daemon_of(req)->mirror, name);
		rc = lfs_topic_delete(daemon_of(req)->vol, name);
		lfs_topic *t;
		if (rc == -EBUSY && lfs_topic_get(daemon_of(req)->vol, name, &t) == 0) {
			bool none = ops_wait_closing(t);
			lfs_topic_put(t);
			if (none)
				rc = lfs_topic_delete(daemon_of(req)->vol, name);
		}
		if (rc < 0 && daemon_of(req)->mirror)
			mirror_resume(daemon_of(req)->mirror, name);
	}
	nodes_put(p);
	fuse_reply_err(req, -rc);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *p = ops_node_or_reply(req, parent);
	if (!p)
		return;
	int rc = -ENOENT;
	uint64_t base;
	if (p->kind == NODE_TOPIC) {
		if (strcmp(name, "tail") == 0 || name[0] == '@' || !strcmp(name, CURSORS_DIR))
			rc = -EPERM;
		else if (daemon_of(req)->readonly)
			rc = -EROFS;
		else if (strlen(name) == SEG_NAME_LEN && lfs_seg_name_parse(name, "log", &base) == 0)
			rc = lfs_topic_delete_segment(p->topic, base);
	} else if (p->kind == NODE_CURSORS) {
		rc = daemon_of(req)->readonly ? -EROFS : lfs_cursor_delete(p->topic, name);
	} else {
		rc = -EPERM;
	}
	nodes_put(p);
	fuse_reply_err(req, -rc);
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, daemon_of(req)->readonly ? EROFS : EPERM);
}

void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EPERM);
}

