/*
 * Recovery: crashes simulated by a child process that appends and _exit()s
 * without closing the volume; then files damaged by hand. Checks what the
 * scanner reports (kind, offsets, bytes), that repair cuts exactly to the
 * last valid batch, that a second scan finds nothing, and that opening the
 * volume after the unclean stop serves exactly the valid prefix, byte for
 * byte, and appends on from there.
 */
#include "testutil.h"

#include "internal.h"

#define TOPIC "rec"
#define MAXB 256


/* ---- the crash child and what it wrote ---- */

/* Batch i: line framing, 1..3 lines "b<i>.<j>:<padding>\n"; write framing,
 * one binary record with '\n' and NUL bytes in it. */
static size_t gen_batch(uint32_t framing, int i, char *buf, uint32_t *count)
{
	size_t n = 0;
	if (framing == LFS_FRAMING_WRITE) {
		size_t len = 10 + (size_t)(i * 37) % 200;
		for (size_t k = 0; k < len; k++)
			buf[n++] = (char)(i * 7 + k * 13);
		*count = 1;
		return n;
	}
	*count = (uint32_t)(i % 3 + 1);
	for (uint32_t j = 0; j < *count; j++) {
		n += (size_t)sprintf(buf + n, "b%d.%u:", i, j);
		size_t pad = (size_t)(i * 11 + j * 5) % 90;
		for (size_t k = 0; k < pad; k++)
			buf[n++] = (char)('a' + (i + (int)k) % 26);
		buf[n++] = '\n';
	}
	return n;
}

struct crash {
	const char *vol;
	uint32_t framing;
	const char *segment_size; /* NULL: the volume's */
	int from, to;             /* batches [from, to) */
	bool sync;                /* sync before the crash: rolled segments sealed */
};

static int crash_main(void *arg)
{
	struct crash *c = arg;
	lfs_volume *v;
	lfs_topic *t;
	char buf[1024];
	if (tu_volume_open(c->vol, NULL, &v, NULL) < 0)
		return 1;
	if (lfs_topic_get(v, TOPIC, &t) < 0) {
		struct lfs_topic_meta m = {.mode = 0755};
		if (lfs_topic_create(v, TOPIC, &m, &t) < 0)
			return 2;
		if (c->framing == LFS_FRAMING_WRITE && lfs_topic_set(t, LFS_SET_FRAMING, "write") < 0)
			return 3;
		if (c->segment_size && lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, c->segment_size) < 0)
			return 4;
	}
	for (int i = c->from; i < c->to; i++) {
		uint32_t count;
		size_t len = gen_batch(c->framing, i, buf, &count);
		struct iovec iov = {buf, len};
		if (lfs_topic_append(t, c->framing, &iov, 1, NULL) < 0)
			return 5;
	}
	if (c->sync && lfs_topic_sync(t) < 0)
		return 6;
	return 0; /* _exit: no close, no trim, state stays dirty */
}

/* The expected log: batches 0..n-1 in stream order. */
struct expect {
	uint32_t framing;
	int n;
	uint64_t pos[MAXB], len[MAXB], off[MAXB], cnt[MAXB];
	struct tu_buf data;
};

static void expect_build(struct expect *e, uint32_t framing, int n)
{
	char buf[1024];
	e->framing = framing;
	e->n = n;
	uint64_t off = 0;
	for (int i = 0; i < n; i++) {
		uint32_t count;
		size_t len = gen_batch(framing, i, buf, &count);
		e->pos[i] = e->data.len;
		e->len[i] = len;
		e->off[i] = off;
		e->cnt[i] = count;
		off += count;
		tu_buf_add(&e->data, buf, len);
	}
}

/* Offset and stream position after the first k batches. */
static uint64_t off_after(const struct expect *e, int k)
{
	return k ? e->off[k - 1] + e->cnt[k - 1] : 0;
}
static uint64_t pos_after(const struct expect *e, int k)
{
	return k ? e->pos[k - 1] + e->len[k - 1] : 0;
}

/* ---- fixture ---- */

struct fix {
	char *vol, *dir; /* the volume and its topic directory */
	char *log, *idx; /* segment 0's files */
	struct expect e;
	char *pristine_log, *pristine_idx; /* copies taken after the crash */
};

static int teardown(void **state)
{
	struct fix *f = *state;
	if (!f)
		return 0;
	free(f->dir);
	free(f->log);
	free(f->idx);
	free(f->e.data.p);
	free(f->pristine_log);
	free(f->pristine_idx);
	tu_rmvol(f->vol);
	free(f);
	return 0;
}

