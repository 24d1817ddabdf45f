#!/usr/bin/env bats
# Fault tolerance: a restarted master and failed-over schedulers.

load helper

setup() {
	setup_tmp
	# -o: the bridges hold the offers they do not use; a short offer
	# timeout hands those to the other frameworks
	OFFERD_FLAGS="-F 2s -O 5s"
	start_cluster 2
}
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

# The running tasks as the master sees them: id, state, agent; sorted.
running_tasks() {
	cluster-ctl -h -o task_id,state,agent_id tasks | grep TASK_RUNNING | sort
}

@test "kill -9 and restart of offerd while tasks run: all state comes back, nothing lost" {
	cluster-ctl run -N keep -- sh -c "sleep 5; echo survived # marker-$$" >"$TMP/run.out" 2>&1 &
	runpid=$!
	bridge_start fw
	bridge_launch fw long1 "sleep 30 # marker-$$"
	bridge_launch fw long2 "sleep 30 # marker-$$"
	wait_for 15 sh -c "[ \$(cluster-ctl -h -o state tasks | grep -c TASK_RUNNING) -eq 3 ]"
	before=$(running_tasks)
	fwid=$(bridge_fw fw)
	kill -9 "$PID_offerd"
	start_daemon offerd2 offerd -d -v -w "$TMP/master" -F 2s -O 5s
	# agents re-register with their tasks, frameworks subscribe again
	wait_for 15 agents_registered 2
	wait_for 15 sh -c "[ \$(cluster-ctl -h -o state tasks | grep -c TASK_RUNNING) -eq 3 ]"
	after=$(running_tasks)
	echo "before: $before"; echo "after: $after"
	[ "$before" = "$after" ]
	wait_for 10 sh -c "cluster-ctl -h -o framework_id,name,active frameworks | grep '$fwid' | grep -q 'fw .*yes'"
	# the one-shot run finishes as if nothing happened
	st=0
	wait "$runpid" || st=$?
	[ "$st" -eq 0 ]
	grep -q TASK_FINISHED "$TMP/run.out"
	sandbox=$(sed -n 's/.*sandbox=\([^ ]*\).*/\1/p' "$TMP/run.out" | tail -1)
	[ "$(cat "$sandbox/stdout")" = survived ]
	# and the master remembers what it had seen (new ids are written
	# within 5 s of being seen)
	wait_for 10 grep -q "$fwid" "$TMP/master/state.json"
}

@test "a scheduler that comes back within its failover timeout keeps its tasks" {
	bridge_start f1 -F 4s
	fwid=$(bridge_fw f1)
	bridge_launch f1 kept "sleep 30 # marker-$$"
	bridge_wait f1 TASK_RUNNING
	kill -9 "$PID_bridge_f1"
	sleep 1
	bridge_start f1b -F 4s -i "$fwid"
	[ "$(bridge_fw f1b)" = "$fwid" ]
	# past the silence timeout (2 s) plus the failover timeout (4 s)
	sleep 7
	cluster-ctl -h -o task_id,state tasks | grep kept | grep -q TASK_RUNNING
	bridge_send f1b '{"type":"RECONCILE","task_ids":["kept"]}'
	bridge_wait f1b '"task_id":"kept".*"state":"TASK_RUNNING"'
}

@test "a scheduler gone past its failover timeout: its tasks are killed, its id is refused" {
	bridge_start f2 -F 2s
	fwid=$(bridge_fw f2)
	bridge_launch f2 doomed "sleep 30 # marker-$$"
	bridge_wait f2 TASK_RUNNING
	kill -9 "$PID_bridge_f2"
	wait_for 15 sh -c "cluster-ctl -h -o task_id,state tasks | grep doomed | grep -q TASK_KILLED"
	wait_for 10 no_process "marker-$$"
	run sh -c "echo | cluster-ctl -t 2s subscribe -i $fwid"
	[[ "$output" == *"was removed"* ]]
}

@test "after a master restart, a framework that does not come back within -R has its tasks killed" {
	bridge_start gone
	bridge_launch gone orphan "sleep 60 # marker-$$"
	bridge_wait gone TASK_RUNNING
	kill -9 "$PID_bridge_gone"
	kill -9 "$PID_offerd"
	start_daemon offerd2 offerd -d -v -w "$TMP/master" -F 2s -O 5s --recovery-timeout 2s
	# the agents bring the task back; nobody claims its framework
	wait_for 15 sh -c "cluster-ctl -h -o task_id,state tasks | grep orphan | grep -q TASK_RUNNING"
	wait_for 15 sh -c "cluster-ctl -h -o task_id,state tasks | grep orphan | grep -q TASK_KILLED"
	wait_for 10 no_process "marker-$$"
	grep -q "waiting 2000 ms for it to subscribe again" "$TMP/offerd2.log"
}

