#!/bin/sh
# make fuzz: builds tests/fuzz/fuzz_scan.c with clang and libFuzzer (ASan,
# UBSan) and runs it for FUZZ_SECONDS (default 180) over a working corpus
# seeded from tests/fuzz/corpus and tests/fuzz/regressions. A crash input
# is written to tests/fuzz/regressions/ (commit it: make check replays that
# directory through tests/integration/fuzz_replay.sh). Prints libFuzzer's
# final statistics (executions) and exits non-zero on a crash.
#   sh tests/fuzz/run.sh BUILD [SECONDS]
set -u
BUILD=${1:-build}
SECS=${2:-${FUZZ_SECONDS:-180}}
OUT=$BUILD/fuzz
CC_FUZZ=${CC_FUZZ:-clang}
mkdir -p "$OUT/corpus" tests/fuzz/regressions

# The core is compiled into the target with coverage instrumentation.
# shellcheck disable=SC2046
"$CC_FUZZ" -std=c11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pthread -Icore \
	core/*.c tests/fuzz/fuzz_scan.c -o "$OUT/fuzz_scan" \
	$(pkg-config --libs liburing 2>/dev/null || echo -luring) || exit 1

echo "fuzz: running $OUT/fuzz_scan for $SECS s"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
	"$OUT/fuzz_scan" -max_total_time="$SECS" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix=tests/fuzz/regressions/ \
	"$OUT/corpus" tests/fuzz/corpus tests/fuzz/regressions 2>"$OUT/fuzz.log"
rc=$?
grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)|^#[0-9]+.*DONE|cov:' "$OUT/fuzz.log" | tail -n 6
if [ $rc -ne 0 ]; then
	echo "fuzz: the target failed (exit $rc); see $OUT/fuzz.log; crash inputs:"
	ls -la tests/fuzz/regressions/
	tail -n 40 "$OUT/fuzz.log"
fi
exit $rc
