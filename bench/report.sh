#!/bin/sh
# Turns bench/out/results.tsv into plots (docs/bench/*.png) and
# docs/BENCHMARKS.md. Called by bench/run.sh with ROOT OUT RES RAW DOC PLOTS
# BUILD W (and BENCH_ONLY, for a partial run) in the environment; can be
# rerun alone on an existing results file:
#   ROOT=. OUT=bench/out RES=bench/out/results.tsv RAW=bench/out/raw.tsv \
#   DOC=docs/BENCHMARKS.md PLOTS=docs/bench sh bench/report.sh full DATE SECONDS
set -u
MODE=$1
STARTED=$2
TOTAL_S=$3

get() { # FAMILY CASE SYSTEM X
	awk -F'\t' -v f="$1" -v c="$2" -v s="$3" -v x="$4" \
		'$1 == f && $2 == c && $3 == s && $4 == x { print $5 }' "$RES" | tail -n 1
}
getx() { # FAMILY CASE SYSTEM: the X of a row
	awk -F'\t' -v f="$1" -v c="$2" -v s="$3" '$1 == f && $2 == c && $3 == s { print $4 }' "$RES" | tail -n 1
}
getc() { # FAMILY SYSTEM X (any case)
	awk -F'\t' -v f="$1" -v s="$2" -v x="$3" \
		'$1 == f && $3 == s && $4 == x { print $5 }' "$RES" | tail -n 1
}
ratio() { # A B -> A/B
	echo "$1 $2" | awk '$1 != "" && $1 != "NA" && $2 != "" && $2 != "NA" && $2 > 0 { printf "%.2f", $1 / $2 }'
}
fmt() { echo "$1" | awk '$1 == "" || $1 == "NA" { print "n/a"; next } { v = $1 + 0;
	if (v >= 100000) printf "%.0fK", v / 1000; else if (v >= 100) printf "%.0f", v;
	else printf "%.3g", v }'; }
met_ge() { if [ -z "$1" ]; then echo "not measured"; else echo "$1 $2" | awk '{ print ($1 >= $2) ? "**met**" : "not met" }'; fi; }
met_le() { if [ -z "$1" ]; then echo "not measured"; else echo "$1 $2" | awk '{ print ($1 <= $2) ? "**met**" : "not met" }'; fi; }

# ---- plots ----
# plot NAME FAMILY TITLE XLABEL YLABEL LOGX(0/1) LOGY(0/1): one line per system.
plot() {
	_name=$1 _fam=$2
	_dat=$OUT/$_name.dat
	awk -F'\t' -v f="$_fam" '
		$1 == f { if (!(($3) in seen)) { seen[$3] = 1; sys[ns++] = $3 }
			  if (!(($4) in xs)) { xs[$4] = 1; xl[nx++] = $4 }
			  v[$4, $3] = $5 }
		END { printf "x"; for (i = 0; i < ns; i++) printf "\t%s", sys[i]; printf "\n";
		      for (j = 0; j < nx; j++) { printf "%s", xl[j];
			for (i = 0; i < ns; i++) { s = v[xl[j], sys[i]]; printf "\t%s", (s == "" || s == "NA") ? "NaN" : s }
			printf "\n" } }' "$RES" >"$_dat"
	_ncol=$(head -n 1 "$_dat" | awk -F'\t' '{ print NF }')
	[ "$_ncol" -ge 2 ] || return 0
	command -v gnuplot >/dev/null || { echo "report: gnuplot missing, no $_name.png" >&2; return 0; }
	gnuplot <<GP 2>>"$OUT/bench.log"
set terminal pngcairo size 900,560 noenhanced font ",10"
set output "$PLOTS/$_name.png"
set title "$3 ($MODE run, $(date -u +%Y-%m-%d))"
set xlabel "$4"
set ylabel "$5"
set key outside right top
set grid
set offsets graph 0.05, graph 0.05, 0, 0
set datafile separator "\t"
set datafile missing "NaN"
$( [ "$6" = 1 ] && echo "set logscale x 2" )
$( [ "$7" = 1 ] && echo "set logscale y 10" )
set xtics ($(awk -F'\t' 'NR > 1 { printf "%s\"%s\" %s", (n++ ? ", " : ""), $1, $1 }' "$_dat"))
plot for [i=2:$_ncol] "$_dat" using 1:i with linespoints lw 2 pt 7 title columnheader(i)
GP
}
plot append_size append_size "Appends through the mount, 1 writer, one write(2) per record" \
	"record size (bytes)" "records/s" 1 1
