#!/usr/bin/env bats
# cluster-ctl takes its global options before or after the command.

load helper

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

@test "global options after the command: -o, -h, -m, -t, --help" {
	start_cluster 1
	run cluster-ctl agents -o json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == *'"hostname":"host1"'* ]]
	run cluster-ctl tasks -h
	[ "$status" -eq 0 ]
	[[ "$output" != TASK_ID* ]]
	run cluster-ctl agents --noheader --format=hostname
	[ "$output" = host1 ]
	run cluster-ctl run -t 30s -N after -- true
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
	run cluster-ctl tasks -h -o task_id,state
	[[ "$output" == *"after-"*TASK_FINISHED* ]]
	# the master after the command wins over the environment
	run env CLUSTER_MASTER=ipc:///nonexistent/x cluster-ctl agents \
	    -m "$CLUSTER_MASTER" -o hostname -h
	[ "$output" = host1 ]
	run cluster-ctl agents --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
}

@test "options after the command are checked as before it" {
	run cluster-ctl agents -x
	[ "$status" -eq 100 ]
	run cluster-ctl agents extra
	[ "$status" -eq 100 ]
	run cluster-ctl tasks -t soon
	[ "$status" -eq 100 ]
	run cluster-ctl leader -m 'lock://relative/path'
	[ "$status" -eq 100 ]
	# a run's own options and the global ones mix; its command's stay its own
	run cluster-ctl -t 1s run -h -c nan -- true
	[ "$status" -eq 100 ]
	run cluster-ctl run -m ipc:///nonexistent/x -t 1s -- ls -h -o x
	[ "$status" -eq 111 ]
	[[ "$output" == *"no answer from the master"* ]]
}

@test "agentd -R beyond the machine's cpus or memory is warned about, and still taken" {
	start_daemon offerd offerd -d -w "$TMP/master"
	start_daemon big agentd -d -w "$TMP/big" -N big -R 'cpus:4096;mem:999999999'
	wait_for 15 agents_registered 1
	grep -q "offers cpus:4096 but this machine has $(nproc)" "$TMP/big.log"
	grep -q "offers mem:999999999 but this machine has [0-9]* MB" "$TMP/big.log"
	[ "$(cluster-ctl -h -o resources agents)" = "cpus:4096;mem:999999999" ]
	teardown_daemons
}

@test "--version: every program says its release and protocol, and exits 0" {
	for p in offerd agentd drf-alloc task-launch cluster-ctl cluster-elect; do
		run "$p" --version
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^$p\ [0-9]+\.[0-9]+\.[0-9]+\ \(cluster\ protocol\ [0-9]+\)$ ]]
	done
}
