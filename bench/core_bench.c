/*
 * core_bench: the core engine measured directly (no FUSE), side by side with
 * plain system calls on the same filesystem, and the volume generators the
 * mount benchmarks use.
 *
 *   core_bench append  DIR RECSIZE COUNT REPS   one record per call vs write(2)
 *   core_bench batch   DIR TOTAL REPS           1 MiB batches of 100 B lines vs write(2)
 *   core_bench read    DIR SIZE REPS            sealed segment read vs pread, warm
 *   core_bench scan    DIR TOTAL REPS           recovery scan with payload CRCs, warm
 *   core_bench mkfs    VOL [SEGSIZE]            format a volume (lfs_mkfs)
 *   core_bench gen     VOL TOPIC SEGSIZE TOTAL RECSIZE BATCHRECS [seal]
 *                                               fill a topic through the core
 *   core_bench retention VOL TOPIC KEEPBYTES   time a retention pass
 *   core_bench parts   DIR                      the append path's CPU parts
 *                                               alone: CRC32C, line framing
 *                                               (the record count), both in
 *                                               one pass, memcpy
 *
 * Comparative commands print one line per figure:
 *   RESULT name value unit
 * Timed runs alternate the two sides (core, plain, core, plain...) and the
 * medians are reported, so the machine's noise hits both alike.
 */
#include "benchutil.h"
#include "internal.h"
#include "logfs.h"

#include <dirent.h>
#include <stdbool.h>
#include <sys/uio.h>

#define TOPIC "bench"

static char g_dir[4096];

static void rm_rf(const char *path)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: %s failed\n", cmd);
}

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", g_dir, name);
}

/* A fresh volume DIR/vol, opened with sync=never (and a segment size). */
static lfs_volume *fresh_volume(uint64_t segsize, lfs_topic **topic)
{
	char vol[4200];
	path_in(vol, sizeof(vol), "vol");
	rm_rf(vol);
	struct lfs_mkfs_opts mo = {.segment_size = segsize};
	int rc = lfs_mkfs(vol, &mo, NULL);
	if (rc < 0)
		bu_die("lfs_mkfs", rc);
	struct lfs_open_opts oo = {0};
	oo.overrides.sync_mode = LFS_SYNC_NEVER;
	oo.override_mask = 1u << LFS_SET_SYNC;
	lfs_volume *v;
	rc = lfs_volume_open(vol, &oo, &v, NULL);
	if (rc < 0)
		bu_die("lfs_volume_open", rc);
	struct lfs_topic_meta m = {.mode = 0755};
	rc = lfs_topic_create(v, TOPIC, &m, topic);
	if (rc < 0)
		bu_die("lfs_topic_create", rc);
	return v;
}

static void close_volume(lfs_volume *v, lfs_topic *t)
{
	lfs_topic_put(t);
	int rc = lfs_volume_close(v);
	if (rc < 0)
		bu_die("lfs_volume_close", rc);
}

static int open_plain(const char *name)
{
	char p[4200];
	path_in(p, sizeof(p), name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		bu_die(p, errno);
	return fd;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0)
			bu_die("write", errno);
		buf += n;
		len -= (size_t)n;
	}
}

static void report_pair(const char *name, double *core, double *plain, int reps,
			const char *unit)
{
	double c = bu_median(core, reps), p = bu_median(plain, reps);
	printf("RESULT %s.core %.6g %s\n", name, c, unit);
	printf("RESULT %s.plain %.6g %s\n", name, p, unit);
	printf("RESULT %s.ratio %.4f x\n", name, c / p);
	fflush(stdout);
}

/* ---- append: one record per call ---- */

