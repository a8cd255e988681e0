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

/* topic.conf: the exact text, a round trip, and the checksum line. */
static void test_conf_encode_decode(void **state)
{
	(void)state;
	struct lfs_topic_meta m = {.mode = 0750, .uid = 1000, .gid = 4294967295u};
	snprintf(m.mirror, sizeof(m.mirror), "orders.mirror");
	struct lfs_settings own;
	memset(&own, 0, sizeof(own));
	own.segment_size = 1 << 20;
	own.framing = LFS_FRAMING_WRITE;
	uint32_t mask = (1u << LFS_SET_SEGMENT_SIZE) | (1u << LFS_SET_FRAMING);
	char buf[LFS_CONF_MAX + 1];
	int n = lfs_conf_encode(&m, &own, mask, buf);
	assert_true(n > 0);
	const char *want_lines = "mode=750\nuid=1000\ngid=4294967295\nmirror=orders.mirror\n"
				 "segment_size=1048576\nframing=write\n";
	size_t wl = strlen(want_lines);
	assert_true((size_t)n == wl + 13);
	assert_memory_equal(buf, want_lines, wl);
	char crc[16];
	snprintf(crc, sizeof(crc), "crc=%08x\n", lfs_crc32c(0, want_lines, wl));
	assert_memory_equal(buf + wl, crc, 13);

	struct lfs_topic_meta m2;
	struct lfs_settings own2;
	uint32_t mask2;
	char copy[LFS_CONF_MAX + 1];
	memcpy(copy, buf, (size_t)n);
	assert_int_equal(lfs_conf_decode(copy, (size_t)n, &m2, &own2, &mask2), 0);
	assert_int_equal(m2.mode, 0750);
	assert_int_equal(m2.uid, 1000);
	assert_true(m2.gid == 4294967295u);
	assert_string_equal(m2.mirror, "orders.mirror");
	assert_int_equal(mask2, mask);
	assert_true(own2.segment_size == 1 << 20);
	assert_int_equal(own2.framing, LFS_FRAMING_WRITE);

	/* No mirror, no settings: three lines and the checksum. */
	memset(&m, 0, sizeof(m));
	m.mode = 01777;
	n = lfs_conf_encode(&m, &own, 0, buf);
	assert_true(n == (int)strlen("mode=1777\nuid=0\ngid=0\ncrc=00000000\n"));
	assert_memory_equal(buf, "mode=1777\nuid=0\ngid=0\ncrc=", 26);

	/* A mirror name refused is not written. */
	snprintf(m.mirror, sizeof(m.mirror), "has space");
	assert_int_equal(lfs_conf_encode(&m, &own, 0, buf), -EINVAL);
}

/* Decoding refuses every single-bit flip (but a letter's case in the
 * checksum), a text with no checksum line, one
 * with bytes after it, and lines the grammar refuses even under a right
 * checksum. */
