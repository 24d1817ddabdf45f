#!/usr/bin/env bats
# The allocator in a running cluster: offer timeouts, decline filters,
# weights, and a replacement allocator in place of drf-alloc.

load helper

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# offer_hosts NAME: the hostnames of the offers the bridge NAME received.
offer_hosts() {
	grep '"type":"OFFER"' "$TMP/$1.ev" | sed 's/.*"hostname":"\([^"]*\)".*/\1/' | sort -u | tr '\n' ' '
}

@test "the cluster runs with a replacement allocator: static partitions by owner" {
	# as root, offerd serves as an unprivileged user (offerd(8), -a): the
	# allocator runs as that user too, so that it may connect to it
	as=
	[ "$(id -u)" -ne 0 ] || as="setpriv --reuid=$(offerd_user) --regid=$(id -g "$(offerd_user)") --init-groups"
	start_daemon alloc $as drf-alloc -d -l "ipc://$TMP/alloc.ipc" -A "$TOP/examples/alloc-static/alloc-static"
	start_daemon offerd offerd -d -v -w "$TMP/master" --allocator "ipc://$TMP/alloc.ipc"
	start_daemon agent1 agentd -d -k -w "$TMP/a1" -N host1 -R 'cpus:2;mem:512' -a owner:web
	start_daemon agent2 agentd -d -k -w "$TMP/a2" -N host2 -R 'cpus:2;mem:512' -a owner:batch
	wait_for 15 agents_registered 2
	bridge_start web -i web
	bridge_start batch -i batch
	bridge_wait web '"type":"OFFER"'
	bridge_wait batch '"type":"OFFER"'
	sleep 2
	[ "$(offer_hosts web)" = "host1 " ]
	[ "$(offer_hosts batch)" = "host2 " ]
	bridge_launch web w1 "echo static"
	bridge_wait web '"task_id":"w1".*"state":"TASK_FINISHED"'
}

@test "an allocator that is not there yet stalls nothing: offerd serves on, and what it tells the allocator waits for it, in order, none lost" {
	as=
	[ "$(id -u)" -ne 0 ] || as="setpriv --reuid=$(offerd_user) --regid=$(id -g "$(offerd_user)") --init-groups"
	# nothing listens on the allocator's endpoint yet
	start_daemon offerd offerd -d -v -w "$TMP/master" --allocator "ipc://$TMP/alloc.ipc"
	start_daemon agent1 agentd -d -k -w "$TMP/a1" -N host1 -R 'cpus:2;mem:512'
	start_daemon agent2 agentd -d -k -w "$TMP/a2" -N host2 -R 'cpus:2;mem:512'
	wait_for 15 agents_registered 2
	# the master answers at once meanwhile
	run timeout 2 cluster-ctl -h -o hostname agents
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	sleep 1
	! grep -q "not delivered" "$TMP/offerd.log" || false
	# the allocator comes: it is told both agents (kept for it), and
	# offers flow
	start_daemon alloc $as drf-alloc -d -vv -l "ipc://$TMP/alloc.ipc"
	run cluster-ctl run -- echo late
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
	grep -q "<- AGENT_ADD" "$TMP/alloc.log"
	[ "$(grep -c "<- AGENT_ADD" "$TMP/alloc.log")" -eq 2 ]
	! grep -q "not delivered" "$TMP/offerd.log" || false
}

@test "an offer not answered within the offer timeout is rescinded and its resources offered again" {
	OFFERD_FLAGS="-O 1s"
	start_cluster 1
	bridge_start slow
	bridge_wait slow '"type":"OFFER"'
	first=$(grep '"type":"OFFER"' "$TMP/slow.ev" | head -1 | sed 's/.*"offer_id":"\([^"]*\)".*/\1/')
	bridge_wait slow "\"type\":\"RESCIND\",\"offer_id\":\"$first\"" 5
	wait_for 10 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/slow.ev') -ge 2 ]"
	grep -q "offer $first to .* not answered in time: rescinded" "$TMP/offerd.log"
}

