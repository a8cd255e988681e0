/* Consumer cursors: the store (create, delete, list, commit, reposition),
 * reading through a cursor, commit on close and by the ticker (clock
 * injected), retention past a cursor, and damaged stores. */
#include "testutil.h"

#include "internal.h"

#define SEC 1000000000ull

/* tu_open's volume has the tests' clock and no ticker: the tests drive
 * lfs_volume_tick themselves. */

static void reopen(struct tu_fix *f)
{
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	f->v = tu_open(f->vol);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);
}

static struct lfs_cursor_info info(lfs_topic *t, const char *name)
{
	struct lfs_cursor_info ci;
	assert_int_equal(lfs_cursor_stat(t, name, &ci), 0);
	return ci;
}

/* Everything the reading handle sees now, as a string; caller frees. */
static char *drain(lfs_cursor *c)
{
	uint64_t size = lfs_cursor_size(c);
	char *buf = malloc(size + 1);
	assert_non_null(buf);
	assert_int_equal(lfs_cursor_read(c, buf, size, 0), (ssize_t)size);
	buf[size] = 0;
	return buf;
}

/* Opens, reads everything, closes: what a `cat cursors/NAME` prints. */
static char *consume(lfs_topic *t, const char *name)
{
	lfs_cursor *c;
	assert_int_equal(lfs_cursor_open(t, name, true, &c), 0);
	char *s = drain(c);
	assert_int_equal(lfs_cursor_close(c), 0);
	return s;
}

static void expect_consume(lfs_topic *t, const char *name, const char *want)
{
	char *got = consume(t, name);
	assert_string_equal(got, want);
	free(got);
}

