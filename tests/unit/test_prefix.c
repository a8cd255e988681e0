/*
 * A crash keeps a prefix of the log. Seals are written after a roll, off
 * the append path, so a crash can leave several rolled segments unsealed,
 * and a power cut can lose records in an earlier one while a later one
 * survives. Recovery (the mount's and fsck's) must then cut the log at the
 * loss and move what follows to lost+found: no gap in the offsets. A sealed
 * segment damaged later (bit rot) is not a crash's loss and keeps what
 * follows it.
 */
#include "testutil.h"

#include <dirent.h>

#define TOPIC "app"
#define NREC 3000
#define RECLEN 8 /* "r%06d\n" */

struct fix {
	char *vol;
	char *dir;
	uint64_t bases[64];
	size_t nbases;
};

static int crash_main_as(const char *vol, enum lfs_framing framing)
{
	lfs_volume *v;
	lfs_topic *t;
	struct lfs_topic_meta m = {.mode = 0755};
	char rec[16];

	if (tu_volume_open(vol, NULL, &v, NULL) < 0)
		return 1;
	if (lfs_topic_create(v, TOPIC, &m, &t) < 0)
		return 2;
	if (lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, "4096") < 0)
		return 3;
	if (framing == LFS_FRAMING_WRITE && lfs_topic_set(t, LFS_SET_FRAMING, "write") < 0)
		return 3;
	for (int i = 0; i < NREC; i++) {
		snprintf(rec, sizeof(rec), "r%06d\n", i);
		struct iovec iov = {rec, RECLEN};
		if (lfs_topic_append(t, framing, &iov, 1, NULL) < 0)
			return 4;
	}
	return 0; /* _exit: nothing closed, state dirty */
}

static int crash_main(void *arg)
{
	return crash_main_as(arg, LFS_FRAMING_LINE);
}

static int crash_main_write(void *arg)
{
	return crash_main_as(arg, LFS_FRAMING_WRITE);
}

/* Appends ten more records to an existing topic and crashes. */
static int crash_main_more(void *arg)
{
	const char *vol = arg;
	lfs_volume *v;
	lfs_topic *t;
	if (tu_volume_open(vol, NULL, &v, NULL) < 0)
		return 1;
	if (lfs_topic_get(v, TOPIC, &t) < 0)
		return 2;
	for (int i = 0; i < 10; i++) {
		struct iovec iov = {"more...\n", RECLEN};
		if (lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL) < 0)
			return 4;
	}
	return 0;
}

static void list_segments(struct fix *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	uint64_t b;
	assert_non_null(d);
	f->nbases = 0;
	while ((de = readdir(d)))
		if (lfs_seg_name_parse(de->d_name, "idx", &b) == 0) {
			assert_true(f->nbases < 64);
			f->bases[f->nbases++] = b;
		}
	closedir(d);
	for (size_t i = 1; i < f->nbases; i++)
		for (size_t j = i; j > 0 && f->bases[j - 1] > f->bases[j]; j--) {
			uint64_t x = f->bases[j];
			f->bases[j] = f->bases[j - 1];
			f->bases[j - 1] = x;
		}
}

/* Takes the seal off a segment's index, if the background sealer wrote one
 * before the crash: the state a crash before the seal leaves. */
static void unseal(const char *idx)
{
	struct lfs_idx_header h;
	struct lfs_idx_entry *ents;
	size_t n;
	bool sealed;
	assert_true(tu_idx_load(idx, &h, &ents, &n, &sealed));
	free(ents);
	if (sealed)
		assert_int_equal(truncate(idx, LFS_IDX_HEADER_SIZE + (off_t)n * LFS_IDX_ENTRY_SIZE),
				 0);
}

/* A crashed volume with at least five segments, none of them sealed. */
static struct fix *crashed_as(void **state, enum lfs_framing framing)
{
	struct fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	*state = f;
	f->vol = tu_mkvol(0);
	f->dir = tu_fmt("%s/topics/%s", f->vol, TOPIC);
	tu_crash_child(framing == LFS_FRAMING_WRITE ? crash_main_write : crash_main, f->vol);
	list_segments(f);
	assert_true(f->nbases >= 5);
	for (size_t i = 0; i < f->nbases; i++) {
		char *idx = tu_seg_path(f->vol, TOPIC, f->bases[i], "idx");
		unseal(idx);
		free(idx);
	}
	return f;
}

