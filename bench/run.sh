#!/bin/sh
# logfs benchmark suite.
#   sh bench/run.sh BUILD full|quick
# Runs every family side by side on the same machine in one run: the backing
# ext4 directly, libfuse's passthrough_ll example (built here from the
# installed libfuse3-dev examples, with and without -o writeback), and logfs
# through its mount; the core engine alone against plain system calls.
# Prints a table, writes bench/out/results.tsv (family case system x value
# unit), bench/out/*.dat, docs/bench/*.png and docs/BENCHMARKS.md (the
# generated part followed by bench/analysis.md, the hand-written analysis).
# Must run as root (drop_caches, mounts). Uses BENCH_DIR (default
# bench/out/work, on the same filesystem as the repository) for volumes and
# deletes them after each family.
#
# Environment:
#   BENCH_ONLY=NAME[,NAME...]  run only these sections (the others are skipped
#       and their goals show "not measured"): core, append (= append_size,
#       append_writers, append_fdatasync and bulk_cat), append_size,
#       append_writers, append_fdatasync, bulk_cat, reads (read_cold,
#       read_warm, read_random, read_concurrent, read_follow), fsck (also
#       runs reads: it checks the volume they leave), passthrough (sealed
#       segments through FUSE passthrough vs the daemon vs ext4), ttfb, mount (ttfb and
#       mount are measured together), retention (also runs ttfb/mount: it
#       trims their 1000-segment volume), mount_active, cursors
#       (bench/cursor.sh), mirror (bench/mirror.sh: a three-node NATS
#       JetStream cluster on loopback). With BENCH_ONLY the
#       report goes to bench/out/BENCHMARKS.md and bench/out/plots/ instead
#       of docs/, so a partial run never replaces the full report. Example:
#         BENCH_ONLY=append_fdatasync sh bench/run.sh build quick
#   BENCH_DOC, BENCH_PLOTS  where the report and the plots go (defaults
#       docs/BENCHMARKS.md and docs/bench, or under bench/out as above).
set -u

BUILD=${1:-build}
MODE=${2:-quick}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
B=$BUILD/bench
OUT=$ROOT/bench/out
W=${BENCH_DIR:-$OUT/work}
RES=$OUT/results.tsv
RAW=$OUT/raw.tsv
LOG=$OUT/bench.log
ONLY=$(echo "${BENCH_ONLY:-}" | tr ',' ' ')
if [ -n "$ONLY" ]; then
	DOC=${BENCH_DOC:-$OUT/BENCHMARKS.md}
	PLOTS=${BENCH_PLOTS:-$OUT/plots}
else
	DOC=${BENCH_DOC:-$ROOT/docs/BENCHMARKS.md}
	PLOTS=${BENCH_PLOTS:-$ROOT/docs/bench}
fi
EXAMPLES=/usr/share/doc/libfuse3-dev/examples
STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

case $MODE in
full)
	REPS=3          # runs per point; the median is reported
	CORE_REPS=7     # core_bench append/batch runs: a copy into new page-cache
	                # pages now and then runs ~10x slower on either side, so
	                # these short runs need more rounds for a steady median
	SECS=3          # seconds per append run
	CORE_N=4000000  # core_bench append records
	CORE_TOTAL=1G   # core_bench batch bytes, scan volume
	BIG=1G          # sealed segment / log size for reads
	MULTI_SEG=64M   # segment size of the multi-segment log
	CAT_SIZE=1G     # bulk cat file
	TTFB_RECS=10000000
	RAND_N=100000
	ACTIVE_SIZES="16M 256M"
	PT_REPS=9       # rounds of the passthrough reads (63 MiB each)
	PT_GREP=5       # rounds of grep over 1 GiB and of 8 readers
	CUR_MB=256      # bench/cursor.sh: data read through a cursor
	CUR_ROUNDS=11   # bench/cursor.sh: mounts with and without cursors
	MIR_N=200000    # bench/mirror.sh: records the mirror catches up on, per round
	MIR_ROUNDS=5    # bench/mirror.sh: rounds (throughput; producers, mirror on and off)
	;;
quick)
	REPS=1
	CORE_REPS=1
	SECS=1
	CORE_N=1000000
	CORE_TOTAL=256M
	BIG=128M
	MULTI_SEG=8M
	CAT_SIZE=128M
	TTFB_RECS=1000000
	RAND_N=20000
	ACTIVE_SIZES="16M 64M"
	PT_REPS=5
	PT_GREP=2
	CUR_MB=32
	CUR_ROUNDS=3
	MIR_N=20000
	MIR_ROUNDS=1
	;;
*)
	echo "usage: run.sh BUILD full|quick" >&2
	exit 2
	;;
esac

die() {
	echo "bench: $*" >&2
	exit 1
}

for n in $ONLY; do
	case $n in
	core | append | append_size | append_writers | append_fdatasync | bulk_cat | reads | fsck | passthrough | ttfb | mount | retention | mount_active | cursors | mirror) ;;
	*) die "BENCH_ONLY: unknown section $n (see the header of bench/run.sh)" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "run as root (mounts, drop_caches)"
for p in core_bench appender reader mountwait cursor; do
	[ -x "$B/$p" ] || die "$B/$p missing: run make bench"
done
[ -x "$BUILD/logfs" ] || die "$BUILD/logfs missing"
command -v fusermount3 >/dev/null || die "fusermount3 missing"

mkdir -p "$OUT" "$PLOTS"
: >"$RES"
: >"$RAW"
: >"$LOG"
DAEMONS=$OUT/daemons
: >"$DAEMONS"

# ---- passthrough_ll, built at bench time from the installed example ----
PT=$B/passthrough_ll
if [ ! -x "$PT" ] || [ "$EXAMPLES/passthrough_ll.c" -nt "$PT" ]; then
	# shellcheck disable=SC2046
	cc -O2 -Wall -I"$EXAMPLES" -o "$PT" "$EXAMPLES/passthrough_ll.c" \
		$(pkg-config --cflags --libs fuse3) >>"$LOG" 2>&1 ||
		die "cannot build passthrough_ll from $EXAMPLES (see $LOG)"
fi

# ---- helpers ----
now_ns() { date +%s%N; }

