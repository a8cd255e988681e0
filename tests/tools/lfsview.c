/*
 * lfsview: what each open file of a logfs `tail` (or `@...` view) reports
 * about itself while other handles, other processes and stat(2) by name ask
 * about the same file (tests/integration/mount_inode.sh).
 *
 *   lfsview PATH ROUNDS
 *
 * Opens a reader R1 of PATH and a producer P (O_WRONLY|O_APPEND), and forks
 * a child that stats PATH by name and opens, sizes and closes readers of it
 * in a loop. Then ROUNDS times: one line through P, and checks that
 *  - lseek(R1, 0, SEEK_END) and fstat(R1) both give exactly R1's view: its
 *    size at open plus every byte P appended since (no other writer);
 *  - fstat of R1 from a forked child (which inherited it) gives the same;
 *  - after round ROUNDS/2 a second reader R2 is open in this process, and
 *    R1 still reports its own view, R2 its own;
 *  - lseek(P, 0, SEEK_CUR) works (a producer is seekable) and
 *    lseek(P, 0, SEEK_END) is the retained log's size, as stat by name
 *    says just before and after.
 * At the end R1 reads exactly its view's bytes. With retention on the topic
 * (small segments), R1's view is larger than the retained log, which is
 * what stat by name reports. Exits 0 when every check held, else 1 with the
 * first failure on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(const char *what, long round, long long got, long long want)
{
	fprintf(stderr, "lfsview: round %ld: %s: got %lld, want %lld\n", round, what, got, want);
	exit(1);
}

static void sys_fail(const char *what)
{
	fprintf(stderr, "lfsview: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long end_of(int fd)
{
	off_t cur = lseek(fd, 0, SEEK_CUR);
	off_t end = lseek(fd, 0, SEEK_END);
	if (cur < 0 || end < 0 || lseek(fd, cur, SEEK_SET) != cur)
		sys_fail("lseek");
	return (long long)end;
}

static long long fsize(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		sys_fail("fstat");
	return (long long)st.st_size;
}

/* The child asks about what it inherited: fstat(2) from another process. */
static long long fsize_from_child(int fd)
{
	int p[2];
	if (pipe(p) < 0)
		sys_fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		sys_fail("fork");
	if (pid == 0) {
		long long s = fsize(fd);
		_exit(write(p[1], &s, sizeof(s)) == (ssize_t)sizeof(s) ? 0 : 1);
	}
	long long s = -1;
	if (read(p[0], &s, sizeof(s)) != (ssize_t)sizeof(s))
		sys_fail("read from child");
	int status;
	waitpid(pid, &status, 0);
	close(p[0]);
	close(p[1]);
	return s;
}

/* Other callers, all the time: stat by name, other readers' sizes. */
static void noise(const char *path)
{
	for (;;) {
		struct stat st;
		if (stat(path, &st) < 0)
			_exit(1);
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			(void)lseek(fd, 0, SEEK_END);
			close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: lfsview PATH ROUNDS\n");
		return 2;
	}
	const char *path = argv[1];
	long rounds = atol(argv[2]);
	int r1 = open(path, O_RDONLY);
	int p = open(path, O_WRONLY | O_APPEND);
	if (r1 < 0 || p < 0)
		sys_fail("open");
	long long view1 = end_of(r1), view2 = -1;
	int r2 = -1;
	pid_t child = fork();
	if (child < 0)
		sys_fail("fork");
	if (child == 0) {
		/* It ends with this process, however that ends. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
			_exit(1);
		noise(path);
	}

	for (long i = 0; i < rounds; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "round %ld of lfsview\n", i);
		if (write(p, line, (size_t)n) != n)
			sys_fail("write");
		view1 += n;
		if (view2 >= 0)
			view2 += n;
		if (i == rounds / 2) {
			r2 = open(path, O_RDONLY);
			if (r2 < 0)
				sys_fail("open");
			view2 = end_of(r2);
		}
		long long got = end_of(r1);
		if (got != view1)
			fail("lseek(SEEK_END) of the first reader", i, got, view1);
		if ((got = fsize(r1)) != view1)
			fail("fstat of the first reader", i, got, view1);
		if (i % 10 == 0 && (got = fsize_from_child(r1)) != view1)
			fail("fstat of the first reader from another process", i, got, view1);
		if (r2 >= 0 && (got = end_of(r2)) != view2)
			fail("lseek(SEEK_END) of the second reader", i, got, view2);
		if (r2 >= 0 && (got = fsize(r2)) != view2)
			fail("fstat of the second reader", i, got, view2);
		if (lseek(p, 0, SEEK_CUR) < 0)
			sys_fail("lseek(SEEK_CUR) of the producer");
		/* The producer's end is the retained log's, which only
		 * retention changes while no one appends. */
		struct stat before, after;
		if (stat(path, &before) < 0)
			sys_fail("stat");
		got = end_of(p);
		if (stat(path, &after) < 0)
			sys_fail("stat");
		if (got > (long long)before.st_size || got < (long long)after.st_size)
			fail("lseek(SEEK_END) of the producer (the retained log's size)", i, got,
			     (long long)before.st_size);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* R1 reads exactly its view. */
	char buf[65536];
	long long total = 0;
	ssize_t k;
	if (lseek(r1, 0, SEEK_SET) != 0)
		sys_fail("lseek");
	while ((k = read(r1, buf, sizeof(buf))) > 0)
		total += k;
	if (k < 0)
		sys_fail("read");
	if (total != view1)
		fail("bytes the first reader reads", rounds, total, view1);
	close(r1);
	close(p);
	if (r2 >= 0)
		close(r2);
	return 0;
}
