/*
 * readclose: many threads open a file, read its first block and close it,
 * as fast as they can, for the race between a READ's handler finishing
 * and the RELEASE that the close sends (mount_passthrough.sh, in every
 * build; the ASan build reports a handler that touches a freed handle).
 *
 *   readclose PATH THREADS ROUNDS
 *
 * Prints "reads N" (reads that returned the file's first bytes) and exits 1
 * if any open, read or close failed, or a read returned other bytes than
 * the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path;
static long rounds;
static char first[4096];
static ssize_t first_len;
static atomic_long reads, failures;

static void *run(void *arg)
{
	(void)arg;
	char buf[4096];
	for (long i = 0; i < rounds; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "readclose: open: %s\n", strerror(errno));
			atomic_fetch_add(&failures, 1);
			continue;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n != first_len || memcmp(buf, first, (size_t)n) != 0) {
			fprintf(stderr, "readclose: read %zd: %s\n", n, n < 0 ? strerror(errno) : "other bytes");
			atomic_fetch_add(&failures, 1);
		} else {
			atomic_fetch_add(&reads, 1);
		}
		if (close(fd) < 0) {
			fprintf(stderr, "readclose: close: %s\n", strerror(errno));
			atomic_fetch_add(&failures, 1);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: readclose PATH THREADS ROUNDS\n");
		return 2;
	}
	path = argv[1];
	int threads = atoi(argv[2]);
	rounds = atol(argv[3]);
	if (threads < 1 || threads > 64 || rounds < 1) {
		fprintf(stderr, "readclose: bad THREADS or ROUNDS\n");
		return 2;
	}
	int fd = open(path, O_RDONLY);
	if (fd < 0 || (first_len = read(fd, first, sizeof(first))) < 0) {
		fprintf(stderr, "readclose: %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);
	pthread_t t[64];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, run, NULL) != 0) {
			fprintf(stderr, "readclose: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("reads %ld\n", atomic_load(&reads));
	return atomic_load(&failures) ? 1 : 0;
}