static struct fix *crashed(void **state)
{
	return crashed_as(state, LFS_FRAMING_LINE);
}

static int teardown(void **state)
{
	struct fix *f = *state;
	if (f) {
		tu_rmvol(f->vol);
		free(f->dir);
		free(f);
	}
	return 0;
}

/* The records [0, n) as the log holds them. */
static char *records(uint64_t n)
{
	char *p = malloc(n * RECLEN + 1);
	assert_non_null(p);
	for (uint64_t i = 0; i < n; i++)
		snprintf(p + i * RECLEN, RECLEN + 1, "r%06u\n", (unsigned)(i % 1000000));
	return p;
}

/* Loses the data of segment k from its byte `keep` on, mid-record. */
static uint64_t lose_tail_of(struct fix *f, size_t k, long long keep)
{
	char *log = tu_seg_path(f->vol, TOPIC, f->bases[k], "log");
	assert_int_equal(truncate(log, keep), 0);
	free(log);
	return f->bases[k] + (uint64_t)keep / RECLEN;
}

static bool seg_exists(const char *vol, const char *where, uint64_t base, const char *ext)
{
	char name[32];
	lfs_seg_name(base, ext, name);
	char *p = tu_fmt("%s/%s/%s", vol, where, name);
	bool e = tu_exists(p);
	free(p);
	return e;
}

/* The topic serves exactly records [0, n). */
static void expect_records(lfs_topic *t, uint64_t n)
{
	char *want = records(n);
	tu_expect_contents(t, want, n * RECLEN);
	free(want);
}

/* The volume serves exactly records [0, n), and the next append (framed
 * as `framing`) is n. */
static void expect_serves_as(struct fix *f, uint64_t n, bool append, enum lfs_framing framing)
{
	lfs_volume *v = tu_open(f->vol);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	expect_records(t, n);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == n);
	if (append) {
		struct lfs_append_result res;
		struct iovec iov = {"after\n", 6};
		assert_int_equal(lfs_topic_append(t, framing, &iov, 1, &res), 0);
		assert_true(res.first_offset == n);
	}
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

static void expect_serves(struct fix *f, uint64_t n, bool append)
{
	expect_serves_as(f, n, append, LFS_FRAMING_LINE);
}

/* Each segment dropped after a loss is reported with the first lost
 * offset: one cut per distinct offset. */
struct drops {
	int n;
	uint64_t from;
};
static void count_drops(void *ctx, const struct lfs_problem *p)
{
	struct drops *d = ctx;
	if (p->kind == LFS_PROB_CONTIGUITY && strstr(p->message, "follows records lost") &&
	    (d->n == 0 || p->first_offset != d->from)) {
		d->n++;
		d->from = p->first_offset;
	}
}

/* Runs a check and returns how many times it reported cutting the log at
 * a loss (segments after it dropped). */
static int drops_reported(const char *vol, enum lfs_check_mode mode)
{
	struct drops d = {0, 0};
	struct lfs_check_opts co = {.mode = mode, .force = true, .problem = count_drops, .ctx = &d};
	struct lfs_check_result cr;
	assert_int_equal(lfs_check_volume(vol, &co, &cr), 0);
	return d.n;
}

static void check_finds(const char *vol, enum lfs_check_mode mode, unsigned problems,
			 unsigned unrepaired)
{
	struct lfs_check_opts co = {.mode = mode, .force = true};
	struct lfs_check_result cr;
	assert_int_equal(lfs_check_volume(vol, &co, &cr), 0);
	if (problems)
		assert_true(cr.problems >= problems);
	else
		assert_int_equal(cr.problems, 0);
	if (unrepaired)
		assert_true(cr.unrepaired >= unrepaired);
	else
		assert_int_equal(cr.unrepaired, 0);
}

