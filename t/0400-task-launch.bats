#!/usr/bin/env bats
# task-launch: isolation the kernel enforces, checked with real processes,
# real cgroups and real namespaces.  Needs root.

load helper
bats_require_minimum_version 1.5.0

setup() {
	setup_tmp
	[ "$(id -u)" = 0 ] || skip "task-launch needs root (cgroups, namespaces, capabilities)"
	[ -x "$TOP/build/bin/task-launch" ] || skip "build/bin/task-launch missing: run make"
	ID="tl$$-$BATS_TEST_NUMBER"
	SB="$TMP/sandbox"
	ST="$TMP/status.json"
}

teardown() {
	# a task a failed test left waiting at its gate (see below) ends
	[ ! -p "$SB/gate" ] || timeout 5 sh -c 'echo >"$1"' - "$SB/gate" || true
	remove_task_cgroups
	[ -z "${POOL:-}" ] || remove_pool
	[ -z "${DEEP:-}" ] || find "$DEEP" -depth -type d -exec rmdir {} +
	cleanup_tmp
}

# True on a machine with cgroup v2 alone (as in the VM of t/0440).
cgroup_v2() {
	[ -e /sys/fs/cgroup/cgroup.controllers ]
}

# Directory of the default cgroup parent for a v1 controller (on cgroup v2
# alone, for all): cluster-tasks below our own cgroup, as task-launch
# computes it.
parent_of() {
	local own
	if cgroup_v2; then
		own=$(sed -n 's/^0:://p' /proc/self/cgroup)
		echo "/sys/fs/cgroup${own%/}/cluster-tasks" | sed 's://*:/:g'
		return
	fi
	own=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' /proc/self/cgroup)
	echo "/sys/fs/cgroup/$1${own%/}/cluster-tasks" | sed 's://*:/:g'
}

# Print every task cgroup this test's id left behind (should be none).
task_cgroups() {
	local c d
	if cgroup_v2; then
		d="$(parent_of memory)/$ID"
		[ ! -d "$d" ] || echo "$d"
		return 0
	fi
	for c in memory cpu cpuacct pids; do
		d="$(parent_of "$c")/$ID"
		[ -d "$d" ] && echo "$d"
	done
	[ -d "/sys/fs/cgroup/unified/cluster-tasks/$ID" ] && echo "/sys/fs/cgroup/unified/cluster-tasks/$ID"
	return 0
}

# Succeed when no process has pattern in its command line.
gone() {
	! pgrep -f "$1" >/dev/null || false
}

remove_task_cgroups() {
	[ -n "${ID:-}" ] || return 0
	local d
	for d in $(task_cgroups); do
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
		rmdir "$d" 2>/dev/null || true
	done
}

@test "basic exec: output in the sandbox, exit code propagates, cgroup removed" {
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" -- sh -c 'echo out; echo err >&2; exit 3'
	[ "$status" -eq 3 ]
	[ "$(cat "$SB/stdout")" = out ]
	[ "$(cat "$SB/stderr")" = err ]
	grep -q '"state":"exited"' "$ST"
	grep -q '"exit_code":3' "$ST"
	grep -q "\"id\":\"$ID\"" "$ST"
	[ -z "$(task_cgroups)" ]
	# a second run appends
	run task-launch -w "$SB" -i "$ID" -- sh -c 'echo again'
	[ "$status" -eq 0 ]
	[ "$(cat "$SB/stdout")" = "$(printf 'out\nagain')" ]
}

@test "cpu_ms counts every process of the task, also one killed when the task's init exits" {
	# a CPU burner in the background, killed when sh (pid 1) exits after 1 s
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" -c 1 -- sh -c 'while :; do :; done & sleep 1; exit 0'
	[ "$status" -eq 0 ]
	cpu=$(jq .cpu_ms "$ST")
	echo "cpu_ms=$cpu"
	[ "$cpu" -ge 500 ]
}

@test "the task gets descriptors 0, 1 and 2 only, whatever the launcher inherited" {
	run task-launch -w "$SB" -i "$ID" -- sh -c 'ls /proc/$$/fd' 7>/dev/null 8<&0
	[ "$status" -eq 0 ]
	[ "$(tr '\n' ' ' <"$SB/stdout")" = "0 1 2 " ]
}

@test "environment is cleared to the base plus --env, cwd is the sandbox, stdin /dev/null" {
	export LEAK=yes
	run task-launch -w "$SB/new/dir" -i "$ID" -e FOO=bar -e X=1=2 -- sh -c 'env | sort; pwd; cat; echo end'
	[ "$status" -eq 0 ]
	run cat "$SB/new/dir/stdout"
	[ "${lines[0]}" = "FOO=bar" ]
	[ "${lines[1]}" = "HOME=$SB/new/dir" ]
	[ "${lines[2]}" = "PATH=/usr/local/bin:/usr/bin:/bin" ]
	[ "${lines[4]}" = "SANDBOX=$SB/new/dir" ]
	[ "${lines[5]}" = "TASK_ID=$ID" ]
	[ "${lines[6]}" = "X=1=2" ]
	[ "${lines[7]}" = "$SB/new/dir" ]
	[ "${lines[8]}" = "end" ]
	! grep -q LEAK "$SB/new/dir/stdout" || false
	[ "$(stat -c %a "$SB/new/dir")" = 750 ]
}

