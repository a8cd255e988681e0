/*
 * Small helpers shared by the benchmark programs (header only, so that each
 * bench/NAME.c still builds alone into BUILD/bench/NAME).
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline double bu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void bu_die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int bu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double bu_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bu_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Parses 123, 4K, 16M, 1G (powers of 1024). */
static inline uint64_t bu_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	default: break;
	}
	return (uint64_t)v;
}

/* Fills buf with lines of rec bytes each ('\n'-terminated), printable. */
static inline void bu_fill_lines(char *buf, size_t len, size_t rec)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + i / rec) % 26);
	for (size_t i = rec - 1; i < len; i += rec)
		buf[i] = '\n';
}

/* Drops a file's clean pages from the page cache. */
static inline int bu_evict(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	fdatasync(fd);
	int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return -rc;
}

/* A team of forked workers that start together: bu_team_fork returns each
 * child's index (and -1 in the parent); a child does its setup, then
 * bu_team_wait blocks it until the parent's bu_team_go, which first waits
 * for every child to be ready. bu_team_reap waits for all and says whether
 * any failed (killed or a non-zero exit). */
struct bu_team {
	int n;
	_Atomic int *ready; /* shared: children past their setup */
	int go[2];          /* children block reading it until the parent closes it */
};

static inline int bu_team_fork(struct bu_team *t, int n)
{
	t->n = n;
	t->ready = mmap(NULL, sizeof(*t->ready), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t->ready == MAP_FAILED)
		bu_die("mmap", errno);
	atomic_init(t->ready, 0);
	if (pipe(t->go) < 0)
		bu_die("pipe", errno);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			bu_die("fork", errno);
		if (pid == 0) {
			close(t->go[1]);
			return i;
		}
	}
	close(t->go[0]);
	return -1;
}

/* In a child: ready, then blocked until the go (EOF on the pipe). */
static inline void bu_team_wait(struct bu_team *t)
{
	atomic_fetch_add(t->ready, 1);
	char c;
	if (read(t->go[0], &c, 1) < 0)
		_exit(1);
}

/* In the parent: once every child is ready (or one has exited: its
 * status stays for bu_team_reap), lets them go; returns when (bu_now). */
static inline double bu_team_go(struct bu_team *t)
{
	siginfo_t si;
	for (;;) {
		if (atomic_load(t->ready) >= t->n)
			break;
		si.si_pid = 0;
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
			break;
		usleep(100);
	}
	double now = bu_now();
	close(t->go[1]);
	return now;
}

static inline bool bu_team_reap(struct bu_team *t)
{
	int status;
	bool failed = false;
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = true;
	munmap((void *)t->ready, sizeof(*t->ready));
	return failed;
}

#endif
