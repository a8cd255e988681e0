/*
 * The daemon's messages: to stderr until it daemonizes (and with -f), then
 * to syslog. Levels are enum lfs_log_level; stderr names the two severe
 * ones ("logfs: error: ...", "logfs: warning: ...") as syslog would rank
 * them.
 */
#include "daemon.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static bool log_to_syslog;

void daemon_log_to_syslog(void)
{
	log_to_syslog = true;
	openlog(PROG, LOG_PID, LOG_DAEMON);
}

int daemon_log_priority(int level)
{
	switch (level) {
	case LFS_LOG_ERR:
		return LOG_ERR;
	case LFS_LOG_WARNING:
		return LOG_WARNING;
	default:
		return LOG_INFO;
	}
}

void daemon_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (log_to_syslog) {
		vsyslog(daemon_log_priority(level), fmt, ap);
	} else {
		fprintf(stderr, PROG ": %s",
			level == LFS_LOG_ERR ? "error: " : level == LFS_LOG_WARNING ? "warning: " : "");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void daemon_core_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	daemon_log(level, "%s", msg);
}
