#!/usr/bin/env bats
# Shared state (cluster-protocol(7), SHARED STATE): frameworks subscribed
# with mode optimistic see every agent's free resources (FREE, with
# versions) and launch by COMMIT, checked by offerd against its one
# ledger.  Races between optimistic frameworks give each resource to one;
# a gang is all or nothing; a stale transaction is refused with its
# conflict; offers and transactions share agents with nothing given twice.

load helper

setup() {
	setup_tmp
	start_cluster 2
	A1=$(cluster-ctl -h -o agent_id,hostname agents | awk '$2 == "host1" { print $1 }')
	A2=$(cluster-ctl -h -o agent_id,hostname agents | awk '$2 == "host2" { print $1 }')
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# view NAME AGENT FIELD: FIELD of AGENT's newest entry in NAME's FREE records.
view() {
	grep '"type":"FREE"' "$TMP/$1.ev" | jq -r ".agents[] | select(.agent_id == \"$2\") | .$3" | tail -1
}

# committed NAME TX FIELD: FIELD of the COMMITTED answer to transaction TX.
committed() {
	grep '"type":"COMMITTED"' "$TMP/$1.ev" | jq -c "select(.transaction_id == \"$2\") | .$3" | tail -1
}

# task JSON for TASK_ID on AGENT with RES running COMMAND (extra fields: $5).
task() {
	echo "{\"task_id\":\"$1\",\"agent_id\":\"$2\",\"resources\":\"$3\",\"command\":\"$4\"${5:+,$5}}"
}

# commit NAME TX TASKS [extra fields]: send a COMMIT and wait for its answer.
commit() {
	bridge_send "$1" "{\"type\":\"COMMIT\",\"transaction_id\":\"$2\",\"tasks\":[$3]${4:+,$4}}"
	bridge_wait "$1" "\"type\":\"COMMITTED\".*\"transaction_id\":\"$2\""
}

# running_tasks: the running tasks of the cluster, one "agent cpus" line each.
running_cpus() {
	cluster-ctl -o agent_id,resources,state tasks 2>/dev/null |
	    awk '$3 == "TASK_RUNNING" || $3 == "TASK_STARTING" || $3 == "TASK_STAGING" {
		n = split($2, r, ";"); for (i = 1; i <= n; i++) if (r[i] ~ /^cpus:/) { sub("cpus:", "", r[i]); print $1, r[i] } }'
}

@test "an optimistic framework sees every agent, launches by COMMIT, and is offered nothing" {
	bridge_start opt -O
	bridge_wait opt '"type":"FREE".*"complete":true'
	[ "$(view opt "$A1" free)" = "cpus:2;mem:1024" ]
	[ "$(view opt "$A2" state)" = active ]
	v1=$(view opt "$A1" version)
	commit opt tx1 "$(task t1 "$A1" 'cpus:1;mem:128' 'sleep 30')"
	[ "$(committed opt tx1 outcome)" = '"committed"' ]
	[ "$(committed opt tx1 launched)" = '["t1"]' ]
	bridge_wait opt '"task_id":"t1".*"TASK_RUNNING"'
	# the change comes as a FREE record with a newer version
	wait_for 10 sh -c "[ \"\$(grep '\"type\":\"FREE\"' '$TMP/opt.ev' | jq -r '.agents[] | select(.agent_id == \"$A1\") | .free' | tail -1)\" = 'cpus:1;mem:896' ]"
	[ "$(view opt "$A1" version)" -gt "$v1" ]
	sleep 1
	[ "$(bridge_count opt '"type":"OFFER"')" -eq 0 ]
	# offers are not its way: SUPPRESS and REVIVE are refused
	bridge_send opt '{"type":"REVIVE"}'
	bridge_wait opt '"type":"ERROR".*"code":"invalid"'
	grep -q 'transaction tx1 of .*: 1 of 1 tasks launched, 0 conflicts' "$TMP/offerd.log"
}

