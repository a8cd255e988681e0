/* Byte helpers of the append path and the scanner: lfs_count_byte and
 * lfs_nonzero_len against plain loops. */
#include "testutil.h"

#include "internal.h"

static size_t naive(const unsigned char *p, size_t len, unsigned char c)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += p[i] == c;
	return n;
}

typedef size_t (*count_fn)(const void *, size_t, unsigned char);

/* Every length up to 600 at every alignment, over data with no, some and
 * only matches (every counter of the vector paths saturating at 255 rounds
 * and more), for one implementation. */
static void check_count(count_fn count)
{
	enum { N = 70000 };
	unsigned char *buf = malloc(N + 32);
	assert_non_null(buf);
	uint64_t x = 88172645463325252ull;
	for (int fill = 0; fill < 3; fill++) {
		for (size_t i = 0; i < N + 32; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = fill == 0 ? 'a' : fill == 1 ? (x % 7 == 0 ? '\n' : 'b') : '\n';
		}
		for (size_t align = 0; align < 32; align++)
			for (size_t len = 0; len <= 600; len++)
				assert_int_equal(count(buf + align, len, '\n'),
						 naive(buf + align, len, '\n'));
		size_t lens[] = {4079, 4080, 4081, 4096, 8159, 8160, 8161, 65535, 65536, N};
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			assert_int_equal(count(buf + 3, lens[k], '\n'), naive(buf + 3, lens[k], '\n'));
	}
	free(buf);
}

static void test_count_byte_matches_plain_loop(void **state)
{
	(void)state;
	check_count(lfs_count_byte);
	check_count(lfs_count_byte_portable);
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		check_count(lfs_count_byte_avx2);
	else
		fprintf(stderr, "no AVX2 here: its count is not checked\n");
#endif
}

/* The scanner's measure of written data: every alignment and length up to
 * 80 bytes, with the last non-zero byte at every place in it (or none). */
static void test_nonzero_len_matches_plain_loop(void **state)
{
	(void)state;
	unsigned char buf[128];
	for (size_t align = 0; align < 16; align++)
		for (size_t len = 0; len <= 80; len++)
			for (size_t last = 0; last <= len; last++) {
				/* Non-zero bytes up to last, zeros after. */
				memset(buf, 0, sizeof(buf));
				for (size_t i = 0; i < last; i++)
					buf[align + i] = (unsigned char)(i % 3 ? 0 : 0x80 >> (i % 8));
				if (last)
					buf[align + last - 1] = 1;
				/* Bytes outside the range must not count. */
				buf[align + len] = 0xff;
				if (align)
					buf[align - 1] = 0xff;
				assert_int_equal(lfs_nonzero_len(buf + align, len), last);
			}
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

/* What frame_batch must decide, byte by byte: the records of a batch of
 * complete lines, or EMSGSIZE when a line with its '\n' passes max_record,
 * or EINVAL when the batch ends inside a line. */
static int reference_frame(const struct iovec *iov, int n, size_t max_record, size_t *records)
{
	size_t line = 0, count = 0;
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < iov[i].iov_len; k++) {
			line++;
			if (line > max_record)
				return -EMSGSIZE;
			if (((const char *)iov[i].iov_base)[k] == '\n') {
				count++;
				line = 0;
			}
		}
	*records = count;
	return line ? -EINVAL : 0;
}

/* Random batches (short and long lines, lines of exactly max_record, an
 * unterminated end) cut into random iovecs, under small max_record values
 * so that lines reach it: the append path agrees with the byte-by-byte
 * rule on every one. */
