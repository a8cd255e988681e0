#!/bin/sh
# Every open of `tail` or of an `@...` view is a file of its own
# (docs/DESIGN.md, "One inode per open"): the kernel gets an inode per open,
# st_ino stays the same for the name, fstat/lseek(SEEK_END) of a handle give
# that handle's view whoever asks, producer handles are seekable (stdio,
# Python's logging), fsync and O_APPEND writers of different processes run
# side by side, and the daemon frees the nodes the kernel forgets.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
LFSVIEW=$LFS_BUILD/tests/tools/lfsview
STDIOPROD=$LFS_BUILD/tests/tools/stdioprod
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K,retention_bytes=16K || exit 1

# ---- st_ino ----
mkdir "$M/t" "$M/u"
seq 1 2000 | sed 's/^/line /' >>"$M/t/tail"
P=$M/t/tail
ino=$(stat -c %i "$P")
# same_ino N PATH INO: N times, stat by name and fstat of a new open both
# show INO (one process: the syscalls are what is checked, not stat(1)).
same_ino()
{
	python3 - "$@" <<'PY'
import os, sys
n, path, ino = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(n):
    fd = os.open(path, os.O_RDONLY)
    got = {os.stat(path).st_ino, os.fstat(fd).st_ino}
    os.close(fd)
    if got != {ino}:
        print(f"# open {i}: st_ino {sorted(got)}, expected {ino}")
        sys.exit(1)
PY
}
check "st_ino of tail (by name and of each open) never changes across 1000 opens" same_ino 1000 "$P" "$ino"
check "... nor while the log rolls and retention deletes segments" \
	sh -c "seq 1 3000 >>'$P' && [ \$(stat -c %i '$P') = $ino ]"
check "... (retention did delete segments)" test "$(xattr "$M/t" first_offset)" -gt 0
exec 4<"$M/t/@2100"
vino=$(stat -L -c %i /dev/fd/4)
check "an @ view keeps its st_ino while it is open (tail -F of it)" same_ino 100 "$M/t/@2100" "$vino"
exec 4<&-
check "tail, @ views, the topic and another topic's tail have different st_ino" \
	test "$(stat -c %i "$P" "$M/t/@2100" "$M/t" "$M/u/tail" | sort -u | wc -l)" -eq 4
segs=$(ls "$M/t" | grep -c '\.log$')
check "... and so have the sealed segments" \
	test "$(ls "$M/t" | grep '\.log$' | sed "s|^|$M/t/|" | xargs stat -c %i "$P" | sort -u | wc -l)" -eq $((segs + 1))

# ---- a Python follower ----
# As followers are written: read to the end, then poll; reopen when the
# name's st_ino is not the descriptor's (rotation), seek to 0 when the
# descriptor's size is below the position (truncation). Across rolls and
# retention it must do neither, and read every line once.
mkdir "$M/pf"
python3 - "$M/pf/tail" 3000 "$T/pf.ready" >"$T/pf.out" 2>"$T/pf.err" <<'PY' &
import os, sys, time
path, want, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open(path, os.O_RDONLY)
open(ready, "w").close()
pos, buf, lines, events = 0, b"", 0, []
deadline = time.time() + 120
while lines < want and time.time() < deadline:
    data = os.read(fd, 65536)
    if data:
        pos += len(data)
        buf += data
        *done, buf = buf.split(b"\n")
        for l in done:
            sys.stdout.write(l.decode() + "\n")
        lines += len(done)
        continue
    if os.stat(path).st_ino != os.fstat(fd).st_ino:
        events.append("rotation seen")
        os.close(fd)
        fd = os.open(path, os.O_RDONLY)
        pos = 0
    elif os.fstat(fd).st_size < pos:
        events.append("truncation seen")
        os.lseek(fd, 0, os.SEEK_SET)
        pos = 0
    time.sleep(0.02)
for e in events:
    print(e, file=sys.stderr)
sys.exit(0 if lines == want and not events else 1)
PY
pf=$!
_pids="$_pids $pf"
wait_for 10 test -e "$T/pf.ready"
i=0
while [ $i -lt 30 ]; do
	seq $((i * 100 + 1)) $((i * 100 + 100)) | sed 's/^/py follow /' >>"$M/pf/tail"
	i=$((i + 1))
