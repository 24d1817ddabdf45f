#!/usr/bin/env bats
# Identity with the real daemons: every record is sealed with a principal's
# credential (lib/auth.c); a peer without one, with a wrong one, or with
# another principal's ids is refused with an ERROR and a log line, and the
# refusal changes nothing: the cluster keeps serving.

load helper

setup() {
	setup_tmp
	AT="$TOP/build/test/auth-test"
	# TCP on loopback, so that another local user can reach the master
	PORT=$((20000 + RANDOM % 20000))
	export CLUSTER_MASTER="tcp://127.0.0.1:$PORT"
	start_daemon offerd offerd -d -v -w "$TMP/master" -l "$CLUSTER_MASTER"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 agents_registered 1
}
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

# still_serving: the cluster answers and its agent is active.
still_serving() {
	[ "$(cluster-ctl -h -o active agents)" = yes ]
}

@test "the first start made the credentials, mode 0600, and every tool found them" {
	[ "$(stat -c %a "$CLUSTER_CONF")" = 700 ]
	[ "$(stat -c %a "$CLUSTER_CONF/credential")" = 600 ]
	[ "$(stat -c %a "$CLUSTER_CONF/credentials")" = 600 ]
	[ "$(cut -d' ' -f1 "$CLUSTER_CONF/credentials")" = root ]
	grep -q 'first start: made the credential of principal root' "$TMP/offerd.log" ||
	    grep -q 'first start: made the credential of principal root' "$TMP/agent1.log"
	run cluster-ctl run -- echo sealed
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
}

@test "a local user without the credential cannot list, run or kill; the master logs it and keeps serving" {
	as_nobody() {
		su nobody -s /bin/sh -c "CLUSTER_CONF=/nonexistent CLUSTER_MASTER=$CLUSTER_MASTER timeout 20 $*"
	}
	run as_nobody cluster-ctl agents
	[ "$status" -eq 1 ]
	[[ "$output" == *"unauthenticated: not a sealed record"* ]]
	run as_nobody cluster-ctl run -- touch "$TMP/escaped"
	[ "$status" -eq 125 ]
	[[ "$output" == *"sealed with a credential it knows"* ]]
	run as_nobody sh -c "\"echo '{\\\"type\\\":\\\"TEARDOWN\\\",\\\"framework_id\\\":\\\"fw-x\\\"}' | cluster-ctl send --wait 500ms\""
	[[ "$output" == *'"code":"unauthenticated"'* ]]
	grep -q 'refused a record: unauthenticated: not a sealed record' "$TMP/offerd.log"
	[ ! -e "$TMP/escaped" ]
	[ -z "$(cluster-ctl -h -o task_id tasks)" ]
	[ -z "$(cluster-ctl -h -o framework_id frameworks)" ]
	still_serving
}

@test "a wrong secret, an unknown principal and a credential others may read are refused" {
	"$AT" new root "$TMP/wrong"
	run cluster-ctl -C "$TMP/wrong" agents
	[ "$status" -eq 1 ]
	[[ "$output" == *"unauthenticated: not made with the principal's secret"* ]]
	"$AT" new mallory "$TMP/mallory"
	run cluster-ctl -C "$TMP/mallory" agents
	[ "$status" -eq 1 ]
	[[ "$output" == *"unauthenticated: no credential for the principal"* ]]
	chmod 644 "$TMP/mallory"
	run cluster-ctl -C "$TMP/mallory" agents
	[ "$status" -eq 100 ]
	[[ "$output" == *"too open"* ]]
	run cluster-ctl -C "$TMP/missing" agents
	[ "$status" -eq 100 ]
	[[ "$output" == *"No such file"* ]]
	[ "$(grep -c 'refused a record' "$TMP/offerd.log")" -ge 2 ]
	still_serving
}