plot append_writers append_writers "Appends of 100 B records, one write(2) each" \
	"writers (processes)" "records/s (all writers)" 1 1
plot append_fdatasync append_fdatasync "Appends of 100 B records, write(2) + fdatasync(2) each" \
	"writers (processes)" "records/s (all writers)" 1 1
plot read_concurrent read_concurrent "Concurrent sequential readers of one warm 1 GiB sealed segment" \
	"readers (processes)" "MB/s (all readers)" 1 0
plot ttfb ttfb "@N: open + first 4 KiB read, against the number of segments" \
	"segments in the topic" "microseconds (median)" 1 1
plot mount mount "Mount time against the number of sealed segments" \
	"segments" "milliseconds (median)" 1 0

# ---- goals ----
G1A=$(get append_writers 100B_records logfs-never 1)
G1B=$(get append_writers 100B_records passthrough_ll 1)
G1=$(ratio "$G1A" "$G1B")
G2A=$(getc bulk_cat logfs-never "$(awk -F'\t' '$1 == "bulk_cat" { print $4; exit }' "$RES")")
G2B=$(getc bulk_cat ext4 "$(awk -F'\t' '$1 == "bulk_cat" { print $4; exit }' "$RES")")
G2=$(ratio "$G2A" "$G2B")
BIGX=$(awk -F'\t' '$1 == "read_cold" { print $4; exit }' "$RES")
G3A=$(get read_cold first_read_sealed_segment logfs "$BIGX")
G3B=$(get read_cold first_read_sealed_segment passthrough_ll "$BIGX")
G3=$(ratio "$G3A" "$G3B")
G4A=$(get read_warm repeated_read_sealed_segment logfs "$BIGX")
G4B=$(get read_warm repeated_read_sealed_segment ext4 "$BIGX")
G4=$(ratio "$G4A" "$G4B")
G5A=$(get read_cold cat_tail_all_segments logfs "$BIGX")
G5=$(ratio "$G5A" "$G3B")
# The 8x goal is shown for both ways of opening tail, against the same ext4
# baseline of the same run: with O_APPEND (logfs-always) the kernel holds the
# inode lock across each write; without it (logfs-always-noappend, appender
# -N) the writes may run in parallel.
G6A=$(get append_fdatasync "100B_write+fdatasync" logfs-always 16)
G6B=$(get append_fdatasync "100B_write+fdatasync" ext4 1)
G6=$(ratio "$G6A" "$G6B")
G6NA=$(get append_fdatasync "100B_write+fdatasync" logfs-always-noappend 16)
G6N=$(ratio "$G6NA" "$G6B")
G7=$(awk -F'\t' '$1 == "fsck" { print $5 }' "$RES" | tail -n 1)
[ "$G7" = NA ] && G7=""
G8A=$(get mount clean_mount logfs 1000)
G8B=$(get mount clean_mount logfs 1)
G8=$(ratio "$G8A" "$G8B")
C1=$(get core append_100B_per_call ratio 1)
C2=$(get core batch_1MiB_100B_lines ratio 1)
C3=$(get core sealed_read_warm ratio 1)
C4=$(get core recovery_scan_verify core 1)
two() { echo "$1" | awk '$1 != "" && $1 != "NA" { printf "%.2f", $1 }'; }
# Passthrough: each read through the mount is paired with a read of the
# data file right after it; the goal is the median of the pairs' ratios.
pt() { get read_passthrough "$1" "$2" 63M; }
P1A=$(pt first_read_after_mount logfs-passthrough)
P1N=$(pt first_read_after_mount ext4_after_logfs-passthrough)
P1=$(two "$(pt first_read_after_mount ratio_logfs-passthrough)")
P1R=$(two "$(pt first_read_after_mount ratio_logfs-daemon)")
P10=$(two "$(pt first_read_after_mount ratio_logfs-passthrough-verify_cached=0)")
P1BA=$(pt first_read_after_background_check logfs-passthrough)
P1BN=$(pt first_read_after_background_check ext4_after_logfs-passthrough)
P1B=$(two "$(pt first_read_after_background_check ratio_logfs-passthrough)")
P2A=$(pt repeated_read logfs-passthrough)
P2N=$(pt repeated_read ext4_after_logfs-passthrough)
P2=$(two "$(pt repeated_read ratio_logfs-passthrough)")
P2R=$(two "$(pt repeated_read ratio_logfs-daemon)")
P3A=$(pt read_checked_segment_mount_cache_evicted logfs-passthrough)
P3N=$(pt read_checked_segment_mount_cache_evicted ext4_after_logfs-passthrough)
P3=$(two "$(pt read_checked_segment_mount_cache_evicted ratio_logfs-passthrough)")
P3R=$(two "$(pt read_checked_segment_mount_cache_evicted ratio_logfs-daemon)")
pg() { get read_passthrough "$1" "$2" 1G; }
P4A=$(pg grep_c_1G_first_after_mount logfs-passthrough)
P4N=$(pg grep_c_1G_first_after_mount ext4_after_logfs-passthrough)
P4=$(two "$(pg grep_c_1G_first_after_mount ratio_logfs-passthrough)")
P4G=$(two "$(pg grep_c_1G_again ratio_logfs-passthrough)")
P4BA=$(pg grep_c_1G_first_after_background_check logfs-passthrough)
P4BN=$(pg grep_c_1G_first_after_background_check ext4_after_logfs-passthrough)
P4B=$(two "$(pg grep_c_1G_first_after_background_check ratio_logfs-passthrough)")
P5A=$(pg 8_readers_8_segments_first_after_mount logfs-passthrough)
P5N=$(pg 8_readers_8_segments_first_after_mount ext4_after_logfs-passthrough)
P5=$(two "$(pg 8_readers_8_segments_first_after_mount ratio_logfs-passthrough)")
P5G=$(two "$(pg 8_readers_8_segments_again ratio_logfs-passthrough)")
P5BA=$(pg 8_readers_8_segments_first_after_background_check logfs-passthrough)
P5BN=$(pg 8_readers_8_segments_first_after_background_check ext4_after_logfs-passthrough)
P5B=$(two "$(pg 8_readers_8_segments_first_after_background_check ratio_logfs-passthrough)")
K1A=$(get cursors read_from_committed_offset cursor "$(getx cursors read_from_committed_offset cursor)")
K1B=$(get cursors read_from_committed_offset at_view "$(getx cursors read_from_committed_offset at_view)")
K1=$(ratio "$K1A" "$K1B")
K2A=$(get cursors close_latency cursor 1)
K2B=$(get cursors close_latency at_view 1)
K2S=$(get cursors close_latency ext4_pwrite+fdatasync 1)
K2=$(get cursors close_extra_over_fdatasync_round cursor 1)
K3A=$(get cursors mount_10_topics 1000_cursors_each 10)
K3B=$(get cursors mount_10_topics no_cursors 10)
K3=$(two "$(get cursors mount_10_topics_ratio 1000_cursors_each 10)")
K3C=$(get cursors mount_10_topics_daemon_cpu 1000_cursors_each 10)
K3D=$(get cursors mount_10_topics_daemon_cpu no_cursors 10)
M1A=$(awk -F'\t' '$1 == "mirror" && $2 == "throughput_100B" && $3 == "mirror" { print $5 }' "$RES" | tail -n 1)
M1B=$(awk -F'\t' '$1 == "mirror" && $2 == "throughput_100B" && $3 == "reference_publisher" { print $5 }' "$RES" | tail -n 1)
M1=$(two "$(awk -F'\t' '$1 == "mirror" && $2 == "throughput_100B" && $3 == "ratio" { print $5 }' "$RES" | tail -n 1)")
M2A=$(get mirror producer_appends mirror_on 1)
M2B=$(get mirror producer_appends mirror_off 1)
M2=$(two "$(get mirror producer_appends ratio 1)")
M2F=$(two "$(get mirror producer_appends ratio_servers_nice_19 1)")
M2C=$(two "$(get mirror producer_appends ratio_beside_busy_loop 1)")
M2I=$(two "$(get mirror producer_appends ratio_servers_sched_idle 1)")
M2J=$(two "$(get mirror producer_appends ratio_servers_and_mirror_sched_idle 1)")
M2PA=$(get mirror producer_appends pinned_mirror_on 1)
M2PB=$(get mirror producer_appends pinned_mirror_off 1)
M2P=$(two "$(get mirror producer_appends ratio_pinned 1)")
M3A=$(get mirror append_to_ack p50 1)
M3B=$(get mirror append_to_ack p99 1)
two() { echo "$1" | awk '$1 != "" && $1 != "NA" { printf "%.2f", $1 }'; }
C1=$(two "$C1")
C2=$(two "$C2")
C3=$(two "$C3")
F1A=$(get ttfb "@N_open+read_4KiB" logfs 1000)
F1B=$(get ttfb "@N_open+read_4KiB" logfs 1)
F1=$(ratio "$F1A" "$F1B")
F2A=$(get mount mount_after_kill-9 logfs 1000)
F2B=$(get mount mount_after_kill-9 logfs 1)
F2=$(ratio "$F2A" "$F2B")

