/*
 * How fast can a cached file be checksummed, by way of which access?
 *
 * The first open of a sealed segment after a mount checks every batch's CRC
 * before the segment is handed to FUSE passthrough (core/segread.c,
 * verify_fd_locked). This program measures the candidate ways of reading a
 * cached file for that check, on one file, in alternating rounds (each
 * round runs every method once, starting with a different one), and prints
 * the median GB/s of each:
 *
 *   pread       pread(2) into a 256 KiB buffer, CRC32C there (what the daemon does)
 *   pread_copy  the same without the CRC (the copy's share)
 *   mmap        a plain mapping, CRC from it (page faults, with fault-around)
 *   map_pop     mmap(MAP_POPULATE), CRC from it
 *   madv_pop    mmap, madvise(MADV_POPULATE_READ) of the whole, CRC
 *   madv_win    mmap, MADV_POPULATE_READ of each 2 MiB window before its CRC
 *   pop_only    mmap(MAP_POPULATE) + munmap, no CRC (the page tables' share)
 *   map_2nd     the CRC alone (no mmap, munmap, first touch) of a mapping
 *               whose pages were each touched once already
 *   af_alg      the kernel's crc32c (AF_ALG hash socket), fed with sendfile(2)
 *               from the file's page cache, one CRC per BATCH_KiB (no copy to
 *               user space)
 *
 * Usage: verifymap FILE [SIZE_MiB [ROUNDS [BATCH_KiB]]]
 *   FILE is created (SIZE_MiB of pseudo-random bytes) if it does not exist,
 *   then read once so that it is cached.
 */
#include "../core/logfs.h"
#include "benchutil.h"

#include <linux/if_alg.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#define CHUNK (256u << 10)
#define WIN (2u << 20)

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static unsigned char buf[CHUNK];
static double t_crc, t_end; /* map_2nd: the timed part */
static volatile uint32_t sink;

static void pread_all(int fd, size_t size, bool crc_too)
{
	uint32_t crc = 0;
	for (size_t off = 0; off < size;) {
		size_t k = size - off < CHUNK ? size - off : CHUNK;
		ssize_t n = pread(fd, buf, k, (off_t)off);
		if (n <= 0)
			bu_die("pread", n < 0 ? errno : EIO);
		if (crc_too)
			crc = lfs_crc32c(crc, buf, (size_t)n);
		off += (size_t)n;
	}
	sink = crc;
}

enum how { PLAIN, MAP_POP, MADV_ALL, MADV_WIN, POP_ONLY, TWICE };

static void map_all(int fd, size_t size, enum how how)
{
	int flags = MAP_SHARED | (how == MAP_POP || how == POP_ONLY ? MAP_POPULATE : 0);
	unsigned char *p = mmap(NULL, size, PROT_READ, flags, fd, 0);
	if (p == MAP_FAILED)
		bu_die("mmap", errno);
	if (how == MADV_ALL && madvise(p, size, MADV_POPULATE_READ) < 0)
		bu_die("madvise(MADV_POPULATE_READ)", errno);
	uint32_t crc = 0;
	if (how == TWICE) { /* first touch, not timed */
		for (size_t off = 0; off < size; off += 4096)
			crc += p[off];
		t_crc = bu_now();
	}
	if (how != POP_ONLY) {
		for (size_t off = 0; off < size; off += WIN) {
			size_t k = size - off < WIN ? size - off : WIN;
			if (how == MADV_WIN && madvise(p + off, k, MADV_POPULATE_READ) < 0)
				bu_die("madvise(MADV_POPULATE_READ)", errno);
			crc = lfs_crc32c(crc, p + off, k);
		}
	}
	sink = crc;
	t_end = bu_now();
	if (munmap(p, size) < 0)
		bu_die("munmap", errno);
}

static size_t batch = 1u << 20;
static int alg_fd = -1;

/* One CRC per batch through the kernel: the file's pages go to the hash
 * socket by reference (sendfile), and the 4-byte result comes back. */
static void af_alg_all(int fd, size_t size)
{
	uint32_t x = 0;
	int op = accept(alg_fd, NULL, NULL);
	if (op < 0)
		bu_die("accept(AF_ALG)", errno);
	for (size_t off = 0; off < size;) {
		size_t k = size - off < batch ? size - off : batch;
		off_t o = (off_t)off;
		for (size_t done = 0; done < k;) {
			ssize_t n = sendfile(op, fd, &o, k - done);
			if (n <= 0)
				bu_die("sendfile(AF_ALG)", n < 0 ? errno : EIO);
			done += (size_t)n;
		}
		uint32_t crc;
		if (read(op, &crc, 4) != 4)
			bu_die("read(AF_ALG)", errno);
		x ^= crc;
		off += k;
	}
	close(op);
	sink = x;
}

