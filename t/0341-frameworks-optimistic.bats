#!/usr/bin/env bats
# examples/opt-service and examples/opt-gang: schedulers on shared state
# (cluster-protocol(7), SHARED STATE).  The service keeps N instances
# running and places again what conflicted; the gang starts whole or not
# at all, whatever the room and whoever takes it meanwhile.

load helper

OPTSVC="$TOP/build/examples/opt-service/opt-service"
OPTGANG="$TOP/build/examples/opt-gang/opt-gang"

setup() {
	setup_tmp
	# a unique command line, so that pgrep finds this test's tasks only
	NAP="sleep $((200000 + RANDOM))"
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

kill_strays() {
	local p
	for p in $(pgrep -f "$TMP/") $(pgrep -fx "$NAP"); do
		kill -KILL "$p" 2>/dev/null || true
	done
}

# nap_count N: true when N of this test's task processes run.
nap_count() {
	[ "$(pgrep -fx "$NAP" | wc -l)" -eq "$1" ]
}

# live PREFIX: the master's tasks whose id starts with PREFIX and that
# have not ended, as "task_id state hostname" lines.
live() {
	cluster-ctl -o json tasks | jq -r "select(.task_id | startswith(\"$1\")) |
	    select(.state | test(\"STAGING|STARTING|RUNNING\")) |
	    \"\\(.task_id) \\(.state) \\(.hostname)\""
}

# running PREFIX N: true when exactly N tasks of PREFIX run.
running() {
	[ "$(live "$1" | grep -c TASK_RUNNING)" -eq "$2" ]
}

# gang_watch PREFIX SIZE LOG: until LOG says the gang started whole, check
# every 0.1 s that the gang has no task or all SIZE of them (a partial
# gang fails the test); then that all SIZE run.
gang_watch() {
	local n i
	for i in $(seq 600); do
		n=$(live "$1" | wc -l)
		[ "$n" -eq 0 ] || [ "$n" -eq "$2" ] || { echo "partial gang: $n tasks"; live "$1"; return 1; }
		grep -q 'started whole' "$3" && break
		sleep 0.1
	done
	grep -q 'started whole' "$3"
	[ "$(live "$1" | grep -c TASK_RUNNING)" -eq "$2" ]
}

# agent_start I: one more agent, as start_cluster starts them.
agent_start() {
	start_daemon "agent$1" agentd -d -v -k -w "$TMP/agent$1" -N "host$1" \
	    -R "${AGENT_RESOURCES:-cpus:2;mem:1024}" -a "rack:r$1" -g 1s
}

@test "opt-service: N instances run, a killed one is placed again" {
	OFFERD_FLAGS="-t 2s" start_cluster 3 3>&-
	start_daemon svc "$OPTSVC" -n web -N 3 -d 0.5s -- "$NAP" 3>&-
	wait_for 20 grep -q 'running=3/3 restarts=0' "$TMP/svc.log"
	wait_for 10 nap_count 3
	[ "$(live web- | wc -l)" -eq 3 ]
	grep -q 'web-tx1 committed launched=3 conflicts=0' "$TMP/svc.log"
	# most free first: one instance on each agent
	[ "$(live web- | awk '{print $3}' | sort -u | wc -l)" -eq 3 ]
	victim=$(pgrep -fx "$NAP" | head -1)
	kill -KILL "$victim"
	wait_for 20 grep -q 'running=3/3 restarts=1' "$TMP/svc.log"
	grep -q 'ended: TASK_FAILED' "$TMP/svc.log"
	grep -q 'task=web-[0-9]-4 place agent=' "$TMP/svc.log"
	wait_for 10 nap_count 3
	[ "$(live web- | wc -l)" -eq 3 ]
	# no offer ever came: the service lives on shared state only
	! grep -q 'OFFER' "$TMP/svc.log" || false
}

@test "opt-service: two slow services decide on the same agent; the loser places again after a fresh view" {
	start_cluster 2 3>&-
	# each instance takes a whole agent; both views say the same agent
	# is the best, and each decides for 2 s
	start_daemon red "$OPTSVC" -n red -N 1 -c 2 -d 2s -- "$NAP" 3>&-
	start_daemon blue "$OPTSVC" -n blue -N 1 -c 2 -d 2s -- "$NAP" 3>&-
	wait_for 30 grep -q 'running=1/1' "$TMP/red.log"
	wait_for 30 grep -q 'running=1/1' "$TMP/blue.log"
	cat "$TMP/red.log" "$TMP/blue.log"
	# exactly one lost the race, and placed its instance again
	[ "$(cat "$TMP/red.log" "$TMP/blue.log" | grep -c 'conflict: resources')" -eq 1 ]
	cat "$TMP/red.log" "$TMP/blue.log" | grep -q 'tx1 aborted launched=0 conflicts=1'
	cat "$TMP/red.log" "$TMP/blue.log" | grep -q 'tx2 committed launched=1 conflicts=0'
	[ "$(live red- | wc -l)" -eq 1 ]
	[ "$(live blue- | wc -l)" -eq 1 ]
	[ "$(live '' | awk '{print $3}' | sort -u | wc -l)" -eq 2 ]
}

@test "opt-service: SIGTERM tears the framework down and its tasks are killed" {
	start_cluster 2 3>&-
	start_daemon svc "$OPTSVC" -n web -N 2 -d 0 -- "$NAP" 3>&-
	wait_for 20 grep -q 'running=2/2' "$TMP/svc.log"
	wait_for 10 nap_count 2
	kill -TERM "$PID_svc"
	st=0; wait "$PID_svc" || st=$?
	[ "$st" -eq 0 ]
	grep -q 'opt-service signal 15: tearing down' "$TMP/svc.log"
	wait_for 15 nap_count 0
	wait_for 10 sh -c "[ -z \"\$(cluster-ctl -o json tasks | jq -r 'select(.state == \"TASK_RUNNING\") | .task_id')\" ]"
}

@test "opt-gang: too little room starts nothing; an agent added, the gang starts whole" {
	start_cluster 1 3>&-
	timeout 60 "$OPTGANG" -n mpi -N 3 -c 1 -d 0.2s -- 'sleep 3' >"$TMP/gang.out" 2>&1 3>&- &
	pg=$!
	wait_for 10 grep -q 'opt-gang 0 waiting: room for 2 of 3 tasks' "$TMP/gang.out"
	for i in $(seq 10); do
		[ -z "$(live mpi-)" ]
		sleep 0.1
	done
	agent_start 2 3>&-
	gang_watch mpi- 3 "$TMP/gang.out"
	st=0; wait "$pg" || st=$?
	cat "$TMP/gang.out"
	[ "$st" -eq 0 ]
	grep -q 'opt-gang 0 attempt 1 committed tasks=3 agents=2' "$TMP/gang.out"
	grep -q 'opt-gang done gangs=1 ok=1 failed=0 aborted=0' "$TMP/gang.out"
}

@test "opt-gang: a transaction made stale by another framework is aborted whole, then the gang starts whole" {
	start_cluster 2 3>&-
	A1=$(cluster-ctl -h -o agent_id,hostname agents | awk '$2 == "host1" { print $1 }')
	bridge_start other -O
	bridge_wait other '"complete":true'
	# the gang needs every cpu of the cluster and decides for 2 s
	timeout 60 "$OPTGANG" -n mpi -N 4 -c 1 -d 2s -- 'sleep 2' >"$TMP/gang.out" 2>&1 3>&- &
	pg=$!
	wait_for 10 grep -q 'opt-gang 0 attempt 1 place tasks=4 agents=2' "$TMP/gang.out"
	# meanwhile another framework takes a cpu for 3 s
	bridge_send other "{\"type\":\"COMMIT\",\"transaction_id\":\"o1\",\"tasks\":[{\"task_id\":\"o-1\",\"agent_id\":\"$A1\",\"resources\":\"cpus:1;mem:64\",\"command\":\"sleep 3\"}]}"
	bridge_wait other '"transaction_id":"o1".*"outcome":"committed"'
	wait_for 10 grep -q 'opt-gang 0 attempt 1 aborted conflicts=[1-9]' "$TMP/gang.out"
	[ -z "$(live mpi-)" ]
	gang_watch mpi- 4 "$TMP/gang.out"
	st=0; wait "$pg" || st=$?
	cat "$TMP/gang.out"
	[ "$st" -eq 0 ]
	grep -q 'opt-gang 0 attempt 2 committed tasks=4 agents=2' "$TMP/gang.out"
	grep -q 'opt-gang done gangs=1 ok=1 failed=0 aborted=1' "$TMP/gang.out"
	# the other framework's task had ended before the gang started
	[ "$(task_states other o-1 | awk '{print $NF}')" = TASK_FINISHED ]
}

@test "opt-gang: a gang too big for the cluster never starts a task" {
	start_cluster 1 3>&-
	run timeout 30 "$OPTGANG" -n big -N 3 -c 1 -t 3s -- true
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"never started whole (room for 2 of 3 tasks)"* ]]
	[ -z "$(live big-)" ]
}

@test "bad arguments: status 100" {
	run "$OPTSVC" -N 0 -- true
	[ "$status" -eq 100 ]
	run "$OPTSVC" -d soon -- true
	[ "$status" -eq 100 ]
	run "$OPTGANG" -N 2
	[ "$status" -eq 100 ]
	run "$OPTGANG" -g 0 -- true
	[ "$status" -eq 100 ]
}
