#!/bin/sh
# SPEC "What the mount shows": chown/chmod of tail change the topic's owner
# and mode, so a daemon that reopens and chowns its log keeps working. The
# daemon: Debian's nginx, its access_log and error_log on topics, loaded by
# ab (apache2-utils) on a loopback port, `nginx -s reopen` (what logrotate
# sends) between two loads; every request is logged exactly once. This
# suite starts its own nginx with its own configuration and stops it.
. "$LFS_SRC/tests/lib/mount.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if ! as_root || [ ! -x "$NGINX" ] || ! command -v ab >/dev/null; then
	skip "nginx on logfs" "needs root, nginx and ab (tools/install-deps.sh)"
	finish
fi

# ---- chown and chmod of tail, by themselves ----
V=$T/vol
M=$T/mnt
vol_new "$V" || exit 1
lfs_mount "$V" "$M" -o allow_other || exit 1
mkdir "$M/t"
echo one >>"$M/t/tail"
check "chown of tail works" chown 65534:65534 "$M/t/tail"
check "chown of tail changes the topic's owner" eq "$(stat -c %u:%g "$M/t")" 65534:65534
check "tail shows the new owner" eq "$(stat -c %u:%g "$M/t/tail")" 65534:65534
setfattr -n user.logfs.segment_size -v 4K "$M/t"
seq 2000 >>"$M/t/tail"
S0=$M/t/00000000000000000000.log
check "the sealed segments have the topic's new owner" eq "$(stat -c %u:%g "$S0")" 65534:65534
check "chmod 640 of tail works" chmod 640 "$M/t/tail"
check "tail is 0640" eq "$(stat -c %a "$M/t/tail")" 640
check "the topic is 0750 (read bits give search bits)" eq "$(stat -c %a "$M/t")" 750
chmod 2775 "$M/t"
check "chmod 600 of tail keeps the topic's setgid bit" chmod 600 "$M/t/tail"
check "the topic is 2700" eq "$(stat -c %a "$M/t")" 2700
check "chown of a sealed segment still fails (EPERM)" fails_with EPERM chown 0:0 "$S0"
check "chmod of a sealed segment still fails (EPERM)" fails_with EPERM chmod 0644 "$S0"
check "the topic kept its owner" eq "$(stat -c %u:%g "$M/t")" 65534:65534
lfs_umount "$M"
lfs_mount "$V" "$M" -o allow_other || exit 1
check "tail's owner and mode survive a remount" eq "$(stat -c %u:%g:%a "$M/t/tail")" 65534:65534:600
lfs_umount "$M"

# ---- nginx ----
NV=$T/nvol
vol_new "$NV" || exit 1
lfs_mount "$NV" "$M" -o allow_other || exit 1
mkdir "$M/access" "$M/error"
# The workers run as nobody: they must reach the mount.
chmod 0711 "$T"
mkdir -p "$T/ngx/tmp"

# A free loopback port: one nobody listens on (/proc/net/tcp, state 0A).
listening()
{
	awk -v p="$(printf '%04X' "$1")" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
PORT=$((20000 + $$ % 30000))
while listening "$PORT"; do PORT=$((PORT + 1)); done

cat >"$T/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
user nobody nogroup;
pid $T/ngx/nginx.pid;
error_log $M/error/tail info;
events { worker_connections 256; }
http {
	access_log $M/access/tail;
	client_body_temp_path $T/ngx/tmp/body;
	proxy_temp_path $T/ngx/tmp/proxy;
	fastcgi_temp_path $T/ngx/tmp/fastcgi;
	uwsgi_temp_path $T/ngx/tmp/uwsgi;
	scgi_temp_path $T/ngx/tmp/scgi;
	server {
		listen 127.0.0.1:$PORT;
		location / { return 200 "ok\n"; }
	}
}
EOF
bg "$NGINX" -c "$T/nginx.conf" -p "$T/ngx/" -e "$M/error/tail"
NPID=$BGPID
up() { [ "$(ab -q -n 1 "http://127.0.0.1:$PORT/warmup" 2>/dev/null | awk '/^Complete requests/ { print $3 }')" = 1 ]; }
check "nginx starts with its logs on topics (port $PORT)" wait_for 20 up

ab_run()
{
	ab -q -n "$2" -c 8 "http://127.0.0.1:$PORT/$1" >"$T/ab.$1" 2>&1
	awk '/^Complete requests/ { c = $3 } /^Failed requests/ { f = $3 } END { print c + 0, f + 0 }' "$T/ab.$1"
}
check "ab: 3000 requests before the reopen, none failed" eq "$(ab_run before 3000)" "3000 0"
"$NGINX" -c "$T/nginx.conf" -p "$T/ngx/" -s reopen 2>"$T/reopen.err"
check "nginx -s reopen succeeds" eq "$?" 0
# The master reopens, chowns to nobody, and tells the workers; they say
# "reopening logs" when done.
workers_reopened() { [ "$(grep -c 'reopening logs' "$M/error/tail")" -ge 3 ]; }
check "the master and both workers reopen their logs" wait_for 20 workers_reopened
check "the reopened logs belong to the workers' user (chown of tail)" \
	eq "$(stat -c %U "$M/access/tail") $(stat -c %U "$M/error/tail")" "nobody nobody"
check "ab: 3000 requests after the reopen, none failed" eq "$(ab_run after 3000)" "3000 0"
"$NGINX" -c "$T/nginx.conf" -p "$T/ngx/" -s quit 2>/dev/null
check "nginx quits" wait_gone "$NPID" 20
wait "$NPID" 2>/dev/null
check "nginx logged no error on the topics (no failed open or chown)" \
	sh -c "! grep -E 'failed|\\[(crit|alert|emerg)\\]' '$M/error/tail'"
grep -E 'failed|\[(crit|alert|emerg)\]' "$M/error/tail" | head -n 5 | while IFS= read -r l; do note "$l"; done
check "every request before the reopen is logged exactly once" \
	eq "$(grep -c '"GET /before HTTP' "$M/access/tail")" 3000
check "every request after the reopen is logged exactly once" \
	eq "$(grep -c '"GET /after HTTP' "$M/access/tail")" 3000
check "the access log holds nothing else but the warm-up requests" \
	eq "$(grep -vc '"GET /\(before\|after\|warmup\) HTTP' "$M/access/tail")" 0
lfs_umount "$M"
chmod 0700 "$T"
check "fsck.logfs -f: the volume nginx wrote is clean" "$LFS_BUILD/fsck.logfs" -f "$NV"
finish
