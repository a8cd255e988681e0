#include "format.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Superblock layout (256 bytes):
 *   0 magic[8]  8 version  12 incompat  16 uuid[16]  32 label[64]
 *  96 ctime_ns 104 segment_size 112 segment_ms 120 retention_bytes
 * 128 retention_ms 136 max_record 144 sync_mode 148 sync_ms 152 framing
 * 156..251 zero  252 crc32c(0..251) */
void lfs_sb_encode(const struct lfs_sb_info *sb, unsigned char out[LFS_SB_SIZE])
{
	memset(out, 0, LFS_SB_SIZE);
	memcpy(out, LFS_SB_MAGIC, 8);
	lfs_put32(out + 8, sb->version);
	lfs_put32(out + 12, 0);
	memcpy(out + 16, sb->uuid, 16);
	memcpy(out + 32, sb->label, strnlen(sb->label, LFS_LABEL_MAX));
	lfs_put64(out + 96, sb->ctime_ns);
	lfs_put64(out + 104, sb->defaults.segment_size);
	lfs_put64(out + 112, sb->defaults.segment_ms);
	lfs_put64(out + 120, sb->defaults.retention_bytes);
	lfs_put64(out + 128, sb->defaults.retention_ms);
	lfs_put64(out + 136, sb->defaults.max_record);
	lfs_put32(out + 144, sb->defaults.sync_mode);
	lfs_put32(out + 148, sb->defaults.sync_ms);
	lfs_put32(out + 152, sb->defaults.framing);
	lfs_put32(out + 252, lfs_crc32c(0, out, 252));
}

int lfs_sb_decode(const unsigned char in[LFS_SB_SIZE], struct lfs_sb_info *sb)
{
	if (memcmp(in, LFS_SB_MAGIC, 8) != 0)
		return -EUCLEAN;
	if (lfs_get32(in + 252) != lfs_crc32c(0, in, 252))
		return -EUCLEAN;
	memset(sb, 0, sizeof(*sb));
	sb->version = lfs_get32(in + 8);
	if (sb->version > LFS_FORMAT_VERSION || lfs_get32(in + 12) != 0)
		return -EPROTONOSUPPORT;
	memcpy(sb->uuid, in + 16, 16);
	memcpy(sb->label, in + 32, LFS_LABEL_MAX);
	sb->label[LFS_LABEL_MAX] = 0;
	sb->ctime_ns = lfs_get64(in + 96);
	sb->defaults.segment_size = lfs_get64(in + 104);
	sb->defaults.segment_ms = lfs_get64(in + 112);
	sb->defaults.retention_bytes = lfs_get64(in + 120);
	sb->defaults.retention_ms = lfs_get64(in + 128);
	sb->defaults.max_record = lfs_get64(in + 136);
	sb->defaults.sync_mode = lfs_get32(in + 144);
	sb->defaults.sync_ms = lfs_get32(in + 148);
	sb->defaults.framing = lfs_get32(in + 152);
	return 0;
}

/* State: magic[8], state u32, crc32c(0..11) */
void lfs_state_encode(uint32_t state, unsigned char out[LFS_STATE_SIZE])
{
	memcpy(out, LFS_STATE_MAGIC, 8);
	lfs_put32(out + 8, state);
	lfs_put32(out + 12, lfs_crc32c(0, out, 12));
}

uint32_t lfs_state_decode(const unsigned char *in, size_t len)
{
	if (len != LFS_STATE_SIZE || memcmp(in, LFS_STATE_MAGIC, 8) != 0 ||
	    lfs_get32(in + 12) != lfs_crc32c(0, in, 12))
		return 0;
	uint32_t s = lfs_get32(in + 8);
	return (s == LFS_STATE_CLEAN || s == LFS_STATE_DIRTY) ? s : 0;
}

/* Recorded runtime errors: magic[8] version u32 count u32 first_ns u64
 * last_ns u64 first[128] last[128] (texts NUL-padded, NUL-terminated)
 * zero[12] crc32c(0..299) */
