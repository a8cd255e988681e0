/*
 * reader: read benchmarks.
 *
 *   reader [-b BUFSIZE] [-p READERS] PATH...
 *       each of READERS processes reads a PATH sequentially to its end
 *       (reader K the (K mod number of PATHs)-th); prints the aggregate
 *       MB/s and the median time to first byte
 *   reader -r COUNT [-p READERS] [-S SIZE] PATH
 *       each reader does COUNT random 4 KiB preads (aligned) within SIZE
 *       (default: the file's size); prints reads/s
 *   reader -F SECONDS [-b BUFSIZE] PATH
 *       follows PATH like tail -f for SECONDS (read, and on 0 wait 100 us);
 *       prints MB/s read
 *   reader -e FILE...
 *       evicts the files' pages from the page cache (posix_fadvise DONTNEED)
 *   reader -t REPS PATH...
 *       time to first byte: open, read 4 KiB, close, REPS times per path;
 *       prints the median and the maximum in microseconds. With several
 *       paths the opens take turns (path 1, 2, ..., 1, 2, ...), so that a
 *       burst of load on the machine falls on all of them alike, and the
 *       figures are printed as ttfb.K and ttfb_max.K (K from 0).
 */
#include "benchutil.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>

struct slot {
	uint64_t bytes, ops;
	double elapsed, ttfb;
	int err;
};

static int ttfb(char **paths, int npaths, int reps)
{
	double *v = calloc((size_t)reps * (size_t)npaths, sizeof(double));
	double *mx = calloc((size_t)npaths, sizeof(double));
	char buf[4096];
	if (!v || !mx)
		bu_die("calloc", ENOMEM);
	for (int i = 0; i < reps; i++)
		for (int k = 0; k < npaths; k++) {
			double t0 = bu_now();
			int fd = open(paths[k], O_RDONLY);
			if (fd < 0)
				bu_die(paths[k], errno);
			ssize_t n = read(fd, buf, sizeof(buf));
			double us = (bu_now() - t0) * 1e6;
			close(fd);
			if (n <= 0)
				bu_die("read: empty", n < 0 ? errno : EIO);
			v[(size_t)k * (size_t)reps + (size_t)i] = us;
			if (us > mx[k])
				mx[k] = us;
		}
	for (int k = 0; k < npaths; k++) {
		double med = bu_median(v + (size_t)k * (size_t)reps, reps);
		if (npaths == 1) {
			printf("RESULT ttfb %.6g us\n", med);
			printf("RESULT ttfb_max %.6g us\n", mx[k]);
		} else {
			printf("RESULT ttfb.%d %.6g us\n", k, med);
			printf("RESULT ttfb_max.%d %.6g us\n", k, mx[k]);
		}
	}
	free(v);
	free(mx);
	return 0;
}

static int follow(const char *path, double seconds, size_t bs)
{
	char *buf = malloc(bs);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		bu_die(path, errno);
	uint64_t bytes = 0, empty = 0;
	double t0 = bu_now(), deadline = t0 + seconds;
	/* Start at the end of what is there: measure what is followed live. */
	off_t end = lseek(fd, 0, SEEK_END);
	if (end > 0)
		lseek(fd, end, SEEK_SET);
	while (bu_now() < deadline) {
		ssize_t n = read(fd, buf, bs);
		if (n < 0)
			bu_die("read", errno);
		if (n == 0) {
			empty++;
			usleep(100);
			continue;
		}
		bytes += (uint64_t)n;
	}
	double dt = bu_now() - t0;
	printf("RESULT follow_mb %.6g MB/s\n", (double)bytes / dt / 1e6);
	printf("RESULT follow_empty_reads %llu n\n", (unsigned long long)empty);
	return 0;
}

int main(int argc, char **argv)
{
	size_t bs = 1u << 20;
	int readers = 1, opt, reps = 0;
	uint64_t randcount = 0, size = 0;
	double followsec = 0;
	bool evict = false;

	while ((opt = getopt(argc, argv, "b:p:r:S:F:et:")) != -1) {
		switch (opt) {
		case 'b': bs = (size_t)bu_size(optarg); break;
		case 'p': readers = atoi(optarg); break;
		case 'r': randcount = bu_size(optarg); break;
		case 'S': size = bu_size(optarg); break;
		case 'F': followsec = atof(optarg); break;
		case 'e': evict = true; break;
		case 't': reps = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: see the comment at the top of bench/reader.c\n");
			return 2;
		}
	}
	if (optind >= argc)
		return 2;
	if (evict) {
		for (int i = optind; i < argc; i++) {
			int rc = bu_evict(argv[i]);
			if (rc < 0)
				bu_die(argv[i], rc);
		}
		return 0;
	}
	const char *path = argv[optind];
	if (reps)
		return ttfb(argv + optind, argc - optind, reps);
	if (followsec > 0)
		return follow(path, followsec, bs);
	if (randcount && !size) {
		struct stat st;
		if (stat(path, &st) < 0)
			bu_die(path, errno);
		size = (uint64_t)st.st_size;
	}

	struct slot *slots = mmap(NULL, sizeof(struct slot) * (size_t)readers,
				  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		bu_die("mmap", errno);
	struct bu_team team;
	int r = bu_team_fork(&team, readers);
	if (r >= 0) {
		bu_team_wait(&team);
		size_t b = randcount ? 4096 : bs;
		char *buf = aligned_alloc(4096, b);
		double t0 = bu_now();
		int fd = open(argv[optind + r % (argc - optind)], O_RDONLY);
		if (fd < 0) {
			slots[r].err = errno;
			_exit(1);
		}
		uint64_t bytes = 0, ops = 0;
		if (randcount) {
			uint64_t pages = size / 4096, x = 88172645463325252ull ^ (uint64_t)r * 7919;
			for (uint64_t i = 0; i < randcount; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				ssize_t n = pread(fd, buf, 4096, (off_t)((x % pages) * 4096));
				if (n < 0) {
					slots[r].err = errno;
					break;
				}
				if (i == 0)
					slots[r].ttfb = bu_now() - t0;
				bytes += (uint64_t)n;
				ops++;
			}
		} else {
			for (;;) {
				ssize_t n = read(fd, buf, b);
				if (n < 0) {
					slots[r].err = errno;
					break;
				}
				if (n == 0)
					break;
				if (ops == 0)
					slots[r].ttfb = bu_now() - t0;
				bytes += (uint64_t)n;
				ops++;
			}
		}
		slots[r].elapsed = bu_now() - t0;
		slots[r].bytes = bytes;
		slots[r].ops = ops;
		close(fd);
		_exit(0);
	}
	bu_team_go(&team);
	int failed = bu_team_reap(&team);
	uint64_t bytes = 0, ops = 0;
	double longest = 0, *tt = calloc((size_t)readers, sizeof(double));
	for (int r = 0; r < readers; r++) {
		if (slots[r].err) {
			fprintf(stderr, "reader %d: %s\n", r, strerror(slots[r].err));
			failed = 1;
		}
		bytes += slots[r].bytes;
		ops += slots[r].ops;
		tt[r] = slots[r].ttfb * 1e6;
		if (slots[r].elapsed > longest)
			longest = slots[r].elapsed;
	}
	if (failed)
		return 1;
	if (randcount)
		printf("RESULT random_reads %.6g reads/s\n", (double)ops / longest);
	printf("RESULT read_mb %.6g MB/s\n", (double)bytes / longest / 1e6);
	printf("RESULT read_ttfb %.6g us\n", bu_median(tt, readers));
	printf("RESULT read_bytes %llu B\n", (unsigned long long)bytes);
	return 0;
}
