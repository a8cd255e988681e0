/*
 * logfs: mounts a logfs volume with FUSE.
 *   logfs VOLUME MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]
 * The volume is opened (and recovered) before the mount and before
 * daemonizing, so every error reaches the terminal with a non-zero exit.
 */
#include "daemon.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2
/* The background check after the mount (lfs_volume_verify_cached): about
 * one CPU-second at the ~5 GB/s a check runs at here, at nice 19. */
#define DEFAULT_VERIFY_CACHED (4ull << 30)


struct cmdline {
	char *volume, *mountpoint;
	int foreground, debug, help, version;
	bool ro;
	bool no_passthrough;
	bool bad;
	struct lfs_settings overrides;
	uint32_t mask;
	uint64_t held_max;
	uint64_t verify_cached; /* bytes; see DEFAULT_VERIFY_CACHED */
	struct mirror_config mirror;
	bool mirror_given;
	char *log_file;
};

enum {
	KEY_SETTING,
	KEY_RO,
	KEY_PASSTHROUGH,
	KEY_DEBUG,
	KEY_HELP,
	KEY_VERSION,
	KEY_MIRROR,
	KEY_MIRROR_REPLICAS,
	KEY_HELD_MAX,
	KEY_VERIFY_CACHED,
	KEY_LOG
};

