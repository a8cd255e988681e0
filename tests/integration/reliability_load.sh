#!/bin/sh
# Load suite (docs/RELIABILITY.md): many writers and readers on several
# topics through one mount for a while. Writers append self-describing
# records (line and write framing, batches, split lines, sync=always on one
# topic, fsync now and then on another); followers read each topic's tail
# as it grows and verify every record as it arrives; other readers open and
# close tail and @N handles, list topics and read xattrs in loops; a small
# segment size makes the log roll all the time. At the end: the daemon is
# alive, every acknowledged record is present exactly once, whole, in order
# per writer, the followers saw exactly what a fresh read sees, the volume
# unmounts cleanly and fsck finds nothing. The daemon's anonymous memory
# (RssAnon: its mappings of segment files are file-backed and do not count)
# is sampled every second. The daemon keeps a small structure per segment,
# and the followers, open from the start, pin every segment (deleted
# segments stay readable through an open handle), so its memory may grow
# with the number of segments, never with the records or the operations:
# it must stay under LFS_LOAD_RSS_MB (default 64) MiB plus 4 KiB per
# segment, and its growth from the first half of the run to the second
# under 8 MiB plus 4 KiB per segment created meanwhile.
#
# LFS_LOAD_SECONDS (default 12; make stress: STRESS_SECONDS, default 300),
# LFS_SEED.
. "${LFS_SRC:-.}/tests/reliability/lib.sh"
need "$LOGFS" "$MKFS" "$FSCK" "$TOOLS/ackwriter" "$TOOLS/ackcheck"

if [ "$STRESS" = 1 ]; then
	SECS=${STRESS_SECONDS:-300}
else
	SECS=${LFS_LOAD_SECONDS:-12}
fi
RSS_MB=${LFS_LOAD_RSS_MB:-64}
note "seed $SEED, $SECS s"

VOL=$WORK/vol
MNT=$WORK/mnt
ACKS=$WORK/acks
DONE=$WORK/done
mkdir -p "$MNT"
"$MKFS" -q -s 512K "$VOL" || { not_ok "mkfs failed"; finish; }
start_daemon "$VOL" "$MNT" "" || { not_ok "mount failed"; finish; }
# name framing sync writers writer-options
TOPICS="l1:line:never:3:-k_8_-x_-M_300 l2:line:always:3:-k_4_-M_200_-d w1:write:never:3:-b_-M_8000_-f_50 w2:write:100:2:-b_-M_64000 l3:line:100:3:-M_120"
for spec in $TOPICS; do
	IFS=: read -r t fr sy nw wo <<EOF
$spec
EOF
	mkdir "$MNT/$t" && setfattr -n user.logfs.framing -v "$fr" "$MNT/$t" &&
		setfattr -n user.logfs.sync -v "$sy" "$MNT/$t" || { not_ok "topic $t setup failed"; finish; }
	mkdir -p "$ACKS/$t"
done

pids=""
followers=""
wid=0
for spec in $TOPICS; do
	IFS=: read -r t fr sy nw wo <<EOF
$spec
EOF
	wo=$(echo "$wo" | tr _ ' ')
	k=0
	while [ $k -lt "$nw" ]; do
		wid=$((wid + 1))
		# shellcheck disable=SC2086
		"$TOOLS/ackwriter" -p "$MNT/$t/tail" -i $wid -a "$ACKS/$t/w$wid.ack" -t "$SECS" \
			-s "$SEED$wid" $wo 2>>"$WORK/writers.log" &
		pids="$pids $!"
		k=$((k + 1))
	done
	b=""
	[ "$fr" = write ] && b=-b
	for k in 1 2; do
		"$TOOLS/ackcheck" -t "$MNT/$t" -A "$ACKS/$t" $b -F "$DONE" >"$WORK/follow.$t.$k" 2>&1 &
		followers="$followers $!"
	done
done
# Churn: handles opened and closed, @N, listings, xattrs.
churn() {
	end=$(($(date +%s) + SECS))
	while [ "$(date +%s)" -lt "$end" ]; do
		for spec in $TOPICS; do
			t=${spec%%:*}
			head -c 65536 "$MNT/$t/tail" >/dev/null 2>&1
			n=$(getfattr --only-values -n user.logfs.next_offset "$MNT/$t" 2>/dev/null)
			[ -n "$n" ] && [ "$n" -gt 10 ] && head -c 4096 "$MNT/$t/@$((n / 2))" >/dev/null 2>&1
			ls "$MNT/$t" >/dev/null 2>&1
			getfattr -d -m user.logfs "$MNT/$t" >/dev/null 2>&1
		done
	done
}
churn &
churner=$!
BG_PIDS="$pids $followers $churner"

