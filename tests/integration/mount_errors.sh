#!/bin/sh
# unprivileged: yes
# SPEC "What the mount shows" and "Appending": what the mount refuses, and
# how (rm, mv, rmdir while busy, writes to sealed segments, truncate, other
# files, directories in topics, ro mounts, a full backing filesystem).
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K || exit 1

mkdir "$M/t"
seq -f 'rec %05g' 1 1300 >"$T/all"
dd if="$T/all" of="$M/t/tail" bs=10 conv=notrunc status=none
# sealed: 0, 409, 818; active 1227
S0=$M/t/00000000000000000000.log
S1=$M/t/00000000000000000409.log
S2=$M/t/00000000000000000818.log
check "setup: three sealed segments" eq "$(ls "$M/t" | tr '\n' ' ')" \
	"00000000000000000000.log 00000000000000000409.log 00000000000000000818.log cursors tail "

# ---- rm ----
check "rm of tail fails with EPERM" fails_with EPERM rm -f "$M/t/tail"
check "rm of a sealed segment that is not the oldest fails with EPERM" fails_with EPERM rm -f "$S1"
check "rm of the newest sealed segment fails with EPERM" fails_with EPERM rm -f "$S2"
check "rm of a missing segment fails with ENOENT" fails_with ENOENT rm "$M/t/00000000000000000001.log"
check "rm of the topic directory with rm (not -r) fails" sh -c "! rm '$M/t' 2>/dev/null"
check "nothing was removed by the refused rm calls" eq "$(ls "$M/t" | wc -l)" 5
check "rm of the oldest sealed segment works (manual retention)" rm -f "$S0"
check "the removed segment is gone" sh -c "! ls '$M/t' | grep -q 00000000000000000000"
sed -n '410,1300p' "$T/all" >"$T/rest"
check "tail now starts at the next segment's first record" same "$M/t/tail" "$T/rest"
check "st_size of tail counts the retained bytes only" eq "$(size "$M/t/tail")" $((891 * 10))
check "first_offset follows the removal" eq "$(xattr "$M/t" first_offset)" 409
check "then the next oldest can be removed" rm -f "$S1"
check "the last sealed segment can be removed too" rm -f "$S2"
check "tail keeps the active segment's records" same "$M/t/tail" "$(sed -n '1228,1300p' "$T/all" >"$T/act"; echo "$T/act")"
check "appends still work after manual retention" sh -c "echo 'rec 01301' >>'$M/t/tail'"
check "offsets go on after manual retention" eq "$(xattr "$M/t" next_offset)" 1301

# ---- renames ----
dd if="$T/all" of="$M/t/tail" bs=10 conv=notrunc status=none
seg=$(ls "$M/t" | sed -n 2p) # not the oldest: that one may be removed
mkdir "$M/u"
check "mv of a topic fails with EPERM" fails_with EPERM mv "$M/t" "$M/t2"
check "mv of tail fails with EPERM" fails_with EPERM mv "$M/t/tail" "$M/t/tail2"
check "mv of a segment fails with EPERM" fails_with EPERM mv "$M/t/$seg" "$M/t/00000000000000099999.log"
check "mv of a segment into another topic fails with EPERM" fails_with EPERM mv "$M/t/$seg" "$M/u/$seg"
check "mv of a (not oldest) segment out of the mount fails: copied, not removed" \
	sh -c "! mv '$M/t/$seg' '$T/moved' 2>/dev/null && cmp -s '$M/t/$seg' '$T/moved'"
check "the segment is still there after the mv attempts" test -f "$M/t/$seg"

# ---- sealed segments are read-only, for root too ----
check "opening a sealed segment for writing fails with EACCES (root)" \
	"$LFSIO" expect EACCES open 0 w "$M/t/$seg"
check "O_RDWR on a sealed segment fails with EACCES" "$LFSIO" expect EACCES open 0 rw "$M/t/$seg"
check "echo >> segment fails with EACCES" sh_fails_with EACCES "echo x >>'$M/t/$seg'"
check "chmod of a segment fails" sh -c "! chmod 0644 '$M/t/$seg' 2>/dev/null"
check "the segment stays mode 0444" eq "$(stat -c %a "$M/t/$seg")" 444

