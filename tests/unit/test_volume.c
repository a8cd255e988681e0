/* Volumes: mkfs, the superblock and its backup, the clean/dirty state, the
 * exclusive lock, read-only opens, UUIDs. */
#include "testutil.h"

#include "internal.h"

static char *g_dir; /* the test's temporary directory, removed by teardown */
static char *g_mnt; /* a tmpfs, unmounted by teardown */

static int teardown(void **state)
{
	(void)state;
	if (g_mnt) {
		tu_umount_tmpfs(g_mnt);
		g_mnt = NULL;
	}
	if (g_dir) {
		tu_rmrf(g_dir);
		free(g_dir);
		g_dir = NULL;
	}
	return 0;
}

static char *path_in(const char *name)
{
	if (!g_dir)
		g_dir = tu_tempdir();
	return tu_fmt("%s/%s", g_dir, name);
}

static void test_mkfs_creates_volume(void **state)
{
	(void)state;
	char *vol = path_in("new/vol"); /* parent missing: mkfs creates the last level only */
	struct lfs_mkfs_opts o = {0};
	struct lfs_sb_info sb;
	assert_int_equal(lfs_mkfs(vol, &o, &sb), -ENOENT);
	free(vol);
	vol = path_in("vol");
	uint64_t t0 = lfs_now_ns();
	assert_int_equal(lfs_mkfs(vol, &o, &sb), 0);
	assert_int_equal(sb.version, LFS_FORMAT_VERSION);
	assert_true(sb.ctime_ns >= t0 && sb.ctime_ns <= lfs_now_ns());
	assert_string_equal(sb.label, "");
	assert_int_equal(sb.uuid[6] >> 4, 4);      /* random: version 4 */
	assert_int_equal(sb.uuid[8] & 0xc0, 0x80); /* RFC 4122 variant */
	struct lfs_settings def;
	lfs_settings_default(&def);
	assert_true(sb.defaults.segment_size == def.segment_size);
	struct lfs_sb_info back;
	assert_int_equal(lfs_read_superblock(vol, &back), 0);
	assert_memory_equal(back.uuid, sb.uuid, 16);
	assert_true(back.ctime_ns == sb.ctime_ns);
	char *topics = tu_fmt("%s/topics", vol);
	assert_true(tu_exists(topics));
	free(topics);
	/* Fresh: clean, no topics. */
	lfs_volume *v;
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_true(rep.was_clean);
	assert_int_equal(rep.topics, 0);
	assert_memory_equal(lfs_volume_info(v)->uuid, sb.uuid, 16);
	assert_false(lfs_volume_readonly(v));
	assert_true(lfs_volume_fd(v) >= 0);
	assert_int_equal(lfs_volume_close(v), 0);
	free(vol);
}

static void test_mkfs_options(void **state)
{
	(void)state;
	char *vol = path_in("vol");
	uint8_t uuid[16];
	assert_int_equal(lfs_uuid_parse("0123456789abcdef0123456789ABCDEF", uuid), -EINVAL);
	assert_int_equal(lfs_uuid_parse("01234567-89ab-cdef-0123-456789ABCDEF", uuid), 0);
	struct lfs_mkfs_opts o = {.label = "my-logs", .uuid = uuid, .segment_size = 1 << 20};
	struct lfs_sb_info sb;
	assert_int_equal(lfs_mkfs(vol, &o, &sb), 0);
	assert_int_equal(lfs_read_superblock(vol, &sb), 0);
	assert_string_equal(sb.label, "my-logs");
	char text[37];
	lfs_uuid_format(sb.uuid, text);
	assert_string_equal(text, "01234567-89ab-cdef-0123-456789abcdef");
	assert_true(sb.defaults.segment_size == 1 << 20);
	/* Topics get the volume's segment size. */
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "t");
	struct lfs_settings s;
	lfs_topic_settings(t, &s);
	assert_true(s.segment_size == 1 << 20);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	free(vol);

	/* Bad options change nothing. */
	vol = path_in("vol2");
	char label[LFS_LABEL_MAX + 2];
	memset(label, 'x', sizeof(label) - 1);
	label[sizeof(label) - 1] = 0;
	struct lfs_mkfs_opts bad = {.label = label};
	assert_int_equal(lfs_mkfs(vol, &bad, NULL), -ENAMETOOLONG);
	struct lfs_mkfs_opts small = {.segment_size = 100};
	assert_int_equal(lfs_mkfs(vol, &small, NULL), -EINVAL);
	assert_false(tu_exists(vol));
	label[LFS_LABEL_MAX] = 0; /* exactly the maximum */
	assert_int_equal(lfs_mkfs(vol, &bad, &sb), 0);
	assert_int_equal(lfs_read_superblock(vol, &sb), 0);
	assert_string_equal(sb.label, label);
	free(vol);
}

