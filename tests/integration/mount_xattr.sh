#!/bin/sh
# unprivileged: yes
# SPEC "Extended attributes": statistics of topics, segments and tail;
# per-topic settings (validated, persisted, overriding mount options).
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" -L testvol || exit 1
lfs_mount "$V" "$M" -o segment_size=4K || exit 1

mkdir "$M/x"
before=$(date +%s%N)
seq -f 'rec %05g' 1 1000 >"$T/all" # 409 per segment: sealed 0, 409; active 818
dd if="$T/all" of="$M/x/tail" bs=10 conv=notrunc status=none
after=$(date +%s%N)
S0=$M/x/00000000000000000000.log
S1=$M/x/00000000000000000409.log

# ---- listing ----
names() { getfattr -d -m user.logfs "$1" 2>/dev/null | sed -n 's/^\(user\.logfs\.[a-z_]*\)=.*/\1/p' | sort | tr '\n' ' '; }
check "getfattr -d -m user.logfs TOPIC lists the statistics and the settings" eq "$(names "$M/x")" \
	"user.logfs.bytes user.logfs.first_offset user.logfs.framing user.logfs.max_record user.logfs.mirror user.logfs.next_offset user.logfs.retention_bytes user.logfs.retention_ms user.logfs.segment_ms user.logfs.segment_size user.logfs.segments user.logfs.sync "
check "getfattr -d -m user.logfs SEGMENT lists its four statistics" eq "$(names "$S0")" \
	"user.logfs.base_offset user.logfs.first_timestamp user.logfs.last_timestamp user.logfs.records "
check "getfattr -d -m user.logfs tail lists the same four" eq "$(names "$M/x/tail")" \
	"user.logfs.base_offset user.logfs.first_timestamp user.logfs.last_timestamp user.logfs.records "
check "getfattr -d (default user. pattern) lists them too" \
	sh -c "getfattr -d '$M/x' 2>/dev/null | grep -q '^user.logfs.next_offset=\"1000\"'"
getfattr -d -m user.logfs "$M/x" "$S0" "$M/x/tail" 2>/dev/null | grep '^user' | grep -v 'framing\|sync\|mirror' >"$T/vals"
check "getfattr -d lists the values as decimal ASCII" sh -c "[ -s '$T/vals' ] && ! grep -v '=\"[0-9][0-9]*\"\$' '$T/vals'"

# ---- topic statistics ----
check "topic first_offset" eq "$(xattr "$M/x" first_offset)" 0
check "topic next_offset" eq "$(xattr "$M/x" next_offset)" 1000
check "topic bytes: the retained payload bytes" eq "$(xattr "$M/x" bytes)" 10000
check "topic segments: counting the active one" eq "$(xattr "$M/x" segments)" 3
mkdir "$M/e"
check "an empty topic: 0 0 0 1" eq "$(xattr "$M/e" first_offset) $(xattr "$M/e" next_offset) $(xattr "$M/e" bytes) $(xattr "$M/e" segments)" "0 0 0 1"

# ---- segment statistics ----
check "segment base_offset" eq "$(xattr "$S1" base_offset)" 409
check "segment records" eq "$(xattr "$S1" records)" 409
f0=$(xattr "$S0" first_timestamp)
l0=$(xattr "$S0" last_timestamp)
f1=$(xattr "$S1" first_timestamp)
l1=$(xattr "$S1" last_timestamp)
check "segment timestamps are ns of the appends" test "$f0" -ge "$before" -a "$l1" -le "$after"
check "segment timestamps are ordered (first <= last < next segment's first)" \
	test "$f0" -le "$l0" -a "$l0" -le "$f1" -a "$f1" -le "$l1"

