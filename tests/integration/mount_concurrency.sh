#!/bin/sh
# Concurrency through the mount (SPEC "Appending" and "Reading"): many
# writers with thousands of records each, readers during appends, rolls and
# retention under writers and readers. The checks are in lfsrec: every
# record present exactly once, whole, in order per writer; the records of
# one write(2) adjacent; no read ends inside a record; a reader's size never
# shrinks and what it read reads back the same.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=64K || exit 1

# run_writers TOPIC NWRITERS COUNT OPTS...: starts writers 0..NWRITERS-1;
# sets WPIDS.
run_writers()
{
	_t=$1
	_nw=$2
	_n=$3
	shift 3
	WPIDS=""
	_w=0
	while [ $_w -lt "$_nw" ]; do
		bg "$LFSREC" write "$_t" "$_w" "$_n" "$@"
		WPIDS="$WPIDS $BGPID"
		_w=$((_w + 1))
	done
}
# wait_all PIDS...: 0 if every process exited 0.
wait_all()
{
	_bad=0
	for _p in "$@"; do wait "$_p" || _bad=$((_bad + 1)); done
	[ $_bad -eq 0 ]
}

# wait_readers PIDS...: R_BAD readers failed their checks, R_SHRANK saw
# their size (lseek SEEK_END) shrink (lfsrec follow exit status 3).
wait_readers()
{
	R_BAD=0
	R_SHRANK=0
	for _p in "$@"; do
		wait "$_p"
		case $? in
		0) ;;
		3) R_SHRANK=$((R_SHRANK + 1)) ;;
		*) R_BAD=$((R_BAD + 1)) ;;
		esac
	done
}

# ---- line framing: one record per write, and batches of 7 ----
mkdir "$M/l1" "$M/l7"
bg "$LFSREC" follow "$M/l1/tail" 6 4000 -l 1:100 -r "$T/ready1" -t 120
r1=$BGPID
wait_for 10 test -e "$T/ready1"
run_writers "$M/l1/tail" 6 4000 -l 1:100
check "6 concurrent writers of 4000 records (one per write) all succeed" wait_all $WPIDS
check "a reader during the appends saw every record whole, in order, no partial reads" wait "$r1"
check "6 writers x 4000: every record exactly once, whole, in order per writer" \
	"$LFSREC" check "$M/l1/tail" 6 4000 -l 1:100
check "the offsets count every record" eq "$(xattr "$M/l1" next_offset)" 24000

bg "$LFSREC" follow "$M/l7/tail" 4 3500 -b 7 -l 1:200 -r "$T/ready7" -t 120
r7=$BGPID
wait_for 10 test -e "$T/ready7"
run_writers "$M/l7/tail" 4 3500 -b 7 -l 1:200
check "4 concurrent writers of 3500 records in writes of 7 succeed" wait_all $WPIDS
check "a reader saw the 7 records of each write together" wait "$r7"
check "writes of 7 records: never interleaved with another writer's" \
	"$LFSREC" check "$M/l7/tail" 4 3500 -b 7 -l 1:200

# Writes larger than the kernel's largest write request (1 MiB): 30000
# records, about 1.5 MB, per write(2). Such a write reaches the daemon as
# several requests, each appended whole, and another writer's may fall
# between them (docs/DESIGN.md, "Large writes"): every record whole, once,
# in order per writer.
mkdir "$M/huge"
run_writers "$M/huge/tail" 3 120000 -b 30000 -l 20:80
check "3 writers of 1.5 MB writes succeed" wait_all $WPIDS
check "writes of 1.5 MB: every record exactly once, whole, in order per writer" \
	"$LFSREC" check "$M/huge/tail" 3 120000 -l 20:80

