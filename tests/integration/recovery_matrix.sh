#!/bin/sh
# One recovery policy: the same bytes on disk become the same log whether the
# daemon's mount recovers them or fsck.logfs -y repairs them first.
#
# For each damage scenario a copy of the volume goes two ways:
#   mount:  opened read-write through the core (what the daemon's mount
#           does), closed cleanly;
#   fsck:   fsck.logfs -y -f, then opened and closed the same way.
# Each way ends with the topic's first_offset, next_offset and segment count,
# the segment files in its directory, and every byte a reader gets; the two
# must be identical. Then three records are appended on each side (the next
# offsets given out must agree too: an offset once given out is never given
# out again) and they are compared once more.
#
# The scenarios: the crash and damage cases of fsck_matrix.sh that the
# mount's recovery looks at (every volume here is left dirty, as after a
# crash: a clean volume's damage is fsck's alone, and a sealed segment is
# trusted by its seal at mount and checked batch by batch when first read),
# the unit cases of test_recovery.c at volume level, a deletion of the
# oldest segment cut short, the acknowledged record 0 damaged after kill -9,
# rolled segments left unsealed by a crash, and power-cut copies made by
# tests/tools/powercut (mixed and harsh) with fixed seeds.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

two_topics "$TMP/clean" || exit 1
two_topics "$TMP/crash" --crash || exit 1
# Rolled segments never sealed: t's writer exits without a sync, and the
# volume's default sync=never keeps the background sealer from sealing them
# first (it waits 30 s for such a topic).
"$MKFS" -q -s 4K "$TMP/nosync" && "$TOOLS/lfs_sbver" "$TMP/nosync" - sync_mode=0 &&
	"$TOOLS/lfs_write" -n 100 -w "$TMP/nosync" w &&
	"$TOOLS/lfs_write" -n 150 -b 2 --crash-nosync "$TMP/nosync" t || exit 1
# 5 records acknowledged as durable (a sync, as sync=always makes), then kill -9.
"$MKFS" -q "$TMP/always" && "$TOOLS/lfs_write" -n 0 "$TMP/always" t &&
	"$TOOLS/lfs_write" -n 0 -w "$TMP/always" w || exit 1
"$TOOLS/lfs_write" -n 5 --crash "$TMP/always" t && "$TOOLS/lfs_write" -n 5 -w --crash "$TMP/always" w ||
	exit 1

# outcome VOL TOPIC [-w]: what a reader of the topic gets, as text and bytes
# (in $TMP/out.bytes).
outcome() {
	_w=""
	[ "${3:-}" = -w ] && _w=-w
	if ! "$TOOLS/lfs_dump" "$1" "$2" --stat 2>&1 | sed 's/ first_timestamp.*//'; then
		echo "stat failed"
	fi
	(cd "$1/topics/$2" 2>/dev/null && ls | grep -E '^[0-9]{20}\.(log|idx)$' | tr '\n' ' ')
	echo
	"$TOOLS/lfs_dump" "$1" "$2" >"$TMP/bytes.$4" 2>&1 || echo "read failed: $(cat "$TMP/bytes.$4")"
	cksum <"$TMP/bytes.$4"
}

# both NAME: compares the two ways for topics t and w of $TMP/m and $TMP/f.
compare() {
	for _t in t w; do
		_o=""
		[ "$_t" = w ] && _o=-w
		outcome "$TMP/m" "$_t" "$_o" m >"$TMP/out.m"
		outcome "$TMP/f" "$_t" "$_o" f >"$TMP/out.f"
		if cmp -s "$TMP/out.m" "$TMP/out.f"; then
			ok "$1: topic $_t: mount and fsck -y give the same log$2"
		else
			notok "$1: topic $_t: mount and fsck -y give different logs$2"
			echo "#   mount:"
			sed 's/^/#     /' "$TMP/out.m"
			echo "#   fsck -y, then mount:"
			sed 's/^/#     /' "$TMP/out.f"
		fi
	done
}

# run NAME BASE "DAMAGE" ["T RANGES" ["W RANGES"]]: DAMAGE is evaluated with
# $V the volume. RANGES (as in fsck_matrix.sh): the records the recovered
# topic must serve, checked on the mount's side before the appends.
run() {
	name=$1 base=$2 damage=$3 tr=${4:-} wr=${5:-}
	V=$TMP/v
	rm -rf "$V" "$TMP/m" "$TMP/f"
	cp -a "$TMP/$base" "$V"
	rm -f "$V/state"
	if ! eval "$damage"; then
		notok "$name: damaging the volume"
		return
	fi
	cp -a "$V" "$TMP/m"
	cp -a "$V" "$TMP/f"
	"$TOOLS/lfs_write" -n 0 "$TMP/m" t >"$TMP/m.log" 2>&1
	"$FSCK" -y -f "$TMP/f" >"$TMP/f.log" 2>&1
	"$TOOLS/lfs_write" -n 0 "$TMP/f" t >>"$TMP/f.log" 2>&1
	compare "$name" ""
	if [ -n "$tr" ]; then
		IFS=,
		# shellcheck disable=SC2086
		set -- $tr
		unset IFS
		same_records "$name: topic t serves the surviving records" "$TMP/m" t "$@"
	fi
	if [ -n "$wr" ]; then
		IFS=,
		# shellcheck disable=SC2086
		set -- $wr
		unset IFS
		same_records "$name: topic w serves the surviving records" "$TMP/m" w -w "$@"
	fi
	for _t in t w; do
		_o=""
		[ "$_t" = w ] && _o=-w
		"$TOOLS/lfs_write" -n 3 $_o "$TMP/m" $_t >/dev/null 2>&1
		"$TOOLS/lfs_write" -n 3 $_o "$TMP/f" $_t >/dev/null 2>&1
	done
	compare "$name" " after 3 more appends"
}

