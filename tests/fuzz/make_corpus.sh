#!/bin/sh
# Regenerates the seed corpus of tests/fuzz/fuzz_scan.c in tests/fuzz/corpus
# from real volumes (run from the repository root after `make`; the result
# is committed, so this is only needed when the format changes).
#   sh tests/fuzz/make_corpus.sh [BUILD]
# Input layout (fuzz_scan.c): flags byte, 3-byte index length, index, data.
set -eu
BUILD=${1:-build}
OUT=tests/fuzz/corpus
W=$(mktemp -d)
trap 'fusermount3 -u "$W/mnt" 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$OUT" "$W/mnt"

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

"$BUILD/mkfs.logfs" -q -s 4K "$W/vol"
"$BUILD/logfs" "$W/vol" "$W/mnt"
mkdir "$W/mnt/l" "$W/mnt/w"
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
echo "corpus: $(ls "$OUT" | wc -l) files, $(du -sk "$OUT" | cut -f1) KiB"
