/*
 * rmdirloop: makes and removes one topic of a mounted logfs ROUNDS times
 * and counts the rmdir(2) calls that fail, for mount_rmdir.sh.
 *
 *   rmdirloop MNT NAME ROUNDS close    each round: mkdir, open tail for
 *                                      writing, write a line, close, rmdir
 *                                      (the close's RELEASE reaches the
 *                                      daemon after close(2) returned)
 *   rmdirloop MNT NAME ROUNDS lookups  each round: mkdir, rmdir, while a
 *                                      child process looks
 *                                      names of the topic up without
 *                                      opening them (O_PATH and fstat of
 *                                      tail, @0, @-1h, the first segment,
 *                                      cursors)
 *   rmdirloop MNT NAME ROUNDS at SEGS  each round: mkdir, fill the topic
 *                                      with SEGS segments (4 KiB segments),
 *                                      then rmdir while children stat
 *                                      TOPIC/@0 and TOPIC/@-1h without
 *                                      opening them (each such GETATTR
 *                                      sizes a view from the topic's first
 *                                      record, over all its segments)
 *
 * Prints "rounds N ebusy K other K" and exits 0 when every call but the
 * counted rmdir failures did what it should (1 otherwise, with a message).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void lookups(const char *dir)
{
	static const char *const names[] = {"tail", "@0", "@-1h", "00000000000000000000.log",
					    "cursors"};
	char path[4200];
	struct stat st;
	for (;;)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			/* A lookup, then attributes by inode alone: an O_PATH
			 * descriptor opens no file (the daemon sees no OPEN),
			 * and its fstat is a GETATTR outside the directory's
			 * lock, which rmdir(2) takes. ENOENT between rounds. */
			int fd = open(path, O_PATH);
			if (fd < 0)
				continue;
			for (int k = 0; k < 20; k++)
				(void)fstat(fd, &st);
			close(fd);
		}
}

/* Children stat NAME in dir over and over; each writes one byte to ready
 * after its first GETATTR that found the topic. */
#define AT_CHILDREN 8
static void at_lookups(const char *dir, int ready)
{
	static const char *const names[] = {"@0", "@-1h"};
	char path[4200];
	struct stat st;
	bool told = false;
	for (unsigned i = 0;; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i % 2]);
		int fd = open(path, O_PATH);
		if (fd < 0)
			continue;
		for (int k = 0; k < 20; k++)
			if (fstat(fd, &st) == 0 && st.st_size > 0 && !told) {
				told = write(ready, "x", 1) == 1;
			}
		close(fd);
	}
}

/* Fills the topic with segs segments of 4 KiB (a 4 KiB write of lines each:
 * the next write rolls). */
static int fill(const char *dir, long segs)
{
	char path[4200], buf[4096];
	snprintf(path, sizeof(path), "%s/tail", dir);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i % 64 == 63 ? '\n' : 'a' + (char)(i % 26);
	for (long i = 0; i < segs; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -1;
		}
	return close(fd);
}

int main(int argc, char **argv)
{
	bool at = argc == 6 && strcmp(argv[4], "at") == 0;
	if (!at && (argc != 5 || (strcmp(argv[4], "close") && strcmp(argv[4], "lookups")))) {
		fprintf(stderr, "usage: rmdirloop MNT NAME ROUNDS close|lookups|at SEGS\n");
		return 2;
	}
	char dir[4096], tail[4200];
	snprintf(dir, sizeof(dir), "%s/%s", argv[1], argv[2]);
	snprintf(tail, sizeof(tail), "%s/tail", dir);
	long rounds = atol(argv[3]);
	bool with_lookups = strcmp(argv[4], "lookups") == 0;
	pid_t child = -1;
	if (with_lookups) {
		child = fork();
		if (child < 0) {
			perror("rmdirloop: fork");
			return 1;
		}
		if (child == 0) {
			lookups(dir);
			_exit(0);
		}
	}
	long ebusy = 0, other = 0;
	int rc = 0;
	for (long i = 0; i < rounds && rc == 0; i++) {
		if (mkdir(dir, 0755) < 0) {
			fprintf(stderr, "rmdirloop: round %ld: mkdir: %s\n", i, strerror(errno));
			rc = 1;
			break;
		}
		pid_t kids[AT_CHILDREN];
		int nkids = 0;
		if (at) {
			if (fill(dir, atol(argv[5])) < 0) {
				fprintf(stderr, "rmdirloop: round %ld: fill: %s\n", i, strerror(errno));
				rc = 1;
				break;
			}
			int ready[2];
			if (pipe(ready) < 0) {
				perror("rmdirloop: pipe");
				rc = 1;
				break;
			}
			for (; nkids < AT_CHILDREN; nkids++) {
				kids[nkids] = fork();
				if (kids[nkids] < 0)
					break;
				if (kids[nkids] == 0) {
					close(ready[0]);
					at_lookups(dir, ready[1]);
					_exit(0);
				}
			}
			close(ready[1]);
			/* Every child's lookups reach the topic first. */
			char c;
			int seen = 0;
			while (seen < nkids && read(ready[0], &c, 1) == 1)
				seen++;
			close(ready[0]);
			if (nkids < AT_CHILDREN || seen < nkids) {
				fprintf(stderr, "rmdirloop: round %ld: %d of %d children ready\n", i, seen,
					AT_CHILDREN);
				rc = 1;
			}
		}
		int fd = with_lookups || at ? -2 : open(tail, O_WRONLY);
		if (fd == -1 || (fd >= 0 && (write(fd, "x\n", 2) != 2 || close(fd) < 0))) {
			fprintf(stderr, "rmdirloop: round %ld: tail: %s\n", i, strerror(errno));
			rc = 1;
			break;
		}
		if (with_lookups)
			usleep(5000); /* the child's lookups reach the new topic */
		int gone = rc == 0 ? rmdir(dir) : 0, err = errno;
		for (int k = 0; k < nkids; k++) {
			kill(kids[k], SIGKILL);
			waitpid(kids[k], NULL, 0);
		}
		if (gone == 0)
			continue;
		if (err == EBUSY)
			ebusy++;
		else
			other++;
		fprintf(stderr, "rmdirloop: round %ld: rmdir: %s\n", i, strerror(err));
		/* Counted above; the next round needs the name, free once
		 * whatever held the topic lets go. */
		for (int k = 0; k < 1000 && rmdir(dir) < 0; k++)
			usleep(10000);
		struct stat st;
		if (stat(dir, &st) == 0) {
			fprintf(stderr, "rmdirloop: round %ld: the topic stays busy\n", i);
			rc = 1;
		}
	}
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	printf("rounds %ld ebusy %ld other %ld\n", rounds, ebusy, other);
	return rc;
}
