#!/bin/sh
# SPEC "What the mount shows" / "Reading": tail -f, tail -F and less +F
# follow tail across many rolls, with nothing missed or duplicated; less G.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K || exit 1

# append_slowly FILE TAIL CHUNKS: appends FILE to TAIL in CHUNKS pieces with
# a pause between them, one write(2) per 20-byte record (dd bs=20).
append_slowly()
{
	_lines=$(wc -l <"$1")
	_per=$((_lines / $3))
	_i=0
	while [ $_i -lt "$3" ]; do
		sed -n "$((_i * _per + 1)),$(((_i + 1) * _per))p" "$1" |
			dd of="$2" bs=20 conv=notrunc status=none
		sleep 0.2
		_i=$((_i + 1))
	done
}

# wait_output FILE BYTES: until FILE has BYTES bytes, or has not grown for
# 3 s (up to 60 s).
wait_output()
{
	_last=-1
	_still=0
	_n=0
	while [ $_n -lt 1200 ]; do
		_sz=$(wc -c <"$1")
		[ "$_sz" -ge "$2" ] && return 0
		if [ "$_sz" = "$_last" ]; then
			_still=$((_still + 1))
			[ $_still -ge 60 ] && return 1
		else
			_still=0
		fi
		_last=$_sz
		_n=$((_n + 1))
		sleep 0.05
	done
	return 1
}

# follow_test NAME TAILOPTS [MOUNTOPTS]: `tail TAILOPTS` follows a topic
# while 8000 records (160 KB: about 40 rolls) are appended.
follow_test()
{
	_name=$1
	_opts=$2
	mkdir "$M/$_name"
	seq -f 'rec %015g' 1 400 >"$T/$_name.pre"
	dd if="$T/$_name.pre" of="$M/$_name/tail" bs=20 conv=notrunc status=none
	# shellcheck disable=SC2086
	timeout 120 tail $_opts "$M/$_name/tail" >"$T/$_name.out" 2>"$T/$_name.err" &
	_tp=$!
	_pids="$_pids $_tp"
	# Appends start once tail has printed what was there before it: with
	# retention, records appended before tail opened the file may be gone
	# before it does (a slow start on a loaded machine), and what is
	# tested is a follower's, not a late reader's.
	_pre=$(wc -c <"$T/$_name.pre")
	wait_for 60 sh -c "[ \$(wc -c <'$T/$_name.out') -ge $_pre ]" ||
		note "$_name: tail printed $(wc -c <"$T/$_name.out") of the $_pre bytes there before it"
	seq -f 'rec %015g' 401 8400 >"$T/$_name.more"
	append_slowly "$T/$_name.more" "$M/$_name/tail" 10
	cat "$T/$_name.pre" "$T/$_name.more" >"$T/$_name.want"
	wait_output "$T/$_name.out" "$(wc -c <"$T/$_name.want")"
	sleep 0.5 # anything extra (duplicates) would show up now
	stop "$_tp"
}

follow_test f "-n +1 -s 0.1 -f"
check "tail -f follows tail across about 40 rolls: nothing missed or duplicated" same "$T/f.out" "$T/f.want"
check "tail -f saw the rolls as one file (no 'truncated' message)" test ! -s "$T/f.err"
check "the rolls happened (many sealed segments)" test "$(ls "$M/f" | grep -c '\.log$')" -ge 35

follow_test F "-n +1 -s 0.1 -F"
check "tail -F follows tail across about 40 rolls: nothing missed or duplicated" same "$T/F.out" "$T/F.want"
check "tail -F printed no complaints" test ! -s "$T/F.err"

# tail -f (default: the last 10 lines first)
mkdir "$M/ten"
seq 1 100 >>"$M/ten/tail"
timeout 60 tail -s 0.1 -f "$M/ten/tail" >"$T/ten.out" 2>&1 &
tp=$!
_pids="$_pids $tp"
# (appended before tail has read the end, 101..150 would be in its last 10)
wait_for 30 sh -c "tail -n 1 '$T/ten.out' | grep -qx 100" ||
	note "ten: before the append tail printed '$(cat "$T/ten.out")'"
seq 101 150 >>"$M/ten/tail"
wait_for 30 sh -c "tail -n 1 '$T/ten.out' | grep -qx 150"
stop "$tp"
check "tail -f prints the last 10 records, then what is appended" eq "$(cat "$T/ten.out")" "$(seq 91 150)"

# While retention deletes segments under the follower.
lfs_umount "$M"
lfs_mount "$V" "$M" -o segment_size=4K,retention_bytes=16K || exit 1
follow_test rf "-n +1 -s 0.1 -f"
bug "stat/fstat of tail (no file handle reaches the daemon) shows the retained bytes, which shrink when retention deletes a segment; tail -f then reports 'file truncated' and reads again from the start"
check "tail -f follows while retention deletes segments: nothing missed or duplicated" same "$T/rf.out" "$T/rf.want"
bug "tail reports truncation when retention shrinks the retained bytes"
check "tail -f under retention printed no 'truncated' message" test ! -s "$T/rf.err"
check "retention did delete segments under the follower" test "$(xattr "$M/rf" first_offset)" -gt 0
follow_test rF "-n +1 -s 0.1 -F"
bug "stat of tail shows the retained bytes, which shrink under retention; tail -F re-reads from the start"
check "tail -F follows while retention deletes segments: nothing missed or duplicated" same "$T/rF.out" "$T/rF.want"
lfs_umount "$M"
lfs_mount "$V" "$M" -o segment_size=4K || exit 1

# ---- less under tmux ----
if ! command -v tmux >/dev/null 2>&1 || ! command -v less >/dev/null 2>&1; then
	ok "less +F follows tail # SKIP tmux or less missing"
	finish
fi
TM=lfs-test-$$
_tmux="$_tmux $TM"
screen() { tmux -L "$TM" capture-pane -p -t "$1" 2>/dev/null; }
shows() { screen "$1" | grep -q "$2"; }

mkdir "$M/less"
seq -f 'less record %g' 1 500 >>"$M/less/tail"
tmux -L "$TM" new-session -d -s lf -x 80 -y 24 "LESS= less +F '$M/less/tail'"
check "less +F shows the end of tail" wait_for 20 shows lf 'less record 500$'
seq -f 'less record %g' 501 4000 >"$T/lessmore"
dd if="$T/lessmore" of="$M/less/tail" bs=4096 conv=notrunc status=none # about 20 rolls
check "less +F shows records appended later, across rolls" wait_for 30 shows lf 'less record 4000$'
check "less +F shows them in order" sh -c "tmux -L '$TM' capture-pane -p -t lf | grep 'less record' | tail -n 3 | tr '\\n' ' ' | grep -q 'less record 3998 less record 3999 less record 4000'"
# The second session starts before the first ends: a server left without
# sessions exits, racing a new session on the same socket.
tmux -L "$TM" new-session -d -s lg -x 80 -y 24 "LESS= less '$M/less/tail'"
tmux -L "$TM" send-keys -t lf C-c q 2>/dev/null
check "less shows the start of tail" wait_for 20 shows lg 'less record 1$'
seq -f 'less record %g' 4001 4100 >>"$M/less/tail"
tmux -L "$TM" send-keys -t lg G
check "less then G shows the records appended after less opened the file" wait_for 20 shows lg 'less record 4100$'
tmux -L "$TM" send-keys -t lg g
check "less g goes back to the first record" wait_for 20 shows lg 'less record 1$'
tmux -L "$TM" send-keys -t lg q 2>/dev/null
tmux -L "$TM" kill-server 2>/dev/null
lfs_umount "$M"

finish
