/*
 * A JetStream client for the mirror tests (libnats):
 *   nats_tool port                     a free loopback TCP port
 *   nats_tool ready URL                exit 0 when JetStream answers there
 *   nats_tool leader URL STREAM        the stream's leader (server name)
 *   nats_tool put URL STREAM SUBJECT DATA
 *                                      creates the stream (R1) if missing and
 *                                      publishes DATA to SUBJECT
 *   nats_tool create URL STREAM SUBJECT TAG
 *                                      creates an empty R1 stream for
 *                                      SUBJECT on the server tagged TAG
 *   nats_tool dump URL STREAM PAYLOADS [PREFIX]
 *
 * dump reads every message of a JetStream stream, by sequence, with libnats.
 * Writes the payloads one after the other to PAYLOADS and, for each
 * message, a line "SEQ OFFSET LEN TIME" to stdout. With PREFIX (the
 * mirror's "VOLUME-UUID/TOPIC/") it also checks what the mirror promises,
 * and exits 1 at the first message that breaks it: Nats-Msg-Id is
 * PREFIX + Logfs-Offset, offsets are consecutive (each record exactly once,
 * in order), Logfs-Time is RFC 3339 UTC with nanoseconds, and no other
 * headers than those and Nats-Expected-Last-Sequence are present.
 * Exit 2 for operational errors (a server that answers "temporarily
 * unavailable" is asked again for up to 30 s first).
 */
#include <nats/nats.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

/* The status alone says only "Error" for a JetStream API error: the
 * library's last error holds the server's description and code. */
static int die(const char *what, natsStatus s)
{
	natsStatus last = NATS_OK;
	const char *text = nats_GetLastError(&last);
	fprintf(stderr, "nats_tool: %s: %s (%s)\n", what, natsStatus_GetText(s),
		text && *text ? text : "no detail");
	return 2;
}

static int time_ok(const char *t)
{
	/* YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ */
	const char *shape = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
	if (strlen(t) != strlen(shape))
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != shape[i])
			return 0;
	return 1;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("nats_tool: port");
		return 2;
	}
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

static int connect_js(const char *url, natsConnection **nc, jsCtx **js)
{
	natsOptions *o = NULL;
	natsStatus s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetURL(o, url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(o, false);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK)
		return die("connect", s);
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 2000;
	if ((s = natsConnection_JetStream(js, *nc, &jo)) != NATS_OK)
		return die("jetstream", s);
	return 0;
}

static int ready(const char *url)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsAccountInfo *ai = NULL;
	jsErrCode jerr = 0;
	int rc = connect_js(url, &nc, &js);
	if (rc == 0 && js_GetAccountInfo(&ai, js, NULL, &jerr) != NATS_OK)
		rc = 1;
	jsAccountInfo_Destroy(ai);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

static int leader(const char *url, const char *stream)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	int rc = connect_js(url, &nc, &js);
	if (rc == 0 && js_GetStreamInfo(&si, js, stream, NULL, &jerr) == NATS_OK && si->Cluster &&
	    si->Cluster->Leader)
		printf("%s\n", si->Cluster->Leader);
	else
		rc = 1;
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

static int put(const char *url, const char *stream, const char *subject, const char *data)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	int rc = connect_js(url, &nc, &js);
	if (rc)
		return rc;
	if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) != NATS_OK) {
		jsStreamConfig cfg;
		const char *subjects[1] = {subject};
		jsStreamConfig_Init(&cfg);
		cfg.Name = stream;
		cfg.Subjects = subjects;
		cfg.SubjectsLen = 1;
		cfg.Storage = js_FileStorage;
		if ((s = js_AddStream(&si, js, &cfg, NULL, &jerr)) != NATS_OK)
			return die("add stream", s);
	}
	if ((s = js_Publish(&pa, js, subject, data, (int)strlen(data), NULL, &jerr)) != NATS_OK)
		return die("publish", s);
	jsPubAck_Destroy(pa);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

/* An R1 stream placed on the server with tag TAG (server_tags), so that a
 * test knows which server stores it. */
static int create(const char *url, const char *stream, const char *subject, const char *tag)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	int rc = connect_js(url, &nc, &js);
	if (rc)
		return rc;
	jsStreamConfig cfg;
	const char *subjects[1] = {subject};
	const char *tags[1] = {tag};
	/* (libnats 3.4 marshals Cluster even when NULL: name it; the
	 * tests' clusters are called lfs, tests/lib/nats.sh) */
	jsPlacement pl = {.Cluster = "lfs", .Tags = tags, .TagsLen = 1};
	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = 1;
	cfg.Placement = &pl;
	if ((s = js_AddStream(&si, js, &cfg, NULL, &jerr)) != NATS_OK)
		rc = die("add stream", s);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}

