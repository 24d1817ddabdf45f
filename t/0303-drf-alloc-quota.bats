#!/usr/bin/env bats
# drf-alloc standalone, QUOTA: a role below its guarantee is served before
# the others; a role is never offered past its limit (offered and in
# use), the rest of the agent going to the next role; bad QUOTA records
# change nothing.  Manual clock: every output is exact.

load helper

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

FOUR='{"type":"FRAMEWORK_ADD","framework_id":"a1","role":"a"}
{"type":"FRAMEWORK_ADD","framework_id":"b1","role":"b"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:100"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:1;mem:100"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:1;mem:100"}
{"type":"AGENT_ADD","agent_id":"n4","resources":"cpus:1;mem:100"}'

@test "without quota two roles split four agents; with b guaranteed 3 cpus, b is served first up to them" {
	run drf-alloc --clock manual <<<"$FOUR
{\"type\":\"ALLOCATE\"}"
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"ALLOCATION","framework_id":"a1","agent_id":"n1","resources":"cpus:1;mem:100"}
{"type":"ALLOCATION","framework_id":"b1","agent_id":"n2","resources":"cpus:1;mem:100"}
{"type":"ALLOCATION","framework_id":"a1","agent_id":"n3","resources":"cpus:1;mem:100"}
{"type":"ALLOCATION","framework_id":"b1","agent_id":"n4","resources":"cpus:1;mem:100"}' ]
	run drf-alloc --clock manual <<<"{\"type\":\"QUOTA\",\"role\":\"b\",\"guarantee\":\"cpus:3\"}
$FOUR
{\"type\":\"ALLOCATE\"}"
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"ALLOCATION","framework_id":"b1","agent_id":"n1","resources":"cpus:1;mem:100"}
{"type":"ALLOCATION","framework_id":"b1","agent_id":"n2","resources":"cpus:1;mem:100"}
{"type":"ALLOCATION","framework_id":"b1","agent_id":"n3","resources":"cpus:1;mem:100"}
{"type":"ALLOCATION","framework_id":"a1","agent_id":"n4","resources":"cpus:1;mem:100"}' ]
}

@test "a guarantee puts a role first even when its share is the larger, and only while it is below it" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"a1","role":"a"}
{"type":"FRAMEWORK_ADD","framework_id":"b1","role":"b"}
{"type":"QUOTA","role":"b","guarantee":"cpus:3"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:2;mem:100"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:1;mem:100"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:1;mem:100"}
{"type":"CLAIM","framework_id":"b1","agent_id":"n1","resources":"cpus:2;mem:100"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
EOF
	[ "$status" -eq 0 ]
	# b holds half the cpus, a nothing: b still comes first, once
	[ "$output" = '{"type":"ALLOCATION","framework_id":"b1","agent_id":"n2","resources":"cpus:1;mem:100"}
{"type":"ALLOCATION","framework_id":"a1","agent_id":"n3","resources":"cpus:1;mem:100"}
{"type":"SHARES","total":"cpus:4;mem:300","roles":[{"role":"a","weight":1.0,"share":0.33333333333333331,"dominant":0.33333333333333331,"allocated":"cpus:1;mem:100","frameworks":1},{"role":"b","weight":1.0,"share":0.75,"dominant":0.75,"allocated":"cpus:3;mem:200","frameworks":1,"guarantee":"cpus:3"}],"frameworks":[{"framework_id":"a1","role":"a","share":0.33333333333333331,"dominant":0.33333333333333331,"allocated":"cpus:1;mem:100","agents":1,"allocations":1,"suppressed":false},{"framework_id":"b1","role":"b","share":0.75,"dominant":0.75,"allocated":"cpus:3;mem:200","agents":2,"allocations":1,"suppressed":false}]}' ]
}

@test "a limit caps what a role is offered; what it gives back comes again within it; no limit, the rest" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"a1","role":"a"}
{"type":"QUOTA","role":"a","limit":"cpus:1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"a1","agent_id":"n1","resources":"cpus:0.5"}
{"type":"ALLOCATE"}
{"type":"QUOTA","role":"a"}
{"type":"ALLOCATE"}
EOF
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"ALLOCATION","framework_id":"a1","agent_id":"n1","resources":"cpus:1;mem:4096"}
{"type":"ALLOCATION","framework_id":"a1","agent_id":"n1","resources":"cpus:0.5"}
{"type":"ALLOCATION","framework_id":"a1","agent_id":"n1","resources":"cpus:3"}' ]
}

