/* Readers: byte ranges, growth, start points by offset and by time, peek. */
#include "testutil.h"

#include "internal.h"

struct fix {
	char *vol;
	lfs_volume *v;
	lfs_topic *t;
	struct tu_buf data;   /* the whole stream */
	uint64_t *rec_pos;    /* stream position of each record */
	uint64_t nrec, cap;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	tu_fix_open(&f->vol, &f->v, &f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	tu_fix_close(f->vol, f->v, f->t);
	free(f->data.p);
	free(f->rec_pos);
	free(f);
	return 0;
}

/* Appends one batch of `lines` records (line framing) and remembers where
 * each record starts. Record r is "r<offset>:<padding>\n". */
static void add_batch(struct fix *f, int lines, int pad)
{
	struct tu_buf b = {0};
	for (int i = 0; i < lines; i++) {
		char rec[512];
		uint64_t off = f->nrec;
		int n = snprintf(rec, sizeof(rec), "r%llu:", (unsigned long long)off);
		for (int k = 0; k < pad; k++)
			rec[n++] = (char)('a' + (off + (uint64_t)k) % 26);
		rec[n++] = '\n';
		if (f->nrec == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 256;
			f->rec_pos = realloc(f->rec_pos, f->cap * sizeof(*f->rec_pos));
		}
		f->rec_pos[f->nrec++] = f->data.len + b.len;
		tu_buf_add(&b, rec, (size_t)n);
	}
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(f->t, LFS_FRAMING_LINE, b.p, b.len, &res), 0);
	assert_true(res.first_offset == f->nrec - (uint64_t)lines);
	tu_buf_add(&f->data, b.p, b.len);
	free(b.p);
}

/* ~40 KiB over 4 KiB segments, batches of 1 to 5 lines, 0 to 3 µs of
 * the clock apart (some batches share a timestamp). */
static void build(struct fix *f)
{
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	for (int i = 0; i < 300; i++) {
		add_batch(f, 1 + i % 5, (i * 37) % 60);
		tu_advance_ns((uint64_t)(i % 4) * 1000);
	}
	struct lfs_topic_stat st;
	lfs_topic_stat(f->t, &st);
	assert_true(st.segments > 5);
	assert_true(st.next_offset == f->nrec);
	assert_true(st.bytes == f->data.len);
}

static uint64_t rec_end(struct fix *f, uint64_t o)
{
	return o + 1 < f->nrec ? f->rec_pos[o + 1] : f->data.len;
}

/* Reads [off, off+len) through r and compares with the stream from start. */
static void check_range(lfs_reader *r, const char *stream, size_t stream_len, uint64_t start,
			uint64_t off, size_t len)
{
	char *buf = malloc(len + 1);
	ssize_t n = lfs_reader_read(r, buf, len, off);
	uint64_t avail = stream_len - start;
	size_t want = off >= avail ? 0 : (size_t)(avail - off < len ? avail - off : len);
	assert_int_equal(n, (ssize_t)want);
	if (want)
		assert_memory_equal(buf, stream + start + off, want);
	free(buf);
}

static void test_read_any_range(void **state)
{
	struct fix *f = *state;
	build(f);
	for (int pass = 0; pass < 2; pass++) {
		lfs_reader *r;
		struct lfs_start st = {.kind = LFS_START_FIRST};
		assert_int_equal(lfs_reader_open(f->t, &st, &r), 0);
		assert_true(lfs_reader_start_offset(r) == 0);
		assert_int_equal(lfs_reader_size(r), f->data.len);
		size_t L = f->data.len;
		static const size_t lens[] = {0, 1, 2, 7, 100, 4095, 4096, 4097, 9000, 1 << 20};
		for (uint64_t off = 0; off < L + 10; off += 97)
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
				check_range(r, f->data.p, L, 0, off, lens[k]);
		/* Ranges ending exactly at and straddling every segment end. */
		uint64_t *bases;
		size_t nb;
		assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
		for (size_t k = 1; k < nb; k++) {
			uint64_t b = f->rec_pos[bases[k]];
			for (uint64_t d = 0; d < 4 && d <= b; d++) {
				check_range(r, f->data.p, L, 0, b - d, d);
				check_range(r, f->data.p, L, 0, b - d, 2 * d + 1);
			}
		}
		free(bases);
		/* Backwards, in small steps, as `tail -n` would. */
		for (uint64_t end = L; end > 0;) {
			uint64_t s = end > 1000 ? end - 1000 : 0;
			check_range(r, f->data.p, L, 0, s, (size_t)(end - s));
			end = s;
		}
		check_range(r, f->data.p, L, 0, L, 10);
		check_range(r, f->data.p, L, 0, UINT64_MAX / 2, 10);
		lfs_reader_close(r);
		/* Again with the sealed segments loaded from disk. */
		tu_reopen(f->vol, &f->v, &f->t);
	}
}

static void test_reader_grows(void **state)
{
	struct fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	lfs_reader *r;
	struct lfs_start st = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(f->t, &st, &r), 0);
	char buf[64];
	assert_int_equal(lfs_reader_size(r), 0);
	assert_int_equal(lfs_reader_read(r, buf, sizeof(buf), 0), 0);
	/* Read incrementally while appending across many rolls, as tail -f. */
	uint64_t pos = 0;
	for (int i = 0; i < 400; i++) {
		add_batch(f, 1 + i % 3, 40);
		assert_int_equal(lfs_reader_size(r), f->data.len);
		char *chunk = malloc(f->data.len - pos + 1);
		ssize_t n = lfs_reader_read(r, chunk, f->data.len - pos + 1, pos);
		assert_int_equal(n, (ssize_t)(f->data.len - pos));
		assert_memory_equal(chunk, f->data.p + pos, (size_t)n);
		pos += (uint64_t)n;
		assert_int_equal(lfs_reader_read(r, chunk, 1, pos), 0);
		free(chunk);
	}
	struct lfs_topic_stat ts;
	lfs_topic_stat(f->t, &ts);
	assert_true(ts.segments > 5);
	/* The reader pinned every segment as it appeared. */
	check_range(r, f->data.p, f->data.len, 0, 0, f->data.len);
	lfs_reader_close(r);
}

