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

# ---- 6. a flipped byte in an index entry's pos of a sealed segment ----
fresh
lfs_mount "$V" "$M" || exit 1
# Batches of 10 records after the 3 of fresh: @5 is inside the second
# batch (offsets 3..12), reached by skipping lines.
for i in $(seq 0 99); do lines 10 $((i * 10)) >"$T/b"; dd if="$T/b" of="$M/t/tail" bs=4K conv=notrunc status=none oflag=append; done
lfs_umount "$M"
check "setup: segment 0 is sealed" test -e "$V/topics/t/00000000000000000500.log" -o \
	"$(ls "$V/topics/t" | grep -c '\.log$')" -gt 1
# Entry 1 starts at byte 64 + 48; its pos is the 8 bytes at +8: flip the top one.
"$LFS_BUILD/tests/tools/lfs_flip" "$V/topics/t/$SEG0.idx" $((64 + 48 + 15)) 6
lfs_mount "$V" "$M" || exit 1
check "stat of @5 over a damaged index entry fails with EIO" fails_with EIO stat "$M/t/@5"
check "... so does reading it" sh_fails_with EIO "cat '$M/t/@5' >/dev/null"
check "... the daemon is alive" alive "$DPID"
check "... the other topics still read" same "$M/ok/tail" "$T/three"
lfs_umount "$M"

# ---- 7. a sealed .log cut behind the mounted daemon ----
fresh
lfs_mount "$V" "$M" -o segment_size=4M || exit 1
seq -f 'record %07g' 1 500000 | dd of="$M/t/tail" bs=64K status=none
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
# The first 1 MiB read (and checked) before the cut, the rest not.
dd if="$M/t/$SEG0.log" of=/dev/null bs=64K count=16 status=none
truncate -s 512K "$V/topics/t/$SEG0.log"
sync
echo 3 >/proc/sys/vm/drop_caches
check "a sealed .log cut after it was mapped: reading past the cut fails with EIO" \
	sh_fails_with EIO "timeout 20 dd if='$M/t/$SEG0.log' of=/dev/null bs=64K skip=48 count=1 status=none"
check "... the daemon is alive" alive "$DPID"
check "... reading checked bytes past the cut fails with EIO, no hang" \
	sh_fails_with EIO "timeout 20 dd if='$M/t/$SEG0.log' of=/dev/null bs=4K skip=200 count=1 status=none"
check "... the daemon is still alive" alive "$DPID"
check "... the other topics still read" same "$M/ok/tail" "$T/three"
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

# ---- 5. a damaged topic.conf never widens access or changes framing ----
fresh
lfs_mount "$V" "$M" || exit 1
mkdir "$M/s"
setfattr -n user.logfs.framing -v write "$M/s"
chown 1234:1235 "$M/s"
chmod 0700 "$M/s"
printf 'held' >"$M/s/tail"
lfs_umount "$M"
check "setup: topic.conf says mode 700, owner 1234, framing write" \
	sh -c "grep -qx mode=700 '$V/topics/s/topic.conf' && grep -qx uid=1234 '$V/topics/s/topic.conf' && grep -qx framing=write '$V/topics/s/topic.conf'"
# Overwrite the first line (CRC mismatch), as a damaged disk might.
printf 'mode=777\n' | dd of="$V/topics/s/topic.conf" conv=notrunc status=none
lfs_mount "$V" "$M" || exit 1
check "damaged topic.conf: the topic is left out of the mount" test ! -e "$M/s"
check "... the daemon says why" grep -q "topic s: topic.conf damaged" "$DERR"
check "... the other topics are mounted" same "$M/ok/tail" "$T/three"
lfs_umount "$M"
check "... fsck -n reports it (exit 4)" sh -c "'$FSCK' -n '$V' >'$T/fsck.out' 2>&1; [ \$? -eq 4 ]"
check "... fsck -y repairs it (exit 1)" sh -c "'$FSCK' -y '$V' >'$T/fsck.out' 2>&1; [ \$? -eq 1 ]"
lfs_mount "$V" "$M" || exit 1
check "... after the repair: owner from the directory, mode no wider than before" \
	eq "$(stat -c '%a %u %g' "$M/s")" "700 1234 1235"
check "... framing from the segments" eq "$(xattr "$M/s" framing)" write
check "... the record is there" eq "$(cat "$M/s/tail")" held
lfs_umount "$M"

# ---- 14. a missing topics/ directory is named ----
fresh
rm -rf "$V/topics"
mkdir -p "$M"
timeout 20 "$LOGFS" "$V" "$M" -f >"$T/out" 2>&1
check "no topics/: the mount fails" test $? -eq 1
check "... saying that topics/ is missing" grep -q "its directory 'topics' is missing: run fsck.logfs" "$T/out"
check "... not that there is no superblock" sh -c "! grep -q superblock '$T/out'"
ln -s "$T/vdir" "$V/topics"
timeout 20 "$LOGFS" "$V" "$M" -f >"$T/out" 2>&1
check "topics/ a symlink: the mount fails, saying so" grep -q "its directory 'topics' is a symbolic link" "$T/out"
check "... and nothing outside the volume changed" vdir_intact

# ---- 4. modes: the volume reveals no more than the mount ----
fresh
check "mkfs makes the volume directory 0700" eq "$(stat -c %a "$V")" 700
check "the topics directory is 0700" eq "$(stat -c %a "$V/topics")" 700
check "a topic's backing directory is 0700" eq "$(stat -c %a "$V/topics/t")" 700
check "backing files are 0600" eq "$(find "$V" -type f ! -perm 0600 | wc -l)" 0
lfs_mount "$V" "$M" || exit 1
mkdir -m 0700 "$M/secret"
echo classified >>"$M/secret/tail"
lfs_umount "$M"
check "a 0700 topic's backing files are 0600" \
	eq "$(stat -c %a "$V/topics/secret/$SEG0.log" "$V/topics/secret/$SEG0.idx" | sort -u)" 600
# Modes made wider behind the daemon's back (or by an older version).
chmod 0644 "$V/topics/secret/$SEG0.log"
chmod 0755 "$V/topics/secret"
chmod 0666 "$V/topics/ok/$SEG0.idx"
check "fsck -n reports backing files wider than their topic (exit 4)" \
	sh -c "'$FSCK' -n '$V' >'$T/fsck.out' 2>&1; [ \$? -eq 4 ]"
check "... the file of the 0700 topic" grep -q "topic secret: '$SEG0.log' mode 644 is wider than the topic's 700" "$T/fsck.out"
check "... the directory of the 0700 topic" grep -q "topic secret: backing directory mode 755 is wider than the topic's 700" "$T/fsck.out"
check "... a file writable by others in a 0755 topic" grep -q "topic ok: '$SEG0.idx' mode 666 is wider than the topic's 755" "$T/fsck.out"
check "... and nothing else" eq "$(grep -c 'wider than' "$T/fsck.out")" 3
check "fsck -y narrows them (exit 1)" sh -c "'$FSCK' -y '$V' >'$T/fsck.out' 2>&1; [ \$? -eq 1 ]"
check "... to 0600 and 0700" eq "$(stat -c %a "$V/topics/secret/$SEG0.log" "$V/topics/secret" "$V/topics/ok/$SEG0.idx" | tr '\n' ' ')" "600 700 600 "
check "... and the volume is clean then" "$FSCK" -n "$V"
mkdir -p "$T/existing"
chmod 0755 "$T/existing"
"$MKFS" -q "$T/existing" >/dev/null 2>&1
check "mkfs of an existing empty directory makes it 0700" eq "$(stat -c %a "$T/existing")" 700

finish
