#include "format.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

void lfs_sb_file_encode(const unsigned char primary[LFS_SB_SIZE], unsigned char out[LFS_SB_FILE_SIZE])
{
	memset(out, 0, LFS_SB_FILE_SIZE);
	memcpy(out, primary, LFS_SB_SIZE);
	memcpy(out + LFS_SB_BACKUP, primary, LFS_SB_SIZE);
}

int lfs_sb_file_decode(const unsigned char *in, size_t len, struct lfs_sb_info *sb,
		       bool *primary_ok)
{
	int r1 = len >= LFS_SB_SIZE ? lfs_sb_decode(in, sb) : -EUCLEAN;
	if (primary_ok)
		*primary_ok = r1 == 0;
	if (r1 == 0 || r1 == -EPROTONOSUPPORT)
		return r1;
	if (len < LFS_SB_FILE_SIZE)
		return -EUCLEAN;
	return lfs_sb_decode(in + LFS_SB_BACKUP, sb);
}

bool lfs_sb_file_backup_same(const unsigned char *in, size_t len)
{
	struct lfs_sb_info b;
	return len >= LFS_SB_FILE_SIZE && lfs_sb_decode(in + LFS_SB_BACKUP, &b) == 0 &&
	       memcmp(in, in + LFS_SB_BACKUP, LFS_SB_SIZE) == 0;
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

uint64_t lfs_lost_page_find(const unsigned char *data, uint64_t size, uint64_t from)
{
	uint64_t p = lfs_lost_page_of(from);
	if (p < from)
		p += LFS_LOST_PAGE;
	for (; p <= size && size - p >= LFS_LOST_PAGE; p += LFS_LOST_PAGE) {
		const unsigned char *q = data + p;
		if (q[0] == 0 && memcmp(q, q + 1, LFS_LOST_PAGE - 1) == 0)
			return p;
	}
	return size;
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

/* Summary segment entry: base(8) stream_pos(8) size(8) next_offset(8)
 * nentries(8) first_ts(8) last_ts(8) ctime_ns(8) framing(4) zero(4). */
void lfs_sum_seg_encode(const struct lfs_sum_seg *e, unsigned char out[LFS_SUM_SEG_SIZE])
{
	lfs_put64(out, e->base);
	lfs_put64(out + 8, e->stream_pos);
	lfs_put64(out + 16, e->size);
	lfs_put64(out + 24, e->next_offset);
	lfs_put64(out + 32, e->nentries);
	lfs_put64(out + 40, e->first_ts);
	lfs_put64(out + 48, e->last_ts);
	lfs_put64(out + 56, e->ctime_ns);
	lfs_put32(out + 64, e->framing);
	lfs_put32(out + 68, 0);
}

void lfs_sum_seg_decode(const unsigned char *p, struct lfs_sum_seg *e)
{
	e->base = lfs_get64(p);
	e->stream_pos = lfs_get64(p + 8);
	e->size = lfs_get64(p + 16);
	e->next_offset = lfs_get64(p + 24);
	e->nentries = lfs_get64(p + 32);
	e->first_ts = lfs_get64(p + 40);
	e->last_ts = lfs_get64(p + 48);
	e->ctime_ns = lfs_get64(p + 56);
	e->framing = lfs_get32(p + 64);
}

size_t lfs_sum_topic_encode(const char *name, const uint64_t id[2], uint32_t nsegs,
			    unsigned char *out)
{
	size_t nlen = strnlen(name, LFS_TOPIC_NAME_MAX);
	lfs_put32(out, (uint32_t)nlen);
	memcpy(out + 4, name, nlen);
	unsigned char *w = out + 4 + nlen;
	lfs_put64(w, id[0]);
	lfs_put64(w + 8, id[1]);
	lfs_put32(w + 16, nsegs);
	return 4 + nlen + 20;
}

int lfs_sum_topic_decode(const unsigned char *in, size_t len, size_t *pos, struct lfs_sum_topic *t)
{
	size_t p = *pos;
	if (p > len || len - p < 4)
		return -EUCLEAN;
	uint32_t nlen = lfs_get32(in + p);
	if (nlen == 0 || nlen > LFS_TOPIC_NAME_MAX || len - p - 4 < (uint64_t)nlen ||
	    memchr(in + p + 4, 0, nlen))
		return -EUCLEAN;
	memcpy(t->name, in + p + 4, nlen);
	t->name[nlen] = 0;
	p += 4 + nlen;
	if (len - p < 20)
		return -EUCLEAN;
	t->id[0] = lfs_get64(in + p);
	t->id[1] = lfs_get64(in + p + 8);
	uint32_t nsegs = lfs_get32(in + p + 16);
	p += 20;
	if ((len - p) / LFS_SUM_SEG_SIZE < nsegs)
		return -EUCLEAN;
	t->nsegs = nsegs;
	t->segs = in + p;
	*pos = p + (size_t)nsegs * LFS_SUM_SEG_SIZE;
	return 0;
}

/* Summary header: magic[8] version(4) ntopics(4) body length(8)
 * crc32c(body)(4) crc32c(bytes 0..27)(4). */
void lfs_sum_header_encode(unsigned char *buf, size_t len, uint32_t ntopics)
{
	memcpy(buf, LFS_SUM_MAGIC, 8);
	lfs_put32(buf + 8, LFS_SUM_VERSION);
	lfs_put32(buf + 12, ntopics);
	lfs_put64(buf + 16, len - LFS_SUM_HEADER_SIZE);
	lfs_put32(buf + 24, lfs_crc32c(0, buf + LFS_SUM_HEADER_SIZE, len - LFS_SUM_HEADER_SIZE));
	lfs_put32(buf + 28, lfs_crc32c(0, buf, 28));
}

int lfs_sum_header_decode(const unsigned char *b, size_t len, uint32_t *ntopics)
{
	if (len < LFS_SUM_HEADER_SIZE || len > LFS_SUM_MAX)
		return -EUCLEAN;
	uint32_t n = lfs_get32(b + 12);
	if (memcmp(b, LFS_SUM_MAGIC, 8) || lfs_get32(b + 8) != LFS_SUM_VERSION ||
	    lfs_get32(b + 28) != lfs_crc32c(0, b, 28) || lfs_get64(b + 16) != len - LFS_SUM_HEADER_SIZE ||
	    lfs_get32(b + 24) != lfs_crc32c(0, b + LFS_SUM_HEADER_SIZE, len - LFS_SUM_HEADER_SIZE) ||
	    n > len / 8)
		return -EUCLEAN;
	*ntopics = n;
	return 0;
}

/* topic.conf keys other than the settings': their bits in a "seen" mask
 * follow the settings' ids. */
enum { CONF_MODE = LFS_SET_COUNT, CONF_UID, CONF_GID, CONF_MIRROR };

static int conf_uint(const char *val, int base, unsigned long max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(val, &end, base);
	if (*end || errno || v > max)
		return -EUCLEAN;
	*out = (uint32_t)v;
	return 0;
}

/* The grammar of one line, "key=value" (modified: the '=' is cut): applies
 * it to meta, or to own and *mask for a setting. 0; -EEXIST when its key is
 * in *seen (nothing applied); -EUCLEAN when it does not parse. *seen gets
 * the key. */
static int conf_line(char *line, struct lfs_topic_meta *meta, struct lfs_settings *own,
		     uint32_t *mask, uint32_t *seen)
{
	char *eq = strchr(line, '=');
	if (!eq || eq == line || !eq[1])
		return -EUCLEAN;
	*eq = 0;
	const char *val = eq + 1;
	int key = !strcmp(line, "mode")	  ? CONF_MODE
		  : !strcmp(line, "uid")	  ? CONF_UID
		  : !strcmp(line, "gid")	  ? CONF_GID
		  : !strcmp(line, "mirror") ? CONF_MIRROR
					    : lfs_setting_lookup(line);
	if (key < 0)
		return -EUCLEAN;
	if (*seen & (1u << key))
		return -EEXIST;
	int rc = 0;
	struct lfs_settings s = *own;
	switch (key) {
	case CONF_MODE:
		rc = conf_uint(val, 8, 07777, &meta->mode);
		break;
	case CONF_UID:
		rc = conf_uint(val, 10, UINT32_MAX, &meta->uid);
		break;
	case CONF_GID:
		rc = conf_uint(val, 10, UINT32_MAX, &meta->gid);
		break;
	case CONF_MIRROR:
		if (lfs_mirror_name_check(val) < 0)
			return -EUCLEAN;
		snprintf(meta->mirror, sizeof(meta->mirror), "%s", val);
		break;
	default:
		/* Into a copy: a value refused leaves own as it was. */
		if (lfs_setting_parse(&s, (enum lfs_setting_id)key, val) < 0)
			return -EUCLEAN;
		*own = s;
		*mask |= 1u << key;
	}
	if (rc == 0)
		*seen |= 1u << key;
	return rc;
}

int lfs_conf_encode(const struct lfs_topic_meta *meta, const struct lfs_settings *own,
		    uint32_t mask, char out[LFS_CONF_MAX])
{
	char val[64];
	size_t n = 0, cap = LFS_CONF_MAX;
	int w;

	if (lfs_mirror_name_check(meta->mirror) < 0)
		return -EINVAL;
	w = snprintf(out, cap, "mode=%o\nuid=%u\ngid=%u\n", meta->mode & 07777, meta->uid,
		     meta->gid);
	n += (size_t)w;
	if (meta->mirror[0] && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "mirror=%s\n", meta->mirror);
	for (int id = 0; id < LFS_SET_COUNT && n < cap; id++) {
		if (!(mask & (1u << id)))
			continue;
		if (lfs_setting_format(own, (enum lfs_setting_id)id, val, sizeof(val)) < 0)
			return -EINVAL;
		n += (size_t)snprintf(out + n, cap - n, "%s=%s\n",
				      lfs_setting_name((enum lfs_setting_id)id), val);
	}
	if (n < cap)
		n += (size_t)snprintf(out + n, cap - n, "crc=%08x\n", lfs_crc32c(0, out, n));
	return n < cap ? (int)n : -EINVAL;
}

int lfs_conf_decode(char *buf, size_t len, struct lfs_topic_meta *meta, struct lfs_settings *own,
		    uint32_t *mask)
{
	buf[len] = 0;
	char *crcline = strstr(buf, "crc=");
	if (!crcline || (crcline != buf && crcline[-1] != '\n'))
		return -EUCLEAN;
	char *end;
	unsigned long crc = strtoul(crcline + 4, &end, 16);
	if (end != crcline + 12 || *end != '\n' || end[1] != 0 ||
	    crc != lfs_crc32c(0, buf, (size_t)(crcline - buf)))
		return -EUCLEAN;
	*crcline = 0;

	memset(meta, 0, sizeof(*meta));
	memset(own, 0, sizeof(*own));
	*mask = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint32_t seen = 0; /* a key given twice: the later line holds */
		if (conf_line(line, meta, own, mask, &seen) < 0)
			return -EUCLEAN;
	}
	return 0;
}

unsigned lfs_conf_salvage(char *buf, size_t len, struct lfs_topic_meta *meta,
			  struct lfs_settings *own, uint32_t *mask)
{
	uint32_t seen = 0;
	unsigned kept = 0;
	buf[len] = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (conf_line(line, meta, own, mask, &seen) == 0)
			kept++;
	return kept;
}

int lfs_cursor_pair_decode(const unsigned char in[LFS_CURSOR_PAIR_SIZE], struct lfs_cursor_slot *s,
			   bool *one_damaged)
{
	struct lfs_cursor_slot v[2];
	int r0 = lfs_cursor_slot_decode(in, &v[0]);
	int r1 = lfs_cursor_slot_decode(in + LFS_CURSOR_SLOT_SIZE, &v[1]);
	*one_damaged = false;
	if (r0 == -ENOENT && r1 == -ENOENT)
		return -ENOENT;
	int best = r0 == 0 && (r1 != 0 || v[0].seq > v[1].seq) ? 0 : r1 == 0 ? 1 : -1;
	if (best < 0)
		return -EUCLEAN;
	*one_damaged = r0 == -EUCLEAN || r1 == -EUCLEAN;
	*s = v[best];
	return 0;
}
