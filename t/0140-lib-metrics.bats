#!/usr/bin/env bats
# lib/metrics.c: the Prometheus text exposition format (0.0.4), through
# its test driver build/test/metrics-test; promtool (Debian's prometheus
# package) checks the text as Prometheus reads it.

load helper

setup() {
	setup_tmp
	MT="$TOP/build/test/metrics-test"
}
teardown() { cleanup_tmp; }

@test "the text has HELP and TYPE, escaped labels, histograms; bad families are refused" {
	run "$MT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "# HELP test_events_total Events seen." ]
	[ "${lines[1]}" = "# TYPE test_events_total counter" ]
	[ "${lines[2]}" = "test_events_total 3" ]
	[[ "$output" == *'test_things{kind="plain"} 42'* ]]
	[[ "$output" == *'test_things{kind="quote\"back\\slash\nnewline"} 1.5'* ]]
	[[ "$output" == *'test_things{kind="inf"} +Inf'* ]]
	[[ "$output" == *'test_things{kind="nan"} NaN'* ]]
	[[ "$output" == *'test_things{kind="big"} 12345678901234'* ]]
	[[ "$output" == *'# TYPE test_wait_seconds histogram'* ]]
	# buckets are cumulative, +Inf is the count
	[[ "$output" == *'test_wait_seconds_bucket{queue="a",le="0.1"} 1'* ]]
	[[ "$output" == *'test_wait_seconds_bucket{queue="a",le="1"} 2'* ]]
	[[ "$output" == *'test_wait_seconds_bucket{queue="a",le="10"} 2'* ]]
	[[ "$output" == *'test_wait_seconds_bucket{queue="a",le="+Inf"} 3'* ]]
	[[ "$output" == *'test_wait_seconds_sum{queue="a"} 100.55'* ]]
	[[ "$output" == *'test_wait_seconds_count{queue="a"} 3'* ]]
	[[ "$output" == *'test_wait_seconds_bucket{queue="b",le="1"} 1'* ]]
	[[ "$output" == *'test_pair_bytes{framework_id="fw-1",task_id="task-1"} 1048576'* ]]
	# a cleared family keeps its HELP and TYPE and has no sample
	[[ "$output" == *'# TYPE test_gone gauge'* ]]
	[[ "$output" != *'test_gone{'* ]]
}

@test "promtool finds the text valid" {
	need_debs prometheus
	"$MT" >"$TMP/text"
	run promtool check metrics <"$TMP/text"
	[ "$status" -eq 0 ]
}
