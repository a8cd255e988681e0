#!/bin/sh
# SPEC "Reading from an offset or a time": TOPIC/@N, TOPIC/@TIME (RFC 3339),
# TOPIC/@-AGE: boundaries, ENOENT / EINVAL, never listed, read-only,
# following, many readers during appends and rolls.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o segment_size=4K || exit 1

mkdir "$M/o"
O=$M/o
seq -f 'rec %05g' 0 999 >"$T/all" # record N is "rec N"; 409 per segment: 0, 409, active 818
dd if="$T/all" of="$O/tail" bs=10 conv=notrunc status=none
from() { sed -n "$(($1 + 1)),\$p" "$T/all"; }

# ---- offsets at every boundary ----
for n in 0 1 408 409 410 817 818 819 998 999; do
	from "$n" >"$T/want"
	check "@$n reads the log from record $n" same "$O/@$n" "$T/want"
	check "stat @$n: st_size is the bytes from record $n" eq "$(size "$O/@$n")" "$(wc -c <"$T/want")"
done
check "@007 (leading zeros) is record 7" eq "$(head -n 1 "$O/@007")" "rec 00007"
check "@N of the next offset (1000) is empty" eq "$(cat "$O/@1000" | wc -c) $(size "$O/@1000")" "0 0"
"$LFSIO" open 0 r "$O/@1000" read 0 100 sh "echo 'rec 01000' >>'$O/tail'" readall 0 close 0 >"$T/grow"
check "@N of the next offset grows: it reads the records appended after the open" eq "$(cat "$T/grow")" "rec 01000"
echo "rec 01000" >>"$T/all"
check "@1000 now reads the new record" eq "$(cat "$O/@1000")" "rec 01000"
check "@N beyond the next offset fails with ENOENT" fails_with ENOENT cat "$O/@1002"
check "stat of @N beyond the next offset fails with ENOENT" fails_with ENOENT stat "$O/@5000"
check "@N with a 20-digit N beyond the log fails with ENOENT" fails_with ENOENT cat "$O/@10000000000000000000"
check "@N is read-only: opening for writing fails with EACCES" "$LFSIO" expect EACCES open 0 w "$O/@5"
check "@N is read-only: echo >> @N fails with EACCES" sh_fails_with EACCES "echo x >>'$O/@5'"
check "@N is read-only: O_RDWR fails with EACCES" "$LFSIO" expect EACCES open 0 rw "$O/@5"
check "@N is mode 0444" eq "$(stat -c %a "$O/@5")" 444
check "@N is never listed (ls -a)" sh -c "! ls -a '$O' | grep -q @"
check "@N is never listed (find)" sh -c "! find '$O' | grep -q @"
check "@N can be looked up by ls" eq "$(ls "$O/@5")" "$O/@5"
check "rm of @N fails, @N stays" sh -c "! rm '$O/@5' 2>/dev/null && [ \"\$(head -n 1 '$O/@5')\" = 'rec 00005' ]"
check "tail -n 2 of @N prints the last records" eq "$(tail -n 2 "$O/@300")" "$(printf 'rec 00999\nrec 01000')"

# ---- below the first retained offset ----
rm "$O/00000000000000000000.log"
check "@N below the first retained offset fails with ENOENT (@0)" fails_with ENOENT cat "$O/@0"
check "@N below the first retained offset fails with ENOENT (@408)" fails_with ENOENT cat "$O/@408"
check "@N at the first retained offset works (@409)" sh -c "sed -n '410,\$p' '$T/all' | cmp -s - '$O/@409'"

check "@TIME before the first retained record starts at the first retained one" \
	eq "$(head -n 1 "$O/@2001-09-09T01:46:40Z")" "rec 00409"
check "@-AGE reaching before the first retained record starts at it" eq "$(head -n 1 "$O/@-1d")" "rec 00409"
check "@TIME far in the future (2600, past 64-bit nanoseconds) is empty" \
	eq "$(cat "$O/@2600-01-01T00:00:00Z" | wc -c) $(size "$O/@2600-01-01T00:00:00Z")" "0 0"
