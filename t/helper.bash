# Shared set-up for the bats suite: every test gets its own temporary
# directory, its own ipc endpoints and the freshly built programs on PATH.
# Daemons started with start_daemon are stopped by teardown_daemons.

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
export PATH="$TOP/build/bin:$PATH"

setup_tmp() {
	TMP=$(mktemp -d /tmp/cluster-test.XXXXXX)
	export TMP
	export CLUSTER_MASTER="ipc://$TMP/master.ipc"
	PIDS=""
}

# start_daemon NAME CMD...: run CMD in the background, its output in
# $TMP/NAME.log, and remember it for teardown.
start_daemon() {
	local name=$1; shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$(echo "$name" | tr -c 'a-zA-Z0-9_\n' _)=$!"
}

teardown_daemons() {
	local p
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	PIDS=""
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(( $(date +%s) + $1 )); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Print every daemon log; bats shows it only when a test fails.
dump_logs() {
	local f
	for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
}

cleanup_tmp() {
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# start_cluster [N]: offerd (with its drf-alloc) and N agents (default 2),
# each agent offering cpus:2;mem:1024, all on ipc endpoints under $TMP.
# Waits until every agent is registered.  Extra offerd flags: $OFFERD_FLAGS.
start_cluster() {
	local n=${1:-2} i
	start_daemon offerd offerd -d -v -w "$TMP/master" $OFFERD_FLAGS
	for i in $(seq "$n"); do
		start_daemon "agent$i" agentd -d -v -k -w "$TMP/agent$i" \
		    -h "host$i" -r "${AGENT_RESOURCES:-cpus:2;mem:1024}" \
		    -a "rack:r$i" -g 1s
	done
	wait_for 15 agents_registered "$n"
}

# agents_registered N: true when the master lists N active agents.
agents_registered() {
	[ "$(cluster-ctl -h -o active agents 2>/dev/null | grep -c yes)" -eq "$1" ]
}
