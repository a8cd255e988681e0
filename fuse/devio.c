/*
 * Device I/O hooks (libfuse's custom I/O) around /dev/fuse, for the one
 * thing libfuse 3.14 cannot express: FOPEN_PARALLEL_DIRECT_WRITES in the
 * reply to OPEN. Without it the kernel runs the direct writes of one inode
 * one at a time, so writers of one topic could never share a group commit.
 * The kernel still serialises O_APPEND writes and writes that extend its
 * idea of the file size; writers that open `tail` without O_APPEND (shell
 * `>` rather than `>>`) run in parallel.
 *
 * libfuse's worker thread that reads a request is the one that replies to
 * it, so the request's opcode is remembered per thread.
 */
#include "daemon.h"

#include <errno.h>
#include <linux/fuse.h>
#include <unistd.h>

static _Thread_local uint32_t cur_opcode;
static _Thread_local uint64_t cur_unique;

static ssize_t dev_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	ssize_t n = read(fd, buf, len);
	if (n >= (ssize_t)sizeof(struct fuse_in_header)) {
		const struct fuse_in_header *in = buf;
		cur_opcode = in->opcode;
		cur_unique = in->unique;
	}
	return n;
}

static ssize_t dev_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (count == 2 && cur_opcode == FUSE_OPEN &&
	    iov[0].iov_len == sizeof(struct fuse_out_header) &&
	    iov[1].iov_len == sizeof(struct fuse_open_out)) {
		const struct fuse_out_header *out = iov[0].iov_base;
		struct fuse_open_out *arg = iov[1].iov_base;
		if (out->unique == cur_unique && out->error == 0 && ops_parallel_writes(arg->fh))
			arg->open_flags |= FOPEN_PARALLEL_DIRECT_WRITES | FOPEN_STREAM;
	}
	return writev(fd, iov, count);
}

int devio_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {.read = dev_read, .writev = dev_writev};
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
