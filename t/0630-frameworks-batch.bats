#!/usr/bin/env bats
# examples/batch: delay scheduling trades waiting for data locality.

load helper
load 0630-batch-helper

BATCH="$TOP/build/examples/batch/batch"

setup() { setup_tmp; start_cluster 3 3>&-; }	# host1..3 in rack:r1..r3
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

@test "data on every rack: all tasks run local" {
	run timeout 60 "$BATCH" -N 12 -r 3 -d 5s -- 'sleep 0.3'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"batch tasks=12 local=12 nonlocal=0 failed=0 makespan_s="* ]]
	placements_true
}

@test "data on one rack: a long delay keeps locality, no delay trades it for time" {
	run timeout 60 "$BATCH" -n wait -N 12 -r 1 -d 8s -- 'sleep 0.5'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(field local)" -eq 12 ]
	placements_true
	slow=$(field makespan_s)
	run timeout 60 "$BATCH" -n nowait -N 12 -r 1 -d 0 -- 'sleep 0.5'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(field nonlocal)" -gt 0 ]
	[ "$(field local)" -lt 12 ]
	placements_true
	fast=$(field makespan_s)
	awk -v f="$fast" -v s="$slow" 'BEGIN { exit !(f < s) }'
}

@test "data nowhere in the cluster: tasks go non-local once the delay is up" {
	run timeout 60 "$BATCH" -N 4 -r 1 -a zone -d 2s -- true
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(field nonlocal)" -eq 4 ]
	awk -v m="$(field makespan_s)" 'BEGIN { exit !(m >= 2) }'
}

@test "failing tasks make the job fail; bad arguments give 100" {
	run timeout 60 "$BATCH" -N 3 -r 3 -- 'exit 2'
	[ "$status" -eq 1 ]
	[[ "$output" == *"failed=3"* ]]
	run "$BATCH" -d forever -- true
	[ "$status" -eq 100 ]
	run "$BATCH" -N 0 -- true
	[ "$status" -eq 100 ]
}