goalrow() { # TEXT MEASURED GOAL RATIO VERDICT
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "${4:-n/a}" "$5"
}

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
FS=$(df -T "${W:-$ROOT}" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 }')
if [ "$MODE" = full ]; then CMD="make bench   (sh bench/run.sh build full)"; else CMD="make bench-quick   (sh bench/run.sh build quick)"; fi
[ -n "${BENCH_ONLY:-}" ] && CMD="BENCH_ONLY=$(echo "$BENCH_ONLY" | tr ' ' ',') sh bench/run.sh build $MODE"
# Plot links relative to the report's directory when the plots are below it.
DOCDIR=$(dirname "$DOC")
case $PLOTS in
"$DOCDIR"/*) PLOTREL=${PLOTS#"$DOCDIR"/} ;;
*) PLOTREL=$PLOTS ;;
esac

{
	echo "# logfs benchmarks"
	echo
	echo "Generated by \`bench/run.sh\` ($MODE mode); the analysis after the tables is"
	echo "kept by hand in \`bench/analysis.md\` and appended on every run."
	echo
	echo "- Command: \`$CMD\`, as root"
	[ -n "${BENCH_ONLY:-}" ] && echo "- Partial run: only the sections $(echo "$BENCH_ONLY" | sed 's/ /, /g') were measured; the other goals say \"not measured\"."
	echo "- Date: $STARTED, $TOTAL_S s; load average at the start ${LOAD_START:-?}, at the end ${LOAD_END:-$(cut -d' ' -f1-3 /proc/loadavg)}"
	echo "- Machine: $(nproc) CPUs ($CPU), $MEM, kernel $(uname -r), $FS"
	echo "- libfuse $(pkg-config --modversion fuse3 2>/dev/null), passthrough_ll built from $(ls /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c 2>/dev/null) at bench time"
	echo "- The machine is shared and noisy: every comparison is measured side by side in one run (the systems take turns within each round), and each figure is the median of the rounds ($([ "$MODE" = full ] && echo 3 || echo 1) per point; mount times, @N and the core appends use more)."
	echo
	echo "## Goals"
	echo
	echo "| figure | measured | goal | ratio | verdict |"
	echo "| --- | --- | --- | --- | --- |"
	goalrow "100 B line appends, one write(2) each, 1 writer, sync=never" "$(fmt "$G1A") vs $(fmt "$G1B") rec/s" ">= 1.0x passthrough_ll without writeback" "${G1:+${G1}x}" "$(met_ge "$G1" 1.0)"
	goalrow "cat of a $(awk -F'\t' '$1 == "bulk_cat" { print $4; exit }' "$RES") file of 100 B lines into tail" "$(fmt "$G2A") vs $(fmt "$G2B") MB/s" ">= 0.5x cat >> onto ext4" "${G2:+${G2}x}" "$(met_ge "$G2" 0.5)"
	goalrow "first read of a sealed segment ($BIGX) through the mount" "$(fmt "$G3A") vs $(fmt "$G3B") MB/s" ">= 1.5x passthrough_ll's first read of the same file" "${G3:+${G3}x}" "$(met_ge "$G3" 1.5)"
	goalrow "repeated read of a sealed segment" "$(fmt "$G4A") vs $(fmt "$G4B") MB/s" ">= 0.7x a native page-cache read" "${G4:+${G4}x}" "$(met_ge "$G4" 0.7)"
	goalrow "cat TOPIC/tail of a $BIGX log (all segments)" "$(fmt "$G5A") vs $(fmt "$G3B") MB/s" ">= 1.0x passthrough_ll's first read of a file of that size" "${G5:+${G5}x}" "$(met_ge "$G5" 1.0)"
	goalrow "16 writers, each write + fdatasync, sync=always, tail opened with O_APPEND (\`logfs-always\`)" "$(fmt "$G6A") vs $(fmt "$G6B") rec/s" ">= 8x one writer doing write + fdatasync on ext4" "${G6:+${G6}x}" "$(met_ge "$G6" 8)"
	goalrow "16 writers, each write + fdatasync, sync=always, tail opened without O_APPEND (\`logfs-always-noappend\`)" "$(fmt "$G6NA") vs $(fmt "$G6B") rec/s" ">= 8x one writer doing write + fdatasync on ext4" "${G6N:+${G6N}x}" "$(met_ge "$G6N" 8)"
	goalrow "fsck.logfs -f on a warm volume ($(awk -F'\t' '$1 == "fsck" { print $4 }' "$RES"))" "$(fmt "$G7") GB/s" ">= 1 GB/s" "" "$(met_ge "$G7" 1)"
	goalrow "mount time after clean unmount, 1 vs 1000 sealed segments" "$(fmt "$G8B") vs $(fmt "$G8A") ms" "within 2x" "${G8:+${G8}x}" "$(met_le "$G8" 2)"
	echo
	echo "The 16-writer write + fdatasync goal has two rows, one per way of opening"
	echo "\`tail\` (\`>>\` or \`>\`), both against the same one-writer ext4 figure of"
	echo "this run. An application chooses how it opens \`tail\`, so the goal is met"
	echo "when either row is; the O_APPEND row stays to show what the kernel allows"
	echo "for O_APPEND writers."
	echo
	echo "Goals of the core and fuse issues:"
	echo
	echo "| figure | measured | goal | ratio | verdict |"
	echo "| --- | --- | --- | --- | --- |"
	goalrow "core: 100 B appends, one call each, sync=never" "$(fmt "$(get core append_100B_per_call core 1)") vs $(fmt "$(get core append_100B_per_call plain 1)") rec/s" ">= 0.7x plain write(2)" "${C1:+${C1}x}" "$(met_ge "$C1" 0.7)"
	goalrow "core: 1 MiB batches of 100 B lines" "$(fmt "$(get core batch_1MiB_100B_lines core 1)") vs $(fmt "$(get core batch_1MiB_100B_lines plain 1)") MB/s" ">= 0.8x plain write(2)" "${C2:+${C2}x}" "$(met_ge "$C2" 0.8)"
	goalrow "core: sealed segment reads (warm)" "$(fmt "$(get core sealed_read_warm core 1)") vs $(fmt "$(get core sealed_read_warm plain 1)") MB/s" ">= 0.9x plain pread of the same file" "${C3:+${C3}x}" "$(met_ge "$C3" 0.9)"
	goalrow "core: recovery scan with payload CRCs, warm" "$(fmt "$C4") GB/s" ">= 2 GB/s" "" "$(met_ge "$C4" 2)"
	goalrow "@N time to first byte, 1 vs 1000 segments" "$(fmt "$F1B") vs $(fmt "$F1A") us" "flat within 2x" "${F1:+${F1}x}" "$(met_le "$F1" 2)"
	goalrow "mount time after kill -9, 1 vs 1000 segments" "$(fmt "$F2B") vs $(fmt "$F2A") ms" "within 2x" "${F2:+${F2}x}" "$(met_le "$F2" 2)"
	goalrow "first read of a cached 63 MiB sealed segment right after the mount, passthrough (verify_cached=0: ${P10:-n/a}x, daemon: ${P1R:-n/a}x)" "$(fmt "$P1A") vs $(fmt "$P1N") MB/s" ">= 0.7x a warm read of its data file" "${P1:+${P1}x}" "$(met_ge "$P1" 0.7)"
	goalrow "the same, once the mount's background check of cached segments is done" "$(fmt "$P1BA") vs $(fmt "$P1BN") MB/s" ">= 0.7x a warm read of its data file" "${P1B:+${P1B}x}" "$(met_ge "$P1B" 0.7)"
	goalrow "repeated read of it, passthrough (daemon: ${P2R:-n/a}x)" "$(fmt "$P2A") vs $(fmt "$P2N") MB/s" ">= 0.9x a warm read of its data file" "${P2:+${P2}x}" "$(met_ge "$P2" 0.9)"
	goalrow "first read of it by a later open, the mount's page cache evicted, passthrough (daemon: ${P3R:-n/a}x)" "$(fmt "$P3A") vs $(fmt "$P3N") MB/s" ">= 0.9x a warm read of its data file" "${P3:+${P3}x}" "$(met_ge "$P3" 0.9)"
	goalrow "grep -c over 1 GiB of cached sealed segments, first after the mount, passthrough (again: ${P4G:-n/a}x)" "$(fmt "$P4A") vs $(fmt "$P4N") MB/s" ">= 0.8x the same grep on the data files" "${P4:+${P4}x}" "$(met_ge "$P4" 0.8)"
	goalrow "8 concurrent readers of 8 cached sealed segments, first after the mount, passthrough (again: ${P5G:-n/a}x)" "$(fmt "$P5A") vs $(fmt "$P5N") MB/s" ">= 0.8x the same readers on the data files" "${P5:+${P5}x}" "$(met_ge "$P5" 0.8)"
	goalrow "grep -c over 1 GiB, first after the mount's background check is done" "$(fmt "$P4BA") vs $(fmt "$P4BN") MB/s" ">= 0.8x the same grep on the data files" "${P4B:+${P4B}x}" "$(met_ge "$P4B" 0.8)"
	goalrow "8 concurrent readers, first after the mount's background check is done" "$(fmt "$P5BA") vs $(fmt "$P5BN") MB/s" ">= 0.8x the same readers on the data files" "${P5B:+${P5B}x}" "$(met_ge "$P5B" 0.8)"
	echo
	echo "Goals of the cursor and mirror issues (\`bench/cursor.sh\`, \`bench/mirror.sh\`, run by this run):"
	echo
	echo "| figure | measured | goal | ratio | verdict |"
	echo "| --- | --- | --- | --- | --- |"
	goalrow "reading through a cursor vs the same \`@N\` view" "$(fmt "$K1A") vs $(fmt "$K1B") MB/s" ">= 0.9x" "${K1:+${K1}x}" "$(met_ge "$K1" 0.9)"
	goalrow "close(2) of a cursor (its commit) vs of \`@N\`, next to one pwrite + fdatasync on ext4" "$(fmt "$K2A") vs $(fmt "$K2B") us (fdatasync $(fmt "$K2S") us)" "at most one pwrite + fdatasync round (close minus \`@N\` close, over the same round's pwrite + fdatasync; median of the rounds)" "${K2:+${K2}}" "$(met_le "$K2" 1.0)"
	goalrow "mount, 10 topics x 1000 cursors vs none (daemon CPU until it answers: $(fmt "$K3C") vs $(fmt "$K3D") ms)" "$(fmt "$K3A") vs $(fmt "$K3B") ms" "within 1.2x" "${K3:+${K3}x}" "$(met_le "$K3" 1.2)"
	goalrow "mirror throughput of 100 B records vs a plain libnats async publisher (R3, loopback)" "$(fmt "$M1A") vs $(fmt "$M1B") msg/s" ">= 0.8x" "${M1:+${M1}x}" "$(met_ge "$M1" 0.8)"
	goalrow "one producer's appends, mirror on vs off, the three servers on the producer's two CPUs (servers at nice 19: ${M2F:-n/a}x; servers under SCHED_IDLE: ${M2I:-n/a}x, and the mirror's threads too: ${M2J:-n/a}x; control, mirror off beside one busy loop at nice 19: ${M2C:-n/a}x)" "$(fmt "$M2A") vs $(fmt "$M2B") rec/s" ">= 0.9x" "${M2:+${M2}x}" "$(met_ge "$M2" 0.9)"
	goalrow "the same, the three servers on CPU 1 and the daemon and the producer on CPU 0 in the mirror-on and the mirror-off rounds alike (the cluster's work off the producer's CPU, as when the cluster is other machines)" "$(fmt "$M2PA") vs $(fmt "$M2PB") rec/s" ">= 0.9x" "${M2P:+${M2P}x}" "$(met_ge "$M2P" 0.9)"
	goalrow "append return -> stream acknowledgement, p50 / p99" "$(fmt "$M3A") / $(fmt "$M3B") us" "reported" "" "reported"
	echo
	echo "## All figures"
	echo
	echo "Medians; \`runs\` lists every run. Systems: \`ext4\` the backing filesystem"
	echo "directly, \`passthrough_ll\` libfuse's example over a directory of the same"
	echo "filesystem (\`-wb\`: with \`-o writeback\`), \`logfs-SYNC\` a topic with that"
	echo "\`user.logfs.sync\` setting through the logfs mount (\`-noappend\`: \`tail\`"
	echo "opened without O_APPEND), \`core\`/\`plain\` the engine called directly"
	echo "against write(2)/pread(2) in the same program."
	echo
	echo "| family | case | system | x | median | unit | runs |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	awk -F'\t' 'NR == FNR { raw[$1 "|" $2 "|" $3 "|" $4] = $5; next }
		{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, raw[$1 "|" $2 "|" $3 "|" $4] }' \
		"$RAW" "$RES" | sed 's/|  */| /g'
	echo
	echo "## Plots"
	echo
	for p in append_size append_writers append_fdatasync read_concurrent ttfb mount; do
		grep -q "^$p	" "$RES" && [ -f "$PLOTS/$p.png" ] && echo "![$p]($PLOTREL/$p.png)" && echo
	done
	echo "## Workloads"
	echo
	cat <<'TXT'
