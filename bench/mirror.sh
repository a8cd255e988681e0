#!/bin/sh
# The mirror into NATS JetStream (docs/BENCHMARKS.md, "Mirror"), on a
# three-node JetStream cluster on loopback started here, R3 streams:
#   - throughput of 100-byte records: the mirror catching up on N records
#     against bench/mirror_pub, a plain libnats program publishing the same
#     messages asynchronously with the same window (the client-side limit),
#     in alternating rounds (medians of ROUNDS);
#   - the time from an append's return to its acknowledgement by the
#     stream, p50 and p99 (bench/mirror_lat -l);
#   - producers' append throughput with the mirror on against off
#     (bench/mirror_lat -p, median of ROUNDS; an on round starts with the
#     mirror caught up), and the CPU time the daemon, its mirror threads
#     (named lfs-mirror, libnats' among them) and the servers spend per
#     record.
# The producer rounds alternate four ways: mirror off, mirror on, mirror
# on with the servers at the lowest CPU priority (autogroup nice 19 and
# nice 19 on each of their threads), standing in for a cluster on other
# machines (on this one the three servers' CPU per record is several times
# the daemon's, and at equal priority it comes out of the producer's
# CPUs), and, as a control, mirror off beside one busy loop at that lowest
# priority in a session of its own: what any other work on the machine,
# however low its priority, costs a producer that waits for each write.
# MIRROR_IDLE=1: they also alternate with rounds where the servers' threads,
# then the servers' and the mirror's, run under SCHED_IDLE.
# MIRROR_PIN=1: and with rounds, mirror on and off, where the servers run on
# CPU 1 and the daemon and the producer on CPU 0 (a cluster elsewhere).
# MIRROR_NICE=N: the producer rounds also alternate with rounds where the
# mirror's threads run at nice N (set from here on their thread ids), to
# measure what a lower priority gives (docs/BENCHMARKS.md).
# The servers run in sessions of their own (setsid), as services started by
# an init system do: with the kernel's autogroup scheduling (on here) each
# session is one group sharing the CPUs fairly with the others, so the
# servers' CPU does not come out of the producer's share the way it would
# if they were in its session. MIRROR_SETSID=0 leaves them in the script's
# session, the producer's (what earlier runs measured).
# Run as root after `make all build/bench/mirror_pub build/bench/mirror_lat
# build/tests/tools/nats_tool`:
#   sh bench/mirror.sh [BUILD] [N] [ROUNDS]
set -eu
B=${1:-build}
N=${2:-200000}
ROUNDS=${3:-5}
W=$(mktemp -d "${TMPDIR:-/var/tmp}/lfs-mirror-bench.XXXXXX")
M=$W/mnt
PIDS=""
DPID=""
BURNER=""
cleanup()
{
	fusermount3 -u "$M" 2>/dev/null || true
	# The daemon writes its clean state after the unmount: let it finish
	# before its volume goes.
	n=0
	while [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	for p in $PIDS $BURNER; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The cluster.
. "$(dirname "$0")/mirror_cluster.sh"

# The daemon, with one topic.
mkdir -p "$M"
"$B/mkfs.logfs" -q "$W/vol"
"$B/logfs" "$W/vol" "$M" -o "mirror=$URLS,mirror_replicas=3"
mkdir "$M/bench"
yes "$(printf '%099d' 0 | tr 0 x)" | head -n "$N" >"$W/data"
DPID=$(for p in $(pgrep -x logfs); do
	cat "/proc/$p/cmdline" 2>/dev/null | tr '\0' ' ' | grep -q -- "$W/vol" && echo "$p"; done | head -n 1)
cpu_ms() { # PIDS... -> their CPU time, ms (user + system, threads that ended included)
	for p in "$@"; do cat /proc/"$p"/stat; done |
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); s += $12 + $13 } END { printf "%.0f", s * 1000 / hz }'
}
mirror_cpu_ms() { # the daemon's mirror threads (named lfs-mirror, libnats' included), ms
	cat /proc/"$DPID"/task/*/stat 2>/dev/null |
		awk -v hz="$(getconf CLK_TCK)" '/\(lfs-mirror\)/ { sub(/.*\) /, ""); s += $12 + $13 }
			END { printf "%.0f", s * 1000 / hz }'
}
caught_up() {
	until [ "$(getfattr --only-values -n user.logfs.mirror_lag "$M/bench" 2>/dev/null)" = 0 ]; do
		sleep 0.01
	done
}
med() { echo $1 | tr ' ' '\n' | median; }
over() { echo "$(med "$1") $(med "$2")" | awk '{ printf "%.2f", $1 / $2 }'; } # A's median over B's

# Throughput, in alternating rounds: the reference (a plain async
# publisher, N messages with new ids into its one stream), then the mirror
# catching up on N records appended while it was off (into its one
# stream): both streams hold the earlier rounds' messages, and their ids
# are within the deduplication window.
ref="" ref_c="" ref_s="" mir="" mir_d="" mir_m="" mir_s=""
i=0
while [ $i -lt "$ROUNDS" ] || [ $i -eq 0 ]; do
	s0=$(cpu_ms $PIDS)
	r=$(MIRROR_PUB_FIRST=$((i * N)) /usr/bin/time -f "%U %S" -o "$W/pubtime" \
		"$B/bench/mirror_pub" "$URL" REF ref.x 3 "$N" 100)
	s1=$(cpu_ms $PIDS)
	ref="$ref $r"
	ref_s="$ref_s $(echo "$s0 $s1 $N" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / $3 }')"
	ref_c="$ref_c $(awk -v n="$N" '{ printf "%.1f", ($1 + $2) * 1e6 / n }' "$W/pubtime")"
	[ $i -eq 0 ] || setfattr -n user.logfs.mirror -v "" "$M/bench"
	dd if="$W/data" of="$M/bench/tail" bs=1M status=none
	c0=$(cpu_ms "$DPID") s0=$(cpu_ms $PIDS) m0=$(mirror_cpu_ms)
	secs=$("$B/bench/mirror_lat" -c "$M/bench" MIR)
	c1=$(cpu_ms "$DPID") s1=$(cpu_ms $PIDS) m1=$(mirror_cpu_ms)
	mir="$mir $(echo "$N $secs" | awk '{ printf "%.0f", $1 / $2 }')"
	mir_d="$mir_d $(echo "$c0 $c1 $N" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / $3 }')"
	mir_m="$mir_m $(echo "$m0 $m1 $N" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / $3 }')"
	mir_s="$mir_s $(echo "$s0 $s1 $N" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / $3 }')"
	i=$((i + 1))
done
echo "reference_publisher_msgs_per_s $(med "$ref")"
echo "reference_publisher_cpu_us_per_msg $(med "$ref_c")"
echo "reference_servers_cpu_us_per_msg $(med "$ref_s")"
echo "mirror_msgs_per_s $(med "$mir")"
echo "mirror_daemon_cpu_us_per_msg $(med "$mir_d")"
echo "mirror_threads_cpu_us_per_msg $(med "$mir_m")"
echo "mirror_servers_cpu_us_per_msg $(med "$mir_s")"
echo "# rounds reference: $ref / mirror: $mir"
echo "mirror_over_reference $(over "$mir" "$ref")"

# Append -> acknowledgement latency.
set -- $("$B/bench/mirror_lat" -l "$M/bench" 2000)
echo "ack_latency_us_p50 $1"
echo "ack_latency_us_p99 $2"

# Producers with the mirror on and off (alternating rounds). An on round
# starts once the mirror has caught up (lag 0): otherwise it would pay for
# the backlog the off round before it left. The CPU time the daemon and the
# three servers spend per appended record (from /proc, all threads) is
# what bounds the ratio on a machine that runs them all.
# round VAR: one producer run; appends its rate to VAR, and the daemon's,
# its mirror threads' and the servers' CPU microseconds per record to
# VAR_d, VAR_m and VAR_s. An on (and pin_on) round's figures include the mirror's
# catching up after the producer stops; the others' do not (off and busy
# have the mirror off; far's servers are still at nice 19, where they may
# not catch up at all on a loaded machine: far catches up after its
# figures, at normal priority).
round() {
	d0=$(cpu_ms "$DPID") s0=$(cpu_ms $PIDS) m0=$(mirror_cpu_ms)
	r=$($PRODUCER_CPU "$B/bench/mirror_lat" -p "$M/bench" 3)
	[ "$1" != on ] && [ "$1" != pin_on ] || caught_up
	d1=$(cpu_ms "$DPID") s1=$(cpu_ms $PIDS) m1=$(mirror_cpu_ms)
	eval "$1=\"\$$1 $r\""
	eval "$1_m=\"\$$1_m $(echo "$m0 $m1 $r" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / ($3 * 3) }')\""
	eval "$1_d=\"\$$1_d $(echo "$d0 $d1 $r" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / ($3 * 3) }')\""
	eval "$1_s=\"\$$1_s $(echo "$s0 $s1 $r" | awk '{ printf "%.1f", ($2 - $1) * 1e3 / ($3 * 3) }')\""
}
# mirror_nice N: sets the nice value of the mirror's threads.
# mirror_tids: the thread ids of the daemon's mirror threads (lfs-mirror).
mirror_tids() {
	for t in /proc/"$DPID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = lfs-mirror ] && echo "${t##*/}"
	done
	return 0
}
mirror_nice() {
	for t in $(mirror_tids); do renice -n "$1" -p "$t" >/dev/null; done
	return 0
}
# idle_policy other|idle [mirror]: the scheduling policy of the servers'
# threads, and with "mirror" of the mirror's too (SCHED_IDLE: a waking
# thread of any other policy preempts them at once, where nice 19 only
# lowers their share).
idle_policy() {
	_m=""
	[ "${2:-}" != mirror ] || _m=$(mirror_tids)
	for t in $(for p in $PIDS; do ls /proc/"$p"/task; done) $_m; do
		if [ "$1" = idle ]; then chrt -i -p 0 "$t"; else chrt -o -p 0 "$t"; fi
	done
	return 0
}
# pin on|off: with on, the servers' threads run on CPU 1 only and the
# daemon's and the producer's on CPU 0 only (PRODUCER_CPU), as if the
# cluster ran on another machine and the producer's had one CPU; off lets
# every thread run anywhere again.
PRODUCER_CPU=""
pin() {
	_all=0-$(($(nproc) - 1))
	if [ "$1" = on ]; then
		for p in $PIDS; do taskset -a -p -c 1 "$p" >/dev/null; done
		taskset -a -p -c 0 "$DPID" >/dev/null
		PRODUCER_CPU="taskset -c 0"
	else
		for p in $PIDS "$DPID"; do taskset -a -p -c "$_all" "$p" >/dev/null; done
		PRODUCER_CPU=""
	fi
}
# servers_nice N: the servers' CPU priority, their session's and threads'.
servers_nice() {
	for p in $PIDS; do
		echo "$1" >/proc/"$p"/autogroup 2>/dev/null || true
		for t in /proc/"$p"/task/*; do renice -n "$1" -p "${t##*/}" >/dev/null; done
	done
	return 0
}
far="" far_d="" far_m="" far_s=""
busy="" busy_d="" busy_m="" busy_s=""
BURNER=""
on=""
off=""
on_d=""
on_m=""
on_s=""
off_d=""
off_s=""
off_m=""
nice_r="" nice_r_d="" nice_r_m="" nice_r_s=""
idle_s="" idle_s_d="" idle_s_m="" idle_s_s=""
pin_on="" pin_on_d="" pin_on_m="" pin_on_s=""
pin_off="" pin_off_d="" pin_off_m="" pin_off_s=""
idle_r="" idle_r_d="" idle_r_m="" idle_r_s=""
i=0
while [ $i -lt "$ROUNDS" ]; do
	caught_up
	round on
	if [ -n "${MIRROR_NICE:-}" ]; then
		mirror_nice "$MIRROR_NICE"
		round nice_r
		mirror_nice 0
		caught_up
	fi
	if [ -n "${MIRROR_IDLE:-}" ]; then
		idle_policy idle
		round idle_s
		idle_policy other
		caught_up
		idle_policy idle mirror
		round idle_r
		idle_policy other mirror
		caught_up
	fi
	if [ -n "${MIRROR_PIN:-}" ]; then
		pin on
		round pin_on
		pin off
		caught_up
		setfattr -n user.logfs.mirror -v "" "$M/bench"
		pin on
		round pin_off
		pin off
		setfattr -n user.logfs.mirror -v MIR "$M/bench"
		sleep 0.5
		caught_up
	fi
	servers_nice 19
	round far
	servers_nice 0
	caught_up
	setfattr -n user.logfs.mirror -v "" "$M/bench"
	round off
	setsid sh -c 'echo 19 >/proc/$$/autogroup; exec nice -n 19 sh -c "while :; do :; done"' &
	BURNER=$!
	round busy
	kill "$BURNER"
	wait "$BURNER" 2>/dev/null || true
	BURNER=""
	setfattr -n user.logfs.mirror -v MIR "$M/bench"
	sleep 0.5 # (the new worker's session and threads)
	i=$((i + 1))
