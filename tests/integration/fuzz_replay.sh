#!/bin/sh
# Replays the fuzz seed corpus and every kept crash input of
# tests/fuzz/fuzz_scan.c (the recovery scanner and the format and text
# parsers) through tests/tools/fuzz_replay, built with the project's
# compiler: the fuzz findings stay fixed without clang (docs/RELIABILITY.md).
LFS_SRC=${LFS_SRC:-.}
LFS_BUILD=${LFS_BUILD:-$LFS_SRC/build}
R=$LFS_BUILD/tests/tools/fuzz_replay
if [ ! -x "$R" ]; then
	echo "not ok - $R is missing (make all-tests)"
	exit 1
fi
out=$("$R" "$LFS_SRC/tests/fuzz/corpus" 2>&1)
if [ $? -eq 0 ]; then
	echo "ok - fuzz seed corpus: $out"
else
	echo "not ok - fuzz seed corpus: $out"
fi
for f in "$LFS_SRC"/tests/fuzz/regressions/*; do
	[ -f "$f" ] || continue
	out=$("$R" "$f" 2>&1)
	if [ $? -eq 0 ]; then
		echo "ok - fuzz regression $(basename "$f")"
	else
		echo "not ok - fuzz regression $(basename "$f"): $(echo "$out" | tail -n 5)"
	fi
done
