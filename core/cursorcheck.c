/*
 * The check of a topic's cursor store that mount and fsck share
 * (lfs_cursor_store_check): decoding every pair, keeping the valid newest
 * slot of each, and rewriting a store with problems.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The store file, through the volume's one way of opening files (no link
 * followed, nothing but a regular file): a refusal is -EUCLEAN. */
int lfs_cursor_store_open(int tfd, int flags)
{
	int fd = lfs_open_file(tfd, LFS_CURSOR_FILE, flags);
	return fd < 0 && lfs_refusal(fd) ? -EUCLEAN : fd;
}

void lfs_cursor_found_to_slot(const struct lfs_cursor_found *c, struct lfs_cursor_slot *s)
{
	memset(s, 0, sizeof(*s));
	s->seq = c->seq;
	s->offset = c->offset;
	s->committed_at = c->committed_at;
	s->skipped = c->skipped;
	s->flags = c->flags;
	snprintf(s->name, sizeof(s->name), "%s", c->name);
}

void lfs_cursor_found_free(struct lfs_cursor_found *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		free(f[i].name);
	free(f);
}


struct found_list {
	struct lfs_cursor_found *v;
	size_t n, cap;
};

struct pending {
	struct lfs_problem *v;
	size_t n, cap;
};

static int pend(struct pending *p, const char *topic, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pend(struct pending *p, const char *topic, const char *fmt, ...)
{
	if (lfs_array_reserve(&p->v, p->n, &p->cap, sizeof(*p->v), 8) < 0)
		return -ENOMEM;
	struct lfs_problem *q = &p->v[p->n++];
	memset(q, 0, sizeof(*q));
	q->kind = LFS_PROB_CURSOR;
	q->topic = topic;
	q->segment = UINT64_MAX;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->message, sizeof(q->message), fmt, ap);
	va_end(ap);
	return 0;
}

static int cmp_found(const void *a, const void *b)
{
	const struct lfs_cursor_found *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* Decodes whole pairs (the first is pair number `first`) into valid
 * cursors (unsorted) and problems. */
static int decode_pairs(const unsigned char *buf, uint64_t npairs, uint64_t first, const char *topic,
			struct found_list *fl, struct pending *pp)
{
	int rc = 0;
	for (uint64_t k = 0; k < npairs && rc == 0; k++) {
		uint64_t i = first + k;
		const unsigned char *p = buf + k * LFS_CURSOR_PAIR_SIZE;
		struct lfs_cursor_slot s[2];
		int r0 = lfs_cursor_slot_decode(p, &s[0]);
		int r1 = lfs_cursor_slot_decode(p + LFS_CURSOR_SLOT_SIZE, &s[1]);
		if (r0 == -ENOENT && r1 == -ENOENT)
			continue;
		int best = r0 == 0 && (r1 != 0 || s[0].seq > s[1].seq) ? 0 : r1 == 0 ? 1 : -1;
		if (best < 0) {
			rc = pend(pp, topic, "cursor store: entry %llu (byte %llu) is damaged: no cursor "
				  "recoverable from it",
				  (unsigned long long)i, (unsigned long long)(i * LFS_CURSOR_PAIR_SIZE));
			continue;
		}
		if (r0 == -EUCLEAN || r1 == -EUCLEAN)
			rc = pend(pp, topic, "cursor %s: one of its two copies is damaged, the other "
				  "(position %llu) is used",
				  s[best].name, (unsigned long long)s[best].offset);
		if (rc == 0 && lfs_array_reserve(&fl->v, fl->n, &fl->cap, sizeof(*fl->v), 64) < 0)
			return -ENOMEM;
		if (rc == 0) {
			const struct lfs_cursor_slot *b = &s[best];
			char *name = strdup(b->name);
			if (!name)
				return -ENOMEM;
			fl->v[fl->n++] = (struct lfs_cursor_found){.name = name,
								   .seq = b->seq,
								   .offset = b->offset,
								   .committed_at = b->committed_at,
								   .skipped = b->skipped,
								   .flags = b->flags,
								   .pair = i};
		}
	}
	return rc;
}

/* Reads and decodes the store in chunks: a mount reads every topic's store,
 * and one buffer the size of a store of 1000 cursors (512 KiB) per topic
 * cost more in page faults than the decoding. */
#define CHUNK_PAIRS 128
static int decode_store(int fd, const char *topic, struct found_list *fl, struct pending *pp)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return -errno;
	uint64_t len = (uint64_t)sb.st_size, npairs = len / LFS_CURSOR_PAIR_SIZE;
	unsigned char *buf = malloc(CHUNK_PAIRS * LFS_CURSOR_PAIR_SIZE);
	if (!buf)
		return -ENOMEM;
	fl->v = npairs ? malloc(npairs * sizeof(*fl->v)) : NULL;
	fl->cap = fl->v ? npairs : 0;
	int rc = 0;
	for (uint64_t at = 0; at < npairs && rc == 0; at += CHUNK_PAIRS) {
		uint64_t n = npairs - at < CHUNK_PAIRS ? npairs - at : CHUNK_PAIRS;
		rc = lfs_pread_full(fd, buf, n * LFS_CURSOR_PAIR_SIZE, at * LFS_CURSOR_PAIR_SIZE);
		if (rc == -ENODATA)
			rc = -EIO; /* shrunk under us */
		if (rc == 0)
			rc = decode_pairs(buf, n, at, topic, fl, pp);
	}
	free(buf);
	if (rc == 0 && len % LFS_CURSOR_PAIR_SIZE)
		rc = pend(pp, topic, "cursor store: %llu bytes at its end are not a whole entry",
			  (unsigned long long)(len % LFS_CURSOR_PAIR_SIZE));
	return rc;
}

