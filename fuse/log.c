/*
 * The daemon's messages (daemon_log), of an enum lfs_log_level: to syslog
 * whenever there is one (/dev/log), at the matching priority; to stderr
 * while it reaches the user who mounted (before daemonizing, and always
 * with -f), errors and warnings named ("logfs: error: ..."); appended to
 * the file of -o log=FILE.
 * Without syslog and without log=FILE, a daemonized logfs keeps the stderr
 * it was started with, so that nothing it says is lost (logfs.8, LOGGING).
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Set before the threads start (log_open, log_daemonized), read after. */
static bool use_syslog, use_stderr = true;
static const char *file_path;
/* The log file, protected by file_mu; reopened after SIGHUP. */
static pthread_mutex_t file_mu = PTHREAD_MUTEX_INITIALIZER;
static int file_fd = -1;
static bool file_failed; /* said once that a write failed */
static volatile sig_atomic_t reopen_asked;

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return fd < 0 ? -errno : fd;
}

int log_open(const char *path)
{
	struct stat st;
	/* syslog(3) drops messages silently when nothing listens. */
	use_syslog = stat("/dev/log", &st) == 0 && S_ISSOCK(st.st_mode);
	if (use_syslog)
		openlog(PROG, LOG_PID, LOG_DAEMON);
	if (!path)
		return 0;
	int fd = open_file(path);
	if (fd < 0)
		return fd;
	file_fd = fd;
	file_path = path;
	return 0;
}

bool log_has_syslog(void)
{
	return use_syslog;
}

void log_daemonized(int saved_stderr)
{
	if (saved_stderr >= 0)
		dup2(saved_stderr, STDERR_FILENO); /* keep what we say: no syslog, no file */
	else
		use_stderr = false;
}

static void on_hup(int sig)
{
	(void)sig;
	reopen_asked = 1;
}

int log_reopen_on_hup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	/* Without a log file there is nothing to reopen: ignored. */
	sa.sa_handler = file_path ? on_hup : SIG_IGN;
	return sigaction(SIGHUP, &sa, NULL) < 0 ? -errno : 0;
}

void log_close(void)
{
	if (use_syslog)
		closelog();
	if (file_fd >= 0)
		close(file_fd);
	file_fd = -1;
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

static const char *level_name(int level)
{
	return level == LFS_LOG_ERR ? "error" : level == LFS_LOG_WARNING ? "warning" : "info";
}

/* One line, one write(2) on an O_APPEND file: lines of several threads
 * (and processes sharing the file) never mix. */
static void to_file(int level, const char *msg)
{
	char line[1200];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ " PROG "[%ld]: %s: %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000, (long)getpid(), level_name(level), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	int err = 0;
	pthread_mutex_lock(&file_mu);
	if (reopen_asked) {
		/* logrotate moved the file: follow the name. */
		reopen_asked = 0;
		int fd = open_file(file_path);
		if (fd >= 0) {
			close(file_fd);
			file_fd = fd;
		} else {
			err = -fd;
		}
	}
	if (write(file_fd, line, (size_t)n) != n && !err)
		err = errno ? errno : EIO;
	bool say = err && !file_failed;
	file_failed |= err != 0;
	pthread_mutex_unlock(&file_mu);
	if (say && use_syslog)
		syslog(LOG_ERR, "cannot write the log file %s: %s", file_path, strerror(err));
	if (say && use_stderr)
		fprintf(stderr, PROG ": cannot write the log file %s: %s\n", file_path, strerror(err));
}

void daemon_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (use_syslog)
		syslog(daemon_log_priority(level), "%s", msg);
	if (use_stderr)
		fprintf(stderr, PROG ": %s%s\n",
			level == LFS_LOG_ERR ? "error: " : level == LFS_LOG_WARNING ? "warning: " : "",
			msg);
	if (file_fd >= 0)
		to_file(level, msg);
}

void daemon_core_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	daemon_log(level, "%s", msg);
}