done
check "a Python follower reads every line across rolls and retention" wait "$pf"
check "... saw no rotation and no truncation" test ! -s "$T/pf.err"
check "... in order, once each" sh -c "seq 1 3000 | sed 's/^/py follow /' | cmp -s - '$T/pf.out'"
check "... (retention deleted segments meanwhile)" test "$(xattr "$M/pf" first_offset)" -gt 0

# ---- each handle's own view, 1000 rounds ----
# lfsview: a reader opened before retention deletes what it has not read
# sees more than the retained log; its lseek(SEEK_END) and fstat (also from
# another process that inherited it, and with a newer reader open in the
# same process) give its own view exactly, while stat by name and other
# readers run all the time.
mkdir "$M/v"
seq 1 300 | sed 's/^/before /' >>"$M/v/tail"
check "fstat and lseek(SEEK_END) of every handle give its own view, 1000 rounds" \
	"$LFSVIEW" "$M/v/tail" 1000

# ---- seekable producers ----
mkdir "$M/c"
lfs_umount "$M"
# No retention: ftell must count every byte.
lfs_mount "$V" "$M" || exit 1
echo first >>"$M/c/tail"
check "C stdio: fopen(\"a\"), fprintf and ftell: ftell is the log's end" "$STDIOPROD" "$M/c/tail" 1 500
check "... and every line is in the log" eq "$(grep -c '^stdio 1 ' "$M/c/tail")" 500
check "lseek on a producer handle works (no ESPIPE)" \
	"$LFSIO" open 0 wa "$M/c/tail" size 0 write 0 'x\n' size 0 close 0

# pylog HANDLER TOPIC: 4 processes log 300 records each with HANDLER.
pylog()
{
	python3 - "$1" "$2" <<'PY'
import logging, logging.handlers, os, sys
kind, path = sys.argv[1], sys.argv[2]
def run(w):
    if kind == "file":
        h = logging.FileHandler(path)
    elif kind == "watched":
        h = logging.handlers.WatchedFileHandler(path)
    elif kind == "rotating0":
        h = logging.handlers.RotatingFileHandler(path, maxBytes=0)
    else:  # seeks and tells on every record, never rolls over
        h = logging.handlers.RotatingFileHandler(path, maxBytes=1 << 50)
    errors = []
    h.handleError = lambda record: errors.append(sys.exc_info()[1])
    log = logging.getLogger("w%d" % w)
    log.addHandler(h)
    log.setLevel(logging.INFO)
    for i in range(300):
        log.info("writer %d record %d", w, i)
    h.close()
    if errors:
        print("writer %d: %r" % (w, errors[0]), file=sys.stderr)
        os._exit(1)
    os._exit(0)
pids = []
for w in range(4):
    pid = os.fork()
    if pid == 0:
        run(w)
    pids.append(pid)
bad = sum(1 for p in pids if os.waitpid(p, 0)[1] != 0)
sys.exit(1 if bad else 0)
PY
}
# per_writer_in_order TOPIC: every writer's 300 records once, in order.
per_writer_in_order()
{
	for _w in 0 1 2 3; do
		grep "^writer $_w record " "$1/tail" | sed 's/.* //' >"$T/w$_w"
		seq 0 299 | cmp -s - "$T/w$_w" || { note "writer $_w: $(wc -l <"$T/w$_w") records, not 0..299 in order"; return 1; }
	done
}
for h in file watched rotating0 rotating; do
	mkdir "$M/py_$h"
	check "Python logging ($h handler) from 4 processes: no logging error" pylog "$h" "$M/py_$h/tail"
	check "... every record in the log once, in order per process" per_writer_in_order "$M/py_$h"
done