static void check_at(struct fix *f, uint64_t o)
{
	lfs_reader *r = tu_reader_at(f->t, o);
	assert_true(lfs_reader_start_offset(r) == o);
	uint64_t start = o < f->nrec ? f->rec_pos[o] : f->data.len;
	assert_int_equal(lfs_reader_size(r), f->data.len - start);
	/* The first record, then everything to the end. */
	if (o < f->nrec)
		check_range(r, f->data.p, f->data.len, start, 0, (size_t)(rec_end(f, o) - start));
	check_range(r, f->data.p, f->data.len, start, 0, f->data.len - start + 1);
	lfs_reader_close(r);
}

static void test_open_at_every_offset(void **state)
{
	struct fix *f = *state;
	build(f);
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t o = 0; o <= f->nrec; o++)
			check_at(f, o);
		tu_reopen(f->vol, &f->v, &f->t);
	}
}

static void test_open_at_boundaries(void **state)
{
	struct fix *f = *state;
	build(f);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	assert_true(nb >= 3);
	/* First record, last of each segment, first of the next. */
	check_at(f, 0);
	for (size_t k = 1; k < nb; k++) {
		check_at(f, bases[k] - 1);
		check_at(f, bases[k]);
	}
	struct lfs_topic_stat st;
	lfs_topic_stat(f->t, &st);
	/* The first record of the active segment and one inside it. */
	uint64_t active = st.next_offset;
	for (uint64_t o = 0; o < f->nrec; o++)
		if (o > bases[nb - 1])
			active = o;
	check_at(f, active);
	check_at(f, st.next_offset - 1);

	/* next_offset: empty, and grows with the next append. */
	lfs_reader *r = tu_reader_at(f->t, st.next_offset);
	assert_true(lfs_reader_start_offset(r) == st.next_offset);
	assert_int_equal(lfs_reader_size(r), 0);
	uint64_t old_len = f->data.len;
	for (int i = 0; i < 30; i++) /* across a roll or two */
		add_batch(f, 2, 50);
	assert_int_equal(lfs_reader_size(r), f->data.len - old_len);
	check_range(r, f->data.p, f->data.len, old_len, 0, f->data.len - old_len);
	lfs_reader_close(r);

	/* Beyond next_offset: ENOENT. */
	lfs_topic_stat(f->t, &st);
	struct lfs_start s = {.kind = LFS_START_OFFSET, .value = st.next_offset + 1};
	assert_int_equal(lfs_reader_open(f->t, &s, &r), -ENOENT);
	s.value = UINT64_MAX;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), -ENOENT);

	/* Below the first retained offset: ENOENT. */
	assert_int_equal(lfs_topic_delete_segment(f->t, bases[0]), 0);
	assert_int_equal(lfs_topic_delete_segment(f->t, bases[1]), 0);
	s.value = 0;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), -ENOENT);
	s.value = bases[2] - 1;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), -ENOENT);
	check_at(f, bases[2]);
	/* FIRST now starts at the first retained record. */
	s.kind = LFS_START_FIRST;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_true(lfs_reader_start_offset(r) == bases[2]);
	assert_int_equal(lfs_reader_size(r), f->data.len - f->rec_pos[bases[2]]);
	lfs_reader_close(r);
	/* A bogus start kind. */
	s.kind = (enum lfs_start_kind)42;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), -EINVAL);
	free(bases);
}

static void test_empty_topic_readers(void **state)
{
	struct fix *f = *state;
	lfs_reader *r;
	struct lfs_start s = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_true(lfs_reader_start_offset(r) == 0);
	assert_int_equal(lfs_reader_size(r), 0);
	lfs_reader_close(r);
	r = tu_reader_at(f->t, 0);
	assert_int_equal(lfs_reader_size(r), 0);
	add_batch(f, 1, 3);
	assert_int_equal(lfs_reader_size(r), f->data.len);
	check_range(r, f->data.p, f->data.len, 0, 0, 100);
	lfs_reader_close(r);
	s.kind = LFS_START_OFFSET;
	s.value = 2;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), -ENOENT);
	s.kind = LFS_START_TIME;
	s.value = 0;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_true(lfs_reader_start_offset(r) == 0);
	lfs_reader_close(r);
}

/* The index entries (one per batch) of the whole topic, in order. */
static struct lfs_idx_entry *all_entries(struct fix *f, size_t *count)
{
	uint64_t *bases;
	size_t nb, n = 0;
	struct lfs_idx_entry *all = NULL;
	struct lfs_topic_stat st;
	lfs_topic_stat(f->t, &st);
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	bases = realloc(bases, (nb + 1) * sizeof(*bases));
	/* The active segment's base: the offset after the last sealed one. */
	uint64_t active = st.first_offset;
	for (size_t k = 0; k <= nb; k++) {
		uint64_t base = k < nb ? bases[k] : active;
		char *p = tu_seg_path(f->vol, "app", base, "idx");
		struct lfs_idx_header h;
		struct lfs_idx_entry *e;
		size_t m;
		bool sealed;
		assert_true(tu_idx_load(p, &h, &e, &m, &sealed));
		all = realloc(all, (n + m + 1) * sizeof(*all));
		memcpy(all + n, e, m * sizeof(*e));
		n += m;
		active = m ? e[m - 1].offset + e[m - 1].count : base;
		free(e);
		free(p);
	}
	free(bases);
	*count = n;
	return all;
}