static const struct fuse_opt cmdline_opts[] = {
	{"-f", offsetof(struct cmdline, foreground), 1},
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("passthrough=", KEY_PASSTHROUGH),
	FUSE_OPT_KEY("segment_size=", KEY_SETTING),
	FUSE_OPT_KEY("segment_ms=", KEY_SETTING),
	FUSE_OPT_KEY("retention_bytes=", KEY_SETTING),
	FUSE_OPT_KEY("retention_ms=", KEY_SETTING),
	FUSE_OPT_KEY("sync=", KEY_SETTING),
	FUSE_OPT_KEY("framing=", KEY_SETTING),
	FUSE_OPT_KEY("max_record=", KEY_SETTING),
	FUSE_OPT_KEY("held_max=", KEY_HELD_MAX),
	FUSE_OPT_KEY("verify_cached=", KEY_VERIFY_CACHED),
	FUSE_OPT_KEY("log=", KEY_LOG),
	FUSE_OPT_KEY("mirror=", KEY_MIRROR),
	FUSE_OPT_KEY("mirror_replicas=", KEY_MIRROR_REPLICAS),
	FUSE_OPT_END,
};

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct cmdline *c = data;
	(void)out;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!c->volume) {
			c->volume = strdup(arg);
			return 0;
		}
		if (!c->mountpoint) {
			c->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, PROG ": unexpected argument '%s'\n", arg);
		c->bad = true;
		return -1;
	case KEY_SETTING: {
		char name[32];
		const char *eq = strchr(arg, '=');
		size_t n = (size_t)(eq - arg);
		snprintf(name, sizeof(name), "%.*s", (int)n, arg);
		int id = lfs_setting_lookup(name);
		if (id < 0 || lfs_setting_parse(&c->overrides, id, eq + 1) < 0) {
			fprintf(stderr, PROG ": invalid mount option '%s'\n", arg);
			c->bad = true;
			return -1;
		}
		c->mask |= 1u << id;
		return 0;
	}
	case KEY_VERIFY_CACHED:
		if (lfs_parse_size(arg + strlen("verify_cached="), &c->verify_cached) < 0) {
			fprintf(stderr, PROG ": invalid mount option '%s'\n", arg);
			c->bad = true;
			return -1;
		}
		return 0;
	case KEY_HELD_MAX:
		if (lfs_parse_size(arg + strlen("held_max="), &c->held_max) < 0 || c->held_max == 0) {
			fprintf(stderr, PROG ": invalid mount option '%s'\n", arg);
			c->bad = true;
			return -1;
		}
		return 0;
	case KEY_LOG:
		if (!arg[strlen("log=")]) {
			fprintf(stderr, PROG ": invalid mount option '%s' (log=FILE)\n", arg);
			c->bad = true;
			return -1;
		}
		free(c->log_file);
		c->log_file = strdup(arg + strlen("log="));
		return 0;
	case KEY_MIRROR:
	case KEY_MIRROR_REPLICAS: {
		char err[256];
		const char *val = strchr(arg, '=') + 1;
		int rc = key == KEY_MIRROR ? mirror_parse_urls(&c->mirror, val, err, sizeof(err))
					   : mirror_parse_replicas(&c->mirror, val, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, PROG ": invalid mount option '%s': %s\n", arg, err);
			c->bad = true;
			return -1;
		}
		c->mirror_given |= key == KEY_MIRROR;
		return 0;
	}
	case FUSE_OPT_KEY_OPT:
		/* libfuse splits -o at commas: mirror=nats://A,nats://B
		 * arrives as mirror=nats://A and nats://B. */
		if (c->mirror_given && strncmp(arg, "nats://", 7) == 0) {
			char err[256];
			if (mirror_parse_urls(&c->mirror, arg, err, sizeof(err)) < 0) {
				fprintf(stderr, PROG ": invalid mount option 'mirror': %s\n", err);
				c->bad = true;
				return -1;
			}
			return 0;
		}
		return 1;
	case KEY_RO:
		c->ro = true;
		return 1; /* the kernel mounts read-only too */
	case KEY_PASSTHROUGH: {
		const char *v = arg + strlen("passthrough=");
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
			fprintf(stderr, PROG ": invalid mount option '%s' (passthrough=on or off)\n",
				arg);
			c->bad = true;
			return -1;
		}
		c->no_passthrough = strcmp(v, "off") == 0;
		return 0;
	}
	case KEY_DEBUG:
		c->debug = c->foreground = 1;
		return 1;
	case KEY_HELP:
		c->help = 1;
		return 0;
	case KEY_VERSION:
		c->version = 1;
		return 0;
	}
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " VOLUME MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]\n"
		"\n"
		"Mounts the logfs volume VOLUME (made by mkfs.logfs) on MOUNTPOINT.\n"
		"  -f                   stay in the foreground\n"
		"  -d                   FUSE debug output (implies -f)\n"
		"  -o segment_size=SIZE roll segments at SIZE bytes (K, M, G)\n"
		"  -o segment_ms=MS     also roll segments older than MS (0: never)\n"
		"  -o retention_bytes=SIZE  keep at most SIZE bytes per topic (0: all)\n"
		"  -o retention_ms=MS   delete segments older than MS (0: keep)\n"
		"  -o sync=always|MS|never  durability of appends (default 100)\n"
		"  -o framing=line|write    framing of new topics (default line)\n"
		"  -o max_record=SIZE   largest record (default 1M)\n"
		"  -o held_max=SIZE     memory of all held line fragments (default 256M)\n"
		"  -o verify_cached=SIZE  check up to SIZE of cached sealed segments in the\n"
		"                       background after the mount (default 4G; 0: none)\n"
		"  -o mirror=nats://HOST:PORT[,nats://HOST:PORT...]\n"
		"                       mirror topics into this NATS JetStream cluster\n"
		"  -o mirror_replicas=N replicas of the streams logfs creates (1-5, default 1)\n"
		"  -o ro                read-only mount\n"
		"  -o passthrough=on|off  read sealed segments through the kernel's FUSE\n"
		"                       passthrough where available (default on)\n"
		"  -o log=FILE          also append the daemon's messages to FILE\n"
		"  -o allow_other,...   standard FUSE mount options\n"
		"  -h, --help           this help\n"
		"  -V, --version        version\n"
		"Unmount with: fusermount3 -u MOUNTPOINT\n");
}

/* Raises the kernel's readahead for this mount from the 128 KiB default, so
 * first reads of sealed segments arrive as 1 MiB requests. The device number
 * comes from mountinfo: stat(2) on the mount would wait for this daemon. */
static void raise_readahead(const char *mountpoint)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	unsigned maj = 0, min = 0;
	bool found = false;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX];
		unsigned a, b;
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &a, &b, mnt) == 3 &&
		    strcmp(mnt, mountpoint) == 0) {
			maj = a;
			min = b;
			found = true; /* the last one is the newest mount */
		}
	}
	fclose(f);
	if (!found)
		return;
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", maj, min);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* not root: the default stays, which is only slower */
	if (write(fd, "4096", 4) != 4)
		daemon_log(LFS_LOG_INFO, "could not raise readahead: %s", strerror(errno));
	close(fd);
}

/* Adds "-o default_permissions,subtype=logfs,fsname=VOLUME" with commas
 * escaped as libfuse's parser wants. */
