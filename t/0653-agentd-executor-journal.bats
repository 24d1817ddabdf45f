#!/usr/bin/env bats
# The journal of an executor's tasks (agentd(8) FILES): the tasks that run
# in an executor keep one checkpoint file for them all, tasks.log in the
# executor's directory, compacted when it holds mostly done tasks, read
# back at a restart, and removed once the executor and its tasks are gone.

load helper

setup() {
	setup_tmp
	executor_example "$TMP/echo-exec"
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

# xtasks FIRST LAST DATA: tasks sFIRST..sLAST of executor x1, the least
# a task may ask, as one JSON list body.  The executor's own memory has
# room for a sanitized build's (ASan's quarantine keeps what 1,200 tasks
# freed; 64 MB saw it killed for memory at its shutdown under t/san).
xtasks() {
	local i
	for i in $(seq "$1" "$2"); do
		printf '{"task_id":"s%d","resources":"cpus:0.01;mem:4","data":"%s","executor":{"executor_id":"x1","command":"exec %s","resources":"cpus:0.5;mem:256"}}\n' \
		    "$i" "$3" "$TMP/echo-exec"
	done | paste -sd, -
}

# finished NAME N: bridge NAME saw N tasks finish.
finished() {
	[ "$(grep '"type":"STATUS"' "$TMP/$1.ev" | grep -c '"state":"TASK_FINISHED"')" -ge "$2" ]
}

# lines_below FILE N: FILE has fewer than N lines
lines_below() {
	echo "$1: $(wc -l <"$1") lines"
	[ "$(wc -l <"$1")" -lt "$2" ]
}

@test "an executor's tasks share one journal, compacted, read back after kill -9, gone with the executor" {
	AGENT_RESOURCES="cpus:16;mem:8192"
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtasks 0 0 sleep)"
	wait_for 20 state_is_running fw s0
	# 1,200 short tasks after it, in one offer (the least each may
	# ask): about 8,000 journal lines
	bridge_accept fw "$(xtasks 1 1200 hi)"
	wait_for 120 finished fw 1200
	# no task of the executor has a directory of its own
	[ ! -d "$TMP/agent1/tasks" ] || [ -z "$(ls -A "$TMP/agent1/tasks")" ]
	journal=$(echo "$TMP"/agent1/executors/*/x1/tasks.log)
	[ -f "$journal" ]
	# compacted once the tasks' acknowledgements are in, with no line
	# written after them: far fewer lines than were written, its first a
	# snapshot
	wait_for 10 lines_below "$journal" 6000
	head -1 "$journal" | jq -e '.state and .task' >/dev/null
	grep -q '"task_id":"s0"' "$journal"
	# kill -9 and restart: the live task is back in its executor
	agent1_kill9
	agent1_restart
	wait_for 20 grep -q 'executor x1 of .*: registered' "$TMP/agent1b.log"
	grep -q 'recovered task s0 of .*in executor x1' "$TMP/agent1b.log"
	# done tasks are not recovered
	! grep -q 'recovered task s1 ' "$TMP/agent1b.log" || false
	bridge_send fw '{"type":"KILL","task_id":"s0"}'
	wait_for 20 state_is fw s0 TASK_KILLED
	[ "$(task_states fw s0 | tr ' ' '\n' | uniq | tr '\n' ' ')" = "TASK_STARTING TASK_RUNNING TASK_KILLED " ]
	# every short task finished once at least, none failed or was lost
	[ "$(grep '"type":"STATUS"' "$TMP/fw.ev" | grep '"state":"TASK_FINISHED"' | jq -r .task_id | sort -u | wc -l)" -eq 1200 ]
	! grep '"type":"STATUS"' "$TMP/fw.ev" | grep -q -e TASK_FAILED -e TASK_LOST || false
	# the framework goes: its executor shuts down, and the journal goes
	bridge_send fw '{"type":"TEARDOWN"}'
	wait_for 20 grep -q 'executor x1 of .*exited' "$TMP/agent1b.log"
	wait_for 10 test ! -e "$journal"
}

@test "a torn last line of a journal ends its replay; the lines before it count" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtasks 1 2 sleep)"
	wait_for 20 state_is_running fw s1
	wait_for 20 state_is_running fw s2
	journal=$(echo "$TMP"/agent1/executors/*/x1/tasks.log)
	agent1_kill9
	# a crash in the middle of a write: half a line at the end
	printf '{"task_id":"s2","state":"TASK_FIN' >>"$journal"
	agent1_restart
	wait_for 20 grep -q 'executor x1 of .*: registered' "$TMP/agent1b.log"
	grep -q 'recovered task s1 of .*in executor x1' "$TMP/agent1b.log"
	grep -q 'recovered task s2 of .*in executor x1' "$TMP/agent1b.log"
	bridge_send fw '{"type":"KILL","task_id":"s2"}'
	wait_for 20 state_is fw s2 TASK_KILLED
	! task_states fw s2 | grep -q TASK_FINISHED || false
}

