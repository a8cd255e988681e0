/*
 * appender: N writers (processes, each with its own fd) append fixed-size
 * records to PATH with one write(2) per record, optionally fdatasync after
 * each, for a time or up to a byte budget.
 *
 *   appender [-s RECSIZE] [-w WRITERS] [-t SECONDS] [-b MAXBYTES] [-f] [-N] PATH
 *
 * -N opens without O_APPEND (as the shell's `>` does) instead of with it
 * (`>>`); on a plain file writers would then overwrite each other, on a
 * logfs `tail` every write appends either way.
 *
 * Records are RECSIZE bytes ending in '\n' (one line each). Prints
 *   RESULT appends RATE rec/s
 *   RESULT appends_mb RATE MB/s
 * where RATE is the total over all writers divided by the longest writer's
 * elapsed time.
 */
#include "benchutil.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>

struct slot {
	uint64_t records;
	double elapsed;
	int err;
};

int main(int argc, char **argv)
{
	size_t rec = 100;
	int writers = 1, opt;
	double seconds = 2;
	uint64_t maxbytes = 1ull << 30;
	bool dsync = false;
	int oflags = O_WRONLY | O_APPEND | O_CREAT;

	while ((opt = getopt(argc, argv, "s:w:t:b:fN")) != -1) {
		switch (opt) {
		case 's': rec = (size_t)bu_size(optarg); break;
		case 'w': writers = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'b': maxbytes = bu_size(optarg); break;
		case 'f': dsync = true; break;
		case 'N': oflags &= ~O_APPEND; break;
		default:
			fprintf(stderr, "usage: appender [-s RECSIZE] [-w WRITERS] [-t SECONDS] "
					"[-b MAXBYTES] [-f] [-N] PATH\n");
			return 2;
		}
	}
	if (optind >= argc || rec < 1 || writers < 1)
		return 2;
	const char *path = argv[optind];
	struct slot *slots = mmap(NULL, sizeof(struct slot) * (size_t)writers,
				  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		bu_die("mmap", errno);
	uint64_t per_writer = maxbytes / (uint64_t)writers / rec;
	if (per_writer == 0)
		per_writer = 1;

	struct bu_team team;
	int w = bu_team_fork(&team, writers);
	if (w >= 0) {
		char *line = malloc(rec);
		bu_fill_lines(line, rec, rec);
		line[0] = (char)('A' + w % 26);
		int fd = open(path, oflags, 0644);
		if (fd < 0) {
			slots[w].err = errno;
			_exit(1);
		}
		bu_team_wait(&team);
		double t0 = bu_now(), deadline = t0 + seconds, t = t0;
		uint64_t n = 0;
		while (n < per_writer) {
			if (write(fd, line, rec) != (ssize_t)rec) {
				slots[w].err = errno ? errno : EIO;
				break;
			}
			if (dsync && fdatasync(fd) < 0) {
				slots[w].err = errno;
				break;
			}
			n++;
			if ((n & 15) == 0 || dsync) {
				t = bu_now();
				if (t >= deadline)
					break;
			}
		}
		slots[w].elapsed = bu_now() - t0;
		slots[w].records = n;
		close(fd);
		_exit(0);
	}
	bu_team_go(&team);
	int failed = bu_team_reap(&team);
	uint64_t total = 0;
	double longest = 0;
	for (int w = 0; w < writers; w++) {
		if (slots[w].err) {
			fprintf(stderr, "appender: writer %d: %s\n", w, strerror(slots[w].err));
			failed = 1;
		}
		total += slots[w].records;
		if (slots[w].elapsed > longest)
			longest = slots[w].elapsed;
	}
	if (failed)
		return 1;
	printf("RESULT appends %.6g rec/s\n", (double)total / longest);
	printf("RESULT appends_mb %.6g MB/s\n", (double)total * (double)rec / longest / 1e6);
	return 0;
}
