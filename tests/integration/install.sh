#!/bin/sh
# make install and make uninstall (README "Install"): uninstall removes
# exactly what install put under PREFIX, and nothing else.
. "$LFS_SRC/tests/lib/mount.sh"

D=$T/dest
P=/usr/local
files="sbin/logfs sbin/mkfs.logfs sbin/fsck.logfs share/man/man8/logfs.8 \
share/man/man8/mkfs.logfs.8 share/man/man8/fsck.logfs.8"
all_there() { for f in $files; do [ -f "$D$P/$f" ] || return 1; done; }
none_there() { for f in $files; do [ ! -e "$D$P/$f" ] || return 1; done; }

# BUILD= the suite's own build: install finds it up to date.
make -s -C "$LFS_SRC" install BUILD="$LFS_BUILD" DESTDIR="$D" PREFIX="$P" >"$T/o" 2>&1
check "make install DESTDIR= PREFIX= succeeds" eq "$?" 0
check "make install puts the three programs and their man pages under PREFIX" all_there
check "the installed logfs runs" sh -c "'$D$P/sbin/logfs' --version | grep -q '^logfs '"
mkdir -p "$D$P/sbin" && echo other >"$D$P/sbin/other-program"
make -s -C "$LFS_SRC" uninstall BUILD="$LFS_BUILD" DESTDIR="$D" PREFIX="$P" >"$T/o" 2>&1
check "make uninstall succeeds" eq "$?" 0
check "make uninstall removes every file install put there" none_there
check "make uninstall leaves other files alone" test -f "$D$P/sbin/other-program"
make -s -C "$LFS_SRC" uninstall BUILD="$LFS_BUILD" DESTDIR="$D" PREFIX="$P" >"$T/o" 2>&1
check "make uninstall of nothing installed succeeds" eq "$?" 0
finish