static void test_conf_decode_refuses(void **state)
{
	(void)state;
	struct lfs_topic_meta m = {.mode = 0640, .uid = 7, .gid = 8};
	struct lfs_settings own;
	memset(&own, 0, sizeof(own));
	own.max_record = 4096;
	char buf[LFS_CONF_MAX + 1], copy[LFS_CONF_MAX + 1];
	int n = lfs_conf_encode(&m, &own, 1u << LFS_SET_MAX_RECORD, buf);
	assert_true(n > 0);
	struct lfs_topic_meta m2;
	struct lfs_settings own2;
	uint32_t mask2;
	for (int i = 0; i < n * 8; i++) {
		/* The checksum's hex digits are read either case: a flip of
		 * bit 5 of a letter there is the same checksum. */
		if (i / 8 >= n - 9 && i / 8 < n - 1 && i % 8 == 5 && buf[i / 8] >= 'a')
			continue;
		memcpy(copy, buf, (size_t)n);
		copy[i / 8] ^= (char)(1 << (i % 8));
		assert_int_equal(lfs_conf_decode(copy, (size_t)n, &m2, &own2, &mask2), -EUCLEAN);
	}
	memcpy(copy, buf, (size_t)n);
	assert_int_equal(lfs_conf_decode(copy, (size_t)n - 13, &m2, &own2, &mask2), -EUCLEAN);
	memcpy(copy, buf, (size_t)n);
	copy[n] = 'x';
	assert_int_equal(lfs_conf_decode(copy, (size_t)n + 1, &m2, &own2, &mask2), -EUCLEAN);

	/* Lines with a right checksum that do not parse. */
	static const char *bad[] = {
		"mode=999\n",		/* not octal */
		"mode=17777\n",	/* past 07777 */
		"uid=4294967296\n",	/* past 32 bits */
		"gid=12x\n",		/* trailing junk */
		"uid=\n",		/* empty */
		"=5\n",		/* no key */
		"nokey\n",		/* no '=' */
		"colour=blue\n",	/* unknown key */
		"segment_size=huge\n", /* a setting's value refused */
		"mirror=a b\n",	/* a mirror name refused */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t l = strlen(bad[i]);
		memcpy(copy, bad[i], l);
		l += (size_t)snprintf(copy + l, sizeof(copy) - l, "crc=%08x\n", lfs_crc32c(0, bad[i], l));
		assert_int_equal(lfs_conf_decode(copy, l, &m2, &own2, &mask2), -EUCLEAN);
	}
	/* A key given twice under a right checksum: the later line holds. */
	const char *twice = "uid=5\nuid=6\n";
	size_t l = strlen(twice);
	memcpy(copy, twice, l);
	l += (size_t)snprintf(copy + l, sizeof(copy) - l, "crc=%08x\n", lfs_crc32c(0, twice, l));
	assert_int_equal(lfs_conf_decode(copy, l, &m2, &own2, &mask2), 0);
	assert_int_equal(m2.uid, 6);
}

/* A salvage keeps every line that parses, the first of each key, over the
 * defaults it is given. */
static void test_conf_salvage(void **state)
{
	(void)state;
	char buf[LFS_CONF_MAX + 1];
	const char *text = "mode=640\nuid=oops\nuid=12\nuid=13\ngarbage\nsegment_size=2M\n"
			   "segment_size=4M\nretention_ms=bad\nmirror=x y\ncrc=deadbeef\n";
	size_t l = strlen(text);
	memcpy(buf, text, l);
	struct lfs_topic_meta m = {.mode = 0700, .uid = 1, .gid = 2};
	struct lfs_settings own;
	memset(&own, 0, sizeof(own));
	own.retention_ms = 99;
	uint32_t mask = 0;
	assert_int_equal(lfs_conf_salvage(buf, l, &m, &own, &mask), 3);
	assert_int_equal(m.mode, 0640);
	assert_int_equal(m.uid, 12);
	assert_int_equal(m.gid, 2);        /* the default given */
	assert_string_equal(m.mirror, ""); /* refused */
	assert_int_equal(mask, 1u << LFS_SET_SEGMENT_SIZE);
	assert_true(own.segment_size == 2u << 20);
	assert_true(own.retention_ms == 99); /* a refused value changes nothing */
	/* Nothing readable: nothing kept. */
	memcpy(buf, "\n\n==\n", 6);
	assert_int_equal(lfs_conf_salvage(buf, 6, &m, &own, &mask), 0);
}

/* The superblock file: two copies at 0 and LFS_SB_BACKUP, zeros between;
 * the backup serves when the primary is damaged, not when it is newer. */
