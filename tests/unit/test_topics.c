/* Topics: create, look up, delete, busy, settings and meta persisted,
 * framing only while empty, read-only volumes. */
#include "testutil.h"

#include "internal.h"

#include <pthread.h>

/* Injected failures and pauses in the directory operations of topic
 * creation and deletion: this binary is linked with --wrap=renameat and
 * --wrap=mkdirat (Makefile), so the core's calls come here. A call on the
 * name inj.name fails with inj.err, or (inj.pause) waits until the test
 * releases it, after saying it is in. */
int __real_renameat(int ofd, const char *old, int nfd, const char *new);
int __real_mkdirat(int fd, const char *name, mode_t mode);

static struct {
	const char *name;
	int err;
	bool pause;
	bool in, release;
	pthread_mutex_t mu;
	pthread_cond_t cond;
} inj = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static bool injected(const char *name)
{
	if (!inj.name || strcmp(name, inj.name) != 0)
		return false;
	if (inj.err) {
		errno = inj.err;
		return true;
	}
	if (inj.pause) {
		pthread_mutex_lock(&inj.mu);
		inj.in = true;
		pthread_cond_broadcast(&inj.cond);
		while (!inj.release)
			pthread_cond_wait(&inj.cond, &inj.mu);
		pthread_mutex_unlock(&inj.mu);
	}
	return false;
}

int __wrap_renameat(int ofd, const char *old, int nfd, const char *new)
{
	return injected(old) ? -1 : __real_renameat(ofd, old, nfd, new);
}

int __wrap_mkdirat(int fd, const char *name, mode_t mode)
{
	return injected(name) ? -1 : __real_mkdirat(fd, name, mode);
}

static void inj_wait_in(void)
{
	pthread_mutex_lock(&inj.mu);
	while (!inj.in)
		pthread_cond_wait(&inj.cond, &inj.mu);
	pthread_mutex_unlock(&inj.mu);
}

static void inj_release(void)
{
	pthread_mutex_lock(&inj.mu);
	inj.release = true;
	pthread_cond_broadcast(&inj.cond);
	pthread_mutex_unlock(&inj.mu);
}

static void inj_reset(void)
{
	inj.name = NULL;
	inj.err = 0;
	inj.pause = inj.in = inj.release = false;
}

struct fix {
	char *vol;
	lfs_volume *v;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	f->vol = tu_mkvol(0);
	f->v = tu_open(f->vol);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	if (f->v)
		assert_int_equal(lfs_volume_close(f->v), 0);
	tu_rmvol(f->vol);
	free(f);
	return 0;
}

static void reopen(struct fix *f)
{
	assert_int_equal(lfs_volume_close(f->v), 0);
	f->v = tu_open(f->vol);
}

static bool topic_dir_exists(struct fix *f, const char *name)
{
	char *p = tu_fmt("%s/topics/%s", f->vol, name);
	bool e = tu_exists(p);
	free(p);
	return e;
}

static void expect_list(lfs_volume *v, const char **want, size_t n)
{
	char **names;
	size_t count;
	assert_int_equal(lfs_volume_list_topics(v, &names, &count), 0);
	assert_int_equal(count, n);
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(names[i], want[i]);
		free(names[i]);
	}
	free(names);
}

