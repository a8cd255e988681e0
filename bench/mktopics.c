/*
 * mktopics: makes N topics in a volume through the core (no mount), each
 * with one record, for bench/topics.sh.
 *
 *   mktopics VOLUME N
 *
 * Prints "N SECONDS". The topics are named t0000000, t0000001, ...
 */
#include "benchutil.h"

#include "logfs.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mktopics VOLUME N\n");
		return 2;
	}
	long n = atol(argv[2]);
	lfs_volume *v;
	struct lfs_open_opts o = {.flags = LFS_OPEN_DEFER_TICKER};
	int rc = lfs_volume_open(argv[1], &o, &v, NULL);
	if (rc < 0) {
		fprintf(stderr, "mktopics: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	double t0 = bu_now();
	struct lfs_topic_meta meta = {.mode = 0755, .uid = (uint32_t)getuid(), .gid = (uint32_t)getgid()};
	for (long i = 0; i < n; i++) {
		char name[32], line[64];
		snprintf(name, sizeof(name), "t%07ld", i);
		lfs_topic *t;
		rc = lfs_topic_create(v, name, &meta, &t);
		if (rc < 0) {
			fprintf(stderr, "mktopics: topic %ld: %s\n", i, strerror(-rc));
			return 1;
		}
		int len = snprintf(line, sizeof(line), "topic %ld\n", i);
		struct iovec iov = {line, (size_t)len};
		rc = lfs_topic_append(t, LFS_FRAMING_LINE, &iov, 1, NULL);
		lfs_topic_put(t);
		if (rc < 0) {
			fprintf(stderr, "mktopics: append to topic %ld: %s\n", i, strerror(-rc));
			return 1;
		}
		if (i % 1000 == 999)
			lfs_volume_tick(v, lfs_now_ns()); /* closes idle topics' files */
	}
	rc = lfs_volume_close(v);
	if (rc < 0) {
		fprintf(stderr, "mktopics: close: %s\n", strerror(-rc));
		return 1;
	}
	printf("%ld %.2f\n", n, bu_now() - t0);
	return 0;
}
