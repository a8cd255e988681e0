#!/bin/sh
# unprivileged: yes
# The mount point after a daemon crash (logfs.8, SIGNALS): a dead logfs
# mount left on it is recognised and replaced by the next mount (a lazy
# unmount as root, fusermount3 -uz for its user), and a live logfs mount is
# never mounted over.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
mounts_at() { awk -v m="$1" '$5 == m' /proc/self/mountinfo | wc -l; }
# lfs_mount returns at once while the dead mount is listed: wait for a
# logfs mount that answers (the dead one cannot be stat'ed; mount ids are
# reused, so they cannot tell the two apart).
new_mount() { stat "$M" >/dev/null 2>&1 && is_mounted "$M" && [ "$(mounts_at "$M")" = 1 ]; }

# ---- a dead mount: the daemon was killed ----
lfs_mount "$V" "$M" || exit 1
mkdir "$M/app"
seq 100 >>"$M/app/tail"
kill -9 "$DPID"
wait_gone "$DPID" 10
wait "$DPID" 2>/dev/null
check "setup: the mount point is dead (ENOTCONN)" fails_with ENOTCONN stat "$M"
check "setup: the dead mount is still listed" eq "$(mounts_at "$M")" 1
lfs_mount "$V" "$M" 2>/dev/null
check "logfs mounts on a dead logfs mount" wait_for 20 new_mount
check "and says it replaced it" grep -q 'replaced the dead logfs mount' "$DERR"
check "one mount on the mount point, not two" eq "$(mounts_at "$M")" 1
check "the volume was recovered and serves its data" eq "$(wc -l <"$M/app/tail")" 100
echo more >>"$M/app/tail"
check "and takes appends" eq "$(tail -n 1 "$M/app/tail")" more

# ---- a live mount is not mounted over ----
V2=$T/vol2
vol_new "$V2" || exit 1
"$LOGFS" "$V2" "$M" -f >"$T/o" 2>"$T/e"
rc=$?
check "mounting over a live logfs mount fails" test "$rc" -ne 0
check "and says it is a live logfs mount, with the command to unmount it" \
	grep -q "already a logfs mount (of $V).*fusermount3 -u $M" "$T/e"
check "still one mount on the mount point" eq "$(mounts_at "$M")" 1
check "the live mount still serves its volume" eq "$(tail -n 1 "$M/app/tail")" more
check "the refused volume is not locked" sh -c "flock -n '$V2' true"
lfs_umount "$M"
check "the daemon exits 0 after the replacement mount's unmount" eq "$DSTATUS" 0
check "fsck.logfs -f: clean" "$LFS_BUILD/fsck.logfs" -f "$V"
finish
