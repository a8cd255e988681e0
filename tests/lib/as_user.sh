#!/bin/sh
# Runs integration suites as an ordinary user: tests/run.sh's user phase.
#   tests/lib/as_user.sh BUILD LOGDIR JOBS NAME...
# Run as root. Makes the user logfs-test if there is none, copies the
# programs and the test scripts where that user can read them (the checkout
# may sit under a directory closed to others), lets the user open /dev/fuse
# for the run where it is closed to others (its mode is put back after,
# under a lock so that concurrent runs do not put back each other's), and
# runs each tests/integration/NAME.sh as the user, JOBS at a time
# (tests/lib/pool.sh), its output in LOGDIR/user.NAME.log and its exit
# status in LOGDIR/user.NAME.rc. Problems of the setup itself are "not ok" lines on
# stdout.
set -u
BUILD=$1
LOGDIR=$2
JOBS=$3
shift 3
USER_NAME=logfs-test
LOCK=/run/lock/logfs-test-dev-fuse.lock

if ! id -u "$USER_NAME" >/dev/null 2>&1 &&
	! useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		"$USER_NAME"; then
	echo "not ok - useradd $USER_NAME (the user the unprivileged suites run as)"
	exit 1
fi
# libfuse mounts for an ordinary user through fusermount3, which must be
# setuid root (Debian's fuse3 installs it so).
FM=$(command -v fusermount3)
if [ -z "$FM" ] || [ ! -u "$FM" ] || [ "$(stat -c %u "$FM")" != 0 ]; then
	echo "not ok - fusermount3 is installed setuid root (${FM:-missing})"
	exit 1
fi

U=$(mktemp -d "${TMPDIR:-/tmp}/lfs-user.XXXXXX") || exit 1
trap 'rm -rf "$U"' EXIT
mkdir -p "$U/build/tests/tools" "$U/src"
cp "$BUILD/logfs" "$BUILD/mkfs.logfs" "$BUILD/fsck.logfs" "$U/build/" &&
	cp "$BUILD"/tests/tools/* "$U/build/tests/tools/" &&
	cp -r tests docs README.md "$U/src/" &&
	chmod -R a+rX "$U" || {
	echo "not ok - copy the programs and the suites for $USER_NAME"
	exit 1
}

run_all()
{
	# The user's own TMPDIR: /tmp is shared, the user's files are not.
	# mount_held_rss holds 1000 fragments rather than root's 3000: what
	# differs for a user is who mounts, not how memory comes back, and
	# the 3 GB twice was a fifth of the whole run's CPU.
	sh "$(dirname "$0")/pool.sh" "$JOBS" "$LOGDIR" user. \
		"runuser -u $USER_NAME -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
		HOME=/nonexistent TMPDIR=/tmp LFS_BUILD=$U/build LFS_SRC=$U/src LFS_HELD_HANDLES=1000 \
		timeout 600 sh $U/src/tests/integration/\$1.sh" "$@"
}

exec 9>"$LOCK" || exit 1
flock 9
mode=$(stat -c %a /dev/fuse) || exit 1
if [ $((0$mode & 06)) -ne 6 ]; then
	trap 'chmod "$mode" /dev/fuse; rm -rf "$U"' EXIT
	trap 'exit 1' INT TERM HUP
	chmod o+rw /dev/fuse || exit 1
fi
run_all "$@"
