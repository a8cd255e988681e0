/*
 * A volume directory made from a fuzz input, shared by the targets over
 * the daemon's load path (fuzz_volume.c) and fsck's walk (fuzz_fsck.c).
 * Included after fuzz_util.h.
 *
 * Input layout:
 *   byte 0    flags (FV_*): the volume's state, checksum fix-ups (so that
 *             mutations reach past the CRCs), the default framing
 *   then      sections, each: one kind byte, a 2-byte little-endian
 *             length, that many bytes (a section running past the input's
 *             end is cut there)
 * A kind byte's low 3 bits say what the section is, bit 3 which topic it
 * belongs to ("a" or "b"):
 *   0  VOLUME/summary
 *   1  topics/T/topic.conf (with FV_FIX_CONF, "crc=..." is appended)
 *   2  a segment's index; its base offset is read from the header (bytes
 *      16..23, kept below 2^62) when the section is that long, else 0
 *   3  a segment's data, the segment of the topic's last index section
 *      (base 0 before any)
 *   4  topics/T/cursors
 *   5  VOLUME/state, raw
 *   6  a file named by the section's first byte (0-255 as "junkN") in the
 *      topic's directory; 7 the same in topics/
 * Topic "a" always exists, "b" when a section names it; a topic without a
 * topic.conf section gets a valid one (the caller's uid and gid, 0700,
 * framing by FV_WRITE). The superblock is mkfs's.
 */
#ifndef FUZZ_VOL_H
#define FUZZ_VOL_H

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FV_DIRTY 1    /* state says not cleanly unmounted */
#define FV_FIX_SUM 2  /* summary: topic identities, lengths and CRCs made right */
#define FV_FIX_IDX 4  /* index: header, entry, payload and seal CRCs */
#define FV_FIX_CONF 8 /* topic.conf: its crc line appended */
#define FV_WRITE 16   /* default topic.conf frames by write */
/* Bits 32, 64, 128 are the target's own. */

#define FV_MAX_SECTIONS 64
#define FV_VOL "vol"

struct fv_section {
	unsigned kind, topic;
	const uint8_t *p;
	size_t len;
	uint64_t base; /* segments */
	uint8_t *fixed; /* a fixed-up copy, or NULL */
};

struct fv_input {
	unsigned flags;
	struct fv_section s[FV_MAX_SECTIONS];
	size_t n;
	bool topic_b;
};

static const char *const fv_topic_names[2] = {"a", "b"};

