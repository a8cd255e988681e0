# Shared helpers of the mount integration tests (tests/integration/mount_*.sh).
# Sourced, not run: tests/run.sh runs tests/integration/*.sh only.
#
# Environment (set by tests/run.sh): LFS_BUILD, the absolute build directory;
# LFS_SRC, the repository root. Tests run as root, or as an ordinary user
# (see as_root).
#
# Every test script:
#   . "$LFS_SRC/tests/lib/mount.sh"
#   vol_new V; lfs_mount "$V" "$M" -o ...; check "description" COMMAND...
#   ...; finish
# and prints "ok - ..." / "not ok - ..." lines. Cleanup (unmount, kill the
# daemons this script started, remove $T) runs from an EXIT trap.

set -u
export LC_ALL=C
: "${LFS_BUILD:?LFS_BUILD must be set (see tests/run.sh)}"
: "${LFS_SRC:?LFS_SRC must be set (see tests/run.sh)}"

LOGFS=$LFS_BUILD/logfs
MKFS=$LFS_BUILD/mkfs.logfs
LFSREC=$LFS_BUILD/tests/tools/lfsrec
LFSIO=$LFS_BUILD/tests/tools/lfsio

T=$(mktemp -d "${TMPDIR:-/tmp}/lfs-it.XXXXXX") || exit 1
_fails=0
_bug=""
_mounts=""   # mountpoints this script may have left mounted
_pids=""     # processes this script started and must not leave behind
_tmpfs=""    # tmpfs mounts to remove
_tmux=""     # tmux socket names
_ndaemon=0
_daemon_bad=""

# ---- reporting ----

# printf, not echo: dash's echo would expand backslashes in descriptions.
ok() { printf 'ok - %s\n' "$*"; }
not_ok()
{
	if [ -n "$_bug" ]; then
		printf 'not ok - %s # BUG: %s\n' "$*" "$_bug"
	else
		printf 'not ok - %s\n' "$*"
	fi
	_bug=""
	_fails=$((_fails + 1))
}
# bug TEXT: a known bug explains the next check if it fails.
bug() { _bug=$*; }
# check DESCRIPTION COMMAND [ARG...]: ok when the command succeeds.
check()
{
	_d=$1
	shift
	if "$@"; then ok "$_d"; _bug=""; else not_ok "$_d"; fi
}
# note TEXT: diagnostic output (not a test line).
note() { printf '# %s\n' "$*"; }
finish()
{
	# Whatever the tests checked, the daemons must not have hit a
	# sanitizer report (make asan) nor exited non-zero after an unmount.
	if grep -l 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$T"/daemon.*.err >"$T/san" 2>/dev/null; then
		# The report itself, not the start of the file (a -d mount's
		# trace comes first).
		for _f in $(cat "$T/san"); do
			note "$_f:"
			grep -m 1 -A 40 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$_f" |
				sed 's/^/#   /'
		done
		not_ok "the daemons ran without sanitizer reports"
	else
		ok "the daemons ran without sanitizer reports"
	fi
	if [ -n "$_daemon_bad" ]; then
		not_ok "every daemon exited 0 after its unmount (not:$_daemon_bad)"
	else
		ok "every daemon exited 0 after its unmount"
	fi
	note "$(basename "$0"): $_fails failed"
	[ "$_fails" -eq 0 ]
	exit $?
}

# as_root: the suite runs as root (tests/run.sh runs the suites marked
# "# unprivileged: yes" as an ordinary user too; what only root can do is
# skipped there, with skip).
as_root() { [ "$(id -u)" -eq 0 ]; }
# skip DESCRIPTION REASON: a check that cannot run here, said so.
skip() { printf 'ok - %s # SKIP %s\n' "$1" "$2"; }
# EPERM_OR_EACCES: what the kernel answers an ordinary user who writes to a
# 0444 segment (truncate, setfattr) before the daemon is asked: EACCES, as
# on any filesystem; root passes that check and the daemon says EPERM.
if [ "$(id -u)" -eq 0 ]; then SEG_WRITE_ERR=EPERM; else SEG_WRITE_ERR=EACCES; fi

# errtext NAME: the strerror text of an errno name, as tools print it.
errtext()
{
	case $1 in
	EPERM) echo "Operation not permitted" ;;
	ENOENT) echo "No such file or directory" ;;
	EIO) echo "Input/output error" ;;
	EACCES) echo "Permission denied" ;;
	EBUSY) echo "Device or resource busy" ;;
	EEXIST) echo "File exists" ;;
	EISDIR) echo "Is a directory" ;;
	EINVAL) echo "Invalid argument" ;;
	ENOSPC) echo "No space left on device" ;;
	EROFS) echo "Read-only file system" ;;
	EMSGSIZE) echo "Message too long" ;;
	ENAMETOOLONG) echo "File name too long" ;;
	ENOTDIR) echo "Not a directory" ;;
	ENOTEMPTY) echo "Directory not empty" ;;
	ENOTCONN) echo "Transport endpoint is not connected" ;;
	*) echo "$1" ;;
	esac
}