static void test_create_get_delete(void **state)
{
	struct fix *f = *state;
	lfs_topic *a, *b, *g;
	struct lfs_topic_meta m = {.mode = 0750, .uid = 1000, .gid = 100};
	assert_int_equal(lfs_topic_create(f->v, "beta", &m, &b), 0);
	assert_int_equal(lfs_topic_create(f->v, "alpha", &m, &a), 0);
	assert_string_equal(lfs_topic_name(a), "alpha");
	assert_true(lfs_topic_id(a) != lfs_topic_id(b));
	assert_true(topic_dir_exists(f, "alpha"));
	/* out may be NULL. */
	assert_int_equal(lfs_topic_create(f->v, "gamma", &m, NULL), 0);
	const char *three[] = {"alpha", "beta", "gamma"};
	expect_list(f->v, three, 3);
	/* Already there. */
	assert_int_equal(lfs_topic_create(f->v, "alpha", &m, &g), -EEXIST);
	/* Lookups take a reference on the same object. */
	assert_int_equal(lfs_topic_get(f->v, "alpha", &g), 0);
	assert_ptr_equal(g, a);
	lfs_topic_put(g);
	assert_int_equal(lfs_topic_get(f->v, "delta", &g), -ENOENT);
	assert_int_equal(lfs_topic_get(f->v, "alph", &g), -ENOENT);
	/* A new topic is empty, with one (active) segment. */
	struct lfs_topic_stat st;
	lfs_topic_stat(a, &st);
	assert_true(st.first_offset == 0 && st.next_offset == 0 && st.bytes == 0);
	assert_true(st.segments == 1);
	assert_true(st.first_timestamp == 0 && st.last_timestamp == 0);

	tu_append_str(b, "b-data\n");
	lfs_topic_put(b);
	assert_int_equal(lfs_topic_delete(f->v, "beta"), 0);
	assert_false(topic_dir_exists(f, "beta"));
	assert_int_equal(lfs_topic_get(f->v, "beta", &g), -ENOENT);
	assert_int_equal(lfs_topic_delete(f->v, "beta"), -ENOENT);
	assert_int_equal(lfs_topic_delete(f->v, "nosuch"), -ENOENT);
	const char *two[] = {"alpha", "gamma"};
	expect_list(f->v, two, 2);
	/* The name can be used again, for a new, empty topic. */
	assert_int_equal(lfs_topic_create(f->v, "beta", &m, &b), 0);
	lfs_topic_stat(b, &st);
	assert_true(st.next_offset == 0 && st.bytes == 0);
	tu_expect_contents(b, "", 0);
	lfs_topic_put(b);
	lfs_topic_put(a);
	reopen(f);
	expect_list(f->v, three, 3);
}

static void test_invalid_names(void **state)
{
	struct fix *f = *state;
	struct lfs_topic_meta m = {.mode = 0755};
	lfs_topic *t;
	static const char *bad[] = {"", ".", "..", ".x", "a/b", "../x", "a b", "x@1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lfs_topic_create(f->v, bad[i], &m, &t), -EINVAL);
	char longname[LFS_TOPIC_NAME_MAX + 2];
	memset(longname, 'l', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(lfs_topic_create(f->v, longname, &m, &t), -ENAMETOOLONG);
	longname[LFS_TOPIC_NAME_MAX] = 0;
	assert_int_equal(lfs_topic_create(f->v, longname, &m, &t), 0);
	lfs_topic_put(t);
	/* Nothing but the valid one was created. */
	char *p = tu_fmt("ls -A '%s/topics' | wc -l | grep -qx 1", f->vol);
	assert_int_equal(system(p), 0);
	free(p);
	reopen(f);
	assert_int_equal(lfs_topic_get(f->v, longname, &t), 0);
	lfs_topic_put(t);
}

static void test_busy_while_open(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "busy");
	lfs_reader *r;
	lfs_producer *p;
	struct lfs_start st = {.kind = LFS_START_FIRST};

	assert_int_equal(lfs_reader_open(t, &st, &r), 0);
	assert_int_equal(lfs_topic_delete(f->v, "busy"), -EBUSY);
	assert_int_equal(lfs_producer_open(t, &p), 0);
	lfs_reader_close(r);
	assert_int_equal(lfs_topic_delete(f->v, "busy"), -EBUSY);
	assert_int_equal(lfs_producer_close(p), 0);
	/* Handles counted by the daemon (open files). */
	lfs_topic_hold(t);
	lfs_topic_hold(t);
	assert_int_equal(lfs_topic_delete(f->v, "busy"), -EBUSY);
	lfs_topic_release(t);
	assert_int_equal(lfs_topic_delete(f->v, "busy"), -EBUSY);
	lfs_topic_release(t);
	/* Still busy: nothing was deleted. */
	assert_true(topic_dir_exists(f, "busy"));
	tu_append_str(t, "still here\n");
	/* Not busy: a reference alone does not hold it. */
	assert_int_equal(lfs_topic_delete(f->v, "busy"), 0);
	assert_false(topic_dir_exists(f, "busy"));
	/* The remaining reference sees a deleted topic. */
	assert_int_equal(tu_append_rc(t, LFS_FRAMING_LINE, "late\n", 5, NULL), -ENOENT);
	lfs_topic_put(t);
}

/* A deletion whose rename fails leaves the topic as it was: listed, found,
 * appendable, its directory in place, and deletable once the failure is
 * gone. (It was taken out of the table before the rename.) */
static void test_delete_fails(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "doomed"), *g;
	tu_append_str(t, "one\n");

	inj_reset();
	inj.name = "doomed";
	inj.err = EIO;
	assert_int_equal(lfs_topic_delete(f->v, "doomed"), -EIO);
	inj_reset();
	assert_int_equal(lfs_topic_get(f->v, "doomed", &g), 0);
	assert_ptr_equal(g, t);
	lfs_topic_put(g);
	const char *want[] = {"doomed"};
	expect_list(f->v, want, 1);
	assert_false(lfs_topic_deleted(t));
	assert_true(topic_dir_exists(f, "doomed"));
	tu_append_str(t, "two\n");
	tu_expect_contents(t, "one\ntwo\n", 8);
	/* The same after a remount. */
	lfs_topic_put(t);
	reopen(f);
	assert_int_equal(lfs_topic_get(f->v, "doomed", &t), 0);
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	assert_int_equal(ts.next_offset, 2);
	lfs_topic_put(t);
	assert_int_equal(lfs_topic_delete(f->v, "doomed"), 0);
	assert_false(topic_dir_exists(f, "doomed"));
	assert_int_equal(lfs_topic_get(f->v, "doomed", &t), -ENOENT);
}

