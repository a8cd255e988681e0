#!/bin/sh
# unprivileged: yes
# Held line fragments give their memory back (#15 item 12): 3000 handles
# each holding a fragment of about 1 MiB (3 GB, within held_max=4G) take
# the daemon's resident memory up by about that much; once they are closed
# it comes back to within 10% of what it was before.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
HELD=$LFS_BUILD/tests/tools/heldmany
N=${LFS_HELD_HANDLES:-3000}
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o held_max=4G || exit 1
mkdir "$M/t"
echo first >>"$M/t/tail"
cat "$M/t/tail" >/dev/null
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
# The same handles once with fragments of 10 bytes, and 300 with 1 MiB
# ones, first: what 3000 open handles cost whatever they hold (the
# allocator's arenas and free lists of their small objects) and what large
# writes cost (the worker threads they wake, each with its request buffer)
# is in the baseline; what is measured is the fragments' memory.
"$HELD" "$M/t/tail" "$N" 10 true >/dev/null
"$HELD" "$M/t/tail" 300 1048000 true >/dev/null
base=$(rss)
out=$("$HELD" "$M/t/tail" "$N" 1048000 "awk '/^VmRSS:/ { print \$2 }' /proc/$DPID/status >'$T/peak'")
check "the warm-up's 300 MiB of fragments came back too (RSS under 64 MiB)" \
	test "$base" -lt 65536
check "$N handles each hold a fragment of 1048000 bytes" eq "$out" "held $N 0"
peak=$(cat "$T/peak")
note "daemon RSS: $base KiB before, $peak KiB with the fragments held"
check "holding them took the memory (at least 2 GB more)" test $((peak - base)) -gt 2000000
# Closing a handle commits its fragment (with a newline): the memory is
# the allocator's once the appends are done; give the daemon a moment to
# finish the last releases (it acknowledged every close already).
after=$(rss)
note "daemon RSS after the closes: $after KiB"
check "RSS is back within 10% of its baseline" \
	test "$after" -le $((base + base / 10))
check "every fragment became a record" eq "$(xattr "$M/t" next_offset)" $((1 + N + 300 + N))
lfs_umount "$M"
finish
