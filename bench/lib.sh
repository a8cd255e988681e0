# Sourced by the bench scripts (after B, the build directory, is set):
#   bench_init NAME          W: a fresh work directory, removed at exit with
#                            whatever is still mounted in it
#   bench_mount VOL MNT ...  mounts (options after MNT), sets DPID and
#                            MOUNT_MS (how long the mount took to answer)
#   bench_unmount MNT        unmounts and waits until the daemon has exited
#   median                   the median of the numbers on stdin, one a line
# Work directories go under $BENCH_DIR, else $TMPDIR, else /var/tmp (a disk,
# as the figures want; /tmp may be a tmpfs).
DPID=""
bench_init() {
	W=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/var/tmp}}/lfs-$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}
bench_cleanup() {
	for _m in "$W"/*/; do
		mountpoint -q "$_m" 2>/dev/null && fusermount3 -u "$_m" 2>/dev/null
	done
	# The daemon writes its volume's summary after the unmount: the
	# directory goes once it has exited (or been killed after 10 s).
	_n=0
	while [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null && [ $_n -lt 200 ]; do
		sleep 0.05
		_n=$((_n + 1))
	done
	if [ -n "$DPID" ]; then kill "$DPID" 2>/dev/null || true; fi
	rm -rf "$W"
}
bench_mount() {
	_vol=$1 _mnt=$2
	shift 2
	set -- $(MOUNTWAIT_LOG="$W/daemon.log" "$B/bench/mountwait" "$_mnt" 600 "$B/logfs" "$_vol" "$_mnt" -f "$@")
	DPID=$1
	MOUNT_MS=$2
}
bench_unmount() {
	fusermount3 -u "$1"
	while kill -0 "$DPID" 2>/dev/null; do sleep 0.05; done
	DPID=""
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