# _fails_as ERRNAME WHAT COMMAND [ARG...]: the command fails and its error
# message names ERRNAME; WHAT is how the notes name the command.
_fails_as()
{
	_e=$1
	_what=$2
	shift 2
	if "$@" >"$T/fw.out" 2>"$T/fw.err"; then
		note "'$_what' succeeded, expected $_e"
		return 1
	fi
	if ! grep -q "$(errtext "$_e")" "$T/fw.err"; then
		note "'$_what' failed differently: $(head -c 300 "$T/fw.err")"
		return 1
	fi
	return 0
}

# fails_with ERRNAME COMMAND [ARG...]: the command fails and its error
# message names ERRNAME (tools print strerror text).
fails_with()
{
	_fw=$1
	shift
	_fails_as "$_fw" "$*" "$@"
}

# sh_fails_with ERRNAME 'SHELL COMMAND': the same for a shell command line
# (redirections: the shell prints the error).
sh_fails_with()
{
	_fails_as "$1" "$2" sh -c "$2"
}

# same FILE1 FILE2: byte-identical (cmp), with a note when not.
same()
{
	if cmp "$1" "$2" >"$T/cmp.out" 2>&1; then return 0; fi
	note "$(cat "$T/cmp.out") (sizes $(wc -c <"$1") and $(wc -c <"$2"))"
	return 1
}

# eq A B: string equality, with a note when not.
eq()
{
	[ "$1" = "$2" ] && return 0
	note "got '$1', expected '$2'"
	return 1
}

# ---- processes ----

# alive PID: the process exists and is not a zombie.
alive()
{
	[ -r "/proc/$1/stat" ] || return 1
	! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'
}

# wait_gone PID [SECONDS]: waits for the process to exit (default 20 s).
wait_gone()
{
	_n=$(( ${2:-20} * 20 ))
	while alive "$1"; do
		_n=$((_n - 1))
		[ "$_n" -le 0 ] && return 1
		sleep 0.05
	done
	return 0
}

# wait_for SECONDS COMMAND [ARG...]: polls until the command succeeds.
wait_for()
{
	_n=$(( $1 * 20 ))
	shift
	until "$@"; do
		_n=$((_n - 1))
		[ "$_n" -le 0 ] && return 1
		sleep 0.05
	done
	return 0
}

# bg COMMAND...: runs a command in the background, remembered for cleanup;
# sets BGPID.
bg()
{
	"$@" &
	BGPID=$!
	_pids="$_pids $BGPID"
}

# stop PID: SIGTERM, then SIGKILL, and reap.
stop()
{
	if alive "$1"; then
		kill "$1" 2>/dev/null
		wait_gone "$1" 5 || kill -9 "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	return 0
}

# ---- volumes and mounts ----

# vol_new PATH [mkfs options]: a fresh volume made by mkfs.logfs.
vol_new()
{
	_v=$1
	shift
	"$MKFS" -q "$@" "$_v" >"$T/mkfs.out" 2>&1 || {
		note "mkfs.logfs failed: $(cat "$T/mkfs.out")"
		return 1
	}
}

# vol_locked VOL: some process holds the volume (the daemon's lock).
vol_locked() { ! flock -n -s "$1" true 2>/dev/null; }

# is_mounted MNT: a logfs FUSE mount is on MNT.
is_mounted()
{
	awk -v m="$1" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "fuse.logfs") f = 1; break } }
		END { exit !f }' /proc/self/mountinfo
}

