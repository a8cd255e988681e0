/*
 * Fuzz target (libFuzzer) for the recovery scanner and the parsers of
 * on-disk and user-supplied text (docs/RELIABILITY.md). `make fuzz` builds
 * it with clang -fsanitize=fuzzer,address,undefined and runs it;
 * tests/tools/fuzz_replay.c builds it with the project's compiler and
 * replays tests/fuzz/corpus and tests/fuzz/regressions in `make check`.
 *
 * Input layout:
 *   byte 0       flags: 1 hint framing is write (else line), 2 seal the
 *                segment when repairing, 4 no index file, 8 no data file,
 *                16 scan without LFS_SCAN_VERIFY_PAYLOAD first,
 *                32 recompute the index header's and every entry's CRC,
 *                64 also each batch entry's payload CRC from the data,
 *                128 also a seal entry's CRC of the entries before it
 *                (so that mutations reach past the checksums)
 *   bytes 1..3   length of the index part (little-endian, clamped)
 *   then         the index file, then the data file
 * The segment's base offset is read from the index header's field (bytes
 * 16..23) when the index is long enough, so the fuzzer can make the header
 * agree with the file name.
 *
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *  - the scanner never fails on well-formed I/O, whatever the bytes;
 *  - repair only cuts: the repaired data file is a prefix of the original;
 *  - after a repair that reported nothing unrepairable, a verifying scan
 *    finds no problem, and a second repair changes nothing;
 *  - the result's counts stay inside the files;
 *  - topic.conf: what the reader accepts, the writer writes back and the
 *    reader reads again identically; a setting that parses formats and
 *    parses back to the same value.
 * Plus, for the sanitizers: lfs_sb_decode, lfs_state_decode,
 * lfs_idx_header_decode, lfs_idx_entry_decode, lfs_start_parse,
 * lfs_setting_parse, lfs_parse_size/ms, lfs_seg_name_parse and
 * lfs_topic_name_check on slices of the input.
 */
#include "internal.h"

#define FZ_NAME "fuzz_scan"
#include "fuzz_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_WRITE 1
#define FZ_SEAL 2
#define FZ_NO_IDX 4
#define FZ_NO_LOG 8
#define FZ_NO_VERIFY 16
#define FZ_FIX_CRC 32
#define FZ_FIX_PAYLOAD 64
#define FZ_FIX_SEAL 128

