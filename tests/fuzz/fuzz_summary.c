/*
 * Fuzz target (libFuzzer) for the segment summary parser (core/summary.c,
 * docs/FORMAT.md "summary"). `make fuzz` builds it with clang
 * -fsanitize=fuzzer,address,undefined and runs it after fuzz_scan;
 * tests/tools/fuzz_replay_summary.c builds it with the project's compiler
 * and replays tests/fuzz/corpus-summary and tests/fuzz/regressions-summary
 * in `make check`.
 *
 * Input layout:
 *   byte 0   flags: 1 recompute the header's body length, body CRC and
 *            header CRC (so that mutations reach past the checksums),
 *            2 also read it as VOLUME/summary through lfs_summary_read
 *   then     the summary file
 * The parser gets a heap copy of exactly the file's bytes, so that ASan
 * sees a read one byte past its end.
 *
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *  - what the parser accepts encodes back to exactly the same bytes (each
 *    field read from where the format puts it, names without a NUL);
 *  - every topic it accepts is the one lfs_summary_topic finds by its
 *    name (names sorted and unique, as the lookup bisects);
 *  - what it refuses, it refuses with -EUCLEAN and no summary;
 *  - lfs_summary_read of the same bytes as a file agrees with it.
 */
#include "internal.h"

#define FZ_NAME "fuzz_summary"
#include "fuzz_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_FIX_CRC 1
#define FZ_FILE 2

/* Encodes the parsed topics as the writer lays them out (header
 * included), for comparison with the bytes the parser was given. */
static unsigned char *fz_encode(const struct lfs_sum_topic *t, size_t n, size_t *len)
{
	size_t cap = 32;
	for (size_t i = 0; i < n; i++)
		cap += 4 + strlen(t[i].name) + 20 + (size_t)t[i].nsegs * LFS_SUM_SEG_SIZE;
	unsigned char *b = calloc(1, cap);
	if (!b)
		fz_fail("malloc");
	size_t pos = 32;
	for (size_t i = 0; i < n; i++) {
		size_t nlen = strlen(t[i].name);
		lfs_put32(b + pos, (uint32_t)nlen);
		memcpy(b + pos + 4, t[i].name, nlen);
		pos += 4 + nlen;
		lfs_put64(b + pos, t[i].id[0]);
		lfs_put64(b + pos + 8, t[i].id[1]);
		lfs_put32(b + pos + 16, t[i].nsegs);
		pos += 20;
		/* Every entry is read in full: ASan checks they lie in the
		 * parser's buffer. */
		for (uint32_t k = 0; k < t[i].nsegs; k++) {
			struct lfs_sum_seg e;
			lfs_sum_seg_decode(t[i].segs + (size_t)k * LFS_SUM_SEG_SIZE, &e);
			memcpy(b + pos, t[i].segs + (size_t)k * LFS_SUM_SEG_SIZE, LFS_SUM_SEG_SIZE);
			if (lfs_get64(b + pos) != e.base || lfs_get32(b + pos + 64) != e.framing)
				fz_fail("a segment entry does not decode from its bytes");
			pos += LFS_SUM_SEG_SIZE;
		}
	}
	memcpy(b, "LFSSUM01", 8);
	lfs_put32(b + 8, 1);
	lfs_put32(b + 12, (uint32_t)n);
	lfs_put64(b + 16, pos - 32);
	lfs_put32(b + 24, lfs_crc32c(0, b + 32, pos - 32));
	lfs_put32(b + 28, lfs_crc32c(0, b, 28));
	*len = pos;
	return b;
}

static void fz_check(const struct lfs_summary *s, const unsigned char *in, size_t len)
{
	size_t n, elen;
	const struct lfs_sum_topic *t = lfs_summary_topics(s, &n);
	for (size_t i = 0; i < n; i++)
		if (lfs_summary_topic(s, t[i].name) != &t[i])
			fz_fail("a topic of the summary is not found by its name");
	unsigned char *enc = fz_encode(t, n, &elen);
	if (elen != len || memcmp(enc, in, len))
		fz_fail("an accepted summary does not encode back to its bytes");
	free(enc);
}

/* lfs_summary_read of the same bytes: the same answer. */
static void fz_file(const unsigned char *in, size_t len, int prc, const struct lfs_summary *ps)
{
	int dirfd = fz_dir();
	fz_put(dirfd, LFS_SUMMARY_FILE, in, len);
	struct lfs_summary *s;
	int rc = lfs_summary_read(dirfd, &s);
	if (rc != prc || (rc == 0) != (s != NULL))
		fz_fail("lfs_summary_read and lfs_summary_parse disagree");
	if (rc == 0) {
		size_t n, pn;
		const struct lfs_sum_topic *t = lfs_summary_topics(s, &n);
		const struct lfs_sum_topic *pt = lfs_summary_topics(ps, &pn);
		if (n != pn)
			fz_fail("lfs_summary_read and lfs_summary_parse disagree on the topics");
		for (size_t i = 0; i < n; i++)
			if (strcmp(t[i].name, pt[i].name) || t[i].id[0] != pt[i].id[0] ||
			    t[i].id[1] != pt[i].id[1] || t[i].nsegs != pt[i].nsegs ||
			    memcmp(t[i].segs, pt[i].segs, (size_t)t[i].nsegs * LFS_SUM_SEG_SIZE))
				fz_fail("lfs_summary_read and lfs_summary_parse disagree on a topic");
	}
	lfs_summary_free(s);
	unlinkat(dirfd, LFS_SUMMARY_FILE, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > (4u << 20))
		return 0;
	uint8_t flags = data[0];
	size_t len = size - 1;
	/* One byte more than the file, so that malloc(0) is never asked. */
	unsigned char *in = malloc(len + 1);
	if (!in)
		fz_fail("malloc");
	memcpy(in, data + 1, len);
	if ((flags & FZ_FIX_CRC) && len >= 32) {
		lfs_put64(in + 16, len - 32);
		lfs_put32(in + 24, lfs_crc32c(0, in + 32, len - 32));
		lfs_put32(in + 28, lfs_crc32c(0, in, 28));
	}

	unsigned char *buf = malloc(len ? len : 1);
	if (!buf)
		fz_fail("malloc");
	memcpy(buf, in, len);
	/* Not NULL, so that a parser that leaves *out unset is caught. */
	static char unset;
	struct lfs_summary *s = (struct lfs_summary *)&unset;
	int rc = lfs_summary_parse(buf, len, &s);
	if (rc == 0) {
		if (!s)
			fz_fail("accepted without a summary");
		fz_check(s, in, len);
	} else if (rc != -EUCLEAN || s != NULL) {
		fz_fail("refused other than with -EUCLEAN and no summary");
	}
	if (flags & FZ_FILE)
		fz_file(in, len, rc, s);
	lfs_summary_free(s);
	free(in);
	return 0;
}
