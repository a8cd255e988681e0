#!/bin/sh
# SPEC "Mount options" log=FILE, and diagnostics that reach the operator:
# the recovery report goes to the mount's stderr and the log; runtime
# errors go to the log, and without syslog to the daemon's stderr; checksum
# failures met at runtime are recorded in the volume, so that a clean
# unmount does not hide them from fsck.logfs -p.
. "$LFS_SRC/tests/lib/mount.sh"

FSCK=$LFS_BUILD/fsck.logfs
V=$T/vol
M=$T/mnt
L=$T/logfs.log
vol_new "$V" -s 4K || exit 1

# Three sealed segments and an active one.
lfs_mount "$V" "$M" || exit 1
mkdir "$M/app"
seq -f 'record %05g 0123456789abcdef' 1 1200 >"$M/app/tail"
lfs_umount "$M"
S0=$V/topics/app/00000000000000000000.log
S1=$(ls "$V"/topics/app/*.log | sed -n 2p)
S2=$(ls "$V"/topics/app/*.log | sed -n 3p)
check "setup: three sealed segments" test -n "$S2" -a "$S2" != "$(ls "$V"/topics/app/*.log | tail -n 1)"
check "setup: no error record in a new volume" test ! -e "$V/errors"

# ---- option parsing ----
"$LOGFS" "$V" "$M" -f -o log= >"$T/o" 2>&1
check "log= without a file is a usage error (exit 2)" eq "$?" 2
"$LOGFS" "$V" "$M" -f -o "log=$T/no/such/dir/f" >"$T/o" 2>&1
check "log=FILE that cannot be opened: exit 1" eq "$?" 1
check "... saying why" grep -q "^logfs: log=$T/no/such/dir/f: No such file or directory" "$T/o"

# ---- runtime checksum failure: logged to the file, recorded in the volume ----
printf 'X' | dd of="$S0" bs=1 seek=100 conv=notrunc status=none
printf 'X' | dd of="$S1" bs=1 seek=100 conv=notrunc status=none
echo "an earlier line" >"$L"
lfs_mount "$V" "$M" -o "log=$L" || exit 1
check "a read of the damaged segment fails with EIO" sh_fails_with EIO "cat '$M/app/$(basename "$S0")' >/dev/null"
check "log=FILE: the checksum failure is appended to FILE" grep -q 'logfs\[[0-9]*\]: error: topic app: segment 0: .*fails its checksum' "$L"
check "log=FILE: appended, what was there kept" eq "$(head -n 1 "$L")" "an earlier line"
check "log=FILE: lines carry an RFC 3339 UTC time" grep -q '^20[0-9-]*T[0-9:.]*Z logfs' "$L"
check "the error is recorded in the volume at once (errors)" test -f "$V/errors"
# SIGHUP reopens the file (logrotate's create): the next line goes to a new one.
mv "$L" "$L.1"
kill -HUP "$DPID"
sleep 0.2
check "after SIGHUP the mount is still there" is_mounted "$M"
cat "$M/app/$(basename "$S1")" >/dev/null 2>&1
check "after SIGHUP the next message goes to a new FILE" grep -q "segment $(basename "$S1" .log | sed 's/^0*//'): .*fails its checksum" "$L"
check "... and not to the rotated one" sh -c "! grep -q 'segment $(basename "$S1" .log | sed 's/^0*//'):' '$L.1'"
lfs_umount "$M"

# A mount after which the volume is clean again (recovery, clean unmount)
# used to hide the damage from fsck.logfs -p; the record keeps it.
lfs_mount "$V" "$M" || exit 1
check "the mount warns about the recorded errors" grep -q 'runtime errors recorded .*run fsck.logfs' "$DERR"
lfs_umount "$M"
lfs_mount "$V" "$M" || exit 1
lfs_umount "$M"
# state: magic[8], then 1 for clean (docs/FORMAT.md)
check "setup: the volume is marked clean" eq "$(od -An -tu1 -j8 -N1 "$V/state" | tr -d ' ')" 1
"$FSCK" -p "$V" >"$T/fsck.out" 2>&1
rc=$?
check "fsck.logfs -p (no -f) of a clean volume with recorded errors checks every record: finds the damage" \
	grep -q 'checksum' "$T/fsck.out"
check "... says why (the recorded runtime errors)" grep -q 'runtime errors recorded by the daemon' "$T/fsck.out"
check "... and leaves the record while damage is left (exit 4)" sh -c "[ $rc -eq 4 ] && [ -f '$V/errors' ]"
"$FSCK" -n "$V" >"$T/fsck.out" 2>&1
check "fsck.logfs -n reports the record (exit 4) and changes nothing" sh -c "[ $? -eq 4 ] && [ -f '$V/errors' ]"
"$FSCK" -y "$V" >"$T/fsck.out" 2>&1
rc=$?
check "fsck.logfs -y repairs and clears the record (exit 1)" sh -c "[ $rc -eq 1 ] && [ ! -e '$V/errors' ]"
check "... saying so" grep -q "record cleared" "$T/fsck.out"
"$FSCK" -p "$V" >"$T/fsck.out" 2>&1
check "then fsck.logfs -p is a quick check again (exit 0)" sh -c "[ $? -eq 0 ] && grep -q 'quick check' '$T/fsck.out'"

# ---- the recovery report: to the mount's stderr and to the log ----
lfs_mount "$V" "$M" -o "log=$L" || exit 1
echo after >>"$M/app/tail"
crash "$M"
lfs_mount "$V" "$M" -o "log=$L" || exit 1
check "the recovery report reaches the mount's stderr" grep -q 'recovered after an unclean stop' "$DERR"
check "the recovery report reaches log=FILE" grep -q 'warning: .*recovered after an unclean stop' "$L"
lfs_umount "$M"

# ---- daemonized without syslog: messages are not lost ----
if [ -S /dev/log ]; then
	skip "daemonized without syslog: messages go to the daemon's stderr" "/dev/log exists here"
else
	printf 'Y' | dd of="$S2" bs=1 seek=100 conv=notrunc status=none
	"$LOGFS" "$V" "$M" 2>"$T/bg.err"
	check "daemonized without syslog: logfs says where messages go" grep -q 'no syslog (/dev/log)' "$T/bg.err"
	_mounts="$_mounts $M"
	cat "$M/app/$(basename "$S2")" >/dev/null 2>&1
	fusermount3 -u "$M"
	wait_for 10 sh -c "flock -n '$V' true"
	check "daemonized without syslog: a runtime error reaches the stderr logfs was started with" \
		grep -q 'fails its checksum' "$T/bg.err"
fi
finish
