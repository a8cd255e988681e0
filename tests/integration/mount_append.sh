#!/bin/sh
# SPEC "Appending": producer handles, O_TRUNC ignored, line framing with
# held fragments, write framing, max_record, offsets and timestamps, rolls,
# fsync.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K,max_record=1K || exit 1

# ---- echo, printf, cat >> ----
mkdir "$M/a"
A=$M/a/tail
echo one >>"$A"
echo two >"$A"
check "echo x > tail appends (O_TRUNC accepted and ignored)" eq "$(cat "$A")" "$(printf 'one\ntwo')"
: >"$A"
check ": > tail (O_TRUNC, no write) changes nothing" eq "$(cat "$A")" "$(printf 'one\ntwo')"
printf 'three\nfour\n' >>"$A"
check "printf of two lines appends two records" eq "$(xattr "$M/a" next_offset)" 4
printf 'five' >>"$A"
check "an unterminated line is committed at close with a newline added" eq "$(tail -n 1 "$A")" five
check "the committed fragment ends in \\n" eq "$(tail -c 5 "$A" | od -An -c | tr -d ' ')" 'five\n'
check "it is one record" eq "$(xattr "$M/a" next_offset)" 5
{ printf 'ab'; printf 'cd'; printf 'ef\ngh'; } >>"$A"
check "fragments of one handle are joined across writes (printf; printf)" \
	eq "$(tail -n 2 "$A")" "$(printf 'abcdef\ngh')"
check "joined fragments: one record per line" eq "$(xattr "$M/a" next_offset)" 7
printf '\n\n' >>"$A"
check "empty lines are records too" eq "$(xattr "$M/a" next_offset)" 9
seq 1 5 >"$T/five"
cat "$T/five" >>"$A"
check "cat >> tail appends" eq "$(tail -n 5 "$A")" "$(cat "$T/five")"
printf 'one\ntwo\nthree\nfour\nfive\nabcdef\ngh\n\n\n1\n2\n3\n4\n5\n' >"$T/a"
check "the whole log is exactly what was written" same "$A" "$T/a"

# ---- exact write boundaries (dd bs=N), lines split across writes ----
mkdir "$M/dd"
seq -f 'line %g' 1 3000 >"$T/lines"
dd if="$T/lines" of="$M/dd/tail" bs=7 conv=notrunc status=none
check "dd bs=7: lines split across writes are joined into records" same "$M/dd/tail" "$T/lines"
check "dd bs=7: one record per line" eq "$(xattr "$M/dd" next_offset)" 3000
dd if="$T/lines" of="$M/dd/tail" bs=65536 conv=notrunc status=none
cat "$T/lines" "$T/lines" >"$T/lines2"
check "dd bs=64K: many lines per write" same "$M/dd/tail" "$T/lines2"
check "dd bs=64K: one record per line" eq "$(xattr "$M/dd" next_offset)" 6000
echo "sought" | dd of="$M/dd/tail" bs=1 seek=5 conv=notrunc status=none 2>/dev/null
check "a write at a file offset (dd seek=5) appends at the end" eq "$(tail -n 1 "$M/dd/tail")" sought
echo sought >>"$T/lines2"

# ---- held fragments: fsync, several handles, what readers see ----
mkdir "$M/f"
F=$M/f/tail
check "a held fragment is not visible to readers; fsync commits it with \\n" \
	"$LFSIO" open 0 wa "$F" write 0 abc content "$F" "" fsync 0 \
	content "$F" 'abc\n' write 0 'def\n' close 0
check "after fsync the next write is a new record" eq "$(cat "$F")" "$(printf 'abc\ndef')"
check "fdatasync commits a fragment too" \
	"$LFSIO" open 0 wa "$F" write 0 ghi fdatasync 0 content "$F" 'abc\ndef\nghi\n' close 0
