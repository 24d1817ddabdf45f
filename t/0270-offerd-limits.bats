#!/usr/bin/env bats
# Limits per principal (offerd -L): one principal flooding the master
# cannot starve another; over a limit a record is refused with an ERROR
# limited and a log line naming the principal, and nothing is made.  And
# ids keep their principal across a master restart.

load helper

setup() { setup_tmp; FLOOD="$TOP/build/test/flood"; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# send_as WHO RECORD: send RECORD with WHO's credential (root: the
# master's own) and print the master's answers.
send_as() {
	local c=
	[ "$1" = root ] || c="-C $TMP/$1"
	echo "$2" | cluster-ctl $c send --wait 500ms
}

@test "a flood of 20,000 SUBSCRIBE from one principal: the other's first offer and the listing stay prompt" {
	OFFERD_FLAGS="-L frameworks=2,offers=1,rate=100,burst=200"
	start_cluster 2
	principal bob
	CLUSTER_CREDENTIAL="$TMP/bob" "$FLOOD" subscribe 20000 3 >"$TMP/flood.out" &
	flood=$!
	sleep 0.5
	# root's framework, during the flood
	run "$FLOOD" probe 10
	echo "$output"
	[ "$status" -eq 0 ]
	ms=${output#probe offer_ms=}
	[ "$ms" -lt 2000 ]
	run timeout 5 cluster-ctl -h -o name frameworks
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c flood)" -le 2 ]
	wait "$flood"
	cat "$TMP/flood.out"
	# two frameworks made; the rest refused, answered at most once a second
	grep -q ' subscribed=2 ' "$TMP/flood.out"
	limited=$(sed 's/.*limited=\([0-9]*\).*/\1/' "$TMP/flood.out")
	[ "$limited" -ge 1 ]
	[ "$limited" -lt 1000 ]
	grep -q 'refused SUBSCRIBE from principal bob: it has 2 frameworks (-L frameworks=2)' "$TMP/offerd.log"
	grep -q 'principal bob over its rate (-L rate=100,burst=200): dropped [0-9]* records' "$TMP/offerd.log"
	# logged once a second, not once a record
	[ "$(grep -c 'principal bob over its rate' "$TMP/offerd.log")" -lt 20 ]
	! grep -q 'principal root over' "$TMP/offerd.log" || false
	run cluster-ctl run -- echo still
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
}

@test "a batch counts record by record against its principal's rate: past the burst the rest are dropped, one answer, nothing made, the others served" {
	OFFERD_FLAGS="-L rate=5,burst=20"
	start_cluster 1
	principal bob
	# one frame: 20 records within the burst, then 10 SUBSCRIBE past it
	batch_of '[{"type":"NO_SUCH","ref":i} for i in range(20)] + [{"type":"SUBSCRIBE","name":"late-%d" % i} for i in range(10)]' >"$TMP/thirty"
	run sh -c "cluster-ctl -C '$TMP/bob' send --raw --wait 500ms <'$TMP/thirty'"
	echo "$output"
	[ "$(grep -c '"code":"unknown_type"' <<<"$output")" -eq 20 ]
	# the ten dropped: one answer, not ten, and no framework made
	[ "$(grep -c '"code":"limited"' <<<"$output")" -eq 1 ]
	[[ "$output" != *SUBSCRIBED* ]]
	grep -q 'principal bob over its rate (-L rate=5,burst=20): dropped' "$TMP/offerd.log"
	run cluster-ctl -h -o name frameworks
	[[ "$output" != *late-* ]]
	# another principal is served meanwhile, and offerd serves on
	run cluster-ctl run -- echo still
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
	kill -0 "$PID_offerd"
}

@test "frameworks=N refuses the N+1th SUBSCRIBE of a principal with limited, makes nothing, and counts a teardown" {
	OFFERD_FLAGS="-L frameworks=2"
	start_cluster 1
	principal bob
	for i in 1 2; do
		run send_as bob '{"type":"SUBSCRIBE","name":"b'$i'","failover_timeout":60}'
		[[ "$output" == *'"type":"SUBSCRIBED"'* ]]
	done
	fw=$(echo "$output" | jq -r 'select(.type == "SUBSCRIBED") | .framework_id')
	run send_as bob '{"type":"SUBSCRIBE","name":"b3","failover_timeout":60}'
	echo "$output"
	[[ "$output" == *'"code":"limited"'* ]]
	grep -q 'refused SUBSCRIBE from principal bob: it has 2 frameworks' "$TMP/offerd.log"
	[ "$(cluster-ctl -h -o name frameworks | sort | tr '\n' ' ')" = "b1 b2 " ]
	# another principal is not counted with bob
	run send_as root '{"type":"SUBSCRIBE","name":"r1"}'
	[[ "$output" == *'"type":"SUBSCRIBED"'* ]]
	# one fewer, one more
	run send_as bob "{\"type\":\"TEARDOWN\",\"framework_id\":\"$fw\"}"
	run send_as bob '{"type":"SUBSCRIBE","name":"b4","failover_timeout":60}'
	[[ "$output" == *'"type":"SUBSCRIBED"'* ]]
	[ "$(cluster-ctl -h -o active agents)" = yes ]
}

@test "-L sets each limit; a bad one is a usage error (100)" {
	run offerd --check -L frameworks=5,offers=10,rate=50,burst=100 -L rate=60
	[ "$status" -eq 0 ]
	for bad in frameworks=0 rate=-1 burst=x offers= limits=3 rate; do
		run offerd --check -L "$bad"
		echo "$bad -> $status $output"
		[ "$status" -eq 100 ]
	done
	run offerd --check -L nothing=1
	[[ "$output" == *"not one of frameworks, offers, rate, burst"* ]]
}

@test "after a master restart a framework or agent id is its principal's only; an old state file still works" {
	start_cluster 1
	principal bob
	agent=$(cluster-ctl -h -o agent_id agents)
	run send_as root '{"type":"SUBSCRIBE","name":"mine","framework_id":"fw-mine","failover_timeout":600}'
	[[ "$output" == *'"type":"SUBSCRIBED"'* ]]
	teardown_daemons
	jq -e '.frameworks_principals["fw-mine"] == "root"' "$TMP/master/state.json"
	jq -e ".agents_principals[\"$agent\"] == \"root\"" "$TMP/master/state.json"
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 5 cluster-ctl agents
	run send_as bob '{"type":"SUBSCRIBE","name":"evil","framework_id":"fw-mine"}'
	echo "$output"
	[[ "$output" == *'"code":"not_owner"'* ]]
	grep -q 'refused SUBSCRIBE from principal bob: framework fw-mine belongs to root' "$TMP/offerd.log"
	run send_as bob "{\"type\":\"REGISTER_AGENT\",\"agent_id\":\"$agent\",\"hostname\":\"evil\",\"resources\":\"cpus:64\"}"
	[[ "$output" == *'"code":"not_owner"'* ]]
	[ -z "$(cluster-ctl -h -o agent_id agents)" ]
	[ -z "$(cluster-ctl -h -o framework_id frameworks)" ]
	run send_as root '{"type":"SUBSCRIBE","name":"mine","framework_id":"fw-mine","failover_timeout":600}'
	[[ "$output" == *'"type":"SUBSCRIBED"'* ]]
	# a state file from before principals: the first to come back binds
	teardown_daemons
	echo '{"version":1,"agents_seen":{},"agents_removed":{},"frameworks_seen":{"fw-old":'$(date +%s)'},"frameworks_removed":{}}' >"$TMP/master/state.json"
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 5 cluster-ctl agents
	run send_as bob '{"type":"SUBSCRIBE","name":"old","framework_id":"fw-old","failover_timeout":600}'
	[[ "$output" == *'"type":"SUBSCRIBED"'* ]]
	teardown_daemons
	jq -e '.frameworks_principals["fw-old"] == "bob"' "$TMP/master/state.json"
}
