/*
 * fsck.logfs: checks and repairs a logfs volume with lfs_check_volume(),
 * the same recovery scanner the daemon runs at mount. This file is only the
 * command line: options, output, signals and fsck(8) exit codes.
 */
#include "cli.h"
#include "format.h"
#include "logfs.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "fsck.logfs"

/* fsck(8) exit codes; the status is the sum of the conditions that hold. */
enum {
	EXIT_OK = 0,
	EXIT_CORRECTED = 1,
	EXIT_UNCORRECTED = 4,
	EXIT_OPERATIONAL = 8,
	EXIT_USAGE = 16,
	EXIT_CANCELLED = 32,
};

/* Set by SIGINT/SIGTERM; the checker stops at the next segment boundary.
 * (sig_atomic_t is int on every platform we build for.) */
static volatile int cancel_flag;

struct out {
	const char *volume;
	bool verbose;
	bool progress_tty;
	bool progress_shown;
	uint64_t last_progress_ns;
	/* -v: the previous segment, to show offset gaps. */
	char prev_topic[LFS_TOPIC_NAME_MAX + 1];
	uint64_t prev_next;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [-n | -y | -p] [-f] [-v] [-C] VOLUME\n"
		"Check a logfs volume and, if asked, repair it.\n"
		"\n"
		"  -n         check only: open everything read-only, change nothing\n"
		"  -y         repair everything repairable without asking\n"
		"  -p, -a     repair only what is safe (loses no sealed data)\n"
		"  -f         check fully even if the volume was cleanly unmounted\n"
		"  -v         list every segment\n"
		"  -C         show progress on a terminal\n"
		"  -h, --help     show this help and exit\n"
		"  -V, --version  show the version and exit\n"
		"\n"
		"Without -n, -y or -p the volume is checked as with -n.\n"
		"Exit status (sum of): 0 no errors, 1 errors corrected, 4 errors left\n"
		"uncorrected, 8 operational error, 16 usage error, 32 cancelled.\n");
}

static const struct lfs_cli cli = {
	.prog = PROG,
	.shortopts = "+:nypafvC::hV",
	.usage_status = EXIT_USAGE,
	.usage = usage,
};
#define usage_error(...) lfs_cli_usage_error(&cli, __VA_ARGS__)