/* The mount: records lost in the second segment; everything after it goes
 * to lost+found, the log ends at the loss and goes on from there. */
static void test_mount_cuts_at_loss_in_rolled_segment(void **state)
{
	struct fix *f = crashed(state);
	uint64_t lost = lose_tail_of(f, 1, 1001);
	lfs_volume *v;
	struct lfs_open_report rep;

	/* Read-only: served up to the loss, nothing moved. */
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(tu_volume_open(f->vol, &ro, &v, &rep), 0);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	expect_records(t, lost);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	for (size_t k = 2; k < f->nbases; k++)
		assert_true(seg_exists(f->vol, "topics/" TOPIC, f->bases[k], "log"));

	/* Read-write: the later segments move to lost+found. */
	expect_serves(f, lost, true);
	for (size_t k = 2; k < f->nbases; k++) {
		assert_false(seg_exists(f->vol, "topics/" TOPIC, f->bases[k], "idx"));
		assert_true(seg_exists(f->vol, "lost+found/topics/" TOPIC, f->bases[k], "log"));
		assert_true(seg_exists(f->vol, "lost+found/topics/" TOPIC, f->bases[k], "idx"));
	}
	check_finds(f->vol, LFS_CHECK_NONE, 0, 0);
}

/* A rolled segment whose data never reached the disk at all (its file
 * created durably, empty): the segments after it go, too. */
static void test_mount_cuts_at_segment_without_data(void **state)
{
	struct fix *f = crashed(state);
	uint64_t lost = lose_tail_of(f, 2, 0);
	assert_true(lost == f->bases[2]);
	expect_serves(f, lost, true);
	for (size_t k = 3; k < f->nbases; k++)
		assert_true(seg_exists(f->vol, "lost+found/topics/" TOPIC, f->bases[k], "log"));
	check_finds(f->vol, LFS_CHECK_NONE, 0, 0);
}

/* A volume whose rolled segments are all sealed (a clean open and close
 * after the crash), with one payload byte of segment k changed (bit rot). */
static struct fix *sealed_with_rot(void **state, bool last_sealed, size_t *k_out)
{
	struct fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	*state = f;
	f->vol = tu_mkvol(0);
	f->dir = tu_fmt("%s/topics/%s", f->vol, TOPIC);
	tu_crash_child(crash_main, f->vol);
	lfs_volume *v = tu_open(f->vol);
	assert_int_equal(lfs_volume_close(v), 0);
	list_segments(f);
	assert_true(f->nbases >= 5);
	size_t k = last_sealed ? f->nbases - 2 : 1;
	char *log = tu_seg_path(f->vol, TOPIC, f->bases[k], "log");
	int fd = open(log, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 100), 1);
	close(fd);
	free(log);
	*k_out = k;
	return f;
}

/* Bit rot in a sealed segment, repaired by fsck, leaves a gap before the
 * next segment; a crash of a later mount (the next segment unsealed and
 * scanned) must not take that gap for a crash's loss. */
static void test_mount_keeps_gap_left_by_repaired_rot(void **state)
{
	size_t k; /* the last sealed segment */
	struct fix *f = sealed_with_rot(state, true, &k);
	lfs_volume *v;
	struct lfs_check_opts co = {.mode = LFS_CHECK_REPAIR, .force = true};
	struct lfs_check_result cr;
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_true(cr.repaired >= 1);
	/* A crash after more appends: the state is dirty, the last segment
	 * unsealed and scanned at the next open. */
	tu_crash_child(crash_main_more, f->vol);
	v = tu_open(f->vol);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == NREC + 10);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_true(seg_exists(f->vol, "topics/" TOPIC, f->bases[k + 1], "log"));
}

/* fsck: -n reports and changes nothing, -p leaves it (records would go),
 * -y cuts like the mount; then the volume is clean and serves the prefix. */
