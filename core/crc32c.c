/*
 * CRC32C (Castagnoli), as used by iSCSI (RFC 3720) and Kafka record batches.
 * Three implementations, picked once by what the CPU has: carry-less
 * multiplication on 512-bit vectors (VPCLMULQDQ) for 256 bytes and more,
 * ~3x the crc32 instruction; the SSE4.2 crc32 instruction on three streams
 * at once; and the table-driven slicing-by-8 fallback. All give identical
 * results (test_crc32c).
 */
#include "internal.h"
#include "logfs.h"

#include <pthread.h>

#define POLY 0x82f63b78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t lfs_crc32c_portable(uint32_t crc, const void *buf, size_t len);
uint32_t lfs_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&table_once, table_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		__builtin_memcpy(&w, p, 8);
		w ^= crc; /* little-endian: low bytes first */
		crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
		      table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
		      table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
/*
 * The crc32 instruction has a latency of 3 cycles and a throughput of 1, so
 * one dependent stream uses a third of it. Three streams over adjacent
 * blocks run in parallel and are joined by shifting a CRC over a block of
 * zeros (a linear map, applied with tables), as in Mark Adler's crc32c.c:
 * about 3x the single stream (docs/BENCHMARKS.md, core_parts crc32c).
 */
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

static uint32_t zeros_long[4][256], zeros_short[4][256];

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;
	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* The operator that feeds len zero bytes (a power of two) through a CRC. */
static void zeros_op(uint32_t *even, size_t len)
{
	uint32_t odd[32], row = 1;

	odd[0] = POLY; /* one zero bit */
	for (int n = 1; n < 32; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd); /* two bits */
	gf2_square(odd, even); /* four bits */
	for (;;) {
		gf2_square(even, odd); /* one byte, then 4, 16, ... */
		len >>= 1;
		if (len == 0)
			return;
		gf2_square(odd, even); /* two bytes, then 8, 32, ... */
		len >>= 1;
		if (len == 0)
			break;
	}
	for (int n = 0; n < 32; n++)
		even[n] = odd[n];
}

static void zeros_table(uint32_t zeros[4][256], size_t len)
{
	uint32_t op[32];
	zeros_op(op, len);
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			zeros[k][n] = gf2_times(op, n << (8 * k));
}

static uint32_t shift(const uint32_t zeros[4][256], uint32_t crc)
{
	return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^
	       zeros[3][crc >> 24];
}

static void shift_tables_init(void)
{
	zeros_table(zeros_long, LONG_BLOCK);
	zeros_table(zeros_short, SHORT_BLOCK);
}

/* Three streams over blocks of `block` bytes while len allows. */
__attribute__((target("sse4.2"))) static uint64_t crc3(uint64_t c, const unsigned char **pp,
							size_t *lenp, size_t block,
							const uint32_t zeros[4][256])
{
	const unsigned char *p = *pp;
	size_t len = *lenp;
	while (len >= 3 * block) {
		uint64_t c1 = 0, c2 = 0;
		const unsigned char *end = p + block;
		do {
			uint64_t w0, w1, w2;
			__builtin_memcpy(&w0, p, 8);
			__builtin_memcpy(&w1, p + block, 8);
			__builtin_memcpy(&w2, p + 2 * block, 8);
			c = __builtin_ia32_crc32di(c, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
			p += 8;
		} while (p < end);
		c = shift(zeros, (uint32_t)c) ^ c1;
		c = shift(zeros, (uint32_t)c) ^ c2;
		p += 2 * block;
		len -= 3 * block;
	}
	*pp = p;
	*lenp = len;
	return c;
}

static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *buf,
								size_t len)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;

	/* No byte-wise walk to an 8-byte boundary first: unaligned loads cost
	 * nothing here, and the walk was a fifth of the CRC of an index entry
	 * or a 100-byte record. */
	if (len >= 3 * SHORT_BLOCK) {
		pthread_once(&shift_once, shift_tables_init);
		c = crc3(c, &p, &len, LONG_BLOCK, zeros_long);
		c = crc3(c, &p, &len, SHORT_BLOCK, zeros_short);
	}
	while (len >= 8) {
		uint64_t w;
		__builtin_memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	if (len & 4) {
		uint32_t w;
		__builtin_memcpy(&w, p, 4);
		c = __builtin_ia32_crc32si((uint32_t)c, w);
		p += 4;
	}
	if (len & 2) {
		uint16_t w;
		__builtin_memcpy(&w, p, 2);
		c = __builtin_ia32_crc32hi((uint32_t)c, w);
		p += 2;
	}
	if (len & 1)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p);
	return ~(uint32_t)c;
}