static int cmd_append(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	size_t rec = (size_t)bu_size(argv[1]);
	uint64_t count = bu_size(argv[2]);
	int reps = atoi(argv[3]);
	double *rc_core = calloc((size_t)reps, sizeof(double)),
	       *rc_plain = calloc((size_t)reps, sizeof(double));
	char *line = malloc(rec);
	bu_fill_lines(line, rec, rec);

	for (int r = 0; r < reps; r++) {
		lfs_topic *t;
		lfs_volume *v = fresh_volume(0, &t);
		struct iovec iov = {line, rec};
		sync(); /* start each side with no dirty pages of the other */
		double t0 = bu_now();
		for (uint64_t i = 0; i < count; i++) {
			int rc = lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL);
			if (rc < 0)
				bu_die("lfs_topic_append", rc);
		}
		rc_core[r] = (double)count / (bu_now() - t0);
		close_volume(v, t);

		int fd = open_plain("plain.dat");
		sync();
		t0 = bu_now();
		for (uint64_t i = 0; i < count; i++)
			if (write(fd, line, rec) != (ssize_t)rec)
				bu_die("write", errno);
		rc_plain[r] = (double)count / (bu_now() - t0);
		close(fd);
		fprintf(stderr, "  append %zu B rep %d: core %.0f/s plain %.0f/s\n", rec, r,
			rc_core[r], rc_plain[r]);
	}
	char name[64];
	snprintf(name, sizeof(name), "core_append_%zu", rec);
	report_pair(name, rc_core, rc_plain, reps, "rec/s");
	char p[4200];
	path_in(p, sizeof(p), "plain.dat");
	unlink(p);
	path_in(p, sizeof(p), "vol");
	rm_rf(p);
	return 0;
}

/* ---- batch: 1 MiB of 100-byte lines per call ---- */

#define BATCH_LINES 10485u /* 10485 * 100 = 1048500 bytes */

static int cmd_batch(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	uint64_t total = bu_size(argv[1]);
	int reps = atoi(argv[2]);
	size_t blen = BATCH_LINES * 100;
	uint64_t nb = total / blen;
	char *buf = malloc(blen);
	bu_fill_lines(buf, blen, 100);
	double *c = calloc((size_t)reps, sizeof(double)), *p = calloc((size_t)reps, sizeof(double));

	for (int r = 0; r < reps; r++) {
		lfs_topic *t;
		lfs_volume *v = fresh_volume(0, &t);
		struct iovec iov = {buf, blen};
		sync();
		double t0 = bu_now();
		for (uint64_t i = 0; i < nb; i++) {
			int rc = lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL);
			if (rc < 0)
				bu_die("lfs_topic_append", rc);
		}
		c[r] = (double)(nb * blen) / (bu_now() - t0) / 1e6;
		close_volume(v, t);

		int fd = open_plain("plain.dat");
		sync();
		t0 = bu_now();
		for (uint64_t i = 0; i < nb; i++)
			write_all(fd, buf, blen);
		p[r] = (double)(nb * blen) / (bu_now() - t0) / 1e6;
		close(fd);
		fprintf(stderr, "  batch rep %d: core %.0f MB/s plain %.0f MB/s\n", r, c[r], p[r]);
	}
	report_pair("core_batch_1m", c, p, reps, "MB/s");
	char path[4200];
	path_in(path, sizeof(path), "plain.dat");
	unlink(path);
	path_in(path, sizeof(path), "vol");
	rm_rf(path);
	return 0;
}

/* Fills topic t with about total bytes of rec-byte lines in batches of
 * batchrecs records; returns bytes appended. */
static uint64_t fill(lfs_topic *t, uint64_t total, size_t rec, size_t batchrecs)
{
	size_t blen = rec * batchrecs;
	char *buf = malloc(blen);
	bu_fill_lines(buf, blen, rec);
	uint64_t done = 0;
	struct iovec iov = {buf, blen};
	while (done < total) {
		if (total - done < blen)
			iov.iov_len = (total - done + rec - 1) / rec * rec;
		int rc = lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL);
		if (rc < 0)
			bu_die("lfs_topic_append", rc);
		done += iov.iov_len;
	}
	free(buf);
	return done;
}