"$LFSIO" open 0 r "$O/@2600-01-01T00:00:00Z" read 0 100 sh "echo 'rec 01001' >>'$O/tail'" readall 0 close 0 >"$T/grow"
check "@TIME past every record grows: it reads the records appended after the open" \
	eq "$(cat "$T/grow")" "rec 01001"
echo "rec 01001" >>"$T/all"
check "@TIME with a leap second (23:59:60) is the next second" \
	same "$O/@2016-12-31T23:59:60Z" "$O/@2017-01-01T00:00:00Z"

# ---- malformed names: EINVAL ----
for bad in '@' '@abc' '@12abc' '@-' '@+5' '@1.5' '@0x10' '@1e3' '@-10' '@-10x' '@--5m' '@ 5' \
	'@2026-13-01T00:00:00Z' '@2026-02-30T10:00:00Z' '@2026-11-22T10:00:00' '@2026-11-22T25:00:00Z' \
	'@2026-11-22T10:00:00+1:00' '@2026-11-22' '@18446744073709551616' '@123456789012345678901'; do
	check "'$bad' fails with EINVAL" fails_with EINVAL cat "$O/$bad"
done

# ---- times ----
mkdir "$M/t"
TT=$M/t/tail
# ts FILE: the newest record's timestamp (ns).
lastts() { xattr "$TT" last_timestamp; }
# rfc NS [OFFSET_SECONDS SUFFIX]: RFC 3339 with 9 fraction digits.
rfc()
{
	_s=$(($1 / 1000000000))
	_f=$(printf '%09d' $(($1 % 1000000000)))
	_o=${2:-0}
	echo "$(date -u -d "@$((_s + _o))" +%Y-%m-%dT%H:%M:%S).$_f${3:-Z}"
}
old_first=$(date -u -d '@1000000000' +%Y-%m-%dT%H:%M:%SZ) # 2001
printf 'a1\na2\na3\n' >>"$TT"
tA=$(lastts)
printf 'b1\nb2\n' >>"$TT"
tB=$(lastts)
printf 'c1\n' >>"$TT"
tC=$(lastts)
check "setup: three batches with increasing timestamps" test "$tA" -lt "$tB" -a "$tB" -lt "$tC"
check "@TIME before the first record reads everything" eq "$(cat "$M/t/@$old_first" | tr '\n' ' ')" "a1 a2 a3 b1 b2 c1 "
check "@TIME equal to a batch's timestamp starts at its first record (equal timestamps)" \
	eq "$(cat "$M/t/@$(rfc "$tA")" | tr '\n' ' ')" "a1 a2 a3 b1 b2 c1 "
check "@TIME 1 ns after a batch starts at the next one" eq "$(cat "$M/t/@$(rfc $((tA + 1)))" | tr '\n' ' ')" "b1 b2 c1 "
check "@TIME between two records starts at the later one" \
	eq "$(cat "$M/t/@$(rfc $(((tB + tC) / 2)))" | tr '\n' ' ')" "c1 "
check "@TIME exactly at the last record reads it" eq "$(cat "$M/t/@$(rfc "$tC")")" c1
check "@TIME after the last record is empty" eq "$(cat "$M/t/@$(rfc $((tC + 1)))" | wc -c)" 0
check "@TIME with +01:00 is the same instant" \
	eq "$(cat "$M/t/@$(rfc "$tB" 3600 +01:00)" | tr '\n' ' ')" "b1 b2 c1 "
check "@TIME with -05:30 is the same instant" \
	eq "$(cat "$M/t/@$(rfc "$tB" -19800 -05:30)" | tr '\n' ' ')" "b1 b2 c1 "
check "@TIME with +01:00, 1 ns later, starts after the batch" \
	eq "$(cat "$M/t/@$(rfc $((tB + 1)) 3600 +01:00)" | tr '\n' ' ')" "c1 "
