#!/bin/sh
# Power-cut suite (docs/RELIABILITY.md). write(2) acknowledges before the
# data is durable with sync=never and sync=MS, so a power cut may lose the
# page cache's unwritten part of any file. This suite models it: writers
# append through the mount (sync=always topics, sync=never topics whose
# writers call fsync(2) now and then, an interval-sync topic), the daemon is
# killed, and tests/tools/powercut makes many copies of the volume as a
# power cut could leave it: each file of an unsealed segment cut at an
# arbitrary length past its durable point, zero-filled tails, pages that
# never reached the disk, segments created since the last sync point
# dropped or without their index header (see powercut.c for the model). Every copy must recover, through fsck.logfs -y
# and the mount or through the mount's own recovery, to a valid prefix:
# every record whole, per writer in order with no gap, offsets contiguous
# (ackcheck), and nothing that was durable (acknowledged with sync=always,
# or before an fsync(2) returned) missing. "Harsh" copies cut anywhere,
# below the durable point and inside index headers: they must still
# recover to a valid prefix. A negative control cuts a durable record and
# expects the checker to notice.
#
# LFS_POWERCUT_ROUNDS (default 2; make stress: STRESS_ROUNDS/5, at least
# 10), LFS_POWERCUT_VARIANTS (default 8; stress 16), LFS_SEED.
. "${LFS_SRC:-.}/tests/reliability/lib.sh"
need "$LOGFS" "$MKFS" "$FSCK" "$TOOLS/ackwriter" "$TOOLS/ackcheck" "$TOOLS/powercut"

if [ "$STRESS" = 1 ]; then
	ROUNDS=$((${STRESS_ROUNDS:-150} / 5))
	[ "$ROUNDS" -lt 10 ] && ROUNDS=10
	VARIANTS=${LFS_POWERCUT_VARIANTS:-16}
else
	ROUNDS=${LFS_POWERCUT_ROUNDS:-2}
	VARIANTS=${LFS_POWERCUT_VARIANTS:-8}
fi
note "seed $SEED, $ROUNDS rounds of $VARIANTS cut copies"

VOL=$WORK/vol
MNT=$WORK/mnt
ACKS=$WORK/acks
mkdir -p "$MNT"
# topic framing sync writer-options
TOPICS="la:line:always:-d ln:line:never:-f wa:write:always:-d wn:write:never:-f li:line:100:- wu:write:never:-"

verify_all() { # verify_all "FLAGS" [SKIP-TOPICS]: sets BAD and RECS
	BAD=""
	RECS=0
	for spec in $TOPICS; do
		t=${spec%%:*}
		case " $2 " in *" $t "*) continue ;; esac
		b=""
		case $spec in *:write:*) b=-b ;; esac
		out=$("$TOOLS/ackcheck" -t "$MNT/$t" -A "$ACKS/$t" $b $1 -r "$RNG" 2>&1)
		if [ $? -ne 0 ]; then
			BAD="$BAD $t"
			echo "$out" | sed 's/^/#   /'
		fi
		n=$(echo "$out" | sed -n 's/.*: ok: \([0-9]*\) records.*/\1/p')
		RECS=$((RECS + ${n:-0}))
	done
}

total_variants=0
total_records=0
harsh_unrepairable=0
unsynced_headers=0
unsynced_dropped=0
round=0
while [ $round -lt "$ROUNDS" ]; do
	rm -rf "$VOL" "$ACKS" "$WORK"/cut* "$WORK/mvol"
	"$MKFS" -q -s 128K "$VOL" || { not_ok "mkfs failed"; finish; }
	start_daemon "$VOL" "$MNT" "sync=never" || { not_ok "mount failed"; finish; }
	for spec in $TOPICS; do
		IFS=: read -r t fr sy wo <<EOF
$spec
EOF
		mkdir "$MNT/$t"
		setfattr -n user.logfs.framing -v "$fr" "$MNT/$t"
		setfattr -n user.logfs.sync -v "$sy" "$MNT/$t"
		mkdir -p "$ACKS/$t"
	done
	pids=""
	wid=0
	for spec in $TOPICS; do
		IFS=: read -r t fr sy wo <<EOF