# lfs_mount VOL MNT [logfs options...]: starts `logfs VOL MNT -f ...` in the
# background, waits until the mount is there. Sets DPID (daemon pid) and
# DERR (its stderr). Fails if the daemon exits first (its exit status in
# DSTATUS).
lfs_mount()
{
	_vol=$1
	_mnt=$2
	shift 2
	mkdir -p "$_mnt"
	_ndaemon=$((_ndaemon + 1))
	DERR=$T/daemon.$_ndaemon.err
	# A background job of a non-interactive shell starts with SIGINT
	# ignored, and libfuse keeps an ignored signal ignored: restore it.
	# The background check of cached segments after the mount is off
	# unless a test asks for it (-o verify_cached=SIZE, later wins): what
	# a test sees must not depend on how far that check got.
	env --default-signal=INT "$LOGFS" "$_vol" "$_mnt" -f -o verify_cached=0 "$@" 2>"$DERR" &
	DPID=$!
	DSTATUS=""
	_pids="$_pids $DPID"
	_mounts="$_mounts $_mnt"
	_n=400
	while ! is_mounted "$_mnt"; do
		if ! alive "$DPID"; then
			wait "$DPID"
			DSTATUS=$?
			note "logfs exited ($DSTATUS) before mounting: $(head -c 500 "$DERR")"
			return 1
		fi
		_n=$((_n - 1))
		if [ "$_n" -le 0 ]; then
			note "logfs did not mount $_mnt within 20 s"
			return 1
		fi
		sleep 0.05
	done
	# The mount shows in mountinfo as soon as mount(2) returns, before the
	# daemon has answered the kernel's INIT: a first request waits for
	# that answer, so that what the daemon says at INIT (how it reads
	# sealed segments) is in DERR when this returns. (A mount closed to
	# the caller answers EACCES without waiting: nothing to wait for then.)
	stat "$_mnt" >/dev/null 2>&1 || true
	return 0
}

# lfs_umount MNT [PID]: fusermount3 -u, then waits for the daemon (default
# $DPID) to exit and reaps it; its exit status in DSTATUS.
lfs_umount()
{
	_mnt=$1
	_pid=${2:-$DPID}
	DSTATUS=""
	if is_mounted "$_mnt"; then
		# EBUSY while a process that just ended still has a file open:
		# try again for a while.
		_n=0
		until fusermount3 -u "$_mnt" 2>"$T/umount.err"; do
			_n=$((_n + 1))
			if [ $_n -ge 50 ] || ! grep -q busy "$T/umount.err"; then
				note "fusermount3 -u $_mnt: $(cat "$T/umount.err")"
				umount -l "$_mnt"
				break
			fi
			sleep 0.1
		done
	fi
	if [ -n "$_pid" ]; then
		wait_gone "$_pid" 30 || {
			note "daemon $_pid did not exit after unmount"
			return 1
		}
		wait "$_pid" 2>/dev/null
		DSTATUS=$?
		if [ "$DSTATUS" -ne 0 ]; then
			_daemon_bad="$_daemon_bad $_pid:$DSTATUS"
			note "daemon $_pid exited $DSTATUS after unmount: $(tail -n 5 "$DERR" 2>/dev/null)"
		fi
	fi
	return 0
}

# crash MNT [PID]: kill -9 of the daemon, then the dead mount is removed.
crash()
{
	_pid=${2:-$DPID}
	kill -9 "$_pid" 2>/dev/null
	wait_gone "$_pid" 10
	wait "$_pid" 2>/dev/null
	fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null
	wait_for 10 vol_unlocked_mnt "$1"
}
vol_unlocked_mnt() { ! is_mounted "$1"; }

# tmpfs_new DIR SIZE: a private tmpfs of SIZE (e.g. 8M) on DIR.
tmpfs_new()
{
	mkdir -p "$1" && mount -t tmpfs -o "size=$2" lfs-test "$1" && _tmpfs="$_tmpfs $1"
}

# recovered ERRFILE: the daemon's stderr says it ran recovery.
recovered() { grep -qi 'recover' "$1"; }

# xattr PATH NAME: the value of user.logfs.NAME.
xattr()
{
	getfattr --only-values -n "user.logfs.$2" "$1" 2>/dev/null
}

# lines N [FIRST]: "line FIRST" ... N lines, the standard test payload.
lines()
{
	seq "${2:-1}" "$(( ${2:-1} + $1 - 1 ))" | sed 's/^/line /'
}

# size PATH: st_size.
size() { stat -c %s "$1"; }

# ---- cleanup ----

_cleanup()
{
	set +e
	for _s in $_tmux; do
		tmux -L "$_s" kill-server 2>/dev/null
	done
	for _m in $_mounts; do
		if is_mounted "$_m"; then
			fusermount3 -u "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null
		fi
	done
	for _p in $_pids; do
		alive "$_p" && kill "$_p" 2>/dev/null
	done
	for _p in $_pids; do
		wait_gone "$_p" 5 || kill -9 "$_p" 2>/dev/null
	done
	for _m in $_tmpfs; do
		umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null
	done
	rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM HUP

# The tools the tests need.
for _x in "$LOGFS" "$MKFS" "$LFSREC" "$LFSIO"; do
	if [ ! -x "$_x" ]; then
		echo "not ok - $_x is built (make all-tests)"
		exit 1
	fi
done
