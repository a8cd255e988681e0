#!/bin/sh
# Regression cases that the reliability suites found (docs/RELIABILITY.md),
# kept as small deterministic tests.
. "${LFS_SRC:-.}/tests/reliability/lib.sh"
need "$LOGFS" "$MKFS" "$FSCK" "$TOOLS/ackwriter" "$TOOLS/ackcheck"

VOL=$WORK/vol
MNT=$WORK/mnt
mkdir -p "$MNT"
xattr() { getfattr --only-values -n "user.logfs.$2" "$1" 2>/dev/null; }

# 1. A topic's framing is fixed when it is created. It used to follow the
# framing= option of each mount: a topic created under framing=write became
# line-framed after a remount without the option, and appends failed with
# EINVAL (found by reliability_crash.sh, whose mounts vary their options).
"$MKFS" -q "$VOL"
start_daemon "$VOL" "$MNT" "framing=write"
mkdir "$MNT/w"
printf 'abc' >>"$MNT/w/tail"
stop_daemon "$MNT"
start_daemon "$VOL" "$MNT" ""
fr=$(xattr "$MNT/w" framing)
if printf 'def\n' >>"$MNT/w/tail" 2>/dev/null && [ "$fr" = write ] &&
	[ "$(xattr "$MNT/w" next_offset)" = 2 ]; then
	ok "a topic created under -o framing=write keeps write framing after a remount without it"
else
	not_ok "topic created under -o framing=write: after a remount its framing is '$fr', next_offset $(xattr "$MNT/w" next_offset)"
fi
stop_daemon "$MNT"

# 2. A kill during a roll, after the new segment's files were created and
# before its index header was written, leaves an empty index and an empty
# data file. For a write-framed topic the scanner called that unrepairable:
# the mount failed and fsck -y exited 4 (found by reliability_crash.sh).
# Crafted here: the active segment is followed by such an empty segment.
rm -rf "$VOL"
"$MKFS" -q -s 64K "$VOL"
start_daemon "$VOL" "$MNT" ""
mkdir "$MNT/w"
setfattr -n user.logfs.framing -v write "$MNT/w"
mkdir -p "$WORK/acks/w"
"$TOOLS/ackwriter" -p "$MNT/w/tail" -i 1 -a "$WORK/acks/w/w1.ack" -b -n 300 -M 2000 2>/dev/null
next=$(xattr "$MNT/w" next_offset)
stop_daemon "$MNT"
name=$(printf '%020d' "$next")
: >"$VOL/topics/w/$name.idx"
: >"$VOL/topics/w/$name.log"
rm -f "$VOL/state"
cp -a "$VOL" "$WORK/vol2"
"$FSCK" -y "$WORK/vol2" >"$WORK/fsck.out" 2>&1
frc=$?
"$FSCK" -n -f "$WORK/vol2" >>"$WORK/fsck.out" 2>&1
frc2=$?
if [ $frc -le 1 ] && [ $frc2 -eq 0 ]; then
	ok "fsck -y repairs an empty segment left by a kill during a roll (write framing)"
else
	not_ok "fsck -y on an empty segment left by a kill during a roll: exit $frc, then fsck -n -f exit $frc2: $(cat "$WORK/fsck.out")"
fi
if start_daemon "$VOL" "$MNT" ""; then
	out=$("$TOOLS/ackcheck" -t "$MNT/w" -A "$WORK/acks/w" -b)
	if [ $? -eq 0 ] && [ "$(xattr "$MNT/w" next_offset)" = "$next" ] &&
		"$TOOLS/ackwriter" -p "$MNT/w/tail" -i 2 -a "$WORK/acks/w/w2.ack" -b -n 10 2>/dev/null &&
		"$TOOLS/ackcheck" -t "$MNT/w" -A "$WORK/acks/w" -b >/dev/null; then
		ok "mount recovers an empty segment left by a kill during a roll (write framing)"
	else
		not_ok "after recovering an empty segment left by a kill during a roll: $out"
	fi
	stop_daemon "$MNT"
else
	not_ok "mount fails on an empty segment left by a kill during a roll: $(tail -n 4 "$WORK/daemon.log")"
