/* CRC32C: RFC 3720 B.4 vectors, every implementation the CPU can run
 * (table, crc32 instruction, carry-less multiplication) agreeing with a
 * bit-at-a-time reference on every alignment and length, incremental use. */
#include "testutil.h"

#include "internal.h"

/* Not in logfs.h: the table-driven fallback, exported for this test. */
uint32_t lfs_crc32c_portable(uint32_t crc, const void *buf, size_t len);

static lfs_crc_fn impls[LFS_CRC_IMPLS];
static lfs_crc_count_fn count_impls[LFS_CRC_IMPLS];
static size_t nimpls;

static int find_impls(void **state)
{
	(void)state;
	nimpls = lfs_crc32c_impls(impls, count_impls);
	if (nimpls < LFS_CRC_IMPLS)
		fprintf(stderr, "only %zu of %d CRC32C implementations run on this CPU\n", nimpls,
			LFS_CRC_IMPLS);
	return 0;
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_vectors(crc_fn f)
{
	unsigned char buf[32];

	memset(buf, 0, sizeof(buf));
	assert_int_equal(f(0, buf, 32), 0x8A9136AA);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(f(0, buf, 32), 0x62A8AB43);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	assert_int_equal(f(0, buf, 32), 0x46DD794E);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	assert_int_equal(f(0, buf, 32), 0x113FDB5C);
	assert_int_equal(f(0, "123456789", 9), 0xE3069283);
	/* The empty buffer leaves the running value unchanged. */
	assert_int_equal(f(0, buf, 0), 0);
	assert_int_equal(f(0x12345678, buf, 0), 0x12345678);
}

static void test_rfc3720_vectors_dispatch(void **state)
{
	(void)state;
	check_vectors(lfs_crc32c);
}

static void test_rfc3720_vectors_every_impl(void **state)
{
	(void)state;
	check_vectors(lfs_crc32c_portable);
	for (size_t i = 0; i < nimpls; i++)
		check_vectors(impls[i]);
}

/* The iSCSI read command PDU of RFC 3720 B.4 (48 bytes) = 0xD9963A56. */
static void test_rfc3720_iscsi_pdu(void **state)
{
	(void)state;
	static const unsigned char pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	assert_int_equal(lfs_crc32c(0, pdu, sizeof(pdu)), 0xD9963A56);
	assert_int_equal(lfs_crc32c_portable(0, pdu, sizeof(pdu)), 0xD9963A56);
}

/* A bit-at-a-time reference, independent of both implementations. */
static uint32_t crc_ref(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void test_impls_agree_every_alignment_and_length(void **state)
{
	(void)state;
	enum { MAX = 1100 };
	unsigned char *buf = malloc(MAX + 64);
	assert_non_null(buf);
	srand(12345);
	for (size_t i = 0; i < MAX + 64; i++)
		buf[i] = (unsigned char)rand();
	for (size_t align = 0; align < 16; align++) {
		for (size_t len = 0; len <= MAX; len++) {
			const unsigned char *p = buf + align;
			uint32_t seed = (uint32_t)(len * 2654435761u);
			uint32_t ref = crc_ref(seed, p, len);
			assert_int_equal(lfs_crc32c(seed, p, len), ref);
			for (size_t i = 0; i < nimpls; i++)
				assert_int_equal(impls[i](seed, p, len), ref);
		}
	}
	free(buf);
}

static void test_impls_agree_large_random(void **state)
{
	(void)state;
	size_t max = 1 << 20;
	unsigned char *buf = malloc(max + 16);
	assert_non_null(buf);
	srand(777);
	for (size_t i = 0; i < max + 16; i++)
		buf[i] = (unsigned char)(rand() >> 7);
	for (int iter = 0; iter < 200; iter++) {
		size_t off = (size_t)rand() % 16, len = (size_t)rand() % max;
		uint32_t seed = (uint32_t)rand();
		uint32_t want = lfs_crc32c_portable(seed, buf + off, len);
		for (size_t i = 0; i < nimpls; i++)
			assert_int_equal(impls[i](seed, buf + off, len), want);
	}
	for (size_t i = 0; i < nimpls; i++)
		assert_int_equal(impls[i](0, buf, max), crc_ref(0, buf, max));
	free(buf);
}

/* crc(a || b) == crc(crc(a), b), for any split, in every implementation. */
static void test_incremental(void **state)
{
	(void)state;
	unsigned char buf[1300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	uint32_t whole = crc_ref(0, buf, sizeof(buf));
	for (size_t i = 0; i < nimpls; i++)
		for (size_t split = 0; split <= sizeof(buf); split++) {
			uint32_t a = impls[i](0, buf, split);
			assert_int_equal(impls[i](a, buf + split, sizeof(buf) - split), whole);
		}
}

/* Any single flipped bit changes the checksum, in a short buffer and in one
 * long enough for every implementation's fast path. */
static void test_detects_single_bit_flips(void **state)
{
	(void)state;
	unsigned char buf[2048];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	size_t sizes[] = {64, sizeof(buf)};
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < nimpls; i++) {
			uint32_t good = impls[i](0, buf, sizes[k]);
			for (size_t bit = 0; bit < sizes[k] * 8; bit++) {
				buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
				assert_int_not_equal(impls[i](0, buf, sizes[k]), good);
				buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			}
			assert_int_equal(impls[i](0, buf, sizes[k]), good);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3720_vectors_dispatch),
		cmocka_unit_test(test_rfc3720_vectors_every_impl),
		cmocka_unit_test(test_rfc3720_iscsi_pdu),
		cmocka_unit_test(test_impls_agree_every_alignment_and_length),
		cmocka_unit_test(test_impls_agree_large_random),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_detects_single_bit_flips),
	};
	return cmocka_run_group_tests(tests, find_impls, NULL);
}
