#!/bin/sh
# Regression tests for the recovery scanner (core/scan.c) found while
# writing fsck.logfs: each failed before its fix.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

two_topics "$TMP/clean" || exit 1
V=$TMP/v
fresh() {
	rm -rf "$V"
	cp -a "$TMP/clean" "$V"
}
stat_of() {
	"$TOOLS/lfs_dump" "$1" "$2" --stat
}

# 1. A sealed segment whose seal is missing (a roll cut short) was sealed
# silently: fsck could neither report nor count it.
fresh
truncate -s $((64 + 48 * 20)) "$(seg "$V" t 40 idx)"
expect_rc 4 "missing seal: fsck -n reports it" "$FSCK" -n -f "$V"
out_has "missing seal: the report says so" 'not sealed'
expect_rc 1 "missing seal: fsck -y seals it" "$FSCK" -y -f "$V"
expect_rc 0 "missing seal: then clean" "$FSCK" -n -f "$V"

# 2. A damaged index header threw away intact entries: write framing was
# unrepairable, line framing lost every timestamp.
fresh
stat_of "$V" w >"$TMP/stat.before"
"$TOOLS/lfs_flip" "$(seg "$V" w 40 idx)" 20 0
expect_rc 1 "damaged header (write framing): fsck -y rebuilds it" "$FSCK" -y -f "$V"
expect_rc 0 "damaged header (write framing): then clean" "$FSCK" -y -f "$V"
same_records "damaged header (write framing): every record kept" "$V" w -w "0 100"
stat_of "$V" w >"$TMP/stat.after"
check "damaged header (write framing): timestamps kept" cmp -s "$TMP/stat.before" "$TMP/stat.after"
fresh
"$TOOLS/lfs_flip" "$(seg "$V" t 40 idx)" 30 0
stat_of "$TMP/clean" t >"$TMP/stat.before"
"$TOOLS/lfs_idx" "$(seg "$TMP/clean" t 40 idx)" | sed 1d >"$TMP/idx.before"
expect_rc 1 "damaged header (line framing): fsck -y rebuilds it" "$FSCK" -y -f "$V"
"$TOOLS/lfs_idx" "$(seg "$V" t 40 idx)" | sed 1d >"$TMP/idx.after"
check "damaged header (line framing): entries and timestamps kept" cmp -s "$TMP/idx.before" "$TMP/idx.after"
"$TOOLS/lfs_idx" "$(seg "$V" t 40 idx)" | head -n 1 >"$TMP/hdr.after"
check "damaged header (line framing): base and stream position restored" \
	grep -q '^header base=40 stream_pos=4000 framing=1$' "$TMP/hdr.after"

# 3. A damaged last batch entry of a sealed segment was cut although the
# seal gives its right-hand neighbour (next offset, data length).
for f in offset:0 len:16 count:20 ts:24 crc:32; do
	fresh
	"$TOOLS/lfs_flip" "$(seg "$V" t 40 idx)" $((64 + 48 * 19 + ${f#*:})) 0
	expect_rc 1 "damaged last entry (${f%%:*}, line, sealed): fsck -y mends it" "$FSCK" -y -f "$V"
	same_records "damaged last entry (${f%%:*}, line, sealed): nothing lost" "$V" t "0 150"
	fresh
	"$TOOLS/lfs_flip" "$(seg "$V" w 40 idx)" $((64 + 48 * 39 + ${f#*:})) 0
	expect_rc 1 "damaged last entry (${f%%:*}, write, sealed): fsck -y mends it" "$FSCK" -y -f "$V"
	same_records "damaged last entry (${f%%:*}, write, sealed): nothing lost" "$V" w -w "0 100"
	expect_rc 0 "damaged last entry (${f%%:*}, write, sealed): then clean" "$FSCK" -n -f "$V"
done

# ... and a mended entry made the seal's checksum differ, reported again as
# a bad seal.
fresh
"$TOOLS/lfs_flip" "$(seg "$V" t 40 idx)" $((64 + 48 * 5 + 16)) 0
expect_rc 4 "mended entry in a sealed segment: fsck -n exits 4" "$FSCK" -n -f "$V"
out_has "mended entry in a sealed segment: one problem, not two" ': 1 problems, 0 repaired, 1 left'

# 4. A mended entry got the previous batch's timestamp (0 for a first
# entry): a lower bound, so a search by time skipped the mended records.
# It now gets the next batch's, an upper bound, which never skips them.
fresh
ts5=$("$TOOLS/lfs_idx" "$(seg "$V" t 0 idx)" | sed -n 's/^5 batch .* ts=//p')
"$TOOLS/lfs_flip" "$(seg "$V" t 0 idx)" $((64 + 48 * 5 + 24)) 0
expect_rc 1 "damaged entry timestamp: fsck -y mends the entry" "$FSCK" -y -f "$V"
"$TOOLS/lfs_dump" "$V" t --time "$ts5" | head -c 100 >"$TMP/got"
want "$TMP/want" "10 11"
check "damaged entry timestamp: a search by its time still finds its records" cmp -s "$TMP/got" "$TMP/want"
fresh
"$TOOLS/lfs_flip" "$(seg "$V" t 0 idx)" $((64 + 24)) 0
expect_rc 1 "damaged first entry: fsck -y mends it" "$FSCK" -y -f "$V"
first=$(stat_of "$V" t | sed 's/.*first_timestamp=\([0-9]*\).*/\1/')
orig=$(stat_of "$TMP/clean" t | sed 's/.*first_timestamp=\([0-9]*\).*/\1/')
check "damaged first entry: its timestamp is not 0 ($first >= $orig)" test "$first" -ge "$orig"

# 5. A cut was reported twice: as the bad batch and as trailing bytes.
fresh
"$TOOLS/lfs_flip" "$(seg "$V" t 40 log)" 1050 3
expect_rc 4 "one bad batch: fsck -n exits 4" "$FSCK" -n -f "$V"
out_has "one bad batch: reported as one problem" ': 1 problems, 0 repaired, 1 left'

# 6. Bytes after the last whole entry of a sealed index (a torn append to
# the index) were neither reported nor cut; the daemon refused the segment.
fresh
printf 'torn' >>"$(seg "$V" t 40 idx)"
expect_rc 4 "partial entry after the seal: fsck -n reports it" "$FSCK" -n -f "$V"
expect_rc 1 "partial entry after the seal: fsck -y cuts it" "$FSCK" -y -f "$V"
expect_rc 0 "partial entry after the seal: then clean, also in a quick check" "$FSCK" -n "$V"
same_records "partial entry after the seal: the volume opens, nothing lost" "$V" t "0 150"

exit 0
