/*
 * The command line that mkfs.logfs and fsck.logfs share: options, then one
 * VOLUME operand; --help and --version; errors as "PROGRAM: message". They
 * differ in the exit status of a usage error (1 as mke2fs, 16 as fsck(8)),
 * which each gives here.
 */
#ifndef LFS_CLI_H
#define LFS_CLI_H

#include <stdio.h>

struct lfs_cli {
	const char *prog;	/* the name errors start with */
	const char *shortopts;	/* getopt's, "+:" first: options stop at VOLUME, and a
				 * missing value is told from an unknown option */
	int usage_status;	/* the exit status of a usage error */
	void (*usage)(FILE *f); /* the --help text */
};

/* The next option (getopt_long with --help and --version added), -1 after
 * the last. --help and --version print and exit 0; an unknown option is a
 * usage error. */
int lfs_cli_next(const struct lfs_cli *c, int argc, char **argv);

/* The one operand left after the options, or a usage error. */
const char *lfs_cli_volume(const struct lfs_cli *c, int argc, char **argv);

/* "PROG: message" and a pointer to --help on stderr, then exit with
 * c->usage_status. */
void lfs_cli_usage_error(const struct lfs_cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* "PROG: message" on stderr, then exit with status. */
void lfs_cli_fail(const struct lfs_cli *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* A daemon that was just unmounted may still be releasing the volume (the
 * kernel's unmount returns before the daemon has flushed and exited): waits
 * up to 5 s for the volume's lock, unless the volume is mounted (a
 * fuse.logfs mount of it in /proc/self/mountinfo), which is answered at
 * once. Returns lfs_volume_in_use's last answer. */
int lfs_cli_wait_released(const char *vol);

#endif
