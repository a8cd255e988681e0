#!/bin/sh
# unprivileged: yes
# The logfs program (SPEC "Programs"): command line, --help/--version, error
# messages, daemonizing, -f/-d, one daemon per volume, clean unmounts by
# fusermount3 -u / SIGTERM / SIGINT, the FUSE mount helper (mount -t
# fuse.logfs, fstab), df, standard FUSE options.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
mkdir -p "$M"
vol_new "$V" || exit 1

# ---- command line ----
"$LOGFS" --help >"$T/help.out" 2>&1
check "logfs --help exits 0" eq "$?" 0
check "logfs --help shows the synopsis" grep -q 'VOLUME MOUNTPOINT' "$T/help.out"
check "logfs --help says 'Usage:' as mkfs.logfs and fsck.logfs do" grep -q '^Usage: logfs VOLUME MOUNTPOINT' "$T/help.out"
"$LOGFS" --version >"$T/ver.out" 2>&1
check "logfs --version exits 0" eq "$?" 0
check "logfs --version names the program" grep -q '^logfs ' "$T/ver.out"

"$LOGFS" >"$T/o" 2>"$T/e"
rc=$?
check "logfs without arguments fails" test "$rc" -ne 0
check "logfs without arguments: error on stderr as 'logfs: ...'" grep -q '^logfs: ' "$T/e"

mkdir -p "$T/notavol"
echo hello >"$T/notavol/file"
"$LOGFS" "$T/notavol" "$M" -f >"$T/o" 2>"$T/e"
rc=$?
check "logfs refuses a directory that is not a volume (non-zero exit)" test "$rc" -ne 0
check "logfs: 'not a volume' error as 'logfs: ...'" grep -q '^logfs: .*' "$T/e"
check "logfs: nothing mounted after the refusal" sh -c "! grep -q ' $M ' /proc/self/mountinfo"

"$LOGFS" "$V" "$T/no/such/dir" -f >"$T/o" 2>"$T/e"
rc=$?
check "logfs refuses a missing mountpoint (non-zero exit, 'logfs: ...')" \
	sh -c "[ $rc -ne 0 ] && grep -q '^logfs: ' '$T/e'"
"$LOGFS" "$V" "$M" -f -o segment_size=banana >"$T/o" 2>"$T/e"
rc=$?
check "logfs refuses a bad mount option value (non-zero exit, 'logfs: ...')" \
	sh -c "[ $rc -ne 0 ] && grep -q '^logfs: ' '$T/e'"
check "logfs: the volume is not left locked after refusals" flock -n -s "$V" true

if [ -f "$LFS_SRC/docs/logfs.8" ]; then
	check "docs/logfs.8 documents the exit status" grep -qi 'exit' "$LFS_SRC/docs/logfs.8"
else
	not_ok "docs/logfs.8 (man page with the exit status) exists"
fi

# ---- daemonizing ----
"$LOGFS" "$V" "$M" >"$T/o" 2>"$T/e"
rc=$?
check "logfs without -f returns 0 after mounting (daemonized)" eq "$rc" 0
_mounts="$_mounts $M"
check "logfs without -f: the mount is there" is_mounted "$M"
mkdir "$M/d1" 2>/dev/null
echo "daemonized" >>"$M/d1/tail"
check "logfs without -f: the daemon serves the mount" eq "$(cat "$M/d1/tail" 2>&1)" daemonized
check "logfs without -f: the daemon holds the volume" vol_locked "$V"
fusermount3 -u "$M"
check "fusermount3 -u ends a daemonized logfs (volume released)" wait_for 20 flock -n -s "$V" true

# ---- foreground, clean unmounts ----
lfs_mount "$V" "$M"
check "logfs -f: the process started is the daemon and stays" alive "$DPID"
check "logfs -f: data of the previous mount is there" eq "$(cat "$M/d1/tail")" daemonized
check "logfs -f: the previous unmount was clean (no recovery)" sh -c "! grep -qi recover '$DERR'"
echo "second" >>"$M/d1/tail"

# A second daemon on the same volume fails, changing nothing.
mkdir -p "$T/mnt2"
"$LOGFS" "$V" "$T/mnt2" -f >"$T/o" 2>"$T/e2" &
p2=$!
_pids="$_pids $p2"
wait_gone "$p2" 20
wait "$p2"
rc=$?
check "a second logfs on a mounted volume exits non-zero" test "$rc" -ne 0
check "a second logfs says clearly why ('logfs: ... in use')" grep -q '^logfs: .*in use' "$T/e2"
check "a second logfs does not mount" sh -c "! grep -q ' $T/mnt2 ' /proc/self/mountinfo"
"$LOGFS" "$V" "$T/mnt2" >"$T/o" 2>"$T/e3"
rc=$?
check "a second logfs without -f also exits non-zero" test "$rc" -ne 0
check "the first mount still works after the refused second one" eq "$(cat "$M/d1/tail")" "$(printf 'daemonized\nsecond')"

