/*
 * Start points for readers: "@N", "@<RFC 3339 time>", "@-<age>".
 */
#include "logfs.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, const char *set)
{
	if (!**p || !strchr(set, **p))
		return -EINVAL;
	(*p)++;
	return 0;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static int parse_rfc3339(const char *p, uint64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, s, oh = 0, om = 0;
	uint64_t frac = 0;

	memset(&tm, 0, sizeof(tm));
	if (digits(&p, 4, &y) || expect(&p, "-") || digits(&p, 2, &mo) || expect(&p, "-") ||
	    digits(&p, 2, &d) || expect(&p, "Tt ") || digits(&p, 2, &h) || expect(&p, ":") ||
	    digits(&p, 2, &mi) || expect(&p, ":") || digits(&p, 2, &s))
		return -EINVAL;
	if (*p == '.') {
		p++;
		int n = 0;
		for (; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 9)
				frac = frac * 10 + (uint64_t)(*p - '0');
		if (n == 0)
			return -EINVAL;
		for (; n < 9; n++)
			frac *= 10;
	}
	int sign = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (digits(&p, 2, &oh) || expect(&p, ":") || digits(&p, 2, &om))
			return -EINVAL;
		if (oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	/* A leap second (:60, valid RFC 3339) is taken as the second after
	 * :59: the system clock, which stamps records, has no :60 either. */
	tm.tm_sec = s == 60 ? 59 : s;
	time_t t = timegm(&tm);
	/* timegm normalises 31 February to March: refuse such dates. */
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_mday != d || back.tm_mon != mo - 1)
		return -EINVAL;
	int64_t secs = (int64_t)t + (s == 60) - sign * (oh * 3600 + om * 60);
	if (secs < 0)
		return -EINVAL;
	/* Past 2554 the nanoseconds do not fit: a time after every record
	 * there can be (an empty view that grows), not a wrapped one. */
	if ((uint64_t)secs > (UINT64_MAX - frac) / 1000000000ull)
		*out = UINT64_MAX;
	else
		*out = (uint64_t)secs * 1000000000ull + frac;
	return 0;
}

int lfs_start_parse(const char *text, uint64_t now_ns, struct lfs_start *out)
{
	uint64_t v = 0;

	if (!*text)
		return -EINVAL;
	if (text[0] == '-') {
		uint64_t ms;
		if (lfs_parse_ms(text + 1, &ms) < 0 || strcmp(text + 1 + strspn(text + 1, "0123456789"), "") == 0)
			return -EINVAL; /* an age needs its unit: -10s, -5m, -2h, -1d */
		if (ms > now_ns / 1000000ull)
			ms = now_ns / 1000000ull;
		out->kind = LFS_START_TIME;
		out->value = now_ns - ms * 1000000ull;
		return 0;
	}
	if (strspn(text, "0123456789") == strlen(text)) {
		if (strlen(text) > 20)
			return -EINVAL;
		for (const char *p = text; *p; p++) {
			uint64_t d = (uint64_t)(*p - '0');
			if (v > (UINT64_MAX - d) / 10)
				return -EINVAL;
			v = v * 10 + d;
		}
		out->kind = LFS_START_OFFSET;
		out->value = v;
		return 0;
	}
	if (parse_rfc3339(text, &v) < 0)
		return -EINVAL;
	out->kind = LFS_START_TIME;
	out->value = v;
	return 0;
}
