/*
 * FUSE request handlers: a thin translation of requests into core calls.
 *
 * Caching policy, which decides most of the speed:
 *  - sealed segments are immutable: long attribute timeouts and keep_cache,
 *    so the kernel's page cache serves repeated reads;
 *  - `tail` and `@...` are direct I/O: every read and write reaches the
 *    daemon (a log grows, and each handle sees its own start), and a write
 *    costs one request with no GETXATTR for security.capability;
 *  - `tail` and `@...` have attribute and entry timeout 0 and a node of
 *    their own for every lookup (nodes.h), so every open file has a kernel
 *    inode of its own: fstat/lseek(SEEK_END) see that handle's current size
 *    (tail -n, tail -f, less +F), and the kernel's per-inode locks (O_APPEND
 *    writes, fsync) never make one open file wait for another.
 */
#include "daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define SEALED_TIMEOUT 3600.0

/* A handle on an open file. */
struct handle {
	struct handle *prev, *next; /* open handles, for shutdown */
	enum node_kind kind;
	lfs_topic *topic;
	lfs_reader *reader;     /* tail and @... opened for reading */
	lfs_producer *producer; /* tail opened for writing */
	lfs_segment *segment;   /* sealed segment */
	lfs_cursor *cursor;     /* a cursor (reading or not) */
	struct node *node;      /* the node it was opened through, held while open */
	struct handle *node_next; /* per-open nodes: the next open file of node */
	bool writable, reading; /* a cursor handle's access */
	enum pt_mode pt;        /* sealed segment: how the kernel reads it */
	int32_t backing_id;     /* PT_BACKING: the kernel's id of its data file */
	fuse_ino_t ino;
	pid_t pid; /* the process that opened it */
	_Atomic pid_t writer; /* the process (thread) that wrote last */
	/* Its opener's close(2) came (FLUSH from pid) and nothing used it
	 * since: the file is most likely closed, its RELEASE on the way
	 * (the kernel sends it after close(2) has returned). */
	atomic_bool closing;
	/* One read at a time: a reader's pointers stay mapped until its next
	 * call (core/maps.c), which must come after this reply has been sent;
	 * and h lives until the last READ handler has let go of it (held by
	 * op_read from before its reply until it touches h no more, taken by
	 * release_handle before the free). */
	pthread_mutex_t read_mu;
};

static pthread_mutex_t handles_mu = PTHREAD_MUTEX_INITIALIZER;
static struct handle handles = {.prev = &handles, .next = &handles};
/* With handles_mu: a handle was released. releasing counts the handles
 * out of the list whose files (and the topic holds they keep) are still
 * being closed (under handles_mu). */
static pthread_cond_t handles_gone = PTHREAD_COND_INITIALIZER;
static size_t releasing;

static bool per_open_node(const struct node *n)
{
	return n->kind == NODE_TAIL || n->kind == NODE_AT;
}

static void handles_add(struct handle *h)
{
	pthread_mutex_lock(&handles_mu);
	h->next = &handles;
	h->prev = handles.prev;
	handles.prev->next = h;
	handles.prev = h;
	if (h->node) {
		h->node_next = h->node->opens;
		h->node->opens = h;
	}
	pthread_mutex_unlock(&handles_mu);
}

static void handles_remove(struct handle *h)
{
	pthread_mutex_lock(&handles_mu);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	if (h->node) {
		struct handle **pp = (struct handle **)&h->node->opens;
		while (*pp != h)
			pp = &(*pp)->node_next;
		*pp = h->node_next;
	}
	releasing++;
	pthread_mutex_unlock(&handles_mu);
}

/* A request used h: whatever its opener closed, a copy of it is open. */
static void handle_used(struct handle *h)
{
	if (atomic_load_explicit(&h->closing, memory_order_relaxed))
		atomic_store(&h->closing, false);
}

/* rmdir(2) right after the last close(2) of a file of the topic found it
 * busy now and then: FUSE sends RELEASE after close(2) has returned, and
 * another worker thread may not have run it yet. Waits (2 s at most) while
 * every open file of t is one its opener has closed; true when none is left
 * open. A copy that stays open (dup, fork) keeps the topic busy. */
