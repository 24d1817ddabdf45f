#!/usr/bin/env bats
# examples/gang: a gang's tasks start together or none does.

load helper

GANG="$TOP/build/examples/gang/gang"

setup() {
	setup_tmp
	# the tasks run as nobody (agentd -U): a directory they may all write
	mkdir -m 1777 "$TMP/starts"
	# each task records when it started, named framework.gang.attempt.rank
	CMD="date +%s.%N >$TMP/starts/\$FRAMEWORK_ID.\$GANG.\$GANG_ATTEMPT.\$GANG_RANK; sleep 1"
	start_cluster 3 3>&-	# 3 agents of cpus:2: room for 6 one-cpu tasks
}
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

# whole_gangs N: every framework.gang.attempt that started any task started
# all N, within 2 s of each other; prints the groups it saw.
whole_gangs() {
	ls "$TMP/starts" | sed 's/\.[0-9]*$//' | sort | uniq -c | while read -r n g; do
		echo "$g: $n tasks"
		[ "$n" -eq "$1" ] || return 1
		cat "$TMP/starts/$g".* | sort -n |
		    awk 'NR == 1 { lo = $1 } { hi = $1 } END { exit !(hi - lo < 2) }' ||
		    return 1
	done
}

@test "gangs of 4 run whole, one after another" {
	run timeout 60 "$GANG" -n mpi -N 4 -g 3 -c 1 -- "$CMD"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"gang done gangs=3 ok=3 failed=0"* ]]
	[ "$(echo "$output" | grep -c 'running tasks=4')" -eq 3 ]
	[ "$(ls "$TMP/starts" | wc -l)" -eq 12 ]
	whole_gangs 4
	# the gangs did not overlap: gang 1 started after gang 0's tasks did
	g0=$(cat "$TMP"/starts/*.0.*.* | sort -n | tail -1)
	g1=$(cat "$TMP"/starts/*.1.*.* | sort -n | head -1)
	awk -v a="$g0" -v b="$g1" 'BEGIN { exit !(b > a) }'
}

@test "two gang frameworks competing for too little room both finish, never partially" {
	# 6 slots, gangs of 4: the two can never run at once
	timeout 90 "$GANG" -n ga -N 4 -g 2 -c 1 -w 1s -- "$CMD" >"$TMP/ga.out" 2>&1 3>&- &
	pa=$!
	timeout 90 "$GANG" -n gb -N 4 -g 2 -c 1 -w 1s -- "$CMD" >"$TMP/gb.out" 2>&1 3>&- &
	pb=$!
	sa=0; wait "$pa" || sa=$?
	sb=0; wait "$pb" || sb=$?
	cat "$TMP/ga.out" "$TMP/gb.out"
	[ "$sa" -eq 0 ]
	[ "$sb" -eq 0 ]
	grep -q 'gang done gangs=2 ok=2' "$TMP/ga.out"
	grep -q 'gang done gangs=2 ok=2' "$TMP/gb.out"
	whole_gangs 4
	[ "$(ls "$TMP/starts" | wc -l)" -ge 16 ]
}

@test "a gang too big for the cluster never starts a task and releases what it holds" {
	run timeout 30 "$GANG" -n big -N 7 -c 1 -w 1s -t 5s -- "$CMD"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"never had room for 7 tasks"* ]]
	[[ "$output" == *"6 of 7 slots"*released* ]]
	[ -z "$(ls "$TMP/starts")" ]
	[ -z "$(cluster-ctl -h tasks)" ]
	# what it held went back: another framework gets the whole cluster
	run timeout 30 "$GANG" -n after -N 6 -c 1 -- true
	[ "$status" -eq 0 ]
}

@test "bad arguments: status 100" {
	run "$GANG" -N 0 -- true
	[ "$status" -eq 100 ]
	run "$GANG" -w soon -- true
	[ "$status" -eq 100 ]
	run "$GANG" -N 2
	[ "$status" -eq 100 ]
}