@test "a second principal cannot take over a framework, send its calls or forge its agent's records" {
	principal bob
	bridge_start fw
	fw=$(bridge_fw fw)
	bridge_launch fw t1 "sleep 30 # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	agent=$(cluster-ctl -h -o agent_id agents)
	# take the framework over (failover), heartbeat for it, kill its
	# task, tear it down; register as its agent, end its task by STATUS
	for rec in \
	    "{\"type\":\"SUBSCRIBE\",\"name\":\"evil\",\"framework_id\":\"$fw\"}" \
	    "{\"type\":\"HEARTBEAT\",\"framework_id\":\"$fw\"}" \
	    "{\"type\":\"KILL\",\"framework_id\":\"$fw\",\"task_id\":\"t1\"}" \
	    "{\"type\":\"TEARDOWN\",\"framework_id\":\"$fw\"}" \
	    "{\"type\":\"REGISTER_AGENT\",\"agent_id\":\"$agent\",\"hostname\":\"evil\",\"resources\":\"cpus:64\"}" \
	    "{\"type\":\"STATUS\",\"agent_id\":\"$agent\",\"framework_id\":\"$fw\",\"task_id\":\"t1\",\"state\":\"TASK_FINISHED\"}"; do
		run sh -c 'echo "$1" | cluster-ctl -C "$2" send --wait 500ms' - "$rec" "$TMP/bob"
		echo "$rec -> $output"
		[[ "$output" == *'"code":"not_owner"'* ]]
	done
	grep -q "refused SUBSCRIBE from principal bob: framework $fw belongs to root" "$TMP/offerd.log"
	# nothing changed: the task runs, the framework is root's and served
	[ "$(cluster-ctl -h -o state tasks)" = TASK_RUNNING ]
	[ "$(cluster-ctl -h -o hostname,resources agents)" = "host1  cpus:2;mem:1024" ]
	pgrep -f "marker-$$" >/dev/null
	[ "$(bridge_count fw '"state":"TASK_KILLED"')" -eq 0 ]
	[ "$(cluster-ctl -h -o name frameworks)" = fw ]
	still_serving
}

@test "-K names the credentials file; a missing or too open one stops offerd with 111 and a clear log" {
	teardown_daemons
	offerd_fails "credentials: $TMP/nothing: No such file" -K "$TMP/nothing"
	cp "$CLUSTER_CONF/credentials" "$TMP/keys"
	chmod 644 "$TMP/keys"
	offerd_fails "mode 0644 is too open" -K "$TMP/keys"
	chmod 600 "$TMP/keys"
	export CLUSTER_MASTER="ipc://$TMP/m2.ipc"
	start_daemon offerd2 offerd -d -v -w "$TMP/m2" -K "$TMP/keys"
	wait_for 5 grep -q "1 principals from $TMP/keys" "$TMP/offerd2.log"
	start_daemon agent2 agentd -d -k -w "$TMP/agent2" -R 'cpus:1;mem:256' -g 1s
	wait_for 15 agents_registered 1
}

@test "--insecure with CLUSTER_CREDENTIAL=none runs in the clear; a sealing peer is not understood" {
	teardown_daemons
	export CLUSTER_MASTER="ipc://$TMP/m3.ipc"
	start_daemon offerd3 offerd -d -v -w "$TMP/m3" --insecure
	CLUSTER_CREDENTIAL=none start_daemon agent3 agentd -d -k -w "$TMP/agent3" -R 'cpus:1;mem:256' -g 1s
	CLUSTER_CREDENTIAL=none wait_for 15 agents_registered 1
	run env CLUSTER_CREDENTIAL=none cluster-ctl run -- echo clear
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
	# a peer that seals is told the master runs in the clear
	run cluster-ctl agents
	[ "$status" -eq 1 ]
	[[ "$output" == *"this end takes records in the clear"* ]]
	! grep -q 'principals from' "$TMP/offerd3.log" || false
}

@test "cluster-ctl credential makes a principal: its file 0600, -a adds it to the master's, known after SIGHUP" {
	run cluster-ctl credential --add carol "$TMP/carol"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$TMP/carol")" = 600 ]
	[ "$(cut -d' ' -f1 "$TMP/carol")" = carol ]
	grep -q "^carol " "$CLUSTER_CONF/credentials"
	# not known until the master is told
	run cluster-ctl -C "$TMP/carol" agents
	[ "$status" -eq 1 ]
	kill -HUP "$PID_offerd"
	wait_for 5 sh -c "cluster-ctl -C '$TMP/carol' -h -o active agents | grep -q yes"
	# twice the same principal, a bad name, a file that exists: refused
	run cluster-ctl credential --add carol "$TMP/carol2"
	[ "$status" -eq 1 ]
	[ ! -e "$TMP/carol2" ]
	run cluster-ctl credential ../x "$TMP/x"
	[ "$status" -eq 100 ]
	run cluster-ctl credential dave "$TMP/carol"
	[ "$status" -eq 111 ]
	[ "$(grep -c '^carol ' "$CLUSTER_CONF/credentials")" -eq 1 ]
}