static void cp(const char *from, const char *to)
{
	char *cmd = tu_fmt("cp -p '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* A volume with one topic whose only segment holds n batches, written by a
 * child that then crashed. */
static struct fix *crashed(void **state, uint32_t framing, int n)
{
	struct fix *f = calloc(1, sizeof(*f));
	*state = f;
	f->vol = tu_mkvol(0);
	f->dir = tu_fmt("%s/topics/%s", f->vol, TOPIC);
	f->log = tu_seg_path(f->vol, TOPIC, 0, "log");
	f->idx = tu_seg_path(f->vol, TOPIC, 0, "idx");
	f->pristine_log = tu_fmt("%s.pristine", f->log);
	f->pristine_idx = tu_fmt("%s.pristine", f->idx);
	struct crash c = {.vol = f->vol, .framing = framing, .from = 0, .to = n};
	tu_crash_child(crash_main, &c);
	expect_build(&f->e, framing, n);
	/* What a crash leaves: preallocated tails, longer than the data. */
	assert_true(tu_file_size(f->log) > (long long)f->e.data.len);
	assert_true(tu_file_size(f->idx) > LFS_IDX_HEADER_SIZE + n * LFS_IDX_ENTRY_SIZE);
	/* Keep pristine copies outside the topic directory. */
	free(f->pristine_log);
	free(f->pristine_idx);
	f->pristine_log = tu_fmt("%s/../pristine.log", f->vol);
	f->pristine_idx = tu_fmt("%s/../pristine.idx", f->vol);
	cp(f->log, f->pristine_log);
	cp(f->idx, f->pristine_idx);
	return f;
}

static void restore(struct fix *f)
{
	cp(f->pristine_log, f->log);
	cp(f->pristine_idx, f->idx);
}

/* ---- file surgery ---- */

static void poke(const char *path, long long off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void peek_file(const char *path, long long off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void flip_bit(const char *path, long long off, int bit)
{
	unsigned char c;
	peek_file(path, off, &c, 1);
	c ^= (unsigned char)(1u << bit);
	poke(path, off, &c, 1);
}

static void zero_range(const char *path, long long off, size_t len)
{
	char *z = calloc(1, len);
	poke(path, off, z, len);
	free(z);
}

static void cut_file(const char *path, long long size)
{
	assert_int_equal(truncate(path, size), 0);
}

static long long entry_off(int i)
{
	return LFS_IDX_HEADER_SIZE + (long long)i * LFS_IDX_ENTRY_SIZE;
}

/* ---- scanning ---- */

struct probs {
	int n;
	struct lfs_problem p[32];
};

static void collect(void *ctx, const struct lfs_problem *p)
{
	struct probs *ps = ctx;
	if (ps->n < 32)
		ps->p[ps->n++] = *p;
}

static void dump_probs(const struct probs *ps)
{
	for (int i = 0; i < ps->n; i++)
		fprintf(stderr, "  problem kind=%d offsets %llu..%llu bytes %llu%s: %s\n",
			ps->p[i].kind, (unsigned long long)ps->p[i].first_offset,
			(unsigned long long)ps->p[i].last_offset, (unsigned long long)ps->p[i].bytes,
			ps->p[i].repaired ? " (repaired)" : "", ps->p[i].message);
}

static int scan_at(struct fix *f, uint64_t base, unsigned flags, bool seal, uint64_t stream_pos,
		   struct probs *ps, struct lfs_scan_result *res)
{
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	struct lfs_scan_hint hint = {.framing = f->e.framing, .stream_pos = stream_pos};
	memset(ps, 0, sizeof(*ps));
	int rc = lfs_scan_segment(dfd, TOPIC, base, flags, seal, &hint, collect, ps, res);
	close(dfd);
	return rc;
}

static void scan(struct fix *f, unsigned flags, struct probs *ps, struct lfs_scan_result *res)
{
	assert_int_equal(scan_at(f, 0, flags, false, 0, ps, res), 0);
}

static const struct lfs_problem *find_prob(const struct probs *ps, enum lfs_problem_kind kind)
{
	for (int i = 0; i < ps->n; i++)
		if (ps->p[i].kind == kind)
			return &ps->p[i];
	dump_probs(ps);
	fail_msg("no problem of kind %d reported", kind);
	return NULL;
}

/* A scan that finds nothing wrong, and leaves the files as they are. */
static void expect_clean_scan(struct fix *f, int k, bool repair)
{
	struct probs ps;
	struct lfs_scan_result r;
	long long lsz = tu_file_size(f->log), isz = tu_file_size(f->idx);
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | (repair ? LFS_SCAN_REPAIR : 0), &ps, &r);
	if (ps.n)
		dump_probs(&ps);
	assert_int_equal(ps.n, 0);
	assert_false(r.damaged);
	assert_false(r.repaired);
	assert_true(r.next_offset == off_after(&f->e, k));
	assert_true(r.valid_bytes == pos_after(&f->e, k));
	assert_true(r.records_cut == 0 && r.bytes_cut == 0);
	assert_int_equal(tu_file_size(f->log), lsz);
	assert_int_equal(tu_file_size(f->idx), isz);
}

/* After repair: both files cut exactly to the first k batches. */
static void expect_cut_to(struct fix *f, int k)
{
	assert_int_equal(tu_file_size(f->log), (long long)pos_after(&f->e, k));
	assert_int_equal(tu_file_size(f->idx), entry_off(k));
	char *got = malloc(pos_after(&f->e, k) + 1);
	if (k)
		peek_file(f->log, 0, got, pos_after(&f->e, k));
	assert_memory_equal(got, f->e.data.p, pos_after(&f->e, k));
	free(got);
}

/* Opens the volume (recovery runs) and checks it serves exactly the first k
 * batches, then that appends go on from there and survive a clean reopen. */
static void expect_volume_serves(struct fix *f, int k, bool expect_dirty)
{
	lfs_volume *v;
	lfs_topic *t;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_int_equal(rep.was_clean, !expect_dirty);
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->e.data.p, pos_after(&f->e, k));
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == off_after(&f->e, k));
	/* Every record is where its offset says. */
	for (int i = 0; i < k; i++) {
		lfs_reader *r = tu_reader_at(t, f->e.off[i]);
		assert_int_equal(lfs_reader_size(r), f->e.data.len - f->e.pos[i] -
							 (f->e.data.len - pos_after(&f->e, k)));
		char buf[1024];
		assert_int_equal(lfs_reader_read(r, buf, f->e.len[i], 0), (ssize_t)f->e.len[i]);
		assert_memory_equal(buf, f->e.data.p + f->e.pos[i], f->e.len[i]);
		lfs_reader_close(r);
	}
	/* Appending goes on at the next offset, right after the prefix. */
	char buf[1024];
	uint32_t count;
	size_t blen = gen_batch(f->e.framing, k, buf, &count);
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(t, f->e.framing, buf, blen, &res), 0);
	assert_true(res.first_offset == off_after(&f->e, k));
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_true(rep.was_clean);
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	size_t len;
	char *got = tu_read_all(t, &len);
	assert_int_equal(len, pos_after(&f->e, k) + blen);
	assert_memory_equal(got, f->e.data.p, pos_after(&f->e, k));
	assert_memory_equal(got + pos_after(&f->e, k), buf, blen);
	free(got);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* ---- tests ---- */

/* A crash without damage: nothing to report; repair only trims the
 * preallocated tails; the volume serves everything. */
static void test_clean_crash(void **state)
{
	for (uint32_t fr = LFS_FRAMING_LINE; fr <= LFS_FRAMING_WRITE; fr++) {
		struct fix *f = crashed(state, fr, 12);
		expect_clean_scan(f, 12, false);
		struct probs ps;
		struct lfs_scan_result r;
		scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
		assert_int_equal(ps.n, 0);
		assert_true(r.entries == 12);
		assert_false(r.sealed);
		expect_cut_to(f, 12);
		expect_clean_scan(f, 12, true);
		/* The mount scans it (nothing to cut) and serves it all. */
		restore(f);
		lfs_volume *v;
		struct lfs_open_report rep;
		assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
		assert_false(rep.was_clean);
		assert_int_equal(rep.topics, 1);
		assert_true(rep.segments_scanned >= 1);
		assert_true(rep.records_cut == 0 && rep.bytes_cut == 0);
		assert_int_equal(lfs_volume_close(v), 0);
		expect_cut_to(f, 12);
		expect_volume_serves(f, 12, false);
		teardown(state);
		*state = NULL;
	}
}

/* The last index entry torn (partly written): cut back to the batch
 * before it. */
static void test_torn_last_entry(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 10);
	static const struct {
		long long from;
		size_t len;
	} tears[] = {{24, 24}, {0, 20}, {40, 8}, {44, 4}, {0, 1}};
	for (size_t k = 0; k < sizeof(tears) / sizeof(tears[0]); k++) {
		restore(f);
		zero_range(f->idx, entry_off(9) + tears[k].from, tears[k].len);
		struct probs ps;
		struct lfs_scan_result r;
		scan(f, LFS_SCAN_VERIFY_PAYLOAD, &ps, &r);

		const struct lfs_problem *p = find_prob(&ps, LFS_PROB_INDEX_ENTRY);
		assert_true(p->first_offset == f->e.off[9]);
		assert_true(p->last_offset >= p->first_offset);
		/* The lost batch's lines are counted from the data, and
		 * the preallocated zero tail is not data. */
		assert_int_equal(p->last_offset, f->e.off[9] + f->e.cnt[9]);
		assert_int_equal(p->bytes, f->e.len[9]);
		assert_false(p->repaired);
		assert_true(r.damaged);
		assert_true(r.next_offset == f->e.off[9]);
		assert_true(r.valid_bytes == f->e.pos[9]);
		assert_true(r.entries == 9);
		/* Without repair nothing changed. */
		assert_int_equal(tu_file_size(f->idx), tu_file_size(f->pristine_idx));
		scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
		p = find_prob(&ps, LFS_PROB_INDEX_ENTRY);
		assert_true(p->repaired);
		assert_true(r.repaired);
		expect_cut_to(f, 9);
		expect_clean_scan(f, 9, true);
	}
	/* And through the mount. */
	restore(f);
	zero_range(f->idx, entry_off(9) + 24, 24);
	expect_volume_serves(f, 9, true);
}