static void test_fsck_cuts_at_loss_in_rolled_segment(void **state)
{
	struct fix *f = crashed(state);
	uint64_t lost = lose_tail_of(f, 2, 2049);

	check_finds(f->vol, LFS_CHECK_NONE, 2, 2);
	assert_int_equal(drops_reported(f->vol, LFS_CHECK_NONE), 1);
	check_finds(f->vol, LFS_CHECK_PREEN, 1, 1);
	assert_int_equal(drops_reported(f->vol, LFS_CHECK_PREEN), 1);
	for (size_t k = 3; k < f->nbases; k++)
		assert_true(seg_exists(f->vol, "topics/" TOPIC, f->bases[k], "log"));
	struct lfs_check_opts co = {.mode = LFS_CHECK_REPAIR, .force = true};
	struct lfs_check_result cr;
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_true(cr.repaired >= 2);
	assert_int_equal(cr.unrepaired, 0);
	assert_true(cr.records == lost);
	for (size_t k = 3; k < f->nbases; k++)
		assert_true(seg_exists(f->vol, "lost+found/topics/" TOPIC, f->bases[k], "log"));
	check_finds(f->vol, LFS_CHECK_NONE, 0, 0);
	expect_serves(f, lost, true);
}

/* A sealed segment that rots is cut by fsck -y, but the segments after it
 * stay: their records were durable, and the loss is not a crash's. */
static void test_fsck_keeps_segments_after_rot_in_sealed_one(void **state)
{
	size_t k;
	struct fix *f = sealed_with_rot(state, false, &k);
	assert_int_equal(k, 1);

	struct lfs_check_opts co = {.mode = LFS_CHECK_REPAIR, .force = true};
	struct lfs_check_result cr;
	assert_int_equal(drops_reported(f->vol, LFS_CHECK_NONE), 0);
	assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
	assert_true(cr.repaired >= 1);
	for (size_t k = 2; k < f->nbases; k++) {
		assert_true(seg_exists(f->vol, "topics/" TOPIC, f->bases[k], "log"));
		assert_false(seg_exists(f->vol, "lost+found/topics/" TOPIC, f->bases[k], "log"));
	}
	/* Only the rotten batch is lost, recorded as a lost range: every
	 * offset stays taken (NREC), its records counted as lost offsets, not
	 * records, and its bytes are in lost+found. */
	assert_true(cr.lost_offsets > 0);
	assert_true(cr.records + cr.lost_offsets == NREC);
	char *lost = tu_fmt("%s/lost+found/topics/%s/%020llu.lost", f->vol, TOPIC,
			    (unsigned long long)(f->bases[1] + 100 / RECLEN));
	struct stat st;
	assert_int_equal(stat(lost, &st), 0);
	assert_true((uint64_t)st.st_size == cr.lost_offsets * RECLEN);
	free(lost);
}

/* A roll flushes nothing (commit.c): a power cut before the next sync
 * point may leave the new segment's index without its header (an empty
 * file, or zeros where the header goes) while some of its data reached the
 * disk. Nothing in it was durable. Its records cannot be framed as they
 * were written, so they are cut like a torn end: the data file goes whole
 * to lost+found, the segments after it too, and the next append takes its
 * base. The index is left `len` bytes long, all zeros. */
static void header_never_written(struct fix *f, size_t k, long long len)
{
	char *idx = tu_seg_path(f->vol, TOPIC, f->bases[k], "idx");
	assert_int_equal(truncate(idx, 0), 0);
	assert_int_equal(truncate(idx, len), 0);
	free(idx);
}

static void expect_dropped_from(struct fix *f, size_t k, long long data_len)
{
	char name[32];
	lfs_seg_name(f->bases[k], "log", name);
	char *p = tu_fmt("%s/lost+found/topics/%s/%s", f->vol, TOPIC, name);
	assert_int_equal(tu_file_size(p), data_len);
	free(p);
	for (size_t j = k + 1; j < f->nbases; j++)
		assert_true(seg_exists(f->vol, "lost+found/topics/" TOPIC, f->bases[j], "log"));
}

