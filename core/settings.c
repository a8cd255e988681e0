/*
 * Settings: defaults, the text forms used by mount options and xattrs, and
 * the validation both share.
 */
#include "logfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const setting_names[LFS_SET_COUNT] = {
	[LFS_SET_SEGMENT_SIZE] = "segment_size",   [LFS_SET_SEGMENT_MS] = "segment_ms",
	[LFS_SET_RETENTION_BYTES] = "retention_bytes", [LFS_SET_RETENTION_MS] = "retention_ms",
	[LFS_SET_SYNC] = "sync",                   [LFS_SET_MAX_RECORD] = "max_record",
	[LFS_SET_FRAMING] = "framing",
};

/* The smallest segment worth having; below it the index would dominate. */
#define SEGMENT_SIZE_MIN 4096ull
#define SEGMENT_SIZE_MAX (1ull << 40)

void lfs_settings_default(struct lfs_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->segment_size = 64ull << 20;
	s->max_record = 1ull << 20;
	s->sync_mode = LFS_SYNC_INTERVAL;
	s->sync_ms = 100;
	s->framing = LFS_FRAMING_LINE;
}

const char *lfs_setting_name(enum lfs_setting_id id)
{
	return (unsigned)id < LFS_SET_COUNT ? setting_names[id] : NULL;
}

int lfs_setting_lookup(const char *name)
{
	for (int i = 0; i < LFS_SET_COUNT; i++)
		if (strcmp(name, setting_names[i]) == 0)
			return i;
	return -EINVAL;
}

static int parse_u64(const char *text, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

static int scale(uint64_t v, uint64_t mul, uint64_t *out)
{
	if (mul && v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

int lfs_parse_size(const char *text, uint64_t *out)
{
	const char *end;
	uint64_t v, mul = 1;

	if (parse_u64(text, &end, &v) < 0)
		return -EINVAL;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case 't': case 'T': mul = 1ull << 40; end++; break;
	default: return -EINVAL;
	}
	if (*end != 0)
		return -EINVAL;
	return scale(v, mul, out);
}

int lfs_parse_ms(const char *text, uint64_t *out)
{
	const char *end;
	uint64_t v, mul = 1;

	if (parse_u64(text, &end, &v) < 0)
		return -EINVAL;
	if (strcmp(end, "") == 0 || strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mul = 86400ull * 1000;
	else
		return -EINVAL;
	return scale(v, mul, out);
}

int lfs_setting_parse(struct lfs_settings *s, enum lfs_setting_id id, const char *value)
{
	uint64_t v;

	switch (id) {
	case LFS_SET_SEGMENT_SIZE:
		if (lfs_parse_size(value, &v) < 0 || v < SEGMENT_SIZE_MIN || v > SEGMENT_SIZE_MAX)
			return -EINVAL;
		s->segment_size = v;
		return 0;
	case LFS_SET_SEGMENT_MS:
		if (lfs_parse_ms(value, &v) < 0)
			return -EINVAL;
		s->segment_ms = v;
		return 0;
	case LFS_SET_RETENTION_BYTES:
		if (lfs_parse_size(value, &v) < 0)
			return -EINVAL;
		s->retention_bytes = v;
		return 0;
	case LFS_SET_RETENTION_MS:
		if (lfs_parse_ms(value, &v) < 0)
			return -EINVAL;
		s->retention_ms = v;
		return 0;
	case LFS_SET_SYNC:
		if (strcmp(value, "always") == 0) {
			s->sync_mode = LFS_SYNC_ALWAYS;
			s->sync_ms = 0;
		} else if (strcmp(value, "never") == 0) {
			s->sync_mode = LFS_SYNC_NEVER;
			s->sync_ms = 0;
		} else {
			if (lfs_parse_ms(value, &v) < 0 || v == 0 || v > UINT32_MAX)
				return -EINVAL;
			s->sync_mode = LFS_SYNC_INTERVAL;
			s->sync_ms = (uint32_t)v;
		}
		return 0;
	case LFS_SET_MAX_RECORD:
		/* A record must fit a batch, and a line record needs its '\n'. */
		if (lfs_parse_size(value, &v) < 0 || v < 2 || v > LFS_BATCH_MAX / 2)
			return -EINVAL;
		s->max_record = v;
		return 0;
	case LFS_SET_FRAMING:
		if (strcmp(value, "line") == 0)
			s->framing = LFS_FRAMING_LINE;
		else if (strcmp(value, "write") == 0)
			s->framing = LFS_FRAMING_WRITE;
		else
			return -EINVAL;
		return 0;
	case LFS_SET_COUNT:
		break;
	}
	return -EINVAL;
}

int lfs_settings_invalid(const struct lfs_settings *s)
{
	/* The ranges lfs_setting_parse accepts. */
	if (s->segment_size < SEGMENT_SIZE_MIN || s->segment_size > SEGMENT_SIZE_MAX)
		return LFS_SET_SEGMENT_SIZE;
	if (s->max_record < 2 || s->max_record > LFS_BATCH_MAX / 2)
		return LFS_SET_MAX_RECORD;
	if ((s->sync_mode != LFS_SYNC_NEVER && s->sync_mode != LFS_SYNC_ALWAYS &&
	     s->sync_mode != LFS_SYNC_INTERVAL) ||
	    (s->sync_mode == LFS_SYNC_INTERVAL && s->sync_ms == 0))
		return LFS_SET_SYNC;
	if (s->framing != LFS_FRAMING_LINE && s->framing != LFS_FRAMING_WRITE)
		return LFS_SET_FRAMING;
	return -1;
}

int lfs_setting_format(const struct lfs_settings *s, enum lfs_setting_id id, char *buf, size_t len)
{
	int n;

	switch (id) {
	case LFS_SET_SEGMENT_SIZE: n = snprintf(buf, len, "%llu", (unsigned long long)s->segment_size); break;
	case LFS_SET_SEGMENT_MS: n = snprintf(buf, len, "%llu", (unsigned long long)s->segment_ms); break;
	case LFS_SET_RETENTION_BYTES: n = snprintf(buf, len, "%llu", (unsigned long long)s->retention_bytes); break;
	case LFS_SET_RETENTION_MS: n = snprintf(buf, len, "%llu", (unsigned long long)s->retention_ms); break;
	case LFS_SET_MAX_RECORD: n = snprintf(buf, len, "%llu", (unsigned long long)s->max_record); break;
	case LFS_SET_SYNC:
		if (s->sync_mode == LFS_SYNC_ALWAYS)
			n = snprintf(buf, len, "always");
		else if (s->sync_mode == LFS_SYNC_NEVER)
			n = snprintf(buf, len, "never");
		else
			n = snprintf(buf, len, "%u", s->sync_ms);
		break;
	case LFS_SET_FRAMING:
		n = snprintf(buf, len, "%s", s->framing == LFS_FRAMING_WRITE ? "write" : "line");
		break;
	default:
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= len)
		return -ERANGE;
	return n;
}

int lfs_topic_name_check(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return -EINVAL;
	if (n > LFS_TOPIC_NAME_MAX)
		return -ENAMETOOLONG;
	if (name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

int lfs_mirror_name_check(const char *name)
{
	size_t n = strnlen(name, LFS_MIRROR_NAME_MAX + 1);
	if (n > LFS_MIRROR_NAME_MAX)
		return -EINVAL;
	/* topic.conf is "key=value" lines: no line breaks, nothing blank. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == 0x7f)
			return -EINVAL;
	return 0;
}
