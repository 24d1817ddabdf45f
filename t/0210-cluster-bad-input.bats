#!/usr/bin/env bats
# Bad input gets a clear error and the daemons stay up.

load helper

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

@test "malformed resource strings on command lines: message and status 100" {
	run agentd -d -w "$TMP/a" -R 'cpus:x;mem:10'
	[ "$status" -eq 100 ]
	[[ "$output" == *"cpus: 'x' is not a non-negative number"* ]]
	run agentd -d -w "$TMP/a" -R 'cpus:-1'
	[ "$status" -eq 100 ]
	run agentd -d -w "$TMP/a" -R 'ports:[5-2]'
	[ "$status" -eq 100 ]
	[[ "$output" == *"bad range list"* ]]
	run agentd -d -w "$TMP/a" -R 'cpus:1;cpus:2'
	[ "$status" -eq 100 ]
	[[ "$output" == *"given twice"* ]]
	run agentd -d -w "$TMP/a" -a 'rack'
	[ "$status" -eq 100 ]
	run agentd -d -w "$TMP/a" --update-retry 5ms
	[ "$status" -eq 100 ]
	[[ "$output" == *"update retry must be at least 10ms"* ]]
	run agentd -d -w "$TMP/a" --update-retry soon
	[ "$status" -eq 100 ]
	run cluster-ctl run --cpus nan -- true
	[ "$status" -eq 100 ]
	[[ "$output" == *"not a non-negative number"* ]]
	run cluster-ctl run --mem 1e400 -- true
	[ "$status" -eq 100 ]
	run cluster-ctl run -R 'mem:99999999999999999' -- true
	[ "$status" -eq 100 ]
	[[ "$output" == *"too large"* ]]
	run offerd --check -W 'web=-1'
	[ "$status" -eq 100 ]
	run offerd --check -O 5parsecs
	[ "$status" -eq 100 ]
	[[ "$output" == *"unknown unit"* ]]
	run cluster-ctl run
	[ "$status" -eq 100 ]
	[[ "$output" == *"no command given"* ]]
	run cluster-ctl frobnicate
	[ "$status" -eq 100 ]
}

@test "garbage and malformed records sent to offerd get an ERROR back; offerd keeps serving" {
	start_cluster 1
	run sh -c 'head -c 300 /dev/urandom | cluster-ctl send --raw --wait 500ms'
	[[ "$output" == *'"type":"ERROR"'* ]]
	[[ "$output" == *"bad record"* ]]
	# a declared array of 2^32 elements in 5 bytes: refused before any allocation
	run sh -c "printf '\335\377\377\377\377' | cluster-ctl send --raw --wait 500ms"
	[[ "$output" == *"declares"* ]]
	# nested deeper than the limit (16)
	deep='{"type":"X","a":'; for i in $(seq 20); do deep="$deep{\"b\":"; done
	deep="${deep}1"; for i in $(seq 21); do deep="$deep}"; done
	send_rec "$deep"
	[[ "$output" == *"nested deeper than 16"* ]]
	# a msgpack map without a type
	run sh -c "printf '\201\241a\001' | cluster-ctl send --raw --wait 500ms"
	[[ "$output" == *"no string field 'type'"* ]]
	send_rec '{"type":"NO_SUCH_THING"}'
	[[ "$output" == *"unknown record type 'NO_SUCH_THING'"* ]]
	# answered with an ERROR: send exits 1, as cluster-ctl(1) says
	[ "$status" -eq 1 ]
	[[ "$output" == *'"code":"unknown_type"'* ]]
	send_rec '{"type":"REGISTER_AGENT","hostname":7}'
	[[ "$output" == *"field 'hostname' must be a string"* ]]
	send_rec '{"type":"REGISTER_AGENT","hostname":"h","resources":"cpus:NaN"}'
	[[ "$output" == *"resources: cpus"* ]]
	send_rec '{"type":"ACCEPT","framework_id":"fw-nope","offer_id":"o","tasks":[]}'
	[[ "$output" == *"unknown framework 'fw-nope'"* ]]
	# each refusal is a log line with its type, principal and code
	grep -q "refused NO_SUCH_THING from principal $(id -un): unknown record type 'NO_SUCH_THING' (unknown_type)" "$TMP/offerd.log"
	grep -q "refused ACCEPT from principal $(id -un): unknown framework 'fw-nope'.*(unknown_framework)" "$TMP/offerd.log"
	# still serving
	run cluster-ctl run -- sh -c 'echo alive'
	[ "$status" -eq 0 ]
	kill -0 "$PID_offerd"
}