/* The data torn inside the last batch: the index is ahead of the data. */
static void torn_data(void **state, uint32_t framing)
{
	struct fix *f = crashed(state, framing, 10);
	uint64_t half = f->e.len[9] / 2;
	cut_file(f->log, (long long)(f->e.pos[9] + half));
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_DATA_SHORT);
	assert_true(p->first_offset == f->e.off[9]);
	assert_true(p->last_offset == f->e.off[9] + f->e.cnt[9]);
	assert_true(p->bytes == half);
	assert_true(r.records_cut == f->e.cnt[9]);
	assert_true(r.next_offset == f->e.off[9]);
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	assert_true(r.records_cut == f->e.cnt[9]);
	assert_true(r.bytes_cut == half);
	expect_cut_to(f, 9);
	expect_clean_scan(f, 9, true);
	restore(f);
	cut_file(f->log, (long long)(f->e.pos[9] + half));
	expect_volume_serves(f, 9, true);
}

static void test_torn_data_line(void **state)
{
	torn_data(state, LFS_FRAMING_LINE);
}

static void test_torn_data_write(void **state)
{
	torn_data(state, LFS_FRAMING_WRITE);
}

/* Index entries for batches whose data never reached the file. */
static void test_index_ahead_of_data(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 10);
	/* Two whole batches missing at the end of the data file. */
	cut_file(f->log, (long long)f->e.pos[8]);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_DATA_SHORT);
	assert_true(p->first_offset == f->e.off[8]);
	assert_true(p->last_offset == off_after(&f->e, 10));
	assert_true(p->bytes == 0);
	assert_true(r.records_cut == f->e.cnt[8] + f->e.cnt[9]);
	assert_true(r.bytes_cut == 0);
	expect_cut_to(f, 8);
	expect_clean_scan(f, 8, true);

	/* The data file long enough, but zeros where the last batch should
	 * be (pages never written back): its checksum fails. */
	restore(f);
	zero_range(f->log, (long long)f->e.pos[9], f->e.len[9]);
	scan(f, LFS_SCAN_VERIFY_PAYLOAD, &ps, &r);
	p = find_prob(&ps, LFS_PROB_PAYLOAD_CRC);
	assert_true(p->first_offset == f->e.off[9]);
	assert_true(p->last_offset == off_after(&f->e, 10));
	assert_true(r.records_cut == f->e.cnt[9]);
	/* Without payload verification that goes unseen. */
	scan(f, 0, &ps, &r);
	assert_int_equal(ps.n, 0);
	assert_true(r.next_offset == off_after(&f->e, 10));
	expect_volume_serves(f, 9, true);

	/* A batch in the middle: everything from it on is cut. */
	restore(f);
	flip_bit(f->log, (long long)f->e.pos[4] + 1, 3);
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	p = find_prob(&ps, LFS_PROB_PAYLOAD_CRC);
	assert_true(p->first_offset == f->e.off[4]);
	assert_true(p->last_offset == off_after(&f->e, 10));
	assert_true(r.records_cut == off_after(&f->e, 10) - f->e.off[4]);
	expect_cut_to(f, 4);
	expect_clean_scan(f, 4, true);
}

/* Data appended whose index entry was never written. */
static void test_data_ahead_of_index(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 10);
	zero_range(f->idx, entry_off(9), LFS_IDX_ENTRY_SIZE);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_DATA_TRAILING);
	assert_true(p->first_offset == f->e.off[9]);
	assert_true(p->bytes >= f->e.len[9]);
	assert_true(r.next_offset == f->e.off[9]);
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	assert_true(r.bytes_cut >= f->e.len[9]);
	/* Only the batch's bytes, not the preallocated zero tail. */
	assert_int_equal(r.bytes_cut, f->e.len[9]);
	assert_int_equal(p->bytes, f->e.len[9]);
	expect_cut_to(f, 9);
	expect_clean_scan(f, 9, true);
	restore(f);
	zero_range(f->idx, entry_off(9), LFS_IDX_ENTRY_SIZE);
	expect_volume_serves(f, 9, true);
}

