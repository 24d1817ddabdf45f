#!/usr/bin/env bats
# cluster-ctl run says what it waits for (cluster-ctl(1), run): every
# step with -v, and once, without -v, whatever takes longer than 2 s:
# an offer that holds the task while the cluster is busy.

load helper

setup() {
	setup_tmp
	start_cluster 1
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

@test "run -v says each step: subscribed, the offer accepted, the task's updates" {
	run cluster-ctl run -v -- echo hi
	[ "$status" -eq 0 ]
	[[ "$output" == *"-> SUBSCRIBE as run to the master at $CLUSTER_MASTER"* ]]
	[[ "$output" == *"subscribed as framework fw-"*": waiting for an offer of cpus:1;mem:128"* ]]
	[[ "$output" == *"-> ACCEPT of offer "*" on agent agent-"*" (host1): launching task run-"* ]]
	[[ "$output" == *"TASK_STARTING"* ]]
	[[ "$output" == *hi* ]]
}

@test "run on a busy cluster says once, after 2 s, that it waits for an offer, and why" {
	# the only agent's cpus are taken: the next run waits
	cluster-ctl run -q -N hog -c 2 -- sleep 60 &
	hog=$!
	wait_for 15 sh -c '[ "$(cluster-ctl -h -o state tasks | grep -c TASK_RUNNING)" -eq 1 ]'
	start=$(date +%s)
	run cluster-ctl -t 4s run -- true
	[ "$status" -eq 124 ]
	[ "$(echo "$output" | grep -c 'still waiting for an offer of cpus:1;mem:128')" -eq 1 ]
	[[ "$output" == *"too small declined so far)"* ]]
	# nothing said before the 2 s: the quiet run of a free cluster stays quiet
	kill -INT "$hog"
	wait "$hog" || true
	wait_for 15 sh -c '[ "$(cluster-ctl -h -o state tasks | grep -c TASK_RUNNING)" -eq 0 ]'
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	[[ "$output" != *"still waiting"* ]]
}
