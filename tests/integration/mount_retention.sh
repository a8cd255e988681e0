#!/bin/sh
# SPEC "Retention": by bytes and by age, oldest sealed segments first, never
# the active one, readers keep what they have open.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K,retention_bytes=16K || exit 1

# 10-byte records, 409 (4090 bytes) per segment.
seq -f 'rec %05g' 1 5000 >"$T/all"

# ---- retention_bytes ----
mkdir "$M/b"
dd if="$T/all" of="$M/b/tail" bs=10 conv=notrunc status=none
# Retention runs at each roll and in the background: between rolls the
# active segment may take the topic over the limit for a moment.
wait_for 10 sh -c "[ \$(getfattr --only-values -n user.logfs.bytes '$M/b' 2>/dev/null) -le 16384 ]"
bytes=$(xattr "$M/b" bytes)
first=$(xattr "$M/b" first_offset)
check "retention_bytes=16K: the topic holds at most 16K" test "$bytes" -le 16384
check "retention_bytes: no more than needed was deleted (one more segment would pass 16K)" test $((bytes + 4090)) -gt 16384
check "retention_bytes: the oldest segments went first" test "$first" -gt 0 -a $((first % 409)) -eq 0
check "retention_bytes: tail is exactly the log from the first retained record" \
	sh -c "sed -n '$((first + 1)),\$p' '$T/all' | cmp -s - '$M/b/tail'"
check "retention_bytes: st_size of tail is the retained bytes" eq "$(size "$M/b/tail")" "$bytes"
check "retention_bytes: the first listed segment is the first retained" \
	eq "$(ls "$M/b" | head -n 1)" "$(printf '%020d.log' "$first")"
check "retention_bytes: next_offset is unchanged by retention" eq "$(xattr "$M/b" next_offset)" 5000

# The active segment is never deleted, even alone over the limit.
mkdir "$M/big"
setfattr -n user.logfs.retention_bytes -v 100 "$M/big"
seq -f 'big %06g' 1 300 >"$T/bigact" # 3300 bytes, one segment
dd if="$T/bigact" of="$M/big/tail" bs=3300 conv=notrunc status=none
check "the active segment is never deleted, even over retention_bytes" same "$M/big/tail" "$T/bigact"
seq -f 'new %06g' 1 100 >"$T/bignew" # 1100 bytes: the next append rolls
dd if="$T/bignew" of="$M/big/tail" bs=1100 conv=notrunc status=none
check "a segment sealed over the limit is deleted; the new active one stays" same "$M/big/tail" "$T/bignew"

# ---- a reader keeps what it has open ----
mkdir "$M/rd"
dd if="$T/all" of="$M/rd/tail" bs=10 count=400 conv=notrunc status=none
head -n 400 "$T/all" >"$T/rd.first"
sed -n '401,5000p' "$T/all" >"$T/rd.rest"
"$LFSIO" open 0 r "$M/rd/tail" open 1 r "$M/rd/@0" \
	sh "dd if='$T/rd.rest' of='$M/rd/tail' bs=10 conv=notrunc status=none" \
	sh "[ \$(getfattr --only-values -n user.logfs.first_offset '$M/rd' 2>/dev/null) -gt 400 ]" \
	readall 0 readall 1 close 0 close 1 >"$T/rd.out" 2>"$T/rd.err"
rc=$?
check "retention deleted the segments an open reader was on" eq "$rc" 0
cat "$T/all" "$T/all" >"$T/rd.want"
check "open tail and @0 handles read everything from their start after retention deleted it" same "$T/rd.out" "$T/rd.want"
wait_for 10 sh -c "[ \$(getfattr --only-values -n user.logfs.bytes '$M/rd' 2>/dev/null) -le 16384 ]"
seg=$(ls "$M/rd" | head -n 1)
"$LFSIO" open 0 r "$M/rd/$seg" \
	sh "seq -f 'rec %05g' 5001 7000 | dd of='$M/rd/tail' bs=10 conv=notrunc status=none" \
	sh "! ls '$M/rd' | grep -q '$seg'" readall 0 close 0 >"$T/seg.out" 2>"$T/seg.err"