void lfs_errors_encode(const struct lfs_errors *e, unsigned char out[LFS_ERRORS_SIZE])
{
	memset(out, 0, LFS_ERRORS_SIZE);
	memcpy(out, LFS_ERRORS_MAGIC, 8);
	lfs_put32(out + 8, LFS_ERRORS_VERSION);
	lfs_put32(out + 12, e->count);
	lfs_put64(out + 16, e->first_ns);
	lfs_put64(out + 24, e->last_ns);
	memcpy(out + 32, e->first, strnlen(e->first, LFS_ERROR_TEXT - 1));
	memcpy(out + 160, e->last, strnlen(e->last, LFS_ERROR_TEXT - 1));
	lfs_put32(out + 300, lfs_crc32c(0, out, 300));
}

int lfs_errors_decode(const unsigned char *in, size_t len, struct lfs_errors *e)
{
	if (len != LFS_ERRORS_SIZE || memcmp(in, LFS_ERRORS_MAGIC, 8) != 0 ||
	    lfs_get32(in + 300) != lfs_crc32c(0, in, 300) ||
	    lfs_get32(in + 8) != LFS_ERRORS_VERSION)
		return -EUCLEAN;
	memset(e, 0, sizeof(*e));
	e->count = lfs_get32(in + 12);
	e->first_ns = lfs_get64(in + 16);
	e->last_ns = lfs_get64(in + 24);
	memcpy(e->first, in + 32, LFS_ERROR_TEXT - 1);
	memcpy(e->last, in + 160, LFS_ERROR_TEXT - 1);
	return 0;
}

/* Index header: magic[8] version framing base_offset stream_pos ctime_ns
 * zero[20] crc32c(0..59) */
void lfs_idx_header_encode(const struct lfs_idx_header *h, unsigned char out[LFS_IDX_HEADER_SIZE])
{
	memset(out, 0, LFS_IDX_HEADER_SIZE);
	memcpy(out, LFS_IDX_MAGIC, 8);
	lfs_put32(out + 8, h->version);
	lfs_put32(out + 12, h->framing);
	lfs_put64(out + 16, h->base_offset);
	lfs_put64(out + 24, h->stream_pos);
	lfs_put64(out + 32, h->ctime_ns);
	lfs_put32(out + 60, lfs_crc32c(0, out, 60));
}

int lfs_idx_header_decode(const unsigned char in[LFS_IDX_HEADER_SIZE], struct lfs_idx_header *h)
{
	if (memcmp(in, LFS_IDX_MAGIC, 8) != 0 || lfs_get32(in + 60) != lfs_crc32c(0, in, 60))
		return -EUCLEAN;
	h->version = lfs_get32(in + 8);
	h->framing = lfs_get32(in + 12);
	h->base_offset = lfs_get64(in + 16);
	h->stream_pos = lfs_get64(in + 24);
	h->ctime_ns = lfs_get64(in + 32);
	if (h->version > LFS_FORMAT_VERSION)
		return -EPROTONOSUPPORT;
	if (h->framing != LFS_FRAMING_LINE && h->framing != LFS_FRAMING_WRITE)
		return -EUCLEAN;
	return 0;
}

/* Entry: offset pos len count ts crc type crc32c(0..43) */
void lfs_idx_entry_encode(const struct lfs_idx_entry *e, unsigned char out[LFS_IDX_ENTRY_SIZE])
{
	lfs_put64(out, e->offset);
	lfs_put64(out + 8, e->pos);
	lfs_put32(out + 16, e->len);
	lfs_put32(out + 20, e->count);
	lfs_put64(out + 24, e->ts);
	lfs_put32(out + 32, e->crc);
	lfs_put32(out + 36, e->type);
	lfs_put32(out + 40, 0);
	lfs_put32(out + 44, lfs_crc32c(0, out, 44));
}

void lfs_idx_entry_fields(const unsigned char in[LFS_IDX_ENTRY_SIZE], struct lfs_idx_entry *e)
{
	e->offset = lfs_get64(in);
	e->pos = lfs_get64(in + 8);
	e->len = lfs_get32(in + 16);
	e->count = lfs_get32(in + 20);
	e->ts = lfs_get64(in + 24);
	e->crc = lfs_get32(in + 32);
	e->type = lfs_get32(in + 36);
}

