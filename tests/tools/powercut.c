/*
 * powercut: makes a copy of a logfs volume as a power cut could leave it
 * (tests/integration/reliability_powercut.sh, docs/RELIABILITY.md).
 *
 *   powercut -f FINAL -o OUT [-s SEED] [-m MODE] [-n TOPIC=N]... [-v]
 *
 * FINAL is a volume as the page cache held it when its daemon was killed:
 * everything acknowledged is there. -n TOPIC=N says that the first N
 * records of TOPIC are durable (made so by sync=always or fsync(2) before
 * they were acknowledged); topics not named have no durable record beyond
 * sealed segments. OUT receives the cut copy.
 *
 * The model. Files the daemon replaced atomically (superblock, state,
 * topic.conf) are copied whole. A sealed segment is durable (its seal is
 * written only after data and index were made durable), so it is copied
 * whole. For an unsealed segment, each file has a durable length: if the
 * topic's durable records reach into the segment, the index header and the
 * entries and payload bytes up to the batch holding record N-1; otherwise
 * nothing (a segment's creation flushes nothing: its header becomes durable
 * at the next sync point, so a segment with no durable record may lose it;
 * the header is one sector, whole or absent). Beyond it anything may be
 * lost, file by file, in one of these ways (MODE mixed, the default, picks
 * one per file):
 *   keep      the file as the page cache had it
 *   prefix    cut at a random length between the durable length and the end
 *   zerotail  cut, then zero-filled up to a random length (ext4 extended
 *             the file, or unwritten fallocated blocks, read as zeros)
 *   pages     every 4 KiB page past the durable length either reached the
 *             disk or reads as zeros (out-of-order writeback)
 * and the segments created since the last sync point may be dropped whole,
 * as if their directory entries had not reached the disk: a suffix of the
 * unsealed segments without durable records (the journal keeps directory
 * operations in order, so a later creation is never durable without an
 * earlier one), after the successor of the last sealed segment (the sealer
 * syncs the directory before it writes a seal).
 * MODE harsh: the same, but the durable lengths are ignored (cuts anywhere,
 * the index header included), and a segment may lose only its data file
 * or (line framing) only its index: recovery must still give a valid
 * prefix, possibly with a gap of lost offsets.
 * MODE negative: cut one durable batch of one topic in half (a control: the
 * checker must notice the loss). Exits 4 if no topic has such a batch.
 *
 * Prints what it did to each file (-v: also files kept); exit 0, 1 on error.
 */
#include "format.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum mode { MIXED, HARSH, NEGATIVE };

static uint64_t rng;
static enum mode mode = MIXED;
static bool verbose;
static bool negative_done;

struct durable {
	char topic[LFS_TOPIC_NAME_MAX + 1];
	uint64_t n;
};
static struct durable durables[64];
static int ndurables;

static uint64_t rnd(uint64_t n)
{
	uint64_t x = rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng = x;
	return n ? (x * 0x2545F4914F6CDD1Dull >> 11) % n : 0;
}

/* A number in [lo, hi]. */
static uint64_t between(uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rnd(hi - lo + 1);
}

