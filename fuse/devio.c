/*
 * Device I/O hooks (libfuse's custom I/O) around /dev/fuse, for what
 * libfuse 3.14 cannot express, written into its replies on their way out:
 *  - INIT: the request size (below, "Request size") and FUSE passthrough
 *    (flags2 bit 37 and max_stack_depth, when passthrough.c accepts the
 *    kernel's offer); every change to the INIT reply is made in rewrite_init;
 *  - OPEN of a sealed segment read through passthrough: FOPEN_PASSTHROUGH
 *    and the backing id, without FOPEN_KEEP_CACHE (the kernel refuses it
 *    with passthrough);
 *  - OPEN of a producer handle: FOPEN_PARALLEL_DIRECT_WRITES, so that the
 *    threads of one process writing one open file with pwrite(2) run in
 *    parallel. Writers that open `tail` themselves run in parallel anyway:
 *    each open file has a kernel inode of its own (nodes.h), and so its own
 *    inode lock, which the kernel takes for every O_APPEND write, every
 *    write past its idea of the file size and every fsync.
 *
 * libfuse's worker thread that reads a request is the one that replies to
 * it, so the request's opcode is remembered per thread. The layouts of what
 * Debian 12's <linux/fuse.h> lacks are kabi.h's.
 */
#include "daemon.h"
#include "kabi.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Thread_local uint32_t cur_opcode;
static _Thread_local uint64_t cur_unique;
/* The INIT request, kept for its reply (one INIT per session, read and
 * answered by one thread). */
static _Thread_local struct kabi_init_in init_in;

/* ---- Request size ----
 *
 * The kernel cuts one write(2)/writev(2) into WRITE requests of at most
 * max_write bytes and max_pages page slots; each buffer of a writev takes
 * at least one slot, and a buffer that is not page-aligned one more than
 * its length suggests. Nothing in a request says that more of the same
 * call follows. libfuse asks for max_write 1 MiB and so 256 pages, which
 * splits an unaligned 1 MiB write, or a writev of 600 one-byte buffers, into
 * several requests, and a write-framed topic would make several records of
 * one call. So the reply to INIT asks for:
 *  - max_write = libfuse's receive buffer less the WRITE headers (the
 *    kernel refuses reads into a smaller buffer), 1 MiB + 4016 with 4 KiB
 *    pages: a record of up to 1 MiB then always arrives in a request
 *    shorter than max_write, and the first request of a larger write is
 *    exactly max_write, more than any write-framed max_record;
 *  - max_pages = enough slots that max_write bytes in IOV_MAX buffers fit
 *    (each buffer spans at most its length / page + 2 pages).
 * The kernel clamps max_pages to fs.fuse.max_pages_limit (256 unless raised;
 * a fixed 256 before Linux 6.13), read when the connection is made: mount
 * raises it first where it can (devio_prepare). Where the slots stay fewer
 * the bound is what a contiguous write(2) surely fits, and a writev of many
 * buffers may still arrive split (logged, docs/DESIGN.md "Large writes"). */
#define MAX_PAGES_LIMIT "/proc/sys/fs/fuse/max_pages_limit"
#define RECORD_MAX_CAP (1ull << 20)

static unsigned page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (unsigned)p : 4096;
}

/* libfuse 3's receive buffer: 256 pages and a 4 KiB header area. */
static size_t libfuse_bufsize(void)
{
	return 256 * (size_t)page_size() + 4096;
}

static size_t want_max_write(void)
{
	return libfuse_bufsize() - sizeof(struct fuse_in_header) - sizeof(struct fuse_write_in);
}

static unsigned want_pages(void)
{
	unsigned n = (unsigned)(want_max_write() / page_size()) + 2 * IOV_MAX + 2;
	return n > 65535 ? 65535 : n;
}

static unsigned prepared_slots; /* set by devio_prepare, before the session runs */
static bool init_max_pages;     /* the kernel offered FUSE_MAX_PAGES */
static size_t init_buflen;      /* libfuse's receive buffer, seen at INIT */

static int read_limit(int fd, unsigned *out)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *end;
	unsigned long v = strtoul(buf, &end, 10);
	if (end == buf || v == 0 || v > 65535)
		return -1;
	*out = (unsigned)v;
	return 0;
}

