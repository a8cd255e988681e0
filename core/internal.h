/*
 * Internal structures of the core.
 *
 * Locks (core/lock.h), in the order they are taken, outermost first: a
 * thread holding one takes only locks below it. Each struct field that
 * threads share and change says what protects it ("under X"), or that it
 * is atomic, or set before the object is shared and read-only after.
 *
 *   lock                      file        guards
 *   volume->sweep.mu          verifysweep.c where the background check of
 *                                         cached segments stands (taken with
 *                                         no other lock held; held across
 *                                         one step of a segment's check)
 *   volume->create_mu         topictable.c creating and deleting topics (their
 *                                         directories), one at a time
 *   producer->mu              producer.c  a write handle's held fragment;
 *                                         held across its append and group
 *                                         commit
 *   cursors->mu (the store)   cursor.c    the cursor store of a topic: its
 *                                         records, file, free pairs
 *   cursor->mu                cursorhandle.c one handle's consumed count
 *   topic->sync_mu            commit.c    group commit state (syncing,
 *                                         durable_offset); nothing else is
 *                                         taken or held with it
 *   topic->seal_mu            commit.c    writing the seals of rolled segments
 *                                         (one sealer at a time), and the
 *                                         topic directory's sync after rolls
 *                                         (rolls_synced)
 *   topic->append_mu          append.c    the active segment's writing side,
 *                                         the queue of unsealed segments, the
 *                                         count of segments created (rolls)
 *   topic->conf_mu            topic.c     meta and settings (innermost of the
 *                                         topic's mutexes but segs_lock)
 *   topic->segs_lock (rw)     seglist.c   the segment list, the reader list
 *   segment->mu               segment.c   a segment's lazy mappings and its
 *                                         verification; closing its files;
 *                                         taking its mappings down (maps.c)
 *   topic->files_lock (rw)    files.c     the topic's directory descriptor:
 *                                         read-held by every use of dirfd,
 *                                         write-held to close an idle one
 *   topic->files_mu           files.c     opening the directory again
 *   volume->open_mu           files.c     the ring of topics with open files
 *                                         (nothing taken under it)
 *   volume->map_mu            maps.c      the ring of mapped sealed segments
 *                                         (nothing taken under it)
 *   volume->topics_lock (rw)  topictable.c the topic table (held briefly, no
 *                                         I/O and no other lock under it)
 *   volume->tick_mu           volume.c    the ticker's sleep and stop flag
 *   volume->ahead.mu          verifyahead.c the verify-ahead queue (taken
 *                                         with no other lock held, nothing
 *                                         taken under it)
 *   volume->errors_mu         errors.c    the recorded errors and their file
 *                                         (innermost: taken under any of the
 *                                         above, nothing taken under it)
 *
 * A few pairs never nest and so have no order between them (conf_mu and
 * segs_lock; seal_mu is taken without append_mu held, append_mu under it).
 * The sweep that closes idle topics' files (files.c) takes a topic's
 * append_mu, segs_lock, cursors->mu, files_lock and sync_mu with try-locks
 * only, holding none of the volume's, and passes over a topic in use; the
 * one that unmaps idle segments (maps.c) try-locks segment->mu with map_mu
 * released.
 * The mirror (mirror/mirror.c, session.c) holds mirror->mu (its worker list) over
 * worker->mu, and calls into the core with neither held, except
 * lfs_topic_set_retention_floor (an atomic store) under worker->mu. The
 * segment_gone callback (lfs_open_opts) runs with a topic's segs_lock held
 * and takes only a lock of its own (fuse/notify.c: its queue's). In a
 * debug build (no NDEBUG) every function documented "(X held)" asserts it.
 */
#ifndef LFS_INTERNAL_H
#define LFS_INTERNAL_H

#include "array.h"
#include "format.h"
#include "lock.h"
#include "logfs.h"

#include <dirent.h>
#include <stdarg.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

/* Roll when the index would hold more entries than this (like Kafka's
 * segment.index.bytes): it bounds the active index mapping. */
#define LFS_IDX_MAX_ENTRIES (1u << 20)
#define LFS_DATA_GROW (1u << 20)
#define LFS_DATA_GROW_MAX (16u << 20)
#define LFS_IDX_GROW (64u << 10)

/* What segment.c needs of the topic a segment belongs to, given to the
 * segment at its creation so that segment.c does not reach into the topic:
 * the topic's directory (held open between dir_enter, which returns its
 * descriptor or -errno, and dir_exit: files.c may close an idle topic's),
 * whether the volume is read-only, the segment size the active segment is
 * mapped for, where messages go (error: logged at LFS_LOG_ERR and recorded
 * in the volume, lfs_volume_error), the mapping budget (maps.c: told of
 * mappings that may come down from now on, and of a segment that goes),
 * and the topic's locks that the "(... held)" checks name. The topic
 * embeds it (topic.c); set at load, read-only after. */
