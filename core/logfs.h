/*
 * logfs core: the log engine. Public API used by the daemon (fuse/), mkfs/,
 * fsck/, the tests and the benchmarks. Nothing here knows about FUSE.
 *
 * Conventions: functions returning int return 0 on success or a negative
 * errno; functions returning ssize_t return a byte count or a negative errno.
 * Objects handed out by *_open / *_get are released by the matching
 * *_close / *_put.
 */
#ifndef LOGFS_H
#define LOGFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define LFS_VERSION_STRING "0.1.0"

#define LFS_TOPIC_NAME_MAX 200
#define LFS_LABEL_MAX 63
/* The largest single append (one write(2)'s records plus a held fragment). */
#define LFS_BATCH_MAX (64u << 20)

enum lfs_framing { LFS_FRAMING_LINE = 1, LFS_FRAMING_WRITE = 2 };
enum lfs_sync_mode { LFS_SYNC_NEVER = 0, LFS_SYNC_ALWAYS = 1, LFS_SYNC_INTERVAL = 2 };

/* Per-topic settings. A volume has defaults (superblock, then mount options);
 * a topic overrides the ones whose bit is set in its mask. */
struct lfs_settings {
	uint64_t segment_size;
	uint64_t segment_ms;
	uint64_t retention_bytes;
	uint64_t retention_ms;
	uint64_t max_record;
	uint32_t sync_mode; /* enum lfs_sync_mode */
	uint32_t sync_ms;   /* for LFS_SYNC_INTERVAL */
	uint32_t framing;   /* enum lfs_framing */
};

enum lfs_setting_id {
	LFS_SET_SEGMENT_SIZE,
	LFS_SET_SEGMENT_MS,
	LFS_SET_RETENTION_BYTES,
	LFS_SET_RETENTION_MS,
	LFS_SET_SYNC,
	LFS_SET_MAX_RECORD,
	LFS_SET_FRAMING,
	LFS_SET_COUNT
};

void lfs_settings_default(struct lfs_settings *s);
/* Name used in mount options and in xattrs (after "user.logfs."). */
const char *lfs_setting_name(enum lfs_setting_id id);
int lfs_setting_lookup(const char *name); /* id, or -EINVAL */
/* Parses a value for one setting (sizes take K/M/G, times ms or s/m/h/d). */
int lfs_setting_parse(struct lfs_settings *s, enum lfs_setting_id id, const char *value);
/* Formats a setting as decimal ASCII (sync as "always", "never" or MS). */
int lfs_setting_format(const struct lfs_settings *s, enum lfs_setting_id id, char *buf,
		       size_t len);
/* The first setting of s outside the range lfs_setting_parse accepts (an
 * enum lfs_setting_id), or -1 when all are valid. */
int lfs_settings_invalid(const struct lfs_settings *s);
int lfs_parse_size(const char *text, uint64_t *out);
int lfs_parse_ms(const char *text, uint64_t *out);
/* Validates a topic name: 0, -EINVAL or -ENAMETOOLONG. */
int lfs_topic_name_check(const char *name);

/* ---- volume ---- */

struct lfs_mkfs_opts {
	const char *label;     /* NULL for none */
	const uint8_t *uuid;   /* 16 bytes, NULL for a random one */
	uint64_t segment_size; /* 0 for the default */
	bool force;            /* reformat an existing volume */
};
struct lfs_sb_info {
	uint32_t version;
	uint8_t uuid[16];
	char label[LFS_LABEL_MAX + 1];
	uint64_t ctime_ns;
	struct lfs_settings defaults;
};
int lfs_mkfs(const char *path, const struct lfs_mkfs_opts *opts, struct lfs_sb_info *out);
int lfs_uuid_parse(const char *text, uint8_t uuid[16]);
void lfs_uuid_format(const uint8_t uuid[16], char out[37]);
/* Reads and verifies the superblock of the volume at path. */
int lfs_read_superblock(const char *path, struct lfs_sb_info *out);
/* 1 if another process holds the volume open read-write, 0 if not. */
int lfs_volume_in_use(const char *path);

typedef struct lfs_volume lfs_volume;
typedef struct lfs_topic lfs_topic;
typedef struct lfs_segment lfs_segment;
typedef struct lfs_reader lfs_reader;
typedef struct lfs_producer lfs_producer;