@test "a batch frame's records are each handled and answered; a bad one refuses the whole frame" {
	start_cluster 1
	# three records in one frame: three answers, each with its ref
	batch_of '[{"type":"NO_SUCH_A","ref":1},{"type":"DECLINE","framework_id":"fw-none","offer_id":"o-1","ref":2},{"type":"NO_SUCH_C","ref":3}]' >"$TMP/three"
	run sh -c "cluster-ctl send --raw --wait 500ms <'$TMP/three'"
	echo "$output"
	[ "$(grep -c '"type":"ERROR"' <<<"$output")" -eq 3 ]
	[[ "$output" == *"unknown record type 'NO_SUCH_A'"*'"ref":1'* ]]
	[[ "$output" == *"unknown framework 'fw-none'"*'"ref":2'* ]]
	[[ "$output" == *"unknown record type 'NO_SUCH_C'"*'"ref":3'* ]]
	# one record without a type: one ERROR for the frame, none handled
	batch_of '[{"type":"NO_SUCH_D"},{"a":1},{"type":"NO_SUCH_E"}]' >"$TMP/bad"
	run sh -c "cluster-ctl send --raw --wait 500ms <'$TMP/bad'"
	echo "$output"
	[ "$(grep -c '"type":"ERROR"' <<<"$output")" -eq 1 ]
	[[ "$output" == *"bad record: record has no string field 'type'"* ]]
	[[ "$output" != *NO_SUCH_D* ]]
	! grep -q "refused NO_SUCH_[DE]" "$TMP/offerd.log" || false
	# an empty batch, and one past 1024 records
	batch_of '[]' >"$TMP/empty"
	run sh -c "cluster-ctl send --raw --wait 500ms <'$TMP/empty'"
	[[ "$output" == *"a frame of 0 records: 1 to 1024 are taken"* ]]
	batch_of '[{"type":"NO_SUCH_F"}] * 1025' >"$TMP/many"
	run sh -c "cluster-ctl send --raw --wait 500ms <'$TMP/many'"
	[[ "$output" == *"a frame of 1025 records: 1 to 1024 are taken"* ]]
	! grep -q "refused NO_SUCH_F" "$TMP/offerd.log" || false
	# 1024 are taken, each answered
	batch_of '[{"type":"NO_SUCH_G"}] * 1024' >"$TMP/full"
	run sh -c "cluster-ctl send --raw --wait 1s <'$TMP/full'"
	[ "$(grep -c '"code":"unknown_type"' <<<"$output")" -eq 1024 ]
	# still serving
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	kill -0 "$PID_offerd"
}

@test "refusals are logged 20 a second at most, and the rest counted" {
	start_cluster 1
	run sh -c 'for i in $(seq 100); do echo "{\"type\":\"BAD_$i\"}"; done | cluster-ctl send --wait 500ms'
	[ "$(grep -c '"code":"unknown_type"' <<<"$output")" -eq 100 ]
	n=$(grep -c 'refused BAD_[0-9]* from principal' "$TMP/offerd.log")
	echo "logged: $n"
	[ "$n" -ge 20 ]
	[ "$n" -le 60 ]
	sleep 1.1
	send_rec '{"type":"BAD_LAST"}'
	grep -q 'refused BAD_LAST from principal' "$TMP/offerd.log"
	m=$(grep -o '[0-9]* more refusals were not logged (at most 20 a second)' "$TMP/offerd.log" | awk '{s += $1} END {print s}')
	[ "$((n + m))" -eq 100 ]
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
}

