/*
 * The volume checker behind fsck.logfs. Segment contents are judged by the
 * recovery scanner (lfs_scan_segment, scan.c), the same code the daemon runs
 * at mount; this file adds what only a whole-volume view can see:
 *
 *  - the superblock (a damaged primary is restored from the backup copy, a
 *    damaged backup rewritten from the primary) and the clean/dirty state;
 *  - the names in the volume: top-level entries other than superblock,
 *    state, topics, lost+found and fsck.log, entries of topics/ that are not
 *    topic directories, and files in a topic other than topic.conf, the
 *    cursor store and segment files are moved to VOLUME/lost+found/
 *    (mirroring where they were), never deleted;
 *  - the cursor store of each topic, by the check the daemon runs at mount
 *    (lfs_cursor_store_check), against the log as checked here;
 *  - topic.conf: a damaged one is rewritten keeping every line that still
 *    parses (owner and mode default to the directory's);
 *  - the segments of a topic in order: a segment whose index header names
 *    another base offset than its file name, or whose offsets overlap the
 *    previous segment's, is moved to lost+found; every segment but the last
 *    must be sealed; each segment's stream position must continue where the
 *    previous one ends (a cut in a sealed segment would otherwise leave a
 *    hole in the topic's byte stream), which repair fixes by rewriting the
 *    following header.
 *
 * Modes. NONE opens nothing for writing. REPAIR repairs everything the
 * scanner can. PREEN repairs only what loses no sealed (acknowledged) data:
 * it scans a damaged segment read-only first and repairs it only if no
 * records would be cut, or if it is the active segment (whose torn tail the
 * daemon's own recovery would cut at mount anyway).
 *
 * A volume whose state says clean and that records no runtime errors
 * (errors.c) is, without `force`, checked quickly:
 * superblock, names, topic.conf, and per segment the header, the seal and
 * the file lengths the seal vouches for (no payload read). A topic failing
 * that is checked in full.
 *
 * Every repair is appended to VOLUME/fsck.log. Cancellation is honoured
 * between segments; each segment's repair is complete before the checker
 * stops, so an interrupted run leaves a consistent volume (still marked
 * dirty unless it was clean).
 */
#include "internal.h"

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

#define LOST_FOUND LFS_LOST_FOUND
#define FSCK_LOG "fsck.log"
/* Where the superblock file keeps its backup copy: LFS_SB_BACKUP in
 * volume.c, which does not export it. */
#define SB_BACKUP_OFF 512
#define CONF_MAX 4096

struct dent {
	char *name;
	unsigned char type; /* DT_* (resolved, never DT_UNKNOWN unless stat failed) */
	uint32_t mode;      /* permission bits */
	uint64_t size;
};

struct seg {
	uint64_t base;
	bool has_log, has_idx;
	uint64_t log_size;
};

struct checker {
	const char *path;
	const struct lfs_check_opts *o;
	struct lfs_check_result *res;
	enum lfs_check_mode mode;
	bool repair;
	int dirfd, topics_fd, logfd;
	struct lfs_sb_info sb;
	uint64_t total_bytes, done_bytes;
	/* PREEN: problems of a trial scan are held until it is known whether
	 * the segment will be repaired. */
	bool holding;
	struct lfs_problem *held;
	size_t nheld, capheld;
	unsigned seg_unrepaired; /* unrepaired problems of the current segment */
	bool summary_dropped;
	bool full;               /* every record: force, or recorded errors */
	int err;                 /* first error seen inside a callback */
};

static bool cancelled(struct checker *ck)
{
	if (ck->o->cancel && *ck->o->cancel) {
		ck->res->cancelled = true;
		return true;
	}
	return false;
}

/* ---- problems ---- */

