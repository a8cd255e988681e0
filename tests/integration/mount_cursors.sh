#!/bin/sh
# SPEC "Consumer cursors": TOPIC/cursors/NAME, line by line: creating,
# naming, removing, reading from the committed position, commit on close
# (durable against kill -9 right after close), the background commit of a
# follower, explicit mode, repositioning, EBUSY, st_size and the xattrs,
# retention past a cursor, rmdir/mkdir, a damaged store (fsck and mount),
# and 1000 cursors on one topic.
. "$LFS_SRC/tests/lib/mount.sh"

FSCK=$LFS_BUILD/fsck.logfs
V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" || exit 1
C=$M/app/cursors

mkdir "$M/app"
lines 5 >"$M/app/tail"

# ---- the directory ----
check "ls TOPIC lists tail and cursors" eq "$(ls "$M/app" | tr '\n' ' ')" "cursors tail "
check "cursors/ is a directory" test -d "$C"
check "a new topic has no cursors" eq "$(ls "$C" | wc -l)" 0
check "rmdir of cursors/ fails with EPERM" fails_with EPERM rmdir "$C"
check "rm -r of cursors/ does not remove it" sh -c "rm -rf '$C' 2>/dev/null; test -d '$C'"
check "renaming cursors/ fails with EPERM" fails_with EPERM mv "$C" "$M/app/other"
check "a directory cannot be made in cursors/" fails_with EPERM mkdir "$C/sub"

# ---- creating, naming, removing ----
check "touch makes a cursor" touch "$C/indexer"
check "ls cursors/ lists it" eq "$(ls "$C")" indexer
check "open with O_CREAT|O_EXCL of an existing cursor fails with EEXIST" \
	"$LFSIO" expect EEXIST open 0 rcx "$C/indexer"
check "open with O_CREAT of an existing cursor opens it" "$LFSIO" open 0 wc "$C/indexer" close 0
check "open with O_CREAT|O_EXCL of a new name creates it" "$LFSIO" open 0 wcx "$C/excl" close 0
check "opening a missing cursor without O_CREAT fails with ENOENT" \
	"$LFSIO" expect ENOENT open 0 r "$C/missing"
check "cat of a missing cursor fails with ENOENT" fails_with ENOENT cat "$C/missing"
check "a name starting with '.' fails with EINVAL" fails_with EINVAL touch "$C/.hidden"
check "a name with a space fails with EINVAL" fails_with EINVAL touch "$C/a b"
check "a name with ':' fails with EINVAL" fails_with EINVAL touch "$C/x:y"
check "a name of 201 bytes fails with ENAMETOOLONG" \
	fails_with ENAMETOOLONG touch "$C/$(printf '%0201d' 0)"
check "a name of 200 bytes is fine" touch "$C/$(printf '%0200d' 0)"
check "rm of a cursor works" rm "$C/excl"
check "rm of a 200-byte name works" rm "$C/$(printf '%0200d' 0)"
check "the removed cursors are gone" eq "$(ls "$C" | tr '\n' ' ')" "indexer "
check "rm of a missing cursor fails with ENOENT" fails_with ENOENT rm "$C/excl"
check "renaming a cursor fails with EPERM" fails_with EPERM mv "$C/indexer" "$C/other"
check "renaming a cursor out of cursors/ fails with EPERM" fails_with EPERM mv "$C/indexer" "$M/app/x"
check "a cursor cannot be truncated" fails_with EPERM truncate -s 0 "$C/indexer"

