#!/bin/sh
# Producers of one topic sharing commit rounds however they open `tail`
# (docs/DESIGN.md, "One inode per open"), against the backing ext4, and the
# cost of a single writer against libfuse's passthrough_ll.
#   sh bench/group_commit.sh BUILD [ROUNDS] [SECONDS]
# Needs root and `make bench` (build/bench/appender, mountwait,
# passthrough_ll from bench/run.sh). Every round runs each case once, in
# turn, so the ratios compare cases of the same moments; prints each case's
# rounds, their median, and the ratios of the medians:
#   ext4-1-fdatasync     one writer, write + fdatasync, 100 B, on ext4
#   logfs-always-16      16 O_APPEND writers, 100 B, sync=always topic
#   logfs-16-fdatasync   16 O_APPEND writers, write + fdatasync each,
#                        sync=never topic (the fsyncs make it durable)
#   passthrough_ll-1     one writer, 100 B appends, passthrough_ll
#   logfs-never-1        one writer, 100 B appends, sync=never topic
set -u
BUILD=${1:-build}
ROUNDS=${2:-5}
SECS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
B=$BUILD/bench
W=${BENCH_DIR:-$ROOT/bench/out/gc}
die() { echo "group_commit: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
for p in appender mountwait passthrough_ll; do [ -x "$B/$p" ] || die "$B/$p missing (make bench)"; done
rm -rf "$W"
mkdir -p "$W/ext" "$W/ptsrc" "$W/lm" "$W/pm"
"$B/core_bench" mkfs "$W/vol" >/dev/null 2>&1 || "$BUILD/mkfs.logfs" -q "$W/vol" || die mkfs
LPID=$("$B/mountwait" "$W/lm" 60 "$BUILD/logfs" -f "$W/vol" "$W/lm" -o sync=never) || die "mount logfs"
LPID=${LPID% *}
PPID_=$("$B/mountwait" "$W/pm" 60 "$B/passthrough_ll" -f -o source="$W/ptsrc" "$W/pm") || die "mount passthrough_ll"
PPID_=${PPID_% *}
cleanup()
{
	fusermount3 -u "$W/lm" 2>/dev/null
	fusermount3 -u "$W/pm" 2>/dev/null
	while kill -0 "$LPID" 2>/dev/null || kill -0 "$PPID_" 2>/dev/null; do sleep 0.1; done
	rm -rf "$W"
}
trap cleanup EXIT

N=0
# run CASE: one round of CASE; prints records/s.
run()
{
	N=$((N + 1))
	case $1 in
	ext4-1-fdatasync) "$B/appender" -s 100 -w 1 -t "$SECS" -f "$W/ext/f$N" ;;
	passthrough_ll-1) "$B/appender" -s 100 -w 1 -t "$SECS" -b 256M "$W/pm/f$N" ;;
	logfs-*)
		mkdir "$W/lm/t$N"
		case $1 in
		logfs-always-16)
			setfattr -n user.logfs.sync -v always "$W/lm/t$N"
			"$B/appender" -s 100 -w 16 -t "$SECS" "$W/lm/t$N/tail" ;;
		logfs-16-fdatasync) "$B/appender" -s 100 -w 16 -t "$SECS" -f "$W/lm/t$N/tail" ;;
		logfs-never-1) "$B/appender" -s 100 -w 1 -t "$SECS" -b 256M "$W/lm/t$N/tail" ;;
		esac
		;;
	esac | awk '$2 == "appends" { print $3 }'
	rm -f "$W/ext/f$N" "$W/pm/f$N"
	[ -d "$W/lm/t$N" ] && rmdir "$W/lm/t$N"
}

CASES="ext4-1-fdatasync logfs-always-16 logfs-16-fdatasync passthrough_ll-1 logfs-never-1"
r=0
while [ $r -lt "$ROUNDS" ]; do
	for c in $CASES; do
		v=$(run "$c")
		[ -n "$v" ] || die "$c failed"
		echo "$c $v" >>"$W/raw"
	done
	r=$((r + 1))
done
median() { grep "^$1 " "$W/raw" | cut -d' ' -f2 | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for c in $CASES; do
	printf '%-20s median %8.0f rec/s   rounds: %s\n' "$c" "$(median "$c")" "$(grep "^$c " "$W/raw" | cut -d' ' -f2 | tr '\n' ' ')"
done
e=$(median ext4-1-fdatasync)
awk -v a="$(median logfs-always-16)" -v f="$(median logfs-16-fdatasync)" -v e="$e" \
	-v p="$(median passthrough_ll-1)" -v l="$(median logfs-never-1)" 'BEGIN {
	printf "16 O_APPEND writers, sync=always / ext4 write+fdatasync:   %.2fx\n", a / e
	printf "16 O_APPEND writers, write+fdatasync / ext4 same, 1 writer: %.2fx\n", f / e
	printf "1 writer, 100 B appends, logfs / passthrough_ll:            %.2fx\n", l / p
}'
