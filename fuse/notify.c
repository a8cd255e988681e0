/*
 * Notifications to the kernel, sent from a thread of their own.
 *
 * A sealed segment's name is cached by the kernel for an hour (its entry
 * timeout: segments never change), so one that retention deleted stayed
 * stat-able and openable by name until then. The core says when a segment
 * is gone (lfs_open_opts.segment_gone), and the kernel is told to drop the
 * name (fuse_lowlevel_notify_inval_entry), so that the next stat(2) or
 * open(2) of it looks it up and gets ENOENT.
 *
 * Never from the thread that deleted the segment: the core calls back with
 * the topic's segs_lock held, possibly inside a request handler (an append
 * that rolled, an unlink), and an invalidation waits for the kernel's lock
 * of the topic directory, which a LOOKUP in that directory holds while its
 * handler waits for segs_lock. The callback only queues (a topic reference
 * and the base); the notifier thread sends, holding no lock of the core.
 */
#include "daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gone {
	struct gone *next;
	lfs_topic *topic; /* a reference */
	uint64_t base;
};

/* mu protects the queue and the flags; cond wakes the thread. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct gone *head, **tail = &head;
static bool running, stopping;
static struct fuse_session *session;
static pthread_t thread;

void notify_segment_gone(void *ctx, lfs_topic *t, uint64_t base)
{
	(void)ctx;
	struct gone *g = malloc(sizeof(*g));
	pthread_mutex_lock(&mu);
	if (stopping) {
		/* The session is going: no kernel to tell. */
		pthread_mutex_unlock(&mu);
		free(g);
		return;
	}
	if (!g) {
		pthread_mutex_unlock(&mu);
		/* The name stays cached until its timeout: logged, the
		 * deletion itself stands. */
		daemon_log(LFS_LOG_WARNING, "topic %s: segment %llu deleted; its name may stay visible "
			   "for up to an hour (out of memory)",
			   lfs_topic_name(t), (unsigned long long)base);
		return;
	}
	lfs_topic_ref(t);
	g->topic = t;
	g->base = base;
	g->next = NULL;
	*tail = g;
	tail = &g->next;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
}

static void send_one(struct gone *g)
{
	uint64_t dir;
	/* The kernel knows no name in a directory it never looked up. */
	if (session && nodes_ino_of(NODE_TOPIC, g->topic, 0, NULL, &dir)) {
		char name[32];
		lfs_seg_name(g->base, "log", name);
		int rc = fuse_lowlevel_notify_inval_entry(session, dir, name, strlen(name));
		/* ENOENT: the kernel had no such name cached. */
		if (rc < 0 && rc != -ENOENT && rc != -ENOTCONN)
			daemon_log(LFS_LOG_WARNING, "topic %s: segment %s deleted; the kernel was not "
				   "told to forget its name: %s",
				   lfs_topic_name(g->topic), name, strerror(-rc));
	}
	lfs_topic_put(g->topic);
	free(g);
}

static void *notify_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!head && !stopping)
			pthread_cond_wait(&cond, &mu);
		if (!head)
			break;
		struct gone *g = head;
		head = g->next;
		if (!head)
			tail = &head;
		pthread_mutex_unlock(&mu);
		send_one(g);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int notify_start(struct fuse_session *se)
{
	session = se;
	int rc = -pthread_create(&thread, NULL, notify_main, NULL);
	if (rc == 0)
		running = true;
	return rc;
}

void notify_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	if (running)
		pthread_join(thread, NULL);
	running = false;
	session = NULL;
	/* What is left (queued before a thread ran) only holds topic
	 * references; nothing is queued from now on. */
	pthread_mutex_lock(&mu);
	struct gone *g = head;
	head = NULL;
	tail = &head;
	pthread_mutex_unlock(&mu);
	while (g) {
		struct gone *next = g->next;
		lfs_topic_put(g->topic);
		free(g);
		g = next;
	}
}
