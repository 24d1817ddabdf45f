#!/usr/bin/env bats
# The registry in ZooKeeper (offerd's state.c, lib/zkstore.c): two masters
# under cluster-elect on two hosts (network namespaces of their own on a
# private /24, each with its own work dir), one real ZooKeeper.  What the
# first leader was told (a removal, a weight, a drain) holds on the
# second after kill -9 of the first: the registry is ZooKeeper's, not the
# leader's disk.  Needs root (ip netns) and Debian's zookeeper package.

bats_require_minimum_version 1.5.0

load helper
load 0800-elect-helper

MASTER_PORT=5050	# inside each host's own namespace: nobody else's

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (ip netns)"
	zk_available || skip "needs java and Debian's zookeeper package"
	command -v ip >/dev/null || skip "needs iproute2"
	setup_tmp
	hosts_setup
	ZK_DIR="$TMP/zk"
	ZK_ADDR="${NET}1" zk_start "$ZK_DIR"
	ELECT_MASTER="zk://${NET}1:$ZK_PORT/registry-t$BATS_TEST_NUMBER-$$"
	export CLUSTER_MASTER=$ELECT_MASTER
}
teardown() {
	[ -n "${TMP:-}" ] || return 0
	dump_logs
	[ -z "${ZK_DIR:-}" ] || tail -5 "$ZK_DIR/zookeeper.log"
	teardown_daemons
	kill_leftovers
	[ -z "${ZK_DIR:-}" ] || zk_stop "$ZK_DIR"
	hosts_teardown
	cleanup_tmp
}

# hosts_setup: a bridge in this namespace with NET.1, and two hosts, the
# network namespaces $NS1 (NET.2) and $NS2 (NET.3), each on a veth pair
# on it.  NET is a /24 of 10.0.0.0/8 that no route of ours names yet.
hosts_setup() {
	local tag i
	tag=$(printf '%05x' $(( $$ % 1048576 )))
	NS1="clreg$tag-1"; NS2="clreg$tag-2"; BR="clbr$tag"
	for _ in $(seq 20); do
		NET="10.$((200 + RANDOM % 50)).$((RANDOM % 250)).";
		ip route show | grep -q "^${NET}0/24" || break
	done
	ip link add "$BR" type bridge
	ip addr add "${NET}1/24" dev "$BR"
	ip link set "$BR" up
	for i in 1 2; do
		eval "ns=\$NS$i"
		ip netns add "$ns"
		ip link add "clv$tag$i" type veth peer name eth0 netns "$ns"
		ip link set "clv$tag$i" master "$BR" up
		ip -n "$ns" addr add "${NET}$((i + 1))/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" link set lo up
	done
}

# hosts_teardown: the namespaces, their veth pairs and the bridge.
hosts_teardown() {
	[ -n "${BR:-}" ] || return 0
	ip netns del "$NS1" 2>/dev/null || true
	ip netns del "$NS2" 2>/dev/null || true
	ip link del "$BR" 2>/dev/null || true
}

# master_on I: candidate I on host I (namespace NSI) runs offerd on
# tcp://NET.(I+1):MASTER_PORT with the work dir $TMP/wI while it leads.
master_on() {
	local ns
	eval "ns=\$NS$1"
	start_daemon "elect$1" ip netns exec "$ns" setsid cluster-elect -d -v \
	    --session-timeout 1s -z "$ELECT_MASTER" -- offerd -d -vv -T 1h \
	    -l "tcp://${NET}$(($1 + 1)):$MASTER_PORT" -w "$TMP/w$1"
}

# leads I: candidate I leads and its offerd answers.
leads() {
	[ "$(cluster-ctl leader 2>/dev/null)" = "tcp://${NET}$(($1 + 1)):$MASTER_PORT" ] &&
	    cluster-ctl -t 2s agents >/dev/null 2>&1
}

# agent_field ID FIELD: FIELD of agent ID in the listing.
agent_field() {
	cluster-ctl -o json agents | jq -r "select(.agent_id == \"$1\") | .$2"
}

# The registry's writes, made on the first leader; one line each.
registry_write() {
	cluster-ctl weight analytics 3
	cluster-ctl drain --reason "disk swap" "$AGENT"
	echo "{\"type\":\"TEARDOWN\",\"framework_id\":\"$FW\"}" |
	    cluster-ctl send --wait 500ms
	cluster-ctl quota set --guarantee cpus:1 -L cpus:2 analytics
	cluster-ctl reserve "$AGENT" analytics mem:256
}