struct lfs_seg_host {
	void *ctx;
	const char *name; /* the topic's, for messages */
	bool readonly;
	int (*dir_enter)(void *ctx);
	void (*dir_exit)(void *ctx);
	uint64_t (*segment_size)(void *ctx);
	void (*log)(void *ctx, int level, const char *msg);
	void (*error)(void *ctx, const char *msg);
	void (*maps_track)(void *ctx, lfs_segment *s);
	void (*maps_forget)(void *ctx, lfs_segment *s);
	/* After a new mapping: bring the host's mappings back within its
	 * budget. */
	void (*maps_trim)(void *ctx);
	/* A batch failed its checksum (the volume remembers it for fsck). */
	void (*checksum_failed)(void *ctx);
	lfs_mutex *append_mu;
	lfs_rwlock *segs_lock;
};

struct lfs_segment {
	atomic_int refs;
	/* Set at creation, read-only after (framing: under the topic's
	 * append_mu while the segment is the empty active one). topic: the
	 * owner, for the modules above segment.c (readers, the summary, the
	 * mapping budget); segment.c and segread.c use only host. */
	lfs_topic *topic;
	const struct lfs_seg_host *host;
	uint64_t base;
	uint64_t stream_pos;
	uint32_t framing;
	uint64_t ctime_ns;
	uint64_t frozen_ns; /* when a roll froze it (0: not rolled); under append_mu */
	/* Written once under append_mu before nentries becomes 1 (release):
	 * read it only after seeing nentries > 0. */
	uint64_t first_ts;

	/* Committed state; the appender publishes with release stores. */
	_Atomic uint64_t size;
	_Atomic uint64_t next_offset;
	_Atomic uint64_t nentries;
	_Atomic uint64_t last_ts;
	atomic_bool sealed;
	atomic_bool retired;
	/* Sealed segments loaded from disk are trusted by their seal at
	 * mount, and checked batch by batch (CRC) when first mapped: reads
	 * at or past good_end fail with EIO. Segments this process wrote
	 * have good_end = UINT64_MAX. */
	_Atomic uint64_t good_end;
	atomic_bool verify_pending; /* batches from verify_next on unchecked */
	uint64_t verify_next;       /* under mu */
	_Atomic uint64_t prefetched; /* readahead asked up to here */

	lfs_mutex mu; /* lazy mapping */
	/* Sealed segments' mappings come and go (maps.c): whoever reads
	 * through data or idx holds a use (lfs_segment_use), and a mapping is
	 * only taken down under mu while uses is 0 (evicting tells users
	 * arriving meanwhile to wait for mu). in_ring, map_prev/map_next: the
	 * volume's ring of mapped sealed segments, under its map_mu;
	 * map_used: the CLOCK bit. */
	atomic_int uses;
	atomic_bool evicting, map_used;
	bool in_ring;
	lfs_segment *map_prev, *map_next;
	/* Published with the mapping (release); data_maplen and idx_maplen
	 * are set under mu before the pointer is stored, read after it. */
	unsigned char *_Atomic data;
	size_t data_maplen;
	/* The data file that was mapped (st_dev, st_ino; 0 before), so that
	 * lfs_segment_open_data hands out that file and no other. Set with
	 * the mapping, under mu. */
	uint64_t data_dev, data_ino;
	unsigned char *_Atomic idx;
	size_t idx_maplen;

	/* Active segment only (the appender's, under topic->append_mu; the
	 * sealer, holding seal_mu, closes the descriptors under mu, and a
	 * group commit leader syncs through them under mu). */
	int data_fd, idx_fd;
	/* An idle topic's active segment gave back its descriptors and
	 * mappings (files.c): set and cleared under topic->append_mu with
	 * segs_lock held for writing; a read that finds it set asks the
	 * topic to take them again (lfs_topic_wake_active). */
	atomic_bool released;
	uint64_t data_alloc, idx_alloc;
};

struct lfs_topic {
	atomic_int refs;
	/* Set at load, read-only after. */
	lfs_volume *vol;
	uint64_t id;
	char name[LFS_TOPIC_NAME_MAX + 1];
	struct lfs_seg_host seg_host; /* what its segments need of it */
	/* The topic's directory, open while files_open (files.c): whoever
	 * uses dirfd holds files_lock for reading (lfs_topic_files_enter);
	 * an idle topic's files are closed under it held for writing.
	 * files_mu serialises the reopening; files_used is the CLOCK bit of
	 * the volume's sweep; dir_dev/dir_ino identify the directory loaded,
	 * so that a reopening by name finds the same one. */
	int dirfd; /* read under files_lock; set under files_mu or with it held for writing */
	lfs_rwlock files_lock;
	lfs_mutex files_mu;
	atomic_bool files_open, files_used;
	uint64_t dir_dev, dir_ino; /* set at load, read-only after */
	uint64_t dir_id[2]; /* lfs_topic_dir_identity at load (the summary's) */
	/* The volume's ring of topics with open files (under v->open_mu). */
	lfs_topic *open_prev, *open_next;
	atomic_int holds; /* open files */
	atomic_bool deleted;

	lfs_mutex conf_mu;
	struct lfs_topic_meta meta; /* under conf_mu */
	struct lfs_settings own;    /* topic overrides, under conf_mu */
	uint32_t own_mask;          /* under conf_mu */

