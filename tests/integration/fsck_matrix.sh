#!/bin/sh
# fsck.logfs corruption matrix. For each kind of damage to a volume:
#   fsck -n (full check) reports it, exits 4 and changes nothing at all;
#   fsck -y repairs it and exits 1; a second fsck -y exits 0;
#   the repaired volume serves exactly the records that survive, byte for
#   byte, in both topics.
# The volume: segment size 4K, topic t (line framing, 100-byte records, 2 per
# append: segments 0 40 80 sealed, 120 active, 150 records) and topic w
# (write framing, 100-byte binary records, one per append: 0 40 sealed, 80
# active, 100 records). Index entry k of a segment is at byte 64 + 48k; in t
# entry k holds records base+2k and base+2k+1 at data byte 200k.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

# Pristine volumes: cleanly closed, and crashed (t written last, never closed:
# state dirty, the active segment keeps its preallocated zero tails).
two_topics "$TMP/clean" || exit 1
two_topics "$TMP/crash" --crash || exit 1

ALL_T="0 150"
ALL_W="0 100"

# run NAME BASE "DAMAGE" "T RANGES" "W RANGES" [N_RC Y_RC Y2_RC]
# DAMAGE is evaluated with $V the volume. RANGES: "A B" pairs separated by
# commas; "-" for T RANGES skips reading the volume back.
run() {
	name=$1 base=$2 damage=$3 tr=$4 wr=$5 nrc=${6:-4} yrc=${7:-1} y2rc=${8:-0}
	V=$TMP/v
	rm -rf "$V"
	cp -a "$TMP/$base" "$V"
	if ! eval "$damage"; then
		notok "$name: damaging the volume"
		return
	fi
	snap "$V" >"$TMP/before"
	expect_rc "$nrc" "$name: fsck -n -f exits $nrc" "$FSCK" -n -f "$V"
	if [ "$nrc" -ne 0 ]; then
		out_has "$name: fsck -n reports it as not repaired" 'NOT REPAIRED'
	fi
	snap "$V" >"$TMP/after"
	if cmp -s "$TMP/before" "$TMP/after"; then
		ok "$name: fsck -n changed nothing"
	else
		notok "$name: fsck -n changed the volume"
		diff "$TMP/before" "$TMP/after" | head -n 10 | sed 's/^/#   /'
	fi
	expect_rc "$yrc" "$name: fsck -y -f exits $yrc" "$FSCK" -y -f "$V"
	expect_rc "$y2rc" "$name: a second fsck -y -f exits $y2rc" "$FSCK" -y -f "$V"
	[ "$tr" = - ] && return
	IFS=,
	# shellcheck disable=SC2086
	set -- $tr
	unset IFS
	same_records "$name: topic t serves the surviving records" "$V" t "$@"
	IFS=,
	# shellcheck disable=SC2086
	set -- $wr
	unset IFS
	same_records "$name: topic w serves the surviving records" "$V" w -w "$@"
}

T40=$(seg '$V' t 40 log)
T40I=$(seg '$V' t 40 idx)
T120=$(seg '$V' t 120 log)
T120I=$(seg '$V' t 120 idx)
W40=$(seg '$V' w 40 log)
W40I=$(seg '$V' w 40 idx)

# --- torn writes at the end of the active segment ---
# Crashed volume: t's active segment 120 has 15 batches (records 120..149).
run "torn last batch (crash, data half zero)" crash \
	"dd if=/dev/zero of=\"$T120\" bs=1 seek=2900 count=100 conv=notrunc 2>/dev/null" \
	"0 148" "$ALL_W"
run "torn index entry (crash, last entry half zero)" crash \
	"dd if=/dev/zero of=\"$T120I\" bs=1 seek=$((64 + 48 * 14 + 24)) count=24 conv=notrunc 2>/dev/null" \
	"0 148" "$ALL_W"
run "zero-filled tail after a power cut (last 3 batches of data)" crash \
	"dd if=/dev/zero of=\"$T120\" bs=1 seek=2400 count=600 conv=notrunc 2>/dev/null" \
	"0 144" "$ALL_W"
