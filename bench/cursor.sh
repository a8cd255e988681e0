#!/bin/sh
# Consumer cursor benchmarks (docs/BENCHMARKS.md, "Consumer cursors"):
#   - read throughput through a cursor against the same @N view (bench/cursor -t);
#   - close(2) latency of a cursor (a commit) against @N's, next to one
#     pwrite + fdatasync on the backing filesystem (bench/cursor -c);
#   - mount time of a volume with 1000 cursors on each of 10 topics against
#     a copy of it without them, mounted in alternation (bench/mountwait,
#     medians of ROUNDS each), and the daemon's CPU time until it answered.
# Run as root after `make all build/bench/cursor build/bench/mountwait`:
#   sh bench/cursor.sh [BUILD] [DATA_MB] [ROUNDS]
set -eu
B=${1:-build}
MB=${2:-256}
ROUNDS=${3:-7}
. "$(dirname "$0")/lib.sh"
bench_init cursor-bench
M=$W/mnt
mkdir -p "$M"
"$B/mkfs.logfs" -q "$W/vol"

VOL=$W/vol
mount_vol() {
	bench_mount "$VOL" "$M"
	MS=$MOUNT_MS
}
umount_vol() { bench_unmount "$M"; }

mount_vol
mkdir "$M/app"
# DATA_MB of 100-byte lines, in 1 MiB writes.
head -c $((MB * 1024 * 1024)) /dev/zero | tr '\0' 'x' | fold -w 99 >"$W/data"
dd if="$W/data" of="$M/app/tail" bs=1M status=none
echo "# data: $MB MiB of 100-byte records"
"$B/bench/cursor" -t "$M/app"
"$B/bench/cursor" -c 200 "$M/app" "$W/syncfile"

# Mount time: 10 topics, then a copy of the volume without cursors and
# 1000 cursors on each topic of the original. The two volumes are mounted
# in alternation, after a sync, so that both see the same load and neither
# pays for the writeback of the 10000 cursor creations.
for t in 0 1 2 3 4 5 6 7 8 9; do
	mkdir "$M/t$t"
	echo x >"$M/t$t/tail"
done
umount_vol
cp -a "$W/vol" "$W/vol0"
mount_vol
for t in 0 1 2 3 4 5 6 7 8 9; do
	(cd "$M/t$t/cursors" && seq -f 'c%04g' 1 1000 | xargs touch)
done
umount_vol
sync
# The daemon's CPU time until its mount answered, in ms (all its threads).
daemon_cpu_ms() {
	cat /proc/"$DPID"/task/*/schedstat | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }'
}
none=""
with=""
cnone=""
cwith=""
i=0
while [ $i -lt "$ROUNDS" ]; do
	VOL=$W/vol0
	mount_vol
	none="$none $MS"
	cnone="$cnone $(daemon_cpu_ms)"
	umount_vol
	VOL=$W/vol
	mount_vol
	with="$with $MS"
	cwith="$cwith $(daemon_cpu_ms)"
	umount_vol
	i=$((i + 1))
done
none=$(echo $none | tr ' ' '\n' | median)
with=$(echo $with | tr ' ' '\n' | median)
echo "mount_ms_no_cursors=$none"
echo "mount_ms_10x1000_cursors=$with"
echo "mount_with_over_without=$(echo "$with $none" | awk '{ printf "%.2f", $1 / $2 }')"
echo "daemon_cpu_ms_at_mount_no_cursors=$(echo $cnone | tr ' ' '\n' | median)"
echo "daemon_cpu_ms_at_mount_10x1000_cursors=$(echo $cwith | tr ' ' '\n' | median)"
