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
	! grep -q 'subscribed again' "$TMP/offerd.log"
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
