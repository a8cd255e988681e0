#!/bin/sh
# Regenerates the seed corpora from real volumes (run from the repository
# root after `make`; the result is committed, so this is only needed when
# the format changes): tests/fuzz/corpus for fuzz_scan.c, and
# tests/fuzz/corpus-summary for fuzz_summary.c.
#   sh tests/fuzz/make_corpus.sh [BUILD] [all|scan|summary]
# Input layouts: fuzz_scan.c, flags byte, 3-byte index length, index, data;
# fuzz_summary.c, flags byte, the summary file.
set -eu
BUILD=${1:-build}
WHAT=${2:-all}
OUT=tests/fuzz/corpus
SOUT=tests/fuzz/corpus-summary
case $WHAT in
all | scan | summary) ;;
*)
	echo "usage: sh tests/fuzz/make_corpus.sh [BUILD] [all|scan|summary]" >&2
	exit 2
	;;
esac
W=$(mktemp -d)
# "|| true": under set -e, unmounting what is no longer mounted used to
# make a successful run exit 1.
trap 'fusermount3 -u "$W/mnt" 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$OUT" "$SOUT" "$W/mnt"
# Only the corpus asked for is written: the other's seeds stay as they are.
[ "$WHAT" = summary ] && OUT=$W/scan-unused && mkdir -p "$OUT"

