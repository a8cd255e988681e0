#!/bin/sh
# make run: format ./volume if there is none, mount it on ./mnt, say how to
# use it.
set -eu
BUILD=${1:-build}
VOL=${VOLUME:-./volume}
MNT=${MNT:-./mnt}

for p in logfs mkfs.logfs; do
	if [ ! -x "$BUILD/$p" ]; then
		echo "run: $BUILD/$p is missing: the build did not produce it" >&2
		exit 1
	fi
done
if [ ! -e /dev/fuse ]; then
	echo "run: /dev/fuse is missing: this machine cannot mount FUSE filesystems" >&2
	exit 1
fi
if [ ! -f "$VOL/superblock" ]; then
	"$BUILD/mkfs.logfs" -L demo "$VOL"
fi
# mkdir fails on a dead mount a crashed daemon left: logfs replaces it.
mkdir -p "$MNT" 2>/dev/null || true
ERR=$(mktemp)
if "$BUILD/logfs" "$VOL" "$MNT" 2>"$ERR"; then
	cat "$ERR" >&2
elif grep -q 'already a logfs mount' "$ERR"; then
	echo "run: $MNT is already mounted"
else
	cat "$ERR" >&2
	rm -f "$ERR"
	exit 1
fi
rm -f "$ERR"
cat <<MSG
logfs is mounted on $MNT (volume $VOL). Try:
  mkdir $MNT/app                      # a topic
  echo "hello" >> $MNT/app/tail       # append a record
  cat $MNT/app/tail                   # read the log
  tail -F -s 0.2 $MNT/app/tail        # follow it
  getfattr -d -m user.logfs $MNT/app  # offsets, sizes, settings
Unmount with:
  fusermount3 -u $MNT
MSG