unsigned devio_prepare(void)
{
	unsigned want = want_pages(), limit = 256;
	int fd = open(MAX_PAGES_LIMIT, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		fd = open(MAX_PAGES_LIMIT, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		prepared_slots = limit; /* the fixed limit before Linux 6.13 */
		return prepared_slots;
	}
	if (read_limit(fd, &limit) < 0) {
		daemon_log(LFS_LOG_INFO, "cannot read " MAX_PAGES_LIMIT "; assuming 256");
		limit = 256;
	} else if (limit < want) {
		char v[16];
		int n = snprintf(v, sizeof(v), "%u\n", want);
		if (pwrite(fd, v, (size_t)n, 0) == n) {
			daemon_log(LFS_LOG_INFO, "raised fs.fuse.max_pages_limit from %u to %u, so that one "
				   "write(2) or writev(2) of up to 1 MiB is one request", limit, want);
			limit = want;
		}
	}
	close(fd);
	prepared_slots = limit < want ? limit : want;
	return prepared_slots;
}

uint64_t devio_write_record_max(unsigned slots)
{
	/* A contiguous write of (slots - 1) pages fits slots slots at any
	 * alignment, and the first request of a longer one holds more. */
	uint64_t w = (uint64_t)(slots - 1) * page_size();
	return w < RECORD_MAX_CAP ? w : RECORD_MAX_CAP;
}

static void init_request_size(lfs_volume *vol, struct kabi_init_out *arg)
{
	unsigned slots = init_max_pages ? prepared_slots : 32; /* FUSE_DEFAULT_MAX_PAGES_PER_REQ */
	if (init_max_pages && (arg->flags & KABI_MAX_PAGES) && init_buflen >= libfuse_bufsize()) {
		arg->max_pages = (uint16_t)want_pages();
		arg->max_write = (uint32_t)want_max_write();
	} else if (init_max_pages) {
		slots = arg->max_pages; /* libfuse's own request, unchanged */
	}
	uint64_t w = devio_write_record_max(slots);
	lfs_volume_set_write_record_max(vol, w);
	if (slots < want_pages())
		daemon_log(LFS_LOG_INFO, "one write request carries at most %u pages: write-framed records "
			   "are at most %llu bytes, and a writev(2) whose buffers span more "
			   "than %u pages may become several records (raise "
			   "fs.fuse.max_pages_limit to %u; docs/DESIGN.md)",
			   slots, (unsigned long long)w, slots, want_pages());
}

/* Every change the daemon makes to libfuse's INIT reply. */
static void rewrite_init(lfs_volume *vol, const struct kabi_init_in *in, struct kabi_init_out *out)
{
	init_request_size(vol, out);
	pt_negotiate(in, out);
}

static void rewrite_open(struct kabi_open_out *arg)
{
	int32_t id = ops_backing_id(arg->fh);
	if (id > 0) {
		arg->open_flags = (arg->open_flags & ~KABI_FOPEN_KEEP_CACHE) | KABI_FOPEN_PASSTHROUGH;
		arg->backing_id = id;
	} else if (ops_parallel_writes(arg->fh)) {
		arg->open_flags |= FOPEN_PARALLEL_DIRECT_WRITES;
	}
}

static ssize_t dev_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	ssize_t n = read(fd, buf, len);
	if (n >= (ssize_t)sizeof(struct fuse_in_header)) {
		const struct fuse_in_header *in = buf;
		cur_opcode = in->opcode;
		cur_unique = in->unique;
		if (in->opcode == FUSE_INIT) {
			/* Older kernels send a shorter argument: the rest
			 * reads as zero (no flags2). */
			size_t arg = (size_t)n - sizeof(*in);
			memset(&init_in, 0, sizeof(init_in));
			memcpy(&init_in, (const char *)buf + sizeof(*in),
			       arg < sizeof(init_in) ? arg : sizeof(init_in));
			if (!(init_in.flags & KABI_INIT_EXT))
				init_in.flags2 = 0;
			init_max_pages = (init_in.flags & KABI_MAX_PAGES) != 0;
			init_buflen = len;
		}
	}
	return n;
}

/* userdata: the session's, the daemon's state. */
static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct daemon *d = userdata;
	if (count == 2 && iov[0].iov_len == sizeof(struct fuse_out_header)) {
		const struct fuse_out_header *out = iov[0].iov_base;
		bool ok = out->unique == cur_unique && out->error == 0;
		/* libfuse answers INIT with the whole 64-byte structure for
		 * protocol 7.23 and later; shorter replies are left alone. */
		if (ok && cur_opcode == FUSE_INIT && iov[1].iov_len == sizeof(struct kabi_init_out))
			rewrite_init(d->vol, &init_in, iov[1].iov_base);
		else if (ok && cur_opcode == FUSE_OPEN &&
			 iov[1].iov_len == sizeof(struct kabi_open_out))
			rewrite_open(iov[1].iov_base);
	}
	return writev(fd, iov, count);
}

int devio_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {.read = dev_read, .writev = dev_writev};
	int fd = fuse_session_fd(se);
	int rc = fuse_session_custom_io(se, &io, fd);
	if (rc == 0)
		pt_attach(fd);
	return rc;
}
