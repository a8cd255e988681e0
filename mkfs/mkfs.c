/*
 * mkfs.logfs: formats a directory as a logfs volume with lfs_mkfs(). It
 * refuses, changing nothing, a non-empty directory that is not a volume, an
 * existing volume unless -F, and a volume in use (mounted).
 */
#include "logfs.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
		"      --help       show this help and exit\n"
		"      --version    show the version and exit\n"
		"\n"
		"Exit status: 0 on success, 1 on any error.\n",
		LFS_LABEL_MAX);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG " --help' for more information.\n");
	exit(EXIT_FAIL);
}

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
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct lfs_mkfs_opts mo = {0};
	uint8_t uuid[16];
	bool quiet = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+L:U:s:Fq", longopts, NULL)) != -1) {
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
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf(PROG " (logfs) %s\n", LFS_VERSION_STRING);
			return EXIT_OK;
		case ':':
			usage_error("option -%c requires an argument", optopt);
		case '?':
		default:
			if (optopt)
				usage_error("invalid option -- '%c'", optopt);
			usage_error("unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("no volume given");
	if (optind + 1 < argc)
		usage_error("too many arguments: only one volume may be given");
	const char *vol = argv[optind];
	if (!*vol)
		usage_error("empty volume path");

	struct lfs_sb_info sb;
	int rc = lfs_mkfs(vol, &mo, &sb);
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