# ---- tail statistics: the whole retained log ----
check "tail base_offset: the first retained record" eq "$(xattr "$M/x/tail" base_offset)" 0
check "tail records: every retained record" eq "$(xattr "$M/x/tail" records)" 1000
check "tail first_timestamp: the first record's" eq "$(xattr "$M/x/tail" first_timestamp)" "$f0"
lt=$(xattr "$M/x/tail" last_timestamp)
check "tail last_timestamp: the newest record's" test "$lt" -ge "$l1" -a "$lt" -le "$after"
rm "$S0"
check "after rm of the oldest segment: topic first_offset" eq "$(xattr "$M/x" first_offset)" 409
check "after rm of the oldest segment: topic bytes" eq "$(xattr "$M/x" bytes)" 5910
check "after rm of the oldest segment: topic segments" eq "$(xattr "$M/x" segments)" 2
check "after rm of the oldest segment: tail base_offset and records" \
	eq "$(xattr "$M/x/tail" base_offset) $(xattr "$M/x/tail" records)" "409 591"
check "after rm of the oldest segment: tail first_timestamp" eq "$(xattr "$M/x/tail" first_timestamp)" "$f1"

# ---- an @ view describes itself: from its start record ----
check "@500: base_offset is the view's first record" eq "$(xattr "$M/x/@500" base_offset)" 500
check "@500: records from it to the newest" eq "$(xattr "$M/x/@500" records)" 500
check "@500: first_timestamp is record 500's" \
	test "$(xattr "$M/x/@500" first_timestamp)" -ge "$f1" -a "$(xattr "$M/x/@500" first_timestamp)" -le "$l1"
check "@500: last_timestamp is the newest record's" eq "$(xattr "$M/x/@500" last_timestamp)" "$(xattr "$M/x/tail" last_timestamp)"
check "@1000 (the next offset): empty, 0 records" \
	eq "$(xattr "$M/x/@1000" base_offset) $(xattr "$M/x/@1000" records) $(xattr "$M/x/@1000" first_timestamp)" "1000 0 0"
check "@TIME: starts at the first record at or after TIME" \
	eq "$(xattr "$M/x/@$(date -u -d @$((after / 1000000000 + 2)) +%Y-%m-%dT%H:%M:%SZ)" records)" 0
check "getfattr -d -m user.logfs @VIEW lists the four" eq "$(names "$M/x/@500")" \
	"user.logfs.base_offset user.logfs.first_timestamp user.logfs.last_timestamp user.logfs.records "

# ---- the mount's root: the volume, read-only ----
check "getfattr -d -m user.logfs MOUNT lists the volume's attributes" eq "$(names "$M")" \
	"user.logfs.bytes user.logfs.format_version user.logfs.label user.logfs.topics user.logfs.uuid "
check "root uuid is the volume's" eq "$(xattr "$M" uuid)" "$("$LFS_BUILD/tests/tools/lfs_dump" "$V" --sb | sed -n 's/.*uuid=\([^ ]*\).*/\1/p')"
check "root label is the volume's (mkfs -L)" eq "$(xattr "$M" label)" testvol
check "root format_version is the superblock's" eq "$(xattr "$M" format_version)" \
	"$("$LFS_BUILD/tests/tools/lfs_dump" "$V" --sb | sed -n 's/^version=\([0-9]*\) .*/\1/p')"
check "root topics: every topic" eq "$(xattr "$M" topics)" 2
check "root bytes: the topics' retained payload bytes" eq "$(xattr "$M" bytes)" 5910
check "root attributes are read-only (EPERM)" fails_with EPERM setfattr -n user.logfs.label -v x "$M"
check "root attributes cannot be removed (EPERM)" fails_with EPERM setfattr -x user.logfs.topics "$M"

# ---- statistics are read-only ----
for a in first_offset next_offset bytes segments; do
	check "setfattr of the topic statistic $a fails with EPERM, nothing changed" \
		sh -c "! setfattr -n user.logfs.$a -v 5 '$M/x' 2>'$T/e' && grep -q 'Operation not permitted' '$T/e' && [ \$(getfattr --only-values -n user.logfs.next_offset '$M/x' 2>/dev/null) = 1000 ]"
done
for a in base_offset records first_timestamp last_timestamp; do
	check "setfattr of the segment statistic $a fails" fails_with $SEG_WRITE_ERR setfattr -n user.logfs.$a -v 5 "$S1"
	check "setfattr of the tail statistic $a fails" fails_with EPERM setfattr -n user.logfs.$a -v 5 "$M/x/tail"