# ---- fsync and O_APPEND writers side by side ----
mkdir "$M/f"
setfattr -n user.logfs.sync -v always "$M/f"
pids=""
w=0
while [ $w -lt 20 ]; do
	if [ $w -lt 16 ]; then
		bg "$LFSREC" write "$M/f/tail" $w 300 -l 1:100 -S
	else
		bg "$LFSREC" write "$M/f/tail" $w 1500 -l 1:100
	fi
	pids="$pids $BGPID"
	w=$((w + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
check "16 writers with fdatasync after each write and 4 without, on a sync=always topic, all succeed" eq "$bad" 0
check "every acknowledged record present once, in order per writer" \
	sh -c "grep -E '^w(1[6-9]) ' '$M/f/tail' | '$LFSREC' check - 20 1500 -l 1:100 -P &&
	       grep -vE '^w(1[6-9]) ' '$M/f/tail' | '$LFSREC' check - 16 300 -l 1:100"

# ---- commit rounds ----
# With one inode for every open, the kernel ran one O_APPEND write or fsync
# of a topic at a time, each its own commit round. Now they reach the daemon
# together and share rounds: strace counts the daemon's flushes (one
# io_uring_enter per round, or fdatasync/fsync without io_uring).
# commit_rounds TOPIC ARGS...: 16 lfsrec writers of 200 records each with
# ARGS; sets ROUNDS. Measured on one kernel inode for all opens: 2452
# rounds for 3200 write + fdatasync, 3200 for 3200 O_APPEND writes on
# sync=always; with an inode per open 434-487 and 419.
commit_rounds()
{
	_topic=$1
	shift
	strace -f -c -e trace=io_uring_enter,fdatasync,fsync -p "$DPID" -o "$T/strace.out" \
		2>"$T/strace.err" &
	_st=$!
	# "Process N attached with M threads": every thread is traced.
	wait_for 20 grep -q attached "$T/strace.err" || return 1
	_wp=""
	for _w in $(seq 0 15); do
		"$LFSREC" write "$_topic/tail" "$_w" 200 -l 1:100 "$@" &
		_wp="$_wp $!"
	done
	_bad=0
	for _p in $_wp; do wait "$_p" || _bad=1; done
	kill -INT "$_st"
	wait "$_st"
	ROUNDS=$(awk '$NF == "io_uring_enter" || $NF == "fdatasync" || $NF == "fsync" { n += $4 } END { print n + 0 }' "$T/strace.out")
	note "$_topic: $ROUNDS commit rounds for 3200 writes"
	[ $_bad -eq 0 ] && "$LFSREC" check "$_topic/tail" 16 200 -l 1:100
}
if command -v strace >/dev/null; then
	mkdir "$M/gs" "$M/ga"
	check "16 writers, write + fdatasync each, on a sync=never topic: every record" \
		commit_rounds "$M/gs" -S
	check "... their fsyncs shared commit rounds (at most one per two fsyncs)" \
		test "$ROUNDS" -le 1600
	setfattr -n user.logfs.sync -v always "$M/ga"
	check "16 O_APPEND writers on a sync=always topic: every record" commit_rounds "$M/ga"
	check "... their writes shared commit rounds (at most one per two writes)" \
		test "$ROUNDS" -le 1600
else
	skip "fsyncs and O_APPEND writes share commit rounds" "strace missing"
fi

# ---- the node table ----
# rss: the daemon's resident set, in KiB.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
# opens N: N opens and closes of tail (reading and appending) and of an @
# view, and stats by name: every one a new node in the daemon.
opens()
{
	python3 - "$M/c/tail" "$M/c/@0" "$1" <<'PY'
import os, sys
tail, view, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    k = i % 4
    if k == 0:
        fd = os.open(tail, os.O_RDONLY)
    elif k == 1:
        fd = os.open(tail, os.O_WRONLY | os.O_APPEND)
    elif k == 2:
        fd = os.open(view, os.O_RDONLY)
    else:
        os.stat(tail)
        continue
    os.fstat(fd)
    os.close(fd)
PY
}
# A sanitizer's allocator keeps freed memory (quarantine, shadow): its
# RSS says nothing about the daemon's; the leak checker covers those builds.
if grep -q -e __asan_init -e __tsan_init "$LOGFS"; then
	skip "the daemon's memory returns to its baseline after 100,000 opens and closes" \
		"a sanitizer build (its leak checker runs at unmount)"
	opens 10000
else
	opens 10000
	base=$(rss)
	opens 100000
	after=$(rss)
	note "daemon RSS: $base KiB after 10,000 opens, $after KiB after 100,000 more"
	check "the daemon's memory returns to its baseline after 100,000 opens and closes (within 2 MiB)" \
		test "$after" -le $((base + 2048))
fi
lfs_umount "$M"

finish
