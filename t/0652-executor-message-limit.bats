#!/usr/bin/env bats
# FRAMEWORK_MESSAGE's limit (cluster-protocol(7), FRAMEWORK_MESSAGE;
# executor(3); PROTO_MESSAGE_MAX): data of 61440 bytes passes from the
# scheduler to the executor and back; one byte more is answered
# "malformed" by the master (from a scheduler) and by agentd (from an
# executor), refused by executor(3) before it is sent, and reaches no
# one; the daemons keep serving.

load helper

MAX=61440
RAW=$TOP/build/test/exec-raw

setup() {
	setup_tmp
	mkdir -m 777 "$TMP/raw"
	# an executor in sh (cluster-ctl executor): a message "size:N" is
	# answered with N bytes, "raw:N" sends N bytes past executor(3)
	# (exec-raw, its answers in raw/N), any other with its length
	cat >"$TMP/sh-exec" <<'EOS'
#!/bin/sh
"$CTL" executor <"$1/x.in" | while read -r line; do
	case $line in
	*'"type":"LAUNCH_TASK"'*)
		t=$(echo "$line" | jq -r .task.task_id)
		echo "{\"type\":\"STATUS\",\"task_id\":\"$t\",\"state\":\"TASK_RUNNING\"}" >&3 ;;
	*'"type":"FRAMEWORK_MESSAGE"'*)
		d=$(echo "$line" | jq -r .data)
		case $d in
		size:*)
			b=$(head -c "${d#size:}" /dev/zero | tr '\0' b)
			echo "{\"type\":\"FRAMEWORK_MESSAGE\",\"data\":\"$b\"}" >&3 ;;
		raw:*)
			"$RAW" "${d#raw:}" >"$OUT/tmp"
			mv "$OUT/tmp" "$OUT/${d#raw:}" ;;
		*)
			echo "{\"type\":\"FRAMEWORK_MESSAGE\",\"data\":\"len=${#d}\"}" >&3 ;;
		esac ;;
	*'"type":"SHUTDOWN"'*)
		exit 0 ;;
	esac
done 3>"$1/x.in"
EOS
	chmod 755 "$TMP/sh-exec"
}
teardown() {
	dump_logs
	[ -f "$TMP/fw.ev" ] && cut -c1-200 "$TMP/fw.ev" | tail -12
	grep -rs . "$TMP/agent1" --include=stderr | cut -c1-300 | tail -5
	ls -l "$TMP/raw"
	pgrep -af "exec-raw|sh-exec|cluster-ctl executor" || true
	teardown_daemons
	cleanup_tmp
}

# say TEXT: a FRAMEWORK_MESSAGE from the scheduler to the executor.
say() {
	bridge_send fw "{\"type\":\"FRAMEWORK_MESSAGE\",\"agent_id\":\"$aid\",\"executor_id\":\"sh\",\"data\":\"$1\"}"
}

# raw LENGTH: have the executor send LENGTH bytes past executor(3), and
# wait until that sender has ended and the executor's next heartbeat has
# taken the agent's route to it back (the sender proved the executor's
# secret, so the agent answered it as the executor meanwhile).
raw() {
	say "raw:$1"
	wait_for 15 test -f "$TMP/raw/$1"
	sleep 1
}

# heard LENGTH: how many messages of data of LENGTH bytes the scheduler got.
heard() {
	grep '"type":"FRAMEWORK_MESSAGE"' "$TMP/fw.ev" |
	    jq -r '.data | length' | grep -cx "$1" || true
}

# ping: send "ping" and wait 2 s for its answer.
ping() {
	say ping
	wait_for 2 grep -q '"data":"len=4"' "$TMP/fw.ev"
}

@test "FRAMEWORK_MESSAGE: 60 KiB of data pass both ways, one byte more is refused 'malformed' by master and agent, and both keep serving" {
	start_cluster 1 3>&-
	bridge_start fw
	x='"executor":{"executor_id":"sh","command":"mkfifo x.in && exec '"$TMP"'/sh-exec $PWD","resources":"cpus:0.2;mem:32","env":{"CTL":"'"$TOP/build/bin/cluster-ctl"'","RAW":"'"$RAW"'","OUT":"'"$TMP"'/raw"}}'
	bridge_accept fw "{\"task_id\":\"s1\",\"resources\":\"cpus:0.1;mem:16\",$x}"
	bridge_wait fw '"state":"TASK_RUNNING"' 20
	aid=$(grep '"type":"STATUS"' "$TMP/fw.ev" | head -1 | jq -r .agent_id)
	# scheduler to executor: the limit passes
	say "$(head -c $MAX /dev/zero | tr '\0' a)"
	bridge_wait fw "\"data\":\"len=$MAX\""
	# executor to scheduler: the limit passes, through executor(3) and raw
	say "size:$MAX"
	wait_for 15 sh -c "[ \"\$(grep '\"type\":\"FRAMEWORK_MESSAGE\"' '$TMP/fw.ev' | jq -r '.data | length' | grep -cx $MAX)\" -ge 1 ]"
	raw $MAX
	wait_for 15 sh -c "[ \"\$(grep '\"type\":\"FRAMEWORK_MESSAGE\"' '$TMP/fw.ev' | jq -r '.data | length' | grep -cx $MAX)\" -ge 2 ]"
	[ "$(heard $MAX)" -eq 2 ]
	[ ! -s "$TMP/raw/$MAX" ]
	# one byte more from the scheduler: the master answers malformed
	say "$(head -c $((MAX + 1)) /dev/zero | tr '\0' a)"
	bridge_wait fw '"code":"malformed"'
	grep '"code":"malformed"' "$TMP/fw.ev" | grep -q "at most $MAX bytes"
	# one byte more from executor(3): not sent, said on its stderr
	say "size:$((MAX + 1))"
	wait_for 10 grep -rqs "FRAMEWORK_MESSAGE needs data of at most $MAX bytes" "$TMP/agent1"
	# one byte more past it: agentd answers malformed and logs it
	raw $((MAX + 1))
	grep -q '"code":"malformed"' "$TMP/raw/$((MAX + 1))"
	jq -r .type "$TMP/raw/$((MAX + 1))" | grep -qx ERROR
	grep -q "refused FRAMEWORK_MESSAGE from executor sh of .*: data missing or longer than $MAX bytes" "$TMP/agent1.log"
	# none of the three went on, and both daemons still serve
	# (messages are best effort: one may be lost while a connection
	# changes, so the ping is sent until it is answered)
	wait_for 20 ping
	[ "$(heard $((MAX + 1)))" -eq 0 ]
	[ -z "$(grep -o "len=$((MAX + 1))" "$TMP/fw.ev")" ]
	[ "$(grep -c '"code":"malformed"' "$TMP/fw.ev")" -eq 1 ]
	say "size:3"
	bridge_wait fw '"data":"bbb"'
	[ "$(cluster-ctl -h -o state tasks)" = TASK_RUNNING ]
	agents_registered 1
}
