/*
 * cursor: what a consumer cursor costs over the same @N view.
 *
 *   cursor -c REPS TOPICDIR SYNCFILE
 *       close latency: REPS rounds of (append one line to TOPICDIR/tail;
 *       open TOPICDIR/cursors/bench, read it to its end, close) against
 *       the same with TOPICDIR/@N; prints the median close(2) time of each
 *       in microseconds, and, for reference, the median time of one 256-byte
 *       pwrite + fdatasync of SYNCFILE (a file on the volume's filesystem):
 *       a cursor's close should cost one such round more than @N's; and the
 *       median over rounds of (cursor close - @N close) / that round.
 *   cursor -t TOPICDIR
 *       read throughput: reads TOPICDIR/@F (F its first offset) to its end
 *       and then TOPICDIR/cursors/bench from "begin" to its end, in 1 MiB
 *       reads, three times each, alternating; prints the median MB/s of each.
 */
#include "benchutil.h"

#include <sys/xattr.h>

static void put_line(const char *tail, int i)
{
	int fd = open(tail, O_WRONLY | O_APPEND);
	if (fd < 0)
		bu_die(tail, errno);
	char line[64];
	int n = snprintf(line, sizeof(line), "cursor bench %d\n", i);
	if (write(fd, line, (size_t)n) != n)
		bu_die("write", errno);
	close(fd);
}

/* Opens path, reads it to the end (buffer buf), returns the close time. */
static double read_close(const char *path, char *buf, size_t len, uint64_t *bytes)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		bu_die(path, errno);
	ssize_t n;
	while ((n = read(fd, buf, len)) > 0)
		*bytes += (uint64_t)n;
	if (n < 0)
		bu_die("read", errno);
	double t0 = bu_now();
	if (close(fd) < 0)
		bu_die("close", errno);
	return bu_now() - t0;
}

static uint64_t xattr_u64(const char *path, const char *name)
{
	char v[32];
	ssize_t n = getxattr(path, name, v, sizeof(v) - 1);
	if (n < 0)
		bu_die(name, errno);
	v[n] = 0;
	return strtoull(v, NULL, 10);
}

static void set_pos(const char *cur, const char *what)
{
	int fd = open(cur, O_WRONLY);
	if (fd < 0 || write(fd, what, strlen(what)) != (ssize_t)strlen(what))
		bu_die("reposition", errno);
	close(fd);
}

static int closes(int reps, const char *dir, const char *syncfile)
{
	char tail[4096], cur[4096], at[4096];
	snprintf(tail, sizeof(tail), "%s/tail", dir);
	snprintf(cur, sizeof(cur), "%s/cursors/bench", dir);
	int fd = open(cur, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		bu_die(cur, errno);
	close(fd);
	set_pos(cur, "end");
	double *c = calloc((size_t)reps, sizeof(double)), *a = calloc((size_t)reps, sizeof(double)),
	       *s = calloc((size_t)reps, sizeof(double)), *r = calloc((size_t)reps, sizeof(double));
	char buf[65536], rec[256];
	uint64_t bytes = 0;
	memset(rec, 'x', sizeof(rec));
	int sfd = open(syncfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!c || !a || !s || !r || sfd < 0)
		bu_die("setup", errno ? errno : ENOMEM);
	for (int i = 0; i < reps; i++) {
		put_line(tail, i);
		uint64_t next = xattr_u64(dir, "user.logfs.next_offset");
		snprintf(at, sizeof(at), "%s/@%llu", dir, (unsigned long long)(next - 1));
		c[i] = read_close(cur, buf, sizeof(buf), &bytes);
		a[i] = read_close(at, buf, sizeof(buf), &bytes);
		double t0 = bu_now();
		if (pwrite(sfd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec) || fdatasync(sfd) < 0)
			bu_die("fdatasync", errno);
		s[i] = bu_now() - t0;
		r[i] = (c[i] - a[i]) / s[i];
	}
	close(sfd);
	unlink(syncfile);
	if (xattr_u64(cur, "user.logfs.lag") != 0)
		bu_die("the cursor did not commit every close", EIO);
	printf("close_cursor_us=%.1f\nclose_at_us=%.1f\nfdatasync_us=%.1f\n", bu_median(c, reps) * 1e6,
	       bu_median(a, reps) * 1e6, bu_median(s, reps) * 1e6);
	/* The load moves all three figures; the same round's ratio does not. */
	printf("close_extra_over_fdatasync_round_median=%.2f\n", bu_median(r, reps));
	free(c);
	free(a);
	free(s);
	free(r);
	return 0;
}

static double read_mb(const char *path, char *buf, size_t len)
{
	uint64_t bytes = 0;
	double t0 = bu_now();
	read_close(path, buf, len, &bytes);
	return (double)bytes / (bu_now() - t0) / 1e6;
}

static int throughput(const char *dir)
{
	char cur[4096], at[4096];
	snprintf(cur, sizeof(cur), "%s/cursors/bench", dir);
	snprintf(at, sizeof(at), "%s/@%llu", dir,
		 (unsigned long long)xattr_u64(dir, "user.logfs.first_offset"));
	int fd = open(cur, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		bu_die(cur, errno);
	close(fd);
	size_t len = 1 << 20;
	char *buf = malloc(len);
	double c[3], a[3];
	if (!buf)
		bu_die("malloc", ENOMEM);
	for (int i = 0; i < 3; i++) {
		a[i] = read_mb(at, buf, len);
		set_pos(cur, "begin");
		c[i] = read_mb(cur, buf, len);
	}
	printf("read_at_mb=%.0f\nread_cursor_mb=%.0f\n", bu_median(a, 3), bu_median(c, 3));
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "-c"))
		return closes(atoi(argv[2]), argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "-t"))
		return throughput(argv[2]);
	fprintf(stderr, "usage: cursor -c REPS TOPICDIR SYNCFILE | cursor -t TOPICDIR\n");
	return 2;
}
