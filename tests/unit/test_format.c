/* On-disk encoding: superblock, state, index header and entries, segment
 * names. Round trips, the byte layout of every field, every single-bit flip
 * detected, newer versions refused. */
#include "testutil.h"

#include "format.h"

static bool zero_range(const unsigned char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i])
			return false;
	return true;
}

static void fill_sb(struct lfs_sb_info *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->version = LFS_FORMAT_VERSION;
	for (int i = 0; i < 16; i++)
		sb->uuid[i] = (uint8_t)(0xa0 + i);
	snprintf(sb->label, sizeof(sb->label), "backup-volume");
	sb->ctime_ns = 0x0102030405060708ull;
	sb->defaults.segment_size = 0x1111111111ull;
	sb->defaults.segment_ms = 0x2222222222ull;
	sb->defaults.retention_bytes = 0x3333333333ull;
	sb->defaults.retention_ms = 0x4444444444ull;
	sb->defaults.max_record = 0x5555555555ull;
	sb->defaults.sync_mode = LFS_SYNC_INTERVAL;
	sb->defaults.sync_ms = 0x66666666u;
	sb->defaults.framing = LFS_FRAMING_WRITE;
}

static void test_sb_round_trip_and_layout(void **state)
{
	(void)state;
	struct lfs_sb_info a, b;
	unsigned char buf[LFS_SB_SIZE];
	fill_sb(&a);
	lfs_sb_encode(&a, buf);
	assert_memory_equal(buf, LFS_SB_MAGIC, 8);
	memset(&b, 0x5a, sizeof(b));
	assert_int_equal(lfs_sb_decode(buf, &b), 0);
	assert_int_equal(b.version, a.version);
	assert_memory_equal(b.uuid, a.uuid, 16);
	assert_string_equal(b.label, "backup-volume");
	assert_true(b.ctime_ns == a.ctime_ns);
	assert_memory_equal(&b.defaults, &a.defaults, sizeof(a.defaults));
	/* Documented field positions, little-endian. */
	assert_int_equal(lfs_get32(buf + 8), LFS_FORMAT_VERSION);
	assert_int_equal(lfs_get32(buf + 12), 0);
	assert_memory_equal(buf + 16, a.uuid, 16);
	assert_memory_equal(buf + 32, "backup-volume", 13);
	assert_true(zero_range(buf, 32 + 13, 96));
	assert_true(lfs_get64(buf + 96) == a.ctime_ns);
	assert_true(lfs_get64(buf + 104) == a.defaults.segment_size);
	assert_true(lfs_get64(buf + 112) == a.defaults.segment_ms);
	assert_true(lfs_get64(buf + 120) == a.defaults.retention_bytes);
	assert_true(lfs_get64(buf + 128) == a.defaults.retention_ms);
	assert_true(lfs_get64(buf + 136) == a.defaults.max_record);
	assert_int_equal(lfs_get32(buf + 144), a.defaults.sync_mode);
	assert_int_equal(lfs_get32(buf + 148), a.defaults.sync_ms);
	assert_int_equal(lfs_get32(buf + 152), a.defaults.framing);
	assert_true(zero_range(buf, 156, 252));
	assert_int_equal(lfs_get32(buf + 252), lfs_crc32c(0, buf, 252));
	/* Encoding is deterministic. */
	unsigned char again[LFS_SB_SIZE];
	lfs_sb_encode(&b, again);
	assert_memory_equal(again, buf, LFS_SB_SIZE);
}

static void test_sb_label_max(void **state)
{
	(void)state;
	struct lfs_sb_info a, b;
	unsigned char buf[LFS_SB_SIZE];
	fill_sb(&a);
	memset(a.label, 'L', LFS_LABEL_MAX);
	a.label[LFS_LABEL_MAX] = 0;
	lfs_sb_encode(&a, buf);
	assert_int_equal(lfs_sb_decode(buf, &b), 0);
	assert_int_equal(strlen(b.label), LFS_LABEL_MAX);
	assert_string_equal(b.label, a.label);
	fill_sb(&a);
	a.label[0] = 0;
	lfs_sb_encode(&a, buf);
	assert_int_equal(lfs_sb_decode(buf, &b), 0);
	assert_string_equal(b.label, "");
}

