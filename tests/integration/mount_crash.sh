#!/bin/sh
# unprivileged: yes
# SPEC "Appending" (durability, atomic writes) and the mount-time part of
# "Recovery": kill -9 of the daemon during appends, then a remount runs the
# recovery scanner, logs it, and serves only whole, valid records; torn or
# corrupt ends are cut back to the last valid record.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1

# ---- kill -9 during concurrent appends ----
round=0
for sync in never always; do
	round=$((round + 1))
	lfs_mount "$V" "$M" -o segment_size=16K,sync=$sync || exit 1
	mkdir "$M/k$round" "$M/quiet$round"
	seq 1 100 >>"$M/quiet$round/tail"
	ws=""
	for w in 0 1 2 3; do
		bg "$LFSREC" write "$M/k$round/tail" "$w" 1000000 -b 5 -l 10:120 -a "$T/ack$round.$w"
		ws="$ws $BGPID"
	done
	# The kill lands in the middle of appending: each writer has had a
	# write acknowledged (a slow start on a loaded machine is not a kill
	# before the first append), and then 1.5 s more of appends.
	wait_for 60 sh -c "for w in 0 1 2 3; do test -s '$T/ack$round.'\$w || exit 1; done" ||
		note "sync=$sync: not every writer had an acknowledged write after 60 s"
	sleep 1.5
	kill -9 "$DPID"
	for p in $ws; do wait "$p"; done
	crash "$M"
	check "sync=$sync: the writers had appended before the kill" test -s "$T/ack$round.0"
	lfs_mount "$V" "$M" || exit 1
	check "sync=$sync: after kill -9 the next mount runs recovery and says so" recovered "$DERR"
	note "$(grep -i recover "$DERR")"
	check "sync=$sync: every acknowledged record is there, whole, in order; writes all or nothing" \
		"$LFSREC" check "$M/k$round/tail" 4 1000000 -b 5 -l 10:120 -A "$T/ack$round."
	check "sync=$sync: an idle topic is intact after the kill" eq "$(cat "$M/quiet$round/tail")" "$(seq 1 100)"
	n=$(xattr "$M/k$round" next_offset)
	check "sync=$sync: next_offset counts the records there" eq "$n" "$(wc -l <"$M/k$round/tail")"
	echo after >>"$M/k$round/tail"
	check "sync=$sync: appends after recovery continue at the next offset" eq "$(cat "$M/k$round/@$n")" after
	lfs_umount "$M"
	lfs_mount "$V" "$M" || exit 1
	check "sync=$sync: after recovery and a clean unmount, the mount is clean" sh -c "! grep -qi recover '$DERR'"
	lfs_umount "$M"
done

