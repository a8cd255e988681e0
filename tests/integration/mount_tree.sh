#!/bin/sh
# unprivileged: yes
# SPEC "What the mount shows": topics as directories, tail and sealed
# segments, topic names, ls order, st_size / st_mtime, cat of segments.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K || exit 1

# ---- topics ----
check "an empty mount lists nothing" eq "$(ls -A "$M")" ""
check "mkdir MOUNTPOINT/TOPIC creates a topic" mkdir "$M/app"
check "a new topic holds only tail and cursors/" eq "$(ls -A "$M/app" | tr '\n' ' ')" "cursors tail "
check "tail of a new topic is empty" eq "$(size "$M/app/tail")" 0
check "cat of an empty tail prints nothing" eq "$(cat "$M/app/tail" | wc -c)" 0
check "mkdir -m 0750: the topic's mode comes from the caller" sh -c "mkdir -m 0750 '$M/m750' && [ \$(stat -c %a '$M/m750') = 750 ]"
check "mkdir under umask 027: mode 0750" sh -c "umask 027; mkdir '$M/um' && [ \$(stat -c %a '$M/um') = 750 ]"
check "the topic's owner is the caller" eq "$(stat -c %u:%g "$M/app")" "$(id -u):$(id -g)"
check "tail's owner is the topic's" eq "$(stat -c %u:%g "$M/app/tail")" "$(id -u):$(id -g)"
check "tail is a regular file" test -f "$M/app/tail"
check "ls MOUNTPOINT lists the topics" eq "$(ls "$M" | tr '\n' ' ')" "app m750 um "

# Topic names: 1 to 200 bytes of A-Z a-z 0-9 . _ -, not starting with '.'.
n200=$(printf '%0200d' 0 | tr 0 a)
check "a topic name of every allowed character works" mkdir "$M/AZaz09._-x"
check "a topic name may start with '-', '_' or a digit" sh -c "mkdir -- '$M/-dash' '$M/_under' '$M/9digit'"
check "a 200-byte topic name works" mkdir "$M/$n200"
check "the 200-byte topic is listed" sh -c "ls '$M' | grep -qx '$n200'"
check "a 201-byte topic name fails with ENAMETOOLONG" fails_with ENAMETOOLONG mkdir "$M/${n200}b"
check "a topic name starting with '.' fails with EINVAL" fails_with EINVAL mkdir "$M/.hidden"
for bad in 'a b' 'a:b' 'a@b' 'a*b' 'a+b' 'a~b' "a'b" 'é' 'a,b' 'a=b'; do
	check "topic name '$bad' fails with EINVAL" fails_with EINVAL mkdir "$M/$bad"
done
check "no invalid topic appeared" eq "$(ls -A "$M" | wc -l)" 8
check "mkdir of an existing topic fails with EEXIST" fails_with EEXIST mkdir "$M/app"

# ---- segments, ls order, sizes ----
# 1000 records of 10 bytes, one write(2) each (dd bs=10); segment_size 4K
# holds 409 of them: sealed segments at 0 and 409, the active one at 818.
seq -f 'rec %05g' 1 1000 >"$T/all"
dd if="$T/all" of="$M/app/tail" bs=10 conv=notrunc status=none
check "cat tail prints every record" same "$M/app/tail" "$T/all"
check "ls -U TOPIC: tail, cursors, then the sealed segments in offset order" \
	eq "$(ls -U "$M/app" | tr '\n' ' ')" "tail cursors 00000000000000000000.log 00000000000000000409.log "
check "ls TOPIC (sorted) shows the same names" \
	eq "$(ls "$M/app" | tr '\n' ' ')" "00000000000000000000.log 00000000000000000409.log cursors tail "
sed -n '1,409p' "$T/all" >"$T/seg0"
sed -n '410,818p' "$T/all" >"$T/seg1"
cat "$T/seg0" "$T/seg1" >"$T/sealed"
check "a sealed segment holds its records' payload" same "$M/app/00000000000000000000.log" "$T/seg0"
check "the second sealed segment starts at its base offset" same "$M/app/00000000000000000409.log" "$T/seg1"
check "cat TOPIC/*.log prints the sealed part of the log" sh -c "cat '$M'/app/*.log | cmp -s - '$T/sealed'"
check "st_size of a segment is its payload bytes" eq "$(size "$M/app/00000000000000000000.log")" 4090
check "st_size of tail is the retained payload bytes" eq "$(size "$M/app/tail")" 10000
check "ls -l shows segments as mode 0444 regular files" \
	sh -c "ls -l '$M/app/00000000000000000409.log' | grep -q '^-r--r--r--'"
