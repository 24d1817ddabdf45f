#!/usr/bin/env bats
# examples/shell-scheduler: a framework in sh + awk over cluster-ctl subscribe.

load helper

SHS="$TOP/examples/shell-scheduler/shell-scheduler"

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

@test "runs every command of a file, reports each, and the framework leaves" {
	start_cluster 2 3>&-
	mkdir -m 1777 "$TMP/out"	# the tasks run as nobody (agentd -U)
	for i in $(seq 10); do
		echo "echo $i >$TMP/out/$i; sleep 0.3"
	done >"$TMP/cmds"
	echo 'printf "%s\n" "quote \" and backslash \\ kept" >'"$TMP/out/q" >>"$TMP/cmds"
	# one cpu each: 11 commands on 4 cpus need several rounds of offers
	run timeout 60 "$SHS" -c 1 -n shjob "$TMP/cmds"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"shell commands=11 finished=11 failed=0"* ]]
	[ "$(ls "$TMP/out" | wc -l)" -eq 11 ]
	for i in $(seq 10); do [ "$(cat "$TMP/out/$i")" = "$i" ]; done
	[ "$(cat "$TMP/out/q")" = 'quote " and backslash \ kept' ]
	[ "$(cluster-ctl -o json tasks | grep -c '"task_id":"shjob-')" -eq 11 ]
	[ "$(echo "$output" | grep -c '^shell launch task=shjob-')" -eq 11 ]
	wait_for 5 sh -c '[ -z "$(cluster-ctl -h frameworks)" ]'
}

@test "commands from stdin; a failing one makes the exit status 1" {
	start_cluster 1 3>&-
	run sh -c "printf 'true\n\nexit 3\n' | timeout 30 '$SHS'"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"commands=2 finished=1 failed=1"* ]]
	[[ "$output" == *"state=TASK_FAILED exit_code=3 sandbox=$TMP/"* ]]
}

@test "no commands: nothing to do; bad usage: 100" {
	run sh -c "'$SHS' </dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"commands=0"* ]]
	run "$SHS" -c lots
	[ "$status" -eq 100 ]
	run "$SHS" a b
	[ "$status" -eq 100 ]
}
