#!/usr/bin/env bats
# Maintenance: cluster-ctl drain and undrain (offerd's drain.c).  A
# draining agent gets no offers and its outstanding ones are rescinded;
# the frameworks with tasks on it get a DRAIN notice; at the deadline its
# tasks end TASK_KILLED, reason "drained"; listings show the state and the
# reason; undrain offers it again.  Bad requests are ERRORs with a code
# that change nothing, and the drain is kept in the registry.

load helper

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# agent_of HOST: the id of the agent of HOST.
agent_of() {
	cluster-ctl -h -o agent_id,hostname agents | awk -v h="$1" '$2 == h {print $1}'
}

# agent_field ID FIELD: FIELD of agent ID in the listing.
agent_field() {
	cluster-ctl -o json agents | jq -r "select(.agent_id == \"$1\") | .$2"
}

# host_offers_after NAME LINE HOST: the OFFERs of HOST's agent that bridge
# NAME got after event line LINE.
host_offers_after() {
	tail -n +"$(($2 + 1))" "$TMP/$1.ev" | grep '"type":"OFFER"' |
	    grep -c "\"hostname\":\"$3\"" || true
}

# launch_on NAME TASK_ID COMMAND HOST: launch one task on HOST's agent.
launch_on() {
	bridge_accept "$1" "{\"task_id\":\"$2\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"$3\"}" "$4"
}

# lines NAME: how many events bridge NAME got so far.
lines() {
	wc -l <"$TMP/$1.ev"
}

@test "drain with a running task: notice, no offers, killed at the deadline as drained, undrain offers again" {
	start_cluster 2
	bridge_start fw
	launch_on fw long 'sleep 300' host1
	bridge_wait fw '"task_id":"long".*"state":"TASK_RUNNING"'
	a1=$(agent_of host1)
	[ "$(agent_field "$a1" state)" = active ]
	# an outstanding offer of host1 to rescind
	bridge_send fw '{"type":"REVIVE"}'
	wait_for 15 bridge_free_offer fw host1
	held=$(bridge_free_offer fw host1)
	mark=$(lines fw)
	run cluster-ctl drain --deadline 8s --reason "disk swap" "$a1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "agent $a1 draining: disk swap" ]
	# the notice, with the deadline and the reason
	bridge_wait fw '"type":"DRAIN"'
	notice=$(grep '"type":"DRAIN"' "$TMP/fw.ev")
	[ "$(echo "$notice" | jq -r .agent_id)" = "$a1" ]
	[ "$(echo "$notice" | jq -r .hostname)" = host1 ]
	[ "$(echo "$notice" | jq -r .reason)" = "disk swap" ]
	[ "$(echo "$notice" | jq -r .deadline_ms)" -gt "$(( $(date +%s) * 1000 ))" ]
	# its outstanding offer is rescinded
	grep '"type":"RESCIND"' "$TMP/fw.ev" | grep -q "\"offer_id\":\"$held\""
	# the table's default columns show the state too
	cluster-ctl agents | grep "$a1" | grep -q "draining\|drained"
	[ "$(agent_field "$a1" reason)" = "disk swap" ]
	# killed at the deadline, the reason says why
	bridge_wait fw '"task_id":"long".*"state":"TASK_KILLED"' 30
	[ "$(status_field fw long TASK_KILLED reason)" = drained ]
	# not before the deadline
	[ "$(status_field fw long TASK_KILLED timestamp_ms)" -ge "$(echo "$notice" | jq -r .deadline_ms)" ]
	grep -q "on drained agent $a1: killed at the deadline" "$TMP/offerd.log"
	wait_for 10 sh -c "[ \"\$(cluster-ctl -o json agents | jq -r 'select(.agent_id == \"$a1\") | .state')\" = drained ]"
	# no offer of host1 meanwhile, though host2's come
	bridge_send fw '{"type":"REVIVE"}'
	sleep 1
	[ "$(host_offers_after fw "$mark" host1)" -eq 0 ]
	# undrain: offered again
	mark=$(lines fw)
	run cluster-ctl undrain "$a1"
	[ "$status" -eq 0 ]
	[ "$output" = "agent $a1 active" ]
	bridge_send fw '{"type":"REVIVE"}'
	wait_for 15 sh -c "[ \$(tail -n +$((mark + 1)) '$TMP/fw.ev' | grep '\"type\":\"OFFER\"' | grep -c '\"hostname\":\"host1\"') -gt 0 ]"
	[ "$(agent_field "$a1" state)" = active ]
	[ "$(agent_field "$a1" reason)" = null ]
}

