/*
 * The few pieces of the FUSE kernel ABI that the daemon needs and that
 * Debian 12's <linux/fuse.h> (protocol 7.38) lacks: passthrough (protocol
 * 7.40, Linux 6.9). Written from the kernel's documented interface
 * (include/uapi/linux/fuse.h, Documentation/filesystems/fuse-passthrough.rst);
 * the names carry a KABI_ prefix so that a newer system header cannot clash.
 *
 * Everything here is little-endian wire layout shared with the kernel; the
 * static assertions pin sizes and offsets.
 */
#ifndef LFS_FUSE_KABI_H
#define LFS_FUSE_KABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* INIT flags. Bits 32..63 travel in flags2, shifted down by 32, and only
 * when FUSE_INIT_EXT is set in flags (request and reply alike). */
#define KABI_INIT_EXT (1u << 30)
#define KABI_WRITEBACK_CACHE (1u << 16)
#define KABI_MAX_PAGES (1u << 22)
/* FUSE_PASSTHROUGH, bit 37: the kernel offers it in the INIT request when
 * built with CONFIG_FUSE_PASSTHROUGH; the server accepts it in the reply,
 * together with a max_stack_depth of 1 or 2, and without writeback cache. */
#define KABI_PASSTHROUGH_FLAGS2 (1u << (37 - 32))
/* The kernel's FILESYSTEM_MAX_STACK_DEPTH. */
#define KABI_MAX_STACK_DEPTH 2

/* The INIT request's argument (protocol 7.36 and later). */
struct kabi_init_in {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint32_t flags2;
	uint32_t unused[11];
};

/* The INIT reply's argument. max_stack_depth is new in 7.40, in what older
 * headers call unused space: the stack depth of the backing files' own
 * filesystem must be below it, and the FUSE mount's stack depth becomes it. */
struct kabi_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint32_t unused[6];
};

/* FOPEN_PASSTHROUGH in fuse_open_out.open_flags: reads, writes, splice and
 * mmap of this open file go to the backing file named by backing_id. The
 * kernel refuses (EIO at open) any other open flag with it but DIRECT_IO,
 * PARALLEL_DIRECT_WRITES and NOFLUSH: not KEEP_CACHE. */
#define KABI_FOPEN_PASSTHROUGH (1u << 7)
#define KABI_FOPEN_KEEP_CACHE (1u << 1)

/* The OPEN reply's argument: backing_id sits where older headers have
 * padding. */
struct kabi_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

/* FUSE_DEV_IOC_BACKING_OPEN takes a descriptor of the backing file and
 * returns a backing id (> 0), or fails: EPERM without CAP_SYS_ADMIN in the
 * initial user namespace or when passthrough was not negotiated, ELOOP when
 * the backing file's filesystem is stacked too deep. FUSE_DEV_IOC_BACKING_CLOSE
 * drops the id; files already open on it keep their backing file. */
struct kabi_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define KABI_DEV_IOC_MAGIC 229
#define KABI_DEV_IOC_BACKING_OPEN _IOW(KABI_DEV_IOC_MAGIC, 1, struct kabi_backing_map)
#define KABI_DEV_IOC_BACKING_CLOSE _IOW(KABI_DEV_IOC_MAGIC, 2, uint32_t)

_Static_assert(sizeof(struct kabi_init_in) == 64, "fuse_init_in is 64 bytes");
_Static_assert(offsetof(struct kabi_init_in, flags2) == 16, "fuse_init_in.flags2");
_Static_assert(sizeof(struct kabi_init_out) == 64, "fuse_init_out is 64 bytes");
_Static_assert(offsetof(struct kabi_init_out, max_pages) == 28, "fuse_init_out.max_pages");
_Static_assert(offsetof(struct kabi_init_out, flags2) == 32, "fuse_init_out.flags2");
_Static_assert(offsetof(struct kabi_init_out, max_stack_depth) == 36,
	       "fuse_init_out.max_stack_depth");
_Static_assert(sizeof(struct kabi_open_out) == 16, "fuse_open_out is 16 bytes");
_Static_assert(offsetof(struct kabi_open_out, backing_id) == 12, "fuse_open_out.backing_id");
_Static_assert(sizeof(struct kabi_backing_map) == 16, "fuse_backing_map is 16 bytes");

#endif
