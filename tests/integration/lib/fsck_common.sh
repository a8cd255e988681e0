# Helpers shared by tests/integration/fsck_*.sh and mkfs_*.sh (sourced, not
# run: tests/run.sh only runs tests/integration/*.sh).
#
# Needs LFS_BUILD (absolute build directory). Makes $TMP, removed on exit.

: "${LFS_BUILD:?LFS_BUILD must name the build directory}"
FSCK=$LFS_BUILD/fsck.logfs
MKFS=$LFS_BUILD/mkfs.logfs
TOOLS=$LFS_BUILD/tests/tools
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lfs-fsck.XXXXXX") || exit 1
HOLDERS=""
cleanup() {
	for p in $HOLDERS; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }

# check DESC COMMAND...: ok if the command succeeds.
check() {
	_d=$1
	shift
	if "$@"; then ok "$_d"; else notok "$_d"; fi
}

# expect_rc WANT DESC COMMAND...: runs the command, output in $TMP/out.
expect_rc() {
	_want=$1 _d=$2
	shift 2
	"$@" >"$TMP/out" 2>&1
	_rc=$?
	if [ "$_rc" -eq "$_want" ]; then
		ok "$_d"
	else
		notok "$_d (exit $_rc, wanted $_want)"
		sed 's/^/#   /' "$TMP/out" | head -n 30
	fi
	return 0
}

# out_has DESC PATTERN: the last expect_rc output matches the grep pattern.
out_has() {
	if grep -q -e "$2" "$TMP/out"; then
		ok "$1"
	else
		notok "$1 (no '$2' in the output)"
		sed 's/^/#   /' "$TMP/out" | head -n 30
	fi
}

# snap DIR: a listing with a checksum of every file, to prove nothing changed.
snap() {
	(cd "$1" && find . -printf '%p %y %m %s\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k 2)
}

# two_topics VOL [--crash]: the volume most fsck suites damage, segment
# size 4K: topic w (write framing, 100-byte binary records, one per append:
# segments 0 40 sealed, 80 active, 100 records), then topic t (line
# framing, 100-byte records, 2 per append: 0 40 80 sealed, 120 active, 150
# records). --crash: t's writer is killed, never closed (state dirty, the
# active segment keeps its preallocated zero tails).
two_topics() {
	"$MKFS" -q -s 4K "$1" || return 1
	"$TOOLS/lfs_write" -n 100 -w "$1" w || return 1
	# shellcheck disable=SC2086
	"$TOOLS/lfs_write" -n 150 -b 2 ${2:-} "$1" t
}

# seg VOL TOPIC BASE EXT: the path of a segment file.
seg() {
	printf '%s/topics/%s/%020d.%s' "$1" "$2" "$3" "$4"
}

# want FILE [-w] "A B" ...: the records A..B-1 of each range, as written by
# lfs_write (-w: write framing), concatenated into FILE.
want() {
	_f=$1
	shift
	_w=""
	if [ "$1" = -w ]; then
		_w=-w
		shift
	fi
	: >"$_f"
	for _r in "$@"; do
		# shellcheck disable=SC2086
		"$TOOLS/lfs_write" $_w --expect $_r >>"$_f" || return 1
	done
}

# same_records DESC VOL TOPIC [-w] "A B" ...: the topic reads as exactly
# those records, byte for byte.
same_records() {
	_d=$1 _v=$2 _t=$3
	shift 3
	want "$TMP/want" "$@"
	if ! "$TOOLS/lfs_dump" "$_v" "$_t" >"$TMP/got" 2>"$TMP/dump.err"; then
		notok "$_d (lfs_dump failed: $(cat "$TMP/dump.err"))"
		return 0
	fi
	if cmp -s "$TMP/got" "$TMP/want"; then
		ok "$_d"
	else
		notok "$_d ($(wc -c <"$TMP/got") bytes read, $(wc -c <"$TMP/want") expected: $(cmp "$TMP/got" "$TMP/want" 2>&1 | head -n 1))"
	fi
}

# hold VOL: starts a process holding the volume open (locked), as a mounted
# daemon would; sets HOLD_PID. stop_hold ends it.
hold() {
	rm -f "$TMP/hold.fifo" "$TMP/hold.out"
	mkfifo "$TMP/hold.fifo" || return 1
	"$TOOLS/lfs_write" -n 0 --hold "$1" holdtopic <"$TMP/hold.fifo" >"$TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	HOLDERS="$HOLDERS $HOLD_PID"
	exec 7>"$TMP/hold.fifo"
	_i=0
	while ! grep -q ready "$TMP/hold.out" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 100 ] || ! kill -0 "$HOLD_PID" 2>/dev/null; then
			echo "# holder did not start: $(cat "$TMP/hold.out")"
			return 1
		fi
		sleep 0.05
	done
}
stop_hold() {
	exec 7>&-
	wait "$HOLD_PID"
}