/* Appends one more line so that the active segment rolls (is sealed). */
static void force_roll(lfs_topic *t)
{
	char big[8192];
	bu_fill_lines(big, sizeof(big), sizeof(big));
	struct iovec iov = {big, sizeof(big)};
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	uint64_t segs = st.segments;
	/* A segment rolls when the next append would pass segment_size. */
	for (int i = 0; i < 100000; i++) {
		int rc = lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL);
		if (rc < 0)
			bu_die("lfs_topic_append", rc);
		lfs_topic_stat(t, &st);
		if (st.segments > segs)
			return;
	}
}

/* ---- read: sealed segment vs pread of the same file ---- */

static int cmd_read(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	uint64_t size = bu_size(argv[1]);
	int reps = atoi(argv[2]);
	lfs_topic *t;
	lfs_volume *v = fresh_volume(size, &t);
	fill(t, size - 8192, 100, 10000);
	force_roll(t);
	uint64_t *bases;
	size_t nb;
	int rc = lfs_topic_list_sealed(t, &bases, &nb);
	if (rc < 0 || nb == 0)
		bu_die("no sealed segment", rc < 0 ? rc : EINVAL);
	lfs_segment *s;
	rc = lfs_segment_get(t, bases[0], &s);
	if (rc < 0)
		bu_die("lfs_segment_get", rc);
	struct lfs_segment_stat ss;
	lfs_segment_stat(s, &ss);
	char name[32], path[4300];
	lfs_seg_name(bases[0], "log", name);
	snprintf(path, sizeof(path), "%s/vol/topics/" TOPIC "/%s", g_dir, name);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		bu_die(path, errno);
	size_t bs = 1u << 20;
	char *buf = malloc(bs);
	double *c = calloc((size_t)reps, sizeof(double)), *p = calloc((size_t)reps, sizeof(double));
	for (int r = -1; r < reps; r++) { /* r = -1 warms both */
		double t0 = bu_now();
		for (uint64_t off = 0; off < ss.bytes; off += bs) {
			ssize_t n = lfs_segment_read(s, buf, bs, off);
			if (n <= 0)
				bu_die("lfs_segment_read", n < 0 ? (int)n : EIO);
		}
		double tc = bu_now() - t0;
		t0 = bu_now();
		for (uint64_t off = 0; off < ss.bytes; off += bs) {
			ssize_t n = pread(fd, buf, bs, (off_t)off);
			if (n <= 0)
				bu_die("pread", n < 0 ? errno : EIO);
		}
		double tp = bu_now() - t0;
		if (r >= 0) {
			c[r] = (double)ss.bytes / tc / 1e6;
			p[r] = (double)ss.bytes / tp / 1e6;
			fprintf(stderr, "  read rep %d: segment %.0f MB/s pread %.0f MB/s\n", r, c[r],
				p[r]);
		}
	}
	report_pair("core_sealed_read", c, p, reps, "MB/s");
	close(fd);
	lfs_segment_put(s);
	free(bases);
	close_volume(v, t);
	path_in(path, sizeof(path), "vol");
	rm_rf(path);
	return 0;
}

/* ---- scan: the recovery scanner over warm sealed segments ---- */

