#!/bin/sh
# Sustained ingest (docs/BENCHMARKS.md, "Sustained ingest"): WRITERS writers
# append MB MiB each of 100 B lines to one topic through the mount, in
# 128 KiB writes (build/bench/ingest), then one fsync(2); against the same on
# the backing ext4: WRITERS writers appending to one file with O_APPEND,
# then fsync. The time runs from the writers' start to the fsync's return.
# ROUNDS rounds; the side that goes first alternates. Each side starts the
# same way: an empty topic (a fresh volume, mounted with the defaults) or an
# empty file, then `sync`, so that neither pays for the other's writeback
# at its start; both sides' data stay until the round ends, then both go.
# Medians. Run as root after `make all build/bench/ingest build/bench/mountwait`:
#   sh bench/ingest.sh [BUILD] [MB_PER_WRITER] [ROUNDS] [WRITERS]
set -eu
B=${1:-build}
MB=${2:-256}
ROUNDS=${3:-3}
WRITERS=${4:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/bench/out/work}
mkdir -p "$BENCH_DIR"
. "$ROOT/bench/lib.sh"
bench_init ingest
M=$W/mnt
mkdir -p "$M"
val() { sed -n "s/^RESULT $1 \([^ ]*\) .*/\1/p" "$2"; }

logfs_side() { # round
	"$B/mkfs.logfs" -q "$W/vol$1"
	bench_mount "$W/vol$1" "$M"
	mkdir "$M/t"
	sync
	"$B/bench/ingest" -w "$WRITERS" -b "${MB}M" "$M/t/tail" >"$W/out"
	cat "$W/out" >>"$W/logfs.all"
	LMB="$LMB $(val ingest_mb "$W/out")"
	LFS="$LFS $(val fsync_ms "$W/out")"
	bench_unmount "$M"
}
ext4_side() { # round
	: >"$W/ext$1"
	sync
	"$B/bench/ingest" -w "$WRITERS" -b "${MB}M" "$W/ext$1" >"$W/out"
	cat "$W/out" >>"$W/ext4.all"
	EMB="$EMB $(val ingest_mb "$W/out")"
	EFS="$EFS $(val fsync_ms "$W/out")"
}

echo "# sustained ingest: $WRITERS writers x $MB MiB of 100 B lines, then fsync; $ROUNDS rounds"
echo "# load at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
LMB="" EMB="" LFS="" EFS=""
r=0
while [ $r -lt "$ROUNDS" ]; do
	if [ $((r % 2)) = 0 ]; then
		logfs_side $r
		ext4_side $r
	else
		ext4_side $r
		logfs_side $r
	fi
	echo "# round $r: logfs $(echo $LMB | awk '{print $NF}') MB/s, ext4 $(echo $EMB | awk '{print $NF}') MB/s"
	rm -rf "$W/vol$r" "$W/ext$r"
	r=$((r + 1))
done
lm=$(echo $LMB | tr ' ' '\n' | median)
em=$(echo $EMB | tr ' ' '\n' | median)
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "RESULT logfs_mb $lm MB/s (runs:$LMB; final fsync ms:$LFS)"
echo "RESULT ext4_mb $em MB/s (runs:$EMB; final fsync ms:$EFS)"
echo "RESULT ratio $(awk -v a="$lm" -v b="$em" 'BEGIN { printf "%.2f", a / b }') x"
