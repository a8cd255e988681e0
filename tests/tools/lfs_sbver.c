/*
 * Test tool: rewrites a volume's superblock (both copies, valid checksums)
 * with another format version, to test how programs meet a newer format,
 * or with raw default settings (any value, even out of range).
 *   lfs_sbver VOLUME VERSION|- [FIELD=NUMBER ...]
 *   FIELD: segment_size max_record sync_mode sync_ms framing
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
	if (argc < 3) {
		fprintf(stderr, "usage: lfs_sbver VOLUME VERSION|- [FIELD=NUMBER ...]\n");
		return 2;
	}
	struct lfs_sb_info sb;
	int rc = lfs_read_superblock(argv[1], &sb);
	if (rc < 0) {
		fprintf(stderr, "lfs_sbver: %s: %s\n", argv[1], strerror(-rc));
		return 2;
	}
	if (strcmp(argv[2], "-") != 0)
		sb.version = (uint32_t)strtoul(argv[2], NULL, 10);
	for (int i = 3; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		unsigned long long v = eq ? strtoull(eq + 1, NULL, 10) : 0;
		size_t n = eq ? (size_t)(eq - argv[i]) : 0;
		if (n == 12 && strncmp(argv[i], "segment_size", n) == 0)
			sb.defaults.segment_size = v;
		else if (n == 10 && strncmp(argv[i], "max_record", n) == 0)
			sb.defaults.max_record = v;
		else if (n == 9 && strncmp(argv[i], "sync_mode", n) == 0)
			sb.defaults.sync_mode = (uint32_t)v;
		else if (n == 7 && strncmp(argv[i], "sync_ms", n) == 0)
			sb.defaults.sync_ms = (uint32_t)v;
		else if (n == 7 && strncmp(argv[i], "framing", n) == 0)
			sb.defaults.framing = (uint32_t)v;
		else {
			fprintf(stderr, "lfs_sbver: unknown field in '%s'\n", argv[i]);
			return 2;
		}
	}
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
