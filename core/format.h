/*
 * On-disk structures of a logfs volume, encoded little-endian field by field
 * (never by casting structs), as docs/FORMAT.md describes them.
 */
#ifndef LFS_FORMAT_H
#define LFS_FORMAT_H

#include "logfs.h"

#include <string.h>

/* Version 2 added lost-range entries (LFS_ENTRY_LOST) to the index. A
 * version 1 volume is read as it is; opening it read-write (the daemon,
 * fsck.logfs repairing) raises its superblock to 2 first, so that a
 * version 1 program refuses it rather than misread a lost range. */
#define LFS_FORMAT_VERSION 2

#define LFS_SB_FILE "superblock"
#define LFS_STATE_FILE "state"
#define LFS_SUMMARY_FILE "summary"
/* Present only while runtime errors are recorded (errors.c). */
#define LFS_ERRORS_FILE "errors"
#define LFS_TOPICS_DIR "topics"
#define LFS_LOST_FOUND "lost+found"
#define LFS_TOPIC_CONF "topic.conf"
/* A topic being deleted is first renamed to this prefix + its name (not a
 * valid topic name), so a crash never leaves half a topic. */
#define LFS_TRASH_PREFIX ".deleted."

#define LFS_SB_MAGIC "LOGFS_SB"
#define LFS_SB_SIZE 256

#define LFS_STATE_MAGIC "LOGFS_ST"
#define LFS_STATE_SIZE 16
#define LFS_STATE_CLEAN 1
#define LFS_STATE_DIRTY 2

#define LFS_ERRORS_MAGIC "LOGFS_ER"
#define LFS_ERRORS_VERSION 1
#define LFS_ERRORS_SIZE 304

#define LFS_IDX_MAGIC "LOGFSIDX"
#define LFS_IDX_HEADER_SIZE 64
#define LFS_IDX_ENTRY_SIZE 48

#define LFS_ENTRY_BATCH 1
#define LFS_ENTRY_SEAL 2
/* Records recovery lost (their batch failed its checksum while valid ones
 * followed): offset = the first, count = how many, pos = where they were in
 * the data (their bytes are gone from it, kept in lost+found), len = 0. */
#define LFS_ENTRY_LOST 3

/* Segment file names: 20 decimal digits of the base offset. */
#define LFS_SEG_NAME_LEN 24 /* "00000000000000000000.log" */

struct lfs_idx_header {
	uint32_t version;
	uint32_t framing;
	uint64_t base_offset;
	uint64_t stream_pos; /* byte position of the segment's first byte in the topic */
	uint64_t ctime_ns;
};

/* One entry per batch; a seal entry closes a sealed segment:
 * batch: offset = first record, pos = data position, len, count, ts, crc
 *        of the payload bytes.
 * lost:  offset = first lost record, pos = data position, len = 0,
 *        count = records lost, ts = the lost batch's, crc = 0.
 * seal:  offset = next offset after the segment, pos = data length,
 *        len = 0, count = number of entries before it, ts = last timestamp,
 *        crc = CRC32C of all those entries' bytes. */
struct lfs_idx_entry {
	uint64_t offset;
	uint64_t pos;
	uint32_t len;
	uint32_t count;
	uint64_t ts;
	uint32_t crc;
	uint32_t type;
};

static inline void lfs_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
/* Little-endian fields. memcpy compiles to one load or store: byte-at-a-time
 * code was ~170 instructions per index entry, on every append. */
static inline void lfs_put32(unsigned char *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, 4);
}
static inline void lfs_put64(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}
static inline uint32_t lfs_get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}
static inline uint64_t lfs_get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

void lfs_sb_encode(const struct lfs_sb_info *sb, unsigned char out[LFS_SB_SIZE]);
/* 0, -EUCLEAN (bad magic or checksum), -EPROTONOSUPPORT (newer version). */
int lfs_sb_decode(const unsigned char in[LFS_SB_SIZE], struct lfs_sb_info *sb);

void lfs_state_encode(uint32_t state, unsigned char out[LFS_STATE_SIZE]);
/* Returns LFS_STATE_CLEAN/DIRTY, or 0 when unreadable. */
uint32_t lfs_state_decode(const unsigned char *in, size_t len);

void lfs_errors_encode(const struct lfs_errors *e, unsigned char out[LFS_ERRORS_SIZE]);
/* 0, or -EUCLEAN (bad size, magic, version or checksum). */
int lfs_errors_decode(const unsigned char *in, size_t len, struct lfs_errors *e);

void lfs_idx_header_encode(const struct lfs_idx_header *h, unsigned char out[LFS_IDX_HEADER_SIZE]);
int lfs_idx_header_decode(const unsigned char in[LFS_IDX_HEADER_SIZE], struct lfs_idx_header *h);
void lfs_idx_entry_encode(const struct lfs_idx_entry *e, unsigned char out[LFS_IDX_ENTRY_SIZE]);
/* The fields only, without checking: for entries verified before. */
void lfs_idx_entry_fields(const unsigned char in[LFS_IDX_ENTRY_SIZE], struct lfs_idx_entry *e);
/* 0, or -EUCLEAN when the entry's checksum or type is wrong. */
int lfs_idx_entry_decode(const unsigned char in[LFS_IDX_ENTRY_SIZE], struct lfs_idx_entry *e);



/* The cursor store of a topic: TOPIC_DIR/cursors, a sequence of 512-byte
 * pairs of 256-byte slots, one pair per cursor (all zero: free). A commit
 * writes the slot seq % 2 of its pair with seq one higher than the other's,
 * so a torn write leaves the previous commit readable in the other slot.
 * A slot never crosses a 512-byte sector. */
#define LFS_CURSOR_FILE "cursors"
#define LFS_CURSOR_MAGIC "LFSCURS1"
#define LFS_CURSOR_SLOT_SIZE 256
#define LFS_CURSOR_PAIR_SIZE 512
#define LFS_CURSOR_EXPLICIT 1u /* flags: commit only by writes */

struct lfs_cursor_slot {
	uint64_t seq;          /* commit sequence: the higher slot of a pair wins */
	uint64_t offset;       /* the next record to deliver */
	uint64_t committed_at; /* ns */
	uint64_t skipped;      /* records retention deleted before they were read */
	uint32_t flags;
	char name[LFS_TOPIC_NAME_MAX + 1];
};
void lfs_cursor_slot_encode(const struct lfs_cursor_slot *s,
			    unsigned char out[LFS_CURSOR_SLOT_SIZE]);
/* 0 valid, -ENOENT free (all zero), -EUCLEAN damaged (checksum, magic, name,
 * flags). */
int lfs_cursor_slot_decode(const unsigned char in[LFS_CURSOR_SLOT_SIZE],
			   struct lfs_cursor_slot *s);

#endif
