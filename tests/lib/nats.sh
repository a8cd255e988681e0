# NATS servers for the mirror tests (tests/integration/mirror_*.sh), sourced
# after tests/lib/mount.sh. Every server runs from a config file under $T on
# free loopback ports and is killed by mount.sh's cleanup (it is in _pids).
#
#   nats_start N [CLUSTER]   writes node N's config (once) and starts it;
#                            CLUSTER: the number of nodes of the cluster
#   nats_kill N              kill -9 of node N
#   nats_signal N SIG        sends SIG to node N (STOP and CONT: a node
#                            that stops answering without closing anything)
#   nats_url N               its client URL
#   nats_wait N [SECONDS]    polls until JetStream answers at node N
#   nats_node_of NAME        the node number of server name NAME (nN)

NATSTOOL=$LFS_BUILD/tests/tools/nats_tool
if ! command -v nats-server >/dev/null 2>&1 || [ ! -x "$NATSTOOL" ]; then
	echo "not ok - nats-server and $NATSTOOL are there (tools/install-deps.sh, make all-tests)"
	exit 1
fi

# nats_ports N: picks client and route ports for nodes 1..N.
nats_ports()
{
	_i=1
	while [ "$_i" -le "$1" ]; do
		eval "NATS_PORT_$_i=$("$NATSTOOL" port)"
		eval "NATS_RPORT_$_i=$("$NATSTOOL" port)"
		_i=$((_i + 1))
	done
}

nats_signal()
{
	eval "_p=\$NATS_PID_$1"
	kill -"$2" "$_p"
}

nats_url() { eval "echo nats://127.0.0.1:\$NATS_PORT_$1"; }

nats_start()
{
	_n=$1
	_c=${2:-0}
	_conf=$T/nats-$_n.conf
	if [ ! -f "$_conf" ]; then
		eval "_port=\$NATS_PORT_$_n"
		mkdir -p "$T/nats-$_n"
		{
			echo "server_name: n$_n"
			# (a test can place a stream on this node by its tag)
			echo "server_tags: [\"n$_n\"]"
			echo "listen: 127.0.0.1:$_port"
			echo "jetstream { store_dir: \"$T/nats-$_n\" }"
			if [ "$_c" -gt 1 ]; then
				eval "_rport=\$NATS_RPORT_$_n"
				_routes=""
				_i=1
				while [ "$_i" -le "$_c" ]; do
					eval "_r=\$NATS_RPORT_$_i"
					_routes="$_routes nats-route://127.0.0.1:$_r"
					_i=$((_i + 1))
				done
				echo "cluster { name: lfs, listen: 127.0.0.1:$_rport, routes: [$(echo $_routes | tr ' ' ',')] }"
			fi
		} >"$_conf"
	fi
	nats-server -c "$_conf" >>"$T/nats-$_n.log" 2>&1 &
	eval "NATS_PID_$_n=$!"
	_pids="$_pids $!"
}

nats_kill()
{
	eval "_p=\$NATS_PID_$1"
	kill -9 "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	return 0
}

nats_wait() { wait_for "${2:-30}" "$NATSTOOL" ready "$(nats_url "$1")" 2>/dev/null; }

nats_node_of() { echo "${1#n}"; }
