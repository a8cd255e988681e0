#!/bin/sh
# Many topics (#15 item 11): for each count, makes a volume of that many
# topics with one record each (bench/mktopics.c, through the core), mounts
# it, and prints how long the mount took to answer, the daemon's resident
# memory, its open descriptors and its mappings; then reads one topic and
# lists the mount, and makes one topic more, through the mount.
#   sh bench/topics.sh BUILD [COUNT...]     (default 100 10000 100000)
# Volumes go under $BENCH_DIR or $TMPDIR (default /var/tmp; a tmpfs such as /dev/shm keeps
# the making quick: each topic's creation is made durable).
set -eu
BUILD=${1:-build}
[ $# -ge 1 ] && shift
COUNTS=${*:-100 10000 100000}
B=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/lib.sh"
bench_init topics
mkdir -p "$W/mnt"

printf '%-8s %10s %10s %10s %8s %8s %10s %10s\n' topics make_s mount_ms rss_kib fds maps ls_ms mkdir_ms
for n in $COUNTS; do
	rm -rf "$W/vol"
	"$B/mkfs.logfs" -q "$W/vol"
	made=$("$B/bench/mktopics" "$W/vol" "$n")
	# Dropped from the page cache? No: a remount's figure, the daemon's
	# work, not the disk's.
	bench_mount "$W/vol" "$W/mnt"
	ms=$MOUNT_MS
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status")
	fds=$(ls "/proc/$DPID/fd" | wc -l)
	maps=$(wc -l <"/proc/$DPID/maps")
	last=$(printf 't%07d' $((n - 1)))
	got=$(cat "$W/mnt/$last/tail")
	[ "$got" = "topic $((n - 1))" ] || { echo "topics: $last/tail reads '$got'" >&2; exit 1; }
	t0=$(date +%s%N)
	listed=$(ls "$W/mnt" | wc -l)
	t1=$(date +%s%N)
	[ "$listed" -eq "$n" ] || { echo "topics: the mount lists $listed topics, not $n" >&2; exit 1; }
	mkdir "$W/mnt/extra"
	t2=$(date +%s%N)
	printf '%-8s %10s %10s %10s %8s %8s %10s %10s\n' "$n" "${made#* }" "$ms" "$rss" "$fds" "$maps" \
		$(((t1 - t0) / 1000000)) $(((t2 - t1) / 1000000))
	bench_unmount "$W/mnt"
done