#define CLOSING_WAIT_S 2
bool ops_wait_closing(lfs_topic *t)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CLOSING_WAIT_S;
	bool none = false;
	pthread_mutex_lock(&handles_mu);
	for (;;) {
		size_t open = 0, closing = 0;
		for (const struct handle *h = handles.next; h != &handles; h = h->next)
			if (h->topic == t) {
				open++;
				closing += atomic_load(&h->closing);
			}
		/* (A handle being released may be one of t's: its holds go
		 * after it left the list.) */
		none = open == 0;
		if ((none && releasing == 0) || closing < open ||
		    pthread_cond_timedwait(&handles_gone, &handles_mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&handles_mu);
	return none;
}

static struct handle *fh_of(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

struct node *ops_node_or_reply(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = nodes_find(ino);
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return NULL;
	}
	if (n->topic && lfs_topic_deleted(n->topic)) {
		nodes_put(n);
		fuse_reply_err(req, ENOENT);
		return NULL;
	}
	return n;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};
	return ts;
}

static void set_times(struct stat *st, uint64_t ns)
{
	st->st_mtim = st->st_ctim = st->st_atim = ns_to_ts(ns);
}

/* The stat of a sealed segment that an open file of node n holds: fstat(2)
 * reaches the daemon without the file handle (GETATTR by inode). The node's
 * own list of open files, not every handle of the mount. */
static bool open_segment_stat(struct node *n, struct lfs_segment_stat *ss)
{
	bool found = false;
	pthread_mutex_lock(&handles_mu);
	for (const struct handle *h = n->opens; h && !found; h = h->node_next)
		if (h->segment) {
			lfs_segment_stat(h->segment, ss);
			found = true;
		}
	pthread_mutex_unlock(&handles_mu);
	return found;
}

/* Fills st for node n; h (may be NULL) gives a handle's own view. */
static int node_stat(const struct daemon *d, struct node *n, struct handle *h, struct stat *st,
		     double *timeout)
{
	struct lfs_topic_meta m;
	struct lfs_topic_stat ts;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->st_ino;
	/* Tools size their buffers by it (cat, cp): one write or read of
	 * max_write bytes is one request. */
	st->st_blksize = 1024 * 1024;
	*timeout = 0;
	const struct lfs_sb_info *sb = lfs_volume_info(d->vol);
	switch (n->kind) {
	case NODE_ROOT:
		/* The volume's owner makes topics in it (docs/DESIGN.md). */
		st->st_mode = S_IFDIR | 0755;
		st->st_uid = d->owner_uid;
		st->st_gid = d->owner_gid;
		st->st_nlink = 2;
		set_times(st, sb->ctime_ns);
		/* Timeout 0 although nothing here changes while mounted: a
		 * stat of the mount point must reach the daemon, so that a dead
		 * mount says ENOTCONN (mountpoint.c and every monitoring tool
		 * tell a dead mount by it). */
		return 0;
	case NODE_TOPIC: {
		/* du counts each byte once (docs/DESIGN.md, "Sizes"). */
		struct lfs_topic_blocks b;
		int rc = lfs_topic_blocks(n->topic, &b);
		if (rc < 0)
			return rc;
		st->st_blocks = (blkcnt_t)b.topic;
		lfs_topic_get_meta(n->topic, &m);
		lfs_topic_stat(n->topic, &ts);
		st->st_mode = S_IFDIR | (m.mode & 07777);
		st->st_uid = m.uid;
		st->st_gid = m.gid;
		st->st_nlink = 2;
		set_times(st, ts.last_timestamp ? ts.last_timestamp : sb->ctime_ns);
		return 0;
	}
	case NODE_TAIL:
	case NODE_AT: {
		struct lfs_topic_blocks b;
		int rc = lfs_topic_blocks(n->topic, &b);
		if (rc < 0)
			return rc;
		lfs_topic_get_meta(n->topic, &m);
		lfs_topic_stat(n->topic, &ts);
		uint64_t size = ts.bytes;
		if (h && h->reader) {
			size = lfs_reader_size(h->reader);
		} else if (n->kind == NODE_AT) {
			struct lfs_start start;
			lfs_reader *r;
			if (lfs_start_parse(n->at, lfs_now_ns(), &start) == 0 &&
			    lfs_reader_glance(n->topic, &start, &r) == 0) {
				size = lfs_reader_size(r);
				lfs_reader_close(r);
			} else {
				size = 0;
			}
		}
		st->st_mode = S_IFREG | (n->kind == NODE_TAIL ? (m.mode & 0666) : (m.mode & 0444));
		st->st_uid = m.uid;
		st->st_gid = m.gid;
		st->st_nlink = 1;
		st->st_size = (off_t)size;
		st->st_blocks = (blkcnt_t)b.active;
		set_times(st, ts.last_timestamp ? ts.last_timestamp : sb->ctime_ns);
		return 0;
	}
	case NODE_CURSORS:
		lfs_topic_get_meta(n->topic, &m);
		st->st_mode = S_IFDIR | (m.mode & 07777);
		st->st_uid = m.uid;
		st->st_gid = m.gid;
		st->st_nlink = 2;
		set_times(st, sb->ctime_ns);
		return 0;
	case NODE_CURSOR:
		return cursor_node_stat(n, h && h->reading ? h->cursor : NULL, st);
	case NODE_SEGMENT: {
		lfs_segment *s;
		struct lfs_segment_stat ss;
		st->st_nlink = 1;
		if (h && h->segment) {
			lfs_segment_stat(h->segment, &ss);
		} else {
			int rc = lfs_segment_get(n->topic, n->base, &s);
			if (rc == 0) {
				lfs_segment_stat(s, &ss);
				lfs_segment_put(s);
			} else if (open_segment_stat(n, &ss)) {
				/* Removed (rm, retention) while open: what
				 * fstat(2) shows of an unlinked file. */
				st->st_nlink = 0;
			} else {
				return rc;
			}
		}
		lfs_topic_get_meta(n->topic, &m);
		st->st_mode = S_IFREG | 0444;
		st->st_uid = m.uid;
		st->st_gid = m.gid;
		st->st_size = (off_t)ss.bytes;
		if (st->st_nlink) {
			uint64_t blocks;
			int rc = lfs_segment_blocks(n->topic, n->base, &blocks);
			if (rc < 0)
				return rc;
			st->st_blocks = (blkcnt_t)blocks;
		}
		set_times(st, ss.last_timestamp);
		*timeout = SEALED_TIMEOUT;
		return 0;
	}
	}
	return -EIO;
}

