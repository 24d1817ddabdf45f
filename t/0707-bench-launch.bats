#!/usr/bin/env bats
# t/bench/launch on a small run: a real fork server launches each task
# as agentd would, the line it says it prints is there for each
# launcher it compares, and it leaves nothing behind: no cgroup, no
# directory, no process.  No figure is checked against a number:
# figures are the benchmark's; this checks that it runs and reports
# what it says.

load helper

BENCH=$TOP/t/bench/launch

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

# left_over: what a run may leave, one line each (none when clean).
left_over() {
	find /sys/fs/cgroup -maxdepth 5 -type d -name 'bench-launch.*' 2>/dev/null
	ls -d /tmp/bench-launch.* 2>/dev/null
	pgrep -f '/tmp/bench-launch\.' || true
}

@test "launch counts a served launch's calls, faults and CPU for two launchers and the floor, interleaved, and leaves nothing" {
	command -v perf >/dev/null || skip "no perf"
	[ -z "$(left_over)" ] || skip "another run of the benchmark: $(left_over)"
	N=20 ROUNDS=2 BEFORE=$TOP/build/bin/task-launch "$BENCH" >"$TMP/out" 2>"$TMP/err"
	cat "$TMP/out" "$TMP/err"
	[ "$(wc -l <"$TMP/out")" -eq 6 ]
	[ "$(cut -d' ' -f2 "$TMP/out" | tr '\n' ' ')" = "tl=A tl=B tl=floor tl=A tl=B tl=floor " ]
	# each count is a launch's own: above nothing
	awk '{ for (i = 3; i <= 5; i++) { split($i, kv, "="); if (!(kv[2] > 0)) exit 1 } }' "$TMP/out"
	grep -qE '^launch tl=A syscalls=[0-9.]+ faults=[0-9.]+ cpu_ms=[0-9.]+$' "$TMP/out"
	# the floor starts true and nothing else: fewer calls than a launch
	awk '$2 == "tl=A" { split($3, kv, "="); a = kv[2] }
	    $2 == "tl=floor" { split($3, kv, "="); f = kv[2] }
	    END { exit !(f < a) }' "$TMP/out"
	FLOOR=0 N=5 ROUNDS=1 "$BENCH" >"$TMP/out"
	[ "$(cut -d' ' -f2 "$TMP/out")" = tl=A ]
	[ -z "$(left_over)" ]
}

@test "launch refuses a bad count and a missing launcher with status 100, starting nothing" {
	run env N=x "$BENCH"
	[ "$status" -eq 100 ]
	[[ "$output" == *"N and ROUNDS are counts"* ]]
	run env BEFORE=$TMP/none "$BENCH"
	[ "$status" -eq 100 ]
	[[ "$output" == *"not a program"* ]]
	[ -z "$(left_over)" ]
}
