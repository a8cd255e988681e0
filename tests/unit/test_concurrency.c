/*
 * Concurrency: appenders (both framings, several per topic, several
 * topics), tailing readers, group commit, retention and topic churn, all
 * at once. Every record is read back intact and in order per appender,
 * offsets are contiguous, and no reader ever sees part of a record. Sized
 * to run in a few seconds, also under ThreadSanitizer (make tsan) and
 * AddressSanitizer.
 */
#include "testutil.h"

#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAXT 8

/* ---- record formats ---- */

/* Line framing: "<tid> <seq> <n> <n bytes of padding>\n". */
static size_t line_record(int tid, uint32_t seq, char *buf)
{
	int n = (int)((seq * 7 + (uint32_t)tid * 13) % 120);
	size_t len = (size_t)sprintf(buf, "%d %u %d ", tid, seq, n);
	for (int k = 0; k < n; k++)
		buf[len++] = (char)('a' + (tid + (int)seq + k) % 26);
	buf[len++] = '\n';
	return len;
}

/* Checks one line (without its '\n'); returns its tid and seq. */
static void check_line(const char *p, size_t len, int *tid, uint32_t *seq)
{
	char want[256];
	int n;
	if (sscanf(p, "%d %u %d ", tid, seq, &n) != 3 || *tid < 0 || *tid >= MAXT)
		fail_msg("malformed line: %.*s", (int)(len < 60 ? len : 60), p);
	size_t wl = line_record(*tid, *seq, want);
	if (wl - 1 != len || memcmp(want, p, len) != 0)
		fail_msg("corrupt line: %.*s", (int)(len < 60 ? len : 60), p);
}

/* Write framing: a binary record, header {magic, tid, seq, len}, payload,
 * CRC32C of what precedes. */
#define WMAGIC 0xC0FFEE11u
static size_t write_record(int tid, uint32_t seq, unsigned char *buf)
{
	uint32_t len = (seq * 31 + (uint32_t)tid * 17) % 300;
	uint32_t h[4] = {WMAGIC, (uint32_t)tid, seq, len};
	memcpy(buf, h, 16);
	for (uint32_t k = 0; k < len; k++)
		buf[16 + k] = (unsigned char)(seq + k * 3 + (uint32_t)tid); /* '\n' and NUL too */
	uint32_t crc = lfs_crc32c(0, buf, 16 + len);
	memcpy(buf + 16 + len, &crc, 4);
	return 20 + len;
}

/* Parses one write record at p (avail bytes); returns its size, or 0 if
 * avail does not hold a whole one. */
static size_t parse_write(const unsigned char *p, size_t avail, int *tid, uint32_t *seq)
{
	uint32_t h[4];
	if (avail < 16)
		return 0;
	memcpy(h, p, 16);
	if (h[0] != WMAGIC || h[1] >= MAXT || h[3] >= 300)
		fail_msg("bad write record header");
	if (avail < 20 + h[3])
		return 0;
	uint32_t crc;
	memcpy(&crc, p + 16 + h[3], 4);
	if (crc != lfs_crc32c(0, p, 16 + h[3]))
		fail_msg("write record fails its checksum");
	*tid = (int)h[1];
	*seq = h[2];
	return 20 + h[3];
}

/* ---- per-topic verification ---- */

struct verify {
	uint32_t framing;
	uint32_t next_seq[MAXT];
	uint64_t records;
};

/* Consumes whole records from buf[0..len); every byte must belong to a
 * whole record (a reader never sees a partial one). */
static void verify_chunk(struct verify *v, const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		int tid;
		uint32_t seq;
		if (v->framing == LFS_FRAMING_LINE) {
			const char *nl = memchr(buf + i, '\n', len - i);
			if (!nl)
				fail_msg("a reader saw a partial line record");
			check_line(buf + i, (size_t)(nl - (buf + i)), &tid, &seq);
			i = (size_t)(nl - buf) + 1;
		} else {
			size_t n = parse_write((const unsigned char *)buf + i, len - i, &tid, &seq);
			if (!n)
				fail_msg("a reader saw a partial write record");
			i += n;
		}
		if (seq != v->next_seq[tid])
			fail_msg("appender %d: record %u after %u", tid, seq, v->next_seq[tid]);
		v->next_seq[tid]++;
		v->records++;
	}
}

