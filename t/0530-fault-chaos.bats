#!/usr/bin/env bats
# Fault tolerance under chaos: a framework runs N short tasks on 3 agents
# while agents and the master are killed with SIGKILL and restarted with
# the same work directories; afterwards, from the framework's own record
# of events, no status update may be lost, none duplicated, none out of
# order.
#
# The framework is the scheduler bridge with -A (manual acknowledgements),
# driven by this script: an update is acknowledged only after the script
# has read it from the bridge's event file, the framework's record.  With
# automatic acknowledgements the bridge acknowledges an update before it
# prints it, so "received" would be the bridge's word, not the record's;
# with -A the acknowledgement is the framework's statement that the update
# is recorded, and what is unacknowledged must come again (every delivery
# is acknowledged, retransmissions included: the earlier acknowledgement
# may have been lost with a killed master).
#
# What the design guarantees, and so what is checked:
# - A task whose agent is killed keeps running (its launcher survives); the
#   restarted agent adopts it and reports it, so it must not be lost.  A
#   quick restart is one within the master's agent timeout (see the test);
#   an agent away longer is unreachable for a while, which is not terminal
#   either (TASK_UNREACHABLE), but see the last test of this file.
# - Updates are checkpointed by the agent and sent again until
#   acknowledged, in order per task, across agent and master restarts.
# - An ACCEPT sent while the master is down, or whose LAUNCH died with the
#   master, is lost: the bridge does not retry calls.  The framework
#   therefore reconciles the tasks it launched but has heard nothing of,
#   and only once every agent has registered with the current master (so
#   that the master knows every task an agent holds); a task the master
#   answers TASK_LOST "unknown task" never reached an agent, and its job is
#   launched again under a new task id (counted as relaunched).  An ACCEPT
#   answered with an ERROR launched nothing, and is relaunched too.

load helper

N=36		# jobs
KILLS=6		# chaos kills, over about 20 s
AGENTS=3

setup() {
	setup_tmp
	declare -gA CUR=()
}

teardown() {
	dump_logs
	teardown_daemons
	local p
	# what is left of our tasks, and an allocator of a killed master
	for p in $(pgrep -f "marker-$$-" || true) \
	    $(pgrep -f "$TMP/master/alloc.ipc" || true); do
		kill -KILL "$p" 2>/dev/null || true
	done
	cleanup_tmp
}

# start_master GEN, start_agent I GEN: (re)start with the same work dir.
start_master() {
	start_daemon "offerd_$1" offerd -d -v -w "$TMP/master" $MASTER_FLAGS
	CUR[m]=$!
}
start_agent() {
	start_daemon "agent$1_$2" agentd -d -v -k -w "$TMP/agent$1" -N "host$1" \
	    -R 'cpus:2;mem:1024' -a "rack:r$1" -g 1s
	CUR[$1]=$!
}
# forget_pid PID: a killed daemon is no longer teardown's (its id may be
# reused by someone else's process).
forget_pid() {
	local p out=""
	for p in $PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
	PIDS=$out
}

tick() { NOW=${EPOCHREALTIME/./}; NOW=$((NOW / 1000)); }

# ---- the framework ------------------------------------------------------

