/*
 * fragsync: an unterminated line held by the daemon (a fragment) on a full
 * filesystem, for tests/integration/reliability_diskfull.sh.
 *
 *   fragsync TAIL NBYTES fsync FREECMD   write NBYTES of 'f' (no newline),
 *                                        fsync (expected to fail: full),
 *                                        run FREECMD, fsync again, close
 *   fragsync TAIL NBYTES close           write the fragment, close
 *
 * Prints one line "write=R fsync=R fsync2=R close=R" where R is "ok" or an
 * errno name; exits 0 (the test judges the results), 1 on setup errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *res(int rc, int err)
{
	if (rc == 0)
		return "ok";
	switch (err) {
	case ENOSPC: return "ENOSPC";
	case EIO: return "EIO";
	case EDQUOT: return "EDQUOT";
	case EMSGSIZE: return "EMSGSIZE";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	default: return strerror(err);
	}
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[3], "fsync") == 0 && argc < 5)) {
		fprintf(stderr, "usage: fragsync TAIL NBYTES fsync FREECMD | fragsync TAIL NBYTES close\n");
		return 2;
	}
	size_t n = strtoul(argv[2], NULL, 10);
	char *buf = malloc(n);
	if (!buf)
		return 1;
	memset(buf, 'f', n);
	int fd = open(argv[1], O_WRONLY | O_APPEND);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	ssize_t w = write(fd, buf, n);
	const char *wr = w == (ssize_t)n ? "ok" : res(-1, w < 0 ? errno : EIO);
	const char *s1 = "-", *s2 = "-";
	if (strcmp(argv[3], "fsync") == 0) {
		int rc = fsync(fd);
		s1 = res(rc, errno);
		if (system(argv[4]) != 0)
			fprintf(stderr, "fragsync: '%s' failed\n", argv[4]);
		rc = fsync(fd);
		s2 = res(rc, errno);
	}
	int rc = close(fd);
	printf("write=%s fsync=%s fsync2=%s close=%s\n", wr, s1, s2, res(rc, errno));
	free(buf);
	return 0;
}
