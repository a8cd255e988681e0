/* Start points of readers: "@N", "@RFC3339", "@-AGE" (the text after '@'). */
#include "testutil.h"

#define SEC 1000000000ull

static void expect_offset(const char *text, uint64_t want)
{
	struct lfs_start st = {.kind = LFS_START_TIME, .value = 99};
	assert_int_equal(lfs_start_parse(text, 123 * SEC, &st), 0);
	assert_int_equal(st.kind, LFS_START_OFFSET);
	assert_true(st.value == want);
}

static void expect_time(const char *text, uint64_t now, uint64_t want)
{
	struct lfs_start st = {.kind = LFS_START_OFFSET, .value = 99};
	int rc = lfs_start_parse(text, now, &st);
	if (rc != 0)
		fail_msg("\"%s\" did not parse: %d", text, rc);
	assert_int_equal(st.kind, LFS_START_TIME);
	if (st.value != want)
		fail_msg("\"%s\": got %llu, want %llu", text, (unsigned long long)st.value,
			 (unsigned long long)want);
}

static void expect_einval(const char *text)
{
	struct lfs_start st;
	int rc = lfs_start_parse(text, 1795341600ull * SEC, &st);
	if (rc != -EINVAL)
		fail_msg("\"%s\": got %d, want -EINVAL", text, rc);
}

static void test_offsets(void **state)
{
	(void)state;
	expect_offset("0", 0);
	expect_offset("1", 1);
	expect_offset("1200", 1200);
	expect_offset("00042", 42);
	expect_offset("18446744073709551615", UINT64_MAX);
	expect_einval("18446744073709551616");
	expect_einval("99999999999999999999");
	expect_einval("123456789012345678901"); /* 21 digits */
	expect_einval("12a");
	expect_einval("+5");
	expect_einval(" 5");
	expect_einval("5 ");
	expect_einval("0x10");
	expect_einval("1e3");
	expect_einval("");
}

static void test_rfc3339_utc(void **state)
{
	(void)state;
	uint64_t now = 5 * SEC; /* irrelevant for absolute times */
	expect_time("2026-11-22T10:00:00Z", now, 1795341600ull * SEC);
	expect_time("2026-11-22t10:00:00z", now, 1795341600ull * SEC);
	expect_time("2026-11-22 10:00:00Z", now, 1795341600ull * SEC);
	expect_time("1970-01-01T00:00:00Z", now, 0);
	expect_time("2000-01-01T00:00:00Z", now, 946684800ull * SEC);
	expect_time("2024-02-29T12:34:56Z", now, 1709210096ull * SEC);
	expect_time("2038-01-19T03:14:08Z", now, 2147483648ull * SEC);
	expect_time("2106-02-07T06:28:16Z", now, 4294967296ull * SEC);
	/* Past 2554 the nanoseconds since the epoch do not fit 64 bits: the
	 * time saturates (after every record), never wraps to an early one. */
	expect_time("2554-07-21T23:34:33Z", now, 18446744073ull * SEC);
	expect_time("2554-07-21T23:34:33.709551615Z", now, UINT64_MAX);
	expect_time("2554-07-21T23:34:33.709551616Z", now, UINT64_MAX);
	expect_time("2554-07-21T23:34:34Z", now, UINT64_MAX);
	expect_time("2600-01-01T00:00:00Z", now, UINT64_MAX);
	expect_time("9999-12-31T23:59:59Z", now, UINT64_MAX);
}

/* A leap second (valid RFC 3339) is the second after :59. */
static void test_rfc3339_leap_second(void **state)
{
	(void)state;
	uint64_t now = 5 * SEC;
	expect_time("2016-12-31T23:59:60Z", now, 1483228800ull * SEC);
	expect_time("2016-12-31T23:59:60.5Z", now, 1483228800ull * SEC + SEC / 2);
	expect_time("2016-12-31T15:59:60-08:00", now, 1483228800ull * SEC);
	expect_einval("2016-12-31T23:59:61Z");
}

