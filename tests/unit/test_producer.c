/* Producers: writer handles that frame lines across writes. */
#include "testutil.h"

#include "internal.h"


static uint64_t next_offset(lfs_topic *t)
{
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	return st.next_offset;
}

static void expect_contents(lfs_topic *t, const char *want)
{
	tu_expect_contents(t, want, strlen(want));
}

static ssize_t pw(lfs_producer *p, const char *s)
{
	return lfs_producer_write(p, s, strlen(s));
}

static void test_fragments_held_across_writes(void **state)
{
	struct tu_fix *f = *state;
	lfs_producer *p;
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	assert_int_equal(pw(p, "hel"), 3);
	assert_true(next_offset(f->t) == 0);
	expect_contents(f->t, "");
	assert_int_equal(pw(p, "lo\nwor"), 6);
	assert_true(next_offset(f->t) == 1);
	expect_contents(f->t, "hello\n");
	assert_int_equal(pw(p, "ld"), 2);
	assert_int_equal(pw(p, ""), 0);
	assert_true(next_offset(f->t) == 1);
	/* Several lines in one write: one record each, one batch. */
	assert_int_equal(pw(p, "!\na\nb\nc"), 7);
	assert_true(next_offset(f->t) == 4);
	expect_contents(f->t, "hello\nworld!\na\nb\n");
	/* Exactly terminated: nothing held. */
	assert_int_equal(pw(p, "d\n"), 2);
	expect_contents(f->t, "hello\nworld!\na\nb\ncd\n");
	assert_int_equal(lfs_producer_flush(p, false), 0); /* nothing held */
	assert_true(next_offset(f->t) == 5);
	assert_int_equal(lfs_producer_close(p), 0);
	assert_true(next_offset(f->t) == 5);
}

static void test_flush_and_close_commit_fragment(void **state)
{
	struct tu_fix *f = *state;
	lfs_producer *p;
	tu_set(f->t, LFS_SET_SYNC, "never");
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	assert_int_equal(pw(p, "partial"), 7);
	/* fsync: the fragment becomes a record with '\n' added, durable. */
	assert_int_equal(lfs_producer_flush(p, true), 0);
	expect_contents(f->t, "partial\n");
	lfs_mutex_lock(&f->t->sync_mu);
	assert_true(f->t->durable_offset == 1);
	lfs_mutex_unlock(&f->t->sync_mu);
	/* A flush without sync commits without syncing. */
	assert_int_equal(pw(p, "second"), 6);
	assert_int_equal(lfs_producer_flush(p, false), 0);
	expect_contents(f->t, "partial\nsecond\n");
	lfs_mutex_lock(&f->t->sync_mu);
	assert_true(f->t->durable_offset == 1);
	lfs_mutex_unlock(&f->t->sync_mu);
	/* close commits what is held. */
	assert_int_equal(pw(p, "last"), 4);
	assert_int_equal(lfs_producer_close(p), 0);
	expect_contents(f->t, "partial\nsecond\nlast\n");
	assert_true(next_offset(f->t) == 3);
	assert_int_equal(lfs_producer_close(NULL), 0);
}

static void test_oversize_fragment(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_MAX_RECORD, "8");
	lfs_producer *p;
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	/* 7 bytes + the '\n' it will get: fits. */
	assert_int_equal(pw(p, "1234567"), 7);
	assert_int_equal(pw(p, "\n"), 1);
	expect_contents(f->t, "1234567\n");

	/* A complete line and a too-long tail: nothing is appended. */
	assert_int_equal(pw(p, "ok\n12345678"), -EMSGSIZE);
	assert_true(next_offset(f->t) == 1);
	/* A too-long line in the middle of a write. */
	assert_int_equal(pw(p, "a\n123456789\nb\n"), -EMSGSIZE);
	assert_true(next_offset(f->t) == 1);
	/* A write that is too long by itself, nothing held: it fails and the
	 * next write starts a line. */
	assert_int_equal(pw(p, "123456789"), -EMSGSIZE);
	assert_int_equal(pw(p, "x\n"), 2);
	expect_contents(f->t, "1234567\nx\n");
	/* A held fragment and a too-long line in a later write that does not
	 * continue it: the fragment stays. */
	assert_int_equal(pw(p, "ab"), 2);
	assert_int_equal(pw(p, "c\n123456789\n"), -EMSGSIZE);
	assert_int_equal(pw(p, "c\n"), 2);
	expect_contents(f->t, "1234567\nx\nabc\n");
	assert_int_equal(lfs_producer_close(p), 0);
	expect_contents(f->t, "1234567\nx\nabc\n");
}