static void test_uuid_text(void **state)
{
	(void)state;
	uint8_t u[16], v[16];
	for (int i = 0; i < 16; i++)
		u[i] = (uint8_t)(i * 17 + 3);
	char text[37];
	lfs_uuid_format(u, text);
	assert_int_equal(strlen(text), 36);
	assert_int_equal(lfs_uuid_parse(text, v), 0);
	assert_memory_equal(u, v, 16);
	static const char *bad[] = {
		"", "01234567-89ab-cdef-0123-456789abcde", "01234567-89ab-cdef-0123-456789abcdef0",
		"0123456789ab-cdef-0123-456789abcdef-", "01234567-89ab-cdef-0123-456789abcdeg",
		"01234567_89ab_cdef_0123_456789abcdef", "{01234567-89ab-cdef-0123-456789abcdef}",
		"01234567-89ab-cdef-0123-456789abcd-f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lfs_uuid_parse(bad[i], v), -EINVAL);
}

static void test_mkfs_refuses(void **state)
{
	(void)state;
	char *dir = path_in("notempty"), *file = path_in("notempty/precious");
	assert_int_equal(mkdir(dir, 0755), 0);
	FILE *fp = fopen(file, "w");
	fputs("data", fp);
	fclose(fp);
	struct lfs_mkfs_opts o = {0}, force = {.force = true};
	/* A non-empty directory that is not a volume, even with force. */
	assert_int_equal(lfs_mkfs(dir, &o, NULL), -ENOTEMPTY);
	assert_int_equal(lfs_mkfs(dir, &force, NULL), -ENOTEMPTY);
	assert_int_equal(tu_file_size(file), 4);
	/* An existing volume, unless forced. */
	char *vol = path_in("vol");
	assert_int_equal(lfs_mkfs(vol, &o, NULL), 0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "old");
	lfs_topic_put(t);
	/* Never a volume in use. */
	assert_int_equal(lfs_mkfs(vol, &force, NULL), -EBUSY);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_mkfs(vol, &o, NULL), -EEXIST);
	v = tu_open(vol);
	assert_int_equal(lfs_topic_get(v, "old", &t), 0);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	/* Forced: a new, empty volume. */
	struct lfs_sb_info sb;
	assert_int_equal(lfs_mkfs(vol, &force, &sb), 0);
	v = tu_open(vol);
	assert_int_equal(lfs_topic_get(v, "old", &t), -ENOENT);
	assert_memory_equal(lfs_volume_info(v)->uuid, sb.uuid, 16);
	assert_int_equal(lfs_volume_close(v), 0);
	free(dir);
	free(file);
	free(vol);
}

static void test_lock(void **state)
{
	(void)state;
	char *vol = path_in("vol");
	tu_mkvol_at(vol, 0);
	assert_int_equal(lfs_volume_in_use(vol), 0);
	lfs_volume *v = tu_open(vol), *w;
	assert_int_equal(lfs_volume_in_use(vol), 1);
	assert_int_equal(tu_volume_open(vol, NULL, &w, NULL), -EBUSY);
	/* Read-only opens lock too: one daemon per volume. */
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(tu_volume_open(vol, &ro, &w, NULL), -EBUSY);
	assert_int_equal(lfs_volume_in_use(vol), 1);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_volume_in_use(vol), 0);
	assert_int_equal(tu_volume_open(vol, &ro, &w, NULL), 0);
	assert_true(lfs_volume_readonly(w));
	assert_int_equal(tu_volume_open(vol, NULL, &v, NULL), -EBUSY);
	assert_int_equal(lfs_volume_close(w), 0);
	v = tu_open(vol);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_volume_close(NULL), 0);
	free(vol);
}