static void on_signal(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;
	if (bytes < 1024) {
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void clear_progress(struct out *o)
{
	if (o->progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		o->progress_shown = false;
	}
}

static void on_problem(void *ctx, const struct lfs_problem *p)
{
	struct out *o = ctx;
	char where[300], range[128] = "";

	clear_progress(o);
	if (!p->topic)
		snprintf(where, sizeof(where), "volume");
	else if (p->segment == UINT64_MAX)
		snprintf(where, sizeof(where), "topic %s", p->topic);
	else
		snprintf(where, sizeof(where), "topic %s, segment %020llu", p->topic,
			 (unsigned long long)p->segment);
	if (p->last_offset > p->first_offset && p->bytes)
		snprintf(range, sizeof(range), " [offsets %llu..%llu: %llu records, %llu bytes]",
			 (unsigned long long)p->first_offset, (unsigned long long)p->last_offset - 1,
			 (unsigned long long)(p->last_offset - p->first_offset),
			 (unsigned long long)p->bytes);
	else if (p->last_offset > p->first_offset)
		snprintf(range, sizeof(range), " [offsets %llu..%llu: %llu records]",
			 (unsigned long long)p->first_offset, (unsigned long long)p->last_offset - 1,
			 (unsigned long long)(p->last_offset - p->first_offset));
	else if (p->bytes)
		snprintf(range, sizeof(range), " [%llu bytes]", (unsigned long long)p->bytes);
	printf("%s: %s%s (%s)\n", where, p->message, range, p->repaired ? "REPAIRED" : "NOT REPAIRED");
	fflush(stdout);
}

static void on_segment(void *ctx, const char *topic, const struct lfs_scan_result *r)
{
	struct out *o = ctx;
	char size[32];

	if (!o->verbose)
		return;
	clear_progress(o);
	if (!strcmp(o->prev_topic, topic) && r->base_offset > o->prev_next)
		printf("%s/%020llu: offsets %llu..%llu absent (cut by an earlier repair)\n", topic,
		       (unsigned long long)r->base_offset, (unsigned long long)o->prev_next,
		       (unsigned long long)r->base_offset - 1);
	human(r->valid_bytes, size, sizeof(size));
	uint64_t lost = r->next_offset - r->base_offset - r->records;
	char lost_s[48] = "";
	if (lost)
		snprintf(lost_s, sizeof(lost_s), ", %llu lost", (unsigned long long)lost);
	if (r->records)
		printf("%s/%020llu: %llu records (offsets %llu..%llu%s), %s, %llu batches, %s\n", topic,
		       (unsigned long long)r->base_offset, (unsigned long long)r->records,
		       (unsigned long long)r->base_offset, (unsigned long long)r->next_offset - 1, lost_s,
		       size, (unsigned long long)r->batches, r->sealed ? "sealed" : "not sealed");
	else if (r->next_offset > r->base_offset)
		printf("%s/%020llu: empty (offsets %llu..%llu lost), %s\n", topic,
		       (unsigned long long)r->base_offset, (unsigned long long)r->base_offset,
		       (unsigned long long)r->next_offset - 1,
		       r->sealed ? "sealed" : "not sealed");
	else
		printf("%s/%020llu: empty, %s\n", topic, (unsigned long long)r->base_offset,
		       r->sealed ? "sealed" : "not sealed");
	snprintf(o->prev_topic, sizeof(o->prev_topic), "%s", topic);
	o->prev_next = r->next_offset;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct out *o = ctx;
	char d[32], t[32];
	uint64_t now = now_ns();

	if (!o->progress_tty || (now - o->last_progress_ns < 100000000ull && done < total))
		return;
	o->last_progress_ns = now;
	human(done, d, sizeof(d));
	human(total, t, sizeof(t));
	fprintf(stderr, "\r\033[K" PROG ": checking %s: %3.0f%% (%s of %s)", o->volume,
		total ? 100.0 * (double)done / (double)total : 100.0, d, t);
	fflush(stderr);
	o->progress_shown = true;
}

static int operational_error(const char *vol, int rc, bool repair)
{
	switch (rc) {
	case -EBUSY:
		fprintf(stderr,
			PROG ": %s is in use (mounted, or held open by another process); "
			"unmount it before %s\n",
			vol, repair ? "repairing it" : "checking it");
		break;
	case -EUCLEAN:
		fprintf(stderr, PROG ": %s is not a logfs volume (no valid superblock)\n", vol);
		break;
	case -EPROTONOSUPPORT: {
		struct lfs_sb_info sb;
		memset(&sb, 0, sizeof(sb));
		(void)lfs_read_superblock(vol, &sb);
		if (sb.version > LFS_FORMAT_VERSION)
			fprintf(stderr,
				PROG ": %s uses logfs format version %u, newer than this " PROG
				" (%s) supports (version %u); use a newer " PROG "\n",
				vol, sb.version, LFS_VERSION_STRING, LFS_FORMAT_VERSION);
		else
			fprintf(stderr,
				PROG ": %s uses on-disk features this " PROG
				" (%s) does not support; use a newer " PROG "\n",
				vol, LFS_VERSION_STRING);
		break;
	}
	default:
		fprintf(stderr, PROG ": %s: %s\n", vol, strerror(-rc));
		break;
	}
	return EXIT_OPERATIONAL;
}

int main(int argc, char **argv)
{
	enum lfs_check_mode mode = LFS_CHECK_NONE;
	char mode_opt = 0;
	bool force = false, verbose = false, progress = false;
	int c;

	while ((c = lfs_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'n':
		case 'y':
		case 'p':
		case 'a': {
			char m = c == 'a' ? 'p' : (char)c;
			if (mode_opt && mode_opt != m)
				usage_error("only one of -n, -y and -p may be given");
			mode_opt = m;
			mode = m == 'n' ? LFS_CHECK_NONE : m == 'y' ? LFS_CHECK_REPAIR : LFS_CHECK_PREEN;
			break;
		}
		case 'f':
			force = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'C':
			/* fsck(8) may pass -C<fd>: accepted, progress goes to
			 * the terminal on stderr either way. */
			if (optarg) {
				char *end;
				errno = 0;
				long fd = strtol(optarg, &end, 10);
				if (*end || errno || fd < -1)
					usage_error("invalid argument to -C: '%s'", optarg);
			}
			progress = true;
			break;
		}
	}
	const char *vol = lfs_cli_volume(&cli, argc, argv);
	/* Root repairing a user's volume leaves it the user's. */
	uid_t owner;
	gid_t group;
	int r = lfs_act_as_volume_owner(vol, &owner, &group);
	if (r < 0)
		return operational_error(vol, r, mode != LFS_CHECK_NONE);
	if (r == 1)
		fprintf(stderr,
			PROG ": warning: %s: its owner cannot reach it by this path; files "
			"created in it will belong to root\n",
			vol);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_RESETHAND; /* a second signal kills at once */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		fprintf(stderr, PROG ": cannot install signal handlers: %s\n", strerror(errno));
		return EXIT_OPERATIONAL;
	}

	/* A daemon releasing the volume after its unmount: wait for it. */
	(void)lfs_cli_wait_released(vol);

	struct out o = {.volume = vol, .verbose = verbose};
	o.progress_tty = progress && isatty(STDERR_FILENO);
	if (mode == LFS_CHECK_NONE) {
		int busy = lfs_volume_in_use(vol);
		if (busy == 1)
			fprintf(stderr,
				PROG ": warning: %s is in use by another process (mounted?); "
				"what is being written may be reported as damaged\n",
				vol);
	}

	struct lfs_check_opts opts = {
		.mode = mode,
		.force = force,
		.verbose = verbose,
		.problem = on_problem,
		.segment = on_segment,
		.progress = o.progress_tty ? on_progress : NULL,
		.cancel = &cancel_flag,
		.ctx = &o,
	};
	struct lfs_check_result res;
	uint64_t t0 = now_ns();
	int rc = lfs_check_volume(vol, &opts, &res);
	double secs = (double)(now_ns() - t0) / 1e9;
	clear_progress(&o);
	if (rc < 0)
		return operational_error(vol, rc, mode != LFS_CHECK_NONE);

	char size[32], records[80];
	human(res.bytes, size, sizeof(size));
	/* Offsets given out that hold no record are not records. */
	if (res.lost_offsets)
		snprintf(records, sizeof(records), "%llu records (%llu offsets lost)",
			 (unsigned long long)res.records, (unsigned long long)res.lost_offsets);
	else
		snprintf(records, sizeof(records), "%llu records", (unsigned long long)res.records);
	if (res.cancelled) {
		printf("%s: check cancelled after %u topics, %u segments; "
		       "the volume is consistent but not fully checked\n",
		       vol, res.topics, res.segments);
	} else if (res.skipped_clean && res.problems == 0) {
		printf("%s: clean, %u topics, %u segments, %s, %s "
		       "(quick check; -f checks every record)\n",
		       vol, res.topics, res.segments, records, size);
	} else {
		printf("%s: %u topics, %u segments, %s, %s", vol, res.topics, res.segments, records,
		       size);
		if (res.problems == 0)
			printf(": no problems\n");
		else
			printf(": %u problems, %u repaired, %u left\n", res.problems, res.repaired,
			       res.unrepaired);
	}
	if (verbose && secs > 0 && !res.skipped_clean)
		printf("%s: checked in %.3f s (%.2f GB/s)\n", vol, secs,
		       (double)res.bytes / secs / 1e9);
	if (res.unrepaired && mode == LFS_CHECK_NONE)
		printf("%s: run '" PROG " -y %s' to repair\n", vol, vol);
	else if (res.unrepaired && mode == LFS_CHECK_PREEN)
		printf("%s: some problems need '" PROG " -y %s' (which may cut sealed data)\n", vol,
		       vol);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": writing the report failed: %s\n", strerror(errno));
		return EXIT_OPERATIONAL;
	}

	int status = 0;
	if (res.repaired)
		status |= EXIT_CORRECTED;
	if (res.unrepaired)
		status |= EXIT_UNCORRECTED;
	if (res.cancelled)
		status |= EXIT_CANCELLED;
	return status;
}
