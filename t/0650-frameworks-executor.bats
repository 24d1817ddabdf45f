#!/usr/bin/env bats
# Executors (cluster-protocol(7), EXECUTORS; executor(3)): a framework's
# own long-lived worker on an agent runs many tasks, talks both ways, and
# its failures are reported; the example of executor(3) is the executor.

load helper

setup() {
	setup_tmp
	# the example of executor(3), compiled: the executor of these tests
	executor_example "$TMP/echo-exec"
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

@test "executor(3) is clean for mandoc and documents every function of the header" {
	man_documents executor.3 executor.h executor
}

# xtask ID DATA [EXECUTOR]: a task for the executor EXECUTOR (x1).
xtask() {
	echo "{\"task_id\":\"$1\",\"resources\":\"cpus:0.1;mem:16\",\"data\":\"$2\",\"executor\":{\"executor_id\":\"${3:-x1}\",\"command\":\"exec $TMP/echo-exec\",\"resources\":\"cpus:0.5;mem:64\"}}"
}

# state_is NAME TASK STATE: the latest state bridge NAME saw of TASK.
state_is() {
	[ "$(task_states "$1" "$2" | awk '{print $NF}')" = "$3" ]
}

@test "one executor runs several tasks, keeping state between them" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 hi),$(xtask t2 hi),$(xtask t3 hi)"
	wait_for 20 state_is fw t1 TASK_FINISHED
	wait_for 20 state_is fw t2 TASK_FINISHED
	wait_for 20 state_is fw t3 TASK_FINISHED
	# one process ran all three: its counter went to 3
	grep '"state":"TASK_FINISHED"' "$TMP/fw.ev" | grep -q '"message":"done=2"'
	[ "$(grep -c 'executor x1 of .*: started' "$TMP/agent1.log")" -eq 1 ]
	grep '"state":"TASK_FINISHED"' "$TMP/fw.ev" | grep -q '"executor_id":"x1"'
	# a fourth task later goes to the same executor
	bridge_accept fw "$(xtask t4 hi)"
	wait_for 20 state_is fw t4 TASK_FINISHED
	grep '"task_id":"t4"' "$TMP/fw.ev" | grep -q '"message":"done=4"'
}

@test "framework messages go both ways; one to no executor is dropped" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	aid=$(grep '"type":"STATUS"' "$TMP/fw.ev" | head -1 | jq -r .agent_id)
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"x1\",\"data\":\"ping\"}"
	bridge_wait fw '"data":"echo:ping"'
	grep '"data":"echo:ping"' "$TMP/fw.ev" | grep -q '"executor_id":"x1"'
	# to an executor the agent does not have: dropped, nothing else
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"nope\",\"data\":\"x\"}"
	# too long: refused with a code
	big=$(head -c 62000 /dev/zero | tr '\0' a)
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"x1\",\"data\":\"$big\"}"
	bridge_wait fw '"code":"malformed"'
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"x1\",\"data\":\"again\"}"
	bridge_wait fw '"data":"echo:again"'
}

@test "a kill of one task leaves the executor and its other task running" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep),$(xtask t2 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	wait_for 20 state_is fw t2 TASK_RUNNING
	bridge_send fw '{"type":"KILL","task_id":"t1"}'
	wait_for 20 state_is fw t1 TASK_KILLED
	sleep 1
	state_is fw t2 TASK_RUNNING
	bridge_accept fw "$(xtask t3 hi)"
	wait_for 20 state_is fw t3 TASK_FINISHED
}

@test "an executor that crashes fails its unfinished tasks and the framework is told" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	bridge_accept fw "$(xtask t2 crash)"
	wait_for 20 state_is fw t1 TASK_FAILED
	status_field fw t1 TASK_FAILED reason | grep -q 'executor x1 exited with status 3'
	bridge_wait fw '"type":"EXECUTOR_EXITED"'
	# its resources went back: the whole agent is offered again
	bridge_send fw '{"type":"REVIVE"}'
	bridge_wait fw '"resources":"cpus:2;mem:1024"' 20
}

@test "an executor that never registers is killed after the timeout" {
	start_daemon offerd offerd -d -v -w "$TMP/master"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R "cpus:2;mem:1024" -g 1s --executor-timeout 1s
	wait_for 15 agents_registered 1
	bridge_start fw
	bridge_accept fw '{"task_id":"t1","resources":"cpus:0.1;mem:16","executor":{"executor_id":"x1","command":"sleep 60","resources":"cpus:0.5;mem:64"}}'
	wait_for 20 state_is fw t1 TASK_FAILED
	status_field fw t1 TASK_FAILED reason | grep -q 'did not register in time'
	grep -q 'executor x1 of .*did not register in time: killed' "$TMP/agent1.log"
}

