#!/usr/bin/env bats
# Listings at the project's own scale: QUERY answers in pages (at most
# 1000 items and half a record each, "next" naming where the following
# page starts), cluster-ctl follows them to the end, and filters cut what
# travels.  12,000 emulated agents list whole (a single answer vanished
# above the 1 MiB record limit from about 8,000 on).

load helper

EMU=$TOP/build/bench/agent-emu

setup() {
	setup_tmp
	start_daemon offerd offerd -d -v -w "$TMP/master"
	# 12,000 first registrations go to a master already listening
	wait_for 15 grep -q 'listening on' "$TMP/offerd.log"
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# page QUERY-JSON: the master's answer to one QUERY, as JSON.
page() {
	echo "$1" | cluster-ctl send -t 5s | grep '"type":"STATE"'
}

@test "12,000 agents list whole, page by page, each agent once, in a few seconds" {
	start_daemon emu "$EMU" -N emu -R 'cpus:8;mem:16384' \
	    -a 'rack:r%{i%10}' 12000
	wait_for 60 sh -c '[ "$(cluster-ctl -h -o agent_id agents | wc -l)" -ge 12000 ]'
	start=$(date +%s)
	run cluster-ctl -h -o hostname agents
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 12000 ]
	[ "$(echo "$output" | sort -u | wc -l)" -eq 12000 ]
	[ $(( $(date +%s) - start )) -lt 10 ]
	# one page: at most 1000 items and where the next one starts
	p=$(page '{"type":"QUERY","what":"agents"}')
	[ "$(echo "$p" | jq '.items | length')" -eq 1000 ]
	next=$(echo "$p" | jq -r .next)
	[ -n "$next" ]
	[ "$next" != null ]
	p2=$(page "{\"type\":\"QUERY\",\"what\":\"agents\",\"limit\":5,\"after\":\"$next\"}")
	[ "$(echo "$p2" | jq '.items | length')" -eq 5 ]
	[ "$(echo "$p2" | jq -r .after)" = "$next" ]
	# in key order, each after the cursor
	[ "$(echo "$p2" | jq -r '.items[0].agent_id')" \> "$next" ]
	# filters cut what travels: a tenth of the agents are in rack r3
	run cluster-ctl -h -o hostname,attributes agents -a rack:r3
	[ "${#lines[@]}" -eq 1200 ]
	[[ "$output" != *"rack:r4"* ]]
}

@test "task and framework listings filter by state, framework, agent and role" {
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 agents_registered 1
	cluster-ctl run -N ok -- true >/dev/null 2>&1
	cluster-ctl run -N bad -- false >/dev/null 2>&1 || true
	cluster-ctl run -r gold -N slow -- sh -c "sleep 30 # marker-$$" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_for 15 sh -c "cluster-ctl -h -o name tasks -s running | grep -q slow"
	[ "$(cluster-ctl -h -o name tasks -s finished)" = ok ]
	[ "$(cluster-ctl -h -o name tasks -s TASK_FAILED)" = bad ]
	[ "$(cluster-ctl -h -o name frameworks -r gold)" = slow ]
	fid=$(cluster-ctl -h -o framework_id frameworks -r gold)
	[ "$(cluster-ctl -h -o name tasks --framework "$fid")" = slow ]
	aid=$(cluster-ctl -h -o agent_id agents)
	[ "$(cluster-ctl -h -o name tasks --agent "$aid" | sort | tr '\n' ' ')" = "bad ok slow " ]
	[ -z "$(cluster-ctl -h -o name tasks --agent no-such-agent)" ]
	run cluster-ctl tasks -s sleeping
	[ "$status" -eq 100 ]
	run cluster-ctl tasks --framework ../x
	[ "$status" -eq 100 ]
	# a bad filter sent as it is: the master refuses it and keeps serving
	run sh -c 'echo "{\"type\":\"QUERY\",\"what\":\"agents\",\"limit\":0}" | cluster-ctl send'
	[ "$status" -eq 1 ]
	[[ "$output" == *'"code":"invalid"'* ]]
	[ "$(cluster-ctl -h -o active agents)" = yes ]
	pkill -f "marker-$$" || true
}
