#!/usr/bin/env bats
# Authorization with the real daemons: offerd's ACL file (cluster-acl(5),
# offerd -P) decides which principal may use which role, run as which
# user, register agents, kill others' work, set weights, query and see
# whose work.  Every refusal is an ERROR "forbidden" and a log line naming
# the principal, changes nothing, and the cluster keeps serving.

load helper

setup() {
	setup_tmp
	ME=$(id -un)	# the principal of the first start's credential
	# the operator of these tests: everything, as a one-operator cluster
	ADMIN="permit $ME register *
permit $ME run-as *
permit $ME agent
permit $ME query
permit $ME view *
permit $ME weight"
	printf '%s\n' "$ADMIN" >"$TMP/acl"
	chmod 600 "$TMP/acl"
	start_daemon offerd offerd -d -v -w "$TMP/master" -P "$TMP/acl"
	# -A: this agent runs root tasks, so that the master's rules decide
	start_daemon agent1 agentd -d -v -k --allow-root-tasks -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 agents_registered 1
}
teardown() { dump_logs; teardown_daemons; pkill -f "marker-$$" || true; cleanup_tmp; }

# still_serving: the cluster answers and its agent is active.
still_serving() {
	[ "$(cluster-ctl -h -o active agents)" = yes ]
}

# acl_set RULES: the admin's rules and RULES become the ACL file; offerd
# is told with SIGHUP and has taken it (or refused it) when this returns.
acl_set() {
	local n
	n=$(grep -c "ACL rules from\|ACL file is not taken" "$TMP/offerd.log" || true)
	printf '%s\n%s\n' "$ADMIN" "$1" >"$TMP/acl"
	kill -HUP "$PID_offerd"
	wait_for 5 acl_taken "$n"
}
# acl_taken N: the log tells of more than N loads of the ACL file.
acl_taken() {
	[ "$(grep -c "ACL rules from\|ACL file is not taken" "$TMP/offerd.log")" -gt "$1" ]
}

# send_as WHO JSON: send one record as principal WHO; its answers in $output.
send_as() {
	run sh -c 'echo "$1" | cluster-ctl -C "$2" send --wait 500ms' - "$2" "$TMP/$1"
	echo "$1: $2 -> $output"
}

# forbidden_as WHO JSON: send_as, and the answer is an ERROR "forbidden".
forbidden_as() {
	send_as "$1" "$2"
	[[ "$output" == *'"code":"forbidden"'* ]]
}

@test "a role not permitted is refused and the framework is not listed" {
	principal bob
	acl_set "permit bob register analytics"
	forbidden_as bob '{"type":"SUBSCRIBE","name":"evil","role":"web"}'
	forbidden_as bob '{"type":"SUBSCRIBE","name":"evil"}'
	grep -q "refused SUBSCRIBE from principal bob: not permitted to register web" "$TMP/offerd.log"
	grep -q "refused SUBSCRIBE from principal bob: not permitted to register \*" "$TMP/offerd.log"
	[ -z "$(cluster-ctl -h -o name frameworks)" ]
	send_as bob '{"type":"SUBSCRIBE","name":"good","role":"analytics"}'
	[[ "$output" == *'"type":"SUBSCRIBED"'* ]]
	[ "$(cluster-ctl -h -o name,role frameworks)" = "good  analytics" ]
	still_serving
}

@test "run-as a user not permitted is refused and nothing runs; root only with a rule that names it" {
	acl_set "deny $ME run-as *
permit $ME run-as daemon"
	bridge_start fw
	bridge_accept fw "{\"task_id\":\"t1\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"sleep 30 # marker-$$\",\"user\":\"nobody\"}"
	bridge_wait fw '"code":"forbidden"'
	grep -q "refused ACCEPT from principal $ME: not permitted to run-as nobody" "$TMP/offerd.log"
	# "*" never meant root: refused too
	acl_set "permit $ME run-as *"
	bridge_accept fw "{\"task_id\":\"t2\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"sleep 30 # marker-$$\",\"user\":\"root\"}"
	wait_for 10 grep -q "not permitted to run-as root" "$TMP/offerd.log"
	bridge_accept fw "{\"task_id\":\"t3\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"sleep 30 # marker-$$\",\"user\":\"0\"}"
	wait_for 10 grep -q "not permitted to run-as 0" "$TMP/offerd.log"
	# the log line comes before the ERROR reaches the bridge's output
	wait_for 10 sh -c "[ \$(grep -c '\"code\":\"forbidden\"' '$TMP/fw.ev') -eq 3 ]"
	sleep 1
	[ -z "$(cluster-ctl -h -o task_id tasks)" ]
	no_process "marker-$$"
	# the refused offers went back: a permitted task runs as asked
	acl_set "permit $ME run-as root"
	bridge_accept fw '{"task_id":"t4","resources":"cpus:0.5;mem:64","argv":["id","-u"],"user":"root"}'
	bridge_wait fw '"task_id":"t4".*"state":"TASK_FINISHED"'
	[ "$(status_field fw t4 TASK_FINISHED exit_code)" = 0 ]
	still_serving
}