@test "a wrong secret and an unknown executor are refused with a code" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	ep="ipc://$(cat "$TMP/agent1/executor_dir")/x"
	fid=$(bridge_fw fw)
	run env CLUSTER_EXECUTOR_ENDPOINT="$ep" CLUSTER_EXECUTOR_ID=x1 \
	    CLUSTER_EXECUTOR_SECRET=wrong FRAMEWORK_ID="$fid" timeout 10 "$TMP/echo-exec"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "refused REGISTER_EXECUTOR from executor x1 of $fid: wrong secret" "$TMP/agent1.log"
	run env CLUSTER_EXECUTOR_ENDPOINT="$ep" CLUSTER_EXECUTOR_ID=x9 \
	    CLUSTER_EXECUTOR_SECRET=wrong FRAMEWORK_ID="$fid" timeout 10 "$TMP/echo-exec"
	grep -q "refused REGISTER_EXECUTOR from executor x9 of $fid: no such executor" "$TMP/agent1.log"
	# nothing changed: the real executor still serves
	bridge_accept fw "$(xtask t2 hi)"
	wait_for 20 state_is fw t2 TASK_FINISHED
	state_is fw t1 TASK_RUNNING
}

@test "agentd kill -9 and restart: the executor registers again, no task or update lost" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep),$(xtask t2 hi)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	wait_for 20 state_is fw t2 TASK_FINISHED
	xpid=$(pgrep -f "^$TMP/echo-exec")
	agent1_kill9
	agent1_restart
	wait_for 20 grep -q 'executor x1 of .*: registered' "$TMP/agent1b.log"
	grep -q 'recovered executor x1 of .*still running' "$TMP/agent1b.log"
	grep -q 'recovered task t1 of .*in executor x1' "$TMP/agent1b.log"
	# the same process, and it still takes tasks and messages
	[ "$(pgrep -f "^$TMP/echo-exec")" = "$xpid" ]
	bridge_accept fw "$(xtask t3 hi)"
	wait_for 20 state_is fw t3 TASK_FINISHED
	grep '"task_id":"t3"' "$TMP/fw.ev" | grep -q '"message":"done=2"'
	bridge_send fw '{"type":"KILL","task_id":"t1"}'
	wait_for 20 state_is fw t1 TASK_KILLED
	# no update lost (a resent one may come twice: at least once)
	[ "$(task_states fw t1 | tr ' ' '\n' | uniq | tr '\n' ' ')" = "TASK_STARTING TASK_RUNNING TASK_KILLED " ]
	[ "$(task_states fw t2 | tr ' ' '\n' | uniq | tr '\n' ' ')" = "TASK_STARTING TASK_RUNNING TASK_FINISHED " ]
}

@test "an executor that ended while agentd was down: its tasks end with how it ended" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	agent1_kill9
	pkill -KILL -f "^$TMP/echo-exec"
	agent1_restart
	# the launcher saw it killed: failed, not lost
	wait_for 30 state_is fw t1 TASK_FAILED
	status_field fw t1 TASK_FAILED reason | grep -q 'executor x1 was killed by signal 9'
}

@test "framework teardown kills the tasks and shuts the executor down" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep),$(xtask t2 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	wait_for 20 state_is fw t2 TASK_RUNNING
	fid=$(bridge_fw fw)
	bridge_send fw '{"type":"TEARDOWN"}'
	wait_for 20 no_process "^$TMP/echo-exec"
	wait_for 20 grep -q "executor x1 of $fid: shutdown" "$TMP/agent1.log"
	wait_for 20 grep -q "executor x1 of $fid: executor x1 exited with status 0" "$TMP/agent1.log"
	# its resources are the agent's again
	wait_for 20 sh -c '[ "$(cluster-ctl -h -o used agents | tr -d " ")" = "-" ]'
}

