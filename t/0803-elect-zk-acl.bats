#!/usr/bin/env bats
# cluster-elect's znodes carry ZooKeeper ACLs: all for the digest identity
# of the masters' credential, read for anyone.  With a real server, an
# attacker without the credential (zk-test, anonymous or with another
# credential) can neither delete, change nor add a leader, a master with
# another credential cannot join, and the election goes on unchanged.

bats_require_minimum_version 1.5.0

load helper
load 0800-elect-helper

setup_file() { zk_file_start; }
teardown_file() { zk_file_stop; }

setup() {
	[ -z "$ZK_SKIP" ] || skip "$ZK_SKIP"
	setup_tmp
	ZK="127.0.0.1:$ZK_PORT"
	# a parent and the election under it: both made by cluster-elect
	TOPNODE="/acl-t$BATS_TEST_NUMBER-$$"
	ELECT_PATH="$TOPNODE/cluster"
	ELECT_MASTER="zk://$ZK$ELECT_PATH"
	ELECT_ARGS="-z $ELECT_MASTER"
	export CLUSTER_MASTER=$ELECT_MASTER
}
teardown() {
	[ -z "$ZK_SKIP" ] || return 0
	elect_teardown
}

# zkt ARGS...: the tests' ZooKeeper client (t/unit/zk-test.c).
zkt() {
	"$TOP/build/test/zk-test" "$@"
}