static void log_repair(struct checker *ck, const struct lfs_problem *p)
{
	char line[600], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (ck->err)
		return;
	if (ck->logfd < 0) {
		ck->logfd = lfs_open_file(ck->dirfd, FSCK_LOG, O_WRONLY | O_APPEND | O_CREAT);
		if (ck->logfd < 0) {
			ck->err = ck->logfd;
			return;
		}
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (p->topic && p->segment != UINT64_MAX)
		n = snprintf(line, sizeof(line), "%s topic %s segment %020llu: %s\n", ts, p->topic,
			     (unsigned long long)p->segment, p->message);
	else if (p->topic)
		n = snprintf(line, sizeof(line), "%s topic %s: %s\n", ts, p->topic, p->message);
	else
		n = snprintf(line, sizeof(line), "%s volume: %s\n", ts, p->message);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	int rc = lfs_pwrite_full(ck->logfd, line, (size_t)n, 0); /* O_APPEND: offset ignored */
	if (rc < 0)
		ck->err = rc;
}

static void emit(struct checker *ck, const struct lfs_problem *p)
{
	if (ck->holding) {
		if (ck->nheld == ck->capheld) {
			size_t cap = ck->capheld ? ck->capheld * 2 : 16;
			struct lfs_problem *v = realloc(ck->held, cap * sizeof(*v));
			if (!v) {
				ck->err = -ENOMEM;
				return;
			}
			ck->held = v;
			ck->capheld = cap;
		}
		ck->held[ck->nheld++] = *p;
		return;
	}
	ck->res->problems++;
	if (p->repaired) {
		ck->res->repaired++;
		log_repair(ck, p);
		/* The segment summary of the last clean close may describe
		 * what was just changed: it goes (the next mount reads every
		 * segment once). Should fsck die between the change and this,
		 * the mount still never serves a changed segment: its files
		 * no longer agree with the summary when first read (EIO). */
		if (!ck->summary_dropped) {
			int r = lfs_summary_drop(ck->dirfd);
			if (r < 0 && !ck->err)
				ck->err = r;
			ck->summary_dropped = true;
		}
	} else {
		ck->res->unrepaired++;
		ck->seg_unrepaired++;
	}
	if (ck->o->problem)
		ck->o->problem(ck->o->ctx, p);
}

static void scan_problem(void *ctx, const struct lfs_problem *p)
{
	emit(ctx, p);
}

static void problem(struct checker *ck, enum lfs_problem_kind kind, const char *topic,
		    uint64_t segment, uint64_t first, uint64_t last, uint64_t bytes, bool repaired,
		    const char *fmt, ...) __attribute__((format(printf, 9, 10)));

static void problem(struct checker *ck, enum lfs_problem_kind kind, const char *topic,
		    uint64_t segment, uint64_t first, uint64_t last, uint64_t bytes, bool repaired,
		    const char *fmt, ...)
{
	struct lfs_problem p = {.kind = kind,
				.topic = topic,
				.segment = segment,
				.first_offset = first,
				.last_offset = last,
				.bytes = bytes,
				.repaired = repaired};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p.message, sizeof(p.message), fmt, ap);
	va_end(ap);
	emit(ck, &p);
}

/* ---- directory listings ---- */

static int cmp_dent(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static void free_dents(struct dent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Lists a directory (without . and ..), sorted by name, with types and
 * sizes from lstat: symlinks are never followed. */
static int list_dir(int dirfd, struct dent **out, size_t *count)
{
	struct dent *v = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int rc = lfs_dir_open(dirfd, &d);

	if (rc < 0)
		return rc;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				rc = -errno;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct dent *nv = realloc(v, c * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = c;
		}
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			rc = -errno;
			break;
		}
		v[n].name = strdup(de->d_name);
		if (!v[n].name) {
			rc = -ENOMEM;
			break;
		}
		v[n].type = S_ISDIR(st.st_mode)	  ? DT_DIR
			    : S_ISREG(st.st_mode) ? DT_REG
			    : S_ISLNK(st.st_mode) ? DT_LNK
						  : DT_UNKNOWN;
		v[n].size = (uint64_t)st.st_size;
		v[n].mode = st.st_mode & 07777;
		n++;
	}
	closedir(d);
	if (rc < 0) {
		free_dents(v, n);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_dent);
	*out = v;
	*count = n;
	return 0;
}

/* ---- lost+found ---- */

/* Moves fromfd/name to lost+found/<sub>/name (or name.N if taken). */
static int move_lost(struct checker *ck, int fromfd, const char *name, const char *sub)
{
	return lfs_lost_found_move(ck->dirfd, fromfd, name, sub);
}

