#!/usr/bin/env bats
# share/demo-compare: sharing against static partitioning, same workload.

load helper

setup() { setup_tmp; }
teardown() { kill_strays; cleanup_tmp; }

kill_strays() {
	local p
	for p in $(pgrep -f "/tmp/cluster-compare\.") ; do
		# only the demo's own cluster of this test run
		grep -qs "$TMP" "/proc/$p/environ" && kill -KILL "$p" 2>/dev/null
	done
	true
}

@test "demo-compare ends with one compare line; sharing is no slower than static partitions" {
	run env DEMO_OUT="$TMP" timeout 170 "$TOP/share/demo-compare" 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	last=${lines[${#lines[@]}-1]}
	[[ "$last" =~ ^compare\ shared_cpu_util=[0-9]+\.[0-9]+\ static_cpu_util=[0-9]+\.[0-9]+\ shared_makespan_s=[0-9]+\.[0-9]+\ static_makespan_s=[0-9]+\.[0-9]+$ ]]
	[ "$(echo "$output" | grep -c '^compare ')" -eq 1 ]
	eval "$(echo "$last" | sed 's/^compare //')"
	awk -v a="$shared_makespan_s" -v b="$static_makespan_s" 'BEGIN { exit !(a <= b) }'
	for u in "$shared_cpu_util" "$static_cpu_util"; do
		awk -v u="$u" 'BEGIN { exit !(u > 0 && u <= 1) }'
	done
	# utilization is measured from what ran: every task of each run is in
	# the accounting log (16 batch, 2 gangs of 4, 16 shell commands)
	[ "$(echo "$output" | grep -c '^shared: makespan .* from what ran (40 tasks in the accounting log): cpu held 0\.[0-9]*, cpu used [0-9.]*, memory held 0\.[0-9]*')" -eq 1 ]
	[ "$(echo "$output" | grep -c '^static: makespan .* from what ran (40 tasks in the accounting log)')" -eq 1 ]
	# every framework finished its work in both runs
	[ "$(echo "$output" | grep -c '^batch tasks=16 .*failed=0')" -eq 2 ]
	[ "$(echo "$output" | grep -c '^gang done gangs=2 ok=2 failed=0')" -eq 2 ]
	[ "$(echo "$output" | grep -c '^shell commands=16 finished=16 failed=0')" -eq 2 ]
	# DRF shares were shown while it ran
	[[ "$output" == *"drf shares: "*"hadoop-shared="* ]]
	[ -s "$TMP/demo-compare-shared.dat" ]
	[ -s "$TMP/demo-compare-static.dat" ]
	if command -v gnuplot >/dev/null; then
		[[ "$output" == *"plot: $TMP/demo-compare.png"* ]]
		[ "$(head -c 4 "$TMP/demo-compare.png" | tail -c 3)" = PNG ]
	else
		[[ "$output" == *"plot skipped: gnuplot is not installed"* ]]
	fi
}