# ---- truncate ----
before=$(size "$M/t/tail")
check "truncate -s 0 tail fails with EPERM" fails_with EPERM truncate -s 0 "$M/t/tail"
check "truncate -s +10 tail fails with EPERM" fails_with EPERM truncate -s +10 "$M/t/tail"
check "truncate(2) of a segment fails with $SEG_WRITE_ERR" "$LFSIO" expect $SEG_WRITE_ERR truncate "$M/t/$seg" 0
check "truncate(2) of tail fails with EPERM" "$LFSIO" expect EPERM truncate "$M/t/tail" 5
segsz=$(size "$M/t/$seg")
# A user without write permission meets the kernel's EACCES first (O_TRUNC
# asks for write access); root reaches the daemon, which refuses.
if [ "$(id -u)" = 0 ]; then
	check "open(O_RDONLY|O_TRUNC) of a segment fails with EPERM (root)" \
		"$LFSIO" expect EPERM open 0 rt "$M/t/$seg"
else
	check "open(O_RDONLY|O_TRUNC) of a segment fails with EACCES (not root)" \
		"$LFSIO" expect EACCES open 0 rt "$M/t/$seg"
fi
check "the segment kept its size" eq "$(size "$M/t/$seg")" "$segsz"
check "ftruncate(2) of a tail producer handle fails with EPERM" \
	"$LFSIO" open 0 wa "$M/t/tail" expect EPERM ftruncate 0 0 close 0
check "tail did not shrink" eq "$(size "$M/t/tail")" "$before"
check "fallocate on tail fails" sh -c "! fallocate -l 1M '$M/t/tail' 2>/dev/null"

# ---- other files and directories ----
check "creating another file in a topic fails with EPERM (touch)" fails_with EPERM touch "$M/t/other"
check "creating another file in a topic fails with EPERM (redirection)" sh_fails_with EPERM "echo x >'$M/t/other.log'"
check "creating a segment-named file fails with EPERM" fails_with EPERM touch "$M/t/00000000000000999999.log"
check "creating a file at the top fails with EPERM" fails_with EPERM touch "$M/file"
check "mkdir inside a topic fails with EPERM" fails_with EPERM mkdir "$M/t/sub"
check "mknod (fifo) in a topic fails with EPERM" fails_with EPERM mkfifo "$M/t/fifo"
check "symlink in a topic fails with EPERM" fails_with EPERM ln -s tail "$M/t/link"
check "hard link of tail fails with EPERM" fails_with EPERM ln "$M/t/tail" "$M/t/hard"
check "nothing was created" eq "$(ls -A "$M/t" | grep -v '\.log$' | tr '\n' ' ')" "cursors tail "
check "a malformed @ name cannot be created: EINVAL" fails_with EINVAL touch "$M/t/@bogus"
first=$(xattr "$M/t" first_offset)
check "an existing @N cannot be opened for writing: EACCES" "$LFSIO" expect EACCES open 0 w "$M/t/@$first"
check "echo >> @N fails with EACCES" sh_fails_with EACCES "echo x >>'$M/t/@$first'"
check "@N below the first retained offset cannot be created: EPERM" fails_with EPERM touch "$M/t/@$((first - 1))"