@test "without an ACL file, root is refused all the same; other users are not checked" {
	teardown_daemons
	export CLUSTER_MASTER="ipc://$TMP/m2.ipc"
	start_daemon offerd offerd -d -v -w "$TMP/m2"
	start_daemon agent2 agentd -d -v -k -w "$TMP/agent2" -R 'cpus:2;mem:1024' -g 1s
	wait_for 15 agents_registered 1
	grep -q "no ACL file" "$TMP/offerd.log"
	bridge_start fw
	bridge_accept fw "{\"task_id\":\"t1\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"sleep 30 # marker-$$\",\"user\":\"root\"}"
	bridge_wait fw '"code":"forbidden"'
	grep -q "refused ACCEPT from principal $ME: not permitted to run-as root" "$TMP/offerd.log"
	sleep 1
	[ -z "$(cluster-ctl -h -o task_id tasks)" ]
	no_process "marker-$$"
	bridge_accept fw '{"task_id":"t2","resources":"cpus:0.5;mem:64","argv":["id","-un"],"user":"nobody"}'
	bridge_wait fw '"task_id":"t2".*"state":"TASK_FINISHED"'
	# a name that is not one is refused as invalid before any rule
	bridge_accept fw '{"task_id":"t3","resources":"cpus:0.5;mem:64","argv":["true"],"user":"a b"}'
	bridge_wait fw '"code":"invalid"'
	[ "$(cluster-ctl -h -o task_id tasks)" = t2 ]
}

@test "an operator without 'query tasks' cannot list them; with it, it can, and sees only whose work it may view" {
	principal ops
	principal bob
	acl_set "permit ops query agents frameworks
permit bob register *
permit bob query tasks"
	bridge_start fw
	bridge_launch fw t1 "sleep 30 # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	run cluster-ctl -C "$TMP/ops" tasks
	[ "$status" -eq 1 ]
	[[ "$output" == *"principal ops may not query tasks"* ]]
	grep -q "refused QUERY from principal ops: not permitted to query tasks" "$TMP/offerd.log"
	# frameworks: listed, but not another principal's without view
	[ "$(cluster-ctl -C "$TMP/ops" -h -o name frameworks)" = "" ]
	acl_set "permit ops query
permit ops view $ME"
	[ "$(cluster-ctl -C "$TMP/ops" -h -o task_id tasks)" = t1 ]
	[ "$(cluster-ctl -C "$TMP/ops" -h -o name frameworks)" = fw ]
	# bob may list tasks, but sees his own only
	send_as bob '{"type":"SUBSCRIBE","name":"bobs","role":"web"}'
	[ "$(cluster-ctl -C "$TMP/bob" -h -o task_id tasks)" = "" ]
	[ "$(cluster-ctl -h -o task_id tasks)" = t1 ]
	still_serving
}