void ops_reply_entry(fuse_req_t req, struct node *n)
{
	struct fuse_entry_param e;
	double timeout;
	memset(&e, 0, sizeof(e));
	int rc = node_stat(daemon_of(req), n, NULL, &e.attr, &timeout);
	if (rc < 0) {
		nodes_forget(n->ino, 1);
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = n->ino;
	e.attr_timeout = timeout;
	/* Topic and segment names are stable: a topic comes and goes only by
	 * mkdir and rmdir through the mount (rename is refused), which the
	 * kernel's dentries follow, so its name is cached as long as a sealed
	 * segment's while its attributes (times, blocks) are asked anew.
	 * Cursors (created and removed at any time) are resolved anew, and so
	 * are `tail` and @names, whose every lookup makes a new node
	 * (nodes.h). */
	e.entry_timeout = per_open_node(n) || n->kind == NODE_CURSOR ? 0
			  : n->kind == NODE_CURSORS			  ? 1.0
			  : n->kind == NODE_TOPIC			  ? SEALED_TIMEOUT
									  : timeout;
	if (fuse_reply_entry(req, &e) != 0)
		nodes_forget(n->ino, 1);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* O_TRUNC arrives with open (accepted and ignored) instead of as a
	 * truncating SETATTR, which is refused. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node *p = ops_node_or_reply(req, parent), *n = NULL;
	if (!p)
		return;
	int err = ENOENT;
	if (p->kind == NODE_ROOT) {
		lfs_topic *t;
		if (lfs_topic_get(daemon_of(req)->vol, name, &t) == 0) {
			n = nodes_get(NODE_TOPIC, t, 0, NULL);
			lfs_topic_put(t);
		}
	} else if (p->kind == NODE_TOPIC) {
		uint64_t base;
		if (strcmp(name, "tail") == 0) {
			n = nodes_get(NODE_TAIL, p->topic, 0, NULL);
		} else if (strcmp(name, CURSORS_DIR) == 0) {
			n = nodes_get(NODE_CURSORS, p->topic, 0, NULL);
		} else if (name[0] == '@') {
			struct lfs_start st;
			lfs_reader *r;
			int rc = lfs_start_parse(name + 1, lfs_now_ns(), &st);
			if (rc == 0)
				rc = lfs_reader_glance(p->topic, &st, &r);
			if (rc == 0) {
				lfs_reader_close(r);
				n = nodes_get(NODE_AT, p->topic, 0, name + 1);
			} else {
				err = -rc;
			}
		} else if (strlen(name) == SEG_NAME_LEN && lfs_seg_name_parse(name, "log", &base) == 0) {
			lfs_segment *s;
			if (lfs_segment_get(p->topic, base, &s) == 0) {
				lfs_segment_put(s);
				n = nodes_get(NODE_SEGMENT, p->topic, base, NULL);
			}
		}
	} else if (p->kind == NODE_CURSORS) {
		struct lfs_cursor_info ci;
		if (lfs_cursor_stat(p->topic, name, &ci) == 0)
			n = nodes_get(NODE_CURSOR, p->topic, 0, name);
	}
	nodes_put(p);
	if (n)
		ops_reply_entry(req, n);
	else
		fuse_reply_err(req, err);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	nodes_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		nodes_forget(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* The size of a handle's own view of the log, if it reads one (handles_mu
 * held, which keeps h open). */
static bool handle_view_size(const struct handle *h, uint64_t *size)
{
	if (h->reader)
		*size = lfs_reader_size(h->reader);
	else if (h->cursor && h->reading)
		*size = lfs_cursor_size(h->cursor);
	else
		return false;
	return true;
}

/* fstat(2) reaches the daemon without its file handle (the kernel sends
 * GETATTR by inode), yet a reader's size is its own view of the log, which
 * must never shrink under it (tail -f would take a shrink for truncation
 * and print the log again). A per-open node (`tail`, `@...`) answers with
 * the view of the file opened through it, whoever asks; a cursor, one
 * inode for all its opens, with the view of the asking process's newest
 * handle on it. */
static bool caller_view_size(fuse_req_t req, struct node *n, uint64_t *size)
{
	bool found = false;
	bool any = per_open_node(n);
	pid_t pid = fuse_req_ctx(req)->pid;
	/* The node's own open files (newest first), never the mount's: a
	 * GETATTR costs the same with 15,000 readers elsewhere. */
	pthread_mutex_lock(&handles_mu);
	for (const struct handle *h = n->opens; h && !found; h = h->node_next)
		if (any || h->pid == pid)
			found = handle_view_size(h, size);
	pthread_mutex_unlock(&handles_mu);
	return found;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = ops_node_or_reply(req, ino);
	struct stat st;
	double timeout;
	uint64_t size;
	if (!n)
		return;
	int rc = node_stat(daemon_of(req), n, fi ? fh_of(fi) : NULL, &st, &timeout);
	if (rc == 0 && !fi && (n->kind == NODE_TAIL || n->kind == NODE_AT || n->kind == NODE_CURSOR) &&
	    caller_view_size(req, n, &size))
		st.st_size = (off_t)size; /* st_blocks stays the disk's (node_stat) */
	nodes_put(n);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, timeout);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct node *n = ops_node_or_reply(req, ino);
	if (!n)
		return;
	int rc = 0;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		rc = -EPERM; /* logs are append-only */
	} else if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		if (daemon_of(req)->readonly) {
			rc = -EROFS;
		} else if (n->kind != NODE_TOPIC && n->kind != NODE_TAIL) {
			rc = -EPERM;
		} else {
			/* tail is the topic as a file (its owner, its mode
			 * without the x bits): chown and chmod of tail change
			 * the topic, so that a daemon that reopens and chowns
			 * its log (nginx, logrotate's create) keeps working.
			 * A tail mode's read bits give the directory its
			 * search bits; the directory's special bits stay. */
			struct lfs_topic_meta m;
			lfs_topic_get_meta(n->topic, &m);
			mode_t mode = attr->st_mode & 07777;
			if (n->kind == NODE_TAIL)
				mode = (m.mode & 07000) | (mode & 0666) | ((mode & 0444) >> 2);
			if (to_set & FUSE_SET_ATTR_MODE)
				m.mode = mode;
			if (to_set & FUSE_SET_ATTR_UID)
				m.uid = attr->st_uid;
			if (to_set & FUSE_SET_ATTR_GID)
				m.gid = attr->st_gid;
			rc = lfs_topic_set_meta(n->topic, &m);
		}
	}
	/* Times follow the records; touch(1) succeeds and changes nothing. */
	if (rc == 0) {
		struct stat st;
		double timeout;
		rc = node_stat(daemon_of(req), n, fi ? fh_of(fi) : NULL, &st, &timeout);
		if (rc == 0)
			fuse_reply_attr(req, &st, timeout);
	}
	nodes_put(n);
	if (rc < 0)
		fuse_reply_err(req, -rc);
}