/* ---- appenders and readers ---- */

struct shared {
	lfs_topic *t;
	uint32_t framing;
	int appenders;
	uint32_t per_appender;
	atomic_int done; /* appenders finished */
	atomic_int failed;
	pthread_barrier_t *start;
};

struct appender {
	struct shared *sh;
	int tid;
};

static void *appender_main(void *arg)
{
	struct appender *a = arg;
	struct shared *sh = a->sh;
	unsigned char buf[8192];
	pthread_barrier_wait(sh->start);
	for (uint32_t seq = 0; seq < sh->per_appender;) {
		size_t len = 0;
		uint32_t n = 1;
		if (sh->framing == LFS_FRAMING_LINE) {
			/* 1..4 records a batch. */
			n = 1 + (seq + (uint32_t)a->tid) % 4;
			if (n > sh->per_appender - seq)
				n = sh->per_appender - seq;
			for (uint32_t k = 0; k < n; k++)
				len += line_record(a->tid, seq + k, (char *)buf + len);
		} else {
			len = write_record(a->tid, seq, buf);
		}
		struct iovec iov = {buf, len};
		struct lfs_append_result res;
		int rc = lfs_topic_append(sh->t, sh->framing, &iov, 1, &res);
		if (rc != 0 || res.records != n) {
			fprintf(stderr, "append failed: %d\n", rc);
			atomic_store(&sh->failed, 1);
			break;
		}
		seq += n;
	}
	atomic_fetch_add(&sh->done, 1);
	return NULL;
}

/* A tailing reader: reads from the first record as the log grows, checking
 * every chunk, until the appenders are done and it has read everything. */
struct tailer {
	struct shared *sh;
	struct verify v;
	uint64_t bytes;
};

static void *tailer_main(void *arg)
{
	struct tailer *tl = arg;
	struct shared *sh = tl->sh;
	lfs_reader *r;
	struct lfs_start st = {.kind = LFS_START_FIRST};
	tl->v.framing = sh->framing;
	char *buf = malloc(1 << 16);
	if (lfs_reader_open(sh->t, &st, &r) != 0) {
		atomic_store(&sh->failed, 1);
		free(buf);
		return NULL;
	}
	pthread_barrier_wait(sh->start);
	for (;;) {
		bool finished = atomic_load(&sh->done) == sh->appenders;
		uint64_t size = lfs_reader_size(r);
		while (tl->bytes < size) {
			size_t want = size - tl->bytes > (1 << 16) ? (1 << 16) : size - tl->bytes;
			ssize_t n = lfs_reader_read(r, buf, want, tl->bytes);
			if (n != (ssize_t)want) {
				fprintf(stderr, "read %zd of %zu\n", n, want);
				atomic_store(&sh->failed, 1);
				goto out;
			}
			/* Whole records only: cut the chunk at the last
			 * record boundary we can see, re-read the rest. */
			size_t whole = (size_t)n;
			if (tl->v.framing == LFS_FRAMING_LINE) {
				const char *nl = memrchr(buf, '\n', (size_t)n);
				whole = nl ? (size_t)(nl - buf) + 1 : 0;
				if (tl->bytes + (uint64_t)n == size && whole != (size_t)n)
					fail_msg("reader size %llu ends inside a record",
						 (unsigned long long)size);
			} else {
				size_t i = 0, k;
				int tid;
				uint32_t seq;
				while ((k = parse_write((unsigned char *)buf + i, (size_t)n - i, &tid,
							&seq)))
					i += k;
				whole = i;
				if (tl->bytes + (uint64_t)n == size && whole != (size_t)n)
					fail_msg("reader size %llu ends inside a record",
						 (unsigned long long)size);
			}
			verify_chunk(&tl->v, buf, whole);
			tl->bytes += whole;
			if (whole == 0)
				break;
		}
		if (finished && tl->bytes == lfs_reader_size(r))
			break;
		if (atomic_load(&sh->failed))
			break;
		sched_yield();
	}
out:
	lfs_reader_close(r);
	free(buf);
	return NULL;
}