@test "limits are written to the task's cgroups while it runs" {
	task-launch -w "$SB" -i "$ID" -c 1.5 -M 96 --pids 50 -- sleep 300 3>&- &
	local pid=$!
	wait_for 5 test -e "$(parent_of pids)/$ID/pids.max"
	wait_for 5 grep -q . "$(parent_of pids)/$ID/cgroup.procs"
	if cgroup_v2; then
		# 1536 shares as a weight: 1 + (1536 - 2) * 9999 / 262142
		[ "$(cat "$(parent_of cpu)/$ID/cpu.weight")" = 59 ]
		[ "$(cat "$(parent_of cpu)/$ID/cpu.max")" = "150000 100000" ]
		[ "$(cat "$(parent_of memory)/$ID/memory.max")" = $((96 << 20)) ]
		[ "$(cat "$(parent_of memory)/$ID/memory.swap.max")" = 0 ]
	else
		[ "$(cat "$(parent_of cpu)/$ID/cpu.shares")" = 1536 ]
		[ "$(cat "$(parent_of cpu)/$ID/cpu.cfs_quota_us")" = 150000 ]
		[ "$(cat "$(parent_of memory)/$ID/memory.limit_in_bytes")" = $((96 << 20)) ]
	fi
	[ "$(cat "$(parent_of pids)/$ID/pids.max")" = 50 ]
	kill -TERM "$pid"
	wait "$pid" || true
	[ -z "$(task_cgroups)" ]
}

# The v1 cgroup directory of controller $1 for --cgroup-parent $POOL.
pool_dir() {
	echo "$(dirname "$(parent_of "$1")")/$POOL"
}

# Print the spare cgroups in $POOL for controller $1, one per line.
spares() {
	ls "$(pool_dir "$1")" | grep '^spare\.[0-9]*$' || true
}

remove_pool() {
	local c
	for c in memory cpu cpuacct pids; do
		[ -d "$(pool_dir "$c")" ] || continue
		rmdir "$(pool_dir "$c")"/* "$(pool_dir "$c")" 2>/dev/null || true
	done
}

@test "v1: an ended task's cgroups become a reset spare that the next task takes" {
	[ -d /sys/fs/cgroup/memory ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ] ||
	    skip "no cgroup v1 hierarchies here"
	POOL="tlpool$$-$BATS_TEST_NUMBER"
	# a task with every limit, that uses CPU and 16 MiB
	run task-launch -w "$SB" -i "$ID.a" --status-file "$ST" --cgroup-parent "$POOL" -c 0.5 -M 64 --pids 20 -- \
	    sh -c 'dd if=/dev/zero of=/dev/null bs=16M count=1 2>/dev/null; i=0; while [ $i -lt 100000 ]; do i=$((i + 1)); done'
	[ "$status" -eq 0 ]
	cpu_a=$(sed 's/.*"cpu_ms":\([0-9]*\).*/\1/' "$ST")
	for c in memory cpu cpuacct pids; do
		[ ! -e "$(pool_dir "$c")/$ID.a" ]
		[ "$(spares "$c" | wc -l)" -eq 1 ]
	done
	spare=$(spares memory)
	[ "$(spares cpu)" = "$spare" ]
	[ "$(spares pids)" = "$spare" ]
	# its counters are zero; its limits stay until the next launch
	[ "$(cat "$(pool_dir memory)/$spare/memory.max_usage_in_bytes")" -le $((1 << 20)) ]
	[ "$(cat "$(pool_dir cpuacct)/$spare/cpuacct.usage")" = 0 ]
	# the next task runs in it under its own name, with no limits as asked
	# (it runs until the test writes to the fifo "gate" in its sandbox)
	mkfifo "$SB/gate"
	task-launch -w "$SB" -i "$ID.b" --status-file "$ST" --cgroup-parent "$POOL" -- \
	    sh -c 'cat /proc/self/cgroup; read x <gate' 3>&- &
	local pid=$!
	wait_for 10 grep -q . "$(pool_dir pids)/$ID.b/cgroup.procs"
	[ "$(cat "$(pool_dir memory)/$ID.b/memory.limit_in_bytes")" -gt $((1 << 40)) ]
	[ "$(cat "$(pool_dir memory)/$ID.b/memory.swappiness")" = \
	    "$(cat "$(pool_dir memory)/memory.swappiness")" ]
	[ "$(cat "$(pool_dir cpu)/$ID.b/cpu.cfs_quota_us")" = -1 ]
	[ "$(cat "$(pool_dir cpu)/$ID.b/cpu.shares")" = 1024 ]
	[ "$(cat "$(pool_dir pids)/$ID.b/pids.max")" = 1024 ]	# the default
	echo >"$SB/gate"
	wait "$pid"
	rm -f "$SB/gate"
	grep -q ":memory:.*/$POOL/$ID.b\$" "$SB/stdout"
	grep -q ":pids:.*/$POOL/$ID.b\$" "$SB/stdout"
	cpu_b=$(sed 's/.*"cpu_ms":\([0-9]*\).*/\1/' "$ST")
	echo "cpu_ms: $cpu_a then $cpu_b"
	# the counter was zeroed: B is far below what A left (a loaded
	# machine stretches B's own few milliseconds past 20)
	[ "$cpu_a" -gt 50 ]
	[ "$cpu_b" -lt $((cpu_a / 2)) ]
	grep -q '"mem_peak_mb":[12],' "$ST"
	[ "$(spares memory | wc -l)" -eq 1 ]
	[ "$(spares pids | wc -l)" -eq 1 ]
	# back into the slot it took (of 64), with no scan for a free one
	[ "$(spares memory)" = "$spare" ]
	[ "$(spares pids)" = "$spare" ]
	# a cgroup with an OOM kill on record is removed, not kept
	run timeout 30 task-launch -w "$SB" -i "$ID.c" --status-file "$ST" --cgroup-parent "$POOL" -M 32 -- \
	    perl -e '$x = "x" x (256 * 1024 * 1024)'
	[ "$status" -eq 137 ]
	[ -z "$(spares memory)" ]
	[ -z "$(spares pids)" ]
	[ ! -e "$(pool_dir memory)/$ID.c" ]
	# nor is one that page cache of the task's keeps charged past 1 MiB
	run task-launch -w "$SB" -i "$ID.d" --status-file "$ST" --cgroup-parent "$POOL" -- \
	    dd if=/dev/zero of=big bs=1M count=8
	[ "$status" -eq 0 ]
	[ -z "$(spares memory)" ]
	[ -z "$(spares pids)" ]
	[ ! -e "$(pool_dir memory)/$ID.d" ]
	# a small one is
	run task-launch -w "$SB" -i "$ID.e" --status-file "$ST" --cgroup-parent "$POOL" -- true
	[ "$(spares memory | wc -l)" -eq 1 ]
}