static void read_out(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	static char buf[1 << 20];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static int cmd_scan(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	uint64_t total = bu_size(argv[1]);
	int reps = atoi(argv[2]);
	lfs_topic *t;
	lfs_volume *v = fresh_volume(64u << 20, &t);
	fill(t, total, 100, 10000);
	force_roll(t);
	uint64_t *bases;
	size_t nb;
	int rc = lfs_topic_list_sealed(t, &bases, &nb);
	if (rc < 0)
		bu_die("list", rc);
	close_volume(v, t);

	char dir[4300];
	snprintf(dir, sizeof(dir), "%s/vol/topics/" TOPIC, g_dir);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		bu_die(dir, errno);
	for (size_t i = 0; i < nb; i++) { /* warm */
		char name[32], p[4400];
		lfs_seg_name(bases[i], "log", name);
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		read_out(p);
		lfs_seg_name(bases[i], "idx", name);
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		read_out(p);
	}
	double *g = calloc((size_t)reps, sizeof(double));
	for (int r = 0; r < reps; r++) {
		uint64_t bytes = 0;
		double t0 = bu_now();
		for (size_t i = 0; i < nb; i++) {
			struct lfs_scan_result res;
			rc = lfs_scan_segment(dfd, TOPIC, bases[i], LFS_SCAN_VERIFY_PAYLOAD, false, NULL,
					      NULL, NULL, &res);
			if (rc < 0)
				bu_die("lfs_scan_segment", rc);
			if (res.damaged)
				bu_die("scan found damage", EIO);
			bytes += res.valid_bytes;
		}
		double dt = bu_now() - t0;
		g[r] = (double)bytes / dt / 1e9;
		fprintf(stderr, "  scan rep %d: %zu segments, %.0f MB in %.3f s: %.2f GB/s\n", r, nb,
			(double)bytes / 1e6, dt, g[r]);
	}
	printf("RESULT core_scan %.4g GB/s\n", bu_median(g, reps));
	printf("RESULT core_scan.segments %zu n\n", nb);
	close(dfd);
	free(bases);
	char path[4300];
	path_in(path, sizeof(path), "vol");
	rm_rf(path);
	return 0;
}

/* ---- generators for the mount benchmarks ---- */

static int cmd_mkfs(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	struct lfs_mkfs_opts mo = {.segment_size = argc > 2 ? bu_size(argv[2]) : 0, .force = true};
	int rc = lfs_mkfs(argv[1], &mo, NULL);
	if (rc < 0)
		bu_die("lfs_mkfs", rc);
	return 0;
}

static int cmd_gen(int argc, char **argv)
{
	if (argc < 7)
		return 2;
	const char *vol = argv[1], *topic = argv[2];
	uint64_t segsize = bu_size(argv[3]), total = bu_size(argv[4]);
	size_t rec = (size_t)bu_size(argv[5]), batch = (size_t)bu_size(argv[6]);
	bool seal = argc > 7 && strcmp(argv[7], "seal") == 0;
	struct lfs_open_opts oo = {0};
	oo.overrides.sync_mode = LFS_SYNC_NEVER;
	oo.override_mask = 1u << LFS_SET_SYNC;
	lfs_volume *v;
	int rc = lfs_volume_open(vol, &oo, &v, NULL);
	if (rc < 0)
		bu_die("lfs_volume_open", rc);
	lfs_topic *t;
	struct lfs_topic_meta m = {.mode = 0755};
	rc = lfs_topic_get(v, topic, &t);
	if (rc == -ENOENT)
		rc = lfs_topic_create(v, topic, &m, &t);
	if (rc < 0)
		bu_die("topic", rc);
	char sz[32];
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)segsize);
	rc = lfs_topic_set(t, LFS_SET_SEGMENT_SIZE, sz);
	if (rc < 0)
		bu_die("set segment_size", rc);
	double t0 = bu_now();
	fill(t, total, rec, batch);
	if (seal)
		force_roll(t);
	struct lfs_topic_stat st;
	lfs_topic_stat(t, &st);
	fprintf(stderr, "gen %s/%s: %llu records, %llu bytes, %llu segments in %.1f s\n", vol,
		topic, (unsigned long long)st.next_offset, (unsigned long long)st.bytes,
		(unsigned long long)st.segments, bu_now() - t0);
	printf("%llu %llu %llu\n", (unsigned long long)st.next_offset,
	       (unsigned long long)st.bytes, (unsigned long long)st.segments);
	close_volume(v, t);
	return 0;
}

