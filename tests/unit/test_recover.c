/* The cross-segment recovery policy (recover.c), as a table: a topic's
 * segment listing (which files each segment has, what its index header
 * says, how each kept segment ended) and the action decided for each
 * segment. The mount and fsck.logfs both walk a topic through these calls,
 * so this is the policy both apply (tests/integration/recovery_matrix.sh
 * checks that they end with the same log). */
#include "testutil.h"

#include "internal.h"

enum hdr { H_OK, H_NONE, H_BAD, H_OTHER /* names another base */ };

struct seg_case {
	uint64_t base;
	bool log, idx;
	enum hdr hdr;
	/* When kept: the next offset, and whether it never carried a seal. */
	uint64_t next;
	bool never_sealed;
	enum lfs_rec_action want;
};

struct policy_case {
	const char *name;
	size_t n;
	struct seg_case s[6];
};

#define K LFS_REC_LOAD
#define FD LFS_REC_FINISH_DELETION
#define MN LFS_REC_MISNAMED
#define OV LFS_REC_OVERLAP
#define AL LFS_REC_AFTER_LOSS

static const struct policy_case cases[] = {
	{"healthy",
	 3,
	 {{0, 1, 1, H_OK, 40, 0, K}, {40, 1, 1, H_OK, 80, 0, K}, {80, 1, 1, H_OK, 90, 1, K}}},
	{"deletion of the oldest cut short: finished",
	 3,
	 {{0, 0, 1, H_OK, 0, 0, FD}, {40, 1, 1, H_OK, 80, 0, K}, {80, 1, 1, H_OK, 90, 1, K}}},
	{"deletion cut short, damaged header: finished all the same",
	 2,
	 {{0, 0, 1, H_BAD, 0, 0, FD}, {40, 1, 1, H_OK, 50, 1, K}}},
	{"the only segment lost its data file: scanned (its offsets kept)",
	 1,
	 {{0, 0, 1, H_OK, 40, 0, K}}},
	{"a later segment lost its data file: scanned",
	 3,
	 {{0, 1, 1, H_OK, 40, 0, K}, {40, 0, 1, H_OK, 80, 0, K}, {80, 1, 1, H_OK, 90, 1, K}}},
	{"header names another base: lost+found",
	 4,
	 {{0, 1, 1, H_OK, 40, 0, K},
	  {40, 1, 1, H_OK, 80, 0, K},
	  {100, 1, 1, H_OTHER, 0, 0, MN},
	  {120, 1, 1, H_OK, 150, 1, K}}},
	{"overlap: lost+found",
	 4,
	 {{0, 1, 1, H_OK, 40, 0, K},
	  {40, 1, 1, H_OK, 80, 0, K},
	  {41, 1, 1, H_OK, 0, 0, OV},
	  {80, 1, 1, H_OK, 90, 1, K}}},
	{"a never-sealed segment lost its end: the rest to lost+found",
	 4,
	 {{0, 1, 1, H_OK, 40, 0, K},
	  {40, 1, 1, H_OK, 70, 1, K},
	  {80, 1, 1, H_OK, 0, 0, AL},
	  {120, 1, 1, H_OK, 0, 0, AL}}},
	{"a sealed segment lost its end (damage since): the rest stays",
	 3,
	 {{0, 1, 1, H_OK, 30, 0, K}, {40, 1, 1, H_OK, 80, 0, K}, {80, 1, 1, H_OK, 90, 1, K}}},
	{"never sealed but whole: the rest stays",
	 3,
	 {{0, 1, 1, H_OK, 40, 1, K}, {40, 1, 1, H_OK, 80, 1, K}, {80, 1, 1, H_OK, 90, 1, K}}},
	{"a misnamed segment does not end the prefix",
	 3,
	 {{0, 1, 1, H_OK, 40, 1, K}, {20, 1, 1, H_OTHER, 0, 0, MN}, {40, 1, 1, H_OK, 50, 1, K}}},
	{"only an index, as the last segment: scanned",
	 2,
	 {{0, 1, 1, H_OK, 40, 0, K}, {40, 0, 1, H_NONE, 40, 0, K}}},
};

static void test_policy_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct policy_case *pc = &cases[c];
		struct lfs_rec_seg segs[6];
		for (size_t i = 0; i < pc->n; i++)
			segs[i] = (struct lfs_rec_seg){
				.base = pc->s[i].base, .has_log = pc->s[i].log, .has_idx = pc->s[i].idx};
		struct lfs_recover r;
		lfs_recover_init(&r, segs, pc->n);
		for (size_t i = 0; i < pc->n; i++) {
			const struct seg_case *sc = &pc->s[i];
			struct lfs_idx_header h = {.version = LFS_FORMAT_VERSION,
						   .framing = LFS_FRAMING_LINE,
						   .base_offset = sc->hdr == H_OTHER ? sc->base + 7 : sc->base,
						   .stream_pos = 100 * sc->base};
			int hrc = sc->hdr == H_NONE ? -ENOENT : sc->hdr == H_BAD ? -EUCLEAN : 0;
			enum lfs_rec_action a = lfs_recover_decide(&r, i, hrc, &h);
			if (a != sc->want)
				fail_msg("%s: segment %llu: action %d, want %d", pc->name,
					 (unsigned long long)sc->base, (int)a, (int)sc->want);
			if (a == LFS_REC_LOAD) {
				/* The first kept segment keeps its header's
				 * position; every later one follows on. */
				uint64_t pos = lfs_recover_position(&r, -1, i, hrc, &h);
				if (r.kept > 0)
					assert_int_equal(pos, r.end);
				else if (hrc == 0)
					assert_int_equal(pos, h.stream_pos);
				lfs_recover_keep(&r, pos, 100 * (sc->next - sc->base), sc->next,
						 sc->never_sealed);
			}
		}
	}
}

static void test_after_loss_records_first_lost_offset(void **state)
{
	(void)state;
	struct lfs_rec_seg segs[3] = {{.base = 0, .has_log = 1, .has_idx = 1},
				      {.base = 40, .has_log = 1, .has_idx = 1},
				      {.base = 80, .has_log = 1, .has_idx = 1}};
	struct lfs_idx_header h = {.base_offset = 0};
	struct lfs_recover r;
	lfs_recover_init(&r, segs, 3);
	assert_int_equal(lfs_recover_decide(&r, 0, 0, &h), LFS_REC_LOAD);
	lfs_recover_keep(&r, 0, 3300, 33, true);
	h.base_offset = 40;
	assert_int_equal(lfs_recover_decide(&r, 1, 0, &h), LFS_REC_AFTER_LOSS);
	assert_int_equal(r.lost_from, 33);
	h.base_offset = 80;
	assert_int_equal(lfs_recover_decide(&r, 2, 0, &h), LFS_REC_AFTER_LOSS);
	assert_int_equal(r.lost_from, 33);
}

static void test_safe_actions(void **state)
{
	(void)state;
	assert_true(lfs_recover_safe(LFS_REC_LOAD));
	assert_true(lfs_recover_safe(LFS_REC_FINISH_DELETION));
	assert_false(lfs_recover_safe(LFS_REC_MISNAMED));
	assert_false(lfs_recover_safe(LFS_REC_OVERLAP));
	assert_false(lfs_recover_safe(LFS_REC_AFTER_LOSS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_after_loss_records_first_lost_offset),
		cmocka_unit_test(test_safe_actions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