/* Every bit of the last entry: detected, and cut to the batch before. */
static void test_flipped_bits_last_entry(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 6);
	for (int byte = 0; byte < LFS_IDX_ENTRY_SIZE; byte++) {
		for (int bit = 0; bit < 8; bit += 3) {
			restore(f);
			flip_bit(f->idx, entry_off(5) + byte, bit);
			struct probs ps;
			struct lfs_scan_result r;
			scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
			if (!r.damaged)
				fail_msg("flipped bit %d of byte %d of the last entry not found", bit, byte);
			const struct lfs_problem *p = find_prob(&ps, LFS_PROB_INDEX_ENTRY);
			assert_true(p->first_offset == f->e.off[5]);
			assert_true(r.next_offset == f->e.off[5]);
			expect_cut_to(f, 5);
		}
	}
	expect_clean_scan(f, 5, true);
	expect_volume_serves(f, 5, true);
}

/* Every field of an entry in the middle: detected, and the entry rebuilt
 * from its neighbours and the data; nothing is lost. */
static void flipped_middle(void **state, uint32_t framing)
{
	struct fix *f = crashed(state, framing, 8);
	static const struct {
		const char *field;
		int byte;
	} fields[] = {{"offset", 0}, {"offset", 7}, {"pos", 8}, {"pos", 13}, {"len", 16},
		      {"len", 19}, {"count", 20}, {"count", 23}, {"ts", 24}, {"ts", 31},
		      {"crc", 32}, {"crc", 35}, {"type", 36}, {"type", 39}, {"reserved", 40},
		      {"reserved", 43}, {"entry crc", 44}, {"entry crc", 47}};
	unsigned char orig[LFS_IDX_ENTRY_SIZE], prev[LFS_IDX_ENTRY_SIZE], next[LFS_IDX_ENTRY_SIZE];
	peek_file(f->pristine_idx, entry_off(3), orig, sizeof(orig));
	peek_file(f->pristine_idx, entry_off(2), prev, sizeof(prev));
	peek_file(f->pristine_idx, entry_off(4), next, sizeof(next));
	struct lfs_idx_entry eo, ep, en;
	assert_int_equal(lfs_idx_entry_decode(orig, &eo), 0);
	assert_int_equal(lfs_idx_entry_decode(prev, &ep), 0);
	assert_int_equal(lfs_idx_entry_decode(next, &en), 0);
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		restore(f);
		flip_bit(f->idx, entry_off(3) + fields[k].byte, k % 8);
		struct probs ps;
		struct lfs_scan_result r;
		scan(f, LFS_SCAN_VERIFY_PAYLOAD, &ps, &r);
		if (!r.damaged)
			fail_msg("flipped %s of a middle entry not found", fields[k].field);
		const struct lfs_problem *p = find_prob(&ps, LFS_PROB_INDEX_ENTRY);
		assert_true(p->first_offset == f->e.off[3]);
		assert_true(p->last_offset == f->e.off[4]);
		assert_false(p->repaired);
		/* Nothing is lost. */
		assert_true(r.next_offset == off_after(&f->e, 8));
		assert_true(r.records_cut == 0);
		scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
		p = find_prob(&ps, LFS_PROB_INDEX_ENTRY);
		assert_true(p->repaired);
		expect_cut_to(f, 8);
		/* The entry as rebuilt: the original but for its timestamp,
		 * which lies between its neighbours'. */
		unsigned char now[LFS_IDX_ENTRY_SIZE];
		struct lfs_idx_entry e;
		peek_file(f->idx, entry_off(3), now, sizeof(now));
		assert_int_equal(lfs_idx_entry_decode(now, &e), 0);
		assert_true(e.offset == eo.offset && e.pos == eo.pos);
		assert_int_equal(e.len, eo.len);
		assert_int_equal(e.count, eo.count);
		assert_int_equal(e.crc, eo.crc);
		assert_int_equal(e.type, LFS_ENTRY_BATCH);
		assert_true(e.ts >= ep.ts && e.ts <= en.ts);
		expect_clean_scan(f, 8, true);
	}
	restore(f);
	flip_bit(f->idx, entry_off(3) + 20, 0);
	expect_volume_serves(f, 8, true);
}

static void test_flipped_bits_middle_entry_line(void **state)
{
	flipped_middle(state, LFS_FRAMING_LINE);
}

static void test_flipped_bits_middle_entry_write(void **state)
{
	flipped_middle(state, LFS_FRAMING_WRITE);
}

/* After a power cut, a damaged entry whose data lies in a page that never
 * reached the disk (zeros) must not be rebuilt from its neighbours: the
 * zeros would be served as a record. Found by reliability_powercut.sh
 * (write framing, "pages" cuts): entry k torn across an index page, the
 * data page holding k's bytes lost, entry k+1 whole. */
static void lost_page_under_damaged_entry(void **state, uint32_t framing)
{
	enum { N = 100 };
	struct fix *f = crashed(state, framing, N);
	/* k: the batch the second data page starts inside, with a batch after
	 * it whose entry is whole. */
	int k = 0;
	while (k < N - 1 && pos_after(&f->e, k + 1) <= 4096)
		k++;
	assert_true(k + 1 < N && f->e.pos[k] < 4096 && pos_after(&f->e, k + 1) > 4096);
	zero_range(f->log, 4096, 4096);
	flip_bit(f->idx, entry_off(k) + 2, 1);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	expect_cut_to(f, k);
	assert_true(r.next_offset == f->e.off[k]);
	expect_clean_scan(f, k, true);
}

static void test_lost_page_under_damaged_entry_write(void **state)
{
	lost_page_under_damaged_entry(state, LFS_FRAMING_WRITE);
}

static void test_lost_page_under_damaged_entry_line(void **state)
{
	lost_page_under_damaged_entry(state, LFS_FRAMING_LINE);
}

/* The page holding the durable end of the data, written back when it held
 * the first k batches and not since: after a power cut it reads as that old
 * version, batches 0..k-1 then zeros to its end. Not a whole page of zeros,
 * but the zeros from pos[k] to the page's end are lost bytes all the same.
 * Found by reliability_powercut.sh (seed 526846, write framing, "pages"
 * cuts of both files): entry k torn across an index page, entry k+1 whole;
 * recovery rebuilt entry k over the zeros and the mount served them as
 * record k (ackcheck: "not a record header"). */

/* Entry k torn: its first bytes lay in an index page that did not reach the
 * disk again. */
static void tear_entry(struct fix *f, int k)
{
	zero_range(f->idx, entry_off(k), 24);
}