static const char *type_name(unsigned char t)
{
	return t == DT_DIR ? "directory" : t == DT_LNK ? "symbolic link" : t == DT_REG ? "file" : "special file";
}

/* Reports an unknown entry and, when repairing, moves it to lost+found.
 * A failed move is not fatal (the daemon ignores such entries): the problem
 * stays unrepaired. */
static void unknown_entry(struct checker *ck, int dirfd, const struct dent *e, const char *topic,
			  const char *where, const char *sub)
{
	char done[400] = "";
	int rc = 0;
	if (ck->repair) {
		rc = move_lost(ck, dirfd, e->name, sub);
		if (rc == 0)
			snprintf(done, sizeof(done), ": moved to %s%s%s", LOST_FOUND, *sub ? "/" : "",
				 sub);
		else
			snprintf(done, sizeof(done), ": cannot move it to %s: %s", LOST_FOUND,
				 strerror(-rc));
	}
	problem(ck, LFS_PROB_UNKNOWN_FILE, topic, UINT64_MAX, 0, 0, 0, ck->repair && rc == 0,
		"unknown %s '%s%s'%s", type_name(e->type), where, e->name, done);
}

/* ---- superblock and state ---- */

static int check_superblock(struct checker *ck)
{
	bool primary_ok;
	int rc = lfs_superblock_check(ck->dirfd, &ck->sb, &primary_ok);
	if (rc < 0)
		return rc; /* -EUCLEAN: not a volume; -EPROTONOSUPPORT: newer format */
	/* Defaults out of range (a valid checksum does not make them sane;
	 * mount refuses them): each is reset to the built-in default, and
	 * both copies are rewritten. */
	struct lfs_settings builtin, *d = &ck->sb.defaults;
	lfs_settings_default(&builtin);
	int bad, nbad = 0, bads[LFS_SET_COUNT];
	while ((bad = lfs_settings_invalid(d)) >= 0 && nbad < LFS_SET_COUNT) {
		bads[nbad++] = bad;
		switch (bad) {
		case LFS_SET_SEGMENT_SIZE: d->segment_size = builtin.segment_size; break;
		case LFS_SET_MAX_RECORD: d->max_record = builtin.max_record; break;
		case LFS_SET_SYNC:
			d->sync_mode = builtin.sync_mode;
			d->sync_ms = builtin.sync_ms;
			break;
		default: d->framing = builtin.framing; break;
		}
	}
	if (nbad > 0) {
		bool repaired = false;
		if (ck->repair) {
			rc = lfs_superblock_rewrite(ck->dirfd, &ck->sb);
			if (rc < 0)
				return rc;
			repaired = true;
		}
		for (int i = 0; i < nbad; i++)
			problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
				"superblock default %s out of range%s",
				lfs_setting_name((enum lfs_setting_id)bads[i]),
				repaired ? ": reset to the built-in default" : "");
		if (!primary_ok)
			problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
				"primary superblock damaged%s",
				repaired ? ": rewritten" : "; the backup copy is good");
		return 0;
	}
	if (!primary_ok) {
		bool repaired = false;
		if (ck->repair) {
			rc = lfs_superblock_repair(ck->dirfd, &repaired);
			if (rc < 0)
				return rc;
		}
		problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
			"primary superblock damaged%s", repaired ? ": restored from the backup copy"
							    : "; the backup copy is good");
		return 0;
	}
	/* The primary is good: check the backup as well. */
	unsigned char buf[2 * SB_BACKUP_OFF];
	size_t len;
	struct lfs_sb_info b;
	rc = lfs_read_file(ck->dirfd, LFS_SB_FILE, buf, sizeof(buf), &len);
	if (rc < 0)
		return rc;
	if (len >= SB_BACKUP_OFF + LFS_SB_SIZE && lfs_sb_decode(buf + SB_BACKUP_OFF, &b) == 0 &&
	    memcmp(buf, buf + SB_BACKUP_OFF, LFS_SB_SIZE) == 0)
		return 0;
	bool repaired = false;
	if (ck->repair) {
		unsigned char out[SB_BACKUP_OFF + LFS_SB_SIZE];
		memset(out, 0, sizeof(out));
		memcpy(out, buf, LFS_SB_SIZE); /* the verified primary, byte for byte */
		memcpy(out + SB_BACKUP_OFF, buf, LFS_SB_SIZE);
		rc = lfs_write_file_atomic(ck->dirfd, LFS_SB_FILE, out, sizeof(out));
		if (rc < 0)
			return rc;
		repaired = true;
	}
	problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
		"backup superblock damaged or different from the primary%s",
		repaired ? ": rewritten from the primary" : "");
	return 0;
}

