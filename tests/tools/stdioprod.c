/*
 * stdioprod: a C stdio producer, as programs write logs: fopen(PATH, "a"),
 * then fprintf and ftell, fflush, fclose (tests/integration/mount_inode.sh).
 *
 *   stdioprod PATH ID COUNT
 *
 * Appends COUNT lines "stdio ID N\n" with one fflush(3) per line. With no
 * other writer and no retention, ftell(3) must report the log's size at
 * open plus the bytes this stream wrote, before and after each flush.
 * Exits 0 when it did, 1 with the first failure on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const char *what, long i, long long got, long long want)
{
	fprintf(stderr, "stdioprod: line %ld: %s: got %lld, want %lld (%s)\n", i, what, got, want,
		strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: stdioprod PATH ID COUNT\n");
		return 2;
	}
	struct stat st;
	if (stat(argv[1], &st) < 0) {
		perror("stdioprod: stat");
		return 1;
	}
	FILE *f = fopen(argv[1], "a");
	if (!f) {
		perror("stdioprod: fopen");
		return 1;
	}
	long count = atol(argv[3]);
	long long want = (long long)st.st_size;
	long long got = ftell(f);
	if (got != want)
		return fail("ftell after fopen", 0, got, want);
	for (long i = 0; i < count; i++) {
		int n = fprintf(f, "stdio %s %ld\n", argv[2], i);
		if (n < 0)
			return fail("fprintf", i, n, 0);
		want += n;
		if ((got = ftell(f)) != want)
			return fail("ftell before the flush", i, got, want);
		if (fflush(f) != 0)
			return fail("fflush", i, -1, 0);
		if ((got = ftell(f)) != want)
			return fail("ftell after the flush", i, got, want);
	}
	if (fclose(f) != 0) {
		perror("stdioprod: fclose");
		return 1;
	}
	return 0;
}
