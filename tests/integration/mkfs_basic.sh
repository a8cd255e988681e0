#!/bin/sh
# unprivileged: yes
# mkfs.logfs: formats, reports, records its options, and refuses (changing
# nothing) non-volumes, existing volumes without -F, and volumes in use.
. "$LFS_SRC/tests/integration/lib/fsck_common.sh"

expect_rc 0 "--help exits 0" "$MKFS" --help
out_has "--help shows the synopsis" 'mkfs.logfs \[-L LABEL\] \[-U UUID\] \[-s SEGMENT_SIZE\] \[-F\] \[-q\] VOLUME'
expect_rc 0 "--version exits 0" "$MKFS" --version
out_has "--version shows the version" '^mkfs.logfs (logfs) [0-9]'
expect_rc 0 "-V exits 0" "$MKFS" -V
out_has "-V shows the version" '^mkfs.logfs (logfs) [0-9]'
expect_rc 0 "-h exits 0" "$MKFS" -h
out_has "-h shows the synopsis after 'Usage:'" '^Usage: mkfs.logfs \[-L LABEL\]'
expect_rc 1 "--version=x: exit 1" "$MKFS" --version=x
out_has "--version=x: says it takes no argument" "^mkfs.logfs: option '--version' doesn't allow an argument"

# --- usage errors: exit 1 (as mke2fs), nothing created ---
expect_rc 1 "no volume: exit 1" "$MKFS"
out_has "errors are reported as 'mkfs.logfs: ...'" '^mkfs.logfs: no volume given'
expect_rc 1 "two volumes: exit 1" "$MKFS" "$TMP/a" "$TMP/b"
expect_rc 1 "unknown option: exit 1" "$MKFS" -Z "$TMP/a"
expect_rc 1 "-s without a value: exit 1" "$MKFS" "$TMP/a" -s
expect_rc 1 "-L without a value: exit 1" "$MKFS" -L
out_has "... and says the option needs its value" "^mkfs.logfs: option requires an argument -- 'L'"
expect_rc 1 "bad segment size: exit 1" "$MKFS" -s 12Q "$TMP/a"
out_has "bad segment size: says so" "invalid segment size '12Q'"
expect_rc 1 "segment size too small: exit 1" "$MKFS" -s 100 "$TMP/a"
expect_rc 1 "bad UUID: exit 1" "$MKFS" -U not-a-uuid "$TMP/a"
out_has "bad UUID: says so" "invalid UUID 'not-a-uuid'"
expect_rc 1 "label too long: exit 1" "$MKFS" -L "$(printf '%070d' 0)" "$TMP/a"
out_has "label too long: says so" 'too long (at most 63 bytes)'
check "usage errors created nothing" test ! -e "$TMP/a" -a ! -e "$TMP/b"
expect_rc 1 "missing parent directory: exit 1" "$MKFS" "$TMP/no/such/dir"

# --- formatting ---
V=$TMP/vol
expect_rc 0 "format a new directory" "$MKFS" -L mylogs -U 0123abcd-4567-89ab-cdef-0123456789ab -s 8M "$V"
out_has "summary: UUID" 'UUID: *0123abcd-4567-89ab-cdef-0123456789ab'
out_has "summary: label" 'label: *mylogs'
out_has "summary: segment size" 'segment size: *8M (8388608 bytes)'
"$TOOLS/lfs_dump" "$V" --sb >"$TMP/sb"
check "superblock records the options" \
	grep -q 'version=2 uuid=0123abcd-4567-89ab-cdef-0123456789ab label=mylogs segment_size=8388608' "$TMP/sb"
expect_rc 0 "the new volume checks clean" "$FSCK" -n -f "$V"
expect_rc 0 "the new volume opens" "$TOOLS/lfs_dump" "$V" --topics
mkdir "$TMP/e"
expect_rc 0 "format an existing empty directory, -q" "$MKFS" -q "$TMP/e"
check "-q prints nothing" test ! -s "$TMP/out"
"$TOOLS/lfs_dump" "$TMP/e" --sb >"$TMP/sb"
check "defaults: 64M segments, no label" grep -q 'label= segment_size=67108864' "$TMP/sb"
"$MKFS" -q "$TMP/r1" && "$MKFS" -q "$TMP/r2"
u1=$("$TOOLS/lfs_dump" "$TMP/r1" --sb | sed 's/.*uuid=\([^ ]*\).*/\1/')
u2=$("$TOOLS/lfs_dump" "$TMP/r2" --sb | sed 's/.*uuid=\([^ ]*\).*/\1/')
check "random UUIDs differ ($u1, $u2)" test "$u1" != "$u2"

# --- refusals change nothing ---
"$TOOLS/lfs_write" -n 10 "$V" t || exit 1
snap "$V" >"$TMP/before"
expect_rc 1 "existing volume without -F: exit 1" "$MKFS" "$V"
out_has "existing volume: says so, names -F" 'already holds a logfs volume (UUID 0123abcd-4567-89ab-cdef-0123456789ab, label .mylogs.); use -F'
snap "$V" >"$TMP/after"
check "existing volume without -F: nothing changed" cmp -s "$TMP/before" "$TMP/after"

mkdir "$TMP/data"
echo precious >"$TMP/data/file"
snap "$TMP/data" >"$TMP/before"
expect_rc 1 "non-empty directory that is no volume: exit 1" "$MKFS" "$TMP/data"
out_has "non-empty directory: says so" 'is not empty and is not a logfs volume'
expect_rc 1 "... not even with -F" "$MKFS" -F "$TMP/data"
snap "$TMP/data" >"$TMP/after"
check "non-empty directory: nothing changed" cmp -s "$TMP/before" "$TMP/after"

echo x >"$TMP/plainfile"
expect_rc 1 "a regular file: exit 1" "$MKFS" "$TMP/plainfile"
check "a regular file: unchanged" test "$(cat "$TMP/plainfile")" = x

if hold "$V"; then
	snap "$V" >"$TMP/before"
	expect_rc 1 "volume in use: exit 1" "$MKFS" -F "$V"
	out_has "volume in use: says so" 'is in use'
	snap "$V" >"$TMP/after"
	check "volume in use: nothing changed" cmp -s "$TMP/before" "$TMP/after"
	stop_hold
else
	notok "could not start a process holding the volume"
fi

# --- -F reformats ---
expect_rc 0 "-F reformats an existing volume" "$MKFS" -F -q -L fresh "$V"
"$TOOLS/lfs_dump" "$V" --topics >"$TMP/topics"
check "-F: the old topics are gone" test ! -s "$TMP/topics"
check "-F: new label" grep -q 'label=fresh' "$("$TOOLS/lfs_dump" "$V" --sb >"$TMP/sb"; echo "$TMP/sb")"
expect_rc 0 "-F: the volume checks clean" "$FSCK" -n -f "$V"

exit 0