static void check_time(struct fix *f, const struct lfs_idx_entry *e, size_t n, uint64_t ts)
{
	/* Expected: the first batch with a timestamp at or after ts. */
	uint64_t want = f->nrec;
	for (size_t i = 0; i < n; i++)
		if (e[i].ts >= ts) {
			want = e[i].offset;
			break;
		}
	struct lfs_start s = {.kind = LFS_START_TIME, .value = ts};
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	if (lfs_reader_start_offset(r) != want)
		fail_msg("time %llu: start %llu, want %llu", (unsigned long long)ts,
			 (unsigned long long)lfs_reader_start_offset(r), (unsigned long long)want);
	uint64_t start = want < f->nrec ? f->rec_pos[want] : f->data.len;
	assert_int_equal(lfs_reader_size(r), f->data.len - start);
	check_range(r, f->data.p, f->data.len, start, 0, 200);
	lfs_reader_close(r);
}

static void test_open_by_time(void **state)
{
	struct fix *f = *state;
	uint64_t t0 = tu_now();
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	for (int i = 0; i < 150; i++) {
		add_batch(f, 1 + i % 4, 30);
		if (i % 40 == 0)
			tu_advance_ms(2);
	}
	for (int pass = 0; pass < 2; pass++) {
		size_t n;
		struct lfs_idx_entry *e = all_entries(f, &n);
		assert_int_equal(n, 150);
		/* Before all, after all. */
		check_time(f, e, n, 0);
		check_time(f, e, n, t0 - 1);
		check_time(f, e, n, e[n - 1].ts + 1);
		check_time(f, e, n, UINT64_MAX);
		for (size_t i = 0; i < n; i++) {
			/* Exactly a batch's time (all its records share it:
			 * the reader starts at its first record), just before
			 * and just after it. */
			check_time(f, e, n, e[i].ts);
			check_time(f, e, n, e[i].ts - 1);
			check_time(f, e, n, e[i].ts + 1);
			if (i + 1 < n) /* between two batches */
				check_time(f, e, n, e[i].ts + (e[i + 1].ts - e[i].ts) / 2);
		}
		free(e);
		tu_reopen(f->vol, &f->v, &f->t);
	}
	/* After all: empty, and grows with the next append. */
	struct lfs_start s = {.kind = LFS_START_TIME, .value = tu_now() + 1000000000ull};
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_true(lfs_reader_start_offset(r) == f->nrec);
	assert_int_equal(lfs_reader_size(r), 0);
	uint64_t old = f->data.len;
	add_batch(f, 2, 5);
	assert_int_equal(lfs_reader_size(r), f->data.len - old);
	check_range(r, f->data.p, f->data.len, old, 0, 100);
	lfs_reader_close(r);
}

/* Times from lfs_start_parse (ages) resolve like explicit times. */
static void test_open_by_age(void **state)
{
	struct fix *f = *state;
	add_batch(f, 3, 10);
	tu_advance_ms(1100);
	uint64_t mid = f->nrec;
	add_batch(f, 2, 10);
	struct lfs_start s;
	assert_int_equal(lfs_start_parse("-1s", tu_now(), &s), 0);
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_true(lfs_reader_start_offset(r) == mid);
	lfs_reader_close(r);
	assert_int_equal(lfs_start_parse("-1h", tu_now(), &s), 0);
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_true(lfs_reader_start_offset(r) == 0);
	lfs_reader_close(r);
}

static void test_peek_iovecs(void **state)
{
	struct fix *f = *state;
	build(f);
	lfs_reader *r;
	struct lfs_start s = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	struct iovec iov[64];
	int niov = -1;
	/* Everything: one iovec per segment, pointing at the payload. */
	ssize_t n = lfs_reader_peek(r, 0, f->data.len, iov, 64, &niov);
	assert_int_equal(n, (ssize_t)f->data.len);
	struct lfs_topic_stat st;
	lfs_topic_stat(f->t, &st);
	assert_int_equal(niov, (int)st.segments);
	size_t done = 0;
	for (int i = 0; i < niov; i++) {
		assert_true(iov[i].iov_len > 0);
		assert_memory_equal(iov[i].iov_base, f->data.p + done, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	assert_int_equal(done, f->data.len);
	/* At most max iovecs: the count returned is what they describe. */
	for (int max = 1; max <= 3; max++) {
		uint64_t off = 1000;
		n = lfs_reader_peek(r, off, f->data.len, iov, max, &niov);
		assert_int_equal(niov, max);
		done = 0;
		for (int i = 0; i < niov; i++) {
			assert_memory_equal(iov[i].iov_base, f->data.p + off + done, iov[i].iov_len);
			done += iov[i].iov_len;
		}
		assert_int_equal(n, (ssize_t)done);
		assert_true(done < f->data.len - off);
	}
	/* A range inside one segment: one iovec. */
	n = lfs_reader_peek(r, 10, 20, iov, 64, &niov);
	assert_int_equal(n, 20);
	assert_int_equal(niov, 1);
	assert_memory_equal(iov[0].iov_base, f->data.p + 10, 20);
	/* At and past the end: nothing. */
	n = lfs_reader_peek(r, f->data.len, 10, iov, 64, &niov);
	assert_int_equal(n, 0);
	assert_int_equal(niov, 0);
	n = lfs_reader_peek(r, f->data.len + 100, 10, iov, 64, &niov);
	assert_int_equal(n, 0);
	/* Clipped at the end. */
	n = lfs_reader_peek(r, f->data.len - 5, 100, iov, 64, &niov);
	assert_int_equal(n, 5);
	assert_memory_equal(iov[0].iov_base, f->data.p + f->data.len - 5, 5);
	lfs_reader_close(r);
}

/* A reader holds the topic busy until it is closed. */
static void test_reader_holds_topic(void **state)
{
	struct fix *f = *state;
	add_batch(f, 1, 1);
	lfs_reader *r;
	struct lfs_start s = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_int_equal(lfs_topic_delete(f->v, "app"), -EBUSY);
	lfs_reader_close(r);
	lfs_reader_close(NULL);
	/* A failed open does not hold it. */
	s.kind = LFS_START_OFFSET;
	s.value = 99;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), -ENOENT);
	lfs_topic_put(f->t);
	f->t = NULL;
	assert_int_equal(lfs_topic_delete(f->v, "app"), 0);
}

