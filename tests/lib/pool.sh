#!/bin/sh
# Runs integration suites, up to JOBS at a time: tests/run.sh's integration
# and user phases.
#   tests/lib/pool.sh JOBS OUTDIR PREFIX RUNNER NAME...
# For each NAME, the shell command RUNNER runs with NAME as its $1, with its output in OUTDIR/PREFIXNAME.log;
# when it ends, OUTDIR/PREFIXNAME.rc holds "EXIT SECONDS CPU": its wall
# time and the CPU seconds (user + system) of it and of every process it
# waited for (a daemon it started and reaped included). The .rc file
# appears whole (written aside, then renamed), so a reader that sees it may
# read it. The suites are independent by construction (each takes its own
# temporary directory, mount point and free loopback ports), which is also
# what lets two `make check` run side by side.
set -u
JOBS=$1
OUT=$2
PREFIX=$3
RUNNER=$4
shift 4

# pool_one NAME: one suite, timed.
if [ "${POOL_ONE:-}" = 1 ]; then
	name=$1
	s=$(date +%s)
	sh -c "$RUNNER" sh "$name" >"$OUT/$PREFIX$name.log" 2>&1
	rc=$?
	e=$(date +%s)
	# times: this shell's, then its children's user and system time.
	# (in this shell: a command substitution's subshell has no children)
	times >"$OUT/$PREFIX$name.times"
	cpu=$(sed -n 2p "$OUT/$PREFIX$name.times" | awk '{ gsub(/[ms]/, " "); printf "%.1f", $1 * 60 + $2 + $3 * 60 + $4 }')
	echo "$rc $((e - s)) ${cpu:-0}" >"$OUT/$PREFIX$name.rc.part" &&
		mv "$OUT/$PREFIX$name.rc.part" "$OUT/$PREFIX$name.rc"
	exit 0
fi

printf '%s\n' "$@" | POOL_ONE=1 xargs -P "$JOBS" -n 1 sh "$0" "$JOBS" "$OUT" "$PREFIX" "$RUNNER"
