/*
 * The segment summary: what a clean unmount knows of every sealed segment,
 * in one file, so that the next mount need not open each of them (mount
 * time must not grow with the number of sealed segments).
 *
 * Trust rules. The summary is written at a clean close, after every seal
 * and before the state says clean. A sealed segment never changes, so what
 * the summary says of one stays true for as long as the segment exists,
 * after any number of mounts and crashes; retention only removes whole
 * segments from the front, and offsets are never given out twice. So it is
 * used by every open, clean or not, when its checksums hold: for a topic
 * whose directory is the same one (inode and birth time: not a topic
 * deleted and made again under its name), for the segments it names that
 * the directory still holds, from its first one on, in order. Segments
 * sealed since are read from their files. A segment changed in place behind
 * the volume's back is caught when first read (its index must agree, or
 * EIO), and its batches are CRC-checked as reads reach them, as for any
 * sealed segment. fsck.logfs removes the summary with its first repair.
 * Layout: docs/FORMAT.md, "summary".
 */
#include "internal.h"
#include "bisect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lfs_summary {
	unsigned char *buf;
	size_t len;
	struct lfs_sum_topic *topics;
	size_t ntopics;
};

static void seg_encode(unsigned char *p, const lfs_segment *s)
{
	struct lfs_sum_seg e = {.base = s->base,
				.stream_pos = s->stream_pos,
				.size = atomic_load(&s->size),
				.next_offset = atomic_load(&s->next_offset),
				.nentries = atomic_load(&s->nentries),
				.first_ts = s->first_ts,
				.last_ts = atomic_load(&s->last_ts),
				.ctime_ns = s->ctime_ns,
				.framing = s->framing};
	lfs_sum_seg_encode(&e, p);
}

/* Appends to a growing buffer. */
static int put(unsigned char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (n > SIZE_MAX - *len || lfs_array_reserve_n(buf, *len + n, cap, 1, 4096) < 0)
		return -ENOMEM;
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

/* One topic's block: name length, name, segment count, segments (the
 * sealed ones, in order). */
static int put_topic(lfs_topic *t, unsigned char **buf, size_t *len, size_t *cap)
{
	unsigned char w[LFS_SUM_TOPIC_HEAD_MAX];
	size_t nsealed = 0;
	int rc;

	lfs_rwlock_rdlock(&t->segs_lock);
	while (nsealed < t->nsegs && atomic_load(&t->segs[nsealed]->sealed) &&
	       t->segs[nsealed] != t->active)
		nsealed++;
	/* As loaded: an idle topic's directory is not open (files.c). */
	uint64_t id[2] = {t->dir_id[0], t->dir_id[1]};
	rc = put(buf, len, cap, w, lfs_sum_topic_encode(t->name, id, (uint32_t)nsealed, w));
	for (size_t i = 0; i < nsealed && rc == 0; i++) {
		unsigned char e[LFS_SUM_SEG_SIZE];
		seg_encode(e, t->segs[i]);
		rc = put(buf, len, cap, e, sizeof(e));
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

int lfs_summary_write(lfs_volume *v)
{
	size_t len = LFS_SUM_HEADER_SIZE, cap = 4096;
	unsigned char *buf = calloc(1, cap);
	int rc = buf ? 0 : -ENOMEM;

	/* v->topics is sorted by name: so is the summary (readers bisect). */
	for (size_t i = 0; i < v->ntopics && rc == 0; i++)
		rc = put_topic(v->topics[i], &buf, &len, &cap);
	if (rc == 0) {
		lfs_sum_header_encode(buf, len, (uint32_t)v->ntopics);
		rc = lfs_write_file_atomic(v->dirfd, LFS_SUMMARY_FILE, buf, len);
	}
	free(buf);
	return rc;
}

int lfs_summary_parse(unsigned char *buf, size_t len, struct lfs_summary **out)
{
	struct lfs_summary *s = calloc(1, sizeof(*s));
	int rc = 0;

	*out = NULL;
	if (!s) {
		free(buf);
		return -ENOMEM;
	}
	s->buf = buf;
	s->len = len;
	uint32_t ntopics;
	if (lfs_sum_header_decode(buf, len, &ntopics) < 0) {
		rc = -EUCLEAN;
		goto fail;
	}
	s->topics = calloc(ntopics ? ntopics : 1, sizeof(*s->topics));
	if (!s->topics) {
		rc = -ENOMEM;
		goto fail;
	}
	size_t pos = LFS_SUM_HEADER_SIZE;
	for (uint32_t i = 0; i < ntopics; i++) {
		struct lfs_sum_topic *t = &s->topics[i];
		if (lfs_sum_topic_decode(buf, len, &pos, t) < 0)
			break;
		/* lfs_summary_topic bisects: names out of order or repeated
		 * would be missed, one holding a NUL found as a shorter one. */
		if (i > 0 && strcmp(s->topics[i - 1].name, t->name) >= 0)
			break;
		s->ntopics++;
	}
	if (s->ntopics != ntopics || pos != s->len) {
		rc = -EUCLEAN;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	lfs_summary_free(s);
	return rc;
}

int lfs_summary_read(int dirfd, struct lfs_summary **out)
{
	struct stat st;
	unsigned char *buf = NULL;
	int rc;
	int fd = lfs_open_file(dirfd, LFS_SUMMARY_FILE, O_RDONLY);

	*out = NULL;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	/* The size is checked before the allocation, again by the parser. */
	if (st.st_size < LFS_SUM_HEADER_SIZE || (uint64_t)st.st_size > LFS_SUM_MAX) {
		rc = -EUCLEAN;
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = lfs_pread_full(fd, buf, (size_t)st.st_size, 0);
	if (rc < 0) {
		free(buf);
		goto out;
	}
	rc = lfs_summary_parse(buf, (size_t)st.st_size, out);
out:
	close(fd);
	return rc;
}

const struct lfs_sum_topic *lfs_summary_topics(const struct lfs_summary *s, size_t *count)
{
	*count = s->ntopics;
	return s->topics;
}

struct name_key {
	const struct lfs_sum_topic *topics;
	const char *name;
};

static bool name_before(uint64_t i, void *ctx)
{
	const struct name_key *k = ctx;
	return strcmp(k->topics[i].name, k->name) < 0;
}

const struct lfs_sum_topic *lfs_summary_topic(const struct lfs_summary *s, const char *name)
{
	size_t n = s ? s->ntopics : 0;
	if (!n)
		return NULL;
	struct name_key k = {s->topics, name};
	size_t i = lfs_bisect(0, n, name_before, &k);
	return i < n && strcmp(s->topics[i].name, name) == 0 ? &s->topics[i] : NULL;
}

void lfs_summary_free(struct lfs_summary *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s->topics);
	free(s);
}

int lfs_topic_dir_identity(int dirfd, uint64_t id[2])
{
	struct statx stx;
	if (statx(dirfd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &stx) < 0)
		return -errno;
	id[0] = stx.stx_ino;
	id[1] = (stx.stx_mask & STATX_BTIME)
			? (uint64_t)stx.stx_btime.tv_sec * 1000000000ull + stx.stx_btime.tv_nsec
			: 0;
	return 0;
}

int lfs_summary_drop(int dirfd)
{
	if (unlinkat(dirfd, LFS_SUMMARY_FILE, 0) < 0)
		return errno == ENOENT ? 0 : -errno;
	return lfs_fsync_dir(dirfd);
}
