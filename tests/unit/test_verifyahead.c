/* Checking the next sealed segment ahead of its reader (core/verifyahead.c).
 * The queue runs in the test's own thread (manual), so nothing here depends
 * on a background thread's schedule. */
#include "testutil.h"

#include "internal.h"

struct fix {
	char *vol;
	lfs_volume *v;
	lfs_topic *t;
	uint64_t bases[16];
	size_t nb;
};

/* A topic "act" of 240 lines over 4 KiB segments, closed and opened again
 * (so no segment is checked yet), with damage at byte 150 of the sealed
 * segment bad (an index into bases, or -1: none). */
static void build(struct fix *f, int bad)
{
	f->vol = tu_mkvol(4096);
	f->v = tu_open(f->vol);
	f->t = tu_topic(f->v, "act");
	char line[100];
	memset(line, 'x', sizeof(line));
	line[99] = '\n';
	for (int i = 0; i < 240; i++)
		tu_append(f->t, LFS_FRAMING_LINE, line, sizeof(line));
	uint64_t *bases;
	assert_int_equal(lfs_topic_list_sealed(f->t, &bases, &f->nb), 0);
	assert_true(f->nb >= 5 && f->nb <= 16);
	memcpy(f->bases, bases, f->nb * sizeof(*bases));
	free(bases);
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	if (bad >= 0) {
		char *lp = tu_seg_path(f->vol, "act", f->bases[bad], "log");
		FILE *fp = fopen(lp, "r+b");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, 150, SEEK_SET), 0);
		fputc('#', fp);
		fclose(fp);
		free(lp);
	}
	f->v = tu_open(f->vol);
	f->v->ahead.manual = true;
	assert_int_equal(lfs_topic_get(f->v, "act", &f->t), 0);
}

static void done(struct fix *f)
{
	lfs_topic_put(f->t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	tu_rmvol(f->vol);
}

static bool pending(struct fix *f, size_t i)
{
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, f->bases[i], &s), 0);
	bool p = atomic_load(&s->verify_pending);
	lfs_segment_put(s);
	return p;
}

static int verify(struct fix *f, size_t i)
{
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f->t, f->bases[i], &s), 0);
	int rc = lfs_segment_verify(s);
	lfs_segment_put(s);
	return rc;
}

/* Opening segment k queues k+1, whose check then runs; good and bad
 * results are both kept in the segment, as its own first open would. */
static void test_checks_the_next_segment(void **state)
{
	(void)state;
	struct fix f;
	build(&f, 2);
	assert_true(pending(&f, 1) && pending(&f, 2));
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(f.v->ahead.count, 1);
	assert_true(lfs_verify_ahead_run_one(f.v));
	assert_false(lfs_verify_ahead_run_one(f.v));
	assert_false(pending(&f, 1));
	assert_true(pending(&f, 0)); /* only the next one */
	assert_int_equal(verify(&f, 1), 0);

	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[1]), 0);
	assert_true(lfs_verify_ahead_run_one(f.v));
	assert_false(pending(&f, 2));
	assert_int_equal(verify(&f, 2), -EIO);
	lfs_segment *s;
	assert_int_equal(lfs_segment_get(f.t, f.bases[2], &s), 0);
	assert_int_equal(lfs_segment_open_data(s), -EIO);
	lfs_segment_put(s);
	done(&f);
}

/* Nothing is queued for a segment already checked, for the active one
 * after the last sealed segment, or for a base past every segment. */
static void test_nothing_to_check(void **state)
{
	(void)state;
	struct fix f;
	build(&f, -1);
	assert_int_equal(verify(&f, 1), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[f.nb - 1]), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, UINT64_MAX), 0);
	assert_int_equal(f.v->ahead.count, 0);
	assert_false(lfs_verify_ahead_run_one(f.v));
	done(&f);
}

/* A segment is queued once; a full queue drops requests (their segments
 * are checked by their own first open); a close drops what is queued
 * without checking it and without leaking a reference. */
static void test_queue_bounds_and_close(void **state)
{
	(void)state;
	struct fix f;
	build(&f, -1);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	assert_int_equal(f.v->ahead.count, 1);
	for (size_t i = 1; i + 1 < f.nb; i++)
		assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[i]), 0);
	size_t want = f.nb - 1 < LFS_AHEAD_SLOTS ? f.nb - 1 : LFS_AHEAD_SLOTS;
	assert_int_equal(f.v->ahead.count, want);
	done(&f);
}

/* The queue keeps its segment alive when the file goes away under it: the
 * check then fails to open the file, concludes nothing (a later open with
 * the file back checks it), and drops its references. */
static void test_file_gone_concludes_nothing(void **state)
{
	(void)state;
	struct fix f;
	build(&f, -1);
	assert_int_equal(lfs_topic_verify_ahead(f.t, f.bases[0]), 0);
	char *lp = tu_seg_path(f.vol, "act", f.bases[1], "log");
	char *moved = tu_fmt("%s.away", lp);
	assert_int_equal(rename(lp, moved), 0);
	assert_true(lfs_verify_ahead_run_one(f.v));
	assert_true(pending(&f, 1));
	assert_int_equal(rename(moved, lp), 0);
	assert_int_equal(verify(&f, 1), 0);
	free(lp);
	free(moved);
	done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks_the_next_segment),
		cmocka_unit_test(test_nothing_to_check),
		cmocka_unit_test(test_queue_bounds_and_close),
		cmocka_unit_test(test_file_gone_concludes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