/* A reader opened on an empty topic follows it after its framing changes
 * (which replaces the empty active segment). */
/* A glance (what stat(2) of @N opens to size its view) sees what a reader
 * of the same start sees, and does not keep the topic busy: a delete while
 * one is open succeeds, and the glance stays readable from what it pinned
 * until closed. */
static void test_glance_holds_nothing(void **state)
{
	struct fix *f = *state;
	build(f);
	uint64_t at = f->nrec / 2;
	struct lfs_start s = {.kind = LFS_START_OFFSET, .value = at};
	lfs_reader *r, *g, *g2;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_int_equal(lfs_reader_glance(f->t, &s, &g), 0);
	assert_int_equal(lfs_reader_start_offset(g), at);
	assert_int_equal(lfs_reader_size(g), lfs_reader_size(r));
	assert_int_equal(lfs_reader_size(g), f->data.len - f->rec_pos[at]);
	/* The reader holds the topic; the glance does not. */
	assert_int_equal(lfs_topic_delete(f->v, "app"), -EBUSY);
	lfs_reader_close(r);
	s.value = f->nrec + 1;
	assert_int_equal(lfs_reader_glance(f->t, &s, &g2), -ENOENT);
	assert_int_equal(lfs_topic_delete(f->v, "app"), 0);
	size_t len = f->data.len - f->rec_pos[at];
	char *buf = malloc(len);
	assert_int_equal(lfs_reader_read(g, buf, len, 0), (ssize_t)len);
	assert_memory_equal(buf, f->data.p + f->rec_pos[at], len);
	free(buf);
	lfs_reader_close(g);
	lfs_topic_put(f->t);
	f->t = NULL;
}

static void test_reader_survives_framing_change(void **state)
{
	struct fix *f = *state;
	lfs_reader *r;
	struct lfs_start s = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	tu_set(f->t, LFS_SET_FRAMING, "write");
	tu_append(f->t, LFS_FRAMING_WRITE, "binary", 6);
	assert_int_equal(lfs_reader_size(r), 6);
	char buf[8];
	assert_int_equal(lfs_reader_read(r, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "binary", 6);
	lfs_reader_close(r);
}

/* Write framing: @N is the N-th write, binary data round trips. */
static void test_write_framing_offsets(void **state)
{
	struct fix *f = *state;
	tu_set(f->t, LFS_SET_FRAMING, "write");
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	struct tu_buf all = {0};
	uint64_t pos[200];
	for (int i = 0; i < 200; i++) {
		unsigned char rec[300];
		size_t len = 1 + (size_t)(i * 53) % sizeof(rec);
		for (size_t k = 0; k < len; k++)
			rec[k] = (unsigned char)(i + k * 7); /* includes '\n' and NUL */
		pos[i] = all.len;
		tu_append(f->t, LFS_FRAMING_WRITE, rec, len);
		tu_buf_add(&all, rec, len);
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 200; i++) {
			lfs_reader *r = tu_reader_at(f->t, (uint64_t)i);
			assert_int_equal(lfs_reader_size(r), all.len - pos[i]);
			check_range(r, all.p, all.len, pos[i], 0, 400);
			lfs_reader_close(r);
		}
		tu_reopen(f->vol, &f->v, &f->t);
	}
	free(all.p);
}


/* Records one by one: every record of a line topic over many segments, from
 * the first and from any offset, with its offset, bytes and batch time; the
 * cursor stops at the end and picks up records appended later. */
static void test_next_record_lines(void **state)
{
	struct fix *f = *state;
	build(f);
	for (uint64_t start = 0; start < f->nrec; start += 37) {
		size_t ne;
		struct lfs_idx_entry *e = all_entries(f, &ne);
		lfs_reader *r = tu_reader_at(f->t, start);
		struct lfs_record rec;
		size_t k = 0;
		for (uint64_t o = start; o < f->nrec; o++) {
			assert_int_equal(lfs_reader_next_record(r, &rec), 1);
			assert_true(rec.offset == o);
			assert_int_equal(rec.len, rec_end(f, o) - f->rec_pos[o]);
			assert_memory_equal(rec.data, f->data.p + f->rec_pos[o], rec.len);
			while (e[k].offset + e[k].count <= o)
				assert_true(++k < ne);
			assert_true(rec.timestamp == e[k].ts);
		}
		assert_int_equal(lfs_reader_next_record(r, &rec), 0);
		assert_int_equal(lfs_reader_next_record(r, &rec), 0);
		add_batch(f, 3, 5);
		for (uint64_t o = f->nrec - 3; o < f->nrec; o++) {
			assert_int_equal(lfs_reader_next_record(r, &rec), 1);
			assert_true(rec.offset == o);
			assert_memory_equal(rec.data, f->data.p + f->rec_pos[o], rec.len);
			assert_int_equal(((const char *)rec.data)[rec.len - 1], '\n');
		}
		assert_int_equal(lfs_reader_next_record(r, &rec), 0);
		lfs_reader_close(r);
		free(e);
	}
}

