#!/bin/sh
# fsck.logfs -p: repairs what loses no sealed data (torn tails of the active
# segment, trailing bytes, index rebuilds, missing seals, the superblock from
# its backup, names moved to lost+found) and leaves cuts inside sealed
# segments to -y, reporting them (exit 4) without touching those segments.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

two_topics "$TMP/clean" || exit 1
two_topics "$TMP/crash" --crash || exit 1
V=$TMP/v

# safe NAME BASE "DAMAGE" "T RANGES": -p repairs (exit 1), then -p is clean.
safe() {
	rm -rf "$V"
	cp -a "$TMP/$2" "$V"
	eval "$3" || notok "$1: damaging the volume"
	expect_rc 1 "$1: fsck -p -f repairs it" "$FSCK" -p -f "$V"
	expect_rc 0 "$1: a second fsck -p -f exits 0" "$FSCK" -p -f "$V"
	IFS=,
	# shellcheck disable=SC2086
	set -- $4
	unset IFS
	same_records "$1: topic t serves the surviving records" "$V" t "$@"
	same_records "$1: topic w untouched" "$V" w -w "0 100"
}

# unsafe NAME "DAMAGE" FILE: -p leaves it (exit 4) and FILE unchanged; -y
# repairs it.
unsafe() {
	rm -rf "$V"
	cp -a "$TMP/clean" "$V"
	eval "$2" || notok "$1: damaging the volume"
	eval "sha256sum \"$3\"" >"$TMP/sum"
	expect_rc 4 "$1: fsck -p -f leaves it (exit 4)" "$FSCK" -p -f "$V"
	out_has "$1: fsck -p reports it as not repaired" 'NOT REPAIRED'
	check "$1: fsck -p did not touch the segment" sha256sum -c --quiet "$TMP/sum"
	expect_rc 1 "$1: fsck -y repairs it" "$FSCK" -y -f "$V"
	expect_rc 0 "$1: then fsck -p -f exits 0" "$FSCK" -p -f "$V"
}

T40=$(seg '$V' t 40 log)
T40I=$(seg '$V' t 40 idx)
T120=$(seg '$V' t 120 log)
T120I=$(seg '$V' t 120 idx)

safe "torn last batch of the active segment" crash \
	"dd if=/dev/zero of=\"$T120\" bs=1 seek=2900 count=100 conv=notrunc 2>/dev/null" "0 148"
safe "torn index entry of the active segment" crash \
	"dd if=/dev/zero of=\"$T120I\" bs=1 seek=$((64 + 48 * 14 + 24)) count=24 conv=notrunc 2>/dev/null" "0 148"
safe "trailing bytes after a sealed segment" clean \
	"printf junk >>\"$T40\"" "0 150"
safe "missing index (line framing)" clean "rm \"$T40I\"" "0 150"
safe "damaged index entry between valid ones" clean \
	"\"$TOOLS/lfs_flip\" \"$T40I\" $((64 + 48 * 5 + 8)) 0" "0 150"
safe "missing seal" clean "truncate -s $((64 + 48 * 20)) \"$T40I\"" "0 150"
safe "damaged primary superblock" clean "\"$TOOLS/lfs_flip\" \"\$V/superblock\" 100 0" "0 150"
safe "unknown file" clean "echo x >\"\$V/topics/t/stray\"" "0 150"
check "unknown file: moved to lost+found by -p" test -f "$V/lost+found/topics/t/stray"

unsafe "payload damage in a sealed segment" "\"$TOOLS/lfs_flip\" \"$T40\" 1050 0" "$T40"
same_records "payload damage in a sealed segment: after -y only the damaged batch is gone" \
	"$V" t "0 50" "52 150"
unsafe "sealed segment shorter than its index" "truncate -s 3000 \"$T40\"" "$T40"
unsafe "missing data file of a sealed segment" "rm \"$T40\"" "$T40I"
unsafe "overlapping segment" \
	"cp \"$T40\" \"$(seg '$V' t 41 log)\" && cp \"$T40I\" \"$(seg '$V' t 41 idx)\"" \
	"$(seg '$V' t 41 idx)"

# A sealed cut left by -p keeps the volume marked not clean, so the next
# boot's fsck -p checks it again.
rm -rf "$V"
cp -a "$TMP/clean" "$V"
"$TOOLS/lfs_flip" "$(seg "$V" t 40 log)" 1050 0
expect_rc 4 "unrepaired problem: fsck -p exits 4" "$FSCK" -p -f "$V"
expect_rc 4 "unrepaired problem: the next fsck -p (no -f) checks in full again" "$FSCK" -p "$V"

exit 0