- **core**: `core_bench` (bench/core_bench.c) against write(2)/pread(2) on the
  same filesystem in the same process, alternating: 100 B records one call each
  (`lfs_topic_append`, sync=never, default 64 MiB segments), 1 MiB batches of
  100 B lines, a warm sealed segment read with `lfs_segment_read` (1 MiB
  buffer) against `pread` of its data file, and `lfs_scan_segment` with
  `LFS_SCAN_VERIFY_PAYLOAD` over warm sealed 64 MiB segments.
- **append_***: `appender` (bench/appender.c), N processes each with its own fd
  (`O_WRONLY|O_APPEND`), one write(2) per record (a '\n'-terminated line),
  optionally fdatasync(2) after each, for a fixed time. ext4 and
  passthrough_ll append to a fresh file, logfs to a fresh topic's `tail`.
  `logfs-always-noappend` opens `tail` `O_WRONLY` without O_APPEND (`appender
  -N`, like the shell's `>`): `tail` is a stream and every write appends, and
  the kernel runs such writes in parallel where it serializes O_APPEND ones.
  Both are measured beside the same ext4 writers in every round.
- **bulk_cat**: `cat FILE >> TARGET` of a file of 100 B lines held in the page
  cache; the time ends when cat exits (no sync on either side).
- **read_cold**: `cat` of the file after `echo 3 > drop_caches` and a fresh
  mount (the daemon of the previous round, which maps the segment, is gone).
  logfs reads `TOPIC/<base>.log`; passthrough_ll reads the same backing data
  file; `cat_tail_all_segments` reads `TOPIC/tail` of a log of 64 MiB segments.
- **read_warm / read_random / read_concurrent**: `reader` (bench/reader.c), 1 MiB
  read(2)s, or 4 KiB preads at random aligned offsets, with N processes.
- **read_follow**: one appender (100 B lines) and one reader following the end
  of the same file at the same time (read, and 100 us pause when at the end).
- **ttfb**: open `TOPIC/@N` (N at 70% of the log), read 4 KiB, close; 200
  times; the topic has the same ~N records of 20 B in 1 to 1000 segments
  (made with the core library, sealed).
- **mount**: `mountwait` (bench/mountwait.c) runs `logfs -f` and times until
  stat() of the mount point answers from the new filesystem: volume open,
  recovery, FUSE mount. After kill -9 the next mount runs the recovery scanner.
- **fsck**: `hyperfine` of `fsck.logfs -f -n` on the warm volume.
- **read_passthrough**: `reader` (1 MiB read(2)s, timed from the open) of one
  sealed 63 MiB segment whose data file is in the page cache, in rounds: a
  fresh mount with `passthrough=on,verify_cached=0` read once (each segment
  checked at its first open only), a fresh mount with `passthrough=on` read
  once after the daemon logged that its background check of cached
  segments was done (`first_read_after_background_check`), a fresh mount
  with `passthrough=on` read three times, then a fresh mount of
  a copy of the volume with `passthrough=off` read three times. The first
  read is the first right after the mount (with passthrough it includes
  what is left of the segment's check at its first open: the background
  check, on by default, starts with the mount), the second opens the file
  again (the daemon path finds the kernel's page cache, keep_cache), the
  third follows `reader -e` on the mount's file, which evicts the mount's
  own page cache of it but not the data file's (a segment the mount checked
  already, read anew). Every read through the mount is followed at once by
  a read of the data file itself (`ext4_after_...`), and the goals are the
  medians of these pairs' ratios (`ratio_...`): on this shared machine a
  burst of load then falls on both alike. The 1G rows: `grep -c ERROR` over
  the 16 sealed 64 MiB segments of a 1 GiB log (`TOPIC/*.log`), and 8
  `reader` processes each reading one of 8 different segments, through a
  fresh `passthrough=on` mount (first: each segment's checksum pass at its
  first open included, less what the background check did meanwhile), on a
  fresh mount once its background check was done, and again, each followed
  at once by the same on the data files; all of them cached.
- **cursors**: `bench/cursor.sh`: `bench/cursor -t` reads 256 MiB of 100 B
  records through a new cursor and through the same `@N` view (medians of
  3); `bench/cursor -c` times close(2) of a cursor that read (its commit)
  and of `@N`, next to one pwrite + fdatasync of a file on the backing
  filesystem (medians of 200); mount time (`mountwait`) of a volume of 10
  topics with 1000 cursors each against a copy of it without cursors,
  mounted in alternation after a sync, and the daemon's CPU time until its
  mount answered (`/proc/PID/task/*/schedstat`).
- **mirror**: `bench/mirror.sh`: three nats-server processes on loopback
  (one JetStream cluster, R3 streams). In alternating rounds (medians),
  `mirror_pub` publishes N 100 B messages with the mirror's headers
  asynchronously (window 1024) into a new stream, and the mirror catches up
  on N records appended while it was off; the latency is the time from an
  append's return until `user.logfs.mirror_lag` reads 0 (2000 appends);
  producers append 100 B lines one write(2) each for 3 s with the mirror on
  and off in alternation (an on round starts with the mirror caught up and
  ends when it has caught up again), with the CPU time of the daemon, of its
  mirror threads (named `lfs-mirror`) and of the three servers per record
  from `/proc`.
- **retention**: `core_bench retention`: setting `retention_bytes` so that all
  but ~10 of 1000 sealed segments go, through the core.
TXT
	echo
	[ -f "$ROOT/bench/analysis.md" ] && cat "$ROOT/bench/analysis.md"
} >"$DOC"
echo
echo "Goals:"
sed -n '/^## Goals/,/^## All figures/p' "$DOC" | grep '^|'
echo
echo "Wrote $DOC, $RES, plots in $PLOTS"