static int add_default_opts(struct fuse_args *args, const char *volume)
{
	char opt[PATH_MAX * 2 + 128];
	size_t n = (size_t)snprintf(opt, sizeof(opt), "default_permissions,subtype=logfs,fsname=");
	for (const char *p = volume; *p && n + 3 < sizeof(opt); p++) {
		if (*p == ',' || *p == '\\')
			opt[n++] = '\\';
		opt[n++] = *p;
	}
	opt[n] = 0;
	/* Before the user's options, so that a user's fsname= or subtype=
	 * wins (libfuse keeps the last value given). */
	if (fuse_opt_insert_arg(args, 1, "-o") < 0 || fuse_opt_insert_arg(args, 2, opt) < 0)
		return -1;
	return 0;
}

static const char *open_error(int rc)
{
	switch (rc) {
	case -EBUSY:
		return "volume is in use (already mounted, or being repaired by fsck.logfs)";
	case -EUCLEAN:
		return "not a logfs volume (no valid superblock; see mkfs.logfs(8))";
	case -EPROTONOSUPPORT:
		return "volume was written by a newer, incompatible version of logfs";
	case -EINVAL:
		return "the superblock holds a default setting out of range (see the log; "
		       "fsck.logfs repairs it)";
	default:
		return strerror(-rc);
	}
}

/* Is VOLUME the source of a mounted logfs? */
static bool volume_mounted(const char *volume)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	bool found = false;
	if (!f)
		return true; /* cannot tell: do not wait */
	while (!found && fgets(line, sizeof(line), f)) {
		char type[64], source[PATH_MAX];
		const char *dash = strstr(line, " - ");
		if (dash && sscanf(dash, " - %63s %4095s", type, source) == 2)
			found = strcmp(type, "fuse.logfs") == 0 && strcmp(source, volume) == 0;
	}
	fclose(f);
	return found;
}

/* Opens the volume. A daemon that was just unmounted may still be flushing
 * and hold the lock for a moment: wait for it, unless the volume is really
 * mounted, which is refused at once. */
static int open_volume(const char *volume, const struct lfs_open_opts *oo,
		       struct lfs_open_report *rep, lfs_volume **out)
{
	for (int tries = 0;; tries++) {
		int rc = lfs_volume_open(volume, oo, out, rep);
		if (rc != -EBUSY || tries >= 50 || volume_mounted(volume))
			return rc;
		usleep(100 * 1000);
	}
}

/* Between the caller's filesystem ids (on) and the volume owner's (off)
 * that lfs_act_as_volume_owner gave the daemon: only root switches. */
static void fs_ids_as_caller(const struct daemon *d, bool on)
{
	if (!d->as_owner)
		return;
	if (on) {
		setfsuid(0);
		setfsgid(getegid());
	} else {
		setfsgid(d->owner_gid);
		setfsuid(d->owner_uid);
	}
}

/* Many segments may be mapped at once; let the daemon have the files. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* libfuse ends its worker threads with pthread_cancel, for which glibc
 * loads libgcc_s (its unwinder) on first use: at the unmount, when the
 * daemon may be out of descriptors, the load failed and glibc aborted the
 * daemon ("libgcc_s.so.1 must be installed for pthread_cancel to work").
 * Loaded once at start, while it can be; without it the daemon still
 * works until such an unmount. */
