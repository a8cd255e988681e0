/*
 * heldmany: holds many line fragments at once, for mount_held_rss.sh.
 *
 *   heldmany PATH N BYTES COMMAND
 *
 * Opens PATH N times (O_WRONLY | O_APPEND), writes BYTES bytes without a
 * newline to each (a held fragment each), runs COMMAND with system(3) while
 * all are held, then closes them all. Prints "held OK FAILED" (writes that
 * succeeded, and that failed with ENOBUFS: the held_max budget). Exits 1 on
 * any other failure. Raises its descriptor limit to the hard limit first
 * (an unprivileged user's soft limit is often 1024).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: heldmany PATH N BYTES COMMAND\n");
		return 2;
	}
	int n = atoi(argv[2]);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("heldmany: getrlimit");
		return 1;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			perror("heldmany: setrlimit");
			return 1;
		}
	}
	size_t bytes = (size_t)atol(argv[3]);
	int *fds = calloc((size_t)n, sizeof(*fds));
	char *buf = malloc(bytes);
	if (!fds || !buf)
		return 1;
	memset(buf, 'x', bytes);
	int ok = 0, refused = 0;
	for (int i = 0; i < n; i++) {
		fds[i] = open(argv[1], O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "heldmany: open %d: %s\n", i, strerror(errno));
			return 1;
		}
		ssize_t w = write(fds[i], buf, bytes);
		if (w == (ssize_t)bytes) {
			ok++;
		} else if (w < 0 && errno == ENOBUFS) {
			refused++;
		} else {
			fprintf(stderr, "heldmany: write %d: %zd (%s)\n", i, w, strerror(errno));
			return 1;
		}
	}
	printf("held %d %d\n", ok, refused);
	fflush(stdout);
	int rc = system(argv[4]);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	free(buf);
	return rc == 0 ? 0 : 1;
}
