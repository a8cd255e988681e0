#!/bin/sh
# unprivileged: yes
# SPEC mount option passthrough=on (the default): an ordinary user's daemon
# has no CAP_SYS_ADMIN, which the kernel's FUSE passthrough needs, so it
# says once that it reads sealed segments itself and serves them as before;
# root's daemon reads them through passthrough. The same bytes either way.
# tests/run.sh runs this suite as root and as an ordinary user.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol M=$T/mnt
vol_new "$V" -s 64K || exit 1
lfs_mount "$V" "$M" || exit 1
mkdir "$M/app"
seq 1 40000 >"$T/all"
# 16 KiB writes: batches smaller than the segments, which then roll.
dd if="$T/all" of="$M/app/tail" bs=16k conv=notrunc status=none
S=$(ls "$M/app" | head -n 1)
check "setup: a sealed segment" test "$S" = 00000000000000000000.log
lfs_umount "$M"

lfs_mount "$V" "$M" -d || exit 1
ino=$(stat -c %i "$M/app/$S")
if as_root; then
	check "root's daemon reads sealed segments through FUSE passthrough" \
		grep -q "sealed segments are read through FUSE passthrough" "$DERR"
else
	check "a user's daemon says, once, that passthrough needs CAP_SYS_ADMIN" \
		eq "$(grep -c 'sealed segments are read through the daemon: FUSE passthrough needs CAP_SYS_ADMIN' "$DERR")" 1
fi
check "cat of a sealed segment is its data file" same "$M/app/$S" "$V/topics/app/$S"
"$LFSIO" open 0 r "$M/app/$S" mmap 0 close 0 >"$T/mmap.out"
check "mmap of it is its data file" same "$T/mmap.out" "$V/topics/app/$S"
reads=$(grep -c "opcode: READ (15), nodeid: $ino," "$DERR")
if as_root; then
	check "root: no read of it reached the daemon" eq "$reads" 0
else
	check "a user: the daemon served its reads" test "$reads" -gt 0
fi
check "tail is the whole log" same "$M/app/tail" "$T/all"
lfs_umount "$M"
finish
