#!/bin/sh
# unprivileged: yes
# fsck.logfs: command line, exit codes, clean and dirty volumes, volumes in
# use, things that are not volumes.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

V=$TMP/vol
"$MKFS" -q -s 4K "$V" || exit 1
"$TOOLS/lfs_write" -n 150 -b 2 "$V" t || exit 1
"$TOOLS/lfs_write" -n 100 -w "$V" w || exit 1

# --- command line ---
expect_rc 0 "--help exits 0" "$FSCK" --help
out_has "--help shows the synopsis" 'fsck.logfs \[-n | -y | -p\] \[-f\] \[-v\] \[-C\] VOLUME'
expect_rc 0 "--version exits 0" "$FSCK" --version
out_has "--version shows the version" '^fsck.logfs (logfs) [0-9]'
expect_rc 0 "-V exits 0" "$FSCK" -V
out_has "-V shows the version" '^fsck.logfs (logfs) [0-9]'
expect_rc 0 "-h exits 0" "$FSCK" -h
out_has "-h shows the synopsis after 'Usage:'" '^Usage: fsck.logfs \[-n | -y | -p\]'
expect_rc 16 "--help=x: usage error (exit 16)" "$FSCK" --help=x
out_has "--help=x: says it takes no argument" "^fsck.logfs: option '--help' doesn't allow an argument"
expect_rc 16 "no volume: usage error" "$FSCK"
out_has "usage errors are reported as 'fsck.logfs: ...'" '^fsck.logfs: no volume given'
expect_rc 16 "two volumes: usage error" "$FSCK" "$V" "$V"
expect_rc 16 "-n with -y: usage error" "$FSCK" -n -y "$V"
expect_rc 16 "-y with -p: usage error" "$FSCK" -y -p "$V"
expect_rc 16 "unknown option: usage error" "$FSCK" -x "$V"
out_has "unknown option named" "invalid option -- 'x'"
expect_rc 16 "unknown long option: usage error" "$FSCK" --frobnicate "$V"
expect_rc 16 "bad -C argument: usage error" "$FSCK" -Cx "$V"
expect_rc 0 "-a is accepted as -p" "$FSCK" -a "$V"
expect_rc 0 "-C0 (as fsck(8) passes it) is accepted" "$FSCK" -n -C0 "$V"
expect_rc 0 "combined flags -fn" "$FSCK" -fn "$V"

# --- clean volume ---
snap "$V" >"$TMP/before"
expect_rc 0 "clean volume: exit 0" "$FSCK" "$V"
out_has "clean volume: quick check said so" 'clean, 2 topics, 7 segments, 250 records'
expect_rc 0 "clean volume, -f: exit 0" "$FSCK" -f "$V"
out_has "clean volume, -f: full check" '2 topics, 7 segments, 250 records, .*: no problems'
expect_rc 0 "clean volume, -n -f -v: exit 0" "$FSCK" -n -f -v "$V"
out_has "-v lists sealed segments" 't/00000000000000000040: 40 records (offsets 40..79), 3.9 KiB, 20 batches, sealed'
out_has "-v lists the active segment" 'w/00000000000000000080: 20 records (offsets 80..99), 2.0 KiB, 20 batches, not sealed'
expect_rc 0 "clean volume, -v without -f lists segments too" "$FSCK" -v "$V"
out_has "-v quick listing" 't/00000000000000000120: 30 records'
expect_rc 0 "clean volume, -y -f: exit 0" "$FSCK" -y -f "$V"
expect_rc 0 "clean volume, -p: exit 0" "$FSCK" -p "$V"
snap "$V" >"$TMP/after"
check "checking a clean volume changes nothing" cmp -s "$TMP/before" "$TMP/after"
check "no fsck.log without repairs" test ! -e "$V/fsck.log"

