#!/usr/bin/env bats
# Executors (cluster-protocol(7), EXECUTORS; executor(3)): a framework's
# own long-lived worker on an agent runs many tasks, talks both ways, and
# its failures are reported; the example of executor(3) is the executor.

load helper

setup() {
	setup_tmp
	# the example of executor(3), compiled: the executor of these tests
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE ALSO/p' "$TOP/man/executor.3" |
	    sed -n '/^\.Bd -literal$/,/^\.Ed$/p' | sed '1d' |
	    sed '/^\.Ed$/,$d' | sed -e 's/\\e/\\/g' -e 's/\\&//g' >"$TMP/echo-exec.c"
	$CC -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror \
	    -I"$TOP/lib" -isystem /usr/include/bsd -DLIBBSD_OVERLAY \
	    -o "$TMP/echo-exec" "$TMP/echo-exec.c" "$TOP/build/libcluster.a" $LIBS
	chmod 755 "$TMP/echo-exec"
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

CC=$(cat "$TOP/build/cc" 2>/dev/null || echo cc)
LIBS="$(pkg-config --libs libbsd-overlay msgpack nanomsg jansson libcap libsodium) -lzookeeper_mt -lm"

kill_strays() {
	local p
	for p in $(pgrep -f "$TMP/"); do kill -KILL "$p" 2>/dev/null || true; done
}

# xtask ID DATA [EXECUTOR]: a task for the executor EXECUTOR (x1).
xtask() {
	echo "{\"task_id\":\"$1\",\"resources\":\"cpus:0.1;mem:16\",\"data\":\"$2\",\"executor\":{\"executor_id\":\"${3:-x1}\",\"command\":\"exec $TMP/echo-exec\",\"resources\":\"cpus:0.5;mem:64\"}}"
}

# state_is NAME TASK STATE: the latest state bridge NAME saw of TASK.
state_is() {
	[ "$(task_states "$1" "$2" | awk '{print $NF}')" = "$3" ]
}

@test "one executor runs several tasks, keeping state between them" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 hi),$(xtask t2 hi),$(xtask t3 hi)"
	wait_for 20 state_is fw t1 TASK_FINISHED
	wait_for 20 state_is fw t2 TASK_FINISHED
	wait_for 20 state_is fw t3 TASK_FINISHED
	# one process ran all three: its counter went to 3
	grep '"state":"TASK_FINISHED"' "$TMP/fw.ev" | grep -q '"message":"done=3"'
	[ "$(grep -c 'executor x1 of .*: started' "$TMP/agent1.log")" -eq 1 ]
	grep '"state":"TASK_FINISHED"' "$TMP/fw.ev" | grep -q '"executor_id":"x1"'
	# a fourth task later goes to the same executor
	bridge_accept fw "$(xtask t4 hi)"
	wait_for 20 state_is fw t4 TASK_FINISHED
	grep '"task_id":"t4"' "$TMP/fw.ev" | grep -q '"message":"done=4"'
}
