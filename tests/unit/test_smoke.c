/* End-to-end smoke test of the core: mkfs, append, roll, read, reopen. */
#include "testutil.h"

static void test_append_roll_reopen(void **state)
{
	(void)state;
	char *vol = tu_mkvol(4096);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "app");
	char line[64], *expect = calloc(1, 1 << 20);
	size_t elen = 0;
	for (int i = 0; i < 2000; i++) {
		int n = snprintf(line, sizeof(line), "record %d\n", i);
		tu_append_str(t, line);
		memcpy(expect + elen, line, (size_t)n);
		elen += (size_t)n;
	}
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_int_equal(st.next_offset, 2000);
	assert_true(st.segments > 3);
	tu_expect_contents(t, expect, elen);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);

	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_true(rep.was_clean);
	assert_int_equal(lfs_topic_get(v, "app", &t), 0);
	tu_expect_contents(t, expect, elen);
	tu_append_str(t, "after reopen\n");
	lfs_topic_stat(t, &st);
	assert_int_equal(st.next_offset, 2001);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	free(expect);
	tu_rmvol(vol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_roll_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
