/*
 * ingest: sustained ingest. W writers (processes, each with its own fd
 * opened with O_APPEND) append BYTES each of REC-byte lines to PATH, in
 * writes of CHUNK bytes (whole lines), started together; when all are done
 * PATH is opened once more and fsync(2)ed. The time is from the start to
 * the return of that fsync: what it takes to get the data onto the disk.
 *
 *   ingest [-w WRITERS] [-b BYTES] [-s REC] [-c CHUNK] PATH
 *
 * Prints
 *   RESULT ingest_mb RATE MB/s      (all writers' bytes over the time)
 *   RESULT ingest_s SECONDS s
 *   RESULT fsync_ms MS ms           (the final fsync alone)
 * bench/ingest.sh runs it against a logfs topic and an ext4 file.
 */
#include "benchutil.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	int writers = 4, opt;
	uint64_t bytes = 256ull << 20;
	size_t rec = 100, chunk = 128u << 10;

	while ((opt = getopt(argc, argv, "w:b:s:c:")) != -1) {
		switch (opt) {
		case 'w': writers = atoi(optarg); break;
		case 'b': bytes = bu_size(optarg); break;
		case 's': rec = (size_t)bu_size(optarg); break;
		case 'c': chunk = (size_t)bu_size(optarg); break;
		default:
			fprintf(stderr, "usage: ingest [-w WRITERS] [-b BYTES] [-s REC] [-c CHUNK] PATH\n");
			return 2;
		}
	}
	if (optind >= argc || writers < 1 || rec < 1 || chunk < rec)
		return 2;
	const char *path = argv[optind];
	chunk -= chunk % rec; /* whole lines per write */
	char *buf = malloc(chunk);
	if (!buf)
		bu_die("malloc", ENOMEM);
	bu_fill_lines(buf, chunk, rec);

	struct bu_team team;
	if (bu_team_fork(&team, writers) >= 0) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (fd < 0)
			bu_die(path, errno);
		bu_team_wait(&team);
		for (uint64_t done = 0; done < bytes;) {
			size_t n = bytes - done < chunk ? (size_t)(bytes - done) : chunk;
			n -= n % rec;
			if (n == 0)
				break;
			ssize_t k = write(fd, buf, n);
			if (k < 0)
				bu_die("write", errno);
			if ((size_t)k != n) {
				fprintf(stderr, "bench: short write %zd of %zu\n", k, n);
				_exit(1);
			}
			done += n;
		}
		close(fd);
		_exit(0);
	}
	double t0 = bu_team_go(&team);
	if (bu_team_reap(&team)) {
		fprintf(stderr, "bench: a writer failed\n");
		return 1;
	}
	double t1 = bu_now();
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		bu_die(path, errno);
	if (fsync(fd) < 0)
		bu_die("fsync", errno);
	close(fd);
	double t2 = bu_now();
	uint64_t total = (bytes - bytes % rec) * (uint64_t)writers;
	printf("RESULT ingest_mb %.1f MB/s\n", (double)total / 1e6 / (t2 - t0));
	printf("RESULT ingest_s %.3f s\n", t2 - t0);
	printf("RESULT fsync_ms %.1f ms\n", (t2 - t1) * 1e3);
	free(buf);
	return 0;
}
