# Sourced by bench/mirror*.sh: starts a three-node JetStream cluster on
# loopback in $W (nats-server, one cluster, JetStream on every node) and
# waits for its leader. Needs B (the build directory) and W; appends the
# servers' pids to PIDS and sets URL (node 1) and URLS (all three).
for i in 1 2 3; do
	eval "P$i=$("$B/tests/tools/nats_tool" port)"
	eval "R$i=$("$B/tests/tools/nats_tool" port)"
done
ROUTES="nats-route://127.0.0.1:$R1,nats-route://127.0.0.1:$R2,nats-route://127.0.0.1:$R3"
for i in 1 2 3; do
	eval "p=\$P$i; r=\$R$i"
	mkdir -p "$W/js$i"
	cat >"$W/n$i.conf" <<EOC
server_name: n$i
listen: 127.0.0.1:$p
jetstream { store_dir: "$W/js$i" }
cluster { name: bench, listen: 127.0.0.1:$r, routes: [$ROUTES] }
EOC
	# (sessions of their own: bench/mirror.sh says why)
	if [ "${MIRROR_SETSID:-1}" = 1 ]; then
		setsid nats-server -c "$W/n$i.conf" >"$W/n$i.log" 2>&1 &
	else
		nats-server -c "$W/n$i.conf" >"$W/n$i.log" 2>&1 &
	fi
	PIDS="$PIDS $!"
done
URL=nats://127.0.0.1:$P1
URLS="$URL,nats://127.0.0.1:$P2,nats://127.0.0.1:$P3"
n=0
until "$B/tests/tools/nats_tool" ready "$URL" 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 600 ] || { echo "no JetStream leader after 60 s" >&2; exit 1; }
	sleep 0.1
done
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# cluster: 3 nats-server $(nats-server --version | awk '{print $NF}') on loopback, R3 streams"