# ---- torn and corrupt ends are cut back at mount ----
lfs_mount "$V" "$M" -o sync=never || exit 1
for t in flip junk many; do mkdir "$M/$t"; done
seq -f 'rec %05g' 1 100 >"$T/recs"
dd if="$T/recs" of="$M/flip/tail" bs=10 conv=notrunc status=none  # 100 records, one write each
dd if="$T/recs" of="$M/junk/tail" bs=10 conv=notrunc status=none
# Many sealed segments, to see that mount scans only what may be torn. The
# fsync at the end seals every rolled one (a sync=never topic otherwise
# seals them only after 30 s).
setfattr -n user.logfs.segment_size -v 4K "$M/many"
seq -f 'many %08g' 1 10000 | dd of="$M/many/tail" bs=14 conv=notrunc,fsync status=none
sealed=$(ls "$M/many" | grep -c log)
kill -9 "$DPID"
crash "$M"
D=$V/topics
# flip: the last record's payload is corrupt (its checksum fails).
printf 'X' | dd of="$D/flip/00000000000000000000.log" bs=1 seek=995 conv=notrunc status=none
# junk: garbage after the last valid index entry and after the valid data.
head -c 48 /dev/urandom | dd of="$D/junk/00000000000000000000.idx" bs=1 seek=$((64 + 100 * 48)) conv=notrunc status=none
head -c 100 /dev/urandom | dd of="$D/junk/00000000000000000000.log" bs=1 seek=1000 conv=notrunc status=none
lfs_mount "$V" "$M" || exit 1
check "after kill -9 and damage, the mount runs recovery" recovered "$DERR"
note "$(cat "$DERR")"
check "the recovery log reports the cut" grep -qi 'cut' "$DERR"
head -n 99 "$T/recs" >"$T/recs99"
check "a corrupt last record is cut back to the last valid record" same "$M/flip/tail" "$T/recs99"
check "after the cut next_offset is 99" eq "$(xattr "$M/flip" next_offset)" 99
echo "rec 00100" >>"$M/flip/tail"
check "appends after the cut reuse nothing: the new record is offset 99" eq "$(cat "$M/flip/@99")" "rec 00100"
check "garbage after the last valid index entry and data is ignored: every record there" same "$M/junk/tail" "$T/recs"
check "garbage after the end: next_offset is 100" eq "$(xattr "$M/junk" next_offset)" 100
echo "rec 00101" >>"$M/junk/tail"
check "appends after garbage go on at offset 100" eq "$(cat "$M/junk/@100")" "rec 00101"
check "the topic with many sealed segments is intact" sh -c "seq -f 'many %08g' 1 10000 | cmp -s - '$M/many/tail'"
scanned=$(sed -n 's/.* \([0-9][0-9]*\) segments scanned.*/\1/p' "$DERR" | head -n 1)
check "mount scans the active segments, not all $sealed sealed ones (scanned: ${scanned:-?})" \
	test -n "$scanned" -a "${scanned:-999}" -lt "$sealed"
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
check "after the recovered mount is unmounted cleanly, the next mount is clean" sh -c "! grep -qi recover '$DERR'"
{ cat "$T/recs"; echo "rec 00101"; } >"$T/junk.want"
check "the recovered topics stay as recovered" same "$M/junk/tail" "$T/junk.want"
lfs_umount "$M"

# ---- a read-only mount after an unclean stop ----
# It cannot repair, so it serves what recovery would keep, decided in
# memory: a last batch that fails its checksum is not served, and nothing
# on disk changes.
vol_new "$V.ro" || exit 1
lfs_mount "$V.ro" "$M" || exit 1
mkdir "$M/live"
seq -f 'live %g' 1 50 >"$T/live"
for i in $(seq 1 50); do echo "live $i" >>"$M/live/tail"; done
crash "$M"
seg=$V.ro/topics/live/00000000000000000000
# One byte of the last record ("live 50\n") changed.
off=$(($(stat -c %s "$T/live") - 3))
printf 'X' | dd of="$seg.log" bs=1 seek=$off conv=notrunc status=none
sums=$(cat "$seg.log" "$seg.idx" "$V.ro/state" | md5sum)
lfs_mount "$V.ro" "$M" -o ro || exit 1
head -n 49 "$T/live" >"$T/live49"
check "ro after an unclean stop: cat tail succeeds" sh -c "cat '$M/live/tail' >'$T/live.got'"
check "ro after an unclean stop: the torn last record is not served" same "$T/live.got" "$T/live49"
check "ro after an unclean stop: next_offset counts what is served" eq "$(xattr "$M/live" next_offset)" 49
check "ro after an unclean stop: @49 (the cut record) is the empty end" eq "$(cat "$M/live/@49")" ""
lfs_umount "$M"
check "ro after an unclean stop: nothing on disk changed" eq "$(cat "$seg.log" "$seg.idx" "$V.ro/state" | md5sum)" "$sums"
lfs_mount "$V.ro" "$M" || exit 1
check "the read-write mount after it keeps the same" same "$M/live/tail" "$T/live49"
lfs_umount "$M"

finish
