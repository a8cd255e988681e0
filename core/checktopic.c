/*
 * The volume checker's per-topic checks (check.c describes the checker as a
 * whole): topic.conf, the modes of the topic's files, its segments in order
 * (quick when the volume was closed cleanly, else in full through the
 * recovery scanner and the one recovery policy), and its cursor store.
 */
#include "checkint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- topic.conf ---- */

/* Parses what is still readable of a damaged topic.conf. */
static void conf_salvage(int tfd, struct lfs_topic_meta *meta, struct lfs_settings *own,
			 uint32_t *mask, unsigned *kept)
{
	char buf[LFS_CONF_MAX + 1];
	size_t len;

	*kept = 0;
	if (lfs_read_file(tfd, LFS_TOPIC_CONF, buf, LFS_CONF_MAX, &len) < 0)
		return;
	*kept = lfs_conf_salvage(buf, len, meta, own, mask);
}

/* Checks topic.conf; *framing gets the framing it sets (0 if none). */
static int check_conf(struct checker *ck, int tfd, const char *topic, uint32_t seg_framing,
		      uint32_t *framing, uint32_t *topic_mode)
{
	struct lfs_topic_meta meta;
	struct lfs_settings own;
	uint32_t mask = 0;
	int rc = lfs_topic_conf_read(tfd, &meta, &own, &mask);

	*framing = 0;
	if (rc == 0) {
		*topic_mode = meta.mode;
		if (mask & (1u << LFS_SET_FRAMING))
			*framing = own.framing;
		return 0;
	}
	if (rc != -ENOENT && rc != -EUCLEAN)
		return rc;

	/* Defaults: the directory's owner and mode. */
	struct stat st;
	if (fstat(tfd, &st) < 0)
		return -errno;
	memset(&own, 0, sizeof(own));
	mask = 0;
	meta = (struct lfs_topic_meta){.mode = st.st_mode & 07777, .uid = st.st_uid, .gid = st.st_gid};
	unsigned kept = 0;
	if (rc == -EUCLEAN) {
		conf_salvage(tfd, &meta, &own, &mask, &kept);
		/* Damage must not widen access: the owner is the directory's
		 * (the daemon gives it the topic's owner), and a mode read
		 * from a damaged file is kept only as far as the directory's
		 * allows. */
		meta.uid = st.st_uid;
		meta.gid = st.st_gid;
		meta.mode &= st.st_mode & 07777;
	}
	/* The segments know the framing even when the conf lost it. */
	if (!(mask & (1u << LFS_SET_FRAMING)) && seg_framing && seg_framing != ck->sb.defaults.framing) {
		own.framing = seg_framing;
		mask |= 1u << LFS_SET_FRAMING;
	}
	if (mask & (1u << LFS_SET_FRAMING))
		*framing = own.framing;
	*topic_mode = meta.mode;
	bool repaired = false;
	if (ck->repair) {
		rc = lfs_topic_conf_write(tfd, &meta, &own, mask);
		if (rc < 0)
			return rc;
		repaired = true;
	}
	if (rc == -ENOENT || kept == 0)
		lfs_ck_problem(ck, LFS_PROB_TOPIC_CONF, topic, UINT64_MAX, 0, 0, 0, repaired, "%s %s%s",
			LFS_TOPIC_CONF, rc == -ENOENT ? "missing" : "damaged and unreadable",
			repaired ? ": rewritten with defaults" : "");
	else
		lfs_ck_problem(ck, LFS_PROB_TOPIC_CONF, topic, UINT64_MAX, 0, 0, 0, repaired,
			"%s damaged (bad checksum)%s%u readable settings%s", LFS_TOPIC_CONF,
			repaired ? ": rewritten keeping its " : "; ", kept, repaired ? " readable lines" : " lines readable");
	return 0;
}

/* SPEC "Security": no backing file is more accessible than its topic. The
 * topic's directory, or a file in it, that grants group or others a
 * permission the topic does not is reported; repair narrows it to the modes
 * the daemon creates (LFS_DIR_MODE, LFS_FILE_MODE). */