struct op_arg {
	lfs_volume *v;
	const char *name;
	bool create;
	int rc;
};

static void *op_thread(void *arg)
{
	struct op_arg *a = arg;
	struct lfs_topic_meta m = {.uid = getuid(), .gid = getgid(), .mode = 0755};
	a->rc = a->create ? lfs_topic_create(a->v, a->name, &m, NULL) : lfs_topic_delete(a->v, a->name);
	return NULL;
}

/* Creation and deletion do their directory work without the volume's
 * topic table lock: while one waits inside mkdirat or renameat, the table
 * can be read (lookups, listings, opens of other topics go on). */
static void test_create_delete_io_unlocked(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "other");
	lfs_topic_put(t);
	for (int k = 0; k < 2; k++) {
		bool create = k == 0;
		struct op_arg a = {.v = f->v, .name = "slow", .create = create};
		pthread_t th;
		inj_reset();
		inj.name = "slow";
		inj.pause = true;
		assert_int_equal(pthread_create(&th, NULL, op_thread, &a), 0);
		inj_wait_in();
		/* The creator or deleter is inside its directory operation. */
		int busy = pthread_rwlock_tryrdlock(&f->v->topics_lock.rw);
		if (busy == 0)
			pthread_rwlock_unlock(&f->v->topics_lock.rw);
		inj_release();
		assert_int_equal(pthread_join(th, NULL), 0);
		inj_reset();
		assert_int_equal(busy, 0);
		assert_int_equal(a.rc, 0);
		assert_int_equal(lfs_topic_get(f->v, "slow", &t), create ? 0 : -ENOENT);
		if (create)
			lfs_topic_put(t);
	}
}

