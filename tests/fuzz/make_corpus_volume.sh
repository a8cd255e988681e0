#!/bin/sh
# Regenerates the seed corpus of fuzz_volume.c and fuzz_fsck.c
# (tests/fuzz/corpus-volume) from a real volume, and writes the hand-made
# seeds of fuzz_producer.c (tests/fuzz/corpus-producer). Run from the
# repository root after `make`; the result is committed, so this is only
# needed when the format changes.
#   sh tests/fuzz/make_corpus_volume.sh [BUILD]
# Layout (tests/fuzz/fuzz_vol.h): a flags byte, then sections of a kind
# byte (low 3 bits: 0 summary, 1 topic.conf, 2 index, 3 data, 4 cursors;
# bit 3: topic "b" rather than "a"), a 2-byte length and the bytes.
set -eu
BUILD=${1:-build}
OUT=tests/fuzz/corpus-volume
POUT=tests/fuzz/corpus-producer
W=$(mktemp -d)
trap 'fusermount3 -u "$W/mnt" 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$OUT" "$POUT" "$W/mnt"

byte() { printf "\\$(printf %03o "$1")"; }
# section KIND FILE [MAXBYTES]
section() {
	len=$(stat -c %s "$2")
	[ $# -ge 3 ] && [ "$len" -gt "$3" ] && len=$3
	byte "$1"
	byte $((len & 255))
	byte $(((len >> 8) & 255))
	head -c "$len" "$2"
}
# topic_sections DIR TOPICBIT [MAXDATA]: topic.conf, cursors, every segment
topic_sections() {
	section $((1 | $2)) "$1/topic.conf"
	[ -f "$1/cursors" ] && section $((4 | $2)) "$1/cursors"
	for i in "$1"/*.idx; do
		[ -f "$i" ] || continue
		section $((2 | $2)) "$i" 4096
		section $((3 | $2)) "${i%.idx}.log" "${3:-8192}"
	done
}
waitfile() {
	n=0
	while [ ! -f "$1" ]; do
		n=$((n + 1))
		[ $n -gt 200 ] && echo "make_corpus_volume: no $1 after 10 s" >&2 && exit 1
		sleep 0.05
	done
	sleep 0.2
}

"$BUILD/mkfs.logfs" -q -s 4K "$W/vol"
"$BUILD/logfs" "$W/vol" "$W/mnt"
mkdir "$W/mnt/a" "$W/mnt/b"
setfattr -n user.logfs.framing -v write "$W/mnt/b"
i=0
while [ $i -lt 200 ]; do
	echo "line record $i" >>"$W/mnt/a/tail"
	i=$((i + 1))
done
i=0
while [ $i -lt 40 ]; do
	printf 'rec\000%d\377' $i >>"$W/mnt/b/tail"
	i=$((i + 1))
done
mkdir "$W/mnt/a/.cursors/c1" 2>/dev/null || true
head -c 100 "$W/mnt/a/.cursors/c1/read" >/dev/null 2>&1 || true
fusermount3 -u "$W/mnt"
waitfile "$W/vol/summary"
V=$W/vol
A=$V/topics/a
B=$V/topics/b
# Flags: 1 dirty, 2 fix summary, 4 fix index CRCs, 8 fix topic.conf CRC,
# 16 default framing write, 32 (volume) read-only / (fsck) preen,
# 64 (volume) append.
{ byte 2; section 0 "$V/summary"; topic_sections "$A" 0; topic_sections "$B" 8; } >"$OUT/clean"
{ byte 66; section 0 "$V/summary"; topic_sections "$A" 0; topic_sections "$B" 8; } >"$OUT/clean-append"
{ byte 70; section 0 "$V/summary"; topic_sections "$A" 0; topic_sections "$B" 8; } >"$OUT/clean-fix"
{ byte 65; topic_sections "$A" 0; topic_sections "$B" 8; } >"$OUT/dirty-append"
{ byte 33; topic_sections "$A" 0; } >"$OUT/dirty-rdonly"
{ byte 68; topic_sections "$A" 0; } >"$OUT/nosum-fix"
{ byte 64; topic_sections "$B" 0; } >"$OUT/write-as-a"
{ byte 80; } >"$OUT/empty-write"
{ byte 64; } >"$OUT/empty"

# An active segment as a kill leaves it: preallocated zero tails.
"$BUILD/logfs" "$W/vol" "$W/mnt" -f 2>/dev/null &
pid=$!
while ! grep -qs " $W/mnt fuse" /proc/mounts; do sleep 0.05; done
printf 'after\nremount\n' >>"$W/mnt/a/tail"
printf 'wrec' >>"$W/mnt/b/tail"
kill -9 $pid
wait $pid 2>/dev/null || true
fusermount3 -u "$W/mnt" 2>/dev/null || umount -l "$W/mnt"
{ byte 65; topic_sections "$A" 0 8192; topic_sections "$B" 8 8192; } >"$OUT/killed"
{ byte 69; topic_sections "$A" 0 8192; } >"$OUT/killed-fix"

# Producer seeds: settings byte, then operations (fuzz_producer.c).
{ byte 0; byte 0; byte 6; printf 'ab\ncd'; byte 4; byte 4; printf 'xy\nz'; byte 1; byte 2; } >"$POUT/lines"
{ byte 2; byte 0; byte 12; printf 'abcdefghijkl'; byte 0; byte 3; printf 'mn\n'; byte 1; } >"$POUT/discard"
{ byte 1; byte 0; byte 5; printf 'write'; byte 0; byte 9; printf 'too long!'; byte 2; } >"$POUT/write"
{ byte 8; byte 3; byte 200; byte 51; byte 3; byte 100; byte 49; byte 1; } >"$POUT/roll"
{ byte 28; byte 0; byte 4; printf 'a\nb\n'; byte 9; } >"$POUT/sync"
echo "corpus-volume: $(ls "$OUT" | wc -l) files, $(du -sk "$OUT" | cut -f1) KiB"
echo "corpus-producer: $(ls "$POUT" | wc -l) files"
