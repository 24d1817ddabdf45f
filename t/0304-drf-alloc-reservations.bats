#!/usr/bin/env bats
# drf-alloc standalone, static reservations: resources written as Mesos
# writes them, cpus(ops):2, are offered only to frameworks of their role;
# the unreserved part of the same agent goes to whichever role is first;
# shares count reserved and unreserved cpus as cpus.  Manual clock.

load helper

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

@test "reserved resources go only to their role; the agent's unreserved rest to the first role" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"b1","role":"batch"}
{"type":"FRAMEWORK_ADD","framework_id":"o1","role":"ops"}
{"type":"FRAMEWORK_ADD","framework_id":"s1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus(ops):2;mem(ops):1024;cpus:2;mem:1024;ports(ops):[1-10]"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus(ops):2;mem(ops):1024"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"o1","agent_id":"n2","resources":"cpus(ops):2;mem(ops):1024"}
{"type":"FRAMEWORK_REMOVE","framework_id":"o1"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
EOF
	[ "$status" -eq 0 ]
	# with no framework of ops left, its reservations are offered to no one
	[ "$output" = '{"type":"ALLOCATION","framework_id":"s1","agent_id":"n1","resources":"cpus:2;mem:1024"}
{"type":"ALLOCATION","framework_id":"o1","agent_id":"n1","resources":"cpus(ops):2;mem(ops):1024;ports(ops):[1-10]"}
{"type":"ALLOCATION","framework_id":"o1","agent_id":"n2","resources":"cpus(ops):2;mem(ops):1024"}
{"type":"SHARES","total":"cpus:6;mem:3072","roles":[{"role":"*","weight":1.0,"share":0.33333333333333331,"dominant":0.33333333333333331,"allocated":"cpus:2;mem:1024","frameworks":1},{"role":"batch","weight":1.0,"share":0.0,"dominant":0.0,"allocated":"","frameworks":1},{"role":"ops","weight":1.0,"share":0.0,"dominant":0.0,"allocated":"","frameworks":0}],"frameworks":[{"framework_id":"b1","role":"batch","share":0.0,"dominant":0.0,"allocated":"","agents":0,"allocations":0,"suppressed":false},{"framework_id":"s1","role":"*","share":0.33333333333333331,"dominant":0.33333333333333331,"allocated":"cpus:2;mem:1024","agents":1,"allocations":1,"suppressed":false}]}' ]
}

@test "a limit counts reserved and unreserved cpus together" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"o1","role":"ops"}
{"type":"QUOTA","role":"ops","limit":"cpus:3"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus(ops):2;cpus:2;mem:1024"}
{"type":"ALLOCATE"}
EOF
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"ALLOCATION","framework_id":"o1","agent_id":"n1","resources":"cpus(ops):2;cpus:1;mem:1024"}' ]
}

@test "bad reservations are refused: a role that is no name, too long a name, a reserved quota" {
	run drf-alloc --clock manual <<'EOF'
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus(no way):2"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus(averyveryverylongrolename):2"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus():2"}
{"type":"QUOTA","role":"ops","limit":"cpus(ops):1"}
{"type":"SHARES_QUERY"}
EOF
	[ "$status" -eq 0 ]
	[ "$(grep -c '"code":"invalid"' <<<"$output")" -eq 4 ]
	[ "${lines[4]}" = '{"type":"SHARES","total":"","roles":[],"frameworks":[]}' ]
}
