#!/usr/bin/env bats
# agent-emu (t/bench/agent-emu.c, agentd's protocol module with emulated
# tasks): fifty emulated agents in one process register with a real
# offerd, run timed tasks through the normal protocol (status updates
# retransmitted until acknowledged, in order) and obey KILL.

load helper

EMU=$TOP/build/bench/agent-emu

setup() {
	setup_tmp
	# the emulator starts first: its first start makes the credential,
	# as agentd's would, and the master takes it
	start_daemon emu "$EMU" -d -v -N emu -R 'cpus:2;mem:1024' \
	    -a 'rack:r%{i%10};zone:z%{i/25}' -H 500ms --update-retry 1s 50
	wait_for 15 test -e "$CLUSTER_CONF/credentials"
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 15 agents_registered 50
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# accept NAME TASK [DURATION]: launch TASK on a free offer, running for
# DURATION seconds (no duration: until killed).
accept() {
	bridge_accept "$1" "{\"task_id\":\"$2\",\"resources\":\"cpus:1;mem:128\",\"argv\":[\"sleep\",\"${3:-0}\"]${3:+,\"duration\":$3}}"
}

@test "started before any master, the emulator makes the first credential and seals with it" {
	grep -q 'first start: made the credential of principal root' "$TMP/emu.log"
	! grep -q 'first start' "$TMP/offerd.log" || false
	! grep -q 'unauthenticated' "$TMP/offerd.log" || false
	[ "$(cut -d' ' -f1 "$CLUSTER_CONF/credentials")" = root ]
}

@test "all fifty emulated agents register with their names and attributes" {
	run cluster-ctl -h -o hostname,attributes,resources agents
	[ "${#lines[@]}" -eq 50 ]
	for i in 0 17 25 49; do
		[[ "$output" == *"emu-$i "* ]]
	done
	[[ "$output" == *"emu-17  rack:r7;zone:z0  cpus:2;mem:1024"* ]]
	[[ "$output" == *"emu-49  rack:r9;zone:z1  cpus:2;mem:1024"* ]]
	[ "$(cluster-ctl -h -o agent_id agents | sort -u | wc -l)" -eq 50 ]
	# heartbeats keep them active past the registration
	sleep 1
	agents_registered 50
}

@test "a task with a duration of 1 s finishes through the normal protocol" {
	bridge_start fw
	accept fw timed 1
	bridge_wait fw '"state":"TASK_FINISHED"' 10
	[ "$(task_states fw timed)" = "TASK_RUNNING TASK_FINISHED " ]
	run_ms=$(status_field fw timed TASK_RUNNING timestamp_ms)
	end_ms=$(status_field fw timed TASK_FINISHED timestamp_ms)
	echo "ran $((end_ms - run_ms)) ms"
	[ $((end_ms - run_ms)) -ge 1000 ]
	[ $((end_ms - run_ms)) -lt 3000 ]
	cluster-ctl -h -o task_id,state tasks | grep timed | grep -q TASK_FINISHED
	# acknowledged: no retransmission follows
	sleep 2
	[ "$(task_states fw timed)" = "TASK_RUNNING TASK_FINISHED " ]
}

@test "KILL ends an emulated task without a duration" {
	bridge_start fw
	accept fw forever
	bridge_wait fw '"state":"TASK_RUNNING"'
	sleep 0.5
	[ "$(task_states fw forever)" = "TASK_RUNNING " ]
	bridge_send fw '{"type":"KILL","task_id":"forever"}'
	bridge_wait fw '"state":"TASK_KILLED"'
	[ "$(task_states fw forever)" = "TASK_RUNNING TASK_KILLED " ]
	cluster-ctl -h -o task_id,state tasks | grep forever | grep -q TASK_KILLED
}

@test "updates are resent until acknowledged, and in order" {
	bridge_start fw --manual-ack
	accept fw quick 0.2
	bridge_wait fw '"state":"TASK_RUNNING"'
	# not acknowledged: TASK_RUNNING again after a second (-u), nothing after it
	wait_for 5 sh -c "[ \$(grep -c '\"state\":\"TASK_RUNNING\"' '$TMP/fw.ev') -ge 2 ]"
	! grep -q '"state":"TASK_FINISHED"' "$TMP/fw.ev" || false
	uuid=$(status_field fw quick TASK_RUNNING uuid)
	bridge_ack fw quick "$uuid"
	bridge_wait fw '"state":"TASK_FINISHED"'
	uuid=$(status_field fw quick TASK_FINISHED uuid)
	bridge_ack fw quick "$uuid"
	cluster-ctl -h -o task_id,state tasks | grep quick | grep -q TASK_FINISHED
}

@test "a bad duration fails the task; a bad count or pattern is refused" {
	bridge_start fw
	accept fw negative -1
	bridge_wait fw '"state":"TASK_FAILED"'
	[[ "$(status_field fw negative TASK_FAILED reason)" == *duration* ]]
	run "$EMU" -d 0
	[ "$status" -eq 100 ]
	run "$EMU" -d -a 'rack:%{j}' 2
	[ "$status" -eq 111 ]
	run agentd -d -E 2
	[ "$status" -eq 100 ]
}

@test "after a master restart, emulated agents re-register with their tasks" {
	bridge_start fw
	accept fw stay
	bridge_wait fw '"state":"TASK_RUNNING"'
	kill -9 "$PID_offerd"
	start_daemon offerd2 offerd -d -v -w "$TMP/master"
	wait_for 20 agents_registered 50
	# the task is known again from the agent that runs it
	wait_for 10 sh -c "cluster-ctl -h -o task_id,state tasks | grep stay | grep -q TASK_RUNNING"
}

@test "an optimistic framework's view of 2,500 agents comes in pages of 1,000, every agent once, the last one complete" {
	start_daemon emu2 "$EMU" -d -N big -R 'cpus:2;mem:1024' -H 2s 2450
	wait_for 60 agents_registered 2500
	bridge_start opt -O
	bridge_wait opt '"type":"FREE".*"complete":true' 30
	grep '"type":"FREE"' "$TMP/opt.ev" | jq -r '[(.agents | length), .complete] | @tsv' >"$TMP/pages"
	cat "$TMP/pages"
	[ "$(cat "$TMP/pages")" = "$(printf '1000\tfalse\n1000\tfalse\n500\ttrue')" ]
	[ "$(grep '"type":"FREE"' "$TMP/opt.ev" | jq -r '.agents[].agent_id' | sort -u | wc -l)" -eq 2500 ]
	grep '"type":"FREE"' "$TMP/opt.ev" | jq -r '.agents[] | select(.hostname == "big-2449") | .free' | grep -qx 'cpus:2;mem:1024'
}