/* ---- topic.conf ---- */

/* Parses what is still readable of a damaged topic.conf. */
static void conf_salvage(int tfd, struct lfs_topic_meta *meta, struct lfs_settings *own,
			 uint32_t *mask, unsigned *kept)
{
	char buf[CONF_MAX + 1];
	size_t len;
	unsigned have = 0;

	*kept = 0;
	if (lfs_read_file(tfd, LFS_TOPIC_CONF, buf, CONF_MAX, &len) < 0)
		return;
	buf[len] = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '='), *end;
		if (!eq || eq == line || !eq[1])
			continue;
		*eq = 0;
		const char *val = eq + 1;
		unsigned long v;
		errno = 0;
		if (!strcmp(line, "mode") && !(have & 1)) {
			v = strtoul(val, &end, 8);
			if (*end || errno || v > 07777)
				continue;
			meta->mode = (uint32_t)v;
			have |= 1;
		} else if (!strcmp(line, "uid") && !(have & 2)) {
			v = strtoul(val, &end, 10);
			if (*end || errno || v > UINT32_MAX)
				continue;
			meta->uid = (uint32_t)v;
			have |= 2;
		} else if (!strcmp(line, "gid") && !(have & 4)) {
			v = strtoul(val, &end, 10);
			if (*end || errno || v > UINT32_MAX)
				continue;
			meta->gid = (uint32_t)v;
			have |= 4;
		} else if (!strcmp(line, "mirror") && !(have & 8)) {
			if (lfs_mirror_name_check(val) < 0)
				continue;
			snprintf(meta->mirror, sizeof(meta->mirror), "%s", val);
			have |= 8;
		} else {
			int id = lfs_setting_lookup(line);
			if (id < 0 || (*mask & (1u << id)) || lfs_setting_parse(own, id, val) < 0)
				continue;
			*mask |= 1u << id;
		}
		(*kept)++;
	}
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
		problem(ck, LFS_PROB_TOPIC_CONF, topic, UINT64_MAX, 0, 0, 0, repaired, "%s %s%s",
			LFS_TOPIC_CONF, rc == -ENOENT ? "missing" : "damaged and unreadable",
			repaired ? ": rewritten with defaults" : "");
	else
		problem(ck, LFS_PROB_TOPIC_CONF, topic, UINT64_MAX, 0, 0, 0, repaired,
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
		problem(ck, LFS_PROB_MODE, topic, UINT64_MAX, 0, 0, 0, fixed,
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
		problem(ck, LFS_PROB_MODE, topic, UINT64_MAX, 0, 0, 0, fixed,
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
	r->next_offset = next;
	r->valid_bytes = end;
	r->entries = batches;
	rc = 1;
out:
	close(fd);
	return rc;
}

struct topic_ctx {
	const char *name;
	int tfd;
	struct seg *segs;
	size_t nsegs;
	uint32_t framing; /* for scan hints */
	uint64_t first, next; /* the log's offsets once checked, for its cursors */
};

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
			if (rs[i].entries) /* an emptied segment's seal may keep lost offsets */
				ck->res->records += rs[i].next_offset - rs[i].base_offset;
			ck->res->bytes += rs[i].valid_bytes;
			if (ck->o->segment)
				ck->o->segment(ck->o->ctx, tc->name, &rs[i]);
		}
	}
	free(rs);
	return rc;
}