/* Checks the repair (scan) and the mount's recovery (on a fresh copy of the
 * same damage) both keep exactly the first k batches, each whole. */
static void expect_recovered_to(struct fix *f, int k)
{
	char *log_cut = tu_fmt("%s/../cut.log", f->vol), *idx_cut = tu_fmt("%s/../cut.idx", f->vol);
	cp(f->log, log_cut);
	cp(f->idx, idx_cut);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	if (r.next_offset != f->e.off[k])
		dump_probs(&ps);
	assert_true(r.next_offset == f->e.off[k]);
	expect_cut_to(f, k);
	expect_clean_scan(f, k, true);
	cp(log_cut, f->log);
	cp(idx_cut, f->idx);
	expect_volume_serves(f, k, true);
	free(log_cut);
	free(idx_cut);
}

/* The durable end in the first page, batches k and k+1 (the last written)
 * after it in the same page: their bytes all read as zeros. */
static void test_page_tail_under_torn_entry_last(void **state)
{
	enum { N = 8, K = 6 };
	struct fix *f = crashed(state, LFS_FRAMING_WRITE, N);
	assert_true(pos_after(&f->e, N) < LFS_LOST_PAGE);
	zero_range(f->log, (long long)f->e.pos[K], LFS_LOST_PAGE - f->e.pos[K]);
	tear_entry(f, K);
	expect_recovered_to(f, K);
}

/* Batch k runs from the durable end's page into the next page, which did
 * reach the disk with batch k+1 and more: the entry rebuilt over k's bytes
 * would frame zeros and the real tail of k as one record. In line framing
 * that passes the framing check when no newline lies in the zeros (k's
 * first line crosses the page boundary). */
static void page_tail_under_torn_entry(void **state, uint32_t framing)
{
	enum { N = MAXB };
	struct fix *f = crashed(state, framing, N);
	int k = -1;
	for (int i = 1; i + 1 < N && k < 0; i++) {
		uint64_t page_end = lfs_lost_page_of(f->e.pos[i]) + LFS_LOST_PAGE;
		if (f->e.pos[i] % LFS_LOST_PAGE == 0 || pos_after(&f->e, i + 1) <= page_end)
			continue;
		if (framing == LFS_FRAMING_LINE &&
		    memchr(f->e.data.p + f->e.pos[i], '\n', page_end - f->e.pos[i]))
			continue;
		k = i;
	}
	assert_true(k > 0);
	uint64_t page_end = lfs_lost_page_of(f->e.pos[k]) + LFS_LOST_PAGE;
	zero_range(f->log, (long long)f->e.pos[k], page_end - f->e.pos[k]);
	tear_entry(f, k);
	expect_recovered_to(f, k);
}

static void test_page_tail_under_torn_entry_write(void **state)
{
	page_tail_under_torn_entry(state, LFS_FRAMING_WRITE);
}

static void test_page_tail_under_torn_entry_line(void **state)
{
	page_tail_under_torn_entry(state, LFS_FRAMING_LINE);
}

/* The same page with entry k whole: batch k fails its checksum with valid
 * batches after it, but the zeros under it are what a power cut leaves, a
 * torn end, not damage: the segment is cut there (a log is a prefix), not
 * given a lost range with the later batches kept. */
static void test_page_tail_under_whole_entry(void **state)
{
	enum { N = 60 };
	struct fix *f = crashed(state, LFS_FRAMING_WRITE, N);
	int k = 1;
	while (k + 1 < N && pos_after(&f->e, k + 1) <= LFS_LOST_PAGE)
		k++;
	assert_true(k + 1 < N && f->e.pos[k] < LFS_LOST_PAGE);
	zero_range(f->log, (long long)f->e.pos[k], LFS_LOST_PAGE - f->e.pos[k]);
	expect_volume_serves(f, k, true);
}

/* An entry whose checksum and payload CRC are right but whose record count
 * is not the number of lines in its batch (written wrong): the batch does
 * not verify, and the segment is cut there. */
static void test_entry_count_disagrees_with_lines(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 9);
	for (int last = 0; last < 2; last++) {
		int k = last ? 8 : 5;
		restore(f);
		unsigned char raw[LFS_IDX_ENTRY_SIZE];
		struct lfs_idx_entry e;
		peek_file(f->idx, entry_off(k), raw, sizeof(raw));
		assert_int_equal(lfs_idx_entry_decode(raw, &e), 0);
		e.count += 1;
		lfs_idx_entry_encode(&e, raw);
		poke(f->idx, entry_off(k), raw, sizeof(raw));
		struct probs ps;
		struct lfs_scan_result r;
		scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
		const struct lfs_problem *p = find_prob(&ps, LFS_PROB_PAYLOAD_CRC);
		assert_true(p->first_offset == f->e.off[k]);
		expect_cut_to(f, k);
		expect_clean_scan(f, k, true);
	}
}

/* An entry whose checksum is right but whose fields do not follow on
 * (written wrong, not torn). */
static void test_entry_does_not_follow_on(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 6);
	unsigned char raw[LFS_IDX_ENTRY_SIZE];
	struct lfs_idx_entry e;
	peek_file(f->idx, entry_off(5), raw, sizeof(raw));
	assert_int_equal(lfs_idx_entry_decode(raw, &e), 0);
	e.offset += 1000;
	lfs_idx_entry_encode(&e, raw);
	poke(f->idx, entry_off(5), raw, sizeof(raw));
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_CONTIGUITY);
	assert_true(p->first_offset == f->e.off[5]);
	expect_cut_to(f, 5);
	expect_clean_scan(f, 5, true);
}

/* Zeroed entries in the middle of the index (a lost block): line framing
 * rebuilds them from the data. */
static void test_zeroed_middle_entries(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 9);
	zero_range(f->idx, entry_off(3), 2 * LFS_IDX_ENTRY_SIZE);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_INDEX_ENTRY);
	assert_true(p->first_offset == f->e.off[3]);
	assert_true(p->last_offset == f->e.off[5]);
	assert_true(r.next_offset == off_after(&f->e, 9));
	/* The two batches became one entry. */
	assert_true(r.entries == 8);
	assert_int_equal(tu_file_size(f->log), (long long)f->e.data.len);
	assert_int_equal(tu_file_size(f->idx), entry_off(8));
	struct probs ps2;
	struct lfs_scan_result r2;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps2, &r2);
	assert_int_equal(ps2.n, 0);
	assert_false(r2.damaged);
	restore(f);
	zero_range(f->idx, entry_off(3), 2 * LFS_IDX_ENTRY_SIZE);
	expect_volume_serves(f, 9, true);
}

