/*
 * Test tool: prints an index file, so tests can find where to damage it.
 *   lfs_idx FILE.idx
 * Output: "header base=B stream_pos=P framing=F" (or "header bad"), then one
 * line per entry: "I batch|seal|bad offset=O pos=P len=L count=C ts=T" with
 * I the entry number (its byte position is 64 + 48*I).
 */
#include "format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: lfs_idx FILE.idx\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "lfs_idx: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	unsigned char h[LFS_IDX_HEADER_SIZE], e[LFS_IDX_ENTRY_SIZE];
	struct lfs_idx_header hd;
	if (fread(h, 1, sizeof(h), f) != sizeof(h) || lfs_idx_header_decode(h, &hd) < 0)
		printf("header bad\n");
	else
		printf("header base=%llu stream_pos=%llu framing=%u\n",
		       (unsigned long long)hd.base_offset, (unsigned long long)hd.stream_pos,
		       hd.framing);
	fseek(f, LFS_IDX_HEADER_SIZE, SEEK_SET);
	for (unsigned long i = 0; fread(e, 1, sizeof(e), f) == sizeof(e); i++) {
		struct lfs_idx_entry x;
		if (lfs_idx_entry_decode(e, &x) < 0) {
			printf("%lu bad\n", i);
			continue;
		}
		printf("%lu %s offset=%llu pos=%llu len=%u count=%u ts=%llu\n", i,
		       x.type == LFS_ENTRY_SEAL ? "seal" : "batch", (unsigned long long)x.offset,
		       (unsigned long long)x.pos, x.len, x.count, (unsigned long long)x.ts);
	}
	fclose(f);
	return 0;
}