# ---- rmdir while a file of the topic is open ----
mkdir "$M/busy"
seq 1 5 >>"$M/busy/tail"
check "rmdir of a topic with data works when nothing is open" rmdir "$M/u"
# busy_while WHAT DIR FILE [w]: rmdir DIR fails with EBUSY while another
# process holds FILE open (for reading, w: for appending).
busy_while()
{
	if [ "${4:-}" = w ]; then
		sleep 600 3>>"$3" &
	else
		sleep 600 3<"$3" &
	fi
	hp=$!
	_pids="$_pids $hp"
	wait_for 10 test -e /proc/$hp/fd/3
	check "rmdir fails with EBUSY while $1" fails_with EBUSY rmdir "$2"
	stop "$hp"
}
busy_while "tail is open for reading" "$M/busy" "$M/busy/tail"
busy_while "tail is open for writing" "$M/busy" "$M/busy/tail" w
busy_while "@N is open" "$M/busy" "$M/busy/@2"
busy_while "a sealed segment is open" "$M/t" "$M/t/$seg"
check "the busy topic kept its data" eq "$(cat "$M/busy/tail" | tr '\n' ' ')" "1 2 3 4 5 "
check "rmdir works once every file is closed" rmdir "$M/busy"
check "rmdir works on the other topic once closed" rmdir "$M/t"
check "rmdir of a missing topic fails with ENOENT" fails_with ENOENT rmdir "$M/nosuch"
lfs_umount "$M"

# ---- ro ----
vol_new "$T/vro" || exit 1
lfs_mount "$T/vro" "$M" -o segment_size=4K || exit 1
mkdir "$M/r" "$M/gone"
dd if="$T/all" of="$M/r/tail" bs=10 conv=notrunc status=none
lfs_umount "$M"
lfs_mount "$T/vro" "$M" -o ro || exit 1
check "ro: the mount is read-only in the kernel too" grep -q " $M ro[, ]" /proc/self/mountinfo
check "ro: reads work" same "$M/r/tail" "$T/all"
check "ro: segments read" same "$M/r/00000000000000000000.log" "$(sed -n '1,409p' "$T/all" >"$T/s0"; echo "$T/s0")"
check "ro: appends fail with EROFS" sh_fails_with EROFS "echo x >>'$M/r/tail'"
check "ro: open of tail for writing fails with EROFS" "$LFSIO" expect EROFS open 0 wa "$M/r/tail"
check "ro: mkdir fails with EROFS" fails_with EROFS mkdir "$M/new"
check "ro: rmdir fails with EROFS" fails_with EROFS rmdir "$M/gone"
check "ro: rm of the oldest segment fails with EROFS" fails_with EROFS rm -f "$M/r/00000000000000000000.log"
check "ro: setfattr fails with EROFS" fails_with EROFS setfattr -n user.logfs.retention_ms -v 1000 "$M/r"
check "ro: chmod of a topic fails with EROFS" fails_with EROFS chmod 0700 "$M/r"
check "ro: nothing changed" same "$M/r/tail" "$T/all"
lfs_umount "$M"
lfs_mount "$T/vro" "$M" || exit 1
check "ro: after a rw remount everything is as before" same "$M/r/tail" "$T/all"
check "ro: the topics are as before" eq "$(ls "$M" | tr '\n' ' ')" "gone r "
lfs_umount "$M"

# ---- ENOSPC: the backing filesystem is full ----
FS=$T/small
if ! as_root; then
	skip "ENOSPC tests" "mounting a small tmpfs needs root"
	finish
fi
if ! tmpfs_new "$FS" 8M; then
	not_ok "ENOSPC tests: cannot mount a tmpfs"
	finish
fi
vol_new "$FS/vol" || exit 1
lfs_mount "$FS/vol" "$M" -o segment_size=256K || exit 1
mkdir "$M/full" "$M/other" "$M/ballast"
echo "other topic" >>"$M/other/tail"
"$LFSREC" write "$M/full/tail" 0 1000 -b 10 -l 40:200
# Fill the tmpfs with an ordinary file, leaving about 600K.
avail=$(df -k --output=avail "$FS" | tail -n 1)
dd if=/dev/zero of="$FS/filler" bs=1K count=$((avail - 600)) status=none 2>/dev/null
"$LFSREC" write "$M/full/tail" 1 100000 -b 20 -l 40:200 -a "$T/ack1" 2>"$T/w.err"
check "appends on a full filesystem fail with ENOSPC" grep -q ENOSPC "$T/w.err"
acked=$(awk '{ print $1 + 0 }' "$T/ack1" 2>/dev/null)
acked=${acked:-0}
note "$acked records of writer 1 acknowledged before ENOSPC"
{ "$LFSREC" gen 0 0 1000 -l 40:200; "$LFSREC" gen 1 0 "$acked" -l 40:200; } >"$T/acked"
check "after ENOSPC the log holds exactly the acknowledged records (nothing partial)" same "$M/full/tail" "$T/acked"
check "after ENOSPC the daemon keeps serving: reads of another topic" eq "$(cat "$M/other/tail")" "other topic"
head -c 300000 /dev/zero | tr '\0' x | fold -w 99 >"$T/big"
echo >>"$T/big"
check "a write of whole lines that needs a new segment fails with ENOSPC" \
	"$LFSIO" open 0 wa "$M/full/tail" expect ENOSPC writefile 0 "$T/big" 300000 close 0
