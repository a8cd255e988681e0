/*
 * mountwait: starts a FUSE daemon in the foreground and measures how long it
 * takes until its mount answers.
 *
 *   mountwait MOUNTPOINT TIMEOUT_SECONDS CMD [ARGS...]
 *
 * Forks CMD (which must stay in the foreground, e.g. `logfs -f` or
 * `passthrough_ll -f`), then polls stat(MOUNTPOINT) until its device differs
 * from its parent directory's, which happens once the daemon answers.
 * The daemon's output goes to $MOUNTWAIT_LOG (default /dev/null).
 * Prints "PID MILLISECONDS" and leaves the daemon running (exit 0); exits 1
 * if CMD ends or the timeout passes first.
 */
#include "benchutil.h"

#include <libgen.h>
#include <signal.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: mountwait MOUNTPOINT TIMEOUT CMD [ARGS...]\n");
		return 2;
	}
	const char *mnt = argv[1];
	double timeout = atof(argv[2]);
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", mnt);
	struct stat pst, st;
	if (stat(dirname(parent), &pst) < 0)
		bu_die("stat parent", errno);

	double t0 = bu_now();
	pid_t pid = fork();
	if (pid < 0)
		bu_die("fork", errno);
	if (pid == 0) {
		/* The daemon must not hold our stdout (a $(...) would wait). */
		const char *log = getenv("MOUNTWAIT_LOG");
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setsid();
		execvp(argv[3], argv + 3);
		fprintf(stderr, "mountwait: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "mountwait: %s exited (status %d) before mounting\n", argv[3],
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			return 1;
		}
		if (stat(mnt, &st) == 0 && st.st_dev != pst.st_dev)
			break;
		if (bu_now() - t0 > timeout) {
			fprintf(stderr, "mountwait: %s not mounted after %.0f s\n", mnt, timeout);
			kill(pid, SIGTERM);
			return 1;
		}
		usleep(100);
	}
	printf("%d %.3f\n", (int)pid, (bu_now() - t0) * 1e3);
	return 0;
}
