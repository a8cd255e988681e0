/*
 * Producers: a writer handle. In line framing each write's complete lines
 * become records and an unterminated fragment is held until the next write,
 * fsync or close; in write framing each write is one record.
 *
 * A line longer than max_record is never committed, not even in part. The
 * kernel may split one write(2) into several requests, and a request that
 * pushes the held fragment past max_record fails after the earlier requests
 * were acknowledged (the writer sees a short count), so the fragment is
 * dropped, and the handle discards through the end of that line: a writer
 * that retries the rest of its buffer must not see the rest of the line
 * committed as a record of its own (docs/DESIGN.md, "Large writes").
 *
 * The memory held fragments take is bounded for the whole volume
 * (lfs_open_opts.held_max): a write whose fragment would take the total
 * past it fails with ENOBUFS and appends nothing; a fragment's buffer is
 * given back once it is committed (beyond a small one kept per handle).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct lfs_producer {
	lfs_mutex mu; /* threads may share one handle */
	lfs_topic *t;
	char *frag;
	size_t frag_len, frag_cap;
	/* Inside a line longer than max_record whose first part was held and
	 * dropped: every byte through its '\n' is refused (EMSGSIZE). Ends at
	 * that '\n' and at fsync. Protected by mu, like frag. */
	bool discarding;
};

int lfs_producer_open(lfs_topic *t, lfs_producer **out)
{
	if (t->vol->readonly)
		return -EROFS;
	lfs_producer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	lfs_mutex_init(&p->mu);
	p->t = t;
	lfs_topic_ref(t);
	lfs_topic_hold(t);
	*out = p;
	return 0;
}

/* A committed fragment's buffer up to this size stays with the handle (the
 * common short fragment costs no malloc per write); larger ones go back. */
#define FRAG_KEEP 4096

/* A fragment buffer past FRAG_KEEP is a mapping of its own, not heap: the
 * allocator keeps freed heap memory (its arenas, its mmap threshold that
 * grows with each large block freed), so 3000 handles' 1 MiB fragments
 * left the daemon at 3 GB after they closed (mount_held_rss.sh). A mapping
 * goes back to the system when the fragment does. Capacities past
 * FRAG_KEEP are whole pages (they double from 256). */
static char *frag_alloc(char *old, size_t len, size_t old_cap, size_t cap)
{
	if (cap <= FRAG_KEEP)
		return realloc(old, cap);
	void *n;
	if (old_cap > FRAG_KEEP) {
		n = mremap(old, old_cap, cap, MREMAP_MAYMOVE);
		return n == MAP_FAILED ? NULL : n;
	}
	n = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (n == MAP_FAILED)
		return NULL;
	if (len)
		memcpy(n, old, len);
	free(old);
	return n;
}

static void frag_free(char *frag, size_t cap)
{
	if (cap > FRAG_KEEP)
		munmap(frag, cap);
	else
		free(frag);
}

/* Makes the fragment buffer hold at least want bytes, charging the growth
 * to the volume's budget: -ENOBUFS when it would pass held_max. */
static int frag_reserve(lfs_producer *p, size_t want)
{
	if (want <= p->frag_cap)
		return 0;
	lfs_volume *v = p->t->vol;
	size_t cap = p->frag_cap ? p->frag_cap : 256;
	while (cap < want)
		cap *= 2;
	uint64_t delta = cap - p->frag_cap;
	uint64_t now = atomic_fetch_add(&v->held_bytes, delta) + delta;
	if (now > v->held_max) {
		atomic_fetch_sub(&v->held_bytes, delta);
		return -ENOBUFS;
	}
	char *n = frag_alloc(p->frag, p->frag_len, p->frag_cap, cap);
	if (!n) {
		atomic_fetch_sub(&v->held_bytes, delta);
		return -ENOMEM;
	}
	p->frag = n;
	p->frag_cap = cap;
	return 0;
}