/* The kernel splits a large write(2) into requests and reports the bytes of
 * the requests before a failed one as written: a line that outgrows
 * max_record after part of it was held is dropped whole, never committed in
 * part (not at close, not at fsync), and the rest of it, which a writer
 * retries, is refused through its '\n'. */
static void test_oversize_line_across_writes(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_MAX_RECORD, "8");
	lfs_producer *p;
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	assert_int_equal(pw(p, "a\n1234"), 6);
	assert_int_equal(pw(p, "5678"), -EMSGSIZE); /* 1234 5678 + '\n' > 8 */
	assert_int_equal(pw(p, "5678"), -EMSGSIZE); /* the retried rest */
	assert_int_equal(pw(p, "9"), -EMSGSIZE);
	/* The write with the line's end fails whole. */
	assert_int_equal(pw(p, "0\nb\n"), -EMSGSIZE);
	assert_int_equal(pw(p, "c\n"), 2);
	expect_contents(f->t, "a\nc\n");

	/* The line that outgrows in the write holding its '\n'. */
	assert_int_equal(pw(p, "1234"), 4);
	assert_int_equal(pw(p, "5678\nd\n"), -EMSGSIZE);
	assert_int_equal(pw(p, "e\n"), 2);
	expect_contents(f->t, "a\nc\ne\n");

	/* Nothing of a dropped line at close... */
	assert_int_equal(pw(p, "1234"), 4);
	assert_int_equal(pw(p, "5678"), -EMSGSIZE);
	assert_int_equal(lfs_producer_close(p), 0);
	expect_contents(f->t, "a\nc\ne\n");
	assert_true(next_offset(f->t) == 3);

	/* ... nor at fsync, which ends the line: the next write starts anew. */
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	assert_int_equal(pw(p, "1234"), 4);
	assert_int_equal(pw(p, "5678"), -EMSGSIZE);
	assert_int_equal(lfs_producer_flush(p, true), 0);
	expect_contents(f->t, "a\nc\ne\n");
	assert_int_equal(pw(p, "f\n"), 2);
	assert_int_equal(lfs_producer_close(p), 0);
	expect_contents(f->t, "a\nc\ne\nf\n");
}

static void test_write_framing_producer(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_FRAMING, "write");
	tu_set(f->t, LFS_SET_MAX_RECORD, "10");
	lfs_producer *p;
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	assert_int_equal(pw(p, "no newline"), 10);
	assert_int_equal(pw(p, "a\nb\n"), 4);
	assert_int_equal(lfs_producer_write(p, "\0\0", 2), 2);
	assert_int_equal(pw(p, "eleven byte"), -EMSGSIZE);
	assert_true(next_offset(f->t) == 3);
	assert_int_equal(lfs_producer_flush(p, true), 0);
	assert_int_equal(lfs_producer_close(p), 0);
	assert_true(next_offset(f->t) == 3);
	tu_expect_contents(f->t, "no newlinea\nb\n\0\0", 16);
}

/* The daemon bounds write-framed records by what one kernel request
 * carries: own settings above it are refused, inherited ones clamped. */
