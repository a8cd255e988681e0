# Shared helpers of the reliability suites (tests/integration/reliability_*.sh,
# docs/RELIABILITY.md). Sourced, not run: it lives outside tests/integration
# so tests/run.sh does not count it as a suite.
#
# Environment: LFS_BUILD (absolute build dir), LFS_SRC (repository root),
# LFS_SEED (PRNG seed; default: from the clock, always printed),
# LFS_STRESS=1 for the long forms (make stress).

LFS_SRC=${LFS_SRC:-$(pwd)}
LFS_BUILD=${LFS_BUILD:-$LFS_SRC/build}
TOOLS=$LFS_BUILD/tests/tools
LOGFS=$LFS_BUILD/logfs
MKFS=$LFS_BUILD/mkfs.logfs
FSCK=$LFS_BUILD/fsck.logfs
STRESS=${LFS_STRESS:-0}

n_ok=0
n_bad=0
ok() {
	n_ok=$((n_ok + 1))
	echo "ok - $*"
}
not_ok() {
	n_bad=$((n_bad + 1))
	echo "not ok - $*"
}
note() {
	echo "# $*"
}

# A seeded PRNG (an LCG), so a failing run can be repeated with LFS_SEED.
SEED=${LFS_SEED:-$(($(date +%s) % 1000000))}
RNG=$SEED
rand() { # rand N: a number in 0..N-1, in $R
	RNG=$(((RNG * 1103515245 + 12345) % 2147483648))
	R=$(((RNG / 65536) % $1))
}

# Work directory on the backing (non-logfs) filesystem.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lfs-rel.XXXXXX")
DAEMON_PID=""
MOUNTED=""
BG_PIDS=""

rel_cleanup() {
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
	if [ -n "$DAEMON_PID" ]; then
		kill -9 "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	for m in $MOUNTED; do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for m in $EXTRA_UMOUNT; do umount -l "$m" 2>/dev/null; done
	if [ "${LFS_KEEP:-0}" = 1 ]; then
		echo "# work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
EXTRA_UMOUNT=""
trap rel_cleanup EXIT
trap 'exit 130' INT TERM

# Checks that the programs and tools exist; prints "not ok" and exits if not.
need() {
	for f in "$@"; do
		if [ ! -x "$f" ]; then
			not_ok "$f is missing (build it with make all-tests)"
			exit 1
		fi
	done
	if [ ! -e /dev/fuse ]; then
		echo "ok - # SKIP /dev/fuse is missing: no FUSE on this machine"
		exit 0
	fi
}

is_mounted() {
	grep -qs " $1 fuse" /proc/mounts
}

# start_daemon VOL MNT OPTS: runs logfs in the foreground (in the
# background of this shell) so that its pid is known; waits for the mount.
# Returns non-zero if the mount does not appear.
start_daemon() {
	"$LOGFS" "$1" "$2" -f ${3:+-o "$3"} 2>>"$WORK/daemon.log" &
	DAEMON_PID=$!
	case " $MOUNTED " in *" $2 "*) ;; *) MOUNTED="$MOUNTED $2" ;; esac
	i=0
	while ! is_mounted "$2"; do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			wait "$DAEMON_PID" 2>/dev/null
			DAEMON_PID=""
			return 1
		fi
		i=$((i + 1))
		[ $i -gt 1000 ] && return 1
		sleep 0.01
	done
	return 0
}

# kill_daemon MNT: SIGKILL, then drop the dead mount.
kill_daemon() {
	if [ -n "$DAEMON_PID" ]; then
		kill -9 "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=""
	fi
	if is_mounted "$1"; then
		fusermount3 -u "$1" 2>/dev/null || umount -l "$1"
	fi
}

# stop_daemon MNT: clean unmount; returns the daemon's exit status.
stop_daemon() {
	fusermount3 -u "$1" || umount -l "$1"
	rc=0
	if [ -n "$DAEMON_PID" ]; then
		wait "$DAEMON_PID"
		rc=$?
		DAEMON_PID=""
	fi
	return $rc
}

# unmount_and_fsck VOL MNT: the end of a suite: a clean unmount (the daemon
# exits 0), then fsck.logfs -n -f finds nothing; one ok or not_ok for both.
unmount_and_fsck() {
	stop_daemon "$2"
	_drc=$?
	_out=$("$FSCK" -n -f "$1" 2>&1)
	_frc=$?
	if [ $_drc -eq 0 ] && [ $_frc -eq 0 ]; then
		ok "clean unmount and fsck -n -f: $(echo "$_out" | tail -n 1)"
	else
		not_ok "clean unmount exit $_drc, fsck -n -f exit $_frc: $_out"
	fi
}

# Anonymous resident memory of a process in KiB (RssAnon), 0 if gone.
rss_anon() {
	awk '/^RssAnon:/ { print $2; found = 1 } END { if (!found) print 0 }' \
		"/proc/$1/status" 2>/dev/null || echo 0
}

# 1 if the daemon is built with AddressSanitizer (make asan): its shadow
# memory and quarantine are anonymous memory, so memory bounds do not apply.
asan_build() {
	grep -q __asan_init "$LOGFS" 2>/dev/null
}

finish() {
	# A sanitizer report from any daemon of the run is a failure, even if
	# the suite killed that daemon afterwards.
	if cat "$WORK"/daemon*.log 2>/dev/null |
		grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer'; then
		not_ok "the daemon reported a sanitizer error: $(cat "$WORK"/daemon*.log | grep -E -m 3 'Sanitizer|runtime error')"
	fi
	note "$n_ok passed, $n_bad failed (seed $SEED)"
	[ "$n_bad" -eq 0 ]
	exit $?
}