/* The store rewritten from the cursors of fl (sorted), compacted. */
static int rewrite_store(int tfd, struct found_list *fl)
{
	size_t len = fl->n * LFS_CURSOR_PAIR_SIZE;
	unsigned char *buf = calloc(1, len ? len : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < fl->n; i++) {
		struct lfs_cursor_slot slot;
		lfs_cursor_found_to_slot(&fl->v[i], &slot);
		lfs_cursor_slot_encode(&slot, buf + i * LFS_CURSOR_PAIR_SIZE +
						      (slot.seq & 1) * LFS_CURSOR_SLOT_SIZE);
		fl->v[i].pair = i;
	}
	int rc = lfs_write_file_atomic(tfd, LFS_CURSOR_FILE, buf, len);
	free(buf);
	return rc;
}

int lfs_cursor_store_check(int tfd, const char *topic, uint64_t first, uint64_t next, bool repair,
			   lfs_problem_fn fn, void *ctx, struct lfs_cursor_found **out,
			   size_t *count, bool *repaired)
{
	struct found_list fl = {0};
	struct pending pp = {0};
	int rc;

	(void)first; /* below the first retained record is retention's doing,
		      * counted in skipped at the next read: not a problem */
	*repaired = false;
	int fd = lfs_cursor_store_open(tfd, O_RDONLY);
	if (fd == -ENOENT) {
		rc = 0;
		goto done;
	}
	if (fd == -EUCLEAN) {
		rc = pend(&pp, topic, "cursor store '%s' is not a regular file: its cursors are "
			  "ignored",
			  LFS_CURSOR_FILE);
		goto report;
	}
	if (fd < 0)
		return fd;
	rc = decode_store(fd, topic, &fl, &pp);
	close(fd);
	if (rc < 0)
		goto out;
	if (fl.n)
		qsort(fl.v, fl.n, sizeof(*fl.v), cmp_found);
	/* Names are unique: the newest commit of a name wins. */
	size_t k = 0;
	for (size_t i = 0; i < fl.n; i++) {
		if (k && !strcmp(fl.v[k - 1].name, fl.v[i].name)) {
			if (rc == 0)
				rc = pend(&pp, topic,
					  "cursor %s: stored twice, the copy at position %llu is dropped",
					  fl.v[i].name, (unsigned long long)fl.v[i].offset);
			free(fl.v[i].name);
			continue;
		}
		fl.v[k++] = fl.v[i];
	}
	fl.n = k;
	for (size_t i = 0; i < fl.n && rc == 0; i++) {
		struct lfs_cursor_found *s = &fl.v[i];
		if (s->offset > next) {
			rc = pend(&pp, topic, "cursor %s: position %llu is beyond the log's end (%llu): "
				  "set to %llu",
				  s->name, (unsigned long long)s->offset, (unsigned long long)next,
				  (unsigned long long)next);
			s->offset = next;
		}
	}
	if (rc < 0)
		goto out;
report:
	if (pp.n && repair && fd != -EUCLEAN) {
		rc = rewrite_store(tfd, &fl);
		if (rc < 0)
			goto out;
		*repaired = true;
	}
	for (size_t i = 0; i < pp.n; i++) {
		pp.v[i].repaired = *repaired;
		if (fn)
			fn(ctx, &pp.v[i]);
	}
	rc = (int)pp.n;
done:
	if (out) {
		*out = fl.v;
		*count = fl.n;
		fl.v = NULL;
	}
out:
	lfs_cursor_found_free(fl.v, fl.n);
	free(pp.v);
	return rc;
}