static void test_write_record_max(void **state)
{
	struct tu_fix *f = *state;
	struct lfs_settings st;
	lfs_volume_set_write_record_max(f->v, 100);
	lfs_topic_settings(f->t, &st);
	assert_true(st.max_record == 1u << 20); /* line framing: unbounded */
	tu_set(f->t, LFS_SET_FRAMING, "write");
	lfs_topic_settings(f->t, &st);
	assert_true(st.max_record == 100); /* the inherited 1M, clamped */
	assert_int_equal(lfs_topic_set(f->t, LFS_SET_MAX_RECORD, "101"), -EINVAL);
	assert_int_equal(lfs_topic_set(f->t, LFS_SET_MAX_RECORD, "4M"), -EINVAL);
	tu_set(f->t, LFS_SET_MAX_RECORD, "100");
	lfs_producer *p;
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	char buf[101];
	memset(buf, 'w', sizeof(buf));
	assert_int_equal(lfs_producer_write(p, buf, 101), -EMSGSIZE);
	assert_int_equal(lfs_producer_write(p, buf, 100), 100);
	assert_int_equal(lfs_producer_close(p), 0);
	assert_true(next_offset(f->t) == 1);

	/* framing=write on a topic whose own max_record is above the bound. */
	lfs_topic *t2;
	struct lfs_topic_meta m = {.mode = 0755};
	assert_int_equal(lfs_topic_create(f->v, "two", &m, &t2), 0);
	tu_set(t2, LFS_SET_MAX_RECORD, "200");
	assert_int_equal(lfs_topic_set(t2, LFS_SET_FRAMING, "write"), -EINVAL);
	lfs_topic_settings(t2, &st);
	assert_int_equal(st.framing, LFS_FRAMING_LINE);
	lfs_volume_set_write_record_max(f->v, 0);
	assert_int_equal(lfs_topic_set(t2, LFS_SET_FRAMING, "write"), 0);
	lfs_topic_put(t2);
}

static void test_producers_have_own_fragments(void **state)
{
	struct tu_fix *f = *state;
	lfs_producer *a, *b;
	assert_int_equal(lfs_producer_open(f->t, &a), 0);
	assert_int_equal(lfs_producer_open(f->t, &b), 0);
	assert_int_equal(pw(a, "A1"), 2);
	assert_int_equal(pw(b, "B1\nB2"), 5);
	assert_int_equal(pw(a, "-end\n"), 5);
	assert_int_equal(lfs_producer_close(b), 0);
	assert_int_equal(lfs_producer_close(a), 0);
	expect_contents(f->t, "B1\nA1-end\nB2\n");
}

static void test_producer_holds_topic(void **state)
{
	struct tu_fix *f = *state;
	lfs_producer *p;
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	assert_int_equal(pw(p, "x"), 1);
	assert_int_equal(lfs_topic_delete(f->v, "app"), -EBUSY);
	assert_int_equal(lfs_producer_close(p), 0);
	expect_contents(f->t, "x\n");
	lfs_topic_put(f->t);
	f->t = NULL;
	assert_int_equal(lfs_topic_delete(f->v, "app"), 0);
}

/* A producer's records survive a reopen, with their framing. */
static void test_producer_then_reopen(void **state)
{
	struct tu_fix *f = *state;
	lfs_producer *p;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	assert_int_equal(lfs_producer_open(f->t, &p), 0);
	struct tu_buf want = {0};
	char line[200];
	for (int i = 0; i < 300; i++) {
		int n = snprintf(line, sizeof(line), "producer line %d with a little padding\n", i);
		/* Write it in two pieces, split at a moving point. */
		size_t cut = (size_t)i % (size_t)n;
		assert_int_equal(lfs_producer_write(p, line, cut), (ssize_t)cut);
		assert_int_equal(lfs_producer_write(p, line + cut, (size_t)n - cut),
				 (ssize_t)((size_t)n - cut));
		tu_buf_add(&want, line, (size_t)n);
	}
	assert_int_equal(lfs_producer_close(p), 0);
	assert_true(next_offset(f->t) == 300);
	tu_reopen(f->vol, &f->v, &f->t);
	expect_contents(f->t, want.p);
	assert_true(next_offset(f->t) == 300);
	free(want.p);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_fix_setup, tu_fix_teardown)
	const struct CMUnitTest tests[] = {
		T(test_fragments_held_across_writes),
		T(test_flush_and_close_commit_fragment),
		T(test_oversize_fragment),
		T(test_oversize_line_across_writes),
		T(test_write_framing_producer),
		T(test_write_record_max),
		T(test_producers_have_own_fragments),
		T(test_producer_holds_topic),
		T(test_producer_then_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