/* Write framing: each write is one record, binary bytes and all. */
static void test_next_record_writes(void **state)
{
	struct fix *f = *state;
	tu_set(f->t, LFS_SET_FRAMING, "write");
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	struct tu_buf all = {0};
	uint64_t pos[101];
	for (int i = 0; i < 100; i++) {
		unsigned char rec[300];
		size_t len = 1 + (size_t)(i * 53) % sizeof(rec);
		for (size_t k = 0; k < len; k++)
			rec[k] = (unsigned char)(i + k * 7);
		pos[i] = all.len;
		tu_append(f->t, LFS_FRAMING_WRITE, rec, len);
		tu_buf_add(&all, rec, len);
	}
	pos[100] = all.len;
	for (int pass = 0; pass < 2; pass++) {
		lfs_reader *r = tu_reader_at(f->t, 10);
		struct lfs_record rec;
		for (int i = 10; i < 100; i++) {
			assert_int_equal(lfs_reader_next_record(r, &rec), 1);
			assert_true(rec.offset == (uint64_t)i);
			assert_int_equal(rec.len, pos[i + 1] - pos[i]);
			assert_memory_equal(rec.data, all.p + pos[i], rec.len);
			assert_true(rec.timestamp > 0);
		}
		assert_int_equal(lfs_reader_next_record(r, &rec), 0);
		lfs_reader_close(r);
		tu_reopen(f->vol, &f->v, &f->t); /* sealed segments from disk */
	}
	free(all.p);
}

/* A sealed segment in the middle that a repair emptied (its data file was
 * lost): searches by time still find the records before it. */
static void test_time_search_with_emptied_segment(void **state)
{
	struct fix *f = *state;
	build(f);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	assert_true(nb >= 5);
	size_t n;
	struct lfs_idx_entry *e = all_entries(f, &n);
	uint64_t m = bases[2];
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	/* Empty segment m as repair does: no data, its index the header and
	 * a seal for zero entries. */
	char *lp = tu_seg_path(f->vol, "app", m, "log"), *ip = tu_seg_path(f->vol, "app", m, "idx");
	assert_int_equal(truncate(lp, 0), 0);
	assert_int_equal(truncate(ip, LFS_IDX_HEADER_SIZE), 0);
	struct lfs_idx_entry seal = {.offset = m, .type = LFS_ENTRY_SEAL};
	unsigned char raw[LFS_IDX_ENTRY_SIZE];
	lfs_idx_entry_encode(&seal, raw);
	FILE *fp = fopen(ip, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, LFS_IDX_HEADER_SIZE, SEEK_SET), 0);
	assert_int_equal(fwrite(raw, 1, sizeof(raw), fp), sizeof(raw));
	fclose(fp);
	free(lp);
	free(ip);
	/* Repair also drops the segment summary of the clean close, which
	 * still describes the segment as it was. */
	char *sp = tu_fmt("%s/summary", f->vol);
	assert_int_equal(unlink(sp), 0);
	free(sp);
	f->v = tu_open(f->vol);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);
	/* Times before the emptied segment start where they did. */
	struct lfs_start s = {.kind = LFS_START_TIME};
	lfs_reader *r;
	uint64_t probes[] = {0, e[0].ts, e[1].ts, e[2].ts + 1};
	for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
		s.value = probes[k];
		uint64_t want = 0;
		for (size_t i = 0; i < n; i++)
			if (e[i].ts >= probes[k]) {
				want = e[i].offset;
				break;
			}
		assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
		if (lfs_reader_start_offset(r) != want)
			fail_msg("time %llu: starts at %llu, want %llu", (unsigned long long)probes[k],
				 (unsigned long long)lfs_reader_start_offset(r),
				 (unsigned long long)want);
		lfs_reader_close(r);
	}
	/* A time inside the emptied segment: the first record after it. */
	for (size_t i = 0; i < n; i++)
		if (e[i].offset == m) {
			s.value = e[i].ts;
			break;
		}
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_true(lfs_reader_start_offset(r) == bases[3]);
	lfs_reader_close(r);
	/* Its offsets are gone. */
	struct lfs_start so = {.kind = LFS_START_OFFSET, .value = m};
	assert_int_equal(lfs_reader_open(f->t, &so, &r), -ENOENT);
	so.value = bases[3];
	assert_int_equal(lfs_reader_open(f->t, &so, &r), 0);
	check_range(r, f->data.p, f->data.len, f->rec_pos[bases[3]], 0, 100000);
	lfs_reader_close(r);
	/* Reading the whole log: the bytes before the lost ones, then those
	 * from the next segment on. The open closed the hole the lost data
	 * left in the byte stream (the next segment starts where the emptied
	 * one ends, as fsck.logfs would rewrite it): never EIO, never another
	 * segment's bytes in their place. */
	struct lfs_start sf = {.kind = LFS_START_FIRST};
	assert_int_equal(lfs_reader_open(f->t, &sf, &r), 0);
	uint64_t hole = f->rec_pos[m], after = f->rec_pos[bases[3]];
	uint64_t total = hole + (f->data.len - after);
	char *buf = malloc(f->data.len);
	assert_int_equal(lfs_reader_read(r, buf, f->data.len, 0), (ssize_t)total);
	assert_memory_equal(buf, f->data.p, hole);
	assert_memory_equal(buf + hole, f->data.p + after, f->data.len - after);
	free(buf);
	lfs_reader_close(r);
	free(e);
	free(bases);
}

