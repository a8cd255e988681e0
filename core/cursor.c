/*
 * Consumer cursors: named, durable read positions of a topic.
 *
 * The store is one file per topic (LFS_CURSOR_FILE in the topic directory,
 * format.h and docs/FORMAT.md): a pair of slots per cursor. A commit writes
 * the slot that does not hold the newest state, then fdatasyncs: one
 * pwrite and one flush, and a crash in the middle leaves the previous
 * commit in the other slot. Creating and deleting write a whole pair.
 *
 * A cursor has at most one reading handle. The handle records how far into
 * its view (an lfs_reader from the committed offset) reads have returned
 * bytes; a commit turns that byte count into the offset of the record after
 * the last whole one returned (lfs_reader_offset_at). Commits happen at
 * flush (close(2)), at close, and from the volume's ticker at least every
 * second while the handle stays open.
 *
 * Locks: store->mu protects the records, the file and each record's
 * reading-handle pointer; a handle's mu protects its reader and its
 * consumed count (taken under store->mu by commits, alone by reads).
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

/* Background commit period of an open reading handle: with the ticker's
 * granularity, a position reached is durable within a second. */
#define COMMIT_EVERY_NS 500000000ull

/* Kept small (the name apart): a mount builds one per cursor of every
 * topic, and fresh memory costs a page fault per 4 KiB touched. */
struct rec {
	struct lfs_cursor_found c; /* name, state and pair */
	unsigned opens;     /* handles open on it */
	lfs_cursor *reader; /* the reading handle, or NULL */
};

struct lfs_cursor_store {
	pthread_mutex_t mu;
	int fd;              /* -1 until the file exists (or read-only) */
	struct rec **recs;   /* sorted by name */
	size_t n, cap;
	uint64_t npairs;     /* pairs the file holds */
	uint64_t *free;      /* zeroed pairs to reuse */
	size_t nfree, freecap;
	unsigned readers;    /* open reading handles */
};

struct lfs_cursor {
	lfs_topic *t;
	struct rec *rec;
	lfs_reader *reader; /* NULL for a handle that does not read */
	pthread_mutex_t mu;
	uint64_t consumed;       /* bytes of the view returned so far (under mu) */
	uint64_t last_commit_ns; /* under the store's mu */
	atomic_bool flushed;     /* its opener closed it and it has not read since */
};

/* ---- the store file ---- */

static ssize_t find(struct lfs_cursor_store *st, const char *name)
{
	size_t lo = 0, hi = st->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->recs[mid]->c.name, name);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(ssize_t)lo - 1;
}

/* The store file, through the volume's one way of opening files (no link
 * followed, nothing but a regular file): a refusal is -EUCLEAN. */
static int open_store(int tfd, int flags)
{
	int fd = lfs_open_file(tfd, LFS_CURSOR_FILE, flags);
	return fd < 0 && lfs_refusal(fd) ? -EUCLEAN : fd;
}

static int ensure_file(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	if (st->fd >= 0)
		return 0;
	if (t->vol->readonly)
		return -EROFS;
	int rc = lfs_topic_files_enter(t);
	if (rc < 0)
		return rc;
	int fd = open_store(t->dirfd, O_RDWR | O_CREAT);
	/* The file's name must survive a crash as its first cursor does. */
	rc = fd < 0 ? fd : lfs_fsync_dir(t->dirfd);
	lfs_topic_files_exit(t);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	st->fd = fd;
	return 0;
}

static int write_sync(int fd, const void *buf, size_t len, uint64_t off)
{
	int rc = lfs_pwrite_full(fd, buf, len, off);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	return rc;
}

/* Durably replaces the record's state by s (seq one higher): the slot that
 * does not hold the current state is written. */
static void to_slot(const struct lfs_cursor_found *c, struct lfs_cursor_slot *s)
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

static int commit_slot(lfs_topic *t, struct rec *r, const struct lfs_cursor_found *s)
{
	unsigned char buf[LFS_CURSOR_SLOT_SIZE];
	struct lfs_cursor_found n = *s;
	struct lfs_cursor_slot slot;
	n.seq = r->c.seq + 1;
	to_slot(&n, &slot);
	lfs_cursor_slot_encode(&slot, buf);
	int rc = ensure_file(t); /* an idle topic's store is closed (files.c) */
	if (rc == 0)
		rc = write_sync(t->cursors->fd, buf, sizeof(buf),
			    r->c.pair * LFS_CURSOR_PAIR_SIZE + (n.seq & 1) * LFS_CURSOR_SLOT_SIZE);
	if (rc < 0) {
		lfs_log(t->vol, LFS_LOG_ERR, "topic %s: cursor %s: commit failed: %s", t->name, r->c.name,
			strerror(-rc));
		return rc;
	}
	r->c = n;
	return 0;
}

