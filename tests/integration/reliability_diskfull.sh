#!/bin/sh
# Disk-full suite (docs/RELIABILITY.md). tests/integration/mount_errors.sh
# covers a single writer on a full filesystem; this adds what it does not:
# many concurrent writers of both framings and sync=always filling a small
# tmpfs with rolls failing at any point, each retrying the same records
# after ENOSPC (so a partial append would show up as a duplicate or a torn
# record); reads and xattrs of other topics while full; fsync(2) and
# close(2) reporting ENOSPC for a held line fragment they cannot commit,
# and the fsync succeeding once space is freed; appends working again; and
# at the end every acknowledged record present exactly once, also after a
# remount, with fsck clean.
. "${LFS_SRC:-.}/tests/reliability/lib.sh"
need "$LOGFS" "$MKFS" "$FSCK" "$TOOLS/ackwriter" "$TOOLS/ackcheck" "$TOOLS/fragsync"

FS=$WORK/fs
MNT=$WORK/mnt
ACKS=$WORK/acks
mkdir -p "$FS" "$MNT"
if ! mount -t tmpfs -o size=32M tmpfs "$FS" 2>/dev/null; then
	echo "ok - # SKIP cannot mount a tmpfs (not root?)"
	exit 0
fi
EXTRA_UMOUNT=$FS
VOL=$FS/vol
"$MKFS" -q -s 256K "$VOL" || { not_ok "mkfs on tmpfs failed"; finish; }
start_daemon "$VOL" "$MNT" "sync=never" || { not_ok "mount failed"; finish; }
for t in a b c r f; do
	mkdir "$MNT/$t"
	mkdir -p "$ACKS/$t"
done
setfattr -n user.logfs.framing -v write "$MNT/b"
# Topic f: a fragment larger than the 1 MiB the daemon preallocates, in a
# segment that does not roll, so that committing it needs space.
setfattr -n user.logfs.max_record -v 4M "$MNT/f"
setfattr -n user.logfs.segment_size -v 64M "$MNT/f"
setfattr -n user.logfs.sync -v always "$MNT/c"
"$TOOLS/ackwriter" -p "$MNT/r/tail" -i 100 -a "$ACKS/r/w100.ack" -n 2000 -M 200 2>/dev/null
echo "first" >>"$MNT/f/tail"
# Ballast, freed later.
dd if=/dev/zero of="$FS/ballast" bs=1M count=8 2>/dev/null

# Phase 1: fill the filesystem; writers retry after ENOSPC.
stop=$WORK/stop1
pids=""
wid=0
for t in a b c; do
	for k in 1 2; do
		wid=$((wid + 1))
		args="-k 4 -M 400"
		[ $t = b ] && args="-b -M 3000"
		"$TOOLS/ackwriter" -p "$MNT/$t/tail" -i $wid -a "$ACKS/$t/w$wid.ack" -c -q "$stop" \
			-s "$SEED$k" $args 2>>"$WORK/writers.log" &
		pids="$pids $!"
	done