run "zero-filled tail after a power cut (last 3 index entries)" crash \
	"dd if=/dev/zero of=\"$T120I\" bs=1 seek=$((64 + 48 * 12)) count=144 conv=notrunc 2>/dev/null" \
	"0 144" "$ALL_W"
run "torn last batch (clean volume, data short)" clean \
	"truncate -s 2950 \"$T120\"" "0 148" "$ALL_W"

# --- a flipped bit in payload: that batch alone is lost, recorded as a lost
# range; the records after it keep their offsets; its bytes go to lost+found ---
run "flipped bit in the payload of a sealed segment (line)" clean \
	"\"$TOOLS/lfs_flip\" \"$T40\" 1050 3" "0 50,52 150" "$ALL_W"
check "damaged sealed batch (line): its bytes, as damaged, are in lost+found" \
	sh -c "test \"\$('$TOOLS/lfs_write' --expect 50 52 | cmp -l - '$TMP/v/lost+found/topics/t/00000000000000000050.lost' 2>&1 | wc -l)\" -eq 1"
check "damaged sealed batch (line): fsck.log names the lost range" \
	grep -q "offsets 50..52 recorded as lost" "$TMP/v/fsck.log"
check "damaged sealed batch (line): @50 starts at record 52" \
	sh -c "'$TOOLS/lfs_dump' '$TMP/v' t --from 50 | head -c 15 | grep -q 'rec 0000000052'"
check "damaged sealed batch (line): next_offset unchanged" \
	sh -c "'$TOOLS/lfs_dump' '$TMP/v' t --stat | grep -q 'first_offset=0 next_offset=150 '"
# The repaired volume holds 248 records (t: 150 offsets, 2 of them lost; w:
# 100): the lost offsets are not counted as records, in the full check, in
# each segment's line and in the quick check of the clean volume.
expect_rc 0 "damaged sealed batch (line): fsck -f -v after the repair exits 0" "$FSCK" -n -f -v "$TMP/v"
out_has "damaged sealed batch (line): fsck -f counts records and lost offsets apart" \
	': 2 topics, 7 segments, 248 records (2 offsets lost), '
out_has "damaged sealed batch (line): the segment's line counts 38 records and 19 batches" \
	'^t/00000000000000000040: 38 records (offsets 40..79, 2 lost), .*, 19 batches, sealed$'
expect_rc 0 "damaged sealed batch (line): the quick check exits 0" "$FSCK" -n "$TMP/v"
out_has "damaged sealed batch (line): the quick check counts records and lost offsets apart" \
	': clean, 2 topics, 7 segments, 248 records (2 offsets lost), '
run "flipped bit in the payload of a sealed segment (write)" clean \
	"\"$TOOLS/lfs_flip\" \"$W40\" 1050 3" "$ALL_T" "0 50,51 100"
run "flipped bit in the payload of the active segment" clean \
	"\"$TOOLS/lfs_flip\" \"$T120\" 2450 1" "0 144,146 150" "$ALL_W"
run "flipped bit in the payload of the last batch of a sealed segment" clean \
	"\"$TOOLS/lfs_flip\" \"$T40\" 3950 1" "0 78,80 150" "$ALL_W"
run "flipped bits in two batches in a row of a sealed segment" clean \
	"\"$TOOLS/lfs_flip\" \"$T40\" 1050 3 && \"$TOOLS/lfs_flip\" \"$T40\" 1250 3" "0 50,54 150" "$ALL_W"

# --- a flipped bit in each field of an index entry between valid ones:
# rebuilt from its neighbours, nothing lost ---
for f in offset:0 pos:8 len:16 count:20 ts:24 crc:32 type:36 pad:40 entry-crc:44; do
	run "flipped bit in index entry field ${f%%:*} (line, sealed)" clean \
		"\"$TOOLS/lfs_flip\" \"$T40I\" $((64 + 48 * 5 + ${f#*:})) 0" "$ALL_T" "$ALL_W"
	run "flipped bit in index entry field ${f%%:*} (write, sealed)" clean \
		"\"$TOOLS/lfs_flip\" \"$W40I\" $((64 + 48 * 7 + ${f#*:})) 1" "$ALL_T" "$ALL_W"
