/*
 * Test tool: damages a file in place.
 *   lfs_flip FILE OFFSET [BIT]   flips bit BIT (default 0) of the byte at
 *                                OFFSET (negative: from the end)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: lfs_flip FILE OFFSET [BIT]\n");
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "lfs_flip: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	long long off = strtoll(argv[2], NULL, 0);
	int bit = argc > 3 ? atoi(argv[3]) : 0;
	if (off < 0)
		off += st.st_size;
	if (off < 0 || off >= st.st_size || bit < 0 || bit > 7) {
		fprintf(stderr, "lfs_flip: offset %s outside %s (%lld bytes)\n", argv[2], argv[1],
			(long long)st.st_size);
		return 2;
	}
	unsigned char c;
	if (pread(fd, &c, 1, off) != 1) {
		fprintf(stderr, "lfs_flip: read: %s\n", strerror(errno));
		return 2;
	}
	c ^= (unsigned char)(1u << bit);
	if (pwrite(fd, &c, 1, off) != 1 || close(fd) < 0) {
		fprintf(stderr, "lfs_flip: write: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}