@test "v1: with 64 spares in the parent an ended task's cgroups are removed" {
	[ -d /sys/fs/cgroup/memory ] && [ ! -e /sys/fs/cgroup/cgroup.controllers ] ||
	    skip "no cgroup v1 hierarchies here"
	POOL="tlpool$$-$BATS_TEST_NUMBER"
	for c in memory cpu cpuacct pids; do
		mkdir -p "$(pool_dir "$c")"
		for n in $(seq 0 63); do mkdir "$(pool_dir "$c")/spare.$n"; done
	done
	# the launch takes one and puts it back: 64 again
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" --cgroup-parent "$POOL" -- true
	[ "$status" -eq 0 ]
	[ "$(spares memory | wc -l)" -eq 64 ]
	[ "$(spares pids | wc -l)" -eq 64 ]
	# a 65th cgroup, made while the task runs, is removed at its end
	mkfifo "$SB/gate"
	task-launch -w "$SB" -i "$ID.b" --cgroup-parent "$POOL" -- sh -c 'read x <gate' 3>&- &
	local pid=$!
	wait_for 10 test -d "$(pool_dir pids)/$ID.b"
	[ "$(spares pids | wc -l)" -eq 63 ]
	for n in $(seq 0 63); do mkdir "$(pool_dir pids)/spare.$n" 2>/dev/null || true; done
	for c in memory cpu cpuacct; do
		for n in $(seq 0 63); do mkdir "$(pool_dir "$c")/spare.$n" 2>/dev/null || true; done
	done
	echo >"$SB/gate"
	wait "$pid"
	for c in memory cpu cpuacct pids; do
		[ ! -e "$(pool_dir "$c")/$ID.b" ]
		[ "$(spares "$c" | wc -l)" -eq 64 ]
	done
}

@test "a task allocating past --mem is killed and the status says oom" {
	run timeout 30 task-launch -w "$SB" -i "$ID" --status-file "$ST" -M 32 -- \
	    perl -e '$x = "x" x (256 * 1024 * 1024); print "survived\n"'
	[ "$status" -eq 137 ]
	grep -q '"oom":true' "$ST"
	grep -q '"state":"signaled"' "$ST"
	grep -q '"signal":9' "$ST"
	! grep -q survived "$SB/stdout" || false
	# and the same allocation fits without the limit
	# (emulated in t/0440's VM, on a loaded host, 256 MiB takes a while)
	run timeout 120 task-launch -w "$SB" -i "$ID" --status-file "$ST" -M 1024 -- \
	    perl -e '$x = "x" x (256 * 1024 * 1024); print "survived\n"'
	[ "$status" -eq 0 ]
	grep -q '"oom":false' "$ST"
	grep -q survived "$SB/stdout"
}

@test "a fork bomb stops at --pids" {
	# Fork up to 100 sleepers and count the forks that fail.
	run timeout 30 task-launch -w "$SB" -i "$ID" --pids 20 -- perl -e '
	    my ($ok, $fail) = (0, 0);
	    for (1 .. 100) {
		my $p = fork;
		if (!defined $p) { $fail++ } elsif ($p == 0) { sleep 60; exit 0 } else { $ok++ }
	    }
	    print "ok=$ok fail=$fail\n";'
	[ "$status" -eq 0 ]
	local ok fail
	ok=$(sed -n 's/^ok=\([0-9]*\) .*/\1/p' "$SB/stdout")
	fail=$(sed -n 's/.* fail=\([0-9]*\)$/\1/p' "$SB/stdout")
	[ "$ok" -lt 20 ]
	[ "$fail" -ge 80 ]
	[ -z "$(task_cgroups)" ]
}

@test "capabilities: none by default, --caps keeps one (root and --user)" {
	run task-launch -w "$SB" -i "$ID" -- grep CapEff /proc/self/status
	[ "$status" -eq 0 ]
	[ "$(cat "$SB/stdout")" = "$(printf 'CapEff:\t0000000000000000')" ]
	rm "$SB/stdout"
	run task-launch -w "$SB" -i "$ID" --caps cap_net_bind_service -- grep -E 'CapEff|CapBnd' /proc/self/status
	[ "$status" -eq 0 ]
	grep -q "$(printf 'CapEff:\t0000000000000400')" "$SB/stdout"
	grep -q "$(printf 'CapBnd:\t0000000000000400')" "$SB/stdout"
	rm "$SB/stdout"
	run task-launch -w "$SB" -i "$ID" -u nobody --caps cap_net_bind_service -- sh -c 'id -u; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status'
	[ "$status" -eq 0 ]
	[ "$(sed -n 1p "$SB/stdout")" = "$(id -u nobody)" ]
	grep -q "$(printf 'CapEff:\t0000000000000400')" "$SB/stdout"
	grep -q "$(printf 'NoNewPrivs:\t1')" "$SB/stdout"
	[ "$(stat -c %U "$SB")" = nobody ]
}