# One event line as tab-separated fields, "-" for an absent one.
JQ_EV='fromjson? | [.type, (.task_id // "-"), (.uuid // "-"),
    (.agent_id // "-"), (.state // "-"), (.offer_id // "-"),
    (.reason // "-"), (if .reconcile then "1" else "0" end),
    (.resources // "-"), ((.ref // "-") | tostring), (.about // "-"),
    (.message // "-")] | @tsv'

fw_init() {
	declare -gA OFFERS=() A_JOB=() A_SENT=() A_SEEN=() ABANDONED=() BATCH=()
	declare -gA J_STATE=() J_ATT=() J_NATT=() J_ELIG=() J_DUR=()
	EV_DONE=0 FW_UP=1 NBATCH=0 RELAUNCHED=0 NEXT_RECON=0 LAST_REVIVE=0
	local j
	for ((j = 1; j <= N; j++)); do
		J_STATE[$j]=queued
		J_NATT[$j]=0
		J_ELIG[$j]=$((T0 + 500 * j))	# released over the chaos, ~18 s
		J_DUR[$j]=$((1 + RANDOM % 4))
	done
	: >"$TMP/attempts"
	: >"$TMP/abandoned"
}

# abandon TID WHY: the attempt never reached an agent: launch the job again.
abandon() {
	local j=${A_JOB[$1]}
	ABANDONED[$1]=$2
	echo "$1 $2" >>"$TMP/abandoned"
	J_STATE[$j]=queued
	RELAUNCHED=$((RELAUNCHED + 1))
	echo "relaunch job $j: attempt $1 $2"
}

fw_status() {
	local j
	if [ "$uuid" != - ]; then
		# recorded (it is in the event file): acknowledge it
		bridge_send fw "{\"type\":\"ACKNOWLEDGE\",\"task_id\":\"$tid\",\"uuid\":\"$uuid\",\"agent_id\":\"$aid\"}"
	fi
	j=${A_JOB[$tid]:-}
	[ -n "$j" ] || return 0
	if [ "$recon" = 1 ]; then
		if [ "$state" = TASK_LOST ] && [ "$reason" = "unknown task" ] &&
		    [ -z "${A_SEEN[$tid]:-}" ] && [ "${J_ATT[$j]}" = "$tid" ] &&
		    [ "${J_STATE[$j]}" = launched ]; then
			abandon "$tid" "unknown-to-master"
		fi
		return 0
	fi
	A_SEEN[$tid]=1
	case $state in
	TASK_FINISHED | TASK_FAILED | TASK_KILLED | TASK_LOST | TASK_ERROR)
		[ "${J_ATT[$j]}" != "$tid" ] || J_STATE[$j]=done ;;
	esac
	return 0
}

fw_error() {
	local t j
	[ "$about" = ACCEPT ] && [ "$ref" != - ] || return 0
	echo "ACCEPT $ref refused: $msg"
	# nothing of that ACCEPT was launched
	for t in ${BATCH[$ref]:-}; do
		j=${A_JOB[$t]}
		if [ "${J_ATT[$j]}" = "$t" ] && [ "${J_STATE[$j]}" = launched ] &&
		    [ -z "${A_SEEN[$t]:-}" ]; then
			abandon "$t" "accept-refused"
		fi
	done
	return 0
}

# Handle the events the bridge printed since the last call.
fw_events() {
	local n type tid uuid aid state oid reason recon res ref about msg
	n=$(wc -l <"$TMP/fw.ev")
	[ "$n" -gt "$EV_DONE" ] || return 0
	while IFS=$'\t' read -r type tid uuid aid state oid reason recon res ref about msg; do
		case $type in
		STATUS) fw_status ;;
		OFFER) OFFERS[$oid]=$res ;;
		RESCIND) unset "OFFERS[$oid]" ;;
		SUBSCRIBED) OFFERS=(); FW_UP=1 ;;
		REREGISTER) OFFERS=(); FW_UP=0 ;;
		ERROR) fw_error ;;
		esac
	done < <(sed -n "$((EV_DONE + 1)),${n}p" "$TMP/fw.ev" | jq -rR "$JQ_EV")
	EV_DONE=$n
}

