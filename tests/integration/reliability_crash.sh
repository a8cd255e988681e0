#!/bin/sh
# Crash suite (docs/RELIABILITY.md): writers append self-describing records
# through the mount while the daemon is killed with SIGKILL at random
# moments; after each kill: unmount, fsck.logfs -n (its verdict is logged),
# mount again (recovery) and verify every topic with ackcheck: every record
# acknowledged by write(2) is present exactly once, whole, in order per
# writer, in every sync mode (a daemon crash keeps the page cache); nothing
# served was not written; offsets contiguous and agreeing with the xattrs.
#
# Topics: line and write framing, each with sync=always, sync=never, the
# default interval sync and the mount's sync option (which alternates
# between always and never from round to round). Segments are small so
# that kills land in rolls too. Some rounds kill the daemon during recovery
# or during a clean unmount instead.
#
# LFS_CRASH_ROUNDS (default 5; make stress: STRESS_ROUNDS, default 150),
# LFS_SEED to repeat a run.
. "${LFS_SRC:-.}/tests/reliability/lib.sh"
need "$LOGFS" "$MKFS" "$FSCK" "$TOOLS/ackwriter" "$TOOLS/ackcheck"

if [ "$STRESS" = 1 ]; then
	ROUNDS=${STRESS_ROUNDS:-150}
else
	ROUNDS=${LFS_CRASH_ROUNDS:-5}
fi
EPOCH=25 # a fresh volume every EPOCH rounds keeps the volume small
note "seed $SEED, $ROUNDS rounds"

VOL=$WORK/vol
MNT=$WORK/mnt
ACKS=$WORK/acks
mkdir -p "$MNT"

# topic framing sync
TOPICS="la:line:always ln:line:never li:line:100 lm:line:- wa:write:always wn:write:never wi:write:20 wm:write:-"