done
run "flipped bit in index entry field len (line, active)" clean \
	"\"$TOOLS/lfs_flip\" \"$T120I\" $((64 + 48 * 3 + 16)) 0" "$ALL_T" "$ALL_W"

# --- index header, superblock ---
run "flipped bit in the index header (line)" clean \
	"\"$TOOLS/lfs_flip\" \"$T40I\" 20 0" "$ALL_T" "$ALL_W"
run "flipped bit in the index header (write)" clean \
	"\"$TOOLS/lfs_flip\" \"$W40I\" 20 0" "$ALL_T" "$ALL_W"
run "flipped bits in the index header and first entry (line: rebuilt from the data)" clean \
	"\"$TOOLS/lfs_flip\" \"$T40I\" 20 0 && \"$TOOLS/lfs_flip\" \"$T40I\" 70 0" "$ALL_T" "$ALL_W"
run "flipped bits in the index header and first entry (write: unrepairable)" clean \
	"\"$TOOLS/lfs_flip\" \"$W40I\" 20 0 && \"$TOOLS/lfs_flip\" \"$W40I\" 70 0" - - 4 4 4
run "first retained segment lost its index header" clean \
	"rm \"$(seg '$V' t 0 log)\" \"$(seg '$V' t 0 idx)\" && \"$TOOLS/lfs_flip\" \"$T40I\" 20 0" \
	"40 150" "$ALL_W"
check "first retained segment lost its header: its stream position follows from the next" \
	sh -c "'$TOOLS/lfs_idx' '$(seg "$TMP/v" t 40 idx)' | grep -q '^header base=40 stream_pos=4000 '"
check "first retained segment lost its header: the next headers are untouched" \
	cmp -s "$(seg "$TMP/v" t 80 idx)" "$(seg "$TMP/clean" t 80 idx)"
run "flipped bit in the primary superblock" clean \
	"\"$TOOLS/lfs_flip\" \"\$V/superblock\" 40 2" "$ALL_T" "$ALL_W"
run "flipped bit in the backup superblock" clean \
	"\"$TOOLS/lfs_flip\" \"\$V/superblock\" 600 2" "$ALL_T" "$ALL_W"

# --- index and data of different lengths ---
run "index longer than data (sealed segment)" clean \
	"truncate -s 3850 \"$T40\"" "0 78,80 150" "$ALL_W"
run "data longer than index (sealed segment)" clean \
	"printf 'garbage after the seal' >>\"$T40\"" "$ALL_T" "$ALL_W"
run "data longer than index (active segment, partial line)" clean \
	"printf 'half a line' >>\"$T120\"" "$ALL_T" "$ALL_W"

# --- missing files ---
run "missing .idx (line framing: rebuilt)" clean \
	"rm \"$T40I\"" "$ALL_T" "$ALL_W"
run "missing .idx of the active segment (line framing: rebuilt)" clean \
	"rm \"$T120I\"" "$ALL_T" "$ALL_W"
run "missing .idx (write framing: unrepairable)" clean \
	"rm \"$W40I\"" - - 4 4 4
check "missing .idx (write framing): the data file is left as it was" \
	cmp -s "$TMP/v/topics/w/00000000000000000040.log" "$TMP/clean/topics/w/00000000000000000040.log"
check "missing .idx (write framing): no index was made up" \
	test ! -e "$TMP/v/topics/w/00000000000000000040.idx"
run "missing .log (active segment)" clean \
	"rm \"$T120\"" "0 120" "$ALL_W"
run "missing .log (sealed segment)" clean \
	"rm \"$T40\"" "0 40,80 150" "$ALL_W"

