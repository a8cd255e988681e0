/*
 * Test tool: prints a topic as a reader sees it, through the core, opening
 * the volume read-only (no lock, nothing written).
 *
 *   lfs_dump VOLUME TOPIC            every record's bytes from the first
 *   lfs_dump VOLUME TOPIC --from N   from record N (like reading TOPIC/@N)
 *   lfs_dump VOLUME TOPIC --time NS  from the first record at or after NS
 *   lfs_dump VOLUME TOPIC --stat     first/next offset, bytes, segments, times
 *   lfs_dump VOLUME --topics         the topic names, one a line
 *   lfs_dump VOLUME --sb             the superblock: version, uuid, label, segment_size
 * Exit status 0, or 2 with a message on any error.
 */
#include "logfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, int rc)
{
	fprintf(stderr, "lfs_dump: %s: %s\n", what, strerror(-rc));
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: lfs_dump VOLUME TOPIC [--from N | --stat] | VOLUME --topics\n");
		return 2;
	}
	int rc;
	if (!strcmp(argv[2], "--sb")) {
		struct lfs_sb_info sb;
		char u[37];
		rc = lfs_read_superblock(argv[1], &sb);
		if (rc < 0)
			die("superblock", rc);
		lfs_uuid_format(sb.uuid, u);
		printf("version=%u uuid=%s label=%s segment_size=%llu\n", sb.version, u, sb.label,
		       (unsigned long long)sb.defaults.segment_size);
		return 0;
	}
	struct lfs_open_opts oo = {.flags = LFS_OPEN_RDONLY};
	lfs_volume *v;
	rc = lfs_volume_open(argv[1], &oo, &v, NULL);
	if (rc < 0)
		die("open volume", rc);
	if (!strcmp(argv[2], "--topics")) {
		char **names;
		size_t n;
		rc = lfs_volume_list_topics(v, &names, &n);
		if (rc < 0)
			die("list", rc);
		for (size_t i = 0; i < n; i++) {
			printf("%s\n", names[i]);
			free(names[i]);
		}
		free(names);
		lfs_volume_close(v);
		return 0;
	}
	lfs_topic *t;
	rc = lfs_topic_get(v, argv[2], &t);
	if (rc < 0)
		die(argv[2], rc);
	if (argc > 3 && !strcmp(argv[3], "--stat")) {
		struct lfs_topic_stat st;
		lfs_topic_stat(t, &st);
		printf("first_offset=%llu next_offset=%llu bytes=%llu segments=%llu "
		       "first_timestamp=%llu last_timestamp=%llu\n",
		       (unsigned long long)st.first_offset, (unsigned long long)st.next_offset,
		       (unsigned long long)st.bytes, (unsigned long long)st.segments,
		       (unsigned long long)st.first_timestamp, (unsigned long long)st.last_timestamp);
	} else {
		struct lfs_start start = {.kind = LFS_START_FIRST};
		if (argc > 4 && !strcmp(argv[3], "--from")) {
			start.kind = LFS_START_OFFSET;
			start.value = strtoull(argv[4], NULL, 10);
		} else if (argc > 4 && !strcmp(argv[3], "--time")) {
			start.kind = LFS_START_TIME;
			start.value = strtoull(argv[4], NULL, 10);
		}
		lfs_reader *r;
		rc = lfs_reader_open(t, &start, &r);
		if (rc < 0)
			die("reader", rc);
		static char buf[1 << 16];
		uint64_t off = 0, size = lfs_reader_size(r);
		for (;;) {
			ssize_t got = lfs_reader_read(r, buf, sizeof(buf), off);
			if (got < 0)
				die("read", (int)got);
			if (got == 0)
				break;
			if (fwrite(buf, 1, (size_t)got, stdout) != (size_t)got)
				die("stdout", -errno);
			off += (uint64_t)got;
		}
		if (off != size) {
			fprintf(stderr, "lfs_dump: read %llu bytes, reader size says %llu\n",
				(unsigned long long)off, (unsigned long long)size);
			return 2;
		}
		lfs_reader_close(r);
	}
	lfs_topic_put(t);
	lfs_volume_close(v);
	return fflush(stdout) ? 2 : 0;
}