/* After the run: the whole log holds every record, in order per appender,
 * at contiguous offsets. */
static void verify_topic(struct shared *sh)
{
	struct lfs_topic_stat st;
	lfs_topic_stat(sh->t, &st);
	uint64_t total = (uint64_t)sh->appenders * sh->per_appender;
	assert_true(st.next_offset - st.first_offset == total);
	size_t len;
	char *all = tu_read_all(sh->t, &len);
	assert_true(len == st.bytes);
	struct verify v = {.framing = sh->framing};
	verify_chunk(&v, all, len);
	assert_true(v.records == total);
	for (int i = 0; i < sh->appenders; i++)
		assert_int_equal(v.next_seq[i], sh->per_appender);
	/* Offsets: the record read at @N is the N-th of the stream. */
	size_t pos = 0;
	for (uint64_t o = st.first_offset; o < st.next_offset; o++) {
		size_t rl;
		if (sh->framing == LFS_FRAMING_LINE) {
			rl = (size_t)((char *)memchr(all + pos, '\n', len - pos) - (all + pos)) + 1;
		} else {
			int tid;
			uint32_t seq;
			rl = parse_write((unsigned char *)all + pos, len - pos, &tid, &seq);
		}
		if (o % 97 == 0 || o + 1 == st.next_offset) {
			lfs_reader *r = tu_reader_at(sh->t, o);
			assert_int_equal(lfs_reader_size(r), len - pos);
			char rec[1024];
			assert_int_equal(lfs_reader_read(r, rec, rl, 0), (ssize_t)rl);
			assert_memory_equal(rec, all + pos, rl);
			lfs_reader_close(r);
		}
		pos += rl;
	}
	assert_int_equal(pos, len);
	free(all);
}