/* A sealed segment whose data the disk changed: reads serve the good
 * batches before the bad one, then fail with EIO; never the bad bytes. */
static void test_corrupt_sealed_batch_eio(void **state)
{
	struct fix *f = *state;
	build(f);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	assert_true(nb >= 4);
	uint64_t seg = bases[1], bad = bases[1] + 3; /* a record inside it */
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	char *lp = tu_seg_path(f->vol, "app", seg, "log");
	FILE *fp = fopen(lp, "r+b");
	assert_non_null(fp);
	uint64_t at = f->rec_pos[bad] - f->rec_pos[seg] + 1;
	assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
	fputc('#', fp);
	fclose(fp);
	free(lp);
	f->v = tu_open(f->vol);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);

	/* The whole log: good bytes up to the batch holding the bad byte. */
	struct lfs_start s = {.kind = LFS_START_FIRST};
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	char *buf = malloc(f->data.len);
	ssize_t n = lfs_reader_read(r, buf, f->data.len, 0);
	assert_true(n >= (ssize_t)f->rec_pos[seg] && n <= (ssize_t)f->rec_pos[bad]);
	assert_memory_equal(buf, f->data.p, (size_t)n);
	assert_int_equal(lfs_reader_read(r, buf, 10, (uint64_t)n), -EIO);
	assert_int_equal(lfs_reader_read(r, buf, 10, f->rec_pos[bad]), -EIO);
	/* Past the bad segment all is well. */
	uint64_t next = f->rec_pos[bases[2]];
	assert_int_equal(lfs_reader_read(r, buf, f->data.len - next, next),
			 (ssize_t)(f->data.len - next));
	assert_memory_equal(buf, f->data.p + next, f->data.len - next);
	lfs_reader_close(r);
	/* The segment as a file: the same. */
	lfs_segment *sg;
	assert_int_equal(lfs_segment_get(f->t, seg, &sg), 0);
	n = lfs_segment_read(sg, buf, f->data.len, 0);
	assert_true(n >= 0 && n <= (ssize_t)(f->rec_pos[bad] - f->rec_pos[seg]));
	assert_memory_equal(buf, f->data.p + f->rec_pos[seg], (size_t)n);
	assert_int_equal(lfs_segment_read(sg, buf, 10, (uint64_t)n), -EIO);
	lfs_segment_put(sg);
	free(buf);
	free(bases);
}

/* A sealed segment whose data file lost its end (truncated behind the
 * daemon's back, by whole pages): reads of what is missing fail with EIO;
 * nothing faults. */
static void test_truncated_sealed_segment(void **state)
{
	struct fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "64K");
	for (int i = 0; i < 1500; i++)
		add_batch(f, 1 + i % 3, 60);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	assert_true(nb >= 2);
	uint64_t seg = bases[0], seg_len = f->rec_pos[bases[1]];
	uint64_t keep = 8192;
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	char *lp = tu_seg_path(f->vol, "app", seg, "log");
	assert_int_equal(truncate(lp, (off_t)keep), 0);
	free(lp);
	f->v = tu_open(f->vol);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);

	lfs_segment *sg;
	assert_int_equal(lfs_segment_get(f->t, seg, &sg), 0);
	char *buf = malloc(f->data.len);
	ssize_t n = lfs_segment_read(sg, buf, seg_len, 0);
	if (n < 0 || (uint64_t)n > keep)
		fail_msg("read %zd bytes of a segment cut to %llu", n, (unsigned long long)keep);
	assert_true(n > 0);
	assert_memory_equal(buf, f->data.p, (size_t)n);
	assert_int_equal(lfs_segment_read(sg, buf, 100, seg_len - 100), -EIO);
	assert_int_equal(lfs_segment_read(sg, buf, 100, (uint64_t)n), -EIO);
	lfs_segment_put(sg);

	struct lfs_start s = {.kind = LFS_START_FIRST};
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(f->t, &s, &r), 0);
	assert_int_equal(lfs_reader_read(r, buf, f->data.len, 0), n);
	assert_int_equal(lfs_reader_read(r, buf, 10, seg_len - 10), -EIO);
	/* The next segment reads fine. */
	assert_int_equal(lfs_reader_read(r, buf, f->data.len - seg_len, seg_len),
			 (ssize_t)(f->data.len - seg_len));
	assert_memory_equal(buf, f->data.p + seg_len, f->data.len - seg_len);
	lfs_reader_close(r);
	free(buf);
	free(bases);
}

/* The whole contents of a descriptor from its start. */
static size_t read_fd_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t k;
	while (n < cap && (k = pread(fd, buf + n, cap - n, (off_t)n)) > 0)
		n += (size_t)k;
	assert_true(k >= 0);
	return n;
}

/* Reopens the volume, as a new mount does: what was verified is forgotten. */
static void reopen(struct fix *f)
{
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	f->v = tu_open(f->vol);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);
}

/* A sealed segment checked whole (the FUSE passthrough's promise): every
 * batch good gives 0 and a descriptor of exactly its payload, for segments
 * written in this run and for segments loaded from disk, whose checks start
 * anew with every open of the volume. */
