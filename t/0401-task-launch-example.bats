#!/usr/bin/env bats
# examples/launcher-nice: a replacement launcher that takes task-launch's
# arguments, runs the task in its sandbox under nice(1), and execs it.

load helper

setup() {
	setup_tmp
	LAUNCHER="$TOP/examples/launcher-nice/launcher"
	SB="$TMP/sandbox"
}

teardown() {
	cleanup_tmp
}

@test "launcher-nice runs the task in its sandbox, niced, with task-launch's arguments" {
	run "$LAUNCHER" -w "$SB" -i t1 -c 1.5 --mem=64 --pids 10 --net -v -x pid --status-file "$TMP/st" \
	    -e "GREETING=it's hi" --env X=1 -- \
	    sh -c 'echo "$GREETING $X $TASK_ID"; cut -d" " -f19 /proc/self/stat; pwd; echo oops >&2; exit 4'
	[ "$status" -eq 4 ]
	run cat "$SB/stdout"
	[ "${lines[0]}" = "it's hi 1 t1" ]
	[ "${lines[1]}" -eq $(( $(cut -d' ' -f19 /proc/self/stat) + 10 > 19 ? 19 : $(cut -d' ' -f19 /proc/self/stat) + 10 )) ]
	[ "${lines[2]}" = "$SB" ]
	[ "$(cat "$SB/stderr")" = oops ]
	[ "$(stat -c %a "$SB")" = 750 ]
}

@test "launcher-nice clears the environment and honours LAUNCHER_NICE" {
	LEAK=yes LAUNCHER_NICE=3 run "$LAUNCHER" --sandbox "$SB" --id t2 -- sh -c 'env; cut -d" " -f19 /proc/self/stat'
	[ "$status" -eq 0 ]
	! grep -q LEAK "$SB/stdout" || false
	grep -qx "HOME=$SB" "$SB/stdout"
	grep -qx "PATH=/usr/local/bin:/usr/bin:/bin" "$SB/stdout"
	[ "$(tail -n 1 "$SB/stdout")" -ge 3 ]
}

@test "launcher-nice: usage errors are 100, --probe reports no isolation" {
	run "$LAUNCHER" -w "$SB"
	[ "$status" -eq 100 ]
	run "$LAUNCHER" --bogus x -- true
	[ "$status" -eq 100 ]
	run "$LAUNCHER" --probe
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 12 ]
	[[ "${lines[0]}" == cgroup$'\t'missing$'\t'* ]]
}

@test "launcher-nice runs the task as --user, never as its own user" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (switches user)"
	run "$LAUNCHER" -w "$SB" -i t3 -u nobody --hide /unused -- sh -c 'id -un; echo x >$SANDBOX/mine'
	[ "$status" -eq 0 ]
	[ "$(cat "$SB/stdout")" = nobody ]
	[ "$(stat -c %U "$SB" "$SB/mine" "$SB/stdout")" = "$(printf 'nobody\nnobody\nnobody')" ]
	run "$LAUNCHER" -w "$TMP/sb2" -i t4 --user no-such-user-x -- true
	[ "$status" -eq 111 ]
	[[ "$output" == *"unknown user 'no-such-user-x'"* ]]
}