# The kernel sends FLUSH on every close(2) of a descriptor of the handle,
# also a forked child's copy (exit, close-on-exec): only the writer's own
# close commits a held fragment (docs/DESIGN.md). A shell's redirection of
# a builtin closes a copy in the writer itself, so this is driven from C.
check "a held fragment survives a forked child's exit" \
	"$LFSIO" open 0 wa "$F" write 0 he sh true write 0 'ld\n' close 0
check "the fragment and its continuation are one record" eq "$(tail -n 1 "$F")" held
check "two handles hold their own fragments" \
	"$LFSIO" open 0 wa "$F" open 1 wa "$F" write 0 aa write 1 'bb\n' write 0 'AA\n' write 1 cc close 1 close 0
check "two handles: records bb, aaAA, cc" eq "$(tail -n 3 "$F")" "$(printf 'bb\naaAA\ncc')"
check "fsync on a reader handle works" "$LFSIO" open 0 r "$F" fsync 0 close 0
check "an O_RDWR handle appends and reads" \
	"$LFSIO" open 0 rw "$F" write 0 'rw\n' close 0
check "the O_RDWR append is there" eq "$(tail -n 1 "$F")" rw
check "dd conv=fsync works on tail" sh -c "echo synced | dd of='$F' conv=notrunc,fsync status=none"
check "sync FILE works on tail" sync "$F"
check "a line that outgrows max_record is refused through its end, then lines are taken again" \
	"$LFSIO" open 0 wa "$F" write 0 abc expect EMSGSIZE writen 0 2000 120 \
	expect EMSGSIZE write 0 'def\n' write 0 'ghi\n' close 0
check "nothing of the too-long line is in the log" eq "$(tail -n 1 "$F")" ghi

# ---- max_record (1K here) with line framing ----
mkdir "$M/big"
B=$M/big/tail
head -c 1023 /dev/zero | tr '\0' x >"$T/l1024"
echo >>"$T/l1024"
head -c 1024 /dev/zero | tr '\0' y >"$T/l1025"
echo >>"$T/l1025"
check "a line of max_record bytes (with its \\n) is accepted" sh -c "cat '$T/l1024' >>'$B'"
check "a line over max_record fails with EMSGSIZE" sh_fails_with EMSGSIZE "cat '$T/l1025' >>'$B'"
{ echo short; cat "$T/l1025"; } >"$T/mixed"
check "a write with a short line and a too long one fails with EMSGSIZE" \
	"$LFSIO" open 0 wa "$B" expect EMSGSIZE writefile 0 "$T/mixed" 100000 close 0
check "the failed writes appended nothing" same "$B" "$T/l1024"
check "a fragment growing past max_record fails with EMSGSIZE" \
	"$LFSIO" open 0 wa "$B" write 0 zzzzzzzzzz expect EMSGSIZE writen 0 1020 122
check "the failed write appended nothing, and the fragment it outgrew is not committed at close" \
	same "$B" "$T/l1024"
check "next_offset counts only the accepted records" eq "$(xattr "$M/big" next_offset)" 1

# ---- lines near 1 MiB: the kernel splits one write(2) into requests ----
# A buffer that is not page-aligned spans one page more than its length
# suggests, and the kernel cuts a request at 256 pages (or the raised
# fs.fuse.max_pages_limit, docs/DESIGN.md "Large writes"): these writes
# arrive in two or three requests, the first ones acknowledged before the
# daemon sees the line's end.
mkdir "$M/huge"
setfattr -n user.logfs.max_record -v 1M "$M/huge"
H=$M/huge/tail
echo before >>"$H"
echo before >"$T/before"
head -c 2097152 /dev/zero | tr '\0' Z >"$T/z2m"
echo >>"$T/z2m"
r=$("$LFSIO" open 0 wa "$H" write1 0 "$T/z2m" 48 close 0)
note "one write(2) of a 2 MiB line from a skewed buffer: $r"
check "a 2 MiB line in one write(2): EMSGSIZE or a short count, never the whole count" \
	test "$r" != 2097153
