#!/bin/sh
# Times `fsck.logfs -f -n` on a ~1 GiB volume of 100-byte lines, warm cache.
#   sh bench/fsck_bench.sh [BUILD [TOTAL [BATCH [REPS]]]]
# BATCH is the bytes per append (default 64K; 100 = one line per append).
# The volume lives in a temporary directory under BENCH_DIR or TMPDIR.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
make -C "$ROOT" --no-print-directory -s BUILD="$BUILD" "$BUILD/fsck.logfs" "$BUILD/bench/fsck_bench"
DIR=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/lfs-fsck-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
"$BUILD/bench/fsck_bench" "$BUILD/fsck.logfs" "$DIR" "${2:-1G}" "${3:-64K}" "${4:-3}"