check "a sealed segment is mode 0444" eq "$(stat -c %a "$M/app/00000000000000000000.log")" 444
check "cp of a sealed segment copies it (backup)" sh -c "cp '$M/app/00000000000000000409.log' '$T/copy' && cmp -s '$T/copy' '$T/seg1'"
check "the active segment is not listed" sh -c "! ls -A '$M/app' | grep -q 818"
check "a segment that does not exist is ENOENT" fails_with ENOENT stat "$M/app/00000000000000000001.log"
check "the active segment's name is not a file" fails_with ENOENT cat "$M/app/00000000000000000818.log"
check "other names in a topic are ENOENT" fails_with ENOENT stat "$M/app/other"
check "ls -a lists no @ names" sh -c "! ls -a '$M/app' | grep -q @"

# st_mtime: the time of the newest record.
last=$(xattr "$M/app/tail" last_timestamp)
check "st_mtime of tail is the time of the newest record" eq "$(stat -c %Y "$M/app/tail")" "$((last / 1000000000))"
segl=$(xattr "$M/app/00000000000000000000.log" last_timestamp)
check "st_mtime of a segment is the time of its newest record" \
	eq "$(stat -c %Y "$M/app/00000000000000000000.log")" "$((segl / 1000000000))"
check "st_mtime of a segment is before or at that of tail" test "$segl" -le "$last"
sleep 1.1
echo "rec 01001" >>"$M/app/tail"
last2=$(xattr "$M/app/tail" last_timestamp)
check "st_mtime of tail follows a new record" eq "$(stat -c %Y "$M/app/tail")" "$((last2 / 1000000000))"
check "st_mtime of a sealed segment does not change" \
	eq "$(stat -c %Y "$M/app/00000000000000000000.log")" "$((segl / 1000000000))"
echo "rec 01001" >>"$T/all"
check "st_size of tail grows with appends" eq "$(size "$M/app/tail")" 10010

# ls -l of a topic works, tail -n reads the end.
check "ls -l TOPIC works" sh -c "ls -l '$M/app' >/dev/null"
check "tail -n 3 TOPIC/tail prints the last 3 records" eq "$(tail -n 3 "$M/app/tail")" "$(tail -n 3 "$T/all")"

# ---- rmdir deletes the topic and its data ----
check "rmdir TOPIC deletes a topic with data" rmdir "$M/app"
check "the deleted topic is gone from ls" sh -c "! ls '$M' | grep -qx app"
check "the deleted topic is ENOENT" fails_with ENOENT stat "$M/app"
check "a topic of the same name can be made again" mkdir "$M/app"
check "the new topic is empty" eq "$(size "$M/app/tail")" 0
check "the new topic has no segments" eq "$(ls -A "$M/app" | tr '\n' ' ')" "cursors tail "
echo new >>"$M/app/tail"
check "the new topic starts at offset 0" eq "$(xattr "$M/app" first_offset) $(xattr "$M/app" next_offset)" "0 1"

# ---- what persists across a remount ----
chmod 0700 "$M/m750"
as_root && chown 1234:2345 "$M/um"
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
check "topics survive a remount" eq "$(ls "$M" | wc -l)" 8
check "a topic's mode survives a remount (chmod)" eq "$(stat -c %a "$M/m750")" 700
if as_root; then
	check "a topic's owner survives a remount (chown)" eq "$(stat -c %u:%g "$M/um")" 1234:2345
else
	skip "a topic's owner survives a remount (chown)" "giving a file away needs root"
fi
check "a deleted topic stays deleted; the new one has its data" eq "$(cat "$M/app/tail")" new
lfs_umount "$M"

# ---- a path walk looks a topic's name up once ----
# A topic's name changes only by mkdir and rmdir through the mount, so the
# kernel keeps it: 50 opens of tail make no LOOKUP of the topic after the
# first (libfuse's -d prints every request; node 1 is the root).
lfs_mount "$V" "$M" -d || exit 1
for i in $(seq 50); do cat "$M/app/tail" >/dev/null; done
lfs_umount "$M"
check "50 opens of TOPIC/tail: at most 2 LOOKUPs in the root" \
	test "$(grep -c 'opcode: LOOKUP ([0-9]*), nodeid: 1,' "$DERR")" -le 2
check "... and every open reached the daemon" \
	test "$(grep -c 'opcode: OPEN' "$DERR")" -ge 50
lfs_mount "$V" "$M" || exit 1
mkdir "$M/gone" && echo one >>"$M/gone/tail" && cat "$M/gone/tail" >/dev/null
check "rmdir of a topic whose name the kernel holds" rmdir "$M/gone"
check "... then its name is gone" test ! -e "$M/gone"
mkdir "$M/gone" && echo two >>"$M/gone/tail"
check "... and a new topic of that name is the new one" eq "$(cat "$M/gone/tail")" two
lfs_umount "$M"

finish