static int open_reader(struct node *n, struct handle *h)
{
	struct lfs_start st = {.kind = LFS_START_FIRST};
	if (n->kind == NODE_AT) {
		int rc = lfs_start_parse(n->at, lfs_now_ns(), &st);
		if (rc < 0)
			return rc;
	}
	return lfs_reader_open(n->topic, &st, &h->reader);
}

static void release_handle(struct handle *h)
{
	/* A READ of h that has replied may still be finishing (op_read):
	 * wait until it has let go of h. No request of h can start now. */
	pthread_mutex_lock(&h->read_mu);
	pthread_mutex_unlock(&h->read_mu);
	bool listed = h->next != NULL;
	if (listed)
		handles_remove(h);
	if (h->producer) {
		int rc = lfs_producer_close(h->producer);
		if (rc < 0)
			daemon_log(LFS_LOG_ERR, "topic %s: held line lost at close: %s",
				   lfs_topic_name(h->topic), strerror(-rc));
	}
	lfs_reader_close(h->reader);
	if (h->cursor) {
		int rc = lfs_cursor_close(h->cursor);
		if (rc < 0)
			daemon_log(LFS_LOG_WARNING, "topic %s: cursor %s: commit at close failed: %s",
				   lfs_topic_name(h->topic), h->node->at, strerror(-rc));
	}
	if (h->node)
		pt_release(h->node, h->pt);
	nodes_put(h->node);
	if (h->segment) {
		lfs_segment_put(h->segment);
		lfs_topic_release(h->topic);
	}
	lfs_topic_put(h->topic);
	pthread_mutex_destroy(&h->read_mu);
	free(h);
	if (listed) {
		/* Its holds are gone: an rmdir waiting for it may go on. */
		pthread_mutex_lock(&handles_mu);
		releasing--;
		pthread_cond_broadcast(&handles_gone);
		pthread_mutex_unlock(&handles_mu);
	}
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = ops_node_or_reply(req, ino);
	if (!n)
		return;
	int acc = fi->flags & O_ACCMODE;
	bool wr = acc == O_WRONLY || acc == O_RDWR, rd = acc == O_RDONLY || acc == O_RDWR;
	struct handle *h = calloc(1, sizeof(*h));
	int rc = h ? 0 : -ENOMEM;
	if (h)
		pthread_mutex_init(&h->read_mu, NULL);

	if (rc == 0) {
		h->kind = n->kind;
		h->ino = ino;
		h->pid = fuse_req_ctx(req)->pid;
		h->topic = n->topic;
		lfs_topic_ref(h->topic);
	}
	if (rc == 0) {
		switch (n->kind) {
		case NODE_TAIL:
		case NODE_AT:
			if (n->kind == NODE_AT)
				rc = wr ? -EACCES : 0;
			else if (wr)
				rc = daemon_of(req)->readonly ? -EROFS
							   : lfs_producer_open(n->topic, &h->producer);
			if (rc == 0 && rd)
				rc = open_reader(n, h);
			if (rc == 0) {
				/* The node is this open file's alone (nodes.h): a
				 * GETATTR of it asks about this handle. */
				h->node = n;
				n = NULL;
			}
			fi->direct_io = 1;
			break;
		case NODE_CURSOR:
			rc = wr && daemon_of(req)->readonly ? -EROFS
							 : lfs_cursor_open(n->topic, n->at, rd, &h->cursor);
			if (rc == 0) {
				/* The node names the cursor for writes and logs. */
				h->node = nodes_find(ino);
				h->writable = wr;
				h->reading = rd;
			}
			fi->direct_io = 1;
			break;
		case NODE_SEGMENT:
			/* Immutable, for root too; O_TRUNC with O_RDONLY is a
			 * truncation too (EPERM, like every one). */
			rc = wr ? -EACCES
			     : fi->flags & O_TRUNC ? -EPERM
						   : lfs_segment_get(n->topic, n->base, &h->segment);
			if (rc == 0) {
				lfs_topic_hold(n->topic);
				/* The kernel may send FORGET for the node before
				 * RELEASE of its last file: hold it until then. */
				h->node = n;
				n = NULL;
				h->pt = pt_open(h->node, h->segment, &h->backing_id);
			}
			/* With passthrough, devio.c clears it: the kernel
			 * refuses the pair. */
			fi->keep_cache = 1;
			break;
		default:
			rc = -EISDIR;
		}
	}
	nodes_put(n);
	if (rc < 0) {
		if (h && h->topic)
			release_handle(h);
		else
			free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)h;
	handles_add(h);
	if (fuse_reply_open(req, fi) != 0)
		release_handle(h);
}

