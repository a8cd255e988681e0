#!/bin/sh
# SPEC "Mirroring to NATS JetStream", on a one-node JetStream server this
# test starts: the mount options and their errors, user.logfs.mirror and the
# status xattrs, every record of both framings in the stream exactly once,
# in order, byte for byte with the right headers, names and streams refused,
# a mount while the cluster is unreachable, and turning a mirror off.
. "$LFS_SRC/tests/lib/mount.sh"
. "$LFS_SRC/tests/lib/nats.sh"

UUID=6d1e0c52-5b1a-4c7e-9f3a-0a1b2c3d4e5f
V=$T/vol
M=$T/mnt
vol_new "$V" -U "$UUID" || exit 1
nats_ports 1
nats_start 1
check "a one-node JetStream server comes up" nats_wait 1
URL=$(nats_url 1)

# ---- mount options ----
bad_option()
{
	_o=$1
	_want=$2
	env "$LOGFS" "$V" "$M" -f -o "$_o" >"$T/bo.out" 2>&1
	_rc=$?
	[ "$_rc" -eq 2 ] && grep -q "$_want" "$T/bo.out" && ! is_mounted "$M" && return 0
	note "-o $_o: exit $_rc: $(head -c 300 "$T/bo.out")"
	return 1
}
mkdir -p "$M"
check "mirror= without a URL is refused" bad_option "mirror=" "no URL given"
check "mirror=http://... is refused" bad_option "mirror=http://127.0.0.1:4222" "not a nats://HOST:PORT URL"
check "a URL without a port is refused" bad_option "mirror=nats://127.0.0.1" "no HOST:PORT"
check "port 0 is refused" bad_option "mirror=nats://127.0.0.1:0" "invalid port"
check "port 65536 is refused" bad_option "mirror=nats://127.0.0.1:65536" "invalid port"
check "a bad second URL is refused" bad_option "mirror=$URL,nats://x:y" "invalid port"
check "mirror_replicas=0 is refused" bad_option "mirror=$URL,mirror_replicas=0" "replica count from 1 to 5"
check "mirror_replicas=6 is refused" bad_option "mirror=$URL,mirror_replicas=6" "replica count from 1 to 5"
check "mirror_replicas=x is refused" bad_option "mirror=$URL,mirror_replicas=x" "replica count from 1 to 5"
check "mirror_replicas without mirror= is refused" bad_option "mirror_replicas=3" "needs mirror="

# ---- both framings, exactly once ----
# Two URLs, the first of them dead: the mirror connects to the other one.
DEAD=nats://127.0.0.1:$("$NATSTOOL" port)
lfs_mount "$V" "$M" -o "mirror=$DEAD,$URL,mirror_replicas=1" || exit 1
mkdir "$M/lines" "$M/writes"
setfattr -n user.logfs.framing -v write "$M/writes"
check "a topic is not mirrored by default" eq "$(xattr "$M/lines" mirror)" ""
check "mirror_offset is absent while not mirrored" sh -c "! getfattr -n user.logfs.mirror_offset '$M/lines' >/dev/null 2>&1"
check "user.logfs.mirror is listed, the status not while unmirrored" sh -c "getfattr -d -m - '$M/lines' | grep -c 'user.logfs.mirror' | grep -qx 1"
# Records before the mirror is set are mirrored too (from the first one).
lines 100 >"$T/l1"
cat "$T/l1" >>"$M/lines/tail"
check "setting user.logfs.mirror works" setfattr -n user.logfs.mirror -v LINES "$M/lines"
check "user.logfs.mirror reads back" eq "$(xattr "$M/lines" mirror)" LINES
check "the mirror's status is listed once mirrored" sh -c "getfattr -d -m - '$M/lines' | grep -c 'user.logfs.mirror' | grep -qx 4"
check "setting it on a write-framed topic works" setfattr -n user.logfs.mirror -v WRITES "$M/writes"
# Lines in pieces: a record split over two writes is one message.
lines 1000 101 >"$T/l2"
dd if="$T/l2" of="$M/lines/tail" bs=777 oflag=append conv=notrunc status=none
cat "$T/l1" "$T/l2" >"$T/lines.all"
# Binary records, one write each, with newlines and NULs inside.
: >"$T/w.all"
: >"$T/w.lens"
i=1
while [ $i -le 60 ]; do
	n=$(( (i * 977) % 5000 + 1 ))
	head -c "$n" /dev/urandom >"$T/rec"
	dd if="$T/rec" of="$M/writes/tail" bs=1M oflag=append conv=notrunc status=none
	cat "$T/rec" >>"$T/w.all"
	echo "$n" >>"$T/w.lens"
	i=$((i + 1))