T0I=$(seg '$V' t 0 idx)
T0=$(seg '$V' t 0 log)
T40=$(seg '$V' t 40 log)
T40I=$(seg '$V' t 40 idx)
T80=$(seg '$V' t 80 log)
T80I=$(seg '$V' t 80 idx)
T120=$(seg '$V' t 120 log)
T120I=$(seg '$V' t 120 idx)
W80=$(seg '$V' w 80 log)
W80I=$(seg '$V' w 80 idx)

# --- fsck_matrix.sh: torn writes at the end of the active segment ---
run "torn last batch (data half zero)" crash \
	"dd if=/dev/zero of=\"$T120\" bs=1 seek=2900 count=100 conv=notrunc 2>/dev/null"
run "torn index entry (last entry half zero)" crash \
	"dd if=/dev/zero of=\"$T120I\" bs=1 seek=$((64 + 48 * 14 + 24)) count=24 conv=notrunc 2>/dev/null"
run "zero-filled tail (last 3 batches of data)" crash \
	"dd if=/dev/zero of=\"$T120\" bs=1 seek=2400 count=600 conv=notrunc 2>/dev/null"
run "zero-filled tail (last 3 index entries)" crash \
	"dd if=/dev/zero of=\"$T120I\" bs=1 seek=$((64 + 48 * 12)) count=144 conv=notrunc 2>/dev/null"
run "torn last batch (data short)" clean "truncate -s 2950 \"$T120\""
# --- payload damage in the active segment: only that batch is lost ---
run "flipped bit in the payload of the active segment (line)" clean \
	"\"$TOOLS/lfs_flip\" \"$T120\" 2450 1" "0 144,146 150" "0 100"
run "flipped bit in the payload of the first batch of the active segment" crash \
	"\"$TOOLS/lfs_flip\" \"$T120\" 10 1" "0 120,122 150" "0 100"
run "flipped bit in the payload of the active segment (write)" clean \
	"\"$TOOLS/lfs_flip\" \"$W80\" 1050 3" "0 150" "0 90,91 100"
# --- index entries and headers of the active segment ---
for f in offset:0 pos:8 len:16 count:20 ts:24 crc:32 type:36 pad:40 entry-crc:44; do
	run "flipped bit in active index entry field ${f%%:*} (line)" clean \
		"\"$TOOLS/lfs_flip\" \"$T120I\" $((64 + 48 * 5 + ${f#*:})) 0"
done
run "flipped bit in the active index header (line)" clean "\"$TOOLS/lfs_flip\" \"$T120I\" 20 0"
run "flipped bit in the active index header (write)" clean "\"$TOOLS/lfs_flip\" \"$W80I\" 20 0"
run "flipped bits in the active index header and first entry (line)" clean \
	"\"$TOOLS/lfs_flip\" \"$T120I\" 20 0 && \"$TOOLS/lfs_flip\" \"$T120I\" 70 0"
run "flipped bits in the active index header and first entry (write)" clean \
	"\"$TOOLS/lfs_flip\" \"$W80I\" 20 0 && \"$TOOLS/lfs_flip\" \"$W80I\" 70 0"
run "first retained segment lost its index header" clean \
	"rm \"$T0\" \"$T0I\" && \"$TOOLS/lfs_flip\" \"$T40I\" 20 0"
run "data longer than index (active segment, partial line)" clean \
	"printf 'half a line' >>\"$T120\""
run "missing .idx of the active segment (line)" clean "rm \"$T120I\""
run "missing .idx of the active segment (write)" clean "rm \"$W80I\""
run "missing .log (active segment)" clean "rm \"$T120\""
run "missing .log (sealed segment)" clean "rm \"$T40\""
run "a sealed segment without its seal" clean "truncate -s $((64 + 48 * 20)) \"$T40I\""
run "a sealed segment whose seal is damaged" clean "\"$TOOLS/lfs_flip\" \"$T40I\" -3 0"
# --- order ---
run "a segment under another name (header disagrees)" clean \
	"mv \"$T80\" \"$(seg '$V' t 100 log)\" && mv \"$(seg '$V' t 80 idx)\" \"$(seg '$V' t 100 idx)\""
