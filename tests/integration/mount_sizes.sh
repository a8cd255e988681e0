#!/bin/sh
# unprivileged: yes
# SPEC "What the mount shows": st_blocks counts each byte on disk once, so
# du of a topic is the disk use of its directory in the volume; st_size of
# tail is the retained log's payload bytes (unchanged).
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=64K || exit 1

mkdir "$M/app"
seq -f 'record %010g' 1 200000 >"$T/all" # 18 bytes a record: 3.6M, 54 sealed segments
dd if="$T/all" of="$M/app/tail" bs=4096 conv=notrunc status=none
touch "$M/app/cursors/c1"
B=$V/topics/app
blocks() { stat -c %b "$1"; }
sum_blocks() { _s=0; for _f in "$@"; do _s=$((_s + $(stat -c %b "$_f"))); done; echo "$_s"; }

check "setup: the topic has sealed segments" test "$(ls "$M/app" | grep -c '\.log$')" -ge 5
check "du -s of a topic equals the disk use of its directory in the volume" \
	eq "$(du -s "$M/app" | cut -f1)" "$(du -s "$B" | cut -f1)"
S=$(ls "$M/app" | grep '\.log$' | head -n 1)
base=${S%.log}
check "a sealed segment carries its data and index blocks" \
	eq "$(blocks "$M/app/$S")" "$(sum_blocks "$B/$base.log" "$B/$base.idx")"
A=$(ls "$B" | grep '\.log$' | tail -n 1)
check "tail carries only the active segment's blocks" \
	eq "$(blocks "$M/app/tail")" "$(sum_blocks "$B/$A" "$B/${A%.log}.idx")"
check "an @ view carries the active segment's blocks too" \
	eq "$(blocks "$M/app/@100")" "$(blocks "$M/app/tail")"
check "st_size of tail is still every retained payload byte" eq "$(size "$M/app/tail")" "$(wc -c <"$T/all")"
check "tail's blocks are fewer than its size needs (its bytes are the segments')" \
	test "$(blocks "$M/app/tail")" -lt $(( $(size "$M/app/tail") / 512 ))
check "the topic directory carries its directory, settings and cursors" \
	eq "$(blocks "$M/app")" "$(sum_blocks "$B" "$B/topic.conf" "$B/cursors")"
check "a cursor carries no blocks (its bytes are the log's)" eq "$(blocks "$M/app/cursors/c1")" 0

# With tail held open (a producer, a follower), stat still counts the disk.
sleep 30 >>"$M/app/tail" &
hold1=$!
sleep 30 <"$M/app/tail" &
hold2=$!
_pids="$_pids $hold1 $hold2"
check "with tail open for writing and reading: du still equals the volume's" \
	eq "$(du -s "$M/app" | cut -f1)" "$(du -s "$B" | cut -f1)"
kill "$hold1" "$hold2" 2>/dev/null
wait "$hold1" "$hold2" 2>/dev/null

# After retention (rm of the oldest segment) and a remount, du still agrees.
rm "$M/app/$S"
check "after rm of the oldest segment: du still equals the volume's" \
	eq "$(du -s "$M/app" | cut -f1)" "$(du -s "$B" | cut -f1)"
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
check "after a remount: du of the topic equals the volume's" \
	eq "$(du -s "$M/app" | cut -f1)" "$(du -s "$B" | cut -f1)"
mkdir "$M/empty"
check "an empty topic: du equals the volume's" \
	eq "$(du -s "$M/empty" | cut -f1)" "$(du -s "$V/topics/empty" | cut -f1)"
lfs_umount "$M"
finish
