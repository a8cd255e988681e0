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
			lfs_ck_problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
				"superblock default %s out of range%s",
				lfs_setting_name((enum lfs_setting_id)bads[i]),
				repaired ? ": reset to the built-in default" : "");
		if (!primary_ok)
			lfs_ck_problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
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
		lfs_ck_problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
			"primary superblock damaged%s", repaired ? ": restored from the backup copy"
							    : "; the backup copy is good");
		return 0;
	}
	/* The primary is good: check the backup as well. */
	unsigned char buf[2 * LFS_SB_BACKUP];
	size_t len;
	rc = lfs_read_file(ck->dirfd, LFS_SB_FILE, buf, sizeof(buf), &len);
	if (rc < 0)
		return rc;
	if (lfs_sb_file_backup_same(buf, len))
		return 0;
	bool repaired = false;
	if (ck->repair) {
		unsigned char out[LFS_SB_FILE_SIZE];
		lfs_sb_file_encode(buf, out); /* the verified primary, byte for byte */
		rc = lfs_write_file_atomic(ck->dirfd, LFS_SB_FILE, out, sizeof(out));
		if (rc < 0)
			return rc;
		repaired = true;
	}
	lfs_ck_problem(ck, LFS_PROB_SUPERBLOCK, NULL, UINT64_MAX, 0, 0, 0, repaired,
		"backup superblock damaged or different from the primary%s",
		repaired ? ": rewritten from the primary" : "");
	return 0;
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
		if (lfs_ck_list_dir(tfd, &e, &ne) == 0) {
			uint64_t base;
			for (size_t k = 0; k < ne; k++)
				if (e[k].type == DT_REG && lfs_seg_name_parse(e[k].name, "log", &base) == 0)
					ck->total_bytes += e[k].size;
			lfs_ck_free_dents(e, ne);
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
	int rc = lfs_ck_list_dir(ck->dirfd, &top, &ntop);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ntop; i++) {
		if (top_level_known(&top[i])) {
			have_topics |= !strcmp(top[i].name, LFS_TOPICS_DIR);
			continue;
		}
		lfs_ck_unknown_entry(ck, ck->dirfd, &top[i], NULL, "", "");
	}
	if (!have_topics) {
		bool fix = ck->repair;
		if (fix && mkdirat(ck->dirfd, LFS_TOPICS_DIR, LFS_DIR_MODE) < 0) {
			rc = -errno;
			goto out;
		}
		if (fix && (rc = lfs_fsync_dir(ck->dirfd)) < 0)
			goto out;
		lfs_ck_problem(ck, LFS_PROB_MISSING_DATA, NULL, UINT64_MAX, 0, 0, 0, fix,
			"directory '%s' missing%s", LFS_TOPICS_DIR, fix ? ": created empty" : "");
		if (!fix)
			goto out;
	}
	ck->topics_fd = openat(ck->dirfd, LFS_TOPICS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ck->topics_fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = lfs_ck_list_dir(ck->topics_fd, &topics, &ntopics);
	if (rc < 0)
		goto out;
	if (ck->o->progress)
		count_bytes(ck, topics, ntopics);
	for (size_t i = 0; i < ntopics; i++) {
		if (lfs_ck_cancelled(ck))
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
			lfs_ck_problem(ck, LFS_PROB_UNKNOWN_FILE, trash + strlen(LFS_TRASH_PREFIX), UINT64_MAX,
				0, 0, 0, ck->repair && r == 0,
				"deletion of the topic cut short by a crash: %s", what);
			continue;
		}
		if (topics[i].type != DT_DIR || lfs_topic_name_check(topics[i].name) < 0) {
			lfs_ck_unknown_entry(ck, ck->topics_fd, &topics[i], NULL, LFS_TOPICS_DIR "/",
				      LFS_TOPICS_DIR);
			continue;
		}
		ck->res->topics++;
		rc = lfs_ck_topic(ck, topics[i].name);
		if (rc < 0 && rc != -ENOMEM && rc != -EMFILE && rc != -ENFILE && rc != -EINTR &&
		    !ck->err) {
			/* One topic that cannot be checked (a file that cannot
			 * be read, or is not a file) is reported and the rest
			 * checked, as the mount leaves it out and mounts the
			 * rest. */
			const char *why = lfs_refusal(rc);
			lfs_ck_problem(ck, LFS_PROB_UNCHECKED, topics[i].name, UINT64_MAX, 0, 0, 0, false,
				"cannot check the topic (%s%s): left as it is", why ? "a file of it " : "",
				why ? why : strerror(-rc));
			rc = 0;
		}
		if (rc < 0)
			goto out;
	}
out:
	lfs_ck_free_dents(top, ntop);
	lfs_ck_free_dents(topics, ntopics);
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
		lfs_ck_problem(&ck, LFS_PROB_STATE, NULL, UINT64_MAX, 0, 0, 0, ck.repair,
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
		lfs_ck_problem(&ck, LFS_PROB_RECORDED, NULL, UINT64_MAX, 0, 0, 0, clear,
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