is_running() { # PID: alive and not a zombie
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

# start_daemon MOUNTPOINT CMD...: mounts, sets DPID and DMS (ms to mount).
start_daemon() {
	_m=$1
	shift
	mkdir -p "$_m"
	_o=$(MOUNTWAIT_LOG=$LOG "$B/mountwait" "$_m" 60 "$@") || die "mount on $_m failed: $* (see $LOG)"
	DPID=${_o% *}
	DMS=${_o#* }
	echo "$DPID $_m" >>"$DAEMONS"
}

# stop_daemon MOUNTPOINT PID: unmounts and waits for the daemon to exit.
stop_daemon() {
	fusermount3 -u "$1" 2>>"$LOG" || umount -l "$1" 2>>"$LOG"
	_i=0
	while is_running "$2" && [ $_i -lt 600 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	is_running "$2" && echo "bench: daemon $2 did not exit" >&2
	return 0
}

# kill_daemon MOUNTPOINT PID: kill -9, then detach the dead mount.
kill_daemon() {
	kill -9 "$2" 2>/dev/null
	_i=0
	while is_running "$2" && [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	fusermount3 -u "$1" 2>>"$LOG" || umount -l "$1" 2>>"$LOG"
}

cleanup() {
	if [ -s "$DAEMONS" ]; then
		while read -r pid mnt; do
			if is_running "$pid"; then
				fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
				kill "$pid" 2>/dev/null
			fi
		done <"$DAEMONS"
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() { # also evicts the named files, in case drop_caches is refused
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	[ $# -gt 0 ] && "$B/reader" -e "$@" 2>>"$LOG"
	return 0
}

# val KEY CMD...: runs CMD, prints the value of its "RESULT KEY" line.
val() {
	_k=$1
	shift
	"$@" 2>>"$LOG" | awk -v k="$_k" '$1 == "RESULT" && $2 == k { print $3 }' | tail -n 1
}

# timed_ms CMD...: runs CMD with output discarded, prints elapsed ms.
timed_ms() {
	_s=$(now_ns)
	"$@" >/dev/null 2>>"$LOG" || echo "bench: failed: $*" >&2
	_e=$(now_ns)
	echo "$_s $_e" | awk '{ printf "%.3f", ($2 - $1) / 1e6 }'
}

median() { # values... -> median (empty if none)
	printf '%s\n' "$@" | grep -E '^[0-9.eE+-]+$' | sort -g | awk '{ v[++n] = $1 }
		END { if (!n) exit; printf "%.6g", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'
}

# record FAMILY CASE SYSTEM X UNIT VALUES...: stores the median of VALUES.
record() {
	_f=$1 _c=$2 _s=$3 _x=$4 _u=$5
	shift 5
	_m=$(median "$@")
	[ -n "$_m" ] || _m=NA
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$_f" "$_c" "$_s" "$_x" "$_m" "$_u" >>"$RES"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$_f" "$_c" "$_s" "$_x" "$*" "$_u" >>"$RAW"
	printf '%-10s %-26s %-22s %8s %12s %s\n' "$_f" "$_c" "$_s" "$_x" "$_m" "$_u"
}

# get FAMILY CASE SYSTEM X: a stored median.
get() {
	awk -F'\t' -v f="$1" -v c="$2" -v s="$3" -v x="$4" \
		'$1 == f && $2 == c && $3 == s && $4 == x { print $5 }' "$RES" | tail -n 1
}

bytes_of() { # SIZE with K/M/G -> bytes
	echo "$1" | awk '{ v = $1 + 0; u = substr($1, length($1));
		if (u == "K") v *= 1024; else if (u == "M") v *= 1048576; else if (u == "G") v *= 1073741824;
		printf "%.0f", v }'
}

mb_per_s() { # BYTES MS -> MB/s
	echo "$1 $2" | awk '{ if ($2 > 0) printf "%.6g", $1 / 1e6 / ($2 / 1e3) }'
}

# warm_reads FAMILY CASE X UNIT KEY ARGS...: REPS rounds of bench/reader
# ARGS on the logfs segment ($LSEG), the ext4 file ($BIGFILE) and
# passthrough_ll's view of the segment ($PSEG) in turn; records the medians
# of the RESULT KEY figures.
warm_reads() {
	_wf=$1 _wc=$2 _wx=$3 _wu=$4 _wk=$5
	shift 5
	_wl='' _wn='' _wp=''
	_wr=0
	while [ $_wr -lt "$REPS" ]; do
		_wl="$_wl $(val "$_wk" "$B/reader" "$@" "$LSEG")"
		_wn="$_wn $(val "$_wk" "$B/reader" "$@" "$BIGFILE")"
		_wp="$_wp $(val "$_wk" "$B/reader" "$@" "$PSEG")"
		_wr=$((_wr + 1))
	done
	# shellcheck disable=SC2086
	{
		record "$_wf" "$_wc" logfs "$_wx" "$_wu" $_wl
		record "$_wf" "$_wc" ext4 "$_wx" "$_wu" $_wn
		record "$_wf" "$_wc" passthrough_ll "$_wx" "$_wu" $_wp
	}
}

# want NAME...: true when BENCH_ONLY is unset or lists one of the NAMEs.
want() {
	[ -z "$ONLY" ] && return 0
	for _w in "$@"; do
		case " $ONLY " in *" $_w "*) return 0 ;; esac
	done
	return 1
}

section() {
	echo
	echo "== $* ($(($(date +%s) - T0)) s)"
}

printf '%-10s %-26s %-22s %8s %12s %s\n' family case system x median unit
rm -rf "$W"
mkdir -p "$W"
df -h "$W" >>"$LOG"

# ====================================================================
if want core; then
	section "core engine vs plain system calls (no FUSE)"
	"$B/core_bench" append "$W/core" 100 "$CORE_N" "$CORE_REPS" >"$OUT/core_append.txt" 2>>"$LOG"
	for k in core plain ratio; do
		v=$(awk -v k="core_append_100.$k" '$2 == k { print $3 }' "$OUT/core_append.txt")
		record core append_100B_per_call "$k" 1 "$( [ $k = ratio ] && echo x || echo rec/s)" "$v"
	done
	"$B/core_bench" batch "$W/core" "$CORE_TOTAL" "$CORE_REPS" >"$OUT/core_batch.txt" 2>>"$LOG"
	for k in core plain ratio; do
		v=$(awk -v k="core_batch_1m.$k" '$2 == k { print $3 }' "$OUT/core_batch.txt")
		record core batch_1MiB_100B_lines "$k" 1 "$( [ $k = ratio ] && echo x || echo MB/s)" "$v"
	done
	"$B/core_bench" read "$W/core" "$BIG" "$REPS" >"$OUT/core_read.txt" 2>>"$LOG"
	for k in core plain ratio; do
		v=$(awk -v k="core_sealed_read.$k" '$2 == k { print $3 }' "$OUT/core_read.txt")
		record core sealed_read_warm "$k" 1 "$( [ $k = ratio ] && echo x || echo MB/s)" "$v"
	done
	"$B/core_bench" scan "$W/core" "$CORE_TOTAL" "$REPS" >"$OUT/core_scan.txt" 2>>"$LOG"
	record core recovery_scan_verify core 1 GB/s "$(awk '$2 == "core_scan" { print $3 }' "$OUT/core_scan.txt")"
	"$B/core_bench" parts "$W/core" >"$OUT/core_parts.txt" 2>>"$LOG"
	for k in crc32c line_count crc32c_and_line_count memcpy_1MiB_warm; do
		record core_parts "$k" cpu 1 GB/s "$(awk -v k="parts.$k" '$2 == k { print $3 }' "$OUT/core_parts.txt")"
	done
	rm -rf "$W/core"
fi

# ====================================================================
# Append targets. System names: ext4, passthrough_ll, passthrough_ll-wb,
# logfs-never, logfs-sync100, logfs-sync10, logfs-always (per-topic sync
# setting through the user.logfs.sync xattr on one logfs mount). A
# "-noappend" suffix (logfs-always-noappend) runs the appender with -N: the
# writers open tail O_WRONLY without O_APPEND, so the kernel can run their
# writes in parallel (FOPEN_PARALLEL_DIRECT_WRITES); with O_APPEND it holds
# the inode lock across each write.
LM=$W/m_logfs
PM=$W/m_pt
PWM=$W/m_ptwb
RUN=0

# target SYSTEM: prints a fresh path to append to (a new topic for logfs).
target() {
	RUN=$((RUN + 1))
	case $1 in
	ext4) echo "$W/ext/f$RUN" ;;
	passthrough_ll) echo "$PM/f$RUN" ;;
	passthrough_ll-wb) echo "$PWM/f$RUN" ;;
	logfs-*)
		_sync=${1#logfs-}
		_sync=${_sync#sync}
		mkdir "$LM/t$RUN" || die "mkdir topic"
		setfattr -n user.logfs.sync -v "$_sync" "$LM/t$RUN" || die "setfattr sync=$_sync"
		echo "$LM/t$RUN/tail"
		;;
	esac
}

drop_target() { # PATH
	case $1 in
	*/tail)
		_d=${1%/tail}
		_i=0
		until rmdir "$_d" 2>/dev/null || [ $_i -ge 100 ]; do
			sleep 0.05
			_i=$((_i + 1))
		done
		[ -d "$_d" ] && echo "bench: could not remove topic $_d" >&2
		;;
	*) rm -f "$1" ;;
	esac
	return 0
}

# append_point FAMILY CASE X SYSTEMS APPENDER-ARGS...: REPS rounds, each
# running every system once in turn; records the medians.
append_point() {
	_fam=$1 _case=$2 _x=$3 _systems=$4
	shift 4
	for _s in $_systems; do eval "acc_$(echo "$_s" | tr -c 'a-z0-9\n' '_')=''"; done
	_r=0
	while [ $_r -lt "$REPS" ]; do
		for _s in $_systems; do
			_t=$(target "${_s%-noappend}")
			_extra=
			case $_s in *-noappend) _extra=-N ;; esac
			_v=$(val appends "$B/appender" "$@" $_extra "$_t")
			[ -n "$_v" ] || echo "bench: appender failed on $_s ($*)" >&2
			drop_target "$_t"
			_n=$(echo "$_s" | tr -c 'a-z0-9\n' '_')
			eval "acc_$_n=\"\$acc_$_n $_v\""
		done
		_r=$((_r + 1))
	done
	for _s in $_systems; do
		_n=$(echo "$_s" | tr -c 'a-z0-9\n' '_')
		eval "_vals=\$acc_$_n"
		# shellcheck disable=SC2086
		record "$_fam" "$_case" "$_s" "$_x" rec/s $_vals
	done
}