@test "kill and teardown of another principal's framework: refused without 'kill', done with it" {
	principal ops
	bridge_start fw
	fw=$(bridge_fw fw)
	bridge_launch fw t1 "sleep 30 # marker-$$"
	bridge_wait fw '"state":"TASK_RUNNING"'
	acl_set "permit ops query"
	forbidden_as ops "{\"type\":\"KILL\",\"framework_id\":\"$fw\",\"task_id\":\"t1\"}"
	forbidden_as ops "{\"type\":\"TEARDOWN\",\"framework_id\":\"$fw\"}"
	grep -q "refused TEARDOWN from principal ops: framework $fw belongs to $ME" "$TMP/offerd.log"
	[ "$(cluster-ctl -h -o state tasks)" = TASK_RUNNING ]
	pgrep -f "marker-$$" >/dev/null
	[ "$(cluster-ctl -h -o name frameworks)" = fw ]
	acl_set "permit ops kill $ME"
	send_as ops "{\"type\":\"KILL\",\"framework_id\":\"$fw\",\"task_id\":\"t1\"}"
	[[ "$output" != *'"type":"ERROR"'* ]]
	bridge_wait fw '"state":"TASK_KILLED"'
	grep -q "task t1 of $fw: kill asked by principal ops" "$TMP/offerd.log"
	# the framework still has its route: it is told, and keeps working
	bridge_launch fw t2 "sleep 30 # marker-$$"
	bridge_wait fw '"task_id":"t2".*"state":"TASK_RUNNING"'
	send_as ops "{\"type\":\"TEARDOWN\",\"framework_id\":\"$fw\"}"
	wait_for 10 test -z "$(cluster-ctl -h -o name frameworks)"
	wait_for 15 no_process "marker-$$"
	still_serving
}

@test "agents, weights: each needs its rule" {
	principal bob
	acl_set "permit bob weight analytics"
	forbidden_as bob '{"type":"REGISTER_AGENT","hostname":"evil","resources":"cpus:64"}'
	grep -q "refused REGISTER_AGENT from principal bob: not permitted to agent" "$TMP/offerd.log"
	[ "$(cluster-ctl -h -o hostname agents)" = host1 ]
	run cluster-ctl -C "$TMP/bob" weight web 3
	[ "$status" -eq 1 ]
	[[ "$output" == *"principal bob may not weight web"* ]]
	run cluster-ctl -C "$TMP/bob" weight analytics 3
	[ "$status" -eq 0 ]
	! grep -q "role web: weight" "$TMP/offerd.log" || false
	grep -q "role analytics: weight 3, set by bob" "$TMP/offerd.log"
	still_serving
}

@test "SIGHUP: a new rule is taken at once; a bad file is logged with its line and the old rules stay" {
	principal ops
	run cluster-ctl -C "$TMP/ops" agents
	[ "$status" -eq 1 ]
	acl_set "permit ops query agents"
	[ "$(cluster-ctl -C "$TMP/ops" -h -o hostname agents)" = host1 ]
	acl_set "permit ops query agents
permit ops frobnicate"
	grep -q "$TMP/acl:8: unknown action 'frobnicate'" "$TMP/offerd.log"
	grep -q "the ACL file is not taken: the 7 rules in force stay" "$TMP/offerd.log"
	[ "$(cluster-ctl -C "$TMP/ops" -h -o hostname agents)" = host1 ]
	chmod 666 "$TMP/acl"
	acl_set "permit ops query"
	grep -q "mode 0666 is too open" "$TMP/offerd.log"
	run cluster-ctl -C "$TMP/ops" tasks
	[ "$status" -eq 1 ]
	still_serving
}

@test "-P: a missing, too open or bad file stops offerd with 111 and FILE:LINE; -n checks it; the default is conf/acl" {
	teardown_daemons
	offerd_fails "ACL file $TMP/nothing: No such file" -P "$TMP/nothing"
	printf 'permit ops agent\npermit ops run-as ro/ot\n' >"$TMP/bad"
	chmod 644 "$TMP/bad"
	offerd_fails "$TMP/bad:2: 'ro/ot' is not a user nor *" -P "$TMP/bad"
	run offerd --check -P "$TMP/bad"
	[ "$status" -eq 111 ]
	[[ "$output" == *"$TMP/bad:2:"* ]]
	chmod 646 "$TMP/acl"
	run offerd --check -P "$TMP/acl"
	[ "$status" -eq 111 ]
	[[ "$output" == *"too open"* ]]
	chmod 644 "$TMP/acl"
	run offerd --check -P "$TMP/acl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"6 ACL rules"* ]]
	run offerd --check --insecure -P "$TMP/acl"
	[ "$status" -eq 100 ]
	# the credentials directory's acl is read when it exists
	cp "$TMP/bad" "$CLUSTER_CONF/acl"
	run offerd --check
	[ "$status" -eq 111 ]
	[[ "$output" == *"$CLUSTER_CONF/acl:2:"* ]]
	cp "$TMP/acl" "$CLUSTER_CONF/acl"
	export CLUSTER_MASTER="ipc://$TMP/m2.ipc"
	start_daemon offerd offerd -d -v -w "$TMP/m2"
	wait_for 5 grep -q "6 ACL rules from $CLUSTER_CONF/acl" "$TMP/offerd.log"
	start_daemon agent2 agentd -d -k -w "$TMP/agent2" -R 'cpus:1;mem:256' -g 1s
	wait_for 15 agents_registered 1
}