lfs_umount "$M"
check "fusermount3 -u: the daemon exits with status 0" eq "$DSTATUS" 0
check "fusermount3 -u: the mount is gone" sh -c "! grep -q ' $M ' /proc/self/mountinfo"

lfs_mount "$V" "$M"
check "after fusermount3 -u the next mount reports a clean volume" sh -c "! grep -qi recover '$DERR'"
check "after fusermount3 -u everything is there" eq "$(cat "$M/d1/tail")" "$(printf 'daemonized\nsecond')"
printf 'held fragment' >>"$M/d1/tail"
echo "sigterm" >>"$M/d1/tail"
kill -TERM "$DPID"
wait_gone "$DPID" 20
wait "$DPID"
rc=$?
check "SIGTERM: the daemon exits with status 0" eq "$rc" 0
check "SIGTERM: the mount is gone" sh -c "! grep -q ' $M ' /proc/self/mountinfo"

lfs_mount "$V" "$M"
check "after SIGTERM the next mount reports a clean volume" sh -c "! grep -qi recover '$DERR'"
check "after SIGTERM everything is there" eq "$(tail -n 2 "$M/d1/tail")" "$(printf 'held fragment\nsigterm')"
# SIGTERM and SIGINT can only be taken by the one thread that ends the
# session loop and wakes it (fuse/signals.c): a thread of any other kind
# that took one would leave the loop waiting.
takers=0
for st in /proc/"$DPID"/task/*/status; do
	blk=$(awk '$1 == "SigBlk:" { print $2 }' "$st")
	[ $((0x$blk & 0x4002)) -eq $((0x4002)) ] || takers=$((takers + 1))
done
check "one thread of the daemon takes SIGTERM and SIGINT, every other one blocks them" eq "$takers" 1
echo "sigint" >>"$M/d1/tail"
kill -INT "$DPID"
wait_gone "$DPID" 20
wait "$DPID"
rc=$?
check "SIGINT: the daemon exits with status 0" eq "$rc" 0
check "SIGINT: the mount is gone" sh -c "! grep -q ' $M ' /proc/self/mountinfo"
lfs_mount "$V" "$M"
check "after SIGINT the next mount reports a clean volume" sh -c "! grep -qi recover '$DERR'"
check "after SIGINT everything is there" eq "$(tail -n 1 "$M/d1/tail")" sigint

# Right after an unmount, fsck.logfs and mkfs.logfs wait for the daemon
# that is still releasing the volume instead of calling it in use.
lfs_umount "$M"
n=0
for i in 1 2 3 4 5; do
	lfs_mount "$V" "$M" || break
	echo "cycle $i" >>"$M/d1/tail"
	fusermount3 -u "$M"
	"$LFS_BUILD/fsck.logfs" -p "$V" >"$T/o" 2>&1 && n=$((n + 1))
	wait "$DPID" 2>/dev/null
done
check "fsck.logfs -p right after fusermount3 -u: 5 of 5 checked (exit 0)" eq "$n" 5
V3=$T/vol3
vol_new "$V3" || exit 1
lfs_mount "$V3" "$M" || exit 1
fusermount3 -u "$M"
"$MKFS" -F -q "$V3" >"$T/o" 2>&1
check "mkfs.logfs -F right after fusermount3 -u formats the volume" eq "$?" 0
wait "$DPID" 2>/dev/null
lfs_mount "$V" "$M" || exit 1

# SIGHUP (a closed terminal, a daemon's "reload") is harmless: the mount
# stays and keeps working.
kill -HUP "$DPID"
sleep 0.3
check "SIGHUP: the daemon keeps running" alive "$DPID"
check "SIGHUP: the mount stays" is_mounted "$M"
echo "after sighup" >>"$M/d1/tail"
check "SIGHUP: the mount keeps working" eq "$(tail -n 1 "$M/d1/tail")" "after sighup"

# SIGTERM while a producer holds an unterminated line: flushed at unmount.
# (the file $T/held says write(2) has returned: the daemon holds the line)
"$LFSIO" open 0 wa "$M/d1/tail" write 0 'still open' sh "touch '$T/held'" sleep 60000 2>/dev/null &
hp=$!
_pids="$_pids $hp"
wait_for 30 test -e "$T/held" || note "lfsio did not get past its write in 30 s"
kill -TERM "$DPID"
check "SIGTERM with a producer handle open: the daemon exits" wait_gone "$DPID" 20
wait "$DPID"
stop "$hp"
fusermount3 -u "$M" 2>/dev/null
lfs_mount "$V" "$M"
check "SIGTERM with a producer handle open: the next mount is clean" sh -c "! grep -qi recover '$DERR'"
check "SIGTERM flushed the line a still open handle held" eq "$(tail -n 1 "$M/d1/tail")" "still open"

# The other programs refuse a mounted volume.
"$MKFS" -F -q "$V" >"$T/o" 2>"$T/e"
rc=$?
check "mkfs.logfs -F refuses the mounted volume (exit 1)" eq "$rc" 1
if [ -x "$LFS_BUILD/fsck.logfs" ]; then
	"$LFS_BUILD/fsck.logfs" -y "$V" >"$T/o" 2>"$T/e"
	rc=$?
	check "fsck.logfs -y refuses the mounted volume (exit 8)" eq "$rc" 8
	"$LFS_BUILD/fsck.logfs" -p "$V" >"$T/o" 2>"$T/e"
	rc=$?
	check "fsck.logfs -p refuses the mounted volume (exit 8)" eq "$rc" 8
fi
# ... at once: a mounted volume is not waited for.
t0=$(date +%s%N)
"$LFS_BUILD/fsck.logfs" -p "$V" >/dev/null 2>&1
t1=$(date +%s%N)
# (under 4 s: well short of the 5 s it waits for a volume being released,
# with room for a loaded machine's exec and an ASan build's start)
check "fsck.logfs -p refuses a mounted volume at once (under 4 s)" test $(( (t1 - t0) / 1000000 )) -lt 4000
check "the mounted volume is intact after the refusals" eq "$(tail -n 1 "$M/d1/tail")" "still open"

# Without allow_other only the mounting user can use the mount.
if ! as_root; then
	skip "other users and allow_other" "acting as another user needs root"
elif command -v setpriv >/dev/null 2>&1; then
	asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	chmod 0755 "$T" # the mountpoint's parent must be reachable
	check "another user reaches the mountpoint's directory (test setup)" asuser ls "$T"
	check "without allow_other another user cannot list the mount" sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups ls '$M' >/dev/null 2>&1"
	lfs_umount "$M"
	lfs_mount "$V" "$M" -o allow_other
	check "with allow_other another user can read a 0755 topic's tail" \
		eq "$(asuser tail -n 1 "$M/d1/tail" 2>&1)" "still open"
	check "with allow_other another user cannot append to a root-owned 0644 tail (EACCES)" \
		sh_fails_with EACCES "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo x >>$M/d1/tail'"
	check "with allow_other another user cannot make topics in the root-owned mount (EACCES)" \
		fails_with EACCES asuser mkdir "$M/nobody"
	chmod 0700 "$M/d1"
	check "default_permissions: a 0700 topic is closed to another user" fails_with EACCES asuser cat "$M/d1/tail"
	chmod 0755 "$M/d1"
	chmod 0700 "$T"
fi
lfs_umount "$M"

# ---- -d: FUSE debug, implies -f ----
"$LOGFS" "$V" "$M" -d >"$T/d.out" 2>"$T/d.err" &
DPID=$!
_pids="$_pids $DPID"
_mounts="$_mounts $M"
wait_for 20 is_mounted "$M"
cat "$M/d1/tail" >/dev/null
check "logfs -d stays in the foreground" alive "$DPID"
check "logfs -d prints FUSE debug output" grep -q 'INIT\|unique' "$T/d.err" "$T/d.out"
lfs_umount "$M"

# ---- standard FUSE options, df ----
# An ordinary user may pass allow_other only where /etc/fuse.conf says
# user_allow_other.
if as_root; then
	lfs_mount "$V" "$M" -o fsname=lfs-test-volume,allow_other
	check "-o allow_other is passed to libfuse" grep -q " $M .*allow_other" /proc/self/mountinfo
else
	lfs_mount "$V" "$M" -o fsname=lfs-test-volume
	skip "-o allow_other is passed to libfuse" "needs root or user_allow_other"
fi
check "-o fsname= is passed to libfuse (shown as the mount's source)" \
	grep -q " $M .* fuse.logfs lfs-test-volume " /proc/self/mountinfo
check "df MOUNTPOINT works" sh -c "df '$M' >/dev/null"
check "df MOUNTPOINT reports the backing filesystem (same size and block size)" \
	eq "$(stat -f -c '%b %S' "$M")" "$(stat -f -c '%b %S' "$V")"
lfs_umount "$M"

# ---- the FUSE mount helper: mount -t fuse.logfs, fstab ----
# mount(8) runs /sbin/mount.fuse (mount.fuse3) for fuse.* types, which runs
# "logfs" through /bin/sh; mount(8) drops PATH from the environment, so sh
# uses its default path (/usr/local/sbin ...), where `make install` puts
# logfs. For the test, a private mount namespace binds a directory holding
# build/logfs over /usr/local/sbin: nothing on the system changes.
if ! as_root; then
	skip "mount -t fuse.logfs" "mount(8) of a fuse type and a private mount namespace need root"
elif ! command -v unshare >/dev/null || [ ! -d /usr/local/sbin ] ||
	! { [ -x /sbin/mount.fuse ] || [ -x /sbin/mount.fuse.logfs ]; }; then
	ok "mount -t fuse.logfs # SKIP needs unshare, /usr/local/sbin and /sbin/mount.fuse"
else
	mkdir -p "$T/sbin"
	ln -s "$LOGFS" "$T/sbin/logfs"
	cat >"$T/helper.sh" <<EOF
set -u
V=$V; M=$M; T=$T
mount --bind "\$T/sbin" /usr/local/sbin || { echo "not ok - bind mount for the helper test"; exit 0; }
unlocked() { flock -n -s "\$V" true 2>/dev/null; }
mount -t fuse.logfs "\$V" "\$M" -o segment_size=8K,retention_ms=1h 2>"\$T/h.err"
rc=\$?
if [ \$rc -eq 0 ] && grep -q " \$M .* fuse.logfs " /proc/self/mountinfo; then
	echo "ok - mount -t fuse.logfs VOLUME MOUNTPOINT -o OPTS mounts"
else
	echo "not ok - mount -t fuse.logfs VOLUME MOUNTPOINT -o OPTS mounts (exit \$rc: \$(cat "\$T/h.err"))"
fi
mkdir "\$M/helper" 2>/dev/null
v=\$(getfattr --only-values -n user.logfs.segment_size "\$M/helper" 2>/dev/null)
[ "\$v" = 8192 ] && echo "ok - mount -t fuse.logfs passes -o options to logfs" ||
	echo "not ok - mount -t fuse.logfs passes -o options to logfs (segment_size \$v)"
[ "\$(cat "\$M/d1/tail" 2>&1 | tail -n 1)" = "still open" ] && echo "ok - mount -t fuse.logfs serves the volume" ||
	echo "not ok - mount -t fuse.logfs serves the volume"
umount "\$M" 2>/dev/null || fusermount3 -u "\$M"
i=0; while ! unlocked && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done
unlocked && echo "ok - umount of a mount -t fuse.logfs mount ends the daemon" ||
	echo "not ok - umount of a mount -t fuse.logfs mount ends the daemon"
echo "\$V \$M fuse.logfs segment_size=16K 0 0" >"\$T/fstab"
mount -T "\$T/fstab" "\$M" 2>"\$T/h.err"
rc=\$?
mkdir "\$M/fstab" 2>/dev/null
v=\$(getfattr --only-values -n user.logfs.segment_size "\$M/fstab" 2>/dev/null)
[ \$rc -eq 0 ] && [ "\$v" = 16384 ] && echo "ok - an fstab line 'VOLUME MOUNTPOINT fuse.logfs OPTS 0 0' mounts" ||
	echo "not ok - an fstab line 'VOLUME MOUNTPOINT fuse.logfs OPTS 0 0' mounts (exit \$rc, segment_size \$v: \$(cat "\$T/h.err"))"
umount "\$M" 2>/dev/null || fusermount3 -u "\$M"
i=0; while ! unlocked && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done
umount /usr/local/sbin
unlocked && echo "ok - the helper-mounted daemon released the volume" ||
	echo "not ok - the helper-mounted daemon released the volume"
EOF
	timeout 120 unshare -m --propagation private sh "$T/helper.sh"
	lfs_mount "$V" "$M"
	check "after the helper mounts the volume is clean" sh -c "! grep -qi recover '$DERR'"
	check "topics made through the helper mount are there" test -d "$M/helper" -a -d "$M/fstab"
	lfs_umount "$M"
fi

finish