static void test_line_limit_matches_byte_rule(void **state)
{
	struct tu_fix *f = *state;
	enum { CAP = 600 };
	char *buf = malloc(CAP);
	assert_non_null(buf);
	unsigned seed = 12345;
	int agreed_ok = 0, agreed_big = 0;
	for (int round = 0; round < 4000; round++) {
		size_t max_record = 2 + (size_t)(rand_r(&seed) % 40);
		size_t len = 1 + (size_t)(rand_r(&seed) % (CAP - 1));
		for (size_t k = 0; k < len; k++) {
			/* Lines around max_record long, sometimes exactly. */
			unsigned r = (unsigned)rand_r(&seed) % (unsigned)(max_record + 2);
			buf[k] = r == 0 ? '\n' : 'a' + (char)(r % 26);
		}
		if (rand_r(&seed) % 4)
			buf[len - 1] = '\n';
		struct iovec iov[4];
		int n = 1 + rand_r(&seed) % 4;
		size_t at = 0;
		for (int i = 0; i < n; i++) {
			size_t part = i == n - 1 ? len - at : (size_t)rand_r(&seed) % (len - at + 1);
			iov[i] = (struct iovec){buf + at, part};
			at += part;
		}
		size_t want_records = 0;
		int want = reference_frame(iov, n, max_record, &want_records);
		char v[32];
		snprintf(v, sizeof(v), "%zu", max_record);
		tu_set(f->t, LFS_SET_MAX_RECORD, v);
		struct lfs_append_result r = {0};
		int got = lfs_topic_append(f->t, LFS_FRAMING_LINE, iov, n, &r);
		assert_int_equal(got, want);
		if (got == 0) {
			assert_int_equal(r.records, want_records);
			agreed_ok++;
		} else if (got == -EMSGSIZE) {
			agreed_big++;
		}
	}
	/* Both outcomes were really exercised. */
	assert_true(agreed_ok > 100);
	assert_true(agreed_big > 100);
	free(buf);
}

/* The one-pass CRC and count agree with the CRC and the count made apart,
 * at the lengths where its three-stream blocks start and end, at every
 * alignment to 32, with data of no, some and only matches (its byte
 * counters summed before they overflow), continuing a CRC. */
static void test_crc_and_count_in_one_pass(void **state)
{
	(void)state;
	lfs_crc_fn fns[LFS_CRC_IMPLS];
	lfs_crc_count_fn counts[LFS_CRC_IMPLS];
	size_t nimpls = lfs_crc32c_impls(fns, counts);
	enum { N = 3 * 8192 * 3 + 2000 };
	unsigned char *buf = malloc(N + 32);
	assert_non_null(buf);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	size_t lens[] = {0,    1,    7,    8,    31,   255,  256,  767,   768,   769,
			 800,  1536, 2047, 2304, 8191, 24575, 24576, 24577, 25344, 49152,
			 50000, 73728, N};
	for (int fill = 0; fill < 3; fill++) {
		for (size_t i = 0; i < N + 32; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = fill == 0 ? (unsigned char)(x >> 8) | 1
				 : fill == 1 ? (x % 9 == 0 ? '\n' : (unsigned char)x)
					     : '\n';
		}
		for (size_t align = 0; align < 32; align++)
			for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
				size_t len = lens[k], n1 = 12345, n2 = 54321;
				uint32_t a = lfs_crc32c_count(0x1234u, buf + align, len, '\n', &n1);
				uint32_t b = lfs_crc32c_count_separate(0x1234u, buf + align, len, '\n',
								       &n2);
				assert_int_equal(a, b);
				assert_int_equal(n1, n2);
				assert_int_equal(n1, naive(buf + align, len, '\n'));
				assert_int_equal(a, lfs_crc32c(0x1234u, buf + align, len));
				for (size_t i = 0; i < nimpls; i++) {
					size_t n3 = 999;
					assert_int_equal(counts[i](0x1234u, buf + align, len, '\n', &n3), a);
					assert_int_equal(n3, n1);
				}
			}
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_byte_matches_plain_loop),
		cmocka_unit_test(test_nonzero_len_matches_plain_loop),
		cmocka_unit_test(test_crc_and_count_in_one_pass),
		cmocka_unit_test_setup_teardown(test_line_counts_on_both_paths, tu_fix_setup,
						tu_fix_teardown),
		cmocka_unit_test_setup_teardown(test_line_limit_matches_byte_rule, tu_fix_setup,
						tu_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