@test "the task is pid 1 of its own pid namespace, with its own /proc and hostname" {
	run task-launch -w "$SB" -i "$ID" -- sh -c 'echo $$; hostname; ls /proc | grep -c "^[0-9]"'
	[ "$status" -eq 0 ]
	run cat "$SB/stdout"
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" = "$ID" ]
	[ "${lines[2]}" -le 4 ]
	[ "$(hostname)" != "$ID" ]
}

@test "--net gives a network namespace with loopback only" {
	run task-launch -w "$SB" -i "$ID" --net -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	[ "$status" -eq 0 ]
	[ "$(cat "$SB/stdout")" = lo ]
}

@test "SIGTERM kills every process of the task after the grace period" {
	local marker="tl-marker-$ID" t0 t1
	task-launch -w "$SB" -i "$ID" --status-file "$ST" -g 1 -- sh -c "
	    trap '' TERM
	    sh -c 'sleep 1000; : $marker' &
	    sh -c 'sleep 1000; : $marker' &
	    echo started; wait" 3>&- &
	local pid=$!
	wait_for 5 grep -q started "$SB/stdout"
	[ "$(pgrep -f "$marker" | wc -l)" -ge 3 ]
	t0=$(date +%s%N)
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 137 ]
	[ $(( (t1 - t0) / 1000000 )) -ge 900 ]
	run pgrep -f "$marker"
	[ "$status" -eq 1 ]
	grep -q '"killed":true' "$ST"
	[ -z "$(task_cgroups)" ]
}

@test "a task that handles SIGTERM exits by itself within the grace" {
	task-launch -w "$SB" -i "$ID" --status-file "$ST" -g 10 -- sh -c 'trap "echo bye; exit 7" TERM; echo started; while :; do sleep 0.1; done' 3>&- &
	local pid=$!
	wait_for 5 grep -q started "$SB/stdout"
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 7 ]
	grep -q bye "$SB/stdout"
	grep -q '"killed":true' "$ST"
	grep -q '"exit_code":7' "$ST"
}

@test "a pid 1 that does not catch SIGTERM stops at once, not after the grace" {
	task-launch -w "$SB" -i "$ID" --status-file "$ST" -g 10 -- sh -c 'echo started; exec sleep 100' 3>&- &
	local pid=$! rc=0 t0 t1
	wait_for 5 grep -q started "$SB/stdout"
	wait_for 5 pgrep -P "$pid" -x sleep
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 137 ]
	[ $(( (t1 - t0) / 1000000 )) -lt 2000 ]
	grep -q '"killed":true' "$ST"
	[ -z "$(task_cgroups)" ]
}

@test "--require of a missing isolator fails and never runs the task" {
	# A directory that is not a cgroup filesystem: no cgroup isolator.
	mkdir "$TMP/notcgroup"
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" --cgroup-root "$TMP/notcgroup" --require memory -- touch "$TMP/ran"
	[ "$status" -eq 111 ]
	[[ "$output" == *"task-launch: required isolator 'memory' missing"* ]]
	[ ! -e "$TMP/ran" ]
	grep -q '"state":"failed"' "$ST"
	grep -q "required isolator 'memory' missing" "$ST"
}

@test "a cgroup parent longer than 1023 bytes: no cgroup isolator, said why, nothing made" {
	# six names of 200 bytes: each one the kernel would take
	part=$(printf 'p%.0s' $(seq 200))
	long=/$part/$part/$part/$part/$part/$part
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" --cgroup-parent "$long" --require cgroup -- touch "$TMP/ran"
	[ "$status" -eq 111 ]
	[[ "$output" == *"required isolator 'cgroup' missing: a cgroup path below /sys/fs/cgroup is longer than 1023 bytes"* ]]
	[ ! -e "$TMP/ran" ]
	grep -q '"state":"failed"' "$ST"
	[ -z "$(find /sys/fs/cgroup -maxdepth 2 -name 'pppp*' -print -quit)" ]
	# not required: the task runs without a cgroup, skipped and said why
	run task-launch -v -w "$SB" -i "$ID.n" --status-file "$ST" --cgroup-parent "$long" -- touch "$TMP/ran"
	[ "$status" -eq 0 ]
	[ -e "$TMP/ran" ]
	[[ "$output" == *"skipping isolator 'cgroup'"*"longer than 1023 bytes"* ]]
	grep -q '"skipped":"cgroup,memory,cpu,pids"' "$ST"
}

