/*
 * The mirror: copies topics, record for record and exactly once, into
 * streams of a NATS JetStream cluster (SPEC.md, "Mirroring to NATS
 * JetStream"; docs/DESIGN.md says how). It uses the core through its public
 * API only (readers, topic meta, the retention floor) and libnats; the core
 * knows nothing of it.
 *
 * One worker thread per mirrored topic. Everything a worker needs to resume
 * comes from the stream (the last message's Logfs-Offset), so nothing local
 * has to survive a crash.
 */
#ifndef LFS_MIRROR_H
#define LFS_MIRROR_H

#include "logfs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIRROR_URLS_MAX 16
#define MIRROR_REPLICAS_MAX 5
#define MIRROR_ERROR_MAX 1024

struct mirror_config {
	/* The cluster: NATS URLs (nats://HOST:PORT), none when not given. */
	char *urls[MIRROR_URLS_MAX];
	int nurls;
	int replicas; /* of the streams the mirror creates */
	/* Where state changes are logged (level 0 error, 1 warning, 2 info). */
	void (*log)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
};

/* Parses the value of -o mirror=URL[,URL...] into cfg: 0, or -EINVAL with
 * why in err. */
int mirror_parse_urls(struct mirror_config *cfg, const char *text, char *err, size_t errlen);
/* Parses -o mirror_replicas=N (1 to MIRROR_REPLICAS_MAX). */
int mirror_parse_replicas(struct mirror_config *cfg, const char *text, char *err, size_t errlen);
void mirror_config_free(struct mirror_config *cfg);

/* A JetStream stream name the mirror accepts: letters, digits, '-', '_',
 * 1 to LFS_MIRROR_NAME_MAX bytes. 0 or -EINVAL. */
int mirror_stream_name_check(const char *name);

typedef struct mirror mirror;

/* Sets up the mirror of volume v: every topic with a mirror target gets a
 * retention floor at its first record at once (nothing unmirrored may go
 * before its worker learns what the stream holds). No thread is started:
 * the daemon forks after this. cfg is copied. */
int mirror_create(lfs_volume *v, const struct mirror_config *cfg, mirror **out);
/* Starts a worker for every topic with a mirror target. */
int mirror_start(mirror *m);
/* Stops every worker and releases everything. */
void mirror_destroy(mirror *m);

/* Sets topic t's mirror target (user.logfs.mirror): "" turns it off. A
 * name that is invalid, or a stream that holds messages not published for
 * this topic, is -EINVAL and changes nothing. When the cluster cannot be
 * asked now, the target is kept and the worker checks later. */
int mirror_set_target(mirror *m, lfs_topic *t, const char *stream);
/* A topic is about to be deleted: its worker lets go of it. After a failed
 * delete, mirror_resume starts it again. */
void mirror_pause(mirror *m, const char *topic);
void mirror_resume(mirror *m, const char *topic);

struct mirror_status {
	uint64_t next_offset; /* the next offset to publish */
	uint64_t lag;         /* records not yet acknowledged by the stream */
	char error[MIRROR_ERROR_MAX]; /* the current error, "" while healthy */
};
/* The status of topic t's mirror: -ENODATA when it has no target. */
int mirror_status(mirror *m, lfs_topic *t, struct mirror_status *st);

#endif