# ---- reading and commit on close ----
lines 5 >"$T/exp"
check "a new cursor starts at the first record: cat prints the whole log" same "$C/indexer" "$T/exp"
check "the next cat prints nothing new" eq "$(cat "$C/indexer" | wc -c)" 0
check "user.logfs.offset is the next record to deliver" eq "$(xattr "$C/indexer" offset)" 5
lines 3 6 >>"$M/app/tail"
lines 3 6 >"$T/exp"
check "st_size of a cursor is its backlog" eq "$(size "$C/indexer")" "$(wc -c <"$T/exp")"
check "user.logfs.lag counts the records not yet consumed" eq "$(xattr "$C/indexer" lag)" 3
check "cat prints only what was appended since" same "$C/indexer" "$T/exp"
check "st_size is 0 once consumed" eq "$(size "$C/indexer")" 0
check "lag is 0 once consumed" eq "$(xattr "$C/indexer" lag)" 0
ca=$(xattr "$C/indexer" committed_at)
now=$(date +%s%N)
check "user.logfs.committed_at is the commit time in ns" \
	sh -c "[ $ca -le $now ] && [ $((now - ca)) -lt 60000000000 ]"
check "user.logfs.skipped is 0" eq "$(xattr "$C/indexer" skipped)" 0
check "user.logfs.commit is close by default" eq "$(xattr "$C/indexer" commit)" close
check "getfattr -d lists the five attributes" \
	eq "$(getfattr -d -m user.logfs "$C/indexer" 2>/dev/null | grep -c '^user.logfs')" 5
check "user.logfs.offset is read-only (EPERM)" fails_with EPERM setfattr -n user.logfs.offset -v 1 "$C/indexer"
check "user.logfs.commit rejects other values (EINVAL)" fails_with EINVAL setfattr -n user.logfs.commit -v sometimes "$C/indexer"

# head reads ahead of what it prints: it consumes what it read.
lines 2 9 >>"$M/app/tail"
touch "$C/partial"
check "a partial read consumes the whole records it returned" \
	"$LFSIO" open 0 r "$C/partial" read 0 10 close 0
check "... and commits the position after the last whole one" eq "$(xattr "$C/partial" offset)" 1

# ---- two consumers, exactly once ----
touch "$C/one" "$C/two"
: >"$T/one"
: >"$T/two"
n=11
r=0
while [ $r -lt 40 ]; do
	k=$(( (r * 7) % 13 + 1 ))
	lines $k $n >>"$M/app/tail"
	n=$((n + k))
	cat "$C/one" >>"$T/one"
	[ $((r % 3)) -eq 0 ] && cat "$C/two" >>"$T/two"
	r=$((r + 1))
done
cat "$C/two" >>"$T/two"
cat "$M/app/tail" >"$T/all"
check "consumer one got every record exactly once over 40 rounds" same "$T/one" "$T/all"
check "consumer two, reading less often, too" same "$T/two" "$T/all"

# ---- EBUSY ----
touch "$C/busy"
check "a second reader fails with EBUSY" \
	"$LFSIO" open 0 r "$C/busy" expect EBUSY open 1 r "$C/busy" close 0
check "rm while open fails with EBUSY" \
	"$LFSIO" open 0 r "$C/busy" sh "! rm '$C/busy' 2>/dev/null" close 0
check "rm while open for writing fails with EBUSY too" \
	"$LFSIO" open 0 w "$C/busy" sh "! rm '$C/busy' 2>/dev/null" close 0
check "a write while a reader has it open fails with EBUSY" \
	"$LFSIO" open 0 r "$C/busy" open 1 w "$C/busy" expect EBUSY write 1 'end\n' close 1 close 0
check "after close a new reader gets it" "$LFSIO" open 0 r "$C/busy" close 0 open 1 r "$C/busy" close 1
check "rmdir of the topic fails with EBUSY while a cursor is open" \
	"$LFSIO" open 0 r "$C/busy" sh "! rmdir '$M/app' 2>/dev/null" close 0

