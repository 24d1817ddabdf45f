#!/usr/bin/env bats
# History, like sacct: every task that ends goes to the master's
# accounting log (WORK/history, JSON lines), which survives a restart, is
# rotated by size, and is read back with `cluster-ctl history` and filters.

load helper
bats_require_minimum_version 1.5.0

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

@test "ended tasks have submit, start and end times, where they ran, how they ended and what they used" {
	start_cluster 1
	run cluster-ctl run -N ok -- sh -c 'echo hi'
	[ "$status" -eq 0 ]
	run cluster-ctl run -N bad -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run cluster-ctl -o json history
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 2 ]
	first=$(echo "$output" | head -1)
	last=$(echo "$output" | tail -1)
	[ "$(echo "$first" | jq -r .state)" = TASK_FINISHED ]
	[ "$(echo "$first" | jq -r .name)" = ok ]
	[ "$(echo "$first" | jq -r .hostname)" = host1 ]
	[ "$(echo "$first" | jq -r .framework)" = ok ]
	[ "$(echo "$first" | jq -r .principal)" = root ]
	[ "$(echo "$first" | jq -r .resources)" = "cpus:1;mem:128" ]
	[ "$(echo "$first" | jq -r .exit_code)" = 0 ]
	[ "$(echo "$last" | jq -r .state)" = TASK_FAILED ]
	[ "$(echo "$last" | jq -r .exit_code)" = 3 ]
	# times in order, ISO 8601 UTC
	s=$(echo "$first" | jq -r .submitted); b=$(echo "$first" | jq -r .started)
	e=$(echo "$first" | jq -r .ended)
	[[ "$s" =~ ^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:.]+Z$ ]]
	[[ ! "$b" > "$e" ]]
	[[ ! "$s" > "$b" ]]
	echo "$first" | jq -e '.cpu_ms >= 0'
	# a table by default, fields with -o
	run cluster-ctl history
	[[ "${lines[0]}" == TASK_ID*STATE*ENDED* ]]
	run cluster-ctl -h -o name,state history
	[ "${lines[0]}" = "ok   TASK_FINISHED" ]
	[ "${lines[1]}" = "bad  TASK_FAILED" ]
}

@test "filters: state, framework, time range, count; bad ones are usage errors" {
	start_cluster 1
	for i in 1 2 3; do cluster-ctl run -N "t$i" -- true >/dev/null; done
	cluster-ctl run -N f -- false >/dev/null || true
	run cluster-ctl -h -o name history -s failed
	[ "$output" = f ]
	run --separate-stderr cluster-ctl -h -o name history -s TASK_FINISHED -n 2
	[ "${lines[0]}" = t2 ]
	[ "${lines[1]}" = t3 ]
	[[ "$stderr" == *"more matched than shown"* ]]
	fid=$(cluster-ctl -h -o framework_id,name history | awk '$2 == "t2" {print $1}')
	run cluster-ctl -h -o name history --framework "$fid"
	[ "$output" = t2 ]
	run cluster-ctl -h -o name history -S 1h
	[ "${#lines[@]}" -eq 4 ]
	run cluster-ctl -h -o name history -E 2000-01-01
	[ -z "$output" ]
	run cluster-ctl -h -o name history -S 2000-01-01 -E 2999
	[ "${#lines[@]}" -eq 4 ]
	for bad in "-s running" "-n 0" "-n 1001" "-S tomorrow" "-F ../x"; do
		run cluster-ctl history $bad
		[ "$status" -eq 100 ]
	done
	run cluster-ctl -o yaml history
	[ "$status" -eq 100 ]
	[[ "$output" == *"'yaml' is not table, json nor a field of history"* ]]
	# the master refuses a bad query itself, and keeps serving
	run sh -c 'echo "{\"type\":\"QUERY\",\"what\":\"history\",\"limit\":5000}" | cluster-ctl send'
	[ "$status" -eq 1 ]
	[[ "$output" == *'"code":"invalid"'* ]]
	[ "$(cluster-ctl -h -o active agents)" = yes ]
}

@test "the history survives a restart of the master and is rotated by size" {
	start_daemon offerd offerd -d -v -w "$TMP/master" --history-size 4k
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 agents_registered 1
	for i in $(seq 12); do cluster-ctl run -N "r$i" -- true >/dev/null; done
	[ -f "$TMP/master/history.1" ]
	[ "$(stat -c %a "$TMP/master/history")" = 600 ]
	[ "$(stat -c %s "$TMP/master/history.1")" -ge 4096 ]
	grep -q 'history: rotated' "$TMP/offerd.log"
	run cluster-ctl -h -o name history
	[ "${#lines[@]}" -eq 12 ]
	[ "${lines[0]}" = r1 ]
	[ "${lines[11]}" = r12 ]
	kill -TERM "$PID_offerd"
	wait_for 10 no_process "$PID_offerd"
	start_daemon offerd2 offerd -d -v -w "$TMP/master" --history-size 4k
	wait_for 15 agents_registered 1
	run cluster-ctl -h -o name history
	[ "${lines[11]}" = r12 ]
	cluster-ctl run -N after -- true >/dev/null
	run --separate-stderr cluster-ctl -h -o name history -n 2
	[ "${lines[0]}" = r12 ]
	[ "${lines[1]}" = after ]
	run offerd --history-size 12 --check
	[ "$status" -eq 100 ]
}

@test "a query reads the history from its end, and at most 16 MiB of it" {
	# 17 MiB of tasks that ended in 2001 in history.1, older still in .2
	mkdir -p "$TMP/master"
	awk 'BEGIN { for (i = 0; i < 100000; i++) printf "{\"task_id\":\"o%d\",\"framework_id\":\"old\",\"agent_id\":\"a\",\"hostname\":\"h\",\"state\":\"TASK_FINISHED\",\"resources\":\"cpus:1;mem:32\",\"name\":\"old%d\",\"ended\":\"2001-01-01T00:00:00.000Z\"}\n", i, i }' \
	    >"$TMP/master/history.1"
	[ "$(stat -c %s "$TMP/master/history.1")" -gt $((16 << 20)) ]
	echo '{"task_id":"z","framework_id":"ancient","agent_id":"a","hostname":"h","state":"TASK_FAILED","resources":"cpus:1","name":"ancient","ended":"1999-01-01T00:00:00.000Z"}' \
	    >"$TMP/master/history.2"
	start_cluster 1
	cluster-ctl run -N new -- true >/dev/null
	# the newest lines cost one block from the end
	run --separate-stderr cluster-ctl -h -o name history -n 2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = old99999 ]
	[ "${lines[1]}" = new ]
	[[ "$stderr" != *searched* ]]
	# "since" stops at the first older line
	run --separate-stderr cluster-ctl -h -o name history -S 2005-01-01
	[ "$status" -eq 0 ]
	[ "$output" = new ]
	# a filter matching only what lies beyond 16 MiB says so
	run --separate-stderr cluster-ctl -h -o name history --framework ancient
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *"only the newest 16 MiB of the history were searched"* ]]
	run sh -c 'echo "{\"type\":\"QUERY\",\"what\":\"history\",\"framework_id\":\"ancient\"}" | cluster-ctl send'
	[[ "$output" == *'"partial":true'* ]]
	# and the master kept serving
	run --separate-stderr cluster-ctl -h -o name history -n 1
	[ "$output" = new ]
	# without -n, the 100 newest, and a word that there are more
	run --separate-stderr cluster-ctl -h -o name history
	[ "${#lines[@]}" -eq 100 ]
	[ "${lines[99]}" = new ]
	[[ "$stderr" == *"more matched than shown"* ]]
}
