#!/bin/sh
# A read never returns data that fails its checksum: a sealed segment whose
# bytes changed on disk after it was sealed (bit rot, a stray write) is
# checked when first mapped; reads before the bad batch succeed, reads from
# it fail with EIO, and the daemon logs it.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol M=$T/mnt
mkdir -p "$M"
vol_new "$V" -s 4K
lfs_mount "$V" "$M"
mkdir "$M/app"
i=0
while [ $i -lt 400 ]; do printf 'record %04d %s\n' $i "0123456789abcdef"; i=$((i + 1)); done >"$T/expect"
cat "$T/expect" >"$M/app/tail"
# One more batch so the first segment is sealed.
echo last >>"$M/app/tail"
lfs_umount "$M"

seg=$V/topics/app/00000000000000000000.log
size=$(stat -c %s "$seg")
check "the first segment is sealed with all the first batch" [ "$size" -eq "$(stat -c %s "$T/expect")" ]
# Flip one byte in the middle of the sealed data, behind logfs's back.
printf 'X' | dd of="$seg" bs=1 seek=5000 conv=notrunc status=none

lfs_mount "$V" "$M"
check "reading the damaged segment fails with EIO" sh_fails_with EIO "cat '$M/app/00000000000000000000.log' >/dev/null"
check "reading tail through the damaged segment fails with EIO" sh_fails_with EIO "cat '$M/app/tail' >/dev/null"
check "the daemon logged the checksum failure" grep -q "fails its checksum" "$DERR"
check "the record after the damaged segment is still readable" sh -c "[ \"\$(cat '$M/app/@400')\" = last ]"
lfs_umount "$M"

# The active segment after a clean unmount: what the earlier mount wrote is
# checked before it is served too (SPEC "Recovery": every record is checked
# before it is served for the first time after a mount).
vol_new "$V.2"
lfs_mount "$V.2" "$M"
mkdir "$M/act"
printf 'first\n' >>"$M/act/tail"
printf 'second\n' >>"$M/act/tail"
printf 'third\n' >>"$M/act/tail"
lfs_umount "$M"
printf 'X' | dd of="$V.2/topics/act/00000000000000000000.log" bs=1 seek=8 conv=notrunc status=none
lfs_mount "$V.2" "$M"
check "a damaged batch of the active segment is not served after a clean unmount (EIO)" \
	sh_fails_with EIO "cat '$M/act/tail' >/dev/null"
check "the records before it are served" eq "$(head -c 6 "$M/act/tail")" first
check "@N at the damaged record fails with EIO" sh_fails_with EIO "cat '$M/act/@1' >/dev/null"
check "the daemon logged it" grep -q "fails its checksum" "$DERR"
lfs_umount "$M"
check "the volume is left marked for recovery: fsck -n without -f finds the damage" \
	sh -c "! '$LFS_BUILD/fsck.logfs' -n '$V.2' >'$T/fsck.out' 2>&1"
check "fsck names the failing checksum" grep -q "checksum" "$T/fsck.out"

# A sealed segment damaged while the volume is mounted (docs/DESIGN.md,
# "Damage found while serving"): the read that meets the damaged batch fails
# with EIO and the daemon log names its range; the volume records the error,
# so fsck.logfs (even -n without -f) checks every record; fsck.logfs -y then
# loses that batch alone: reads skip it, @N inside it starts at the next
# record, its bytes are in lost+found, and no offset is given out again.
# 120 appends of one 45-byte line, segment size 4K: segment 0 (records
# 0..90) sealed, damaged after a remount; byte 20*45+10 lies in record 20, a batch of its own.
V3=$T/vol3
vol_new "$V3" -s 4K
lfs_mount "$V3" "$M"
mkdir "$M/d"
i=0
while [ $i -lt 120 ]; do
	printf 'record %04d %s\n' $i "0123456789abcdef0123456789abcdef" >>"$M/d/tail"
	printf 'record %04d %s\n' $i "0123456789abcdef0123456789abcdef"
	i=$((i + 1))
done >"$T/expect3"
# Loaded from disk by a later mount: its bytes are checked before they are
# served (a segment this daemon wrote is its own).
lfs_umount "$M"
lfs_mount "$V3" "$M"
seg3=$V3/topics/d/00000000000000000000.log
printf 'X' | dd of="$seg3" bs=1 seek=910 conv=notrunc status=none
check "a batch damaged while mounted: the read fails with EIO" \
	sh_fails_with EIO "cat '$M/d/00000000000000000000.log' >/dev/null"
check "a batch damaged while mounted: the log names its range" \
	grep -q "topic d: segment 0: batch at offset 20 fails its checksum: offsets 20..20 (1 record) damaged" "$DERR"
lfs_umount "$M"
check "a batch damaged while mounted: the volume records the error (fsck -n without -f finds it)" \
	sh -c "'$LFS_BUILD/fsck.logfs' -n '$V3' >'$T/fsck3.out' 2>&1; [ \$? -eq 4 ]"
check "a batch damaged while mounted: fsck -n names the lost range" \
	grep -q "offsets 20..21 lost" "$T/fsck3.out"
check "a batch damaged while mounted: fsck -y records the lost range" \
	sh -c "'$LFS_BUILD/fsck.logfs' -y '$V3' >'$T/fsck3.out' 2>&1; [ \$? -eq 1 ]"
check "a batch damaged while mounted: its bytes are in lost+found" \
	sh -c "sed -n 21p '$T/expect3' | cmp -l - '$V3/lost+found/topics/d/00000000000000000020.lost' | wc -l | grep -qx 1"
lfs_mount "$V3" "$M"
sed 21d "$T/expect3" >"$T/expect3b"
check "after fsck -y: tail serves every record but the lost one" same "$M/d/tail" "$T/expect3b"
check "after fsck -y: @20 starts at record 21" \
	eq "$(head -n 1 "$M/d/@20")" "$(sed -n 22p "$T/expect3")"
check "after fsck -y: @19 serves record 19, then record 21" \
	eq "$(head -n 2 "$M/d/@19" | cut -c1-11 | tr '\n' ' ')" "record 0019 record 0021 "
echo "after" >>"$M/d/tail"
check "after fsck -y: the next append gets offset 120 (no offset given out again)" \
	eq "$(cat "$M/d/@120")" after
lfs_umount "$M"
finish
