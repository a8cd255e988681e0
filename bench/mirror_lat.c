/*
 * mirror_lat: what the mirror costs and how soon it delivers, through the
 * mount.
 *
 *   mirror_lat -l TOPICDIR REPS
 *       latency: REPS rounds of (append one 100-byte line to TOPICDIR/tail;
 *       from the write's return, poll user.logfs.mirror_lag until it reads
 *       0, i.e. until the stream acknowledged the record). Prints the p50
 *       and p99 in microseconds (each poll is one getxattr round trip, a
 *       few microseconds, included).
 *   mirror_lat -p TOPICDIR SECONDS
 *       producer throughput: one process appends 100-byte lines, one
 *       write(2) each, for SECONDS. Prints records/s.
 *   mirror_lat -c TOPICDIR STREAM
 *       catch-up: sets user.logfs.mirror to STREAM and polls
 *       user.logfs.mirror_lag every 5 ms until it reads 0. Prints the
 *       seconds from the setxattr call on (the polls are getxattr calls
 *       of this process, not a getfattr process started per poll, which
 *       would take CPU from the mirror it times).
 */
#include "benchutil.h"

#include <sys/xattr.h>

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int open_tail(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tail", dir);
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		bu_die(path, errno);
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "-l") && strcmp(argv[1], "-p") && strcmp(argv[1], "-c"))) {
		fprintf(stderr, "usage: mirror_lat -l TOPICDIR REPS | -p TOPICDIR SECONDS |"
				" -c TOPICDIR STREAM\n");
		return 2;
	}
	const char *dir = argv[2];
	if (!strcmp(argv[1], "-c")) {
		double t0 = bu_now();
		if (setxattr(dir, "user.logfs.mirror", argv[3], strlen(argv[3]), 0) < 0)
			bu_die("setxattr mirror", errno);
		for (;;) {
			char v[32];
			ssize_t n = getxattr(dir, "user.logfs.mirror_lag", v, sizeof(v) - 1);
			if (n < 0)
				bu_die("getxattr mirror_lag", errno);
			if (n == 1 && v[0] == '0')
				break;
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
		printf("%.3f\n", bu_now() - t0);
		return 0;
	}
	char line[100];
	bu_fill_lines(line, sizeof(line), sizeof(line));
	int fd = open_tail(dir);
	if (!strcmp(argv[1], "-p")) {
		double secs = atof(argv[3]), t0 = bu_now(), t;
		long n = 0;
		do {
			for (int i = 0; i < 256; i++, n++)
				if (write(fd, line, sizeof(line)) != (ssize_t)sizeof(line))
					bu_die("write", errno);
			t = bu_now();
		} while (t - t0 < secs);
		printf("%.0f\n", (double)n / (t - t0));
		return 0;
	}
	int reps = atoi(argv[3]);
	double *lat = calloc((size_t)reps, sizeof(*lat));
	if (!lat)
		return 1;
	for (int r = 0; r < reps; r++) {
		if (write(fd, line, sizeof(line)) != (ssize_t)sizeof(line))
			bu_die("write", errno);
		double t0 = bu_now();
		char v[32];
		for (;;) {
			ssize_t n = getxattr(dir, "user.logfs.mirror_lag", v, sizeof(v) - 1);
			if (n < 0)
				bu_die("getxattr mirror_lag", errno);
			if (n == 1 && v[0] == '0')
				break;
		}
		lat[r] = (bu_now() - t0) * 1e6;
	}
	qsort(lat, (size_t)reps, sizeof(*lat), cmp_d);
	printf("%.0f %.0f\n", lat[reps / 2], lat[(reps * 99) / 100]);
	return 0;
}