/* A torn append to the index file: a partial entry after the last whole
 * one. */
static void test_partial_entry_at_end(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 5);
	/* The committed index is exactly 5 entries, then a 20-byte tear. */
	restore(f);
	char *data = malloc(f->e.data.len);
	peek_file(f->pristine_log, 0, data, f->e.data.len);
	cut_file(f->log, (long long)f->e.data.len);
	cut_file(f->idx, entry_off(5) + 20);
	poke(f->idx, entry_off(5), "0123456789abcdefghij", 20);
	free(data);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	assert_true(r.damaged);
	assert_true(r.next_offset == off_after(&f->e, 5));
	expect_cut_to(f, 5);
	expect_clean_scan(f, 5, true);
}

/* Every field of the header: the entries carry their own checksums, so
 * nothing of the data is lost. */
static void header_flips(void **state, uint32_t framing)
{
	struct fix *f = crashed(state, framing, 7);
	static const int bytes[] = {0, 7, 8, 11, 12, 15, 16, 23, 24, 31, 32, 39, 40, 59, 60, 63};
	for (size_t k = 0; k < sizeof(bytes) / sizeof(bytes[0]); k++) {
		restore(f);
		flip_bit(f->idx, bytes[k], (int)k % 8);
		struct probs ps;
		struct lfs_scan_result r;
		scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
		if (!r.damaged)
			fail_msg("flipped byte %d of the header not found", bytes[k]);
		const struct lfs_problem *p = find_prob(&ps, LFS_PROB_INDEX_HEADER);
		assert_true(p->repaired);
		assert_true(r.next_offset == off_after(&f->e, 7));
		assert_true(r.records_cut == 0);
		/* The header is whole again, with the segment's identity. */
		struct lfs_idx_header h;
		struct lfs_idx_entry *ents;
		size_t n;
		bool sealed;
		assert_true(tu_idx_load(f->idx, &h, &ents, &n, &sealed));
		assert_true(h.base_offset == 0 && h.stream_pos == 0);
		assert_int_equal(h.framing, framing);
		assert_int_equal(h.version, LFS_FORMAT_VERSION);
		uint64_t off = 0, pos = 0;
		for (size_t i = 0; i < n; i++) {
			assert_true(ents[i].offset == off && ents[i].pos == pos);
			off += ents[i].count;
			pos += ents[i].len;
		}
		assert_true(off == off_after(&f->e, 7) && pos == f->e.data.len);
		free(ents);
		assert_int_equal(tu_file_size(f->log), (long long)f->e.data.len);
		expect_clean_scan(f, 7, true);
	}
	restore(f);
	flip_bit(f->idx, 20, 1);
	expect_volume_serves(f, 7, true);
}

static void test_header_bit_flips_line(void **state)
{
	header_flips(state, LFS_FRAMING_LINE);
}

static void test_header_bit_flips_write(void **state)
{
	header_flips(state, LFS_FRAMING_WRITE);
}

/* Missing index, line framing: rebuilt from the data, every record kept.
 * The rebuilt batches share one timestamp. */
static void test_missing_index_line(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 10);
	assert_int_equal(unlink(f->idx), 0);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_MISSING_INDEX);
	assert_true(p->first_offset == 0);
	assert_true(p->last_offset == off_after(&f->e, 10));
	assert_false(tu_exists(f->idx));
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	p = find_prob(&ps, LFS_PROB_MISSING_INDEX);
	assert_true(p->repaired);
	assert_true(r.next_offset == off_after(&f->e, 10));
	assert_int_equal(tu_file_size(f->log), (long long)f->e.data.len);
	struct probs ps2;
	struct lfs_scan_result r2;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps2, &r2);
	assert_int_equal(ps2.n, 0);
	assert_true(r2.next_offset == off_after(&f->e, 10));

	restore(f);
	assert_int_equal(unlink(f->idx), 0);
	expect_volume_serves(f, 10, true);
	/* Reading by time: all the rebuilt records share a timestamp, and a
	 * search for it starts at the first of them. */
	lfs_volume *v = tu_open(f->vol);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	struct lfs_start s = {.kind = LFS_START_TIME, .value = st.first_timestamp};
	lfs_reader *rd;
	assert_int_equal(lfs_reader_open(t, &s, &rd), 0);
	assert_true(lfs_reader_start_offset(rd) == 0);
	lfs_reader_close(rd);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* Missing index, write framing: the records cannot be framed again. The
 * damage is reported, not repaired, and nothing is invented. */
static void test_missing_index_write(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_WRITE, 10);
	assert_int_equal(unlink(f->idx), 0);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_MISSING_INDEX);
	assert_false(p->repaired);
	assert_true(r.damaged);
	assert_false(r.repaired);
	assert_true(r.entries == 0);
	/* The data is left for an operator. */
	assert_true(tu_file_size(f->log) >= (long long)f->e.data.len);
	/* One topic that cannot be recovered should not take the whole
	 * volume down with it. */
	lfs_volume *v;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, NULL), 0);
	/* The damaged topic stays out of the mount until fsck repairs it. */
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), -ENOENT);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* Missing data file: the segment's records are lost, reported with their
 * offsets; repair keeps an empty segment, and offsets are never reused. */
static void test_missing_data(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 10);
	assert_int_equal(unlink(f->log), 0);
	struct probs ps;
	struct lfs_scan_result r;
	scan(f, LFS_SCAN_VERIFY_PAYLOAD, &ps, &r);
	const struct lfs_problem *p = find_prob(&ps, LFS_PROB_MISSING_DATA);
	assert_true(p->first_offset == 0);
	assert_true(p->last_offset == off_after(&f->e, 10));
	assert_true(r.records_cut == off_after(&f->e, 10));
	scan(f, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, &ps, &r);
	assert_true(find_prob(&ps, LFS_PROB_MISSING_DATA)->repaired);
	assert_int_equal(tu_file_size(f->log), 0);

	restore(f);
	assert_int_equal(unlink(f->log), 0);
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_true(rep.records_cut == off_after(&f->e, 10));
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, "", 0);
	/* Offsets are never reused: the next record comes after the lost
	 * ones. */
	struct lfs_append_result res;
	assert_int_equal(tu_append_rc(t, LFS_FRAMING_LINE, "after\n", 6, &res), 0);
	assert_true(res.first_offset == off_after(&f->e, 10));
	/* The lost offsets are a gap, not records. */
	struct lfs_start at = {.kind = LFS_START_OFFSET, .value = 0};
	lfs_reader *rd;
	assert_int_equal(lfs_reader_open(t, &at, &rd), -ENOENT);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* Seals are written after a roll, off the append path: a crash before
 * that leaves every rolled segment unsealed. A read-only open serves them
 * as scanned; a read-write open scans and seals them; nothing is lost. */