@test "two optimistic frameworks race for the same resources: each goes to exactly one" {
	bridge_start red -O
	bridge_start blue -O
	bridge_wait red '"complete":true'
	bridge_wait blue '"complete":true'
	# both ask for all of agent 1 and half of agent 2, sent together
	bridge_send red "{\"type\":\"COMMIT\",\"transaction_id\":\"r1\",\"tasks\":[$(task r-a "$A1" 'cpus:2;mem:512' 'sleep 30'),$(task r-b "$A2" 'cpus:1;mem:256' 'sleep 30')]}"
	bridge_send blue "{\"type\":\"COMMIT\",\"transaction_id\":\"b1\",\"tasks\":[$(task b-a "$A1" 'cpus:2;mem:512' 'sleep 30'),$(task b-b "$A2" 'cpus:1;mem:256' 'sleep 30')]}"
	bridge_wait red '"transaction_id":"r1"'
	bridge_wait blue '"transaction_id":"b1"'
	outcomes="$(committed red r1 outcome) $(committed blue b1 outcome)"
	echo "$outcomes"
	[ "$outcomes" = '"committed" "aborted"' ] || [ "$outcomes" = '"aborted" "committed"' ]
	# the loser is told which task conflicted, where and why
	loser=blue; tx=b1
	[ "$(committed red r1 outcome)" = '"aborted"' ] && { loser=red; tx=r1; }
	[ "$(committed $loser $tx 'conflicts[0].reason')" = '"resources"' ]
	[ "$(committed $loser $tx 'conflicts[0].agent_id')" = "\"$A1\"" ]
	[ "$(committed $loser $tx launched)" = '[]' ]
	# agent 2 still has a cpu free: incremental commits of one cpu each,
	# twice from both, launch exactly one task in all
	bridge_send red "{\"type\":\"COMMIT\",\"transaction_id\":\"r2\",\"incremental\":true,\"tasks\":[$(task r-c "$A2" 'cpus:1;mem:64' 'sleep 30'),$(task r-d "$A2" 'cpus:1;mem:64' 'sleep 30')]}"
	bridge_send blue "{\"type\":\"COMMIT\",\"transaction_id\":\"b2\",\"incremental\":true,\"tasks\":[$(task b-c "$A2" 'cpus:1;mem:64' 'sleep 30'),$(task b-d "$A2" 'cpus:1;mem:64' 'sleep 30')]}"
	bridge_wait red '"transaction_id":"r2"'
	bridge_wait blue '"transaction_id":"b2"'
	n=$(( $(committed red r2 launched | jq length) + $(committed blue b2 launched | jq length) ))
	[ "$n" -eq 1 ]
	wait_for 10 sh -c "[ \$(cluster-ctl -h -o state tasks | grep -c TASK_RUNNING) -eq 3 ]"
}

@test "an all-or-nothing gang never starts in part; incremental launches what fits" {
	bridge_start opt -O
	bridge_wait opt '"complete":true'
	commit opt hold "$(task hold "$A2" 'cpus:1;mem:64' 'sleep 30')"
	gang="$(task g1 "$A1" 'cpus:1;mem:64' 'sleep 30'),$(task g2 "$A1" 'cpus:1;mem:64' 'sleep 30'),$(task g3 "$A2" 'cpus:1;mem:64' 'sleep 30'),$(task g4 "$A2" 'cpus:1;mem:64' 'sleep 30')"
	commit opt gang "$gang"
	[ "$(committed opt gang outcome)" = '"aborted"' ]
	[ "$(committed opt gang launched)" = '[]' ]
	[ "$(committed opt gang 'conflicts | map(.task_id)')" = '["g4"]' ]
	sleep 1
	! cluster-ctl -h -o task_id tasks | grep -q '^g' || false
	[ "$(bridge_count opt '"task_id":"g[1-4]".*"type":"STATUS"\|"type":"STATUS".*"task_id":"g[1-4]"')" -eq 0 ]
	# the same tasks, incremental: three launch
	gang=$(echo "$gang" | sed 's/"task_id":"g/"task_id":"i/g')
	commit opt inc "$gang" '"incremental":true'
	[ "$(committed opt inc outcome)" = '"partial"' ]
	[ "$(committed opt inc launched)" = '["i1","i2","i3"]' ]
	wait_for 10 sh -c "[ \$(cluster-ctl -h -o task_id,state tasks | grep -c '^i[1-3] *TASK_RUNNING') -eq 3 ]"
}