static void test_sb_every_bit_flip_detected(void **state)
{
	(void)state;
	struct lfs_sb_info a, b;
	unsigned char buf[LFS_SB_SIZE];
	fill_sb(&a);
	lfs_sb_encode(&a, buf);
	for (size_t bit = 0; bit < LFS_SB_SIZE * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_equal(lfs_sb_decode(buf, &b), -EUCLEAN);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	assert_int_equal(lfs_sb_decode(buf, &b), 0);
}

static void reseal_sb(unsigned char *buf)
{
	lfs_put32(buf + 252, lfs_crc32c(0, buf, 252));
}

static void test_sb_newer_version_refused(void **state)
{
	(void)state;
	struct lfs_sb_info a, b;
	unsigned char buf[LFS_SB_SIZE];
	fill_sb(&a);
	a.version = LFS_FORMAT_VERSION + 1;
	lfs_sb_encode(&a, buf);
	assert_int_equal(lfs_sb_decode(buf, &b), -EPROTONOSUPPORT);
	/* An incompatible-feature bit is refused the same way. */
	fill_sb(&a);
	lfs_sb_encode(&a, buf);
	lfs_put32(buf + 12, 1);
	reseal_sb(buf);
	assert_int_equal(lfs_sb_decode(buf, &b), -EPROTONOSUPPORT);
	/* Bad magic with a good checksum is not a superblock. */
	lfs_sb_encode(&a, buf);
	buf[0] = 'X';
	reseal_sb(buf);
	assert_int_equal(lfs_sb_decode(buf, &b), -EUCLEAN);
	/* All zeros is not a superblock either. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(lfs_sb_decode(buf, &b), -EUCLEAN);
}

static void test_state_encode_decode(void **state)
{
	(void)state;
	unsigned char buf[LFS_STATE_SIZE];
	lfs_state_encode(LFS_STATE_CLEAN, buf);
	assert_memory_equal(buf, LFS_STATE_MAGIC, 8);
	assert_int_equal(lfs_state_decode(buf, sizeof(buf)), LFS_STATE_CLEAN);
	lfs_state_encode(LFS_STATE_DIRTY, buf);
	assert_int_equal(lfs_state_decode(buf, sizeof(buf)), LFS_STATE_DIRTY);
	/* Wrong length. */
	assert_int_equal(lfs_state_decode(buf, sizeof(buf) - 1), 0);
	/* Any bit flip. */
	for (size_t bit = 0; bit < LFS_STATE_SIZE * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_equal(lfs_state_decode(buf, sizeof(buf)), 0);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	/* A well-formed but unknown state. */
	lfs_state_encode(7, buf);
	assert_int_equal(lfs_state_decode(buf, sizeof(buf)), 0);
	lfs_state_encode(0, buf);
	assert_int_equal(lfs_state_decode(buf, sizeof(buf)), 0);
}

static const struct lfs_idx_header hdr_sample = {
	.version = LFS_FORMAT_VERSION,
	.framing = LFS_FRAMING_LINE,
	.base_offset = 0x0123456789abcdefull,
	.stream_pos = 0xfedcba9876543210ull,
	.ctime_ns = 0x1122334455667788ull,
};

static void test_idx_header_round_trip_and_layout(void **state)
{
	(void)state;
	unsigned char buf[LFS_IDX_HEADER_SIZE];
	struct lfs_idx_header h;
	for (uint32_t f = LFS_FRAMING_LINE; f <= LFS_FRAMING_WRITE; f++) {
		struct lfs_idx_header in = hdr_sample;
		in.framing = f;
		lfs_idx_header_encode(&in, buf);
		memset(&h, 0, sizeof(h));
		assert_int_equal(lfs_idx_header_decode(buf, &h), 0);
		assert_int_equal(h.version, in.version);
		assert_int_equal(h.framing, f);
		assert_true(h.base_offset == in.base_offset);
		assert_true(h.stream_pos == in.stream_pos);
		assert_true(h.ctime_ns == in.ctime_ns);
		assert_memory_equal(buf, LFS_IDX_MAGIC, 8);
		assert_int_equal(lfs_get32(buf + 8), in.version);
		assert_int_equal(lfs_get32(buf + 12), f);
		assert_true(lfs_get64(buf + 16) == in.base_offset);
		assert_true(lfs_get64(buf + 24) == in.stream_pos);
		assert_true(lfs_get64(buf + 32) == in.ctime_ns);
		assert_true(zero_range(buf, 40, 60));
		assert_int_equal(lfs_get32(buf + 60), lfs_crc32c(0, buf, 60));
	}
}

static void test_idx_header_every_bit_flip_detected(void **state)
{
	(void)state;
	unsigned char buf[LFS_IDX_HEADER_SIZE];
	struct lfs_idx_header h;
	lfs_idx_header_encode(&hdr_sample, buf);
	for (size_t bit = 0; bit < LFS_IDX_HEADER_SIZE * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		assert_int_equal(lfs_idx_header_decode(buf, &h), -EUCLEAN);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	assert_int_equal(lfs_idx_header_decode(buf, &h), 0);
}

static void test_idx_header_version_and_framing(void **state)
{
	(void)state;
	unsigned char buf[LFS_IDX_HEADER_SIZE];
	struct lfs_idx_header h, in = hdr_sample;
	in.version = LFS_FORMAT_VERSION + 1;
	lfs_idx_header_encode(&in, buf);
	assert_int_equal(lfs_idx_header_decode(buf, &h), -EPROTONOSUPPORT);
	in.version = 0xffffffffu;
	lfs_idx_header_encode(&in, buf);
	assert_int_equal(lfs_idx_header_decode(buf, &h), -EPROTONOSUPPORT);
	in = hdr_sample;
	in.framing = 0;
	lfs_idx_header_encode(&in, buf);
	assert_int_equal(lfs_idx_header_decode(buf, &h), -EUCLEAN);
	in.framing = 3;
	lfs_idx_header_encode(&in, buf);
	assert_int_equal(lfs_idx_header_decode(buf, &h), -EUCLEAN);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(lfs_idx_header_decode(buf, &h), -EUCLEAN);
}

static const struct lfs_idx_entry ent_sample = {
	.offset = 0x0102030405060708ull,
	.pos = 0x1112131415161718ull,
	.len = 0x21222324u,
	.count = 0x31323334u,
	.ts = 0x4142434445464748ull,
	.crc = 0x51525354u,
	.type = LFS_ENTRY_BATCH,
};

static void assert_entry_equal(const struct lfs_idx_entry *a, const struct lfs_idx_entry *b)
{
	assert_true(a->offset == b->offset);
	assert_true(a->pos == b->pos);
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->count, b->count);
	assert_true(a->ts == b->ts);
	assert_int_equal(a->crc, b->crc);
	assert_int_equal(a->type, b->type);
}

static void test_idx_entry_round_trip_and_layout(void **state)
{
	(void)state;
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	struct lfs_idx_entry e;
	lfs_idx_entry_encode(&ent_sample, buf);
	memset(&e, 0, sizeof(e));
	assert_int_equal(lfs_idx_entry_decode(buf, &e), 0);
	assert_entry_equal(&e, &ent_sample);
	assert_true(lfs_get64(buf) == ent_sample.offset);
	assert_true(lfs_get64(buf + 8) == ent_sample.pos);
	assert_int_equal(lfs_get32(buf + 16), ent_sample.len);
	assert_int_equal(lfs_get32(buf + 20), ent_sample.count);
	assert_true(lfs_get64(buf + 24) == ent_sample.ts);
	assert_int_equal(lfs_get32(buf + 32), ent_sample.crc);
	assert_int_equal(lfs_get32(buf + 36), ent_sample.type);
	assert_int_equal(lfs_get32(buf + 40), 0);
	assert_int_equal(lfs_get32(buf + 44), lfs_crc32c(0, buf, 44));
	/* Little-endian byte order, not host struct layout. */
	assert_int_equal(buf[0], 0x08);
	assert_int_equal(buf[7], 0x01);

	/* A seal entry: len 0 (and even count 0) is valid. */
	struct lfs_idx_entry seal = {.offset = 42, .pos = 1000, .len = 0, .count = 0,
				     .ts = 5, .crc = 0xdeadbeef, .type = LFS_ENTRY_SEAL};
	lfs_idx_entry_encode(&seal, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), 0);
	assert_entry_equal(&e, &seal);
}

/* Each field's bytes map to that field only: change one field on disk (and
 * fix the checksum), and only that field decodes differently. */
static void test_idx_entry_each_field(void **state)
{
	(void)state;
	static const struct {
		size_t off, width;
	} fields[] = {{0, 8}, {8, 8}, {16, 4}, {20, 4}, {24, 8}, {32, 4}};
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		unsigned char buf[LFS_IDX_ENTRY_SIZE];
		struct lfs_idx_entry e, want = ent_sample;
		lfs_idx_entry_encode(&ent_sample, buf);
		buf[fields[f].off] ^= 0x80;
		lfs_put32(buf + 44, lfs_crc32c(0, buf, 44));
		assert_int_equal(lfs_idx_entry_decode(buf, &e), 0);
		switch (f) {
		case 0: want.offset ^= 0x80; break;
		case 1: want.pos ^= 0x80; break;
		case 2: want.len ^= 0x80; break;
		case 3: want.count ^= 0x80; break;
		case 4: want.ts ^= 0x80; break;
		case 5: want.crc ^= 0x80; break;
		}
		assert_entry_equal(&e, &want);
	}
}