static int check_modes(struct checker *ck, int tfd, const char *topic, const struct dent *ents,
		       size_t n, uint32_t topic_mode)
{
	uint32_t allowed = topic_mode & 077;
	struct stat st;
	if (fstat(tfd, &st) < 0)
		return -errno;
	if ((st.st_mode & 077) & ~allowed) {
		bool fixed = ck->repair && fchmod(tfd, LFS_DIR_MODE) == 0;
		lfs_ck_problem(ck, LFS_PROB_MODE, topic, UINT64_MAX, 0, 0, 0, fixed,
			"backing directory mode %03o is wider than the topic's %03o%s",
			(unsigned)(st.st_mode & 0777), (unsigned)(topic_mode & 0777),
			fixed ? ": narrowed to 700" : "");
	}
	for (size_t i = 0; i < n; i++) {
		if (ents[i].type != DT_REG || !((ents[i].mode & 077) & ~allowed))
			continue;
		bool fixed = false;
		if (ck->repair) {
			int fd = lfs_open_file(tfd, ents[i].name, O_RDONLY);
			fixed = fd >= 0 && fchmod(fd, LFS_FILE_MODE) == 0;
			if (fd >= 0)
				close(fd);
		}
		lfs_ck_problem(ck, LFS_PROB_MODE, topic, UINT64_MAX, 0, 0, 0, fixed,
			"'%s' mode %03o is wider than the topic's %03o%s", ents[i].name,
			(unsigned)(ents[i].mode & 0777), (unsigned)(topic_mode & 0777),
			fixed ? ": narrowed to 600" : "");
	}
	return 0;
}

/* ---- segments ---- */

static int cmp_seg(const void *a, const void *b)
{
	uint64_t x = ((const struct seg *)a)->base, y = ((const struct seg *)b)->base;
	return x < y ? -1 : x > y;
}

/* The records and batches of a segment's first n index entries (its lost
 * ranges are offsets, not records): 1, 0 if an entry is neither a batch nor
 * a lost range, or -errno. */
static int count_records(int fd, uint64_t n, struct lfs_scan_result *r)
{
	enum { CHUNK = 1024 };
	unsigned char *buf = malloc(CHUNK * LFS_IDX_ENTRY_SIZE);
	int rc = 1;

	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < n && rc == 1; i += CHUNK) {
		size_t k = n - i < CHUNK ? (size_t)(n - i) : CHUNK;
		rc = lfs_pread_full(fd, buf, k * LFS_IDX_ENTRY_SIZE,
				    LFS_IDX_HEADER_SIZE + i * LFS_IDX_ENTRY_SIZE);
		if (rc < 0)
			break;
		rc = 1;
		for (size_t j = 0; j < k && rc == 1; j++) {
			struct lfs_idx_entry e;
			if (lfs_idx_entry_decode(buf + j * LFS_IDX_ENTRY_SIZE, &e) < 0)
				rc = 0;
			else if (e.type == LFS_ENTRY_BATCH) {
				r->records += e.count;
				r->batches++;
			} else if (e.type != LFS_ENTRY_LOST)
				rc = 0;
		}
	}
	free(buf);
	return rc;
}

/* Quick check of one segment of a clean volume: header, seal, lengths.
 * Fills r; returns 1 if the segment looks right, 0 if not, <0 on error. */
static int quick_segment(int tfd, const struct seg *s, bool last, struct lfs_idx_header *h,
			 struct lfs_scan_result *r)
{
	char name[32];
	unsigned char buf[LFS_IDX_ENTRY_SIZE];
	struct lfs_idx_entry e, first;
	struct stat st;
	int rc, fd;

