#!/usr/bin/env bats
# Ids become file names under work dirs: ".", ".." and names starting with
# a dot are refused everywhere, nothing is written outside a work dir, and
# the daemons keep serving.

load helper

setup() {
	setup_tmp
	start_cluster 1
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

@test "a framework id or role of '.', '..' or '.hidden' is refused with code invalid" {
	for id in . .. .hidden; do
		run sh -c "echo '{\"type\":\"SUBSCRIBE\",\"name\":\"x\",\"framework_id\":\"$id\"}' | cluster-ctl send --wait 500ms"
		[[ "$output" == *'"code":"invalid"'* ]]
		[[ "$output" == *'framework_id: not a valid id'* ]]
		run sh -c "echo '{\"type\":\"SUBSCRIBE\",\"name\":\"x\",\"role\":\"$id\"}' | cluster-ctl send --wait 500ms"
		[[ "$output" == *'"code":"invalid"'* ]]
	done
	[ -z "$(cluster-ctl -h -o framework_id frameworks)" ]
}

@test "a task id of '..' is refused, nothing is written above the agent's work dir, the cluster keeps serving" {
	bridge_start fw
	fw=$(bridge_fw fw)
	bridge_launch fw .. "echo escaped >../../../escaped"
	bridge_wait fw '"code":"invalid"'
	grep '"type":"ERROR"' "$TMP/fw.ev" | grep -q 'nothing launched'
	bridge_launch fw .x "true"
	wait_for 10 sh -c "[ \$(grep -c '\"code\":\"invalid\"' '$TMP/fw.ev') -ge 2 ]"
	[ -z "$(cluster-ctl -h -o task_id tasks)" ]
	[ ! -d "$TMP/agent1/tasks/$fw" ] || [ -z "$(ls -A "$TMP/agent1/tasks/$fw")" ]
	! find "$TMP" -name escaped | grep -q . || false
	# a good task still runs
	bridge_launch fw ok "true"
	bridge_wait fw '"state":"TASK_FINISHED"'
}

@test "an id's bits come from getrandom, one call an id, also at pid 1 (an executor's); arc4random only without it" {
	# arc4random at pid 1 started afresh at every call: half an
	# executor's CPU (docs/benchmarks.md, "An id cost 7 µs")
	run "$TOP/build/test/id-test"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -eq 6 ]
	run unshare --pid --fork "$TOP/build/test/id-test"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "pid 1" ]
	[ "$(grep -c '^ok ' <<<"$output")" -eq 6 ]
}