# The same, checked on the second leader; one line each.
registry_check() {
	cluster-ctl -h -o role,weight weights | grep -qx "analytics *3"
	wait_for 15 sh -c "cluster-ctl -o json agents | jq -e 'select(.agent_id == \"$AGENT\" and .state == \"drained\" and .reason == \"disk swap\")'"
	echo "{\"type\":\"SUBSCRIBE\",\"framework_id\":\"$FW\",\"name\":\"again\"}" |
	    cluster-ctl send --wait 1s | grep -q '"code":"removed"'
	cluster-ctl -h -o role,guarantee,limit quota | grep -qx "analytics *cpus:1 *cpus:2"
	wait_for 15 sh -c "cluster-ctl -h -o resources agents | grep -q 'mem(analytics):256'"
}

@test "registry: a removal, a weight, a drain, a quota and a reservation on the first leader hold after kill -9 of it, on the second host" {
	master_on 1
	wait_for 20 leads 1
	master_on 2
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 1s
	wait_for 20 sh -c '[ "$(cluster-ctl -h -o agent_id agents | wc -l)" -eq 1 ]'
	AGENT=$(cluster-ctl -h -o agent_id agents)
	bridge_start fw
	FW=$(bridge_fw fw)
	run registry_write
	echo "$output"
	[ "$status" -eq 0 ]
	# written in ZooKeeper under the election, with its ACL
	zkt="$TOP/build/test/zk-test"
	path=${ELECT_MASTER#zk://*/}
	"$zkt" -C "$TMP/conf/credential" "${NET}1:$ZK_PORT" get "/$path/registry" | grep -q '^zkstore/1 '
	# only the masters' credential reads it: it names principals
	run "$zkt" "${NET}1:$ZK_PORT" get "/$path/registry"
	[[ "$output" == *NoAuth* ]]
	run "$zkt" "${NET}1:$ZK_PORT" getacl "/$path/registry"
	[[ "$output" != *world:anyone* ]]
	run "$zkt" "${NET}1:$ZK_PORT" set "/$path/registry" "zkstore/1 0 0 0"
	[[ "$output" == *NoAuth* ]]
	[ ! -e "$TMP/w1/state.json" ]
	# the first host's master dies: the second leads, from the registry
	kill_candidate 1
	wait_for 20 leads 2
	grep -q "from $ELECT_MASTER/registry" "$TMP/elect2.log"
	run registry_check
	echo "$output"
	[ "$status" -eq 0 ]
	# and it writes on: undrain on the second
	run cluster-ctl undrain "$AGENT"
	[ "$status" -eq 0 ]
	[ "$(agent_field "$AGENT" state)" = active ]
}

@test "registry: a document over ZooKeeper's 1 MB limit is kept in chunks and replaced whole; a stale writer is refused" {
	zs="$TOP/build/test/zkstore-test"
	zkt="$TOP/build/test/zk-test"
	zk="${NET}1:$ZK_PORT"
	m="zk://$zk/store-$$"
	"$zkt" "$zk" create "/store-$$" ""
	# 2000000 bytes: four chunks of at most 512 KiB
	head -c 1500000 /dev/urandom | base64 -w0 >"$TMP/big"
	"$zs" "$m" registry write <"$TMP/big"
	"$zs" "$m" registry read >"$TMP/back"
	cmp "$TMP/big" "$TMP/back"
	[ "$("$zkt" "$zk" get "/store-$$/registry")" = "zkstore/1 1 4 2000000" ]
	[ "$("$zkt" "$zk" children "/store-$$/registry" | sort | tr '\n' ' ')" = "1-0 1-1 1-2 1-3 " ]
	# a new generation replaces the old one whole
	echo small >"$TMP/small"
	"$zs" "$m" registry write <"$TMP/small"
	[ "$("$zs" "$m" registry read)" = small ]
	[ "$("$zkt" "$zk" children "/store-$$/registry")" = "2-0" ]
	# more than the registry may hold: refused, the old one stays
	head -c 9000000 /dev/zero >"$TMP/huge"
	run "$zs" "$m" registry write <"$TMP/huge"
	[ "$status" -eq 1 ]
	[[ "$output" == *"more than the"* ]]
	[ "$("$zs" "$m" registry read)" = small ]
	# a writer that did not read the last write cannot overwrite it
	run "$zs" "$m" registry fence <"$TMP/small"
	[ "$output" = "0 -2" ]
}