@test "a stale transaction is refused with its conflict at agent granularity; resource granularity takes it while it fits" {
	bridge_start opt -O
	bridge_wait opt '"complete":true'
	v=$(view opt "$A1" version)
	commit opt first "$(task f1 "$A1" 'cpus:0.5;mem:64' 'sleep 30')"
	[ "$(committed opt first outcome)" = '"committed"' ]
	# the framework still names the version it saw before its own launch
	commit opt stale "$(task s1 "$A1" 'cpus:0.5;mem:64' 'sleep 30' "\"version\":$v")" '"granularity":"agent"'
	[ "$(committed opt stale outcome)" = '"aborted"' ]
	[ "$(committed opt stale 'conflicts[0].reason')" = '"version"' ]
	# at the version it has now, or per resource, the same task fits
	wait_for 10 sh -c "[ \"\$(grep '\"type\":\"FREE\"' '$TMP/opt.ev' | jq -r '.agents[] | select(.agent_id == \"$A1\") | .version' | tail -1)\" != '$v' ]"
	now=$(view opt "$A1" version)
	commit opt fresh "$(task s1 "$A1" 'cpus:0.5;mem:64' 'sleep 30' "\"version\":$now")" '"granularity":"agent"'
	[ "$(committed opt fresh outcome)" = '"committed"' ]
	commit opt fine "$(task s2 "$A1" 'cpus:0.5;mem:64' 'sleep 30' "\"version\":$v")"
	[ "$(committed opt fine outcome)" = '"committed"' ]
	# more than is free is a conflict either way
	commit opt big "$(task s3 "$A1" 'cpus:1;mem:64' 'sleep 30')"
	[ "$(committed opt big 'conflicts[0].reason')" = '"resources"' ]
}

@test "bad transactions are ERRORs that launch nothing; a drained agent and a quota limit are conflicts" {
	bridge_start opt -O -r batch
	bridge_wait opt '"complete":true'
	commit opt ok "$(task ok "$A1" 'cpus:0.5;mem:64' 'sleep 30')"
	n=$(cluster-ctl -h -o task_id tasks | wc -l)
	# malformed or invalid: an ERROR, nothing launched, the master serves on
	bridge_send opt '{"type":"COMMIT","transaction_id":"x1"}'
	bridge_wait opt '"type":"ERROR".*"code":"malformed"'
	bridge_send opt "{\"type\":\"COMMIT\",\"transaction_id\":\"x2\",\"tasks\":[$(task b1 "$A1" 'cpus:0.5;mem:64' 'true'),$(task b1 "$A2" 'cpus:0.5;mem:64' 'true')]}"
	bridge_wait opt '"type":"ERROR".*given twice'
	bridge_send opt "{\"type\":\"COMMIT\",\"transaction_id\":\"x3\",\"granularity\":\"agent\",\"tasks\":[$(task b2 "$A1" 'cpus:0.5;mem:64' 'true')]}"
	bridge_wait opt '"type":"ERROR".*needs the agent.s version'
	bridge_send opt "{\"type\":\"COMMIT\",\"transaction_id\":\"x4\",\"tasks\":[{\"task_id\":\"b3\",\"resources\":\"cpus:1\",\"command\":\"true\"}]}"
	bridge_wait opt '"type":"ERROR".*no agent_id'
	bridge_send opt "{\"type\":\"COMMIT\",\"transaction_id\":\"x5\",\"tasks\":[$(task b4 "$A1" 'cpus:0.5' 'true')]}"
	bridge_wait opt '"type":"ERROR".*at least mem'
	# a task and the executor it brings, on one port
	bridge_send opt "{\"type\":\"COMMIT\",\"transaction_id\":\"x7\",\"tasks\":[$(task b5 "$A1" 'cpus:0.5;mem:64;ports:[31000-31000]' '' '"executor":{"executor_id":"x","command":"true","resources":"cpus:0.1;mem:8;ports:[31000-31002]"}')]}"
	bridge_wait opt "\"type\":\"ERROR\".*the executor of task 'b5' asks for ports:\\[31000-31000\\], which the task asks for too; nothing launched"
	# more than 1000 tasks in one transaction
	big=$(for i in $(seq 1001); do task "m$i" "$A1" 'cpus:0.01;mem:4' 'true'; done | paste -sd, -)
	bridge_send opt "{\"type\":\"COMMIT\",\"transaction_id\":\"x6\",\"tasks\":[$big]}"
	bridge_wait opt '"type":"ERROR".*tasks 1 to 1000'
	[ "$(cluster-ctl -h -o task_id tasks | wc -l)" -eq "$n" ]
	! grep -q '"type":"COMMITTED".*"transaction_id":"x[1-7]"' "$TMP/opt.ev" || false
	# an offer-based framework cannot COMMIT
	bridge_start offers
	bridge_send offers "{\"type\":\"COMMIT\",\"transaction_id\":\"o1\",\"tasks\":[$(task o1 "$A1" 'cpus:0.5;mem:64' 'true')]}"
	bridge_wait offers '"type":"ERROR".*not subscribed in mode optimistic'
	bridge_send offers '{"type":"TEARDOWN"}'
	# an unknown agent, a draining one, a quota limit
	commit opt gone "$(task u1 agent-nosuch 'cpus:0.5;mem:64' 'true')"
	[ "$(committed opt gone 'conflicts[0].reason')" = '"agent_gone"' ]
	cluster-ctl drain "$A2"
	wait_for 10 sh -c "[ \"\$(grep '\"type\":\"FREE\"' '$TMP/opt.ev' | jq -r '.agents[] | select(.agent_id == \"$A2\") | .state' | tail -1)\" = drained ]"
	[ "$(view opt "$A2" free)" = "" ]
	commit opt drained "$(task d1 "$A2" 'cpus:0.5;mem:64' 'true')"
	[ "$(committed opt drained 'conflicts[0].reason')" = '"draining"' ]
	cluster-ctl quota set -L 'cpus:1' batch
	commit opt quota "$(task q1 "$A1" 'cpus:0.5;mem:64' 'sleep 30'),$(task q2 "$A1" 'cpus:0.5;mem:64' 'sleep 30')"
	[ "$(committed opt quota 'conflicts[0].reason')" = '"quota"' ]
	[ "$(committed opt quota 'conflicts[0].task_id')" = '"q2"' ]
	[ "$(committed opt quota outcome)" = '"aborted"' ]
	commit opt quota2 "$(task q3 "$A1" 'cpus:0.5;mem:64' 'sleep 30')"
	[ "$(committed opt quota2 outcome)" = '"committed"' ]
	cluster-ctl frameworks >/dev/null
}