# state_is_running NAME TASK: TASK has been reported running.
state_is_running() {
	task_states "$1" "$2" | grep -q TASK_RUNNING
}

state_is() {
	[ "$(task_states "$1" "$2" | awk '{print $NF}')" = "$3" ]
}

@test "an executor is handed 128 tasks it has not answered at most; the rest follow as it answers" {
	AGENT_RESOURCES="cpus:16;mem:8192"
	start_cluster 1 3>&-
	# it notes each task it is given, and answers none before a "go"
	cat >"$TMP/slow-exec" <<'EOS'
#!/bin/sh
go=
"$CTL" executor <"$1/x.in" | while read -r line; do
	case $line in
	*'"type":"LAUNCH_TASK"'*)
		t=$(echo "$line" | jq -r .task.task_id)
		echo "$t" >>"$1/given"
		[ -z "$go" ] || echo "{\"type\":\"STATUS\",\"task_id\":\"$t\",\"state\":\"TASK_FINISHED\"}" >&3 ;;
	*'"type":"FRAMEWORK_MESSAGE"'*)
		go=1
		for t in $(sort -u "$1/given"); do
			echo "{\"type\":\"STATUS\",\"task_id\":\"$t\",\"state\":\"TASK_FINISHED\"}" >&3
		done ;;
	*'"type":"SHUTDOWN"'*)
		exit 0 ;;
	esac
done 3>"$1/x.in"
EOS
	chmod 755 "$TMP/slow-exec"
	bridge_start fw
	# room for its shell, jq and cluster-ctl (sanitized under t/san) as
	# the tasks' end shrinks it: a tighter cgroup thrashes
	x='"executor":{"executor_id":"slow","command":"mkfifo x.in && exec '"$TMP"'/slow-exec $PWD","resources":"cpus:0.2;mem:256","env":{"CTL":"'"$TOP/build/bin/cluster-ctl"'"}}'
	tasks=$(for i in $(seq 1 300); do
		printf '{"task_id":"w%d","resources":"cpus:0.01;mem:4",%s}\n' "$i" "$x"
	done | paste -sd, -)
	bridge_accept fw "$tasks"
	wait_for 30 given_at_least 128
	# its registrations every 500 ms bring the same tasks again, no more
	sleep 3
	[ "$(given)" -eq 128 ]
	# in the order the framework sent them
	[ "$(cat "$TMP"/agent1/executors/*/slow/sandbox/given | sort -u | sort -k1.2n | tail -1)" = w128 ]
	aid=$(grep '"type":"STATUS"' "$TMP/fw.ev" | head -1 | jq -r .agent_id)
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"slow\",\"data\":\"go\"}"
	wait_for 90 finished fw 300
	[ "$(given)" -eq 300 ]
}

# given: how many tasks the slow executor was given.
given() {
	cat "$TMP"/agent1/executors/*/slow/sandbox/given 2>/dev/null | sort -u | wc -l
}

given_at_least() {
	[ "$(given)" -ge "$1" ]
}