static void test_slot_codec(void **state)
{
	(void)state;
	struct lfs_cursor_slot s = {.seq = 7, .offset = 1200, .committed_at = 99, .skipped = 3,
				    .flags = LFS_CURSOR_EXPLICIT};
	strcpy(s.name, "indexer");
	unsigned char buf[LFS_CURSOR_SLOT_SIZE], zero[LFS_CURSOR_SLOT_SIZE] = {0};
	lfs_cursor_slot_encode(&s, buf);
	struct lfs_cursor_slot d;
	assert_int_equal(lfs_cursor_slot_decode(buf, &d), 0);
	assert_int_equal(d.seq, 7);
	assert_int_equal(d.offset, 1200);
	assert_int_equal(d.committed_at, 99);
	assert_int_equal(d.skipped, 3);
	assert_int_equal(d.flags, LFS_CURSOR_EXPLICIT);
	assert_string_equal(d.name, "indexer");
	assert_int_equal(lfs_cursor_slot_decode(zero, &d), -ENOENT);
	/* Every single bit flip is caught. */
	for (size_t i = 0; i < sizeof(buf) * 8; i++) {
		buf[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(lfs_cursor_slot_decode(buf, &d), -EUCLEAN);
		buf[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	/* A checksummed slot with a name no cursor can have. */
	strcpy(s.name, ".hidden");
	lfs_cursor_slot_encode(&s, buf);
	assert_int_equal(lfs_cursor_slot_decode(buf, &d), -EUCLEAN);
}

static void test_create_list_delete(void **state)
{
	struct tu_fix *f = *state;
	assert_int_equal(lfs_cursor_create(f->t, "b", true), 0);
	assert_int_equal(lfs_cursor_create(f->t, "a", false), 0);
	assert_int_equal(lfs_cursor_create(f->t, "a", false), 1);
	assert_int_equal(lfs_cursor_create(f->t, "a", true), -EEXIST);
	assert_int_equal(lfs_cursor_create(f->t, ".x", true), -EINVAL);
	assert_int_equal(lfs_cursor_create(f->t, "a/b", true), -EINVAL);
	assert_int_equal(lfs_cursor_create(f->t, "", true), -EINVAL);
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(lfs_cursor_create(f->t, longname, true), -ENAMETOOLONG);
	char **names;
	size_t n;
	assert_int_equal(lfs_cursor_list(f->t, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	lfs_cursor *c;
	assert_int_equal(lfs_cursor_open(f->t, "a", false, &c), 0);
	assert_int_equal(lfs_cursor_delete(f->t, "a"), -EBUSY);
	assert_int_equal(lfs_cursor_close(c), 0);
	assert_int_equal(lfs_cursor_delete(f->t, "a"), 0);
	assert_int_equal(lfs_cursor_delete(f->t, "a"), -ENOENT);
	assert_int_equal(lfs_cursor_open(f->t, "a", true, &c), -ENOENT);
	/* The freed entry is reused, and everything survives a reopen. */
	assert_int_equal(lfs_cursor_create(f->t, "c", true), 0);
	reopen(f);
	assert_int_equal(lfs_cursor_list(f->t, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "b");
	assert_string_equal(names[1], "c");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	char *store = tu_fmt("%s/topics/app/%s", f->vol, LFS_CURSOR_FILE);
	assert_int_equal(tu_file_size(store), 2 * LFS_CURSOR_PAIR_SIZE);
	free(store);
}

static void test_commit_on_close(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "one\ntwo\n");
	assert_int_equal(lfs_cursor_create(f->t, "idx", true), 0);
	assert_int_equal(info(f->t, "idx").offset, 0);
	assert_int_equal(info(f->t, "idx").backlog, 8);
	assert_int_equal(info(f->t, "idx").lag, 2);
	tu_append_str(f->t, "three\n");
	expect_consume(f->t, "idx", "one\ntwo\nthree\n");
	assert_int_equal(info(f->t, "idx").offset, 3);
	assert_int_equal(info(f->t, "idx").lag, 0);
	assert_int_equal(info(f->t, "idx").backlog, 0);
	expect_consume(f->t, "idx", "");
	tu_append_str(f->t, "four\nfive\n");
	reopen(f);
	assert_int_equal(info(f->t, "idx").offset, 3);
	expect_consume(f->t, "idx", "four\nfive\n");
	/* A second consumer has its own position. */
	assert_int_equal(lfs_cursor_create(f->t, "other", true), 0);
	expect_consume(f->t, "other", "one\ntwo\nthree\nfour\nfive\n");
}

static void test_partial_read(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "aa\nbb\ncc\n");
	assert_int_equal(lfs_cursor_create(f->t, "p", true), 0);
	lfs_cursor *c;
	char buf[16];
	assert_int_equal(lfs_cursor_open(f->t, "p", true, &c), 0);
	assert_int_equal(lfs_cursor_read(c, buf, 4, 0), 4); /* "aa\nb" */
	assert_int_equal(lfs_cursor_close(c), 0);
	assert_int_equal(info(f->t, "p").offset, 1);
	expect_consume(f->t, "p", "bb\ncc\n");

	/* Write framing: a record returned in part is not consumed. */
	lfs_topic *w = tu_topic(f->v, "bin");
	tu_set(w, LFS_SET_FRAMING, "write");
	tu_append(w, LFS_FRAMING_WRITE, "rec-one", 7);
	tu_append(w, LFS_FRAMING_WRITE, "rec-two", 7);
	assert_int_equal(lfs_cursor_create(w, "p", true), 0);
	assert_int_equal(lfs_cursor_open(w, "p", true, &c), 0);
	assert_int_equal(lfs_cursor_read(c, buf, 10, 0), 10);
	assert_int_equal(lfs_cursor_close(c), 0);
	assert_int_equal(info(w, "p").offset, 1);
	assert_int_equal(lfs_cursor_open(w, "p", true, &c), 0);
	assert_int_equal(lfs_cursor_read(c, buf, 7, 0), 7);
	assert_memory_equal(buf, "rec-two", 7);
	assert_int_equal(lfs_cursor_close(c), 0);
	assert_int_equal(info(w, "p").offset, 2);
	lfs_topic_put(w);
}

static void test_exclusive_reader(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "x\ny\n");
	assert_int_equal(lfs_cursor_create(f->t, "e", true), 0);
	lfs_cursor *a, *b, *w;
	assert_int_equal(lfs_cursor_open(f->t, "e", true, &a), 0);
	assert_int_equal(lfs_cursor_open(f->t, "e", true, &b), -EBUSY);
	/* Non-reading handles are not exclusive, but cannot reposition. */
	assert_int_equal(lfs_cursor_open(f->t, "e", false, &w), 0);
	assert_int_equal(lfs_cursor_seek(f->t, "e", "end", tu_now()), -EBUSY);
	assert_int_equal(lfs_cursor_close(w), 0);
	char buf[8];
	assert_int_equal(lfs_cursor_read(a, buf, 2, 0), 2);
	/* Flushed by its opener (close(2)): committed, and a new reader may
	 * take over before the release arrives. */
	assert_int_equal(lfs_cursor_flush(a, true), 0);
	assert_int_equal(info(f->t, "e").offset, 1);
	assert_int_equal(lfs_cursor_open(f->t, "e", true, &b), 0);
	/* The old handle reads on but commits nothing any more. */
	assert_int_equal(lfs_cursor_read(a, buf, 4, 0), 4);
	assert_int_equal(lfs_cursor_close(a), 0);
	assert_int_equal(info(f->t, "e").offset, 1);
	char *s = drain(b);
	assert_string_equal(s, "y\n");
	free(s);
	assert_int_equal(lfs_cursor_close(b), 0);
	assert_int_equal(info(f->t, "e").offset, 2);
	/* A flush that is not the opener's keeps the reader exclusive. */
	assert_int_equal(lfs_cursor_open(f->t, "e", true, &a), 0);
	assert_int_equal(lfs_cursor_flush(a, false), 0);
	assert_int_equal(lfs_cursor_open(f->t, "e", true, &b), -EBUSY);
	/* A read after the opener's flush makes it busy again. */
	assert_int_equal(lfs_cursor_flush(a, true), 0);
	assert_int_equal(lfs_cursor_read(a, buf, 1, 0), 0);
	assert_int_equal(lfs_cursor_open(f->t, "e", true, &b), -EBUSY);
	assert_int_equal(lfs_cursor_close(a), 0);
}

static void test_explicit_mode(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "r0\nr1\nr2\n");
	assert_int_equal(lfs_cursor_create(f->t, "x", true), 0);
	assert_int_equal(lfs_cursor_set_explicit(f->t, "x", true), 0);
	reopen(f);
	assert_true(info(f->t, "x").explicit_commit);
	expect_consume(f->t, "x", "r0\nr1\nr2\n");
	expect_consume(f->t, "x", "r0\nr1\nr2\n");
	assert_int_equal(info(f->t, "x").offset, 0);
	assert_int_equal(lfs_cursor_seek(f->t, "x", "2", tu_now()), 0);
	expect_consume(f->t, "x", "r2\n");
	assert_int_equal(lfs_cursor_set_explicit(f->t, "x", false), 0);
	expect_consume(f->t, "x", "r2\n");
	expect_consume(f->t, "x", "");
}

static void test_seek(void **state)
{
	struct tu_fix *f = *state;
	uint64_t t0 = tu_now();
	tu_append_str(f->t, "a\nb\nc\n");
	assert_int_equal(lfs_cursor_create(f->t, "s", true), 0);
	uint64_t now = tu_now();
	assert_int_equal(lfs_cursor_seek(f->t, "s", "end", now), 0);
	assert_int_equal(info(f->t, "s").offset, 3);
	assert_int_equal(lfs_cursor_seek(f->t, "s", "begin", now), 0);
	assert_int_equal(info(f->t, "s").offset, 0);
	assert_int_equal(lfs_cursor_seek(f->t, "s", "3", now), 0);
	assert_int_equal(lfs_cursor_seek(f->t, "s", "4", now), -EINVAL);
	assert_int_equal(lfs_cursor_seek(f->t, "s", "1", now), 0);
	assert_int_equal(info(f->t, "s").offset, 1);
	assert_int_equal(lfs_cursor_seek(f->t, "s", "@2", now), 0);
	assert_int_equal(info(f->t, "s").offset, 2);
	const char *bad[] = {"", "x", "-1", "1x", "@", "@x", "10m", "-10m", "@-10", "begin ",
			     "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(lfs_cursor_seek(f->t, "s", bad[i], now), -EINVAL);
	assert_int_equal(info(f->t, "s").offset, 2);
	/* Ages and times: everything is newer than an hour, and newer than
	 * the time before the appends; nothing is newer than "now" + 1h. */
	assert_int_equal(lfs_cursor_seek(f->t, "s", "@-1h", now), 0);
	assert_int_equal(info(f->t, "s").offset, 0);
	assert_int_equal(lfs_cursor_seek(f->t, "s", "end", now), 0);
	char when[64];
	time_t secs = (time_t)(t0 / SEC) - 1;
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "@%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_int_equal(lfs_cursor_seek(f->t, "s", when, now), 0);
	assert_int_equal(info(f->t, "s").offset, 0);
	secs = (time_t)(now / SEC) + 3600;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "@%Y-%m-%dT%H:%M:%SZ", &tm);
	assert_int_equal(lfs_cursor_seek(f->t, "s", when, now), 0);
	assert_int_equal(info(f->t, "s").offset, 3);
	assert_int_equal(lfs_cursor_seek(f->t, "nope", "end", now), -ENOENT);
}

static void test_periodic_commit(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "1\n2\n3\n");
	assert_int_equal(lfs_cursor_create(f->t, "follow", true), 0);
	lfs_cursor *c;
	char buf[8];
	uint64_t now = tu_now();
	assert_int_equal(lfs_cursor_open(f->t, "follow", true, &c), 0);
	assert_int_equal(lfs_cursor_read(c, buf, 4, 0), 4);
	/* Too soon: nothing committed yet. */
	lfs_volume_tick(f->v, now);
	assert_int_equal(info(f->t, "follow").offset, 0);
	lfs_volume_tick(f->v, now + SEC);
	assert_int_equal(info(f->t, "follow").offset, 2);
	assert_int_equal(lfs_cursor_read(c, buf, 2, 4), 2);
	lfs_volume_tick(f->v, now + SEC + SEC / 10);
	assert_int_equal(info(f->t, "follow").offset, 2);
	lfs_volume_tick(f->v, now + 2 * SEC);
	assert_int_equal(info(f->t, "follow").offset, 3);
	/* Durable: a reopen (as after a crash, the handle never closed). */
	assert_int_equal(lfs_cursor_close(c), 0);
	reopen(f);
	assert_int_equal(info(f->t, "follow").offset, 3);
}

static void test_retention_skipped(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	char rec[1024];
	memset(rec, 'r', sizeof(rec));
	rec[sizeof(rec) - 1] = '\n';
	assert_int_equal(lfs_cursor_create(f->t, "slow", true), 0);
	for (int i = 0; i < 16; i++) /* four to a segment */
		tu_append(f->t, LFS_FRAMING_LINE, rec, sizeof(rec));
	/* Read two records, then retention deletes the two oldest segments. */
	lfs_cursor *c;
	assert_int_equal(lfs_cursor_open(f->t, "slow", true, &c), 0);
	char buf[2048];
	assert_int_equal(lfs_cursor_read(c, buf, 2048, 0), 2048);
	assert_int_equal(lfs_cursor_close(c), 0);
	assert_int_equal(info(f->t, "slow").offset, 2);
	uint64_t *bases;
	size_t n;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &n), 0);
	assert_true(n >= 3);
	assert_int_equal(lfs_topic_delete_segment(f->t, bases[0]), 0);
	assert_int_equal(lfs_topic_delete_segment(f->t, bases[1]), 0);
	uint64_t first = bases[2];
	free(bases);
	assert_int_equal(info(f->t, "slow").skipped, 0);
	assert_int_equal(lfs_cursor_open(f->t, "slow", true, &c), 0);
	assert_int_equal(info(f->t, "slow").skipped, first - 2);
	assert_int_equal(info(f->t, "slow").offset, first);
	assert_int_equal(lfs_cursor_size(c), (16 - first) * sizeof(rec));
	assert_int_equal(lfs_cursor_close(c), 0);
	reopen(f);
	assert_int_equal(info(f->t, "slow").skipped, first - 2);
	/* A new cursor starts at the first retained record. */
	assert_int_equal(lfs_cursor_create(f->t, "new", true), 0);
	assert_int_equal(info(f->t, "new").offset, first);
	assert_int_equal(info(f->t, "new").skipped, 0);
	/* Seeking below it resumes there, with nothing counted. */
	assert_int_equal(lfs_cursor_seek(f->t, "new", "0", tu_now()), 0);
	assert_int_equal(info(f->t, "new").offset, first);
}

