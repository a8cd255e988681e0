/* Runtime errors recorded in the volume (core/errors.c): the record is
 * written at the first error, survives a clean close and a reopen (the
 * count continues), is never written by a read-only open, is cleared by
 * lfs_errors_clear, and a damaged record reads as -EUCLEAN. */
#include "testutil.h"

#include "internal.h"

static void test_errors_recorded_and_kept(void **state)
{
	(void)state;
	char *vol = tu_mkvol(4096);
	char *file = tu_fmt("%s/%s", vol, LFS_ERRORS_FILE);
	struct lfs_errors e;
	int dfd = open(vol, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(lfs_errors_read(dfd, &e), 0);

	lfs_volume *v = tu_open(vol);
	uint64_t t0 = tu_now();
	lfs_volume_error(v, "topic a: first %d", 1);
	assert_true(tu_exists(file)); /* at once, not at close */
	assert_int_equal(lfs_errors_read(dfd, &e), 1);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.first_ns, t0);
	assert_string_equal(e.first, "topic a: first 1");
	assert_string_equal(e.last, "topic a: first 1");
	/* Within a second: counted in memory, written at close. */
	tu_advance_ms(10);
	lfs_volume_error(v, "topic a: second");
	assert_int_equal(lfs_errors_read(dfd, &e), 1);
	assert_int_equal(e.count, 1);
	lfs_volume_errors(v, &e);
	assert_int_equal(e.count, 2);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_errors_read(dfd, &e), 1);
	assert_int_equal(e.count, 2);
	assert_int_equal(e.last_ns, t0 + 10 * 1000000ull);
	assert_string_equal(e.last, "topic a: second");

	/* A clean close does not clear it; a reopen continues the count. */
	v = tu_open(vol);
	lfs_volume_errors(v, &e);
	assert_int_equal(e.count, 2);
	tu_advance_ms(2000);
	lfs_volume_error(v, "topic b: third");
	assert_int_equal(lfs_errors_read(dfd, &e), 1);
	assert_int_equal(e.count, 3);
	assert_string_equal(e.first, "topic a: first 1");
	assert_int_equal(lfs_volume_close(v), 0);

	assert_int_equal(lfs_errors_clear(dfd), 0);
	assert_false(tu_exists(file));
	assert_int_equal(lfs_errors_clear(dfd), 0); /* none: fine */
	close(dfd);
	free(file);
	tu_rmvol(vol);
}

static void test_errors_readonly_and_damaged(void **state)
{
	(void)state;
	char *vol = tu_mkvol(4096);
	char *file = tu_fmt("%s/%s", vol, LFS_ERRORS_FILE);
	struct lfs_open_opts o = {.flags = LFS_OPEN_RDONLY};
	lfs_volume *v;
	assert_int_equal(tu_volume_open(vol, &o, &v, NULL), 0);
	lfs_volume_error(v, "seen read-only");
	assert_int_equal(lfs_volume_close(v), 0);
	assert_false(tu_exists(file));

	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("garbage", f);
	fclose(f);
	int dfd = open(vol, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct lfs_errors e;
	assert_int_equal(lfs_errors_read(dfd, &e), -EUCLEAN);
	/* The volume treats it as a record of errors. */
	v = tu_open(vol);
	lfs_volume_errors(v, &e);
	assert_int_equal(e.count, 1);
	assert_int_equal(lfs_volume_close(v), 0);
	close(dfd);
	free(file);
	tu_rmvol(vol);
}

static void test_errors_encoding(void **state)
{
	(void)state;
	struct lfs_errors e = {.count = 7, .first_ns = 11, .last_ns = 22}, d;
	unsigned char buf[LFS_ERRORS_SIZE];
	memset(e.first, 'x', sizeof(e.first) - 1);
	e.first[sizeof(e.first) - 1] = 0;
	strcpy(e.last, "last");
	lfs_errors_encode(&e, buf);
	assert_memory_equal(buf, LFS_ERRORS_MAGIC, 8);
	assert_int_equal(lfs_errors_decode(buf, sizeof(buf), &d), 0);
	assert_int_equal(d.count, 7);
	assert_int_equal(d.first_ns, 11);
	assert_int_equal(d.last_ns, 22);
	assert_string_equal(d.first, e.first);
	assert_string_equal(d.last, "last");
	buf[20] ^= 1;
	assert_int_equal(lfs_errors_decode(buf, sizeof(buf), &d), -EUCLEAN);
	buf[20] ^= 1;
	assert_int_equal(lfs_errors_decode(buf, sizeof(buf) - 1, &d), -EUCLEAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_recorded_and_kept),
		cmocka_unit_test(test_errors_readonly_and_damaged),
		cmocka_unit_test(test_errors_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
