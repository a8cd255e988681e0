/*
 * rolls: the driver of bench/rolls.sh (many rolls of one topic).
 *
 *   rolls write TAIL FROM COUNT   writes FROM .. FROM+COUNT-1 to TAIL, one
 *                                 write(2) of 4096 bytes each: write w is
 *                                 records 64w .. 64w+63 (line framing, 64
 *                                 bytes each), so that with 4 KiB segments
 *                                 every write after the first rolls
 *   rolls check DIR OFFSET...     reads the first record of DIR/@OFFSET for
 *                                 each OFFSET and compares it with what
 *                                 `write` wrote there
 *
 * Exits 0, or 1 with a message on the first failure.
 */
#include "benchutil.h"

#define REC_LEN 64
#define RECS_PER_WRITE 64
#define WRITE_LEN (REC_LEN * RECS_PER_WRITE)

/* Record k: "r" and k in ten digits, letters that depend on k, '\n'. */
static void record(uint64_t k, char *out)
{
	int n = snprintf(out, REC_LEN, "r%010llu ", (unsigned long long)k);
	for (int i = n; i < REC_LEN - 1; i++)
		out[i] = (char)('a' + (k * 7 + (uint64_t)i) % 26);
	out[REC_LEN - 1] = '\n';
}

static int do_write(const char *tail, uint64_t from, uint64_t count)
{
	int fd = open(tail, O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "rolls: %s: %s\n", tail, strerror(errno));
		return 1;
	}
	char buf[WRITE_LEN];
	for (uint64_t w = from; w < from + count; w++) {
		for (int r = 0; r < RECS_PER_WRITE; r++)
			record(w * RECS_PER_WRITE + (uint64_t)r, buf + r * REC_LEN);
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n != (ssize_t)sizeof(buf)) {
			fprintf(stderr, "rolls: write %llu: %s\n", (unsigned long long)w,
				n < 0 ? strerror(errno) : "short write");
			close(fd);
			return 1;
		}
	}
	if (close(fd) < 0) {
		fprintf(stderr, "rolls: close: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int do_check(const char *dir, uint64_t off)
{
	char path[4200], want[REC_LEN], got[REC_LEN];
	snprintf(path, sizeof(path), "%s/@%llu", dir, (unsigned long long)off);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "rolls: %s: %s\n", path, strerror(errno));
		return 1;
	}
	ssize_t n = read(fd, got, sizeof(got));
	int err = errno;
	close(fd);
	record(off, want);
	if (n != REC_LEN || memcmp(got, want, REC_LEN) != 0) {
		fprintf(stderr, "rolls: %s: read %zd bytes%s%s, not record %llu\n", path, n,
			n < 0 ? ": " : "", n < 0 ? strerror(err) : "", (unsigned long long)off);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	if (argc >= 4 && strcmp(argv[1], "check") == 0) {
		for (int i = 3; i < argc; i++)
			if (do_check(argv[2], strtoull(argv[i], NULL, 10)))
				return 1;
		return 0;
	}
	fprintf(stderr, "usage: rolls write TAIL FROM COUNT | rolls check DIR OFFSET...\n");
	return 2;
}
