#!/bin/sh
# unprivileged: yes
# Running out of descriptors (#15 item 11): a mkdir that fails with EMFILE
# leaves no backing directory behind (it used to: the next mount took it for
# a damaged topic), the daemon keeps serving, and the volume mounts again.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" || exit 1
mkdir "$M/first"
echo one >>"$M/first/tail"

# The daemon's soft descriptor limit a few above what it has open now:
# some mkdir among the next ones runs out. (The daemon raised its soft limit
# to the hard one at start: lowering the soft one is what an unprivileged
# test can do.)
nfd=$(ls "/proc/$DPID/fd" | wc -l)
lim=$((nfd + 8))
hard=$(prlimit --pid "$DPID" --nofile --output HARD --noheadings)
check "the daemon raised its soft descriptor limit to the hard one" \
	eq "$(prlimit --pid "$DPID" --nofile --output SOFT --noheadings)" "$hard"
check "the daemon's descriptor limit can be lowered (prlimit)" \
	prlimit --pid "$DPID" --nofile="$lim:$hard"
i=0
failed=""
while [ $i -lt 40 ]; do
	if ! mkdir "$M/t$i" 2>"$T/mkdir.err"; then
		failed=t$i
		break
	fi
	i=$((i + 1))
done
check "a mkdir fails once the daemon is out of descriptors" test -n "$failed"
check "it fails with EMFILE (Too many open files)" grep -q "Too many open files" "$T/mkdir.err"
check "the failed mkdir left no backing directory" test ! -e "$V/topics/$failed"
check "the failed topic is not in the mount" test ! -e "$M/$failed"
check "the volume's topics are exactly the mount's" \
	eq "$(ls "$V/topics" | sort | tr '\n' ' ')" "$(ls "$M" | sort | tr '\n' ' ')"
check "an existing topic still reads" eq "$(cat "$M/first/tail")" one
# The unmount while still out of descriptors: libfuse ends its threads
# with pthread_cancel, whose unwinder glibc used to load only then, and
# could not: the daemon aborted (exit 134) instead of closing the volume.
lfs_umount "$M"

lfs_mount "$V" "$M" || exit 1
check "the volume mounts again with every topic made" \
	eq "$(ls "$M" | wc -l)" "$((i + 1))"
check "nothing was left out of the mount" sh -c "! grep -q 'left out' '$DERR'"
check "the failed name can be made now" mkdir "$M/$failed"
lfs_umount "$M"
finish