static void test_sb_file(void **state)
{
	(void)state;
	struct lfs_sb_info a, b;
	unsigned char one[LFS_SB_SIZE], f[LFS_SB_FILE_SIZE];
	bool ok;
	fill_sb(&a);
	lfs_sb_encode(&a, one);
	lfs_sb_file_encode(one, f);
	assert_int_equal(LFS_SB_BACKUP, 512);
	assert_int_equal(LFS_SB_FILE_SIZE, 768);
	assert_memory_equal(f, one, LFS_SB_SIZE);
	assert_true(zero_range(f, LFS_SB_SIZE, LFS_SB_BACKUP));
	assert_memory_equal(f + LFS_SB_BACKUP, one, LFS_SB_SIZE);
	assert_true(lfs_sb_file_backup_same(f, sizeof(f)));
	assert_int_equal(lfs_sb_file_decode(f, sizeof(f), &b, &ok), 0);
	assert_true(ok);
	assert_memory_equal(b.uuid, a.uuid, 16);

	/* Primary damaged: the backup, and *primary_ok false. */
	f[40] ^= 1;
	memset(&b, 0, sizeof(b));
	assert_int_equal(lfs_sb_file_decode(f, sizeof(f), &b, &ok), 0);
	assert_false(ok);
	assert_string_equal(b.label, "backup-volume");
	assert_false(lfs_sb_file_backup_same(f, sizeof(f))); /* the copies differ */
	/* ... and the file cut before the backup's end: none. */
	assert_int_equal(lfs_sb_file_decode(f, sizeof(f) - 1, &b, &ok), -EUCLEAN);
	assert_int_equal(lfs_sb_file_decode(f, 100, &b, NULL), -EUCLEAN);
	/* Both damaged. */
	f[LFS_SB_BACKUP + 40] ^= 1;
	assert_int_equal(lfs_sb_file_decode(f, sizeof(f), &b, &ok), -EUCLEAN);
	/* Backup damaged alone: the primary, not the same. */
	f[40] ^= 1;
	assert_int_equal(lfs_sb_file_decode(f, sizeof(f), &b, &ok), 0);
	assert_true(ok);
	assert_false(lfs_sb_file_backup_same(f, sizeof(f)));
	assert_false(lfs_sb_file_backup_same(f, LFS_SB_SIZE));
	/* A newer primary is refused, the backup not read. */
	a.version = LFS_FORMAT_VERSION + 1;
	lfs_sb_encode(&a, one);
	memcpy(f, one, LFS_SB_SIZE);
	assert_int_equal(lfs_sb_file_decode(f, sizeof(f), &b, &ok), -EPROTONOSUPPORT);
	assert_false(ok);
}

/* The lost-page rule: whole aligned 4 KiB pages of zeros, from a position
 * rounded up to a page. */
static void test_lost_page(void **state)
{
	(void)state;
	size_t size = 5 * LFS_LOST_PAGE + 100;
	unsigned char *d = malloc(size);
	assert_non_null(d);
	memset(d, 'x', size);
	assert_int_equal(LFS_LOST_PAGE, 4096);
	assert_true(lfs_lost_page_of(0) == 0);
	assert_true(lfs_lost_page_of(4095) == 0);
	assert_true(lfs_lost_page_of(4096) == 4096);
	assert_true(lfs_lost_page_of(10000) == 8192);
	assert_true(lfs_lost_page_find(d, size, 0) == size); /* none */
	memset(d + 2 * LFS_LOST_PAGE, 0, LFS_LOST_PAGE);
	assert_true(lfs_lost_page_find(d, size, 0) == 2 * LFS_LOST_PAGE);
	assert_true(lfs_lost_page_find(d, size, 2 * LFS_LOST_PAGE) == 2 * LFS_LOST_PAGE);
	/* From inside the page: the next page on. */
	assert_true(lfs_lost_page_find(d, size, 2 * LFS_LOST_PAGE + 1) == size);
	/* One non-zero byte, at either end: not lost. */
	d[2 * LFS_LOST_PAGE + LFS_LOST_PAGE - 1] = 1;
	assert_true(lfs_lost_page_find(d, size, 0) == size);
	d[2 * LFS_LOST_PAGE + LFS_LOST_PAGE - 1] = 0;
	d[2 * LFS_LOST_PAGE] = 1;
	assert_true(lfs_lost_page_find(d, size, 0) == size);
	/* Zeros not aligned, or a partial page at the end: not lost. */
	memset(d + 2 * LFS_LOST_PAGE + LFS_LOST_PAGE / 2, 0, LFS_LOST_PAGE);
	memset(d + 5 * LFS_LOST_PAGE, 0, 100);
	assert_true(lfs_lost_page_find(d, size, 0) == size);
	/* The last whole page. */
	memset(d + 4 * LFS_LOST_PAGE, 0, LFS_LOST_PAGE);
	assert_true(lfs_lost_page_find(d, size, 0) == 4 * LFS_LOST_PAGE);
	assert_true(lfs_lost_page_find(d, 4 * LFS_LOST_PAGE, 0) == 4 * LFS_LOST_PAGE);
	assert_true(lfs_lost_page_find(d, 0, 0) == 0);
	free(d);
}

/* The cursor store: where a commit writes, and which slot of a pair is the
 * cursor. */