static void test_rfc3339_offsets(void **state)
{
	(void)state;
	uint64_t t = 1795341600ull * SEC; /* 2026-11-22T10:00:00Z */
	expect_time("2026-11-22T12:00:00+02:00", 0, t);
	expect_time("2026-11-22T05:00:00-05:00", 0, t);
	expect_time("2026-11-22T15:30:00+05:30", 0, t);
	expect_time("2026-11-22T10:00:00+00:00", 0, t);
	expect_time("2026-11-22T10:00:00-00:00", 0, t);
	/* Across a day boundary. */
	expect_time("2026-11-23T09:00:00+23:00", 0, t);
	expect_time("2026-11-21T10:01:00-23:59", 0, t);
}

static void test_rfc3339_fractions(void **state)
{
	(void)state;
	uint64_t t = 1795341600ull * SEC;
	expect_time("2026-11-22T10:00:00.5Z", 0, t + 500000000);
	expect_time("2026-11-22T10:00:00.000000001Z", 0, t + 1);
	expect_time("2026-11-22T10:00:00.123456789Z", 0, t + 123456789);
	expect_time("2026-11-22T10:00:00.12Z", 0, t + 120000000);
	expect_time("2026-11-22T10:00:00.0Z", 0, t);
	/* Beyond nanoseconds: truncated. */
	expect_time("2026-11-22T10:00:00.1234567899Z", 0, t + 123456789);
	expect_time("2026-11-22T12:00:00.25+02:00", 0, t + 250000000);
	expect_einval("2026-11-22T10:00:00.Z");
	expect_einval("2026-11-22T10:00:00.5");
	expect_einval("2026-11-22T10:00:00,5Z");
	expect_einval("2026-11-22T10:00:00.5xZ");
}

static void test_rfc3339_malformed(void **state)
{
	(void)state;
	static const char *bad[] = {
		"2026-11-22T10:00:00",       /* no zone */
		"2026-11-22T10:00Z",         /* no seconds */
		"2026-11-22",                /* date only */
		"2026-11-22T10:00:00ZZ",
		"2026-11-22T10:00:00Z ",
		"2026-11-22T10:00:00+0200",
		"2026-11-22T10:00:00+02",
		"2026-11-22T10:00:00+24:00",
		"2026-11-22T10:00:00+02:60",
		"2026-11-22X10:00:00Z",
		"2026/11/22T10:00:00Z",
		"26-11-22T10:00:00Z",
		"2026-1-22T10:00:00Z",
		"2026-11-2T10:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-32T00:00:00Z",
		"2026-02-29T00:00:00Z",      /* not a leap year */
		"2026-04-31T00:00:00Z",
		"2026-11-22T24:00:00Z",
		"2026-11-22T10:60:00Z",
		"2026-11-22T10:00:61Z",
		"1969-12-31T23:59:59Z",      /* before the epoch */
		"1970-01-01T00:00:00+01:00", /* also before it */
		"2026-11-22T10:00:00Zjunk",
		"T10:00:00Z",
		"now",
		"yesterday",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_einval(bad[i]);
}

static void test_ages(void **state)
{
	(void)state;
	uint64_t now = 1795341600ull * SEC + 123456789;
	expect_time("-10s", now, now - 10 * SEC);
	expect_time("-5m", now, now - 300 * SEC);
	expect_time("-2h", now, now - 7200 * SEC);
	expect_time("-1d", now, now - 86400 * SEC);
	expect_time("-250ms", now, now - 250000000ull);
	expect_time("-0s", now, now);
	expect_time("-90m", now, now - 5400 * SEC);
	/* An age reaching before the epoch starts at the beginning of time. */
	expect_time("-1d", 5 * SEC, 0);
	expect_time("-5s", 5 * SEC, 0);
	/* An age needs its unit and a number. */
	expect_einval("-10");
	expect_einval("-");
	expect_einval("-s");
	expect_einval("-m");
	expect_einval("-1w");
	expect_einval("-1y");
	expect_einval("--1s");
	expect_einval("-+1s");
	expect_einval("- 1s");
	expect_einval("-1 s");
	expect_einval("-1.5h");
	expect_einval("-1S");
	expect_einval("-18446744073709551615d");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_rfc3339_utc),
		cmocka_unit_test(test_rfc3339_leap_second),
		cmocka_unit_test(test_rfc3339_offsets),
		cmocka_unit_test(test_rfc3339_fractions),
		cmocka_unit_test(test_rfc3339_malformed),
		cmocka_unit_test(test_ages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
