#!/bin/sh
# The mirror's acknowledgement deadline (docs/DESIGN.md, "The mirror"): with
# records in flight and no acknowledgement for 5 s, the session ends, says
# why in mirror_error and the log, and the next one resumes from what the
# stream holds. On a three-node cluster this test starts, the mirror talks
# to node 1 only and its stream (R1) lives on node 2; node 2 is stopped
# (SIGSTOP), so publishes are taken by node 1 and the connection stays
# healthy (node 1 answers its pings) but no acknowledgement ever comes:
# only the deadline notices. After SIGCONT the stream holds every record
# exactly once, in order.
. "$LFS_SRC/tests/lib/mount.sh"
. "$LFS_SRC/tests/lib/nats.sh"

UUID=3f0d2a6e-8c4b-4e1f-b7a9-5d6c7e8f9a0b
V=$T/vol
M=$T/mnt
vol_new "$V" -U "$UUID" || exit 1
nats_ports 3
for n in 1 2 3; do nats_start $n 3; done
for n in 1 2 3; do
	check "cluster node $n has JetStream (a leader is elected)" nats_wait $n 60
done
check "stream S (R1) is created on node 2" "$NATSTOOL" create "$(nats_url 1)" S logfs.t n2
check "node 2 leads stream S" eq "$("$NATSTOOL" leader "$(nats_url 1)" S)" n2

lfs_mount "$V" "$M" -o "mirror=$(nats_url 1)" || exit 1
mkdir "$M/t"
check "the mirror is set on stream S" setfattr -n user.logfs.mirror -v S "$M/t"
mirrored() { [ "$(xattr "$M/t" mirror_lag)" = 0 ] && [ "$(xattr "$M/t" mirror_offset)" = "$(xattr "$M/t" next_offset)" ]; }
seq 0 99 | sed 's/^/record /' >>"$M/t/tail"
check "the first 100 records are mirrored" wait_for 30 mirrored

nats_signal 2 STOP
seq 100 199 | sed 's/^/record /' >>"$M/t/tail"
deadline_logged() { grep -q 'mirror t -> S: connecting: no acknowledgement from the stream for 5 s' "$DERR"; }
check "with the stream's server stopped, the 5 s deadline ends the session (logged)" wait_for 30 deadline_logged
check "the records are still unacknowledged" sh -c "[ $(xattr "$M/t" mirror_lag) -gt 0 ]"
check "mirror_error is set" sh -c "[ -n \"$(xattr "$M/t" mirror_error)\" ]"
nats_signal 2 CONT
check "after SIGCONT the mirror catches up" wait_for 60 mirrored
check "mirror_error is empty again" eq "$(xattr "$M/t" mirror_error)" ""
check "every record exactly once, in order, byte for byte" sh -c "
	\"$NATSTOOL\" dump '$(nats_url 1)' S '$T/pay' '$UUID/t/' >'$T/idx' && [ \$(wc -l <'$T/idx') = 200 ] && cmp -s '$T/pay' '$M/t/tail'"
lfs_umount "$M"
finish
