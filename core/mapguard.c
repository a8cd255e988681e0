/*
 * Reads of mapped files guarded against a file cut under its mapping: the
 * SIGBUS a touch past the new end raises becomes -EIO for that one read.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

/* A sealed segment's file can be cut behind the daemon's back (another
 * process, a damaged disk) after it was mapped: touching a page past the
 * new end raises SIGBUS. The daemon's own reads of mappings run under
 * lfs_mapped_access, which turns that SIGBUS into -EIO for the one read
 * (a reply the kernel copies from such a mapping fails inside the kernel,
 * which ends that request with EIO itself: mount_untrusted.sh reads both
 * ways). */
static _Thread_local sigjmp_buf *bus_env;
static struct sigaction bus_prev;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	if (bus_env)
		siglongjmp(*bus_env, 1);
	/* Not a guarded access: back to what the process had, and the
	 * faulting instruction faults again under it. */
	sigaction(SIGBUS, &bus_prev, NULL);
}

static void bus_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &bus_prev);
}

int lfs_mapped_access(void (*fn)(void *), void *arg)
{
	sigjmp_buf env;
	pthread_once(&bus_once, bus_install);
	if (sigsetjmp(env, 0)) {
		bus_env = NULL;
		return -EIO;
	}
	bus_env = &env;
	fn(arg);
	bus_env = NULL;
	return 0;
}