static int crash_open(void *arg)
{
	lfs_volume *v;
	return tu_volume_open(arg, NULL, &v, NULL); /* and exit without closing */
}

static void test_clean_dirty_state(void **state)
{
	(void)state;
	char *vol = path_in("vol");
	tu_mkvol_at(vol, 0);
	int fd = open(vol, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_CLEAN);
	lfs_volume *v = tu_open(vol);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_DIRTY);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_CLEAN);
	/* A crash leaves it dirty; the next open says so. */
	tu_crash_child(crash_open, vol);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_DIRTY);
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_false(rep.was_clean);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_true(rep.was_clean);
	assert_int_equal(lfs_volume_close(v), 0);
	/* A read-only open neither needs nor changes a clean state. */
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(tu_volume_open(vol, &ro, &v, &rep), 0);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_CLEAN);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_CLEAN);
	/* A missing or garbled state file counts as unclean. */
	assert_int_equal(unlinkat(fd, LFS_STATE_FILE, 0), 0);
	assert_int_equal(lfs_state_read(fd), 0);
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_false(rep.was_clean);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_state_write(fd, LFS_STATE_CLEAN), 0);
	assert_int_equal(lfs_state_read(fd), LFS_STATE_CLEAN);
	close(fd);
	free(vol);
}

static void write_at(const char *path, long off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void test_superblock_backup_and_version(void **state)
{
	(void)state;
	char *vol = path_in("vol");
	tu_mkvol_at(vol, 0);
	char *sbp = tu_fmt("%s/%s", vol, LFS_SB_FILE);
	int fd = open(vol, O_RDONLY | O_DIRECTORY);
	struct lfs_sb_info sb, good;
	bool primary_ok, repaired;
	assert_int_equal(lfs_read_superblock(vol, &good), 0);
	/* Damage the primary copy: the backup serves, and can restore it. */
	write_at(sbp, 40, "XX", 2);
	assert_int_equal(lfs_read_superblock(vol, &sb), 0);
	assert_memory_equal(sb.uuid, good.uuid, 16);
	assert_int_equal(lfs_superblock_check(fd, &sb, &primary_ok), 0);
	assert_false(primary_ok);
	lfs_volume *v = tu_open(vol);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(lfs_superblock_repair(fd, &repaired), 0);
	assert_true(repaired);
	assert_int_equal(lfs_superblock_check(fd, &sb, &primary_ok), 0);
	assert_true(primary_ok);
	assert_int_equal(lfs_superblock_repair(fd, &repaired), 0);
	assert_false(repaired);
	/* Both copies damaged: not a volume. */
	write_at(sbp, 40, "XX", 2);
	write_at(sbp, 512 + 40, "XX", 2);
	assert_int_equal(lfs_read_superblock(vol, &sb), -EUCLEAN);
	assert_int_equal(tu_volume_open(vol, NULL, &v, NULL), -EUCLEAN);
	/* A newer format version is refused, clearly. */
	good.version = LFS_FORMAT_VERSION + 1;
	unsigned char buf[LFS_SB_SIZE];
	lfs_sb_encode(&good, buf);
	write_at(sbp, 0, buf, sizeof(buf));
	write_at(sbp, 512, buf, sizeof(buf));
	assert_int_equal(lfs_read_superblock(vol, &sb), -EPROTONOSUPPORT);
	assert_int_equal(tu_volume_open(vol, NULL, &v, NULL), -EPROTONOSUPPORT);
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(tu_volume_open(vol, &ro, &v, NULL), -EPROTONOSUPPORT);
	/* mkfs will not take it for garbage either. */
	struct lfs_mkfs_opts o = {0};
	assert_int_equal(lfs_mkfs(vol, &o, NULL), -EEXIST);
	close(fd);
	free(sbp);
	free(vol);
}

static void test_not_a_volume(void **state)
{
	(void)state;
	lfs_volume *v;
	char *dir = path_in("empty");
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(tu_volume_open(dir, NULL, &v, NULL), -EUCLEAN);
	struct lfs_sb_info sb;
	assert_int_equal(lfs_read_superblock(dir, &sb), -EUCLEAN);
	char *missing = path_in("missing");
	assert_int_equal(tu_volume_open(missing, NULL, &v, NULL), -ENOENT);
	assert_int_equal(lfs_volume_in_use(missing), -ENOENT);
	/* A volume whose topics directory is gone: a volume (its superblock
	 * is good) missing a directory, not "no volume" (the log names it:
	 * mount_untrusted.sh). */
	char *vol = path_in("vol");
	tu_mkvol_at(vol, 0);
	char *topics = tu_fmt("%s/topics", vol);
	assert_int_equal(rmdir(topics), 0);
	assert_int_equal(tu_volume_open(vol, NULL, &v, NULL), -ENOENT);
	free(topics);
	free(vol);
	free(missing);
	free(dir);
}

/* Entries of the topics directory that are not topics are left alone. */
static void test_foreign_entries_ignored(void **state)
{
	(void)state;
	char *vol = path_in("vol");
	tu_mkvol_at(vol, 0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "real");
	tu_append_str(t, "r\n");
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	char *hidden = tu_fmt("%s/topics/.hidden", vol), *file = tu_fmt("%s/topics/afile", vol);
	assert_int_equal(mkdir(hidden, 0755), 0);
	FILE *fp = fopen(file, "w");
	fclose(fp);
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(vol, NULL, &v, &rep), 0);
	assert_int_equal(rep.topics, 1);
	char **names;
	size_t n;
	assert_int_equal(lfs_volume_list_topics(v, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "real");
	free(names[0]);
	free(names);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_true(tu_exists(hidden) && tu_exists(file));
	free(hidden);
	free(file);
	free(vol);
}

/* A read-only open of a volume on a read-only filesystem (fsck -n, mount
 * -o ro of a snapshot) reads everything and writes nothing. */
static void test_readonly_filesystem(void **state)
{
	(void)state;
	g_mnt = tu_mount_tmpfs("size=16M");
	if (!g_mnt) {
		fprintf(stderr, "test_readonly_filesystem skipped: no tmpfs\n");
		skip();
	}
	char *vol = tu_fmt("%s/vol", g_mnt);
	tu_mkvol_at(vol, 0);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "t");
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	char rec[1000];
	memset(rec, 'q', sizeof(rec));
	rec[999] = '\n';
	for (int i = 0; i < 10; i++)
		tu_append(t, LFS_FRAMING_LINE, rec, sizeof(rec));
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	assert_int_equal(mount(NULL, g_mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	struct lfs_open_opts ro = {.flags = LFS_OPEN_RDONLY};
	struct lfs_open_report rep;
	assert_int_equal(tu_volume_open(vol, &ro, &v, &rep), 0);
	assert_true(rep.was_clean);
	assert_int_equal(lfs_topic_get(v, "t", &t), 0);
	size_t len;
	char *got = tu_read_all(t, &len);
	assert_int_equal(len, 10000);
	free(got);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	/* A writable open is refused with the filesystem's error. */
	assert_int_equal(tu_volume_open(vol, NULL, &v, NULL), -EROFS);
	free(vol);
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mkfs_creates_volume),
		T(test_mkfs_options),
		T(test_uuid_text),
		T(test_mkfs_refuses),
		T(test_lock),
		T(test_clean_dirty_state),
		T(test_superblock_backup_and_version),
		T(test_not_a_volume),
		T(test_foreign_entries_ignored),
		T(test_readonly_filesystem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