static void test_rolled_segments_unsealed_by_crash(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	*state = f;
	f->vol = tu_mkvol(0);
	f->dir = tu_fmt("%s/topics/%s", f->vol, TOPIC);
	struct crash c = {.vol = f->vol, .framing = LFS_FRAMING_LINE, .segment_size = "4096",
			  .from = 0, .to = 200};
	tu_crash_child(crash_main, &c);
	expect_build(&f->e, LFS_FRAMING_LINE, 200);
	for (int pass = 0; pass < 2; pass++) {
		lfs_volume *v;
		struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
		struct lfs_open_report rep;
		assert_int_equal(tu_volume_open(f->vol, pass ? NULL : &ro, &v, &rep), 0);
		assert_false(rep.was_clean);
		lfs_topic *t;
		assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
		tu_expect_contents(t, f->e.data.p, f->e.data.len);
		struct lfs_topic_stat st;
		lfs_topic_stat(t, &st);
		assert_true(st.segments > 3);
		assert_true(st.next_offset == off_after(&f->e, 200));
		lfs_topic_put(t);
		assert_int_equal(lfs_volume_close(v), 0);
	}
	/* The read-write open sealed them: a full check finds nothing. */
	struct lfs_check_opts co = {.mode = LFS_CHECK_NONE, .force = true};
	struct lfs_check_result cr;
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_int_equal(cr.problems, 0);
}

/* A crash mid-roll: a segment that is not the last lacks its seal. */
static void test_unsealed_middle_segment(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	*state = f;
	f->vol = tu_mkvol(0);
	f->dir = tu_fmt("%s/topics/%s", f->vol, TOPIC);
	/* Seals are written after the roll (by the ticker or a sync): sync,
	 * so that every rolled segment is sealed, then take one seal away. */
	struct crash c = {.vol = f->vol, .framing = LFS_FRAMING_LINE, .segment_size = "4096",
			  .from = 0, .to = 200, .sync = true};
	tu_crash_child(crash_main, &c);
	expect_build(&f->e, LFS_FRAMING_LINE, 200);
	/* Find the sealed segments. */
	lfs_volume *v;
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(tu_volume_open(f->vol, &ro, &v, NULL), 0);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	uint64_t *bases;
	size_t nb;
	assert_int_equal(lfs_topic_list_sealed(t, &bases, &nb), 0);
	assert_true(nb >= 3);
	lfs_segment *s;
	struct lfs_segment_stat ss;
	assert_int_equal(lfs_segment_get(t, bases[1], &s), 0);
	lfs_segment_stat(s, &ss);
	lfs_segment_put(s);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	uint64_t b = bases[1];
	free(bases);
	/* Remove segment b's seal: as if the roll stopped right before it. */
	f->idx = tu_seg_path(f->vol, TOPIC, b, "idx");
	f->log = tu_seg_path(f->vol, TOPIC, b, "log");
	long long isz = tu_file_size(f->idx);
	cut_file(f->idx, isz - LFS_IDX_ENTRY_SIZE);
	uint64_t sp = 0;
	for (int i = 0; i < 200; i++)
		if (f->e.off[i] == b)
			sp = f->e.pos[i];
	struct probs ps;
	struct lfs_scan_result r;
	/* Asked to seal (it is not the last segment): repair seals it. */
	assert_int_equal(scan_at(f, b, LFS_SCAN_VERIFY_PAYLOAD, true, sp, &ps, &r), 0);
	assert_false(r.sealed);
	assert_true(r.next_offset == b + ss.records);
	assert_int_equal(scan_at(f, b, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, true, sp, &ps, &r),
			 0);
	assert_true(r.sealed);
	assert_int_equal(tu_file_size(f->idx), isz);
	assert_int_equal(scan_at(f, b, LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_REPAIR, true, sp, &ps, &r),
			 0);
	assert_int_equal(ps.n, 0);
	assert_true(r.sealed);
	assert_false(r.damaged);

	/* The same through the mount, with the preallocated tails a crash
	 * before the trim would leave. */
	cut_file(f->idx, isz - LFS_IDX_ENTRY_SIZE);
	cut_file(f->idx, isz + 4096);
	cut_file(f->log, (long long)ss.bytes + 65536);
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_false(rep.was_clean);
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->e.data.p, f->e.data.len);
	assert_int_equal(lfs_segment_get(t, b, &s), 0); /* sealed again */
	lfs_segment_stat(s, &ss);
	assert_true(ss.sealed);
	lfs_segment_put(s);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(tu_file_size(f->idx), isz);
	assert_int_equal(tu_file_size(f->log), (long long)ss.bytes);
}

/* Several segments, the last one torn: the sealed ones are served as they
 * are, the last one up to its last valid batch. */
static void test_multi_segment_torn_tail(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	*state = f;
	f->vol = tu_mkvol(0);
	f->dir = tu_fmt("%s/topics/%s", f->vol, TOPIC);
	struct crash c = {.vol = f->vol, .framing = LFS_FRAMING_LINE, .segment_size = "4096",
			  .from = 0, .to = 60};
	tu_crash_child(crash_main, &c);
	/* A second session appends more, then crashes too. */
	c.from = 60;
	c.to = 64;
	tu_crash_child(crash_main, &c);
	expect_build(&f->e, LFS_FRAMING_LINE, 64);
	/* The active segment: the one holding batch 63. */
	int first_in_active = 63;
	uint64_t base = 0;
	for (int i = 63; i >= 0; i--) {
		char *p = tu_seg_path(f->vol, TOPIC, f->e.off[i], "idx");
		bool e = tu_exists(p);
		free(p);
		if (e) {
			first_in_active = i;
			base = f->e.off[i];
			break;
		}
	}
	assert_true(first_in_active < 63);
	f->log = tu_seg_path(f->vol, TOPIC, base, "log");
	f->idx = tu_seg_path(f->vol, TOPIC, base, "idx");
	/* Tear the data of the last batch. */
	int last = 63 - first_in_active;
	long long pos_in_seg = (long long)(f->e.pos[63] - f->e.pos[first_in_active]);
	cut_file(f->log, pos_in_seg + 3);
	(void)last;
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_false(rep.was_clean);
	assert_true(rep.records_cut == f->e.cnt[63]);
	assert_true(rep.bytes_cut == 3);
	/* Only the active segment is scanned: mount time does not grow with
	 * the number of sealed segments. */
	assert_int_equal(rep.segments_scanned, 1);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->e.data.p, f->e.pos[63]);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == f->e.off[63]);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* A read-only open of a crashed volume serves the valid prefix and changes
 * no file. */