check "stat @TIME: st_size is the bytes from there" eq "$(size "$M/t/@$(rfc $((tA + 1)))")" 9
# Whole seconds, as in the spec's example: D, then E in a later second.
printf 'd1\n' >>"$TT"
tD=$(lastts)
S=$((tD / 1000000000 + 1))
while [ "$(date +%s)" -le "$S" ]; do sleep 0.1; done
printf 'e1\n' >>"$TT"
WS=$(date -u -d "@$S" +%Y-%m-%dT%H:%M:%SZ)
check "@TIME in whole seconds ($WS) starts at the first record at or after it" eq "$(cat "$M/t/@$WS" | tr '\n' ' ')" "e1 "
WS1=$(date -u -d "@$((S + 3600))" +%Y-%m-%dT%H:%M:%S)+01:00
check "@TIME in whole seconds with +01:00" eq "$(cat "$M/t/@$WS1" | tr '\n' ' ')" "e1 "
check "@TIME with a lowercase t and z" eq "$(cat "$M/t/@$(echo "$WS" | tr TZ tz)" | tr '\n' ' ')" "e1 "

# Ages.
for age in 10m 2h 1d 600s; do
	check "@-$age reads every record appended in the last $age" \
		eq "$(cat "$M/t/@-$age" | tr '\n' ' ')" "a1 a2 a3 b1 b2 c1 d1 e1 "
done
printf 'f1\n' >>"$TT"
sleep 3
printf 'g1\n' >>"$TT"
tG=$(lastts)
now=$(date +%s%N)
X=$(((now - tG + 999999999) / 1000000000 + 1))
check "@-${X}s starts at the first record of the last ${X} seconds" eq "$(cat "$M/t/@-${X}s" | tr '\n' ' ')" "g1 "

# ---- following from an offset ----
mkdir "$M/f"
seq -f 'follow %013g' 0 999 | dd of="$M/f/tail" bs=20 conv=notrunc status=none
timeout 60 tail -n +1 -s 0.1 -f "$M/f/@990" >"$T/tf.out" 2>"$T/tf.err" &
tp=$!
_pids="$_pids $tp"
seq -f 'follow %013g' 1000 2999 | dd of="$M/f/tail" bs=20 conv=notrunc status=none
seq -f 'follow %013g' 990 2999 >"$T/tf.want"
wait_for 30 sh -c "[ \$(wc -c <'$T/tf.out') -ge \$(wc -c <'$T/tf.want') ]"
sleep 0.3
stop "$tp"
check "tail -f TOPIC/@N follows from offset N across rolls" same "$T/tf.out" "$T/tf.want"
timeout 60 tail -n +1 -s 0.1 -f "$M/f/@3000" >"$T/tn.out" 2>&1 &
tp=$!
_pids="$_pids $tp"
sleep 0.3
seq -f 'follow %013g' 3000 3099 | dd of="$M/f/tail" bs=20 conv=notrunc status=none
seq -f 'follow %013g' 3000 3099 >"$T/tn.want"
wait_for 30 sh -c "[ \$(wc -c <'$T/tn.out') -ge \$(wc -c <'$T/tn.want') ]"
sleep 0.3
stop "$tp"
check "tail -f TOPIC/@NEXT follows from the next offset" same "$T/tn.out" "$T/tn.want"

# ---- many readers at many offsets while appends and rolls happen ----
mkdir "$M/c"
N=20000
bg "$LFSREC" write "$M/c/tail" 0 "$N" -l 8:64 -d 50
wp=$BGPID
rps=""
i=0
while [ $i -lt 12 ]; do
	next=$(xattr "$M/c" next_offset)
	case $i in
	0) at=0 ;;
	1) at=$next ;;
	*) at=$((next * (i % 5) / 5)) ;;
	esac
	bg "$LFSREC" follow "$M/c/@$at" 1 "$N" -l 8:64 -F "$at" -t 120
	rps="$rps $BGPID:$at"
	i=$((i + 1))
	sleep 0.2
done
wait "$wp"
check "the writer appended $N records with rolls" eq "$?" 0
bad=0
for rp in $rps; do
	p=${rp%%:*}
	wait "$p" || { bad=$((bad + 1)); note "reader from @${rp#*:} failed"; }
done
check "12 concurrent @N readers each read every record from N, whole, in order" eq "$bad" 0
check "the rolls happened ($(ls "$M/c" | grep -c log) segments)" test "$(ls "$M/c" | grep -c log)" -ge 50
lfs_umount "$M"

finish