# ---- repositioning ----
next=$(xattr "$M/app" next_offset)
touch "$C/pos"
check "echo end skips everything" sh -c "echo end >'$C/pos'"
check "... offset is the next offset" eq "$(xattr "$C/pos" offset)" "$next"
check "... and nothing is printed" eq "$(cat "$C/pos" | wc -c)" 0
check "echo 3 rewinds to offset 3" sh -c "echo 3 >'$C/pos'"
sed -n "4,${next}p" "$T/all" >"$T/exp"
check "... and cat prints from record 3" same "$C/pos" "$T/exp"
check "echo begin goes back to the first record" sh -c "echo begin >'$C/pos'"
check "... offset 0" eq "$(xattr "$C/pos" offset)" 0
check "an offset equal to the next offset is fine" sh -c "echo $next >'$C/pos'"
# coreutils echo: dash's builtin reports every write error as "I/O error".
check "an offset beyond the next offset fails with EINVAL" sh_fails_with EINVAL "/bin/echo $((next + 1)) >'$C/pos'"
check "... and leaves the position" eq "$(xattr "$C/pos" offset)" "$next"
for bad in x -1 1x '@' 'begin now' '10m' '@-10' '@2026-13-01T00:00:00Z'; do
	check "writing '$bad' fails with EINVAL" sh_fails_with EINVAL "/bin/echo '$bad' >'$C/pos'"
done
check "@-1h goes back to the first record appended in the last hour" sh -c "echo @-1h >'$C/pos'"
check "... which is offset 0" eq "$(xattr "$C/pos" offset)" 0
t_mid=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sleep 0.01
lines 1 500 >>"$M/app/tail"
check "@TIME goes to the first record appended at or after TIME" sh -c "echo @$t_mid >'$C/pos'"
check "... the record appended after it" eq "$(xattr "$C/pos" offset)" "$next"
check "... and cat prints it" eq "$(cat "$C/pos")" "line 500"
next=$((next + 1))

# ---- explicit mode ----
touch "$C/exp"
check "setfattr user.logfs.commit=explicit" setfattr -n user.logfs.commit -v explicit "$C/exp"
check "... reads as explicit" eq "$(xattr "$C/exp" commit)" explicit
cat "$M/app/tail" >"$T/all"
check "reading does not move an explicit cursor" same "$C/exp" "$T/all"
check "... a second read prints the same" same "$C/exp" "$T/all"
check "... offset stays 0" eq "$(xattr "$C/exp" offset)" 0
check "writing an offset commits it (at-least-once)" sh -c "echo 10 >'$C/exp'"
check "... and the next read starts there" eq "$(head -n 1 "$C/exp")" "$(sed -n 11p "$T/all")"
check "setfattr -x user.logfs.commit resets it to close" setfattr -x user.logfs.commit "$C/exp"
check "... close" eq "$(xattr "$C/exp" commit)" close
cat "$C/exp" >/dev/null
check "... and reading commits again" eq "$(xattr "$C/exp" offset)" "$next"

# ---- a follower's position is durable within a second ----
touch "$C/follow"
echo end >"$C/follow"
base=$(xattr "$M/app" next_offset)
tail -n +1 -s 0.1 -f "$C/follow" >"$T/followed" 2>/dev/null &
TPID=$!
_pids="$_pids $TPID"
# 10,000 records at about 2,000 a second.
i=0
while [ $i -lt 100 ]; do
	lines 100 $((i * 100 + 1)) >>"$M/app/tail"
	sleep 0.05
	i=$((i + 1))
done
wait_for 60 sh -c "[ \$(wc -l <'$T/followed') -ge 10000 ]"
kill -9 "$DPID"
crash "$M"
stop "$TPID"
printed=$(wc -l <"$T/followed")
lines 10000 >"$T/exp"
check "the follower printed the 10,000 records" same "$T/followed" "$T/exp"
lfs_mount "$V" "$M" || exit 1
off=$(( $(xattr "$C/follow" offset) - base ))
note "follower printed $printed records, its cursor says $off after kill -9"
check "the follower's cursor is not past what it printed" sh -c "[ $off -le $printed ]"
check "... and within about a second of appends (2,000 records) of it" \
	sh -c "[ $((printed - off)) -le 2500 ]"

