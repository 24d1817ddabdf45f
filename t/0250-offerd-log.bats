#!/usr/bin/env bats
# The master's log tells the story: first subscriptions, task ends, kills
# and weight changes, with who asked.

load helper

setup() { setup_tmp; start_cluster 1; }
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

@test "a first subscription, a kill, task ends and a weight change are logged as what they are" {
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	grep -q 'framework fw-[0-9a-f]* (run) subscribed in role' "$TMP/offerd.log"
	! grep -q 'subscribed again' "$TMP/offerd.log" || false
	grep -q 'task run-[0-9a-f]* of fw-[0-9a-f]* on agent-[0-9a-f]* ended: TASK_FINISHED' "$TMP/offerd.log"
	bridge_start fw
	bridge_launch fw t1 "sleep 30 # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	bridge_send fw '{"type":"KILL","task_id":"t1"}'
	bridge_wait fw '"state":"TASK_KILLED"'
	grep -q "task t1 of $(bridge_fw fw): kill asked by its framework" "$TMP/offerd.log"
	grep -q "task t1 of $(bridge_fw fw) on .* ended: TASK_KILLED" "$TMP/offerd.log"
	run cluster-ctl weight gold 2.5
	[ "$status" -eq 0 ]
	grep -q 'role gold: weight 2.5, set by root' "$TMP/offerd.log"
}

@test "weights are read back with cluster-ctl weights and survive a restart; -W wins for the roles it names" {
	run cluster-ctl weights
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]	# the heading alone
	cluster-ctl weight gold 2.5 >/dev/null
	cluster-ctl weight silver 0.5 >/dev/null
	run cluster-ctl -h weights
	[[ "$output" == *"gold    2.500"* ]] || [[ "$output" == *"gold  2.500"* ]]
	[ "$(cluster-ctl -o json weights | jq -r 'select(.role == "silver") .weight')" = 0.5 ]
	teardown_daemons
	start_daemon offerd offerd -d -v -w "$TMP/master" -W silver=3
	wait_for 10 sh -c 'cluster-ctl -o json weights | grep -q gold'
	[ "$(cluster-ctl -o json weights | jq -r 'select(.role == "gold") .weight')" = 2.5 ]
	[ "$(cluster-ctl -o json weights | jq -r 'select(.role == "silver") .weight')" = 3 ]
	run cluster-ctl -o bogus weights
	[ "$status" -eq 100 ]
}
