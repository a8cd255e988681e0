/* When rolled segments get their seal: at the next tick for sync=always and
 * sync=MS topics; for sync=never topics once they are 30 s old or more than
 * 1 GiB of the topic waits, and on a sync or a clean close for all. */
#include "testutil.h"

#include "internal.h"

/* Rolled segments of topic "app", oldest first, as bases; caller frees. */
static uint64_t *rolled(lfs_topic *t, size_t *n)
{
	uint64_t *bases = NULL;
	assert_int_equal(lfs_topic_list_sealed(t, &bases, n), 0);
	return bases;
}

/* Whether the segment's index ends with a seal entry on disk. */
static bool seal_on_disk(const char *vol, uint64_t base)
{
	char *p = tu_seg_path(vol, "app", base, "idx");
	struct lfs_idx_header h;
	struct lfs_idx_entry *e;
	size_t n;
	bool sealed;
	assert_true(tu_idx_load(p, &h, &e, &n, &sealed));
	free(e);
	free(p);
	return sealed;
}

/* Appends 1 KiB lines to a 4 KiB-segment topic until it has rolled `more`
 * more times; returns how many rolled segments it has. */
static size_t roll_times(lfs_topic *t, size_t more)
{
	char line[1024];
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	size_t start, n;
	free(rolled(t, &start));
	do {
		tu_append(t, LFS_FRAMING_LINE, line, sizeof(line));
		free(rolled(t, &n));
	} while (n < start + more);
	return n;
}

/* Makes the topic sync=never and rolls it `rolls` times; returns the rolled
 * bases (caller frees). */
static uint64_t *never_rolled(lfs_topic *t, size_t rolls, size_t *n)
{
	tu_set(t, LFS_SET_SYNC, "never");
	roll_times(t, rolls);
	return rolled(t, n);
}

static int setup_small(void **state)
{
	tu_fix_setup(state);
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SEGMENT_SIZE, "4096");
	return 0;
}

static void test_never_seals_after_age(void **state)
{
	struct tu_fix *f = *state;
	size_t n;
	uint64_t *b = never_rolled(f->t, 3, &n);
	uint64_t now = tu_now();
	lfs_topic_tick(f->t, now);
	for (size_t i = 0; i < n; i++)
		assert_false(seal_on_disk(f->vol, b[i]));
	lfs_topic_tick(f->t, now + 29ull * 1000000000ull);
	assert_false(seal_on_disk(f->vol, b[0]));
	lfs_topic_tick(f->t, now + 31ull * 1000000000ull);
	for (size_t i = 0; i < n; i++)
		assert_true(seal_on_disk(f->vol, b[i]));
	free(b);
}

/* A tick whose clock was read before a roll (the ticker runs beside the
 * appenders) does not take the segment rolled since for 30 s old. */
static void test_never_tick_from_before_the_roll(void **state)
{
	struct tu_fix *f = *state;
	uint64_t before = tu_now();
	tu_advance_ms(5);
	size_t n;
	uint64_t *b = never_rolled(f->t, 2, &n);
	lfs_topic_tick(f->t, before);
	for (size_t i = 0; i < n; i++)
		assert_false(seal_on_disk(f->vol, b[i]));
	free(b);
}

static void test_interval_and_always_seal_at_tick(void **state)
{
	struct tu_fix *f = *state;
	const char *modes[] = {"100", "always"};
	uint64_t done = 0;
	for (int m = 0; m < 2; m++) {
		tu_set(f->t, LFS_SET_SYNC, modes[m]);
		size_t n;
		roll_times(f->t, 2);
		uint64_t *b = rolled(f->t, &n);
		lfs_topic_tick(f->t, tu_now());
		for (size_t i = done; i < n; i++)
			assert_true(seal_on_disk(f->vol, b[i]));
		done = n;
		free(b);
	}
}