	lfs_mutex append_mu;
	/* Never NULL once loaded; replaced by a roll under append_mu and
	 * segs_lock (for writing): read it under either. */
	lfs_segment *active;
	/* Rolled (frozen) segments whose seal is still to be written, oldest
	 * first, with a reference each: the ticker, a sync and close write
	 * them, so that a roll costs no disk flush on the append path. Until
	 * then a crash leaves them unsealed, and mount recovery scans and
	 * seals them. Under append_mu; only the holder of seal_mu removes
	 * entries (from the front), so the sealer may write a seal with
	 * append_mu released; a roll adds at the end. */
	lfs_segment **unsealed;
	size_t nunsealed, unsealed_cap;
	/* Held while seals are written: whoever needs every rolled segment
	 * durable (a sync) waits for a sealer at work. */
	lfs_mutex seal_mu;
	/* Rolled, directory not yet synced: a segment's creation (a roll, or
	 * the first active segment at load) flushes nothing, so its
	 * directory entries (and its index header) may not survive a power
	 * cut until a sync point. rolls counts the segments created (under
	 * append_mu; at load, before the topic is shared); rolls_synced is
	 * how many of them a completed fsync of the topic directory covers
	 * (under seal_mu, held across that fsync, so that a sync point that
	 * finds them equal knows the fsync has returned). The directory is
	 * not yet durable while rolls_synced < rolls. */
	uint64_t rolls;
	uint64_t rolls_synced;

	/* Open readers (reader.c), under segs_lock (for writing to change). */
	lfs_reader *readers;

	/* The segment list: sealed retained segments then the active one,
	 * under segs_lock (for writing to change). */
	lfs_rwlock segs_lock;
	lfs_segment **segs;
	size_t nsegs, segs_cap;

	/* Published by the appender (release) under append_mu. */
	_Atomic uint64_t next_offset; /* committed */
	/* End of the appends whose call has returned: what fsync(2) owes
	 * durability to. Appends still waiting in a group commit are not
	 * acknowledged yet, so an fsync need not wait for their round. */
	_Atomic uint64_t acked_offset;
	_Atomic uint64_t end_pos;     /* committed stream end */
	/* Retention keeps every record from here on (UINT64_MAX: no floor). */
	_Atomic uint64_t retention_floor;

	/* The commit leader's (whoever set syncing; one at a time), NULL
	 * until first used. */
	struct io_uring *ring;
	bool ring_failed;

	lfs_mutex sync_mu;
	pthread_cond_t sync_cond;   /* with sync_mu */
	bool syncing;               /* a leader is at work; under sync_mu */
	uint64_t durable_offset;    /* under sync_mu */
	_Atomic uint64_t last_sync_ns;
	atomic_bool dirty; /* appended since the last sync */

	struct lfs_cursor_store *cursors; /* cursor.c; set at load */
};

/* Fields without a note are set at open and read-only after. */
/* Sealed segments queued for a check ahead of their readers
 * (verifyahead.c). Every field under mu; each queued segment and its topic
 * hold a reference of the queue's. */
#define LFS_AHEAD_SLOTS 4
struct lfs_verify_ahead {
	lfs_mutex mu;
	pthread_cond_t cond; /* with mu: a job queued, or stopping */
	lfs_segment *segs[LFS_AHEAD_SLOTS];
	lfs_topic *topics[LFS_AHEAD_SLOTS];
	unsigned head, count;
	pthread_t thread;
	bool running, stopping;
	bool manual; /* no thread: lfs_verify_ahead_run_one runs the jobs */
};
void lfs_verify_ahead_init(struct lfs_verify_ahead *va);
void lfs_verify_ahead_destroy(struct lfs_verify_ahead *va);
/* Stops the thread and drops what is queued (at close, before the topics
 * close; no lock held). */
void lfs_verify_ahead_stop(lfs_volume *v);
/* Runs the oldest queued check in the caller; false when none is queued. */
bool lfs_verify_ahead_run_one(lfs_volume *v);
/* The background check of cached sealed segments after a mount
 * (verifysweep.c). All under mu but stopping (atomic) and what is set
 * before the sweep starts (manual, cached). */
struct lfs_verify_sweep {
	lfs_mutex mu;
	pthread_t thread;
	bool running, started, finished;
	atomic_bool stopping;
	bool manual; /* no thread: lfs_verify_sweep_step runs the steps */
	/* Whether the first `size` bytes of fd are all cached: 1, 0, or
	 * -errno when the kernel cannot say (cachestat; tests replace it). */
	int (*cached)(int fd, uint64_t size);
	uint64_t step;   /* bytes checked per step (LFS_SWEEP_STEP; tests less) */
	uint64_t budget; /* bytes the sweep may still take on */
	char **names;    /* the topics at the start, in name order */
	size_t ntopics, ti;
	lfs_topic *topic; /* the one being swept, with a reference */
	uint64_t *bases;  /* its sealed segments; the first nbases still to see */
	size_t nbases;
	lfs_segment *seg; /* the one being checked, with a reference */
	uint64_t seg_size;
	/* For the report at the end. */
	uint64_t checked, failed, skipped, bytes;
	int no_cachestat; /* -errno: cachestat refused, nothing checked */
	double started_ms;
};
void lfs_verify_sweep_init(struct lfs_verify_sweep *sw);
/* Whether a file of `pages` pages with `cached` of them in the page cache
 * is one the sweep checks: all but at most 1/16 of them. */