#include <immintrin.h>

/* Sum of the 32 byte counters of acc. */
__attribute__((target("avx2"))) static size_t sum_counters(__m256i acc)
{
	__m256i s = _mm256_sad_epu8(acc, _mm256_setzero_si256());
	return (size_t)_mm256_extract_epi64(s, 0) + (size_t)_mm256_extract_epi64(s, 1) +
	       (size_t)_mm256_extract_epi64(s, 2) + (size_t)_mm256_extract_epi64(s, 3);
}

/* crc3 that also counts the bytes equal to ch. The crc32 instructions run
 * on one execution port and the vector compares on others, so the count
 * rides along almost free, where a second pass over a 1 MiB batch cost a
 * third as much as the CRC. Each round adds up to 3 to a byte counter:
 * they are summed every 85 rounds, before one can pass 255. */
__attribute__((target("sse4.2,avx2"))) static uint64_t crc3_count(uint64_t c,
								 const unsigned char **pp,
								 size_t *lenp, size_t block,
								 const uint32_t zeros[4][256],
								 unsigned char ch, size_t *count)
{
	const unsigned char *p = *pp;
	size_t len = *lenp, n = 0;
	const __m256i needle = _mm256_set1_epi8((char)ch);
	while (len >= 3 * block) {
		uint64_t c1 = 0, c2 = 0;
		const unsigned char *end = p + block;
		__m256i acc = _mm256_setzero_si256();
		unsigned rounds = 0;
		do {
			for (int k = 0; k < 32; k += 8) {
				uint64_t w0, w1, w2;
				__builtin_memcpy(&w0, p + k, 8);
				__builtin_memcpy(&w1, p + block + k, 8);
				__builtin_memcpy(&w2, p + 2 * block + k, 8);
				c = __builtin_ia32_crc32di(c, w0);
				c1 = __builtin_ia32_crc32di(c1, w1);
				c2 = __builtin_ia32_crc32di(c2, w2);
			}
			__m256i v0 = _mm256_loadu_si256((const __m256i *)p);
			__m256i v1 = _mm256_loadu_si256((const __m256i *)(p + block));
			__m256i v2 = _mm256_loadu_si256((const __m256i *)(p + 2 * block));
			acc = _mm256_sub_epi8(acc, _mm256_cmpeq_epi8(v0, needle));
			acc = _mm256_sub_epi8(acc, _mm256_cmpeq_epi8(v1, needle));
			acc = _mm256_sub_epi8(acc, _mm256_cmpeq_epi8(v2, needle));
			p += 32;
			if (++rounds == 85) {
				n += sum_counters(acc);
				acc = _mm256_setzero_si256();
				rounds = 0;
			}
		} while (p < end);
		n += sum_counters(acc);
		c = shift(zeros, (uint32_t)c) ^ c1;
		c = shift(zeros, (uint32_t)c) ^ c2;
		p += 2 * block;
		len -= 3 * block;
	}
	*pp = p;
	*lenp = len;
	*count += n;
	return c;
}

__attribute__((target("sse4.2,avx2"))) static uint32_t crc32c_count_avx2(uint32_t crc,
									const void *buf,
									size_t len,
									unsigned char ch,
									size_t *count)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc;
	size_t n = 0;

	/* No walk to an 8-byte boundary, as in crc32c_sse42. */
	if (len >= 3 * SHORT_BLOCK) {
		pthread_once(&shift_once, shift_tables_init);
		c = crc3_count(c, &p, &len, LONG_BLOCK, zeros_long, ch, &n);
		c = crc3_count(c, &p, &len, SHORT_BLOCK, zeros_short, ch, &n);
	}
	/* What is left is under 768 bytes. */
	*count = n + lfs_count_byte(p, len, ch);
	return crc32c_sse42(~(uint32_t)c, p, len);
}