# --- order ---
# A segment renamed: its header names another base offset.
run "a segment under another name (header disagrees)" clean \
	"mv \"$(seg '$V' t 80 log)\" \"$(seg '$V' t 100 log)\" &&
	 mv \"$(seg '$V' t 80 idx)\" \"$(seg '$V' t 100 idx)\"" "0 80,120 150" "$ALL_W"
# A segment whose offsets overlap its predecessor's: segment 81 of a volume
# with 8K segments (records 81..161) dropped among t's segments.
"$MKFS" -q -s 8K "$TMP/other" && "$TOOLS/lfs_write" -n 200 "$TMP/other" t || exit 1
run "a segment out of offset order (overlaps the previous one)" clean \
	"cp \"$(seg "$TMP/other" t 81 log)\" \"$(seg "$TMP/other" t 81 idx)\" \"\$V/topics/t/\"" \
	"$ALL_T" "$ALL_W"

# --- names that are not part of a volume ---
run "unknown files in the volume" clean \
	"echo junk >\"\$V/junk.txt\" && mkdir \"\$V/stuff\" && echo x >\"\$V/stuff/f\" &&
	 mkdir \"\$V/topics/bad name\" && echo y >\"\$V/topics/notatopic\" &&
	 echo z >\"\$V/topics/t/notes.txt\" && cp \"$T40\" \"$T40.bak\" &&
	 mkdir \"\$V/topics/w/sub\" && ln -s /etc/passwd \"$(seg '$V' w 200 log)\"" \
	"$ALL_T" "$ALL_W"
V=$TMP/v
for f in junk.txt stuff/f topics/notatopic "topics/bad name" topics/t/notes.txt \
	topics/t/00000000000000000040.log.bak topics/w/sub topics/w/00000000000000000200.log; do
	check "unknown files: $f is in lost+found" test -e "$V/lost+found/$f"
done
check "unknown files: the symbolic link was moved, not followed" test -L "$V/lost+found/topics/w/00000000000000000200.log"
check "unknown files: fsck.log records the moves" grep -q "moved to lost+found" "$V/fsck.log"

# A topic deletion (rmdir) cut short by a crash: the daemon renames the
# topic to .deleted.NAME first; repair finishes the deletion.
run "a topic deletion cut short by a crash" clean \
	"cp -a \"\$V/topics/w\" \"\$V/topics/.deleted.old\"" "$ALL_T" "$ALL_W"
check "topic deletion cut short: finished" test ! -e "$V/topics/.deleted.old"
check "topic deletion cut short: not kept in lost+found" test ! -e "$V/lost+found"

# --- topic.conf, state, seals ---
run "damaged topic.conf (readable lines kept)" clean \
	"printf 'mode=750\\nuid=0\\ngid=0\\nretention_bytes=123456\\nbogus\\nsync=nonsense\\ncrc=00000000\\n' >\"\$V/topics/t/topic.conf\"" \
	"$ALL_T" "$ALL_W"
# A mode read from a damaged file is kept no wider than the backing
# directory's (700): damage never widens access.
check "damaged topic.conf: mode kept, no wider than the directory's" grep -q '^mode=700$' "$V/topics/t/topic.conf"
check "damaged topic.conf: retention_bytes kept" grep -q '^retention_bytes=123456$' "$V/topics/t/topic.conf"
check "damaged topic.conf: the bad lines dropped" sh -c "! grep -q -e bogus -e nonsense '$V/topics/t/topic.conf'"
run "missing topic.conf of a write-framed topic (framing from the segments)" clean \
	"rm \"\$V/topics/w/topic.conf\"" "$ALL_T" "$ALL_W"
check "missing topic.conf: framing=write restored" grep -q '^framing=write$' "$V/topics/w/topic.conf"
run "damaged state file" clean \
	"printf 'LOGFS_STxxxxxxxx' >\"\$V/state\"" "$ALL_T" "$ALL_W"
run "a sealed segment without its seal" clean \
	"truncate -s $((64 + 48 * 20)) \"$T40I\"" "$ALL_T" "$ALL_W"

exit 0