if want append append_size append_writers append_fdatasync bulk_cat; then
	section "appends through the mount"
	mkdir -p "$W/ext" "$W/ptsrc" "$W/ptwbsrc"
	"$B/core_bench" mkfs "$W/avol" >>"$LOG" 2>&1 || die "mkfs"
	start_daemon "$LM" "$BUILD/logfs" -f "$W/avol" "$LM" -o sync=never
	LPID=$DPID
	start_daemon "$PM" "$PT" -f -o source="$W/ptsrc" "$PM"
	PPID_PT=$DPID
	start_daemon "$PWM" "$PT" -f -o source="$W/ptwbsrc" -o writeback "$PWM"
	PPID_PTWB=$DPID
	CAP=$([ "$MODE" = full ] && echo 1G || echo 256M)

	if want append append_size; then
		for size in 64 256 1024 4096; do
			append_point append_size "1_writer_sync=never" "$size" \
				"ext4 passthrough_ll passthrough_ll-wb logfs-never" -s "$size" -w 1 -t "$SECS" -b "$CAP"
		done
	fi
	if want append append_writers; then
		for w in 1 4 16; do
			append_point append_writers "100B_records" "$w" \
				"ext4 passthrough_ll passthrough_ll-wb logfs-never logfs-sync100 logfs-sync10 logfs-always logfs-always-noappend" \
				-s 100 -w "$w" -t "$SECS" -b "$CAP"
		done
	fi
	if want append append_fdatasync; then
		for w in 1 4 16; do
			append_point append_fdatasync "100B_write+fdatasync" "$w" \
				"ext4 logfs-always logfs-always-noappend logfs-never" -s 100 -w "$w" -t "$SECS" -b "$CAP" -f
		done
	fi

	if want append bulk_cat; then
		section "bulk cat of 100-byte lines"
		SRC=$W/src.txt
		# A whole number of lines (a fragment at the end would get a '\n' added).
		yes "$(printf '%099d' 0)" | head -c "$(($(bytes_of "$CAT_SIZE") / 100 * 100))" >"$SRC"
		cat "$SRC" >/dev/null
		CATB=$(stat -c %s "$SRC")
		acc_e='' acc_l='' acc_p=''
		r=0
		while [ $r -lt "$REPS" ]; do
			ms=$(timed_ms sh -c "cat '$SRC' >>'$W/ext/bulk'")
			acc_e="$acc_e $(mb_per_s "$CATB" "$ms")"
			rm -f "$W/ext/bulk"
			t=$(target logfs-never)
			ms=$(timed_ms sh -c "cat '$SRC' >>'$t'")
			acc_l="$acc_l $(mb_per_s "$CATB" "$ms")"
			[ "$(stat -c %s "$t")" = "$CATB" ] || echo "bench: cat into tail: size mismatch" >&2
			drop_target "$t"
			ms=$(timed_ms sh -c "cat '$SRC' >>'$PM/bulk'")
			acc_p="$acc_p $(mb_per_s "$CATB" "$ms")"
			rm -f "$PM/bulk"
			r=$((r + 1))
		done
		# shellcheck disable=SC2086
		{
			record bulk_cat "cat_${CAT_SIZE}_>>" ext4 "$CAT_SIZE" MB/s $acc_e
			record bulk_cat "cat_${CAT_SIZE}_>>" logfs-never "$CAT_SIZE" MB/s $acc_l
			record bulk_cat "cat_${CAT_SIZE}_>>" passthrough_ll "$CAT_SIZE" MB/s $acc_p
		}
		rm -f "$SRC"
	fi
	stop_daemon "$LM" "$LPID"
	stop_daemon "$PM" "$PPID_PT"
	stop_daemon "$PWM" "$PPID_PTWB"
	rm -rf "$W/avol" "$W/ext" "$W/ptsrc" "$W/ptwbsrc"
