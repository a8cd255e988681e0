/*
 * Device I/O hooks (libfuse's custom I/O) around /dev/fuse, for what
 * libfuse 3.14 cannot express, written into its replies on their way out:
 *  - INIT: FUSE passthrough (flags2 bit 37 and max_stack_depth), when
 *    passthrough.c accepts the kernel's offer; every change to the INIT
 *    reply is made in rewrite_init;
 *  - OPEN of a sealed segment read through passthrough: FOPEN_PASSTHROUGH
 *    and the backing id, without FOPEN_KEEP_CACHE (the kernel refuses it
 *    with passthrough);
 *  - OPEN of a producer handle: FOPEN_PARALLEL_DIRECT_WRITES. Without it the
 *    kernel runs the direct writes of one inode one at a time, so writers of
 *    one topic could never share a group commit. The kernel still
 *    serialises O_APPEND writes and writes that extend its idea of the file
 *    size; writers that open `tail` without O_APPEND (shell `>` rather than
 *    `>>`) run in parallel.
 *
 * libfuse's worker thread that reads a request is the one that replies to
 * it, so the request's opcode is remembered per thread. The layouts are
 * kabi.h's.
 */
#include "daemon.h"
#include "kabi.h"

#include <errno.h>
#include <linux/fuse.h>
#include <string.h>
#include <unistd.h>

static _Thread_local uint32_t cur_opcode;
static _Thread_local uint64_t cur_unique;
/* The INIT request, kept for its reply (one INIT per session, read and
 * answered by one thread). */
static _Thread_local struct kabi_init_in init_in;

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
		}
	}
	return n;
}

/* Every change the daemon makes to libfuse's INIT reply. */
static void rewrite_init(const struct kabi_init_in *in, struct kabi_init_out *out)
{
	pt_negotiate(in, out);
}

static void rewrite_open(struct kabi_open_out *arg)
{
	int32_t id = ops_backing_id(arg->fh);
	if (id > 0) {
		arg->open_flags = (arg->open_flags & ~KABI_FOPEN_KEEP_CACHE) | KABI_FOPEN_PASSTHROUGH;
		arg->backing_id = id;
	} else if (ops_parallel_writes(arg->fh)) {
		arg->open_flags |= FOPEN_PARALLEL_DIRECT_WRITES | FOPEN_STREAM;
	}
}

static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (count == 2 && iov[0].iov_len == sizeof(struct fuse_out_header)) {
		const struct fuse_out_header *out = iov[0].iov_base;
		bool ok = out->unique == cur_unique && out->error == 0;
		/* libfuse answers INIT with the whole 64-byte structure for
		 * protocol 7.23 and later; shorter replies are left alone. */
		if (ok && cur_opcode == FUSE_INIT && iov[1].iov_len == sizeof(struct kabi_init_out))
			rewrite_init(&init_in, iov[1].iov_base);
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
