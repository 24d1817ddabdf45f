#!/usr/bin/env bats
# A one-machine cluster: offerd, drf-alloc and two agentd run real commands.

load helper

setup() { setup_tmp; start_cluster 2; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

@test "both agents register and are listed with their resources" {
	run cluster-ctl agents
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" == AGENT_ID* ]]
	[[ "$output" == *host1* ]]
	[[ "$output" == *host2* ]]
	[[ "$output" == *"cpus:2;mem:1024"* ]]
	run cluster-ctl -o json agents
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *'"hostname":"host'* ]]
	run cluster-ctl -h -o hostname,attributes agents
	[[ "$output" == *"host1  rack:r1"* || "$output" == *"host2  rack:r2"* ]]
	[[ "${lines[0]}" != HOSTNAME* ]]
}

@test "run prints the final state, exits with the task's status, output is in the sandbox" {
	run cluster-ctl run -- sh -c 'echo hi; exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"TASK_FAILED exit_code=3"* ]]
	sandbox=$(echo "$output" | sed -n 's/.*sandbox=\([^ ]*\).*/\1/p' | tail -1)
	[ -d "$sandbox" ]
	[ "$(cat "$sandbox/stdout")" = hi ]
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
}

@test "the task list shows finished tasks with their exit codes" {
	cluster-ctl run -N listed -- sh -c 'exit 7' || true
	run cluster-ctl -o json tasks
	[[ "$output" == *'"state":"TASK_FAILED"'* ]]
	[[ "$output" == *'"exit_code":7'* ]]
	[[ "$output" == *'"name":"listed"'* ]]
}

@test "two runs at once, each wanting more than half of one agent, both finish" {
	cluster-ctl run --cpus 1.5 --mem 600 -N a -- sh -c 'sleep 1; echo A' >"$TMP/a.out" 2>&1 &
	pa=$!
	cluster-ctl run --cpus 1.5 --mem 600 -N b -- sh -c 'sleep 1; echo B' >"$TMP/b.out" 2>&1 &
	pb=$!
	wait "$pa"
	wait "$pb"
	grep -q TASK_FINISHED "$TMP/a.out"
	grep -q TASK_FINISHED "$TMP/b.out"
	# one agent cannot hold both: they ran on different agents
	ha=$(sed -n 's/.*agent=\([^ ]*\).*/\1/p' "$TMP/a.out")
	hb=$(sed -n 's/.*agent=\([^ ]*\).*/\1/p' "$TMP/b.out")
	[ -n "$ha" ]
	[ -n "$hb" ]
	[ "$ha" != "$hb" ]
}

@test "a task is never launched on more than an agent holds: on a busy cluster run waits, then -t gives up" {
	cluster-ctl run -c 1.5 -N hog1 -- sh -c "sleep 30 # marker-$$" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	cluster-ctl run -c 1.5 -N hog2 -- sh -c "sleep 30 # marker-$$" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_for 15 sh -c '[ "$(cluster-ctl -h -o state tasks | grep -c TASK_RUNNING)" -eq 2 ]'
	run cluster-ctl -t 2s run --cpus 1 -- true
	[ "$status" -eq 124 ]
	[[ "$output" == *"timed out"* ]]
}

@test "a run killed by a signal kills its task and exits 128+signal" {
	cluster-ctl run -N victim -- sh -c 'echo started; sleep 60' >"$TMP/v.out" 2>&1 &
	pid=$!
	wait_for 10 grep -q running "$TMP/v.out"
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	wait_for 10 sh -c "cluster-ctl -o json tasks | grep victim | grep -q TASK_KILLED"
}

@test "agentd -k: a clean stop kills its tasks and reports them killed" {
	cluster-ctl run -N stopped -- sh -c "sleep 60 # marker-k-$$" >"$TMP/k.out" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 10 grep -q running "$TMP/k.out"
	agent=$(sed -n 's/.* running on \([^ ]*\) .*/\1/p' "$TMP/k.out")
	if grep -q "registered as $agent" "$TMP/agent1.log"; then
		victim=$PID_agent1
	else
		victim=$PID_agent2
	fi
	kill -TERM "$victim"
	wait_for 15 grep -q TASK_KILLED "$TMP/k.out"
	wait_for 10 no_process "marker-k-$$"
}

@test "ranges: a task takes ports from its agent, which offers the rest" {
	teardown_daemons
	start_daemon offerd offerd -d -w "$TMP/mp"
	start_daemon agentp agentd -d -k -w "$TMP/ap" -R 'cpus:2;mem:512;ports:[31000-31009]'
	wait_for 15 agents_registered 1
	cluster-ctl run -R 'cpus:0.5;mem:32;ports:[31002-31003]' -- sleep 30 >"$TMP/p.out" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 10 grep -q running "$TMP/p.out"
	run cluster-ctl -h -o free agents
	[[ "$output" == *"ports:[31000-31001,31004-31009]"* ]]
	# ports it does not have: no use waiting
	run cluster-ctl -t 2s run -R 'cpus:0.1;mem:8;ports:[40000-40001]' -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"could ever hold"* ]]
}

@test "a task that asks for no memory or no cpu is refused: it would run unbounded and uncounted" {
	run cluster-ctl run -c 0 -M 0 -- sh -c "echo ran-$$ > /tmp/unbounded-$$"
	[ "$status" -eq 125 ]
	[[ "$output" == *"needs at least mem:4 and cpus:0.01"* ]]
	[ ! -e "/tmp/unbounded-$$" ]
	run cluster-ctl run -c 1 -M 2 -- true
	[ "$status" -eq 125 ]
	run cluster-ctl run -c 0.001 -M 64 -- true
	[ "$status" -eq 125 ]
	# the least is enough, and the cluster kept serving
	run cluster-ctl run -c 0.01 -M 4 -- true
	[ "$status" -eq 0 ]
}

@test "run fails fast when nothing could ever hold the task, or no master answers; -a and -u place and name it" {
	run cluster-ctl run -c 1000 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"no registered agent could ever hold cpus:1000;mem:128"* ]]
	run cluster-ctl run -R 'cpus:1;mem:64;gpus:1' -- true
	[ "$status" -eq 125 ]
	run cluster-ctl run -a rack:r9 -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"with attributes rack:r9"* ]]
	run cluster-ctl run -a bad -- true
	[ "$status" -eq 100 ]
	# -a places it: only host2 has rack:r2
	run cluster-ctl run -a rack:r2 -- true
	[ "$status" -eq 0 ]
	agent=$(echo "$output" | sed -n 's/.*agent=\([^ ]*\).*/\1/p')
	[ "$(cluster-ctl -h -o agent_id,hostname agents | awk -v a="$agent" '$1 == a {print $2}')" = host2 ]
	# -u names the user the task runs as
	[ "$(cluster-ctl run -u daemon -- id -un 2>/dev/null)" = daemon ]
	run cluster-ctl run -u ../x -- true
	[ "$status" -eq 100 ]
	# no master: a clear message and 111 within the query timeout
	start=$(date +%s)
	run env CLUSTER_MASTER="ipc://$TMP/nobody.ipc" cluster-ctl run -- true
	[ "$status" -eq 111 ]
	[[ "$output" == *"no answer from the master"* ]]
	[ $(( $(date +%s) - start )) -lt 20 ]
}