/* The fragment was committed or dropped: a large buffer goes back. */
static void frag_release(lfs_producer *p, bool all)
{
	if (p->frag_len || (!all && p->frag_cap <= FRAG_KEEP))
		return;
	atomic_fetch_sub(&p->t->vol->held_bytes, p->frag_cap);
	frag_free(p->frag, p->frag_cap);
	p->frag = NULL;
	p->frag_cap = 0;
}

static ssize_t producer_write(lfs_producer *p, const void *buf, size_t len)
{
	struct lfs_settings st;
	int rc;

	if (len == 0)
		return 0;
	lfs_topic_settings(p->t, &st);
	if (st.framing == LFS_FRAMING_WRITE) {
		struct iovec iov = {(void *)buf, len};
		rc = lfs_topic_append_as(p->t, &st, LFS_FRAMING_WRITE, &iov, 1, NULL);
		return rc < 0 ? rc : (ssize_t)len;
	}
	const char *b = buf;
	if (p->discarding) {
		/* The write that holds the line's end fails too: a write either
		 * appends all its complete lines or none. */
		if (memchr(b, '\n', len))
			p->discarding = false;
		return -EMSGSIZE;
	}
	const char *first = memchr(b, '\n', len);
	const char *nl = first ? memrchr(b, '\n', len) : NULL;
	size_t head = nl ? (size_t)(nl - b) + 1 : 0, tail = len - head;
	/* The line that continues the held fragment, with its '\n' (or the one
	 * it will get): too long, the fragment goes with the write. */
	size_t joined = p->frag_len + (first ? (size_t)(first - b) + 1 : len + 1);
	if (joined > st.max_record) {
		if (p->frag_len && !first)
			p->discarding = true;
		p->frag_len = 0;
		frag_release(p, false);
		return -EMSGSIZE;
	}
	/* A too-long line of this write's own: the write fails, nothing held
	 * changes. */
	if (head && tail + 1 > st.max_record && tail)
		return -EMSGSIZE;
	/* Room for what this write leaves held, before anything is appended:
	 * a write over the budget appends nothing. */
	if (tail) {
		rc = frag_reserve(p, head ? tail : p->frag_len + tail);
		if (rc < 0)
			return rc;
	}
	if (head) {
		struct iovec iov[2] = {{p->frag, p->frag_len}, {(void *)b, head}};
		int skip = p->frag_len ? 0 : 1;
		rc = lfs_topic_append_as(p->t, &st, LFS_FRAMING_LINE, iov + skip, 2 - skip, NULL);
		if (rc < 0)
			return rc;
		p->frag_len = 0;
	}
	if (tail) {
		memcpy(p->frag + p->frag_len, b + head, tail);
		p->frag_len += tail;
	} else {
		frag_release(p, false);
	}
	return (ssize_t)len;
}

ssize_t lfs_producer_write(lfs_producer *p, const void *buf, size_t len)
{
	lfs_mutex_lock(&p->mu);
	ssize_t n = producer_write(p, buf, len);
	lfs_mutex_unlock(&p->mu);
	return n;
}

int lfs_producer_flush(lfs_producer *p, bool sync)
{
	lfs_mutex_lock(&p->mu);
	p->discarding = false; /* fsync and close end a line */
	if (p->frag_len) {
		struct iovec iov[2] = {{p->frag, p->frag_len}, {(void *)"\n", 1}};
		int rc = lfs_topic_append(p->t, LFS_FRAMING_LINE, iov, 2, NULL);
		if (rc < 0) {
			lfs_mutex_unlock(&p->mu);
			return rc;
		}
		p->frag_len = 0;
		frag_release(p, false);
	}
	lfs_mutex_unlock(&p->mu);
	return sync ? lfs_topic_sync(p->t) : 0;
}

int lfs_producer_close(lfs_producer *p)
{
	if (!p)
		return 0;
	int rc = lfs_producer_flush(p, false);
	p->frag_len = 0; /* a fragment the flush could not commit is lost */
	frag_release(p, true);
	lfs_topic_release(p->t);
	lfs_topic_put(p->t);
	lfs_mutex_destroy(&p->mu);
	free(p);
	return rc;
}
