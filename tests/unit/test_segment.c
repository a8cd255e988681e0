/* segment.c works from what its host gives it (struct lfs_seg_host: the
 * directory, the read-only flag, the segment size, where messages go, the
 * mapping budget, the locks), not from a topic: these tests run segments with no topic at all,
 * over a plain directory. */
#include "testutil.h"

#include "internal.h"

struct fake_host {
	struct lfs_seg_host h;
	int dirfd;
	int entered;   /* dir_enter calls not yet matched by dir_exit */
	int enters;
	uint64_t segment_size;
	char last_log[512], last_error[512];
	int nlog, nerror;
	lfs_mutex append_mu;
	lfs_rwlock segs_lock;
};

static int fh_enter(void *ctx)
{
	struct fake_host *f = ctx;
	f->entered++;
	f->enters++;
	return f->dirfd;
}

static void fh_exit(void *ctx)
{
	struct fake_host *f = ctx;
	f->entered--;
}

static uint64_t fh_size(void *ctx)
{
	return ((struct fake_host *)ctx)->segment_size;
}

static void fh_log(void *ctx, int level, const char *msg)
{
	struct fake_host *f = ctx;
	assert_int_equal(level, LFS_LOG_ERR);
	snprintf(f->last_log, sizeof(f->last_log), "%s", msg);
	f->nlog++;
}

static void fh_error(void *ctx, const char *msg)
{
	struct fake_host *f = ctx;
	snprintf(f->last_error, sizeof(f->last_error), "%s", msg);
	f->nerror++;
}

static void fh_maps(void *ctx, lfs_segment *s)
{
	(void)ctx;
	(void)s;
}

static void fh_nothing(void *ctx)
{
	(void)ctx;
}

static struct fake_host *fake_new(const char *dir)
{
	struct fake_host *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	f->segment_size = 64 << 10;
	lfs_mutex_init(&f->append_mu);
	lfs_rwlock_init(&f->segs_lock);
	f->h = (struct lfs_seg_host){.ctx = f,
				     .name = "fake",
				     .dir_enter = fh_enter,
				     .dir_exit = fh_exit,
				     .segment_size = fh_size,
				     .log = fh_log,
				     .error = fh_error,
				     .maps_track = fh_maps,
				     .maps_forget = fh_maps,
				     .maps_trim = fh_nothing,
				     .checksum_failed = fh_nothing,
				     .append_mu = &f->append_mu,
				     .segs_lock = &f->segs_lock};
	return f;
}

static void fake_free(struct fake_host *f)
{
	close(f->dirfd);
	free(f);
}

static bool exists(const char *dir, uint64_t base, const char *ext)
{
	char name[32];
	lfs_seg_name(base, ext, name);
	char *p = tu_fmt("%s/%s", dir, name);
	bool e = access(p, F_OK) == 0;
	free(p);
	return e;
}

/* A new active segment: its two files in the host's directory, the header
 * it was given, mapped for the host's segment size; unlinked through the
 * host again. Every use of the directory is entered and left. */
static void test_create_and_unlink_through_the_host(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	struct fake_host *f = fake_new(dir);
	lfs_segment *s;

	assert_int_equal(lfs_segment_create_active(NULL, &f->h, 40, 4000, LFS_FRAMING_LINE, 123, &s), 0);
	assert_true(f->enters >= 2);
	assert_int_equal(f->entered, 0);
	assert_true(exists(dir, 40, "log") && exists(dir, 40, "idx"));
	struct lfs_idx_header h;
	assert_int_equal(lfs_idx_header_read(f->dirfd, 40, &h), 0);
	assert_true(h.base_offset == 40 && h.stream_pos == 4000 && h.ctime_ns == 123);
	assert_int_equal(h.framing, LFS_FRAMING_LINE);
	assert_true(s->data_maplen >= f->segment_size);

	/* Sealing needs nothing of the host. */
	assert_int_equal(lfs_segment_seal(s), 0);
	int before = f->enters;
	assert_int_equal(lfs_segment_unlink(s), 0);
	assert_true(f->enters == before + 1);
	assert_int_equal(f->entered, 0);
	assert_false(exists(dir, 40, "log") || exists(dir, 40, "idx"));
	assert_int_equal(f->nlog + f->nerror, 0);
	lfs_segment_put(s);
	fake_free(f);
	tu_rmrf(dir);
	free(dir);
}

/* A file that is not one (a symbolic link in its place) is refused, and
 * the refusal goes to the host's log, naming the host's topic. */
static void test_refusal_goes_to_the_host_log(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	struct fake_host *f = fake_new(dir);
	char name[32];
	lfs_seg_name(7, "log", name);
	assert_int_equal(symlinkat("/etc/passwd", f->dirfd, name), 0);

	lfs_segment *s = lfs_segment_new(NULL, &f->h, 7);
	assert_non_null(s);
	int fd = lfs_segment_open_file(s, "log", O_RDONLY);
	assert_true(fd < 0);
	assert_int_equal(f->nlog, 1);
	assert_non_null(strstr(f->last_log, "topic fake: 00000000000000000007.log"));
	assert_non_null(strstr(f->last_log, "not opened"));
	assert_int_equal(f->entered, 0);
	lfs_segment_put(s);
	fake_free(f);
	tu_rmrf(dir);
	free(dir);
}

/* An idle active segment gives its files back and takes them again; one
 * replaced behind its back meanwhile is an error for the host to record. */
static void test_replaced_file_is_an_error_for_the_host(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	struct fake_host *f = fake_new(dir);
	lfs_segment *s;

	assert_int_equal(lfs_segment_create_active(NULL, &f->h, 0, 0, LFS_FRAMING_LINE, 1, &s), 0);
	lfs_mutex_lock(&f->append_mu);
	lfs_rwlock_wrlock(&f->segs_lock);
	assert_int_equal(lfs_segment_release_active(s), 0);
	lfs_rwlock_unlock(&f->segs_lock);
	/* Taken again as it was left: no message. */
	assert_int_equal(lfs_segment_reopen_active(s), 0);
	assert_int_equal(f->nerror, 0);
	lfs_rwlock_wrlock(&f->segs_lock);
	assert_int_equal(lfs_segment_release_active(s), 0);
	lfs_rwlock_unlock(&f->segs_lock);

	char name[32], tmp[40];
	lfs_seg_name(0, "log", name);
	snprintf(tmp, sizeof(tmp), "%s.new", name);
	int fd = openat(f->dirfd, tmp, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(renameat(f->dirfd, tmp, f->dirfd, name), 0);
	assert_int_equal(lfs_segment_reopen_active(s), -EIO);
	lfs_mutex_unlock(&f->append_mu);
	assert_int_equal(f->nerror, 1);
	assert_non_null(strstr(f->last_error, "topic fake: segment 0 changed on disk"));
	assert_int_equal(f->entered, 0);
	lfs_segment_put(s);
	fake_free(f);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_unlink_through_the_host),
		cmocka_unit_test(test_refusal_goes_to_the_host_log),
		cmocka_unit_test(test_replaced_file_is_an_error_for_the_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