rc=$?
[ $rc -eq 0 ] || note "$(cat "$T/seg.err"); segments now: $(ls "$M/rd" | tr '\n' ' ')"
check "retention deleted a sealed segment that was open" eq "$rc" 0
base=$(echo "$seg" | sed 's/^0*\([0-9]\)/\1/; s/\.log$//')
sed -n "$((base + 1)),$((base + 409))p" "$T/all" >"$T/seg.want"
check "an open sealed segment reads whole after retention deleted it" same "$T/seg.out" "$T/seg.want"
check "new opens do not see the deleted segment" fails_with ENOENT cat "$M/rd/$seg"

# ---- retention_bytes set on a topic at runtime, 0 = keep all ----
mkdir "$M/rt"
setfattr -n user.logfs.retention_bytes -v 0 "$M/rt"
dd if="$T/all" of="$M/rt/tail" bs=10 conv=notrunc status=none
check "retention_bytes=0 keeps everything" same "$M/rt/tail" "$T/all"
setfattr -n user.logfs.retention_bytes -v 8K "$M/rt"
check "retention_bytes set at runtime applies (within seconds, without appends)" \
	wait_for 15 sh -c "[ \$(getfattr --only-values -n user.logfs.bytes '$M/rt' 2>/dev/null) -le 8192 ]"
rfirst=$(xattr "$M/rt" first_offset)
check "... and tail is the log from the first retained record" \
	sh -c "sed -n '$((rfirst + 1)),\$p' '$T/all' | cmp -s - '$M/rt/tail'"
lfs_umount "$M"

# ---- retention persists; retention_ms deletes by age ----
lfs_mount "$V" "$M" -o segment_size=4K,retention_ms=2s || exit 1
check "after a remount retention's deletions stay" eq "$(xattr "$M/rt" first_offset)" "$rfirst"
check "after a remount a topic's own retention_bytes stays" eq "$(xattr "$M/rt" retention_bytes)" 8192
mkdir "$M/age"
head -n 2000 "$T/all" >"$T/age.all"
# A segment's 409 records in one write(2) each: segment 0 is sealed a few
# writes, not 1600 FUSE round trips, before its age is checked (2 s can
# pass in those on a loaded machine).
dd if="$T/age.all" of="$M/age/tail" bs=4090 conv=notrunc status=none # sealed 0..1636, active 1636
check "retention_ms=2s: fresh segments are kept" test "$(xattr "$M/age" first_offset)" -eq 0
check "retention_ms=2s: sealed segments older than 2s are deleted (no appends needed)" \
	wait_for 20 sh -c "[ \$(getfattr --only-values -n user.logfs.first_offset '$M/age' 2>/dev/null) -eq 1636 ]"
check "retention_ms: the active segment is never deleted" \
	sh -c "sed -n '1637,2000p' '$T/age.all' | cmp -s - '$M/age/tail'"
check "retention_ms: no sealed segment is left" eq "$(ls "$M/age" | tr '\n' ' ')" "cursors tail "
sleep 2.2
seq -f 'rec %05g' 2001 2500 | dd of="$M/age/tail" bs=10 conv=notrunc status=none
check "retention_ms: segments sealed later go too once their newest record is older" \
	wait_for 15 sh -c "[ \"\$(ls '$M/age' | tr '\n' ' ')\" = 'cursors tail ' ]"
check "retention_ms: tail is the end of the log (the active segment)" \
	sh -c "seq -f 'rec %05g' 1 2500 | tail -n \$(getfattr --only-values -n user.logfs.records '$M/age/tail' 2>/dev/null) | cmp -s - '$M/age/tail'"
mkdir "$M/keep"
setfattr -n user.logfs.retention_ms -v 0 "$M/keep"
dd if="$T/all" of="$M/keep/tail" bs=10 count=2000 conv=notrunc status=none
sleep 3
check "retention_ms=0 on a topic keeps everything" same "$M/keep/tail" "$T/age.all"
lfs_umount "$M"

finish
