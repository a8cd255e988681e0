/* CRC32C: RFC 3720 B.4 vectors, the SSE4.2 and portable implementations
 * agreeing on every alignment and length, and incremental use. */
#include "testutil.h"

/* Not in logfs.h: the table-driven fallback, exported for this test. */
uint32_t lfs_crc32c_portable(uint32_t crc, const void *buf, size_t len);

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

static void test_rfc3720_vectors_portable(void **state)
{
	(void)state;
	check_vectors(lfs_crc32c_portable);
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
	enum { MAX = 600 };
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
			assert_int_equal(lfs_crc32c_portable(seed, p, len), ref);
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
		assert_int_equal(lfs_crc32c(0, buf + off, len),
				 lfs_crc32c_portable(0, buf + off, len));
	}
	assert_int_equal(lfs_crc32c(0, buf, max), crc_ref(0, buf, max));
	free(buf);
}

/* crc(a || b) == crc(crc(a), b), for any split, in both implementations. */
static void test_incremental(void **state)
{
	(void)state;
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	uint32_t whole = lfs_crc32c(0, buf, sizeof(buf));
	for (size_t split = 0; split <= sizeof(buf); split++) {
		uint32_t a = lfs_crc32c(0, buf, split);
		assert_int_equal(lfs_crc32c(a, buf + split, sizeof(buf) - split), whole);
		a = lfs_crc32c_portable(0, buf, split);
		assert_int_equal(lfs_crc32c_portable(a, buf + split, sizeof(buf) - split), whole);
	}
}

/* Any single flipped bit changes the checksum. */
static void test_detects_single_bit_flips(void **state)
{
	(void)state;
	unsigned char buf[64];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	uint32_t good = lfs_crc32c(0, buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_not_equal(lfs_crc32c(0, buf, sizeof(buf)), good);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	assert_int_equal(lfs_crc32c(0, buf, sizeof(buf)), good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3720_vectors_dispatch),
		cmocka_unit_test(test_rfc3720_vectors_portable),
		cmocka_unit_test(test_rfc3720_iscsi_pdu),
		cmocka_unit_test(test_impls_agree_every_alignment_and_length),
		cmocka_unit_test(test_impls_agree_large_random),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_detects_single_bit_flips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
