#!/bin/sh
# What Nats-Expected-Last-Sequence costs the cluster (docs/BENCHMARKS.md,
# "Mirror"): bench/mirror_pub publishes N 100 B messages with the mirror's
# headers into a new R3 stream of a three-node loopback cluster started
# here, without and with that header (MIRROR_PUB_EXPECT=1), and, with the
# header, into one stream that keeps the messages of every earlier round
# (as the mirror's one stream per topic does; its deduplication window, 2
# min, then holds their ids), in alternating rounds; medians of ROUNDS of
# its rate and of the servers' CPU per message (user + system, from /proc),
# and the ratios to the first kind.
# Run after `make build/bench/mirror_pub build/tests/tools/nats_tool`:
#   sh bench/mirror_headers.sh [BUILD] [N] [ROUNDS]
set -eu
B=${1:-build}
N=${2:-100000}
ROUNDS=${3:-5}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/lfs-mirror-hdr.XXXXXX")
PIDS=""
cleanup()
{
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
med() { echo $1 | tr ' ' '\n' | median; }
cpu_ms() { # PIDS... -> their CPU time, ms
	for p in "$@"; do cat /proc/"$p"/stat; done |
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); s += $12 + $13 } END { printf "%.0f", s * 1000 / hz }'
}
. "$(dirname "$0")/mirror_cluster.sh"

# round KIND EXPECT: one publisher run into a new stream (KIND same: into
# stream SAME, after the messages of its earlier rounds).
same_first=0
round()
{
	s0=$(cpu_ms $PIDS)
	if [ "$1" = same ]; then
		r=$(MIRROR_PUB_EXPECT=1 MIRROR_PUB_FIRST=$same_first "$B/bench/mirror_pub" "$URL" SAME same.x 3 "$N" 100)
		same_first=$((same_first + N))
	else
		r=$(MIRROR_PUB_EXPECT=$2 "$B/bench/mirror_pub" "$URL" "$1$i" "$1$i.x" 3 "$N" 100)
	fi
	s1=$(cpu_ms $PIDS)
	eval "$1=\"\$$1 $r\""
	eval "$1_s=\"\$$1_s $(echo "$s0 $s1 $N" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / $3 }')\""
}
plain="" plain_s="" expect="" expect_s="" same="" same_s=""
i=0
while [ $i -lt "$ROUNDS" ]; do
	case $((i % 3)) in
	0) round plain 0; round expect 1; round same 1 ;;
	1) round expect 1; round same 1; round plain 0 ;;
	2) round same 1; round plain 0; round expect 1 ;;
	esac
	i=$((i + 1))
done
echo "# rounds plain: $plain / servers us: $plain_s"
echo "# rounds expect: $expect / servers us: $expect_s"
echo "publisher_msgs_per_s_plain $(med "$plain")"
echo "publisher_msgs_per_s_expected_last_seq $(med "$expect")"
echo "servers_cpu_us_per_msg_plain $(med "$plain_s")"
echo "servers_cpu_us_per_msg_expected_last_seq $(med "$expect_s")"
echo "# rounds same: $same / servers us: $same_s"
echo "publisher_msgs_per_s_one_stream $(med "$same")"
echo "servers_cpu_us_per_msg_one_stream $(med "$same_s")"
echo "rate_one_stream_over_plain $(echo "$(med "$same") $(med "$plain")" | awk '{ printf "%.2f", $1 / $2 }')"
echo "rate_one_stream_over_expect $(echo "$(med "$same") $(med "$expect")" | awk '{ printf "%.2f", $1 / $2 }')"
echo "rate_expect_over_plain $(echo "$(med "$expect") $(med "$plain")" | awk '{ printf "%.2f", $1 / $2 }')"
echo "servers_cpu_expect_over_plain $(echo "$(med "$expect_s") $(med "$plain_s")" | awk '{ printf "%.2f", $1 / $2 }')"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