# bridge_until FILE PATTERN: wait for PATTERN in the bridge's output FILE.
bridge_until() { wait_for 10 grep -q "$2" "$1"; }

# raw_framework NAME: a framework NAME whose records the test writes to
# descriptor 7 and whose events go to $TMP/ev; back once it has an offer.
raw_framework() {
	mkfifo "$TMP/in"
	cluster-ctl subscribe -N "$1" <"$TMP/in" >"$TMP/ev" 2>&1 &
	exec 7>"$TMP/in"
	bridge_until "$TMP/ev" '"type":"OFFER"'
}

# last_offer: the id of the newest OFFER in $TMP/ev.
last_offer() {
	grep '"type":"OFFER"' "$TMP/ev" | tail -1 | sed 's/.*"offer_id":"\([^"]*\)".*/\1/'
}

@test "an ACCEPT that over-commits its offer, or names another agent, launches nothing" {
	start_cluster 1
	raw_framework greedy
	offer=$(last_offer)
	echo "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"tasks\":[{\"task_id\":\"big\",\"resources\":\"cpus:64;mem:10\",\"command\":\"true\"}]}" >&7
	bridge_until "$TMP/ev" 'nothing launched'
	grep -q 'tasks need cpus:64;mem:10 but offer' "$TMP/ev"
	# the offer's resources come back and are offered again
	wait_for 10 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/ev') -ge 2 ]"
	offer=$(last_offer)
	echo "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"tasks\":[{\"task_id\":\"elsewhere\",\"agent_id\":\"agent-unknown\",\"resources\":\"cpus:1\",\"command\":\"true\"}]}" >&7
	bridge_until "$TMP/ev" "names agent 'agent-unknown'"
	# a stale offer id is refused too
	echo "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"tasks\":[]}" >&7
	bridge_until "$TMP/ev" 'is not outstanding'
	exec 7>&-
	run cluster-ctl -o json tasks
	[[ "$output" != *big* ]]
	[[ "$output" != *elsewhere* ]]
	kill -0 "$PID_offerd"
}

@test "an ACCEPT whose tasks ask for the same port launches nothing; the port is given once" {
	AGENT_RESOURCES='cpus:2;mem:1024;ports:[31000-31001]' start_cluster 1
	raw_framework ports
	offer=$(last_offer)
	echo "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"tasks\":[{\"task_id\":\"p1\",\"resources\":\"cpus:0.1;mem:8;ports:[31000-31000]\",\"command\":\"sleep 30\"},{\"task_id\":\"p2\",\"resources\":\"cpus:0.1;mem:8;ports:[31000-31000]\",\"command\":\"sleep 30\"}]}" >&7
	bridge_until "$TMP/ev" 'nothing launched'
	grep -q "task 'p2' asks for ports:\[31000-31000\], which another task or executor of the ACCEPT asks for too" "$TMP/ev"
	grep -q "refused ACCEPT.*which another task or executor of the ACCEPT asks for too.*(invalid)" "$TMP/offerd.log"
	# a task and the executor it brings, on one port: refused the same way
	wait_for 10 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/ev') -ge 2 ]"
	offer=$(last_offer)
	echo "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"tasks\":[{\"task_id\":\"p4\",\"resources\":\"cpus:0.1;mem:8;ports:[31001-31001]\",\"executor\":{\"executor_id\":\"x\",\"command\":\"sleep 30\",\"resources\":\"cpus:0.1;mem:8;ports:[31000-31001]\"}}]}" >&7
	bridge_until "$TMP/ev" "the executor of task 'p4' asks for ports:\[31001-31001\], which a task or another executor of the ACCEPT asks for too"
	# the offer comes back whole; one task on the port is taken
	wait_for 10 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/ev') -ge 3 ]"
	offer=$(last_offer)
	grep '"type":"OFFER"' "$TMP/ev" | tail -1 | grep -q 'ports:\[31000-31001\]'
	echo "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"tasks\":[{\"task_id\":\"p3\",\"resources\":\"cpus:0.1;mem:8;ports:[31000-31000]\",\"command\":\"sleep 30\"}]}" >&7
	bridge_until "$TMP/ev" '"task_id":"p3".*"state":"TASK_RUNNING"'
	# and the port is not offered again while p3 holds it
	wait_for 10 sh -c "grep '\"type\":\"OFFER\"' '$TMP/ev' | tail -1 | grep -q 'ports:\\[31001-31001\\]'"
	exec 7>&-
	run cluster-ctl -o json tasks
	[ "$status" -eq 0 ]
	[[ "$output" == *'"p3"'* ]]
	[[ "$output" != *'"p1"'* ]]
	[[ "$output" != *'"p2"'* ]]
	[[ "$output" != *'"p4"'* ]]
	kill -0 "$PID_offerd"
}

