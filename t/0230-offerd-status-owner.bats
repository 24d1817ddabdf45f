#!/usr/bin/env bats
# offerd takes a STATUS only from the agent that runs the task, over that
# agent's own connection: anyone else's is refused with the code not_owner.

load helper

setup() {
	setup_tmp
	start_cluster 2
	bridge_start fw
}
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

# status_from AGENT_ID: send a TASK_FAILED of task t1 naming AGENT_ID
# from a connection of its own (cluster-ctl send); prints the answer.
status_from() {
	echo "{\"type\":\"STATUS\",\"agent_id\":\"$1\",\"framework_id\":\"$(bridge_fw fw)\",\"task_id\":\"t1\",\"state\":\"TASK_FAILED\",\"uuid\":\"forged-$1\"}" |
	    cluster-ctl send --wait 500ms
}

@test "a STATUS not from the task's agent is refused; the task runs on, listed running, and the master serves" {
	bridge_launch fw t1 "sleep 60 # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	owner=$(cluster-ctl -h -o task_id,agent_id tasks | awk '$1 == "t1" { print $2 }')
	other=$(cluster-ctl -h -o agent_id agents | grep -vx "$owner")
	[ -n "$owner" ]
	[ -n "$other" ]
	# another agent's id: the task is not its
	run status_from "$other"
	[[ "$output" == *'"type":"ERROR"'* ]]
	[[ "$output" == *'"code":"not_owner"'* ]]
	[[ "$output" == *'"about":"STATUS"'* ]]
	# the task's own agent id, but not that agent's connection
	run status_from "$owner"
	[[ "$output" == *'"code":"not_owner"'* ]]
	grep -q "STATUS of task .*t1 refused" "$TMP/offerd.log"
	# nothing changed: still running, listed so, the framework told nothing
	[ "$(cluster-ctl -h -o task_id,state tasks | awk '$1 == "t1" { print $2 }')" = TASK_RUNNING ]
	pgrep -f "marker-$$"
	sleep 1
	! grep -q '"state":"TASK_FAILED"' "$TMP/fw.ev" || false
	! grep -q 'forged-' "$TMP/fw.ev" || false
	# the master serves on, and the real agent's updates are still taken
	kill -0 "$PID_offerd"
	agents_registered 2
	bridge_send fw '{"type":"KILL","task_id":"t1"}'
	bridge_wait fw '"state":"TASK_KILLED"'
	[ "$(cluster-ctl -h -o task_id,state tasks | awk '$1 == "t1" { print $2 }')" = TASK_KILLED ]
}
