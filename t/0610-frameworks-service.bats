#!/usr/bin/env bats
# examples/service: N instances stay running when a task dies or its agent
# is lost.

load helper

SERVICE="$TOP/build/examples/service/service"

setup() {
	setup_tmp
	# a unique command line, so that pgrep finds this test's tasks only
	NAP="sleep $((200000 + RANDOM))"
	OFFERD_FLAGS="-t 2s" start_cluster 3 3>&-
	start_daemon service "$SERVICE" -n web -N 3 -p 2 -- "$NAP" 3>&-
	wait_for 20 grep -q 'running=3/3 restarts=0' "$TMP/service.log"
	# TASK_RUNNING means the launcher started; the command follows
	wait_for 10 nap_count 3
}

# nap_count N: true when N of this test's task processes run.
nap_count() {
	[ "$(pgrep -fx "$NAP" | wc -l)" -eq "$1" ]
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

# kill_strays: end whatever outlived the daemons (the tasks of a killed
# agent, an allocator whose offerd was killed): processes naming $TMP,
# and this test's tasks.
kill_strays() {
	local p
	for p in $(pgrep -f "$TMP/") $(pgrep -fx "$NAP"); do
		kill -KILL "$p" 2>/dev/null || true
	done
}

# running_tasks: the master's TASK_RUNNING tasks of the service, as
# "task_id hostname" lines.
running_tasks() {
	cluster-ctl -o json tasks | grep '"state":"TASK_RUNNING"' |
	    grep '"task_id":"web-' |
	    sed 's/.*"task_id":"\([^"]*\)".*"hostname":"\([^"]*\)".*/\1 \2/'
}

@test "the service starts N instances, spread as -p allows" {
	[ "$(running_tasks | wc -l)" -eq 3 ]
	# -p 2: no agent holds all three
	[ "$(running_tasks | awk '{print $2}' | sort | uniq -c | awk '$1 > 2' | wc -l)" -eq 0 ]
}

@test "a killed task is replaced and the count is restored" {
	victim=$(pgrep -fx "$NAP" | head -1)
	kill -KILL "$victim"
	wait_for 20 grep -q 'running=3/3 restarts=1' "$TMP/service.log"
	grep -q 'ended: TASK_FAILED' "$TMP/service.log"
	grep -q 'task=web-[0-9]-4 launch' "$TMP/service.log"
	[ "$(running_tasks | wc -l)" -eq 3 ]
	wait_for 10 nap_count 3
	! kill -0 "$victim" 2>/dev/null || false
}

@test "the instances of a lost agent are restarted on the other agents" {
	host=$(running_tasks | awk '{print $2}' | head -1)
	n_there=$(running_tasks | awk -v h="$host" '$2 == h' | wc -l)
	[ "$n_there" -ge 1 ]
	eval "pid=\$PID_agent${host#host}"
	kill -KILL "$pid"
	wait_for 20 grep -q "running=3/3 restarts=$n_there" "$TMP/service.log"
	grep -q 'service agent agent-.* lost' "$TMP/service.log"
	wait_for 10 sh -c "[ \$(cluster-ctl -o json tasks | grep '\"state\":\"TASK_RUNNING\"' | grep -c '\"task_id\":\"web-') -eq 3 ]"
	# none of the running instances is on the dead agent
	running_tasks
	[ "$(running_tasks | awk -v h="$host" '$2 == h' | wc -l)" -eq 0 ]
	[ "$(running_tasks | wc -l)" -eq 3 ]
}

@test "SIGTERM tears the framework down and its tasks are killed" {
	kill -TERM "$PID_service"
	wait_for 10 sh -c "! kill -0 $PID_service 2>/dev/null"
	wait_for 15 sh -c "[ -z \"\$(pgrep -fx '$NAP')\" ]"
	[ -z "$(cluster-ctl -h frameworks)" ]
}

@test "bad arguments: status 100" {
	run "$SERVICE" -N 0 -- true
	[ "$status" -eq 100 ]
	run "$SERVICE" -c x -- true
	[ "$status" -eq 100 ]
	run "$SERVICE"
	[ "$status" -eq 100 ]
}

@test "after a master restart the service subscribes again under its id and keeps its instances" {
	fw=$(sed -n 's/^service subscribed framework=\([^ ]*\)$/\1/p' "$TMP/service.log")
	[ -n "$fw" ]
	before=$(running_tasks | cut -d' ' -f1 | sort)
	kill -9 "$PID_offerd"
	# -R: a framework that does not subscribe again in 5 s loses its tasks
	start_daemon offerd2 offerd -d -v -w "$TMP/master" -t 2s --recovery-timeout 5s
	wait_for 20 grep -q "service subscribed framework=$fw (again)" "$TMP/service.log"
	wait_for 10 sh -c "cluster-ctl -h -o framework_id,active frameworks | grep -q '^$fw *yes'"
	sleep 7
	[ "$(running_tasks | cut -d' ' -f1 | sort)" = "$before" ]
	nap_count 3
	grep -q 'running=3/3 restarts=0' "$TMP/service.log"
	! grep -q 'restarts=[1-9]' "$TMP/service.log" || false
}