$spec
EOF
		for k in 0 1; do
			wid=$((wid + 1))
			args=""
			[ "$fr" = write ] && args="-b -M 5000"
			[ "$fr" = line ] && args="-k 6 -x -M 300"
			case $wo in
			-d) args="$args -d" ;;
			-f)
				rand 40
				args="$args -f $((R + 1))"
				;;
			esac
			"$TOOLS/ackwriter" -p "$MNT/$t/tail" -i $wid -a "$ACKS/$t/w$wid.ack" \
				-s "$SEED$round$k" $args 2>>"$WORK/writers.log" &
			pids="$pids $!"
		done
	done
	BG_PIDS=$pids
	rand 600
	sleep "0.$(printf %03d $((R + 100)))"
	kill_daemon "$MNT"
	for p in $pids; do wait "$p" 2>/dev/null; done
	BG_PIDS=""

	# What is durable: mount a copy, and ask ackcheck where the durable
	# records end in each topic (this also checks that the kill lost
	# nothing acknowledged).
	cp -a "$VOL" "$WORK/mvol"
	start_daemon "$WORK/mvol" "$MNT" "" || { not_ok "round $round: mount of the killed volume failed"; finish; }
	durable=""
	dsum=0
	for spec in $TOPICS; do
		t=${spec%%:*}
		b=""
		case $spec in *:write:*) b=-b ;; esac
		out=$("$TOOLS/ackcheck" -t "$MNT/$t" -A "$ACKS/$t" $b -N)
		[ $? -ne 0 ] && not_ok "round $round: topic $t lost acknowledged records at kill -9: $out"
		n=$(echo "$out" | sed -n 's/^durable_records //p')
		durable="$durable -n $t=${n:-0}"
		dsum=$((dsum + ${n:-0}))
	done
	stop_daemon "$MNT"
	note "round $round: killed after writing; durable records:$durable"

	v=0
	while [ $v -lt "$VARIANTS" ]; do
		cut=$WORK/cut$v
		rand 6
		mode=mixed
		check=-D
		if [ $R -eq 0 ]; then
			mode=harsh
			check="-P -G"
		fi
		rand 2
		path=$R # 0: fsck -y then mount; 1: the mount's own recovery
		pseed=$RNG
		"$TOOLS/powercut" -f "$VOL" -o "$cut" -s $pseed -m $mode $durable >"$WORK/cut.log" 2>&1 ||
			{ not_ok "powercut failed: $(cat "$WORK/cut.log")"; finish; }
		desc="round $round copy $v ($mode, $(grep -c powercut: "$WORK/cut.log") files cut, $([ $path = 0 ] && echo "fsck -y, mount" || echo "mount's recovery"))"
		problem=""
		: >"$WORK/fsck.log"
		if [ $path = 0 ]; then
			"$FSCK" -y "$cut" >"$WORK/fsck.log" 2>&1
			frc=$?
			if [ $frc -gt 1 ]; then
				if [ $mode = harsh ] && [ $((frc & ~1)) -eq 4 ] && grep -q 'write framing: cannot rebuild' "$WORK/fsck.log"; then
					: # counted below, when the mount refuses it too
				else
					problem="fsck -y exit $frc"
				fi
			fi
		fi
		if [ -z "$problem" ] && ! start_daemon "$cut" "$MNT" ""; then
			if [ $mode = harsh ] && grep -q 'write framing: cannot rebuild' "$WORK/daemon.log"; then
				# An index header cut below its durable point in a
				# write-framed topic: the records cannot be framed.
				harsh_unrepairable=$((harsh_unrepairable + 1))
				note "$desc: write-framed index header lost: not mountable (expected for harsh cuts)"
				cat "$WORK/daemon.log" >>"$WORK/daemon-all.log"
				: >"$WORK/daemon.log"
				rm -rf "$cut"
				v=$((v + 1))
				continue
			fi
			problem="mount failed: $(tail -n 3 "$WORK/daemon.log")"
		fi
		skip=""
		if [ -z "$problem" ] && [ $mode = harsh ]; then
			# A write-framed segment whose index header was cut: its
			# topic stays out of the mount (the daemon says so).
			skip=$(sed -n 's/.*topic \([^ :]*\): cannot load.*left out of the mount.*/\1/p' "$WORK/daemon.log" | tr '\n' ' ')
			if [ -n "$skip" ]; then
				if grep -q 'write framing: cannot rebuild' "$WORK/daemon.log"; then
					harsh_unrepairable=$((harsh_unrepairable + 1))
					note "$desc: topics $skip left out of the mount: a write-framed index header lost (expected for harsh cuts)"
				else
					problem="topics $skip left out of the mount: $(grep 'cannot load' "$WORK/daemon.log" | head -n 2)"
				fi
			fi
		fi
		if [ -z "$problem" ] && [ "$check" = -D ] &&
			grep -q 'recorded as lost\|keep their offsets' "$WORK/daemon.log" "$WORK/fsck.log" 2>/dev/null; then
			# Recovery kept the valid batches after a damaged one
			# (docs/FORMAT.md, lost ranges): what it lost must be
			# records none of which was durable.
			check="-D -L"
			note "$desc: lost ranges recorded"
		fi
		# Segments created since the last sync point (a roll flushes
		# nothing): dropped whole by the copy, or with their index
		# header lost, which recovery cuts like a torn end.
		grep -q 'created since the last sync point' "$WORK/cut.log" &&
			unsynced_dropped=$((unsynced_dropped + 1))
		grep -q 'index header never written' "$WORK/daemon.log" "$WORK/fsck.log" 2>/dev/null &&
			unsynced_headers=$((unsynced_headers + 1))
		if [ -z "$problem" ]; then
			verify_all "$check" "$skip"
			[ -n "$BAD" ] && problem="topics$BAD fail ackcheck $check"
			total_records=$((total_records + RECS))
			stop_daemon "$MNT" || problem="$problem; unmount exit $?"
			"$FSCK" -n -f "$cut" >>"$WORK/fsck.log" 2>&1
			frc=$?
			if [ $frc -ne 0 ] && ! { [ -n "$skip" ] && [ $frc -eq 4 ]; }; then
				problem="$problem; fsck -n -f after recovery exit $frc"
			fi
		fi
		if [ -z "$problem" ]; then
			ok "$desc: valid prefix, $RECS records whole, nothing durable missing"
		else
			not_ok "$desc: $problem"
			note "  the copy again: powercut -f VOLUME -o COPY -s $pseed -m $mode$durable (LFS_KEEP=1 keeps VOLUME)"
			sed 's/^/#   /' "$WORK/cut.log" | head -n 30
			sed 's/^/#   /' "$WORK/fsck.log" | head -n 20
			tail -n 5 "$WORK/daemon.log" | sed 's/^/#   /'
			if [ "${LFS_KEEP:-0}" = 1 ]; then
				cp -a "$cut" "$WORK/failed-r$round-v$v"
			fi
		fi
		cat "$WORK/daemon.log" >>"$WORK/daemon-all.log"
		: >"$WORK/daemon.log"
		rm -rf "$cut"
		total_variants=$((total_variants + 1))
		v=$((v + 1))
	done

	# Negative control: a durable record cut must be noticed.
	if [ "$dsum" -gt 0 ]; then
		"$TOOLS/powercut" -f "$VOL" -o "$WORK/cutneg" -s "$RNG" -m negative $durable >"$WORK/cut.log" 2>&1
		prc=$?
		if [ $prc -eq 0 ]; then
			"$FSCK" -y "$WORK/cutneg" >/dev/null 2>&1
			if start_daemon "$WORK/cutneg" "$MNT" ""; then
				verify_all -D >/dev/null
				stop_daemon "$MNT"
				if [ -n "$BAD" ]; then
					ok "round $round: negative control: a cut durable record is detected (topics$BAD)"
				else
					not_ok "round $round: negative control: a durable record was cut and ackcheck did not notice: $(cat "$WORK/cut.log")"
				fi
			else
				not_ok "round $round: negative control: mount failed: $(tail -n 3 "$WORK/daemon.log")"
			fi
		elif [ $prc -ne 4 ]; then
			not_ok "round $round: powercut -m negative failed: $(cat "$WORK/cut.log")"
		fi
		rm -rf "$WORK/cutneg"
	fi
	round=$((round + 1))
done
note "figures: $total_variants power-cut copies recovered, $total_records records verified, $unsynced_dropped with segments dropped whole and $unsynced_headers with index headers lost (created since the last sync point), $harsh_unrepairable harsh copies left a write-framed segment without its index header (its topic not mountable until repaired by hand)"
finish
