/*
 * Fuzz target (libFuzzer) for the producer's framing (core/producer.c)
 * over the append path and the readers: random sequences of writes,
 * flushes and closes on two handles of one topic, against a model of what
 * docs/DESIGN.md and SPEC.md say each should append. `make fuzz` builds it
 * with clang -fsanitize=fuzzer,address,undefined;
 * tests/tools/fuzz_replay_producer.c builds it with the project's compiler
 * and replays tests/fuzz/corpus-producer and tests/fuzz/regressions-producer
 * in `make check`.
 *
 * Input layout:
 *   byte 0   settings: 1 framing=write; bits 1-2 max_record 8, 32, 200 or
 *            the default (1M); 8 segment_size=4096 (else the default, so
 *            rolls come with the small one); 16 sync=always
 *   then     operations, each a byte: bits 0-1 what, bit 2 which handle,
 *            bit 3 flush with sync
 *     0  write: a length byte L, then L bytes (a byte whose value is 10
 *        modulo 16 is written as '\n', so that lines are common)
 *     1  flush (fsync(2))
 *     2  close the handle (the next use opens a new one)
 *     3  a long write: a length byte L and a fill byte: L * 16 bytes of
 *        it, with '\n' at the end if the fill byte is odd
 *
 * The model (per handle: the held fragment, whether it discards through the
 * end of a line that was too long):
 *  - line framing: a write appends the complete lines it ends (the held
 *    fragment joined to its first line), one record each, and holds what
 *    follows its last '\n'; a line (with its '\n') longer than max_record
 *    fails the write with EMSGSIZE and appends nothing; a line that grows
 *    past max_record across writes drops the fragment, and the handle
 *    refuses (EMSGSIZE) everything through that line's '\n'; a flush or
 *    close commits the fragment with a '\n' added;
 *  - write framing: each non-empty write is one record, EMSGSIZE past
 *    max_record.
 * Invariants: each call returns what the model says; afterwards the
 * topic's offsets, its byte stream from the first record and from record
 * k, and its records one by one are exactly the model's.
 */
#include "internal.h"

#define FZ_NAME "fuzz_producer"
#include "fuzz_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_WRITE 1
#define FZ_SMALL_SEGMENTS 8
#define FZ_SYNC_ALWAYS 16

static lfs_volume *fz_vol;

static uint64_t fz_clock(void *ctx)
{
	(void)ctx;
	return 1800000000000000000ull;
}

static void fz_quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static lfs_volume *fz_volume(void)
{
	if (fz_vol)
		return fz_vol;
	char path[128];
	fz_dir();
	snprintf(path, sizeof(path), "%s/vol", fz_path);
	if (lfs_mkfs(path, &(struct lfs_mkfs_opts){.force = true}, NULL) < 0)
		fz_fail("mkfs failed");
	struct lfs_open_opts o = {.flags = LFS_OPEN_DEFER_TICKER, .log = fz_quiet, .clock = fz_clock};
	if (lfs_volume_open(path, &o, &fz_vol, NULL) < 0)
		fz_fail("cannot open the volume");
	return fz_vol;
}

/* The model's log: records' bytes back to back, and where each ends. */
struct fz_log {
	unsigned char *bytes;
	size_t len, cap;
	size_t *ends;
	size_t n, ncap;
};

static void fz_log_add(struct fz_log *l, const void *p, size_t len, const void *q, size_t qlen)
{
	if (l->len + len + qlen > l->cap) {
		l->cap = (l->len + len + qlen) * 2 + 64;
		l->bytes = realloc(l->bytes, l->cap);
	}
	if (l->n == l->ncap) {
		l->ncap = l->ncap * 2 + 16;
		l->ends = realloc(l->ends, l->ncap * sizeof(*l->ends));
	}
	if (!l->bytes || !l->ends)
		fz_fail("malloc");
	if (len)
		memcpy(l->bytes + l->len, p, len);
	if (qlen)
		memcpy(l->bytes + l->len + len, q, qlen);
	l->len += len + qlen;
	l->ends[l->n++] = l->len;
}