static void test_settings_persisted(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "conf");
	struct lfs_settings s, def;
	lfs_settings_default(&def);
	lfs_topic_settings(t, &s);
	assert_true(s.segment_size == def.segment_size);
	assert_int_equal(s.sync_mode, def.sync_mode);

	tu_set(t, LFS_SET_SEGMENT_SIZE, "8K");
	tu_set(t, LFS_SET_SEGMENT_MS, "2h");
	tu_set(t, LFS_SET_RETENTION_BYTES, "5G");
	tu_set(t, LFS_SET_RETENTION_MS, "7d");
	tu_set(t, LFS_SET_SYNC, "always");
	tu_set(t, LFS_SET_MAX_RECORD, "4K");
	tu_set(t, LFS_SET_FRAMING, "write");
	/* Invalid values: EINVAL and nothing changed. */
	assert_int_equal(lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, "1K"), -EINVAL);
	assert_int_equal(lfs_topic_set(t, LFS_SET_SYNC, "sometimes"), -EINVAL);
	assert_int_equal(lfs_topic_set(t, LFS_SET_MAX_RECORD, "1G"), -EINVAL);
	assert_int_equal(lfs_topic_set(t, LFS_SET_FRAMING, "lines"), -EINVAL);
	assert_int_equal(lfs_topic_set(t, LFS_SET_COUNT, "1"), -EINVAL);
	assert_int_equal(lfs_topic_set(t, (enum lfs_setting_id)-1, "1"), -EINVAL);
	for (int pass = 0; pass < 2; pass++) {
		lfs_topic_settings(t, &s);
		assert_true(s.segment_size == 8192);
		assert_true(s.segment_ms == 7200000);
		assert_true(s.retention_bytes == 5ull << 30);
		assert_true(s.retention_ms == 7ull * 86400000);
		assert_int_equal(s.sync_mode, LFS_SYNC_ALWAYS);
		assert_true(s.max_record == 4096);
		assert_int_equal(s.framing, LFS_FRAMING_WRITE);
		lfs_topic_put(t);
		reopen(f);
		assert_int_equal(lfs_topic_get(f->v, "conf", &t), 0);
	}
	/* Another topic keeps the volume's defaults. */
	lfs_topic *o = tu_topic(f->v, "other");
	lfs_topic_settings(o, &s);
	assert_true(s.segment_size == def.segment_size);
	assert_int_equal(s.framing, LFS_FRAMING_LINE);
	lfs_topic_put(o);
	/* The file is text an operator can read. */
	char *p = tu_fmt("grep -qx 'sync=always' '%s/topics/conf/topic.conf'", f->vol);
	assert_int_equal(system(p), 0);
	free(p);
	lfs_topic_put(t);
}

/* Mount options override the superblock's defaults; topic settings
 * override both. */
static void test_settings_layers(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "layers");
	tu_set(t, LFS_SET_RETENTION_MS, "1h");
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	struct lfs_open_opts o = {0};
	o.overrides.segment_size = 1 << 20;
	o.overrides.retention_ms = 5;
	o.overrides.max_record = 100;
	o.override_mask = 1u << LFS_SET_SEGMENT_SIZE | 1u << LFS_SET_RETENTION_MS;
	assert_int_equal(tu_volume_open(f->vol, &o, &f->v, NULL), 0);
	assert_int_equal(lfs_topic_get(f->v, "layers", &t), 0);
	struct lfs_settings s;
	lfs_topic_settings(t, &s);
	assert_true(s.segment_size == 1 << 20);  /* mount option */
	assert_true(s.retention_ms == 3600000);  /* topic's own */
	assert_true(s.max_record == 1 << 20);    /* not in the mask: default */
	lfs_topic_put(t);
}