bool lfs_sweep_enough_cached(uint64_t cached, uint64_t pages);
void lfs_verify_sweep_destroy(struct lfs_verify_sweep *sw);
/* Stops the thread and drops what the sweep holds (at close, before the
 * topics close; no lock held). */
void lfs_verify_sweep_stop(lfs_volume *v);
/* One step of the sweep in the caller: finds the next segment to check or
 * checks `step` bytes more of the current one; false once the
 * sweep is over (then it has logged its report). */
bool lfs_verify_sweep_step(lfs_volume *v);

/* Checks the next batches of a sealed segment whose check is pending, in
 * one run of about `limit` bytes (at least one batch) from where its check
 * stands, then lets go of it (segread.c): 1 when batches remain, 0 when
 * every batch is good, -EIO when one fails (logged, as at a first open),
 * -EINVAL for a segment not sealed, -errno when the file cannot be read. A
 * first open then checks only what is left. */
int lfs_segment_verify_part(lfs_segment *s, uint64_t limit);

struct lfs_volume {
	char *path;
	int dirfd, topics_fd;
	bool readonly;
	struct lfs_sb_info sb;
	struct lfs_settings defaults; /* superblock defaults + mount options */
	/* The largest write-framed record the transport carries whole (0: no
	 * bound); see lfs_volume_set_write_record_max. */
	_Atomic uint64_t write_record_max;
	/* A batch failed its checksum: close leaves the volume dirty. */
	atomic_bool checksum_errors;
	/* Runtime errors recorded in the volume (errors.c), protected by
	 * errors_mu: what the file says, whether a newer state is still
	 * to be written, and when it was last written (0: not this mount). */
	lfs_mutex errors_mu;
	struct lfs_errors errors;
	bool errors_pending;
	uint64_t errors_written_ns;
	lfs_log_fn log;
	void *log_ctx;

	/* Producers' held fragment buffers, against held_max (producer.c). */
	uint64_t held_max;
	_Atomic uint64_t held_bytes;
	lfs_clock_fn clock; /* never NULL; set at open, then read-only */
	/* lfs_open_opts.segment_gone, set at open, then read-only. */
	void (*segment_gone)(void *ctx, lfs_topic *t, uint64_t base);
	void *segment_gone_ctx;
	void *clock_ctx;

	/* Topics whose files are open (files.c): a ring swept like a CLOCK
	 * from open_hand when more than open_max are; protected by open_mu. */
	lfs_mutex open_mu;
	lfs_topic *open_hand;  /* under open_mu */
	size_t nopen, open_max; /* nopen under open_mu */
	/* Mapped sealed segments (maps.c): a ring swept like a CLOCK from
	 * map_hand when more than map_max are mapped; protected by map_mu. */
	lfs_mutex map_mu;
	lfs_segment *map_hand;   /* under map_mu */
	size_t nmapped, map_max; /* nmapped under map_mu */

	/* Held while a topic is created or deleted (its directory made or
	 * removed): one at a time, without blocking lookups. */
	lfs_mutex create_mu;
	lfs_rwlock topics_lock;
	lfs_topic **topics;      /* sorted by name; under topics_lock */
	size_t ntopics, topics_cap; /* under topics_lock */
	uint64_t next_topic_id;  /* under topics_lock */

	/* The thread that opens and closes the volume's only. */
	pthread_t ticker;
	bool ticker_running;
	lfs_mutex tick_mu;
	pthread_cond_t tick_cond; /* with tick_mu */
	bool stopping;            /* under tick_mu */

	struct lfs_verify_ahead ahead;
	struct lfs_verify_sweep sweep;
};

/* util.c: fills p with a problem and its message (fmt, ap), for the
 * checker and the scanner, which each report it their own way. */
void lfs_problem_vset(struct lfs_problem *p, enum lfs_problem_kind kind, const char *topic,
		      uint64_t segment, uint64_t first, uint64_t last, uint64_t bytes, bool repaired,
		      const char *fmt, va_list ap);

