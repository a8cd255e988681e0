/*
 * Test tool: rewrites a volume's superblock (both copies, valid checksums)
 * with another format version, to test how programs meet a newer format.
 *   lfs_sbver VOLUME VERSION
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: lfs_sbver VOLUME VERSION\n");
		return 2;
	}
	struct lfs_sb_info sb;
	int rc = lfs_read_superblock(argv[1], &sb);
	if (rc < 0) {
		fprintf(stderr, "lfs_sbver: %s: %s\n", argv[1], strerror(-rc));
		return 2;
	}
	sb.version = (uint32_t)strtoul(argv[2], NULL, 10);
	unsigned char buf[512 + LFS_SB_SIZE];
	memset(buf, 0, sizeof(buf));
	lfs_sb_encode(&sb, buf);
	lfs_sb_encode(&sb, buf + 512);
	char path[4096];
	snprintf(path, sizeof(path), "%s/" LFS_SB_FILE, argv[1]);
	int fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || close(fd) < 0) {
		fprintf(stderr, "lfs_sbver: %s: %s\n", path, strerror(errno));
		return 2;
	}
	return 0;
}