/* Writes bytes at off into the store file of topic app. */
static void poke(struct tu_fix *f, uint64_t off, const void *buf, size_t len)
{
	char *p = tu_fmt("%s/topics/app/%s", f->vol, LFS_CURSOR_FILE);
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
	free(p);
}

static void count_problem(void *ctx, const struct lfs_problem *p)
{
	assert_int_equal(p->kind, LFS_PROB_CURSOR);
	(*(int *)ctx)++;
}

static void test_damaged_store(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "a\nb\nc\nd\n");
	const char *names[] = {"one", "two", "three", "four"};
	for (int i = 0; i < 4; i++)
		assert_int_equal(lfs_cursor_create(f->t, names[i], true), 0);
	/* one: two commits, so both of its slots hold a state. */
	assert_int_equal(lfs_cursor_seek(f->t, "one", "1", tu_now()), 0);
	assert_int_equal(lfs_cursor_seek(f->t, "one", "3", tu_now()), 0);
	assert_int_equal(lfs_cursor_seek(f->t, "three", "4", tu_now()), 0);
	lfs_topic_put(f->t);
	f->t = NULL;
	assert_int_equal(lfs_volume_close(f->v), 0);
	f->v = NULL;

	/* Pairs: one=0, two=1, three=2, four=3. one's newest commit (seq 3,
	 * slot 1) is torn; two is destroyed; four claims a position beyond
	 * the log; and half an entry trails the file. */
	unsigned char junk[LFS_CURSOR_PAIR_SIZE];
	memset(junk, 0xa5, sizeof(junk));
	poke(f, 0 * LFS_CURSOR_PAIR_SIZE + LFS_CURSOR_SLOT_SIZE + 20, junk, 8);
	poke(f, 1 * LFS_CURSOR_PAIR_SIZE, junk, LFS_CURSOR_PAIR_SIZE);
	struct lfs_cursor_slot s = {.seq = 9, .offset = 1000};
	strcpy(s.name, "four");
	unsigned char slot[LFS_CURSOR_SLOT_SIZE];
	lfs_cursor_slot_encode(&s, slot);
	poke(f, 3 * LFS_CURSOR_PAIR_SIZE + LFS_CURSOR_SLOT_SIZE, slot, sizeof(slot));
	poke(f, 4 * LFS_CURSOR_PAIR_SIZE, junk, 100);

	/* The shared check, read-only: four problems, nothing changed. */
	char *dir = tu_fmt("%s/topics/app", f->vol);
	int tfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(tfd >= 0);
	int problems = 0;
	bool repaired;
	struct lfs_cursor_found *found;
	size_t nfound;
	assert_int_equal(lfs_cursor_store_check(tfd, "app", 0, 4, false, count_problem, &problems,
						&found, &nfound, &repaired),
			 4);
	assert_int_equal(problems, 4);
	assert_false(repaired);
	assert_int_equal(nfound, 3);
	assert_string_equal(found[0].name, "four");
	assert_int_equal(found[0].offset, 4);
	assert_string_equal(found[1].name, "one");
	assert_int_equal(found[1].offset, 1);
	assert_string_equal(found[2].name, "three");
	assert_int_equal(found[2].offset, 4);
	lfs_cursor_found_free(found, nfound);
	char *store = tu_fmt("%s/%s", dir, LFS_CURSOR_FILE);
	assert_int_equal(tu_file_size(store), 4 * LFS_CURSOR_PAIR_SIZE + 100);

	/* A mount reads no store; the first operation on the topic's cursors
	 * repairs it with the same check, against the log's end at mount
	 * (4), even after appends moved the end past four's position: the
	 * valid cursors survive. */
	f->v = tu_open(f->vol);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);
	assert_int_equal(tu_file_size(store), 4 * LFS_CURSOR_PAIR_SIZE + 100);
	tu_append_str(f->t, "e\n");
	for (int i = 0; i < 1000; i++)
		tu_append_str(f->t, "f\n");
	assert_int_equal(info(f->t, "four").offset, 4);
	assert_int_equal(tu_file_size(store), 3 * LFS_CURSOR_PAIR_SIZE);
	assert_int_equal(info(f->t, "one").offset, 1);
	assert_int_equal(info(f->t, "three").offset, 4);
	struct lfs_cursor_info ci;
	assert_int_equal(lfs_cursor_stat(f->t, "two", &ci), -ENOENT);
	char *want = tu_fmt("b\nc\nd\ne\n%s", "");
	for (int i = 0; i < 1000; i++) {
		char *w = tu_fmt("%sf\n", want);
		free(want);
		want = w;
	}
	expect_consume(f->t, "one", want);
	free(want);
	problems = 0;
	assert_int_equal(lfs_cursor_store_check(tfd, "app", 0, 1005, false, count_problem, &problems,
						NULL, NULL, &repaired),
			 0);
	assert_int_equal(problems, 0);
	close(tfd);
	free(store);
	free(dir);
}

