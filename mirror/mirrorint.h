/*
 * What the mirror's files share (mirror.c: the workers of a volume;
 * session.c: one worker's sessions with the cluster; config.c: the mount
 * options). Not part of the mirror's API (mirror.h).
 *
 * Locks: mirror->mu (the worker list and the session tags) is taken before
 * a worker's mu, never the other way round (the lock table in
 * core/internal.h).
 */
#ifndef LFS_MIRROR_INT_H
#define LFS_MIRROR_INT_H

#include "mirror.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum wstate { W_STARTING, W_CONNECTING, W_STREAMING, W_WAITING, W_REFUSED, W_OFF };

struct worker {
	mirror *m;
	lfs_topic *t; /* a reference */
	char topic[LFS_TOPIC_NAME_MAX + 1];
	char stream[LFS_MIRROR_NAME_MAX + 1];
	char subject[LFS_TOPIC_NAME_MAX + 8];
	pthread_t thread;
	bool running;
	atomic_bool stop;

	pthread_mutex_t mu;
	pthread_cond_t cond;
	/* Under mu: */
	uint64_t gen;        /* session number: acknowledgements of older ones are ignored */
	uint64_t sent_next;  /* next offset to publish */
	uint64_t acked_next; /* every record before it is in the stream */
	int inflight;
	uint64_t acks;       /* acknowledgements of this session so far */
	bool failed;         /* the session must end */
	char fail[MIRROR_ERROR_MAX];
	enum wstate state;
	char error[MIRROR_ERROR_MAX]; /* what mirror_error shows */
	struct worker *next;
};

/* What a session's acknowledgement handler needs: its worker and number. */
struct session_tag {
	struct worker *w;
	uint64_t gen;
	struct session_tag *next;
};

struct mirror {
	lfs_volume *v;
	struct mirror_config cfg;
	char uuid[37];
	pthread_mutex_t mu; /* the worker list */
	struct worker *workers; /* live and retired (freed at destroy) */
	struct session_tag *tags;
	bool started;
};

void mirror_logf(mirror *m, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* config.c: the subject of a topic's messages, logfs.TOPIC; -EINVAL when
 * that is not a valid subject. */
int mirror_subject_of(const char *topic, char *out, size_t len);

/* session.c */
/* Names the calling thread "lfs-mirror" (the threads it creates inherit it). */
void mirror_name_thread(void);
/* A worker's thread: sessions with backoff until the worker is stopped. */
void *mirror_worker_main(void *arg);
/* Asks the cluster whether stream may take topic t: 0, -EINVAL (foreign:
 * why), or -EAGAIN (no answer now). Creates the stream when missing. */
int mirror_probe(mirror *m, lfs_topic *t, const char *stream, char *why, size_t whylen);

#endif
