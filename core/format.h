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

/* The lost-page rule: in a segment not yet sealed, a whole aligned page of
 * LFS_LOST_PAGE bytes of the data file that reads as zeros is a page a power
 * cut lost, not records (log data does not hold an aligned 4 KiB of NUL
 * bytes in practice). So are the zeros that end a page from a batch's last
 * byte in it on: the page reached the disk before the batch was written
 * into it (the scanner checks this form, core/scanstate.c). */
#define LFS_LOST_PAGE 4096
/* The start of the page holding byte pos. */
static inline uint64_t lfs_lost_page_of(uint64_t pos)
{
	return pos / LFS_LOST_PAGE * LFS_LOST_PAGE;
}
/* The start of the first whole page of data (size bytes) at or after byte
 * from (rounded up to a page) that reads as zeros, or size when none does. */
uint64_t lfs_lost_page_find(const unsigned char *data, uint64_t size, uint64_t from);

/* Segment file names: 20 decimal digits of the base offset, then ".log",
 * ".idx" (".log.new", ".idx.new" while a repair rewrites them); a lost
 * batch's bytes in lost+found are named for its first offset, ".lost". */
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

/* The superblock file holds two copies, at 0 and at LFS_SB_BACKUP, zeros
 * between, so that fsck can restore a damaged primary. */
#define LFS_SB_BACKUP 512
#define LFS_SB_FILE_SIZE (LFS_SB_BACKUP + LFS_SB_SIZE)
/* Both copies of the superblock encoded from primary, byte for byte. */
void lfs_sb_file_encode(const unsigned char primary[LFS_SB_SIZE], unsigned char out[LFS_SB_FILE_SIZE]);
/* The superblock from the len bytes of the file: the primary copy, or the
 * backup when the primary is damaged. 0, -EUCLEAN (no good copy),
 * -EPROTONOSUPPORT (the primary is of a newer version: the backup is not
 * read then). *primary_ok, when given, tells whether the primary was good. */
int lfs_sb_file_decode(const unsigned char *in, size_t len, struct lfs_sb_info *sb,
		       bool *primary_ok);
/* Whether the file's backup copy is good and equal to its primary, byte for
 * byte. */
bool lfs_sb_file_backup_same(const unsigned char *in, size_t len);

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


/* The segment summary (docs/FORMAT.md, "summary"): a header, then per topic
 * in bytewise name order a block: name length (4), name, the topic
 * directory's identity (inode 8, birth time 8), segment count (4), then one
 * entry per sealed segment in offset order. */
#define LFS_SUM_MAGIC "LFSSUM01"
#define LFS_SUM_VERSION 1
#define LFS_SUM_HEADER_SIZE 32
#define LFS_SUM_MAX (256u << 20) /* far beyond any real volume: a sanity bound */
#define LFS_SUM_SEG_SIZE 72
/* The most a topic block's head takes (its segment entries follow it). */
#define LFS_SUM_TOPIC_HEAD_MAX (4 + LFS_TOPIC_NAME_MAX + 20)
struct lfs_sum_seg {
	uint64_t base, stream_pos, size, next_offset, nentries, first_ts, last_ts, ctime_ns;
	uint32_t framing;
};
struct lfs_sum_topic {
	char name[LFS_TOPIC_NAME_MAX + 1];
	uint64_t id[2]; /* the topic directory's inode and birth time */
	uint32_t nsegs;
	const unsigned char *segs; /* nsegs encoded entries: lfs_sum_seg_decode */
};
void lfs_sum_seg_encode(const struct lfs_sum_seg *e, unsigned char out[LFS_SUM_SEG_SIZE]);
void lfs_sum_seg_decode(const unsigned char *p, struct lfs_sum_seg *e);
/* A topic block's head into out (LFS_SUM_TOPIC_HEAD_MAX bytes): its length.
 * name is a topic name (1 to LFS_TOPIC_NAME_MAX bytes). */
size_t lfs_sum_topic_encode(const char *name, const uint64_t id[2], uint32_t nsegs,
			    unsigned char *out);
/* The topic block at in + *pos (in holds len bytes): its head into t, t->segs
 * pointing at its entries, *pos past the block. -EUCLEAN when it does not
 * fit or its name is empty, too long or holds a NUL. */
int lfs_sum_topic_decode(const unsigned char *in, size_t len, size_t *pos, struct lfs_sum_topic *t);
/* The header of a summary of len bytes in all (header included) whose body
 * is in place after it. */
void lfs_sum_header_encode(unsigned char *buf, size_t len, uint32_t ntopics);
/* 0 and the number of topics the header announces, or -EUCLEAN (size,
 * magic, version, checksums, or more topics than the body could hold). */
int lfs_sum_header_decode(const unsigned char *buf, size_t len, uint32_t *ntopics);

/* topic.conf, text so that an operator can read it with cat: lines
 * "key=value" (mode=OCTAL, uid=N, gid=N, mirror=NAME when set, then each
 * setting the topic overrides, by its name and text form) closed by
 * "crc=XXXXXXXX", eight hex digits of the CRC32C of the lines before it. A
 * key is read only once (a file written twice over by hand: the later line
 * holds when the checksum is right, the first one in a salvage). */
#define LFS_CONF_MAX 4096
/* Encodes into out: its length, or -EINVAL (a value that has no text form,
 * a mirror name refused, or more than LFS_CONF_MAX bytes). */
int lfs_conf_encode(const struct lfs_topic_meta *meta, const struct lfs_settings *own,
		    uint32_t mask, char out[LFS_CONF_MAX]);
/* Decodes the len bytes of buf (which has room for one more; the text is
 * cut up): 0, or -EUCLEAN when the checksum or a line is wrong. meta, own
 * and *mask are cleared first. */
int lfs_conf_decode(char *buf, size_t len, struct lfs_topic_meta *meta, struct lfs_settings *own,
		    uint32_t *mask);
/* What can still be read of a damaged topic.conf (buf as above): every line
 * the grammar accepts whose key no line before it gave, applied over what
 * meta, own and *mask already hold. Returns the lines kept. */
unsigned lfs_conf_salvage(char *buf, size_t len, struct lfs_topic_meta *meta,
			  struct lfs_settings *own, uint32_t *mask);

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
/* Where a commit of sequence seq writes in the store: its slot of pair number
 * pair (pair * LFS_CURSOR_PAIR_SIZE is where the pair starts). */
static inline uint64_t lfs_cursor_slot_pos(uint64_t pair, uint64_t seq)
{
	return pair * LFS_CURSOR_PAIR_SIZE + (seq & 1) * LFS_CURSOR_SLOT_SIZE;
}
/* The cursor a pair holds: its valid slot of the higher seq. 0 (*one_damaged:
 * the other slot is damaged, not free), -ENOENT free (both slots all zero),
 * -EUCLEAN neither slot valid and not both free. */
int lfs_cursor_pair_decode(const unsigned char in[LFS_CURSOR_PAIR_SIZE], struct lfs_cursor_slot *s,
			   bool *one_damaged);

#endif