@test "history and task output are shown only to whom the ACL lets view their principal's work" {
	principal ops
	acl_set "permit ops query"
	run cluster-ctl run -N secret -- echo the-output
	[ "$status" -eq 0 ]
	tid=$(cluster-ctl -h -o task_id,name history | awk '$2 == "secret" {print $1}')
	fid=$(cluster-ctl -h -o framework_id,name history | awk '$2 == "secret" {print $1}')
	[ -n "$tid" ]
	# ops may query but not view root's work: its history is empty
	run cluster-ctl -C "$TMP/ops" -h -o name history
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# and the output is refused, and logged
	run cluster-ctl -C "$TMP/ops" logs --framework "$fid" "$tid"
	[ "$status" -ne 0 ]
	[[ "$output" != *the-output* ]]
	# with view, both
	acl_set "permit ops query
permit ops view $ME"
	run cluster-ctl -C "$TMP/ops" -h -o name history
	[ "$output" = secret ]
	run cluster-ctl -C "$TMP/ops" logs --framework "$fid" "$tid"
	[ "$status" -eq 0 ]
	[ "$output" = the-output ]
	grep -q "LOGS of task .* by principal ops: the ACL permits it" "$TMP/offerd.log"
	still_serving
}

# send_retry WHO JSON: send_as, tried again (twice) when cluster-ctl send
# gave up before its socket connected (a loaded machine).
send_retry() {
	local i
	for i in 1 2 3; do
		send_as "$1" "$2"
		[[ "$output" != *"cannot send to the master"* ]] && break
	done
}

@test "quota: a role not permitted is refused, forbidden, and nothing changes" {
	principal bob
	acl_set "permit bob quota analytics
permit bob query quota"
	run cluster-ctl -C "$TMP/bob" quota set -L cpus:1 web
	[ "$status" -eq 1 ]
	[[ "$output" == *"principal bob may not quota web"* ]]
	send_retry bob '{"type":"SET_QUOTA","role":"web","limit":"cpus:1"}'
	[[ "$output" == *'"code":"forbidden"'* ]]
	grep -q "refused SET_QUOTA from principal bob: not permitted to quota web" "$TMP/offerd.log"
	[ -z "$(cluster-ctl -C "$TMP/bob" -h quota)" ]
	run cluster-ctl -C "$TMP/bob" quota set -L cpus:1 analytics
	[ "$status" -eq 0 ]
	grep -q "role analytics: guarantee none, limit cpus:1, set by bob" "$TMP/offerd.log"
	[ "$(cluster-ctl -C "$TMP/bob" -h -o role quota)" = analytics ]
	! grep -q "role web: guarantee" "$TMP/offerd.log" || false
	still_serving
}

@test "reserve: a role not permitted is refused, forbidden, and nothing changes" {
	principal bob
	acl_set "permit bob reserve analytics"
	ag=$(cluster-ctl -h -o agent_id agents)
	send_retry bob "{\"type\":\"RESERVE\",\"agent_id\":\"$ag\",\"role\":\"web\",\"resources\":\"cpus:1\"}"
	[[ "$output" == *'"code":"forbidden"'* ]]
	grep -q "refused RESERVE from principal bob: not permitted to reserve web" "$TMP/offerd.log"
	[ "$(cluster-ctl -h -o resources agents)" = "cpus:2;mem:1024" ]
	run cluster-ctl -C "$TMP/bob" reserve "$ag" analytics cpus:1
	[ "$status" -eq 0 ]
	[ "$(cluster-ctl -h -o resources agents)" = "cpus:1;mem:1024;cpus(analytics):1" ]
	still_serving
}