enum {
	LFS_OPEN_RDONLY = 1 << 0,        /* no writes, no recovery repair */
	LFS_OPEN_DEFER_TICKER = 1 << 1, /* start the background thread later
					   (a daemon forks after opening) */
};

/* How severe a logged message is, most severe first (syslog's LOG_ERR,
 * LOG_WARNING, LOG_INFO): an error lost data or failed an operation, a
 * warning is something the operator should look at, info is the rest. */
enum lfs_log_level {
	LFS_LOG_ERR = 0,
	LFS_LOG_WARNING = 1,
	LFS_LOG_INFO = 2,
};

/* Called for every notable event (recovery cuts, I/O errors, ...); level is
 * an enum lfs_log_level. */
typedef void (*lfs_log_fn)(void *ctx, int level, const char *msg);
/* A clock in nanoseconds since the epoch. */
typedef uint64_t (*lfs_clock_fn)(void *ctx);

struct lfs_open_opts {
	unsigned flags;
	/* Mount options: override the superblock defaults where the mask bit
	 * (1 << enum lfs_setting_id) is set. */
	struct lfs_settings overrides;
	uint32_t override_mask;
	lfs_log_fn log;
	void *log_ctx;
	/* The volume's time: record timestamps, segment ages, sync
	 * intervals, the background thread's ticks. NULL: the real clock
	 * (lfs_now_ns). Tests inject theirs so that nothing they check
	 * depends on how fast the machine runs. */
	lfs_clock_fn clock;
	void *clock_ctx;
	/* Bound on the memory all producers' held line fragments take
	 * together (0: LFS_HELD_MAX_DEFAULT); a write past it fails with
	 * ENOBUFS and appends nothing. */
	uint64_t held_max;
	/* How many topics keep their files (descriptors, mappings) open
	 * while idle; the others close them and open them again on demand
	 * (0: an eighth of the descriptor limit, 16 to 8192). */
	size_t open_topics_max;
	/* How many sealed segments stay mapped while no read uses them
	 * (0: 16384); the kernel allows about 65,000 mappings a process. */
	size_t mapped_segments_max;
	/* Told, after a sealed segment's files were deleted (retention, or
	 * lfs_topic_delete_segment), which topic and base: from the thread
	 * that deleted it, with the topic's segs_lock held, so it may only
	 * note the event (take a topic reference, queue it) and return.
	 * NULL: no one is told. */
	void (*segment_gone)(void *ctx, lfs_topic *t, uint64_t base);
	void *segment_gone_ctx;
};
#define LFS_HELD_MAX_DEFAULT (256ull << 20)
/* Bytes the volume's held fragments take now (their buffers). */
uint64_t lfs_volume_held_bytes(lfs_volume *v);
struct lfs_open_report {
	bool was_clean;
	unsigned topics;
	unsigned segments_scanned;
	unsigned segments_summarized; /* sealed segments known from the summary */
	uint64_t records_cut;
	uint64_t bytes_cut;
};

int lfs_volume_open(const char *path, const struct lfs_open_opts *opts, lfs_volume **out,
		    struct lfs_open_report *report);
/* Flushes everything, records a clean state and releases the volume. */
int lfs_volume_close(lfs_volume *v);
const struct lfs_sb_info *lfs_volume_info(const lfs_volume *v);
bool lfs_volume_readonly(const lfs_volume *v);
/* The largest record one write(2) can carry whole to a write-framed topic
 * through the caller (the daemon: one kernel write request), 0 for no bound.
 * A write-framed topic's effective max_record is at most this; setting a
 * larger max_record on one, or framing=write on a topic whose own
 * max_record is larger, fails with EINVAL. */
void lfs_volume_set_write_record_max(lfs_volume *v, uint64_t max);
uint64_t lfs_volume_write_record_max(lfs_volume *v);
/* fd of the volume directory (for statfs). */
int lfs_volume_fd(const lfs_volume *v);
/* Runs periodic work (interval syncs, retention by age). The volume starts a
 * thread for it; tests may call it directly with a fake clock. */
void lfs_volume_tick(lfs_volume *v, uint64_t now_ns);
/* The volume's clock (lfs_open_opts.clock). */
uint64_t lfs_volume_now(lfs_volume *v);
/* Starts the background thread of a volume opened with
 * LFS_OPEN_DEFER_TICKER. */
int lfs_volume_start_ticker(lfs_volume *v);

/* The whole volume's figures: topics, and their retained payload bytes
 * summed (each topic's lfs_topic_stat bytes). */