done
check "setfattr of a setting name on a segment fails" sh -c "! setfattr -n user.logfs.segment_size -v 8192 '$S1' 2>/dev/null"
check "setfattr -x of a topic statistic fails with EPERM" fails_with EPERM setfattr -x user.logfs.next_offset "$M/x"
check "setfattr -x of a segment statistic fails" sh -c "! setfattr -x user.logfs.records '$S1' 2>/dev/null"
check "setfattr -x of a setting the topic does not override keeps the default" \
	sh -c "setfattr -x user.logfs.segment_size '$M/x' && [ \$(getfattr --absolute-names --only-values -n user.logfs.segment_size '$M/x') = 4096 ]"
check "an unknown user.logfs attribute is ENODATA" fails_with "No such attribute" getfattr -n user.logfs.nosuch "$M/x"
check "other user attributes cannot be set" sh -c "! setfattr -n user.other -v 1 '$M/x' 2>/dev/null"

# ---- settings: defaults, set, validated, effective ----
check "settings show the effective values (mount option segment_size=4K)" eq "$(xattr "$M/e" segment_size)" 4096
check "settings show the defaults (retention 0, sync 100, framing line, max_record 1M)" \
	eq "$(xattr "$M/e" retention_bytes) $(xattr "$M/e" retention_ms) $(xattr "$M/e" segment_ms) $(xattr "$M/e" sync) $(xattr "$M/e" framing) $(xattr "$M/e" max_record)" \
	"0 0 0 100 line 1048576"
setting_ok()
{
	# setting_ok NAME VALUE EXPECTED
	setfattr -n "user.logfs.$1" -v "$2" "$M/e" 2>"$T/e" || { note "setfattr $1=$2: $(cat "$T/e")"; return 1; }
	eq "$(xattr "$M/e" "$1")" "$3"
}
check "segment_size=8192 is set and read back" setting_ok segment_size 8192 8192
check "segment_size=16K takes a suffix, reads back in bytes" setting_ok segment_size 16K 16384
check "segment_ms=1000" setting_ok segment_ms 1000 1000
check "segment_ms=2s takes a suffix, reads back in ms" setting_ok segment_ms 2s 2000
check "segment_ms=0" setting_ok segment_ms 0 0
check "retention_bytes=1M" setting_ok retention_bytes 1M 1048576
check "retention_bytes=0" setting_ok retention_bytes 0 0
check "retention_ms=1h" setting_ok retention_ms 1h 3600000
check "retention_ms=0" setting_ok retention_ms 0 0
check "sync=always" setting_ok sync always always
check "sync=never" setting_ok sync never never
check "sync=250" setting_ok sync 250 250
check "max_record=4K" setting_ok max_record 4K 4096
check "framing=write on an empty topic" setting_ok framing write write
check "framing=line on an empty topic" setting_ok framing line line
bad_setting()
{
	# bad_setting NAME VALUE: EINVAL, value unchanged
	_before=$(xattr "$M/e" "$1")
	fails_with EINVAL setfattr -n "user.logfs.$1" -v "$2" "$M/e" && eq "$(xattr "$M/e" "$1")" "$_before"
}
for bad in abc -5 1X 12.5 '' 99999999999999999999999; do
	check "segment_size='$bad' fails with EINVAL, nothing changed" bad_setting segment_size "$bad"
done
check "retention_bytes=lots fails with EINVAL" bad_setting retention_bytes lots
check "retention_ms=1w fails with EINVAL" bad_setting retention_ms 1w
check "segment_ms=-1 fails with EINVAL" bad_setting segment_ms -1
check "sync=sometimes fails with EINVAL" bad_setting sync sometimes
check "max_record=big fails with EINVAL" bad_setting max_record big
check "framing=json fails with EINVAL" bad_setting framing json
check "max_record with an embedded NUL (200\\0junk) fails with EINVAL" \
	bad_setting max_record 0x323030006a756e6b
