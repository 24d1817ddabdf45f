#!/usr/bin/env bats
# Fault tolerance: a network partition between the master and one agent.
#
# Each agent runs in a network namespace of its own and reaches the master
# over TCP, as a separate host would.  The namespaces hang off a private
# bridge in the host namespace by veth pairs; the master listens on the
# bridge's address, so that cutting one agent's link (its host-side veth
# down, a pulled cable) leaves the master reachable for the other agent.
# The test addresses (10.213.S.0/24) exist only on these links, and no
# traffic leaves the machine.  The framework and cluster-ctl run in the
# host namespace.

load helper

setup() {
	setup_tmp
	NETS=""		# what net_teardown removes
	[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
	command -v ip >/dev/null || skip "no ip(8) (iproute2)"
	if ! ip netns add "pt$$-probe" 2>/dev/null; then
		skip "cannot create a network namespace (ip netns add failed)"
	fi
	ip netns del "pt$$-probe"
	net_setup 2
}

teardown() {
	dump_logs
	teardown_daemons
	kill_markers
	net_teardown
	cleanup_tmp
}

# kill_markers: stop what is left of this run's tasks, by process id.
kill_markers() {
	local p
	for p in $(pgrep -f "marker-$$-" || true); do kill -KILL "$p" 2>/dev/null || true; done
}

# net_setup N: a bridge with the master's address, N namespaces each with
# a veth pair plugged into it.  Sets SUB (10.213.S), MASTER_IP, PORT, and
# exports CLUSTER_MASTER for cluster-ctl and the bridge.
net_setup() {
	local n=$1 i s port
	# a /24 that nothing on this machine uses yet
	for s in $(seq $(( $$ % 200 + 20 )) 254) $(seq 20 254); do
		ip -4 addr show | grep -q "inet 10\.213\.$s\." || break
	done
	SUB=10.213.$s
	MASTER_IP=$SUB.1
	BR=ptb$$
	ip link add "$BR" type bridge forward_delay 0
	NETS="$NETS link:$BR"
	ip addr add "$MASTER_IP/24" dev "$BR"
	ip link set "$BR" up
	for i in $(seq "$n"); do
		ip netns add "pt$$-$i"
		NETS="$NETS ns:pt$$-$i"
		ip link add "pth$$-$i" type veth peer name "ptn$$-$i"
		NETS="$NETS link:pth$$-$i"
		ip link set "ptn$$-$i" netns "pt$$-$i"
		ip link set "pth$$-$i" master "$BR"
		ip link set "pth$$-$i" up
		ip netns exec "pt$$-$i" ip addr add "$SUB.$((10 + i))/24" dev "ptn$$-$i"
		ip netns exec "pt$$-$i" ip link set "ptn$$-$i" up
		ip netns exec "pt$$-$i" ip link set lo up
	done
	# a port that no socket on any address holds
	for _ in $(seq 20); do
		port=$(( 20000 + RANDOM % 30000 ))
		ss -Htln "sport = :$port" | grep -q . || break
	done
	PORT=$port
	export CLUSTER_MASTER="tcp://$MASTER_IP:$PORT"
}

net_teardown() {
	local x
	for x in $NETS; do
		case $x in
		link:*) ip link del "${x#link:}" 2>/dev/null || true ;;
		ns:*) ip netns del "${x#ns:}" 2>/dev/null || true ;;
		esac
	done
	NETS=""
}

# start_master FLAGS...: offerd on the bridge address.
start_master() {
	start_daemon offerd offerd -d -v -l "$CLUSTER_MASTER" -w "$TMP/master" "$@"
}

# start_agent I: agent I in namespace I, host name hostI, over TCP.
start_agent() {
	start_daemon "agent$1" ip netns exec "pt$$-$1" agentd -d -v -k \
	    -m "$CLUSTER_MASTER" -w "$TMP/agent$1" -N "host$1" \
	    -R 'cpus:2;mem:1024' -g 1s -H 500ms
}

cut_link() { ip link set "pth$$-$1" down; }
restore_link() { ip link set "pth$$-$1" up; }

# agent_of HOST: the id under which the master lists HOST.
agent_of() {
	cluster-ctl -h -o agent_id,hostname agents | awk -v h="$1" '$2 == h { print $1 }'
}

# agent_active HOST yes|no: the master lists HOST as active (or not).
agent_active() {
	[ "$(cluster-ctl -h -o hostname,active agents | awk -v h="$1" '$1 == h { print $2 }')" = "$2" ]
}

# launch_on NAME HOST TASK COMMAND: run TASK on HOST's agent.
launch_on() {
	bridge_accept "$1" "{\"task_id\":\"$3\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"$4\"}" "$2"
}

