#!/usr/bin/env bats
# Tasks run through task-launch under agentd: why each ended comes back.

load helper

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for cgroups and namespaces"
	setup_tmp
	start_cluster 1
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

@test "agentd advertises the isolators this machine supports" {
	run cluster-ctl -o json agents
	[[ "$output" == *'"isolators":['* ]]
	[[ "$output" == *'"memory"'* ]]
	[[ "$output" == *'"pid"'* ]]
}

@test "a task past its memory limit is reported as memory limit exceeded" {
	run cluster-ctl run --mem 32 -N hog -- perl -e '$x = "a" x (200 * 1024 * 1024); sleep 1'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *TASK_FAILED* ]]
	[[ "$output" == *'reason="memory limit exceeded"'* ]]
	run cluster-ctl -o json tasks
	[[ "$output" == *'"oom":true'* ]]
}

@test "a finished task reports what it used" {
	run cluster-ctl run -- sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'
	[ "$status" -eq 0 ]
	run cluster-ctl -o json tasks
	[[ "$output" == *'"cpu_ms":'* ]]
	[[ "$output" == *'"mem_peak_mb":'* ]]
}

@test "killing a task leaves nothing of it, even children that ignore SIGTERM" {
	cluster-ctl run -N stubborn -- sh -c 'trap "" TERM; sh -c "sleep 300" marker-x1y2 & sleep 300' >"$TMP/out" 2>&1 &
	pid=$!
	wait_for 10 grep -q running "$TMP/out"
	wait_for 5 pgrep -f marker-x1y2
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ]
	wait_for 10 sh -c "cluster-ctl -o json tasks | grep stubborn | grep -q TASK_KILLED"
	! pgrep -f marker-x1y2 || false
}

@test "the task is pid 1 of its own pid namespace and holds no capabilities" {
	run cluster-ctl run -- sh -c 'echo pid=$$; grep CapEff /proc/self/status'
	[ "$status" -eq 0 ]
	sandbox=$(echo "$output" | sed -n 's/.*sandbox=\([^ ]*\).*/\1/p' | tail -1)
	grep -q '^pid=1$' "$sandbox/stdout"
	grep -q 'CapEff:.*0000000000000000' "$sandbox/stdout"
}

@test "agentd --launcher swaps the isolation step" {
	teardown_daemons
	start_daemon offerd offerd -d -w "$TMP/m2"
	start_daemon agentx agentd -d -k -w "$TMP/ax" -R 'cpus:1;mem:256' \
	    --launcher "$TOP/examples/launcher-nice/launcher"
	wait_for 15 agents_registered 1
	run cluster-ctl run -- sh -c 'echo nice=$(nice)'
	echo "$output"
	[ "$status" -eq 0 ]
	sandbox=$(echo "$output" | sed -n 's/.*sandbox=\([^ ]*\).*/\1/p' | tail -1)
	grep -q '^nice=1[0-9]$' "$sandbox/stdout"
}

# The launcher server agentd $1 (a pid) keeps, if there is one.
server_of() {
	pgrep -P "$1" -f -- '--serve$' | head -1
}

# run_until_running NAME CMD...: cluster-ctl run in the background (its
# pid in $pid, its output in $TMP/out) until the task runs; then $srv is
# agent1's launcher server.
run_until_running() {
	local name=$1; shift
	cluster-ctl run -N "$name" -- "$@" >"$TMP/out" 2>&1 &
	pid=$!
	wait_for 10 grep -q running "$TMP/out"
	srv=$(server_of "$PID_agent1")
	[ -n "$srv" ]
}

@test "agentd forks each launcher from one task-launch --serve of its own" {
	run_until_running waiter sleep 30
	pgrep -P "$srv" -f 'task-launch: supervisor of .*waiter'
	kill -TERM "$pid"
	wait "$pid" || true
	# the server stays for the next task
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	[ "$(server_of "$PID_agent1")" = "$srv" ]
}

@test "a task outlives a lost launcher server, and the next task gets a new one" {
	run_until_running outlive sleep 2
	kill -KILL "$srv"
	st=0
	wait "$pid" || st=$?
	cat "$TMP/out"
	[ "$st" -eq 0 ]
	grep -q 'TASK_FINISHED' "$TMP/out"
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	new=$(server_of "$PID_agent1")
	[ -n "$new" ]
	[ "$new" != "$srv" ]
}

@test "a new launcher file gets a new launcher server at the next launch" {
	teardown_daemons
	cp "$TOP/build/bin/task-launch" "$TMP/tl"
	start_daemon offerd offerd -d -w "$TMP/m2"
	start_daemon agentx agentd -d -k -w "$TMP/ax" -R 'cpus:1;mem:256' --launcher "$TMP/tl"
	wait_for 15 agents_registered 1
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	srv=$(server_of "$PID_agentx")
	[ -n "$srv" ]
	cp "$TOP/build/bin/task-launch" "$TMP/tl.new"
	mv "$TMP/tl.new" "$TMP/tl"
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	new=$(server_of "$PID_agentx")
	[ -n "$new" ]
	[ "$new" != "$srv" ]
	wait_for 5 sh -c "! kill -0 $srv 2>/dev/null"
}

@test "a launcher that does not answer --serve within 5 s gets one exec per task" {
	teardown_daemons
	printf '#!/bin/sh\n[ "$1" = --serve ] && exec sleep 60\nexec "%s" "$@"\n' \
	    "$TOP/build/bin/task-launch" >"$TMP/mute"
	chmod +x "$TMP/mute"
	start_daemon offerd offerd -d -w "$TMP/m2"
	start_daemon agentx agentd -d -v -k -w "$TMP/ax" -R 'cpus:1;mem:256' --launcher "$TMP/mute"
	wait_for 15 agents_registered 1
	SECONDS=0
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	[ "$SECONDS" -ge 5 ]
	grep -q "has no --serve: one exec per task" "$TMP/agentx.log"
	! pgrep -P "$PID_agentx" -x sleep || false
	# and the next launch does not wait again
	SECONDS=0
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	[ "$SECONDS" -lt 5 ]
}

