/*
 * SIGTERM and SIGINT: a clean unmount, whichever thread they find.
 *
 * libfuse's handlers end the session loop by setting a flag that the
 * loop's main thread reads when a signal interrupts its wait. That holds
 * only if the main thread takes the signal while it waits: taken by one of
 * the daemon's other threads (the ticker, the notifier, a verify-ahead or
 * mirror thread, libfuse's workers), or just before the wait begins, the
 * flag is set and nothing wakes the loop, which then waits for a request
 * that may never come (a daemon that ignores SIGTERM, a mount that is never
 * released). So the two signals are blocked in every thread (the mask is
 * set in the main thread before any other thread exists, and threads
 * inherit it), one thread takes them with sigwait, ends the session and
 * interrupts the main thread's wait with a thread-directed signal of its
 * own (a handler that does nothing), again every KICK_MS until the loop
 * has returned. SIGHUP keeps its handler (log.c): it only sets a flag.
 */
#include "daemon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define KICK_MS 20

static sigset_t term_set;            /* SIGTERM, SIGINT */
static pthread_t main_thread;        /* the thread that runs the session loop */
static pthread_t waiter;
static bool waiter_running;          /* main thread only */
static struct fuse_session *session; /* set before the waiter starts */
static atomic_bool loop_done;        /* the session loop has returned */
static atomic_bool quitting;         /* signals_stop asked the waiter to end */

static void on_kick(int sig)
{
	(void)sig; /* interrupting the wait is all it is for */
}

int signals_block(void)
{
	sigemptyset(&term_set);
	sigaddset(&term_set, SIGTERM);
	sigaddset(&term_set, SIGINT);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_kick;
	sa.sa_flags = 0; /* no SA_RESTART: the wait must return */
	if (sigaction(SIGRTMIN, &sa, NULL) < 0)
		return -errno;
	main_thread = pthread_self();
	return -pthread_sigmask(SIG_BLOCK, &term_set, NULL);
}

static void *wait_main(void *arg)
{
	(void)arg;
	for (;;) {
		int sig;
		if (sigwait(&term_set, &sig) != 0 || atomic_load(&quitting))
			return NULL;
		fuse_session_exit(session);
		while (!atomic_load(&loop_done) && !atomic_load(&quitting)) {
			pthread_kill(main_thread, SIGRTMIN);
			struct timespec ts = {0, KICK_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
}

int signals_start(struct fuse_session *se)
{
	session = se;
	int rc = pthread_create(&waiter, NULL, wait_main, NULL);
	if (rc != 0)
		return -rc;
	waiter_running = true;
	return 0;
}

void signals_stop(void)
{
	atomic_store(&loop_done, true);
	if (!waiter_running)
		return;
	atomic_store(&quitting, true);
	/* Thread-directed, so it reaches the waiter's sigwait and no other
	 * thread (all block it). */
	pthread_kill(waiter, SIGTERM);
	pthread_join(waiter, NULL);
	waiter_running = false;
}
