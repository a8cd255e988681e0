/* What the request handlers of the logfs daemon share. */
#ifndef LFS_FUSE_DAEMON_H
#define LFS_FUSE_DAEMON_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "logfs.h"
#include "mirror.h"
#include "nodes.h"

struct daemon {
	lfs_volume *vol;
	bool readonly;
	bool debug;
	mirror *mirror; /* topics' mirrors (mirror/), NULL when read-only */
	/* The volume directory's owner: the mount root's owner. */
	uid_t owner_uid;
	gid_t owner_gid;
	/* Root acting on the volume as its owner (lfs_act_as_volume_owner). */
	bool as_owner;
};

/* The daemon's state reaches the request handlers as the session's
 * userdata (fuse_session_new in main.c). */
static inline struct daemon *daemon_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}
extern const struct fuse_lowlevel_ops logfs_ops;

#define PROG "logfs"

/* log.c: the daemon's messages, of an enum lfs_log_level, to syslog, to
 * stderr while it reaches the user, and to -o log=FILE. */
void daemon_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The syslog priority of a level. */
int daemon_log_priority(int level);
/* The core's lfs_log_fn: daemon_log. */
void daemon_core_log(void *ctx, int level, const char *msg);
/* Before anything is logged: finds syslog, opens FILE (NULL: none) for
 * appending. -errno when FILE cannot be opened. */
int log_open(const char *file);
bool log_has_syslog(void);
/* After daemonizing: stderr is the saved descriptor of the user's stderr
 * (kept when there is neither syslog nor a log file), or -1: none. */
void log_daemonized(int saved_stderr);
/* SIGHUP reopens the log file (logrotate), or is ignored without one. */
int log_reopen_on_hup(void);

/* signals.c: SIGTERM and SIGINT end the session loop, whichever thread
 * they reach. signals_block in the main thread before any other thread
 * exists; signals_start after the fork of daemonizing; signals_stop when
 * the loop has returned (or was never run). */
int signals_block(void);
int signals_start(struct fuse_session *se);
void signals_stop(void);
void log_close(void);

/* notify.c: the core's segment_gone callback queues; one thread tells the
 * kernel to drop the deleted segments' names (notify_start once the session
 * is mounted; notify_stop before the session and the volume go). */
void notify_segment_gone(void *ctx, lfs_topic *t, uint64_t base);
int notify_start(struct fuse_session *se);
void notify_stop(void);

/* ops.c: releases every handle still open (after the session loop). */
void ops_release_all(void);
/* ops.c: may the kernel send parallel writes to this open file? */
bool ops_parallel_writes(uint64_t fh);

/* mountpoint.c: resolves the mount point into out (PATH_MAX bytes): a dead
 * logfs mount on it is replaced, a live one refused; -1 after saying why
 * on stderr. */
int mountpoint_prepare(const char *arg, char *out);
/* ops.c: the backing id an open reply hands the kernel (0: none). */
int32_t ops_backing_id(uint64_t fh);

/* devio.c: hooks the device I/O of a mounted session (see there why). */
int devio_install(struct fuse_session *se);
/* devio.c: before the mount, raises fs.fuse.max_pages_limit where it can;
 * returns the page slots one write request will carry. */
unsigned devio_prepare(void);
/* devio.c: the largest write-framed record that one write request carries
 * whole when it has this many page slots. */
uint64_t devio_write_record_max(unsigned slots);

/* passthrough.c: sealed segments through the kernel's FUSE passthrough. */
struct kabi_init_in;
struct kabi_init_out;
enum pt_mode {
	PT_NONE,    /* passthrough not negotiated: nothing is counted */
	PT_CACHED,  /* read through the daemon and the page cache */
	PT_BACKING, /* read by the kernel from the backing data file */
};
/* Before the mount: the mount option passthrough=on|off. */
void pt_configure(bool on);
/* The session's device descriptor, from the mount until the session loop
 * ends; after pt_detach no backing id is registered or closed. */
void pt_attach(int fd);
void pt_detach(void);
/* In the INIT reply: accepts the kernel's offer of passthrough when it may,
 * and logs once how sealed segments are read. */
void pt_negotiate(const struct kabi_init_in *in, struct kabi_init_out *out);
/* At the open of sealed segment s (node n): how this open file reads it,
 * with the backing id for PT_BACKING. */
enum pt_mode pt_open(struct node *n, lfs_segment *s, int32_t *backing_id);
/* At the release of an open file pt_open answered mode for. */
void pt_release(struct node *n, enum pt_mode mode);

/* cursors.c: TOPIC/cursors/ and its files (the FUSE side of core/cursor.c) */
#define CURSORS_DIR "cursors"
int cursor_node_stat(struct node *n, lfs_cursor *open_handle, struct stat *st);
/* A write to a cursor: the new position as text ("1200\n", "end", ...). */
int cursor_write(const struct daemon *d, struct node *n, const char *buf, size_t size);
/* user.logfs.* of a cursor: value into buf (length or -errno); names. */
int cursor_xattr_get(struct node *n, const char *key, char *buf, size_t len);
int cursor_xattr_names(char *buf, size_t cap);
int cursor_xattr_set(const struct daemon *d, struct node *n, const char *key, const char *value);
int cursor_xattr_remove(const struct daemon *d, struct node *n, const char *key);

/* A sealed segment's name: 20 digits and ".log". */
#define SEG_NAME_LEN 24

/* ops.c: what dirops.c shares with the file requests. */
/* Waits (2 s at most) while every open file of t is one its opener has
 * closed; true when none is left open. */
bool ops_wait_closing(lfs_topic *t);
/* Replies to a lookup-like request with n's entry and attributes. */
void ops_reply_entry(fuse_req_t req, struct node *n);
/* The node of ino (a reference), or NULL after replying ESTALE (no such
 * node) or ENOENT (its topic was deleted). */
struct node *ops_node_or_reply(fuse_req_t req, fuse_ino_t ino);

/* dirops.c: requests on directories. */
void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags);

/* xattr.c */
void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags);
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