check "... and nothing of it is committed, not at close either" same "$H" "$T/before"
r=$("$LFSIO" open 0 wa "$H" writeall 0 "$T/z2m" 48 close 0)
note "the same write retried after short counts: $r"
check "a 2 MiB line written by a retrying writer ends in EMSGSIZE" eq "${r##* }" EMSGSIZE
check "... and no part of the line becomes a record" same "$H" "$T/before"
check "a 2 MiB line from an aligned buffer fails whole with EMSGSIZE" \
	eq "$("$LFSIO" open 0 wa "$H" write1 0 "$T/z2m" 0 close 0)" EMSGSIZE
{ printf 'x\n'; cat "$T/z2m"; } >"$T/xz2m"
r=$("$LFSIO" open 0 wa "$H" writeall 0 "$T/xz2m" 48 close 0)
note "a short line then a 2 MiB line, retried: $r"
printf 'before\nx\n' >"$T/beforex"
check "a short line and a 2 MiB line: the short line at most, never part of the long one" \
	sh -c "cmp -s '$H' '$T/before' || cmp -s '$H' '$T/beforex'"
echo after >>"$H"
head -c 1048575 /dev/zero | tr '\0' L >"$T/l1m"
echo >>"$T/l1m"
n=$(xattr "$M/huge" next_offset)
check "a line of exactly max_record (1 MiB) from a skewed buffer is accepted whole" \
	eq "$("$LFSIO" open 0 wa "$H" write1 0 "$T/l1m" 48 close 0)" 1048576
check "... as one record" eq "$(xattr "$M/huge" next_offset)" $((n + 1))
check "... holding exactly the line" same "$M/huge/@$n" "$T/l1m"

# ---- framing=write: each write(2) is one record, binary-safe ----
mkdir "$M/w"
setfattr -n user.logfs.framing -v write "$M/w"
W=$M/w/tail
head -c 1000 /dev/urandom >"$T/bin"
printf 'a\0b\nc' >>"$T/bin"
dd if="$T/bin" of="$W" bs=100 conv=notrunc status=none
check "framing=write: the bytes read back exactly (binary, no newline added)" same "$W" "$T/bin"
check "framing=write: dd bs=100 made one record per write" eq "$(xattr "$M/w" next_offset)" 11
sizes=""
for n in 0 1 5 9 10 11; do sizes="$sizes $(size "$M/w/@$n" 2>/dev/null)"; done
check "framing=write: record boundaries are the write(2) boundaries (@N sizes)" eq "$sizes" " 1005 905 505 105 5 0"
printf 'no newline' >>"$W"
check "framing=write: printf without newline is one record, no \\n added" eq "$(cat "$M/w/@11")" "no newline"
check "framing=write: tail ends without a newline" eq "$(tail -c 10 "$W")" "no newline"
check "framing=write: a write of max_record bytes is accepted" "$LFSIO" open 0 wa "$W" writen 0 1024 10 close 0
check "framing=write: a write over max_record fails with EMSGSIZE" "$LFSIO" open 0 wa "$W" expect EMSGSIZE writen 0 1025 10 close 0
check "framing=write: the failed write appended nothing" eq "$(xattr "$M/w" next_offset)" 13
check "framing=write: a record with a newline inside is one record" "$LFSIO" open 0 wa "$W" write 0 'x\ny\nz' close 0
check "framing=write: ... read back whole" eq "$(cat "$M/w/@13")" "$(printf 'x\ny\nz')"
check "framing=write: ... counted once" eq "$(xattr "$M/w" next_offset)" 14

