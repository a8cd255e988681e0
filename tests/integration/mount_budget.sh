#!/bin/sh
# The mount option held_max (docs/logfs.8): all handles' held line
# fragments together take at most that much memory; a write past it fails
# with ENOBUFS and appends nothing, and the room comes back when a line ends
# or a handle closes.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
check "held_max=0 is refused" sh -c "! '$LOGFS' '$V' '$M' -f -o held_max=0 2>/dev/null"
check "held_max=junk is refused" sh -c "! '$LOGFS' '$V' '$M' -f -o held_max=junk 2>/dev/null"
lfs_mount "$V" "$M" -o held_max=64K || exit 1
mkdir "$M/t"

# Handle 1 holds 40000 bytes; handle 2's 40000 would pass 64 KiB.
check "a write past the budget fails with ENOBUFS; ending the first line makes room" \
	"$LFSIO" open 1 wa "$M/t/tail" open 2 wa "$M/t/tail" \
	writen 1 40000 120 \
	write 2 'done\n' \
	expect ENOBUFS writen 2 40000 121 \
	content "$M/t/tail" 'done\n' \
	write 1 '\n' \
	writen 2 40000 121 \
	close 2 close 1
check "the records are the two long lines and the short one" \
	eq "$(awk '{ print length($0) }' "$M/t/tail" | tr '\n' ' ')" "4 40000 40000 "
check "the refused write appended nothing" eq "$(xattr "$M/t" next_offset)" 3
lfs_umount "$M"
finish