static int dump(int argc, char **argv);

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "port") && argc == 2)
		return free_port();
	if (!strcmp(cmd, "ready") && argc == 3)
		return ready(argv[2]);
	if (!strcmp(cmd, "leader") && argc == 4)
		return leader(argv[2], argv[3]);
	if (!strcmp(cmd, "put") && argc == 6)
		return put(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(cmd, "create") && argc == 6)
		return create(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(cmd, "dump") && (argc == 5 || argc == 6))
		return dump(argc - 1, argv + 1);
	fprintf(stderr, "usage: nats_tool port | ready URL | leader URL STREAM |\n"
			"       put URL STREAM SUBJECT DATA | create URL STREAM SUBJECT TAG |\n"
			"       dump URL STREAM PAYLOADS [PREFIX]\n");
	return 2;
}

/* JSClusterNotAvailErr, "JetStream system temporarily unavailable": the
 * server answers so while the stream's group has no leader it knows of,
 * which happens for a moment after one of its servers was stopped and
 * resumes (mirror_deadline). The server asks the client to come back, so
 * the dump does, for up to 30 s; every other error ends it at once.
 * ask_again: true (after a pause) when the answer S, JERR asks for that and
 * *TRIES has not run out. */
static bool ask_again(natsStatus s, jsErrCode jerr, int *tries)
{
	if (s != NATS_ERR || jerr != JSClusterNotAvailErr || ++*tries > 300)
		return false;
	usleep(100 * 1000);
	return true;
}

static int dump(int argc, char **argv)
{
	const char *prefix = argc == 5 ? argv[4] : NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	int rc = connect_js(argv[1], &nc, &js);
	if (rc)
		return rc;
	int tries = 0;
	do {
		jerr = 0;
		s = js_GetStreamInfo(&si, js, argv[2], NULL, &jerr);
	} while (ask_again(s, jerr, &tries));
	if (s != NATS_OK)
		return die("stream info", s);
	FILE *out = fopen(argv[3], "wb");
	if (!out) {
		perror(argv[3]);
		return 2;
	}
	int bad = 0;
	uint64_t expect = 0, count = 0;
	for (uint64_t seq = si->State.FirstSeq; si->State.Msgs && seq <= si->State.LastSeq && !bad;
	     seq++) {
		natsMsg *m = NULL;
		tries = 0;
		do {
			jerr = 0;
			s = js_GetMsg(&m, js, argv[2], seq, NULL, &jerr);
		} while (ask_again(s, jerr, &tries));
		if (s == NATS_NOT_FOUND)
			continue; /* deleted */
		if (s != NATS_OK) {
			fprintf(stderr, "nats_tool: message %" PRIu64 " of %" PRIu64 "..%" PRIu64
					": JetStream error code %d\n",
				seq, si->State.FirstSeq, si->State.LastSeq, (int)jerr);
			return die("get message", s);
		}
		const char *id = "", *off = "", *when = "";
		natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
		natsMsgHeader_Get(m, "Logfs-Offset", &off);
		natsMsgHeader_Get(m, "Logfs-Time", &when);
		int len = natsMsg_GetDataLength(m);
		if (len && fwrite(natsMsg_GetData(m), 1, (size_t)len, out) != (size_t)len) {
			perror(argv[3]);
			return 2;
		}
		printf("%" PRIu64 " %s %d %s\n", seq, off, len, when);
		if (prefix) {
			uint64_t o = strtoull(off, NULL, 10);
			const char **keys = NULL;
			int nkeys = 0;
			natsMsgHeader_Keys(m, &keys, &nkeys);
			for (int k = 0; k < nkeys; k++)
				if (strcmp(keys[k], "Nats-Msg-Id") && strcmp(keys[k], "Logfs-Offset") &&
				    strcmp(keys[k], "Logfs-Time") &&
				    strcmp(keys[k], "Nats-Expected-Last-Sequence")) {
					fprintf(stderr, "seq %" PRIu64 ": unexpected header %s\n",
						seq, keys[k]);
					bad = 1;
				}
			free((void *)keys);
			if (strncmp(id, prefix, strlen(prefix)) || strcmp(id + strlen(prefix), off)) {
				fprintf(stderr, "seq %" PRIu64 ": Nats-Msg-Id '%s', Logfs-Offset '%s'\n",
					seq, id, off);
				bad = 1;
			} else if (count && o != expect) {
				fprintf(stderr, "seq %" PRIu64 ": offset %" PRIu64 ", expected %" PRIu64
						" (%s)\n",
					seq, o, expect, o < expect ? "duplicate" : "gap");
				bad = 1;
			} else if (!time_ok(when)) {
				fprintf(stderr, "seq %" PRIu64 ": Logfs-Time '%s'\n", seq, when);
				bad = 1;
			}
			expect = o + 1;
		}
		count++;
		natsMsg_Destroy(m);
	}
	if (fclose(out) != 0) {
		perror(argv[3]);
		return 2;
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return bad;
}