static int cmd_retention(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	lfs_volume *v;
	int rc = lfs_volume_open(argv[1], &(struct lfs_open_opts){0}, &v, NULL);
	if (rc < 0)
		bu_die("lfs_volume_open", rc);
	lfs_topic *t;
	rc = lfs_topic_get(v, argv[2], &t);
	if (rc < 0)
		bu_die("topic", rc);
	double t0 = bu_now();
	rc = lfs_topic_set(t, LFS_SET_RETENTION_BYTES, argv[3]);
	if (rc < 0)
		bu_die("set retention_bytes", rc);
	rc = lfs_topic_apply_retention(t, lfs_now_ns());
	double dt = bu_now() - t0;
	if (rc < 0)
		bu_die("retention", rc);
	printf("RESULT retention.deleted %d n\n", rc);
	printf("RESULT retention.time_ms %.3f ms\n", dt * 1e3);
	close_volume(v, t);
	return 0;
}

/* ---- parts: what one byte of a batch costs the append path's CPU ---- */

static int cmd_parts(void)
{
	size_t blen = BATCH_LINES * 100;
	char *buf = malloc(blen), *dst = malloc(blen);
	bu_fill_lines(buf, blen, 100);
	memset(dst, 0, blen);
	int n = 2000;
	volatile uint32_t sink = 0;
	double t0 = bu_now();
	for (int i = 0; i < n; i++)
		sink += lfs_crc32c(0, buf, blen);
	double crc = (double)blen * n / (bu_now() - t0) / 1e9;
	/* The line framing of a batch: its records counted (the limit on a
	 * line's length costs a backward search or two per max_record). */
	t0 = bu_now();
	for (int i = 0; i < n; i++)
		sink += (uint32_t)lfs_count_byte(buf, blen, '\n');
	double lines = (double)blen * n / (bu_now() - t0) / 1e9;
	/* Both in one pass, as the append path makes them. */
	t0 = bu_now();
	for (int i = 0; i < n; i++) {
		size_t count;
		sink += lfs_crc32c_count(0, buf, blen, '\n', &count) + (uint32_t)count;
	}
	double both = (double)blen * n / (bu_now() - t0) / 1e9;
	t0 = bu_now();
	for (int i = 0; i < n; i++) {
		memcpy(dst, buf, blen);
		sink += (uint32_t)dst[i];
	}
	double cpy = (double)blen * n / (bu_now() - t0) / 1e9;
	(void)sink;
	printf("RESULT parts.crc32c %.4g GB/s\n", crc);
	printf("RESULT parts.line_count %.4g GB/s\n", lines);
	printf("RESULT parts.crc32c_and_line_count %.4g GB/s\n", both);
	printf("RESULT parts.memcpy_1MiB_warm %.4g GB/s\n", cpy);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: core_bench append|batch|read|scan DIR ARGS...\n"
				"       core_bench mkfs VOL [SEGSIZE] | gen VOL TOPIC SEGSIZE TOTAL "
				"RECSIZE BATCHRECS [seal] | retention VOL TOPIC BYTES\n");
		return 2;
	}
	const char *cmd = argv[1];
	snprintf(g_dir, sizeof(g_dir), "%s", argv[2]);
	mkdir(g_dir, 0755);
	int rc = 2;
	if (!strcmp(cmd, "append"))
		rc = cmd_append(argc - 2, argv + 2);
	else if (!strcmp(cmd, "batch"))
		rc = cmd_batch(argc - 2, argv + 2);
	else if (!strcmp(cmd, "read"))
		rc = cmd_read(argc - 2, argv + 2);
	else if (!strcmp(cmd, "scan"))
		rc = cmd_scan(argc - 2, argv + 2);
	else if (!strcmp(cmd, "mkfs"))
		rc = cmd_mkfs(argc - 1, argv + 1);
	else if (!strcmp(cmd, "gen"))
		rc = cmd_gen(argc - 1, argv + 1);
	else if (!strcmp(cmd, "parts"))
		rc = cmd_parts();
	else if (!strcmp(cmd, "retention"))
		rc = cmd_retention(argc - 1, argv + 1);
	if (rc == 2)
		fprintf(stderr, "core_bench: bad arguments for %s\n", cmd);
	return rc;
}