@test "drain without a deadline: tasks run on, the agent is drained once they end" {
	start_cluster 1
	bridge_start fw
	launch_on fw short 'sleep 2' host1
	bridge_wait fw '"task_id":"short".*"state":"TASK_RUNNING"'
	a1=$(agent_of host1)
	run cluster-ctl -o json drain "$a1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .state)" = draining ]
	[ "$(echo "$output" | jq -r .deadline_ms)" = null ]
	bridge_wait fw '"type":"DRAIN"'
	bridge_wait fw '"task_id":"short".*"state":"TASK_FINISHED"'
	wait_for 5 sh -c "cluster-ctl agents | grep -q drained"
	# drained across a restart of offerd: the registry has it
	kill -TERM "$PID_offerd"
	wait "$PID_offerd" || true
	jq -e ".drains[\"$a1\"]" "$TMP/master/state.json"
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 15 agents_registered 1
	wait_for 10 sh -c "cluster-ctl agents | grep -q drained"
	run cluster-ctl undrain "$a1"
	[ "$status" -eq 0 ]
	! jq -e ".drains[\"$a1\"]" "$TMP/master/state.json" || false
}

@test "bad drains are ERRORs with a code and change nothing" {
	start_cluster 1
	a1=$(agent_of host1)
	run cluster-ctl drain agent-nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"no agent agent-nosuch"* ]]
	send_rec '{"type":"DRAIN","agent_id":"agent-nosuch"}'
	[[ "$output" == *'"code":"unknown_agent"'* ]]
	send_rec "{\"type\":\"DRAIN\",\"agent_id\":\"$a1\",\"grace_seconds\":-1}"
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec "{\"type\":\"DRAIN\",\"agent_id\":\"$a1\",\"reason\":\"a\\\\nb\"}"
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec '{"type":"DRAIN","agent_id":7}'
	[[ "$output" == *'"code":"malformed"'* ]]
	send_rec "{\"type\":\"UNDRAIN\",\"agent_id\":\"$a1\"}"
	[[ "$output" == *'"code":"invalid"'* ]]
	run cluster-ctl undrain agent-nosuch
	[ "$status" -eq 1 ]
	run cluster-ctl drain --deadline soon "$a1"
	[ "$status" -eq 100 ]
	run cluster-ctl drain
	[ "$status" -eq 100 ]
	# nothing changed, and the master serves on
	[ "$(agent_field "$a1" state)" = active ]
	run cluster-ctl run -q -- true
	[ "$status" -eq 0 ]
	! jq -e .drains "$TMP/master/state.json" 2>/dev/null || false
}

@test "drain needs its ACL rule: forbidden, logged with the principal, nothing changed" {
	ME=$(id -un)
	printf '%s\n' "permit $ME agent" "permit $ME query" "permit $ME view *" \
	    "permit $ME drain" >"$TMP/acl"
	chmod 600 "$TMP/acl"
	OFFERD_FLAGS="-P $TMP/acl" start_cluster 1
	a1=$(agent_of host1)
	principal bob
	printf '%s\n' "permit bob drain agent-other" "permit bob query" >>"$TMP/acl"
	kill -HUP "$PID_offerd"
	sleep 0.5
	run cluster-ctl -C "$TMP/bob" drain "$a1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"principal bob may not drain $a1"* ]]
	grep -q "refused DRAIN from principal bob: not permitted to drain $a1" "$TMP/offerd.log"
	[ "$(agent_field "$a1" state)" = active ]
	run cluster-ctl drain --reason "by the admin" "$a1"
	[ "$status" -eq 0 ]
	run cluster-ctl -C "$TMP/bob" undrain "$a1"
	[ "$status" -eq 1 ]
	[ "$(agent_field "$a1" state)" = drained ]
	grep -q "drained by $ME: by the admin" "$TMP/offerd.log"
}

@test "sched(3): the drain callback gets the agent, the deadline and the reason; the task ends killed as drained" {
	start_cluster 1
	a1=$(agent_of host1)
	"$TOP/build/test/drain-sched" >"$TMP/sched.out" 2>"$TMP/sched.log" &
	PIDS="$PIDS $!"
	wait_for 15 grep -q "status held TASK_RUNNING" "$TMP/sched.out"
	run cluster-ctl drain --deadline 2s --reason "kernel update" "$a1"
	[ "$status" -eq 0 ]
	wait_for 10 grep -q "^drain $a1 host1 " "$TMP/sched.out"
	line=$(grep "^drain " "$TMP/sched.out")
	[[ "$line" == *" kernel update" ]]
	[ "$(echo "$line" | cut -d' ' -f4)" -gt "$(( $(date +%s) * 1000 - 60000 ))" ]
	wait_for 30 grep -q "status held TASK_KILLED drained" "$TMP/sched.out"
}