# A follower killed in the middle of the appends.
echo end >"$C/follow"
base=$(xattr "$M/app" next_offset)
tail -n +1 -s 0.1 -f "$C/follow" >"$T/followed" 2>/dev/null &
TPID=$!
_pids="$_pids $TPID"
i=0
while [ $i -lt 60 ]; do
	lines 100 $((i * 100 + 1)) >>"$M/app/tail"
	sleep 0.05
	i=$((i + 1))
done
# (a tail that started late has printed nothing yet: the kill waits for it)
wait_for 30 test -s "$T/followed" || note "the follower printed nothing in 30 s"
kill -9 "$DPID"
crash "$M"
stop "$TPID"
printed=$(wc -l <"$T/followed")
lfs_mount "$V" "$M" || exit 1
off=$(( $(xattr "$C/follow" offset) - base ))
note "follower printed $printed records, its cursor says $off after kill -9 during appends"
check "mid-stream: the cursor is not past what the follower printed" sh -c "[ $off -le $printed ]"
check "mid-stream: within about a second of appends of it" sh -c "[ $((printed - off)) -le 2500 ]"
check "mid-stream: the follower printed something" sh -c "[ $printed -gt 0 ]"

# ---- commit on close survives kill -9 right after close returns ----
# On a volume of its own: a remount's recovery then has little to scan.
lfs_umount "$M"
V2=$T/vol2
vol_new "$V2" || exit 1
lfs_mount "$V2" "$M" || exit 1
mkdir "$M/k"
touch "$M/k/cursors/crash"
i=0
good=0
start=$(date +%s)
while [ $i -lt 200 ]; do
	echo "crash $i" >>"$M/k/tail"
	# close(2) of cat returns, then the daemon dies at once.
	got=$(cat "$M/k/cursors/crash")
	kill -9 "$DPID"
	crash "$M"
	lfs_mount "$V2" "$M" || break
	[ "$got" = "crash $i" ] && [ "$(xattr "$M/k/cursors/crash" offset)" = $((i + 1)) ] &&
		good=$((good + 1))
	i=$((i + 1))
done
note "200 kill -9 rounds in $(( $(date +%s) - start )) s"
check "commit on close survived kill -9 right after close, 200 times out of 200" eq "$good" 200
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1

# ---- retention past a cursor ----
mkdir "$M/ret"
setfattr -n user.logfs.segment_size -v 4096 "$M/ret"
touch "$M/ret/cursors/slow"
# 10-byte records, one write each: 409 to a 4 KiB segment.
seq -f 'rec %05g' 1 2000 >"$T/ret"
dd if="$T/ret" of="$M/ret/tail" bs=10 status=none
check "the slow cursor reads 100 records" "$LFSIO" open 0 r "$M/ret/cursors/slow" read 0 1000 close 0
check "... offset 100" eq "$(xattr "$M/ret/cursors/slow" offset)" 100
rm "$M/ret/00000000000000000000.log" "$M/ret/00000000000000000409.log"
first=$(xattr "$M/ret" first_offset)
check "retention does not wait for the cursor" eq "$first" 818
check "skipped is 0 until the next read" eq "$(xattr "$M/ret/cursors/slow" skipped)" 0
seq -f 'rec %05g' 819 2000 >"$T/exp"
check "the next read starts at the first retained record" same "$M/ret/cursors/slow" "$T/exp"
check "user.logfs.skipped counts exactly the records it missed" eq "$(xattr "$M/ret/cursors/slow" skipped)" 718
check "the daemon logged it" grep -q 'cursor slow: 718 records' "$DERR"
setfattr -n user.logfs.retention_bytes -v 8192 "$M/ret"
echo begin >"$M/ret/cursors/slow"
b=$(xattr "$M/ret/cursors/slow" offset)
seq -f 'rec %05g' 2001 3000 >"$T/ret"
dd if="$T/ret" of="$M/ret/tail" bs=10 status=none
# The ticker applies retention: wait until it is done.
wait_for 5 sh -c "[ \$(getfattr --only-values -n user.logfs.bytes '$M/ret') -le 8192 ]"
first=$(xattr "$M/ret" first_offset)
check "retention by bytes deleted records the cursor had not read" sh -c "[ $first -gt $b ]"
cat "$M/ret/cursors/slow" >/dev/null
check "retention by bytes: skipped adds exactly what it deleted" \
	eq "$(xattr "$M/ret/cursors/slow" skipped)" $((718 + first - b))

