/*
 * Fuzz target (libFuzzer) for fsck's volume walk (core/check.c
 * lfs_check_volume): a volume directory made from the input
 * (tests/fuzz/fuzz_vol.h, the layout fuzz_volume.c reads too, so the two
 * share their seed corpus, tests/fuzz/corpus-volume) is checked, repaired,
 * checked again and mounted. `make fuzz` builds it with clang
 * -fsanitize=fuzzer,address,undefined; tests/tools/fuzz_replay_fsck.c
 * builds it with the project's compiler and replays the seed corpus and
 * tests/fuzz/regressions-fsck in `make check`.
 *
 * Flags (byte 0) beyond fuzz_vol.h's: 32 preen (-p) instead of -y.
 *
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *  - the walk never fails on bytes alone (only on I/O or memory, or
 *    -EUCLEAN / -EPROTONOSUPPORT for a volume that is none);
 *  - a check without repair changes no file of the volume;
 *  - every problem has a message, and the counts add up;
 *  - after a repair that left nothing unrepaired, a forced check finds no
 *    problem, and the volume mounts (the daemon's own load path) with
 *    every topic fsck counted.
 */
#include "internal.h"

#define FZ_NAME "fuzz_fsck"
#include "fuzz_util.h"
#include "fuzz_vol.h"

#include <dirent.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PREEN 32

struct fz_count {
	unsigned problems, repaired;
};

static void fz_problem(void *ctx, const struct lfs_problem *p)
{
	struct fz_count *c = ctx;
	if (!p->message[0])
		fz_fail("a problem without a message");
	c->problems++;
	if (p->repaired)
		c->repaired++;
}

static void fz_quiet(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static uint64_t fz_clock(void *ctx)
{
	(void)ctx;
	return 1800000000000000000ull;
}

/* A digest of a directory tree: every name, type, size and content, in
 * sorted order (a check without repair must leave it as it was). */
static uint32_t fz_digest(int dirfd, uint32_t crc)
{
	DIR *d;
	if (lfs_dir_open(dirfd, &d) < 0)
		fz_fail("cannot list a directory");
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names[n++] = strdup(de->d_name);
	closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *x = names[j];
			names[j] = names[j - 1];
			names[j - 1] = x;
		}
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		crc = lfs_crc32c(crc, names[i], strlen(names[i]) + 1);
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			fz_fail("fstatat");
		uint32_t kind = S_ISDIR(st.st_mode);
		crc = lfs_crc32c(crc, &kind, sizeof(kind));
		if (S_ISDIR(st.st_mode)) {
			int fd = lfs_open_dir(dirfd, names[i]);
			if (fd < 0)
				fz_fail("cannot open a directory");
			crc = fz_digest(fd, crc);
			close(fd);
		} else if (S_ISREG(st.st_mode)) {
			int fd = openat(dirfd, names[i], O_RDONLY | O_CLOEXEC);
			unsigned char buf[4096];
			ssize_t k;
			uint64_t sz = (uint64_t)st.st_size;
			crc = lfs_crc32c(crc, &sz, sizeof(sz));
			while (fd >= 0 && (k = read(fd, buf, sizeof(buf))) > 0)
				crc = lfs_crc32c(crc, buf, (size_t)k);
			if (fd >= 0)
				close(fd);
		}
		free(names[i]);
	}
	return crc;
}

static uint32_t fz_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fz_fail("cannot open the volume");
	uint32_t crc = fz_digest(fd, 0);
	close(fd);
	return crc;
}

static bool fz_refusal(int rc)
{
	return rc == -EUCLEAN || rc == -EPROTONOSUPPORT;
}

/* The mount after a complete repair: every topic loads and reads to its
 * end without a failure. */
static void fz_mount(const char *path, unsigned topics)
{
	struct lfs_open_opts o = {.flags = LFS_OPEN_DEFER_TICKER, .log = fz_quiet, .clock = fz_clock};
	struct lfs_open_report rep;
	lfs_volume *v;
	int rc = lfs_volume_open(path, &o, &v, &rep);
	if (rc < 0)
		fz_fail("a volume fsck repaired does not mount");
	if (rep.topics != topics)
		fz_fail("the mount loads other topics than fsck counted");
	if (rep.records_cut || rep.bytes_cut)
		fz_fail("the mount's recovery cut what fsck left");
	char **names;
	size_t n;
	if (lfs_volume_list_topics(v, &names, &n) < 0)
		fz_fail("cannot list topics");
	for (size_t i = 0; i < n; i++) {
		lfs_topic *t;
		if (lfs_topic_get(v, names[i], &t) < 0)
			fz_fail("a listed topic cannot be found");
		struct lfs_start st = {LFS_START_FIRST, 0};
		lfs_reader *r;
		if (lfs_reader_open(t, &st, &r) < 0)
			fz_fail("a repaired topic cannot be read");
		uint64_t size = lfs_reader_size(r), off = 0;
		unsigned char buf[4096];
		for (int k = 0; k < 256 && off < size; k++) {
			ssize_t got = lfs_reader_read(r, buf, sizeof(buf), off);
			if (got < 0)
				fz_fail("a repaired topic fails a read");
			if (got == 0)
				fz_fail("a repaired topic ends before its size");
			off += (uint64_t)got;
		}
		lfs_reader_close(r);
		lfs_topic_put(t);
	}
	lfs_names_free(names, n);
	if (lfs_volume_close(v) < 0)
		fz_fail("a repaired volume does not close cleanly");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > (1u << 20))
		return 0;
	struct fv_input in;
	fv_parse(data, size, &in);
	const char *path = fv_build(&in);

	/* 1. Check only, forced (a clean volume is walked too). */
	uint32_t before = fz_tree(path);
	struct fz_count c1 = {0, 0};
	struct lfs_check_opts o = {.mode = LFS_CHECK_NONE, .force = true, .problem = fz_problem,
				   .ctx = &c1};
	struct lfs_check_result r1;
	int rc = lfs_check_volume(path, &o, &r1);
	if (rc < 0 && !fz_refusal(rc))
		fz_fail("a check failed on bytes alone");
	if (fz_tree(path) != before)
		fz_fail("a check without repair changed the volume");
	if (rc == 0 && (r1.problems != c1.problems || c1.repaired || r1.repaired))
		fz_fail("a check's counts disagree with its problems");
	if (rc < 0) {
		fv_free(&in);
		return 0;
	}

	/* 2. Repair. */
	struct fz_count c2 = {0, 0};
	o.mode = in.flags & FZ_PREEN ? LFS_CHECK_PREEN : LFS_CHECK_REPAIR;
	o.ctx = &c2;
	struct lfs_check_result r2;
	rc = lfs_check_volume(path, &o, &r2);
	if (rc < 0)
		fz_fail("a repair failed on bytes alone");
	if (r2.problems != c2.problems || r2.repaired + r2.unrepaired != r2.problems)
		fz_fail("a repair's counts disagree with its problems");

	/* 3. After a complete repair: clean, and it mounts. */
	if (r2.unrepaired == 0) {
		struct fz_count c3 = {0, 0};
		o.mode = LFS_CHECK_NONE;
		o.ctx = &c3;
		struct lfs_check_result r3;
		if (lfs_check_volume(path, &o, &r3) < 0)
			fz_fail("a check after repair failed");
		if (r3.problems)
			fz_fail("a complete repair left problems");
		fz_mount(path, r3.topics);
	}
	fv_free(&in);
	return 0;
}
