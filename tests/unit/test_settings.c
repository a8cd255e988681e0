/* Settings: sizes, times, every setting's parse/format and its limits,
 * setting names, topic name rules. */
#include "testutil.h"

static void assert_settings_equal(const struct lfs_settings *a, const struct lfs_settings *b)
{
	assert_true(a->segment_size == b->segment_size);
	assert_true(a->segment_ms == b->segment_ms);
	assert_true(a->retention_bytes == b->retention_bytes);
	assert_true(a->retention_ms == b->retention_ms);
	assert_true(a->max_record == b->max_record);
	assert_int_equal(a->sync_mode, b->sync_mode);
	assert_int_equal(a->sync_ms, b->sync_ms);
	assert_int_equal(a->framing, b->framing);
}

struct parse_case {
	const char *text;
	uint64_t want;
};

/* Each of ok parses to its value; each of bad is refused with -EINVAL,
 * the output left as it was. */
static void expect_parses(int (*parse)(const char *, uint64_t *), const struct parse_case *ok,
			  size_t nok, const char *const *bad, size_t nbad)
{
	for (size_t i = 0; i < nok; i++) {
		uint64_t v = 0;
		assert_int_equal(parse(ok[i].text, &v), 0);
		assert_true(v == ok[i].want);
	}
	for (size_t i = 0; i < nbad; i++) {
		uint64_t v = 4242;
		assert_int_equal(parse(bad[i], &v), -EINVAL);
		assert_true(v == 4242);
	}
}

static void test_parse_size(void **state)
{
	(void)state;
	static const struct parse_case ok[] = {
		{"0", 0},
		{"1", 1},
		{"4096", 4096},
		{"10K", 10240},
		{"10k", 10240},
		{"1M", 1ull << 20},
		{"3m", 3ull << 20},
		{"1G", 1ull << 30},
		{"2g", 2ull << 30},
		{"1T", 1ull << 40},
		{"007", 7},
		{"18446744073709551615", UINT64_MAX},
		{"16777215T", 16777215ull << 40},
	};
	static const char *const bad[] = {
		"", "K", "-1", "+1", " 1", "1 ", "1.5M", "1KB", "1KK", "1Mi", "1P", "1e3",
		"0x10", "18446744073709551616", "99999999999999999999999",
		"16777216T", /* 2^64: overflows */
		"17179869184G", "1,000",
	};
	expect_parses(lfs_parse_size, ok, sizeof(ok) / sizeof(ok[0]), bad,
		      sizeof(bad) / sizeof(bad[0]));
}

static void test_parse_ms(void **state)
{
	(void)state;
	static const struct parse_case ok[] = {
		{"0", 0},
		{"100", 100},
		{"100ms", 100},
		{"10s", 10000},
		{"5m", 300000},
		{"2h", 7200000},
		{"1d", 86400000},
		{"7d", 7ull * 86400000},
		{"0s", 0},
		{"18446744073709551615", UINT64_MAX},
	};
	static const char *const bad[] = {
		"", "s", "ms", "-5s", "1w", "1y", "1S", "1H", "1sec", "1 s", " 1", "1.5s",
		"10msx", "1mss", "18446744073709551616", "18446744073709551615s", "999999999999999999d",
	};
	expect_parses(lfs_parse_ms, ok, sizeof(ok) / sizeof(ok[0]), bad,
		      sizeof(bad) / sizeof(bad[0]));
}

static void test_defaults(void **state)
{
	(void)state;
	struct lfs_settings s;
	memset(&s, 0xab, sizeof(s));
	lfs_settings_default(&s);
	assert_true(s.segment_size == 64ull << 20);
	assert_true(s.segment_ms == 0);
	assert_true(s.retention_bytes == 0);
	assert_true(s.retention_ms == 0);
	assert_true(s.max_record == 1ull << 20);
	assert_int_equal(s.sync_mode, LFS_SYNC_INTERVAL);
	assert_int_equal(s.sync_ms, 100);
	assert_int_equal(s.framing, LFS_FRAMING_LINE);
}

static void test_names_and_lookup(void **state)
{
	(void)state;
	static const char *names[LFS_SET_COUNT] = {
		[LFS_SET_SEGMENT_SIZE] = "segment_size", [LFS_SET_SEGMENT_MS] = "segment_ms",
		[LFS_SET_RETENTION_BYTES] = "retention_bytes",
		[LFS_SET_RETENTION_MS] = "retention_ms", [LFS_SET_SYNC] = "sync",
		[LFS_SET_MAX_RECORD] = "max_record", [LFS_SET_FRAMING] = "framing",
	};
	for (int i = 0; i < LFS_SET_COUNT; i++) {
		assert_string_equal(lfs_setting_name(i), names[i]);
		assert_int_equal(lfs_setting_lookup(names[i]), i);
	}
	assert_null(lfs_setting_name(LFS_SET_COUNT));
	assert_null(lfs_setting_name((enum lfs_setting_id)-1));
	assert_int_equal(lfs_setting_lookup(""), -EINVAL);
	assert_int_equal(lfs_setting_lookup("bogus"), -EINVAL);
	assert_int_equal(lfs_setting_lookup("SYNC"), -EINVAL);
	assert_int_equal(lfs_setting_lookup("user.logfs.sync"), -EINVAL);
	assert_int_equal(lfs_setting_lookup("sync "), -EINVAL);
}