# ---- offsets, timestamps ----
mkdir "$M/o"
before=$(date +%s%N)
echo first >>"$M/o/tail"
after=$(date +%s%N)
ts=$(xattr "$M/o/tail" first_timestamp)
check "a record's timestamp is the wall clock at append (ns)" test "$ts" -ge "$before" -a "$ts" -le "$after"
seq 1 99 >>"$M/o/tail"
check "offsets are 0, 1, 2, ... per topic" eq "$(xattr "$M/o" first_offset) $(xattr "$M/o" next_offset)" "0 100"
check "offsets are per topic (another topic is unaffected)" eq "$(xattr "$M/f" first_offset)" 0
check "@N reads record N (offset 42 is '42')" eq "$(head -n 1 "$M/o/@42")" 42
check "timestamps never decrease" test "$(xattr "$M/o/tail" last_timestamp)" -ge "$ts"

# ---- rolls ----
mkdir "$M/r"
R=$M/r/tail
# One producer handle across many rolls: 20000 bytes of 20-byte records,
# segment_size 4K holds 204 of them.
seq -f 'roll record %07g' 1 1000 >"$T/roll"
check "one handle appends across rolls" "$LFSIO" open 0 wa "$R" writefile 0 "$T/roll" 20 close 0
check "rolls are invisible to producers and to readers of tail" same "$R" "$T/roll"
check "the rolls made sealed segments of whole records" \
	eq "$(ls "$M/r" | tr '\n' ' ')" "00000000000000000000.log 00000000000000000204.log 00000000000000000408.log 00000000000000000612.log cursors tail "
check "a sealed segment is at most segment_size" eq "$(size "$M/r/00000000000000000204.log")" 4080
# A single write larger than segment_size goes into one segment.
seq -f 'huge %06g' 1 1000 >"$T/huge"  # 12000 bytes
check "a single write larger than segment_size is accepted" "$LFSIO" open 0 wa "$R" writefile 0 "$T/huge" 12000 close 0
echo next >>"$R"
hugeseg=$(printf '%020d.log' 1000)
check "a single write larger than segment_size goes into one segment" same "$M/r/$hugeseg" "$T/huge"
cat "$T/roll" "$T/huge" >"$T/rollall"
echo next >>"$T/rollall"
check "the log reads whole after the large write" same "$R" "$T/rollall"
check "the record after it starts a new segment" eq "$(cat "$M/r/tail" | tail -n 1) $(ls "$M/r" | grep -c log)" "next 6"

# ---- sync modes: appends and fsync work in each ----
for mode in always never 10; do
	lfs_umount "$M"
	lfs_mount "$V" "$M" -o sync=$mode,segment_size=4K || continue
	mkdir "$M/s$mode"
	seq -f "sync $mode %g" 1 300 >"$T/s"
	dd if="$T/s" of="$M/s$mode/tail" bs=13 conv=notrunc,fsync status=none
	check "sync=$mode: appends (and fsync) work" same "$M/s$mode/tail" "$T/s"
	check "sync=$mode: fsync on a producer handle returns 0" "$LFSIO" open 0 wa "$M/s$mode/tail" write 0 'x\n' fsync 0 close 0
	check "sync=$mode: the topic shows the mount's setting" eq "$(xattr "$M/s$mode" sync)" "$mode"
done
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
check "after remounts topic a is intact" same "$M/a/tail" "$T/a"
check "after remounts topic dd is intact" same "$M/dd/tail" "$T/lines2"
check "after remounts topic r is intact" same "$M/r/tail" "$T/rollall"
check "after remounts topic w is intact" sh -c "head -c 1005 '$M/w/tail' | cmp -s - '$T/bin'"