	memset(r, 0, sizeof(*r));
	r->base_offset = s->base;
	if (!s->has_log || !s->has_idx)
		return 0;
	lfs_seg_name(s->base, "idx", name);
	fd = lfs_open_file(tfd, name, O_RDONLY);
	if (fd < 0)
		return fd;
	unsigned char hb[LFS_IDX_HEADER_SIZE];
	rc = lfs_pread_full(fd, hb, sizeof(hb), 0);
	if (rc == -ENODATA) {
		rc = 0;
		goto out;
	}
	if (rc == 0 && fstat(fd, &st) < 0)
		rc = -errno;
	if (rc < 0)
		goto out;
	rc = 0;
	if (lfs_idx_header_decode(hb, h) < 0 || h->base_offset != s->base)
		goto out;
	uint64_t isz = (uint64_t)st.st_size;
	if (isz < LFS_IDX_HEADER_SIZE || (isz - LFS_IDX_HEADER_SIZE) % LFS_IDX_ENTRY_SIZE)
		goto out;
	uint64_t n = (isz - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE;
	uint64_t next = s->base, end = 0, batches = n;
	r->sealed = false;
	if (n) {
		rc = lfs_pread_full(fd, buf, sizeof(buf), isz - LFS_IDX_ENTRY_SIZE);
		if (rc < 0)
			goto out;
		if (lfs_idx_entry_decode(buf, &e) < 0)
			goto out;
		if (e.type == LFS_ENTRY_SEAL) {
			if (e.count != n - 1)
				goto out;
			next = e.offset;
			end = e.pos;
			batches = n - 1;
			r->sealed = true;
			r->last_timestamp = e.ts;
		} else {
			next = e.offset + e.count;
			end = e.pos + e.len;
			r->last_timestamp = e.ts;
		}
		if (batches) {
			rc = lfs_pread_full(fd, buf, sizeof(buf), LFS_IDX_HEADER_SIZE);
			if (rc < 0)
				goto out;
			if (lfs_idx_entry_decode(buf, &first) < 0 ||
			    (first.type != LFS_ENTRY_BATCH && first.type != LFS_ENTRY_LOST) ||
			    first.offset != s->base || first.pos != 0)
				goto out;
			r->first_timestamp = first.ts;
		} else {
			r->last_timestamp = 0;
		}
	}
	if (!last && !r->sealed)
		goto out;
	if (next < s->base || s->log_size != end)
		goto out;
	rc = count_records(fd, batches, r);
	if (rc != 1)
		goto out;
	r->next_offset = next;
	r->valid_bytes = end;
	r->entries = batches;
out:
	close(fd);
	return rc;
}

/* Counts a checked segment's records and lost offsets (prev_next: where
 * the previous segment of the topic ended; the offsets between it and this
 * segment, cut by an earlier repair, are lost too). */
static void count_offsets(struct lfs_check_result *res, uint64_t prev_next,
			  const struct lfs_scan_result *r)
{
	res->records += r->records;
	res->lost_offsets += r->next_offset - r->base_offset - r->records;
	if (r->base_offset > prev_next)
		res->lost_offsets += r->base_offset - prev_next;
}

/* The quick check of a topic: 1 if every segment looks right. */
static int quick_topic(struct checker *ck, struct topic_ctx *tc)
{
	struct lfs_scan_result *rs = calloc(tc->nsegs + 1, sizeof(*rs));
	uint64_t prev_next = 0, prev_end = 0;
	int rc = 1;

	if (!rs)
		return -ENOMEM;
	for (size_t i = 0; i < tc->nsegs && rc == 1; i++) {
		struct lfs_idx_header h;
		rc = quick_segment(tc->tfd, &tc->segs[i], i + 1 == tc->nsegs, &h, &rs[i]);
		if (rc != 1)
			break;
		if (i > 0 && (tc->segs[i].base < prev_next || h.stream_pos != prev_end))
			rc = 0;
		prev_next = rs[i].next_offset;
		prev_end = h.stream_pos + rs[i].valid_bytes;
	}
	if (rc == 1) {
		tc->first = tc->nsegs ? rs[0].base_offset : 0;
		tc->next = prev_next;
		for (size_t i = 0; i < tc->nsegs; i++) {
			ck->res->segments++;
			count_offsets(ck->res, i ? rs[i - 1].next_offset : rs[i].base_offset, &rs[i]);
			ck->res->bytes += rs[i].valid_bytes;
			if (ck->o->segment)
				ck->o->segment(ck->o->ctx, tc->name, &rs[i]);
		}
	}
	free(rs);
	return rc;
}

/* Scans one segment in the checker's mode. */
static int scan_one(struct checker *ck, struct topic_ctx *tc, const struct seg *s, bool last,
		    const struct lfs_scan_hint *hint, struct lfs_scan_result *r)
{
	unsigned flags = LFS_SCAN_VERIFY_PAYLOAD | LFS_SCAN_LOSE_DAMAGED;
	int rc;

	ck->seg_unrepaired = 0;
	/* Preen repairs the active segment like the daemon's recovery does
	 * (torn tails, and the silent trim of preallocated zeros). */
	if (ck->mode == LFS_CHECK_REPAIR || (ck->mode == LFS_CHECK_PREEN && last))
		flags |= LFS_SCAN_REPAIR;
	if (ck->mode != LFS_CHECK_PREEN || (flags & LFS_SCAN_REPAIR))
		return lfs_scan_segment(tc->tfd, tc->name, s->base, flags, !last, hint, lfs_ck_scan_problem,
					ck, r);

	/* Preen: a read-only trial first. */
	ck->holding = true;
	ck->nheld = 0;
	rc = lfs_scan_segment(tc->tfd, tc->name, s->base, flags, !last, hint, lfs_ck_scan_problem, ck, r);
	ck->holding = false;
	if (rc < 0 || ck->err)
		return rc < 0 ? rc : ck->err;
	if (!r->damaged)
		return 0;
	/* Safe: no record is lost (trailing bytes, index rebuilds, missing
	 * seals): repair for real. (Only preen gets here: -n never repairs.) */
	if (r->records_cut == 0 && r->records_lost == 0 && ck->repair)
		return lfs_scan_segment(tc->tfd, tc->name, s->base, flags | LFS_SCAN_REPAIR, !last,
					hint, lfs_ck_scan_problem, ck, r);
	for (size_t i = 0; i < ck->nheld; i++) {
		struct lfs_problem p = ck->held[i];
		p.repaired = false;
		lfs_ck_emit(ck, &p);
	}
	r->repaired = false;
	return 0;
}

/* The segments of a topic in order. What happens to a segment because of the
 * others (a deletion cut short, a segment out of place, segments after a
 * crash's loss, stream positions) is the recovery policy's decision
 * (recover.c), the one the mount applies; each kept segment is judged by
 * the scanner. */
static int full_topic(struct checker *ck, struct topic_ctx *tc)
{
	struct lfs_rec_seg *rs = calloc(tc->nsegs + 1, sizeof(*rs));
	struct lfs_recover rec;
	bool have_prev = false, prev_end_known = true;
	int rc = 0;

	if (!rs)
		return -ENOMEM;
	for (size_t i = 0; i < tc->nsegs; i++)
		rs[i] = (struct lfs_rec_seg){.base = tc->segs[i].base,
					     .has_log = tc->segs[i].has_log,
					     .has_idx = tc->segs[i].has_idx};
	lfs_recover_init(&rec, rs, tc->nsegs);
	for (size_t i = 0; i < tc->nsegs; i++) {
		struct seg *s = &tc->segs[i];
		struct lfs_idx_header h;
		bool last = i + 1 == tc->nsegs;

		if (lfs_ck_cancelled(ck))
			break;
		int hrc = s->has_idx ? lfs_idx_header_read(tc->tfd, s->base, &h) : -ENOENT;
		if (hrc < 0 && hrc != -ENOENT && hrc != -EUCLEAN) {
			rc = hrc;
			break;
		}
		enum lfs_rec_action a = lfs_recover_decide(&rec, i, hrc, &h);
		if (a != LFS_REC_LOAD) {
			bool fix = ck->mode == LFS_CHECK_REPAIR || (ck->repair && lfs_recover_safe(a));
			if (fix) {
				rc = lfs_recover_apply(ck->dirfd, tc->tfd, tc->name, s->base, a);
				if (rc < 0)
					break;
			}
			uint64_t first = a == LFS_REC_AFTER_LOSS ? rec.lost_from : s->base;
			enum lfs_problem_kind kind = a == LFS_REC_AFTER_LOSS ? LFS_PROB_CONTIGUITY
						     : a == LFS_REC_FINISH_DELETION ? LFS_PROB_MISSING_DATA
										     : LFS_PROB_ORDER;
			lfs_ck_problem(ck, kind, tc->name, s->base, first, s->base,
				a == LFS_REC_FINISH_DELETION ? 0 : s->log_size, fix, "%s",
				lfs_recover_action_text(a, fix));
			lfs_ck_progress(ck, s->log_size);
			continue;
		}

		struct lfs_scan_hint hint = {.framing = tc->framing,
					     .stream_pos = lfs_recover_position(&rec, tc->tfd, i, hrc, &h),
					     .voldirfd = ck->dirfd};
		struct lfs_scan_result r;
		rc = scan_one(ck, tc, s, last, &hint, &r);
		if (rc < 0)
			break;
		if (ck->err) {
			rc = ck->err;
			break;
		}
		bool settled = ck->seg_unrepaired == 0;

		/* The header as it is now (the scanner may have rebuilt it). */
		uint64_t stream_pos = hint.stream_pos;
		int hrc2 = lfs_idx_header_read(tc->tfd, s->base, &h);
		if (hrc2 < 0 && hrc2 != -ENOENT && hrc2 != -EUCLEAN) {
			rc = hrc2;
			break;
		}
		if (hrc2 == 0 && h.base_offset == s->base) {
			stream_pos = h.stream_pos;
			if (have_prev && prev_end_known && h.stream_pos != hint.stream_pos) {
				bool fix = ck->repair;
				uint64_t was = h.stream_pos;
				if (fix) {
					h.stream_pos = hint.stream_pos;
					rc = lfs_idx_header_write(tc->tfd, s->base, &h);
					if (rc < 0)
						break;
					stream_pos = hint.stream_pos;
				}
				lfs_ck_problem(ck, LFS_PROB_CONTIGUITY, tc->name, s->base, s->base, s->base, 0,
					fix,
					"segment starts at stream position %llu, the previous one ends at "
					"%llu%s",
					(unsigned long long)was, (unsigned long long)hint.stream_pos,
					fix ? ": header rewritten" : "");
				if (!fix)
					settled = false;
			}
		}
		ck->res->segments++;
		count_offsets(ck->res, have_prev ? tc->next : s->base, &r);
		ck->res->bytes += r.valid_bytes;
		if (ck->o->segment)
			ck->o->segment(ck->o->ctx, tc->name, &r);
		lfs_ck_progress(ck, s->log_size);

		if (!have_prev)
			tc->first = s->base;
		tc->next = r.next_offset;
		uint64_t size = r.valid_bytes;
		if (!settled) {
			/* Left damaged: where it really ends is unknown. */
			struct stat st;
			char name[32];
			lfs_seg_name(s->base, "log", name);
			size = fstatat(tc->tfd, name, &st, 0) == 0 ? (uint64_t)st.st_size : 0;
		}
		prev_end_known = settled;
		/* Known never sealed: it has an index, and no seal in it. */
		lfs_recover_keep(&rec, stream_pos, size, r.next_offset, !r.had_seal && s->has_idx);
		have_prev = true;
	}
	free(rs);
	return rc;
}

/* The topic's cursors, against the log as checked (repaired) above: the
 * check the daemon runs at mount (lfs_cursor_store_check). Repairs lose no
 * valid cursor, so preen makes them too. */
static int check_cursors(struct checker *ck, struct topic_ctx *tc)
{
	bool repaired;
	int rc = lfs_cursor_store_check(tc->tfd, tc->name, tc->first, tc->next,
					ck->mode != LFS_CHECK_NONE, lfs_ck_scan_problem, ck, NULL, NULL,
					&repaired);
	return rc < 0 ? rc : ck->err;
}

int lfs_ck_topic(struct checker *ck, const char *name)
{
	struct topic_ctx tc = {.name = name, .tfd = -1};
	struct dent *ents = NULL;
	size_t nents = 0, cap = 0;
	char sub[300];
	int rc;

	snprintf(sub, sizeof(sub), "%s/%s", LFS_TOPICS_DIR, name);
	tc.tfd = openat(ck->topics_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tc.tfd < 0)
		return -errno;
	rc = lfs_ck_list_dir(tc.tfd, &ents, &nents);
	if (rc < 0)
		goto out;

	/* Segment files, and everything else. */
	for (size_t i = 0; i < nents; i++) {
		struct dent *e = &ents[i];
		uint64_t base;
		bool is_log = lfs_seg_name_parse(e->name, "log", &base) == 0;
		bool is_idx = !is_log && lfs_seg_name_parse(e->name, "idx", &base) == 0;
		if (e->type == DT_REG &&
		    (!strcmp(e->name, LFS_TOPIC_CONF) || !strcmp(e->name, LFS_CURSOR_FILE)))
			continue;
		/* A segment's rewrite a crash interrupted: the scan of the
		 * segment finishes or undoes it. */
		if (e->type == DT_REG && (lfs_seg_name_parse(e->name, "log.new", &base) == 0 ||
					  lfs_seg_name_parse(e->name, "idx.new", &base) == 0))
			continue;
		if (e->type != DT_REG || (!is_log && !is_idx)) {
			char where[320];
			snprintf(where, sizeof(where), "%s/", sub);
			lfs_ck_unknown_entry(ck, tc.tfd, e, name, where, sub);
			continue;
		}
		/* Sorted names: BASE.idx and BASE.log are adjacent. */
		size_t k = tc.nsegs;
		if (k && tc.segs[k - 1].base == base)
			k--;
		if (k == tc.nsegs) {
			if (lfs_array_reserve(&tc.segs, tc.nsegs, &cap, sizeof(*tc.segs), 64) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			tc.segs[tc.nsegs++] = (struct seg){.base = base};
		}
		if (is_log) {
			tc.segs[k].has_log = true;
			tc.segs[k].log_size = e->size;
		} else {
			tc.segs[k].has_idx = true;
		}
	}
	if (tc.nsegs)
		qsort(tc.segs, tc.nsegs, sizeof(*tc.segs), cmp_seg);

	/* The framing, as the segments were written. */
	uint32_t seg_framing = 0;
	for (size_t i = 0; i < tc.nsegs && !seg_framing; i++) {
		struct lfs_idx_header h;
		if (!tc.segs[i].has_idx)
			continue;
		int hrc = lfs_idx_header_read(tc.tfd, tc.segs[i].base, &h);
		if (hrc < 0 && hrc != -EUCLEAN && hrc != -ENOENT) {
			rc = hrc;
			goto out;
		}
		if (hrc == 0 && h.base_offset == tc.segs[i].base)
			seg_framing = h.framing;
	}
	uint32_t conf_framing, topic_mode = 0;
	rc = check_conf(ck, tc.tfd, name, seg_framing, &conf_framing, &topic_mode);
	if (rc < 0)
		goto out;
	rc = check_modes(ck, tc.tfd, name, ents, nents, topic_mode);
	if (rc < 0)
		goto out;
	tc.framing = seg_framing ? seg_framing : conf_framing ? conf_framing : ck->sb.defaults.framing;

	bool quick = ck->res->was_clean && !ck->full;
	if (quick) {
		rc = quick_topic(ck, &tc);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			rc = check_cursors(ck, &tc);
			goto out;
		}
		ck->res->skipped_clean = false; /* checked in full below */
	}
	rc = full_topic(ck, &tc);
	if (rc == 0 && !lfs_ck_cancelled(ck))
		rc = check_cursors(ck, &tc);
out:
	free(tc.segs);
	lfs_ck_free_dents(ents, nents);
	if (tc.tfd >= 0)
		close(tc.tfd);
	return rc;
}