done
check "a newline-only write is a record too" sh -c "printf '\n' >>'$M/writes/tail'"
printf '\n' >>"$T/w.all"
echo 1 >>"$T/w.lens"

mirrored() { [ "$(xattr "$1" mirror_lag)" = 0 ] && [ "$(xattr "$1" mirror_offset)" = "$2" ]; }
check "the line topic is mirrored (lag 0, offset 1100)" wait_for 20 mirrored "$M/lines" 1100
check "the write topic is mirrored (lag 0, offset 61)" wait_for 20 mirrored "$M/writes" 61
check "mirror_error is empty while healthy" eq "$(xattr "$M/lines" mirror_error)" ""

# dump TOPIC STREAM: the stream's messages checked by nats_tool; payloads
# in $T/STREAM.pay, one line per message in $T/STREAM.idx.
dump()
{
	"$NATSTOOL" dump "$URL" "$2" "$T/$2.pay" "$UUID/$1/" >"$T/$2.idx" 2>"$T/$2.err" && return 0
	note "$(head -c 300 "$T/$2.err")"
	return 1
}
check "LINES: ids, offsets, times and headers as the SPEC says, no duplicate, no gap" dump lines LINES
check "LINES: 1100 messages, offsets 0 to 1099" eq "$(wc -l <"$T/LINES.idx") $(head -n 1 "$T/LINES.idx" | cut -d' ' -f2) $(tail -n 1 "$T/LINES.idx" | cut -d' ' -f2)" "1100 0 1099"
check "LINES: the payloads are the records, byte for byte" same "$T/LINES.pay" "$T/lines.all"
check "LINES: one line per message, with its newline" eq "$(cut -d' ' -f3 "$T/LINES.idx" | sed -n '1p;1100p' | tr '\n' ' ')" "7 10 "
check "LINES: the stream holds what the mount shows" same "$T/LINES.pay" "$M/lines/tail"
check "WRITES: ids, offsets, times and headers right" dump writes WRITES
check "WRITES: the payloads are the records, byte for byte" same "$T/WRITES.pay" "$T/w.all"
check "WRITES: one message per write, of its length" eq "$(cut -d' ' -f3 "$T/WRITES.idx" | tr '\n' ' ')" "$(tr '\n' ' ' <"$T/w.lens")"
# Logfs-Time is the record's append time: after the test began, in order.
check "Logfs-Time never goes back" sh -c "cut -d' ' -f4 '$T/LINES.idx' | sort -c"

# ---- names and streams refused, nothing changed ----
for name in "a.b" "a*" "a>" "a b" "a/b" "$(head -c 256 /dev/zero | tr '\0' n)"; do
	check "stream name '$(echo "$name" | cut -c1-12)' is refused with EINVAL" fails_with EINVAL setfattr -n user.logfs.mirror -v "$name" "$M/lines"