static int read_full(int fd, unsigned char *b, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = pread(fd, b + off, len - off, (off_t)off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static unsigned char *slurp(int dirfd, const char *name, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	unsigned char *b = malloc((size_t)st.st_size + 1);
	if (!b || read_full(fd, b, (size_t)st.st_size) < 0) {
		free(b);
		close(fd);
		return NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static int spill(int dirfd, const char *name, const unsigned char *b, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(name);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, b + off, len - off);
		if (n <= 0) {
			perror(name);
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

static int copy_file(int sfd, int dfd, const char *name)
{
	size_t len;
	unsigned char *b = slurp(sfd, name, &len);
	if (!b) {
		perror(name);
		return -1;
	}
	int rc = spill(dfd, name, b, len);
	free(b);
	return rc;
}

static uint64_t durable_records(const char *topic)
{
	for (int i = 0; i < ndurables; i++)
		if (!strcmp(durables[i].topic, topic))
			return durables[i].n;
	return 0;
}

struct seg {
	uint64_t base;
	unsigned char *log, *idx;
	size_t log_len, idx_len;
	bool has_log, has_idx, sealed;
	uint32_t framing;
	/* Valid batch entries (from the start, contiguous). */
	uint64_t nent, next_offset, end_pos;
	/* Durable lengths of each file. */
	size_t d_log, d_idx;
};

static void parse_seg(struct seg *s, uint64_t durable_n)
{
	struct lfs_idx_header h;
	s->framing = 0;
	s->nent = 0;
	s->next_offset = s->base;
	s->end_pos = 0;
	s->d_log = 0;
	s->d_idx = 0; /* the header too, until a durable record holds it */
	if (!s->has_idx || s->idx_len < LFS_IDX_HEADER_SIZE ||
	    lfs_idx_header_decode(s->idx, &h) < 0)
		return;
	s->framing = h.framing;
	uint64_t n = (s->idx_len - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE;
	for (uint64_t i = 0; i < n; i++) {
		struct lfs_idx_entry e;
		const unsigned char *p = s->idx + LFS_IDX_HEADER_SIZE + i * LFS_IDX_ENTRY_SIZE;
		if (lfs_idx_entry_decode(p, &e) < 0)
			break;
		if (e.type == LFS_ENTRY_SEAL) {
			s->sealed = i + 1 == n && e.count == i;
			break;
		}
		if (e.offset != s->next_offset || e.pos != s->end_pos)
			break;
		s->nent = i + 1;
		s->next_offset = e.offset + e.count;
		s->end_pos = e.pos + e.len;
		if (durable_n > e.offset) {
			/* This batch holds a durable record. */
			s->d_idx = LFS_IDX_HEADER_SIZE + (i + 1) * LFS_IDX_ENTRY_SIZE;
			s->d_log = e.pos + e.len;
		}
	}
}

/* The end of the meaningful bytes: past the last non-zero byte. */
static size_t used_len(const unsigned char *b, size_t len)
{
	while (len && b[len - 1] == 0)
		len--;
	return len;
}

/* Cuts one file of an unsealed segment; writes it to dfd. */
static int cut_file(int dfd, const char *topic, const char *name, const unsigned char *b,
		    size_t len, size_t durable, bool is_idx)
{
	if (mode == HARSH)
		durable = 0;
	if (durable > len)
		durable = len;
	size_t used = used_len(b, len);
	if (used < durable)
		used = durable;
	int how = (int)rnd(8); /* 0 keep, 1-3 prefix, 4-5 zerotail, 6-7 pages */
	size_t cut;
	/* Where to cut: mostly among the bytes written, sometimes on an
	 * entry boundary of the index, sometimes in the zero tail. */
	uint64_t r = rnd(10);
	if (r < 6)
		cut = between(durable, used);
	else if (r < 8 && is_idx && used > LFS_IDX_HEADER_SIZE)
		cut = LFS_IDX_HEADER_SIZE +
		      between((durable > LFS_IDX_HEADER_SIZE ? durable - LFS_IDX_HEADER_SIZE : 0) /
				      LFS_IDX_ENTRY_SIZE,
			      (used - LFS_IDX_HEADER_SIZE) / LFS_IDX_ENTRY_SIZE) *
			      LFS_IDX_ENTRY_SIZE;
	else
		cut = between(durable, len);
	if (cut < durable)
		cut = durable;
	if (cut > len)
		cut = len;
	/* The index header is written by one pwrite of 64 bytes into one
	 * sector: it reaches the disk whole or not at all. */
	if (mode != HARSH && is_idx && cut < LFS_IDX_HEADER_SIZE)
		cut = 0;

	unsigned char *o = calloc(1, len + 1);
	size_t olen = len;
	const char *what;
	if (how == 0) {
		memcpy(o, b, len);
		what = "kept";
	} else if (how <= 3) {
		memcpy(o, b, cut);
		olen = cut;
		what = "prefix";
	} else if (how <= 5) {
		memcpy(o, b, cut);
		olen = between(cut, len);
		what = "zerotail";
	} else {
		memcpy(o, b, durable);
		for (size_t p = durable / 4096 * 4096; p < len; p += 4096) {
			size_t end = p + 4096 < len ? p + 4096 : len;
			size_t from = p < durable ? durable : p;
			if (rnd(2))
				memcpy(o + from, b + from, end - from);
		}
		olen = rnd(2) ? len : cut;
		what = "pages";
	}
	if (how != 0 || verbose)
		printf("powercut: %s/%s: %s to %zu of %zu bytes (written %zu, durable %zu)\n", topic,
		       name, what, olen, len, used, durable);
	int rc = spill(dfd, name, o, olen);
	free(o);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int do_topic(int sfd, int dfd, const char *topic)
{
	DIR *d;
	struct dirent *de;
	uint64_t bases[4096];
	size_t nb = 0;
	int fd = dup(sfd);
	if (fd < 0 || !(d = fdopendir(fd)))
		return -1;
	while ((de = readdir(d))) {
		uint64_t base;
		if (de->d_name[0] == '.')
			continue;
		if (lfs_seg_name_parse(de->d_name, "log", &base) == 0 ||
		    lfs_seg_name_parse(de->d_name, "idx", &base) == 0) {
			bool seen = false;
			for (size_t i = 0; i < nb; i++)
				seen |= bases[i] == base;
			if (!seen && nb < 4096)
				bases[nb++] = base;
			continue;
		}
		/* topic.conf and anything else: replaced atomically, copied. */
		if (copy_file(sfd, dfd, de->d_name) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	qsort(bases, nb, sizeof(*bases), cmp_u64);

	uint64_t dn = durable_records(topic);
	/* Which segments lose their directory entries (from drop_from on):
	 * first those that may (see the model above), then, one time in
	 * four, a suffix of them. */
	size_t drop_from = nb, may_from = 0;
	for (size_t i = 0; i < nb; i++) {
		char in[32];
		struct seg s = {.base = bases[i]};
		lfs_seg_name(s.base, "idx", in);
		s.idx = slurp(sfd, in, &s.idx_len);
		s.has_idx = s.idx != NULL;
		parse_seg(&s, dn);
		free(s.idx);
		if (s.sealed)
			may_from = i + 2;
		else if (bases[i] < dn)
			may_from = i + 1;
	}
	if (mode != NEGATIVE && may_from < nb && rnd(4) == 0)
		drop_from = (size_t)between(may_from, nb - 1);
	for (size_t i = 0; i < nb; i++) {
		struct seg s = {.base = bases[i]};
		char ln[32], in[32];
		lfs_seg_name(s.base, "log", ln);
		lfs_seg_name(s.base, "idx", in);
		s.log = slurp(sfd, ln, &s.log_len);
		s.idx = slurp(sfd, in, &s.idx_len);
		s.has_log = s.log != NULL;
		s.has_idx = s.idx != NULL;
		parse_seg(&s, dn);
		int rc = 0;
		if (mode == NEGATIVE) {
			/* Cut the last durable batch of an unsealed segment. */
			if (!negative_done && !s.sealed && s.d_log > 0 && s.has_log) {
				size_t cut = s.d_log - 1 - rnd(s.d_log > 8 ? 8 : s.d_log);
				printf("powercut: %s/%s: negative control: cut to %zu, durable %zu\n",
				       topic, ln, cut, s.d_log);
				rc = spill(dfd, ln, s.log, cut);
				if (rc == 0 && s.has_idx)
					rc = spill(dfd, in, s.idx, s.idx_len);
				negative_done = true;
			} else {
				if (s.has_log)
					rc = spill(dfd, ln, s.log, s.log_len);
				if (rc == 0 && s.has_idx)
					rc = spill(dfd, in, s.idx, s.idx_len);
			}
		} else if (i >= drop_from) {
			printf("powercut: %s/%s: created since the last sync point: dropped whole\n",
			       topic, ln);
		} else if (s.sealed) {
			if (verbose)
				printf("powercut: %s/%s: sealed, kept\n", topic, ln);
			rc = spill(dfd, ln, s.log, s.log_len);
			if (rc == 0)
				rc = spill(dfd, in, s.idx, s.idx_len);
		} else if (mode == HARSH && s.d_log == 0 && i + 1 == nb && rnd(4) == 0) {
			/* Harsh only: one file of the last segment vanishes
			 * without the other (both are created in one roll, so
			 * a journal keeps or loses their entries together).
			 * Recovery keeps the offsets an index without its data
			 * claimed as lost (a gap); a line-framed index is
			 * rebuilt from the data, which cannot know where each
			 * write(2) ended; a write-framed one cannot be rebuilt
			 * at all, so only line framing loses its index. */
			bool data = s.framing != LFS_FRAMING_LINE || rnd(2);
			printf("powercut: %s/%s: unsynced segment, %s\n", topic, ln,
			       data ? "data file dropped" : "index dropped");
			if (data && s.has_idx)
				rc = cut_file(dfd, topic, in, s.idx, s.idx_len, s.d_idx, true);
			if (!data && s.has_log)
				rc = cut_file(dfd, topic, ln, s.log, s.log_len, s.d_log, false);
		} else {
			if (s.has_log)
				rc = cut_file(dfd, topic, ln, s.log, s.log_len, s.d_log, false);
			if (rc == 0 && s.has_idx)
				rc = cut_file(dfd, topic, in, s.idx, s.idx_len, s.d_idx, true);
		}
		free(s.log);
		free(s.idx);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	uint64_t seed = 1;
	int c;

	while ((c = getopt(argc, argv, "f:o:s:m:n:v")) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 'o': to = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'm':
			if (!strcmp(optarg, "mixed"))
				mode = MIXED;
			else if (!strcmp(optarg, "harsh"))
				mode = HARSH;
			else if (!strcmp(optarg, "negative"))
				mode = NEGATIVE;
			else
				goto usage;
			break;
		case 'n': {
			const char *eq = strchr(optarg, '=');
			if (!eq || ndurables == 64 || eq - optarg > LFS_TOPIC_NAME_MAX)
				goto usage;
			snprintf(durables[ndurables].topic, sizeof(durables[0].topic), "%.*s",
				 (int)(eq - optarg), optarg);
			durables[ndurables++].n = strtoull(eq + 1, NULL, 10);
			break;
		}
		case 'v': verbose = true; break;
		default: goto usage;
		}
	}
	if (!from || !to)
		goto usage;
	rng = seed * 0x9E3779B97F4A7C15ull + 12345;
	if (!rng)
		rng = 1;

	int sfd = open(from, O_RDONLY | O_DIRECTORY);
	if (sfd < 0) {
		perror(from);
		return 1;
	}
	if (mkdir(to, 0755) < 0 && errno != EEXIST) {
		perror(to);
		return 1;
	}
	int dfd = open(to, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		perror(to);
		return 1;
	}
	/* Volume files: copied whole (replaced atomically by the daemon). */
	DIR *d = fdopendir(dup(sfd));
	struct dirent *de;
	if (!d)
		return 1;
	while ((de = readdir(d))) {
		if (de->d_type == DT_REG && copy_file(sfd, dfd, de->d_name) < 0)
			return 1;
	}
	closedir(d);
	int tsfd = openat(sfd, LFS_TOPICS_DIR, O_RDONLY | O_DIRECTORY);
	if (tsfd < 0) {
		perror("topics");
		return 1;
	}
	mkdirat(dfd, LFS_TOPICS_DIR, 0755);
	int tdfd = openat(dfd, LFS_TOPICS_DIR, O_RDONLY | O_DIRECTORY);
	d = fdopendir(dup(tsfd));
	if (!d || tdfd < 0)
		return 1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		int a = openat(tsfd, de->d_name, O_RDONLY | O_DIRECTORY);
		mkdirat(tdfd, de->d_name, 0755);
		int b = openat(tdfd, de->d_name, O_RDONLY | O_DIRECTORY);
		if (a < 0 || b < 0 || do_topic(a, b, de->d_name) < 0) {
			fprintf(stderr, "powercut: topic %s failed\n", de->d_name);
			return 1;
		}
		close(a);
		close(b);
	}
	closedir(d);
	if (mode == NEGATIVE && !negative_done) {
		printf("powercut: no durable batch in an unsealed segment to cut\n");
		return 4;
	}
	return 0;
usage:
	fprintf(stderr, "usage: powercut -f FINAL -o OUT [-s SEED] [-m mixed|harsh|negative] "
			"[-n TOPIC=N]... [-v]\n");
	return 2;
}