/*
 * CRC32C by carry-less multiplication, 256 bytes a round in four 512-bit
 * registers (VPCLMULQDQ), where the crc32 instruction's one byte stream per
 * cycle and a half is the limit of crc3.
 *
 * A 16-byte block is read as a polynomial, its first stream bit (bit 0 of
 * byte 0, as a reflected CRC takes bits) the highest term. A CRC is the
 * remainder mod P of the whole stream, so a block may be replaced by any
 * block congruent to it times x^(8D) placed D bytes later, with zeros where
 * it was. With the block as two little-endian words lo (first) and hi, that
 * is lo*x^(64+8D) + hi*x^(8D). A 64x64 carry-less multiply of lo by the
 * constant bit-reversed, x^(63+8D) mod P, lands the product in the block's
 * own bit order (the one-bit offset of a reflected product is the -1 in the
 * exponent), and the same holds for hi with x^(8D-1) mod P. The state
 * starts as the crc XORed into the first four bytes, which folds in as
 * x^(8 len) times the state, as the CRC's definition wants. What is left at
 * the end, one block and under 64 bytes, goes through the crc32 instruction
 * from a zero state.
 */
struct fold {
	uint64_t lo, hi; /* the constants for the block's two words */
};
static struct fold fold_256, fold_64, fold_48, fold_32, fold_16;
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

/* x^n mod P, P = x^32 + 0x1edc6f41 (POLY bit-reversed), bit i for x^i. */
static uint32_t xpow_mod(uint32_t n)
{
	uint32_t r = 1;
	while (n--)
		r = (r << 1) ^ ((r & 0x80000000u) ? 0x1edc6f41u : 0);
	return r;
}

static uint64_t bitrev64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++, v >>= 1)
		r = (r << 1) | (v & 1);
	return r;
}

static struct fold fold_by(uint32_t bytes)
{
	return (struct fold){bitrev64(xpow_mod(63 + 8 * bytes)), bitrev64(xpow_mod(8 * bytes - 1))};
}

static void fold_init(void)
{
	fold_256 = fold_by(256);
	fold_64 = fold_by(64);
	fold_48 = fold_by(48);
	fold_32 = fold_by(32);
	fold_16 = fold_by(16);
}

#define CLMUL_TARGET "avx512f,avx512bw,vpclmulqdq,pclmul,sse4.2,popcnt,avx2"

/* Each 16-byte lane of x folded forward by k's distance, XORed into d. */
__attribute__((target(CLMUL_TARGET))) static inline __m512i fold_into(__m512i x, __m512i k,
									__m512i d)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
					 _mm512_clmulepi64_epi128(x, k, 0x11), d, 0x96);
}

__attribute__((target(CLMUL_TARGET))) static inline __m512i fold_const(const struct fold *f)
{
	return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)f->hi, (long long)f->lo));
}