static void test_never_sync_and_close_seal_everything(void **state)
{
	struct tu_fix *f = *state;
	size_t n;
	uint64_t *b = never_rolled(f->t, 2, &n);
	assert_false(seal_on_disk(f->vol, b[0]));
	assert_int_equal(lfs_topic_sync(f->t), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(seal_on_disk(f->vol, b[i]));
	free(b);

	roll_times(f->t, 4);
	b = rolled(f->t, &n);
	assert_false(seal_on_disk(f->vol, b[n - 1]));
	lfs_topic_put(f->t);
	f->t = NULL;
	assert_int_equal(lfs_volume_close(f->v), 0);
	f->v = NULL;
	for (size_t i = 0; i < n; i++)
		assert_true(seal_on_disk(f->vol, b[i]));
	free(b);
}

/* More than 1 GiB waiting: the oldest are sealed at once until no more than
 * 1 GiB waits. Three 400 MiB segments: the first is sealed, the others
 * wait. */
static void test_never_bounds_unsealed_bytes(void **state)
{
	struct tu_fix *f = *state;
	tu_set(f->t, LFS_SET_SYNC, "never");
	size_t blen = 1u << 20;
	char *batch = malloc(blen);
	assert_non_null(batch);
	memset(batch, 'y', blen);
	for (size_t i = 99; i < blen; i += 100)
		batch[i] = '\n';
	blen = blen / 100 * 100;
	size_t n = 0;
	while (n < 3) {
		struct iovec iov = {batch, blen};
		assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, &iov, 1, NULL), 0);
		free(rolled(f->t, &n));
	}
	free(batch);
	uint64_t *b = rolled(f->t, &n);
	/* As the last roll happened: what is due is due by bytes, however
	 * slowly a loaded machine wrote the 1.2 GB (not by age). */
	lfs_mutex_lock(&f->t->append_mu);
	uint64_t now = f->t->unsealed[f->t->nunsealed - 1]->frozen_ns;
	lfs_mutex_unlock(&f->t->append_mu);
	lfs_topic_tick(f->t, now);
	assert_true(seal_on_disk(f->vol, b[0]));
	assert_false(seal_on_disk(f->vol, b[1]));
	assert_false(seal_on_disk(f->vol, b[2]));
	free(b);
}

/* A volume whose segments are 400 MiB from the first one on. */
/* Rolled, directory not yet synced (internal.h): a roll flushes nothing;
 * the directory entries of the segments it made become durable at a sync
 * point, or when the sealer writes a seal. */
static bool dir_unsynced(lfs_topic *t)
{
	return t->rolls_synced < t->rolls;
}

static void test_roll_leaves_directory_to_sync_points(void **state)
{
	struct tu_fix *f = *state;
	size_t n;
	tu_set(f->t, LFS_SET_SYNC, "never");
	/* The first sync point after the topic's creation syncs it. */
	tu_append(f->t, LFS_FRAMING_LINE, "a\n", 2);
	assert_int_equal(lfs_topic_sync(f->t), 0);
	assert_false(dir_unsynced(f->t));
	free(never_rolled(f->t, 2, &n));
	assert_true(dir_unsynced(f->t));
	/* A tick with no seal due does not sync it: it waits too. */
	lfs_topic_tick(f->t, tu_now());
	assert_true(dir_unsynced(f->t));
	/* fsync(2) does. */
	assert_int_equal(lfs_topic_sync(f->t), 0);
	assert_false(dir_unsynced(f->t));
	/* So does a seal the ticker writes (30 s on). */
	roll_times(f->t, 1);
	assert_true(dir_unsynced(f->t));
	lfs_topic_tick(f->t, tu_now() + 31ull * 1000000000ull);
	assert_false(dir_unsynced(f->t));
}

/* sync=always: the append that rolls returns after its commit, which
 * synced the directory too; sync=MS: the next tick that seals. */
static void test_always_commit_syncs_the_roll(void **state)
{
	struct tu_fix *f = *state;
	char line[1024];
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	tu_set(f->t, LFS_SET_SYNC, "always");
	uint64_t rolls = f->t->rolls;
	while (f->t->rolls == rolls) {
		tu_append(f->t, LFS_FRAMING_LINE, line, sizeof(line));
		assert_false(dir_unsynced(f->t));
	}
	tu_set(f->t, LFS_SET_SYNC, "100");
	roll_times(f->t, 1);
	assert_true(dir_unsynced(f->t));
	lfs_topic_tick(f->t, tu_now());
	assert_false(dir_unsynced(f->t));
}

static int setup_big(void **state)
{
	struct tu_fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->vol = tu_mkvol(400u << 20);
	f->v = tu_open(f->vol);
	f->t = tu_topic(f->v, "app");
	*state = f;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_never_seals_after_age, setup_small,
						tu_fix_teardown),
		cmocka_unit_test_setup_teardown(test_never_tick_from_before_the_roll, setup_small,
						tu_fix_teardown),
		cmocka_unit_test_setup_teardown(test_interval_and_always_seal_at_tick, setup_small,
						tu_fix_teardown),
		cmocka_unit_test_setup_teardown(test_never_sync_and_close_seal_everything,
						setup_small, tu_fix_teardown),
		cmocka_unit_test_setup_teardown(test_roll_leaves_directory_to_sync_points,
						setup_small, tu_fix_teardown),
		cmocka_unit_test_setup_teardown(test_always_commit_syncs_the_roll, setup_small,
						tu_fix_teardown),
		cmocka_unit_test_setup_teardown(test_never_bounds_unsealed_bytes, setup_big,
						tu_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