# Payload damage is found by -f, not by the quick check of a clean volume.
cp -a "$V" "$TMP/v2"
"$TOOLS/lfs_flip" "$(seg "$TMP/v2" t 40 log)" 500 0
expect_rc 0 "quick check of a clean volume does not read payload" "$FSCK" -n "$TMP/v2"
expect_rc 4 "... -f does" "$FSCK" -n -f "$TMP/v2"
# A clean volume with a broken seal is checked in full without -f.
rm -rf "$TMP/v2"
cp -a "$V" "$TMP/v2"
truncate -s 1000 "$(seg "$TMP/v2" t 40 log)"
expect_rc 4 "quick check of a clean volume finds a short sealed segment" "$FSCK" -n "$TMP/v2"
out_has "... and checks that topic in full" 'data ends inside batch'
rm -rf "$TMP/v2"

# --- dirty volume (crash): checked in full without -f ---
two_topics "$TMP/d" --crash || exit 1
"$TOOLS/lfs_flip" "$(seg "$TMP/d" t 40 log)" 500 0
expect_rc 4 "dirty volume: checked in full without -f" "$FSCK" -n "$TMP/d"
expect_rc 1 "dirty volume: repaired" "$FSCK" -y "$TMP/d"
expect_rc 0 "dirty volume: clean after the repair (quick)" "$FSCK" "$TMP/d"
out_has "dirty volume: recorded clean" 'clean, 2 topics'
check "fsck.log records the repair" grep -q 'batch at offset 44 fails its checksum' "$TMP/d/fsck.log"
rm -rf "$TMP/d"
# A crash with nothing torn is no error: exit 0 and the state becomes clean.
"$MKFS" -q -s 4K "$TMP/d" || exit 1
"$TOOLS/lfs_write" -n 150 -b 2 --crash "$TMP/d" t || exit 1
expect_rc 0 "crashed volume, nothing torn: -n exits 0" "$FSCK" -n "$TMP/d"
expect_rc 0 "crashed volume, nothing torn: -p exits 0" "$FSCK" -p "$TMP/d"
expect_rc 0 "crashed volume, nothing torn: then recorded clean" "$FSCK" -n "$TMP/d"
out_has "crashed volume: clean after -p" 'clean, 1 topics'
same_records "crashed volume: every record there" "$TMP/d" t "0 150"
rm -rf "$TMP/d"

# --- volume in use ---
cp -a "$V" "$TMP/h"
if hold "$TMP/h"; then
	snap "$TMP/h" >"$TMP/before"
	expect_rc 8 "volume in use: -y refused (exit 8)" "$FSCK" -y "$TMP/h"
	out_has "volume in use: says so" 'is in use'
	expect_rc 8 "volume in use: -p refused (exit 8)" "$FSCK" -p -f "$TMP/h"
	expect_rc 0 "volume in use: -n still checks" "$FSCK" -n "$TMP/h"
	out_has "volume in use: -n warns" 'warning: .* is in use'
	snap "$TMP/h" >"$TMP/after"
	check "volume in use: nothing changed" cmp -s "$TMP/before" "$TMP/after"
	stop_hold
	expect_rc 0 "volume released: -y works again" "$FSCK" -y "$TMP/h"
else
	notok "could not start a process holding the volume"
fi

# --- not a volume ---
mkdir "$TMP/empty"
expect_rc 8 "empty directory: exit 8" "$FSCK" -n "$TMP/empty"
out_has "empty directory: not a logfs volume" 'is not a logfs volume'
expect_rc 8 "empty directory, -y: exit 8" "$FSCK" -y "$TMP/empty"
check "empty directory, -y: left empty" test -z "$(ls -A "$TMP/empty")"
expect_rc 8 "missing path: exit 8" "$FSCK" -n "$TMP/nonexistent"
out_has "missing path: says so" 'No such file or directory'
echo hello >"$TMP/file"
expect_rc 8 "regular file: exit 8" "$FSCK" -n "$TMP/file"
cp -a "$V" "$TMP/bad"
"$TOOLS/lfs_flip" "$TMP/bad/superblock" 40 0
"$TOOLS/lfs_flip" "$TMP/bad/superblock" 552 0
expect_rc 8 "both superblock copies damaged: exit 8" "$FSCK" -y "$TMP/bad"
out_has "both superblock copies damaged: not a logfs volume" 'not a logfs volume'