@test "run from a cgroup longer than 1023 bytes: a parent below it is refused, an absolute one is used" {
	if cgroup_v2; then root=/sys/fs/cgroup
	elif [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then root=/sys/fs/cgroup/unified
	else skip "no cgroup2 hierarchy"
	fi
	part=$(printf 'q%.0s' $(seq 200))
	DEEP=$root/$part
	deep=$DEEP/$part/$part/$part/$part/$part
	mkdir -p "$deep"
	# the launcher starts from the deep cgroup, as one started by a deep agentd
	run sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' - "$deep" \
	    task-launch -w "$SB" -i "$ID" --status-file "$ST" --cgroup-root "$root" --cgroup-parent sub --require cgroup -- touch "$TMP/ran"
	[ "$status" -eq 111 ]
	[[ "$output" == *"required isolator 'cgroup' missing: a cgroup path below $root is longer than 1023 bytes"* ]]
	[ ! -e "$TMP/ran" ]
	[ -z "$(find "$DEEP" -name sub -print -quit)" ]
	run sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' - "$deep" \
	    task-launch -w "$SB" -i "$ID.a" --status-file "$ST" --cgroup-root "$root" --cgroup-parent /cluster-tasks --require cgroup -- cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	grep -qx "0::/cluster-tasks/$ID.a" "$SB/stdout"
	[ ! -d "$root/cluster-tasks/$ID.a" ]
}

@test "--require of a controller the cgroup2 hierarchy lacks fails (hybrid host)" {
	[ -e /sys/fs/cgroup/unified/cgroup.controllers ] || skip "no hybrid cgroup2 mount here"
	grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers && skip "memory is enabled in cgroup2 here"
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" --cgroup-root /sys/fs/cgroup/unified --require pid,memory -- touch "$TMP/ran"
	[ "$status" -eq 111 ]
	[[ "$output" == *"required isolator 'memory' missing"* ]]
	[ ! -e "$TMP/ran" ]
	[ -z "$(task_cgroups)" ]
}

@test "a missing isolator that is not required is skipped and recorded" {
	mkdir "$TMP/notcgroup"
	run task-launch -v -w "$SB" -i "$ID" --status-file "$ST" --cgroup-root "$TMP/notcgroup" -- sh -c 'echo $$'
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipping isolator 'memory'"* ]]
	[ "$(cat "$SB/stdout")" = 1 ]
	grep -q '"skipped":"cgroup,memory,cpu,pids"' "$ST"
	grep -q '"isolators":"pid,mount,ipc,uts,caps,no_new_privs,rlimits"' "$ST"
}

@test "cgroup v2 code path: the task runs in its own cgroup2 cgroup, removed after" {
	[ -e /sys/fs/cgroup/unified/cgroup.controllers ] || skip "no cgroup2 mount at /sys/fs/cgroup/unified"
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" --cgroup-root /sys/fs/cgroup/unified -- cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	grep -qx "0::/cluster-tasks/$ID" "$SB/stdout"
	grep -q '"isolators":"cgroup,' "$ST"
	[ ! -d "/sys/fs/cgroup/unified/cluster-tasks/$ID" ]
}

@test "--serve: a fork server that runs each request as task-launch ARGS would" {
	command -v python3 >/dev/null || skip "needs python3 to speak SOCK_SEQPACKET"
	cat >"$TMP/client.py" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
srv = subprocess.Popen([sys.argv[1], "--serve"], stdin=b)
b.close()
def ask(msg):
    a.send(msg)
    return a.recv(512).decode()
print(a.recv(512).decode())
args = sys.argv[2:]
r = ask(b"\0".join(x.encode() for x in ["launch", args[0]] + args[1:]) + b"\0")
print(r.split()[0])
pid = r.split()[1]
e = a.recv(512).decode().split()
print(e[0], e[1] == pid, int(e[2]) >> 8)
print(ask(b"launch\0"))
print(ask(b"launch\0log\0"))
print(ask(b"hello\0"))
print(ask(b"launch\0log\0task-launch"))
print(ask(b"launch\0log\0" + b"x" * (128 * 1024)))
print(ask(b"launch\0log\0" + b"x\0" * 4096))
a.close()
print("server", srv.wait())
PY
	run python3 "$TMP/client.py" "$TOP/build/bin/task-launch" "$TMP/launcher.log" \
	    task-launch -w "$SB" -i "$ID" --status-file "$ST" -- sh -c 'echo served; exit 7'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ready ]
	[ "${lines[1]}" = pid ]
	[ "${lines[2]}" = "exit True 7" ]
	[ "${lines[3]}" = "error request has no log path" ]
	[ "${lines[4]}" = "error request has no arguments" ]
	[ "${lines[5]}" = "error unknown request" ]
	[ "${lines[6]}" = "error request does not end in NUL" ]
	[ "${lines[7]}" = "error request longer than 131072 bytes" ]
	[ "${lines[8]}" = "error too many arguments" ]
	[ "${lines[9]}" = "server 0" ]
	[ "$(cat "$SB/stdout")" = served ]
	grep -q '"exit_code":7' "$ST"
	[ -z "$(task_cgroups)" ]
	# a request that fails to parse goes to its log, as a launch's would
	run python3 "$TMP/client.py" "$TOP/build/bin/task-launch" "$TMP/launcher.log" \
	    task-launch --bogus
	[ "${lines[2]}" = "exit True 100" ]
	grep -q "unrecognized option '--bogus'" "$TMP/launcher.log"
}

# sigs_default STATUS: /proc/PID/status text of a task whose launcher
# ignored SIGHUP, SIGUSR1, SIGTERM, SIGPIPE, SIGXFSZ and glibc's own two
# real-time signals (32 and 33): none is ignored, blocked or caught.
sigs_default() {
	grep -qE '^SigBlk:[[:space:]]*0000000000000000$' "$1"
	grep -qE '^SigCgt:[[:space:]]*0000000000000000$' "$1"
	grep -qE '^SigIgn:[[:space:]]*0000000000000000$' "$1"
}

# ignoring COMMAND...: run it with SIGHUP, SIGUSR1, SIGTERM, 32 and 33
# ignored; 32 and 33 by the rt_sigaction system call (x86-64's 13), which
# glibc's sigaction refuses for them.
ignoring() {
	cat >"$TMP/ign.py" <<'PY'
import ctypes, os, signal, sys
class KSigaction(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_void_p), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_void_p), ("mask", ctypes.c_uint64)]
libc = ctypes.CDLL(None, use_errno=True)
ign = KSigaction(1, 0, None, 0)			# SIG_IGN
for sig in (32, 33):
    if libc.syscall(ctypes.c_long(13), ctypes.c_long(sig), ctypes.byref(ign),
                    None, ctypes.c_long(8)) != 0:
        sys.exit("rt_sigaction %d: %s" % (sig, os.strerror(ctypes.get_errno())))