static void fv_parse(const uint8_t *data, size_t size, struct fv_input *in)
{
	memset(in, 0, sizeof(*in));
	if (size == 0)
		return;
	in->flags = data[0];
	size_t pos = 1;
	uint64_t last_base[2] = {0, 0};
	while (pos < size && in->n < FV_MAX_SECTIONS) {
		struct fv_section *s = &in->s[in->n];
		s->kind = data[pos] & 7;
		s->topic = (data[pos] >> 3) & 1;
		size_t len = pos + 3 <= size ? (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8 : 0;
		pos = pos + 3 <= size ? pos + 3 : size;
		if (len > size - pos)
			len = size - pos;
		s->p = data + pos;
		s->len = len;
		pos += len;
		if (s->kind == 2) {
			s->base = len >= 24 ? lfs_get64(s->p + 16) & ((1ull << 62) - 1) : 0;
			last_base[s->topic] = s->base;
		} else if (s->kind == 3) {
			s->base = last_base[s->topic];
		}
		if (s->topic && s->kind != 0 && s->kind != 5 && s->kind != 7)
			in->topic_b = true;
		in->n++;
	}
}

/* The data section of the same segment, the last one given. */
static const struct fv_section *fv_data_of(const struct fv_input *in, const struct fv_section *x)
{
	const struct fv_section *d = NULL;
	for (size_t i = 0; i < in->n; i++)
		if (in->s[i].kind == 3 && in->s[i].topic == x->topic && in->s[i].base == x->base)
			d = &in->s[i];
	return d;
}

/* The index checksums, as fuzz_scan.c fixes them. */
static void fv_fix_idx(const struct fv_input *in, struct fv_section *x)
{
	const struct fv_section *d = fv_data_of(in, x);
	uint8_t *f = malloc(x->len + 1);
	if (!f)
		fz_fail("malloc");
	memcpy(f, x->p, x->len);
	if (x->len >= LFS_IDX_HEADER_SIZE)
		lfs_put32(f + 60, lfs_crc32c(0, f, 60));
	for (size_t off = LFS_IDX_HEADER_SIZE; off + LFS_IDX_ENTRY_SIZE <= x->len;
	     off += LFS_IDX_ENTRY_SIZE) {
		uint8_t *e = f + off;
		uint32_t type = lfs_get32(e + 36);
		uint64_t pos = lfs_get64(e + 8);
		uint32_t len = lfs_get32(e + 16);
		if (type == LFS_ENTRY_BATCH && d && pos <= d->len && len <= d->len - pos)
			lfs_put32(e + 32, lfs_crc32c(0, d->p + pos, len));
		if (type == LFS_ENTRY_SEAL)
			lfs_put32(e + 32, lfs_crc32c(0, f + LFS_IDX_HEADER_SIZE, off - LFS_IDX_HEADER_SIZE));
		lfs_put32(e + 44, lfs_crc32c(0, e, 44));
	}
	x->fixed = f;
}

/* The summary's topic identities (of the directories made for this input),
 * body length and checksums. */
static void fv_fix_sum(struct fv_section *x, int topics_fd)
{
	uint8_t *f = malloc(x->len + 1);
	if (!f)
		fz_fail("malloc");
	memcpy(f, x->p, x->len);
	x->fixed = f;
	if (x->len < 32)
		return;
	size_t pos = 32;
	while (x->len - pos >= 4) {
		uint32_t nlen = lfs_get32(f + pos);
		if (nlen == 0 || nlen > LFS_TOPIC_NAME_MAX || x->len - pos - 4 < nlen)
			break;
		char name[LFS_TOPIC_NAME_MAX + 1];
		memcpy(name, f + pos + 4, nlen);
		name[nlen] = 0;
		pos += 4 + nlen;
		if (x->len - pos < 20)
			break;
		int tfd = lfs_topic_name_check(name) == 0 ? lfs_open_dir(topics_fd, name) : -1;
		uint64_t id[2];
		if (tfd >= 0 && lfs_topic_dir_identity(tfd, id) == 0) {
			lfs_put64(f + pos, id[0]);
			lfs_put64(f + pos + 8, id[1]);
		}
		if (tfd >= 0)
			close(tfd);
		uint32_t nsegs = lfs_get32(f + pos + 16);
		pos += 20;
		if ((x->len - pos) / LFS_SUM_SEG_SIZE < nsegs)
			break;
		pos += (size_t)nsegs * LFS_SUM_SEG_SIZE;
	}
	lfs_put64(f + 16, x->len - 32);
	lfs_put32(f + 24, lfs_crc32c(0, f + 32, x->len - 32));
	lfs_put32(f + 28, lfs_crc32c(0, f, 28));
}

static void fv_write_conf(int tfd, const struct fv_section *x, unsigned flags)
{
	if (!x) {
		struct lfs_topic_meta meta;
		struct lfs_settings own;
		memset(&meta, 0, sizeof(meta));
		memset(&own, 0, sizeof(own));
		meta.mode = 0700;
		meta.uid = (uint32_t)getuid();
		meta.gid = (uint32_t)getgid();
		own.framing = flags & FV_WRITE ? LFS_FRAMING_WRITE : LFS_FRAMING_LINE;
		if (lfs_topic_conf_write(tfd, &meta, &own, 1u << LFS_SET_FRAMING) < 0)
			fz_fail("cannot write topic.conf");
		return;
	}
	if (!(flags & FV_FIX_CONF) || memchr(x->p, 0, x->len)) {
		fz_put(tfd, LFS_TOPIC_CONF, x->p, x->len);
		return;
	}
	uint8_t *b = malloc(x->len + 16);
	if (!b)
		fz_fail("malloc");
	memcpy(b, x->p, x->len);
	int n = snprintf((char *)b + x->len, 16, "crc=%08x\n", lfs_crc32c(0, x->p, x->len));
	fz_put(tfd, LFS_TOPIC_CONF, b, x->len + (size_t)n);
	free(b);
}

/* Builds fz_dir()/vol from the input; returns its path (static). */
static const char *fv_build(struct fv_input *in)
{
	static char path[128];
	int dirfd = fz_dir();
	snprintf(path, sizeof(path), "%s/" FV_VOL, fz_path);
	lfs_remove_tree(dirfd, FV_VOL);
	static const uint8_t uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct lfs_mkfs_opts mo = {.uuid = uuid, .segment_size = 4096};
	if (lfs_mkfs(path, &mo, NULL) < 0)
		fz_fail("mkfs failed");
	int vfd = lfs_open_dir(dirfd, FV_VOL);
	int topics_fd = vfd >= 0 ? lfs_open_dir(vfd, LFS_TOPICS_DIR) : -1;
	if (topics_fd < 0)
		fz_fail("cannot open the volume");
	if (in->flags & FV_DIRTY && lfs_state_write(vfd, LFS_STATE_DIRTY) < 0)
		fz_fail("cannot write the state");
	int tfd[2] = {-1, -1};
	for (unsigned t = 0; t < (in->topic_b ? 2u : 1u); t++) {
		if (mkdirat(topics_fd, fv_topic_names[t], 0700) < 0)
			fz_fail("mkdir");
		tfd[t] = lfs_open_dir(topics_fd, fv_topic_names[t]);
		if (tfd[t] < 0)
			fz_fail("cannot open a topic directory");
	}
	const struct fv_section *conf[2] = {NULL, NULL};
	for (size_t i = 0; i < in->n; i++) {
		struct fv_section *x = &in->s[i];
		char name[32];
		int fd = tfd[x->topic];
		const uint8_t *p = x->p;
		switch (x->kind) {
		case 0:
			if (in->flags & FV_FIX_SUM) {
				fv_fix_sum(x, topics_fd);
				p = x->fixed;
			}
			fz_put(vfd, LFS_SUMMARY_FILE, p, x->len);
			break;
		case 1:
			conf[x->topic] = x;
			break;
		case 2:
			if (in->flags & FV_FIX_IDX) {
				fv_fix_idx(in, x);
				p = x->fixed;
			}
			lfs_seg_name(x->base, "idx", name);
			fz_put(fd, name, p, x->len);
			break;
		case 3:
			lfs_seg_name(x->base, "log", name);
			fz_put(fd, name, p, x->len);
			break;
		case 4:
			fz_put(fd, LFS_CURSOR_FILE, p, x->len);
			break;
		case 5:
			fz_put(vfd, LFS_STATE_FILE, p, x->len);
			break;
		case 6:
		case 7:
			snprintf(name, sizeof(name), "junk%u", x->len ? p[0] : 0);
			fz_put(x->kind == 6 ? fd : topics_fd, name, p, x->len);
			break;
		}
	}
	for (unsigned t = 0; t < 2; t++)
		if (tfd[t] >= 0) {
			fv_write_conf(tfd[t], conf[t], in->flags);
			close(tfd[t]);
		}
	close(topics_fd);
	close(vfd);
	return path;
}

static void fv_free(struct fv_input *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->s[i].fixed);
	lfs_remove_tree(fz_dir(), FV_VOL);
}

#endif
