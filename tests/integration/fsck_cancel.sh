#!/bin/sh
# fsck.logfs cancelled by SIGINT or SIGTERM: exits 32 (plus 1 if it had
# already repaired something), stops at a segment boundary so the volume is
# consistent, and a second fsck finishes the job.
# To interrupt at a known point, fsck -v writes into a pipe nobody reads: it
# blocks once the pipe is full, mid-check, and gets the signal there.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

# 1200 segments of 40 records (one append each), never closed: dirty.
"$MKFS" -q -s 4K "$TMP/base" || exit 1
"$TOOLS/lfs_write" -n 48000 -b 40 --crash "$TMP/base" t || exit 1
V=$TMP/v

# interrupt SIGNAL FSCK-ARGS...: runs fsck on $V, signals it once its
# output is stuck, then drains the output. Sets RC; output in $TMP/out.
interrupt() {
	_sig=$1
	shift
	rm -f "$TMP/pipe"
	mkfifo "$TMP/pipe" || return 1
	"$FSCK" "$@" "$V" >"$TMP/pipe" 2>"$TMP/err" &
	_pid=$!
	exec 3<"$TMP/pipe"
	# Wait until fsck is blocked writing (its output fills the pipe).
	_i=0
	while [ $_i -lt 250 ]; do
		case $(cat "/proc/$_pid/wchan" 2>/dev/null) in
		*pipe_write*) break ;;
		esac
		sleep 0.02
		_i=$((_i + 1))
	done
	kill "-$_sig" "$_pid"
	cat <&3 >"$TMP/out"
	exec 3<&-
	wait "$_pid"
	RC=$?
	cat "$TMP/err" >>"$TMP/out"
}

for sig in INT TERM; do
	rm -rf "$V"
	cp -a "$TMP/base" "$V"
	interrupt $sig -f -y -v
	check "SIG$sig during fsck -y: exit 32 (got $RC)" test "$RC" -eq 32
	out_has "SIG$sig: the report says it was cancelled" 'check cancelled after 1 topics'
	n=$(grep -c '^t/' "$TMP/out")
	check "SIG$sig: stopped part way ($n of 1200 segments listed)" test "$n" -gt 0 -a "$n" -lt 1200
	expect_rc 0 "SIG$sig: the volume is still marked not clean (full check)" "$FSCK" -n "$V"
	out_has "SIG$sig: ... every segment checked the second time" '1200 segments, 48000 records'
	expect_rc 0 "SIG$sig: a second fsck -y completes" "$FSCK" -y "$V"
	expect_rc 0 "SIG$sig: then clean" "$FSCK" -n "$V"
	out_has "SIG$sig: recorded clean" 'clean, 1 topics, 1200 segments'
done

# Damage early and late: the early one is repaired before the signal.
rm -rf "$V"
cp -a "$TMP/base" "$V"
"$TOOLS/lfs_flip" "$(seg "$V" t 400 log)" 150 0
"$TOOLS/lfs_flip" "$(seg "$V" t 47000 log)" 150 0
interrupt INT -f -y -v
check "cancelled after a repair: exit 33 = 1 + 32 (got $RC)" test "$RC" -eq 33
expect_rc 1 "cancelled after a repair: a second fsck -y repairs the rest" "$FSCK" -y "$V"
expect_rc 0 "cancelled after a repair: then clean" "$FSCK" -y -f "$V"
same_records "cancelled after a repair: the records that survive" "$V" t "0 400" "440 47000" "47040 48000"

# -n cancelled: nothing written, exit 32.
rm -rf "$V"
cp -a "$TMP/base" "$V"
snap "$V" >"$TMP/before"
interrupt INT -f -n -v
check "SIGINT during fsck -n: exit 32 (got $RC)" test "$RC" -eq 32
snap "$V" >"$TMP/after"
check "SIGINT during fsck -n: nothing changed" cmp -s "$TMP/before" "$TMP/after"

exit 0