@test "offers and transactions share the agents: nothing is given twice over a run" {
	# an offer-based framework launching short tasks on whatever it is
	# offered, beside an optimistic one committing as fast as it hears
	bridge_start opt -O
	bridge_wait opt '"complete":true'
	bridge_start offers
	end=$((SECONDS + 12)); i=0; over=0
	while [ $SECONDS -lt $end ]; do
		i=$((i + 1))
		# one offer taken, the others declined for a second
		call=ACCEPT
		while o=$(bridge_free_offer offers); do
			echo "$o" >>"$TMP/offers.used"
			if [ $call = ACCEPT ]; then
				bridge_send offers "{\"type\":\"ACCEPT\",\"offer_id\":\"$o\",\"refuse_seconds\":1,\"tasks\":[{\"task_id\":\"o$i\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"sleep 1\"}]}"
				call=DECLINE
			else
				bridge_send offers "{\"type\":\"DECLINE\",\"offer_id\":\"$o\",\"refuse_seconds\":1}"
			fi
		done
		for a in "$A1" "$A2"; do
			bridge_send opt "{\"type\":\"COMMIT\",\"transaction_id\":\"c$i$a\",\"incremental\":true,\"tasks\":[$(task "c$i-$a" "$a" 'cpus:0.5;mem:64' 'sleep 1')]}"
		done
		# per agent, the tasks that run never hold more than its 2 cpus
		running_cpus | awk '{ s[$1] += $2 } END { for (a in s) if (s[a] > 2.0001) { print a, s[a]; exit 1 } }' || over=1
		sleep 0.2
	done
	[ "$over" -eq 0 ]
	# both models got work done
	grep '"type":"COMMITTED"' "$TMP/opt.ev" | grep -q '"outcome":"committed"'
	grep '"type":"STATUS"' "$TMP/offers.ev" | grep -q TASK_FINISHED
	grep '"type":"STATUS"' "$TMP/opt.ev" | grep -q TASK_FINISHED
	# no task failed for want of room
	! grep '"type":"STATUS"' "$TMP/offers.ev" "$TMP/opt.ev" | grep -q 'TASK_FAILED\|TASK_LOST' || false
}

