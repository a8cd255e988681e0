/*
 * The mirror of a volume: one worker per mirrored topic (session.c runs its
 * sessions with the cluster), started, paused, retargeted and stopped as
 * the topics' settings change, and their status for the xattrs. How a
 * session keeps each record exactly once in the stream: session.c.
 */
#include "mirrorint.h"

#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void mirror_logf(mirror *m, int level, const char *fmt, ...)
{
	char buf[MIRROR_ERROR_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (m->cfg.log)
		m->cfg.log(level, "%s", buf);
}


/* ---- the workers of a volume ---- */

static struct worker *worker_new(mirror *m, lfs_topic *t, const char *stream)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->m = m;
	lfs_topic_ref(t);
	w->t = t;
	snprintf(w->topic, sizeof(w->topic), "%s", lfs_topic_name(t));
	snprintf(w->stream, sizeof(w->stream), "%s", stream);
	mirror_subject_of(w->topic, w->subject, sizeof(w->subject));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	w->sent_next = w->acked_next = ts.first_offset;
	w->state = W_STARTING;
	/* Until the stream says how far it is, keep everything. */
	lfs_topic_set_retention_floor(t, ts.first_offset);
	return w;
}

static int worker_run(struct worker *w)
{
	int rc = pthread_create(&w->thread, NULL, mirror_worker_main, w);
	if (rc != 0)
		return -rc;
	w->running = true;
	return 0;
}

/* Stops a worker and waits for it; it stays on the list (acknowledgement
 * handlers of its last session may still hold it) and is freed at destroy. */
static void worker_stop(struct worker *w)
{
	atomic_store(&w->stop, true);
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	if (w->running)
		pthread_join(w->thread, NULL);
	w->running = false;
}

/* The live worker of a topic (m->mu held). */
static struct worker *find_live(mirror *m, const char *topic)
{
	for (struct worker *w = m->workers; w; w = w->next)
		if (!atomic_load(&w->stop) && strcmp(w->topic, topic) == 0)
			return w;
	return NULL;
}

int mirror_create(lfs_volume *v, const struct mirror_config *cfg, mirror **out)
{
	mirror *m = calloc(1, sizeof(*m));
	char **names = NULL;
	size_t n = 0;
	int rc;
	if (!m)
		return -ENOMEM;
	m->v = v;
	m->cfg = *cfg;
	if (m->cfg.replicas == 0)
		m->cfg.replicas = 1;
	for (int i = 0; i < cfg->nurls; i++)
		m->cfg.urls[i] = NULL;
	m->cfg.nurls = 0;
	for (int i = 0; i < cfg->nurls; i++) {
		if (!(m->cfg.urls[i] = strdup(cfg->urls[i]))) {
			rc = -ENOMEM;
			goto fail;
		}
		m->cfg.nurls++;
	}
	lfs_uuid_format(lfs_volume_info(v)->uuid, m->uuid);
	pthread_mutex_init(&m->mu, NULL);
	rc = lfs_volume_list_topics(v, &names, &n);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		lfs_topic *t;
		struct lfs_topic_meta meta;
		if (rc == 0 && lfs_topic_get(v, names[i], &t) == 0) {
			lfs_topic_get_meta(t, &meta);
			if (meta.mirror[0]) {
				struct worker *w = worker_new(m, t, meta.mirror);
				if (!w) {
					rc = -ENOMEM;
				} else {
					w->next = m->workers;
					m->workers = w;
				}
			}
			lfs_topic_put(t);
		}
		free(names[i]);
	}
	free(names);
	if (rc < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	mirror_destroy(m);
	return rc;
}

/* libnats' own threads (timers, asynchronous callbacks, the collector of
 * messages) start with the library: open it from a named thread, so that
 * they carry the mirror's name too. */
static void *open_nats(void *arg)
{
	mirror *m = arg;
	mirror_name_thread();
	natsStatus s = nats_Open(-1);
	if (s != NATS_OK)
		mirror_logf(m, LFS_LOG_ERR, "mirror: cannot start libnats: %s", natsStatus_GetText(s));
	return NULL;
}