@test "a pid file in use: the second daemon says who holds it and exits 111; a clean stop removes it" {
	start_daemon offerd offerd -d -w "$TMP/m" -p "$TMP/offerd.pid"
	wait_for 5 test -s "$TMP/offerd.pid"
	[ "$(cat "$TMP/offerd.pid")" -eq "$PID_offerd" ]
	run offerd -d -l "ipc://$TMP/other.ipc" -w "$TMP/m2" -p "$TMP/offerd.pid"
	[ "$status" -eq 111 ]
	[[ "$output" == *"already running as pid $PID_offerd"* ]]
	run agentd -d -w "$TMP/a" -R 'cpus:1;mem:64' -p "$TMP/offerd.pid"
	[ "$status" -eq 111 ]
	kill -TERM "$PID_offerd"
	wait_for 10 sh -c "! test -e '$TMP/offerd.pid'"
}

@test "an ERROR names what it is about: the record's type and ids" {
	start_cluster 1
	send_rec '{"type":"DECLINE","framework_id":"fw-none","offer_id":"o-1","ref":7}'
	[[ "$output" == *'"about":"DECLINE"'* ]]
	[[ "$output" == *'"framework_id":"fw-none"'* ]]
	[[ "$output" == *'"offer_id":"o-1"'* ]]
	[[ "$output" == *'"ref":7'* ]]
}

@test "a master given without a scheme is a usage error with a hint, in every tool" {
	run cluster-ctl -m 127.0.0.1:5050 agents
	[ "$status" -eq 100 ]
	[[ "$output" == *"has no scheme: write tcp://127.0.0.1:5050"* ]]
	run agentd -d -w "$TMP/a" -m 127.0.0.1:5050
	[ "$status" -eq 100 ]
	[[ "$output" == *"has no scheme: write tcp://127.0.0.1:5050"* ]]
	run offerd -d -w "$TMP/m" -l 127.0.0.1:5050
	[ "$status" -eq 100 ]
	[[ "$output" == *"has no scheme: write tcp://127.0.0.1:5050"* ]]
}

@test "a second offerd on the same work dir stops with 111 and says why; a dying allocator is restarted with a growing back-off" {
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 10 grep -q "listening on" "$TMP/offerd.log"
	run env CLUSTER_MASTER="ipc://$TMP/other.ipc" offerd -d -w "$TMP/master"
	[ "$status" -eq 111 ]
	[[ "$output" == *"work dir $TMP/master is in use by another offerd"* ]]
	[ "$(cluster-ctl -h -o active agents | wc -l)" -eq 0 ]	# the first serves on
	# an allocator that exits at once: its status, and waits that grow
	teardown_daemons
	printf '#!/bin/sh\nexit 7\n' >"$TMP/bad-alloc"
	chmod 755 "$TMP/bad-alloc"
	start_daemon offerd2 offerd -d -v -w "$TMP/master2" -A "$TMP/bad-alloc"
	wait_for 10 grep -q "starting it again in 1000 ms" "$TMP/offerd2.log"
	grep -q "allocator exited with status 7 after [0-9]* ms; starting it again in 500 ms" "$TMP/offerd2.log"
	! grep -q "status 1792" "$TMP/offerd2.log" || false
}