new_volume() {
	rm -rf "$VOL" "$ACKS"
	"$MKFS" -q -s 192K "$VOL" || return 1
	start_daemon "$VOL" "$MNT" "" || return 1
	for spec in $TOPICS; do
		t=${spec%%:*}
		rest=${spec#*:}
		fr=${rest%%:*}
		sy=${rest#*:}
		mkdir "$MNT/$t" || return 1
		setfattr -n user.logfs.framing -v "$fr" "$MNT/$t" || return 1
		if [ "$sy" != - ]; then
			setfattr -n user.logfs.sync -v "$sy" "$MNT/$t" || return 1
		fi
		mkdir -p "$ACKS/$t"
	done
	stop_daemon "$MNT"
}

# verify LABEL: ackcheck on every topic; sets VERIFIED (records) and
# VERIFY_ERR (a description) for the caller.
verify() {
	VERIFY_ERR=""
	VERIFIED=0
	for spec in $TOPICS; do
		t=${spec%%:*}
		b=""
		case $spec in *:write:*) b=-b ;; esac
		out=$("$TOOLS/ackcheck" -t "$MNT/$t" -A "$ACKS/$t" $b -r "$RNG" 2>&1)
		rc=$?
		echo "$out" | sed 's/^/#   /'
		if [ $rc -ne 0 ]; then
			VERIFY_ERR="$VERIFY_ERR $t"
		fi
		n=$(echo "$out" | sed -n 's/.*: ok: \([0-9]*\) records.*/\1/p' | tail -n 1)
		VERIFIED=$((VERIFIED + ${n:-0}))
	done
}

total_verified=0
total_kills=0
total_acked=0
# Records acknowledged by the writers of this epoch (last A + 1 per writer).
count_acked() {
	n=$(awk '/^A / { if ($2 + 1 > m[FILENAME]) m[FILENAME] = $2 + 1 }
		END { for (f in m) s += m[f]; print s + 0 }' "$ACKS"/*/*.ack 2>/dev/null)
	total_acked=$((total_acked + ${n:-0}))
}
fsck_seen=""
wid_base=0
round=0
while [ $round -lt "$ROUNDS" ]; do
	if [ $((round % EPOCH)) -eq 0 ]; then
		if [ $round -gt 0 ]; then
			# End of an epoch: clean unmount, full check.
			if start_daemon "$VOL" "$MNT" ""; then
				verify
				total_verified=$((total_verified + VERIFIED))
				stop_daemon "$MNT"
				drc=$?
				out=$("$FSCK" -n -f "$VOL" 2>&1)
				frc=$?
				if [ -z "$VERIFY_ERR" ] && [ $drc -eq 0 ] && [ $frc -eq 0 ]; then
					ok "epoch ending at round $round: clean unmount, fsck -n -f clean"
				else
					not_ok "epoch ending at round $round: verify:${VERIFY_ERR:- ok}, daemon exit $drc, fsck -n -f exit $frc: $out"
				fi
			else
				not_ok "epoch ending at round $round: mount failed: $(tail -n 3 "$WORK/daemon.log")"
			fi
		fi
		[ $round -gt 0 ] && count_acked
		if ! new_volume; then
			not_ok "cannot create a volume: $(tail -n 3 "$WORK/daemon.log")"
			finish
		fi
		wid_base=0
	fi
	rand 2
	if [ $R -eq 0 ]; then msync=always; else msync=never; fi
	if ! start_daemon "$VOL" "$MNT" "sync=$msync"; then
		not_ok "round $round: mount after the crash failed: $(tail -n 5 "$WORK/daemon.log")"
		break
	fi
	# What recovery left must hold every acknowledged record.
	verify
	total_verified=$((total_verified + VERIFIED))

	rand 16
	kind=write
	[ $R -eq 0 ] && kind=recovery
	[ $R -eq 1 ] && kind=unmount
	rand 750
	delay_ms=$((R + 30))

	# Writers: two per topic, new writer ids every round.
	pids=""
	stop=$WORK/stop.$round
	for spec in $TOPICS; do
		t=${spec%%:*}
		for k in 0 1; do
			wid=$((wid_base + 1))
			wid_base=$wid
			case $spec in
			*:write:*) args="-b -M 6000" ;;
			*) args="-k 8 -x -M 300" ;;
			esac
			"$TOOLS/ackwriter" -p "$MNT/$t/tail" -i $wid -a "$ACKS/$t/w$wid.ack" \
				-s "$SEED$round" -q "$stop" $args 2>>"$WORK/writers.log" &
			pids="$pids $!"
		done
	done
	# A reader following the log while it is written and killed.
	(while cat "$MNT/ln/tail" >/dev/null 2>&1; do :; done) &
	reader=$!
	BG_PIDS="$pids $reader"

	sleep "$((delay_ms / 1000)).$(printf %03d $((delay_ms % 1000)))"
	case $kind in
	write)
		kill_daemon "$MNT"
		;;
	unmount)
		# Kill during a clean unmount (its final flush).
		touch "$stop"
		for p in $pids; do wait "$p"; done
		fusermount3 -u "$MNT" 2>/dev/null &
		rand 20
		sleep "0.0$(printf %02d $R)"
		kill_daemon "$MNT"
		wait
		;;
	recovery)
		kill_daemon "$MNT"
		;;
	esac
	for p in $pids; do wait "$p" 2>/dev/null; done
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null
	BG_PIDS=""
	total_kills=$((total_kills + 1))

	if [ $kind = recovery ]; then
		# Start a daemon and kill it while it recovers (before or
		# right after the mount appears).
		"$LOGFS" "$VOL" "$MNT" -f 2>>"$WORK/daemon.log" &
		DAEMON_PID=$!
		rand 30
		sleep "0.0$(printf %02d $R)"
		kill_daemon "$MNT"
		total_kills=$((total_kills + 1))
	fi

	out=$("$FSCK" -n "$VOL" 2>&1)
	frc=$?
	summary=$(echo "$out" | tail -n 1)
	[ $frc -ne 0 ] && echo "$out" | sed 's/^/#   fsck -n: /'
	case " $fsck_seen " in *" $frc "*) ;; *) fsck_seen="$fsck_seen $frc" ;; esac
	if [ $frc -ne 0 ] && [ $frc -ne 4 ]; then
		not_ok "round $round: fsck -n after kill -9 exit $frc: $out"
	fi
	if [ -n "$VERIFY_ERR" ]; then
		not_ok "round $round: after recovery, topics$VERIFY_ERR lost or damaged records (see ackcheck above)"
	else
		ok "round $round: mount sync=$msync, recovery verified $VERIFIED records; kill -9 ($kind) after ${delay_ms}ms; fsck -n exit $frc: $summary"
	fi
	round=$((round + 1))
done

# Final: recover, verify, clean unmount, full fsck.
if start_daemon "$VOL" "$MNT" ""; then
	verify
	total_verified=$((total_verified + VERIFIED))
	if [ -n "$VERIFY_ERR" ]; then
		not_ok "final recovery: topics$VERIFY_ERR lost or damaged records"
	else
		ok "final recovery verified $VERIFIED records"
	fi
	unmount_and_fsck "$VOL" "$MNT"
else
	not_ok "final mount failed: $(tail -n 5 "$WORK/daemon.log")"
fi
count_acked
note "figures: $total_kills kill -9 survived in $ROUNDS rounds, $total_acked records acknowledged, $total_verified record checks (records verified whole, summed over every verification after each recovery), fsck -n exit codes seen:$fsck_seen"
grep -i 'recover' "$WORK/daemon.log" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/# daemon: /'
finish