struct fz_handle {
	lfs_producer *p;
	unsigned char *frag;
	size_t frag_len;
	bool discarding;
};

struct fz_model {
	bool write;
	uint64_t max;
	struct fz_log log;
	struct fz_handle h[2];
};

/* What a write should return, applying it to the model. */
static ssize_t fz_model_write(struct fz_model *m, struct fz_handle *h, const unsigned char *b,
			      size_t len)
{
	if (len == 0)
		return 0;
	if (m->write) {
		if (len > m->max)
			return -EMSGSIZE;
		fz_log_add(&m->log, b, len, NULL, 0);
		return (ssize_t)len;
	}
	const unsigned char *first = memchr(b, '\n', len);
	if (h->discarding) {
		if (first)
			h->discarding = false;
		return -EMSGSIZE;
	}
	if (!first) {
		if (h->frag_len + len + 1 > m->max) {
			h->discarding = h->frag_len > 0;
			h->frag_len = 0;
			return -EMSGSIZE;
		}
		h->frag = realloc(h->frag, h->frag_len + len);
		if (!h->frag)
			fz_fail("malloc");
		memcpy(h->frag + h->frag_len, b, len);
		h->frag_len += len;
		return (ssize_t)len;
	}
	if (h->frag_len + (size_t)(first - b) + 1 > m->max) {
		h->frag_len = 0;
		return -EMSGSIZE;
	}
	/* Every other complete line, and what would be held, must fit. */
	const unsigned char *p = first + 1, *end = b + len;
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p) + 1;
		if (l > m->max)
			return -EMSGSIZE;
		if (!nl)
			break;
		p = nl + 1;
	}
	/* The lines: the fragment and the first one, then the others. */
	fz_log_add(&m->log, h->frag, h->frag_len, b, (size_t)(first - b) + 1);
	h->frag_len = 0;
	p = first + 1;
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			h->frag = realloc(h->frag, (size_t)(end - p));
			if (!h->frag)
				fz_fail("malloc");
			memcpy(h->frag, p, (size_t)(end - p));
			h->frag_len = (size_t)(end - p);
			break;
		}
		fz_log_add(&m->log, p, (size_t)(nl - p) + 1, NULL, 0);
		p = nl + 1;
	}
	return (ssize_t)len;
}

static void fz_model_flush(struct fz_model *m, struct fz_handle *h)
{
	h->discarding = false;
	if (h->frag_len)
		fz_log_add(&m->log, h->frag, h->frag_len, "\n", 1);
	h->frag_len = 0;
}

static lfs_producer *fz_handle(lfs_topic *t, struct fz_handle *h)
{
	if (!h->p && lfs_producer_open(t, &h->p) < 0)
		fz_fail("cannot open a producer");
	return h->p;
}

static void fz_close(struct fz_model *m, struct fz_handle *h)
{
	if (!h->p)
		return;
	fz_model_flush(m, h);
	if (lfs_producer_close(h->p) < 0)
		fz_fail("a close failed");
	h->p = NULL;
}

static void fz_verify(lfs_topic *t, const struct fz_log *l)
{
	static const unsigned char none[1];
	const unsigned char *bytes = l->bytes ? l->bytes : none;
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	if (ts.first_offset != 0 || ts.next_offset != l->n || ts.bytes != l->len)
		fz_fail("the topic's offsets or size differ from the model's");
	/* The byte stream from record k, for a few k. */
	size_t ks[] = {0, l->n / 2, l->n ? l->n - 1 : 0};
	for (size_t i = 0; i < 3; i++) {
		size_t k = ks[i], from = k ? l->ends[k - 1] : 0;
		struct lfs_start st = {LFS_START_OFFSET, k};
		lfs_reader *r;
		if (lfs_reader_open(t, &st, &r) < 0)
			fz_fail("a reader cannot open at a record");
		if (lfs_reader_size(r) != l->len - from)
			fz_fail("a reader's size differs from the model's");
		unsigned char *buf = malloc(l->len - from + 1);
		if (!buf)
			fz_fail("malloc");
		ssize_t n = lfs_reader_read(r, buf, l->len - from, 0);
		if (n != (ssize_t)(l->len - from) || memcmp(buf, bytes + from, (size_t)n))
			fz_fail("the byte stream differs from the model's");
		free(buf);
		if (i == 0) {
			for (size_t j = 0; j < l->n; j++) {
				struct lfs_record rec;
				size_t a = j ? l->ends[j - 1] : 0;
				if (lfs_reader_next_record(r, &rec) != 1 || rec.offset != j ||
				    rec.len != l->ends[j] - a || memcmp(rec.data, bytes + a, rec.len))
					fz_fail("a record differs from the model's");
			}
			struct lfs_record rec;
			if (lfs_reader_next_record(r, &rec) != 0)
				fz_fail("a record beyond the model's");
		}
		lfs_reader_close(r);
	}
}