# ---- write framing, binary records ----
mkdir "$M/bin"
setfattr -n user.logfs.framing -v write "$M/bin"
bg "$LFSREC" follow "$M/bin/tail" 4 3000 -B -l 0:300 -r "$T/readyb" -t 120
rb=$BGPID
wait_for 10 test -e "$T/readyb"
run_writers "$M/bin/tail" 4 3000 -B -l 0:300
check "4 concurrent writers of 3000 binary records (framing=write) succeed" wait_all $WPIDS
check "a reader saw every binary record whole" wait "$rb"
check "framing=write: every record exactly once, byte for byte, in order per writer" \
	"$LFSREC" check "$M/bin/tail" 4 3000 -B -l 0:300
lfs_umount "$M"

# ---- rolls and retention under writers and readers ----
lfs_mount "$V" "$M" -o segment_size=4K,retention_bytes=32K || exit 1
mkdir "$M/r"
R=$M/r/tail
N=4000
readers=""
# Readers of tail opened before any append: they must see everything, even
# what retention deletes while they read.
for i in 1 2 3; do
	bg "$LFSREC" follow "$R" 4 "$N" -l 1:100 -r "$T/rr$i" -t 150 -o "$T/rr$i.out"
	readers="$readers $BGPID"
	wait_for 10 test -e "$T/rr$i"
done
run_writers "$R" 4 "$N" -l 1:100 -d 100
writers=$WPIDS
# Readers that open while segments roll and are deleted: from the first
# retained record on, nothing may be skipped.
late=""
i=0
while [ $i -lt 6 ]; do
	sleep 0.3
	bg "$LFSREC" follow "$R" 4 "$N" -l 1:100 -P -D "$T/wdone" -t 150
	late="$late $BGPID"
	bg "$LFSREC" follow "$M/r" 4 "$N" -l 1:100 -M -D "$T/wdone" -t 150
	late="$late $BGPID"
	# A sealed segment reads the same twice while everything moves.
	seg=$(ls "$M/r" | sed -n 2p)
	case $seg in
	*.log) "$LFSIO" open 0 r "$M/r/$seg" readall 0 close 0 >"$T/seg.a" 2>/dev/null &&
		"$LFSIO" open 0 r "$M/r/$seg" readall 0 close 0 >"$T/seg.b" 2>/dev/null &&
		{ cmp -s "$T/seg.a" "$T/seg.b" || note "segment $seg read differently twice"; } ;;
	esac
	i=$((i + 1))
done
check "4 writers x $N records with rolls and retention succeed" wait_all $writers
# A writer that ended early may have none of its records left: late readers
# stop at the end once the writers are done.
touch "$T/wdone"
wait_readers $readers
check "readers opened before the appends read every record despite retention" eq "$R_BAD" 0
# Each open file has its own kernel inode, and so its own i_size: stat by
# name and other handles never change what lseek(SEEK_END) shows it
# (mount_inode.sh checks it 1000 times).
check "... and their size (lseek SEEK_END) never shrank" eq "$R_SHRANK" 0
check "... and all of them read the same bytes" sh -c "cmp -s '$T/rr1.out' '$T/rr2.out' && cmp -s '$T/rr1.out' '$T/rr3.out'"
wait_readers $late
check "readers of tail and @N opened during rolls and retention skipped nothing" eq "$R_BAD" 0
check "... and their size (lseek SEEK_END) never shrank" eq "$R_SHRANK" 0
check "the retained log is whole and contiguous from its first record" "$LFSREC" check "$R" 4 "$N" -l 1:100 -P
check "retention deleted segments during the run" test "$(xattr "$M/r" first_offset)" -gt 0
check "retention kept the topic within 32K (once the background pass ran)" \
	wait_for 10 sh -c "[ \$(getfattr --only-values -n user.logfs.bytes '$M/r' 2>/dev/null) -le 32768 ]"
first=$(xattr "$M/r" first_offset)
check "the first reader's bytes from the first retained record are the log's" \
	sh -c "tail -c $(xattr "$M/r" bytes) '$T/rr1.out' | cmp -s - '$R'"
lfs_umount "$M"

finish
