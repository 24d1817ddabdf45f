#!/usr/bin/env bats
# Master failover with tasks running: three offerd under cluster-elect,
# two agents and a framework that name the master by its election.  The
# leader is killed with SIGKILL; a standby leads, the agents and the
# framework move to it, and every task ends once, none lost.

load helper
load 0800-elect-helper

# ELECT_AGENTD=DIR runs the agentd of DIR (one that follows the leader).
setup() {
	if [ -n "${ELECT_AGENTD:-}" ]; then
		PATH="$ELECT_AGENTD:$PATH"
	else
		grep -q elect_follow "$TOP"/bin/agentd/*.c 2>/dev/null ||
		    skip "needs agentd leader following"
	fi
	setup_tmp
}
teardown() {
	[ -n "${TMP:-}" ] || return 0
	dump_logs; kill_leftovers; teardown_daemons; kill_leftovers
	[ ! -d "$TMP/zk" ] || zk_stop "$TMP/zk"
	pkill -f "marker-$$" || true
	cleanup_tmp
}

# failover_with_tasks: the scenario, on the election $ELECT_ARGS.
failover_with_tasks() {
	export CLUSTER_MASTER=$ELECT_MASTER
	elect_three
	wait_for 15 serving
	for i in 1 2; do
		start_daemon "agent$i" agentd -d -v -k -w "$TMP/agent$i" \
		    -N "host$i" -R 'cpus:2;mem:1024' -g 1s
	done
	wait_for 15 agents_registered 2
	bridge_start fw -F 60s
	fw=$(bridge_fw fw)
	for t in t1 t2 t3; do
		bridge_launch fw "$t" "sleep 6; echo $t # marker-$$" 'cpus:0.5;mem:64'
	done
	for t in t1 t2 t3; do
		bridge_wait fw "\"task_id\":\"$t\".*\"state\":\"TASK_RUNNING\"\\|\"state\":\"TASK_RUNNING\".*\"task_id\":\"$t\""
	done
	old=$(leader_index)
	kill_candidate "$old"
	t0=$(date +%s%N)
	wait_for 10 led_by_other "$old"
	# the agents and the framework are with the new leader
	wait_for 10 agents_registered 2
	wait_for 10 sh -c "cluster-ctl -h -o framework_id,active frameworks | grep -q '^$fw *yes'"
	t1=$(date +%s%N)
	echo "moved in $(( (t1 - t0) / 1000000 )) ms"
	# every task finishes, once, and none is lost
	for t in t1 t2 t3; do
		wait_for 20 sh -c "[ \"\$(grep '\"type\":\"STATUS\"' '$TMP/fw.ev' | grep '\"task_id\":\"$t\"' | grep -c TASK_FINISHED)\" -ge 1 ]"
	done
	sleep 1
	for t in t1 t2 t3; do
		states=$(task_states fw "$t")
		echo "$t: $states"
		[[ "$states" != *TASK_LOST* ]]
		[[ "$states" != *TASK_FAILED* ]]
		[ "$(echo "$states" | grep -o TASK_FINISHED | wc -l)" -eq 1 ]
	done
	# the framework's id did not change
	[ "$(grep -c '"type":"SUBSCRIBED"' "$TMP/fw.ev")" -ge 2 ]
	! grep '"type":"SUBSCRIBED"' "$TMP/fw.ev" | grep -v "\"framework_id\":\"$fw\"" || false
}

@test "failover with the lock file: kill -9 of the leader while tasks run, no task lost" {
	ELECT_MASTER="lock://$TMP/lock"
	ELECT_ARGS="--lock $TMP/lock"
	failover_with_tasks
}

@test "failover with ZooKeeper: kill -9 of the leader while tasks run, no task lost" {
	zk_available || skip "needs java and Debian's zookeeper package"
	zk_start "$TMP/zk"
	ELECT_MASTER="zk://127.0.0.1:$ZK_PORT/cluster"
	ELECT_ARGS="-z $ELECT_MASTER"
	failover_with_tasks
}
