#!/bin/sh
# The cost of stat(2) against the number of readers of a topic (#15 item
# 13): for each count, mounts a fresh volume, appends a few records to one
# topic, makes a cursor, and runs bench/statcost (READERS open descriptors
# of tail, then ROUNDS stat(2) of tail by name, fstat(2) of one of them, and
# stat(2) of the cursor).
#   sh bench/stat.sh BUILD [COUNT...]     (default 0 1000 15000)
# ROUNDS (default 20000) sets the calls timed per figure.
set -eu
BUILD=${1:-build}
[ $# -ge 1 ] && shift
COUNTS=${*:-0 1000 15000}
ROUNDS=${ROUNDS:-20000}
B=$(cd "$BUILD" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/lfs-stat.XXXXXX")
DPID=""
cleanup() {
	if [ -n "$DPID" ]; then
		fusermount3 -u "$W/mnt" 2>/dev/null || true
		kill "$DPID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/mnt"
# Each reader is a descriptor of the daemon's too (none: a reader holds no
# file), and one of this shell's children.
ulimit -n "$(ulimit -Hn)"

for n in $COUNTS; do
	rm -rf "$W/vol"
	"$B/mkfs.logfs" -q "$W/vol"
	out=$(MOUNTWAIT_LOG=$W/daemon.log "$B/bench/mountwait" "$W/mnt" 60 "$B/logfs" "$W/vol" "$W/mnt" -f)
	DPID=${out% *}
	mkdir "$W/mnt/t"
	seq 1 1000 >"$W/mnt/t/tail"
	touch "$W/mnt/t/cursors/c"
	"$B/bench/statcost" "$W/mnt/t" "$n" "$ROUNDS" "$W/mnt/t/cursors/c"
	fusermount3 -u "$W/mnt"
	while kill -0 "$DPID" 2>/dev/null; do sleep 0.05; done
	DPID=""
done