static void test_framing_only_while_empty(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "fr");
	tu_set(t, LFS_SET_FRAMING, "write");
	tu_set(t, LFS_SET_FRAMING, "line");
	tu_set(t, LFS_SET_FRAMING, "write");
	tu_set(t, LFS_SET_FRAMING, "write");
	/* The (empty) active segment carries the new framing on disk. */
	char *p = tu_seg_path(f->vol, "fr", 0, "idx");
	struct lfs_idx_header h;
	struct lfs_idx_entry *e;
	size_t n;
	bool sealed;
	assert_true(tu_idx_load(p, &h, &e, &n, &sealed));
	assert_int_equal(h.framing, LFS_FRAMING_WRITE);
	assert_int_equal(n, 0);
	free(e);
	tu_append(t, LFS_FRAMING_WRITE, "rec", 3);
	assert_int_equal(lfs_topic_set(t, LFS_SET_FRAMING, "line"), -EINVAL);
	/* Setting the value it has is refused too once there are records. */
	assert_int_equal(lfs_topic_set(t, LFS_SET_FRAMING, "write"), -EINVAL);
	struct lfs_settings s;
	lfs_topic_settings(t, &s);
	assert_int_equal(s.framing, LFS_FRAMING_WRITE);
	lfs_topic_put(t);
	reopen(f);
	assert_int_equal(lfs_topic_get(f->v, "fr", &t), 0);
	assert_int_equal(lfs_topic_set(t, LFS_SET_FRAMING, "line"), -EINVAL);
	lfs_topic_settings(t, &s);
	assert_int_equal(s.framing, LFS_FRAMING_WRITE);
	tu_append(t, LFS_FRAMING_WRITE, "no newline", 10);
	assert_true(tu_idx_load(p, &h, &e, &n, &sealed));
	assert_int_equal(h.framing, LFS_FRAMING_WRITE);
	assert_int_equal(n, 2);
	free(e);
	free(p);
	/* Even when retention has removed every record. */
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	char big[5000];
	memset(big, 'b', sizeof(big));
	tu_append(t, LFS_FRAMING_WRITE, big, sizeof(big));
	tu_append(t, LFS_FRAMING_WRITE, big, sizeof(big));
	tu_set(t, LFS_SET_RETENTION_BYTES, "1");
	lfs_topic_apply_retention(t, tu_now());
	assert_int_equal(lfs_topic_set(t, LFS_SET_FRAMING, "line"), -EINVAL);
	lfs_topic_put(t);
}

static void test_meta(void **state)
{
	struct fix *f = *state;
	lfs_topic *t;
	struct lfs_topic_meta m = {.mode = 0640, .uid = 4242, .gid = 77}, got;
	assert_int_equal(lfs_topic_create(f->v, "meta", &m, &t), 0);
	lfs_topic_get_meta(t, &got);
	assert_int_equal(got.mode, 0640);
	assert_int_equal(got.uid, 4242);
	assert_int_equal(got.gid, 77);
	struct lfs_topic_meta m2 = {.mode = 01750, .uid = 0, .gid = 4294967294u};
	assert_int_equal(lfs_topic_set_meta(t, &m2), 0);
	tu_set(t, LFS_SET_SYNC, "never"); /* settings and meta share a file */
	lfs_topic_put(t);
	reopen(f);
	assert_int_equal(lfs_topic_get(f->v, "meta", &t), 0);
	lfs_topic_get_meta(t, &got);
	assert_int_equal(got.mode, 01750);
	assert_int_equal(got.uid, 0);
	assert_int_equal(got.gid, 4294967294u);
	struct lfs_settings s;
	lfs_topic_settings(t, &s);
	assert_int_equal(s.sync_mode, LFS_SYNC_NEVER);
	/* Only permission bits are kept. */
	struct lfs_topic_meta m3 = {.mode = 040755, .uid = 1, .gid = 2};
	assert_int_equal(lfs_topic_set_meta(t, &m3), 0);
	lfs_topic_put(t);
	reopen(f);
	assert_int_equal(lfs_topic_get(f->v, "meta", &t), 0);
	lfs_topic_get_meta(t, &got);
	assert_int_equal(got.mode & 07777, 0755);
	lfs_topic_put(t);
}

/* The mirror target is kept in topic.conf with the meta, survives settings
 * and meta changes and reopens; names that topic.conf cannot hold are
 * refused and change nothing. */