struct lfs_volume_stat {
	uint64_t topics;
	uint64_t bytes;
};
int lfs_volume_stat(lfs_volume *v, struct lfs_volume_stat *st);

/* Runtime errors recorded in the volume (errors.c; docs/FORMAT.md,
 * "errors"): checksum failures and I/O errors the daemon met while serving.
 * The record stays until fsck.logfs has checked every record and repaired
 * what it found, so a clean unmount does not hide them. */
#define LFS_ERROR_TEXT 128
struct lfs_errors {
	uint32_t count;    /* errors recorded (saturates) */
	uint64_t first_ns; /* wall clock of the first and the last */
	uint64_t last_ns;
	char first[LFS_ERROR_TEXT]; /* what they were */
	char last[LFS_ERROR_TEXT];
};
/* 1 and *e when errors are recorded, 0 when none, -EUCLEAN when the record
 * is damaged (treat as recorded), or -errno. */
int lfs_errors_read(int dirfd, struct lfs_errors *e);
/* Removes the record (durably): 0, also when there was none. */
int lfs_errors_clear(int dirfd);
/* Records one runtime error of an open volume and logs it (level 0). */
void lfs_volume_error(lfs_volume *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What the volume has recorded so far (count 0: nothing). */
void lfs_volume_errors(lfs_volume *v, struct lfs_errors *e);

/* Lists topic names in sorted order. Caller frees each name and the array. */
int lfs_volume_list_topics(lfs_volume *v, char ***names, size_t *count);

/* ---- topics ---- */

/* The longest mirror target name kept in a topic's metadata. */
#define LFS_MIRROR_NAME_MAX 255
struct lfs_topic_meta {
	uint32_t mode; /* permission bits of the directory */
	uint32_t uid, gid;
	/* Where the daemon mirrors the topic to ("" for nowhere): opaque to
	 * the core, which only keeps it in topic.conf (printable, no spaces,
	 * at most LFS_MIRROR_NAME_MAX bytes; lfs_mirror_name_check). */
	char mirror[LFS_MIRROR_NAME_MAX + 1];
};
/* 0 if name can be kept as a topic's mirror target, else -EINVAL. */
int lfs_mirror_name_check(const char *name);
int lfs_topic_create(lfs_volume *v, const char *name, const struct lfs_topic_meta *meta,
		     lfs_topic **out);
/* Looks up a topic by name and takes a reference: -ENOENT if absent. */
int lfs_topic_get(lfs_volume *v, const char *name, lfs_topic **out);
void lfs_topic_ref(lfs_topic *t);
void lfs_topic_put(lfs_topic *t);
/* Deletes a topic and its data: -EBUSY while any handle is open on it. */
int lfs_topic_delete(lfs_volume *v, const char *name);
const char *lfs_topic_name(const lfs_topic *t);
bool lfs_topic_deleted(lfs_topic *t);
uint64_t lfs_topic_id(const lfs_topic *t); /* unique per volume open */
void lfs_topic_get_meta(lfs_topic *t, struct lfs_topic_meta *meta);
int lfs_topic_set_meta(lfs_topic *t, const struct lfs_topic_meta *meta);
/* Effective settings (topic overrides on volume defaults). */
void lfs_topic_settings(lfs_topic *t, struct lfs_settings *s);
/* Sets one setting from text and persists it: -EINVAL for a bad value, or
 * for framing once the topic has records. */
int lfs_topic_set(lfs_topic *t, enum lfs_setting_id id, const char *value);
/* Drops the topic's own value of one setting: the volume default (mkfs
 * -s, mount options) applies again. framing, as lfs_topic_set, only
 * while the topic has had no record (-EINVAL). */
int lfs_topic_unset(lfs_topic *t, enum lfs_setting_id id);
/* Handle accounting: the daemon counts every open file of a topic here so
 * that rmdir can refuse a busy topic. Readers (but glances) and producers
 * count themselves. */
void lfs_topic_hold(lfs_topic *t);
void lfs_topic_release(lfs_topic *t);

struct lfs_topic_stat {
	uint64_t first_offset; /* first retained record */
	uint64_t next_offset;  /* next to be assigned */
	uint64_t bytes;        /* retained payload bytes */
	uint64_t segments;     /* including the active one */
	uint64_t first_timestamp, last_timestamp; /* ns, 0 when empty */
	uint64_t start_pos, end_pos; /* stream positions of first and end byte */
};
void lfs_topic_stat(lfs_topic *t, struct lfs_topic_stat *st);

/* Disk use in 512-byte blocks (st_blocks) of the topic's backing files
 * (diskuse.c): what the segment BASE's two files hold; what the active
 * segment's hold; what the rest of the topic's directory holds (the
 * directory, its settings and its cursors). Together with every sealed
 * segment's, the disk use of the whole topic directory. */
int lfs_segment_blocks(lfs_topic *t, uint64_t base, uint64_t *blocks);
struct lfs_topic_blocks {
	uint64_t active;
	uint64_t topic;
};
int lfs_topic_blocks(lfs_topic *t, struct lfs_topic_blocks *b);

/* Base offsets of the sealed, retained segments, in order. Caller frees. */
int lfs_topic_list_sealed(lfs_topic *t, uint64_t **bases, size_t *count);

struct lfs_append_result {
	uint64_t first_offset;
	uint32_t records;
};
/* Appends one batch. LINE: the bytes must be complete lines (each ending in
 * '\n'), each at most max_record bytes, and become one record each. WRITE:
 * the bytes are one record. The batch is contiguous and atomic across
 * crashes; on error nothing of it is in the log. */
int lfs_topic_append(lfs_topic *t, enum lfs_framing framing, const struct iovec *iov, int iovcnt,
		     struct lfs_append_result *res);
/* Makes everything appended so far durable. */
int lfs_topic_sync(lfs_topic *t);
/* Deletes the oldest sealed segment if its base is base: -EPERM otherwise. */
int lfs_topic_delete_segment(lfs_topic *t, uint64_t base);
/* A floor under retention: no record at or after offset floor is deleted by
 * retention (a segment goes only when all its records are below the floor).
 * UINT64_MAX (the default) is no floor. The daemon keeps it at the first
 * record a mirror has not had acknowledged yet. */
void lfs_topic_set_retention_floor(lfs_topic *t, uint64_t floor);
uint64_t lfs_topic_retention_floor(lfs_topic *t);
/* Applies retention by bytes and by age now; returns segments deleted. */
int lfs_topic_apply_retention(lfs_topic *t, uint64_t now_ns);

/* ---- sealed segments as files ---- */

struct lfs_segment_stat {
	uint64_t base_offset;
	uint64_t records;
	uint64_t bytes;
	uint64_t first_timestamp, last_timestamp;
	bool sealed;
};
/* Takes a reference on the retained sealed segment with this base. */
int lfs_segment_get(lfs_topic *t, uint64_t base, lfs_segment **out);
void lfs_segment_put(lfs_segment *s);
/* The sealed segment right after base (a reference), or -ENOENT when the
 * next one is the active segment or there is none. */
int lfs_segment_get_next(lfs_topic *t, uint64_t base, lfs_segment **out);
/* A reader opened the sealed segment at base: check the sealed segment
 * after it in the background (core/verifyahead.c), so that its first open
 * need not wait for its check. 0 or -errno (a thread could not start). */
int lfs_topic_verify_ahead(lfs_topic *t, uint64_t base);
/* Checks, in one background thread at the lowest CPU priority (nice 19),
 * the sealed segments whose checks are pending and whose data files are
 * in the page cache (cachestat(2); all but 1/16 of their pages at most),
 * newest first in each topic, up
 * to `budget` bytes in all (core/verifysweep.c): their first opens then
 * find them checked. Once per volume open (later calls do nothing); logs
 * what it did when done. 0 or -errno (the thread could not start). */
int lfs_volume_verify_cached(lfs_volume *v, uint64_t budget);
void lfs_segment_stat(lfs_segment *s, struct lfs_segment_stat *st);
/* Checks every batch of the segment against its CRC, once per mount (reads
 * check the batches they reach the same way; whoever hands the segment's
 * file to someone else, like the kernel's passthrough, calls this first,
 * or lfs_segment_open_data, which does). A sealed segment is read from its
 * file into a small buffer, not through its mapping, which costs several
 * times more to fault in. 0 when every byte is good, -EIO when a batch
 * fails (logged), -errno when the file cannot be read. */
int lfs_segment_verify(lfs_segment *s);
/* Reads payload bytes [off, off+len) of a sealed segment (from its mmap). */
ssize_t lfs_segment_read(lfs_segment *s, void *buf, size_t len, uint64_t off);
/* Points at payload bytes without copying: the pointer stays valid while the
 * caller holds a use of the segment (lfs_segment_use before the call,
 * lfs_segment_unuse once done with the bytes: a sealed segment's mapping is
 * taken down while no one uses it). Returns the number of bytes available
 * at off. */
void lfs_segment_use(lfs_segment *s);
void lfs_segment_unuse(lfs_segment *s);
ssize_t lfs_segment_peek(lfs_segment *s, uint64_t off, size_t len, const void **ptr);
/* A read-only descriptor of a sealed segment's data file, for a caller that
 * serves the file's bytes without going through the core (FUSE
 * passthrough). Only for a segment that lfs_segment_verify passes (-EIO
 * otherwise), and only the file that was verified, holding exactly the
 * payload (-ESTALE if what is on disk now is another file or another
 * length; -ENOENT once retention removed it). The caller closes it. */
int lfs_segment_open_data(lfs_segment *s);

/* ---- readers (tail, @N, @TIME) ---- */

/* AT_OR_AFTER: the record at value or, where retention or a repair left no
 * record there, the first one after it (a cursor's resume point). */
enum lfs_start_kind { LFS_START_FIRST, LFS_START_OFFSET, LFS_START_TIME, LFS_START_AT_OR_AFTER };
struct lfs_start {
	enum lfs_start_kind kind;
	uint64_t value; /* offset, or time in ns since the epoch */
};
/* Parses "@N", "@RFC3339", "@-AGE" (the part after '@'): -EINVAL if
 * malformed. Ages are resolved against now_ns. */
int lfs_start_parse(const char *text, uint64_t now_ns, struct lfs_start *out);

/* Opens a reader: -ENOENT when an offset is out of range. The reader's byte 0
 * is its start record; it grows with appends and keeps the segments it spans
 * readable even if retention deletes them. */
int lfs_reader_open(lfs_topic *t, const struct lfs_start *start, lfs_reader **out);
/* The same reader for a look its caller ends before it answers (stat(2)
 * and getxattr of @N, a cursor's backlog): it does not hold the topic
 * (lfs_topic_hold), so lfs_topic_delete never finds the topic busy because
 * of it. A topic deleted meanwhile leaves it the segments it pinned. */
int lfs_reader_glance(lfs_topic *t, const struct lfs_start *start, lfs_reader **out);
void lfs_reader_close(lfs_reader *r);
/* Bytes readable through this reader now (never a partial record). */
uint64_t lfs_reader_size(lfs_reader *r);
uint64_t lfs_reader_start_offset(lfs_reader *r);
ssize_t lfs_reader_read(lfs_reader *r, void *buf, size_t len, uint64_t off);
/* Zero-copy variant: fills up to max iovecs pointing into segment mappings;
 * returns the number of bytes described (0 at end). Valid until the next
 * call on this reader or its close. */
ssize_t lfs_reader_peek(lfs_reader *r, uint64_t off, size_t len, struct iovec *iov, int max,
			int *niov);

/* Records one by one (for programs that forward them, not for byte
 * streams): the record at the reader's record cursor, which starts at the
 * reader's start record. Fills rec and moves the cursor past it: 1, or 0
 * when no further record is committed yet, or a negative errno. rec->data
 * points into a segment mapping and is valid until the next call on this
 * reader or its close. */
struct lfs_record {
	uint64_t offset;
	uint64_t timestamp; /* ns since the epoch, of the append that wrote it */
	const void *data;   /* the record's bytes (a line record ends in '\n') */
	size_t len;
};
int lfs_reader_next_record(lfs_reader *r, struct lfs_record *rec);

/* ---- consumer cursors (cursor.c) ----
 * A cursor is a named, durable read position of a topic: the offset of the
 * next record to deliver. Names follow the topic name rules. A cursor has at
 * most one reading handle; reading through it and closing (or the
 * background commit while it stays open) moves the position to the record
 * after the last whole record returned, unless its mode is explicit. */
typedef struct lfs_cursor lfs_cursor;

struct lfs_cursor_info {
	uint64_t offset;       /* committed position: the next record to deliver */
	uint64_t committed_at; /* ns of the last commit (creation for a new one) */
	uint64_t skipped;      /* records retention deleted before they were read */
	uint64_t lag;          /* next offset - offset */
	uint64_t backlog;      /* payload bytes from the position to the end */
	bool explicit_commit;
	bool reading;          /* a reading handle is open */
};
/* Creates a cursor at the first retained record: 0 created, 1 it existed
 * (and excl is false), -EEXIST (excl), -EINVAL / -ENAMETOOLONG bad name. */
int lfs_cursor_create(lfs_topic *t, const char *name, bool excl);
/* -ENOENT, -EBUSY while any handle is open on it. */
int lfs_cursor_delete(lfs_topic *t, const char *name);
/* Names in sorted order; caller frees each and the array. */
int lfs_cursor_list(lfs_topic *t, char ***names, size_t *count);
int lfs_cursor_stat(lfs_topic *t, const char *name, struct lfs_cursor_info *out);
/* Sets the position from text: a decimal offset (at most the next offset;
 * below the first retained record it resumes there), "begin", "end",
 * "@TIME" or "@-AGE". -EINVAL for anything else, -EBUSY while a reader has
 * it open. Durable on return. */
int lfs_cursor_seek(lfs_topic *t, const char *name, const char *text, uint64_t now_ns);
int lfs_cursor_set_explicit(lfs_topic *t, const char *name, bool explicit_commit);
/* Opens a handle on a cursor; read: the exclusive reading handle, a view of
 * the log from the committed position (-EBUSY if another is open, unless
 * that one was flushed by its opener and has not read since: it is closing,
 * and is taken over). A position that retention passed resumes at the first
 * retained record and counts the difference in skipped (durably). */
int lfs_cursor_open(lfs_topic *t, const char *name, bool read, lfs_cursor **out);
/* Bytes readable through the reading handle now (its view). */
uint64_t lfs_cursor_size(lfs_cursor *c);
ssize_t lfs_cursor_peek(lfs_cursor *c, uint64_t off, size_t len, struct iovec *iov, int max,
			int *niov);
ssize_t lfs_cursor_read(lfs_cursor *c, void *buf, size_t len, uint64_t off);
/* Commits what the reading handle returned (close mode) durably.
 * hand_over: the handle's opener closed it; another open may take over. */
int lfs_cursor_flush(lfs_cursor *c, bool hand_over);
/* Commits as flush does and releases the handle. */
int lfs_cursor_close(lfs_cursor *c);

/* ---- producers (a writer handle with line framing) ---- */

int lfs_producer_open(lfs_topic *t, lfs_producer **out);
/* Appends the complete records of buf (framing of the topic), holding an
 * unterminated line fragment for the next write. Returns len or -errno;
 * EMSGSIZE when a record is too large (and nothing appended). */
ssize_t lfs_producer_write(lfs_producer *p, const void *buf, size_t len);
/* Commits a held fragment (with '\n' added) and makes the topic durable. */
int lfs_producer_flush(lfs_producer *p, bool sync);
/* Flushes the fragment and releases the producer. */
int lfs_producer_close(lfs_producer *p);

/* ---- the recovery scanner and the volume checker ---- */

enum lfs_problem_kind {
	LFS_PROB_SUPERBLOCK,
	LFS_PROB_STATE,
	LFS_PROB_TOPIC_CONF,
	LFS_PROB_UNKNOWN_FILE,
	LFS_PROB_MISSING_DATA,
	LFS_PROB_MISSING_INDEX,
	LFS_PROB_INDEX_HEADER,
	LFS_PROB_INDEX_ENTRY,
	LFS_PROB_PAYLOAD_CRC,
	LFS_PROB_CONTIGUITY,
	LFS_PROB_DATA_SHORT,
	LFS_PROB_DATA_TRAILING,
	LFS_PROB_SEAL,
	LFS_PROB_ORDER,
	LFS_PROB_UNCHECKED, /* a topic whose files could not be read */
	LFS_PROB_MODE,      /* a backing file more accessible than its topic */
	LFS_PROB_CURSOR,    /* a topic's cursor store */
	LFS_PROB_RECORDED,  /* runtime errors the daemon recorded (errors.c) */
};
struct lfs_problem {
	enum lfs_problem_kind kind;
	const char *topic;   /* NULL for volume-level problems */
	uint64_t segment;    /* base offset of the segment, or UINT64_MAX */
	uint64_t first_offset, last_offset; /* records affected (last exclusive) */
	uint64_t bytes;      /* payload bytes affected */
	bool repaired;
	char message[256];
};
typedef void (*lfs_problem_fn)(void *ctx, const struct lfs_problem *p);

enum {
	LFS_SCAN_REPAIR = 1 << 0,        /* cut back, rebuild, reseal */
	LFS_SCAN_VERIFY_PAYLOAD = 1 << 1, /* check every batch CRC */
	/* A batch failing its CRC with valid batches after it is recorded as
	 * a lost range (its bytes kept in hint->voldirfd's lost+found), not
	 * cut with everything after it. */
	LFS_SCAN_LOSE_DAMAGED = 1 << 2,
};
/* What the caller knows of a segment, used when its index header is lost. */
struct lfs_scan_hint {
	uint32_t framing;    /* the topic's framing */
	uint64_t stream_pos; /* where the previous segment ended */
	int voldirfd;        /* the volume directory (LFS_SCAN_LOSE_DAMAGED) */
};
struct lfs_scan_result {
	uint64_t base_offset;
	uint64_t next_offset;   /* after the last valid record */
	uint64_t valid_bytes;   /* data bytes up to the last valid batch */
	uint64_t entries;       /* valid index entries */
	uint64_t first_timestamp, last_timestamp;
	bool sealed;            /* a valid seal was found (or written by repair) */
	bool had_seal;          /* a seal entry was found, valid or not, before repair */
	bool damaged;           /* something invalid was found */
	bool repaired;
	uint64_t records_cut, bytes_cut;
	uint64_t records_lost; /* in batches recorded as lost ranges */
};
/* Scans one segment (files BASE.log and BASE.idx in dirfd): checks the index
 * header, every entry's checksum, offsets and positions contiguous, every
 * batch CRC (with LFS_SCAN_VERIFY_PAYLOAD) and the seal. Reports problems
 * through fn. With LFS_SCAN_REPAIR it cuts data and index back to the last
 * valid batch and rebuilds a missing or damaged index of a line-framed
 * segment from its data. seal: write a seal after a successful scan. */
int lfs_scan_segment(int dirfd, const char *topic, uint64_t base, unsigned flags, bool seal,
		     const struct lfs_scan_hint *hint, lfs_problem_fn fn, void *ctx,
		     struct lfs_scan_result *res);

enum lfs_check_mode { LFS_CHECK_NONE = 0, LFS_CHECK_REPAIR = 1, LFS_CHECK_PREEN = 2 };
struct lfs_check_opts {
	enum lfs_check_mode mode;
	bool force;   /* check a clean volume fully */
	bool verbose; /* report every segment */
	lfs_problem_fn problem;
	void (*segment)(void *ctx, const char *topic, const struct lfs_scan_result *r);
	void (*progress)(void *ctx, uint64_t done_bytes, uint64_t total_bytes);
	volatile int *cancel; /* set non-zero to stop at the next safe point */
	void *ctx;
};
struct lfs_check_result {
	unsigned topics, segments;
	uint64_t records, bytes;
	unsigned problems, repaired, unrepaired;
	bool was_clean, skipped_clean, cancelled;
};
/* Checks (and with a repair mode, repairs) the volume at path. Returns 0 or a
 * negative errno for operational errors (-EBUSY mounted, -EUCLEAN not a
 * volume, -EPROTONOSUPPORT newer format). */
int lfs_check_volume(const char *path, const struct lfs_check_opts *opts,
		     struct lfs_check_result *res);

/* ---- small utilities shared by the programs ---- */
/* Segment file names: the base offset in 20 digits, "." and ext. */
void lfs_seg_name(uint64_t base, const char *ext, char out[32]);
/* Parses "NNNNNNNNNNNNNNNNNNNN.EXT": 0 and *base, or -EINVAL. */
int lfs_seg_name_parse(const char *name, const char *ext, uint64_t *base);
uint32_t lfs_crc32c(uint32_t crc, const void *buf, size_t len);
uint64_t lfs_now_ns(void);
/* A process running as root that works on a volume whose directory belongs
 * to another user acts on the volume's files as that owner: it sets its
 * filesystem uid and gid (those of the calling thread, which threads
 * created afterwards inherit) to the directory's, so whatever it creates
 * belongs to the owner, who keeps using the volume without root. Call it
 * before creating threads. Outside that case it changes nothing. Returns 0
 * (*uid and *gid: the directory's owner), 1 when the owner cannot reach the
 * volume by its path (nothing changed: the caller stays root and should
 * say so), or -errno. */
int lfs_act_as_volume_owner(const char *path, uid_t *uid, gid_t *gid);

#endif