fi
# 3. A line-framed segment that lost its index is rebuilt from its data.
# After a power cut, pages of the data file that never reached the disk
# read as zeros, and the rebuild took them, joined with the lines around
# them, as records: the mount served NUL bytes as records (found by the
# harsh copies of reliability_powercut.sh). The rebuild now stops before
# the first whole page of zeros.
rm -rf "$VOL" "$WORK/acks"
"$MKFS" -q "$VOL"
start_daemon "$VOL" "$MNT" ""
mkdir "$MNT/l"
mkdir -p "$WORK/acks/l"
"$TOOLS/ackwriter" -p "$MNT/l/tail" -i 1 -a "$WORK/acks/l/w1.ack" -n 3000 -M 100 2>/dev/null
stop_daemon "$MNT"
seg=$VOL/topics/l/00000000000000000000
rm -f "$seg.idx"
dd if=/dev/zero of="$seg.log" bs=4096 seek=20 count=1 conv=notrunc 2>/dev/null
rm -f "$VOL/state"
if start_daemon "$VOL" "$MNT" ""; then
	out=$("$TOOLS/ackcheck" -t "$MNT/l" -A "$WORK/acks/l" -P)
	n=$(getfattr --only-values -n user.logfs.next_offset "$MNT/l" 2>/dev/null)
	if [ $? -eq 0 ] && echo "$out" | grep -q ': ok: ' && [ "$n" -gt 0 ]; then
		ok "an index rebuilt from line data stops at a page of zeros ($n records kept)"
	else
		not_ok "an index rebuilt from line data with a page of zeros: $out"
	fi
	stop_daemon "$MNT"
else
	not_ok "mount of a segment without its index failed: $(tail -n 4 "$WORK/daemon.log")"
fi
# 4. Deleting the oldest segment (retention, rm) unlinks its data file, then
# its index. After a crash between the two, the mount trusted the sealed
# index, showed the segment, and every read of tail failed with ENOENT
# until fsck (found while reviewing the deletion order for
# reliability_crash.sh). The mount now finishes the deletion.
rm -rf "$VOL"
"$MKFS" -q -s 64K "$VOL"
start_daemon "$VOL" "$MNT" ""
mkdir "$MNT/d"
i=0
while [ $i -lt 3000 ]; do
	echo "record $i of a topic whose oldest segment loses its data file"
	i=$((i + 1))
done >>"$MNT/d/tail"
stop_daemon "$MNT"
oldest=$(ls "$VOL/topics/d" | grep '\.log$' | head -n 1)
second=$(ls "$VOL/topics/d" | grep '\.log$' | sed -n 2p)
rm -f "$VOL/topics/d/$oldest"
rm -f "$VOL/state"
if start_daemon "$VOL" "$MNT" ""; then
	first=$(getfattr --only-values -n user.logfs.first_offset "$MNT/d" 2>/dev/null)
	want=$(echo "${second%.log}" | sed "s/^0*//; s/^$/0/")
	if cat "$MNT/d/tail" >"$WORK/d.out" 2>"$WORK/d.err" && [ "$first" = "$want" ] &&
		[ "$(head -n 1 "$WORK/d.out")" = "record $want of a topic whose oldest segment loses its data file" ]; then
		ok "an oldest segment whose data file is gone (a deletion cut short) is deleted at mount; tail reads from the next"
	else
		not_ok "an oldest segment without its data file: first_offset '$first' (want $want), cat tail: $(cat "$WORK/d.err")"
	fi
	stop_daemon "$MNT"
	out=$("$FSCK" -n -f "$VOL" 2>&1) || not_ok "fsck -n -f after finishing a deletion: $out"
else
	not_ok "mount with an oldest segment without its data file failed: $(tail -n 3 "$WORK/daemon.log")"
fi
# 5. rmdir of a topic removed its files one by one: a crash in between
# brought the topic back at the next mount with any part of its segments
# missing, and reads of tail failed with EIO or ENOENT (found by killing
# the daemon during rmdir). The topic is now renamed aside first. Property:
# after kill -9 at any moment of an rmdir, the topic is either whole or
# gone, and the other topics are intact.
tries=0
whole=0
gone=0
bad=""
for d in 0 1 2 3 5 8 12 20; do
	rm -rf "$VOL" "$WORK/acks"
	mkdir -p "$WORK/acks/big" "$WORK/acks/keep"
	"$MKFS" -q -s 4K "$VOL"
	start_daemon "$VOL" "$MNT" ""
	mkdir "$MNT/big" "$MNT/keep"
	"$TOOLS/ackwriter" -p "$MNT/keep/tail" -i 1 -a "$WORK/acks/keep/w1.ack" -n 100 2>/dev/null
	"$TOOLS/ackwriter" -p "$MNT/big/tail" -i 2 -a "$WORK/acks/big/w2.ack" -n 40000 -k 20 -M 100 2>/dev/null
	rmdir "$MNT/big" 2>/dev/null &
	sleep "0.00$d" 2>/dev/null || sleep "0.0$d"
	kill_daemon "$MNT"
	wait
	tries=$((tries + 1))
	if ! start_daemon "$VOL" "$MNT" ""; then
		bad="$bad; delay ${d}ms: mount failed"
		continue
	fi
	"$TOOLS/ackcheck" -t "$MNT/keep" -A "$WORK/acks/keep" >/dev/null || bad="$bad; delay ${d}ms: topic keep damaged"
	if [ -d "$MNT/big" ]; then
		if out=$("$TOOLS/ackcheck" -t "$MNT/big" -A "$WORK/acks/big"); then
			whole=$((whole + 1))
		else
			bad="$bad; delay ${d}ms: topic big came back damaged: $(echo "$out" | head -n 2)"
		fi
	else
		gone=$((gone + 1))
	fi
	stop_daemon "$MNT"
	"$FSCK" -n -f "$VOL" >/dev/null 2>&1 || bad="$bad; delay ${d}ms: fsck -n -f after the mount exit $?"
