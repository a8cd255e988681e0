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
mkdir -p "$MNT"
if grep -qs " $(cd "$MNT" && pwd) fuse.logfs " /proc/mounts; then
	echo "run: $MNT is already mounted"
else
	"$BUILD/logfs" "$VOL" "$MNT"
fi
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