@test "a declined agent is not offered to that framework again for refuse_seconds" {
	start_cluster 1
	bridge_start picky
	bridge_wait picky '"type":"OFFER"'
	offer=$(grep '"type":"OFFER"' "$TMP/picky.ev" | head -1 | sed 's/.*"offer_id":"\([^"]*\)".*/\1/')
	bridge_send picky "{\"type\":\"DECLINE\",\"offer_id\":\"$offer\",\"refuse_seconds\":3}"
	sleep 2
	[ "$(grep -c '"type":"OFFER"' "$TMP/picky.ev")" -eq 1 ]
	# the filter expires: offered again
	bridge_wait picky '"type":"OFFER".*' 6
	wait_for 6 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/picky.ev') -ge 2 ]"
	# and a bad refuse_seconds is refused
	offer=$(grep '"type":"OFFER"' "$TMP/picky.ev" | tail -1 | sed 's/.*"offer_id":"\([^"]*\)".*/\1/')
	bridge_send picky "{\"type\":\"DECLINE\",\"offer_id\":\"$offer\",\"refuse_seconds\":-5}"
	bridge_wait picky 'refuse_seconds out of range'
}

@test "suppress stops offers; revive brings them back" {
	start_cluster 1
	bridge_start quiet
	bridge_wait quiet '"type":"OFFER"'
	offer=$(grep '"type":"OFFER"' "$TMP/quiet.ev" | head -1 | sed 's/.*"offer_id":"\([^"]*\)".*/\1/')
	bridge_send quiet '{"type":"SUPPRESS"}'
	bridge_send quiet "{\"type\":\"DECLINE\",\"offer_id\":\"$offer\",\"refuse_seconds\":0}"
	sleep 3
	[ "$(grep -c '"type":"OFFER"' "$TMP/quiet.ev")" -eq 1 ]
	bridge_send quiet '{"type":"REVIVE"}'
	wait_for 5 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/quiet.ev') -ge 2 ]"
}

@test "role weights are set by the operator; bad ones are refused" {
	OFFERD_FLAGS="-W web=2"
	start_cluster 1
	run cluster-ctl weight batch 3
	[ "$status" -eq 0 ]
	[ "$output" = "role batch weight 3" ]
	run cluster-ctl weight batch 0
	[ "$status" -eq 100 ]
	run cluster-ctl weight 'a b' 1
	[ "$status" -eq 100 ]
	run offerd --check -W 'a b=1'
	[ "$status" -eq 100 ]
}

@test "node filters from SUBSCRIBE: only matching agents, only those with the minimum free" {
	start_cluster 2
	bridge_start picky2 -a 'rack:r2'
	bridge_start big --min 'cpus:3'
	bridge_wait picky2 '"type":"OFFER"'
	sleep 2
	[ "$(offer_hosts picky2)" = "host2 " ]
	[ "$(grep -c '"type":"OFFER"' "$TMP/big.ev")" -eq 0 ]
	run cluster-ctl subscribe -a 'rack' </dev/null
	[ "$status" -eq 100 ]
}

@test "a framework removed while its task dies keeps it in the allocator: nothing is offered that the master must give back" {
	start_daemon offerd offerd -d -v -w "$TMP/master"
	# a grace of 3 s: the task ignores SIGTERM and is killed at its end
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 3s
	wait_for 15 agents_registered 1
	bridge_start a
	bridge_launch a slow "trap '' TERM; sleep 60" 'cpus:2;mem:1024'
	bridge_wait a '"state":"TASK_RUNNING"'
	fa=$(bridge_fw a)
	bridge_start b
	# a leaves: its task is killed
	bridge_send a '{"type":"TEARDOWN"}'
	wait_for 10 grep -q "framework $fa .* removed" "$TMP/offerd.log"
	# b is offered the whole agent once the task is dead, not before
	bridge_wait b '"resources":"cpus:2;mem:1024"' 20
	grep -q "task slow of $fa on .* ended: TASK_KILLED" "$TMP/offerd.log"
	sleep 1
	[ "$(grep -c 'given back' "$TMP/offerd.log")" -eq 0 ]
	# and the allocator forgot a: b's share is the whole cluster's
	bridge_launch b after "true" 'cpus:2;mem:1024'
	bridge_wait b '"state":"TASK_FINISHED"'
}