static void test_verify_and_open_data(void **state)
{
	struct fix *f = *state;
	build(f);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	assert_true(nb >= 4);
	char *buf = malloc(f->data.len);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i + 1 < nb; i++) {
			lfs_segment *sg;
			assert_int_equal(lfs_segment_get(f->t, bases[i], &sg), 0);
			assert_int_equal(lfs_segment_verify(sg), 0);
			assert_int_equal(lfs_segment_verify(sg), 0);
			int fd = lfs_segment_open_data(sg);
			assert_true(fd >= 0);
			uint64_t from = f->rec_pos[bases[i]], to = f->rec_pos[bases[i + 1]];
			assert_int_equal(read_fd_all(fd, buf, f->data.len), to - from);
			assert_memory_equal(buf, f->data.p + from, to - from);
			close(fd);
			lfs_segment_put(sg);
		}
		reopen(f);
	}
	free(buf);
	free(bases);
}

/* A segment whose data the disk changed after its seal fails the check
 * (after a new open of the volume, and however often asked), and its file
 * is not handed out; the reads before the bad batch still work. */
static void test_verify_corrupt_segment(void **state)
{
	struct fix *f = *state;
	build(f);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	uint64_t seg = bases[1], bad = bases[1] + 3;
	lfs_topic_put(f->t);
	f->t = NULL;
	assert_int_equal(lfs_volume_close(f->v), 0);
	char *lp = tu_seg_path(f->vol, "app", seg, "log");
	FILE *fp = fopen(lp, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, (long)(f->rec_pos[bad] - f->rec_pos[seg] + 1), SEEK_SET), 0);
	fputc('#', fp);
	fclose(fp);
	free(lp);
	f->v = tu_open(f->vol);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);

	lfs_segment *sg;
	assert_int_equal(lfs_segment_get(f->t, seg, &sg), 0);
	assert_int_equal(lfs_segment_verify(sg), -EIO);
	assert_int_equal(lfs_segment_verify(sg), -EIO);
	assert_int_equal(lfs_segment_open_data(sg), -EIO);
	char buf[64];
	assert_int_equal(lfs_segment_read(sg, buf, 10, 0), 10);
	assert_memory_equal(buf, f->data.p + f->rec_pos[seg], 10);
	assert_int_equal(lfs_segment_read(sg, buf, 10, f->rec_pos[bad] - f->rec_pos[seg]), -EIO);
	lfs_segment_put(sg);
	/* Its neighbours are whole. */
	assert_int_equal(lfs_segment_get(f->t, bases[0], &sg), 0);
	int fd = lfs_segment_open_data(sg);
	assert_true(fd >= 0);
	close(fd);
	lfs_segment_put(sg);
	free(bases);
}

/* A segment large enough to be checked by two threads (each over half of
 * its batches): whole, it passes and its file is handed out; a bad batch in
 * either half fails the check, and the reads before that batch still work
 * while the reads from it on fail, as with one thread. */
#define SPLIT_BATCH (256u << 10)
#define SPLIT_BATCHES 44
static void split_case(struct fix *f, int bad_batch)
{
	char *buf = malloc(SPLIT_BATCH);
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "10485760");
	for (int i = 0; i < SPLIT_BATCHES; i++) {
		memset(buf, 'a' + i % 26, SPLIT_BATCH);
		buf[SPLIT_BATCH - 1] = '\n';
		tu_append(f->t, LFS_FRAMING_LINE, buf, SPLIT_BATCH);
	}
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	assert_true(nb >= 1);
	uint64_t seg = bases[0];
	free(bases);
	if (bad_batch >= 0) {
		lfs_topic_put(f->t);
		f->t = NULL;
		assert_int_equal(lfs_volume_close(f->v), 0);
		char *lp = tu_seg_path(f->vol, "app", seg, "log");
		FILE *fp = fopen(lp, "r+b");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, (long)bad_batch * SPLIT_BATCH + 7, SEEK_SET), 0);
		fputc('#', fp);
		fclose(fp);
		free(lp);
		f->v = tu_open(f->vol);
		assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);
	} else {
		reopen(f);
	}
	lfs_segment *sg;
	assert_int_equal(lfs_segment_get(f->t, seg, &sg), 0);
	struct lfs_segment_stat st;
	lfs_segment_stat(sg, &st);
	assert_true(st.bytes >= 8u << 20);
	uint64_t nbatches = st.bytes / SPLIT_BATCH;
	if (bad_batch < 0) {
		assert_int_equal(lfs_segment_verify(sg), 0);
		int fd = lfs_segment_open_data(sg);
		assert_true(fd >= 0);
		for (uint64_t i = 0; i < nbatches; i++) {
			assert_int_equal(pread(fd, buf, SPLIT_BATCH, (off_t)(i * SPLIT_BATCH)),
					 SPLIT_BATCH);
			assert_int_equal(buf[0], 'a' + (int)(i % 26));
		}
		close(fd);
	} else {
		assert_int_equal(lfs_segment_verify(sg), -EIO);
		assert_int_equal(lfs_segment_open_data(sg), -EIO);
		for (uint64_t i = 0; i < nbatches; i++) {
			ssize_t got = lfs_segment_read(sg, buf, 16, i * SPLIT_BATCH);
			if (i < (uint64_t)bad_batch) {
				assert_int_equal(got, 16);
				assert_int_equal(buf[0], 'a' + (int)(i % 26));
			} else {
				assert_int_equal(got, -EIO);
			}
		}
	}
	lfs_segment_put(sg);
	free(buf);
}

static void test_verify_split_whole(void **state)
{
	split_case(*state, -1);
}

static void test_verify_split_bad_first_half(void **state)
{
	split_case(*state, 5);
}