# --- newer format ---
rm -rf "$TMP/bad"
cp -a "$V" "$TMP/new"
"$TOOLS/lfs_sbver" "$TMP/new" 3 || exit 1
snap "$TMP/new" >"$TMP/before"
expect_rc 8 "newer format version: exit 8" "$FSCK" -y "$TMP/new"
out_has "newer format version: clear message" 'uses logfs format version 3, newer than this fsck.logfs'
snap "$TMP/new" >"$TMP/after"
check "newer format version: nothing changed" cmp -s "$TMP/before" "$TMP/after"

# --- superblock defaults out of range (valid checksums) ---
for bad in max_record=0 sync_mode=7 "sync_mode=2 sync_ms=0" framing=9 segment_size=100; do
	rm -rf "$TMP/sbd"
	cp -a "$V" "$TMP/sbd"
	"$TOOLS/lfs_sbver" "$TMP/sbd" - $bad || exit 1
	name=${bad%%=*}
	[ "$name" = sync_mode ] && name=sync
	expect_rc 4 "superblock default $bad: -n reports it, without -f too (exit 4)" "$FSCK" -n "$TMP/sbd"
	out_has "superblock default $bad: named" "superblock default $name out of range"
	expect_rc 1 "superblock default $bad: -y resets it (exit 1)" "$FSCK" -y "$TMP/sbd"
	expect_rc 0 "superblock default $bad: then clean" "$FSCK" -n -f "$TMP/sbd"
done

# --- damaged primary superblock: reported, repaired ---
rm -rf "$TMP/sbd"
cp -a "$V" "$TMP/sbd"
"$TOOLS/lfs_flip" "$TMP/sbd/superblock" 40 0
expect_rc 4 "damaged primary superblock: -n reports it (exit 4)" "$FSCK" -n "$TMP/sbd"
out_has "damaged primary superblock: named" 'primary superblock damaged'
expect_rc 1 "damaged primary superblock: -y restores it (exit 1)" "$FSCK" -y "$TMP/sbd"
expect_rc 0 "damaged primary superblock: then clean" "$FSCK" -n -f "$TMP/sbd"
rm -rf "$TMP/sbd"

# --- progress (-C): only on a terminal ---
expect_rc 0 "-C without a terminal: exit 0" "$FSCK" -n -f -C "$V"
check "-C without a terminal: no progress output" sh -c "! grep -q 'checking' '$TMP/out'"
if command -v script >/dev/null 2>&1; then
	script -qec "'$FSCK' -n -f -C '$V'" "$TMP/typescript" >/dev/null 2>&1
	check "-C on a terminal: progress shown" grep -q 'fsck.logfs: checking .*: 100% (' "$TMP/typescript"
	check "-C on a terminal: updated in place (carriage returns)" grep -q "$(printf '\r')" "$TMP/typescript"
else
	ok "# SKIP -C on a terminal: script(1) not installed"
fi

# --- output ---
cp -a "$V" "$TMP/o"
"$TOOLS/lfs_flip" "$(seg "$TMP/o" t 80 log)" 1050 0
expect_rc 4 "problem lines: exit 4" "$FSCK" -n -f "$TMP/o"
out_has "problem lines name topic, segment and offsets" \
	'^topic t, segment 00000000000000000080: .* \[offsets 90..91: 2 records, 200 bytes\] (NOT REPAIRED)$'
out_has "summary line: the damaged batch's records counted as lost, not as records" \
	': 2 topics, 7 segments, 248 records (2 offsets lost), .*: 1 problems, 0 repaired, 1 left$'

exit 0