static void test_meta_mirror(void **state)
{
	struct fix *f = *state;
	lfs_topic *t;
	struct lfs_topic_meta m = {.mode = 0644}, got;
	assert_int_equal(lfs_topic_create(f->v, "mir", &m, &t), 0);
	lfs_topic_get_meta(t, &got);
	assert_string_equal(got.mirror, "");
	snprintf(m.mirror, sizeof(m.mirror), "ORDERS_1");
	assert_int_equal(lfs_topic_set_meta(t, &m), 0);
	tu_set(t, LFS_SET_SYNC, "never");
	lfs_topic_put(t);
	reopen(f);
	assert_int_equal(lfs_topic_get(f->v, "mir", &t), 0);
	lfs_topic_get_meta(t, &got);
	assert_string_equal(got.mirror, "ORDERS_1");
	assert_int_equal(got.mode, 0644);
	const char *bad[] = {"a b", "a\nb", "tab\t", "\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct lfs_topic_meta b = got;
		snprintf(b.mirror, sizeof(b.mirror), "%s", bad[i]);
		assert_int_equal(lfs_mirror_name_check(bad[i]), -EINVAL);
		assert_int_equal(lfs_topic_set_meta(t, &b), -EINVAL);
	}
	char longname[LFS_MIRROR_NAME_MAX + 2];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(lfs_mirror_name_check(longname), -EINVAL);
	longname[LFS_MIRROR_NAME_MAX] = 0;
	assert_int_equal(lfs_mirror_name_check(longname), 0);
	lfs_topic_get_meta(t, &got);
	assert_string_equal(got.mirror, "ORDERS_1");
	/* Off again: no mirror line is left. */
	got.mirror[0] = 0;
	assert_int_equal(lfs_topic_set_meta(t, &got), 0);
	lfs_topic_put(t);
	reopen(f);
	assert_int_equal(lfs_topic_get(f->v, "mir", &t), 0);
	lfs_topic_get_meta(t, &got);
	assert_string_equal(got.mirror, "");
	char *cmd = tu_fmt("! grep -q '^mirror=' '%s/topics/mir/topic.conf'", f->vol);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	lfs_topic_put(t);
}

struct logbuf {
	char text[8192];
};

static void logfn(void *ctx, int level, const char *msg)
{
	struct logbuf *b = ctx;
	(void)level;
	strncat(b->text, msg, sizeof(b->text) - strlen(b->text) - 2);
	strcat(b->text, "\n");
}

/* A damaged topic.conf: the topic is left out of the mount (its owner, mode
 * and framing unknown, no guess may widen access), the rest is mounted,
 * and the problem is logged. */
static void test_damaged_conf(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "dmg");
	tu_set(t, LFS_SET_SYNC, "never");
	tu_append_str(t, "kept\n");
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	char *p = tu_fmt("%s/topics/dmg/topic.conf", f->vol);
	FILE *fp = fopen(p, "r+");
	assert_non_null(fp);
	fputs("mode=777\n", fp); /* overwrite the first line: CRC mismatch */
	fclose(fp);
	free(p);
	struct logbuf lb = {{0}};
	struct lfs_open_opts o = {.log = logfn, .log_ctx = &lb};
	assert_int_equal(tu_volume_open(f->vol, &o, &f->v, NULL), 0);
	assert_non_null(strstr(lb.text, "topic dmg: topic.conf damaged"));
	assert_non_null(strstr(lb.text, "left out of the mount"));
	assert_int_equal(lfs_topic_get(f->v, "dmg", &t), -ENOENT);
	/* Its name stays taken until fsck repairs it. */
	struct lfs_topic_meta m = {.mode = 0755};
	assert_int_equal(lfs_topic_create(f->v, "dmg", &m, NULL), -EEXIST);
}

