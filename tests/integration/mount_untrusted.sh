#!/bin/sh
# SPEC "Security": the daemon never follows a link, opens a non-regular file
# or acts outside the volume directory, whatever is placed in it. Each case
# puts something in the volume (a symlink to a victim outside it, a FIFO, a
# directory) and checks that the victim's bytes are unchanged, the mount
# neither hangs nor fails as a whole, and the damaged topic alone is left out
# (with a message saying why).
. "$LFS_SRC/tests/lib/mount.sh"

FSCK=$LFS_BUILD/fsck.logfs
V=$T/vol
M=$T/mnt
SEG0=00000000000000000000

# A victim file and a victim directory outside the volume (made again for
# each case, so that each case is judged alone).
printf 'victim: these 56 bytes must never change, not one byte\n' >"$T/victim.orig"
victims()
{
	cp "$T/victim.orig" "$T/victim"
	rm -rf "$T/vdir"
	mkdir -p "$T/vdir/sub"
	echo keep >"$T/vdir/a"
	echo keep >"$T/vdir/sub/b"
}
victim_intact() { same "$T/victim" "$T/victim.orig"; }
vdir_intact() { [ "$(cat "$T/vdir/a" "$T/vdir/sub/b" 2>/dev/null)" = "keep
keep" ]; }

# fresh: a volume with topics t (one active segment) and ok, unmounted.
fresh()
{
	victims
	rm -rf "$V"
	vol_new "$V" -s 4K || exit 1
	lfs_mount "$V" "$M" || exit 1
	mkdir "$M/t" "$M/ok"
	lines 3 >>"$M/t/tail"
	lines 3 >>"$M/ok/tail"
	lfs_umount "$M"
}
lines 3 >"$T/three"

# ---- 1. a symlink as a segment's .log ----
fresh
rm "$V/topics/t/$SEG0.log"
ln -s "$T/victim" "$V/topics/t/$SEG0.log"
lfs_mount "$V" "$M" || exit 1
check "active .log a symlink: the topic is left out of the mount" test ! -e "$M/t"
check "... the other topics are mounted" same "$M/ok/tail" "$T/three"
check "... the daemon says which file and why" \
	grep -q "topic t: $SEG0.log is a symbolic link (never followed)" "$DERR"
check "... and that the topic is left out" grep -q "topic t: cannot load.*left out of the mount" "$DERR"
check "... mkdir of the left-out topic fails with EEXIST" fails_with EEXIST mkdir "$M/t"
lines 2 >>"$M/ok/tail"
lfs_umount "$M"
check "... the victim is unchanged after a mount and an unmount" victim_intact
check "... the symlink is still a symlink" test -L "$V/topics/t/$SEG0.log"
check "... fsck -n reports it (exit 4)" sh -c "'$FSCK' -n '$V' >'$T/fsck.out' 2>&1; [ \$? -eq 4 ]"
check "... fsck -n says the topic could not be checked" \
	grep -q "topic t: cannot check the topic (a file of it is a symbolic link" "$T/fsck.out"
check "... fsck -y repairs it (exit 1)" sh -c "'$FSCK' -y '$V' >'$T/fsck.out' 2>&1; [ \$? -eq 1 ]"
check "... by moving the symlink to lost+found" test -L "$V/lost+found/topics/t/$SEG0.log"
check "... the victim is unchanged by the repair" victim_intact
lfs_mount "$V" "$M" || exit 1
check "... after the repair the topic is mounted again" test -f "$M/t/tail"
lfs_umount "$M"

# The same after an unclean stop: recovery must not cut the victim either.
fresh
lfs_mount "$V" "$M" || exit 1
lines 2 >>"$M/t/tail"
crash "$M"
rm "$V/topics/t/$SEG0.log"
ln -s "$T/victim" "$V/topics/t/$SEG0.log"
lfs_mount "$V" "$M" || exit 1
check "after a crash: the topic with a symlinked .log is left out" test ! -e "$M/t"
check "after a crash: the other topics are mounted" same "$M/ok/tail" "$T/three"
lfs_umount "$M"
check "after a crash: recovery left the victim unchanged" victim_intact

# A symlink as a sealed segment's .idx, and as a summarised sealed .log.
fresh
lfs_mount "$V" "$M" || exit 1
seq -f 'rec %05g' 1 1000 >>"$M/t/tail"
lfs_umount "$M"
sealed=$(ls "$V/topics/t" | grep '\.log$' | head -n 1)
check "setup: t has a sealed segment" test "$(ls "$V/topics/t" | grep -c '\.log$')" -gt 1
rm "$V/topics/t/$sealed"
ln -s "$T/victim" "$V/topics/t/$sealed"
lfs_mount "$V" "$M" || exit 1
check "summarised sealed .log a symlink: reading it fails with EIO" \
	sh_fails_with EIO "timeout 10 cat '$M/t/$sealed' >/dev/null"
check "... the daemon says why" grep -q "topic t: $sealed is a symbolic link" "$DERR"
lfs_umount "$M"
check "... the victim is unchanged" victim_intact
rm "$V/topics/t/$sealed"
rm "$V/state"
ln -s "$T/victim" "$V/topics/t/$sealed"
lfs_mount "$V" "$M" || exit 1
check "sealed .log a symlink (no summary, recovery): reading it fails with EIO" \
	sh_fails_with EIO "timeout 10 cat '$M/t/$sealed' >/dev/null"
lfs_umount "$M"
check "... the victim is unchanged" victim_intact

# ---- 8. FIFOs where segment files should be ----
fresh
rm "$V/topics/t/$SEG0.log"
mkfifo "$V/topics/t/$SEG0.log"
check "a FIFO as the active .log: the mount does not hang" lfs_mount "$V" "$M"
check "... the topic is left out" test ! -e "$M/t"
check "... the daemon says why" grep -q "topic t: $SEG0.log is not a regular file" "$DERR"
check "... the other topics are mounted" same "$M/ok/tail" "$T/three"
lfs_umount "$M"
check "... the daemon exited after the unmount" test -n "$DSTATUS"

fresh
lfs_mount "$V" "$M" || exit 1
seq -f 'rec %05g' 1 1000 >>"$M/t/tail"
lfs_umount "$M"
sealed=$(ls "$V/topics/t" | grep '\.log$' | head -n 1)
rm "$V/topics/t/$sealed"
mkfifo "$V/topics/t/$sealed"
lfs_mount "$V" "$M" || exit 1
check "a FIFO as a summarised sealed .log: reading it fails with EIO, no hang" \
	sh_fails_with EIO "timeout 10 cat '$M/t/$sealed' >/dev/null"
lfs_umount "$M"
check "... and the unmount works" test -n "$DSTATUS"

# ---- 9. a directory where the active .log should be ----
fresh
rm "$V/topics/t/$SEG0.log"
mkdir "$V/topics/t/$SEG0.log"
check "a directory as the active .log: the mount works" lfs_mount "$V" "$M"
check "... the topic is left out" test ! -e "$M/t"
check "... the other topics are mounted" same "$M/ok/tail" "$T/three"
lfs_umount "$M"

# ---- 2. a symlink as the trash directory of a deleted topic ----
fresh
ln -s "$T/vdir" "$V/topics/.deleted.t"
lfs_mount "$V" "$M" || exit 1
check "rmdir of a topic whose trash name is a symlink works" rmdir "$M/t"
check "... the topic is gone" test ! -e "$M/t"
lfs_umount "$M"
check "... nothing outside the volume was deleted" vdir_intact
check "... the trash name is gone" test ! -e "$V/topics/.deleted.t"

fresh
ln -s "$T/vdir" "$V/topics/t/sub"
ln -s "$T/vdir/a" "$V/topics/t/file"
lfs_mount "$V" "$M" || exit 1
check "rmdir of a topic holding symlinks works" rmdir "$M/t"
lfs_umount "$M"
check "... nothing outside the volume was deleted" vdir_intact

# A crash left a trash directory that a symlink has replaced.
fresh
ln -s "$T/vdir" "$V/topics/.deleted.x"
rm "$V/state"
lfs_mount "$V" "$M" || exit 1
lfs_umount "$M"
check "a symlinked trash name at mount: nothing outside the volume deleted" vdir_intact

# ---- 3. symlinks at the temporary names ----
fresh
ln -s "$T/victim" "$V/.state.tmp"
ln -s "$T/victim" "$V/.summary.tmp"
ln -s "$T/victim" "$V/topics/t/.topic.conf.tmp"
lfs_mount "$V" "$M" || exit 1
check "setfattr on a topic with a symlink at .topic.conf.tmp works" \
	setfattr -n user.logfs.retention_ms -v 3600000 "$M/t"
check "chmod of a topic with a symlink at .topic.conf.tmp works" chmod 0700 "$M/t"
lfs_umount "$M"
check "state, summary and topic.conf written: the victim is unchanged" victim_intact
check "... the state file is a regular file" test -f "$V/state" -a ! -L "$V/state"
lfs_mount "$V" "$M" || exit 1
check "... and the volume mounts again with the settings kept" \
	eq "$(xattr "$M/t" retention_ms)" 3600000
lfs_umount "$M"

fresh
dd if=/dev/zero of="$V/superblock" bs=1 count=16 conv=notrunc status=none
ln -s "$T/victim" "$V/.superblock.tmp"
"$FSCK" -y "$V" >"$T/fsck.out" 2>&1
check "fsck repairing the superblock with a symlink at .superblock.tmp: victim unchanged" \
	victim_intact
check "... the superblock was repaired" "$FSCK" -n "$V"

# ---- 4. modes: the volume reveals no more than the mount ----
fresh
check "mkfs makes the volume directory 0700" eq "$(stat -c %a "$V")" 700
check "the topics directory is 0700" eq "$(stat -c %a "$V/topics")" 700
check "a topic's backing directory is 0700" eq "$(stat -c %a "$V/topics/t")" 700
check "backing files are 0600" eq "$(find "$V" -type f ! -perm 0600 | wc -l)" 0
mkdir -p "$T/existing"
chmod 0755 "$T/existing"
"$MKFS" -q "$T/existing" >/dev/null 2>&1
check "mkfs of an existing empty directory makes it 0700" eq "$(stat -c %a "$T/existing")" 700

finish