@test "SIGHUP writes the durable state and offerd goes on serving; the file dates each id" {
	bridge_start hup
	fwid=$(bridge_fw hup)
	kill -HUP "$PID_offerd"
	wait_for 5 grep -q "\"$fwid\":[0-9]" "$TMP/master/state.json"
	grep -q "SIGHUP: writing the durable state" "$TMP/offerd.log"
	kill -0 "$PID_offerd"
	run cluster-ctl -h -o active agents
	[ "$status" -eq 0 ]
	# an id removed is written at once, and stays refused
	kill -9 "$PID_bridge_hup"
	wait_for 15 sh -c "grep -o '\"frameworks_removed\":{[^}]*}' '$TMP/master/state.json' | grep -q '$fwid'"
}

# restart_offerd FLAGS...: kill -9 of the master, and a new one on its
# work dir (its registry: the agent and framework ids it had seen).
restart_offerd() {
	kill -9 "$PID_offerd"
	wait "$PID_offerd" 2>/dev/null || true
	start_daemon offerd offerd -d -v -w "$TMP/master" "$@"
}

# the agent (start_cluster's agentN) a task of the bridge runs on
task_agent() {
	grep "\"task_id\":\"$2\"" "$TMP/$1.ev" | head -1 | jq -r .agent_id
}

@test "after a master restart, a task on an agent still to register is unreachable to RECONCILE, not lost; known once it is back" {
	bridge_start rc -F 60s
	fwid=$(bridge_fw rc)
	bridge_launch rc held "sleep 60 # marker-$$"
	bridge_wait rc '"task_id":"held".*TASK_RUNNING'
	aid=$(task_agent rc held)
	# the agent running it dies (its task lives on), then the master;
	# the registry has both agents written once seen (within 5 s)
	wait_for 10 grep -q "$aid" "$TMP/master/state.json"
	n=$(cluster-ctl -h -o agent_id,hostname agents | awk -v a="$aid" '$1 == a { sub("host", "", $2); print $2 }')
	[ -n "$n" ]
	kill -9 "$(eval echo \$PID_agent$n)"
	restart_offerd -F 2s -O 5s -t 30s
	# the other agent is back; the framework subscribed again
	wait_for 15 agents_registered 1
	wait_for 15 grep -q "framework $fwid .*subscribed" "$TMP/offerd.log"
	bridge_send rc '{"type":"RECONCILE","task_ids":["held","never"]}'
	bridge_wait rc '"task_id":"held".*"state":"TASK_UNREACHABLE".*"reconcile":true'
	bridge_wait rc '"task_id":"never".*"state":"TASK_UNREACHABLE"'
	! grep -q '"state":"TASK_LOST"' "$TMP/rc.ev" || false
	# its agent comes back with the task: known, and now a task no
	# agent had is lost
	start_daemon "agent${n}b" agentd -d -v -k -w "$TMP/agent$n" \
	    -N "host$n" -R "cpus:2;mem:1024" -a "rack:r$n" -g 1s
	wait_for 15 agents_registered 2
	: >"$TMP/rc.ev"
	bridge_send rc '{"type":"RECONCILE","task_ids":["held","never"]}'
	bridge_wait rc '"task_id":"held".*"state":"TASK_RUNNING"'
	bridge_wait rc '"task_id":"never".*"state":"TASK_LOST".*"reason":"unknown task"'
	! grep -q '"task_id":"held".*"state":"TASK_LOST"' "$TMP/rc.ev" || false
}

@test "an agent of the registry that never comes back holds RECONCILE's answers for the agent timeout, no longer" {
	bridge_start rd -F 60s
	fwid=$(bridge_fw rd)
	wait_for 10 grep -q "$fwid" "$TMP/master/state.json"
	agent1_kill9
	restart_offerd -F 2s -O 5s -t 4s
	wait_for 15 agents_registered 1
	wait_for 15 grep -q "framework $fwid .*subscribed" "$TMP/offerd.log"
	bridge_send rd '{"type":"RECONCILE","task_ids":["never"]}'
	bridge_wait rd '"task_id":"never".*"state":"TASK_UNREACHABLE"'
	sleep 4
	: >"$TMP/rd.ev"
	bridge_send rd '{"type":"RECONCILE","task_ids":["never"]}'
	bridge_wait rd '"task_id":"never".*"state":"TASK_LOST".*"reason":"unknown task"'
	grep -q "1 agents of the registry did not register again within 4000 ms" "$TMP/offerd.log"
	# and the master kept serving
	cluster-ctl -h agents >/dev/null
}
