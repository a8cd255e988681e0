/*
 * The mirror's mount options (-o mirror=URL[,URL...], mirror_replicas=N)
 * and the names it accepts: stream names and topics' subjects.
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

int mirror_stream_name_check(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > LFS_MIRROR_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return -EINVAL;
	}
	return 0;
}

/* logfs.TOPIC must be a valid subject: no empty token. */
int mirror_subject_of(const char *topic, char *out, size_t len)
{
	size_t n = strlen(topic);
	if (n == 0 || topic[n - 1] == '.' || strstr(topic, ".."))
		return -EINVAL;
	snprintf(out, len, "logfs.%s", topic);
	return 0;
}

static int url_check(const char *u, char *err, size_t errlen)
{
	const char *p = strncmp(u, "nats://", 7) == 0 ? u + 7 : NULL;
	if (!p) {
		snprintf(err, errlen, "'%s' is not a nats://HOST:PORT URL", u);
		return -EINVAL;
	}
	const char *colon = strrchr(p, ':');
	if (!colon || colon == p) {
		snprintf(err, errlen, "'%s' has no HOST:PORT", u);
		return -EINVAL;
	}
	for (const char *h = p; h < colon; h++)
		if (*h == '/' || *h == '@' || *h <= ' ') {
			snprintf(err, errlen, "'%s' has an invalid host", u);
			return -EINVAL;
		}
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port < 1 || port > 65535) {
		snprintf(err, errlen, "'%s' has an invalid port (1 to 65535)", u);
		return -EINVAL;
	}
	return 0;
}

int mirror_parse_urls(struct mirror_config *cfg, const char *text, char *err, size_t errlen)
{
	struct mirror_config c = {0};
	char *copy = strdup(text), *save = NULL;
	int rc = 0;
	if (!copy)
		return -ENOMEM;
	if (!*text) {
		snprintf(err, errlen, "no URL given");
		rc = -EINVAL;
	}
	/* libfuse splits options at commas, so several URLs come as one
	 * value only when the commas were escaped; both forms work. */
	for (char *u = strtok_r(copy, ",", &save); rc == 0 && u; u = strtok_r(NULL, ",", &save)) {
		if (c.nurls == MIRROR_URLS_MAX) {
			snprintf(err, errlen, "more than %d URLs", MIRROR_URLS_MAX);
			rc = -EINVAL;
		} else if ((rc = url_check(u, err, errlen)) == 0 && !(c.urls[c.nurls++] = strdup(u))) {
			rc = -ENOMEM;
		}
	}
	free(copy);
	if (rc == 0 && (size_t)cfg->nurls + (size_t)c.nurls > MIRROR_URLS_MAX) {
		snprintf(err, errlen, "more than %d URLs", MIRROR_URLS_MAX);
		rc = -EINVAL;
	}
	if (rc < 0) {
		mirror_config_free(&c);
		return rc;
	}
	for (int i = 0; i < c.nurls; i++)
		cfg->urls[cfg->nurls++] = c.urls[i];
	return 0;
}

int mirror_parse_replicas(struct mirror_config *cfg, const char *text, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || n < 1 || n > MIRROR_REPLICAS_MAX) {
		snprintf(err, errlen, "'%s' is not a replica count from 1 to %d", text,
			 MIRROR_REPLICAS_MAX);
		return -EINVAL;
	}
	cfg->replicas = (int)n;
	return 0;
}

void mirror_config_free(struct mirror_config *cfg)
{
	for (int i = 0; i < cfg->nurls; i++)
		free(cfg->urls[i]);
	cfg->nurls = 0;
}