done
BG_PIDS=$pids
i=0
full=0
while [ $i -lt 600 ]; do
	full=$(grep -l '^E 28 ' "$ACKS"/[abc]/*.ack 2>/dev/null | wc -l)
	[ "$full" -ge 6 ] && break
	sleep 0.1
	i=$((i + 1))
done
note "free space now: $(df -k "$FS" | awk 'NR == 2 { print $4 }') KiB"
if [ "$full" -ge 6 ]; then
	ok "all 6 writers (line, write, sync=always) got ENOSPC on the full filesystem"
else
	not_ok "only $full of 6 writers saw ENOSPC within 60 s"
fi
if kill -0 "$DAEMON_PID" 2>/dev/null && is_mounted "$MNT"; then
	ok "the daemon keeps serving while the filesystem is full"
else
	not_ok "the daemon died on the full filesystem: $(tail -n 5 "$WORK/daemon.log")"
	finish
fi

# While full: reads, xattrs, listing.
out=$("$TOOLS/ackcheck" -t "$MNT/r" -A "$ACKS/r")
if [ $? -eq 0 ]; then ok "while full, another topic reads back whole: $out"; else not_ok "while full, reading another topic: $out"; fi
n=$(getfattr --only-values -n user.logfs.next_offset "$MNT/a" 2>/dev/null)
case $n in
[0-9]*) ok "while full, xattrs work (a: next_offset $n)" ;;
*) not_ok "while full, getfattr of next_offset fails" ;;
esac
if ls -l "$MNT/a" >/dev/null 2>&1; then ok "while full, ls works"; else not_ok "while full, ls fails"; fi
# Stop the writers (they are retrying) before the fragment tests.
touch "$stop"
for p in $pids; do wait "$p"; done
BG_PIDS=""

# The writers stop at ENOSPC of their own topics; fill what is left.
dd if=/dev/zero of="$FS/fill" bs=4k 2>/dev/null
note "free space after filling: $(df -k "$FS" | awk 'NR == 2 { print $4 }') KiB"

# A held fragment cannot be committed while full: close(2) says so.
r=$("$TOOLS/fragsync" "$MNT/f/tail" 2097152 close)
case $r in
*"close=ENOSPC"*) ok "close(2) of a handle whose held fragment cannot be committed returns ENOSPC ($r)" ;;
*) not_ok "close(2) with a fragment on a full filesystem: $r (expected close=ENOSPC)" ;;
esac
# fsync(2) reports the error; after freeing space the same fsync commits.
r=$("$TOOLS/fragsync" "$MNT/f/tail" 2097152 fsync "rm -f '$FS/ballast' '$FS/fill'")
case $r in
*"fsync=ENOSPC fsync2=ok close=ok"*) ok "fsync(2) returns ENOSPC for a fragment it cannot commit, and commits it once space is freed ($r)" ;;
*) not_ok "fsync(2) of a fragment on a full filesystem, then after freeing space: $r (expected fsync=ENOSPC fsync2=ok close=ok)" ;;
esac
{
	echo first
	head -c 2097152 /dev/zero | tr '\0' f
	echo
} >"$WORK/f.want"
if cmp -s "$MNT/f/tail" "$WORK/f.want"; then
	ok "the topic holds the committed fragment once, and nothing of the one whose close failed"
else
	not_ok "topic f after the fragment tests: $(wc -c <"$MNT/f/tail") bytes, $(wc -l <"$MNT/f/tail") lines"
fi

# Phase 2: appends work again once space is freed.
pids=""
for t in a b c; do
	wid=$((wid + 1))
	args="-k 4 -M 400"
	[ $t = b ] && args="-b -M 3000"
	"$TOOLS/ackwriter" -p "$MNT/$t/tail" -i $wid -a "$ACKS/$t/w$wid.ack" -n 300 \
		-s "$SEED" $args 2>>"$WORK/writers.log" &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
if [ $bad -eq 0 ]; then ok "after space is freed, appends succeed again (3 writers x 300 records)"; else not_ok "after freeing space, $bad writers failed: $(tail -n 3 "$WORK/writers.log")"; fi

check_all() {
	for t in a b c r; do
		b=""
		[ $t = b ] && b=-b
		out=$("$TOOLS/ackcheck" -t "$MNT/$t" -A "$ACKS/$t" $b)
		if [ $? -eq 0 ]; then
			ok "$1: topic $t: $out"
		else
			not_ok "$1: topic $t: $out"
		fi
	done
}
check_all "after the full episode"
stop_daemon "$MNT" || not_ok "unmount: daemon exit $?"
out=$("$FSCK" -n -f "$VOL" 2>&1)
if [ $? -eq 0 ]; then ok "fsck -n -f after the full episode: $(echo "$out" | tail -n 1)"; else not_ok "fsck -n -f: $out"; fi
if start_daemon "$VOL" "$MNT" ""; then
	check_all "after a remount"
	stop_daemon "$MNT"
else
	not_ok "remount failed: $(tail -n 3 "$WORK/daemon.log")"
fi
finish