static uint64_t first_offset(lfs_topic *t)
{
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	return ts.first_offset;
}

/* ---- the check shared by mount and fsck ---- */

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
		to_slot(&fl->v[i], &slot);
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
	int fd = open_store(tfd, O_RDONLY);
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

/* ---- loading ---- */

static void log_problem(void *ctx, const struct lfs_problem *p)
{
	lfs_topic *t = ctx;
	lfs_log(t->vol, LFS_LOG_WARNING, "topic %s: %s%s", t->name, p->message, p->repaired ? " (repaired)" : "");
}

static int push_free(struct lfs_cursor_store *st, uint64_t pair)
{
	if (lfs_array_reserve(&st->free, st->nfree, &st->freecap, sizeof(*st->free), 16) < 0)
		return -ENOMEM;
	st->free[st->nfree++] = pair;
	return 0;
}

void lfs_cursors_free(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->recs[i]->c.name);
		free(st->recs[i]);
	}
	free(st->recs);
	free(st->free);
	if (st->fd >= 0)
		close(st->fd);
	pthread_mutex_destroy(&st->mu);
	free(st);
	t->cursors = NULL;
}

int lfs_cursors_load(lfs_topic *t)
{
	struct lfs_cursor_store *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->mu, NULL);
	st->fd = -1;
	t->cursors = st;

	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	struct lfs_cursor_found *f = NULL;
	size_t n = 0;
	bool repaired;
	int rc = lfs_cursor_store_check(t->dirfd, t->name, ts.first_offset, ts.next_offset,
					!t->vol->readonly, log_problem, t, &f, &n, &repaired);
	if (rc < 0)
		goto fail;
	st->recs = calloc(n ? n : 1, sizeof(*st->recs));
	rc = st->recs ? 0 : -ENOMEM;
	uint64_t npairs = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct rec *r = calloc(1, sizeof(*r));
		if (!r) {
			rc = -ENOMEM;
			break;
		}
		r->c = f[i];
		f[i].name = NULL; /* the record's now */
		st->recs[st->n++] = r;
		if (f[i].pair + 1 > npairs)
			npairs = f[i].pair + 1;
	}
	st->cap = n ? n : 1;
	if (rc < 0)
		goto fail;
	if (!t->vol->readonly) {
		int fd = open_store(t->dirfd, O_RDWR);
		if (fd >= 0) {
			struct stat sb;
			if (fstat(fd, &sb) < 0) {
				rc = -errno;
				close(fd);
				goto fail;
			}
			st->fd = fd;
			if ((uint64_t)sb.st_size / LFS_CURSOR_PAIR_SIZE > npairs)
				npairs = (uint64_t)sb.st_size / LFS_CURSOR_PAIR_SIZE;
		} else if (fd != -ENOENT && fd != -EUCLEAN) {
			rc = fd;
			goto fail;
		}
	}
	st->npairs = npairs;
	/* Pairs no cursor uses are free (the check found them zero). */
	unsigned char *used = calloc(npairs ? npairs : 1, 1);
	if (!used) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < st->n; i++)
		used[st->recs[i]->c.pair] = 1;
	for (uint64_t i = npairs; i-- > 0 && rc == 0;)
		if (!used[i])
			rc = push_free(st, i);
	free(used);
	if (rc < 0)
		goto fail;
	lfs_cursor_found_free(f, n);
	return 0;
fail:
	lfs_cursor_found_free(f, n);
	lfs_cursors_free(t);
	return rc;
}

/* ---- operations by name ---- */

