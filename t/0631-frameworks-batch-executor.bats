#!/usr/bin/env bats
# examples/batch --executor: the job's tasks run in one executor per agent
# (examples/batch/batch-executor, or examples/shell-executor), with the
# same delay scheduling and summary line.

load helper
load 0630-batch-helper

BATCH="$TOP/build/examples/batch/batch"
BX="$TOP/build/examples/batch/batch-executor"
SHX="$TOP/examples/shell-executor/shell-executor"

setup() {
	setup_tmp
	start_cluster 2 3>&-	# host1, host2 in rack:r1, rack:r2
	export CTL="$TOP/build/bin/cluster-ctl"	# shell-executor's bridge
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

# started: how many of our executors the agents' logs say they started.
started() {
	cat "$TMP"/agent*.log | grep -c 'executor batch of .*: started'
}

# all_local EXECUTOR N COMMAND: batch runs N tasks of COMMAND in
# EXECUTOR on the two agents (delay 5 s) and succeeds; every task ran
# local, where the summary says, in at most one executor per agent.
all_local() {
	run timeout 90 "$BATCH" --executor "$1" -N "$2" -r 2 -d 5s -- "$3"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"batch tasks=$2 local=$2 nonlocal=0 failed=0 makespan_s="*" executors=2"* ]]
	placements_true
	cat "$TMP"/agent*.log | grep 'executor batch of' || true
	[ "$(started)" -le 2 ]
}

@test "executor mode: 12 tasks on 2 agents finish local in at most one executor per agent" {
	all_local "$BX" 12 'test "$LOCAL" = 1 && echo "i=$TASK_INDEX d=$DATA"'
	[ "$(grep -c 'executor batch of .*: started' "$TMP/agent1.log")" -eq 1 ]
	[ "$(grep -c 'executor batch of .*: started' "$TMP/agent2.log")" -eq 1 ]
}

@test "executor mode: a failing command counts as failed, as without" {
	run timeout 60 "$BATCH" --executor "$BX" -N 3 -r 2 -- 'exit 2'
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"failed=3"* ]]
	[[ "$output" == *"executors="[12]* ]]
	run "$BATCH" --executor
	[ "$status" -eq 100 ]
}

@test "executor mode with examples/shell-executor: it runs the tasks too, with their environment" {
	all_local "$SHX" 4 'test "$LOCAL" = 1 && test "$DATA" = r$((TASK_INDEX % 2 + 1))'
}

@test "makespan of 12 short tasks, command tasks and executor, same cluster" {
	run timeout 60 "$BATCH" -n cmd -N 12 -r 2 -d 5s -- 'sleep 0.2'
	echo "$output"
	[ "$status" -eq 0 ]
	cmd=$(field makespan_s)
	run timeout 90 "$BATCH" -n exec --executor "$BX" -N 12 -r 2 -d 5s -- 'sleep 0.2'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(field local)" -eq 12 ]
	exe=$(field makespan_s)
	echo "# batch 12 x sleep 0.2 on 2 agents: command tasks makespan_s=$cmd, executor makespan_s=$exe" >&3
}

@test "executor mode: SIGTERM tears the job down, its running tasks end and both executors exit" {
	"$BATCH" --executor "$BX" -N 2 -r 2 -- 'sleep 59.25' >"$TMP/b.out" 2>&1 3>&- &
	pid=$!
	PIDS="$PIDS $pid"
	wait_for 30 sh -c "cat '$TMP'/agent*.log | grep -c 'TASK_RUNNING' | grep -qx 2"
	pgrep -f 'sleep 59[.]25' >/dev/null
	kill -TERM "$pid"
	wait_for 20 sh -c "! kill -0 $pid 2>/dev/null"
	wait_for 20 sh -c "! pgrep -f 'sleep 59[.]25' >/dev/null"
	wait_for 20 sh -c "cat '$TMP'/agent*.log | grep -c 'executor batch of .*: executor batch exited' | grep -qx 2"
}