@test "offers, the listing and the DRF share count an executor's resources once" {
	start_cluster 1 3>&-
	bridge_start fw
	# the task cpus:0.1;mem:16 and its executor cpus:0.5;mem:64
	bridge_accept fw "$(xtask t1 sleep),$(xtask t2 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	# what is left is offered: 2 - 0.5 - 2 x 0.1 cpus, 1024 - 64 - 2 x 16 mem
	bridge_send fw '{"type":"REVIVE"}'
	bridge_wait fw '"resources":"cpus:1.3;mem:928"' 20
	run cluster-ctl -h -o executor_id,resources,tasks,state executors
	echo "$output"
	[ "$output" = "x1           cpus:0.5;mem:64  2      running" ] ||
	    [ "$(echo "$output" | tr -s ' ')" = "x1 cpus:0.5;mem:64 2 running" ]
	# the dominant share: (0.5 + 0.2) of 2 cpus, with the offer held
	share=$(cluster-ctl -o json frameworks | jq -r .share)
	echo "share $share"
	[ "$share" = "1" ] || [ "$share" = "1.0" ]
	# a new task in the same executor counts only its own
	offer=$(bridge_free_offer fw)
	echo "$offer" >>"$TMP/fw.used"
	bridge_send fw "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"refuse_seconds\":0,\"tasks\":[$(xtask t3 sleep)]}"
	wait_for 20 state_is fw t3 TASK_RUNNING
	[ "$(cluster-ctl -h -o used agents | tr -d ' ')" = "cpus:0.8;mem:112" ]
	# killed tasks give theirs back; the executor keeps its own
	for t in t1 t2 t3; do bridge_send fw "{\"type\":\"KILL\",\"task_id\":\"$t\"}"; done
	wait_for 20 state_is fw t3 TASK_KILLED
	wait_for 10 state_is fw t1 TASK_KILLED
	wait_for 10 state_is fw t2 TASK_KILLED
	[ "$(cluster-ctl -h -o used agents | tr -d ' ')" = "cpus:0.5;mem:64" ]
	[ "$(cluster-ctl -h -o tasks executors | tr -d ' ')" = "0" ]
}

@test "the allocator's DRF shares hold an executor's resources as offerd accounts them" {
	# what offerd sends drf-alloc for one ACCEPT of a task (cpus:1;mem:128)
	# in a new executor (cpus:1;mem:256) out of an offer of the whole
	# agent: RECOVER of the rest only; the executor's stay allocated
	run sh -c 'printf "%s\n" \
	    "{\"type\":\"AGENT_ADD\",\"agent_id\":\"a1\",\"resources\":\"cpus:4;mem:1024\"}" \
	    "{\"type\":\"FRAMEWORK_ADD\",\"framework_id\":\"A\"}" \
	    "{\"type\":\"ALLOCATE\"}" \
	    "{\"type\":\"RECOVER\",\"framework_id\":\"A\",\"agent_id\":\"a1\",\"resources\":\"cpus:2;mem:640\",\"refuse_seconds\":3600}" \
	    "{\"type\":\"SHARES_QUERY\"}" | drf-alloc --clock manual'
	echo "$output"
	[ "$status" -eq 0 ]
	echo "$output" | grep '"type":"SHARES"' | jq -e '.frameworks[0].dominant == 0.5'
	echo "$output" | grep '"type":"SHARES"' | jq -e '.frameworks[0].allocated == "cpus:2;mem:384"'
}

@test "cluster-ctl executor: an executor in sh speaking JSON lines" {
	start_cluster 1 3>&-
	cat >"$TMP/sh-exec" <<'EOS'
#!/bin/sh
# each task finishes with its data upper-cased; messages are answered
"$CTL" executor <"$1/x.in" | while read -r line; do
	case $line in
	*'"type":"LAUNCH_TASK"'*)
		t=$(echo "$line" | jq -r .task.task_id)
		d=$(echo "$line" | jq -r .task.data | tr a-z A-Z)
		echo "{\"type\":\"STATUS\",\"task_id\":\"$t\",\"state\":\"TASK_FINISHED\",\"message\":\"$d\"}" >&3 ;;
	*'"type":"FRAMEWORK_MESSAGE"'*)
		echo "{\"type\":\"FRAMEWORK_MESSAGE\",\"data\":\"sh got $(echo "$line" | jq -r .data)\"}" >&3 ;;
	*'"type":"SHUTDOWN"'*)
		exit 0 ;;
	esac
done 3>"$1/x.in"
EOS
	chmod 755 "$TMP/sh-exec"
	bridge_start fw
	# in its sandbox, its working directory; cluster-ctl named by $CTL
	x='"executor":{"executor_id":"sh","command":"mkfifo x.in && exec '"$TMP"'/sh-exec $PWD","resources":"cpus:0.2;mem:32","env":{"CTL":"'"$TOP/build/bin/cluster-ctl"'"}}'
	bridge_accept fw "{\"task_id\":\"s1\",\"resources\":\"cpus:0.1;mem:16\",\"data\":\"abc\",$x}"
	wait_for 20 state_is fw s1 TASK_FINISHED
	status_field fw s1 TASK_FINISHED message | grep -qx ABC
	aid=$(grep '"type":"STATUS"' "$TMP/fw.ev" | head -1 | jq -r .agent_id)
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"sh\",\"data\":\"hi\"}"
	bridge_wait fw '"data":"sh got hi"'
}

