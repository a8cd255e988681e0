/*
 * The append path: framing a batch, writing it into the active segment and
 * rolling to the next segment.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Batches at least this large are written with pwrite(2) rather than
 * stored through the mapping. */
#define LFS_PWRITE_MIN (16u << 10)

/* Checks a batch and counts its records, outside any lock. */
static int frame_batch(enum lfs_framing framing, const struct iovec *iov, int iovcnt,
		       uint64_t max_record, size_t *len_out, uint32_t *count_out, uint32_t *crc_out)
{
	size_t len = 0, line = 0;
	uint64_t count = 0;
	uint32_t crc = 0;

	for (int i = 0; i < iovcnt; i++) {
		const char *p = iov[i].iov_base, *end = p + iov[i].iov_len;
		len += iov[i].iov_len;
		if (len > LFS_BATCH_MAX)
			return -EMSGSIZE;
		if (framing != LFS_FRAMING_LINE) {
			crc = lfs_crc32c(crc, p, iov[i].iov_len);
			continue;
		}
		size_t lines;
		crc = lfs_crc32c_count(crc, p, iov[i].iov_len, '\n', &lines);
		count += lines;
		/* No line may pass max_record: from the start of each line (of
		 * which `line` bytes came before), a '\n' must come within the
		 * room left. The last '\n' of that window starts the next one,
		 * so each byte is searched about once, and a batch of short
		 * lines costs a search or two per max_record bytes. */
		while (p < end) {
			size_t room = max_record > line ? (size_t)(max_record - line) : 0;
			size_t win = (size_t)(end - p) < room ? (size_t)(end - p) : room;
			const char *nl = win ? memrchr(p, '\n', win) : NULL;
			if (nl) {
				line = 0;
				p = nl + 1;
			} else if (win == (size_t)(end - p)) {
				line += win; /* carried into the next iovec */
				p = end;
			} else {
				return -EMSGSIZE;
			}
		}
	}
	if (len == 0)
		return -EINVAL;
	if (framing == LFS_FRAMING_LINE) {
		if (line != 0) /* the caller holds unterminated fragments */
			return -EINVAL;
	} else {
		if (len > max_record)
			return -EMSGSIZE;
		count = 1;
	}
	*len_out = len;
	*count_out = (uint32_t)count;
	*crc_out = crc;
	return 0;
}

/* Ends the active segment and opens the next one (append_mu held). The
 * old segment is frozen here; its seal, which costs disk flushes, is
 * written later (commit.c), off the append path. */
static int roll(lfs_topic *t, uint32_t framing)
{
	LFS_ASSERT_HELD(&t->append_mu);
	lfs_segment *old = t->active;
	int rc;
	/* A roll whose freeze succeeded but whose new segment could not be
	 * created (ENOSPC, EMFILE...) left old frozen (listed as sealed, its
	 * files cut to their length, its seal not yet queued) as the active
	 * segment: only the creation is left to do, then the queueing. */
	if (!atomic_load(&old->sealed)) {
		rc = lfs_segment_freeze(old);
		if (rc < 0)
			return rc;
	}
	rc = lfs_topic_start_active(t, atomic_load(&old->next_offset),
			  old->stream_pos + atomic_load(&old->size), framing);
	if (rc < 0)
		return rc;
	/* The active pointer's reference goes to the queue of seals. */
	old->frozen_ns = lfs_volume_now(t->vol);
	if (lfs_topic_queue_seal(t, old) < 0) {
		rc = lfs_segment_write_seal(old);
		lfs_segment_put(old);
		return rc;
	}
	return 0;
}

static bool should_roll(lfs_segment *s, const struct lfs_settings *st, size_t len, uint64_t now)
{
	uint64_t size = atomic_load_explicit(&s->size, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&s->nentries, memory_order_relaxed);
	if (atomic_load(&s->sealed))
		return true; /* frozen by a roll whose next segment failed */
	if (n == 0)
		return false;
	if (size + len > st->segment_size || size + len > s->data_maplen)
		return true;
	if (n + 2 > LFS_IDX_MAX_ENTRIES)
		return true;
	return st->segment_ms && now > s->first_ts && now - s->first_ts >= lfs_ms_to_ns(st->segment_ms);
}

int lfs_topic_append(lfs_topic *t, enum lfs_framing framing, const struct iovec *iov, int iovcnt,
		     struct lfs_append_result *res)
{
	struct lfs_settings st;

	lfs_topic_settings(t, &st);
	return lfs_topic_append_as(t, &st, framing, iov, iovcnt, res);
}