# seed NAME FLAGS IDXFILE DATAFILE [DATA-BYTES]
seed() {
	ilen=0
	[ -f "$3" ] && ilen=$(stat -c %s "$3")
	{
		printf "\\$(printf %03o "$2")"
		printf "\\$(printf %03o $((ilen & 255)))\\$(printf %03o $(((ilen >> 8) & 255)))\\$(printf %03o $(((ilen >> 16) & 255)))"
		[ -f "$3" ] && cat "$3"
		if [ -f "$4" ]; then
			if [ $# -ge 5 ]; then head -c "$5" "$4"; else cat "$4"; fi
		fi
	} >"$OUT/$1"
}
text() { # text NAME CONTENT: a flags byte, then the text
	printf '\000%s' "$2" >"$OUT/$1"
}

# sum NAME FLAGS FILE: a seed of fuzz_summary.c
sum() {
	[ "$WHAT" = scan ] && return 0
	{
		printf "\\$(printf %03o "$2")"
		cat "$3"
	} >"$SOUT/$1"
}

# waitfile FILE: the daemon writes the summary as it exits, after the
# unmount returns.
waitfile() {
	n=0
	while [ ! -f "$1" ]; do
		n=$((n + 1))
		[ $n -gt 200 ] && echo "make_corpus: no $1 after 10 s" >&2 && exit 1
		sleep 0.05
	done
	sleep 0.2
}

# The summary of a volume without topics: the header alone.
"$BUILD/mkfs.logfs" -q "$W/empty"
"$BUILD/logfs" "$W/empty" "$W/mnt"
fusermount3 -u "$W/mnt"
waitfile "$W/empty/summary"
sum empty 0 "$W/empty/summary"
sum empty-file 2 "$W/empty/summary"

"$BUILD/mkfs.logfs" -q -s 4K "$W/vol"
"$BUILD/logfs" "$W/vol" "$W/mnt"
# For the summary: "m" with many sealed segments, "e" with none.
mkdir "$W/mnt/l" "$W/mnt/w" "$W/mnt/m" "$W/mnt/e"
i=0
while [ $i -lt 1500 ]; do
	echo "many segments $i" >>"$W/mnt/m/tail"
	i=$((i + 1))
done
setfattr -n user.logfs.framing -v write "$W/mnt/w"
i=0
while [ $i -lt 150 ]; do
	echo "line record $i with some text" >>"$W/mnt/l/tail"
	i=$((i + 1))
done
printf 'a\nbb\nccc\n' >>"$W/mnt/l/tail"
i=0
while [ $i -lt 60 ]; do
	printf 'binary\000record\n%d\377' $i >>"$W/mnt/w/tail"
	i=$((i + 1))
done
fusermount3 -u "$W/mnt"
sleep 0.5
# What the clean unmount wrote: topics e, l, m, w, sealed segments in l
# and m. Taken now: the remount below writes it again.
waitfile "$W/vol/summary"
sum real 0 "$W/vol/summary"
sum real-fix 1 "$W/vol/summary"
sum real-file 2 "$W/vol/summary"
sum real-fix-file 3 "$W/vol/summary"
L=$W/vol/topics/l
WT=$W/vol/topics/w
sl=$(ls "$L"/*.idx | head -n 1)
sw=$(ls "$WT"/*.idx | head -n 1)
al=$(ls "$L"/*.idx | tail -n 1)
aw=$(ls "$WT"/*.idx | tail -n 1)
seed line-sealed 0 "$sl" "${sl%.idx}.log"
seed line-sealed-seal 2 "$sl" "${sl%.idx}.log"
seed write-sealed 3 "$sw" "${sw%.idx}.log"
seed line-active 0 "$al" "${al%.idx}.log"
seed write-active 1 "$aw" "${aw%.idx}.log"
seed line-active-seal 2 "$al" "${al%.idx}.log"
seed line-noverify 16 "$sl" "${sl%.idx}.log"
seed line-noindex 4 /nonexistent "${sl%.idx}.log"
seed write-noindex 5 /nonexistent "${sw%.idx}.log"
seed line-nodata 8 "$sl" /nonexistent
seed write-nodata-seal 11 "$sw" /nonexistent
seed empty-both 0 /nonexistent /nonexistent
# With the checksum fix-ups (32 entry and header CRCs, 64 payload CRCs,
# 128 seal CRC), mutations of the fields reach the scanner's later checks.
seed line-sealed-fix 226 "$sl" "${sl%.idx}.log"
seed write-sealed-fix 227 "$sw" "${sw%.idx}.log"
seed line-active-fix 224 "$al" "${al%.idx}.log"
seed write-active-fix 225 "$aw" "${aw%.idx}.log"

# An active segment as a kill leaves it: preallocated zero tails.
"$BUILD/logfs" "$W/vol" "$W/mnt" -f 2>/dev/null &
pid=$!
while ! grep -qs " $W/mnt fuse" /proc/mounts; do sleep 0.05; done
printf 'after\nremount\n' >>"$W/mnt/l/tail"
printf 'wrec' >>"$W/mnt/w/tail"
kill -9 $pid
wait $pid 2>/dev/null || true
fusermount3 -u "$W/mnt" 2>/dev/null || umount -l "$W/mnt"
al=$(ls "$L"/*.idx | tail -n 1)
aw=$(ls "$WT"/*.idx | tail -n 1)
head -c 1024 "$al" >"$W/al.idx"
head -c 1024 "$aw" >"$W/aw.idx"
seed line-killed 0 "$W/al.idx" "${al%.idx}.log" 8192
seed write-killed 1 "$W/aw.idx" "${aw%.idx}.log" 8192

# Text for topic.conf, start points and settings (fuzz_conf, fuzz_text
# read the input after the flags byte).
text conf "$(printf 'mode=755\nuid=0\ngid=0\nframing=write\nsync=always\nsegment_size=1048576\n')
crc=00000000
"
cat "$W/vol/topics/w/topic.conf" | { printf '\000'; cat; } >"$OUT/conf-real"
text start-offset "1200"
text start-age "-10m"
text start-time "2026-11-22T10:00:00Z"
text start-time-frac "2026-11-22T10:00:00.123456789+02:00"
text size "64M"
text ms "1500"
text sync "always"
text segname "00000000000000041873.log"
text uuid "3f1c2b8e-0d4a-4b7e-9a53-1d2e3f4a5b6c"
cp "$W/vol/superblock" "$OUT/superblock"
cp "$W/vol/state" "$OUT/state"
[ "$WHAT" = summary ] || echo "corpus: $(ls "$OUT" | wc -l) files, $(du -sk "$OUT" | cut -f1) KiB"
[ "$WHAT" = scan ] || echo "corpus-summary: $(ls "$SOUT" | wc -l) files, $(du -sk "$SOUT" | cut -f1) KiB"
