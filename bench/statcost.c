/*
 * statcost: the cost of stat(2) of a topic's tail while many readers have
 * it open (bench/stat.sh).
 *
 *   statcost TOPICDIR READERS ROUNDS [PATH...]
 *
 * Opens READERS read-only descriptors of TOPICDIR/tail (raising
 * RLIMIT_NOFILE as far as the hard limit allows), then times ROUNDS calls
 * each of stat(2) of TOPICDIR/tail (a lookup and its attributes), fstat(2)
 * of one open descriptor (GETATTR by inode) and stat(2) of each PATH (a
 * cursor, a segment), and prints "readers N stat_us X fstat_us Y" and
 * " PATH_us Z" for each PATH (means, microseconds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: statcost TOPICDIR READERS ROUNDS [PATH...]\n");
		return 2;
	}
	char tail[4200];
	snprintf(tail, sizeof(tail), "%s/tail", argv[1]);
	long readers = atol(argv[2]), rounds = atol(argv[3]);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* the opens below say if it was not enough */
	}
	int first = -1;
	for (long i = 0; i < readers; i++) {
		int fd = open(tail, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "statcost: open %s (reader %ld): %s\n", tail, i, strerror(errno));
			return 1;
		}
		if (first < 0)
			first = fd;
	}
	if (first < 0 && (first = open(tail, O_RDONLY)) < 0) {
		fprintf(stderr, "statcost: open %s: %s\n", tail, strerror(errno));
		return 1;
	}
	struct stat st;
	double t0 = now_us();
	for (long i = 0; i < rounds; i++)
		if (stat(tail, &st) < 0) {
			fprintf(stderr, "statcost: stat: %s\n", strerror(errno));
			return 1;
		}
	double t1 = now_us();
	for (long i = 0; i < rounds; i++)
		if (fstat(first, &st) < 0) {
			fprintf(stderr, "statcost: fstat: %s\n", strerror(errno));
			return 1;
		}
	double t2 = now_us();
	printf("readers %ld stat_us %.1f fstat_us %.1f", readers, (t1 - t0) / (double)rounds,
	       (t2 - t1) / (double)rounds);
	for (int a = 4; a < argc; a++) {
		double s0 = now_us();
		for (long i = 0; i < rounds; i++)
			if (stat(argv[a], &st) < 0) {
				fprintf(stderr, "statcost: stat %s: %s\n", argv[a], strerror(errno));
				return 1;
			}
		const char *base = strrchr(argv[a], '/');
		printf(" %s_us %.1f", base ? base + 1 : argv[a], (now_us() - s0) / (double)rounds);
	}
	printf("\n");
	return 0;
}