# ---- framing=write and the kernel's write requests (mount defaults) ----
# (docs/DESIGN.md "Large
# writes"): the daemon asks for requests that carry any write(2)/writev(2)
# of up to 1 MiB whole, raising fs.fuse.max_pages_limit (Linux 6.13 and
# later; this script runs as root). Where that limit cannot be raised the
# bound W is 255 pages: max_record of a write-framed topic is at most W.
mkdir "$M/w1m"
setfattr -n user.logfs.framing -v write "$M/w1m"
W1=$M/w1m/tail
wmax=$(xattr "$M/w1m" max_record)
note "write-framed max_record bound of this kernel: $wmax"
if [ -e /proc/sys/fs/fuse/max_pages_limit ]; then
	check "framing=write: the default max_record (1M) holds, the limit raised" eq "$wmax" 1048576
	check "framing=write: the daemon raised fs.fuse.max_pages_limit" \
		test "$(cat /proc/sys/fs/fuse/max_pages_limit)" -ge 2306
else
	check "framing=write: max_record is 255 pages where the limit is fixed" eq "$wmax" 1044480
fi
check "framing=write: max_record over the bound is EINVAL" \
	fails_with EINVAL setfattr -n user.logfs.max_record -v $((wmax + 1)) "$M/w1m"
check "framing=write: max_record=4M is EINVAL" fails_with EINVAL setfattr -n user.logfs.max_record -v 4M "$M/w1m"
check "framing=write: the refused setting changed nothing" eq "$(xattr "$M/w1m" max_record)" "$wmax"
mkdir "$M/w4m"
setfattr -n user.logfs.max_record -v 4M "$M/w4m"
check "framing=write on a topic whose own max_record passes the bound is EINVAL" \
	fails_with EINVAL setfattr -n user.logfs.framing -v write "$M/w4m"
head -c "$wmax" /dev/zero | tr '\0' A >"$T/wmax"
check "framing=write: a write of max_record bytes from a skewed buffer is accepted whole" \
	eq "$("$LFSIO" open 0 wa "$W1" write1 0 "$T/wmax" 48 close 0)" "$wmax"
check "framing=write: ... as one record" eq "$(xattr "$M/w1m" next_offset)" 1
check "framing=write: ... holding exactly the write" same "$M/w1m/@0" "$T/wmax"
echo >>"$T/wmax"
check "framing=write: a write of max_record + 1 bytes fails whole with EMSGSIZE" \
	eq "$("$LFSIO" open 0 wa "$W1" write1 0 "$T/wmax" 48 close 0)" EMSGSIZE
check "framing=write: a write of 2 MiB fails whole with EMSGSIZE, skewed or aligned" \
	eq "$("$LFSIO" open 0 wa "$W1" write1 0 "$T/z2m" 100 write1 0 "$T/z2m" 0 close 0)" \
	"$(printf 'EMSGSIZE\nEMSGSIZE')"
check "framing=write: the refused writes appended nothing" eq "$(xattr "$M/w1m" next_offset)" 1
if [ "$wmax" = 1048576 ]; then
	check "framing=write: a writev of 600 one-byte buffers is one record" \
		eq "$("$LFSIO" open 0 wa "$W1" writev 0 600 1 66 close 0)" 600
	check "framing=write: ... counted once" eq "$(xattr "$M/w1m" next_offset)" 2
	check "framing=write: a writev of 1024 buffers of 1 KiB (1 MiB) is one record" \
		eq "$("$LFSIO" open 0 wa "$W1" writev 0 1024 1024 67 close 0)" 1048576
	check "framing=write: ... counted once" eq "$(xattr "$M/w1m" next_offset)" 3
	check "framing=write: a writev of 1024 buffers of 1025 bytes fails with EMSGSIZE" \
		eq "$("$LFSIO" open 0 wa "$W1" writev 0 1024 1025 68 close 0)" EMSGSIZE
	check "framing=write: ... and appends nothing" eq "$(xattr "$M/w1m" next_offset)" 3
	mkdir "$M/wvl"
	check "line framing: a writev of 600 one-byte buffers of newlines is accepted whole" \
		eq "$("$LFSIO" open 0 wa "$M/wvl/tail" writev 0 600 1 10 close 0)" 600
	check "line framing: ... 600 empty lines" eq "$(xattr "$M/wvl" next_offset)" 600
fi

lfs_umount "$M"

finish