static void test_cursor_pair(void **state)
{
	(void)state;
	assert_true(lfs_cursor_slot_pos(0, 1) == 256);
	assert_true(lfs_cursor_slot_pos(0, 2) == 0);
	assert_true(lfs_cursor_slot_pos(3, 7) == 3 * 512 + 256);
	assert_true(lfs_cursor_slot_pos(3, 8) == 3 * 512);

	unsigned char pair[LFS_CURSOR_PAIR_SIZE] = {0};
	struct lfs_cursor_slot a = {.seq = 4, .offset = 40, .flags = 0}, b = a, got;
	snprintf(a.name, sizeof(a.name), "reader");
	b = a;
	b.seq = 5;
	b.offset = 50;
	bool one_damaged = true;
	assert_int_equal(lfs_cursor_pair_decode(pair, &got, &one_damaged), -ENOENT);
	/* One slot written: that one. */
	lfs_cursor_slot_encode(&b, pair + lfs_cursor_slot_pos(0, b.seq));
	assert_int_equal(lfs_cursor_pair_decode(pair, &got, &one_damaged), 0);
	assert_true(got.offset == 50);
	assert_false(one_damaged);
	/* Both: the higher seq. */
	lfs_cursor_slot_encode(&a, pair + lfs_cursor_slot_pos(0, a.seq));
	assert_int_equal(lfs_cursor_pair_decode(pair, &got, &one_damaged), 0);
	assert_true(got.seq == 5 && got.offset == 50);
	a.seq = 6;
	a.offset = 60;
	lfs_cursor_slot_encode(&a, pair + lfs_cursor_slot_pos(0, a.seq));
	assert_int_equal(lfs_cursor_pair_decode(pair, &got, &one_damaged), 0);
	assert_true(got.seq == 6 && got.offset == 60);
	assert_false(one_damaged);
	/* The newer one torn: the other, reported. */
	pair[10] ^= 1;
	assert_int_equal(lfs_cursor_pair_decode(pair, &got, &one_damaged), 0);
	assert_true(got.seq == 5 && got.offset == 50);
	assert_true(one_damaged);
	/* Both damaged; one damaged and the other free. */
	pair[256 + 10] ^= 1;
	assert_int_equal(lfs_cursor_pair_decode(pair, &got, &one_damaged), -EUCLEAN);
	memset(pair + 256, 0, 256);
	assert_int_equal(lfs_cursor_pair_decode(pair, &got, &one_damaged), -EUCLEAN);
}

/* A lost batch's bytes in lost+found are named like a segment: ".lost". */
static void test_lost_name(void **state)
{
	(void)state;
	char name[32];
	uint64_t base;
	lfs_seg_name(339289, "lost", name);
	assert_string_equal(name, "00000000000000339289.lost");
	assert_int_equal(lfs_seg_name_parse(name, "lost", &base), 0);
	assert_true(base == 339289);
}

/* The segment summary: an entry's layout, a topic block's head, the header
 * and its checksums. */
