/*
 * mirror_pub: the client-side reference for the mirror's throughput: a plain
 * libnats program publishing the same messages the mirror would (same
 * subject, payload size and headers), asynchronously with the same window.
 *
 *   mirror_pub URL STREAM SUBJECT REPLICAS N SIZE
 *
 * Creates STREAM (file storage, REPLICAS) if missing, publishes N messages
 * of SIZE bytes with js_PublishMsgAsync, at most 1024 unacknowledged, and
 * waits for every acknowledgement. Prints "msgs/s".
 *
 * MIRROR_PUB_EXPECT=1: each message but the first also carries
 * Nats-Expected-Last-Sequence (its predecessor's sequence, STREAM being
 * new), as the mirror's do; for measuring what that header costs the
 * servers (bench/mirror_headers.sh).
 * MIRROR_PUB_FIRST=K: the offsets (ids) start at K, for publishing into a
 * stream that already holds K messages of earlier runs, as the mirror's
 * one stream per topic does (with MIRROR_PUB_EXPECT, the first message
 * then carries the expected sequence K too).
 */
#include "benchutil.h"

#include <inttypes.h>
#include <stdbool.h>
#include <nats/nats.h>

#define WINDOW 1024

static void check(natsStatus s, const char *what)
{
	if (s != NATS_OK) {
		fprintf(stderr, "mirror_pub: %s: %s\n", what, natsStatus_GetText(s));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: mirror_pub URL STREAM SUBJECT REPLICAS N SIZE\n");
		return 2;
	}
	const char *stream = argv[2], *subject = argv[3];
	int replicas = atoi(argv[4]);
	long n = atol(argv[5]);
	size_t size = (size_t)atol(argv[6]);
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	check(natsConnection_ConnectTo(&nc, argv[1]), "connect");
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = WINDOW;
	check(natsConnection_JetStream(&js, nc, &jo), "jetstream");
	if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) != NATS_OK) {
		jsStreamConfig cfg;
		const char *subjects[1] = {subject};
		jsStreamConfig_Init(&cfg);
		cfg.Name = stream;
		cfg.Subjects = subjects;
		cfg.SubjectsLen = 1;
		cfg.Storage = js_FileStorage;
		cfg.Replicas = replicas;
		check(js_AddStream(&si, js, &cfg, NULL, &jerr), "add stream");
	}
	jsStreamInfo_Destroy(si);
	char *payload = malloc(size);
	if (!payload)
		return 1;
	bu_fill_lines(payload, size, size);
	/* MIRROR_PUB_MAXWAIT=MS: a per-message acknowledgement deadline, as
	 * the mirror sets (for comparing what that costs). */
	const char *mw = getenv("MIRROR_PUB_MAXWAIT");
	long maxwait = mw ? atol(mw) : 0;
	const char *ex = getenv("MIRROR_PUB_EXPECT");
	bool expect = ex && strcmp(ex, "1") == 0;
	const char *fi = getenv("MIRROR_PUB_FIRST");
	long first = fi ? atol(fi) : 0;
	jsPubOptions wo;
	jsPubOptions_Init(&wo);
	wo.MaxWait = maxwait;
	double t0 = bu_now();
	for (long i = first; i < first + n; i++) {
		natsMsg *m = NULL;
		char id[96], off[24], when[40];
		snprintf(off, sizeof(off), "%ld", i);
		snprintf(id, sizeof(id), "00000000-0000-0000-0000-000000000000/bench/%ld", i);
		snprintf(when, sizeof(when), "2026-12-05T00:00:00.%09ldZ", i % 1000000000);
		check(natsMsg_Create(&m, subject, NULL, payload, (int)size), "msg");
		natsMsgHeader_Set(m, "Nats-Msg-Id", id);
		natsMsgHeader_Set(m, "Logfs-Offset", off);
		natsMsgHeader_Set(m, "Logfs-Time", when);
		if (expect && i > 0) {
			char seq[24];
			snprintf(seq, sizeof(seq), "%ld", i);
			natsMsgHeader_Set(m, "Nats-Expected-Last-Sequence", seq);
		}
		natsStatus s;
		/* A full window stalls the call (StallWait): try again. */
		while ((s = js_PublishMsgAsync(js, &m, maxwait ? &wo : NULL)) == NATS_TIMEOUT)
			;
		check(s, "publish");
		natsMsg_Destroy(m);
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 60000;
	check(js_PublishAsyncComplete(js, &po), "complete");
	double dt = bu_now() - t0;
	printf("%.0f\n", (double)n / dt);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	free(payload);
	return 0;
}
