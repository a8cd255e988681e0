#!/bin/sh
# make stress: the long forms of the reliability suites (docs/RELIABILITY.md),
# one after another, and a closing "N passed, N failed" line.
#   tests/reliability/stress.sh BUILD
# STRESS_ROUNDS (kill -9 rounds, default 150; the power-cut suite runs a
# fifth as many rounds), STRESS_SECONDS (load duration, default 300),
# LFS_SEED (default: from the clock; printed by every suite).
BUILD=${1:-build}
export LFS_BUILD="$(cd "$BUILD" && pwd)"
export LFS_SRC="$(pwd)"
export LFS_STRESS=1
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/lfs-stress-logs.XXXXXX")
passed=0
failed=0
t_all=$(date +%s)
for s in reliability_crash reliability_powercut reliability_diskfull reliability_load \
	reliability_regress fuzz_replay; do
	f=tests/integration/$s.sh
	[ -f "$f" ] || continue
	t0=$(date +%s)
	sh "$f" >"$LOGDIR/$s.log" 2>&1
	rc=$?
	ok=$(grep -c '^ok - ' "$LOGDIR/$s.log")
	bad=$(grep -c '^not ok - ' "$LOGDIR/$s.log")
	[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
	passed=$((passed + ok))
	failed=$((failed + bad))
	secs=$(($(date +%s) - t0))
	if [ "$bad" -ne 0 ]; then
		echo "FAIL stress $s ($ok passed, $bad failed, ${secs}s)"
		grep -E '^not ok - ' "$LOGDIR/$s.log" | head -n 20 | sed 's/^/    /'
	else
		echo "pass stress $s ($ok, ${secs}s)"
	fi
	grep -E '^# (seed|figures)' "$LOGDIR/$s.log" | sed 's/^/    /'
done
echo "stress duration: $(($(date +%s) - t_all)) s"
echo "logs in $LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