for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM):
    signal.signal(sig, signal.SIG_IGN)
os.execvp(sys.argv[1], sys.argv[1:])
PY
	python3 "$TMP/ign.py" "$@"
}

@test "the task has every signal at its default and none blocked, whatever its launcher ignored, served or not" {
	command -v python3 >/dev/null || skip "needs python3"
	[ "$(uname -m)" = x86_64 ] || skip "the test's rt_sigaction number is x86-64's"
	# the launcher's own view: what it inherits is really ignored (and
	# python's SIGPIPE and SIGXFSZ, which it ignores for itself; a job in
	# the background may have SIGINT and SIGQUIT ignored too)
	run ignoring awk '/^SigIgn:/ { print $2 }' /proc/self/status
	(( (0x$output & 0x181005201) == 0x181005201 ))
	# cat sets no handler of its own (grep's catches SIGSEGV)
	run ignoring task-launch -w "$SB" -i "$ID" -- cat /proc/self/status
	[ "$status" -eq 0 ]
	grep '^Sig' "$SB/stdout"
	sigs_default "$SB/stdout"
	# served: the fork server noted what it inherited ignored, once
	cat >"$TMP/serve1.py" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
srv = subprocess.Popen([sys.argv[1], "--serve"], stdin=b)
b.close()
assert a.recv(512) == b"ready"
a.send(b"\0".join(x.encode() for x in ["launch"] + sys.argv[2:]) + b"\0")
print(a.recv(512).decode().split()[0], a.recv(512).decode().split()[0])
a.close()
print("server", srv.wait())
PY
	rm -rf "$SB"
	run ignoring python3 "$TMP/serve1.py" "$TOP/build/bin/task-launch" "$TMP/launcher.log" task-launch -w "$SB" -i "$ID" -- cat /proc/self/status
	echo "$output"
	[ "${lines[0]}" = "pid exit" ]
	grep '^Sig' "$SB/stdout"
	sigs_default "$SB/stdout"
}

# The memory limit and CFS quota of task cgroup $ID, as v1 writes them:
# bytes or "max", microseconds or "max".
mem_max() {
	if cgroup_v2; then
		cat "$(parent_of memory)/$ID/memory.max"
	else
		cat "$(parent_of memory)/$ID/memory.limit_in_bytes" |
		    sed 's/^9223372036854771712$/max/'
	fi
}
cpu_quota() {
	if cgroup_v2; then
		cut -d' ' -f1 "$(parent_of cpu)/$ID/cpu.max"
	else
		sed 's/^-1$/max/' "$(parent_of cpu)/$ID/cpu.cfs_quota_us"
	fi
}
no_task_cgroups() {
	[ -z "$(task_cgroups)" ]
}
# replies N: the reply file has N lines.
replies() {
	[ "$(grep -c . "$TMP/replies")" -ge "$1" ]
}

