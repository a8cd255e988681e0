#!/bin/sh
# unprivileged: yes
# README.md "A short tour", command by command, as the README prints it
# (build/ is the build directory, /tmp/vol and /tmp/logs are this test's
# own directories). tests/run.sh runs it as root and, with the other suites
# marked "unprivileged: yes", as an ordinary user: the tour is what a new
# user types, whoever they are.
. "$LFS_SRC/tests/lib/mount.sh"

V=$T/vol
M=$T/logs
# The tour: the lines of the first sh block after "## A short tour", each
# cut at its comment (two spaces and #), `make` left out (built already).
awk '/^## A short tour/ { s = 1; next }
	s == 1 && /^```sh/ { s = 2; next }
	s == 2 && /^```/ { exit }
	s == 2 { sub(/  +#.*$/, ""); if ($0 != "" && $0 != "make") print }' \
	"$LFS_SRC/README.md" >"$T/tour"
check "the README has a tour of at least ten commands" [ "$(wc -l <"$T/tour")" -ge 10 ]

# The README's paths, made this test's.
sed -e "s#build/#$LFS_BUILD/#g" -e "s#/tmp/vol#$V#g" -e "s#/tmp/logs#$M#g" "$T/tour" >"$T/tour.sh"
_mounts="$_mounts $M"
vol_free() { ! vol_locked "$1"; }
while IFS= read -r cmd; do
	case $cmd in
	*"tail -F"*) want=124 ;; # timeout ends the follower
	*) want=0 ;;
	esac
	sh -c "$cmd" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "README: $cmd"
	else
		not_ok "README: $cmd (exit $rc: $(head -c 300 "$T/err"))"
	fi
	case $cmd in
	"cat $M/app/tail") check "README: the log holds the three records" \
		eq "$(cat "$T/out" | tr '\n' ' ')" "hello one two " ;;
	"cat $M/app/@1") check "README: @1 starts at offset 1" \
		eq "$(cat "$T/out" | tr '\n' ' ')" "one two " ;;
	"fusermount3 -u $M") wait_for 20 vol_free "$V" ||
		note "the daemon still holds the volume" ;;
	esac
done <"$T/tour.sh"
check "README: the tour's mount is gone" vol_unlocked_mnt "$M"
check "README: the volume belongs to whoever made it" eq "$(stat -c %u "$V")" "$(id -u)"
finish