@test "after a master restart an optimistic framework gets a new snapshot, newer versions, and commits again" {
	bridge_start opt -O
	bridge_wait opt '"complete":true'
	commit opt before "$(task b1 "$A1" 'cpus:1;mem:128' 'sleep 60')"
	bridge_wait opt '"task_id":"b1".*"TASK_RUNNING"'
	v=$(view opt "$A1" version)
	kill -TERM "$PID_offerd"
	wait_for 10 sh -c "! kill -0 $PID_offerd 2>/dev/null"
	start_daemon offerd2 offerd -d -v -w "$TMP/master"
	wait_for 20 agents_registered 2
	# the library subscribes again, optimistic still, and is sent the view anew
	wait_for 20 sh -c "[ \$(grep -c '\"complete\":true' '$TMP/opt.ev') -ge 2 ]"
	[ "$(grep '"complete":true' "$TMP/opt.ev" | tail -1 | jq -r '.agents | length')" -ge 0 ]
	# the running task still counts: agent 1 has a cpu free, not two
	wait_for 10 sh -c "[ \"\$(grep '\"type\":\"FREE\"' '$TMP/opt.ev' | jq -r '.agents[] | select(.agent_id == \"$A1\") | .free' | tail -1)\" = 'cpus:1;mem:896' ]"
	# versions never go back across masters, so an old one cannot match
	[ "$(view opt "$A1" version)" -gt "$v" ]
	commit opt after "$(task a1 "$A1" 'cpus:1;mem:128' 'sleep 60' "\"version\":$v")" '"granularity":"agent"'
	[ "$(committed opt after 'conflicts[0].reason')" = '"version"' ]
	commit opt after2 "$(task a2 "$A1" 'cpus:1;mem:128' 'sleep 60')"
	[ "$(committed opt after2 outcome)" = '"committed"' ]
	commit opt full "$(task a3 "$A1" 'cpus:1;mem:128' 'sleep 60')"
	[ "$(committed opt full 'conflicts[0].reason')" = '"resources"' ]
	[ "$(bridge_count opt '"type":"OFFER"')" -eq 0 ]
}

@test "reservations hold for optimistic frameworks: another role's are neither seen nor taken; users are the ACL's" {
	cluster-ctl reserve "$A1" analytics 'cpus:1;mem:256'
	bridge_start web -O -r web
	bridge_start an -O -r analytics
	bridge_wait web '"complete":true'
	bridge_wait an '"complete":true'
	[ "$(view web "$A1" free)" = "cpus:1;mem:768" ]
	[ "$(view an "$A1" free | tr ';' '\n' | sort | tr '\n' ';')" = "cpus(analytics):1;cpus:1;mem(analytics):256;mem:768;" ]
	commit web w1 "$(task w1 "$A1" 'cpus:2;mem:128' 'sleep 30')"
	[ "$(committed web w1 'conflicts[0].reason')" = '"resources"' ]
	commit web w2 "$(task w2 "$A1" 'cpus(analytics):1;mem(analytics):128' 'sleep 30')"
	[ "$(committed web w2 'conflicts[0].reason')" = '"resources"' ]
	commit an a1 "$(task a1 "$A1" 'cpus(analytics):1;mem(analytics):128' 'sleep 30')"
	[ "$(committed an a1 outcome)" = '"committed"' ]
	bridge_wait an '"task_id":"a1".*"TASK_RUNNING"'
	# root is never a task's user without a rule naming it: an ERROR, nothing launched
	bridge_send web "{\"type\":\"COMMIT\",\"transaction_id\":\"r1\",\"tasks\":[$(task r1 "$A2" 'cpus:0.5;mem:64' 'id' '"user":"root"')]}"
	bridge_wait web '"type":"ERROR".*"about":"COMMIT"\|"about":"COMMIT".*"type":"ERROR"'
	sleep 0.5
	! cluster-ctl -h -o task_id tasks | grep -qx r1 || false
}