static void test_idx_entry_every_bit_flip_detected(void **state)
{
	(void)state;
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	struct lfs_idx_entry e;
	struct lfs_idx_entry seal = {.offset = 9, .pos = 77, .count = 3, .ts = 1, .crc = 2,
				     .type = LFS_ENTRY_SEAL};
	for (int k = 0; k < 2; k++) {
		lfs_idx_entry_encode(k ? &seal : &ent_sample, buf);
		for (size_t bit = 0; bit < LFS_IDX_ENTRY_SIZE * 8; bit++) {
			buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
			buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		}
		assert_int_equal(lfs_idx_entry_decode(buf, &e), 0);
	}
}

static void test_idx_entry_invalid_values(void **state)
{
	(void)state;
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	struct lfs_idx_entry e, in = ent_sample;
	in.type = 0;
	lfs_idx_entry_encode(&in, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
	in.type = 4;
	lfs_idx_entry_encode(&in, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
	in = ent_sample;
	in.count = 0;
	lfs_idx_entry_encode(&in, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
	in = ent_sample;
	in.len = 0;
	lfs_idx_entry_encode(&in, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
	/* The preallocated tail (zeros) is never a valid entry. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
}

/* Format version 2: a lost range (records recovery lost: their batch
 * failed its checksum while valid ones followed) has an entry of its own,
 * with no bytes. */
static void test_idx_entry_lost(void **state)
{
	(void)state;
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	struct lfs_idx_entry e,
		in = {.offset = 50, .pos = 1000, .count = 2, .ts = 77, .type = LFS_ENTRY_LOST};
	assert_int_equal(LFS_ENTRY_LOST, 3);
	lfs_idx_entry_encode(&in, buf);
	assert_int_equal(lfs_get32(buf + 36), 3);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), 0);
	assert_int_equal(e.offset, 50);
	assert_int_equal(e.pos, 1000);
	assert_int_equal(e.len, 0);
	assert_int_equal(e.count, 2);
	assert_int_equal(e.ts, 77);
	assert_int_equal(e.type, LFS_ENTRY_LOST);
	/* It has no bytes, no checksum, and loses at least one record. */
	struct lfs_idx_entry bad = in;
	bad.len = 200;
	lfs_idx_entry_encode(&bad, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
	bad = in;
	bad.count = 0;
	lfs_idx_entry_encode(&bad, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
	bad = in;
	bad.crc = 1;
	lfs_idx_entry_encode(&bad, buf);
	assert_int_equal(lfs_idx_entry_decode(buf, &e), -EUCLEAN);
}

/* The version that added lost ranges is 2; a version 1 superblock is still
 * read (the volume is raised to 2 when opened for writing). */
static void test_sb_version_1_read(void **state)
{
	(void)state;
	struct lfs_sb_info a, b;
	unsigned char buf[LFS_SB_SIZE];
	assert_int_equal(LFS_FORMAT_VERSION, 2);
	fill_sb(&a);
	a.version = 1;
	lfs_sb_encode(&a, buf);
	assert_int_equal(lfs_sb_decode(buf, &b), 0);
	assert_int_equal(b.version, 1);
}

static void test_seg_name(void **state)
{
	(void)state;
	char name[32];
	uint64_t base = 1;
	lfs_seg_name(0, "log", name);
	assert_string_equal(name, "00000000000000000000.log");
	assert_int_equal(strlen(name), LFS_SEG_NAME_LEN);
	lfs_seg_name(41873, "idx", name);
	assert_string_equal(name, "00000000000000041873.idx");
	lfs_seg_name(UINT64_MAX, "log", name);
	assert_string_equal(name, "18446744073709551615.log");

	uint64_t samples[] = {0, 1, 9, 10, 41873, 1000000000000ull, UINT64_MAX - 1, UINT64_MAX};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		lfs_seg_name(samples[i], "log", name);
		assert_int_equal(lfs_seg_name_parse(name, "log", &base), 0);
		assert_true(base == samples[i]);
		assert_int_equal(lfs_seg_name_parse(name, "idx", &base), -EINVAL);
	}

	static const char *bad[] = {
		"",
		"0",
		"0000000000000000000.log",    /* 19 digits */
		"000000000000000000000.log",  /* 21 digits */
		"18446744073709551616.log",   /* UINT64_MAX + 1 */
		"99999999999999999999.log",
		"0000000000000000000a.log",
		"-0000000000000000001.log",
		"00000000000000000000.lo",
		"00000000000000000000.logx",
		"00000000000000000000.log.tmp",
		"00000000000000000000log",
		"00000000000000000000_log",
		" 0000000000000000000.log",
		"tail",
		"topic.conf",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		base = 12345;
		assert_int_equal(lfs_seg_name_parse(bad[i], "log", &base), -EINVAL);
		assert_true(base == 12345); /* untouched on failure */
	}
}

static void test_put_get_helpers(void **state)
{
	(void)state;
	unsigned char b[8];
	lfs_put16(b, 0xbeef);
	assert_int_equal(b[0], 0xef);
	assert_int_equal(b[1], 0xbe);
	lfs_put32(b, 0xdeadbeef);
	assert_int_equal(lfs_get32(b), 0xdeadbeef);
	assert_int_equal(b[0], 0xef);
	assert_int_equal(b[3], 0xde);
	lfs_put64(b, 0x8877665544332211ull);
	assert_true(lfs_get64(b) == 0x8877665544332211ull);
	assert_int_equal(b[0], 0x11);
	assert_int_equal(b[7], 0x88);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sb_round_trip_and_layout),
		cmocka_unit_test(test_sb_label_max),
		cmocka_unit_test(test_sb_every_bit_flip_detected),
		cmocka_unit_test(test_sb_newer_version_refused),
		cmocka_unit_test(test_state_encode_decode),
		cmocka_unit_test(test_idx_header_round_trip_and_layout),
		cmocka_unit_test(test_idx_header_every_bit_flip_detected),
		cmocka_unit_test(test_idx_header_version_and_framing),
		cmocka_unit_test(test_idx_entry_round_trip_and_layout),
		cmocka_unit_test(test_idx_entry_each_field),
		cmocka_unit_test(test_idx_entry_every_bit_flip_detected),
		cmocka_unit_test(test_idx_entry_invalid_values),
		cmocka_unit_test(test_idx_entry_lost),
		cmocka_unit_test(test_sb_version_1_read),
		cmocka_unit_test(test_seg_name),
		cmocka_unit_test(test_put_get_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
