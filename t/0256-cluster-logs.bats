#!/usr/bin/env bats
# A task's output from wherever it runs, through the master: cluster-ctl
# run streams it as srun does, cluster-ctl logs reads and follows it
# (LOGS and LOGS_DATA in cluster-protocol(7)).

load helper

setup() { setup_tmp; start_cluster 1; }
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

@test "run streams the task's stdout and stderr to its own, in a pipeline, with the task's exit status" {
	run cluster-ctl run -- hostname
	[ "$status" -eq 0 ]
	sandbox=$(echo "$output" | sed -n 's/.*sandbox=\([^ ]*\).*/\1/p' | tail -1)
	[ -n "$(cat "$sandbox/stdout")" ]
	echo "$output" | grep -qx "$(cat "$sandbox/stdout")"
	[ "$(cluster-ctl run -- seq 3 2>/dev/null | wc -l)" -eq 3 ]
	out=$(cluster-ctl run -- sh -c 'echo to-out; echo to-err >&2; exit 4' 2>"$TMP/err") && st=0 || st=$?
	[ "$st" -eq 4 ]
	[ "$out" = to-out ]
	grep -qx to-err "$TMP/err"
	grep -q 'TASK_FAILED exit_code=4' "$TMP/err"
	# -q: the output stays in the sandbox only
	out=$(cluster-ctl run -q -- echo hidden 2>/dev/null)
	[ -z "$out" ]
}

@test "large and binary output arrives whole, in order" {
	sum=$(cluster-ctl run -- sh -c 'head -c 2000000 /dev/urandom | tee big' 2>/dev/null | md5sum)
	file=$(ls "$TMP"/agent1/tasks/*/*/sandbox/big)
	[ "$sum" = "$(md5sum <"$file")" ]
}

@test "logs reads a task's stdout and stderr; -s picks one; -f follows it to its end" {
	cluster-ctl run -N done -- sh -c 'echo a; echo b >&2' >/dev/null 2>&1
	tid=$(cluster-ctl -h -o task_id,name tasks | awk '$2 == "done" {print $1}')
	run cluster-ctl logs "$tid"
	[ "$status" -eq 0 ]
	[[ "$output" == *a* ]]
	[[ "$output" == *b* ]]
	[ "$(cluster-ctl logs --stream=stdout "$tid" 2>/dev/null)" = a ]
	[ "$(cluster-ctl logs --stream=stderr "$tid" 2>&1 >/dev/null)" = b ]
	cluster-ctl run -N slow -- sh -c 'for i in 1 2 3; do echo tick $i; sleep 1; done' >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_for 10 sh -c "cluster-ctl -h -o name,state tasks | grep -q 'slow *TASK_RUNNING'"
	tid=$(cluster-ctl -h -o task_id,name tasks | awk '$2 == "slow" {print $1}')
	run cluster-ctl logs -f "$tid"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'tick 1\ntick 2\ntick 3')" ]
}

@test "bad requests: an unknown task, a bad stream, another principal, a symlink in the sandbox" {
	run cluster-ctl logs no-such-task
	[ "$status" -eq 1 ]
	[[ "$output" == *"no task no-such-task"* ]]
	run cluster-ctl logs --stream=both x
	[ "$status" -eq 100 ]
	run cluster-ctl logs ../x
	[ "$status" -eq 100 ]
	# a master that does not answer: 111 after -t
	run env CLUSTER_MASTER="ipc://$TMP/nobody.ipc" cluster-ctl -t 1s logs --framework fw-x t-x
	[ "$status" -eq 111 ]
	[[ "$output" == *"no answer about task t-x"* ]]
	cluster-ctl run -N mine -- sh -c 'echo secret' >/dev/null 2>&1
	tid=$(cluster-ctl -h -o task_id,name tasks | awk '$2 == "mine" {print $1}')
	fid=$(cluster-ctl -h -o framework_id,name tasks | awk '$2 == "mine" {print $1}')
	principal bob
	run cluster-ctl -C "$TMP/bob" logs --framework "$fid" "$tid"
	[ "$status" -eq 1 ]
	[[ "$output" == *"belongs to another principal"* ]]
	[[ "$output" != *secret* ]]
	grep -q "refused LOGS from principal bob" "$TMP/offerd.log"
	# a task that swaps its stdout for a link to a file of the agent's
	cluster-ctl run -N sly -- sh -c 'rm stdout; ln -s /etc/hostname stdout' >/dev/null 2>&1
	tid=$(cluster-ctl -h -o task_id,name tasks | awk '$2 == "sly" {print $1}')
	run cluster-ctl logs --stream=stdout "$tid"
	[ "$status" -eq 1 ]
	[[ "$output" != *"$(cat /etc/hostname)"* ]]
	[ "$(cluster-ctl -h -o active agents)" = yes ]
	run cluster-ctl logs "$tid"
	[ "$status" -eq 1 ]
}

@test "at most 1024 reads wait for agents at once: more are refused 'limited', and the master keeps serving" {
	cluster-ctl run -N quiet -- echo words >/dev/null 2>&1
	tid=$(cluster-ctl -h -o task_id,name tasks | awk '$2 == "quiet" {print $1}')
	fid=$(cluster-ctl -h -o framework_id,name tasks | awk '$2 == "quiet" {print $1}')
	# an agent that does not answer: every read waits for it
	kill -STOP "$PID_agent1"
	run sh -c 'for i in $(seq 1030); do printf "{\"type\":\"LOGS\",\"framework_id\":\"%s\",\"task_id\":\"%s\"}\n" "$1" "$2"; done | cluster-ctl send --wait 1s' - "$fid" "$tid"
	kill -CONT "$PID_agent1"
	[ "$(grep -c '"code":"limited"' <<<"$output")" -eq 6 ]
	grep -q "refused LOGS from principal $(id -un): too many log reads in flight" "$TMP/offerd.log"
	# the waits end (5 s at most) and reads work again
	wait_for 15 sh -c "[ \"\$(cluster-ctl logs --framework $fid $tid 2>/dev/null)\" = words ]"
	[ "$(cluster-ctl -h -o active agents)" = yes ]
}
