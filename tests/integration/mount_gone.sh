#!/bin/sh
# unprivileged: yes
# What goes away goes at once (#15 item 13): a sealed segment's name is
# cached by the kernel for an hour (segments never change), so one that
# retention deleted must be dropped from the kernel's cache when it goes
# (stat and open of it fail with ENOENT at once, not an hour later); and a
# topic whose last file was closed is no longer busy for rmdir(2), although
# FUSE tells the daemon of the close (RELEASE) after close(2) returned;
# nor while stat(2) of TOPIC/@N runs with nothing open (the daemon sizes
# the view with a reader that holds nothing).
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K || exit 1

# ---- a segment retention deletes ----
mkdir "$M/r"
seq -f 'rec %05g' 1 2000 | dd of="$M/r/tail" bs=10 conv=notrunc status=none
first=$(ls "$M/r" | grep '\.log$' | head -n 1)
check "the oldest segment is there and readable by name" cmp -s "$M/r/$first" "$M/r/$first"
stat "$M/r/$first" >/dev/null # its name and attributes now cached
setfattr -n user.logfs.retention_bytes -v 8K "$M/r"
wait_for 15 sh -c "[ \$(getfattr --only-values -n user.logfs.first_offset '$M/r' 2>/dev/null) -gt 0 ]"
check "retention deleted the oldest segment" \
	sh -c "! ls '$M/r' | grep -qx '$first'"
# The kernel is told from a thread of the daemon's right after the
# deletion: within a second (the cached entry would last an hour).
check "stat of the segment retention deleted fails with ENOENT" \
	wait_for 1 sh -c "! stat '$M/r/$first' 2>/dev/null"
check "... with ENOENT" fails_with ENOENT stat "$M/r/$first"
check "... and so does an open of it" fails_with ENOENT cat "$M/r/$first"

# ---- rmdir right after the last close ----
out=$("$LFS_BUILD/tests/tools/rmdirloop" "$M" c 2000 close 2>"$T/rmdir.err")
rc=$?
[ $rc -eq 0 ] || note "$(tail -n 3 "$T/rmdir.err")"
check "2000 times mkdir, write and close tail, rmdir: rmdir never fails" eq "$out" "rounds 2000 ebusy 0 other 0"
# ---- rmdir while @N is looked up ----
# Eight processes stat TOPIC/@0 and TOPIC/@-1h over and over, each GETATTR
# sizing a view over the topic's 50 segments; rmdir must never find the
# topic busy. (A reader that held the topic for those microseconds made
# about one rmdir in ten fail with EBUSY here.)
out=$("$LFS_BUILD/tests/tools/rmdirloop" "$M" a 40 at 50 2>"$T/rmdir.err")
rc=$?
[ $rc -eq 0 ] || note "$(tail -n 3 "$T/rmdir.err")"
check "40 times mkdir, 50 segments, rmdir while @0 and @-1h are stat'ed: rmdir never fails" \
	eq "$out" "rounds 40 ebusy 0 other 0"
# A copy that stays open keeps the topic busy, though its opener closed
# the other (the FLUSH of that close came from the opener).
mkdir "$M/d"
echo x >"$M/d/tail"
check "a topic with a copy of a file still open stays busy" \
	sh -c "exec 3<'$M/d/tail'; exec 4<&3; exec 3<&-; ! rmdir '$M/d' 2>/dev/null"
check "... and is removed once nothing is open" rmdir "$M/d"
lfs_umount "$M"

finish
