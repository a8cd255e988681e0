#!/bin/sh
# Runs the test suites and prints one closing line "N passed, N failed".
#   tests/run.sh BUILD [unit|integration|user] [NAME...]
# Unit tests are cmocka binaries (each [ RUN ] that does not end [ OK ] is a
# failure); integration tests are shell scripts printing "ok - ..." and
# "not ok - ..." lines (a script that exits non-zero without a "not ok"
# counts as one failure).
BUILD=${1:-build}
WHAT=${2:-all}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
ONLY="$*"
export LFS_BUILD="$(cd "$BUILD" && pwd)"
export LFS_SRC="$(pwd)"
passed=0
failed=0
skipped=0
failures=""
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/lfs-test-logs.XXXXXX")

wanted() {
	[ -z "$ONLY" ] && return 0
	for w in $ONLY; do [ "$w" = "$1" ] && return 0; done
	return 1
}

if [ "$WHAT" = all ] || [ "$WHAT" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		wanted "$name" || continue
		log="$LOGDIR/$name.log"
		"$t" >"$log" 2>&1
		rc=$?
		run=$(grep -c '^\[ RUN      \]' "$log")
		ok=$(grep -c '^\[       OK \]' "$log")
		# Skipped tests (cmocka's skip()) are neither passed nor failed:
		# cmocka's summary says "[  SKIPPED ] N test(s), listed below:".
		skip=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s).*/\1/p' "$log" | tail -n 1)
		skip=${skip:-0}
		bad=$((run - ok - skip))
		if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
		passed=$((passed + ok))
		failed=$((failed + bad))
		skipped=$((skipped + skip))
		note=""
		[ "$skip" -ne 0 ] && note=", $skip skipped"
		if [ "$bad" -ne 0 ]; then
			failures="$failures $name"
			echo "FAIL unit $name ($ok passed, $bad failed$note)"
			sed 's/^/    /' "$log" | tail -n 40
		else
			echo "pass unit $name ($ok$note)"
			[ "$skip" -ne 0 ] && grep -i 'skipped:' "$log" | sed 's/^/    /'
		fi
	done
fi

# Integration suites run JOBS at a time (LFS_TEST_JOBS, default one more
# than the CPUs: most suites spend their time waiting on daemons, servers
# and timeouts, not computing). Results are printed in the order the suites
# were started, each as it is known.
JOBS=${LFS_TEST_JOBS:-$(($(nproc) + 1))}

# report_suite KIND NAME LOG RCFILE: counts one suite's ok/not ok lines.
report_suite()
{
	if [ -f "$4" ]; then
		read -r rc secs cpu <"$4"
	else
		rc=255 secs=0 cpu=0
		echo "not ok - $2 ran to its end (it left no exit status)" >>"$3"
	fi
	ok=$(grep -c '^ok - ' "$3")
	bad=$(grep -c '^not ok - ' "$3")
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	if [ "$bad" -ne 0 ]; then
		if [ "$1" = user ]; then failures="$failures user:$2"; else failures="$failures $2"; fi
		echo "FAIL $1 $2 ($ok passed, $bad failed, exit $rc, ${secs} s, CPU ${cpu:-0} s)"
		sed 's/^/    /' "$3" | tail -n 60
	else
		echo "pass $1 $2 ($ok, ${secs} s, CPU ${cpu:-0} s)"
	fi
}

# await_suites KIND PREFIX PID NAME...: reports each suite once its status
# file appears, or once PID (the pool) has gone without leaving it.
await_suites()
{
	_kind=$1 _prefix=$2 _pid=$3
	shift 3
	for _name in "$@"; do
		_rc="$LOGDIR/$_prefix$_name.rc"
		while [ ! -f "$_rc" ] && kill -0 "$_pid" 2>/dev/null; do sleep 0.2; done
		touch "$LOGDIR/$_prefix$_name.log"
		report_suite "$_kind" "$_name" "$LOGDIR/$_prefix$_name.log" "$_rc"
	done
	wait "$_pid"
}

if [ "$WHAT" = all ] || [ "$WHAT" = integration ]; then
	names=""
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		wanted "$name" && names="$names $name"
	done
	if [ -n "$names" ]; then
		sh tests/lib/pool.sh "$JOBS" "$LOGDIR" "" \
			'timeout 600 sh tests/integration/$1.sh' $names &
		await_suites integration "" $! $names
	fi
fi

# The suites marked "# unprivileged: yes" once more as an ordinary user
# (tests/lib/as_user.sh): what a user mounts and uses without root. Needs
# root to become that user; as anyone else it is skipped and says so.
if [ "$WHAT" = all ] || [ "$WHAT" = user ]; then
	names=""
	for t in tests/integration/*.sh; do
		grep -q '^# unprivileged: yes$' "$t" || continue
		name=$(basename "$t" .sh)
		wanted "$name" && names="$names $name"
	done
	if [ -z "$names" ]; then
		:
	elif [ "$(id -u)" -ne 0 ]; then
		echo "skip user suites:$names (only root can run them as another user)"
	else
		sh tests/lib/as_user.sh "$BUILD" "$LOGDIR" "$JOBS" $names >"$LOGDIR/user.setup" 2>&1 &
		await_suites user user. $! $names
		if grep -q '^not ok - ' "$LOGDIR/user.setup"; then
			failed=$((failed + 1))
			failures="$failures user-setup"
			echo "FAIL user setup"
			sed 's/^/    /' "$LOGDIR/user.setup"
		fi
	fi
fi

[ -n "$failures" ] && echo "failed suites:$failures"
[ "$skipped" -ne 0 ] && echo "$skipped skipped (see the messages above)"
echo "logs in $LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
