#!/usr/bin/env bats
# Static reservations end to end: an agent started with
# -R 'cpus(analytics):1;mem(analytics):256;cpus:1;mem:256' offers its
# reserved part only to frameworks of role analytics, which run tasks on
# it; listings show the reservation; it holds across restarts of agentd
# (its flags) and offerd.

load helper

setup() {
	setup_tmp
	RES='cpus(analytics):1;mem(analytics):256;cpus:1;mem:256'
	start_daemon offerd offerd -d -v -w "$TMP/master"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 -R "$RES" -g 1s
	wait_for 15 agents_registered 1
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# offered NAME: the resources of every OFFER bridge NAME saw, one a line.
offered() {
	grep '"type":"OFFER"' "$TMP/$1.ev" | jq -r .resources
}

# only_role_sees_reserved: web is offered no reserved resource, analytics
# is offered the reserved part.
only_role_sees_reserved() {
	bridge_start web -r web
	bridge_wait web '"type":"OFFER"'
	bridge_start an -r analytics
	bridge_wait an '"type":"OFFER".*analytics'
	! offered web | grep -q analytics || false
	offered an | grep -q 'cpus(analytics):1;mem(analytics):256'
}

@test "reserved resources are offered only to their role, listed with it, and run its tasks" {
	[ "$(cluster-ctl -h -o resources agents)" = "$RES" ]
	[ "$(cluster-ctl -o json agents | jq -r .resources)" = "$RES" ]
	only_role_sees_reserved
	bridge_launch an r1 'sleep 30' 'cpus(analytics):0.5;mem(analytics):64'
	wait_for 15 sh -c 'cluster-ctl -h -o task_id,resources tasks -s running | grep -q "r1 *cpus(analytics):0.5;mem(analytics):64"'
	bridge_send an '{"type":"KILL","task_id":"r1"}'
}

@test "reservations hold across restarts of agentd and offerd" {
	kill -TERM "$PID_agent1"
	wait_for 10 sh -c "! kill -0 $PID_agent1 2>/dev/null"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 -R "$RES" -g 1s
	wait_for 15 agents_registered 1
	kill -TERM "$PID_offerd"
	wait_for 10 sh -c "! kill -0 $PID_offerd 2>/dev/null"
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 15 agents_registered 1
	[ "$(cluster-ctl -h -o resources agents)" = "$RES" ]
	only_role_sees_reserved
}