static uint8_t *fz_get(int dirfd, const char *name, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		fz_fail("fstat");
	uint8_t *b = malloc((size_t)st.st_size + 1);
	if (!b)
		fz_fail("malloc");
	if (st.st_size && lfs_pread_full(fd, b, (size_t)st.st_size, 0) < 0)
		fz_fail("read back");
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

struct fz_problems {
	unsigned count, unrepaired;
};

static void fz_problem(void *ctx, const struct lfs_problem *p)
{
	struct fz_problems *c = ctx;
	c->count++;
	if (!p->repaired)
		c->unrepaired++;
	if (p->message[0] == 0)
		fz_fail("a problem without a message");
}

static void fz_scan(const uint8_t *data, size_t size)
{
	uint8_t flags = data[0];
	size_t ilen = size >= 4 ? (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 : 0;
	const uint8_t *rest = data + (size >= 4 ? 4 : size);
	size_t rlen = size - (size_t)(rest - data);
	if (ilen > rlen)
		ilen = rlen;
	const uint8_t *idx = rest, *log = rest + ilen;
	size_t llen = rlen - ilen;
	uint64_t base = ilen >= 24 ? lfs_get64(idx + 16) : 0;
	/* Keep offsets away from the wrap: the scanner adds counts to them. */
	if (base > (1ull << 62))
		base &= (1ull << 62) - 1;

	/* Checksum fix-ups, so that mutated fields are seen by the checks
	 * after the CRCs. */
	uint8_t *fixed = NULL;
	if (flags & (FZ_FIX_CRC | FZ_FIX_PAYLOAD | FZ_FIX_SEAL)) {
		fixed = malloc(ilen + 1);
		if (!fixed)
			fz_fail("malloc");
		memcpy(fixed, idx, ilen);
		if (ilen >= LFS_IDX_HEADER_SIZE && (flags & FZ_FIX_CRC))
			lfs_put32(fixed + 60, lfs_crc32c(0, fixed, 60));
		for (size_t off = LFS_IDX_HEADER_SIZE; off + LFS_IDX_ENTRY_SIZE <= ilen;
		     off += LFS_IDX_ENTRY_SIZE) {
			uint8_t *e = fixed + off;
			uint32_t type = lfs_get32(e + 36);
			uint64_t pos = lfs_get64(e + 8);
			uint32_t len = lfs_get32(e + 16);
			if ((flags & FZ_FIX_PAYLOAD) && type == LFS_ENTRY_BATCH && pos <= llen &&
			    len <= llen - pos)
				lfs_put32(e + 32, lfs_crc32c(0, log + pos, len));
			if ((flags & FZ_FIX_SEAL) && type == LFS_ENTRY_SEAL)
				lfs_put32(e + 32, lfs_crc32c(0, fixed + LFS_IDX_HEADER_SIZE,
							     off - LFS_IDX_HEADER_SIZE));
			if (flags & (FZ_FIX_CRC | FZ_FIX_PAYLOAD | FZ_FIX_SEAL))
				lfs_put32(e + 44, lfs_crc32c(0, e, 44));
		}
		idx = fixed;
	}

	int dirfd = fz_dir();
	char in[32], ln[32];
	lfs_seg_name(base, "idx", in);
	lfs_seg_name(base, "log", ln);
	unlinkat(dirfd, in, 0);
	unlinkat(dirfd, ln, 0);
	if (!(flags & FZ_NO_IDX))
		fz_put(dirfd, in, idx, ilen);
	if (!(flags & FZ_NO_LOG))
		fz_put(dirfd, ln, log, llen);

	struct lfs_scan_hint hint = {.framing = flags & FZ_WRITE ? LFS_FRAMING_WRITE
								  : LFS_FRAMING_LINE,
				     .stream_pos = 4096};
	bool seal = flags & FZ_SEAL;
	struct lfs_scan_result r;
	struct fz_problems pr = {0, 0};
	unsigned verify = flags & FZ_NO_VERIFY ? 0 : LFS_SCAN_VERIFY_PAYLOAD;

	/* 1. Check only: changes nothing. */
	if (lfs_scan_segment(dirfd, "fuzz", base, verify, false, &hint, fz_problem, &pr, &r) < 0)
		fz_fail("check-only scan failed");
	if (r.next_offset < base)
		fz_fail("next_offset below the base");
	if (!(flags & FZ_NO_LOG) && r.valid_bytes > llen)
		fz_fail("valid_bytes past the data");
	size_t cl;
	uint8_t *after = fz_get(dirfd, ln, &cl);
	if ((flags & FZ_NO_LOG) ? after != NULL : (!after || cl != llen || memcmp(after, log, llen)))
		fz_fail("a check-only scan changed the data file");
	free(after);

	/* 2. Repair. */
	struct fz_problems rp = {0, 0};
	int rc = lfs_scan_segment(dirfd, "fuzz", base, LFS_SCAN_REPAIR | LFS_SCAN_VERIFY_PAYLOAD,
				  seal, &hint, fz_problem, &rp, &r);
	if (rc < 0)
		fz_fail("repair scan failed");
	after = fz_get(dirfd, ln, &cl);
	if (after) {
		/* Repair never invents data: it only cuts. */
		size_t orig = (flags & FZ_NO_LOG) ? 0 : llen;
		if (cl > orig || memcmp(after, log, cl))
			fz_fail("repair wrote data that was not in the data file");
		if (rp.unrepaired == 0 && cl != r.valid_bytes)
			fz_fail("after repair the data file is not exactly the valid bytes");
	}
	free(after);

	/* 3. What a repair without unrepairable problems leaves is clean,
	 *    and a second repair has nothing to do. */
	if (rp.unrepaired == 0) {
		struct lfs_scan_result r2;
		struct fz_problems p2 = {0, 0};
		if (lfs_scan_segment(dirfd, "fuzz", base, LFS_SCAN_VERIFY_PAYLOAD, false, &hint,
				     fz_problem, &p2, &r2) < 0)
			fz_fail("scan after repair failed");
		if (p2.count || r2.damaged)
			fz_fail("a scan after a complete repair still finds problems");
		if (r2.next_offset != r.next_offset || r2.valid_bytes != r.valid_bytes)
			fz_fail("a scan after repair disagrees with the repair's result");
		if (seal && !r2.sealed)
			fz_fail("repair was asked to seal but the segment is not sealed");
		struct fz_problems p3 = {0, 0};
		if (lfs_scan_segment(dirfd, "fuzz", base, LFS_SCAN_REPAIR | LFS_SCAN_VERIFY_PAYLOAD,
				     seal, &hint, fz_problem, &p3, &r2) < 0)
			fz_fail("second repair failed");
		if (p3.count || r2.repaired)
			fz_fail("a second repair changed something");
	}
	unlinkat(dirfd, in, 0);
	unlinkat(dirfd, ln, 0);
	free(fixed);
}

static bool fz_settings_equal(const struct lfs_settings *a, const struct lfs_settings *b,
			      uint32_t mask)
{
	for (int id = 0; id < LFS_SET_COUNT; id++) {
		if (!(mask & (1u << id)))
			continue;
		char x[64], y[64];
		if (lfs_setting_format(a, id, x, sizeof(x)) < 0 ||
		    lfs_setting_format(b, id, y, sizeof(y)) < 0 || strcmp(x, y))
			return false;
	}
	return true;
}

static void fz_conf(const uint8_t *data, size_t size)
{
	int dirfd = fz_dir();
	fz_put(dirfd, LFS_TOPIC_CONF, data, size);
	struct lfs_topic_meta meta, meta2;
	struct lfs_settings own, own2;
	uint32_t mask, mask2;
	if (lfs_topic_conf_read(dirfd, &meta, &own, &mask) == 0) {
		if (lfs_topic_conf_write(dirfd, &meta, &own, mask) < 0)
			fz_fail("topic.conf accepted by the reader cannot be written back");
		if (lfs_topic_conf_read(dirfd, &meta2, &own2, &mask2) < 0)
			fz_fail("topic.conf written back cannot be read");
		if (meta2.mode != (meta.mode & 07777) || meta2.uid != meta.uid ||
		    meta2.gid != meta.gid || mask2 != mask || !fz_settings_equal(&own, &own2, mask))
			fz_fail("topic.conf does not read back as written");
	}
	unlinkat(dirfd, LFS_TOPIC_CONF, 0);
}

static void fz_text(const uint8_t *data, size_t size)
{
	char text[256];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = 0;

	struct lfs_start st;
	(void)lfs_start_parse(text, 1700000000000000000ull, &st);
	for (int id = 0; id < LFS_SET_COUNT; id++) {
		struct lfs_settings s, s2;
		lfs_settings_default(&s);
		if (lfs_setting_parse(&s, id, text) == 0) {
			char buf[64];
			if (lfs_setting_format(&s, id, buf, sizeof(buf)) < 0)
				fz_fail("a parsed setting cannot be formatted");
			lfs_settings_default(&s2);
			if (lfs_setting_parse(&s2, id, buf) < 0 || !fz_settings_equal(&s, &s2, 1u << id))
				fz_fail("a setting does not parse back from its format");
		}
	}
	(void)lfs_setting_lookup(text);
	uint64_t v;
	(void)lfs_parse_size(text, &v);
	(void)lfs_parse_ms(text, &v);
	(void)lfs_seg_name_parse(text, "log", &v);
	(void)lfs_topic_name_check(text);
	uint8_t u[16];
	(void)lfs_uuid_parse(text, u);
}

static void fz_decoders(const uint8_t *data, size_t size)
{
	unsigned char buf[LFS_SB_SIZE];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	struct lfs_sb_info sb;
	if (lfs_sb_decode(buf, &sb) == 0) {
		unsigned char again[LFS_SB_SIZE];
		struct lfs_sb_info sb2;
		lfs_sb_encode(&sb, again);
		if (lfs_sb_decode(again, &sb2) != 0 || memcmp(&sb.defaults, &sb2.defaults, sizeof(sb.defaults)) ||
		    memcmp(sb.uuid, sb2.uuid, 16))
			fz_fail("superblock does not decode back from its encoding");
	}
	(void)lfs_state_decode(data, size);
	for (size_t off = 0; off + LFS_IDX_HEADER_SIZE <= size && off < 4096; off += 16) {
		struct lfs_idx_header h;
		(void)lfs_idx_header_decode(data + off, &h);
	}
	for (size_t off = 0; off + LFS_IDX_ENTRY_SIZE <= size && off < 8192; off += 8) {
		struct lfs_idx_entry e, e2;
		if (lfs_idx_entry_decode(data + off, &e) == 0) {
			unsigned char again[LFS_IDX_ENTRY_SIZE];
			lfs_idx_entry_encode(&e, again);
			if (lfs_idx_entry_decode(again, &e2) != 0 || e2.offset != e.offset ||
			    e2.pos != e.pos || e2.len != e.len || e2.count != e.count ||
			    e2.ts != e.ts || e2.crc != e.crc || e2.type != e.type)
				fz_fail("index entry does not decode back from its encoding");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (size > (4u << 20))
		return 0;
	fz_scan(data, size);
	fz_conf(data + 1, size - 1);
	fz_text(data + 1, size - 1);
	fz_decoders(data, size);
	return 0;
}