void lfs_log(lfs_volume *v, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* errors.c: reads the volume's error record at open (and logs it);
 * writes what lfs_volume_error left pending. */
void lfs_volume_errors_load(lfs_volume *v);
int lfs_volume_errors_flush(lfs_volume *v);

struct lfs_sum_seg;
struct lfs_sum_topic;

/* segment.c (the object, the active segment, sealing), segload.c (loading),
 * segread.c (mapping, verifying and reading sealed segments) */
lfs_segment *lfs_segment_new(lfs_topic *t, const struct lfs_seg_host *host, uint64_t base);
/* Opens the segment's file of extension ext ("log", "idx") in its topic's
 * directory; a refusal is logged. fd or -errno. */
int lfs_segment_open_file(lfs_segment *s, const char *ext, int flags);
/* Records which data file was mapped (under s->mu). */
void lfs_segment_note_data_file(lfs_segment *s, const struct stat *st);
/* Maps the active segment's two files, room for segment_size bytes. */
int lfs_segment_map_active(lfs_segment *s, uint64_t segment_size);
/* Unmaps both files' mappings and clears them (the caller makes sure no
 * reader uses them: released active segment, evicted sealed one). */
void lfs_segment_unmap_files(lfs_segment *s);
void lfs_segment_ref(lfs_segment *s);
/* A new active segment of t (host: t's) at (base, stream_pos), created
 * at ctime_ns. */
int lfs_segment_create_active(lfs_topic *t, const struct lfs_seg_host *host, uint64_t base,
			      uint64_t stream_pos, uint32_t framing, uint64_t ctime_ns,
			      lfs_segment **out);
int lfs_segment_load_sealed(lfs_topic *t, uint64_t base, lfs_segment **out);
int lfs_segment_load_active(lfs_topic *t, uint64_t base, const struct lfs_scan_result *scan,
			    lfs_segment **out);
/* A sealed segment as the summary of a clean close describes it: no file
 * is opened until a read needs it. */
lfs_segment *lfs_segment_from_summary(lfs_topic *t, const struct lfs_sum_seg *e);
/* A rolled segment known from a scan only (read-only open after a crash). */
int lfs_segment_load_scanned(lfs_topic *t, uint64_t base, const struct lfs_scan_result *r,
			     lfs_segment **out);
/* Sealing in two steps: freeze ends appends (exact file lengths, read-only
 * from now on, listed as sealed); write_seal makes data and index durable,
 * then writes the seal and makes it durable. seal does both. */
int lfs_segment_freeze(lfs_segment *s);
int lfs_segment_write_seal(lfs_segment *s);
int lfs_segment_seal(lfs_segment *s);
int lfs_segment_close_active(lfs_segment *s);
int lfs_segment_reserve(lfs_segment *s, uint64_t data_len);
int lfs_segment_map_data(lfs_segment *s);
int lfs_segment_map_idx(lfs_segment *s);
int lfs_segment_sync(lfs_segment *s);
/* The same through io_uring: both fdatasyncs in one submission, which the
 * kernel runs in parallel (measured 1.4x the sequential pair on ext4). */
int lfs_segment_sync_ring(lfs_segment *s, struct io_uring *ring);
int lfs_segment_unlink(lfs_segment *s);
/* Rewrites the index header of the (empty) active segment with another
 * framing, in place. */
int lfs_segment_rewrite_framing(lfs_segment *s, uint32_t framing);
void lfs_segment_read_entry(lfs_segment *s, uint64_t i, struct lfs_idx_entry *e);
/* Binary searches over committed entries (segindex.c): index of the batch
 * holding offset / of the last batch whose data starts at or before byte
 * pos / of the first batch with ts >= ts (nentries if none). */
uint64_t lfs_segment_find_offset(lfs_segment *s, uint64_t offset);
uint64_t lfs_segment_find_pos(lfs_segment *s, uint64_t pos);
uint64_t lfs_segment_find_time(lfs_segment *s, uint64_t ts);

/* Runs fn(arg), which reads mapped segment files: a SIGBUS it takes (the
 * file was cut under the mapping) ends it and makes this return -EIO. */
int lfs_mapped_access(void (*fn)(void *), void *arg);

/* reader.c: segment s leaves the topic (segs_lock held for writing). */
void lfs_reader_retire(lfs_topic *t, lfs_segment *s);

/* reader.c: the offset of the first record not wholly inside the reader's
 * bytes [0, byte). Changes nothing in the reader. */
int lfs_reader_offset_at(lfs_reader *r, uint64_t byte, uint64_t *out);

/* cursor.c, cursorcheck.c, cursorhandle.c */
struct lfs_cursor_store;
/* Checks a topic's cursor store against the log [first, next] (the check
 * that mount and fsck share): damaged slots, duplicate names, a partial
 * pair at the end, positions beyond next (clamped to next). Problems go to
 * fn (topic name in each). With repair, a store with any problem is
 * rewritten from its valid cursors (atomic replace). out (may be NULL):
 * the valid cursors, clamped, with the pair each lives in (after a
 * rewrite, its new one); caller frees. Returns problems found or -errno. */
struct lfs_cursor_found {
	char *name; /* malloc'd */
	uint64_t seq, offset, committed_at, skipped;
	uint32_t flags;
	uint64_t pair;
};
void lfs_cursor_found_free(struct lfs_cursor_found *f, size_t n);
/* The store file, through the volume's one way of opening files (no link
 * followed, nothing but a regular file): fd, or -EUCLEAN for a refusal. */
int lfs_cursor_store_open(int tfd, int flags);
/* The slot that holds cursor state c. */
void lfs_cursor_found_to_slot(const struct lfs_cursor_found *c, struct lfs_cursor_slot *s);
int lfs_cursor_store_check(int tfd, const char *topic, uint64_t first, uint64_t next, bool repair,
			   lfs_problem_fn fn, void *ctx, struct lfs_cursor_found **out,
			   size_t *count, bool *repaired);
/* At topic load: sets up an empty store that remembers the log's first and
 * next offsets; the first operation on the topic's cursors runs the check
 * (repairing unless read-only, logging problems) against them and builds
 * the cursors (lfs_cursor_lock_store). */
int lfs_cursors_load(lfs_topic *t);
void lfs_cursors_free(lfs_topic *t);
/* Closes the store's descriptor of an idle topic, unless the store is in
 * use (false); the next write opens it again. */
bool lfs_cursors_release(lfs_topic *t);
/* Background commit of open reading handles (close mode). */
void lfs_cursors_tick(lfs_topic *t, uint64_t now_ns);

/* ms to ns, saturating: a limit of "ages" (say 200000d) must not wrap
 * around into a short one. */
static inline uint64_t lfs_ms_to_ns(uint64_t ms)
{
	return ms > UINT64_MAX / 1000000ull ? UINT64_MAX : ms * 1000000ull;
}

/* files.c: a topic's files on demand. An idle topic (nothing pins its
 * active segment, no seal pending, no handle inside) holds no descriptor
 * and no mapping; at most open_max topics keep theirs. */
/* Opens the topic's directory if closed and holds it open (files_lock for
 * reading) until lfs_topic_files_exit: 0, or -ENOENT for a deleted topic,
 * -EIO when the name now holds another directory, -errno. */
int lfs_topic_files_enter(lfs_topic *t);
void lfs_topic_files_exit(lfs_topic *t);
/* Takes the active segment's files again if they were given back
 * (append_mu held). */
/* A message about s to its host's log (error: also recorded by the host). */
void lfs_segment_log(lfs_segment *s, bool error, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int lfs_topic_active_open(lfs_topic *t);
/* The same for a caller that holds no lock of t (a reader about to find
 * its start: append_mu comes before segs_lock). */
int lfs_topic_active_ensure(lfs_topic *t);
/* The same for a reader that found s released (no topic lock held). */
int lfs_topic_wake_active(lfs_segment *s);
/* Closes idle topics' files until at most open_max are open. */
void lfs_volume_files_trim(lfs_volume *v);
/* The topic leaves the ring (it is being freed). */
void lfs_topic_files_forget(lfs_topic *t);
/* lfs_topic_load opened the topic's directory (t->dirfd): notes which it
 * is. Once loaded, the topic joins the ring of open ones. */
int lfs_topic_files_opened(lfs_topic *t);
void lfs_topic_files_loaded(lfs_topic *t);
/* The default open_max: from the descriptor limit. */
size_t lfs_files_default_max(void);
/* maps.c: sealed segments mapped on demand, at most map_max at once.
 * lfs_segment_use / lfs_segment_unuse (logfs.h) bracket every read through
 * a segment's data or idx mapping (lfs_segment_peek's pointer, index
 * entries): between them the mappings stay. */
/* A sealed segment's mapping was made (s->mu held): it joins the ring. */
void lfs_maps_track(lfs_segment *s);
/* The segment is being freed: it leaves the ring. */
void lfs_maps_forget(lfs_segment *s);
/* Unmaps unused sealed segments until at most map_max are mapped. */
void lfs_volume_maps_trim(lfs_volume *v);
size_t lfs_maps_default_max(void);
/* segment.c: takes a sealed segment's mappings down (s->mu held) if no
 * one uses them: true when done. */
bool lfs_segment_unmap(lfs_segment *s);

/* segment.c: the active segment's side of it. */
int lfs_segment_release_active(lfs_segment *s);
int lfs_segment_reopen_active(lfs_segment *s);

/* topic.c */
int lfs_topic_dir_own(int dirfd, const struct lfs_topic_meta *meta);
/* The topic's segment_size setting. */
uint64_t lfs_topic_segment_size(lfs_topic *t);
int lfs_topic_load(lfs_volume *v, const char *name, bool was_clean,
		   const struct lfs_sum_topic *sum, struct lfs_open_report *rep,
		   lfs_topic **out);
void lfs_topic_unload(lfs_topic *t);
/* topicload.c: loads the segments of t (its directory open in t->dirfd)
 * by the one recovery policy; what was repaired goes to rep. */
int lfs_topic_load_segments(lfs_topic *t, bool was_clean, const struct lfs_sum_topic *sum,
			    struct lfs_open_report *rep);
int lfs_topic_flush(lfs_topic *t);
/* lfs_topic_append with the settings the caller read (a producer reads them
 * once per write: they take conf_mu). */
int lfs_topic_append_as(lfs_topic *t, const struct lfs_settings *settings, enum lfs_framing framing,
			const struct iovec *iov, int iovcnt, struct lfs_append_result *res);
void lfs_topic_tick(lfs_topic *t, uint64_t now_ns);

/* seglist.c */
/* Appends seg to the segment list (segs_lock held for writing). */
int lfs_topic_segs_push(lfs_topic *t, lfs_segment *s);
/* Creates the segment that starts at (base, stream_pos) and makes it the
 * active one. */
int lfs_topic_start_active(lfs_topic *t, uint64_t base, uint64_t stream_pos, uint32_t framing);
/* The segment holding stream position pos (live list), with a reference. */
lfs_segment *lfs_topic_segment_at(lfs_topic *t, uint64_t pos);
/* Removes the oldest sealed segment (segs_lock held for writing). */
int lfs_topic_drop_oldest(lfs_topic *t);

/* append.c: the log's end, next offset and stream position, as one append
 * left them (a consistent pair; takes append_mu). */
void lfs_topic_end(lfs_topic *t, uint64_t *next, uint64_t *end);

/* commit.c */
/* Queues a frozen segment for its seal (append_mu held); takes over the
 * caller's reference. */
int lfs_topic_queue_seal(lfs_topic *t, lfs_segment *s);
/* Group commit: returns once every record before target is durable. */
int lfs_topic_commit_wait(lfs_topic *t, uint64_t target);

/* recover.c: the one cross-segment recovery policy, for the mount and for
 * fsck.logfs (recover.c says what it decides and why). The caller walks a
 * topic's segments in base order: decide, then apply what was decided or,
 * for LFS_REC_LOAD, load or scan the segment and keep it. */
struct lfs_rec_seg {
	uint64_t base;
	bool has_log, has_idx;
	bool rewriting; /* BASE.log.new or BASE.idx.new: a repair cut short */
};
enum lfs_rec_action {
	LFS_REC_LOAD,            /* kept: loaded (mount) or scanned */
	LFS_REC_FINISH_DELETION, /* the oldest one's deletion was cut short */
	LFS_REC_MISNAMED,        /* its header names another base: lost+found */
	LFS_REC_OVERLAP,         /* overlaps the previous one: lost+found */
	LFS_REC_AFTER_LOSS,      /* follows a crash's loss: lost+found */
};
struct lfs_recover {
	const struct lfs_rec_seg *segs;
	size_t n;
	size_t kept;            /* segments kept so far */
	uint64_t next;          /* the last kept one's next offset */
	uint64_t end;           /* and its end in the topic's byte stream */
	bool prev_never_sealed; /* the last kept one never carried a seal */
	bool after_loss;        /* every segment from here on goes */
	uint64_t lost_from;     /* the first offset lost then */
};
void lfs_recover_init(struct lfs_recover *r, const struct lfs_rec_seg *segs, size_t n);
/* hdr_rc: 0 (h is segment i's index header), -ENOENT or -EUCLEAN. */
enum lfs_rec_action lfs_recover_decide(struct lfs_recover *r, size_t i, int hdr_rc,
				       const struct lfs_idx_header *h);
/* Actions that lose no record (fsck -p applies them). */
bool lfs_recover_safe(enum lfs_rec_action a);
/* The stream position segment i (to be kept) must start at. */
uint64_t lfs_recover_position(const struct lfs_recover *r, int tfd, size_t i, int hdr_rc,
			      const struct lfs_idx_header *h);
/* Segment i is kept: where it starts, its payload size, its next offset,
 * and whether it never carried a seal (scanned with no seal entry). */
void lfs_recover_keep(struct lfs_recover *r, uint64_t stream_pos, uint64_t size,
		      uint64_t next_offset, bool never_sealed);
const char *lfs_recover_action_text(enum lfs_rec_action a, bool applied);
int lfs_recover_apply(int voldirfd, int tfd, const char *topic, uint64_t base,
		      enum lfs_rec_action a);
/* A segment's index header: 0, -ENOENT (no index), -EUCLEAN, -errno. */
int lfs_idx_header_read(int tfd, uint64_t base, struct lfs_idx_header *h);
/* Rewrites it in place, durably. */
int lfs_idx_header_write(int tfd, uint64_t base, const struct lfs_idx_header *h);

/* volfiles.c: the volume's own files; pieces fsck needs */
int lfs_superblock_check(int dirfd, struct lfs_sb_info *sb, bool *primary_ok);
int lfs_superblock_repair(int dirfd, bool *repaired);
/* Writes sb to both copies. */
int lfs_superblock_rewrite(int dirfd, const struct lfs_sb_info *sb);
int lfs_state_read(int dirfd); /* LFS_STATE_CLEAN/DIRTY, 0 unknown, <0 error */
int lfs_state_write(int dirfd, uint32_t state);
int lfs_volume_lock_path(const char *path, int *fd_out);
/* Takes the volume's exclusive lock on its directory (dirfd): 0, -EBUSY
 * when another process holds it, or -errno. */
int lfs_volume_lock(int dirfd);

/* topictable.c: the topic table (topics_lock held for writing). Adds t;
 * at_end: a mount's load appends and sorts once at the end. */
int lfs_volume_topics_insert(lfs_volume *v, lfs_topic *t, bool at_end);
void lfs_volume_topics_sort(lfs_volume *v);

/* util.c */
/* Modes of what the daemon creates in a volume: only its owner (the user
 * the daemon runs as) reaches inside; the mount enforces each topic's mode
 * (SPEC "Security": the volume reveals no more than the mount). */
#define LFS_FILE_MODE 0600
#define LFS_DIR_MODE 0700
/* Every file of a volume is opened through lfs_open_file (util.c says
 * how): fd, or -ELOOP (a symlink), -EISDIR, -ENXIO (FIFO, socket, device),
 * or the open's error. With O_CREAT a missing file is made (O_EXCL,
 * LFS_FILE_MODE); O_TRUNC applies only once the file is known regular.
 * lfs_create_file makes a new empty file, removing whatever had the name. */
int lfs_open_file(int dirfd, const char *name, int flags);
int lfs_create_file(int dirfd, const char *name, int flags);
/* A directory, never through a symlink: fd, or -ELOOP, -ENOTDIR, ... */
int lfs_open_dir(int dirfd, const char *name);
/* Why lfs_open_file / lfs_open_dir refused a file ("is a symbolic link
 * ..."), or NULL for an error that is not a refusal. */
const char *lfs_refusal(int err);
int lfs_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len);
int lfs_read_file(int dirfd, const char *name, void *buf, size_t cap, size_t *len);
int lfs_fsync_dir(int dirfd);
/* Frees a list of n names (lfs_volume_list_topics, lfs_cursor_list). */
void lfs_names_free(char **names, size_t n);

/* summary.c: the sealed segments of every topic, written at a clean close
 * and read by the next open instead of each segment's files. */
struct lfs_summary; /* its encoding: format.h */
int lfs_summary_write(lfs_volume *v);
int lfs_summary_read(int dirfd, struct lfs_summary **out);
/* The same from the file's bytes (the fuzz target's entry point): buf is
 * malloc'd and belongs to the summary from then on, freed on failure too.
 * -EUCLEAN when it is not a summary whose checksums and layout hold. */
int lfs_summary_parse(unsigned char *buf, size_t len, struct lfs_summary **out);
/* Every topic of a parsed summary, in the file's order. */
const struct lfs_sum_topic *lfs_summary_topics(const struct lfs_summary *s, size_t *count);
const struct lfs_sum_topic *lfs_summary_topic(const struct lfs_summary *s, const char *name);
void lfs_summary_free(struct lfs_summary *s);
/* Identifies a topic directory: inode number and birth time (ns, 0 where
 * the filesystem keeps none). */
int lfs_topic_dir_identity(int dirfd, uint64_t id[2]);
/* Removes the summary (fsck before a repair). */
int lfs_summary_drop(int dirfd);

/* lostfound.c: moves fromfd/name to VOLUME/lost+found/<sub>/name (name.N
 * if taken), sub "" or "topics" or "topics/NAME"; a segment's two files. */
int lfs_lost_found_move(int voldirfd, int fromfd, const char *name, const char *sub);
int lfs_lost_found_move_segment(int voldirfd, int topicfd, const char *topic, uint64_t base);
/* Writes len bytes durably to lost+found/topics/TOPIC/name (name.N if
 * taken): the damaged bytes of a batch recorded as lost. */
int lfs_lost_found_save(int voldirfd, const char *topic, const char *name, const void *buf,
			size_t len);
int lfs_pread_full(int fd, void *buf, size_t len, uint64_t off);
int lfs_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
int lfs_remove_tree(int dirfd, const char *name);
int lfs_dir_open(int dirfd, DIR **out);
bool lfs_all_zero(const void *buf, size_t len);
/* The length of buf without its trailing zero bytes. */
size_t lfs_nonzero_len(const void *buf, size_t len);
/* How many bytes of buf equal c (16 at a time where SSE2 is there). */
size_t lfs_count_byte(const void *buf, size_t len, unsigned char c);
/* Its implementations, for tests: SSE2 (or bytewise) and, on x86-64 CPUs
 * that have it, AVX2. */
size_t lfs_count_byte_portable(const void *buf, size_t len, unsigned char c);
/* CRC32C of buf (continuing crc) and, in *count, how many of its bytes equal
 * ch: in one pass where the CPU has AVX2 and SSE4.2, else in two (the
 * second form, for tests). */
uint32_t lfs_crc32c_count(uint32_t crc, const void *buf, size_t len, unsigned char ch,
			  size_t *count);
uint32_t lfs_crc32c_count_separate(uint32_t crc, const void *buf, size_t len, unsigned char ch,
				   size_t *count);
/* Every pair of implementations behind lfs_crc32c and lfs_crc32c_count that
 * this CPU can run, slowest first: the portable pair, then the crc32
 * instruction's, then the carry-less multiplication's. The last is the one
 * used; tests run them all. Returns how many. */
#define LFS_CRC_IMPLS 3
typedef uint32_t (*lfs_crc_fn)(uint32_t crc, const void *buf, size_t len);
typedef uint32_t (*lfs_crc_count_fn)(uint32_t crc, const void *buf, size_t len, unsigned char ch,
				     size_t *count);
size_t lfs_crc32c_impls(lfs_crc_fn fns[LFS_CRC_IMPLS], lfs_crc_count_fn counts[LFS_CRC_IMPLS]);
#if defined(__x86_64__)
size_t lfs_count_byte_avx2(const void *buf, size_t len, unsigned char c);
#endif

/* conf.c */
int lfs_topic_conf_read(int dirfd, struct lfs_topic_meta *meta, struct lfs_settings *own,
			uint32_t *mask);
int lfs_topic_conf_write(int dirfd, const struct lfs_topic_meta *meta,
			 const struct lfs_settings *own, uint32_t mask);
void lfs_settings_merge(struct lfs_settings *out, const struct lfs_settings *base,
			const struct lfs_settings *own, uint32_t mask);

#endif
