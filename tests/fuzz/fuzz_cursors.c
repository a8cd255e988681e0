/*
 * Fuzz target (libFuzzer) for the cursor store decoder and check
 * (core/cursor.c lfs_cursor_store_check, core/format.c
 * lfs_cursor_slot_decode; docs/FORMAT.md "cursors"). `make fuzz` builds it
 * with clang -fsanitize=fuzzer,address,undefined;
 * tests/tools/fuzz_replay_cursors.c builds it with the project's compiler
 * and replays tests/fuzz/corpus-cursors and tests/fuzz/regressions-cursors
 * in `make check`.
 *
 * Input layout:
 *   byte 0     flags: 1 recompute every slot's CRC (so that mutations reach
 *              past the checksums), 2 check with repair
 *   bytes 1-8  the log's next offset (little-endian)
 *   then       the store file (TOPIC/cursors)
 *
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *  - every slot that decodes encodes back to exactly the same bytes;
 *  - the check never fails on bytes alone (only on I/O or memory);
 *  - the cursors it returns have valid, unique, sorted names and positions
 *    at most the next offset;
 *  - without repair the file is unchanged; with repair, a second check
 *    finds no problem and the same cursors.
 */
#include "internal.h"

#define FZ_NAME "fuzz_cursors"
#include "fuzz_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_FIX_CRC 1
#define FZ_REPAIR 2

static unsigned char *fz_read(int dirfd, size_t *len)
{
	int fd = openat(dirfd, LFS_CURSOR_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fz_fail("cannot read the store back");
	off_t n = lseek(fd, 0, SEEK_END);
	unsigned char *b = malloc((size_t)n + 1);
	if (!b || pread(fd, b, (size_t)n, 0) != n)
		fz_fail("cannot read the store back");
	close(fd);
	*len = (size_t)n;
	return b;
}

static void fz_count(void *ctx, const struct lfs_problem *p)
{
	if (p->kind != LFS_PROB_CURSOR || !p->message[0])
		fz_fail("a problem that is not a cursor problem");
	(*(unsigned *)ctx)++;
}

static void fz_valid(const struct lfs_cursor_found *f, size_t n, uint64_t next)
{
	for (size_t i = 0; i < n; i++) {
		if (lfs_topic_name_check(f[i].name) < 0)
			fz_fail("an invalid name was accepted");
		if (f[i].offset > next)
			fz_fail("a position beyond the next offset was kept");
		if (i && strcmp(f[i - 1].name, f[i].name) >= 0)
			fz_fail("names not sorted and unique");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9)
		return 0;
	unsigned flags = data[0];
	uint64_t next = lfs_get64(data + 1);
	size_t len = size - 9;
	unsigned char *store = malloc(len + 1);
	if (!store)
		fz_fail("malloc");
	memcpy(store, data + 9, len);
	for (size_t off = 0; off + LFS_CURSOR_SLOT_SIZE <= len; off += LFS_CURSOR_SLOT_SIZE) {
		unsigned char *p = store + off;
		if (flags & FZ_FIX_CRC)
			lfs_put32(p + LFS_CURSOR_SLOT_SIZE - 4,
				  lfs_crc32c(0, p, LFS_CURSOR_SLOT_SIZE - 4));
		struct lfs_cursor_slot s;
		if (lfs_cursor_slot_decode(p, &s) == 0) {
			unsigned char again[LFS_CURSOR_SLOT_SIZE];
			lfs_cursor_slot_encode(&s, again);
			if (memcmp(again, p, sizeof(again)) != 0)
				fz_fail("a decoded slot does not encode back to its bytes");
		}
	}

	int dirfd = fz_dir();
	fz_put(dirfd, LFS_CURSOR_FILE, store, len);
	bool repair = flags & FZ_REPAIR, repaired;
	unsigned problems = 0;
	struct lfs_cursor_found *f = NULL;
	size_t n = 0;
	int rc = lfs_cursor_store_check(dirfd, "fuzz", 0, next, repair, fz_count, &problems, &f, &n,
					&repaired);
	if (rc < 0)
		fz_fail("the check failed on bytes alone");
	if ((unsigned)rc != problems)
		fz_fail("the problem count differs from the problems reported");
	fz_valid(f, n, next);
	if (!repair) {
		size_t blen;
		unsigned char *back = fz_read(dirfd, &blen);
		if (blen != len || memcmp(back, store, len) != 0)
			fz_fail("a check without repair changed the store");
		free(back);
	} else {
		if (repaired != (problems > 0))
			fz_fail("repaired does not say whether there were problems");
		unsigned again = 0;
		struct lfs_cursor_found *g = NULL;
		size_t m = 0;
		if (lfs_cursor_store_check(dirfd, "fuzz", 0, next, false, fz_count, &again, &g, &m,
					   &repaired) != 0 ||
		    again)
			fz_fail("a repaired store still has problems");
		if (m != n)
			fz_fail("a repair changed the set of cursors");
		for (size_t i = 0; i < n; i++)
			if (strcmp(f[i].name, g[i].name) || f[i].offset != g[i].offset ||
			    f[i].seq != g[i].seq || f[i].skipped != g[i].skipped ||
			    f[i].flags != g[i].flags)
				fz_fail("a repair changed a cursor");
		lfs_cursor_found_free(g, m);
	}
	lfs_cursor_found_free(f, n);
	free(store);
	unlinkat(dirfd, LFS_CURSOR_FILE, 0);
	return 0;
}
