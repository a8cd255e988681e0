/*
 * One worker's sessions with the cluster (a worker is one thread per
 * mirrored topic; mirror.c starts and stops them).
 *
 * A session connects to the cluster (libnats, no automatic reconnect: a
 * broken connection ends the session), makes sure the stream exists and is
 * this topic's, learns where to resume from the stream's last message
 * (Logfs-Offset) and then publishes records in offset order with
 * js_PublishMsgAsync, at most WINDOW unacknowledged at a time. Any error ends
 * the session; the next one starts after a backoff and again asks the
 * stream where to resume.
 *
 * Exactly once (docs/DESIGN.md): each message carries Nats-Msg-Id
 * VOLUME-UUID/TOPIC/OFFSET, so a republished record the stream already
 * holds is dropped by its deduplication, and Nats-Expected-Last-Sequence, the
 * stream sequence of the record before it, so a record whose predecessor was
 * lost in a failure is refused instead of stored after a gap.
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

/* Records published and not yet acknowledged, at most. */
#define WINDOW 1024
/* With records in flight, no acknowledgement for this long ends the
 * session. */
#define ACK_WAIT_MS 5000
/* How often an idle worker looks for new records. Records appended within
 * one interval go out together: one wake-up of the worker and of libnats'
 * flusher per batch, not per record (docs/BENCHMARKS.md, the mirror). */
#define POLL_US 5000
#define CONNECT_TIMEOUT_MS 2000
#define API_WAIT_MS 4000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
/* The stream's deduplication window: far longer than any in-flight time. */
#define DEDUP_WINDOW_NS (120ll * 1000000000ll)

/* ---- worker state ---- */

static const char *state_name(enum wstate s)
{
	switch (s) {
	case W_STARTING: return "starting";
	case W_CONNECTING: return "connecting";
	case W_STREAMING: return "streaming";
	case W_WAITING: return "waiting";
	case W_REFUSED: return "refused";
	case W_OFF: return "off";
	}
	return "?";
}