static void test_readonly_volume(void **state)
{
	struct fix *f = *state;
	lfs_topic *t = tu_topic(f->v, "ro");
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	char rec[1000];
	memset(rec, 'r', sizeof(rec));
	rec[999] = '\n';
	for (int i = 0; i < 10; i++)
		tu_append(t, LFS_FRAMING_LINE, rec, sizeof(rec));
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(f->v), 0);

	struct lfs_open_opts o = {.flags = LFS_OPEN_RDONLY};
	assert_int_equal(tu_volume_open(f->vol, &o, &f->v, NULL), 0);
	assert_true(lfs_volume_readonly(f->v));
	assert_int_equal(lfs_topic_get(f->v, "ro", &t), 0);
	struct lfs_topic_meta m = {.mode = 0755};
	lfs_topic *t2;
	assert_int_equal(lfs_topic_create(f->v, "new", &m, &t2), -EROFS);
	assert_int_equal(tu_append_rc(t, LFS_FRAMING_LINE, "x\n", 2, NULL), -EROFS);
	lfs_producer *p;
	assert_int_equal(lfs_producer_open(t, &p), -EROFS);
	assert_int_equal(lfs_topic_set(t, LFS_SET_SYNC, "never"), -EROFS);
	assert_int_equal(lfs_topic_set_meta(t, &m), -EROFS);
	assert_int_equal(lfs_topic_delete(f->v, "ro"), -EROFS);
	assert_int_equal(lfs_topic_delete_segment(t, 0), -EROFS);
	assert_int_equal(lfs_topic_sync(t), 0);
	assert_int_equal(lfs_topic_apply_retention(t, UINT64_MAX / 2), 0);
	/* Reading works. */
	size_t len;
	char *got = tu_read_all(t, &len);
	assert_int_equal(len, 10000);
	free(got);
	lfs_reader *r = tu_reader_at(t, 7);
	assert_int_equal(lfs_reader_size(r), 3000);
	lfs_reader_close(r);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	assert_true(st.next_offset == 10 && st.bytes == 10000);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(f->v), 0);
	/* A read-only open leaves the volume clean and unlocked. */
	f->v = tu_open(f->vol);
}

/* setfattr -x: a topic's own setting dropped, the default again, persisted;
 * framing only while the topic is empty. And the volume's figures. */
static void test_topic_unset(void **state)
{
	(void)state;
	char *vol = tu_mkvol(8192);
	lfs_volume *v = tu_open(vol);
	lfs_topic *t = tu_topic(v, "a");
	struct lfs_settings st;
	tu_set(t, LFS_SET_SEGMENT_SIZE, "4096");
	tu_set(t, LFS_SET_FRAMING, "write");
	lfs_topic_settings(t, &st);
	assert_int_equal(st.segment_size, 4096);
	assert_int_equal(lfs_topic_unset(t, LFS_SET_SEGMENT_SIZE), 0);
	assert_int_equal(lfs_topic_unset(t, LFS_SET_SYNC), 0); /* not set: no change */
	assert_int_equal(lfs_topic_unset(t, LFS_SET_FRAMING), 0); /* empty topic */
	lfs_topic_settings(t, &st);
	assert_int_equal(st.segment_size, 8192);
	assert_int_equal(st.framing, LFS_FRAMING_LINE);
	tu_append_str(t, "x\n");
	tu_set(t, LFS_SET_MAX_RECORD, "100");
	assert_int_equal(lfs_topic_unset(t, LFS_SET_FRAMING), -EINVAL); /* has a record */
	struct lfs_volume_stat vs;
	assert_int_equal(lfs_volume_stat(v, &vs), 0);
	assert_int_equal(vs.topics, 1);
	assert_int_equal(vs.bytes, 2);
	/* Persisted: after a reopen the default still applies, the rest stays. */
	tu_reopen(vol, &v, &t);
	lfs_topic_settings(t, &st);
	assert_int_equal(st.segment_size, 8192);
	assert_int_equal(st.max_record, 100);
	lfs_topic_put(t);
	assert_int_equal(lfs_volume_close(v), 0);
	tu_rmvol(vol);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_get_delete),
		T(test_invalid_names),
		T(test_busy_while_open),
		T(test_delete_fails),
		T(test_create_delete_io_unlocked),
		T(test_settings_persisted),
		T(test_settings_layers),
		T(test_framing_only_while_empty),
		T(test_meta),
		T(test_meta_mirror),
		T(test_damaged_conf),
		T(test_readonly_volume),
		cmocka_unit_test(test_topic_unset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