fi

# ====================================================================
if want reads fsck; then
	section "reads"
	RV=$W/rvol
	SEG0=00000000000000000000.log
	BIGB=$(bytes_of "$BIG")
	# The volume default must be the big segment size: a topic's first segment
	# is mapped for the default size when the topic is created.
	"$B/core_bench" mkfs "$RV" "$BIGB" >>"$LOG" 2>&1 || die "mkfs"
	"$B/core_bench" gen "$RV" big "$BIGB" $((BIGB - 1048576)) 100 10000 seal >>"$LOG" 2>&1 || die "gen big"
	"$B/core_bench" gen "$RV" multi "$MULTI_SEG" "$BIG" 100 10000 >>"$LOG" 2>&1 || die "gen multi"
	BIGFILE=$RV/topics/big/$SEG0
	SEGB=$(stat -c %s "$BIGFILE")
	MULTIB=$(du -cb "$RV"/topics/multi/*.log | tail -n 1 | cut -f1)
	echo "sealed segment $SEGB bytes; multi-segment log $MULTIB bytes in $(ls "$RV"/topics/multi/*.log | wc -l) segments" >>"$LOG"

	acc_lf='' acc_pf='' acc_lt='' acc_ef='' acc_et=''
	r=0
	while [ $r -lt "$REPS" ]; do
		drop_caches "$BIGFILE"
		start_daemon "$LM" "$BUILD/logfs" -f "$RV" "$LM"
		ms=$(timed_ms cat "$LM/big/$SEG0")
		acc_lf="$acc_lf $(mb_per_s "$SEGB" "$ms")"
		stop_daemon "$LM" "$DPID"

		drop_caches "$BIGFILE"
		start_daemon "$PM" "$PT" -f -o source="$RV" "$PM"
		ms=$(timed_ms cat "$PM/topics/big/$SEG0")
		acc_pf="$acc_pf $(mb_per_s "$SEGB" "$ms")"
		stop_daemon "$PM" "$DPID"

		drop_caches "$BIGFILE"
		ms=$(timed_ms cat "$BIGFILE")
		acc_ef="$acc_ef $(mb_per_s "$SEGB" "$ms")"

		drop_caches "$RV"/topics/multi/*.log
		ms=$(timed_ms sh -c "cat '$RV'/topics/multi/*.log")
		acc_et="$acc_et $(mb_per_s "$MULTIB" "$ms")"

		drop_caches "$RV"/topics/multi/*.log
		start_daemon "$LM" "$BUILD/logfs" -f "$RV" "$LM"
		ms=$(timed_ms cat "$LM/multi/tail")
		acc_lt="$acc_lt $(mb_per_s "$MULTIB" "$ms")"
		stop_daemon "$LM" "$DPID"
		r=$((r + 1))
	done
	# shellcheck disable=SC2086
	{
		record read_cold "first_read_sealed_segment" logfs "$BIG" MB/s $acc_lf
		record read_cold "first_read_sealed_segment" passthrough_ll "$BIG" MB/s $acc_pf
		record read_cold "first_read_sealed_segment" ext4 "$BIG" MB/s $acc_ef
		record read_cold "cat_tail_all_segments" logfs "$BIG" MB/s $acc_lt
		record read_cold "cat_tail_all_segments" "ext4(cat_*.log)" "$BIG" MB/s $acc_et
	}

	# Warm reads: logfs and passthrough_ll mounted side by side.
	start_daemon "$LM" "$BUILD/logfs" -f "$RV" "$LM"
	LPID=$DPID
	start_daemon "$PM" "$PT" -f -o source="$RV" "$PM"
	PPID_PT=$DPID
	LSEG=$LM/big/$SEG0
	PSEG=$PM/topics/big/$SEG0
	cat "$LSEG" "$PSEG" "$BIGFILE" >/dev/null
	warm_reads read_warm "repeated_read_sealed_segment" "$BIG" MB/s read_mb -b 1M
	warm_reads read_random "random_4KiB_warm" "$BIG" reads/s random_reads -r "$RAND_N"
	for p in 1 2 4 8; do
		warm_reads read_concurrent "sealed_segment_warm" "$p" MB/s read_mb -p "$p" -b 1M
	done

	# Following the tail while one writer appends 100-byte lines.
	acc_f='' acc_w='' acc_ef='' acc_ew=''
	mkdir -p "$W/ext"
	r=0
	while [ $r -lt "$REPS" ]; do
		mkdir "$LM/live$r"
		"$B/appender" -s 100 -w 1 -t "$SECS" "$LM/live$r/tail" >"$OUT/live.txt" 2>>"$LOG" &
		ap=$!
		acc_f="$acc_f $(val follow_mb "$B/reader" -F "$SECS" -b 128K "$LM/live$r/tail")"
		wait $ap
		acc_w="$acc_w $(awk '$2 == "appends" { print $3 }' "$OUT/live.txt")"
		: >"$W/ext/live"
		"$B/appender" -s 100 -w 1 -t "$SECS" "$W/ext/live" >"$OUT/live.txt" 2>>"$LOG" &
		ap=$!
		acc_ef="$acc_ef $(val follow_mb "$B/reader" -F "$SECS" -b 128K "$W/ext/live")"
		wait $ap
		acc_ew="$acc_ew $(awk '$2 == "appends" { print $3 }' "$OUT/live.txt")"
		rm -f "$W/ext/live"
		r=$((r + 1))
	done
	# shellcheck disable=SC2086
	{
		record read_follow "tail_read_while_appending" logfs 1 MB/s $acc_f
		record read_follow "appends_while_followed" logfs 1 rec/s $acc_w
		record read_follow "tail_read_while_appending" ext4 1 MB/s $acc_ef
		record read_follow "appends_while_followed" ext4 1 rec/s $acc_ew
	}
	# A 1 GiB log for fsck: drop the big topic through the mount.
	rmdir "$LM/big" 2>>"$LOG" || echo "bench: rmdir big failed" >&2
	for d in $(seq 0 $((REPS - 1))); do rmdir "$LM/live$d" 2>>"$LOG"; done
	stop_daemon "$LM" "$LPID"
	stop_daemon "$PM" "$PPID_PT"

	# ====================================================================
	if want fsck; then
		section "fsck"
		FSCK=$BUILD/fsck.logfs
		if "$FSCK" --version >/dev/null 2>&1; then
			du -cb "$RV"/topics/*/*.log | tail -n 1 | cut -f1 >"$OUT/fsck_bytes"
			FB=$(cat "$OUT/fsck_bytes")
			cat "$RV"/topics/*/* >/dev/null
			"$FSCK" -f -n "$RV" >>"$LOG" 2>&1
			echo "fsck.logfs -f -n exit status $?" >>"$LOG"
			hyperfine -N -i --warmup 1 --runs $((REPS + 2)) --export-csv "$OUT/fsck.csv" \
				"$FSCK -f -n $RV" >>"$LOG" 2>&1 || hyperfine -i --warmup 1 --runs $((REPS + 2)) \
				--export-csv "$OUT/fsck.csv" "$FSCK -f -n $RV" >>"$LOG" 2>&1
			med=$(awk -F, 'NR == 2 { print $5 }' "$OUT/fsck.csv") # median seconds
			record fsck "fsck.logfs_-f_-n_warm" fsck.logfs "$(echo "$FB" | awk '{ printf "%.0fM", $1 / 1048576 }')" GB/s \
				"$(echo "$FB $med" | awk '$2 > 0 { printf "%.4g", $1 / 1e9 / $2 }')"
		else
			echo "fsck.logfs not functional yet; skipped" | tee -a "$LOG"
			record fsck "fsck.logfs_-f_-n_warm" fsck.logfs 0 GB/s
		fi
	fi
	rm -rf "$RV"
fi

# ====================================================================
if want passthrough; then
	section "sealed segments through FUSE passthrough"
	# One sealed 63 MiB segment in two copies of one volume, both data files
	# in the page cache: volume 1 mounted with passthrough=on, volume 2 with
	# passthrough=off (the daemon reads it), and volume 1's data file read
	# directly. Each round mounts afresh, so the first read through a mount
	# is the first after the mount: with passthrough it includes the
	# one-time checksum pass over the segment (at its first open). The
	# second read opens the file again; the third opens it again after
	# evicting the mount's own page cache of it (reader -e on the mount's
	# file; the data file stays cached): the first read of a segment this
	# mount has checked already. The daemon checks cached segments in the
	# background after the mount (verify_cached, default on): the first read
	# right after the mount races that check (pf); p0 is the same with
	# verify_cached=0 (each segment checked by its first open only); pb
	# waits until the daemon logs that the background check is done (the
	# read of a user who comes a little after the mount).
	PV1=$W/pvol1
	PV2=$W/pvol2
	SEG0=00000000000000000000.log
	"$B/core_bench" mkfs "$PV1" 64M >>"$LOG" 2>&1 || die "mkfs"
	"$B/core_bench" gen "$PV1" big 64M 63M 100 10000 seal >>"$LOG" 2>&1 || die "gen"
	cp -a "$PV1" "$PV2" || die "cp volume"
	PFILE=$PV1/topics/big/$SEG0
	echo "passthrough: sealed segment $(stat -c %s "$PFILE") bytes" >>"$LOG"
	cat "$PFILE" "$PV2/topics/big/$SEG0" >/dev/null
	# pt_read VAR: reads the mount's segment, then the data file directly
	# right after it (the machine is shared: a burst of load then falls on
	# both alike); appends the figures to acc_VAR and acc_VAR_n, and their
	# ratio to acc_VAR_x.
	pt_read() {
		_v=$(val read_mb "$B/reader" -b 1M "$LM/big/$SEG0")
		_n=$(val read_mb "$B/reader" -b 1M "$PFILE")
		eval "acc_$1=\"\$acc_$1 $_v\" acc_$1_n=\"\$acc_$1_n $_n\""
		eval "acc_$1_x=\"\$acc_$1_x $(echo "$_v $_n" | awk '$2 > 0 { printf "%.4g", $1 / $2 }')\""
	}
	# checked_mount VOL: mounts VOL with passthrough and waits until the
	# daemon's background check of cached segments is done (its log line).
	checked_mount() {
		_l=$W/daemon.log
		: >"$_l"
		start_daemon "$LM" "$BUILD/logfs" -f "$1" "$LM" -o "passthrough=on,log=$_l"
		_i=0
		until grep -q 'background check of cached sealed segments done' "$_l"; do
			_i=$((_i + 1))
			[ $_i -lt 1200 ] || die "no background check within 60 s (see $_l)"
			sleep 0.05
		done
		grep 'background check' "$_l" >>"$LOG"
	}
	for k in pf p0 pb pr pe df dr de; do eval "acc_$k='' acc_${k}_n='' acc_${k}_x=''"; done
	r=0
	while [ $r -lt "$PT_REPS" ]; do
		start_daemon "$LM" "$BUILD/logfs" -f "$PV1" "$LM" -o passthrough=on,verify_cached=0
		pt_read p0
		stop_daemon "$LM" "$DPID"
		checked_mount "$PV1"
		pt_read pb
		stop_daemon "$LM" "$DPID"
		start_daemon "$LM" "$BUILD/logfs" -f "$PV1" "$LM" -o passthrough=on
		pt_read pf
		pt_read pr
		"$B/reader" -e "$LM/big/$SEG0" 2>>"$LOG"
		pt_read pe
		stop_daemon "$LM" "$DPID"
		start_daemon "$LM" "$BUILD/logfs" -f "$PV2" "$LM" -o passthrough=off
		pt_read df
		pt_read dr
		"$B/reader" -e "$LM/big/$SEG0" 2>>"$LOG"
		pt_read de
		stop_daemon "$LM" "$DPID"
		r=$((r + 1))
	done
	for k in pf:first_read_after_mount:logfs-passthrough \
		p0:first_read_after_mount:logfs-passthrough-verify_cached=0 \
		pb:first_read_after_background_check:logfs-passthrough \
		pr:repeated_read:logfs-passthrough \
		pe:read_checked_segment_mount_cache_evicted:logfs-passthrough \
		df:first_read_after_mount:logfs-daemon dr:repeated_read:logfs-daemon \
		de:read_checked_segment_mount_cache_evicted:logfs-daemon; do
		# (record uses _f _c _s _x _u itself)
		pk=${k%%:*} pc=${k#*:}
		ps=${pc#*:} pc=${pc%%:*}
		eval "pa=\$acc_$pk pan=\$acc_${pk}_n pax=\$acc_${pk}_x"
		# shellcheck disable=SC2086
		{
			record read_passthrough "$pc" "$ps" 63M MB/s $pa
			record read_passthrough "$pc" "ext4_after_$ps" 63M MB/s $pan
			record read_passthrough "$pc" "ratio_$ps" 63M x $pax
		}
	done
	rm -rf "$PV1" "$PV2"

	# grep -c over 1 GiB of sealed segments (16 of 64 MiB, all cached),
	# and 8 concurrent readers of 8 different segments, through a fresh
	# passthrough mount (first: including each segment's checksum pass at
	# its first open, or what the background check has not done by then),
	# on a fresh mount once its background check is done, and again
	# (checked), each followed at once by the
	# same on the backing files; ratios of the pairs, medians of PT_GREP
	# rounds.
	PV3=$W/pvol3
	"$B/core_bench" mkfs "$PV3" 64M >>"$LOG" 2>&1 || die "mkfs"
	"$B/core_bench" gen "$PV3" big 64M 1G 100 10000 seal >>"$LOG" 2>&1 || die "gen"
	GB=$(cat "$PV3"/topics/big/*.log | wc -c)
	PSEGS=$(cd "$PV3/topics/big" && ls ./*.log | sed 's|^\./||' | head -n 8)
	echo "passthrough: grep over $GB bytes, readers over $(echo $PSEGS | wc -w) segments" >>"$LOG"
	cat "$PV3"/topics/big/*.log >/dev/null
	pt_pair() { # VAR MOUNTCMD NATIVECMD: MB/s of both (BYTES in _pb), ratio
		_ms=$(timed_ms sh -c "$2")
		_ns=$(timed_ms sh -c "$3")
		_v=$(mb_per_s "$_pb" "$_ms") _n=$(mb_per_s "$_pb" "$_ns")
		eval "acc_$1=\"\$acc_$1 $_v\" acc_$1_n=\"\$acc_$1_n $_n\""
		eval "acc_$1_x=\"\$acc_$1_x $(echo "$_v $_n" | awk '$2 > 0 { printf "%.4g", $1 / $2 }')\""
	}
	for k in gf gr gb cf cr cb; do eval "acc_$k='' acc_${k}_n='' acc_${k}_x=''"; done
	mpaths() { for _p in $PSEGS; do printf '%s ' "$1/$_p"; done; }
	RB=0
	for _p in $PSEGS; do RB=$((RB + $(stat -c %s "$PV3/topics/big/$_p"))); done
	r=0
	while [ $r -lt "$PT_GREP" ]; do
		start_daemon "$LM" "$BUILD/logfs" -f "$PV3" "$LM" -o passthrough=on
		_pb=$GB
		pt_pair gf "grep -c ERROR $LM/big/*.log >/dev/null" "grep -c ERROR $PV3/topics/big/*.log >/dev/null"
		pt_pair gr "grep -c ERROR $LM/big/*.log >/dev/null" "grep -c ERROR $PV3/topics/big/*.log >/dev/null"
		stop_daemon "$LM" "$DPID"
		start_daemon "$LM" "$BUILD/logfs" -f "$PV3" "$LM" -o passthrough=on
		_pb=$RB
		pt_pair cf "$B/reader -p 8 -b 1M $(mpaths "$LM/big")" "$B/reader -p 8 -b 1M $(mpaths "$PV3/topics/big")"
		pt_pair cr "$B/reader -p 8 -b 1M $(mpaths "$LM/big")" "$B/reader -p 8 -b 1M $(mpaths "$PV3/topics/big")"
		stop_daemon "$LM" "$DPID"
		checked_mount "$PV3"
		_pb=$GB
		pt_pair gb "grep -c ERROR $LM/big/*.log >/dev/null" "grep -c ERROR $PV3/topics/big/*.log >/dev/null"
		stop_daemon "$LM" "$DPID"
		checked_mount "$PV3"
		_pb=$RB
		pt_pair cb "$B/reader -p 8 -b 1M $(mpaths "$LM/big")" "$B/reader -p 8 -b 1M $(mpaths "$PV3/topics/big")"
		stop_daemon "$LM" "$DPID"
		r=$((r + 1))
	done
	for k in gf:grep_c_1G_first_after_mount gb:grep_c_1G_first_after_background_check gr:grep_c_1G_again \
		cf:8_readers_8_segments_first_after_mount cb:8_readers_8_segments_first_after_background_check \
		cr:8_readers_8_segments_again; do
		pk=${k%%:*} pc=${k#*:}
		eval "pa=\$acc_$pk pan=\$acc_${pk}_n pax=\$acc_${pk}_x"
		# shellcheck disable=SC2086
		{
			record read_passthrough "$pc" logfs-passthrough 1G MB/s $pa
			record read_passthrough "$pc" ext4_after_logfs-passthrough 1G MB/s $pan
			record read_passthrough "$pc" ratio_logfs-passthrough 1G x $pax
		}
	done
	rm -rf "$PV3"
fi

# ====================================================================
if want ttfb mount retention; then
	section "@N time to first byte and mount time against segment count"
	# One volume per segment count, each holding topic t with the same records
	# (TTFB_RECS lines of 20 B) in 1, 10, 100 or 1000 sealed segments, made
	# through the core. Rounds alternate between the volumes.
	TOTALB=$((TTFB_RECS * 20))
	NAT=$((TTFB_RECS * 7 / 10))
	NSEGS="1 10 100 1000"
	for nseg in $NSEGS; do
		V=$W/tvol$nseg
		"$B/core_bench" mkfs "$V" $((TOTALB / nseg)) >>"$LOG" 2>&1 || die "mkfs"
		"$B/core_bench" gen "$V" t $((TOTALB / nseg)) "$TOTALB" 20 64 seal >>"$LOG" 2>&1 || die "gen"
		eval "acc_c$nseg='' acc_k$nseg='' acc_t$nseg=''"
	done
	r=0
	while [ $r -lt $((REPS + 2)) ]; do
		for nseg in $NSEGS; do
			V=$W/tvol$nseg
			start_daemon "$LM" "$BUILD/logfs" -f "$V" "$LM"
			eval "acc_c$nseg=\"\$acc_c$nseg $DMS\""
			kill_daemon "$LM" "$DPID"
			start_daemon "$LM" "$BUILD/logfs" -f "$V" "$LM"
			eval "acc_k$nseg=\"\$acc_k$nseg $DMS\""
			stop_daemon "$LM" "$DPID"
		done
		r=$((r + 1))
	done
	for nseg in $NSEGS; do
		start_daemon "$W/mt$nseg" "$BUILD/logfs" -f "$W/tvol$nseg" "$W/mt$nseg"
		eval "tpid$nseg=$DPID"
		head -c 21 "$W/mt$nseg/t/@$NAT" | od -c | head -n 1 >>"$LOG"
	done
	# One reader per round opens the four logs in turn, so that a burst of
	# load falls on every segment count alike (rounds taken one log after
	# another ranged from 35 to 404 us for one point in runs 9 to 13).
	r=0
	while [ $r -lt $((REPS + 2)) ]; do
		_paths=""
		for nseg in $NSEGS; do _paths="$_paths $W/mt$nseg/t/@$NAT"; done
		# shellcheck disable=SC2086
		_out=$("$B/reader" -t 200 $_paths 2>>"$LOG")
		_k=0
		for nseg in $NSEGS; do
			v=$(echo "$_out" | awk -v k="ttfb.$_k" '$1 == "RESULT" && $2 == k { print $3 }')
			eval "acc_t$nseg=\"\$acc_t$nseg $v\""
			_k=$((_k + 1))
		done
		r=$((r + 1))
	done
	for nseg in $NSEGS; do
		eval "stop_daemon \"\$W/mt$nseg\" \$tpid$nseg"
		# (record uses _f _c _s _x _u itself)
		eval "vt=\$acc_t$nseg vc=\$acc_c$nseg vk=\$acc_k$nseg"
		# shellcheck disable=SC2086
		{
			record ttfb "@N_open+read_4KiB" logfs "$nseg" us $vt
			record mount "clean_mount" logfs "$nseg" ms $vc
			record mount "mount_after_kill-9" logfs "$nseg" ms $vk
		}
	done
	for nseg in 1 10 100; do rm -rf "$W/tvol$nseg"; done

	if want retention; then
		section "retention"
		V=$W/tvol1000
		keep=$((TOTALB / 1000 * 10))
		acc=$(val retention.time_ms "$B/core_bench" retention "$V" t "$keep")
		record retention "delete_~990_of_1000_segments" core 1000 ms "$acc"
		rm -rf "$V"
	else
		rm -rf "$W/tvol1000"
	fi
fi

if want mount_active; then
	section "recovery against active segment size"
	for sz in $ACTIVE_SIZES; do
		V=$W/avol$sz
		"$B/core_bench" mkfs "$V" 1G >>"$LOG" 2>&1 || die "mkfs"
		"$B/core_bench" gen "$V" t 1G "$(bytes_of "$sz")" 100 100 >>"$LOG" 2>&1 || die "gen"
		acc_c='' acc_k=''
		r=0
		while [ $r -lt "$REPS" ]; do
			start_daemon "$LM" "$BUILD/logfs" -f "$V" "$LM"
			acc_c="$acc_c $DMS"
			kill_daemon "$LM" "$DPID"
			start_daemon "$LM" "$BUILD/logfs" -f "$V" "$LM"
			acc_k="$acc_k $DMS"
			stop_daemon "$LM" "$DPID"
			r=$((r + 1))
		done
		# shellcheck disable=SC2086
		{
			record mount_active "clean_mount" logfs "$sz" ms $acc_c
			record mount_active "mount_after_kill-9" logfs "$sz" ms $acc_k
		}
		rm -rf "$V"
	done
fi

# ====================================================================
if want cursors; then
	section "consumer cursors (bench/cursor.sh)"
	sh "$ROOT/bench/cursor.sh" "$BUILD" "$CUR_MB" "$CUR_ROUNDS" >"$OUT/cursors.out" 2>>"$LOG" ||
		echo "bench: bench/cursor.sh failed (see $LOG)" >&2
	cv() { awk -F= -v k="$1" '$1 == k { print $2 }' "$OUT/cursors.out" | tail -n 1; }
	record cursors read_from_committed_offset cursor "${CUR_MB}M" MB/s "$(cv read_cursor_mb)"
	record cursors read_from_committed_offset at_view "${CUR_MB}M" MB/s "$(cv read_at_mb)"
	record cursors close_latency cursor 1 us "$(cv close_cursor_us)"
	record cursors close_latency at_view 1 us "$(cv close_at_us)"
	record cursors close_latency ext4_pwrite+fdatasync 1 us "$(cv fdatasync_us)"
	record cursors close_extra_over_fdatasync_round cursor 1 x "$(cv close_extra_over_fdatasync_round_median)"
	record cursors mount_10_topics no_cursors 10 ms "$(cv mount_ms_no_cursors)"
	record cursors mount_10_topics 1000_cursors_each 10 ms "$(cv mount_ms_10x1000_cursors)"
	record cursors mount_10_topics_ratio 1000_cursors_each 10 x "$(cv mount_with_over_without)"
	record cursors mount_10_topics_daemon_cpu no_cursors 10 ms "$(cv daemon_cpu_ms_at_mount_no_cursors)"
	record cursors mount_10_topics_daemon_cpu 1000_cursors_each 10 ms "$(cv daemon_cpu_ms_at_mount_10x1000_cursors)"
fi

# ====================================================================
if want mirror; then
	section "mirror into NATS JetStream (bench/mirror.sh)"
	if command -v nats-server >/dev/null && [ -x "$B/mirror_pub" ] && [ -x "$B/mirror_lat" ] &&
		[ -x "$BUILD/tests/tools/nats_tool" ]; then
		MIRROR_IDLE=1 MIRROR_PIN=1 sh "$ROOT/bench/mirror.sh" "$BUILD" "$MIR_N" "$MIR_ROUNDS" >"$OUT/mirror.out" 2>>"$LOG" ||
			echo "bench: bench/mirror.sh failed (see $LOG)" >&2
		mval() { awk -v k="$1" '$1 == k { print $2 }' "$OUT/mirror.out" | tail -n 1; }
		record mirror throughput_100B reference_publisher "$MIR_N" msg/s "$(mval reference_publisher_msgs_per_s)"
		record mirror throughput_100B mirror "$MIR_N" msg/s "$(mval mirror_msgs_per_s)"
		record mirror throughput_100B ratio "$MIR_N" x "$(mval mirror_over_reference)"
		record mirror client_cpu_per_msg reference_publisher "$MIR_N" us "$(mval reference_publisher_cpu_us_per_msg)"
		record mirror servers_cpu_per_msg reference_publisher "$MIR_N" us "$(mval reference_servers_cpu_us_per_msg)"
		record mirror client_cpu_per_msg mirror_daemon "$MIR_N" us "$(mval mirror_daemon_cpu_us_per_msg)"
		record mirror client_cpu_per_msg mirror_threads "$MIR_N" us "$(mval mirror_threads_cpu_us_per_msg)"
		record mirror servers_cpu_per_msg mirror_catching_up "$MIR_N" us "$(mval mirror_servers_cpu_us_per_msg)"
		record mirror append_to_ack p50 1 us "$(mval ack_latency_us_p50)"
		record mirror append_to_ack p99 1 us "$(mval ack_latency_us_p99)"
		record mirror producer_appends mirror_off 1 rec/s "$(mval producer_appends_per_s_mirror_off)"
		record mirror producer_appends mirror_on 1 rec/s "$(mval producer_appends_per_s_mirror_on)"
		record mirror producer_appends ratio 1 x "$(mval producer_on_over_off)"
		record mirror producer_appends mirror_on_servers_nice_19 1 rec/s "$(mval producer_appends_per_s_mirror_on_servers_nice_19)"
		record mirror producer_appends ratio_servers_nice_19 1 x "$(mval producer_on_servers_nice_19_over_off)"
		record mirror producer_appends mirror_on_servers_sched_idle 1 rec/s "$(mval producer_appends_per_s_servers_sched_idle)"
		record mirror producer_appends ratio_servers_sched_idle 1 x "$(mval producer_servers_sched_idle_over_off)"
		record mirror producer_appends mirror_on_servers_and_mirror_sched_idle 1 rec/s "$(mval producer_appends_per_s_servers_and_mirror_sched_idle)"
		record mirror producer_appends ratio_servers_and_mirror_sched_idle 1 x "$(mval producer_servers_and_mirror_sched_idle_over_off)"
		record mirror producer_appends pinned_mirror_off 1 rec/s "$(mval producer_appends_per_s_pinned_mirror_off)"
		record mirror producer_appends pinned_mirror_on 1 rec/s "$(mval producer_appends_per_s_pinned_mirror_on)"
		record mirror producer_appends ratio_pinned 1 x "$(mval producer_pinned_mirror_on_over_off)"
		record mirror producer_appends mirror_off_beside_busy_loop 1 rec/s "$(mval producer_appends_per_s_mirror_off_beside_a_nice_19_busy_loop)"
		record mirror producer_appends ratio_beside_busy_loop 1 x "$(mval producer_off_beside_busy_loop_over_off)"
		record mirror cpu_per_record daemon_mirror_off 1 us "$(mval daemon_cpu_us_per_record_mirror_off)"
		record mirror cpu_per_record daemon_mirror_on 1 us "$(mval daemon_cpu_us_per_record_mirror_on)"
		record mirror cpu_per_record mirror_threads_mirror_on 1 us "$(mval mirror_threads_cpu_us_per_record_mirror_on)"
		record mirror cpu_per_record servers_mirror_on 1 us "$(mval servers_cpu_us_per_record_mirror_on)"
	else
		echo "bench: mirror skipped: nats-server, mirror_pub, mirror_lat or nats_tool missing" | tee -a "$LOG"
	fi
fi

TOTAL_S=$(($(date +%s) - T0))
BENCH_ONLY=$ONLY
export ROOT OUT RES RAW DOC PLOTS BUILD W LOAD_START BENCH_ONLY
sh "$ROOT/bench/report.sh" "$MODE" "$STARTED" "$TOTAL_S" || die "report failed"