static void fz_set(lfs_topic *t, enum lfs_setting_id id, const char *v)
{
	if (lfs_topic_set(t, id, v) < 0)
		fz_fail("cannot set a topic's setting");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	lfs_volume *v = fz_volume();
	struct lfs_topic_meta meta = {.mode = 0700, .uid = (uint32_t)getuid(),
				      .gid = (uint32_t)getgid()};
	lfs_topic *t;
	if (lfs_topic_create(v, "p", &meta, &t) < 0)
		fz_fail("cannot create the topic");
	unsigned flags = data[0];
	static const char *const maxes[4] = {"8", "32", "200", "1048576"};
	struct fz_model m = {.write = flags & FZ_WRITE};
	m.max = (uint64_t)strtoull(maxes[(flags >> 1) & 3], NULL, 10);
	if (m.write)
		fz_set(t, LFS_SET_FRAMING, "write");
	fz_set(t, LFS_SET_MAX_RECORD, maxes[(flags >> 1) & 3]);
	if (flags & FZ_SMALL_SEGMENTS)
		fz_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	if (flags & FZ_SYNC_ALWAYS)
		fz_set(t, LFS_SET_SYNC, "always");

	unsigned char buf[256 * 16 + 1];
	for (size_t pos = 1; pos < size;) {
		unsigned op = data[pos++];
		struct fz_handle *h = &m.h[(op >> 2) & 1];
		size_t len = 0;
		switch (op & 3) {
		case 0:
			len = pos < size ? data[pos++] : 0;
			if (len > size - pos)
				len = size - pos;
			for (size_t i = 0; i < len; i++)
				buf[i] = data[pos + i] % 16 == 10 ? '\n' : data[pos + i];
			pos += len;
			break;
		case 3: {
			size_t l = pos < size ? data[pos++] : 0;
			unsigned char fill = pos < size ? data[pos++] : 'x';
			len = l * 16;
			memset(buf, fill % 16 == 10 ? 'y' : fill, len);
			if ((fill & 1) && len)
				buf[len - 1] = '\n';
			break;
		}
		case 1: {
			if (!h->p)
				break;
			fz_model_flush(&m, h);
			if (lfs_producer_flush(h->p, op & 8) < 0)
				fz_fail("a flush failed");
			continue;
		}
		case 2:
			fz_close(&m, h);
			continue;
		}
		ssize_t want = fz_model_write(&m, h, buf, len);
		ssize_t got = lfs_producer_write(fz_handle(t, h), buf, len);
		if (got != want) {
			fprintf(stderr, "write of %zu bytes: %zd, the model says %zd\n", len, got, want);
			fz_fail("a write returned other than the model says");
		}
	}
	fz_close(&m, &m.h[0]);
	fz_close(&m, &m.h[1]);
	fz_verify(t, &m.log);
	lfs_topic_put(t);
	if (lfs_topic_delete(v, "p") < 0)
		fz_fail("cannot delete the topic");
	free(m.log.bytes);
	free(m.log.ends);
	free(m.h[0].frag);
	free(m.h[1].frag);
	return 0;
}