# states NAME TASK: the task's states in the order they came, each update
# once (a retransmission, the same uuid again, is left out).
states() {
	jq -r --arg t "$2" 'select(.type == "STATUS" and .task_id == $t) |
	    [(.uuid // "-"), .state] | @tsv' "$TMP/$1.ev" |
	    awk -F'\t' '$1 == "-" || !seen[$1]++ { printf "%s ", $2 }'
}

# terminals NAME TASK: how many distinct terminal updates the task had.
terminals() {
	jq -r --arg t "$2" 'select(.type == "STATUS" and .task_id == $t and
	    (.state | test("FINISHED|FAILED|KILLED|LOST|ERROR"))) |
	    (.uuid // "master-\(input_line_number)")' "$TMP/$1.ev" | sort -u | wc -l
}

@test "a partitioned agent's task is unreachable, then reconciled when the link returns, and ends once" {
	start_master -t 2s -T 60s
	start_agent 1
	start_agent 2
	wait_for 15 agents_registered 2
	bridge_start fw
	launch_on fw host1 t1 "sleep 15 # marker-$$-t1"
	launch_on fw host2 t2 "sleep 15 # marker-$$-t2"
	bridge_wait fw '"task_id":"t1".*"state":"TASK_RUNNING"'
	bridge_wait fw '"task_id":"t2".*"state":"TASK_RUNNING"'
	a1=$(agent_of host1)
	a2=$(agent_of host2)
	[ -n "$a1" ]
	[ -n "$a2" ]

	cut_link 1
	# within the agent timeout (2 s) plus a tick
	bridge_wait fw '"task_id":"t1".*"state":"TASK_UNREACHABLE"' 8
	bridge_wait fw "\"type\":\"AGENT_LOST\".*\"agent_id\":\"$a1\"" 2
	# the other side of the partition carries on; the task runs on, cut off
	agent_active host1 no
	agent_active host2 yes
	pgrep -f "marker-$$-t1" >/dev/null
	[ "$(bridge_count fw "\"type\":\"AGENT_LOST\".*\"agent_id\":\"$a2\"")" -eq 0 ]
	sleep 1

	restore_link 1
	bridge_wait fw '"task_id":"t1".*"reason":"agent reachable again"' 12
	grep '"reason":"agent reachable again"' "$TMP/fw.ev" | grep -q '"state":"TASK_RUNNING"'
	wait_for 10 agent_active host1 yes
	# the same agent, not a new one
	[ "$(agent_of host1)" = "$a1" ]
	[ "$(cluster-ctl -h -o agent_id agents | wc -l)" -eq 2 ]

	bridge_wait fw '"task_id":"t1".*"state":"TASK_FINISHED"' 20
	bridge_wait fw '"task_id":"t2".*"state":"TASK_FINISHED"' 5
	sleep 1.5	# room for a second ending, should there be one
	echo "t1: $(states fw t1)"
	echo "t2: $(states fw t2)"
	[ "$(states fw t1)" = "TASK_STARTING TASK_RUNNING TASK_UNREACHABLE TASK_RUNNING TASK_FINISHED " ]
	[ "$(states fw t2)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	[ "$(terminals fw t1)" -eq 1 ]
	[ "$(terminals fw t2)" -eq 1 ]
	[ "$(cluster-ctl -h -o task_id,state tasks | awk '$1 == "t1" { print $2 }')" = TASK_FINISHED ]
}

@test "a partition longer than the removal timeout: the task is lost once, the agent returns under a new id and kills it" {
	start_master -t 2s -T 3s
	start_agent 1
	start_agent 2
	wait_for 15 agents_registered 2
	bridge_start fw
	launch_on fw host1 t3 "sleep 60 # marker-$$-t3"
	bridge_wait fw '"task_id":"t3".*"state":"TASK_RUNNING"'
	a1=$(agent_of host1)

	cut_link 1
	bridge_wait fw '"task_id":"t3".*"state":"TASK_UNREACHABLE"' 8
	# 3 s later the agent is removed and its task is lost
	bridge_wait fw '"task_id":"t3".*"state":"TASK_LOST"' 8
	grep '"task_id":"t3".*"state":"TASK_LOST"' "$TMP/fw.ev" | grep -q '"reason":"agent removed"'
	pgrep -f "marker-$$-t3" >/dev/null
	agent_active host2 yes

	restore_link 1
	# it is refused its old id: a new one, and it kills what it ran
	wait_for 15 sh -c "cluster-ctl -h -o agent_id,hostname,active agents | grep -q ' host1 .*yes'"
	a1b=$(agent_of host1)
	[ -n "$a1b" ]
	[ "$a1b" != "$a1" ]
	grep -q "agent $a1 was removed" "$TMP/offerd.log"
	wait_for 15 no_process "marker-$$-t3"
	sleep 1.5
	echo "t3: $(states fw t3)"
	[ "$(states fw t3)" = "TASK_STARTING TASK_RUNNING TASK_UNREACHABLE TASK_LOST " ]
	[ "$(terminals fw t3)" -eq 1 ]
	grep -q "$a1" "$TMP/master/state.json"
}
