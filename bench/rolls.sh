#!/bin/sh
# Many rolls (#15 items 10 and 11): one topic of 4 KiB segments rolls at
# every write (bench/rolls.c writes 4096 bytes of 64 records each time)
# while retention keeps KEEP sealed segments; at each point (a number of
# rolls) prints the time so far, the rate since the last point, the
# daemon's resident memory, its mappings (/proc/PID/maps lines) and open
# descriptors, the topic's segments, and checks the data: the first
# retained record, the last one, and ten sampled between them, each read
# through TOPIC/@N. At the end it unmounts, mounts again (how long that
# takes with that many sealed segments) and checks the data once more.
#   sh bench/rolls.sh BUILD [KEEP [POINT...]]   (default 100000 and
#                                                10000 100000 1000000)
# Volumes go under $BENCH_DIR or $TMPDIR (default /var/tmp); a tmpfs such
# as /dev/shm keeps the disk out of the figures (each roll makes files).
# KEEP sealed segments of 4 KiB take KEEP * 8 KiB or so (data and index).
set -eu
BUILD=${1:-build}
[ $# -ge 1 ] && shift
KEEP=${1:-100000}
[ $# -ge 1 ] && shift
POINTS=${*:-10000 100000 1000000}
B=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/lib.sh"
bench_init rolls
mkdir -p "$W/mnt"
"$B/mkfs.logfs" -q "$W/vol"
bench_mount "$W/vol" "$W/mnt" -o segment_size=4K
D=$W/mnt/t
mkdir "$D"
# Retention keeps KEEP sealed segments and the active one, all full.
setfattr -n user.logfs.retention_bytes -v $(((KEEP + 1) * 4096)) "$D"

xattr() { getfattr --absolute-names --only-values -n "user.logfs.$1" "$D"; }
# check: the first retained record, the last one and ten between.
check() {
	first=$(xattr first_offset)
	next=$(xattr next_offset)
	set -- "$first" $((next - 1))
	for i in 1 2 3 4 5 6 7 8 9 10; do
		set -- "$@" $((first + (next - first) * i / 11 + i))
	done
	"$B/bench/rolls" check "$D" "$@"
}
figures() {
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status")
	maps=$(wc -l <"/proc/$DPID/maps")
	fds=$(ls "/proc/$DPID/fd" | wc -l)
}

printf '%-9s %9s %9s %9s %7s %6s %9s %s\n' rolls elapsed_s rolls/s rss_kib maps fds segments data
writes=0
start=$(date +%s%N)
last=$start
for p in $POINTS; do
	# Write number w rolls for every w > 0: p rolls take p + 1 writes.
	n=$((p + 1 - writes))
	"$B/bench/rolls" write "$D/tail" "$writes" "$n"
	writes=$((p + 1))
	now=$(date +%s%N)
	figures
	segs=$(xattr segments)
	# Checked after the figures (the reads map segments of their own).
	if check; then data=ok; else data=BAD; fi
	printf '%-9s %9s %9s %9s %7s %6s %9s %s\n' "$p" $(((now - start) / 1000000000)) \
		$((n * 1000000000 / (now - last))) "$rss" "$maps" "$fds" "$segs" "$data"
	[ "$data" = ok ] || exit 1
	last=$(date +%s%N)
done
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DPID/status")
echo "peak RSS ${hwm} KiB"
bench_unmount "$W/mnt"
bench_mount "$W/vol" "$W/mnt"
figures
if check; then data=ok; else data=BAD; fi
echo "remount with $(xattr segments) segments: ${MOUNT_MS} ms, RSS ${rss} KiB, ${maps} maps, ${fds} fds, data $data"
# Unmounted here, not by the cleanup: it would remove the volume while the
# daemon still writes its summary.
bench_unmount "$W/mnt"
[ "$data" = ok ]