/* Parses value for id into a default settings struct and formats it back. */
static int parse_fmt(enum lfs_setting_id id, const char *value, char *out, size_t outlen)
{
	struct lfs_settings s;
	lfs_settings_default(&s);
	int rc = lfs_setting_parse(&s, id, value);
	if (rc < 0)
		return rc;
	return lfs_setting_format(&s, id, out, outlen);
}

static void test_parse_format_each_setting(void **state)
{
	(void)state;
	static const struct {
		enum lfs_setting_id id;
		const char *in, *out;
	} ok[] = {
		{LFS_SET_SEGMENT_SIZE, "4096", "4096"},
		{LFS_SET_SEGMENT_SIZE, "4K", "4096"},
		{LFS_SET_SEGMENT_SIZE, "64M", "67108864"},
		{LFS_SET_SEGMENT_SIZE, "1G", "1073741824"},
		{LFS_SET_SEGMENT_SIZE, "1T", "1099511627776"},
		{LFS_SET_SEGMENT_MS, "0", "0"},
		{LFS_SET_SEGMENT_MS, "250", "250"},
		{LFS_SET_SEGMENT_MS, "1h", "3600000"},
		{LFS_SET_RETENTION_BYTES, "0", "0"},
		{LFS_SET_RETENTION_BYTES, "10G", "10737418240"},
		{LFS_SET_RETENTION_BYTES, "1", "1"},
		{LFS_SET_RETENTION_MS, "0", "0"},
		{LFS_SET_RETENTION_MS, "7d", "604800000"},
		{LFS_SET_RETENTION_MS, "90s", "90000"},
		{LFS_SET_SYNC, "always", "always"},
		{LFS_SET_SYNC, "never", "never"},
		{LFS_SET_SYNC, "100", "100"},
		{LFS_SET_SYNC, "1", "1"},
		{LFS_SET_SYNC, "2s", "2000"},
		{LFS_SET_SYNC, "4294967295", "4294967295"},
		{LFS_SET_MAX_RECORD, "2", "2"},
		{LFS_SET_MAX_RECORD, "1M", "1048576"},
		{LFS_SET_MAX_RECORD, "32M", "33554432"},
		{LFS_SET_FRAMING, "line", "line"},
		{LFS_SET_FRAMING, "write", "write"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char buf[64];
		int n = parse_fmt(ok[i].id, ok[i].in, buf, sizeof(buf));
		assert_int_equal(n, (int)strlen(ok[i].out));
		assert_string_equal(buf, ok[i].out);
		/* What format prints, parse reads back to the same value. */
		char again[64];
		assert_int_equal(parse_fmt(ok[i].id, buf, again, sizeof(again)), n);
		assert_string_equal(again, buf);
	}
}

static void test_parse_sets_only_its_field(void **state)
{
	(void)state;
	struct lfs_settings s, ref;
	lfs_settings_default(&ref);
	s = ref;
	assert_int_equal(lfs_setting_parse(&s, LFS_SET_SYNC, "always"), 0);
	assert_int_equal(s.sync_mode, LFS_SYNC_ALWAYS);
	assert_int_equal(s.sync_ms, 0);
	s.sync_mode = ref.sync_mode;
	s.sync_ms = ref.sync_ms;
	assert_settings_equal(&s, &ref);
	assert_int_equal(lfs_setting_parse(&s, LFS_SET_SYNC, "never"), 0);
	assert_int_equal(s.sync_mode, LFS_SYNC_NEVER);
	assert_int_equal(lfs_setting_parse(&s, LFS_SET_SYNC, "250"), 0);
	assert_int_equal(s.sync_mode, LFS_SYNC_INTERVAL);
	assert_int_equal(s.sync_ms, 250);
	s = ref;
	assert_int_equal(lfs_setting_parse(&s, LFS_SET_RETENTION_MS, "1m"), 0);
	assert_true(s.retention_ms == 60000);
	s.retention_ms = 0;
	assert_settings_equal(&s, &ref);
	assert_int_equal(lfs_setting_parse(&s, LFS_SET_FRAMING, "write"), 0);
	assert_int_equal(s.framing, LFS_FRAMING_WRITE);
}

static void test_parse_invalid_values(void **state)
{
	(void)state;
	static const struct {
		enum lfs_setting_id id;
		const char *in;
	} bad[] = {
		{LFS_SET_SEGMENT_SIZE, ""},
		{LFS_SET_SEGMENT_SIZE, "0"},
		{LFS_SET_SEGMENT_SIZE, "4095"},   /* below the minimum */
		{LFS_SET_SEGMENT_SIZE, "3K"},
		{LFS_SET_SEGMENT_SIZE, "1025G"},  /* above 1T */
		{LFS_SET_SEGMENT_SIZE, "2T"},
		{LFS_SET_SEGMENT_SIZE, "64MB"},
		{LFS_SET_SEGMENT_SIZE, "-64M"},
		{LFS_SET_SEGMENT_MS, "x"},
		{LFS_SET_SEGMENT_MS, "10w"},
		{LFS_SET_SEGMENT_MS, "-1"},
		{LFS_SET_RETENTION_BYTES, "lots"},
		{LFS_SET_RETENTION_BYTES, "1.5G"},
		{LFS_SET_RETENTION_BYTES, "16777216T"},
		{LFS_SET_RETENTION_MS, "1y"},
		{LFS_SET_RETENTION_MS, ""},
		{LFS_SET_SYNC, "0"},             /* an interval must be positive */
		{LFS_SET_SYNC, "0ms"},
		{LFS_SET_SYNC, "4294967296"},    /* over 32 bits of ms */
		{LFS_SET_SYNC, "50d"},
		{LFS_SET_SYNC, "Always"},
		{LFS_SET_SYNC, "always "},
		{LFS_SET_SYNC, ""},
		{LFS_SET_SYNC, "sometimes"},
		{LFS_SET_MAX_RECORD, "0"},
		{LFS_SET_MAX_RECORD, "1"},       /* a line record needs room for '\n' */
		{LFS_SET_MAX_RECORD, "33M"},     /* over half a batch */
		{LFS_SET_MAX_RECORD, "1G"},
		{LFS_SET_MAX_RECORD, "big"},
		{LFS_SET_FRAMING, "LINE"},
		{LFS_SET_FRAMING, "lines"},
		{LFS_SET_FRAMING, ""},
		{LFS_SET_FRAMING, "binary"},
		{LFS_SET_COUNT, "1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lfs_settings s, ref;
		lfs_settings_default(&s);
		ref = s;
		assert_int_equal(lfs_setting_parse(&s, bad[i].id, bad[i].in), -EINVAL);
		/* Nothing changed. */
		assert_settings_equal(&s, &ref);
	}
}

static void test_format_small_buffer(void **state)
{
	(void)state;
	struct lfs_settings s;
	char buf[64];
	lfs_settings_default(&s);
	/* "67108864" needs 9 bytes with its NUL. */
	assert_int_equal(lfs_setting_format(&s, LFS_SET_SEGMENT_SIZE, buf, 8), -ERANGE);
	assert_int_equal(lfs_setting_format(&s, LFS_SET_SEGMENT_SIZE, buf, 9), 8);
	assert_string_equal(buf, "67108864");
	assert_int_equal(lfs_setting_format(&s, LFS_SET_FRAMING, buf, 4), -ERANGE);
	assert_int_equal(lfs_setting_format(&s, LFS_SET_COUNT, buf, sizeof(buf)), -EINVAL);
	s.sync_mode = LFS_SYNC_ALWAYS;
	assert_int_equal(lfs_setting_format(&s, LFS_SET_SYNC, buf, 6), -ERANGE);
	assert_int_equal(lfs_setting_format(&s, LFS_SET_SYNC, buf, 7), 6);
	assert_string_equal(buf, "always");
}

static void test_topic_name_rules(void **state)
{
	(void)state;
	char name[LFS_TOPIC_NAME_MAX + 2];
	static const char *ok[] = {
		"a", "app", "App.Log_2-x", "0", "-", "_", "a.", "a..b", "tail", "x-y.z_9",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(lfs_topic_name_check(ok[i]), 0);
	static const char *bad[] = {
		"", ".", "..", ".hidden", "a/b", "/", "a b", " a", "a\tb", "a\nb", "@1", "a@b",
		"caf\xc3\xa9", "a*", "a:b", "a\\b", "a+b", "a~", "a#",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lfs_topic_name_check(bad[i]), -EINVAL);

	memset(name, 'n', LFS_TOPIC_NAME_MAX);
	name[LFS_TOPIC_NAME_MAX] = 0;
	assert_int_equal(lfs_topic_name_check(name), 0); /* exactly 200 */
	name[LFS_TOPIC_NAME_MAX] = 'n';
	name[LFS_TOPIC_NAME_MAX + 1] = 0;
	assert_int_equal(lfs_topic_name_check(name), -ENAMETOOLONG); /* 201 */
	/* Every byte value outside the allowed set is refused in any place. */
	for (int c = 1; c < 256; c++) {
		bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		char n3[4] = {'a', (char)c, 'b', 0};
		assert_int_equal(lfs_topic_name_check(n3), allowed ? 0 : -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_ms),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_names_and_lookup),
		cmocka_unit_test(test_parse_format_each_setting),
		cmocka_unit_test(test_parse_sets_only_its_field),
		cmocka_unit_test(test_parse_invalid_values),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_topic_name_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
