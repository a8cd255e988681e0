/* Opening what a volume holds (SPEC "Security"): symlinks never followed,
 * non-regular files never opened, temporary files never written through a
 * link, tree removal never leaving the tree. A victim outside the directory
 * must keep its bytes. */
#include "testutil.h"

#include "internal.h"

#include <sys/stat.h>

static char *g_dir;

static int teardown(void **state)
{
	(void)state;
	if (g_dir) {
		tu_rmrf(g_dir);
		free(g_dir);
		g_dir = NULL;
	}
	return 0;
}

static const char VICTIM[] = "victim bytes, never to change\n";

/* A directory "d" (returned open) and a victim file and directory beside
 * it. */
static int setup_dir(void)
{
	g_dir = tu_tempdir();
	char *p = tu_fmt("%s/d", g_dir);
	assert_int_equal(mkdir(p, 0700), 0);
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	free(p);
	p = tu_fmt("%s/victim", g_dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(VICTIM, f);
	fclose(f);
	free(p);
	p = tu_fmt("%s/vdir", g_dir);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = tu_fmt("%s/vdir/keep", g_dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	free(p);
	return fd;
}

static void link_to(int dirfd, const char *target, const char *name)
{
	char *t = tu_fmt("%s/%s", g_dir, target);
	assert_int_equal(symlinkat(t, dirfd, name), 0);
	free(t);
}

static void assert_victim_intact(void)
{
	char *p = tu_fmt("%s/victim", g_dir);
	char buf[128] = {0};
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	assert_int_equal(n, strlen(VICTIM));
	assert_string_equal(buf, VICTIM);
	free(p);
	p = tu_fmt("%s/vdir/keep", g_dir);
	assert_true(tu_exists(p));
	free(p);
}

static void test_open_refuses_symlink(void **state)
{
	(void)state;
	int d = setup_dir();
	link_to(d, "victim", "f");
	assert_int_equal(lfs_open_file(d, "f", O_RDONLY), -ELOOP);
	assert_int_equal(lfs_open_file(d, "f", O_RDWR | O_TRUNC), -ELOOP);
	assert_int_equal(lfs_open_file(d, "f", O_RDWR | O_CREAT), -ELOOP);
	assert_non_null(lfs_refusal(-ELOOP));
	/* A dangling one is not created through either. */
	link_to(d, "nothing", "g");
	assert_int_equal(lfs_open_file(d, "g", O_RDWR | O_CREAT), -ELOOP);
	char *p = tu_fmt("%s/nothing", g_dir);
	assert_false(tu_exists(p));
	free(p);
	assert_victim_intact();
	close(d);
}

static void test_open_refuses_fifo_and_dir(void **state)
{
	(void)state;
	int d = setup_dir();
	assert_int_equal(mkfifoat(d, "fifo", 0600), 0);
	/* Without the checks these opens would block for ever (no writer). */
	assert_int_equal(lfs_open_file(d, "fifo", O_RDONLY), -ENXIO);
	assert_int_equal(lfs_open_file(d, "fifo", O_WRONLY), -ENXIO);
	assert_int_equal(mkdirat(d, "dir", 0700), 0);
	assert_int_equal(lfs_open_file(d, "dir", O_RDONLY), -EISDIR);
	assert_int_equal(lfs_open_file(d, "missing", O_RDONLY), -ENOENT);
	assert_non_null(lfs_refusal(-ENXIO));
	assert_null(lfs_refusal(-ENOENT));
	close(d);
}

static void test_open_regular(void **state)
{
	(void)state;
	int d = setup_dir();
	int fd = lfs_open_file(d, "new", O_RDWR | O_CREAT);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, LFS_FILE_MODE & ~(mode_t)0);
	assert_int_equal(write(fd, "abc", 3), 3);
	/* Blocking again once known to be a file. */
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	fd = lfs_open_file(d, "new", O_RDWR | O_CREAT);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 3); /* an existing file is opened, kept */
	close(fd);
	fd = lfs_open_file(d, "new", O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	close(d);
}

static void test_create_replaces_link(void **state)
{
	(void)state;
	int d = setup_dir();
	link_to(d, "victim", "f");
	int fd = lfs_create_file(d, "f", O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new", 3), 3);
	close(fd);
	struct stat st;
	assert_int_equal(fstatat(d, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_victim_intact();
	close(d);
}

static void test_atomic_write_through_link(void **state)
{
	(void)state;
	int d = setup_dir();
	link_to(d, "victim", ".state.tmp");
	assert_int_equal(lfs_write_file_atomic(d, "state", "hello", 5), 0);
	char buf[16];
	size_t len;
	assert_int_equal(lfs_read_file(d, "state", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_victim_intact();
	/* A link at the target is replaced, not written through. */
	link_to(d, "victim", "conf");
	assert_int_equal(lfs_read_file(d, "conf", buf, sizeof(buf), &len), -ELOOP);
	assert_int_equal(lfs_write_file_atomic(d, "conf", "x", 1), 0);
	assert_victim_intact();
	close(d);
}

static void test_remove_tree_never_follows(void **state)
{
	(void)state;
	int d = setup_dir();
	/* The tree's root itself a link to a directory outside. */
	link_to(d, "vdir", "trash");
	assert_int_equal(lfs_remove_tree(d, "trash"), 0);
	struct stat st;
	assert_int_equal(fstatat(d, "trash", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_victim_intact();
	/* Links at deeper levels. */
	assert_int_equal(mkdirat(d, "t", 0700), 0);
	assert_int_equal(mkdirat(d, "t/sub", 0700), 0);
	char *t = tu_fmt("%s/vdir", g_dir);
	assert_int_equal(symlinkat(t, d, "t/sub/dirlink"), 0);
	free(t);
	t = tu_fmt("%s/victim", g_dir);
	assert_int_equal(symlinkat(t, d, "t/filelink"), 0);
	free(t);
	assert_int_equal(lfs_remove_tree(d, "t"), 0);
	assert_int_equal(fstatat(d, "t", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_victim_intact();
	close(d);
}

static void test_open_dir_refuses_link(void **state)
{
	(void)state;
	int d = setup_dir();
	link_to(d, "vdir", "l");
	assert_int_equal(lfs_open_dir(d, "l"), -ELOOP);
	int fd = openat(d, "f", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lfs_open_dir(d, "f"), -ENOTDIR);
	close(d);
}

/* A sealed segment whose index entry 1 is rewritten with the given pos and
 * len, every CRC (the entry's, the seal's over the entries) made to match:
 * a volume crafted to pass the checksums. Returns the volume, closed. */
static char *crafted_volume(uint64_t pos, uint32_t len)
{
	char *vol = tu_mkvol(4096);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "t");
	/* Batches of 10 lines (offsets 10i..10i+9) until segment 0 rolls. */
	for (int i = 0; i < 100; i++) {
		char b[200];
		size_t n = 0;
		for (int k = 0; k < 10; k++)
			n += (size_t)snprintf(b + n, sizeof(b) - n, "rec %04d\n", i * 10 + k);
		tu_append(t, LFS_FRAMING_LINE, b, n);
	}
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);

	char *ip = tu_seg_path(vol, "t", 0, "idx");
	int fd = open(ip, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	size_t isz = (size_t)st.st_size, n = (isz - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE - 1;
	assert_true(n > 2);
	unsigned char *x = malloc(isz);
	assert_non_null(x);
	assert_int_equal(pread(fd, x, isz, 0), (ssize_t)isz);
	struct lfs_idx_entry e, seal;
	unsigned char *e1 = x + LFS_IDX_HEADER_SIZE + LFS_IDX_ENTRY_SIZE;
	assert_int_equal(lfs_idx_entry_decode(e1, &e), 0);
	assert_int_equal(e.offset, 10);
	e.pos = pos;
	e.len = len;
	lfs_idx_entry_encode(&e, e1);
	unsigned char *sp = x + isz - LFS_IDX_ENTRY_SIZE;
	assert_int_equal(lfs_idx_entry_decode(sp, &seal), 0);
	seal.crc = lfs_crc32c(0, x + LFS_IDX_HEADER_SIZE, n * LFS_IDX_ENTRY_SIZE);
	lfs_idx_entry_encode(&seal, sp);
	assert_int_equal(pwrite(fd, x, isz, 0), (ssize_t)isz);
	close(fd);
	free(x);
	free(ip);
	return vol;
}

static void expect_eio_at(const char *vol, uint64_t offset)
{
	lfs_volume *v = tu_open(vol);
	lfs_topic *t;
	assert_int_equal(lfs_topic_get(v, "t", &t), 0);
	lfs_reader *r = NULL;
	struct lfs_start at = {.kind = LFS_START_OFFSET, .value = offset};
	assert_int_equal(lfs_reader_open(t, &at, &r), -EIO);
	/* Offsets before the damaged entry are still found (those after it
	 * are not: a segment is checked in order, up to its first bad
	 * batch). */
	at.value = 5;
	assert_int_equal(lfs_reader_open(t, &at, &r), 0);
	lfs_reader_close(r);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
}

static void test_entry_pos_beyond_segment(void **state)
{
	(void)state;
	char *vol = crafted_volume(1ull << 62, 100);
	expect_eio_at(vol, 15); /* skips lines from pos */
	expect_eio_at(vol, 10); /* starts at pos */
	tu_rmvol(vol);
}

static void test_entry_len_beyond_segment(void **state)
{
	(void)state;
	char *vol = crafted_volume(90, 0xffffffffu);
	expect_eio_at(vol, 15);
	tu_rmvol(vol);
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_refuses_symlink),	    T(test_open_refuses_fifo_and_dir),
		T(test_open_regular),		    T(test_create_replaces_link),
		T(test_atomic_write_through_link), T(test_remove_tree_never_follows),
		T(test_open_dir_refuses_link),	    T(test_entry_pos_beyond_segment),
		T(test_entry_len_beyond_segment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
