/*
 * fsck_bench: how fast fsck.logfs checks a volume, warm cache.
 *
 *   fsck_bench FSCK DIR [TOTAL [BATCH [REPS]]]
 *
 * Formats DIR/vol (64 MiB segments), fills topic "bench" through the core
 * with TOTAL bytes (default 1G) of 100-byte lines appended BATCH bytes at a
 * time (default 64K; 100 = one line per append, the worst case for the
 * index), closes it cleanly, then runs `FSCK -f -n DIR/vol` REPS times
 * (default 3) without dropping caches and prints, per run and as the
 * median, the payload bytes checked per second:
 *   RESULT fsck_full_check_GBps VALUE GB/s
 * The volume is removed at the end. Exit 0, or 1 on any failure (including
 * fsck.logfs not exiting 0).
 */
#include "logfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "fsck_bench: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run_fsck(const char *fsck, const char *vol)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		execl(fsck, fsck, "-f", "-n", vol, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid", errno);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fsck_bench FSCK DIR [TOTAL [BATCH [REPS]]]\n");
		return 1;
	}
	const char *fsck = argv[1];
	uint64_t total = 1ull << 30, batch = 64 << 10;
	int reps = argc > 5 ? atoi(argv[5]) : 3;
	if (argc > 3 && lfs_parse_size(argv[3], &total) < 0)
		die("bad TOTAL", EINVAL);
	if (argc > 4 && lfs_parse_size(argv[4], &batch) < 0)
		die("bad BATCH", EINVAL);
	batch = batch / 100 * 100;
	if (batch == 0 || reps < 1)
		die("BATCH must be >= 100 and REPS >= 1", EINVAL);

	char vol[4096];
	snprintf(vol, sizeof(vol), "%s/vol", argv[2]);
	struct lfs_mkfs_opts mo = {.segment_size = 64ull << 20, .force = true};
	int rc = lfs_mkfs(vol, &mo, NULL);
	if (rc < 0)
		die("mkfs", rc);
	lfs_volume *v;
	lfs_topic *t;
	struct lfs_topic_meta meta = {.mode = 0755};
	if ((rc = lfs_volume_open(vol, NULL, &v, NULL)) < 0 ||
	    (rc = lfs_topic_create(v, "bench", &meta, &t)) < 0)
		die("open", rc);
	char *buf = malloc(batch);
	if (!buf)
		die("malloc", ENOMEM);
	for (uint64_t i = 0; i < batch; i += 100) {
		int n = snprintf(buf + i, 100, "%012llu ", (unsigned long long)(i / 100));
		memset(buf + i + n, 'a' + (int)(i / 100 % 26), (size_t)(99 - n));
		buf[i + 99] = '\n';
	}
	double t0 = now();
	uint64_t done = 0;
	for (; done < total; done += batch) {
		struct iovec iov = {buf, batch};
		if ((rc = lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL)) < 0)
			die("append", rc);
	}
	lfs_topic_put(t);
	if ((rc = lfs_volume_close(v)) < 0)
		die("close", rc);
	total = done;
	printf("wrote %.2f GiB of 100-byte lines, %llu bytes per append, in %.1f s\n",
	       (double)total / (1 << 30), (unsigned long long)batch, now() - t0);
	fflush(stdout);

	double *gbps = calloc((size_t)reps, sizeof(*gbps));
	if (!gbps)
		die("calloc", ENOMEM);
	if (run_fsck(fsck, vol) != 0) /* warm-up: everything in the page cache */
		die("fsck.logfs -f -n did not exit 0", EIO);
	for (int r = 0; r < reps; r++) {
		double s = now();
		int st = run_fsck(fsck, vol);
		double secs = now() - s;
		if (st != 0)
			die("fsck.logfs -f -n did not exit 0", EIO);
		gbps[r] = (double)total / secs / 1e9;
		printf("run %d: %.3f s, %.2f GB/s\n", r + 1, secs, gbps[r]);
	}
	qsort(gbps, (size_t)reps, sizeof(*gbps), cmp_double);
	printf("RESULT fsck_full_check_GBps %.2f GB/s\n", gbps[reps / 2]);
	free(gbps);
	free(buf);
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vol);
	if (system(cmd) != 0)
		fprintf(stderr, "fsck_bench: could not remove %s\n", vol);
	return 0;
}