@test "--serve: resize sets a running task's limits, refuses what it cannot, keeps serving" {
	command -v python3 >/dev/null || skip "needs python3 to speak SOCK_SEQPACKET"
	# a client that sends each line of its input, split at spaces
	cat >"$TMP/client.py" <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
srv = subprocess.Popen([sys.argv[1], "--serve"], stdin=b)
b.close()
print(a.recv(512).decode(), flush=True)
for line in sys.stdin:
    f = line.rstrip("\n").split(" ")
    if f[0] == "launch":
        f[1:1] = [sys.argv[2], sys.argv[1]]
    a.send(b"\0".join(x.encode() for x in f) + b"\0")
    r = a.recv(512).decode()
    while r.startswith("exit "):
        r = a.recv(512).decode()
    print(r, flush=True)
a.shutdown(socket.SHUT_WR)
while a.recv(512):
    pass
print("server", srv.wait(), flush=True)
PY
	mkfifo "$TMP/req"
	python3 "$TMP/client.py" "$TOP/build/bin/task-launch" "$TMP/launcher.log" \
	    <"$TMP/req" >"$TMP/replies" 3>&- &
	exec {req}>"$TMP/req"
	# a task that holds 24 MiB under 32 MB and 0.5 cpus
	printf 'import time\nx = b"x" * (24 << 20)\ntime.sleep(60)\n' >"$TMP/hold.py"
	echo "launch --sandbox $SB --id $ID --mem 32 --cpus 0.5 -- python3 $TMP/hold.py" >&$req
	wait_for 20 replies 2 || { cat "$TMP/replies" "$TMP/launcher.log"; false; }
	sed -n 2p "$TMP/replies" | grep -q '^pid '
	wait_for 10 grep -q . "$(parent_of memory)/$ID/cgroup.procs"
	used=memory.usage_in_bytes
	if cgroup_v2; then used=memory.current; fi
	wait_for 10 sh -c "[ \$(cat '$(parent_of memory)/$ID/$used') -gt $((20 << 20)) ]"
	[ "$(mem_max)" = $((32 << 20)) ]
	[ "$(cpu_quota)" = 50000 ]
	# up (v1: memory+swap first, which may never be below memory)
	echo "resize $ID 1.5 160" >&$req
	wait_for 10 replies 3
	[ "$(sed -n 3p "$TMP/replies")" = ok ]
	[ "$(mem_max)" = $((160 << 20)) ]
	[ "$(cpu_quota)" = 150000 ]
	# below what it uses: refused "busy", the old limits kept, the task alive
	echo "resize $ID 1 8" >&$req
	wait_for 10 replies 4
	sed -n 4p "$TMP/replies" | grep -q "^error busy memory limit in .*/$ID: "
	[ "$(mem_max)" = $((160 << 20)) ]
	[ "$(cpu_quota)" = 150000 ]
	grep -q . "$(parent_of memory)/$ID/cgroup.procs"
	# 0: no limit, as a launch without --mem and --cpus
	echo "resize $ID 0 0" >&$req
	wait_for 10 replies 5
	[ "$(sed -n 5p "$TMP/replies")" = ok ]
	[ "$(mem_max)" = max ]
	[ "$(cpu_quota)" = max ]
	# down, above what it uses
	echo "resize $ID 1 48" >&$req
	# refusals, each with a code; nothing changes
	echo "resize no-such-task 1 64" >&$req
	echo "resize ../x 1 64" >&$req
	echo "resize $ID -1 64" >&$req
	echo "resize $ID 1 lots" >&$req
	echo "resize $ID 1 64 extra" >&$req
	echo "resize $ID 1" >&$req
	echo "resize" >&$req
	wait_for 10 replies 13
	cat "$TMP/replies"
	[ "$(sed -n 6p "$TMP/replies")" = ok ]
	[ "$(sed -n 7p "$TMP/replies")" = "error unknown_task no task cgroup no-such-task" ]
	[ "$(sed -n 8p "$TMP/replies")" = "error invalid invalid id" ]
	[ "$(sed -n 9p "$TMP/replies")" = "error invalid invalid cpus" ]
	[ "$(sed -n 10p "$TMP/replies")" = "error invalid invalid memory size" ]
	[ "$(sed -n 11p "$TMP/replies")" = "error malformed resize takes an id, cpus and mem" ]
	[ "$(sed -n 12p "$TMP/replies")" = "error malformed resize takes an id, cpus and mem" ]
	[ "$(sed -n 13p "$TMP/replies")" = "error malformed resize takes an id, cpus and mem" ]
	[ "$(mem_max)" = $((48 << 20)) ]
	[ "$(cpu_quota)" = 100000 ]
	# and it still launches
	echo "launch --sandbox $SB.2 --id $ID.b -- true" >&$req
	wait_for 10 replies 14
	sed -n 14p "$TMP/replies" | grep -q '^pid '
	pkill -KILL -f "^python3 $TMP/hold.py"
	exec {req}>&-
	wait_for 10 grep -q '^server 0$' "$TMP/replies"
	wait_for 10 no_task_cgroups || { task_cgroups; cat "$TMP/launcher.log"; false; }
}

@test "--serve takes no other arguments and needs a SOCK_SEQPACKET stdin" {
	run task-launch --serve </dev/null
	[ "$status" -eq 100 ]
	[ "$output" = "task-launch: --serve: standard input is not a SOCK_SEQPACKET socket" ]
	run task-launch -v --serve
	[ "$status" -eq 100 ]
	[ "${lines[0]}" = "task-launch: --serve takes no other arguments" ]
	run task-launch --serve -v
	[ "$status" -eq 100 ]
}

@test "--probe prints one line per isolator" {
	run task-launch --probe
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 12 ]
	local names="" l
	for l in "${lines[@]}"; do
		[[ "$l" =~ ^[a-z_]+$'\t'(available|missing)$'\t'.+$ ]]
		names="$names${l%%$'\t'*} "
	done
	[ "$names" = "cgroup memory cpu pids pid mount ipc uts net caps no_new_privs rlimits " ]
	[[ "${lines[0]}" =~ ^cgroup$'\t'available$'\t'v[12]$ ]]
	[[ "${lines[4]}" == pid$'\t'available* ]]
	run task-launch --cgroup-root "$TMP" --probe
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == memory$'\t'missing$'\t'* ]]
}

@test "unknown user: exit 111, a clear message and a failed status" {
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" -u nobodyx -- touch "$TMP/ran"
	[ "$status" -eq 111 ]
	[ "$output" = "task-launch: unknown user 'nobodyx'" ]
	grep -q "\"reason\":\"unknown user 'nobodyx'\"" "$ST"
	[ ! -e "$TMP/ran" ]
	[ -z "$(task_cgroups)" ]
}

@test "malformed numbers are usage errors (100)" {
	local v
	for v in 12x -5 nan 0 1e3 99999999999999999999 ""; do
		run task-launch -w "$SB" -M "$v" -- true
		[ "$status" -eq 100 ]
		[[ "${lines[0]}" == "task-launch: invalid memory size: '$v'" ]]
	done
	for v in nan -1 inf 1.2.3 0 0x10; do
		run task-launch -w "$SB" -c "$v" -- true
		[ "$status" -eq 100 ]
		[[ "${lines[0]}" == "task-launch: invalid cpus: '$v'" ]]
	done
	run task-launch -w "$SB" --pids 0 -- true
	[ "$status" -eq 100 ]
	run task-launch -w "$SB" --rlimit nofile=abc -- true
	[ "$status" -eq 100 ]
	run task-launch -w "$SB" -x memory,bogus -- true
	[ "$status" -eq 100 ]
	run task-launch -w "$SB" --caps cap_bogus -- true
	[ "$status" -eq 100 ]
	run task-launch -w "$SB" -i ../escape -- true
	[ "$status" -eq 100 ]
	run task-launch --bogus -- true
	[ "$status" -eq 100 ]
	[ ! -e "$SB" ]
}

