#!/usr/bin/env bats
# The isolation on the kernels users run: cgroup v2 alone.  This machine
# mounts the v1 controllers, so t/vm/run boots Debian's own kernel under
# qemu (software emulation, 2 vCPUs, 1 GiB) with cgroup2 alone, and this
# machine's root file system read-only over 9p; there t/vm/isolation-job
# runs t/0400 and t/0410, then agentd in the cgroup its systemd unit
# delegates (t/vm/delegated).  One boot for the whole file (setup_file);
# each test reads what the VM wrote.  Needs root, qemu-system-x86,
# linux-image-amd64 and busybox-static (make deps installs them).  Alone:
# t/run t/0440-isolation-cgroup2-vm.bats

load helper

setup_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	# under t/san a report in the VM would go to its own /tmp, unread
	[ -z "${SAN_DIR:-}" ] || return 0
	VM_OUT=$(mktemp -d /tmp/cluster-vm.XXXXXX)
	export VM_OUT
	echo "bash $TOP/t/vm/isolation-job" >"$VM_OUT/job"
	start=$(date +%s)
	# a failure here is each test's to report, with what the VM wrote
	rc=0
	"$TOP/t/vm/run" "$VM_OUT" "${VM_SECONDS:-2700}" 2>"$VM_OUT/run.err" || rc=$?
	echo "$rc" >"$VM_OUT/run.status"
	echo $(( $(date +%s) - start )) >"$VM_OUT/run.seconds"
}

teardown_file() {
	[ -z "${VM_OUT:-}" ] || rm -rf "$VM_OUT"
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (the isolation tests in the VM do)"
	[ -z "${SAN_DIR:-}" ] ||
	    skip "not under t/san: the VM's /tmp is its own, its sanitizer reports would be lost"
	[ "$(cat "$VM_OUT/run.status")" -ne 2 ] ||
	    skip "$(cat "$VM_OUT/run.err")"
}

# value KEY: the value of the line "KEY value" t/vm/delegated printed.
value() {
	sed -n "s/^$1 //p" "$VM_OUT/delegated.out" | head -1
}

@test "the VM boots a kernel with cgroup v2 alone, memory, cpu and pids enabled" {
	cat "$VM_OUT/run.err" "$VM_OUT/console.log"
	grep -q 'vm-guest: up after .*cgroup2 controllers: cpu memory pids' "$VM_OUT/console.log"
	[ -f "$VM_OUT/job.status" ]
	echo "# VM: $(cat "$VM_OUT/run.seconds") s in all; $(grep -o 'up after [0-9.]* s' "$VM_OUT/console.log")" >&3
}

@test "the isolation tests (t/0400, t/0410) pass in the cgroup-v2 VM" {
	cat "$VM_OUT/isolation.tap"
	[ "$(cat "$VM_OUT/isolation.status")" -eq 0 ]
	grep -q '^[0-9]* passed, 0 failed' "$VM_OUT/isolation.tap"
	echo "# in the VM: $(tail -1 "$VM_OUT/isolation.tap") in $(cat "$VM_OUT/isolation.seconds") s" >&3
}

@test "agentd in its unit's delegated cgroup: v2 controllers, agentd in the leaf, tasks beside it" {
	cat "$VM_OUT/delegated.out"
	# the probe found the controllers: the unit's cgroup passed them on
	[[ ",$(value isolators)," == *,memory,* ]]
	[[ ",$(value isolators)," == *,cpu,* ]]
	[[ ",$(value isolators)," == *,pids,* ]]
	# agentd moved to the leaf; the unit's cgroup stays a domain
	[ "$(value agentd_cgroup)" = /system.slice/agentd.service/daemon ]
	[[ "$(value unit_type)" == "domain subtree "*memory* ]]
	[ "$(grep -c '^task_cgroup /system.slice/agentd.service/cluster-tasks/' "$VM_OUT/delegated.out")" -eq 2 ]
	[ "$(value tasks_left)" -eq 0 ]
}

@test "in the VM a task past its memory limit is OOM-killed and reported so" {
	cat "$VM_OUT/delegated.out"
	[[ "$(value hog)" == TASK_FAILED*'reason="memory limit exceeded"'* ]]
	[[ "$(value hog_json)" == *'"oom":true'* ]]
}

@test "in the VM 1 and 3 cpus on one core get cpu.weight 39 and 118 and use about 1:3" {
	cat "$VM_OUT/delegated.out"
	grep -q '^task_cgroup .*\.light-[^ ]* weight 39 max 100000 100000$' "$VM_OUT/delegated.out"
	grep -q '^task_cgroup .*\.heavy-[^ ]* weight 118 max 300000 100000$' "$VM_OUT/delegated.out"
	light=$(value window_us_light) heavy=$(value window_us_heavy)
	[ "$light" -gt 0 ]
	# the weights give 3.03; a loaded host blurs the share a little
	ratio=$(( heavy * 100 / light ))
	echo "# in the VM: cpu over 5 s: 1 cpu $((light / 1000)) ms, 3 cpus $((heavy / 1000)) ms, ratio $((ratio / 100)).$(printf %02d $((ratio % 100)))" >&3
	[ "$ratio" -ge 200 ] && [ "$ratio" -le 400 ]
	# and the cluster reports what each used
	[ "$(value cpu_ms_light)" -gt 0 ] && [ "$(value cpu_ms_heavy)" -gt 0 ]
	echo "# reported: cpu_ms 1 cpu $(value cpu_ms_light), 3 cpus $(value cpu_ms_heavy)" >&3
}
