#!/bin/sh
# Regression tests for the recovery scanner (core/scan.c) found while
# writing fsck.logfs: each failed before its fix.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

"$MKFS" -q -s 4K "$TMP/clean" || exit 1
"$TOOLS/lfs_write" -n 100 -w "$TMP/clean" w || exit 1
"$TOOLS/lfs_write" -n 150 -b 2 "$TMP/clean" t || exit 1
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