static void run_topic_threads(struct shared **shs, int ntopics, int tailers_per_topic)
{
	int nthreads = 0;
	for (int i = 0; i < ntopics; i++)
		nthreads += shs[i]->appenders + tailers_per_topic;
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
	pthread_t th[64];
	struct appender ap[64];
	struct tailer tl[64];
	memset(tl, 0, sizeof(tl));
	int k = 0, nt = 0;
	for (int i = 0; i < ntopics; i++) {
		shs[i]->start = &bar;
		for (int a = 0; a < shs[i]->appenders; a++) {
			ap[k] = (struct appender){shs[i], a};
			assert_int_equal(pthread_create(&th[k], NULL, appender_main, &ap[k]), 0);
			k++;
		}
		for (int r = 0; r < tailers_per_topic; r++) {
			tl[nt].sh = shs[i];
			assert_int_equal(pthread_create(&th[k], NULL, tailer_main, &tl[nt]), 0);
			k++;
			nt++;
		}
	}
	for (int i = 0; i < k; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	nt = 0;
	for (int i = 0; i < ntopics; i++) {
		assert_int_equal(atomic_load(&shs[i]->failed), 0);
		for (int r = 0; r < tailers_per_topic; r++, nt++) {
			uint64_t total = (uint64_t)shs[i]->appenders * shs[i]->per_appender;
			assert_true(tl[nt].v.records == total);
			for (int a = 0; a < shs[i]->appenders; a++)
				assert_int_equal(tl[nt].v.next_seq[a], shs[i]->per_appender);
		}
		verify_topic(shs[i]);
	}
}

/* ---- tests ---- */

/* A thread in the place of the volume's background thread: it ticks
 * without pause, moving the tests' clock 10 ms a tick, until stopped. */
struct ticker {
	lfs_volume *v;
	atomic_int stop;
	unsigned long ticks;
};

static void *ticker_main(void *arg)
{
	struct ticker *tk = arg;
	while (!atomic_load(&tk->stop)) {
		tu_advance_ms(10);
		lfs_volume_tick(tk->v, tu_now());
		tk->ticks++;
		sched_yield();
	}
	return NULL;
}

/* Several appenders on one topic, and on two topics of both framings at
 * once, with tailing readers, across many rolls, with ticks syncing every
 * 10 ms of the clock and writing the seals of rolled segments. */
static void test_appenders_and_tailers(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *lt = tu_topic(v, "lines"), *wt = tu_topic(v, "binary");
	tu_set(lt, LFS_SET_SEGMENT_SIZE, "16K");
	tu_set(lt, LFS_SET_SYNC, "10");
	tu_set(wt, LFS_SET_FRAMING, "write");
	tu_set(wt, LFS_SET_SEGMENT_SIZE, "8K");
	tu_set(wt, LFS_SET_SYNC, "10");
	struct shared ls = {.t = lt, .framing = LFS_FRAMING_LINE, .appenders = 4,
			    .per_appender = 1500};
	struct shared ws = {.t = wt, .framing = LFS_FRAMING_WRITE, .appenders = 3,
			    .per_appender = 800};
	struct shared *shs[2] = {&ls, &ws};
	struct ticker tk = {.v = v};
	pthread_t tth;
	assert_int_equal(pthread_create(&tth, NULL, ticker_main, &tk), 0);
	run_topic_threads(shs, 2, 2);
	atomic_store(&tk.stop, 1);
	pthread_join(tth, NULL);
	assert_true(tk.ticks > 0);
	struct lfs_topic_stat st;
	lfs_topic_stat(lt, &st);
	assert_true(st.segments > 10);
	/* The same after a clean reopen. */
	lfs_topic_put(lt);
	lfs_topic_put(wt);
	assert_int_equal(lfs_volume_close(v), 0);
	v = tu_open(vol);
	assert_int_equal(lfs_topic_get(v, "lines", &lt), 0);
	assert_int_equal(lfs_topic_get(v, "binary", &wt), 0);
	ls.t = lt;
	ws.t = wt;
	verify_topic(&ls);
	verify_topic(&ws);
	lfs_topic_put(lt);
	lfs_topic_put(wt);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

/* Group commit: many threads appending with sync=always, rolling often.
 * Every append returns 0 only once durable. */
struct committer {
	lfs_topic *t;
	int tid;
	int n;
	pthread_barrier_t *bar;
	int rc;
};

static void *committer_main(void *arg)
{
	struct committer *c = arg;
	char buf[256];
	pthread_barrier_wait(c->bar);
	for (int i = 0; i < c->n; i++) {
		size_t len = line_record(c->tid, (uint32_t)i, buf);
		struct iovec iov = {buf, len};
		struct lfs_append_result res;
		int rc = lfs_topic_append(c->t, LFS_FRAMING_LINE, &iov, 1, &res);
		if (rc == 0) {
			lfs_mutex_lock(&c->t->sync_mu);
			if (c->t->durable_offset < res.first_offset + 1)
				rc = -1000; /* acknowledged before durable */
			lfs_mutex_unlock(&c->t->sync_mu);
		}
		if (rc) {
			c->rc = rc;
			break;
		}
		if (i % 16 == 0 && lfs_topic_sync(c->t) != 0) {
			c->rc = -2000;
			break;
		}
	}
	return NULL;
}

static void test_group_commit(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "gc");
	tu_set(t, LFS_SET_SYNC, "always");
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	enum { N = 8 };
	pthread_t th[N];
	struct committer c[N];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, N);
	for (int i = 0; i < N; i++) {
		c[i] = (struct committer){t, i, 60, &bar, 0};
		assert_int_equal(pthread_create(&th[i], NULL, committer_main, &c[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < N; i++)
		if (c[i].rc)
			fail_msg("committer %d failed: %d", i, c[i].rc);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == N * 60);
	assert_true(st.segments > 5);
	lfs_mutex_lock(&t->sync_mu);
	assert_true(t->durable_offset == st.next_offset);
	lfs_mutex_unlock(&t->sync_mu);
	struct shared sh = {.t = t, .framing = LFS_FRAMING_LINE, .appenders = N, .per_appender = 60};
	verify_topic(&sh);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

/* Readers opened at the end of a log that is being appended to start
 * exactly at the record they report. */
struct end_opener {
	lfs_topic *t;
	atomic_int *stop;
	atomic_int opened, checked;
	bool by_time;
	atomic_int bad;
};

static void *end_opener_main(void *arg)
{
	struct end_opener *o = arg;
	while (!atomic_load(o->stop)) {
		struct lfs_topic_stat st;
		lfs_topic_stat(o->t, &st);
		struct lfs_start s = {.kind = LFS_START_OFFSET, .value = st.next_offset};
		if (o->by_time) {
			s.kind = LFS_START_TIME;
			s.value = UINT64_MAX / 2; /* after everything: the end */
		}
		lfs_reader *r;
		int rc = lfs_reader_open(o->t, &s, &r);
		if (rc == -ENOENT)
			continue; /* next_offset moved on */
		if (rc != 0) {
			o->bad++;
			break;
		}
		o->opened++;
		/* Wait for the first record, then check it is the one the
		 * reader says it starts at (records hold their offset). */
		char buf[64];
		for (int spin = 0; spin < 1000 && lfs_reader_size(r) == 0 && !atomic_load(o->stop);
		     spin++)
			sched_yield();
		uint64_t size = lfs_reader_size(r);
		if (size) {
			ssize_t n = lfs_reader_read(r, buf, size < 63 ? size : 63, 0);
			buf[n > 0 ? n : 0] = 0;
			unsigned long long got = strtoull(buf, NULL, 10);
			if (got != lfs_reader_start_offset(r)) {
				fprintf(stderr, "reader starts at %llu but reads record %llu\n",
					(unsigned long long)lfs_reader_start_offset(r), got);
				o->bad++;
			}
			o->checked++;
		}
		lfs_reader_close(r);
	}
	return NULL;
}

static bool openers_done(struct end_opener *o, int n)
{
	for (int i = 0; i < n; i++)
		if (atomic_load(&o[i].bad))
			return true; /* it stopped: the test fails on it */
	for (int i = 0; i < n; i++)
		if (atomic_load(&o[i].opened) < 5 || atomic_load(&o[i].checked) < 5)
			return false;
	return true;
}

static void test_open_at_end_while_appending(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "end");
	tu_set(t, LFS_SET_SEGMENT_SIZE, "8K");
	atomic_int stop = 0;
	enum { R = 3 };
	struct end_opener o[R];
	pthread_t th[R];
	for (int i = 0; i < R; i++) {
		o[i] = (struct end_opener){.t = t, .stop = &stop, .by_time = i == R - 1};
		assert_int_equal(pthread_create(&th[i], NULL, end_opener_main, &o[i]), 0);
	}
	/* One appender: record N is the text of N. */
	char line[32];
	/* Until every opener has opened and checked readers a few times:
	 * however the threads are scheduled, each is tested. */
	for (uint64_t n = 0; n < 2000 || !openers_done(o, R); n++) {
		int len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)n);
		tu_append(t, LFS_FRAMING_LINE, line, (size_t)len);
	}
	atomic_store(&stop, 1);
	int opened = 0, checked = 0;
	for (int i = 0; i < R; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(o[i].bad, 0);
		opened += o[i].opened;
		checked += o[i].checked;
	}
	assert_true(opened > 10 && checked > 10);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

/* Retention deleting segments under tailing readers (which keep them) and
 * under readers that open and close all the time. */
struct churner {
	lfs_topic *t;
	atomic_int *stop;
	int bad;
};

static void *open_close_main(void *arg)
{
	struct churner *c = arg;
	char buf[4096];
	while (!atomic_load(c->stop)) {
		lfs_reader *r;
		struct lfs_start s = {.kind = LFS_START_FIRST};
		if (lfs_reader_open(c->t, &s, &r) != 0) {
			c->bad++;
			break;
		}
		uint64_t size = lfs_reader_size(r);
		ssize_t n = lfs_reader_read(r, buf, sizeof(buf), 0);
		if (n < (ssize_t)(size < sizeof(buf) ? size : sizeof(buf))) {
			fprintf(stderr, "read %zd of %llu bytes\n", n, (unsigned long long)size);
			c->bad++;
		}
		/* A FIRST reader starts on a record boundary. */
		if (n > 0 && (buf[0] < '0' || buf[0] > '9')) {
			fprintf(stderr, "FIRST reader starts with %.20s\n", buf);
			c->bad++;
		}
		lfs_reader_close(r);
	}
	return NULL;
}

static void test_retention_under_readers(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "ret");
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	tu_set(t, LFS_SET_RETENTION_BYTES, "8K");
	struct shared sh = {.t = t, .framing = LFS_FRAMING_LINE, .appenders = 2,
			    .per_appender = 1500};
	atomic_int stop = 0;
	struct churner ch = {t, &stop, 0};
	pthread_t cth;
	assert_int_equal(pthread_create(&cth, NULL, open_close_main, &ch), 0);
	/* The tailers open before the first append: they must see it all,
	 * although retention keeps only ~8 KiB in the topic. */
	struct shared *shs[1] = {&sh};
	int nthreads = sh.appenders + 2;
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
	sh.start = &bar;
	pthread_t th[8];
	struct appender ap[2];
	struct tailer tl[2];
	memset(tl, 0, sizeof(tl));
	for (int i = 0; i < 2; i++) {
		tl[i].sh = &sh;
		assert_int_equal(pthread_create(&th[i], NULL, tailer_main, &tl[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		ap[i] = (struct appender){&sh, i};
		assert_int_equal(pthread_create(&th[2 + i], NULL, appender_main, &ap[i]), 0);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	atomic_store(&stop, 1);
	pthread_join(cth, NULL);
	(void)shs;
	assert_int_equal(atomic_load(&sh.failed), 0);
	assert_int_equal(ch.bad, 0);
	for (int i = 0; i < 2; i++) {
		assert_true(tl[i].v.records == 3000);
		assert_int_equal(tl[i].v.next_seq[0], 1500);
		assert_int_equal(tl[i].v.next_seq[1], 1500);
	}
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == 3000);
	assert_true(st.first_offset > 0);
	assert_true(st.bytes <= 8192 + 4096);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

/* Topics created, written, listed and deleted by several threads at once. */
struct topic_churner {
	lfs_volume *v;
	int id;
	int bad;
};

static void *topic_churn_main(void *arg)
{
	struct topic_churner *c = arg;
	char name[32];
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "t%d-%d", c->id, i);
		lfs_topic *t;
		struct lfs_topic_meta m = {.mode = 0755};
		if (lfs_topic_create(c->v, name, &m, &t) != 0) {
			c->bad++;
			break;
		}
		struct iovec iov = {"x\n", 2};
		if (lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL) != 0)
			c->bad++;
		char **names;
		size_t n;
		if (lfs_volume_list_topics(c->v, &names, &n) == 0) {
			for (size_t k = 0; k < n; k++)
				free(names[k]);
			free(names);
		} else {
			c->bad++;
		}
		lfs_topic_put(t);
		if (i % 2 == 0 && lfs_topic_delete(c->v, name) != 0)
			c->bad++;
	}
	return NULL;
}

static void test_topic_churn(void **state)
{
	(void)state;
	char *vol = tu_mkvol(0);
	lfs_volume *v = tu_open(vol);
	enum { N = 4 };
	pthread_t th[N];
	struct topic_churner c[N];
	for (int i = 0; i < N; i++) {
		c[i] = (struct topic_churner){v, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, topic_churn_main, &c[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].bad, 0);
	}
	char **names;
	size_t n;
	assert_int_equal(lfs_volume_list_topics(v, &names, &n), 0);
	assert_int_equal(n, N * 12);
	for (size_t k = 1; k < n; k++)
		if (strcmp(names[k - 1], names[k]) >= 0)
			fail_msg("not sorted: %s then %s", names[k - 1], names[k]);
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	assert_int_equal(lfs_volume_close(v), 0);
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_int_equal(rep.topics, N * 12);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appenders_and_tailers),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_open_at_end_while_appending),
		cmocka_unit_test(test_retention_under_readers),
		cmocka_unit_test(test_topic_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
