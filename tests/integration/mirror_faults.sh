#!/bin/sh
# SPEC "Mirroring to NATS JetStream", exactly once through failures, on a
# three-node JetStream cluster this test starts (R3 stream): kill -9 of the
# daemon at random moments while it mirrors (20 times), kill -9 of one
# server, of the stream's leader and of all three while appending, and
# retention while the cluster is down (nothing unmirrored is deleted,
# appends go on). After each, the stream holds every record exactly once,
# in order, byte for byte.
. "$LFS_SRC/tests/lib/mount.sh"
. "$LFS_SRC/tests/lib/nats.sh"

UUID=0b7c4a58-2f7e-4d0c-8a55-6e1f5d3c2b1a
V=$T/vol
M=$T/mnt
vol_new "$V" -U "$UUID" -s 16K || exit 1
nats_ports 3
for n in 1 2 3; do nats_start $n 3; done
for n in 1 2 3; do
	check "cluster node $n has JetStream (a leader is elected)" nats_wait $n 60
done
URLS="$(nats_url 1),$(nats_url 2),$(nats_url 3)"

mirrored() { [ "$(xattr "$M/t" mirror_lag)" = 0 ] && [ "$(xattr "$M/t" mirror_offset)" = "$(xattr "$M/t" next_offset)" ]; }
# exact [FILE]: the stream holds the topic's records exactly once, in order,
# byte for byte as FILE holds them (the topic's tail when no FILE is
# given), read from the first server that answers. A server just
# restarted may answer with the stream as it held it before its restart
# until it has caught up with the leader, so the dump is taken again until
# it holds as many records as the topic (for up to 60 s); a dump that breaks
# the order or the headers fails at once.
exact()
{
	_want=$(xattr "$M/t" next_offset)
	_tries=300
	while :; do
		_ok=1
		for _n in 1 2 3; do
			"$NATSTOOL" dump "$(nats_url $_n)" S "$T/pay" "$UUID/t/" >"$T/idx" 2>"$T/dump.err"
			_rc=$?
			[ $_rc = 1 ] && { note "dump from node $_n: $(head -c 300 "$T/dump.err")"; return 1; }
			[ $_rc = 0 ] && { _ok=0; break; }
		done
		[ $_ok = 0 ] && [ "$(wc -l <"$T/idx")" -eq "$_want" ] && break
		_tries=$((_tries - 1))
		[ $_tries -gt 0 ] || break
		sleep 0.2
	done
	[ $_ok = 0 ] || { note "dump: $(head -c 300 "$T/dump.err")"; return 1; }
	same "$T/pay" "${1:-$M/t/tail}" && eq "$(wc -l <"$T/idx")" "$_want"
}
# appender FIRST N: appends lines FIRST.. in batches of 25, in the
# background (BGPID), the way a slow producer does.
appender()
{
	bg sh -c "i=$1; end=\$(($1 + $2)); while [ \$i -lt \$end ]; do
		seq \$i \$((i + 24)) | sed 's/^/record /' >>'$M/t/tail' || exit 1
		i=\$((i + 25)); sleep 0.01; done"
	APID=$BGPID
}
rnd_sleep() { sleep "0.$(od -An -N1 -tu1 /dev/urandom | tr -d ' ' | cut -c1)"; }

lfs_mount "$V" "$M" -o "mirror=$URLS,mirror_replicas=3" || exit 1
mkdir "$M/t"
check "the mirror is set on an R3 stream" setfattr -n user.logfs.mirror -v S "$M/t"

# ---- kill -9 of the daemon at random moments, 20 times ----
next=0
r=1
while [ $r -le 20 ]; do
	appender $next 500
	next=$((next + 500))
	rnd_sleep
	crash "$M"
	wait "$APID" 2>/dev/null
	lfs_mount "$V" "$M" -o "mirror=$URLS,mirror_replicas=3" || exit 1
	r=$((r + 1))
done
next=$(xattr "$M/t" next_offset)
note "after 20 crashes the topic holds $next records"
check "after 20 kill -9 of the daemon the mirror catches up" wait_for 60 mirrored
check "after 20 kill -9: every record exactly once, in order, byte for byte" exact

# ---- kill -9 of one server, then of the stream's leader ----
leader=$(nats_node_of "$("$NATSTOOL" leader "$(nats_url 1)" S)")
other=$(( leader % 3 + 1 ))
note "stream leader: node $leader; killing node $other first"
appender 100000 2000
sleep 0.2
nats_kill $other
wait "$APID"
check "appends work while a server is down" eq "$(xattr "$M/t" next_offset)" $((next + 2000))
check "with one server down the mirror keeps up" wait_for 60 mirrored
nats_start $other 3
check "the killed server is back" nats_wait $other 60
check "after a server's kill -9: exactly once, in order" exact

# (a server just back may not know the stream's leader yet)
wait_for 60 sh -c "\"$NATSTOOL\" leader \"$(nats_url $other)\" S >\"$T/leader\" 2>/dev/null" ||
	note "node $other names no leader of S after 60 s"
leader=$(nats_node_of "$(cat "$T/leader")")
check "a leader of S is known" test -n "$leader"
note "killing the stream leader, node $leader"
appender 200000 2000
sleep 0.2
nats_kill $leader
wait "$APID"
check "with the leader killed the mirror catches up (new leader)" wait_for 60 mirrored
nats_start $leader 3
check "the old leader is back" nats_wait $leader 60
check "after the leader's kill -9: exactly once, in order" exact

# ---- the whole cluster down; retention meanwhile ----
cat "$M/t/tail" >"$T/expect"
appender 300000 1000
sleep 0.1
for n in 1 2 3; do nats_kill $n; done
wait "$APID"
seq 300000 300999 | sed 's/^/record /' >>"$T/expect"
has_error() { [ -n "$(xattr "$M/t" mirror_error)" ]; }
check "with the cluster down mirror_error says why" wait_for 20 has_error
lag=$(xattr "$M/t" mirror_lag)
acked=$(( $(xattr "$M/t" next_offset) - lag ))
note "the cluster is down with $lag records unacknowledged (from offset $acked)"
setfattr -n user.logfs.retention_bytes -v 16K "$M/t"
seq 400000 403999 | sed 's/^/record /' >"$T/more"
# 56 KiB more: the topic rolls several times, and retention runs at each roll.
check "appends keep working while the cluster is down" sh -c "cat '$T/more' >>'$M/t/tail'"
cat "$T/more" >>"$T/expect"
next=$(xattr "$M/t" next_offset)
check "retention deleted nothing unmirrored" sh -c "[ $(xattr "$M/t" first_offset) -le $acked ]"
check "every record since the last acknowledged one is still readable" \
	eq "$(cat "$M/t/@$acked" | wc -l)" $((next - acked))
for n in 1 2 3; do nats_start $n 3; done
for n in 1 2 3; do check "node $n is back after the outage" nats_wait $n 60; done
check "after the outage the backlog is mirrored" wait_for 90 mirrored
check "mirror_error is empty again" eq "$(xattr "$M/t" mirror_error)" ""
check "after the outage: every record exactly once, in order, byte for byte" exact "$T/expect"
moved() { [ "$(xattr "$M/t" first_offset)" -gt "$acked" ]; }
check "once mirrored, retention deletes again" wait_for 20 moved
lfs_umount "$M"
finish
