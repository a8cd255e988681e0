/*
 * sync_pair: the cost of making one append durable, as the group-commit
 * leader does it: a small write to a data file and an index file, then
 * fdatasync of both, either one after the other or submitted together
 * through io_uring (the kernel then runs both flushes at once).
 *   sync_pair DIR [ROUNDS]
 * Prints commits/s for both and their ratio.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "sync_pair: %s: %s\n", what, strerror(err));
	exit(1);
}

static void append(int a, int b, int i)
{
	char buf[100];
	memset(buf, 'x', sizeof(buf));
	if (pwrite(a, buf, 100, (off_t)i * 100) != 100 || pwrite(b, buf, 48, (off_t)i * 48) != 48)
		die("pwrite", errno);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: sync_pair DIR [ROUNDS]\n");
		return 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 2000;
	char pa[4096], pb[4096];
	snprintf(pa, sizeof(pa), "%s/sync_pair.log", argv[1]);
	snprintf(pb, sizeof(pb), "%s/sync_pair.idx", argv[1]);
	int a = open(pa, O_RDWR | O_CREAT | O_TRUNC, 0644), b = open(pb, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (a < 0 || b < 0)
		die("open", errno);

	double t0 = now();
	for (int i = 0; i < n; i++) {
		append(a, b, i);
		if (fdatasync(a) < 0 || fdatasync(b) < 0)
			die("fdatasync", errno);
	}
	double seq = n / (now() - t0);

	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);
	if (rc < 0)
		die("io_uring_queue_init", -rc);
	t0 = now();
	for (int i = 0; i < n; i++) {
		append(a, b, n + i);
		struct io_uring_sqe *s = io_uring_get_sqe(&ring);
		io_uring_prep_fsync(s, a, IORING_FSYNC_DATASYNC);
		s = io_uring_get_sqe(&ring);
		io_uring_prep_fsync(s, b, IORING_FSYNC_DATASYNC);
		rc = io_uring_submit_and_wait(&ring, 2);
		if (rc < 0)
			die("io_uring_submit_and_wait", -rc);
		for (int k = 0; k < 2; k++) {
			struct io_uring_cqe *c;
			rc = io_uring_wait_cqe(&ring, &c);
			if (rc < 0 || c->res < 0)
				die("fsync", rc < 0 ? -rc : -c->res);
			io_uring_cqe_seen(&ring, c);
		}
	}
	double ur = n / (now() - t0);
	io_uring_queue_exit(&ring);
	unlink(pa);
	unlink(pb);
	printf("sequential fdatasync pair: %.0f commits/s\n", seq);
	printf("io_uring fdatasync pair:   %.0f commits/s\n", ur);
	printf("ratio io_uring/sequential: %.2fx\n", ur / seq);
	return 0;
}