static void test_readonly_open_after_crash(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 10);
	cut_file(f->log, (long long)(f->e.pos[9] + 2));
	long long lsz = tu_file_size(f->log), isz = tu_file_size(f->idx);
	lfs_volume *v;
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, &ro, &v, &rep), 0);
	assert_false(rep.was_clean);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->e.data.p, f->e.pos[9]);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(tu_file_size(f->log), lsz);
	assert_int_equal(tu_file_size(f->idx), isz);
	int fd = open(f->vol, O_RDONLY | O_DIRECTORY);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_DIRTY);
	close(fd);
	/* A read-write open then repairs. */
	expect_volume_serves(f, 9, true);
}

/* A crash right after a roll created the next segment's files, before its
 * index header: empty files. Nothing is lost and the mount succeeds, in
 * either framing. */
static void empty_new_segment(void **state, uint32_t framing)
{
	struct fix *f = calloc(1, sizeof(*f));
	*state = f;
	f->vol = tu_mkvol(0);
	f->dir = tu_fmt("%s/topics/%s", f->vol, TOPIC);
	struct crash c = {.vol = f->vol, .framing = framing, .segment_size = "4096", .from = 0,
			  .to = 50};
	tu_crash_child(crash_main, &c);
	expect_build(&f->e, framing, 50);
	/* Replace the active segment by empty files. */
	int first_in_active = 0;
	for (int i = 49; i >= 0; i--) {
		char *p = tu_seg_path(f->vol, TOPIC, f->e.off[i], "idx");
		bool e = tu_exists(p);
		free(p);
		if (e) {
			first_in_active = i;
			break;
		}
	}
	assert_true(first_in_active > 0);
	uint64_t base = f->e.off[first_in_active];
	f->log = tu_seg_path(f->vol, TOPIC, base, "log");
	f->idx = tu_seg_path(f->vol, TOPIC, base, "idx");
	cut_file(f->log, 0);
	cut_file(f->idx, 0);
	lfs_volume *v;
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, NULL), 0);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->e.data.p, f->e.pos[first_in_active]);
	struct lfs_append_result res;
	char buf[1024];
	uint32_t count;
	size_t bl = gen_batch(framing, 99, buf, &count);
	assert_int_equal(tu_append_rc(t, framing, buf, bl, &res), 0);
	assert_true(res.first_offset == base);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

static void test_empty_new_segment_line(void **state)
{
	empty_new_segment(state, LFS_FRAMING_LINE);
}

static void test_empty_new_segment_write(void **state)
{
	empty_new_segment(state, LFS_FRAMING_WRITE);
}

/* A read-only open after a crash serves what recovery would keep, decided
 * in memory: a torn end (a batch failing its checksum with nothing valid
 * after it) is not served, and nothing on disk changes. */
static void test_readonly_serves_what_recovery_keeps(void **state)
{
	struct fix *f = crashed(state, LFS_FRAMING_LINE, 10);
	/* Damage the last batch's data. */
	flip_bit(f->log, (long long)f->e.pos[9] + 1, 2);
	long long log_size = tu_file_size(f->log), idx_size = tu_file_size(f->idx);
	lfs_volume *v;
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(f->vol, &ro, &v, &rep), 0);
	assert_false(rep.was_clean);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->e.data.p, pos_after(&f->e, 9));
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == off_after(&f->e, 9));
	assert_true(st.bytes == pos_after(&f->e, 9));
	lfs_reader *r = tu_reader_at(t, off_after(&f->e, 8));
	size_t len;
	char *got = tu_reader_all(r, &len);
	assert_int_equal(len, f->e.len[8]);
	free(got);
	lfs_reader_close(r);
	struct lfs_start at = {.kind = LFS_START_OFFSET, .value = off_after(&f->e, 10)};
	assert_int_equal(lfs_reader_open(t, &at, &r), -ENOENT);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_true(tu_file_size(f->log) == log_size);
	assert_true(tu_file_size(f->idx) == idx_size);
	/* The read-write open (recovery) keeps the same. */
	assert_int_equal(tu_volume_open(f->vol, NULL, &v, &rep), 0);
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	tu_expect_contents(t, f->e.data.p, pos_after(&f->e, 9));
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
	const struct CMUnitTest tests[] = {
		T(test_clean_crash),
		T(test_torn_last_entry),
		T(test_torn_data_line),
		T(test_torn_data_write),
		T(test_index_ahead_of_data),
		T(test_data_ahead_of_index),
		T(test_flipped_bits_last_entry),
		T(test_flipped_bits_middle_entry_line),
		T(test_flipped_bits_middle_entry_write),
		T(test_lost_page_under_damaged_entry_write),
		T(test_lost_page_under_damaged_entry_line),
		T(test_page_tail_under_torn_entry_last),
		T(test_page_tail_under_torn_entry_write),
		T(test_page_tail_under_torn_entry_line),
		T(test_page_tail_under_whole_entry),
		T(test_entry_count_disagrees_with_lines),
		T(test_entry_does_not_follow_on),
		T(test_zeroed_middle_entries),
		T(test_partial_entry_at_end),
		T(test_header_bit_flips_line),
		T(test_header_bit_flips_write),
		T(test_missing_index_line),
		T(test_missing_index_write),
		T(test_missing_data),
		T(test_unsealed_middle_segment),
		T(test_rolled_segments_unsealed_by_crash),
		T(test_multi_segment_torn_tail),
		T(test_readonly_open_after_crash),
		T(test_readonly_serves_what_recovery_keeps),
		T(test_empty_new_segment_line),
		T(test_empty_new_segment_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