done
if [ -z "$bad" ]; then
	ok "kill -9 during rmdir of a topic ($tries tries): the topic is whole ($whole) or gone ($gone), never half"
else
	not_ok "kill -9 during rmdir of a topic:$bad"
fi
# 6. Changing an empty topic's framing rewrites its active segment's index
# header, then topic.conf. A crash between the two left the topic framed
# one way and its empty segment the other: every append failed with EINVAL,
# and fsck saw nothing wrong. Crafted: the header of a write-framed empty
# topic in the topic.conf of a line-framed one.
rm -rf "$VOL" "$WORK/vx"
"$MKFS" -q "$WORK/vx"
"$MKFS" -q "$VOL"
start_daemon "$WORK/vx" "$MNT" ""
mkdir "$MNT/t"
setfattr -n user.logfs.framing -v write "$MNT/t"
stop_daemon "$MNT"
start_daemon "$VOL" "$MNT" ""
mkdir "$MNT/t"
stop_daemon "$MNT"
cp "$WORK/vx/topics/t/00000000000000000000.idx" "$VOL/topics/t/"
rm -f "$VOL/state"
start_daemon "$VOL" "$MNT" ""
if echo "line one" >>"$MNT/t/tail" 2>"$WORK/t.err" && [ "$(cat "$MNT/t/tail")" = "line one" ]; then
	ok "an empty segment left framed otherwise than its topic (a framing change cut short) takes the topic's framing"
else
	not_ok "append to a topic whose empty segment is framed otherwise (a framing change cut short): $(cat "$WORK/t.err")"
fi
stop_daemon "$MNT"
out=$("$FSCK" -n -f "$VOL" 2>&1) || not_ok "fsck -n -f after the framing repair: $out"

# 7. A roll flushes nothing (docs/DESIGN.md, "Appending"): until the next
# sync point, a power cut may leave the new segment's index without its
# header while part of its data reached the disk. For a write-framed topic
# that left the topic out of the mount (its records cannot be framed).
# Nothing in such a segment was durable: recovery cuts its records like a
# torn end, its data file goes to lost+found, and the next append takes
# its base offset. Crafted: a write-framed sync=never topic with small
# segments, kill -9, the active segment's index emptied.
rm -rf "$VOL" "$WORK/acks"
"$MKFS" -q -s 16K "$VOL"
start_daemon "$VOL" "$MNT" "sync=never"
mkdir "$MNT/w"
setfattr -n user.logfs.framing -v write "$MNT/w"
mkdir -p "$WORK/acks/w"
"$TOOLS/ackwriter" -p "$MNT/w/tail" -i 1 -a "$WORK/acks/w/w1.ack" -b -n 400 -M 500 2>/dev/null
kill_daemon "$MNT"
last=$(ls "$VOL/topics/w" | grep '\.idx$' | sort | tail -n 1)
base=$(echo "${last%.idx}" | sed 's/^0*//')
: "${base:=0}"
: >"$VOL/topics/w/$last"
if [ "$base" -gt 0 ] && start_daemon "$VOL" "$MNT" ""; then
	out=$("$TOOLS/ackcheck" -t "$MNT/w" -A "$WORK/acks/w" -b -P 2>&1)
	n=$(xattr "$MNT/w" next_offset)
	if echo "$out" | grep -q ': ok: ' && [ "$n" = "$base" ] &&
		[ -s "$VOL/lost+found/topics/w/${last%.idx}.log" ] &&
		printf 'after' >>"$MNT/w/tail" && [ "$(xattr "$MNT/w" next_offset)" = $((base + 1)) ]; then
		ok "a write-framed segment whose index header never reached the disk: cut at its base ($base), its data in lost+found"
	else
		not_ok "a write-framed segment whose index header never reached the disk: next_offset $n (base $base): $out"
	fi
	stop_daemon "$MNT"
	out=$("$FSCK" -n -f "$VOL" 2>&1) || not_ok "fsck -n -f after cutting an unsynced segment: $out"
else
	not_ok "a write-framed segment whose index header never reached the disk: base $base, mount: $(tail -n 4 "$WORK/daemon.log")"
fi
finish
