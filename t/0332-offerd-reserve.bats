#!/usr/bin/env bats
# Dynamic reservations by an operator: cluster-ctl reserve AGENT ROLE RES
# makes free resources of an agent its role's (offered only to it, listed
# with it), kept by the master across restarts of agentd and offerd;
# unreserve gives them back.  Bad requests (unknown agent, more than is
# free, an unreserve of what is not reserved) are refused with codes and
# change nothing.

load helper

setup() {
	setup_tmp
	start_cluster 1
	AG=$(cluster-ctl -h -o agent_id agents)
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# resources_are RES: the agent's listed resources, whatever their order.
resources_are() {
	[ "$(cluster-ctl -h -o resources agents | tr ';' '\n' | sort | tr '\n' ';')" = \
	    "$(echo "$1" | tr ';' '\n' | sort | tr '\n' ';')" ]
}

@test "reserve, listed and offered only to the role; kept across restarts of agentd and offerd; unreserve" {
	run cluster-ctl reserve "$AG" analytics 'cpus:1;mem:256'
	echo "$output"
	[ "$status" -eq 0 ]
	resources_are 'cpus:1;mem:768;cpus(analytics):1;mem(analytics):256'
	[ "$(jq -c .reservations "$TMP/master/state.json")" = "{\"$AG\":\"cpus(analytics):1;mem(analytics):256\"}" ]
	bridge_start web -r web
	bridge_wait web '"type":"OFFER"'
	bridge_start an -r analytics
	bridge_wait an '"type":"OFFER".*cpus(analytics):1;mem(analytics):256'
	! grep '"type":"OFFER"' "$TMP/web.ev" | grep -q analytics || false
	# agentd restarts with its plain -r: the master applies it again
	kill -TERM "$PID_agent1"
	wait_for 10 sh -c "! kill -0 $PID_agent1 2>/dev/null"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 -R 'cpus:2;mem:1024' -a rack:r1 -g 1s
	wait_for 15 agents_registered 1
	resources_are 'cpus:1;mem:768;cpus(analytics):1;mem(analytics):256'
	kill -TERM "$PID_offerd"
	wait_for 10 sh -c "! kill -0 $PID_offerd 2>/dev/null"
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 15 agents_registered 1
	resources_are 'cpus:1;mem:768;cpus(analytics):1;mem(analytics):256'
	run cluster-ctl unreserve "$AG" analytics 'cpus:1;mem:256'
	[ "$status" -eq 0 ]
	resources_are 'cpus:2;mem:1024'
	[ "$(jq -c .reservations "$TMP/master/state.json")" = null ]
}

@test "bad reservations are refused with codes and change nothing" {
	cluster-ctl reserve "$AG" analytics 'cpus:0.5'
	# an unreserve of what is not reserved (for that role, or at all)
	run cluster-ctl unreserve "$AG" web 'cpus:0.5'
	[ "$status" -eq 1 ]
	[[ "$output" == *"has not cpus:0.5 reserved dynamically for role web"* ]]
	send_rec "{\"type\":\"UNRESERVE\",\"agent_id\":\"$AG\",\"role\":\"analytics\",\"resources\":\"cpus:1\"}"
	[[ "$output" == *'"code":"invalid"'* ]]
	# more than is free, an unknown agent, the role *, a reserved name
	send_rec "{\"type\":\"RESERVE\",\"agent_id\":\"$AG\",\"role\":\"web\",\"resources\":\"cpus:4\"}"
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec '{"type":"RESERVE","agent_id":"agent-nosuch","role":"web","resources":"cpus:1"}'
	[[ "$output" == *'"code":"unknown_agent"'* ]]
	send_rec "{\"type\":\"RESERVE\",\"agent_id\":\"$AG\",\"role\":\"*\",\"resources\":\"cpus:1\"}"
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec "{\"type\":\"RESERVE\",\"agent_id\":\"$AG\",\"role\":\"web\",\"resources\":\"cpus(web):1\"}"
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec "{\"type\":\"RESERVE\",\"agent_id\":\"$AG\",\"role\":\"web\"}"
	[[ "$output" == *'"code":"malformed"'* ]]
	# nothing changed, and the master serves on
	resources_are 'cpus:1.5;mem:1024;cpus(analytics):0.5'
	[ "$(jq -c .reservations "$TMP/master/state.json")" = "{\"$AG\":\"cpus(analytics):0.5\"}" ]
	[ "$(cluster-ctl -h -o active agents)" = yes ]
}

@test "a framework reserves in ACCEPT for its own role and runs a task on it; bad operations change nothing" {
	bridge_start an -r analytics
	bridge_wait an '"type":"OFFER"'
	offer=$(bridge_free_offer an)
	echo "$offer" >>"$TMP/an.used"
	bridge_send an "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"refuse_seconds\":0,\"operations\":[{\"type\":\"RESERVE\",\"resources\":\"cpus:1;mem:256\"}],\"tasks\":[{\"task_id\":\"r1\",\"resources\":\"cpus(analytics):0.5;mem(analytics):64\",\"command\":\"sleep 30\"}]}"
	wait_for 15 sh -c 'cluster-ctl -h -o task_id tasks -s running | grep -qx r1'
	resources_are 'cpus:1;mem:768;cpus(analytics):1;mem(analytics):256'
	[ "$(jq -c .reservations "$TMP/master/state.json")" = "{\"$AG\":\"cpus(analytics):1;mem(analytics):256\"}" ]
	# an UNRESERVE of what is not reserved, a RESERVE beyond the offer
	bridge_wait an '"type":"OFFER".*cpus(analytics):0.5'
	offer=$(bridge_free_offer an)
	echo "$offer" >>"$TMP/an.used"
	bridge_send an "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"refuse_seconds\":0,\"operations\":[{\"type\":\"UNRESERVE\",\"resources\":\"cpus(analytics):2\"}],\"tasks\":[]}"
	bridge_wait an 'not in the offer as a dynamic reservation'
	bridge_wait an '"type":"OFFER".*cpus(analytics):0.5' 
	offer=$(bridge_free_offer an)
	echo "$offer" >>"$TMP/an.used"
	bridge_send an "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"refuse_seconds\":0,\"operations\":[{\"type\":\"RESERVE\",\"resources\":\"cpus:5\"}],\"tasks\":[]}"
	bridge_wait an 'RESERVE cpus:5: not within the offer'
	resources_are 'cpus:1;mem:768;cpus(analytics):1;mem(analytics):256'
	# a framework of role * reserves nothing
	bridge_start star
	bridge_send an '{"type":"KILL","task_id":"r1"}'
	bridge_send an '{"type":"TEARDOWN"}'
	bridge_wait star '"type":"OFFER"' 20
	offer=$(bridge_free_offer star)
	bridge_send star "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"operations\":[{\"type\":\"RESERVE\",\"resources\":\"cpus:0.5\"}],\"tasks\":[]}"
	bridge_wait star 'a framework of role \* reserves nothing'
	resources_are 'cpus:1;mem:768;cpus(analytics):1;mem(analytics):256'
	! grep '"type":"OFFER"' "$TMP/star.ev" | grep -q analytics || false
}

@test "a reservation the registry cannot keep is refused 'unavailable' and undone" {
	chmod 500 "$TMP/master"
	run cluster-ctl reserve "$AG" analytics 'cpus:1'
	chmod 700 "$TMP/master"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"reservations are unchanged"* ]]
	grep -q "refused RESERVE from principal .*(unavailable)" "$TMP/offerd.log"
	resources_are 'cpus:2;mem:1024'
	# and made once it can be
	run cluster-ctl reserve "$AG" analytics 'cpus:1'
	[ "$status" -eq 0 ]
	resources_are 'cpus:1;mem:1024;cpus(analytics):1'
}
