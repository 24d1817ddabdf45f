#!/usr/bin/env bats
# t/bench/throughput on a small run: real offerd, agentd and task-launch
# run every task, the figures it says it prints are there, each program
# it splits the CPU by is counted, and it leaves nothing behind: no process, no cpuacct or
# task cgroup, no mount, no directory.  No figure is checked against a
# number: figures are the benchmark's; this checks that it runs and
# reports what it says.

load helper

BENCH=$TOP/t/bench/throughput

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

# left_over: what a run may leave, one line each (none when clean).
left_over() {
	ls -d /sys/fs/cgroup/cpuacct/bench-throughput.* /tmp/bench-throughput.* \
	    2>/dev/null
	grep ' /tmp/bench-throughput' /proc/mounts
	pgrep -f '/tmp/bench-throughput\.' || true
}

@test "throughput runs its tasks through real agents, splits their CPU by program and leaves nothing" {
	[ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ] || skip "no cgroup v1 cpuacct"
	[ -z "$(left_over)" ] || skip "another run of the benchmark: $(left_over)"
	WORK_FS=tmpfs AGENTS=1 BIN=$TOP/build/bin "$BENCH" 60 \
	    >"$TMP/out" 2>"$TMP/err"
	cat "$TMP/out" "$TMP/err"
	grep -q '^throughput tasks=60 tasks_per_s=[0-9.]*$' "$TMP/out"
	grep -q '^throughput: [0-9.]* ms of busy CPU per task' "$TMP/err"
	split=$(sed -n 's/^throughput: CPU ms per task by where it ran: //p' "$TMP/err")
	[ -n "$split" ]
	# master, agents, launch, tasks and load each ran and were counted
	for g in master agents launch tasks load; do
		v=$(echo "$split" | grep -o "$g=[0-9.]*" | cut -d= -f2)
		awk -v v="$v" 'BEGIN { exit !(v > 0) }'
	done
	echo "$split" | grep -q 'rest=-\?[0-9.]*$'
	[ -z "$(left_over)" ]
}

@test "throughput without a cpuacct hierarchy runs as well, with no split" {
	[ -z "$(left_over)" ] || skip "another run of the benchmark: $(left_over)"
	CPUACCT=$TMP/none WORK_FS=tmpfs AGENTS=1 BIN=$TOP/build/bin "$BENCH" 20 \
	    >"$TMP/out" 2>"$TMP/err"
	cat "$TMP/out" "$TMP/err"
	grep -q '^throughput tasks=20 tasks_per_s=[0-9.]*$' "$TMP/out"
	grep -q '^throughput: [0-9.]* ms of busy CPU per task' "$TMP/err"
	! grep -q 'where it ran' "$TMP/err" || false
	[ -z "$(left_over)" ]
}

@test "throughput refuses a bad task count with 100 and starts nothing" {
	run "$BENCH" 12x
	[ "$status" -eq 100 ]
	[[ "$output" == *"usage: throughput"* ]]
	[ -z "$(left_over)" ]
}