static void test_duplicate_names(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "a\nb\n");
	assert_int_equal(lfs_cursor_create(f->t, "d", true), 0);
	struct lfs_cursor_slot s = {.seq = 5, .offset = 2};
	strcpy(s.name, "d");
	unsigned char slot[LFS_CURSOR_SLOT_SIZE];
	lfs_cursor_slot_encode(&s, slot);
	poke(f, LFS_CURSOR_PAIR_SIZE + LFS_CURSOR_SLOT_SIZE, slot, sizeof(slot));
	reopen(f);
	assert_int_equal(info(f->t, "d").offset, 2);
	char **names;
	size_t n;
	assert_int_equal(lfs_cursor_list(f->t, &names, &n), 0);
	assert_int_equal(n, 1);
	free(names[0]);
	free(names);
}

static void test_many_cursors(void **state)
{
	struct tu_fix *f = *state;
	char name[32];
	tu_append_str(f->t, "x\n");
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "c%04d", i);
		assert_int_equal(lfs_cursor_create(f->t, name, true), 0);
	}
	for (int i = 0; i < 1000; i += 2) {
		snprintf(name, sizeof(name), "c%04d", i);
		assert_int_equal(lfs_cursor_seek(f->t, name, "end", tu_now()), 0);
	}
	reopen(f);
	char **names;
	size_t n;
	assert_int_equal(lfs_cursor_list(f->t, &names, &n), 0);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%04zu", i);
		assert_string_equal(names[i], name);
		assert_int_equal(info(f->t, name).offset, i % 2 ? 0 : 1);
		free(names[i]);
	}
	free(names);
}

static void test_readonly(void **state)
{
	struct tu_fix *f = *state;
	tu_append_str(f->t, "a\n");
	assert_int_equal(lfs_cursor_create(f->t, "r", true), 0);
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	struct lfs_open_opts o = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(tu_volume_open(f->vol, &o, &f->v, NULL), 0);
	assert_int_equal(lfs_topic_get(f->v, "app", &f->t), 0);
	assert_int_equal(lfs_cursor_create(f->t, "new", true), -EROFS);
	assert_int_equal(lfs_cursor_seek(f->t, "r", "end", tu_now()), -EROFS);
	assert_int_equal(lfs_cursor_delete(f->t, "r"), -EROFS);
	/* Reading works; the position does not move. */
	expect_consume(f->t, "r", "a\n");
	expect_consume(f->t, "r", "a\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_codec),
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_fix_setup, tu_fix_teardown)
		T(test_create_list_delete),
		T(test_commit_on_close),
		T(test_partial_read),
		T(test_exclusive_reader),
		T(test_explicit_mode),
		T(test_seek),
		T(test_periodic_commit),
		T(test_retention_skipped),
		T(test_damaged_store),
		T(test_duplicate_names),
		T(test_many_cursors),
		T(test_readonly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
