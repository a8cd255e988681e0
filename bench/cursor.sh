#!/bin/sh
# Consumer cursor benchmarks (docs/BENCHMARKS.md, "Consumer cursors"):
#   - read throughput through a cursor against the same @N view (bench/cursor -t);
#   - close(2) latency of a cursor (a commit) against @N's, next to one
#     pwrite + fdatasync on the backing filesystem (bench/cursor -c);
#   - mount time of a volume with 1000 cursors on each of 10 topics against
#     the same volume without them (bench/mountwait, median of ROUNDS).
# Run as root after `make all build/bench/cursor build/bench/mountwait`:
#   sh bench/cursor.sh [BUILD] [DATA_MB] [ROUNDS]
set -eu
B=${1:-build}
MB=${2:-256}
ROUNDS=${3:-7}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/lfs-cursor-bench.XXXXXX")
M=$W/mnt
trap 'fusermount3 -u "$M" 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$M"
"$B/mkfs.logfs" -q "$W/vol"

mount_vol() {
	set -- $(MOUNTWAIT_LOG="$W/daemon.log" "$B/bench/mountwait" "$M" 60 "$B/logfs" "$W/vol" "$M" -f)
	DPID=$1
	echo "$2"
}
umount_vol() {
	fusermount3 -u "$M"
	while kill -0 "$DPID" 2>/dev/null; do sleep 0.05; done
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

mount_vol >/dev/null
mkdir "$M/app"
# DATA_MB of 100-byte lines, in 1 MiB writes.
head -c $((MB * 1024 * 1024)) /dev/zero | tr '\0' 'x' | fold -w 99 >"$W/data"
dd if="$W/data" of="$M/app/tail" bs=1M status=none
echo "# data: $MB MiB of 100-byte records"
"$B/bench/cursor" -t "$M/app"
"$B/bench/cursor" -c 200 "$M/app" "$W/syncfile"

# Mount time: 10 topics, then 1000 cursors on each.
for t in 0 1 2 3 4 5 6 7 8 9; do
	mkdir "$M/t$t"
	echo x >"$M/t$t/tail"
done
umount_vol
none=""
i=0
while [ $i -lt "$ROUNDS" ]; do
	none="$none $(mount_vol)"
	umount_vol
	i=$((i + 1))
done
mount_vol >/dev/null
for t in 0 1 2 3 4 5 6 7 8 9; do
	(cd "$M/t$t/cursors" && seq -f 'c%04g' 1 1000 | xargs touch)
done
umount_vol
with=""
i=0
while [ $i -lt "$ROUNDS" ]; do
	with="$with $(mount_vol)"
	umount_vol
	i=$((i + 1))
done
echo "mount_ms_no_cursors=$(echo $none | tr ' ' '\n' | median)"
echo "mount_ms_10x1000_cursors=$(echo $with | tr ' ' '\n' | median)"
