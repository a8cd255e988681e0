#!/bin/sh
# Replays the seed corpus and every kept crash input of each fuzz target
# through its replay tool, built with the project's compiler: the fuzz
# findings stay fixed without clang (docs/RELIABILITY.md).
#   fuzz_scan.c     (the recovery scanner, the format and text parsers):
#                   tests/tools/fuzz_replay, corpus/, regressions/
#   fuzz_summary.c  (the segment summary parser):
#                   tests/tools/fuzz_replay_summary, corpus-summary/,
#                   regressions-summary/
#   fuzz_cursors.c  (the cursor store decoder and check):
#                   tests/tools/fuzz_replay_cursors, corpus-cursors/,
#                   regressions-cursors/
#   fuzz_volume.c   (the daemon's load and first-read path over a volume
#                   made from the input): tests/tools/fuzz_replay_volume,
#                   corpus-volume/, regressions-volume/
#   fuzz_fsck.c     (fsck's volume walk, repair, and the mount after it):
#                   tests/tools/fuzz_replay_fsck, corpus-volume/,
#                   regressions-fsck/
#   fuzz_producer.c (the producer's framing against a model):
#                   tests/tools/fuzz_replay_producer, corpus-producer/,
#                   regressions-producer/
LFS_SRC=${LFS_SRC:-.}
LFS_BUILD=${LFS_BUILD:-$LFS_SRC/build}

# replay TOOL NAME CORPUS REGRESSIONS
replay() {
	R=$LFS_BUILD/tests/tools/$1
	if [ ! -x "$R" ]; then
		echo "not ok - $R is missing (make all-tests)"
		return
	fi
	out=$("$R" "$LFS_SRC/tests/fuzz/$3" 2>&1)
	if [ $? -eq 0 ]; then
		echo "ok - $2 seed corpus: $out"
	else
		echo "not ok - $2 seed corpus: $out"
	fi
	for f in "$LFS_SRC/tests/fuzz/$4"/*; do
		[ -f "$f" ] || continue
		out=$("$R" "$f" 2>&1)
		if [ $? -eq 0 ]; then
			echo "ok - $2 regression $(basename "$f")"
		else
			echo "not ok - $2 regression $(basename "$f"): $(echo "$out" | tail -n 5)"
		fi
	done
}

replay fuzz_replay fuzz corpus regressions
replay fuzz_replay_summary "fuzz summary" corpus-summary regressions-summary
replay fuzz_replay_cursors "fuzz cursors" corpus-cursors regressions-cursors
replay fuzz_replay_volume "fuzz volume" corpus-volume regressions-volume
replay fuzz_replay_fsck "fuzz fsck" corpus-volume regressions-fsck
replay fuzz_replay_producer "fuzz producer" corpus-producer regressions-producer
