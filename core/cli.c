/*
 * The command line of mkfs.logfs and fsck.logfs (cli.h): one piece of code
 * for what both must say the same way, the usage exit status given by each.
 */
#include "cli.h"

#include "logfs.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -h and -V are the short forms of --help and --version in every program
 * (each shortopts lists "hV"). */
enum { OPT_HELP = 'h', OPT_VERSION = 'V' };

static void vsay(const struct lfs_cli *c, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", c->prog);
	vfprintf(stderr, fmt, ap);
}

void lfs_cli_usage_error(const struct lfs_cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(c, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", c->prog);
	exit(c->usage_status);
}

void lfs_cli_fail(const struct lfs_cli *c, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(c, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

int lfs_cli_next(const struct lfs_cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	/* The messages are ours, in the "PROG: ..." form. */
	opterr = 0;
	int opt = getopt_long(argc, argv, c->shortopts, longopts, NULL);
	switch (opt) {
	case OPT_HELP:
		c->usage(stdout);
		exit(0);
	case OPT_VERSION:
		printf("%s (logfs) %s\n", c->prog, LFS_VERSION_STRING);
		exit(0);
	case ':':
		/* (shortopts begin "+:" so that getopt tells this apart.) */
		lfs_cli_usage_error(c, "option requires an argument -- '%c'", optopt);
	case '?':
		/* getopt_long reports "--help=x" with optopt set to the long
		 * option's value ('h'), which is a valid short option. */
		if (optopt && strncmp(argv[optind - 1], "--", 2) == 0)
			lfs_cli_usage_error(c, "option '%.*s' doesn't allow an argument",
					    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
		/* optopt is 0 for a long option, which is named whole. */
		if (optopt)
			lfs_cli_usage_error(c, "invalid option -- '%c'", optopt);
		lfs_cli_usage_error(c, "unrecognized option '%s'", argv[optind - 1]);
	default:
		return opt;
	}
}

const char *lfs_cli_volume(const struct lfs_cli *c, int argc, char **argv)
{
	if (optind >= argc)
		lfs_cli_usage_error(c, "no volume given");
	if (optind + 1 < argc)
		lfs_cli_usage_error(c, "too many arguments: only one volume may be given");
	if (!*argv[optind])
		lfs_cli_usage_error(c, "empty volume path");
	return argv[optind];
}

/* Is vol the source of a fuse.logfs mount? The daemon names its mounts by
 * the volume's real path (fsname). */
static bool mounted(const char *vol)
{
	char real[PATH_MAX];
	if (!realpath(vol, real))
		return false;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return true; /* cannot tell: do not wait */
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	while (!found && getline(&line, &cap, f) > 0) {
		char type[64], source[PATH_MAX];
		const char *dash = strstr(line, " - ");
		if (dash && sscanf(dash, " - %63s %4095s", type, source) == 2)
			found = strcmp(type, "fuse.logfs") == 0 && strcmp(source, real) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

int lfs_cli_wait_released(const char *vol)
{
	int busy = lfs_volume_in_use(vol);
	for (int i = 0; i < 50 && busy == 1 && !mounted(vol); i++) {
		usleep(100 * 1000);
		busy = lfs_volume_in_use(vol);
	}
	return busy;
}