int mirror_start(mirror *m)
{
	int rc = 0;
	if (m->cfg.nurls) {
		pthread_t t;
		rc = -pthread_create(&t, NULL, open_nats, m);
		if (rc < 0)
			return rc;
		pthread_join(t, NULL);
	}
	pthread_mutex_lock(&m->mu);
	m->started = true;
	for (struct worker *w = m->workers; w && rc == 0; w = w->next)
		if (!w->running && !atomic_load(&w->stop))
			rc = worker_run(w);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void mirror_destroy(mirror *m)
{
	if (!m)
		return;
	for (struct worker *w = m->workers; w; w = w->next)
		worker_stop(w);
	/* libnats' own threads may still run a handler of a closed session:
	 * wait for them before the workers go. */
	if (m->started)
		nats_CloseAndWait(5000);
	while (m->workers) {
		struct worker *w = m->workers;
		m->workers = w->next;
		lfs_topic_put(w->t);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cond);
		free(w);
	}
	while (m->tags) {
		struct session_tag *t = m->tags;
		m->tags = t->next;
		free(t);
	}
	mirror_config_free(&m->cfg);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

int mirror_set_target(mirror *m, lfs_topic *t, const char *stream)
{
	char subject[LFS_TOPIC_NAME_MAX + 8], why[MIRROR_ERROR_MAX];
	struct lfs_topic_meta meta;
	int rc;

	if (stream[0] && (mirror_stream_name_check(stream) < 0 ||
			  mirror_subject_of(lfs_topic_name(t), subject, sizeof(subject)) < 0))
		return -EINVAL;
	lfs_topic_get_meta(t, &meta);
	if (strcmp(meta.mirror, stream) == 0)
		return 0;
	if (stream[0] && m->cfg.nurls) {
		rc = mirror_probe(m, t, stream, why, sizeof(why));
		if (rc == -EINVAL) {
			mirror_logf(m, LFS_LOG_WARNING, "mirror %s -> %s refused: %s", lfs_topic_name(t), stream, why);
			return -EINVAL;
		}
	}
	pthread_mutex_lock(&m->mu);
	struct worker *old = find_live(m, lfs_topic_name(t));
	if (old)
		atomic_store(&old->stop, true);
	pthread_mutex_unlock(&m->mu);
	if (old)
		worker_stop(old);
	snprintf(meta.mirror, sizeof(meta.mirror), "%s", stream);
	rc = lfs_topic_set_meta(t, &meta);
	if (rc < 0 || !stream[0]) {
		if (rc == 0) {
			lfs_topic_set_retention_floor(t, UINT64_MAX);
			mirror_logf(m, LFS_LOG_INFO, "mirror %s: off", lfs_topic_name(t));
		}
		return rc;
	}
	struct worker *w = worker_new(m, t, stream);
	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&m->mu);
	w->next = m->workers;
	m->workers = w;
	rc = m->started ? worker_run(w) : 0;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void mirror_pause(mirror *m, const char *topic)
{
	pthread_mutex_lock(&m->mu);
	struct worker *w = find_live(m, topic);
	if (w)
		atomic_store(&w->stop, true);
	pthread_mutex_unlock(&m->mu);
	if (w)
		worker_stop(w);
}

void mirror_resume(mirror *m, const char *topic)
{
	lfs_topic *t;
	struct lfs_topic_meta meta;
	if (lfs_topic_get(m->v, topic, &t) < 0)
		return;
	lfs_topic_get_meta(t, &meta);
	pthread_mutex_lock(&m->mu);
	if (meta.mirror[0] && !find_live(m, topic)) {
		struct worker *w = worker_new(m, t, meta.mirror);
		if (w) {
			w->next = m->workers;
			m->workers = w;
			if (m->started && worker_run(w) < 0)
				atomic_store(&w->stop, true);
		}
	}
	pthread_mutex_unlock(&m->mu);
	lfs_topic_put(t);
}

int mirror_status(mirror *m, lfs_topic *t, struct mirror_status *st)
{
	int rc = -ENODATA;
	struct lfs_topic_stat ts;
	lfs_topic_stat(t, &ts);
	pthread_mutex_lock(&m->mu);
	struct worker *w = find_live(m, lfs_topic_name(t));
	if (w) {
		pthread_mutex_lock(&w->mu);
		st->next_offset = w->sent_next;
		st->lag = ts.next_offset > w->acked_next ? ts.next_offset - w->acked_next : 0;
		snprintf(st->error, sizeof(st->error), "%s", w->error);
		pthread_mutex_unlock(&w->mu);
		rc = 0;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}