int lfs_topic_append_as(lfs_topic *t, const struct lfs_settings *settings, enum lfs_framing framing,
			const struct iovec *iov, int iovcnt, struct lfs_append_result *res)
{
	const struct lfs_settings st = *settings;
	size_t len;
	uint32_t count, crc;
	int rc;

	if (t->vol->readonly)
		return -EROFS;
	if (atomic_load(&t->deleted))
		return -ENOENT;
	rc = frame_batch(framing, iov, iovcnt, st.max_record, &len, &count, &crc);
	if (rc < 0)
		return rc;

	lfs_mutex_lock(&t->append_mu);
	/* An idle topic gave its files back (files.c). */
	rc = lfs_topic_active_open(t);
	if (rc < 0) {
		lfs_mutex_unlock(&t->append_mu);
		return rc;
	}
	uint64_t now = lfs_volume_now(t->vol);
	lfs_segment *s = t->active;
	/* The batch must be framed as the topic's segments are: bytes framed
	 * otherwise would be split into other records by readers and cut as
	 * corrupt by recovery. */
	if (framing != s->framing) {
		/* Fix (reliability_regress.sh): a framing change rewrites the
		 * empty active segment's header, then topic.conf; a crash in
		 * between left the topic framed one way and its empty segment
		 * the other, and every append failed with EINVAL. An empty
		 * segment takes the topic's framing. */
		rc = -EINVAL;
		if (framing == st.framing && atomic_load(&s->nentries) == 0 &&
		    !atomic_load(&s->sealed) && s->idx_fd >= 0)
			rc = lfs_segment_rewrite_framing(s, framing);
		if (rc < 0) {
			lfs_mutex_unlock(&t->append_mu);
			return rc;
		}
	}
	/* A sealed active segment is what a failed roll leaves (see roll). */
	bool rolled = atomic_load(&s->sealed) || should_roll(s, &st, len, now);
	/* What an earlier mount wrote into the active segment is checked
	 * before anything is appended after it: reads fail from a bad batch
	 * to the end of its segment (and do again after a remount), so a
	 * record acknowledged behind one could never be read. A segment
	 * with a bad batch is rolled instead (fuzz_volume found this). */
	if (!rolled && atomic_load(&s->good_end) != UINT64_MAX && lfs_segment_verify(s) < 0)
		rolled = true;
	if (rolled) {
		rc = roll(t, st.framing);
		if (rc < 0) {
			lfs_mutex_unlock(&t->append_mu);
			return rc;
		}
		s = t->active;
	}
	rc = lfs_segment_reserve(s, len);
	if (rc < 0) {
		lfs_mutex_unlock(&t->append_mu);
		return rc;
	}
	uint64_t pos = atomic_load_explicit(&s->size, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&s->nentries, memory_order_relaxed);
	uint64_t first = atomic_load_explicit(&s->next_offset, memory_order_relaxed);
	uint64_t last_ts = atomic_load_explicit(&s->last_ts, memory_order_relaxed);
	if (len >= LFS_PWRITE_MIN) {
		/* Large batches go in with pwrite: a store through the mapping
		 * faults each fresh page in first, and ext4 zero-fills the
		 * preallocated page on that fault before the copy overwrites it
		 * (docs/BENCHMARKS.md). The mapping shares the page cache, so
		 * readers see the same bytes; on error nothing is committed. */
		uint64_t at = pos;
		for (int i = 0; i < iovcnt; i++) {
			rc = lfs_pwrite_full(s->data_fd, iov[i].iov_base, iov[i].iov_len, at);
			if (rc < 0) {
				lfs_mutex_unlock(&t->append_mu);
				return rc;
			}
			at += iov[i].iov_len;
		}
	} else {
		unsigned char *d = atomic_load_explicit(&s->data, memory_order_relaxed) + pos;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(d, iov[i].iov_base, iov[i].iov_len);
			d += iov[i].iov_len;
		}
	}
	/* Timestamps never go backwards within a topic, so a search by time
	 * can bisect the index. */
	uint64_t ts = now > last_ts ? now : last_ts;
	struct lfs_idx_entry e = {.offset = first,
				  .pos = pos,
				  .len = (uint32_t)len,
				  .count = count,
				  .ts = ts,
				  .crc = crc,
				  .type = LFS_ENTRY_BATCH};
	lfs_idx_entry_encode(&e, atomic_load_explicit(&s->idx, memory_order_relaxed) +
					 LFS_IDX_HEADER_SIZE + n * LFS_IDX_ENTRY_SIZE);
	if (n == 0)
		s->first_ts = ts;
	atomic_store_explicit(&s->last_ts, ts, memory_order_relaxed);
	atomic_store_explicit(&s->nentries, n + 1, memory_order_release);
	atomic_store_explicit(&s->next_offset, first + count, memory_order_release);
	atomic_store_explicit(&s->size, pos + len, memory_order_release);
	atomic_store_explicit(&t->next_offset, first + count, memory_order_release);
	atomic_store_explicit(&t->end_pos, s->stream_pos + pos + len, memory_order_release);
	atomic_store_explicit(&t->dirty, true, memory_order_relaxed);
	lfs_mutex_unlock(&t->append_mu);

	if (rolled)
		lfs_topic_apply_retention(t, now);
	if (res) {
		res->first_offset = first;
		res->records = count;
	}
	rc = st.sync_mode == LFS_SYNC_ALWAYS ? lfs_topic_commit_wait(t, first + count) : 0;
	uint64_t acked = atomic_load(&t->acked_offset);
	while (acked < first + count &&
	       !atomic_compare_exchange_weak(&t->acked_offset, &acked, first + count))
		;
	return rc;
}

void lfs_topic_end(lfs_topic *t, uint64_t *next, uint64_t *end)
{
	lfs_mutex_lock(&t->append_mu);
	*next = atomic_load_explicit(&t->next_offset, memory_order_acquire);
	*end = atomic_load_explicit(&t->end_pos, memory_order_acquire);
	lfs_mutex_unlock(&t->append_mu);
}
