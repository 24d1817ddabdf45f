#!/usr/bin/env bats
# Who a task runs as (agentd -U, --allow-root-tasks; agentd(8), TASK USER): a task naming
# no user runs as nobody when agentd is root, in a sandbox that it owns
# and that is all it sees of the work dir; uid 0 needs agentd --allow-root-tasks; a user
# the agent cannot run as is TASK_ERROR with a reason, and the agent keeps
# serving after every refusal.

load helper

setup() {
	setup_tmp
	[ "$(id -u)" -eq 0 ] || skip "needs root (tasks switch user)"
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# start_agent [AGENTD FLAGS]: offerd and one agent with those flags.  The
# master's ACL lets every principal run tasks as root, so that what is
# shown here is the agent's own check (cluster-acl(5) has the master's).
start_agent() {
	printf '%s\n' 'permit * register *' 'permit * run-as *' \
	    'permit * run-as root' 'permit * run-as 0' 'permit * agent' \
	    'permit * query' 'permit * view *' >"$TMP/acl"
	chmod 600 "$TMP/acl"
	start_daemon offerd offerd -d -v -w "$TMP/master" -P "$TMP/acl"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 1s "$@"
	wait_for 15 agents_registered 1
	bridge_start fw
}

# launch TASK COMMAND [USER]: launch TASK running sh -c COMMAND as USER.
launch() {
	bridge_accept fw "{\"task_id\":\"$1\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"$2\"${3:+,\"user\":\"$3\"}}"
}

# ended TASK: wait until TASK ended; print its states.
ended() {
	wait_for 15 grep -q "\"task_id\":\"$1\".*\"state\":\"TASK_\(FINISHED\|FAILED\|KILLED\|ERROR\|LOST\)\"" "$TMP/fw.ev"
	task_states fw "$1"
}

# sandbox_of TASK: the sandbox TASK ran in.
sandbox_of() {
	status_field fw "$1" TASK_FINISHED sandbox
}

# still_serving: the agent is registered and runs a task to its end.
still_serving() {
	local n=ok$RANDOM
	agents_registered 1
	launch "$n" 'true'
	[ "$(ended "$n")" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
}

@test "a task naming no user runs as nobody, in a sandbox that nobody owns" {
	start_agent
	launch who 'id -u; id -g'
	[ "$(ended who)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	sb=$(sandbox_of who)
	[ "$(sed -n 1p "$sb/stdout")" = "$(id -u nobody)" ]
	[ "$(sed -n 2p "$sb/stdout")" = "$(id -g nobody)" ]
	[ "$(stat -c %U "$sb")" = nobody ]
	# nothing above the sandbox is the task's
	[ "$(stat -c %U "$(dirname "$sb")")" = root ]
	[ "$(stat -c %U "$TMP/agent1")" = root ]
}

@test "a task writes its own sandbox, not the work dir nor another task's sandbox" {
	start_agent
	launch first 'echo mine >kept; sleep 30'
	bridge_wait fw '"task_id":"first".*"state":"TASK_RUNNING"'
	other=$(status_field fw first TASK_RUNNING sandbox)
	launch second "echo own >\$SANDBOX/own && echo wrote-own; \
echo x >$other/evil && echo wrote-other; \
echo x >$TMP/agent1/evil && echo wrote-work; \
echo x >$TMP/agent1/tasks/evil && echo wrote-tasks; \
rm $TMP/agent1/agent_id && echo removed-id; ls $TMP/agent1; true"
	[ "$(ended second)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	sb=$(sandbox_of second)
	cat "$sb/stdout" "$sb/stderr"
	[ "$(cat "$sb/own")" = own ]
	grep -qx wrote-own "$sb/stdout"
	! grep -q 'wrote-other\|wrote-work\|wrote-tasks\|removed-id' "$sb/stdout" || false
	# of the work dir the task saw only the way to its own sandbox
	grep -qx tasks "$sb/stdout"
	! grep -q 'agent_id\|lock' "$sb/stdout" || false
	[ ! -e "$other/evil" ]
	[ ! -e "$TMP/agent1/evil" ]
	[ ! -e "$TMP/agent1/tasks/evil" ]
	[ -f "$TMP/agent1/agent_id" ]
	[ "$(cat "$other/kept")" = mine ]
	still_serving
}

@test "agentd -U names the user of a task naming none; a task's own user wins" {
	start_agent -U daemon
	launch who 'id -un'
	[ "$(ended who)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	[ "$(cat "$(sandbox_of who)/stdout")" = daemon ]
	[ "$(stat -c %U "$(sandbox_of who)")" = daemon ]
	launch named 'id -un' nobody
	[ "$(ended named)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	[ "$(cat "$(sandbox_of named)/stdout")" = nobody ]
}

@test "a task naming root (or uid 0) is TASK_ERROR without -A; the agent keeps serving" {
	start_agent
	launch asroot 'touch /tmp/cluster-root-ran-$$' root
	[ "$(ended asroot)" = "TASK_ERROR " ]
	[[ "$(status_field fw asroot TASK_ERROR reason)" == *"uid 0"*"-A"* ]]
	launch asuid0 'true' 0
	[ "$(ended asuid0)" = "TASK_ERROR " ]
	[[ "$(status_field fw asuid0 TASK_ERROR reason)" == *"uid 0"* ]]
	[ ! -e "/tmp/cluster-root-ran-$$" ]
	grep -q "task asroot of .* refused: user 'root' is uid 0" "$TMP/agent1.log"
	# refused before anything ran: no sandbox, no launcher
	[ ! -e "$TMP/agent1/tasks/$(bridge_fw fw)/asroot/sandbox" ]
	[ ! -e "$TMP/agent1/tasks/$(bridge_fw fw)/asroot/launcher.pid" ]
	still_serving
}

@test "with agentd --allow-root-tasks a task naming root runs as root" {
	start_agent --allow-root-tasks
	launch asroot 'id -u' root
	[ "$(ended asroot)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	[ "$(cat "$(sandbox_of asroot)/stdout")" = 0 ]
	# -A allows root; it does not make root the default
	launch who 'id -u'
	[ "$(ended who)" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
	[ "$(cat "$(sandbox_of who)/stdout")" = "$(id -u nobody)" ]
}

@test "an unknown user is TASK_ERROR with a reason; the agent keeps serving" {
	start_agent
	launch ghost 'true' no-such-user-x
	[ "$(ended ghost)" = "TASK_ERROR " ]
	[[ "$(status_field fw ghost TASK_ERROR reason)" == *"unknown user 'no-such-user-x'"* ]]
	still_serving
}

@test "agentd refuses a task user that does not exist, or is root without -A (100)" {
	run agentd -d -w "$TMP/a" -U no-such-user-x
	[ "$status" -eq 100 ]
	[[ "$output" == *"task user 'no-such-user-x': no such user"* ]]
	run agentd -d -w "$TMP/a" --task-user root
	[ "$status" -eq 100 ]
	[[ "$output" == *"uid 0"*"-A"* ]]
	[ ! -e "$TMP/a/agent_id" ]
}

@test "an agentd that is not root runs a task naming no user as its own user" {
	mkdir -p "$TMP/d"
	chown daemon "$TMP/d"
	# exec'd, not a function: start_daemon's pid is the daemon's
	AS_DAEMON=(setpriv --reuid=daemon --regid="$(id -g daemon)" --init-groups --
	    env CLUSTER_CONF="$TMP/d/conf" CLUSTER_MASTER="ipc://$TMP/d/m.ipc")
	start_daemon offerd "${AS_DAEMON[@]}" offerd -d -w "$TMP/d/master"
	wait_for 10 test -S "$TMP/d/m.ipc"
	start_daemon agent1 "${AS_DAEMON[@]}" agentd -d -v -k -w "$TMP/d/agent" \
	    -R 'cpus:1;mem:256' -g 1s
	wait_for 15 eval '[ "$("${AS_DAEMON[@]}" cluster-ctl -h -o active agents 2>/dev/null)" = yes ]'
	run "${AS_DAEMON[@]}" cluster-ctl run -- id -un
	[ "$status" -eq 0 ]
	sb=$(echo "$output" | sed -n 's/.*sandbox=\([^ ]*\).*/\1/p' | tail -1)
	[ "$(cat "$sb/stdout")" = daemon ]
	# a root task user is refused at start without -A, even so
	run "${AS_DAEMON[@]}" agentd -d -w "$TMP/d/a2" -U root
	[ "$status" -eq 100 ]
}
