/* The global bound on held line fragments (lfs_open_opts.held_max): a write
 * whose fragment would pass it fails with ENOBUFS and appends nothing, and
 * the memory comes back when fragments are committed and handles closed. */
#include "testutil.h"

static char *g_vol;

static int teardown(void **state)
{
	(void)state;
	if (g_vol) {
		tu_rmvol(g_vol);
		g_vol = NULL;
	}
	return 0;
}

#define BUDGET (64u << 10)

static lfs_volume *open_budget(void)
{
	g_vol = tu_mkvol(0);
	struct lfs_open_opts o = {.held_max = BUDGET};
	lfs_volume *v = NULL;
	assert_int_equal(tu_volume_open(g_vol, &o, &v, NULL), 0);
	return v;
}

static uint64_t next_offset(lfs_topic *t)
{
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	return st.next_offset;
}

static void test_budget_bounds_held_fragments(void **state)
{
	(void)state;
	lfs_volume *v = open_budget();
	lfs_topic *t = tu_topic(v, "t");
	char *frag = malloc(40000);
	assert_non_null(frag);
	memset(frag, 'x', 40000);
	lfs_producer *a, *b;
	assert_int_equal(lfs_producer_open(t, &a), 0);
	assert_int_equal(lfs_producer_open(t, &b), 0);
	assert_int_equal(lfs_volume_held_bytes(v), 0);

	assert_int_equal(lfs_producer_write(a, frag, 40000), 40000);
	uint64_t held = lfs_volume_held_bytes(v);
	assert_true(held >= 40000 && held <= BUDGET);

	/* b's fragment would take the total past the budget. */
	assert_int_equal(lfs_producer_write(b, frag, 40000), -ENOBUFS);
	assert_int_equal(lfs_volume_held_bytes(v), held);
	/* A write whose complete lines come before such a fragment appends
	 * nothing either. */
	char *mixed = malloc(40010);
	assert_non_null(mixed);
	memcpy(mixed, "complete\n", 9);
	memset(mixed + 9, 'y', 40001);
	assert_int_equal(lfs_producer_write(b, mixed, 40010), -ENOBUFS);
	assert_int_equal(next_offset(t), 0);
	/* A write that holds nothing is not bounded. */
	assert_int_equal(lfs_producer_write(b, "short\n", 6), 6);
	assert_int_equal(next_offset(t), 1);

	/* a's line ends: its buffer goes back, and b fits. */
	assert_int_equal(lfs_producer_write(a, "\n", 1), 1);
	assert_int_equal(next_offset(t), 2);
	assert_int_equal(lfs_volume_held_bytes(v), 0);
	assert_int_equal(lfs_producer_write(b, mixed, 40010), 40010);
	assert_int_equal(next_offset(t), 3);
	assert_true(lfs_volume_held_bytes(v) >= 40001);

	/* Closing gives back what the handle held (its fragment committed). */
	assert_int_equal(lfs_producer_close(b), 0);
	assert_int_equal(next_offset(t), 4);
	assert_int_equal(lfs_volume_held_bytes(v), 0);
	assert_int_equal(lfs_producer_close(a), 0);
	assert_int_equal(lfs_volume_held_bytes(v), 0);
	free(mixed);
	free(frag);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

/* Many handles each holding a small fragment: the total stays within the
 * budget and every handle that fits works. */
static void test_budget_many_handles(void **state)
{
	(void)state;
	lfs_volume *v = open_budget();
	lfs_topic *t = tu_topic(v, "t");
	enum { N = 100 };
	lfs_producer *p[N];
	char frag[1000];
	memset(frag, 'z', sizeof(frag));
	int ok = 0, refused = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(lfs_producer_open(t, &p[i]), 0);
		ssize_t n = lfs_producer_write(p[i], frag, sizeof(frag));
		if (n == (ssize_t)sizeof(frag))
			ok++;
		else if (n == -ENOBUFS)
			refused++;
		else
			fail_msg("write returned %zd", n);
		assert_true(lfs_volume_held_bytes(v) <= BUDGET);
	}
	/* 1000 bytes take a 1 KiB buffer: 64 fit. */
	assert_int_equal(ok, BUDGET / 1024);
	assert_int_equal(refused, N - BUDGET / 1024);
	for (int i = 0; i < N; i++)
		assert_int_equal(lfs_producer_close(p[i]), 0);
	assert_int_equal(lfs_volume_held_bytes(v), 0);
	assert_int_equal(next_offset(t), (uint64_t)ok);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
	const struct CMUnitTest tests[] = {
		T(test_budget_bounds_held_fragments),
		T(test_budget_many_handles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