int lfs_cursor_create(lfs_topic *t, const char *name, bool excl)
{
	struct lfs_cursor_store *st = t->cursors;
	int rc = lfs_topic_name_check(name);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&st->mu);
	ssize_t i = find(st, name);
	if (i >= 0) {
		rc = excl ? -EEXIST : 1;
		goto out;
	}
	if (t->vol->readonly) {
		rc = -EROFS;
		goto out;
	}
	if (lfs_array_reserve(&st->recs, st->n, &st->cap, sizeof(*st->recs), 16) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	struct rec *r = calloc(1, sizeof(*r));
	char *dup = strdup(name);
	rc = r && dup ? ensure_file(t) : -ENOMEM;
	if (rc < 0) {
		free(r);
		free(dup);
		goto out;
	}
	r->c.pair = st->nfree ? st->free[st->nfree - 1] : st->npairs;
	r->c.name = dup;
	r->c.seq = 1;
	r->c.offset = first_offset(t);
	r->c.committed_at = lfs_volume_now(t->vol);
	unsigned char buf[LFS_CURSOR_PAIR_SIZE] = {0};
	struct lfs_cursor_slot slot;
	to_slot(&r->c, &slot);
	lfs_cursor_slot_encode(&slot, buf + LFS_CURSOR_SLOT_SIZE);
	rc = write_sync(st->fd, buf, sizeof(buf), r->c.pair * LFS_CURSOR_PAIR_SIZE);
	if (rc < 0) {
		free(dup);
		free(r);
		goto out;
	}
	if (st->nfree)
		st->nfree--;
	else
		st->npairs++;
	size_t at = (size_t)(-i - 1);
	memmove(st->recs + at + 1, st->recs + at, (st->n - at) * sizeof(*st->recs));
	st->recs[at] = r;
	st->n++;
	lfs_log(t->vol, LFS_LOG_INFO, "topic %s: cursor %s created at offset %llu", t->name, name,
		(unsigned long long)r->c.offset);
out:
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int lfs_cursor_delete(lfs_topic *t, const char *name)
{
	struct lfs_cursor_store *st = t->cursors;
	pthread_mutex_lock(&st->mu);
	ssize_t i = find(st, name);
	int rc = 0;
	if (i < 0) {
		rc = -ENOENT;
	} else if (st->recs[i]->opens) {
		rc = -EBUSY;
	} else if (t->vol->readonly) {
		rc = -EROFS;
	} else {
		struct rec *r = st->recs[i];
		unsigned char zero[LFS_CURSOR_PAIR_SIZE] = {0};
		rc = ensure_file(t); /* an idle topic's store is closed (files.c) */
		if (rc == 0)
			rc = push_free(st, r->c.pair); /* room first: nothing to undo after the write */
		if (rc == 0) {
			rc = write_sync(st->fd, zero, sizeof(zero), r->c.pair * LFS_CURSOR_PAIR_SIZE);
			if (rc < 0)
				st->nfree--;
		}
		if (rc == 0) {
			memmove(st->recs + i, st->recs + i + 1,
				(st->n - (size_t)i - 1) * sizeof(*st->recs));
			st->n--;
			free(r->c.name);
			free(r);
		}
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int lfs_cursor_list(lfs_topic *t, char ***names, size_t *count)
{
	struct lfs_cursor_store *st = t->cursors;
	pthread_mutex_lock(&st->mu);
	char **v = calloc(st->n + 1, sizeof(*v));
	int rc = v ? 0 : -ENOMEM;
	size_t n = 0;
	for (; rc == 0 && n < st->n; n++)
		if (!(v[n] = strdup(st->recs[n]->c.name)))
			rc = -ENOMEM;
	pthread_mutex_unlock(&st->mu);
	if (rc < 0) {
		lfs_names_free(v, n);
		return rc;
	}
	*names = v;
	*count = n;
	return 0;
}

int lfs_cursor_stat(lfs_topic *t, const char *name, struct lfs_cursor_info *out)
{
	struct lfs_cursor_store *st = t->cursors;
	pthread_mutex_lock(&st->mu);
	ssize_t i = find(st, name);
	int rc = 0;
	if (i < 0) {
		rc = -ENOENT;
	} else {
		struct rec *r = st->recs[i];
		struct lfs_topic_stat ts;
		lfs_topic_stat(t, &ts);
		memset(out, 0, sizeof(*out));
		out->offset = r->c.offset;
		out->committed_at = r->c.committed_at;
		out->skipped = r->c.skipped;
		out->explicit_commit = r->c.flags & LFS_CURSOR_EXPLICIT;
		out->reading = r->reader != NULL;
		out->lag = ts.next_offset > r->c.offset ? ts.next_offset - r->c.offset : 0;
		struct lfs_start start = {.kind = LFS_START_AT_OR_AFTER, .value = r->c.offset};
		lfs_reader *rd;
		if (out->lag && lfs_reader_open(t, &start, &rd) == 0) {
			out->backlog = lfs_reader_size(rd);
			lfs_reader_close(rd);
		}
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* The position text names: 0 and *offset, or -EINVAL. */
static int parse_position(lfs_topic *t, const char *text, uint64_t now_ns, uint64_t *offset)
{
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	if (!strcmp(text, "begin")) {
		*offset = ts.first_offset;
		return 0;
	}
	if (!strcmp(text, "end")) {
		*offset = ts.next_offset;
		return 0;
	}
	struct lfs_start start;
	const char *p = text[0] == '@' ? text + 1 : text;
	int rc = lfs_start_parse(p, now_ns, &start);
	if (rc < 0)
		return -EINVAL;
	/* A bare text is an offset only: "-5m" or a time needs its '@'. */
	if (p == text && start.kind != LFS_START_OFFSET)
		return -EINVAL;
	if (start.kind == LFS_START_OFFSET) {
		if (start.value > ts.next_offset)
			return -EINVAL;
		*offset = start.value < ts.first_offset ? ts.first_offset : start.value;
		return 0;
	}
	lfs_reader *r;
	rc = lfs_reader_open(t, &start, &r);
	if (rc < 0)
		return rc == -ENOENT ? -EINVAL : rc;
	*offset = lfs_reader_start_offset(r);
	lfs_reader_close(r);
	return 0;
}

int lfs_cursor_seek(lfs_topic *t, const char *name, const char *text, uint64_t now_ns)
{
	struct lfs_cursor_store *st = t->cursors;
	pthread_mutex_lock(&st->mu);
	ssize_t i = find(st, name);
	int rc = 0;
	uint64_t off = 0;
	if (i < 0)
		rc = -ENOENT;
	else if (st->recs[i]->reader)
		rc = -EBUSY;
	else if (t->vol->readonly)
		rc = -EROFS;
	else
		rc = parse_position(t, text, now_ns, &off);
	if (rc == 0) {
		struct rec *r = st->recs[i];
		struct lfs_cursor_found s = r->c;
		s.offset = off;
		s.committed_at = lfs_volume_now(t->vol);
		rc = commit_slot(t, r, &s);
		if (rc == 0)
			lfs_log(t->vol, LFS_LOG_INFO, "topic %s: cursor %s set to offset %llu", t->name, name,
				(unsigned long long)off);
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int lfs_cursor_set_explicit(lfs_topic *t, const char *name, bool explicit_commit)
{
	struct lfs_cursor_store *st = t->cursors;
	pthread_mutex_lock(&st->mu);
	ssize_t i = find(st, name);
	int rc = 0;
	if (i < 0) {
		rc = -ENOENT;
	} else if (t->vol->readonly) {
		rc = -EROFS;
	} else {
		struct rec *r = st->recs[i];
		struct lfs_cursor_found s = r->c;
		s.flags = explicit_commit ? s.flags | LFS_CURSOR_EXPLICIT
					  : s.flags & ~LFS_CURSOR_EXPLICIT;
		if (s.flags != r->c.flags)
			rc = commit_slot(t, r, &s);
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---- handles ---- */

/* Commits what handle c returned (store mu held). A handle that another
 * took over, a non-reading handle and explicit mode commit nothing. */
static int commit_handle(lfs_cursor *c, uint64_t now_ns)
{
	lfs_topic *t = c->t;
	struct rec *r = c->rec;
	if (!c->reader || r->reader != c || (r->c.flags & LFS_CURSOR_EXPLICIT) || t->vol->readonly)
		return 0;
	uint64_t off;
	pthread_mutex_lock(&c->mu);
	int rc = lfs_reader_offset_at(c->reader, c->consumed, &off);
	pthread_mutex_unlock(&c->mu);
	if (rc < 0)
		return rc;
	c->last_commit_ns = now_ns;
	if (off == r->c.offset)
		return 0;
	struct lfs_cursor_found s = r->c;
	s.offset = off;
	s.committed_at = now_ns;
	return commit_slot(t, r, &s);
}

int lfs_cursor_open(lfs_topic *t, const char *name, bool read, lfs_cursor **out)
{
	struct lfs_cursor_store *st = t->cursors;
	lfs_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->t = t;
	pthread_mutex_lock(&st->mu);
	ssize_t i = find(st, name);
	int rc = 0;
	if (i < 0) {
		rc = -ENOENT;
		goto out;
	}
	struct rec *r = st->recs[i];
	if (read && r->reader) {
		if (!atomic_load(&r->reader->flushed)) {
			rc = -EBUSY;
			goto out;
		}
		/* Closed by its opener, its release still on the way: the new
		 * reader takes over (the old one commits nothing more). */
		r->reader = NULL;
		st->readers--;
	}
	if (read) {
		struct lfs_start start = {.kind = LFS_START_AT_OR_AFTER, .value = r->c.offset};
		rc = lfs_reader_open(t, &start, &c->reader);
		if (rc < 0)
			goto out;
		uint64_t from = lfs_reader_start_offset(c->reader);
		if (from > r->c.offset) {
			uint64_t lost = from - r->c.offset;
			lfs_log(t->vol, LFS_LOG_WARNING,
				"topic %s: cursor %s: %llu records (offsets %llu to %llu) were deleted "
				"before it read them: it resumes at offset %llu",
				t->name, name, (unsigned long long)lost,
				(unsigned long long)r->c.offset, (unsigned long long)from - 1,
				(unsigned long long)from);
			struct lfs_cursor_found s = r->c;
			s.offset = from;
			s.skipped += lost;
			s.committed_at = lfs_volume_now(t->vol);
			if (t->vol->readonly)
				r->c = s;
			else
				rc = commit_slot(t, r, &s);
			if (rc < 0) {
				lfs_reader_close(c->reader);
				goto out;
			}
		}
		r->reader = c;
		st->readers++;
		c->last_commit_ns = lfs_volume_now(t->vol);
	}
	r->opens++;
	c->rec = r;
out:
	pthread_mutex_unlock(&st->mu);
	if (rc < 0) {
		pthread_mutex_destroy(&c->mu);
		free(c);
		return rc;
	}
	lfs_topic_ref(t);
	lfs_topic_hold(t);
	*out = c;
	return 0;
}

uint64_t lfs_cursor_size(lfs_cursor *c)
{
	return c->reader ? lfs_reader_size(c->reader) : 0;
}

static void consumed_to(lfs_cursor *c, uint64_t off, ssize_t n)
{
	if (n > 0 && off + (uint64_t)n > c->consumed)
		c->consumed = off + (uint64_t)n;
	atomic_store(&c->flushed, false);
}

ssize_t lfs_cursor_peek(lfs_cursor *c, uint64_t off, size_t len, struct iovec *iov, int max,
			int *niov)
{
	if (!c->reader)
		return -EBADF;
	pthread_mutex_lock(&c->mu);
	ssize_t n = lfs_reader_peek(c->reader, off, len, iov, max, niov);
	consumed_to(c, off, n);
	pthread_mutex_unlock(&c->mu);
	return n;
}

ssize_t lfs_cursor_read(lfs_cursor *c, void *buf, size_t len, uint64_t off)
{
	if (!c->reader)
		return -EBADF;
	pthread_mutex_lock(&c->mu);
	ssize_t n = lfs_reader_read(c->reader, buf, len, off);
	consumed_to(c, off, n);
	pthread_mutex_unlock(&c->mu);
	return n;
}

int lfs_cursor_flush(lfs_cursor *c, bool hand_over)
{
	struct lfs_cursor_store *st = c->t->cursors;
	pthread_mutex_lock(&st->mu);
	int rc = commit_handle(c, lfs_volume_now(c->t->vol));
	pthread_mutex_unlock(&st->mu);
	if (hand_over && c->reader)
		atomic_store(&c->flushed, true);
	return rc;
}

int lfs_cursor_close(lfs_cursor *c)
{
	if (!c)
		return 0;
	lfs_topic *t = c->t;
	struct lfs_cursor_store *st = t->cursors;
	pthread_mutex_lock(&st->mu);
	int rc = commit_handle(c, lfs_volume_now(c->t->vol));
	if (c->rec->reader == c) {
		c->rec->reader = NULL;
		st->readers--;
	}
	c->rec->opens--;
	pthread_mutex_unlock(&st->mu);
	lfs_reader_close(c->reader);
	pthread_mutex_destroy(&c->mu);
	free(c);
	lfs_topic_release(t);
	lfs_topic_put(t);
	return rc;
}

void lfs_cursors_tick(lfs_topic *t, uint64_t now_ns)
{
	struct lfs_cursor_store *st = t->cursors;
	if (!st || t->vol->readonly)
		return;
	pthread_mutex_lock(&st->mu);
	for (size_t i = 0; st->readers && i < st->n; i++) {
		lfs_cursor *c = st->recs[i]->reader;
		if (c && now_ns > c->last_commit_ns && now_ns - c->last_commit_ns >= COMMIT_EVERY_NS)
			commit_handle(c, now_ns); /* a failure is logged; retried next tick */
	}
	pthread_mutex_unlock(&st->mu);
}

bool lfs_cursors_release(lfs_topic *t)
{
	struct lfs_cursor_store *st = t->cursors;
	if (!st)
		return true;
	if (pthread_mutex_trylock(&st->mu) != 0)
		return false;
	if (st->fd >= 0) {
		close(st->fd);
		st->fd = -1;
	}
	pthread_mutex_unlock(&st->mu);
	return true;
}