static void unsynced_roll(void **state, enum lfs_framing framing, bool fsck, size_t k,
			  long long idx_len)
{
	struct fix *f = crashed_as(state, framing);
	if (k >= f->nbases)
		k = f->nbases - 1;
	char *log = tu_seg_path(f->vol, TOPIC, f->bases[k], "log");
	long long data_len = tu_file_size(log);
	free(log);
	assert_true(data_len > 0);
	header_never_written(f, k, idx_len);
	if (fsck) {
		/* -n reports it and changes nothing; -p leaves a rolled
		 * segment (records would go) and repairs the active one as
		 * the mount does. */
		check_finds(f->vol, LFS_CHECK_NONE, 1, 1);
		check_finds(f->vol, LFS_CHECK_PREEN, 1, k + 1 == f->nbases ? 0 : 1);
		struct lfs_check_opts co = {.mode = LFS_CHECK_REPAIR, .force = true};
		struct lfs_check_result cr;
		assert_int_equal(lfs_check_volume(f->vol, &co, &cr), 0);
		assert_int_equal(cr.unrepaired, 0);
		assert_true(cr.records == f->bases[k]);
	}
	expect_serves_as(f, f->bases[k], true, framing);
	expect_dropped_from(f, k, data_len);
	check_finds(f->vol, LFS_CHECK_NONE, 0, 0);
}

static void test_unsynced_roll_last_write(void **state)
{
	unsynced_roll(state, LFS_FRAMING_WRITE, false, SIZE_MAX, 0);
}

static void test_unsynced_roll_last_line(void **state)
{
	unsynced_roll(state, LFS_FRAMING_LINE, false, SIZE_MAX, 40);
}

static void test_unsynced_roll_middle_write(void **state)
{
	unsynced_roll(state, LFS_FRAMING_WRITE, false, 2, 4096);
}

static void test_unsynced_roll_middle_line_fsck(void **state)
{
	unsynced_roll(state, LFS_FRAMING_LINE, true, 2, 0);
}

static void test_unsynced_roll_last_write_fsck(void **state)
{
	unsynced_roll(state, LFS_FRAMING_WRITE, true, SIZE_MAX, 64);
}

/* The new segment's directory entries never reached the disk: the log
 * ends where the previous segment ends, and goes on from there. */
static void test_unsynced_roll_entries_lost(void **state)
{
	struct fix *f = crashed(state);
	size_t k = f->nbases - 1;
	char *p = tu_seg_path(f->vol, TOPIC, f->bases[k], "log");
	assert_int_equal(unlink(p), 0);
	free(p);
	p = tu_seg_path(f->vol, TOPIC, f->bases[k], "idx");
	assert_int_equal(unlink(p), 0);
	free(p);
	expect_serves(f, f->bases[k], true);
	check_finds(f->vol, LFS_CHECK_NONE, 0, 0);
}

/* A header damaged since it was written (not all zeros) is not a power
 * cut's: a line-framed index is still rebuilt from the data, nothing goes
 * to lost+found. */
static void test_damaged_header_still_rebuilt(void **state)
{
	struct fix *f = crashed(state);
	size_t k = f->nbases - 1;
	char *idx = tu_seg_path(f->vol, TOPIC, f->bases[k], "idx");
	int fd = open(idx, O_RDWR);
	assert_true(fd >= 0);
	char junk[LFS_IDX_HEADER_SIZE + LFS_IDX_ENTRY_SIZE];
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(fd);
	free(idx);
	lfs_volume *v = tu_open(f->vol);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, TOPIC, &t), 0);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == NREC);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_false(seg_exists(f->vol, "lost+found/topics/" TOPIC, f->bases[k], "log"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mount_cuts_at_loss_in_rolled_segment),
		T(test_mount_cuts_at_segment_without_data),
		T(test_mount_keeps_gap_left_by_repaired_rot),
		T(test_fsck_cuts_at_loss_in_rolled_segment),
		T(test_fsck_keeps_segments_after_rot_in_sealed_one),
		T(test_unsynced_roll_last_write),
		T(test_unsynced_roll_last_line),
		T(test_unsynced_roll_middle_write),
		T(test_unsynced_roll_middle_line_fsck),
		T(test_unsynced_roll_last_write_fsck),
		T(test_unsynced_roll_entries_lost),
		T(test_damaged_header_still_rebuilt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