# leader_znode: the full path of the leader's znode.
leader_znode() {
	local id
	id=$(cluster-ctl -o json leader | grep -o '"id":"n_[0-9]*"') || return 1
	id=${id#'"id":"'}
	echo "$ELECT_PATH/${id%'"'}"
}

# acl_is_masters NODE PRINCIPAL: NODE's ACL is all for PRINCIPAL's digest,
# read for anyone, and nothing else.
acl_is_masters() {
	local acl
	acl=$(zkt "$ZK" getacl "$1")
	echo "$1: $acl"
	[ "$(echo "$acl" | wc -l)" -eq 2 ]
	[[ "$(echo "$acl" | sed -n 1p)" == "digest:$2:"*":cdrwa" ]]
	[ "$(echo "$acl" | sed -n 2p)" = "world:anyone:r" ]
}

# no_auth ARGS...: zkt ARGS... is refused by ZooKeeper: exit 1, NoAuth.
no_auth() {
	run zkt "$@"
	[ "$status" -eq 1 ]
	[[ "$output" == *NoAuth* ]]
}

# own_principal: the principal of the credential the first start made.
own_principal() {
	cut -d' ' -f1 "$CLUSTER_CONF/credential"
}

@test "zk acl: every znode of the election is all for the masters' credential, read for anyone" {
	elect_start 1
	elect_start 2
	wait_for 15 serving
	p=$(own_principal)
	grep -q "logged in as $p (digest)" "$TMP/elect1.log"
	acl_is_masters "$TOPNODE" "$p"
	acl_is_masters "$ELECT_PATH" "$p"
	for n in $(zkt "$ZK" children "$ELECT_PATH"); do
		acl_is_masters "$ELECT_PATH/$n" "$p"
	done
	[ "$(zkt "$ZK" children "$ELECT_PATH" | wc -l)" -eq 2 ]
	# clients need no secret to find the leader
	l=$(leader_index)
	[ "$(CLUSTER_CREDENTIAL=none cluster-ctl leader)" = "ipc://$TMP/m$l.ipc" ]
	# the holders of the credential may write; the login is not the
	# secret itself (it travels in the clear), and the secret is never logged
	zkt -C "$CLUSTER_CONF/credential" "$ZK" set "$ELECT_PATH" ""
	secret=$(cut -d' ' -f2 "$CLUSTER_CONF/credential")
	no_auth -a "$p:$secret" "$ZK" set "$ELECT_PATH" ""
	! grep -qF "$secret" "$TMP"/elect*.log || false
}

@test "zk acl: without the credential nobody deletes, changes or adds a leader; the election is unchanged" {
	elect_start 1
	elect_start 2
	wait_for 15 serving
	l=$(leader_index)
	node=$(leader_znode)
	"$TOP/build/test/auth-test" new mallory "$TMP/mallory"
	for who in "" "-C $TMP/mallory"; do
		no_auth $who "$ZK" delete "$node"
		no_auth $who "$ZK" set "$node" "ipc://$TMP/evil.ipc"
		no_auth $who "$ZK" create "$ELECT_PATH/n_0000000000" "ipc://$TMP/evil.ipc"
		no_auth $who "$ZK" openacl "$node"
		no_auth $who "$ZK" openacl "$ELECT_PATH"
		no_auth $who "$ZK" create "$TOPNODE/other" "x"
	done
	# nothing changed: same leader, same data, two candidates, serving
	[ "$(zkt "$ZK" get "$node")" = "ipc://$TMP/m$l.ipc" ]
	[ "$(zkt "$ZK" children "$ELECT_PATH" | wc -l)" -eq 2 ]
	[ "$(leader_index)" = "$l" ]
	[ "$(leader_znode)" = "$node" ]
	serving
	[ "$(offerds_running)" -eq 1 ]
	acl_is_masters "$node" "$(own_principal)"
}

@test "zk acl: a master with another credential, or none, cannot join; it says why and the election is unchanged" {
	elect_start 1
	wait_for 15 serving
	node=$(leader_znode)
	"$TOP/build/test/auth-test" new intruder "$TMP/intruder"
	elect_start 2 -C "$TMP/intruder"
	st=0
	wait "$PID_elect2" || st=$?
	[ "$st" -eq 111 ]
	grep -q "intruder may not write $ELECT_PATH (ZooKeeper NoAuth; ACL digest:$(own_principal):cdrwa world:anyone:r)" "$TMP/elect2.log"
	elect_start 3 --insecure
	st=0
	wait "$PID_elect3" || st=$?
	[ "$st" -eq 111 ]
	grep -q -- "--insecure may not write $ELECT_PATH" "$TMP/elect3.log"
	# neither ran its command nor left a znode
	! grep -q "leading" "$TMP/elect2.log" "$TMP/elect3.log" || false
	[ "$(zkt "$ZK" children "$ELECT_PATH")" = "${node##*/}" ]
	[ "$(leader_index)" = 1 ]
	serving
}

@test "zk acl: masters sharing one credential fail over (-C)" {
	"$TOP/build/test/auth-test" new masters "$TMP/masters.cred"
	ELECT_ARGS="-C $TMP/masters.cred $ELECT_ARGS"
	kill_leader_within 15 6 3000
	acl_is_masters "$(leader_znode)" masters
	acl_is_masters "$ELECT_PATH" masters
}

@test "zk acl: an election an older cluster-elect left open is tightened, and a planted leader removed" {
	zkt "$ZK" create "$TOPNODE" ""
	zkt "$ZK" create "$ELECT_PATH" ""
	zkt "$ZK" create "$ELECT_PATH/n_0000000000" "ipc://$TMP/evil.ipc"
	[ "$(zkt "$ZK" getacl "$ELECT_PATH")" = "world:anyone:cdrwa" ]
	elect_start 1
	wait_for 15 serving
	[ "$(leader_index)" = 1 ]
	acl_is_masters "$ELECT_PATH" "$(own_principal)"
	grep -q "ZooKeeper $ELECT_PATH was open to anyone: now all for $(own_principal), read for anyone" "$TMP/elect1.log"
	grep -q "ZooKeeper $ELECT_PATH/n_0000000000 is no candidate's (it is persistent) and could pose as the leader: deleted" "$TMP/elect1.log"
	# the open parent is not ours to change: it is reported
	grep -q "ZooKeeper $TOPNODE is open to anyone" "$TMP/elect1.log"
	[ "$(zkt "$ZK" getacl "$TOPNODE")" = "world:anyone:cdrwa" ]
	run zkt "$ZK" create "$ELECT_PATH/n_0000000000" "ipc://$TMP/evil.ipc"
	[[ "$output" == *NoAuth* ]]
}

@test "zk acl: --insecure keeps the znodes open, and says so" {
	elect_start 1 --insecure
	wait_for 15 serving
	[ "$(zkt "$ZK" getacl "$ELECT_PATH")" = "world:anyone:cdrwa" ]
	[ "$(zkt "$ZK" getacl "$(leader_znode)")" = "world:anyone:cdrwa" ]
	grep -q -- "--insecure: anyone who reaches ZooKeeper may write" "$TMP/elect1.log"
	! grep -q "logged in" "$TMP/elect1.log" || false
}

@test "zk acl: a credential that cannot be used exits 100 before touching ZooKeeper" {
	run cluster-elect -C "$TMP/nothing" $ELECT_ARGS -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"credential: $TMP/nothing: No such file"* ]]
	"$TOP/build/test/auth-test" new open "$TMP/open"
	chmod 644 "$TMP/open"
	run cluster-elect -C "$TMP/open" $ELECT_ARGS -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"too open"* ]]
	CLUSTER_CREDENTIAL=$TMP/open run cluster-elect $ELECT_ARGS -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"too open"* ]]
	CLUSTER_CREDENTIAL=none run cluster-elect $ELECT_ARGS -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"no credential (none): give -C file, or --insecure"* ]]
	run zkt "$ZK" get "$TOPNODE"
	[[ "$output" == *NoNode* ]]
	# a lock file needs none: the command runs and its status comes back
	CLUSTER_CREDENTIAL=none run cluster-elect -d --lock "$TMP/lock" --endpoint none -- \
	    sh -c 'exit 3'
	[ "$status" -eq 3 ]
}
