#!/usr/bin/env bats
# A cleanly stopped agent says goodbye (LEAVE): the master rescinds its
# offers and places nothing more on it at once, not after the agent
# timeout; with -k its tasks are killed and reported and it leaves the
# cluster, without -k (a restart, an upgrade) its tasks stay as they are.

load helper

setup() {
	setup_tmp
	start_daemon offerd offerd -d -v -w "$TMP/master" -t 15s
	start_daemon agent2 agentd -d -v -k -w "$TMP/agent2" -N host2 -R 'cpus:2;mem:1024'
}
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

# active_of HOST: the active field of the agent on HOST, or "gone".
active_of() {
	cluster-ctl -h -o hostname,active agents | awk -v h="$1" '$1 == h {print $2; f=1} END {if (!f) print "gone"}'
}
# active_is HOST VALUE: true when active_of HOST is VALUE.
active_is() { [ "$(active_of "$1")" = "$2" ]; }

@test "without -k: out of the pool at once, its task stays running, and it comes back" {
	start_daemon agent1 agentd -d -v -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -a only:one
	wait_for 15 agents_registered 2
	cluster-ctl run -a only:one -N stay -- sh -c "sleep 60 # marker-$$" >"$TMP/stay.out" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 15 grep -q running "$TMP/stay.out"
	kill -TERM "$PID_agent1"
	wait_for 3 active_is host1 no
	grep -q "agent .* (host1) stopped: nothing more is placed there; its 1 tasks stay" "$TMP/offerd.log"
	grep -q "the master took our goodbye" "$TMP/agent1.log"
	[ "$(cluster-ctl -h -o name,state tasks | awk '$1 == "stay" {print $2}')" = TASK_RUNNING ]
	pgrep -f "marker-$$" >/dev/null
	# nothing new goes there: a run lands on host2 at once
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	[[ "$output" == *"agent=$(cluster-ctl -h -o agent_id,hostname agents | awk '$2 == "host2" {print $1}')"* ]]
	# it comes back with its task
	start_daemon agent1b agentd -d -v -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -a only:one
	wait_for 15 active_is host1 yes
	[ "$(cluster-ctl -h -o name,state tasks | awk '$1 == "stay" {print $2}')" = TASK_RUNNING ]
}

@test "with -k: its tasks are killed and reported, and it leaves the cluster" {
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -a only:one -g 1s
	wait_for 15 agents_registered 2
	cluster-ctl run -a only:one -N doomed -- sh -c "sleep 60 # marker-$$" >"$TMP/doomed.out" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 15 grep -q running "$TMP/doomed.out"
	kill -TERM "$PID_agent1"
	wait_for 10 grep -q TASK_KILLED "$TMP/doomed.out"
	wait_for 5 active_is host1 gone
	grep -q "agent .* (host1) left the cluster" "$TMP/offerd.log"
	! pgrep -f "marker-$$" || false
	[ "$(active_of host2)" = yes ]
}

@test "a LEAVE from another principal or for an unknown agent changes nothing" {
	wait_for 15 agents_registered 1
	aid=$(cluster-ctl -h -o agent_id agents)
	run sh -c 'echo "{\"type\":\"LEAVE\",\"agent_id\":\"no-such\"}" | cluster-ctl send'
	[ "$status" -eq 1 ]
	[[ "$output" == *'"code":"unknown_agent"'* ]]
	principal mallory
	run sh -c "echo '{\"type\":\"LEAVE\",\"agent_id\":\"$aid\"}' | cluster-ctl -C '$TMP/mallory' send"
	[ "$status" -eq 1 ]
	[[ "$output" == *'"code":"not_owner"'* ]]
	[ "$(active_of host2)" = yes ]
}
