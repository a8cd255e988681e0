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
. "$(dirname "$0")/lib.sh"
bench_init stat
mkdir -p "$W/mnt"
# Each reader is a descriptor of the daemon's too (none: a reader holds no
# file), and one of this shell's children.
ulimit -n "$(ulimit -Hn)"

for n in $COUNTS; do
	rm -rf "$W/vol"
	"$B/mkfs.logfs" -q "$W/vol"
	bench_mount "$W/vol" "$W/mnt"
	mkdir "$W/mnt/t"
	seq 1 1000 >"$W/mnt/t/tail"
	touch "$W/mnt/t/cursors/c"
	"$B/bench/statcost" "$W/mnt/t" "$n" "$ROUNDS" "$W/mnt/t/cursors/c"
	bench_unmount "$W/mnt"
done
