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
finish