int32_t ops_backing_id(uint64_t fh)
{
	const struct handle *h = (const struct handle *)(uintptr_t)fh;
	return h && h->pt == PT_BACKING ? h->backing_id : 0;
}

bool ops_parallel_writes(uint64_t fh)
{
	const struct handle *h = (const struct handle *)(uintptr_t)fh;
	/* Producers serialise on the topic's append lock in the core. */
	return h && h->kind == NODE_TAIL && h->producer && !h->reader;
}

/* At unmount, files may still be open (SIGTERM, umount -l): their held
 * line fragments were acknowledged by write(2), so commit them. */
void ops_release_all(void)
{
	for (;;) {
		pthread_mutex_lock(&handles_mu);
		struct handle *h = handles.next == &handles ? NULL : handles.next;
		pthread_mutex_unlock(&handles_mu);
		if (!h)
			break;
		release_handle(h);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = fh_of(fi);
	(void)ino;
	handle_used(h);
	/* read_mu is held until the handler touches h no more: the reply lets
	 * the kernel finish read(2), and a close(2) then sends a RELEASE that
	 * another worker may run at once; release_handle takes read_mu before
	 * it frees h. */
	pthread_mutex_lock(&h->read_mu);
	if (h->segment) {
		const void *p;
		lfs_segment_use(h->segment); /* p stays mapped until the reply is sent */
		ssize_t n = lfs_segment_peek(h->segment, (uint64_t)off, size, &p);
		struct lfs_segment_stat ss;
		lfs_segment_stat(h->segment, &ss);
		/* A sealed segment is page-cached: a short read before its end
		 * (it stopped at a batch that fails its checksum) would be
		 * taken by the kernel as the end of the file, a silent
		 * truncation. Fail the request instead. */
		if (n >= 0 && (size_t)n < size && (uint64_t)off + (uint64_t)n < ss.bytes)
			n = -EIO;
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, n ? p : NULL, (size_t)n);
		lfs_segment_unuse(h->segment);
		pthread_mutex_unlock(&h->read_mu);
		return;
	}
	if (!h->reader && !h->cursor) {
		pthread_mutex_unlock(&h->read_mu);
		fuse_reply_err(req, EBADF);
		return;
	}
	struct iovec iov[16];
	int cnt;
	ssize_t n = h->reader ? lfs_reader_peek(h->reader, (uint64_t)off, size, iov, 16, &cnt)
			      : lfs_cursor_peek(h->cursor, (uint64_t)off, size, iov, 16, &cnt);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (n == 0)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_iov(req, iov, cnt);
	pthread_mutex_unlock(&h->read_mu);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = fh_of(fi);
	(void)ino;
	(void)off; /* every write appends */
	handle_used(h);
	if (h->cursor && h->writable) {
		int rc = cursor_write(daemon_of(req), h->node, buf, size);
		if (rc < 0)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_write(req, size);
		return;
	}
	if (!h->producer) {
		fuse_reply_err(req, EBADF);
		return;
	}
	atomic_store(&h->writer, fuse_req_ctx(req)->pid);
	ssize_t n = lfs_producer_write(h->producer, buf, size);
	if (n < 0) {
		if (n == -EIO)
			daemon_log(LFS_LOG_ERR, "topic %s: append failed: I/O error",
				   lfs_topic_name(h->topic));
		fuse_reply_err(req, (int)-n);
	} else {
		fuse_reply_write(req, (size_t)n);
	}
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = fh_of(fi);
	(void)ino;
	if (fuse_req_ctx(req)->pid == h->pid)
		atomic_store(&h->closing, true);
	/* FLUSH comes with every close(2) of every copy of the descriptor,
	 * including a forked child's exit: only the writer's own close
	 * commits a held line; otherwise it waits for the writer, fsync or
	 * the last close (release). */
	int rc = h->producer && atomic_load(&h->writer) == fuse_req_ctx(req)->pid
			 ? lfs_producer_flush(h->producer, false)
			 : 0;
	/* A cursor commits what this handle returned, durably, before
	 * close(2) returns; its opener's close lets the next reader in. */
	if (h->cursor)
		rc = lfs_cursor_flush(h->cursor, fuse_req_ctx(req)->pid == h->pid);
	fuse_reply_err(req, -rc);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	release_handle(fh_of(fi));
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct handle *h = fh_of(fi);
	(void)ino;
	(void)datasync;
	int rc = h->producer ? lfs_producer_flush(h->producer, true)
		 : h->cursor ? lfs_cursor_flush(h->cursor, false)
			     : lfs_topic_sync(h->topic);
	fuse_reply_err(req, -rc);
}