@test "missing command is a usage error (100)" {
	run task-launch -w "$SB" -i "$ID"
	[ "$status" -eq 100 ]
	[ "${lines[0]}" = "task-launch: missing command" ]
	[[ "${lines[1]}" == usage:* ]]
}

@test "an existing task cgroup is an error (111) and is left alone" {
	local d
	d="$(parent_of pids)/$ID"
	mkdir -p "$d"
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" -- touch "$TMP/ran"
	[ "$status" -eq 111 ]
	[ "$output" = "task-launch: cgroup $d exists" ]
	[ -d "$d" ]
	[ ! -e "$TMP/ran" ]
	# v1: nothing was made in the other hierarchies (v2 has one: $d)
	cgroup_v2 || [ ! -d "$(parent_of memory)/$ID" ]
	grep -q '"state":"failed"' "$ST"
}

@test "command not found is 127, not executable is 126" {
	run -127 task-launch -w "$SB" -i "$ID" --status-file "$ST" -- /nonexistent/cmd
	[ "$status" -eq 127 ]
	[[ "$output" == *"task-launch: /nonexistent/cmd: No such file or directory"* ]]
	grep -q '"exit_status":127' "$ST"
	echo 'echo no' >"$TMP/noexec"
	chmod 644 "$TMP/noexec"
	run -126 task-launch -w "$SB" -i "$ID" -- "$TMP/noexec"
	[ "$status" -eq 126 ]
	[[ "$output" == *"task-launch: $TMP/noexec: Permission denied"* ]]
	[ -z "$(task_cgroups)" ]
}

@test "rlimits are applied" {
	run task-launch -w "$SB" -i "$ID" --rlimit nofile=77 --rlimit core=0 -- sh -c 'ulimit -n; ulimit -c'
	[ "$status" -eq 0 ]
	[ "$(cat "$SB/stdout")" = "$(printf '77\n0')" ]
}

@test "the task dies with its supervisor even when it is SIGKILLed" {
	local marker="tl-orphan-$ID"
	task-launch -w "$SB" -i "$ID" -- sh -c "sh -c 'sleep 1000; : $marker' & echo started; sleep 1000" 3>&- &
	local pid=$!
	wait_for 5 grep -q started "$SB/stdout"
	[ "$(pgrep -f "$marker" | wc -l)" -ge 2 ]
	kill -KILL "$pid"
	wait_for 5 gone "$marker"
}

@test "--hide: the task sees only its own sandbox of the directory, read-only" {
	W="$TMP/w"
	mkdir -p "$W/tasks/f/a/sandbox" "$W/tasks/f/b/sandbox"
	echo secret >"$W/agent_file"
	chown nobody "$W/tasks/f/b/sandbox"
	run task-launch -w "$W/tasks/f/a/sandbox" -i "$ID" --status-file "$ST" -u nobody --hide "$W" -- \
	    sh -c "echo own >\$SANDBOX/own; ls $W; ls $W/tasks/f; cat $W/agent_file; \ echo x >$W/tasks/f/b/sandbox/evil; touch $W/new; pwd"
	[ "$status" -eq 0 ]
	out="$W/tasks/f/a/sandbox/stdout"
	cat "$out" "$W/tasks/f/a/sandbox/stderr"
	[ "$(cat "$W/tasks/f/a/sandbox/own")" = own ]
	[ "$(sed -n 1p "$out")" = tasks ]
	[ "$(sed -n 2p "$out")" = a ]
	[ "$(sed -n 3p "$out")" = "$W/tasks/f/a/sandbox" ]
	grep -q "Read-only file system" "$W/tasks/f/a/sandbox/stderr"
	[ ! -e "$W/tasks/f/b/sandbox/evil" ]
	[ ! -e "$W/new" ]
	# nothing of it stays mounted outside the task
	! grep -q " $W" /proc/self/mountinfo || false
}

@test "--hide needs the mount isolator (111) and a directory above the sandbox (100)" {
	mkdir -p "$TMP/w/sb"
	run task-launch -w "$TMP/w/sb" -i "$ID" --status-file "$ST" -x pid --hide "$TMP/w" -- touch "$TMP/ran"
	[ "$status" -eq 111 ]
	[[ "$output" == *"needs the mount isolator"* ]]
	run task-launch -w "$TMP/w/sb" -i "$ID" --status-file "$ST" --hide "$TMP/w/sb" -- touch "$TMP/ran"
	[ "$status" -eq 100 ]
	run task-launch -w "$TMP/w/sb" -i "$ID" --status-file "$ST" --hide / -- touch "$TMP/ran"
	[ "$status" -eq 100 ]
	run task-launch -w "$TMP/w/sb" -i "$ID" --status-file "$ST" --hide relative -- true
	[ "$status" -eq 100 ]
	[ ! -e "$TMP/ran" ]
	[ -z "$(task_cgroups)" ]
}

@test "a sandbox used again: stdout left as a link by its last task is refused, not followed" {
	mkdir -p "$SB"
	echo keep >"$TMP/target"
	ln -s "$TMP/target" "$SB/stdout"
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" -u nobody -- echo written
	[ "$status" -eq 111 ]
	[ "$(cat "$TMP/target")" = keep ]
	[ "$(stat -c %U "$TMP/target")" = root ]
	rm "$SB/stdout"
	ln "$TMP/target" "$SB/stdout"
	run task-launch -w "$SB" -i "$ID" --status-file "$ST" -u nobody -- echo written
	[ "$status" -eq 111 ]
	[ "$(cat "$TMP/target")" = keep ]
	[ "$(stat -c %U "$TMP/target")" = root ]
}