done
# summary LABEL VAR BASE: for the rounds in VAR, the producer's appends per
# second, their ratio to BASE's, and the daemon's, its mirror threads' and
# the servers' CPU per record (medians).
summary() {
	eval "_v=\$$2 _b=\$$3 _d=\$$2_d _m=\$$2_m _s=\$$2_s"
	echo "producer_appends_per_s_$1 $(med "$_v")"
	echo "producer_$1_over_off $(over "$_v" "$_b")"
	echo "daemon_cpu_us_per_record_$1 $(med "$_d")"
	echo "mirror_threads_cpu_us_per_record_$1 $(med "$_m")"
	echo "servers_cpu_us_per_record_$1 $(med "$_s")"
	echo "# rounds $1: $_v / base: $_b"
}
if [ -n "${MIRROR_NICE:-}" ]; then
	summary "mirror_nice_$MIRROR_NICE" nice_r off
fi
if [ -n "${MIRROR_IDLE:-}" ]; then
	summary servers_sched_idle idle_s off
	summary servers_and_mirror_sched_idle idle_r off
fi
if [ -n "${MIRROR_PIN:-}" ]; then
	summary pinned_mirror_off pin_off pin_off
	summary pinned_mirror_on pin_on pin_off
fi
echo "producer_appends_per_s_mirror_off $(med "$off")"
echo "producer_appends_per_s_mirror_on $(med "$on")"
echo "producer_on_over_off $(over "$on" "$off")"
echo "producer_appends_per_s_mirror_on_servers_nice_19 $(med "$far")"
echo "producer_on_servers_nice_19_over_off $(over "$far" "$off")"
echo "producer_appends_per_s_mirror_off_beside_a_nice_19_busy_loop $(med "$busy")"
echo "producer_off_beside_busy_loop_over_off $(over "$busy" "$off")"
echo "# rounds off: $off / on: $on / on, servers at nice 19: $far / off beside a busy loop: $busy"
echo "daemon_cpu_us_per_record_mirror_off $(med "$off_d")"
echo "daemon_cpu_us_per_record_mirror_on $(med "$on_d")"
echo "mirror_threads_cpu_us_per_record_mirror_on $(med "$on_m")"
echo "servers_cpu_us_per_record_mirror_on $(med "$on_s")"
echo "daemon_cpu_us_per_record_mirror_on_servers_nice_19 $(med "$far_d")"
echo "mirror_threads_cpu_us_per_record_mirror_on_servers_nice_19 $(med "$far_m")"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
