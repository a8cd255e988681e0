#!/bin/sh
# make fuzz: builds each fuzz target with clang and libFuzzer (ASan, UBSan)
# and runs it for SECONDS (default FUZZ_SECONDS, else 180) over a working
# corpus seeded from its committed corpus and regressions:
#   scan     tests/fuzz/fuzz_scan.c: corpus/, regressions/
#   summary  tests/fuzz/fuzz_summary.c: corpus-summary/, regressions-summary/
#   cursors  tests/fuzz/fuzz_cursors.c: corpus-cursors/, regressions-cursors/
#   volume   tests/fuzz/fuzz_volume.c: corpus-volume/, regressions-volume/
#   fsck     tests/fuzz/fuzz_fsck.c: corpus-volume/ (shared), regressions-fsck/
#   producer tests/fuzz/fuzz_producer.c: corpus-producer/, regressions-producer/
# A crash input is written to the target's regressions directory (commit
# it: make check replays those through tests/integration/fuzz_replay.sh).
# Prints libFuzzer's final statistics (executions) for each target and
# exits non-zero if any crashed.
#   sh tests/fuzz/run.sh BUILD [SECONDS [TARGET...]]
set -u
BUILD=${1:-build}
SECS=${2:-${FUZZ_SECONDS:-180}}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
TARGETS=${*:-scan summary cursors volume fsck producer}
CC_FUZZ=${CC_FUZZ:-clang}
status=0

# fuzz NAME CORPUS REGRESSIONS
fuzz() {
	out=$BUILD/fuzz/$1
	mkdir -p "$out/corpus" "$3"
	# The core is compiled into the target with coverage instrumentation.
	# shellcheck disable=SC2046
	"$CC_FUZZ" -std=c11 -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -Icore \
		core/*.c "tests/fuzz/fuzz_$1.c" -o "$out/fuzz_$1" \
		$(pkg-config --libs liburing 2>/dev/null || echo -luring) || return 1

	echo "fuzz: running $out/fuzz_$1 for $SECS s"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		"$out/fuzz_$1" -max_total_time="$SECS" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$3/" \
		"$out/corpus" "$2" "$3" 2>"$out/fuzz.log"
	rc=$?
	grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)|^#[0-9]+.*DONE|cov:' "$out/fuzz.log" | tail -n 6
	if [ $rc -ne 0 ]; then
		echo "fuzz: fuzz_$1 failed (exit $rc); see $out/fuzz.log; crash inputs:"
		ls -la "$3/"
		tail -n 40 "$out/fuzz.log"
	fi
	return $rc
}

for t in $TARGETS; do
	case $t in
	scan) fuzz scan tests/fuzz/corpus tests/fuzz/regressions || status=1 ;;
	summary) fuzz summary tests/fuzz/corpus-summary tests/fuzz/regressions-summary || status=1 ;;
	cursors) fuzz cursors tests/fuzz/corpus-cursors tests/fuzz/regressions-cursors || status=1 ;;
	volume) fuzz volume tests/fuzz/corpus-volume tests/fuzz/regressions-volume || status=1 ;;
	fsck) fuzz fsck tests/fuzz/corpus-volume tests/fuzz/regressions-fsck || status=1 ;;
	producer) fuzz producer tests/fuzz/corpus-producer tests/fuzz/regressions-producer || status=1 ;;
	*)
		echo "fuzz: unknown target '$t' (scan, summary, cursors, volume, fsck, producer)" >&2
		status=1
		;;
	esac
done
exit $status