/* CRC32C of buf and, when count is not NULL, how many bytes equal ch. */
__attribute__((target(CLMUL_TARGET))) static uint32_t crc32c_clmul_count(uint32_t crc,
									 const void *buf,
									 size_t len,
									 unsigned char ch,
									 size_t *count)
{
	if (len < 256)
		return count ? crc32c_count_avx2(crc, buf, len, ch, count)
			     : crc32c_sse42(crc, buf, len);
	pthread_once(&fold_once, fold_init);
	const unsigned char *p = buf;
	const __m512i needle = _mm512_set1_epi8((char)ch);
	size_t n = 0;
	/* The four registers are written out one by one: as an array with a
	 * load helper (one piece of code for the first round and the loop)
	 * GCC 12 kept them in memory, at half the speed (core_bench parts). */
	__m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64),
		x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);
	if (count)
		n += (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(x0, needle)) +
		     (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(x1, needle)) +
		     (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(x2, needle)) +
		     (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(x3, needle));
	x0 = _mm512_xor_si512(x0, _mm512_maskz_set1_epi32(1, (int)~crc));
	p += 256;
	len -= 256;

	const __m512i k256 = fold_const(&fold_256);
	while (len >= 256) {
		__m512i d0 = _mm512_loadu_si512(p), d1 = _mm512_loadu_si512(p + 64),
			d2 = _mm512_loadu_si512(p + 128), d3 = _mm512_loadu_si512(p + 192);
		if (count)
			n += (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(d0, needle)) +
			     (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(d1, needle)) +
			     (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(d2, needle)) +
			     (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(d3, needle));
		x0 = fold_into(x0, k256, d0);
		x1 = fold_into(x1, k256, d1);
		x2 = fold_into(x2, k256, d2);
		x3 = fold_into(x3, k256, d3);
		p += 256;
		len -= 256;
	}
	const __m512i k64 = fold_const(&fold_64);
	x1 = fold_into(x0, k64, x1);
	x2 = fold_into(x1, k64, x2);
	x3 = fold_into(x2, k64, x3);
	while (len >= 64) {
		__m512i d = _mm512_loadu_si512(p);
		if (count)
			n += (size_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(d, needle));
		x3 = fold_into(x3, k64, d);
		p += 64;
		len -= 64;
	}
	/* The four lanes of the last 64 bytes onto the last one. */
	const __m512i klanes = _mm512_set_epi64(0, 0, (long long)fold_16.hi, (long long)fold_16.lo,
						(long long)fold_32.hi, (long long)fold_32.lo,
						(long long)fold_48.hi, (long long)fold_48.lo);
	__m512i y = fold_into(x3, klanes, _mm512_setzero_si512());
	__m128i z = _mm_xor_si128(_mm512_extracti32x4_epi32(x3, 3), _mm512_extracti32x4_epi32(y, 0));
	z = _mm_xor_si128(z, _mm_xor_si128(_mm512_extracti32x4_epi32(y, 1),
					   _mm512_extracti32x4_epi32(y, 2)));
	uint64_t c = __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(z));
	c = __builtin_ia32_crc32di(c, (uint64_t)_mm_extract_epi64(z, 1));
	if (count)
		*count = n + lfs_count_byte(p, len, ch);
	return crc32c_sse42(~(uint32_t)c, p, len);
}

__attribute__((target(CLMUL_TARGET))) static uint32_t crc32c_clmul(uint32_t crc, const void *buf,
								   size_t len)
{
	return crc32c_clmul_count(crc, buf, len, 0, NULL);
}

__attribute__((target(CLMUL_TARGET))) static uint32_t
crc32c_count_clmul(uint32_t crc, const void *buf, size_t len, unsigned char ch, size_t *count)
{
	return crc32c_clmul_count(crc, buf, len, ch, count);
}
#endif

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);
static crc_fn crc_impl;
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

typedef uint32_t (*crc_count_fn)(uint32_t, const void *, size_t, unsigned char, size_t *);
static crc_count_fn crc_count_impl;

#if defined(__x86_64__)
static bool clmul_supported(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") &&
	       __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt") &&
	       __builtin_cpu_supports("avx2");
}
#endif

size_t lfs_crc32c_impls(lfs_crc_fn fns[LFS_CRC_IMPLS], lfs_crc_count_fn counts[LFS_CRC_IMPLS])
{
	size_t n = 0;
	fns[n] = lfs_crc32c_portable;
	counts[n++] = lfs_crc32c_count_separate;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2")) {
		fns[n] = crc32c_sse42;
		counts[n++] = __builtin_cpu_supports("avx2") ? crc32c_count_avx2
							     : lfs_crc32c_count_separate;
	}
	if (clmul_supported()) {
		fns[n] = crc32c_clmul;
		counts[n++] = crc32c_count_clmul;
	}
#endif
	return n;
}

/* Picks the last, fastest pair of what the CPU can run, once. */
static void impl_init(void)
{
	lfs_crc_fn fns[LFS_CRC_IMPLS];
	lfs_crc_count_fn counts[LFS_CRC_IMPLS];
	size_t n = lfs_crc32c_impls(fns, counts);
	crc_impl = fns[n - 1];
	crc_count_impl = counts[n - 1];
}

uint32_t lfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&impl_once, impl_init);
	return crc_impl(crc, buf, len);
}

uint32_t lfs_crc32c_count_separate(uint32_t crc, const void *buf, size_t len, unsigned char ch,
				   size_t *count)
{
	*count = lfs_count_byte(buf, len, ch);
	return lfs_crc32c(crc, buf, len);
}

uint32_t lfs_crc32c_count(uint32_t crc, const void *buf, size_t len, unsigned char ch,
			  size_t *count)
{
	pthread_once(&impl_once, impl_init);
	return crc_count_impl(crc, buf, len, ch, count);
}
