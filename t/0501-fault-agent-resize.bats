#!/usr/bin/env bats
# An agent that comes back with other resources: what it registers with is
# the truth for the master, the allocator and every offer, and what runs on
# it stays accounted.

load helper

setup() {
	setup_tmp
	# the default agent timeout: a restart keeps the agent active
	start_daemon offerd offerd -d -v -w "$TMP/master"
	start_daemon agent agentd -d -v -w "$TMP/agent" -N rr -a kind:rr \
	    -R 'cpus:4;mem:4000' -g 1s
	wait_for 15 agents_registered 1
	bridge_start fw
}
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

# offers_after N: the resources of the OFFER events after the first N.
offers_after() {
	grep '"type":"OFFER"' "$TMP/fw.ev" | tail -n +"$(($1 + 1))" | jq -r .resources
}

# registered N: true when offerd logged N agent registrations.
registered() {
	[ "$(grep -c 'registered with' "$TMP/offerd.log")" -ge "$1" ]
}

@test "an agent restarted smaller is offered at its new size only" {
	bridge_wait fw '"resources":"cpus:4;mem:4000"'
	n=$(bridge_count fw '"type":"OFFER"')
	kill -TERM "$PID_agent"
	wait_for 10 sh -c "! kill -0 $PID_agent 2>/dev/null"
	start_daemon agent2 agentd -d -v -w "$TMP/agent" -N rr -a kind:rr \
	    -R 'cpus:1;mem:500' -g 1s
	wait_for 15 registered 2
	# the offer cut from the old size is rescinded, the new one is the truth
	bridge_wait fw '"type":"RESCIND"'
	bridge_send fw '{"type":"REVIVE"}'
	wait_for 15 sh -c "grep '\"type\":\"OFFER\"' '$TMP/fw.ev' | tail -n +$((n + 1)) | grep -q ."
	[ "$(offers_after "$n" | sort -u)" = "cpus:1;mem:500" ]
	[ "$(cluster-ctl -h -o resources agents)" = "cpus:1;mem:500" ]
	for o in $(cluster-ctl -h -o resources offers); do
		[ "$o" = "cpus:1;mem:500" ]
	done
}

@test "an agent restarted smaller than its running task offers nothing until the task ends, then its new size" {
	bridge_launch fw big "sleep 5 # marker-$$" 'cpus:3;mem:3000'
	bridge_wait fw '"state":"TASK_RUNNING"'
	n=$(bridge_count fw '"type":"OFFER"')
	kill -9 "$PID_agent"
	start_daemon agent2 agentd -d -v -w "$TMP/agent" -N rr -a kind:rr \
	    -R 'cpus:1;mem:500' -g 1s
	wait_for 15 registered 2
	grep -q 'less than its tasks use' "$TMP/offerd.log"
	# the task is still accounted, and nothing is free
	[ "$(cluster-ctl -h -o used agents)" = "cpus:3;mem:3000" ]
	[ "$(cluster-ctl -h -o free agents)" = "-" ] ||
	    [ -z "$(cluster-ctl -h -o free agents)" ]
	bridge_send fw '{"type":"REVIVE"}'
	sleep 1.5
	[ -z "$(offers_after "$n")" ]
	# once it ends, exactly the new size is offered again
	bridge_wait fw '"state":"TASK_FINISHED"' 15
	bridge_send fw '{"type":"REVIVE"}'
	wait_for 10 sh -c "grep '\"type\":\"OFFER\"' '$TMP/fw.ev' | tail -n +$((n + 1)) | grep -q ."
	[ "$(offers_after "$n" | sort -u)" = "cpus:1;mem:500" ]
}