/* Records the worker's state and error; logs only a change. */
static void set_state(struct worker *w, enum wstate s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_state(struct worker *w, enum wstate s, const char *fmt, ...)
{
	char msg[MIRROR_ERROR_MAX] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_lock(&w->mu);
	bool changed = w->state != s || strcmp(w->error, msg) != 0;
	w->state = s;
	snprintf(w->error, sizeof(w->error), "%s", msg);
	pthread_mutex_unlock(&w->mu);
	if (changed)
		mirror_logf(w->m, msg[0] ? 1 : 2, "mirror %s -> %s: %s%s%s", w->topic, w->stream,
		      state_name(s), msg[0] ? ": " : "", msg);
}

static void fail_session(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_session(struct worker *w, const char *fmt, ...)
{
	pthread_mutex_lock(&w->mu);
	if (!w->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->fail, sizeof(w->fail), fmt, ap);
		va_end(ap);
		w->failed = true;
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

/* Waits ms, or less when the worker is told to stop. */
static void pause_ms(struct worker *w, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	while (!atomic_load(&w->stop) && pthread_cond_timedwait(&w->cond, &w->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&w->mu);
}

/* ---- talking to the cluster ---- */

static const char *nats_text(natsStatus s)
{
	const char *t = nats_GetLastError(NULL);
	return t && *t ? t : natsStatus_GetText(s);
}

static void on_closed(natsConnection *nc, void *closure)
{
	struct session_tag *tag = closure;
	struct worker *w = tag->w;
	(void)nc;
	pthread_mutex_lock(&w->mu);
	if (tag->gen == w->gen && !w->failed) {
		w->failed = true;
		snprintf(w->fail, sizeof(w->fail), "connection to the cluster lost");
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

static natsStatus connect_cluster(mirror *m, struct session_tag *tag, natsConnection **nc)
{
	natsOptions *o = NULL;
	natsStatus s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetServers(o, (const char **)m->cfg.urls, m->cfg.nurls);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, CONNECT_TIMEOUT_MS);
	/* A broken connection ends the session: the next one resumes from
	 * what the stream holds, which libnats' reconnect buffer knows not. */
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(o, false);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(o, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(o, 2);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "logfs mirror");
	if (s == NATS_OK && tag)
		s = natsOptions_SetClosedCB(o, on_closed, tag);
	if (s == NATS_OK && tag)
		s = natsOptions_SetDisconnectedCB(o, on_closed, tag);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, o);
	natsOptions_Destroy(o);
	return s;
}

/* The offset of a message published by this mirror for this topic: 0, or
 * -EINVAL when the message is not one (foreign). */
static int our_offset(struct worker *w, natsMsg *msg, uint64_t *offset)
{
	const char *id = NULL, *off = NULL;
	char prefix[37 + LFS_TOPIC_NAME_MAX + 3];
	snprintf(prefix, sizeof(prefix), "%s/%s/", w->m->uuid, w->topic);
	if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) != NATS_OK ||
	    natsMsgHeader_Get(msg, "Logfs-Offset", &off) != NATS_OK ||
	    strncmp(id, prefix, strlen(prefix)) != 0 || strcmp(id + strlen(prefix), off) != 0 ||
	    off[0] < '0' || off[0] > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(off, &end, 10);
	if (*end || errno)
		return -EINVAL;
	*offset = v;
	return 0;
}

/* Where the stream stands: the sequence and offset of its last message for
 * this topic (have = false when it holds none) and its last sequence. */
struct stream_pos {
	bool have;
	uint64_t seq, offset;
	uint64_t last_seq;
};

/* Makes sure the stream exists (creating it) and holds nothing foreign.
 * Returns 0, -EINVAL (foreign: why), or -EAGAIN (the cluster could not
 * say: why). */
static int check_stream(struct worker *w, jsCtx *js, struct stream_pos *pos, char *why,
			size_t whylen)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	int rc = 0;
	memset(pos, 0, sizeof(*pos));
	natsStatus s = js_GetStreamInfo(&si, js, w->stream, NULL, &jerr);
	if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
		jsStreamConfig cfg;
		const char *subjects[1] = {w->subject};
		jsStreamConfig_Init(&cfg);
		cfg.Name = w->stream;
		cfg.Subjects = subjects;
		cfg.SubjectsLen = 1;
		cfg.Storage = js_FileStorage;
		cfg.Replicas = w->m->cfg.replicas;
		cfg.Duplicates = DEDUP_WINDOW_NS;
		cfg.Description = "logfs mirror";
		jerr = 0;
		s = js_AddStream(&si, js, &cfg, NULL, &jerr);
		if (s != NATS_OK) {
			snprintf(why, whylen, "cannot create stream %s (R%d): %s", w->stream,
				 w->m->cfg.replicas, nats_text(s));
			return -EAGAIN;
		}
		mirror_logf(w->m, LFS_LOG_INFO, "mirror %s: created stream %s (subject %s, R%d, file storage)",
		      w->topic, w->stream, w->subject, w->m->cfg.replicas);
	} else if (s != NATS_OK) {
		snprintf(why, whylen, "cannot look up stream %s: %s", w->stream, nats_text(s));
		return -EAGAIN;
	}
	jsStreamConfig *c = si->Config;
	if (c->SubjectsLen != 1 || strcmp(c->Subjects[0], w->subject) != 0) {
		snprintf(why, whylen, "stream %s takes other subjects than %s", w->stream,
			 w->subject);
		rc = -EINVAL;
		goto out;
	}
	pos->last_seq = si->State.LastSeq;
	if (si->State.Msgs == 0)
		goto out;
	/* Its first and last messages must be this topic's, from this volume. */
	uint64_t seqs[2] = {si->State.FirstSeq, 0};
	for (int i = 0; i < 2 && rc == 0; i++) {
		natsMsg *msg = NULL;
		jerr = 0;
		s = i == 0 ? js_GetMsg(&msg, js, w->stream, seqs[0], NULL, &jerr)
			   : js_GetLastMsg(&msg, js, w->stream, w->subject, NULL, &jerr);
		uint64_t off;
		if (s == NATS_NOT_FOUND && i == 0) {
			continue; /* deleted meanwhile: the last one decides */
		} else if (s != NATS_OK) {
			snprintf(why, whylen, "cannot read stream %s: %s", w->stream, nats_text(s));
			rc = -EAGAIN;
		} else if (our_offset(w, msg, &off) < 0) {
			snprintf(why, whylen,
				 "stream %s holds messages not published by this volume for topic %s",
				 w->stream, w->topic);
			rc = -EINVAL;
		} else if (i == 1) {
			pos->have = true;
			pos->seq = natsMsg_GetSequence(msg);
			pos->offset = off;
		}
		natsMsg_Destroy(msg);
	}
out:
	jsStreamInfo_Destroy(si);
	return rc;
}

/* RFC 3339 with nanoseconds, UTC. The date and time of day are formatted
 * once per second, not once per record. */
struct time_fmt {
	time_t sec;
	size_t n;
	char text[40];
};

static void format_time(struct time_fmt *tf, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	if (tf->n == 0 || sec != tf->sec) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		tf->n = strftime(tf->text, sizeof(tf->text), "%Y-%m-%dT%H:%M:%S", &tm);
		tf->sec = sec;
	}
	snprintf(tf->text + tf->n, sizeof(tf->text) - tf->n, ".%09uZ",
		 (unsigned)(ns % 1000000000u));
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct session_tag *tag = closure;
	struct worker *w = tag->w;
	const char *off = NULL;
	(void)js;
	uint64_t o = 0;
	if (natsMsgHeader_Get(msg, "Logfs-Offset", &off) == NATS_OK)
		o = strtoull(off, NULL, 10);
	pthread_mutex_lock(&w->mu);
	if (tag->gen == w->gen) {
		w->inflight--;
		w->acks++;
		if (pa) {
			/* The expected-sequence chain: a stored record's
			 * predecessors are all stored. */
			if (o + 1 > w->acked_next) {
				w->acked_next = o + 1;
				lfs_topic_set_retention_floor(w->t, w->acked_next);
			}
		} else if (!w->failed) {
			w->failed = true;
			snprintf(w->fail, sizeof(w->fail), "publishing offset %" PRIu64 ": %s", o,
				 pae && pae->ErrText ? pae->ErrText
				 : pae		     ? natsStatus_GetText(pae->Err)
						     : "no acknowledgement");
		}
		/* A worker waiting for room in a full window goes on once an
		 * eighth of it is acknowledged: one wake-up per 128
		 * acknowledgements, not per acknowledgement, while the window
		 * stays nearly full. */
		if (w->failed || w->inflight == WINDOW - WINDOW / 8)
			pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
	natsMsg_Destroy(msg);
}

/* The acknowledgement deadline is not libnats' (jsPubOptions.MaxWait):
 * that one keeps a timer entry per message and, when it expires, delivers
 * a timeout message for every one, acknowledged long before or not. */
static natsStatus publish(struct worker *w, jsCtx *js, const struct lfs_record *rec,
			  uint64_t expect_seq, struct time_fmt *tf)
{
	natsMsg *msg = NULL;
	char id[40 + LFS_TOPIC_NAME_MAX + 24], off[24], exp[24];
	natsStatus s = natsMsg_Create(&msg, w->subject, NULL, rec->data, (int)rec->len);
	snprintf(off, sizeof(off), "%" PRIu64, rec->offset);
	snprintf(id, sizeof(id), "%s/%s/%s", w->m->uuid, w->topic, off);
	format_time(tf, rec->timestamp);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Logfs-Offset", off);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Logfs-Time", tf->text);
	if (s == NATS_OK && expect_seq) {
		snprintf(exp, sizeof(exp), "%" PRIu64, expect_seq);
		s = natsMsgHeader_Set(msg, "Nats-Expected-Last-Sequence", exp);
	}
	if (s == NATS_OK)
		s = js_PublishMsgAsync(js, &msg, NULL);
	natsMsg_Destroy(msg); /* NULL when the library took it */
	return s;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Acknowledgement progress as the worker last saw it. */
struct ack_watch {
	uint64_t acks;
	uint64_t since_ms;
};

/* With records in flight and no acknowledgement for ACK_WAIT_MS, fails the
 * session and returns true. w->mu held. */
static bool ack_overdue(struct worker *w, struct ack_watch *aw)
{
	uint64_t now = mono_ms();
	if (w->inflight == 0 || w->acks != aw->acks) {
		aw->acks = w->acks;
		aw->since_ms = now;
		return false;
	}
	if (now - aw->since_ms < ACK_WAIT_MS)
		return false;
	if (!w->failed) {
		w->failed = true;
		snprintf(w->fail, sizeof(w->fail),
			 "no acknowledgement from the stream for %d s (from offset %" PRIu64 ")",
			 ACK_WAIT_MS / 1000, w->acked_next);
	}
	return true;
}

/* Publishes records from start until the session fails or the worker
 * stops. base_seq: the stream sequence of the record before start.
 *
 * The worker looks for new records every POLL_US and publishes all it
 * finds (up to the window) before it sleeps again. A record lost between
 * here and the stream is caught by its successor's expected sequence, or,
 * when it was the last one sent, by the acknowledgements stopping: with
 * records in flight and no acknowledgement for ACK_WAIT_MS, the session
 * ends. */
static void stream_records(struct worker *w, jsCtx *js, uint64_t start, uint64_t base_seq)
{
	struct lfs_start st = {.kind = LFS_START_OFFSET, .value = start};
	struct time_fmt tf = {0};
	lfs_reader *r = NULL;
	int rc = lfs_reader_open(w->t, &st, &r);
	if (rc < 0) {
		fail_session(w, "cannot read the topic at offset %" PRIu64 ": %s", start,
			     strerror(-rc));
		return;
	}
	set_state(w, W_STREAMING, NULL);
	struct ack_watch aw = {0, mono_ms()};
	while (!atomic_load(&w->stop)) {
		/* Wait for room in the window (on_ack wakes this when an eighth
		 * of it is free; the timeout is for the acknowledgement deadline). */
		pthread_mutex_lock(&w->mu);
		while (!w->failed && !atomic_load(&w->stop) && w->inflight >= WINDOW &&
		       !ack_overdue(w, &aw)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&w->cond, &w->mu, &ts);
		}
		bool failed = w->failed;
		pthread_mutex_unlock(&w->mu);
		if (failed)
			break;
		struct lfs_record rec;
		rc = lfs_reader_next_record(r, &rec);
		if (rc < 0) {
			pthread_mutex_lock(&w->mu);
			uint64_t at = w->sent_next;
			pthread_mutex_unlock(&w->mu);
			fail_session(w, "cannot read offset %" PRIu64 ": %s", at, strerror(-rc));
			break;
		}
		if (rc == 0) {
			pthread_mutex_lock(&w->mu);
			ack_overdue(w, &aw);
			pthread_mutex_unlock(&w->mu);
			/* Nothing new: the core has no append notification to
			 * wait on, so poll. */
			struct timespec ts = {0, POLL_US * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		/* The stream sequence of this record's predecessor: stored
		 * records of this topic are consecutive in the stream. */
		uint64_t expect = base_seq + (rec.offset - start);
		pthread_mutex_lock(&w->mu);
		w->inflight++;
		w->sent_next = rec.offset + 1;
		pthread_mutex_unlock(&w->mu);
		natsStatus s = publish(w, js, &rec, expect, &tf);
		if (s != NATS_OK) {
			pthread_mutex_lock(&w->mu);
			w->inflight--;
			pthread_mutex_unlock(&w->mu);
			fail_session(w, "publishing offset %" PRIu64 ": %s", rec.offset, nats_text(s));
			break;
		}
	}
	lfs_reader_close(r);
}

/* One session: returns true when it got as far as streaming. */
static bool session(struct worker *w, struct session_tag *tag)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	bool streamed = false;
	char why[MIRROR_ERROR_MAX];

	natsStatus s = connect_cluster(w->m, tag, &nc);
	if (s != NATS_OK) {
		set_state(w, W_CONNECTING, "cannot connect to the cluster: %s", nats_text(s));
		goto out;
	}
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = API_WAIT_MS;
	jo.PublishAsync.MaxPending = WINDOW + 64;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = tag;
	s = natsConnection_JetStream(&js, nc, &jo);
	if (s != NATS_OK) {
		set_state(w, W_CONNECTING, "JetStream: %s", nats_text(s));
		goto out;
	}
	struct stream_pos pos;
	int rc = check_stream(w, js, &pos, why, sizeof(why));
	if (rc < 0) {
		set_state(w, rc == -EINVAL ? W_REFUSED : W_CONNECTING, "%s", why);
		goto out;
	}
	struct lfs_topic_stat ts;
	lfs_topic_stat(w->t, &ts);
	uint64_t start = pos.have ? pos.offset + 1 : ts.first_offset;
	uint64_t base_seq = pos.have ? pos.seq : pos.last_seq;
	pthread_mutex_lock(&w->mu);
	w->acked_next = w->sent_next = start;
	pthread_mutex_unlock(&w->mu);
	if (start < ts.first_offset) {
		/* Records deleted before they were mirrored (the mirror was
		 * off meanwhile): say so, and go on after the gap. */
		mirror_logf(w->m, LFS_LOG_ERR, "mirror %s -> %s: offsets %" PRIu64 " to %" PRIu64
			       " were deleted before being mirrored",
		      w->topic, w->stream, start, ts.first_offset - 1);
		start = ts.first_offset;
		base_seq = pos.seq;
		pthread_mutex_lock(&w->mu);
		w->acked_next = w->sent_next = start;
		pthread_mutex_unlock(&w->mu);
	}
	lfs_topic_set_retention_floor(w->t, start);
	if (start > ts.next_offset) {
		/* The stream is ahead of the log (records lost here after
		 * being mirrored): wait until the log has caught up. */
		set_state(w, W_WAITING, "stream %s holds offsets up to %" PRIu64
					", the topic ends at %" PRIu64,
			  w->stream, start - 1, ts.next_offset);
		while (!atomic_load(&w->stop) && ts.next_offset < start && !w->failed) {
			pause_ms(w, 100);
			lfs_topic_stat(w->t, &ts);
		}
	}
	streamed = true;
	stream_records(w, js, start, base_seq);
	pthread_mutex_lock(&w->mu);
	snprintf(why, sizeof(why), "%s", w->failed ? w->fail : "");
	pthread_mutex_unlock(&w->mu);
	if (atomic_load(&w->stop)) {
		/* A clean stop: give the acknowledgements in flight a moment,
		 * so that mirror_offset and the floor are current. */
		jsPubOptions po;
		jsPubOptions_Init(&po);
		po.MaxWait = 1000;
		js_PublishAsyncComplete(js, &po);
	} else {
		set_state(w, W_CONNECTING, "%s", why);
	}
out:
	pthread_mutex_lock(&w->mu);
	bool pending = w->inflight > 0;
	pthread_mutex_unlock(&w->mu);
	/* (libnats 3.4 crashes here for a context that never published) */
	if (js && pending) {
		natsMsgList list = {0};
		if (js_PublishAsyncGetPendingList(&list, js) == NATS_OK)
			natsMsgList_Destroy(&list);
	}
	pthread_mutex_lock(&w->mu);
	w->gen++; /* acknowledgements still coming belong to the past */
	w->inflight = 0;
	w->acks = 0;
	w->failed = false;
	pthread_mutex_unlock(&w->mu);
	if (nc)
		natsConnection_Close(nc);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return streamed;
}

/* Names the calling thread "lfs-mirror"; the threads it creates from now
 * on (libnats' reader, flusher and delivery threads of its connections)
 * inherit the name, so that top -H and /proc tell the mirror's CPU from the
 * request threads'. */
void mirror_name_thread(void)
{
	pthread_setname_np(pthread_self(), "lfs-mirror");
}

void *mirror_worker_main(void *arg)
{
	struct worker *w = arg;
	long backoff = BACKOFF_MIN_MS;

	mirror_name_thread();

	if (w->m->cfg.nurls == 0) {
		set_state(w, W_OFF, "no cluster: the mount has no mirror= option");
		return NULL;
	}
	while (!atomic_load(&w->stop)) {
		struct session_tag *tag = calloc(1, sizeof(*tag));
		if (!tag) {
			pause_ms(w, BACKOFF_MAX_MS);
			continue;
		}
		pthread_mutex_lock(&w->mu);
		tag->w = w;
		tag->gen = w->gen;
		pthread_mutex_unlock(&w->mu);
		pthread_mutex_lock(&w->m->mu);
		tag->next = w->m->tags;
		w->m->tags = tag;
		pthread_mutex_unlock(&w->m->mu);
		if (session(w, tag))
			backoff = BACKOFF_MIN_MS;
		if (atomic_load(&w->stop))
			break;
		pause_ms(w, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

/* Asks the cluster whether stream may take topic t: 0, -EINVAL (foreign),
 * or -EAGAIN (no answer now). Creates the stream when missing. */
int mirror_probe(mirror *m, lfs_topic *t, const char *stream, char *why, size_t whylen)
{
	struct worker w = {.m = m, .t = t};
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	struct stream_pos pos;
	int rc = -EAGAIN;

	snprintf(w.topic, sizeof(w.topic), "%s", lfs_topic_name(t));
	snprintf(w.stream, sizeof(w.stream), "%s", stream);
	mirror_subject_of(w.topic, w.subject, sizeof(w.subject));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cond, NULL);
	natsStatus s = connect_cluster(m, NULL, &nc);
	if (s == NATS_OK) {
		jsOptions jo;
		jsOptions_Init(&jo);
		jo.Wait = API_WAIT_MS;
		s = natsConnection_JetStream(&js, nc, &jo);
	}
	if (s == NATS_OK)
		rc = check_stream(&w, js, &pos, why, whylen);
	else
		snprintf(why, whylen, "cannot connect to the cluster: %s", nats_text(s));
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cond);
	return rc;
}