static void test_verify_split_bad_second_half(void **state)
{
	split_case(*state, 30);
}

/* A data file cut short, or replaced by another file after the check, is
 * not handed out: what a passthrough would serve must be what was checked. */
static void test_open_data_refuses_other_files(void **state)
{
	struct fix *f = *state;
	build(f);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &nb), 0);
	reopen(f);

	lfs_segment *sg;
	assert_int_equal(lfs_segment_get(f->t, bases[0], &sg), 0);
	assert_int_equal(lfs_segment_verify(sg), 0);
	char *lp = tu_seg_path(f->vol, "app", bases[0], "log");
	char *tmp = tu_fmt("%s.new", lp);
	uint64_t len = f->rec_pos[bases[1]];
	FILE *fp = fopen(tmp, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(f->data.p, 1, len, fp), len);
	fclose(fp);
	assert_int_equal(rename(tmp, lp), 0);
	assert_int_equal(lfs_segment_open_data(sg), -ESTALE);
	lfs_segment_put(sg);

	assert_int_equal(lfs_segment_get(f->t, bases[1], &sg), 0);
	assert_int_equal(lfs_segment_verify(sg), 0);
	free(lp);
	lp = tu_seg_path(f->vol, "app", bases[1], "log");
	assert_int_equal(truncate(lp, 1), 0);
	assert_int_equal(lfs_segment_open_data(sg), -ESTALE);
	lfs_segment_put(sg);
	free(tmp);
	free(lp);
	free(bases);
}

/* Flips one byte of a segment file of topic "act". */
static void flip_byte(const char *vol, uint64_t base, uint64_t at)
{
	char *lp = tu_seg_path(vol, "act", base, "log");
	FILE *fp = fopen(lp, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
	int c = fgetc(fp);
	assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
	fputc(c ^ 0x20, fp);
	fclose(fp);
	free(lp);
}

/* The active segment after a clean unmount: what the earlier mount wrote
 * is checked before it is served; a batch the disk changed is never
 * served (EIO), and the volume is left marked dirty for recovery and
 * fsck. Without damage, the checked segment keeps serving new appends. */
static void test_corrupt_active_after_clean_close(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "act");
	tu_append_str(t, "first\n");
	tu_append_str(t, "second\n");
	tu_append_str(t, "third\n");
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);

	/* Undamaged: all served, and then the appends of this mount. */
	v = tu_open(vol);
	assert_int_equal(lfs_topic_get(v, "act", &t), 0);
	tu_expect_contents(t, "first\nsecond\nthird\n", 19);
	tu_append_str(t, "fourth\n");
	tu_expect_contents(t, "first\nsecond\nthird\nfourth\n", 26);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);

	flip_byte(vol, 0, 8); /* in "second" */
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_true(rep.was_clean);
	assert_int_equal(lfs_topic_get(v, "act", &t), 0);
	struct lfs_start st = {.kind = LFS_START_FIRST};
	lfs_reader *r;
	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	char buf[64];
	assert_int_equal(lfs_reader_read(r, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "first\n", 6);
	assert_int_equal(lfs_reader_read(r, buf, sizeof(buf), 6), -EIO);
	assert_int_equal(lfs_reader_read(r, buf, sizeof(buf), 13), -EIO);
	lfs_reader_close(r);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	/* The next open sees a volume that needs recovery. */
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_false(rep.was_clean);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

/* lfs_segment_verify: the whole segment once, for whoever hands its file
 * on (passthrough). */
static void test_segment_verify(void **state)
{
	(void)state;
	char *vol = tu_mkvol(4096);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "act");
	char line[100];
	memset(line, 'x', sizeof(line));
	line[99] = '\n';
	for (int i = 0; i < 100; i++)
		tu_append(t, LFS_FRAMING_LINE, line, sizeof(line));
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(t, &bases, &nb), 0);
	assert_true(nb >= 2);
	uint64_t b0 = bases[0], b1 = bases[1];
	free(bases);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	flip_byte(vol, b1, 150);
	v = tu_open(vol);
	assert_int_equal(lfs_topic_get(v, "act", &t), 0);
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(t, b0, &s), 0);
	assert_int_equal(lfs_segment_verify(s), 0);
	assert_int_equal(lfs_segment_verify(s), 0); /* once: remembered */
	lfs_segment_put(s);
	assert_int_equal(lfs_segment_get(t, b1, &s), 0);
	assert_int_equal(lfs_segment_verify(s), -EIO);
	char buf[100];
	assert_int_equal(lfs_segment_read(s, buf, 100, 0), 100);
	assert_int_equal(lfs_segment_read(s, buf, 100, 100), -EIO);
	lfs_segment_put(s);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_read_any_range),
		T(test_verify_and_open_data),
		T(test_verify_corrupt_segment),
		T(test_verify_split_whole),
		T(test_verify_split_bad_first_half),
		T(test_verify_split_bad_second_half),
		T(test_open_data_refuses_other_files),
		T(test_reader_grows),
		T(test_open_at_every_offset),
		T(test_open_at_boundaries),
		T(test_empty_topic_readers),
		T(test_open_by_time),
		T(test_open_by_age),
		T(test_peek_iovecs),
		T(test_reader_holds_topic),
		T(test_glance_holds_nothing),
		T(test_reader_survives_framing_change),
		T(test_write_framing_offsets),
		T(test_next_record_lines),
		T(test_next_record_writes),
		T(test_time_search_with_emptied_segment),
		T(test_corrupt_sealed_batch_eio),
		T(test_truncated_sealed_segment),
		T(test_corrupt_active_after_clean_close),
		T(test_segment_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
