#!/usr/bin/env bats
# cluster-elect with ZooKeeper: a real server (Debian's zookeeper package)
# on loopback with a 200 ms tick, three offerd candidates, failover on
# kill -9, no split brain after SIGSTOP, a lost server.

bats_require_minimum_version 1.5.0

load helper
load 0800-elect-helper

setup_file() { zk_file_start; }
teardown_file() { zk_file_stop; }

setup() {
	[ -z "$ZK_SKIP" ] || skip "$ZK_SKIP"
	setup_tmp
	# one cluster (one credential) per test: each its own top-level znode
	ELECT_MASTER="zk://127.0.0.1:$ZK_PORT/cluster-t$BATS_TEST_NUMBER-$$"
	ELECT_ARGS="-z $ELECT_MASTER"
	export CLUSTER_MASTER=$ELECT_MASTER
}
teardown() {
	[ -z "$ZK_SKIP" ] || return 0
	elect_teardown
}

@test "zk: bad URLs exit 100, an unreachable server 111" {
	run cluster-elect -z "zk://127.0.0.1:$ZK_PORT" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	run cluster-elect -z "zk://127.0.0.1:$ZK_PORT/a//b" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"empty, '.' or '..' component"* ]]
	run cluster-elect -z "zk:///x" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"no ZooKeeper host"* ]]
	run cluster-ctl -m "zk://127.0.0.1:1/x" leader
	[ "$status" -eq 111 ]
	[[ "$output" == *"no ZooKeeper session"* ]]
	run cluster-elect -d -z "zk://127.0.0.1:1/x" -- offerd -l ipc://x
	[ "$status" -eq 111 ]
	[[ "$output" == *"no ZooKeeper session"* ]]
	# an election nobody joined yet
	run cluster-ctl leader
	[ "$status" -eq 1 ]
	[[ "$output" == *"no leader"* ]]
}

@test "zk: one of three leads and serves; cluster-ctl leader names it" {
	elect_three
	wait_for 15 serving
	[ "$(offerds_running)" -eq 1 ]
	l=$(leader_index)
	[ "$(cluster-ctl leader)" = "ipc://$TMP/m$l.ipc" ]
	run cluster-ctl -o json leader
	[[ "$output" == *'"backend":"zk"'* ]]
	[[ "$output" == *'"candidates":3'* ]]
	[[ "$output" == *'"id":"n_'* ]]
	grep -q "session timeout 1000 ms" "$TMP/elect1.log"
	sleep 1.5
	[ "$(offerds_running)" -eq 1 ]
	[ "$(leader_index)" = "$l" ]
}

@test "zk: kill -9 of the leader and its command: a standby leads within 3 seconds" {
	kill_leader_within 15 6 3000
	[ "$(cluster-ctl -o json leader | grep -o '"candidates":[0-9]*')" = '"candidates":2' ]
}

@test "zk: SIGSTOP past the session: another leads, and at SIGCONT the old leader exits before handling a record" {
	stopped_leader_yields 15 8
}

@test "zk: when ZooKeeper goes away the leader stops its command within about a session" {
	local t0 t1 revoked
	elect_start 1
	wait_for 15 serving
	cmd=$(command_pid 1)
	t0=$(date +%H:%M:%S.%3N)
	zk_stop "$ZK_DIR"
	st=0
	wait "$PID_elect1" || st=$?
	t1=$(date +%H:%M:%S.%3N)
	[ "$st" -eq 111 ]
	# the lease ends about a session after the last word from ZooKeeper:
	# the first of offerd and cluster-elect to see it stops acting then
	revoked=$(grep -m1 -E "no longer sure to lead|lease expired" "$TMP/elect1.log" | cut -d' ' -f1)
	echo "lease revoked after $(ms_between "$t0" "$revoked") ms, exited after $(ms_between "$t0" "$t1") ms"
	[ "$(ms_between "$t0" "$revoked")" -lt 2500 ]
	# stopping the command may take its grace (2 s) on top
	[ "$(ms_between "$t0" "$t1")" -lt 5000 ]
	grep -q "no longer sure to lead" "$TMP/elect1.log"
	! kill -0 "$cmd" 2>/dev/null || false
	# back for whatever runs after us
	zk_start "$ZK_DIR" "$ZK_PORT"
}
