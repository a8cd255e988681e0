#!/bin/sh
# Installs, with apt-get, whatever logfs needs to build and test that is not
# there yet. Does nothing (and needs no network) when everything is present.
set -eu

# nginx and apache2-utils (ab): the daemon-on-a-log test (mount_nginx.sh).
# python3: producers and followers written with its logging and io; strace:
# counting commit rounds (mount_inode.sh).
PKGS="python3 strace gcc make pkg-config libfuse3-dev fuse3 liburing-dev libcmocka-dev attr less tmux util-linux procps psmisc libnats-dev nats-server nginx apache2-utils"
if [ "${1:-}" = "--bench" ]; then
	PKGS="$PKGS gnuplot-nox hyperfine"
fi
if [ "${1:-}" = "--fuzz" ]; then # make fuzz: clang with libFuzzer
	PKGS="$PKGS clang libclang-rt-14-dev"
fi

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Packages with a service (nginx) are installed for the tests, which start
# their own instances: RUNLEVEL=1 tells invoke-rc.d not to start them.
export RUNLEVEL=1
apt-get update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
