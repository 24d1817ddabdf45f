#!/usr/bin/env bats
# An executor's cgroup follows its tasks (agentd(8), Executors): the
# launcher server resizes it (task-launch(8), FORK SERVER, resize) to the
# executor's resources and its live tasks', as each task starts and ends.
# The limits are read from the cgroup files (cgroup v1 here); the resize
# request itself, on v1 and v2, is t/0400's.

load helper

setup() {
	[ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] ||
	    skip "no cgroup v1 memory hierarchy"
	setup_tmp
	# the example of executor(3), compiled: the executor of these tests
	executor_example "$TMP/echo-exec"
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

MB=1048576

# start_agent [agentd options]: offerd and one agent, as start_cluster.
start_agent() {
	start_daemon offerd offerd -d -v -w "$TMP/master"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" \
	    --hostname host1 --resources "cpus:2;mem:1024" --grace 1s "$@"
	wait_for 15 agents_registered 1
}

# cg PID CONTROLLER FILE: FILE of the v1 CONTROLLER cgroup process PID is in.
cg() {
	local p
	p=$(awk -F: -v c="$2" '{ n = split($2, a, ",");
	    for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$1/cgroup")
	cat "/sys/fs/cgroup/$2$p/$3"
}

# mem_is PID MB: the memory limit of PID's cgroup is MB, and so is memsw.
mem_is() {
	[ "$(cg "$1" memory memory.limit_in_bytes)" = $(($2 * MB)) ] || return 1
	[ ! -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] ||
	    [ "$(cg "$1" memory memory.memsw.limit_in_bytes)" = $(($2 * MB)) ]
}

# quota_is PID US: the CFS quota of PID's cgroup.
quota_is() {
	[ "$(cg "$1" cpu cpu.cfs_quota_us)" = "$2" ]
}

# xtask ID DATA MEM: a task of echo-exec (executor x1: cpus:0.5;mem:64).
xtask() {
	echo "{\"task_id\":\"$1\",\"resources\":\"cpus:0.25;mem:$3\",\"data\":\"$2\",\"executor\":{\"executor_id\":\"x1\",\"command\":\"exec $TMP/echo-exec\",\"resources\":\"cpus:0.5;mem:64\"}}"
}

state_is() {
	[ "$(task_states "$1" "$2" | awk '{print $NF}')" = "$3" ]
}

@test "an executor's cgroup has the limits of the executor and its live tasks: two tasks sum" {
	start_agent
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep 128)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	xpid=$(pgrep -f "^$TMP/echo-exec")
	wait_for 10 mem_is "$xpid" $((64 + 128))
	quota_is "$xpid" 75000
	bridge_accept fw "$(xtask t2 sleep 256)"
	wait_for 20 state_is fw t2 TASK_RUNNING
	wait_for 10 mem_is "$xpid" $((64 + 128 + 256))
	quota_is "$xpid" 100000
	# a task that ends, whatever its end: back down by its share
	bridge_send fw '{"type":"KILL","task_id":"t1"}'
	wait_for 20 state_is fw t1 TASK_KILLED
	wait_for 10 mem_is "$xpid" $((64 + 256))
	quota_is "$xpid" 75000
	# one that finishes at once: its resize up and down, then as before
	bridge_accept fw "$(xtask t3 hi 100)"
	wait_for 20 state_is fw t3 TASK_FINISHED
	wait_for 10 mem_is "$xpid" $((64 + 256))
	bridge_send fw '{"type":"KILL","task_id":"t2"}'
	wait_for 20 state_is fw t2 TASK_KILLED
	wait_for 10 mem_is "$xpid" 64
	quota_is "$xpid" 50000
	[ "$(pgrep -f "^$TMP/echo-exec")" = "$xpid" ]
}

@test "a task using more memory than its executor's own runs to TASK_FINISHED in executor + task" {
	[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3 (the tasks' PATH)"
	start_agent
	bridge_start fw
	x='"executor":{"executor_id":"sh","command":"exec '"$TOP"'/examples/shell-executor/shell-executor","resources":"cpus:0.2;mem:32","env":{"CTL":"'"$TOP/build/bin/cluster-ctl"'"}}'
	# 96 MiB, touched page by page, in an executor of 32 MB
	big='python3 -c \"x = str(7) * (96 << 20); print(len(x) >> 20)\"'
	bridge_accept fw "{\"task_id\":\"m1\",\"resources\":\"cpus:0.1;mem:128\",\"data\":\"$big\",$x}"
	wait_for 30 state_is fw m1 TASK_FINISHED
	[ "$(status_field fw m1 TASK_FINISHED message)" = 96 ]
	xpid=$(pgrep -f "$TOP/examples/shell-executor/shell-executor" | head -1)
	wait_for 10 mem_is "$xpid" 32
	# the same task counted at 16 MB: the kernel holds it to 48 MB
	bridge_accept fw "{\"task_id\":\"m2\",\"resources\":\"cpus:0.1;mem:16\",\"data\":\"$big\",$x}"
	wait_for 30 state_is fw m2 TASK_FAILED
	[ "$(status_field fw m2 TASK_FAILED reason)" = "exit status 137" ]
	[ "$(cg "$xpid" memory memory.oom_control | awk '$1 == "oom_kill" { print $2 }')" -gt 0 ]
}

# proxy_launcher MODE: $TMP/launcher, task-launch whose server a proxy
# fronts: MODE "fail" renames the task of every resize (so the server
# refuses it), "gate" holds each resize until $TMP/go exists (4 s at
# most: agentd waits 5 s for an answer).  The system's python3, without
# site: a pyenv shim takes seconds to start under load, and agentd waits
# 5 s for "ready" too.
proxy_launcher() {
	cat >"$TMP/launcher" <<PY
#!/usr/bin/python3 -S
import os, select, socket, subprocess, sys, time
real = "$TOP/build/bin/task-launch"
if sys.argv[1:] != ["--serve"]:
    os.execv(real, [real] + sys.argv[1:])
up = socket.socket(fileno=0)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
srv = subprocess.Popen([real, "--serve"], stdin=b, pass_fds=(3,))
b.close()
while True:
    r = select.select([up, a], [], [])[0]
    if up in r:
        m = up.recv(200000)
        if not m:
            break
        if m.startswith(b"resize\0") and "$1" == "fail":
            f = m.split(b"\0")
            f[1] = b"not-" + f[1]
            m = b"\0".join(f)
        if m.startswith(b"resize\0") and "$1" == "gate":
            for i in range(80):
                if os.path.exists("$TMP/go"):
                    break
                time.sleep(0.05)
        a.send(m)
    if a in r:
        m = a.recv(512)
        if not m:
            break
        up.send(m)
PY
	chmod 755 "$TMP/launcher"
}

@test "a resize the launcher server refuses fails the task with a reason, and its resources go back" {
	[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
	proxy_launcher fail
	start_agent --launcher "$TMP/launcher"
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep 128)"
	wait_for 20 state_is fw t1 TASK_FAILED
	status_field fw t1 TASK_FAILED reason |
	    grep -q "^executor x1 cannot take the task's resources: launcher server: unknown_task no task cgroup not-"
	[ "$(status_field fw t1 TASK_FAILED executor_id)" = x1 ]
	grep -q "executor x1 of .*: resize: launcher server: unknown_task" "$TMP/agent1.log"
	# it never reached the executor, which runs on with its own limits
	xpid=$(pgrep -f "^$TMP/echo-exec")
	mem_is "$xpid" 64
	# the task's resources went back: only the executor's are used
	wait_for 20 sh -c '[ "$(cluster-ctl -h -o used agents | tr -d " ")" = "cpus:0.5;mem:64" ]'
}

@test "a task killed while its resize is under way ends TASK_KILLED and never reaches the executor" {
	[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
	proxy_launcher gate
	start_agent --launcher "$TMP/launcher"
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep 128)"
	wait_for 20 grep -q 'executor x1 of .*: resize to cpus 0.75, mem 192 MB' "$TMP/agent1.log"
	bridge_send fw '{"type":"KILL","task_id":"t1"}'
	wait_for 10 state_is fw t1 TASK_KILLED
	touch "$TMP/go"
	[ "$(status_field fw t1 TASK_KILLED reason)" = "killed before its executor ran it" ]
	[ "$(task_states fw t1)" = "TASK_STARTING TASK_KILLED " ]
	# the executor's limits are its own again, and it serves the next task
	xpid=$(pgrep -f "^$TMP/echo-exec")
	wait_for 10 mem_is "$xpid" 64
	bridge_accept fw "$(xtask t2 hi 16)"
	wait_for 20 state_is fw t2 TASK_FINISHED
	# t2 is the first task it ran: t1 never reached it
	grep '"task_id":"t2"' "$TMP/fw.ev" | grep -q '"message":"done=1"'
}

@test "after an agentd restart the executor's limits are its own and its live tasks' again" {
	start_agent
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep 128),$(xtask t2 sleep 32)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	wait_for 20 state_is fw t2 TASK_RUNNING
	xpid=$(pgrep -f "^$TMP/echo-exec")
	wait_for 10 mem_is "$xpid" $((64 + 128 + 32))
	agent1_kill9
	# limits that drifted while agentd was down are set right at registration
	d=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' "/proc/$xpid/cgroup")
	[ ! -e "$d/memory.memsw.limit_in_bytes" ] ||
	    echo $((300 * MB)) >"$d/memory.memsw.limit_in_bytes"
	echo $((300 * MB)) >"$d/memory.limit_in_bytes"
	mem_is "$xpid" 300
	start_daemon agent1b agentd -d -v -k -w "$TMP/agent1" \
	    --hostname host1 --resources "cpus:2;mem:1024" --grace 1s
	wait_for 20 grep -q 'executor x1 of .*: registered' "$TMP/agent1b.log"
	wait_for 10 mem_is "$xpid" $((64 + 128 + 32))
	bridge_send fw '{"type":"KILL","task_id":"t2"}'
	wait_for 20 state_is fw t2 TASK_KILLED
	wait_for 10 mem_is "$xpid" $((64 + 128))
	[ "$(pgrep -f "^$TMP/echo-exec")" = "$xpid" ]
}
