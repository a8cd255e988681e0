/* Byte helpers of the append path: lfs_count_byte against a plain loop. */
#include "testutil.h"

#include "internal.h"

static size_t naive(const unsigned char *p, size_t len, unsigned char c)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += p[i] == c;
	return n;
}

/* Every length up to 600 at every alignment, over data with no, some and
 * only matches (every counter of the vector path saturating at 255 rounds
 * and more). */
static void test_count_byte_matches_plain_loop(void **state)
{
	(void)state;
	enum { N = 70000 };
	unsigned char *buf = malloc(N + 16);
	assert_non_null(buf);
	uint64_t x = 88172645463325252ull;
	for (int fill = 0; fill < 3; fill++) {
		for (size_t i = 0; i < N + 16; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = fill == 0 ? 'a' : fill == 1 ? (x % 7 == 0 ? '\n' : 'b') : '\n';
		}
		for (size_t align = 0; align < 16; align++)
			for (size_t len = 0; len <= 600; len++)
				assert_int_equal(lfs_count_byte(buf + align, len, '\n'),
						 naive(buf + align, len, '\n'));
		size_t lens[] = {4079, 4080, 4081, 4096, 65535, 65536, N};
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			assert_int_equal(lfs_count_byte(buf + 3, lens[k], '\n'),
					 naive(buf + 3, lens[k], '\n'));
	}
	free(buf);
}

/* The append path counts records with it when no line of a batch can be
 * too long, and walks the lines otherwise: both give the same records. */
static void test_line_counts_on_both_paths(void **state)
{
	struct tu_fix *f = *state;
	char *batch = malloc(5000);
	assert_non_null(batch);
	size_t len = 0;
	for (int i = 0; len < 4900; i++)
		len += (size_t)sprintf(batch + len, "%.*s\n", i % 37, "0123456789012345678901234567890123456789");
	size_t lines = naive((unsigned char *)batch, len, '\n');
	struct lfs_append_result r;
	struct iovec iov = {batch, len};
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, &iov, 1, &r), 0);
	assert_int_equal(r.records, lines);
	/* max_record below the batch length: lines are walked one by one. */
	tu_set(f->t, LFS_SET_MAX_RECORD, "64");
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, &iov, 1, &r), 0);
	assert_int_equal(r.records, lines);
	assert_true(r.first_offset == lines);
	/* Split over two iovecs mid-line: the carried part counts. */
	struct iovec two[2] = {{batch, 10}, {batch + 10, len - 10}};
	tu_set(f->t, LFS_SET_MAX_RECORD, "1048576");
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, two, 2, &r), 0);
	assert_int_equal(r.records, lines);
	/* A line longer than max_record is still refused. */
	tu_set(f->t, LFS_SET_MAX_RECORD, "20");
	assert_int_equal(lfs_topic_append(f->t, LFS_FRAMING_LINE, &iov, 1, &r), -EMSGSIZE);
	free(batch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_byte_matches_plain_loop),
		cmocka_unit_test_setup_teardown(test_line_counts_on_both_paths, tu_fix_setup,
						tu_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
