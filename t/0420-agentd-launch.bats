#!/usr/bin/env bats
# agentd's launches: TASK_RUNNING only once the task's exec succeeded
# (task-launch --notify-fd), and a launcher server that does not answer
# never stops the agent's event loop.

load helper

setup() {
	setup_tmp
	OFFERD_FLAGS="-t 2s -T 60s"
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# launch_argv NAME TASK ARGV-JSON [USER]: launch TASK running ARGV-JSON.
launch_argv() {
	bridge_accept "$1" "{\"task_id\":\"$2\",\"resources\":\"cpus:0.5;mem:64\",\"argv\":$3${4:+,\"user\":\"$4\"}}"
}

@test "a task whose exec fails goes STARTING, FAILED, never RUNNING; a good one runs" {
	start_cluster 1
	bridge_start fw
	launch_argv fw bad '["/nonexistent/program"]'
	bridge_wait fw '"state":"TASK_FAILED"' 10
	[ "$(task_states fw bad)" = "TASK_STARTING TASK_FAILED " ]
	[[ "$(status_field fw bad TASK_FAILED reason)" == *nonexistent* ]]
	launch_argv fw good '["true"]'
	bridge_wait fw '"state":"TASK_FINISHED"' 10
	[ "$(task_states fw good)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	launch_argv fw long '["sleep","1"]'
	bridge_wait fw '"task_id":"long".*"state":"TASK_RUNNING"' 10
	bridge_wait fw '"task_id":"long".*"state":"TASK_FINISHED"' 10
	[ "$(task_states fw long)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
}

@test "a task whose user is unknown never runs: agentd refuses it (TASK_ERROR)" {
	start_cluster 1
	bridge_start fw
	launch_argv fw nouser '["true"]' nobodyx
	bridge_wait fw '"state":"TASK_ERROR"' 10
	[ "$(task_states fw nouser)" = "TASK_ERROR " ]
	[[ "$(status_field fw nouser TASK_ERROR reason)" == *nobodyx* ]]
}

@test "a launcher server that does not answer never stops heartbeats" {
	printf '#!/bin/sh\n[ "$1" = --serve ] && exec sleep 60\nexec "%s" "$@"\n' \
	    "$TOP/build/bin/task-launch" >"$TMP/mute"
	chmod +x "$TMP/mute"
	start_daemon offerd offerd -d -v -w "$TMP/master" -t 2s
	start_daemon agentx agentd -d -v -k -w "$TMP/ax" -R 'cpus:1;mem:256' \
	    -H 200ms --launcher "$TMP/mute"
	wait_for 15 agents_registered 1
	bridge_start fw
	launch_argv fw first '["true"]'
	# 5 s without an answer: more than the master's agent timeout (2 s)
	sleep 3
	agents_registered 1
	! grep -q '"type":"AGENT_LOST"' "$TMP/fw.ev" || false
	bridge_wait fw '"state":"TASK_FINISHED"' 10
	! grep -q TASK_UNREACHABLE "$TMP/fw.ev" || false
	grep -q "has no --serve: one exec per task" "$TMP/agentx.log"
}

@test "start-up failures go through the log with agentd(8)'s exit statuses" {
	run agentd -d -g bogus
	[ "$status" -eq 100 ]
	[[ "$output" == *"grace 'bogus'"* ]]
	run agentd -d -E 2
	[ "$status" -eq 100 ]
	run agentd -d -w /proc/agentd-cannot-be-here
	[ "$status" -eq 111 ]
	[[ "$output" == *"work dir /proc/agentd-cannot-be-here"* ]]
}