# fit RESOURCES: how many tasks of cpus:0.25;mem:32 fit (in FIT).
fit() {
	local c=0 m=0 f
	if [[ $1 =~ cpus:([0-9]+)(\.([0-9]+))? ]]; then
		f=${BASH_REMATCH[3]}000
		c=$((BASH_REMATCH[1] * 1000 + 10#${f:0:3}))
	fi
	[[ $1 =~ mem:([0-9]+) ]] && m=${BASH_REMATCH[1]}
	FIT=$((c / 250))
	[ $((m / 32)) -ge $FIT ] || FIT=$((m / 32))
}

# Launch the jobs that are due on the offers held.
fw_launch() {
	local q=() j oid k tasks tid b i
	for ((j = 1; j <= N; j++)); do
		if [ "${J_STATE[$j]}" = queued ] && [ "${J_ELIG[$j]}" -le "$NOW" ]; then
			q+=("$j")
		fi
	done
	[ ${#q[@]} -gt 0 ] && [ "$FW_UP" = 1 ] || return 0
	for oid in "${!OFFERS[@]}"; do
		[ ${#q[@]} -gt 0 ] || break
		fit "${OFFERS[$oid]}"
		unset "OFFERS[$oid]"
		if [ "$FIT" -eq 0 ]; then
			bridge_send fw "{\"type\":\"DECLINE\",\"offer_id\":\"$oid\",\"refuse_seconds\":0}"
			continue
		fi
		NBATCH=$((NBATCH + 1))
		b=b$NBATCH
		tasks=""
		BATCH[$b]=""
		for ((i = 0; i < FIT && ${#q[@]} > 0; i++)); do
			j=${q[0]}
			q=("${q[@]:1}")
			J_NATT[$j]=$((J_NATT[$j] + 1))
			tid=c$j-${J_NATT[$j]}
			J_ATT[$j]=$tid
			J_STATE[$j]=launched
			A_JOB[$tid]=$j
			A_SENT[$tid]=$NOW
			BATCH[$b]="${BATCH[$b]} $tid"
			echo "$tid $j" >>"$TMP/attempts"
			tasks="$tasks${tasks:+,}{\"task_id\":\"$tid\",\"resources\":\"cpus:0.25;mem:32\",\"command\":\"sleep ${J_DUR[$j]} # marker-$$-$tid\"}"
		done
		bridge_send fw "{\"type\":\"ACCEPT\",\"offer_id\":\"$oid\",\"refuse_seconds\":0,\"ref\":\"$b\",\"tasks\":[$tasks]}"
	done
	if [ ${#q[@]} -gt 0 ] && [ $((NOW - LAST_REVIVE)) -ge 2000 ]; then
		bridge_send fw '{"type":"REVIVE"}'
		LAST_REVIVE=$NOW
	fi
	return 0
}

# Reconcile the launched tasks not heard of for 4 s, every 2 s, once
# every agent is registered with the master that is up.
fw_reconcile() {
	local stale="" j tid
	[ "$FW_UP" = 1 ] && [ "$CH_DOWN" != m ] && [ "$NOW" -ge "$NEXT_RECON" ] || return 0
	NEXT_RECON=$((NOW + 2000))
	for ((j = 1; j <= N; j++)); do
		[ "${J_STATE[$j]}" = launched ] || continue
		tid=${J_ATT[$j]}
		if [ -z "${A_SEEN[$tid]:-}" ] && [ $((NOW - A_SENT[$tid])) -ge 4000 ]; then
			stale="$stale${stale:+,}\"$tid\""
		fi
	done
	[ -n "$stale" ] || return 0
	[ "$(cluster-ctl -t 2s -h -o active agents 2>/dev/null | grep -c yes)" -eq $AGENTS ] || return 0
	echo "reconcile [$stale]"
	bridge_send fw "{\"type\":\"RECONCILE\",\"task_ids\":[$stale]}"
}

fw_all_done() {
	local j
	for ((j = 1; j <= N; j++)); do
		[ "${J_STATE[$j]}" = done ] || return 1
	done
}

# ---- the chaos ----------------------------------------------------------

chaos_init() {
	local i
	declare -ga VICTIMS=()
	for ((i = 0; i < KILLS; i++)); do
		case $((RANDOM % 4)) in 0) VICTIMS+=(m) ;; *) VICTIMS+=($((1 + RANDOM % 3))) ;; esac
	done
	# the master at least once, around the middle
	[[ " ${VICTIMS[*]} " == *" m "* ]] || VICTIMS[2]=m
	CH_DONE=0 CH_DOWN="" CH_NEXT=$((T0 + 2000)) CH_GEN=1 MASTER_KILLS=0
}

chaos_step() {
	local v
	if [ -z "$CH_DOWN" ]; then
		[ "$CH_DONE" -lt $KILLS ] && [ "$NOW" -ge "$CH_NEXT" ] || return 0
		v=${VICTIMS[$CH_DONE]}
		echo "chaos +$((NOW - T0)) ms: kill -9 ${v/m/master} (pid ${CUR[$v]})"
		kill -KILL "${CUR[$v]}"
		wait "${CUR[$v]}" 2>/dev/null || true
		forget_pid "${CUR[$v]}"
		[ "$v" != m ] || MASTER_KILLS=$((MASTER_KILLS + 1))
		CH_DOWN=$v
		CH_UP=$((NOW + 500 + RANDOM % 1500))
	elif [ "$NOW" -ge "$CH_UP" ]; then
		v=$CH_DOWN
		CH_GEN=$((CH_GEN + 1))
		echo "chaos +$((NOW - T0)) ms: restart ${v/m/master}"
		if [ "$v" = m ]; then start_master $CH_GEN; else start_agent "$v" $CH_GEN; fi
		CH_DOWN=""
		CH_DONE=$((CH_DONE + 1))
		CH_NEXT=$((NOW + 1000 + RANDOM % 2000))
	fi
	return 0
}

# ---- the verdict --------------------------------------------------------

# Count, from the framework's event file, per job (its last attempt):
# - terminal_once: exactly one distinct terminal update (distinct by uuid;
#   the same uuid again is a retransmission, allowed and counted apart;
#   an update of the master's own, without uuid, counts as distinct);
# - duplicates: a second, different terminal update after the first, and
#   any update at all of an attempt that was given up as never launched
#   (the job would have run twice);
# - out_of_order: per task, the first arrivals of the agent's updates not
#   in the order STARTING, RUNNING, terminal (a state again under a new
#   uuid counts), or any non-terminal update after the terminal one;
# - lost_updates: what "lost" can honestly mean to a framework: a job that
#   never reached a terminal state; a task that ended TASK_FINISHED (so it
#   ran, and its agent made STARTING and RUNNING updates before) without
#   both having reached the framework; or a task the master declared
#   TASK_LOST (its agent forgot it, or was removed), which the design should
#   not do to a task whose agent came back within seconds.
verdict() {
	jq -rR 'fromjson? | select(.type == "STATUS") | [.task_id, (.uuid // "-"),
	    .state, (if .reconcile then "1" else "0" end), (.reason // "-")] | @tsv' \
	    "$TMP/fw.ev" >"$TMP/statuses"
	for ((j = 1; j <= N; j++)); do echo "${J_ATT[$j]}"; done >"$TMP/final"
	awk -F'\t' -v n="$N" '
	FILENAME == ARGV[1] { split($0, f, " "); job[f[1]] = f[2]; next }
	FILENAME == ARGV[2] { split($0, f, " "); aband[f[1]] = f[2]; next }
	FILENAME == ARGV[3] { final[$1] = 1; next }
	{
		t = $1; u = $2; s = $3
		if (!(t in job)) { stray++; print "stray update: " $0; next }
		if ($4 == 1) next			# a reconciliation answer
		hist[t] = hist[t] " " s (u == "-" ? "(master:" $5 ")" : "")
		any[t] = 1
		term = s ~ /^TASK_(FINISHED|FAILED|KILLED|LOST|ERROR)$/
		if (u != "-") {
			if (seen[t, u]++) { retrans++; hist[t] = hist[t] "(again)"; next }
			r = term ? 3 : s == "TASK_STARTING" ? 1 : s == "TASK_RUNNING" ? 2 : 0
			if (r == 0 || (r < 3 && (ended[t] || r <= last[t]))) ooo[t] = 1
			last[t] = r
			has[t, s] = 1
		} else if (!term && ended[t])
			ooo[t] = 1
		if (term) {
			if (++nterm[t] == 1) { fin[t] = s; finu[t] = u }
			ended[t] = 1
		}
	}
	END {
		for (t in final) {
			tasks++
			bad = ""
			if (nterm[t] == 1) once++
			if (nterm[t] > 1) { dups++; bad = bad " duplicate-terminal" }
			if (ooo[t]) { oo++; bad = bad " out-of-order" }
			if (nterm[t] == 0) { lost++; bad = bad " never-ended" }
			else if (finu[t] == "-") { lost++; bad = bad " lost-by-master" }
			else if (fin[t] == "TASK_FINISHED" && !(has[t, "TASK_STARTING"] &&
			    has[t, "TASK_RUNNING"])) { lost++; bad = bad " missing-update" }
			if (fin[t] == "TASK_FINISHED") finished++
			if (bad != "") print "task " t ":" bad " <-" hist[t]
		}
		for (t in aband) if (any[t]) {
			dups++
			print "task " t " given up (" aband[t] ") but reported:" hist[t]
		}
		printf "tasks=%d terminal_once=%d lost_updates=%d duplicates=%d " \
		    "out_of_order=%d finished=%d retransmitted=%d stray=%d\n", tasks,
		    once, lost, dups, oo, finished, retrans, stray
	}' "$TMP/attempts" "$TMP/abandoned" "$TMP/final" "$TMP/statuses"
}

@test "chaos: agents and the master killed -9 and restarted while tasks run; no update lost or duplicated" {
	# An agent restarted after 0.5-2 s has been silent for at most about
	# 3.5 s (a heartbeat interval, the time down, its start): with an agent
	# timeout of 5 s it is back before the master counts it unreachable,
	# as a quick restart should be.  (Partitions, where agents do become
	# unreachable, are t/0520; CHAOS_AGENT_TIMEOUT=3s mixes both.)
	MASTER_FLAGS="-t ${CHAOS_AGENT_TIMEOUT:-5s}"
	start_master 1
	for i in $(seq $AGENTS); do start_agent "$i" 1; done
	wait_for 15 agents_registered $AGENTS
	bridge_start fw --manual-ack
	SEED=${CHAOS_SEED:-$$}
	RANDOM=$SEED
	echo "seed $SEED"
	tick
	T0=$NOW
	fw_init
	chaos_init
	echo "victims: ${VICTIMS[*]}"
	# run until every job has ended and the chaos is over, at most 60 s
	# after the chaos; then 3 s more for late duplicates
	deadline=$((T0 + 90000))
	quiet_until=""
	while :; do
		tick
		fw_events
		chaos_step
		fw_launch
		fw_reconcile
		if [ -z "$CH_DOWN" ] && [ "$CH_DONE" -eq $KILLS ]; then
			[ "$deadline" -le $((NOW + 60000)) ] || deadline=$((NOW + 60000))
			if [ -z "$quiet_until" ] && fw_all_done; then
				quiet_until=$((NOW + 3000))
			fi
		fi
		[ -z "$quiet_until" ] || [ "$NOW" -lt "$quiet_until" ] || break
		[ "$NOW" -lt "$deadline" ] || { echo "deadline passed"; break; }
		sleep 0.2
	done
	tick
	echo "ran $((NOW - T0)) ms; relaunched $RELAUNCHED"
	verdict >"$TMP/verdict"
	cat "$TMP/verdict"
	line=$(tail -1 "$TMP/verdict")
	# task directories whose updates were not all acknowledged
	unacked=$(for d in "$TMP"/agent*/tasks/*/*; do [ -e "$d/acked" ] || echo "$d"; done | grep -c . || true)
	echo "# chaos $line relaunched=$RELAUNCHED kills=$KILLS master_kills=$MASTER_KILLS unacked=$unacked seed=$SEED" >&3
	[[ $line == *"tasks=$N terminal_once=$N lost_updates=0 duplicates=0 out_of_order=0 "* ]]
	# and the allocators of the killed masters ended with them
	[ "$(pgrep -f "$TMP/master/alloc.ipc" | wc -l)" -eq 1 ]
}

# The chaos, narrowed down to one case: an ACCEPT for an agent that has
# just died (the master does not know yet), so its LAUNCH is lost, and the
# agent is back only after the agent timeout.  The agent never reported on
# the task, so by cluster-protocol(7) ("a task the master had sent to this
# agent and that is not in the list, once the agent has reported on it,
# becomes TASK_LOST") the master must launch it when the agent returns, as
# it does when the agent returns within the timeout.
@test "a task accepted while its agent is down is launched when the agent returns after the agent timeout, not lost" {
	MASTER_FLAGS="-t 2s"
	start_master 1
	start_agent 1 1
	wait_for 15 agents_registered 1
	bridge_start fw
	wait_for 15 bridge_free_offer fw >/dev/null
	offer=$(bridge_free_offer fw)
	kill -KILL "${CUR[1]}"
	wait "${CUR[1]}" 2>/dev/null || true
	forget_pid "${CUR[1]}"
	bridge_send fw "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"refuse_seconds\":0,\"tasks\":[{\"task_id\":\"s1\",\"resources\":\"cpus:0.5;mem:64\",\"command\":\"sleep 1 # marker-$$-s1\"}]}"
	wait_for 10 grep -q 'launching task s1' "$TMP/offerd_1.log"
	bridge_wait fw '"task_id":"s1".*"state":"TASK_UNREACHABLE"' 8
	start_agent 1 2
	bridge_wait fw '"task_id":"s1".*"state":"TASK_\(FINISHED\|LOST\)"' 20
	sleep 1
	echo "s1: $(task_states fw s1)"
	[ "$(bridge_count fw '"task_id":"s1".*"state":"TASK_LOST"')" -eq 0 ]
	[[ "$(task_states fw s1)" == *"TASK_RUNNING "* ]]
	[ "$(bridge_count fw '"task_id":"s1".*"state":"TASK_FINISHED"')" -eq 1 ]
}
