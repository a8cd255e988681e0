#!/bin/sh
# SPEC "Mount options": each option's effect, suffixes, defaults from mkfs,
# bad values refused. (sync= and ro are also in mount_append.sh and
# mount_errors.sh, retention_* in mount_retention.sh.)
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" -s 8K || exit 1

# ---- the volume default comes from mkfs -s ----
lfs_mount "$V" "$M" || exit 1
mkdir "$M/d"
check "without segment_size=, a topic uses the volume default (mkfs -s 8K)" eq "$(xattr "$M/d" segment_size)" 8192
seq -f 'rec %015g' 1 500 | dd of="$M/d/tail" bs=20 conv=notrunc status=none
check "... and rolls at it" eq "$(size "$M/d/00000000000000000000.log")" 8180
lfs_umount "$M"

# ---- suffixes ----
lfs_mount "$V" "$M" -o segment_size=1M,retention_bytes=1G,retention_ms=2d,segment_ms=5m,max_record=64K,sync=1s || exit 1
check "segment_size=1M is 1048576 bytes" eq "$(xattr "$M/d" segment_size)" 1048576
check "retention_bytes=1G is 1073741824 bytes" eq "$(xattr "$M/d" retention_bytes)" 1073741824
check "retention_ms=2d is 172800000 ms" eq "$(xattr "$M/d" retention_ms)" 172800000
check "segment_ms=5m is 300000 ms" eq "$(xattr "$M/d" segment_ms)" 300000
check "max_record=64K is 65536 bytes" eq "$(xattr "$M/d" max_record)" 65536
check "sync=1s is 1000 ms" eq "$(xattr "$M/d" sync)" 1000
lfs_umount "$M"

# ---- segment_ms: roll when the active segment's first record is older ----
lfs_mount "$V" "$M" -o segment_ms=1s || exit 1
mkdir "$M/age"
echo first >>"$M/age/tail"
echo second >>"$M/age/tail"
check "segment_ms=1s: no roll within the first second" eq "$(ls "$M/age" | tr '\n' ' ')" "cursors tail "
sleep 1.3
echo third >>"$M/age/tail"
check "segment_ms=1s: the next append after a second rolls the segment" \
	eq "$(ls "$M/age" | tr '\n' ' ')" "00000000000000000000.log cursors tail "
check "segment_ms: the sealed segment holds the older records" eq "$(cat "$M/age/00000000000000000000.log")" "$(printf 'first\nsecond')"
check "segment_ms: tail holds everything" eq "$(cat "$M/age/tail")" "$(printf 'first\nsecond\nthird')"
lfs_umount "$M"
lfs_mount "$V" "$M" -o segment_ms=0 || exit 1
echo fourth >>"$M/age/tail"
sleep 1.3
echo fifth >>"$M/age/tail"
check "segment_ms=0: never rolls by age" eq "$(ls "$M/age" | tr '\n' ' ')" "00000000000000000000.log cursors tail "
lfs_umount "$M"

# ---- framing=write as a mount option: the default of new topics ----
lfs_mount "$V" "$M" -o framing=write || exit 1
mkdir "$M/fw"
check "framing=write: new topics get write framing" eq "$(xattr "$M/fw" framing)" write
printf 'a\nb\nc\n' >>"$M/fw/tail"
check "framing=write: one record for a write of three lines" eq "$(xattr "$M/fw" next_offset)" 1
check "framing=write: existing topics keep their framing" eq "$(xattr "$M/age" framing)" line
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
check "framing of a topic made under framing=write stays write without the option" eq "$(xattr "$M/fw" framing)" write
lfs_umount "$M"

# ---- max_record ----
lfs_mount "$V" "$M" -o max_record=10 || exit 1
check "max_record=10: a 10-byte line passes" sh -c "echo 123456789 >>'$M/age/tail'"
check "max_record=10: an 11-byte line fails with EMSGSIZE" \
	"$LFSIO" open 0 wa "$M/age/tail" expect EMSGSIZE write 0 '1234567890\n' close 0
lfs_umount "$M"

# ---- bad values: refused, nothing mounted ----
for opt in segment_size=abc segment_size=10Q segment_ms=fast retention_bytes=-1 retention_ms=5y \
	sync=sometimes framing=xml max_record=huge nosuchoption=1; do
	"$LOGFS" "$V" "$M" -f -o "$opt" >"$T/o" 2>"$T/e" &
	p=$!
	_pids="$_pids $p"
	if wait_gone "$p" 10; then
		wait "$p"
		rc=$?
	else
		rc=running
		lfs_umount "$M" "$p"
	fi
	check "-o $opt is refused (non-zero exit, a message)" sh -c "[ '$rc' != running ] && [ '$rc' -ne 0 ] && [ -s '$T/e' ]"
done
check "after the refusals nothing is mounted" sh -c "! grep -q ' $M ' /proc/self/mountinfo"
check "after the refusals the volume mounts" lfs_mount "$V" "$M"
lfs_umount "$M"

# ---- framing=write with a max_record one write request cannot carry ----
_mounts="$_mounts $M"
timeout -s INT 20 "$LOGFS" "$V" "$M" -f -o framing=write,max_record=4M >"$T/o" 2>"$T/e"
rc=$?
check "-o framing=write,max_record=4M is a usage error (exit 2)" eq "$rc" 2
check "... saying what the bound is" grep -q "with framing=write at most" "$T/e"

# ---- the superblock's defaults: range-checked; a damaged primary: logged ----
TOOLS=$LFS_BUILD/tests/tools
cp -a "$V" "$T/sbd"
"$TOOLS/lfs_sbver" "$T/sbd" - max_record=0 || exit 1
"$LOGFS" "$T/sbd" "$M" -f >"$T/o" 2>"$T/e" &
p=$!
_pids="$_pids $p"
if wait_gone "$p" 10; then wait "$p"; rc=$?; else rc=running; lfs_umount "$M" "$p"; fi
check "a superblock default out of range (max_record=0, valid checksum): mount refused" \
	sh -c "[ '$rc' != running ] && [ '$rc' -ne 0 ]"
check "... naming the setting and fsck.logfs" grep -q "default max_record is out of range: run fsck.logfs" "$T/e"
rm -rf "$T/sbd"
cp -a "$V" "$T/sbd"
"$TOOLS/lfs_flip" "$T/sbd/superblock" 40 0
check "a damaged primary superblock: the volume mounts from the backup copy" lfs_mount "$T/sbd" "$M"
check "... and the daemon logs it" grep -q "primary superblock damaged: using the backup copy" "$DERR"
lfs_umount "$M"
check "... and fsck.logfs still finds it to restore" \
	sh -c "! '$LFS_BUILD/fsck.logfs' -n '$T/sbd' >/dev/null 2>&1"

finish
