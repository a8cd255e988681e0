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

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUM_MAGIC "LFSSUM01"
#define SUM_HEADER 32
#define SUM_SEG LFS_SUM_SEG_SIZE
#define SUM_MAX (256u << 20) /* far beyond any real volume: a sanity bound */

struct lfs_summary {
	unsigned char *buf;
	size_t len;
	struct lfs_sum_topic *topics;
	size_t ntopics;
};

static void seg_encode(unsigned char *p, const lfs_segment *s)
{
	lfs_put64(p, s->base);
	lfs_put64(p + 8, s->stream_pos);
	lfs_put64(p + 16, atomic_load(&s->size));
	lfs_put64(p + 24, atomic_load(&s->next_offset));
	lfs_put64(p + 32, atomic_load(&s->nentries));
	lfs_put64(p + 40, s->first_ts);
	lfs_put64(p + 48, atomic_load(&s->last_ts));
	lfs_put64(p + 56, s->ctime_ns);
	lfs_put32(p + 64, s->framing);
	lfs_put32(p + 68, 0);
}

void lfs_sum_seg_decode(const unsigned char *p, struct lfs_sum_seg *e)
{
	e->base = lfs_get64(p);
	e->stream_pos = lfs_get64(p + 8);
	e->size = lfs_get64(p + 16);
	e->next_offset = lfs_get64(p + 24);
	e->nentries = lfs_get64(p + 32);
	e->first_ts = lfs_get64(p + 40);
	e->last_ts = lfs_get64(p + 48);
	e->ctime_ns = lfs_get64(p + 56);
	e->framing = lfs_get32(p + 64);
}

/* Appends to a growing buffer. */
static int put(unsigned char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < *len + n)
			c *= 2;
		unsigned char *nb = realloc(*buf, c);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

/* One topic's block: name length, name, segment count, segments (the
 * sealed ones, in order). */
static int put_topic(lfs_topic *t, unsigned char **buf, size_t *len, size_t *cap)
{
	unsigned char w[SUM_SEG];
	size_t nlen = strlen(t->name), nsealed = 0;
	int rc;

	lfs_rwlock_rdlock(&t->segs_lock);
	while (nsealed < t->nsegs && atomic_load(&t->segs[nsealed]->sealed) &&
	       t->segs[nsealed] != t->active)
		nsealed++;
	lfs_put32(w, (uint32_t)nlen);
	rc = put(buf, len, cap, w, 4);
	if (rc == 0)
		rc = put(buf, len, cap, t->name, nlen);
	/* As loaded: an idle topic's directory is not open (files.c). */
	uint64_t id[2] = {t->dir_id[0], t->dir_id[1]};
	lfs_put64(w, id[0]);
	lfs_put64(w + 8, id[1]);
	lfs_put32(w + 16, (uint32_t)nsealed);
	if (rc == 0)
		rc = put(buf, len, cap, w, 20);
	for (size_t i = 0; i < nsealed && rc == 0; i++) {
		seg_encode(w, t->segs[i]);
		rc = put(buf, len, cap, w, SUM_SEG);
	}
	lfs_rwlock_unlock(&t->segs_lock);
	return rc;
}

int lfs_summary_write(lfs_volume *v)
{
	size_t len = SUM_HEADER, cap = 4096;
	unsigned char *buf = calloc(1, cap);
	int rc = buf ? 0 : -ENOMEM;

	/* v->topics is sorted by name: so is the summary (readers bisect). */
	for (size_t i = 0; i < v->ntopics && rc == 0; i++)
		rc = put_topic(v->topics[i], &buf, &len, &cap);
	if (rc == 0) {
		memcpy(buf, SUM_MAGIC, 8);
		lfs_put32(buf + 8, 1);
		lfs_put32(buf + 12, (uint32_t)v->ntopics);
		lfs_put64(buf + 16, len - SUM_HEADER);
		lfs_put32(buf + 24, lfs_crc32c(0, buf + SUM_HEADER, len - SUM_HEADER));
		lfs_put32(buf + 28, lfs_crc32c(0, buf, 28));
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
	if (len < SUM_HEADER || len > SUM_MAX) {
		rc = -EUCLEAN;
		goto fail;
	}
	const unsigned char *b = s->buf;
	uint32_t ntopics = lfs_get32(b + 12);
	if (memcmp(b, SUM_MAGIC, 8) || lfs_get32(b + 8) != 1 ||
	    lfs_get32(b + 28) != lfs_crc32c(0, b, 28) || lfs_get64(b + 16) != s->len - SUM_HEADER ||
	    lfs_get32(b + 24) != lfs_crc32c(0, b + SUM_HEADER, s->len - SUM_HEADER) ||
	    ntopics > s->len / 8) {
		rc = -EUCLEAN;
		goto fail;
	}
	s->topics = calloc(ntopics ? ntopics : 1, sizeof(*s->topics));
	if (!s->topics) {
		rc = -ENOMEM;
		goto fail;
	}
	size_t pos = SUM_HEADER;
	for (uint32_t i = 0; i < ntopics; i++) {
		if (s->len - pos < 4)
			break;
		uint32_t nlen = lfs_get32(b + pos);
		if (nlen == 0 || nlen > LFS_TOPIC_NAME_MAX || s->len - pos - 4 < (uint64_t)nlen ||
		    memchr(b + pos + 4, 0, nlen))
			break;
		struct lfs_sum_topic *t = &s->topics[i];
		memcpy(t->name, b + pos + 4, nlen);
		t->name[nlen] = 0;
		/* lfs_summary_topic bisects: names out of order or repeated
		 * would be missed, one holding a NUL found as a shorter one. */
		if (i > 0 && strcmp(s->topics[i - 1].name, t->name) >= 0)
			break;
		pos += 4 + nlen;
		if (s->len - pos < 20)
			break;
		t->id[0] = lfs_get64(b + pos);
		t->id[1] = lfs_get64(b + pos + 8);
		uint32_t nsegs = lfs_get32(b + pos + 16);
		pos += 20;
		if ((s->len - pos) / SUM_SEG < nsegs)
			break;
		t->nsegs = nsegs;
		t->segs = b + pos;
		pos += (size_t)nsegs * SUM_SEG;
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
	if (st.st_size < SUM_HEADER || (uint64_t)st.st_size > SUM_MAX) {
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

const struct lfs_sum_topic *lfs_summary_topic(const struct lfs_summary *s, const char *name)
{
	size_t lo = 0, hi = s ? s->ntopics : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->topics[mid].name, name);
		if (c == 0)
			return &s->topics[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
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