@test "the part of an agent beyond a limit goes to the next role in the same cycle" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"a1","role":"a"}
{"type":"FRAMEWORK_ADD","framework_id":"b1","role":"b"}
{"type":"QUOTA","role":"a","limit":"cpus:1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096;ports:[1-10]"}
{"type":"ALLOCATE"}
EOF
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"ALLOCATION","framework_id":"a1","agent_id":"n1","resources":"cpus:1;mem:4096;ports:[1-10]"}
{"type":"ALLOCATION","framework_id":"b1","agent_id":"n1","resources":"cpus:3"}' ]
}

@test "what a role uses counts against its limit: at it in any resource the agent has, nothing of it is offered" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"a1","role":"a"}
{"type":"QUOTA","role":"a","limit":"cpus:1;mem:1024"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"CLAIM","framework_id":"a1","agent_id":"n1","resources":"cpus:1;mem:1024"}
{"type":"ALLOCATE"}
{"type":"QUOTA","role":"a","limit":"cpus:2;mem:1024"}
{"type":"ALLOCATE"}
{"type":"QUOTA","role":"a","limit":"cpus:2;mem:1536"}
{"type":"ALLOCATE"}
EOF
	[ "$status" -eq 0 ]
	# room for cpus but none for mem: an offer of cpus alone would hold
	# the agent for nothing
	[ "$output" = '{"type":"ALLOCATION","framework_id":"a1","agent_id":"n1","resources":"cpus:1;mem:512"}' ]
}

@test "bad QUOTA records get ERRORs with codes and change nothing" {
	run drf-alloc --clock manual <<'EOF'
{"type":"QUOTA","role":"a","limit":"cpus:4"}
{"type":"QUOTA","role":"a","guarantee":"cpus:2","limit":"cpus:1"}
{"type":"QUOTA","role":"a","limit":"ports:[1-2]"}
{"type":"QUOTA","role":"a","limit":"cpus:x"}
{"type":"QUOTA","role":"no way"}
{"type":"QUOTA","guarantee":"cpus:1"}
{"type":"QUOTA","role":"a","guarantee":4}
{"type":"FRAMEWORK_ADD","framework_id":"a1","role":"a"}
{"type":"SHARES_QUERY"}
EOF
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"ERROR","code":"invalid","message":"QUOTA: role a: the guarantee of cpus is over its limit","about":"QUOTA"}
{"type":"ERROR","code":"invalid","message":"QUOTA: limit: ports is not an unreserved scalar: a quota counts those only","about":"QUOTA"}
{"type":"ERROR","code":"invalid","message":"QUOTA: limit: cpus: '"'x'"' is not a non-negative number","about":"QUOTA"}
{"type":"ERROR","code":"invalid","message":"QUOTA: '"'no way'"' is not a role name (\"*\" or 1..63 of A-Z a-z 0-9 . _ -)","about":"QUOTA"}
{"type":"ERROR","code":"malformed","message":"QUOTA: field '"'role'"' is missing","about":"QUOTA"}
{"type":"ERROR","code":"malformed","message":"QUOTA: field '"'guarantee'"' must be a string","about":"QUOTA"}
{"type":"SHARES","total":"","roles":[{"role":"a","weight":1.0,"share":0.0,"dominant":0.0,"allocated":"","frameworks":1,"limit":"cpus:4"}],"frameworks":[{"framework_id":"a1","role":"a","share":0.0,"dominant":0.0,"allocated":"","agents":0,"allocations":0,"suppressed":false}]}' ]
}