static void test_summary_encoding(void **state)
{
	(void)state;
	struct lfs_sum_seg a = {.base = 0x0101010101010101ull,
				.stream_pos = 0x0202020202020202ull,
				.size = 0x0303030303030303ull,
				.next_offset = 0x0404040404040404ull,
				.nentries = 0x0505050505050505ull,
				.first_ts = 0x0606060606060606ull,
				.last_ts = 0x0707070707070707ull,
				.ctime_ns = 0x0808080808080808ull,
				.framing = 0x09090909u},
			   b;
	unsigned char e[LFS_SUM_SEG_SIZE];
	assert_int_equal(LFS_SUM_SEG_SIZE, 72);
	lfs_sum_seg_encode(&a, e);
	for (int f = 0; f < 9; f++)
		for (int k = 0; k < (f < 8 ? 8 : 4); k++)
			assert_int_equal(e[f * 8 + k], f + 1);
	assert_true(zero_range(e, 68, 72));
	lfs_sum_seg_decode(e, &b);
	/* Field by field: the struct's padding is not part of the encoding. */
	assert_true(b.base == a.base && b.stream_pos == a.stream_pos && b.size == a.size);
	assert_true(b.next_offset == a.next_offset && b.nentries == a.nentries);
	assert_true(b.first_ts == a.first_ts && b.last_ts == a.last_ts && b.ctime_ns == a.ctime_ns);
	assert_true(b.framing == a.framing);

	/* A body of two topics, the first with that one entry. */
	unsigned char buf[LFS_SUM_HEADER_SIZE + 2 * LFS_SUM_TOPIC_HEAD_MAX + LFS_SUM_SEG_SIZE];
	uint64_t id[2] = {77, 88};
	size_t len = LFS_SUM_HEADER_SIZE;
	size_t h = lfs_sum_topic_encode("alpha", id, 1, buf + len);
	assert_int_equal(h, 4 + 5 + 20);
	assert_true(lfs_get32(buf + len) == 5);
	assert_memory_equal(buf + len + 4, "alpha", 5);
	assert_true(lfs_get64(buf + len + 9) == 77 && lfs_get64(buf + len + 17) == 88);
	assert_true(lfs_get32(buf + len + 25) == 1);
	len += h;
	memcpy(buf + len, e, sizeof(e));
	len += sizeof(e);
	len += lfs_sum_topic_encode("beta", id, 0, buf + len);
	lfs_sum_header_encode(buf, len, 2);
	assert_memory_equal(buf, LFS_SUM_MAGIC, 8);
	assert_true(lfs_get32(buf + 8) == 1 && lfs_get32(buf + 12) == 2);
	assert_true(lfs_get64(buf + 16) == len - LFS_SUM_HEADER_SIZE);

	uint32_t n = 0;
	assert_int_equal(lfs_sum_header_decode(buf, len, &n), 0);
	assert_int_equal(n, 2);
	size_t pos = LFS_SUM_HEADER_SIZE;
	struct lfs_sum_topic t;
	assert_int_equal(lfs_sum_topic_decode(buf, len, &pos, &t), 0);
	assert_string_equal(t.name, "alpha");
	assert_true(t.id[0] == 77 && t.id[1] == 88 && t.nsegs == 1);
	assert_ptr_equal(t.segs, buf + LFS_SUM_HEADER_SIZE + h);
	assert_int_equal(lfs_sum_topic_decode(buf, len, &pos, &t), 0);
	assert_string_equal(t.name, "beta");
	assert_true(t.nsegs == 0);
	assert_true(pos == len);
	/* Nothing after the last block. */
	assert_int_equal(lfs_sum_topic_decode(buf, len, &pos, &t), -EUCLEAN);

	/* Every single-bit flip is refused by the header's checks. */
	for (size_t i = 0; i < len * 8; i++) {
		buf[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(lfs_sum_header_decode(buf, len, &n), -EUCLEAN);
		buf[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	assert_int_equal(lfs_sum_header_decode(buf, len - 1, &n), -EUCLEAN);
	assert_int_equal(lfs_sum_header_decode(buf, LFS_SUM_HEADER_SIZE - 1, &n), -EUCLEAN);

	/* Blocks that do not fit, or names that are not names. */
	pos = LFS_SUM_HEADER_SIZE;
	assert_int_equal(lfs_sum_topic_decode(buf, LFS_SUM_HEADER_SIZE + h, &pos, &t), -EUCLEAN);
	assert_int_equal(lfs_sum_topic_decode(buf, LFS_SUM_HEADER_SIZE + 8, &pos, &t), -EUCLEAN);
	lfs_put32(buf + pos, 0);
	assert_int_equal(lfs_sum_topic_decode(buf, len, &pos, &t), -EUCLEAN);
	lfs_put32(buf + pos, LFS_TOPIC_NAME_MAX + 1);
	assert_int_equal(lfs_sum_topic_decode(buf, len, &pos, &t), -EUCLEAN);
	lfs_put32(buf + pos, 5);
	buf[pos + 6] = 0;
	assert_int_equal(lfs_sum_topic_decode(buf, len, &pos, &t), -EUCLEAN);
	assert_true(pos == LFS_SUM_HEADER_SIZE); /* unmoved on failure */
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
		cmocka_unit_test(test_conf_encode_decode),
		cmocka_unit_test(test_conf_decode_refuses),
		cmocka_unit_test(test_conf_salvage),
		cmocka_unit_test(test_sb_file),
		cmocka_unit_test(test_lost_page),
		cmocka_unit_test(test_cursor_pair),
		cmocka_unit_test(test_lost_name),
		cmocka_unit_test(test_summary_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
