/*
 * mkfs.logfs: formats a directory as a logfs volume with lfs_mkfs(). It
 * refuses, changing nothing, a non-empty directory that is not a volume, an
 * existing volume unless -F, and a volume in use (mounted).
 */
#include "cli.h"
#include "logfs.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define PROG "mkfs.logfs"

/* As mke2fs: 0 success, 1 any failure, usage errors included. */
enum { EXIT_OK = 0, EXIT_FAIL = 1 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-L LABEL] [-U UUID] [-s SEGMENT_SIZE] [-F] [-q] VOLUME\n"
		"Format the directory VOLUME (created if missing) as a logfs volume.\n"
		"\n"
		"  -L LABEL         volume label, at most %d bytes\n"
		"  -U UUID          volume UUID (default: a random one)\n"
		"  -s SEGMENT_SIZE  default segment size, with K, M, G suffixes (default 64M)\n"
		"  -F               format an existing logfs volume anew (its data is lost)\n"
		"  -q               print nothing on success\n"
		"  -h, --help       show this help and exit\n"
		"  -V, --version    show the version and exit\n"
		"\n"
		"Exit status: 0 on success, 1 on any error.\n",
		LFS_LABEL_MAX);
}

static const struct lfs_cli cli = {
	.prog = PROG,
	.shortopts = "+:L:U:s:FqhV",
	.usage_status = EXIT_FAIL,
	.usage = usage,
};
#define usage_error(...) lfs_cli_usage_error(&cli, __VA_ARGS__)
#define fail(...) lfs_cli_fail(&cli, EXIT_FAIL, __VA_ARGS__)

static void human(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes >> 20));
	else if (bytes >= (1ull << 10) && bytes % (1ull << 10) == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

int main(int argc, char **argv)
{
	struct lfs_mkfs_opts mo = {0};
	uint8_t uuid[16];
	bool quiet = false;
	int c;

	while ((c = lfs_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'L':
			if (strlen(optarg) > LFS_LABEL_MAX)
				usage_error("label '%s' is too long (at most %d bytes)", optarg,
					    LFS_LABEL_MAX);
			mo.label = optarg;
			break;
		case 'U':
			if (lfs_uuid_parse(optarg, uuid) < 0)
				usage_error("invalid UUID '%s' (expected the form "
					    "01234567-89ab-cdef-0123-456789abcdef)",
					    optarg);
			mo.uuid = uuid;
			break;
		case 's': {
			struct lfs_settings s;
			lfs_settings_default(&s);
			if (lfs_setting_parse(&s, LFS_SET_SEGMENT_SIZE, optarg) < 0)
				usage_error("invalid segment size '%s' (a size from 4K to 1T, "
					    "with an optional K, M, G or T suffix)",
					    optarg);
			mo.segment_size = s.segment_size;
			break;
		}
		case 'F':
			mo.force = true;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	const char *vol = lfs_cli_volume(&cli, argc, argv);
	/* Root formatting a user's directory makes it a volume of that user;
	 * a directory mkfs creates is the caller's. */
	uid_t owner;
	gid_t group;
	int rc = lfs_act_as_volume_owner(vol, &owner, &group);
	if (rc < 0 && rc != -ENOENT)
		fail("cannot format %s: %s", vol, strerror(-rc));
	if (rc == 1)
		fprintf(stderr,
			PROG ": warning: %s: its owner cannot reach it by this path; files "
			"created in it will belong to root\n",
			vol);

	/* A daemon releasing the volume after its unmount: wait for it. */
	(void)lfs_cli_wait_released(vol);

	struct lfs_sb_info sb;
	rc = lfs_mkfs(vol, &mo, &sb);
	switch (rc) {
	case 0:
		break;
	case -ENOTEMPTY:
		fail("%s is not empty and is not a logfs volume; refusing to format it", vol);
	case -EEXIST: {
		struct lfs_sb_info old;
		char u[37];
		if (lfs_read_superblock(vol, &old) == 0) {
			lfs_uuid_format(old.uuid, u);
			fail("%s already holds a logfs volume (UUID %s%s%s%s); use -F to format it "
			     "anew, destroying its data",
			     vol, u, old.label[0] ? ", label '" : "", old.label,
			     old.label[0] ? "'" : "");
		}
		fail("%s already holds a logfs volume; use -F to format it anew, destroying its "
		     "data",
		     vol);
	}
	case -EBUSY:
		fail("%s is in use (mounted, or held open by another process); refusing to format it",
		     vol);
	case -ENOTDIR:
		fail("%s exists and is not a directory", vol);
	default:
		fail("cannot format %s: %s", vol, strerror(-rc));
	}

	if (!quiet) {
		char u[37], size[32];
		lfs_uuid_format(sb.uuid, u);
		human(sb.defaults.segment_size, size, sizeof(size));
		printf("Formatted %s as a logfs volume (format version %u)\n", vol, sb.version);
		printf("  UUID:          %s\n", u);
		printf("  label:         %s\n", sb.label[0] ? sb.label : "(none)");
		printf("  segment size:  %s (%llu bytes)\n", size,
		       (unsigned long long)sb.defaults.segment_size);
		if (fflush(stdout) != 0) {
			fprintf(stderr, PROG ": writing to standard output failed: %s\n",
				strerror(errno));
			return EXIT_FAIL;
		}
	}
	return EXIT_OK;
}