@test "a master restart learns the executor again from its agent" {
	start_cluster 1 3>&-
	bridge_start fw -F 60s
	bridge_accept fw "$(xtask t1 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	kill -9 "$PID_offerd"
	start_daemon offerd2 offerd -d -v -w "$TMP/master"
	wait_for 20 agents_registered 1
	wait_for 20 sh -c '[ "$(cluster-ctl -h -o executor_id executors | tr -d " ")" = x1 ]'
	[ "$(cluster-ctl -h -o used agents | tr -d ' ')" = "cpus:0.6;mem:80" ]
}

@test "examples/shell-executor: tasks in one sh executor share its sandbox" {
	start_cluster 1 3>&-
	bridge_start fw
	x='"executor":{"executor_id":"sh","command":"exec '"$TOP"'/examples/shell-executor/shell-executor","resources":"cpus:0.2;mem:32","env":{"CTL":"'"$TOP/build/bin/cluster-ctl"'"}}'
	bridge_accept fw "{\"task_id\":\"s1\",\"resources\":\"cpus:0.1;mem:16\",\"data\":\"echo one >>kept; wc -l <kept\",$x}"
	wait_for 20 state_is fw s1 TASK_FINISHED
	bridge_accept fw "{\"task_id\":\"s2\",\"resources\":\"cpus:0.1;mem:16\",\"data\":\"echo two >>kept; wc -l <kept\",$x}"
	wait_for 20 state_is fw s2 TASK_FINISHED
	[ "$(status_field fw s2 TASK_FINISHED message)" = 2 ]
	bridge_accept fw "{\"task_id\":\"s3\",\"resources\":\"cpus:0.1;mem:16\",\"data\":\"exit 4\",$x}"
	wait_for 20 state_is fw s3 TASK_FAILED
	[ "$(status_field fw s3 TASK_FAILED reason)" = "exit status 4" ]
	aid=$(grep '"type":"STATUS"' "$TMP/fw.ev" | head -1 | jq -r .agent_id)
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"sh\",\"data\":\"paste -sd+ kept\"}"
	bridge_wait fw '"data":"one+two"'
}

@test "examples/wordcount: map outputs stay in the executors, reduces fetch them by framework messages" {
	start_cluster 2 3>&-
	mkdir -m 755 "$TMP/in"
	for i in 1 2 3 4 5; do
		seq 1 $((i * 40)) | sed 's/$/ apple pear/' >"$TMP/in/f$i"
	done
	chmod 644 "$TMP/in"/*
	run timeout 90 "$TOP/build/examples/wordcount/wordcount" -r 3 "$TMP"/in/f*
	echo "$output" | head -5
	[ "$status" -eq 0 ]
	want=$(cat "$TMP"/in/f* | tr ' ' '\n' | grep -v '^$' | sort | uniq -c |
	    awk '{ print $2, $1 }' | sort)
	[ "$(echo "$output" | sort)" = "$want" ]
	# one executor per agent that ran maps, at most: never one per task
	[ "$(grep -h 'executor wc of .*: started' "$TMP"/agent*.log | wc -l)" -le 2 ]
}

@test "an executor that cannot start fails its task and its resources go back" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw '{"task_id":"t1","resources":"cpus:0.1;mem:16","user":"no-such-user-x","executor":{"executor_id":"x1","command":"true","resources":"cpus:0.5;mem:64","user":"no-such-user-x"}}'
	wait_for 20 state_is fw t1 TASK_FAILED
	bridge_wait fw '"type":"EXECUTOR_EXITED"'
	wait_for 10 sh -c '[ -z "$(cluster-ctl -h executors)" ]'
	# nothing used: an empty resource list shows as -
	[ "$(cluster-ctl -h -o used agents | tr -d ' ')" = "-" ]
}

@test "after an agentd restart, a running executor that does not register again is killed" {
	start_cluster 1 3>&-
	bridge_start fw
	bridge_accept fw "$(xtask t1 sleep)"
	wait_for 20 state_is fw t1 TASK_RUNNING
	xpid=$(pgrep -f "^$TMP/echo-exec")
	agent1_kill9
	kill -STOP "$xpid"	# alive, but silent
	agent1_restart
	wait_for 30 state_is fw t1 TASK_FAILED
	status_field fw t1 TASK_FAILED reason | grep -q 'did not register in time'
	wait_for 10 no_process "^$TMP/echo-exec"
}
