/*
 * Sealed segments through the kernel's FUSE passthrough (Linux 6.9+): an
 * open sealed segment is handed to the kernel as its backing data file, and
 * its reads, splice and mmap then go to that file's page cache without a
 * request to the daemon.
 *
 * Negotiated once, in the INIT reply (devio.c): only when the kernel offers
 * FUSE_PASSTHROUGH, the mount option asks for it (passthrough=on, the
 * default), the daemon has CAP_SYS_ADMIN (the kernel refuses backing files
 * otherwise) and the writeback cache is off (the kernel refuses the pair).
 * Whatever the outcome, it is logged once, and the daemon serves every read
 * itself when passthrough is off.
 *
 * The checksum promise: a segment is handed over only after every batch of
 * it passed its CRC since the volume was opened (lfs_segment_verify); one
 * that fails is served by the daemon, which answers EIO from the bad batch.
 *
 * The kernel keeps one mode per inode: while any file of an inode is open in
 * passthrough, every new open must be passthrough with the same backing
 * file, and while any is open through the page cache, none may be
 * passthrough (it fails such opens with EIO). So the mode is decided per
 * node when it has no open file and kept while it has one, and one backing
 * id serves all of a node's passthrough opens: registered by the first,
 * closed (FUSE_DEV_IOC_BACKING_CLOSE) by the release of the last. The
 * kernel drops a file's mode before it sends RELEASE, so the daemon's counts
 * are never below the kernel's. A file already open keeps its backing file
 * after the id is closed, as it does when retention or rm unlinks the
 * segment: the reader goes on reading, as SPEC.md promises.
 */
#include "daemon.h"
#include "kabi.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Protects the passthrough fields of every node and dev_fd. */
static pthread_mutex_t pt_mu = PTHREAD_MUTEX_INITIALIZER;
static bool wanted = true;    /* the mount option; set before the mount */
static atomic_bool negotiated; /* set once by the INIT reply, before any open */
static atomic_bool usable;    /* negotiated and not refused by the kernel since */
static int dev_fd = -1;       /* the session's /dev/fuse descriptor */

void pt_configure(bool on)
{
	wanted = on;
}

void pt_attach(int fd)
{
	pthread_mutex_lock(&pt_mu);
	dev_fd = fd;
	pthread_mutex_unlock(&pt_mu);
}

void pt_detach(void)
{
	pthread_mutex_lock(&pt_mu);
	dev_fd = -1;
	atomic_store(&usable, false);
	pthread_mutex_unlock(&pt_mu);
}

static bool has_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

void pt_negotiate(const struct kabi_init_in *in, struct kabi_init_out *out)
{
	const char *why = NULL;
	bool offered = (in->flags & KABI_INIT_EXT) && (in->flags2 & KABI_PASSTHROUGH_FLAGS2);
	if (!wanted)
		why = "passthrough=off";
	else if (!offered)
		why = "the kernel does not offer FUSE passthrough (Linux 6.9 or later, "
		      "CONFIG_FUSE_PASSTHROUGH)";
	else if (out->flags & KABI_WRITEBACK_CACHE)
		why = "the writeback cache is on, and the kernel cannot combine it with passthrough";
	else if (!has_sys_admin())
		why = "FUSE passthrough needs CAP_SYS_ADMIN";
	if (why) {
		daemon_log(LFS_LOG_INFO, "sealed segments are read through the daemon: %s", why);
		return;
	}
	out->flags |= KABI_INIT_EXT;
	out->flags2 |= KABI_PASSTHROUGH_FLAGS2;
	/* Backing files on a plain filesystem (stack depth 0); the mount
	 * itself may then be a layer of an overlayfs. A volume on overlayfs
	 * makes the kernel refuse the backing files (ELOOP): reads fall back
	 * to the daemon, and the log says why. */
	out->max_stack_depth = 1;
	atomic_store(&negotiated, true);
	atomic_store(&usable, true);
	daemon_log(LFS_LOG_INFO, "sealed segments are read through FUSE passthrough");
}

/* The kernel refused a backing file for a reason that holds for every
 * segment: stop asking, once. */
static void give_up(int err)
{
	if (atomic_exchange(&usable, false))
		daemon_log(LFS_LOG_WARNING, "FUSE passthrough refused by the kernel (%s): sealed segments are "
			   "read through the daemon from now on",
			   strerror(err));
}

enum pt_mode pt_open(struct node *n, lfs_segment *s, int32_t *backing_id)
{
	*backing_id = 0;
	if (!atomic_load(&negotiated))
		return PT_NONE;
	/* The data file, checked whole (at scan speed, once per segment and
	 * mount; the core remembers), before the lock. */
	int fd = atomic_load(&usable) ? lfs_segment_open_data(s) : -1;

	pthread_mutex_lock(&pt_mu);
	enum pt_mode mode = PT_CACHED;
	if (n->pt_opens > 0) {
		mode = PT_BACKING;
	} else if (n->cached_opens == 0 && fd >= 0 && dev_fd >= 0) {
		struct kabi_backing_map map = {.fd = fd};
		int id = ioctl(dev_fd, KABI_DEV_IOC_BACKING_OPEN, &map);
		if (id > 0) {
			n->backing_id = id;
			mode = PT_BACKING;
		} else if (errno == EPERM || errno == ELOOP || errno == ENOTTY || errno == EINVAL) {
			give_up(errno);
		} else {
			daemon_log(LFS_LOG_WARNING, "topic %s: segment %llu: no FUSE passthrough: %s",
				   lfs_topic_name(n->topic), (unsigned long long)n->base,
				   strerror(errno));
		}
	}
	if (mode == PT_BACKING) {
		n->pt_opens++;
		*backing_id = n->backing_id;
	} else {
		n->cached_opens++;
	}
	pthread_mutex_unlock(&pt_mu);
	/* The kernel holds its own reference to a registered file. */
	if (fd >= 0)
		close(fd);
	/* History is read segment after segment: check the next one while
	 * this one is read (a speed hint; a failure changes nothing). */
	if (mode == PT_BACKING)
		(void)lfs_topic_verify_ahead(n->topic, n->base);
	return mode;
}

void pt_release(struct node *n, enum pt_mode mode)
{
	if (mode == PT_NONE)
		return;
	pthread_mutex_lock(&pt_mu);
	if (mode == PT_CACHED) {
		n->cached_opens--;
	} else if (--n->pt_opens == 0) {
		uint32_t id = (uint32_t)n->backing_id;
		n->backing_id = 0;
		/* After the session ended the kernel has dropped every id. */
		if (dev_fd >= 0 && ioctl(dev_fd, KABI_DEV_IOC_BACKING_CLOSE, &id) < 0)
			daemon_log(LFS_LOG_WARNING, "topic %s: segment %llu: closing its FUSE backing file: %s",
				   lfs_topic_name(n->topic), (unsigned long long)n->base,
				   strerror(errno));
	}
	pthread_mutex_unlock(&pt_mu);
}