static void af_alg_setup(int fd, size_t size)
{
	struct sockaddr_alg sa = {.salg_family = AF_ALG};
	strcpy((char *)sa.salg_type, "hash");
	strcpy((char *)sa.salg_name, "crc32c");
	alg_fd = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (alg_fd < 0) { /* a kernel without CONFIG_CRYPTO_USER_API_HASH */
		printf("# af_alg: %s\n", strerror(errno));
		return;
	}
	if (bind(alg_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		bu_die("bind(AF_ALG crc32c)", errno);
	/* Same convention as lfs_crc32c(0, ...)? */
	size_t k = size < batch ? size : batch;
	pread_all(fd, k, false);
	uint32_t want = lfs_crc32c(0, buf, k < CHUNK ? k : CHUNK), got;
	int op = accept(alg_fd, NULL, NULL);
	off_t o = 0;
	if (op < 0 || sendfile(op, fd, &o, k < CHUNK ? k : CHUNK) < 0 || read(op, &got, 4) != 4)
		bu_die("AF_ALG", errno);
	close(op);
	if (got != want) {
		fprintf(stderr, "AF_ALG crc32c %08x != lfs_crc32c %08x\n", got, want);
		exit(1);
	}
}

#define NMETHODS 9
static const char *const names[NMETHODS] = {"pread",    "pread_copy", "mmap",     "map_pop", "madv_pop",
					    "madv_win", "pop_only",   "map_2nd", "af_alg"};

static void run(int m, int fd, size_t size)
{
	switch (m) {
	case 0: pread_all(fd, size, true); break;
	case 1: pread_all(fd, size, false); break;
	case 2: map_all(fd, size, PLAIN); break;
	case 3: map_all(fd, size, MAP_POP); break;
	case 4: map_all(fd, size, MADV_ALL); break;
	case 5: map_all(fd, size, MADV_WIN); break;
	case 6: map_all(fd, size, POP_ONLY); break;
	case 7: map_all(fd, size, TWICE); break;
	default: af_alg_all(fd, size); break;
	}
}

static void make_file(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return;
		bu_die(path, errno);
	}
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t off = 0; off < size; off += CHUNK) {
		for (size_t i = 0; i + 8 <= CHUNK; i += 8) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(buf + i, &x, 8);
		}
		size_t k = size - off < CHUNK ? size - off : CHUNK;
		if (write(fd, buf, k) != (ssize_t)k)
			bu_die("write", errno);
	}
	if (close(fd) < 0)
		bu_die("close", errno);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: verifymap FILE [SIZE_MiB [ROUNDS]]\n");
		return 2;
	}
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	int rounds = argc > 3 ? atoi(argv[3]) : 15;
	if (argc > 4)
		batch = strtoul(argv[4], NULL, 10) << 10;
	if (rounds < 1 || rounds > 1000 || mib == 0 || batch == 0)
		return 2;
	make_file(argv[1], mib << 20);
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		bu_die(argv[1], errno);
	struct stat st;
	if (fstat(fd, &st) < 0)
		bu_die("fstat", errno);
	size_t size = (size_t)st.st_size;
	pread_all(fd, size, false); /* cached from here on */
	af_alg_setup(fd, size);
	double *t[NMETHODS];
	for (int m = 0; m < NMETHODS; m++)
		if (!(t[m] = calloc((size_t)rounds, sizeof(double))))
			bu_die("calloc", ENOMEM);
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < NMETHODS; i++) {
			int m = (r + i) % NMETHODS;
			if (m == NMETHODS - 1 && alg_fd < 0)
				continue;
			double t0 = bu_now(), t1 = 0;
			t_crc = 0;
			run(m, fd, size);
			if (m == 7) /* ends at the munmap: measure up to the CRC's end */
				t1 = t_end;
			t[m][r] = (double)size / ((t1 ? t1 : bu_now()) - (t_crc ? t_crc : t0)) / 1e9;
		}
	}
	printf("# %zu MiB cached file, %d alternating rounds, af_alg batches of %zu KiB; median GB/s "
	       "(min..max)\n",
	       size >> 20, rounds, batch >> 10);
	for (int m = 0; m < (alg_fd < 0 ? NMETHODS - 1 : NMETHODS); m++) {
		double lo = t[m][0], hi = t[m][0];
		for (int r = 1; r < rounds; r++) {
			lo = t[m][r] < lo ? t[m][r] : lo;
			hi = t[m][r] > hi ? t[m][r] : hi;
		}
		printf("%-10s %6.2f GB/s (%.2f..%.2f)\n", names[m], bu_median(t[m], rounds), lo, hi);
	}
	close(fd);
	return 0;
}
