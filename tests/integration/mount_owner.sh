#!/bin/sh
# unprivileged: yes
# SPEC "Security": the mount's root belongs to the volume's owner, so a user
# mounts and uses their own volume; a volume that root mounted or repaired
# stays its owner's (everything root's daemon, fsck.logfs or mkfs.logfs -F
# created in it belongs to the owner). tests/run.sh runs this suite as root
# and as an ordinary user.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K || exit 1
check "the mount's root belongs to the volume's owner" \
	eq "$(stat -c %u:%g "$M")" "$(stat -c %u:%g "$V")"
check "the mount's root is mode 0755" eq "$(stat -c %a "$M")" 755
check "the volume's owner makes a topic in the mount" mkdir "$M/app"
check "and appends to it" sh -c "seq 3000 >>'$M/app/tail'"
check "and reads it back" eq "$(wc -l <"$M/app/tail")" 3000
check "and lists it" eq "$(ls "$M")" app
lfs_umount "$M"
check "fsck.logfs -f: clean" "$LFS_BUILD/fsck.logfs" -f "$V"

if ! as_root; then
	skip "root's mount of a user's volume" "needs root"
	finish
fi

# ---- root mounts and repairs a volume that belongs to another user ----
# The owner (nobody) must reach the volume by its path, as in a home.
O=65534
chmod 0711 "$T"
UV=$T/uvol
mkdir "$UV"
chown $O:$O "$UV"
setpriv --reuid=$O --regid=$O --clear-groups "$MKFS" -q "$UV" >"$T/o" 2>&1
check "the user makes a volume (test setup)" eq "$?" 0
lfs_mount "$UV" "$M" -o segment_size=4K || exit 1
check "root's mount of a user's volume: the root belongs to the user" \
	eq "$(stat -c %u:%g "$M")" "$O:$O"
mkdir "$M/app" "$M/b"
seq 5000 >>"$M/app/tail"
echo one >>"$M/b/tail"
check "root's mount rolled segments (test setup)" test -e "$M/app/00000000000000000000.log"
lfs_umount "$M"
find "$UV" ! -user $O -o ! -group $O >"$T/foreign"
check "everything root's daemon created in the volume belongs to the owner" \
	eq "$(head -n 5 "$T/foreign")" ""
# A crash, then root's fsck.logfs repairs (recovery, lost+found, fsck.log).
lfs_mount "$UV" "$M" || exit 1
seq 100 >>"$M/app/tail"
crash "$M"
"$LFS_BUILD/fsck.logfs" -y -f "$UV" >"$T/o" 2>&1
check "root's fsck.logfs -y of the user's volume runs (exit 0 or 1)" test "$?" -le 1
find "$UV" ! -user $O -o ! -group $O >"$T/foreign"
check "everything root's fsck.logfs created in the volume belongs to the owner" \
	eq "$(head -n 5 "$T/foreign")" ""
check "the owner's fsck.logfs then checks the volume clean" \
	setpriv --reuid=$O --regid=$O --clear-groups "$LFS_BUILD/fsck.logfs" -f "$UV"
# The owner can still write every file (a later mount of theirs appends,
# recovers and rolls).
check "the owner can write every file of the volume" \
	setpriv --reuid=$O --regid=$O --clear-groups sh -c "find '$UV' -type f ! -writable | grep -q . && exit 1; exit 0"
"$MKFS" -F -q "$UV" >"$T/o" 2>&1
check "root's mkfs.logfs -F of the user's volume works" eq "$?" 0
find "$UV" ! -user $O -o ! -group $O >"$T/foreign"
check "everything root's mkfs.logfs -F wrote belongs to the owner" \
	eq "$(head -n 5 "$T/foreign")" ""
chmod 0700 "$T"
finish