static void load_unwinder(void)
{
	if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
		fprintf(stderr, PROG ": cannot load libgcc_s.so.1 (%s): an unmount out of "
			"descriptors may abort the daemon\n", dlerror());
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cmdline c;
	/* What the request handlers share, as the session's userdata. */
	struct daemon daemon_state = {0};
	struct fuse_session *se = NULL;
	char volume[PATH_MAX], mountpoint[PATH_MAX];
	int ret = 1, rc;

	memset(&c, 0, sizeof(c));
	c.verify_cached = DEFAULT_VERIFY_CACHED;
	if (fuse_opt_parse(&args, &c, cmdline_opts, opt_proc) < 0) {
		if (!c.bad)
			fprintf(stderr, PROG ": invalid arguments\n");
		fprintf(stderr, "Try '" PROG " --help'.\n");
		free(c.volume);
		free(c.mountpoint);
		free(c.log_file);
		mirror_config_free(&c.mirror);
		fuse_opt_free_args(&args);
		return EXIT_USAGE;
	}
	if (c.help) {
		usage(stdout);
		ret = 0;
		goto out_args;
	}
	if (c.version) {
		printf(PROG " " LFS_VERSION_STRING " (FUSE library %s)\n", fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (!c.volume || !c.mountpoint) {
		fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n",
			c.volume ? "missing MOUNTPOINT" : "missing VOLUME and MOUNTPOINT");
		ret = EXIT_USAGE;
		goto out_args;
	}
	if (!c.mirror_given && c.mirror.replicas) {
		fprintf(stderr, PROG ": mirror_replicas= needs mirror=nats://HOST:PORT\n"
				"Try '" PROG " --help'.\n");
		ret = EXIT_USAGE;
		goto out_args;
	}
	/* First: the recovery report and every later message reach syslog
	 * and the log file too. */
	rc = log_open(c.log_file);
	if (rc < 0) {
		fprintf(stderr, PROG ": log=%s: %s\n", c.log_file, strerror(-rc));
		goto out_args;
	}
	if (!realpath(c.volume, volume)) {
		fprintf(stderr, PROG ": %s: %s\n", c.volume, strerror(errno));
		goto out_args;
	}
	if (mountpoint_prepare(c.mountpoint, mountpoint) < 0)
		goto out_args;
	raise_nofile();
	load_unwinder();
	rc = lfs_act_as_volume_owner(volume, &daemon_state.owner_uid, &daemon_state.owner_gid);
	if (rc < 0) {
		fprintf(stderr, PROG ": %s: cannot act as the volume's owner: %s\n", c.volume,
			strerror(-rc));
		goto out_args;
	}
	if (rc == 1) {
		fprintf(stderr, PROG ": warning: %s: its owner cannot reach it by this path; files "
			"created in it will belong to root\n", c.volume);
	}
	daemon_state.as_owner = rc == 0 && geteuid() == 0 && daemon_state.owner_uid != 0;

	struct lfs_open_opts oo = {.flags = LFS_OPEN_DEFER_TICKER | (c.ro ? LFS_OPEN_RDONLY : 0),
				   .overrides = c.overrides,
				   .override_mask = c.mask,
				   .held_max = c.held_max,
				   .log = daemon_core_log,
				   .segment_gone = notify_segment_gone};
	struct lfs_open_report rep;
	rc = open_volume(volume, &oo, &rep, &daemon_state.vol);
	if (rc < 0) {
		fprintf(stderr, PROG ": %s: %s\n", c.volume, open_error(rc));
		goto out_args;
	}
	daemon_state.readonly = c.ro;
	daemon_state.debug = c.debug;
	pt_configure(!c.no_passthrough);
	if (!rep.was_clean)
		daemon_log(LFS_LOG_WARNING, "%s: recovered after an unclean stop: %u segments scanned, "
			   "%llu records and %llu bytes cut",
			   volume, rep.segments_scanned, (unsigned long long)rep.records_cut,
			   (unsigned long long)rep.bytes_cut);

	/* Before the mount: the kernel reads the limit when it makes the
	 * connection. */
	uint64_t wmax = devio_write_record_max(devio_prepare());
	lfs_volume_set_write_record_max(daemon_state.vol, wmax);
	if ((c.mask & (1u << LFS_SET_MAX_RECORD)) && (c.mask & (1u << LFS_SET_FRAMING)) &&
	    c.overrides.framing == LFS_FRAMING_WRITE && c.overrides.max_record > wmax) {
		fprintf(stderr, PROG ": max_record=%llu: with framing=write at most %llu (what one "
			"kernel write request carries; see logfs(8))\n",
			(unsigned long long)c.overrides.max_record, (unsigned long long)wmax);
		ret = EXIT_USAGE;
		goto out_vol;
	}
	if (!c.ro) {
		/* Before the ticker starts: retention must see the floors of
		 * mirrored topics from the first tick on. */
		c.mirror.log = daemon_log;
		rc = mirror_create(daemon_state.vol, &c.mirror, &daemon_state.mirror);
		if (rc < 0) {
			fprintf(stderr, PROG ": cannot set up mirroring: %s\n", strerror(-rc));
			goto out_vol;
		}
	}
	if (add_default_opts(&args, volume) < 0)
		goto out_vol;
	se = fuse_session_new(&args, &logfs_ops, sizeof(logfs_ops), &daemon_state);
	if (!se)
		goto out_vol; /* libfuse said why */
	if (fuse_set_signal_handlers(se) != 0)
		goto out_se;
	/* libfuse unmounts on SIGHUP too; a daemon's mount must outlive its
	 * terminal and a "reload" (logfs.8, SIGNALS): SIGHUP only reopens
	 * the log file. SIGTERM and SIGINT unmount cleanly. */
	rc = log_reopen_on_hup();
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot handle SIGHUP: %s\n", strerror(-rc));
		goto out_sig;
	}
	rc = signals_block();
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot handle SIGTERM: %s\n", strerror(-rc));
		goto out_sig;
	}
	/* The mount itself (the device, the mount point, the readahead in
	 * sysfs) needs the caller's own rights, not the volume owner's. */
	fs_ids_as_caller(&daemon_state, true);
	rc = fuse_session_mount(se, mountpoint);
	if (rc == 0)
		raise_readahead(mountpoint);
	fs_ids_as_caller(&daemon_state, false);
	if (rc != 0)
		goto out_sig;
	if (devio_install(se) != 0)
		goto out_unmount;
	/* Without syslog and a log file, the daemon's stderr stays the
	 * user's: what it says later is not lost. */
	int saved_stderr = -1;
	if (!c.foreground && !log_has_syslog() && !c.log_file) {
		fprintf(stderr, PROG ": no syslog (/dev/log): the daemon's messages go to this "
			"stderr; -o log=FILE keeps them in a file\n");
		saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (saved_stderr < 0)
			fprintf(stderr, PROG ": cannot keep stderr: %s\n", strerror(errno));
	}
	if (fuse_daemonize(c.foreground) != 0)
		goto out_unmount;
	if (!c.foreground) {
		log_daemonized(saved_stderr);
		if (saved_stderr >= 0)
			close(saved_stderr);
	}
	rc = lfs_volume_start_ticker(daemon_state.vol);
	if (rc < 0) {
		daemon_log(LFS_LOG_ERR, "cannot start background thread: %s", strerror(-rc));
		goto out_unmount;
	}
	/* Threads only now: fuse_daemonize forked. */
	rc = signals_start(se);
	if (rc < 0) {
		daemon_log(LFS_LOG_ERR, "cannot start the signal thread: %s", strerror(-rc));
		goto out_unmount;
	}
	rc = notify_start(se);
	if (rc < 0) {
		daemon_log(LFS_LOG_ERR, "cannot start the notifier thread: %s", strerror(-rc));
		goto out_unmount;
	}
	rc = daemon_state.mirror ? mirror_start(daemon_state.mirror) : 0;
	if (rc < 0) {
		daemon_log(LFS_LOG_ERR, "cannot start mirroring: %s", strerror(-rc));
		goto out_unmount;
	}
	/* Advice for speed: without it each segment is checked at its first
	 * open, as always. */
	rc = lfs_volume_verify_cached(daemon_state.vol, c.verify_cached);
	if (rc < 0)
		daemon_log(LFS_LOG_WARNING, "no background check of cached sealed segments: %s",
			   strerror(-rc));
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg)
		goto out_unmount;
	/* One shared device fd, as libfuse's own examples default to: cloned fds
	 * measured slower for one writer on this 2-core class of machine. */
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_idle_threads(cfg, 16);
	/* Enough workers for many concurrent producers to wait in one group
	 * commit. */
	fuse_loop_cfg_set_max_threads(cfg, 64);
	ret = fuse_session_loop_mt(se, cfg) < 0 ? 1 : 0;
	fuse_loop_cfg_destroy(cfg);
out_unmount:
	signals_stop();
	/* Before the session goes: the notifier writes to its device. */
	notify_stop();
	/* The device descriptor goes with the session, and no backing id
	 * outlives it in the kernel. */
	pt_detach();
	fuse_session_unmount(se);
out_sig:
	fuse_remove_signal_handlers(se);
out_se:
	fuse_session_destroy(se);
out_vol:
	notify_stop(); /* (again after out_unmount: it drops what is queued) */
	mirror_destroy(daemon_state.mirror);
	daemon_state.mirror = NULL;
	ops_release_all();
	nodes_destroy();
	rc = lfs_volume_close(daemon_state.vol);
	if (rc < 0) {
		daemon_log(LFS_LOG_ERR, "%s: unmounted, but could not record a clean state: %s", volume,
			   strerror(-rc));
		ret = 1;
	}
out_args:
	log_close();
	mirror_config_free(&c.mirror);
	free(c.log_file);
	free(c.volume);
	free(c.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