check "segment_ms with a trailing NUL fails with EINVAL" bad_setting segment_ms 0x313000
echo rec >>"$M/e/tail"
check "framing cannot change once the topic has records: EINVAL" bad_setting framing write
check "the topic's framing stays line" eq "$(xattr "$M/e" framing)" line
check "setfattr -x of framing once the topic has records: EINVAL" \
	fails_with EINVAL setfattr -x user.logfs.framing "$M/e"

# ---- setfattr -x: a setting goes back to the mount's default ----
mkdir "$M/r"
setfattr -n user.logfs.segment_size -v 8K "$M/r"
setfattr -n user.logfs.sync -v always "$M/r"
setfattr -n user.logfs.framing -v write "$M/r"
check "setfattr -x user.logfs.segment_size succeeds" setfattr -x user.logfs.segment_size "$M/r"
check "... and segment_size is the mount's default again (4K)" eq "$(xattr "$M/r" segment_size)" 4096
check "setfattr -x user.logfs.sync: the default (100)" \
	sh -c "setfattr -x user.logfs.sync '$M/r' && [ \$(getfattr --absolute-names --only-values -n user.logfs.sync '$M/r') = 100 ]"
check "setfattr -x user.logfs.framing on an empty topic: the default (line)" \
	sh -c "setfattr -x user.logfs.framing '$M/r' && [ \$(getfattr --absolute-names --only-values -n user.logfs.framing '$M/r') = line ]"
printf 'a\nb\n' >>"$M/r/tail"
check "... and the topic frames by line again" eq "$(xattr "$M/r" next_offset)" 2
check "setfattr -x of an unknown user.logfs name: ENODATA" \
	fails_with "No such attribute" setfattr -x user.logfs.nosuch "$M/r"

# Effects of per-topic settings.
mkdir "$M/s"
setfattr -n user.logfs.segment_size -v 8K "$M/s"
seq -f 'rec %015g' 1 1000 | dd of="$M/s/tail" bs=20 conv=notrunc status=none
check "a topic's segment_size overrides the mount option (segments of 8180 bytes)" \
	eq "$(size "$M/s/00000000000000000000.log") $(ls "$M/s" | sed -n 2p)" "8180 00000000000000000409.log"
setfattr -n user.logfs.max_record -v 100 "$M/s"
check "a topic's max_record applies at once (101-byte line: EMSGSIZE)" \
	"$LFSIO" open 0 wa "$M/s/tail" expect EMSGSIZE write 0 "$(printf '%0100d' 0)\\n" close 0
check "a topic's max_record: a 100-byte line passes" sh -c "printf '%099d\\n' 0 >>'$M/s/tail'"
mkdir "$M/w"
setfattr -n user.logfs.framing -v write "$M/w"
printf 'a\nb\n' >>"$M/w/tail"
check "a topic's framing=write: one record per write" eq "$(xattr "$M/w" next_offset)" 1

# ---- settings persist in the volume; mount options are defaults ----
lfs_umount "$M"
lfs_mount "$V" "$M" -o segment_size=32K,max_record=2K,sync=never || exit 1
check "a topic's settings persist across a remount with other mount options" \
	eq "$(xattr "$M/s" segment_size) $(xattr "$M/s" max_record)" "8192 100"
check "a topic's framing persists" eq "$(xattr "$M/w" framing)" write
check "settings a topic does not override follow the new mount options" \
	eq "$(xattr "$M/x" segment_size) $(xattr "$M/x" max_record) $(xattr "$M/x" sync)" "32768 2048 never"
check "an overridden setting does not follow the mount option" eq "$(xattr "$M/e" sync)" 250
check "a setting reset by setfattr -x follows the new mount option (the reset persisted)" \
	eq "$(xattr "$M/r" segment_size) $(xattr "$M/r" sync)" "32768 never"
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
check "without mount options: the volume defaults (64M)" eq "$(xattr "$M/x" segment_size)" 67108864
check "without mount options: topic settings still there" eq "$(xattr "$M/s" segment_size)" 8192
lfs_umount "$M"

finish
