#!/bin/sh
# SPEC mount option passthrough=on|off: sealed segments are read through the
# kernel's FUSE passthrough where it is available, and the daemon serves
# them otherwise. Both paths serve the same bytes (cat, a repeated cat,
# mmap); with passthrough on, reads of a sealed segment do not reach the
# daemon (counted in its -d trace); a segment whose data fails its checksum
# is never handed to the kernel and reads fail with EIO on both paths; rm
# and retention of an open segment leave the open file readable; opens and
# closes leak neither descriptors nor backing files, and a read racing its
# own close's RELEASE touches no freed handle; verify_cached=SIZE
# checks cached segments in the background after the mount.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol M=$T/mnt
vol_new "$V" -s 1M || exit 1
lfs_mount "$V" "$M" || exit 1
mkdir "$M/app"
seq 1 400000 | sed 's/^/record /' >"$T/all"
cat "$T/all" >"$M/app/tail"
lfs_umount "$M"
# Segments loaded from disk: their batches are checked anew by this mount.
SEGS=$(cd "$V/topics/app" && ls ./*.log | sed 's|^\./||' | sort)
NSEG=$(echo "$SEGS" | wc -l)
LAST=$(echo "$SEGS" | tail -n 1)
SEALED=$(echo "$SEGS" | sed '$d')
check "setup: at least three sealed segments and the active one" test "$NSEG" -ge 4
cat $(for s in $SEALED; do echo "$V/topics/app/$s"; done) >"$T/sealed"
check "setup: the sealed segments hold the start of the log" \
	sh -c "head -c $(size "$T/sealed") '$T/all' | cmp -s - '$T/sealed'"

# reads NODEID: how many READ requests for the node the daemon's trace shows.
reads() { grep -c "opcode: READ (15), nodeid: $1," "$DERR"; }

for mode in on off; do
	lfs_mount "$V" "$M" -d -o "passthrough=$mode" || exit 1
	if [ $mode = on ]; then
		check "passthrough=on: the daemon says sealed segments go through passthrough" \
			grep -q "sealed segments are read through FUSE passthrough" "$DERR"
	else
		check "passthrough=off: the daemon says the daemon reads them, and why" \
			grep -q "sealed segments are read through the daemon: passthrough=off" "$DERR"
	fi
	check "passthrough=$mode: how segments are read is logged once" \
		eq "$(grep -c 'sealed segments are read through' "$DERR")" 1
	for s in $SEALED; do
		ino=$(stat -c %i "$M/app/$s")
		before=$(reads "$ino")
		check "passthrough=$mode: cat $s is its data file" same "$M/app/$s" "$V/topics/app/$s"
		check "passthrough=$mode: cat $s again is the same" same "$M/app/$s" "$V/topics/app/$s"
		"$LFSIO" open 0 r "$M/app/$s" mmap 0 close 0 >"$T/mmap.out"
		check "passthrough=$mode: mmap of $s is its data file" same "$T/mmap.out" "$V/topics/app/$s"
		after=$(reads "$ino")
		if [ $mode = on ]; then
			check "passthrough=on: no read of $s reached the daemon" eq "$after" "$before"
		else
			check "passthrough=off: reads of $s reached the daemon" test "$after" -gt "$before"
		fi
	done
	cat "$M"/app/*.log >"$T/cat.out"
	check "passthrough=$mode: cat of all segments is the sealed log" same "$T/cat.out" "$T/sealed"
	check "passthrough=$mode: tail (read by the daemon) is the whole log" same "$M/app/tail" "$T/all"
	lfs_umount "$M"
done

# ---- a sealed segment whose data changed on disk after its seal ----
BAD=$(echo "$SEALED" | head -n 1)
GOOD=$(echo "$SEALED" | sed -n 2p)
cp "$V/topics/app/$BAD" "$T/bad.orig"
printf 'X' | dd of="$V/topics/app/$BAD" bs=1 seek=5000 conv=notrunc status=none
for mode in on off; do
	lfs_mount "$V" "$M" -d -o "passthrough=$mode" || exit 1
	ino=$(stat -c %i "$M/app/$BAD")
	check "passthrough=$mode: reading the damaged segment fails with EIO" \
		sh_fails_with EIO "cat '$M/app/$BAD' >/dev/null"
	check "passthrough=$mode: the damaged segment was read by the daemon, not handed to the kernel" \
		test "$(reads "$ino")" -gt 0
	check "passthrough=$mode: the daemon logged the checksum failure" grep -q "fails its checksum" "$DERR"
	gino=$(stat -c %i "$M/app/$GOOD")
	check "passthrough=$mode: the next segment reads whole" same "$M/app/$GOOD" "$V/topics/app/$GOOD"
	if [ $mode = on ]; then
		check "passthrough=on: ... through passthrough" eq "$(reads "$gino")" 0
	fi
	lfs_umount "$M"
done
# Put the byte back: the volume is whole again.
cp "$T/bad.orig" "$V/topics/app/$BAD"

# ---- damage in the segment after the one a reader opens ----
# The open of a sealed segment queues a check of the next one in the
# background (core/verifyahead.c); whichever checks it, the thread or the
# reader's own open, the damaged segment is never handed to the kernel.
FIRST=$(echo "$SEALED" | head -n 1)
NEXT=$(echo "$SEALED" | sed -n 2p)
AFTER=$(echo "$SEALED" | sed -n 3p)
cp "$V/topics/app/$NEXT" "$T/next.orig"
printf 'X' | dd of="$V/topics/app/$NEXT" bs=1 seek=5000 conv=notrunc status=none
lfs_mount "$V" "$M" -d -o passthrough=on || exit 1
check "verify-ahead: the segment before the damaged one reads whole" \
	same "$M/app/$FIRST" "$V/topics/app/$FIRST"
nino=$(stat -c %i "$M/app/$NEXT")
check "verify-ahead: the damaged next segment fails with EIO" \
	sh_fails_with EIO "cat '$M/app/$NEXT' >/dev/null"
check "verify-ahead: ... read by the daemon, not handed to the kernel" test "$(reads "$nino")" -gt 0
check "verify-ahead: the checksum failure is logged" grep -q "fails its checksum" "$DERR"
check "verify-ahead: the segment after it reads whole" same "$M/app/$AFTER" "$V/topics/app/$AFTER"
lfs_umount "$M"
cp "$T/next.orig" "$V/topics/app/$NEXT"

# ---- the background check of cached segments after the mount ----
# With -o verify_cached=SIZE the daemon checks the sealed segments whose
# data files are in the page cache, at nice 19, and says so when
# done: a bad one is found without a reader (logged, served by the daemon
# with EIO), good ones are handed to the kernel at their first open, and a
# segment not cached is left to its first open. The test library mounts
# with verify_cached=0, so the earlier cases saw no such check.
check "verify_cached=0 (the test default): no background check" \
	sh -c "! grep -q 'background check of cached sealed segments' '$DERR'"
BAD=$(echo "$SEALED" | sed -n 2p)
COLD=$(echo "$SEALED" | sed -n 3p)
cp "$V/topics/app/$BAD" "$T/bad.orig"
printf 'X' | dd of="$V/topics/app/$BAD" bs=1 seek=5000 conv=notrunc status=none
sync
cat "$V"/topics/app/*.log >/dev/null
# The clean pages of one data file dropped from the page cache.
dd if="$V/topics/app/$COLD" iflag=nocache count=0 status=none
lfs_mount "$V" "$M" -d -o passthrough=on,verify_cached=1G || exit 1
check "verify_cached: the daemon reports the background check when done" \
	wait_for 120 grep -q 'background check of cached sealed segments done' "$DERR"
NCHECKED=$((NSEG - 2))
check "verify_cached: every cached sealed segment was checked, one failed, the cold one left" \
	grep -q "done: $NCHECKED checked ([0-9]* MiB, 1 failed) in [0-9]* ms, 1 left to their first open" "$DERR"
check "verify_cached: the damage was found and logged before any read" grep -q "fails its checksum" "$DERR"
ino=$(stat -c %i "$M/app/$BAD")
check "verify_cached: reading the damaged segment fails with EIO" \
	sh_fails_with EIO "cat '$M/app/$BAD' >/dev/null"
check "verify_cached: ... read by the daemon, not handed to the kernel" test "$(reads "$ino")" -gt 0
for s in $SEALED; do
	[ "$s" = "$BAD" ] && continue
	ino=$(stat -c %i "$M/app/$s")
	check "verify_cached: $s reads whole" same "$M/app/$s" "$V/topics/app/$s"
	check "verify_cached: ... through passthrough" eq "$(reads "$ino")" 0
done
lfs_umount "$M"
cp "$T/bad.orig" "$V/topics/app/$BAD"

# ---- rm and retention of an open segment ----
S0=$(echo "$SEALED" | head -n 1)
S1=$(echo "$SEALED" | sed -n 2p)
S2=$(echo "$SEALED" | sed -n 3p)
for s in $S0 $S1 $S2; do cp "$V/topics/app/$s" "$T/$s"; done
# rmopen MODE SEG: reads SEG through a file that stays open across its rm
# (read, fstat, read to the end, mmap), with passthrough=MODE.
rmopen()
{
	lfs_mount "$V" "$M" -d -o "passthrough=$1" || return 1
	ino=$(stat -c %i "$M/app/$2")
	"$LFSIO" open 0 r "$M/app/$2" read 0 100 sh "rm '$M/app/$2'" \
		sh "! ls '$M/app' | grep -q '$2'" fstat 0 readall 0 mmap 0 close 0 \
		>"$T/rm.out" 2>"$T/rm.err"
	rc=$?
	[ $rc -eq 0 ] || note "$(cat "$T/rm.err")"
	check "passthrough=$1: rm of an open segment works, and its file still reads and stats" eq "$rc" 0
	{ head -c 100 "$T/$2"; size "$T/$2"; tail -c +101 "$T/$2"; cat "$T/$2"; } >"$T/rm.want"
	check "passthrough=$1: ... the open file reads it whole after the rm (read, fstat, mmap)" \
		same "$T/rm.out" "$T/rm.want"
	check "passthrough=$1: new opens do not see the removed segment" fails_with ENOENT cat "$M/app/$2"
	if [ "$1" = on ]; then
		check "passthrough=on: no read of the removed segment reached the daemon" eq "$(reads "$ino")" 0
	fi
	lfs_umount "$M"
}
rmopen on "$S0"
rmopen off "$S1"
lfs_mount "$V" "$M" -d || exit 1
ino=$(stat -c %i "$M/app/$S2")
"$LFSIO" open 0 r "$M/app/$S2" read 0 100 \
	sh "setfattr -n user.logfs.retention_bytes -v 1 '$M/app'" \
	sh "i=0; while ls '$M/app' | grep -q '$S2'; do i=\$((i+1)); [ \$i -lt 300 ] || exit 1; sleep 0.05; done" \
	readall 0 close 0 >"$T/ret.out" 2>"$T/ret.err"
rc=$?
[ $rc -eq 0 ] || note "$(cat "$T/ret.err")"
check "retention deleted an open passthrough segment" eq "$rc" 0
check "... and the open file reads it whole after retention" same "$T/ret.out" "$T/$S2"
check "... without a read reaching the daemon" eq "$(reads "$ino")" 0
lfs_umount "$M"

# ---- no leak: 10,000 opens and closes ----
# On a tmpfs, a removed file's space comes back only when nothing holds it:
# neither a daemon descriptor nor a backing file the kernel was given.
tmpfs_new "$T/fs" 64M || exit 1
V2=$T/fs/vol
vol_new "$V2" -s 1M || exit 1
lfs_mount "$V2" "$M" || exit 1
mkdir "$M/app"
cat "$T/all" >"$M/app/tail"
S=$(ls "$M/app" | head -n 1)
fds_before=$(ls "/proc/$DPID/fd" | wc -l)
check "10,000 opens and closes of a sealed segment" "$LFSIO" reopen 10000 "$M/app/$S"
# (the kernel sends RELEASE after close(2) has returned: the daemon lets
# go of the last backing file a moment after the last close)
check "the daemon's descriptors are back to where they were" \
	wait_for 10 sh -c "[ \$(ls /proc/$DPID/fd | wc -l) -eq $fds_before ]"
used_before=$(df -k --output=used "$T/fs" | tail -n 1)
seg_kb=$(du -k "$V2/topics/app/$S" | cut -f1)
rm "$M/app/$S"
check "removing the segment frees its space: no backing file is held" \
	wait_for 10 sh -c "[ \$(df -k --output=used '$T/fs' | tail -n 1) -le $((used_before - seg_kb)) ]"
lfs_umount "$M"

# ---- the option's values ----
for opt in passthrough=maybe passthrough= passthrough=ON verify_cached=banana verify_cached=-1; do
	"$LOGFS" "$V" "$M" -f -o "$opt" >"$T/o" 2>"$T/e" &
	p=$!
	_pids="$_pids $p"
	if wait_gone "$p" 10; then
		wait "$p"
		rc=$?
	else
		rc=running
		lfs_umount "$M" "$p"
	fi
	check "-o $opt is refused with exit status 2" eq "$rc" 2
	check "-o $opt: the message names the option" grep -q "invalid mount option '$opt'" "$T/e"
done
check "after the refusals nothing is mounted" sh -c "! grep -q ' $M ' /proc/self/mountinfo"
# Reads that race the RELEASE of their own close: a handler must be done
# with a handle before RELEASE frees it (the ASan build reports one that is
# not). A sealed segment read by the daemon, and tail (a reader).
vol_new "$T/vol2" || exit 1
lfs_mount "$T/vol2" "$M" -o passthrough=off,segment_size=4K || exit 1
mkdir "$M/rc"
seq 1 5000 >>"$M/rc/tail"
RSEG=$(ls "$M/rc" | grep '\.log$' | head -n 1)
check "setup: $RSEG is sealed (not the last segment)" \
	test "$(ls "$M/rc" | grep -c '\.log$')" -ge 2
check "passthrough=off: 4 threads x 2000 open, read, close of $RSEG" \
	eq "$("$LFS_BUILD/tests/tools/readclose" "$M/rc/$RSEG" 4 2000)" "reads 8000"
check "... and of tail" eq "$("$LFS_BUILD/tests/tools/readclose" "$M/rc/tail" 4 2000)" "reads 8000"
lfs_umount "$M"
finish