# Memory samples, one a second: seconds, RssAnon KiB, segments so far.
: >"$WORK/rss"
t0=$(date +%s)
while :; do
	alive=0
	for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 0 ] && break
	nseg=$(find "$VOL/topics" -name '*.idx' | wc -l)
	echo "$(($(date +%s) - t0)) $(rss_anon "$DAEMON_PID") $nseg" >>"$WORK/rss"
	sleep 1
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
wait "$churner"
touch "$DONE"
fbad=0
for p in $followers; do wait "$p" || fbad=$((fbad + 1)); done
BG_PIDS=""

if kill -0 "$DAEMON_PID" 2>/dev/null && is_mounted "$MNT"; then
	ok "the daemon is alive after $SECS s of load"
else
	not_ok "the daemon died under load: $(tail -n 5 "$WORK/daemon.log")"
	finish
fi
if [ $bad -eq 0 ]; then
	ok "$wid writers ran $SECS s without a write error"
else
	not_ok "$bad writers stopped with an error: $(grep stopped "$WORK/writers.log" | head -n 3)"
fi
records=0
for spec in $TOPICS; do
	t=${spec%%:*}
	b=""
	case $spec in *:write:*) b=-b ;; esac
	out=$("$TOOLS/ackcheck" -t "$MNT/$t" -A "$ACKS/$t" $b -r "$RNG")
	if [ $? -eq 0 ]; then
		ok "topic $t: $out"
	else
		not_ok "topic $t: $out"
	fi
	n=$(echo "$out" | sed -n 's/.*: ok: \([0-9]*\) records.*/\1/p')
	records=$((records + ${n:-0}))
done
if [ $fbad -eq 0 ]; then
	ok "10 followers verified every record as it arrived and saw what a fresh read sees"
else
	not_ok "$fbad followers failed: $(cat "$WORK"/follow.* | grep -v ': ok: ' | head -n 5)"
fi

# Memory: RssAnon in KiB, per second, against the segments.
n=$(wc -l <"$WORK/rss")
half=$((n / 2))
max=$(awk '{ if ($2 > m) m = $2 } END { print m + 0 }' "$WORK/rss")
first=$(awk -v h="$half" 'NR <= h { if ($2 > m) m = $2 } END { print m + 0 }' "$WORK/rss")
second=$(awk -v h="$half" 'NR > h { if ($2 > m) m = $2 } END { print m + 0 }' "$WORK/rss")
seg_half=$(awk -v h="$half" 'NR == h { print $3 + 0 }' "$WORK/rss")
seg_end=$(find "$VOL/topics" -name '*.idx' | wc -l)
note "daemon RssAnon KiB: max $max, first half max $first, second half max $second ($n samples); segments: ${seg_half:-0} at half time, $seg_end at the end"
limit=$((RSS_MB * 1024 + 4 * seg_end))
if asan_build; then
	note "memory bounds not checked: the daemon is built with AddressSanitizer"
elif [ "$max" -le "$limit" ]; then
	ok "daemon anonymous memory stayed bounded: max $((max / 1024)) MiB for $seg_end segments (limit $((limit / 1024)) MiB)"
else
	not_ok "daemon anonymous memory reached $((max / 1024)) MiB for $seg_end segments (limit $((limit / 1024)) MiB)"
fi
grow_limit=$((8192 + 4 * (seg_end - ${seg_half:-0})))
if asan_build; then
	:
elif [ "$n" -lt 4 ] || [ $((second - first)) -le "$grow_limit" ]; then
	ok "daemon anonymous memory grows only with the segments ($((first / 1024)) MiB then $((second / 1024)) MiB, $((seg_end - ${seg_half:-0})) segments created meanwhile)"
else
	not_ok "daemon anonymous memory grows faster than the segments: $((first / 1024)) MiB then $((second / 1024)) MiB with $((seg_end - ${seg_half:-0})) segments created meanwhile"
fi

unmount_and_fsck "$VOL" "$MNT"
note "figures: $SECS s, $wid writers, 10 followers, $records records verified, $seg_end segments, max RssAnon $((max / 1024)) MiB"
finish
