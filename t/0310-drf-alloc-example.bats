#!/usr/bin/env bats
# examples/alloc-static: a replacement allocator (static partitioning)
# run standalone, records in, decisions out.

load helper

setup() {
	setup_tmp
	ALLOC="$TOP/examples/alloc-static/alloc-static"
}
teardown() { cleanup_tmp; }

# manual: the example on the manual clock reads the records on stdin and
# exits 0; what it printed is in $output and $lines, and shown.
manual() {
	run "$ALLOC" --manual
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "alloc-static: owners get their agents, the rest go round-robin" {
	manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"web"}
{"type":"FRAMEWORK_ADD","framework_id":"batch"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096","attributes":"rack:a;owner:batch"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:2;mem:1024;ports:[1-10]"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:2;mem:1024"}
{"type":"AGENT_ADD","agent_id":"n4","resources":"cpus:2;mem:1024"}
{"type":"AGENT_ADD","agent_id":"n5","resources":"cpus:8;mem:8192","attributes":"owner:nobody"}
{"type":"ALLOCATE"}
EOF
	[ "$output" = '{"type":"ALLOCATION","framework_id":"batch","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATION","framework_id":"web","agent_id":"n2","resources":"cpus:2;mem:1024;ports:[1-10]"}
{"type":"ALLOCATION","framework_id":"batch","agent_id":"n3","resources":"cpus:2;mem:1024"}
{"type":"ALLOCATION","framework_id":"web","agent_id":"n4","resources":"cpus:2;mem:1024"}' ]
}

@test "alloc-static: recover, decline filters on the manual clock, suppress and revive" {
	manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"web"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096;ports:[1-10]","attributes":"owner:web"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"web","agent_id":"n1","resources":"cpus:1;ports:[5-5]","refuse_seconds":5}
{"type":"ALLOCATE"}
{"type":"TICK","seconds":5}
{"type":"SUPPRESS","framework_id":"web"}
{"type":"RECOVER","framework_id":"web","agent_id":"n1","resources":"mem:96"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
{"type":"REVIVE","framework_id":"web"}
{"type":"ALLOCATE"}
EOF
	[ "$output" = '{"type":"ALLOCATION","framework_id":"web","agent_id":"n1","resources":"cpus:4;mem:4096;ports:[1-10]"}
{"type":"ALLOCATION","framework_id":"web","agent_id":"n1","resources":"cpus:1;ports:[5-5]"}
{"type":"SHARES","total":"cpus:4;mem:4096","roles":[],"frameworks":[{"framework_id":"web","allocated":"cpus:4;mem:4000;ports:[1-10]","suppressed":true}]}
{"type":"ALLOCATION","framework_id":"web","agent_id":"n1","resources":"mem:96"}' ]
}

@test "alloc-static: bad records get ERRORs, the program goes on, EOF runs a last cycle" {
	manual <<'EOF'
this is not JSON
{"type":"RECOVER","framework_id":"web","agent_id":"n1","resources":"cpus:1"}
{"type":"FRAMEWORK_ADD","framework_id":"web"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:-1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1"}
{"type":"RECOVER","framework_id":"web","agent_id":"n1","resources":"cpus:1"}
EOF
	[ "${#lines[@]}" -eq 5 ]
	[[ "${lines[0]}" == '{"type":"ERROR","code":"malformed","message":"bad record: JSONDecodeError:'* ]]
	[ "${lines[1]}" = '{"type":"ERROR","code":"invalid","message":"RECOVER: unknown framework or agent","about":"RECOVER"}' ]
	[[ "${lines[2]}" == '{"type":"ERROR","code":"malformed","message":"bad record: ValueError: cpus: '"'"'-1'"'"' is not a non-negative number"'* ]]
	[ "${lines[3]}" = '{"type":"ERROR","code":"invalid","message":"RECOVER: cpus:1 is not there to move","about":"RECOVER"}' ]
	[ "${lines[4]}" = '{"type":"ALLOCATION","framework_id":"web","agent_id":"n1","resources":"cpus:1"}' ]
}

@test "alloc-static: on the real clock it allocates after each batch of input" {
	mkfifo "$TMP/in"
	"$ALLOC" --interval 3600 <"$TMP/in" >"$TMP/out" &
	pid=$!
	exec 7>"$TMP/in"
	echo '{"type":"FRAMEWORK_ADD","framework_id":"web"}' >&7
	echo '{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1"}' >&7
	wait_for 5 grep -q ALLOCATION "$TMP/out"
	exec 7>&-
	rc=0; wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(cat "$TMP/out")" = '{"type":"ALLOCATION","framework_id":"web","agent_id":"n1","resources":"cpus:1"}' ]
}