check "nothing partial after the failed appends" same "$M/full/tail" "$T/acked"
# A held line fragment that cannot be committed: close(2) fails, and the
# daemon logs the lost line as an error (syslog's LOG_ERR, "error:" on
# stderr), not as information.
check "close of a handle whose held line cannot be committed fails with ENOSPC" \
	"$LFSIO" open 0 wa "$M/full/tail" writen 0 300000 120 expect ENOSPC close 0
check "the lost held line is logged as an error" \
	grep -q '^logfs: error: topic full: held line lost at close: No space left on device' "$DERR"
check "nothing of the held line was appended" same "$M/full/tail" "$T/acked"
check "xattrs work while full" eq "$(xattr "$M/full" next_offset)" "$((1000 + acked))"
check "ls works while full" sh -c "ls -l '$M/full' >/dev/null"
rm -f "$FS/filler"
check "appends work again once space is freed" sh -c "echo 'after free' >>'$M/full/tail'"
check "the record appended after freeing space is there" eq "$(tail -n 1 "$M/full/tail")" "after free"
check "a large append works again once space is freed" sh -c "cat '$T/big' >>'$M/full/tail'"
cat "$T/acked" >"$T/full"
echo "after free" >>"$T/full"
cat "$T/big" >>"$T/full"
check "the log is exactly what was acknowledged" same "$M/full/tail" "$T/full"

# Full again, now of the volume's own data; freed by rm of the oldest
# sealed segments of another topic.
"$LFSREC" write "$M/ballast/tail" 0 100000 -l 500:1000 2>"$T/w2.err"
check "filling the filesystem with a topic ends in ENOSPC" grep -q ENOSPC "$T/w2.err"
"$LFSREC" write "$M/other/tail" 0 100000 -b 5 -l 500:1000 -a "$T/ack2" 2>"$T/w3.err"
check "another topic's appends fail with ENOSPC too" grep -q ENOSPC "$T/w3.err"
acked2=$(awk '{ print $1 + 0 }' "$T/ack2" 2>/dev/null)
acked2=${acked2:-0}
i=0
while [ "$(df -k --output=avail "$FS" | tail -n 1)" -lt 1600 ] && [ $i -lt 30 ]; do
	rm -f "$M/ballast/$(ls "$M/ballast" | grep log | head -n 1)" || break
	i=$((i + 1))
done
check "rm of the oldest sealed segments freed space ($i removed)" test "$(df -k --output=avail "$FS" | tail -n 1)" -ge 1600
check "appends work after rm of the oldest segments" "$LFSREC" write "$M/other/tail" 1 200 -b 5 -l 500:1000
{ echo "other topic"; "$LFSREC" gen 0 0 "$acked2" -l 500:1000; "$LFSREC" gen 1 0 200 -l 500:1000; } >"$T/other"
check "the other topic holds exactly what was acknowledged" same "$M/other/tail" "$T/other"
lfs_umount "$M"
lfs_mount "$FS/vol" "$M" || exit 1
check "after the ENOSPC episodes the volume remounts clean" sh -c "! grep -qi recover '$DERR'"
check "after remount the first topic is intact" same "$M/full/tail" "$T/full"
check "after remount the other topic is intact" same "$M/other/tail" "$T/other"
lfs_umount "$M"

finish
