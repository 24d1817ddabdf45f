#!/usr/bin/env bats
# Fault tolerance: lost, restarted and removed agents.

load helper

setup() {
	setup_tmp
	OFFERD_FLAGS="-t 2s -T 60s"
	start_cluster 1
	bridge_start fw
}
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

@test "a killed agent's tasks become unreachable, then run again when it returns, and end once" {
	bridge_launch fw t1 "sleep 6 # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	kill -9 "$PID_agent1"
	# within the agent timeout (2 s) plus a tick
	bridge_wait fw '"state":"TASK_UNREACHABLE"' 6
	bridge_wait fw '"type":"AGENT_LOST"' 2
	# the task goes on without its agent
	pgrep -f "marker-$$"
	start_daemon agent1b agentd -d -v -k -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -g 1s
	bridge_wait fw '"reason":"agent reachable again"'
	bridge_wait fw '"state":"TASK_FINISHED"' 15
	sleep 1
	[ "$(task_states fw t1)" = "TASK_STARTING TASK_RUNNING TASK_UNREACHABLE TASK_RUNNING TASK_FINISHED " ]
}

@test "an agent restarted while tasks run recovers them; none is lost, their updates arrive" {
	bridge_launch fw t2 "sleep 3; echo done # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	kill -9 "$PID_agent1"
	start_daemon agent1b agentd -d -v -k -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -g 1s
	bridge_wait fw '"state":"TASK_FINISHED"' 15
	grep -q 'recovered task t2' "$TMP/agent1b.log"
	# the same agent id, and the task's output in its sandbox
	[ "$(cluster-ctl -h -o agent_id agents | wc -l)" -eq 1 ]
	sandbox=$(grep '"state":"TASK_FINISHED"' "$TMP/fw.ev" | sed 's/.*"sandbox":"\([^"]*\)".*/\1/')
	[ "$(cat "$sandbox/stdout")" = done ]
	[ "$(bridge_count fw '"state":"TASK_FINISHED"')" -eq 1 ]
}

@test "a task that ends while its agent is down is reported when the agent returns" {
	bridge_launch fw t3 "sleep 1; exit 4 # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	kill -9 "$PID_agent1"
	sleep 2
	start_daemon agent1b agentd -d -v -k -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -g 1s
	bridge_wait fw '"state":"TASK_FAILED"' 15
	grep '"state":"TASK_FAILED"' "$TMP/fw.ev" | grep -q '"exit_code":4'
}

# manual_cluster TAG [AGENTD OPTION ...]: a cluster of its own, offerd and
# one agent "agentTAG" (work dir $TMP/aTAG), and a bridge "manual" that
# acknowledges nothing by itself.
manual_cluster() {
	local tag=$1
	shift
	teardown_daemons
	start_daemon offerd offerd -d -v -w "$TMP/m$tag"
	start_daemon "agent$tag" agentd -d -v -k -w "$TMP/a$tag" -R 'cpus:2;mem:1024' "$@"
	wait_for 15 agents_registered 1
	bridge_start manual --manual-ack
}