done
check "after the refusals the target is unchanged" eq "$(xattr "$M/lines" mirror)" LINES
"$NATSTOOL" put "$URL" FOREIGN logfs.f "not from logfs" || note "put failed"
mkdir "$M/f"
echo x >>"$M/f/tail"
check "a stream holding foreign messages is refused with EINVAL" fails_with EINVAL setfattr -n user.logfs.mirror -v FOREIGN "$M/f"
check "the refused topic stays unmirrored" eq "$(xattr "$M/f" mirror)" ""
"$NATSTOOL" put "$URL" OTHER other.subject "x" || note "put failed"
check "a stream for other subjects is refused with EINVAL" fails_with EINVAL setfattr -n user.logfs.mirror -v OTHER "$M/f"
check "another topic's stream is refused with EINVAL" fails_with EINVAL setfattr -n user.logfs.mirror -v LINES "$M/f"
check "the refusal is logged" grep -q "refused" "$DERR"
check "mirror_offset is read-only (EPERM)" fails_with EPERM setfattr -n user.logfs.mirror_offset -v 5 "$M/lines"
check "mirror_lag is read-only (EPERM)" fails_with EPERM setfattr -n user.logfs.mirror_lag -v 5 "$M/lines"
check "mirror_error is read-only (EPERM)" fails_with EPERM setfattr -n user.logfs.mirror_error -v x "$M/lines"
check "a mirrored topic can be removed" rmdir "$M/f"
check "the mirror's state changes are logged once each" eq "$(grep -c 'mirror lines -> LINES: streaming' "$DERR")" 1

# ---- the target survives a remount; the mirror resumes from the stream ----
lfs_umount "$M"
check "the target is kept in topic.conf" grep -qx "mirror=LINES" "$V/topics/lines/topic.conf"
lfs_mount "$V" "$M" -o "mirror=$URL" || exit 1
lines 50 1101 >"$T/l3"
cat "$T/l3" >>"$M/lines/tail"
cat "$T/l3" >>"$T/lines.all"
check "after a remount the new records are mirrored" wait_for 20 mirrored "$M/lines" 1150
check "after a remount: still exactly once, in order" dump lines LINES
check "after a remount: the payloads are the records" same "$T/LINES.pay" "$T/lines.all"

# ---- the cluster unreachable at mount ----
lfs_umount "$M"
nats_kill 1
lfs_mount "$V" "$M" -o "mirror=$URL" || exit 1
lines 30 1151 >"$T/l4"
check "the mount works while the cluster is unreachable" sh -c "cat '$T/l4' >>'$M/lines/tail'"
cat "$T/l4" >>"$T/lines.all"
has_error() { [ -n "$(xattr "$1" mirror_error)" ]; }
check "mirror_error says why" wait_for 10 has_error "$M/lines"
check "mirror_error names the connection" sh -c "getfattr --only-values -n user.logfs.mirror_error '$M/lines' | grep -q 'connect'"
# Until the stream has answered once, the mirror knows of no record it
# holds: every retained record counts.
check "mirror_lag counts every record the stream may lack" eq "$(xattr "$M/lines" mirror_lag)" 1180
sleep 1 # (retries happen meanwhile: they must not log again)
check "the error is logged once, not once per retry" eq "$(grep -c 'mirror lines -> LINES: connecting: cannot connect' "$DERR")" 1
nats_start 1
check "the server is back" nats_wait 1
check "then the backlog is mirrored" wait_for 20 mirrored "$M/lines" 1180
check "mirror_error is empty again" eq "$(xattr "$M/lines" mirror_error)" ""
check "after the outage: exactly once, in order" dump lines LINES
check "after the outage: the payloads are the records" same "$T/LINES.pay" "$T/lines.all"

# ---- off ----
check "an empty user.logfs.mirror turns the mirror off" setfattr -n user.logfs.mirror -v "" "$M/lines"
check "it reads back empty" eq "$(xattr "$M/lines" mirror)" ""
echo "after off" >>"$M/lines/tail"
check "mirror_offset is gone once off" sh -c "! getfattr -n user.logfs.mirror_offset '$M/lines' >/dev/null 2>&1"
check "records appended while off are not published" sh -c "\"$NATSTOOL\" dump '$URL' LINES '$T/x.pay' >'$T/x.idx' && [ \$(wc -l <'$T/x.idx') = 1180 ]"
check "the off state is kept in topic.conf" sh -c "! grep -q '^mirror=' '$V/topics/lines/topic.conf'"
lfs_umount "$M"
finish