static void progress(struct checker *ck, uint64_t bytes)
{
	ck->done_bytes += bytes;
	if (ck->o->progress)
		ck->o->progress(ck->o->ctx, ck->done_bytes, ck->total_bytes);
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
		return lfs_scan_segment(tc->tfd, tc->name, s->base, flags, !last, hint, scan_problem,
					ck, r);

	/* Preen: a read-only trial first. */
	ck->holding = true;
	ck->nheld = 0;
	rc = lfs_scan_segment(tc->tfd, tc->name, s->base, flags, !last, hint, scan_problem, ck, r);
	ck->holding = false;
	if (rc < 0 || ck->err)
		return rc < 0 ? rc : ck->err;
	if (!r->damaged)
		return 0;
	/* Safe: no record is lost (trailing bytes, index rebuilds, missing
	 * seals): repair for real. (Only preen gets here: -n never repairs.) */
	if (r->records_cut == 0 && r->records_lost == 0 && ck->repair)
		return lfs_scan_segment(tc->tfd, tc->name, s->base, flags | LFS_SCAN_REPAIR, !last,
					hint, scan_problem, ck, r);
	for (size_t i = 0; i < ck->nheld; i++) {
		struct lfs_problem p = ck->held[i];
		p.repaired = false;
		emit(ck, &p);
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

		if (cancelled(ck))
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
			problem(ck, kind, tc->name, s->base, first, s->base,
				a == LFS_REC_FINISH_DELETION ? 0 : s->log_size, fix, "%s",
				lfs_recover_action_text(a, fix));
			progress(ck, s->log_size);
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
				problem(ck, LFS_PROB_CONTIGUITY, tc->name, s->base, s->base, s->base, 0,
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
		if (r.entries) /* an emptied segment's seal may keep lost offsets */
			ck->res->records += r.next_offset - s->base;
		ck->res->bytes += r.valid_bytes;
		if (ck->o->segment)
			ck->o->segment(ck->o->ctx, tc->name, &r);
		progress(ck, s->log_size);

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
					ck->mode != LFS_CHECK_NONE, scan_problem, ck, NULL, NULL,
					&repaired);
	return rc < 0 ? rc : ck->err;
}

static int check_topic(struct checker *ck, const char *name)
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
	rc = list_dir(tc.tfd, &ents, &nents);
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
			unknown_entry(ck, tc.tfd, e, name, where, sub);
			continue;
		}
		/* Sorted names: BASE.idx and BASE.log are adjacent. */
		size_t k = tc.nsegs;
		if (k && tc.segs[k - 1].base == base)
			k--;
		if (k == tc.nsegs) {
			if (tc.nsegs == cap) {
				cap = cap ? cap * 2 : 64;
				struct seg *nv = realloc(tc.segs, cap * sizeof(*nv));
				if (!nv) {
					rc = -ENOMEM;
					goto out;
				}
				tc.segs = nv;
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
	if (rc == 0 && !cancelled(ck))
		rc = check_cursors(ck, &tc);
out:
	free(tc.segs);
	free_dents(ents, nents);
	if (tc.tfd >= 0)
		close(tc.tfd);
	return rc;
}

/* Sums the data bytes of the volume, for progress reports. */
static void count_bytes(struct checker *ck, const struct dent *topics, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (topics[i].type != DT_DIR || lfs_topic_name_check(topics[i].name) < 0)
			continue;
		int tfd = openat(ck->topics_fd, topics[i].name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (tfd < 0)
			continue;
		struct dent *e;
		size_t ne;
		if (list_dir(tfd, &e, &ne) == 0) {
			uint64_t base;
			for (size_t k = 0; k < ne; k++)
				if (e[k].type == DT_REG && lfs_seg_name_parse(e[k].name, "log", &base) == 0)
					ck->total_bytes += e[k].size;
			free_dents(e, ne);
		}
		close(tfd);
	}
}

static bool top_level_known(const struct dent *e)
{
	/* The volume's own files are never moved, whatever they are: they were
	 * read (or failed to be) above. */
	if (e->type != DT_DIR)
		return !strcmp(e->name, LFS_SB_FILE) || !strcmp(e->name, LFS_STATE_FILE) ||
		       !strcmp(e->name, FSCK_LOG) || !strcmp(e->name, LFS_SUMMARY_FILE) ||
		       !strcmp(e->name, LFS_ERRORS_FILE);
	return !strcmp(e->name, LFS_TOPICS_DIR) || !strcmp(e->name, LOST_FOUND);
}

static int check_names_and_topics(struct checker *ck)
{
	struct dent *top = NULL, *topics = NULL;
	size_t ntop = 0, ntopics = 0;
	bool have_topics = false;
	int rc = list_dir(ck->dirfd, &top, &ntop);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ntop; i++) {
		if (top_level_known(&top[i])) {
			have_topics |= !strcmp(top[i].name, LFS_TOPICS_DIR);
			continue;
		}
		unknown_entry(ck, ck->dirfd, &top[i], NULL, "", "");
	}
	if (!have_topics) {
		bool fix = ck->repair;
		if (fix && mkdirat(ck->dirfd, LFS_TOPICS_DIR, LFS_DIR_MODE) < 0) {
			rc = -errno;
			goto out;
		}
		if (fix && (rc = lfs_fsync_dir(ck->dirfd)) < 0)
			goto out;
		problem(ck, LFS_PROB_MISSING_DATA, NULL, UINT64_MAX, 0, 0, 0, fix,
			"directory '%s' missing%s", LFS_TOPICS_DIR, fix ? ": created empty" : "");
		if (!fix)
			goto out;
	}
	ck->topics_fd = openat(ck->dirfd, LFS_TOPICS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ck->topics_fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = list_dir(ck->topics_fd, &topics, &ntopics);
	if (rc < 0)
		goto out;
	if (ck->o->progress)
		count_bytes(ck, topics, ntopics);
	for (size_t i = 0; i < ntopics; i++) {
		if (cancelled(ck))
			break;
		const char *trash = topics[i].name;
		if (topics[i].type == DT_DIR &&
		    !strncmp(trash, LFS_TRASH_PREFIX, strlen(LFS_TRASH_PREFIX))) {
			/* A topic deletion (rmdir) that a crash cut short: the
			 * user asked for it, so repair finishes it, as the
			 * daemon's mount would. */
			int r = ck->repair ? lfs_remove_tree(ck->topics_fd, trash) : 0;
			if (r == 0 && ck->repair)
				r = lfs_fsync_dir(ck->topics_fd);
			char what[320];
			if (!ck->repair)
				snprintf(what, sizeof(what), "its remains are in %s/%s", LFS_TOPICS_DIR,
					 trash);
			else if (r == 0)
				snprintf(what, sizeof(what), "remains removed");
			else
				snprintf(what, sizeof(what), "cannot remove its remains: %s",
					 strerror(-r));
			problem(ck, LFS_PROB_UNKNOWN_FILE, trash + strlen(LFS_TRASH_PREFIX), UINT64_MAX,
				0, 0, 0, ck->repair && r == 0,
				"deletion of the topic cut short by a crash: %s", what);
			continue;
		}
		if (topics[i].type != DT_DIR || lfs_topic_name_check(topics[i].name) < 0) {
			unknown_entry(ck, ck->topics_fd, &topics[i], NULL, LFS_TOPICS_DIR "/",
				      LFS_TOPICS_DIR);
			continue;
		}
		ck->res->topics++;
		rc = check_topic(ck, topics[i].name);
		if (rc < 0 && rc != -ENOMEM && rc != -EMFILE && rc != -ENFILE && rc != -EINTR &&
		    !ck->err) {
			/* One topic that cannot be checked (a file that cannot
			 * be read, or is not a file) is reported and the rest
			 * checked, as the mount leaves it out and mounts the
			 * rest. */
			const char *why = lfs_refusal(rc);
			problem(ck, LFS_PROB_UNCHECKED, topics[i].name, UINT64_MAX, 0, 0, 0, false,
				"cannot check the topic (%s%s): left as it is", why ? "a file of it " : "",
				why ? why : strerror(-rc));
			rc = 0;
		}
		if (rc < 0)
			goto out;
	}
out:
	free_dents(top, ntop);
	free_dents(topics, ntopics);
	return rc;
}

int lfs_check_volume(const char *path, const struct lfs_check_opts *opts,
		     struct lfs_check_result *res)
{
	static const struct lfs_check_opts none;
	struct checker ck = {.path = path,
			     .o = opts ? opts : &none,
			     .res = res,
			     .dirfd = -1,
			     .topics_fd = -1,
			     .logfd = -1};
	int lockfd = -1, rc;

	memset(res, 0, sizeof(*res));
	ck.mode = ck.o->mode;
	if (ck.mode != LFS_CHECK_NONE && ck.mode != LFS_CHECK_REPAIR && ck.mode != LFS_CHECK_PREEN)
		return -EINVAL;
	ck.repair = ck.mode != LFS_CHECK_NONE;

	ck.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ck.dirfd < 0)
		return errno == ENOTDIR ? -EUCLEAN : -errno;
	if (ck.repair) {
		/* The daemon holds this lock while mounted. */
		rc = lfs_volume_lock_path(path, &lockfd);
		if (rc < 0)
			goto out;
	}
	rc = check_superblock(&ck);
	if (rc < 0)
		goto out;
	if (ck.repair && ck.sb.version < LFS_FORMAT_VERSION) {
		/* A repair may record lost ranges, which an older version would
		 * misread: such a program must refuse the volume. */
		ck.sb.version = LFS_FORMAT_VERSION;
		rc = lfs_superblock_rewrite(ck.dirfd, &ck.sb);
		if (rc < 0)
			goto out;
	}

	int state = lfs_state_read(ck.dirfd);
	if (state < 0) {
		rc = state;
		goto out;
	}
	res->was_clean = state == LFS_STATE_CLEAN;
	struct lfs_errors recorded;
	int nrecorded = lfs_errors_read(ck.dirfd, &recorded);
	ck.full = ck.o->force || nrecorded != 0;
	res->skipped_clean = res->was_clean && !ck.full;
	unsigned state_problem = 0;
	if (state == 0) {
		/* Treated as dirty; repair writes a valid state at the end. */
		problem(&ck, LFS_PROB_STATE, NULL, UINT64_MAX, 0, 0, 0, ck.repair,
			"state file missing or damaged: volume treated as not cleanly unmounted%s",
			ck.repair ? " (state rewritten)" : "");
		state_problem = 1;
	}

	rc = check_names_and_topics(&ck);
	if (rc == 0 && ck.err)
		rc = ck.err;
	if (rc < 0)
		goto out;
	if (res->cancelled) {
		res->skipped_clean = false;
		goto out;
	}
	if (nrecorded != 0) {
		/* Every record was checked and what was found is reported
		 * above: the record has served, unless problems are left. */
		bool clear = ck.repair && res->unrepaired == 0;
		if (clear && (rc = lfs_errors_clear(ck.dirfd)) < 0)
			goto out;
		/* The message holds 256 bytes: the count and the last error
		 * (whose start is all the record keeps). */
		char what[LFS_ERROR_TEXT + 64];
		if (nrecorded == 1)
			snprintf(what, sizeof(what), "%u runtime error%s recorded by the daemon (last: %s)",
				 recorded.count, recorded.count == 1 ? "" : "s", recorded.last);
		else
			snprintf(what, sizeof(what), "runtime error record unreadable (%s)",
				 strerror(-nrecorded));
		problem(&ck, LFS_PROB_RECORDED, NULL, UINT64_MAX, 0, 0, 0, clear,
			"%s%s", what, clear ? ": every record checked, record cleared" : "");
	}
	if (ck.repair) {
		uint32_t want = res->unrepaired == 0 ? LFS_STATE_CLEAN : LFS_STATE_DIRTY;
		if (state_problem || (uint32_t)state != want) {
			rc = lfs_state_write(ck.dirfd, want);
			if (rc < 0)
				goto out;
		}
	}
out:
	if (ck.logfd >= 0) {
		if (fdatasync(ck.logfd) < 0 && rc == 0)
			rc = -errno;
		if (close(ck.logfd) < 0 && rc == 0)
			rc = -errno;
	}
	free(ck.held);
	if (ck.topics_fd >= 0)
		close(ck.topics_fd);
	if (lockfd >= 0)
		close(lockfd);
	close(ck.dirfd);
	return rc;
}