@test "the updates log: after a restart only the unacknowledged update is sent again" {
	manual_cluster l -g 1s
	bridge_launch manual t6 "sleep 30 # marker-$$"
	bridge_wait manual '"state":"TASK_STARTING"'
	uuid=$(status_field manual t6 TASK_STARTING uuid)
	bridge_ack manual t6 "$uuid"
	# the next update goes out once the first is acknowledged
	bridge_wait manual '"state":"TASK_RUNNING"'
	log=$(echo "$TMP"/al/tasks/*/t6/updates.log)
	wait_for 10 grep -q "\"ack\":\"$uuid\"" "$log"
	# appended to, never rewritten: STARTING first, then RUNNING and the
	# ack in the order they came (the ack may beat the exec's RUNNING)
	[ "$(wc -l <"$log")" -eq 3 ]
	[ "$(sed -n 1p "$log" | jq -r .state)" = TASK_STARTING ]
	[ "$(grep -c '"state":"TASK_RUNNING"' "$log")" -eq 1 ]
	kill -9 "$PID_agentl"
	start_daemon agentl2 agentd -d -v -k -w "$TMP/al" -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 sh -c "[ \$(grep -c '\"state\":\"TASK_RUNNING\"' '$TMP/manual.ev') -ge 2 ]"
	[ "$(bridge_count manual '"state":"TASK_STARTING"')" -eq 1 ]
	grep -q 'recovered task t6' "$TMP/agentl2.log"
}

@test "the updates log: a task the master gave up on is killed at restart; one all acknowledged is closed" {
	wd="$TMP/az"
	mkdir -p "$wd/tasks/fwx/gone" "$wd/tasks/fwx/done"
	# "gone": still running, its updates cleared when the master removed us
	bash -c 'exec -a "$0" sleep 300' "marker-$$-gone" &
	pid=$!
	start=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$pid/stat")
	echo "$pid $start" >"$wd/tasks/fwx/gone/launcher.pid"
	echo '{"task_id":"gone","resources":"cpus:0.5;mem:64","command":"sleep 300"}' >"$wd/tasks/fwx/gone/task.json"
	printf '%s\n' '{"type":"STATUS","task_id":"gone","state":"TASK_STARTING","uuid":"u1"}' \
	    '{"type":"STATUS","task_id":"gone","state":"TASK_RUNNING","uuid":"u2"}' \
	    '{"clear":true}' >"$wd/tasks/fwx/gone/updates.log"
	# "done": ended, every update acknowledged, but no acked file yet
	echo '{"task_id":"done","resources":"cpus:0.5;mem:64","command":"true"}' >"$wd/tasks/fwx/done/task.json"
	printf '%s\n' '{"type":"STATUS","task_id":"done","state":"TASK_STARTING","uuid":"u3"}' \
	    '{"ack":"u3"}' '{"type":"STATUS","task_id":"done","state":"TASK_FINISHED","uuid":"u4"}' \
	    '{"ack":"u4"}' >"$wd/tasks/fwx/done/updates.log"
	start_daemon agentz agentd -d -v -k -w "$wd" -N hostz -R 'cpus:2;mem:1024' -g 1s
	wait_for 10 no_process "marker-$$-gone"
	wait_for 10 test -e "$wd/tasks/fwx/gone/acked"
	[ -e "$wd/tasks/fwx/done/acked" ]
	grep -q 'recovered task gone of fwx: still running' "$TMP/agentz.log"
	! grep -q 'recovered task done' "$TMP/agentz.log" || false
	# neither task is reported to the master
	sleep 0.5
	! cluster-ctl -h -o task_id tasks | grep -qx 'gone\|done' || false
}

@test "status updates are retransmitted until acknowledged, in order" {
	manual_cluster m --update-retry 1s
	bridge_launch manual t4 "true"
	bridge_wait manual '"state":"TASK_STARTING"'
	# unacknowledged: STARTING comes again, and nothing after it yet
	wait_for 10 sh -c "[ \$(grep -c TASK_STARTING '$TMP/manual.ev') -ge 2 ]"
	[ "$(bridge_count manual TASK_FINISHED)" -eq 0 ]
	bridge_ack manual t4 "$(status_field manual t4 TASK_STARTING uuid)"
	bridge_wait manual TASK_RUNNING
}

@test "without -u an unacknowledged update waits 10 s before it is sent again" {
	manual_cluster n
	bridge_launch manual t7 "true"
	bridge_wait manual '"state":"TASK_STARTING"'
	sleep 3
	[ "$(bridge_count manual TASK_STARTING)" -eq 1 ]
}

@test "an agent away past the removal timeout: its tasks are lost; back, it is told to kill them" {
	teardown_daemons
	start_daemon offerd offerd -d -v -w "$TMP/m3" -t 1s -T 2s
	start_daemon agentr agentd -d -v -k -w "$TMP/ar" -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 agents_registered 1
	bridge_start fr
	bridge_launch fr t5 "sleep 60 # marker-$$"
	bridge_wait fr '"state":"TASK_RUNNING"'
	kill -9 "$PID_agentr"
	bridge_wait fr '"state":"TASK_LOST"' 10
	grep '"state":"TASK_LOST"' "$TMP/fr.ev" | grep -q '"reason":"agent removed"'
	start_daemon agentr2 agentd -d -v -k -w "$TMP/ar" -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 agents_registered 1
	# the old task is killed and reported no more
	wait_for 10 no_process "marker-$$"
	sleep 1
	[ "$(bridge_count fr '"state":"TASK_LOST"')" -eq 1 ]
	[ "$(bridge_count fr '"state":"TASK_KILLED"')" -eq 0 ]
	grep -q removed "$TMP/m3/state.json"
}