"$MKFS" -q -s 8K "$TMP/other" && "$TOOLS/lfs_write" -n 200 "$TMP/other" t || exit 1
run "a segment out of offset order (overlaps the previous one)" clean \
	"cp \"$(seg "$TMP/other" t 81 log)\" \"$(seg "$TMP/other" t 81 idx)\" \"\$V/topics/t/\""
# --- a deletion of the oldest segment cut short (data file gone, index left) ---
run "deletion of the oldest segment cut short" clean "rm \"$T0\""
run "deletion of the oldest segment cut short (crash)" crash "rm \"$T0\""
# --- test_recovery.c at volume level: rolled segments unsealed by a crash ---
run "rolled segments unsealed by a crash" nosync "true"
run "unsealed middle segment lost its end" nosync "truncate -s 3000 \"$T40\""
run "unsealed middle segment lost a page" nosync \
	"dd if=/dev/zero of=\"$T40\" bs=1 seek=0 count=4096 conv=notrunc 2>/dev/null"
run "unsealed middle segment: payload damaged" nosync "\"$TOOLS/lfs_flip\" \"$T40\" 150 2"
run "unsealed middle segment lost its index" nosync "rm \"$T40I\""
run "unsealed middle segment lost its data" nosync "rm \"$T40\""
# --- a crash right after a roll: a roll flushes nothing, so the new
# segment's index header and directory entries may not have reached the
# disk (nothing in it was durable: a sync point makes them durable first).
# Its records are cut like a torn end, its data goes to lost+found, and
# any later segment too. ---
run "unsynced roll: the active segment's index header never written (line)" nosync \
	"truncate -s 0 \"$T120I\"" "0 120"
run "unsynced roll: the active segment's index header never written (write)" crash \
	"truncate -s 0 \"$W80I\" && truncate -s 4096 \"$W80I\"" "" "0 80"
check "unsynced roll (write): the segment's data is in lost+found" \
	test -s "$TMP/m/lost+found/topics/w/00000000000000000080.log"
run "unsynced roll: a rolled segment's index header never written" nosync \
	"truncate -s 0 \"$T80I\" && truncate -s 4096 \"$T80I\"" "0 80"
run "unsynced roll: the new segment's directory entries lost" nosync \
	"rm \"$T120\" \"$T120I\"" "0 120"
# --- sync=always: acknowledged records, kill -9, record 0 damaged ---
run "sync=always, kill -9, record 0 of the active segment damaged (line)" always \
	"\"$TOOLS/lfs_flip\" \"$(seg '$V' t 0 log)\" 5 1" "1 5" "0 5"
# Offset 0 is never given out again: the three appends took 5, 6, 7.
same_records "record 0 damaged (line): the next appends take offsets 5.." "$TMP/m" t "1 8"
check "record 0 damaged (line): @0 starts at record 1" \
	sh -c "'$TOOLS/lfs_dump' '$TMP/m' t --from 0 | head -c 15 | grep -q 'rec 0000000001'"
check "record 0 damaged (line): the damaged bytes are in lost+found" \
	test -s "$TMP/m/lost+found/topics/t/00000000000000000000.lost"
run "sync=always, kill -9, record 0 of the active segment damaged (write)" always \
	"\"$TOOLS/lfs_flip\" \"$(seg '$V' w 0 log)\" 5 1" "0 5" "1 5"
same_records "record 0 damaged (write): the next appends take offsets 5.." "$TMP/m" w -w "1 8"
# --- power-cut copies (tests/tools/powercut) ---
for m in mixed harsh; do
	for s in 1 2 3 4 5 6; do
		run "power cut ($m, seed $s)" nosync \
			"rm -rf \"\$V\" && \"$TOOLS/powercut\" -f \"$TMP/nosync\" -o \"\$V\" -s $s -m $m >/dev/null"
	done
done

# Format version 2: a version 1 volume is read as it is, and raised to 2
# when opened read-write (so that a version 1 program refuses it).
rm -rf "$TMP/v1" && cp -a "$TMP/clean" "$TMP/v1" && "$TOOLS/lfs_sbver" "$TMP/v1" 1 || exit 1
check "a version 1 volume is read (read-only, not raised)" \
	sh -c "'$TOOLS/lfs_dump' '$TMP/v1' t --stat | grep -q 'next_offset=150 ' &&
	       '$TOOLS/lfs_dump' '$TMP/v1' --sb | grep -q '^version=1 '"
check "a version 1 volume is raised to version 2 when opened read-write" \
	sh -c "'$TOOLS/lfs_write' -n 0 '$TMP/v1' t && '$TOOLS/lfs_dump' '$TMP/v1' --sb | grep -q '^version=2 '"
rm -rf "$TMP/v1" && cp -a "$TMP/clean" "$TMP/v1" && "$TOOLS/lfs_sbver" "$TMP/v1" 1 || exit 1
check "a version 1 volume is raised to version 2 by fsck.logfs -y" \
	sh -c "'$FSCK' -y -f '$TMP/v1' >/dev/null; '$TOOLS/lfs_dump' '$TMP/v1' --sb | grep -q '^version=2 '"

exit 0