# ---- rmdir / mkdir ----
check "rmdir of a topic with cursors works" rmdir "$M/ret"
mkdir "$M/ret"
check "a topic made again under the name has no cursors" eq "$(ls "$M/ret/cursors" | wc -l)" 0
check "... and the old cursor is not found" fails_with ENOENT cat "$M/ret/cursors/slow"

# ---- 1000 cursors ----
mkdir "$M/many"
lines 3 >"$M/many/tail"
(cd "$M/many/cursors" && seq -f 'c%04g' 1 1000 | xargs touch)
check "1000 cursors on one topic" eq "$(ls "$M/many/cursors" | wc -l)" 1000
cat "$M/many/cursors/c0500" >/dev/null
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
check "... all there after a remount" eq "$(ls "$M/many/cursors" | wc -l)" 1000
check "... each with its own position" eq "$(xattr "$M/many/cursors/c0500" offset) $(xattr "$M/many/cursors/c0501" offset)" "3 0"

# ---- a damaged store ----
touch "$C/keep1" "$C/keep2" "$C/lost"
echo 7 >"$C/keep1"
echo 9 >"$C/keep2"
lfs_umount "$M"
store=$V/topics/app/cursors
# Find the entry of "lost" and destroy it; then half an entry of junk.
entry=$(od -A d -c "$store" | awk '/  l   o   s   t/ { print int($1 / 512); exit }')
dd if=/dev/urandom of="$store" bs=512 seek="$entry" count=1 conv=notrunc status=none
head -c 100 /dev/urandom >>"$store"
cp "$store" "$T/damaged"
"$FSCK" -n "$V" >"$T/fsck.out" 2>&1
check "fsck -n finds the damaged store (exit 4)" eq "$?" 4
check "... and says so" grep -q 'cursor store' "$T/fsck.out"
check "... and changes nothing" cmp -s "$store" "$T/damaged"
"$FSCK" -y "$V" >"$T/fsck.out" 2>&1
check "fsck -y repairs it (exit 1)" eq "$?" 1
"$FSCK" -f -n "$V" >"$T/fsck.out" 2>&1
check "... after which fsck -f -n finds nothing (exit 0)" eq "$?" 0
lfs_mount "$V" "$M" || exit 1
check "valid cursors survive an fsck repair" eq "$(xattr "$C/keep1" offset) $(xattr "$C/keep2" offset)" "7 9"
check "the destroyed one is gone" fails_with ENOENT cat "$C/lost"
lfs_umount "$M"
# The same damage, then a mount without fsck.
cp "$T/damaged" "$store"
lfs_mount "$V" "$M" || exit 1
check "mount repairs a damaged store itself: valid cursors survive" \
	eq "$(xattr "$C/keep1" offset) $(xattr "$C/keep2" offset)" "7 9"
check "... the destroyed one is gone" fails_with ENOENT cat "$C/lost"
check "... and the daemon logged it" grep -q 'cursor store' "$DERR"
lfs_umount "$M"
"$FSCK" -f -n "$V" >"$T/fsck.out" 2>&1
check "... after which fsck -f -n finds nothing (exit 0)" eq "$?" 0
lfs_mount "$V" "$M" || exit 1
check "cursors still work after the repairs" sh -c "cat '$C/keep1' >/dev/null"
lfs_umount "$M"

finish