int lfs_idx_entry_decode(const unsigned char in[LFS_IDX_ENTRY_SIZE], struct lfs_idx_entry *e)
{
	if (lfs_get32(in + 44) != lfs_crc32c(0, in, 44))
		return -EUCLEAN;
	lfs_idx_entry_fields(in, e);
	if (e->type != LFS_ENTRY_BATCH && e->type != LFS_ENTRY_SEAL && e->type != LFS_ENTRY_LOST)
		return -EUCLEAN;
	if (e->type == LFS_ENTRY_BATCH && (e->count == 0 || e->len == 0))
		return -EUCLEAN;
	if (e->type == LFS_ENTRY_LOST && (e->count == 0 || e->len != 0 || e->crc != 0))
		return -EUCLEAN;
	return 0;
}

void lfs_seg_name(uint64_t base, const char *ext, char out[32])
{
	snprintf(out, 32, "%020llu.%s", (unsigned long long)base, ext);
}

int lfs_seg_name_parse(const char *name, const char *ext, uint64_t *base)
{
	uint64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		uint64_t d = (uint64_t)(name[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (name[20] != '.' || strcmp(name + 21, ext) != 0)
		return -EINVAL;
	*base = v;
	return 0;
}

/* Cursor slot: magic(8) seq(8) offset(8) committed_at(8) skipped(8)
 * flags(4) name_len(4) name(200, zero padded) reserved(4, zero)
 * crc32c(4) of the 252 bytes before it. */
#define CUR_NAME_AT 48
#define CUR_CRC_AT (LFS_CURSOR_SLOT_SIZE - 4)

static bool zeros(const unsigned char *p, size_t len)
{
	static const unsigned char zero[LFS_CURSOR_SLOT_SIZE];
	return len <= sizeof(zero) && memcmp(p, zero, len) == 0;
}

void lfs_cursor_slot_encode(const struct lfs_cursor_slot *s, unsigned char out[LFS_CURSOR_SLOT_SIZE])
{
	size_t len = strnlen(s->name, LFS_TOPIC_NAME_MAX);
	memset(out, 0, LFS_CURSOR_SLOT_SIZE);
	memcpy(out, LFS_CURSOR_MAGIC, 8);
	lfs_put64(out + 8, s->seq);
	lfs_put64(out + 16, s->offset);
	lfs_put64(out + 24, s->committed_at);
	lfs_put64(out + 32, s->skipped);
	lfs_put32(out + 40, s->flags);
	lfs_put32(out + 44, (uint32_t)len);
	memcpy(out + CUR_NAME_AT, s->name, len);
	lfs_put32(out + CUR_CRC_AT, lfs_crc32c(0, out, CUR_CRC_AT));
}

int lfs_cursor_slot_decode(const unsigned char in[LFS_CURSOR_SLOT_SIZE], struct lfs_cursor_slot *s)
{
	if (zeros(in, LFS_CURSOR_SLOT_SIZE))
		return -ENOENT;
	if (memcmp(in, LFS_CURSOR_MAGIC, 8) != 0 ||
	    lfs_get32(in + CUR_CRC_AT) != lfs_crc32c(0, in, CUR_CRC_AT))
		return -EUCLEAN;
	uint32_t len = lfs_get32(in + 44);
	uint32_t flags = lfs_get32(in + 40);
	if (len == 0 || len > LFS_TOPIC_NAME_MAX || (flags & ~LFS_CURSOR_EXPLICIT) ||
	    lfs_get32(in + CUR_CRC_AT - 4) != 0 ||
	    !zeros(in + CUR_NAME_AT + len, LFS_TOPIC_NAME_MAX - len))
		return -EUCLEAN;
	memset(s, 0, sizeof(*s));
	memcpy(s->name, in + CUR_NAME_AT, len);
	if (strlen(s->name) != len || lfs_topic_name_check(s->name) < 0)
		return -EUCLEAN;
	s->seq = lfs_get64(in + 8);
	s->offset = lfs_get64(in + 16);
	s->committed_at = lfs_get64(in + 24);
	s->skipped = lfs_get64(in + 32);
	s->flags = flags;
	return 0;
}