/* Only cursors can be created: open(O_CREAT) or touch in TOPIC/cursors/. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	(void)mode; /* a cursor has its topic's owner and mode */
	struct node *p = ops_node_or_reply(req, parent);
	if (!p)
		return;
	int rc = p->kind != NODE_CURSORS ? -EPERM
		 : daemon_of(req)->readonly ? -EROFS
					 : lfs_cursor_create(p->topic, name, fi->flags & O_EXCL);
	struct node *n = NULL;
	if (rc >= 0) {
		n = nodes_get(NODE_CURSOR, p->topic, 0, name);
		rc = n ? 0 : -ENOMEM;
	}
	nodes_put(p);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	int acc = fi->flags & O_ACCMODE;
	bool wr = acc == O_WRONLY || acc == O_RDWR, rd = acc == O_RDONLY || acc == O_RDWR;
	struct handle *h = calloc(1, sizeof(*h));
	if (h)
		pthread_mutex_init(&h->read_mu, NULL);
	struct fuse_entry_param e;
	double timeout;
	memset(&e, 0, sizeof(e));
	rc = h ? lfs_cursor_open(n->topic, n->at, rd, &h->cursor) : -ENOMEM;
	if (rc == 0) {
		h->reading = rd;
		rc = node_stat(daemon_of(req), n, h, &e.attr, &timeout);
	}
	if (rc < 0) {
		if (h && h->cursor)
			lfs_cursor_close(h->cursor);
		free(h);
		nodes_forget(n->ino, 1);
		fuse_reply_err(req, -rc);
		return;
	}
	h->kind = NODE_CURSOR;
	h->ino = n->ino;
	h->pid = fuse_req_ctx(req)->pid;
	h->topic = n->topic;
	lfs_topic_ref(h->topic);
	h->node = nodes_find(n->ino);
	h->writable = wr;
	e.ino = n->ino;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	handles_add(h);
	if (fuse_reply_create(req, &e, fi) != 0) {
		nodes_forget(n->ino, 1);
		release_handle(h);
	}
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	(void)ino;
	if (fstatvfs(lfs_volume_fd(daemon_of(req)->vol), &sv) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_statfs(req, &sv);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	(void)ino;
	(void)mode;
	(void)offset;
	(void)length;
	(void)fi;
	fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops logfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.unlink = op_unlink,
	.create = op_create,
	.mknod = op_mknod,
	.symlink = op_symlink,
	.link = op_link,
	.rename = op_rename,
	.statfs = op_statfs,
	.fallocate = op_fallocate,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
};
