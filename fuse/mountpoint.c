/* The mount point before mounting: a dead logfs mount left on it by a
 * crashed daemon is replaced (lazily unmounted), a live logfs mount is
 * refused, and anything else that cannot be used is explained with the
 * command that fixes it. */
#include "daemon.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "logfs"

/* arg as an absolute path, "." and ".." and repeated slashes resolved
 * lexically: the mount point cannot be asked (a dead FUSE mount answers
 * ENOTCONN), and mountinfo names mount points so. */
static int lexical_abspath(const char *arg, char out[PATH_MAX])
{
	char buf[PATH_MAX * 2];
	if (arg[0] == '/') {
		snprintf(buf, sizeof(buf), "%s", arg);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		snprintf(buf, sizeof(buf), "%s/%s", cwd, arg);
	}
	size_t n = 0;
	out[0] = 0;
	for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			out[n] = 0;
			continue;
		}
		size_t len = strlen(c);
		if (n + 1 + len >= PATH_MAX)
			return -ENAMETOOLONG;
		out[n++] = '/';
		memcpy(out + n, c, len);
		n += len;
		out[n] = 0;
	}
	if (n == 0)
		snprintf(out, PATH_MAX, "/");
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

/* The topmost mount on path (the last mountinfo line for it): its type and
 * source. false when nothing is mounted there or mountinfo is unreadable. */
static bool mounted_at(const char *path, char type[64], char source[PATH_MAX])
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX], t[64], src[PATH_MAX];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash, " - %63s %4095s", t, src) != 2)
			continue;
		unescape(mnt);
		if (strcmp(mnt, path) == 0) {
			found = true;
			snprintf(type, 64, "%s", t);
			unescape(src);
			snprintf(source, PATH_MAX, "%s", src);
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* fusermount3 -u -z -- path: 0 when it succeeded. Its own messages go to
 * stderr. */
static int fusermount_lazy(const char *path)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", path, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

/* A dead mount on mnt (the daemon behind it is gone): a logfs one is
 * replaced, as root by a lazy unmount, otherwise by fusermount3, which lets
 * the user who mounted it unmount it. */
static int replace_dead(const char *arg, const char *abs)
{
	char type[64], source[PATH_MAX];
	if (!mounted_at(abs, type, source)) {
		fprintf(stderr, PROG ": %s: %s\n", arg, strerror(ENOTCONN));
		return -1;
	}
	if (strcmp(type, "fuse.logfs") != 0) {
		fprintf(stderr,
			PROG ": %s: a dead %s mount is on it (Transport endpoint is not "
			"connected); unmount it first: fusermount3 -uz %s\n",
			arg, type, abs);
		return -1;
	}
	int rc = geteuid() == 0 ? (umount2(abs, MNT_DETACH) < 0 ? -errno : 0) : fusermount_lazy(abs);
	if (rc < 0) {
		fprintf(stderr,
			PROG ": %s: the logfs mount of %s on it is dead (its daemon is gone) and "
			"cannot be removed (%s); unmount it with: %s %s\n",
			arg, source, strerror(-rc),
			geteuid() == 0 ? "umount -l" : "fusermount3 -uz (as its owner) or umount -l (as root)",
			abs);
		return -1;
	}
	fprintf(stderr, PROG ": %s: replaced the dead logfs mount of %s (its daemon was gone)\n",
		arg, source);
	return 0;
}

int mountpoint_prepare(const char *arg, char *out)
{
	struct stat st;
	if (stat(arg, &st) < 0 && errno == ENOTCONN) {
		char abs[PATH_MAX];
		int rc = lexical_abspath(arg, abs);
		if (rc < 0) {
			fprintf(stderr, PROG ": %s: %s\n", arg, strerror(-rc));
			return -1;
		}
		if (replace_dead(arg, abs) < 0)
			return -1;
	}
	if (!realpath(arg, out)) {
		fprintf(stderr, PROG ": %s: %s\n", arg, strerror(errno));
		return -1;
	}
	char type[64], source[PATH_MAX];
	if (mounted_at(out, type, source) && strcmp(type, "fuse.logfs") == 0) {
		fprintf(stderr,
			PROG ": %s: already a logfs mount (of %s); unmount it first: "
			"fusermount3 -u %s\n",
			arg, source, out);
		return -1;
	}
	return 0;
}
