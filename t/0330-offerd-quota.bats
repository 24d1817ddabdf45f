#!/usr/bin/env bats
# Quota per role through the master: cluster-ctl quota sets, lists and
# removes a role's guarantee and limit; bad requests are refused with
# their codes and change nothing; the quota survives a restart of offerd;
# under contention a guarantee is met, and a limit is never exceeded by
# what the role is offered and runs (sampled from the master's ledger).

load helper

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# offers_of NAME: how many offers bridge NAME's framework holds now.
offers_of() {
	cluster-ctl -h -o framework_id offers | grep -c "^$(bridge_fw "$1")\$" || true
}

# held_cpus FW: the cpus framework FW is offered plus what its live tasks
# hold, by the master's listings.  Tasks are listed first: an ACCEPT
# between the two listings would otherwise count its cpus twice, as the
# offer and as the task.
held_cpus() {
	{ cluster-ctl -o json tasks; cluster-ctl -o json offers; } |
	    jq -r --arg fw "$1" 'select(.framework_id == $fw and
	    (.state == null or (.state | test("STAGING|STARTING|RUNNING"))))
	    | .resources' |
	    awk -F';' '{ for (i = 1; i <= NF; i++) if ($i ~ /^cpus:/)
	    { sub(/^cpus:/, "", $i); s += $i } } END { printf "%.3f\n", s }'
}

@test "quota set, list and rm; bad requests are refused with codes, change nothing, and the master serves on" {
	start_cluster 2
	run cluster-ctl quota set --guarantee cpus:1 -L 'cpus:2;mem:1G' gold
	[ "$status" -eq 0 ]
	[ "$output" = "role gold guarantee cpus:1 limit cpus:2;mem:1024" ]
	grep -q "role gold: guarantee cpus:1, limit cpus:2;mem:1024, set by" "$TMP/offerd.log"
	# the guarantees would sum above the cluster's 4 cpus
	run cluster-ctl quota set --guarantee cpus:3.5 web
	[ "$status" -eq 1 ]
	[[ "$output" == *"role web: the guarantees would sum to cpus:4.5, more cpus than the cluster's agents have"* ]]
	send_rec '{"type":"SET_QUOTA","role":"web","guarantee":"cpus:3.5"}'
	[[ "$output" == *'"code":"over_cluster"'* ]]
	# a resource no agent has
	send_rec '{"type":"SET_QUOTA","role":"web","guarantee":"gpus:1"}'
	[[ "$output" == *'"code":"over_cluster"'* ]]
	# a guarantee over its limit
	run cluster-ctl quota set --guarantee cpus:2 -L cpus:1 web
	[ "$status" -eq 1 ]
	[[ "$output" == *"the guarantee of cpus is over its limit"* ]]
	send_rec '{"type":"SET_QUOTA","role":"web","guarantee":"cpus:2","limit":"cpus:1"}'
	[[ "$output" == *'"code":"invalid"'* ]]
	# not resources, not scalars, not a role, not a string
	send_rec '{"type":"SET_QUOTA","role":"web","limit":"cpus:lots"}'
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec '{"type":"SET_QUOTA","role":"web","limit":"ports:[1-2]"}'
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec '{"type":"SET_QUOTA","role":"no such role!","limit":"cpus:1"}'
	[[ "$output" == *'"code":"invalid"'* ]]
	send_rec '{"type":"SET_QUOTA","role":"web","limit":7}'
	[[ "$output" == *'"code":"malformed"'* ]]
	run cluster-ctl quota set -L 'ports:[1-2]' web
	[ "$status" -eq 100 ]
	run cluster-ctl quota set web
	[ "$status" -eq 100 ]
	# nothing to remove
	run cluster-ctl quota rm web
	[ "$status" -eq 1 ]
	[[ "$output" == *"role web has no quota to remove"* ]]
	# none of it changed anything
	[ "$(cluster-ctl -h quota | tr -s ' ')" = "gold cpus:1 cpus:2;mem:1024" ]
	[ "$(jq -c .quota "$TMP/master/state.json")" = '{"gold":{"guarantee":"cpus:1","limit":"cpus:2;mem:1024"}}' ]
	! grep -q "role web: guarantee" "$TMP/offerd.log" || false
	[ "$(cluster-ctl -h -o active agents | sort -u)" = yes ]
	# a second role fits beside gold; rm takes gold's away
	run cluster-ctl quota set --guarantee cpus:3 web
	[ "$status" -eq 0 ]
	run cluster-ctl quota rm gold
	[ "$status" -eq 0 ]
	[ "$output" = "role gold quota removed" ]
	run cluster-ctl -o json quota
	[ "$output" = '{"guarantee":"cpus:3","role":"web"}' ]
}

@test "quota survives a restart of offerd and is told to the new allocator" {
	start_cluster 2
	cluster-ctl quota set -L cpus:1 gold
	kill -TERM "$PID_offerd"
	wait_for 10 sh -c "! kill -0 $PID_offerd 2>/dev/null"
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 15 agents_registered 2
	[ "$(cluster-ctl -h quota | tr -s ' ')" = "gold - cpus:1" ]
	# the new allocator enforces it: gold is offered one cpu of four
	bridge_start g -r gold
	bridge_wait g '"type":"OFFER"'
	sleep 2
	[ "$(held_cpus "$(bridge_fw g)")" = 1.000 ]
}

# contention ROLE: four one-cpu agents, all offered to framework batch
# first; web (role ROLE) subscribes; batch declines everything at once.
contention() {
	AGENT_RESOURCES='cpus:1;mem:256' start_cluster 4
	[ -z "$1" ] || cluster-ctl quota set --guarantee cpus:3 "$1"
	bridge_start batch -r batch
	wait_for 15 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/batch.ev') -ge 4 ]"
	bridge_start web -r web
	for o in $(grep '"type":"OFFER"' "$TMP/batch.ev" | sed 's/.*"offer_id":"\([^"]*\)".*/\1/'); do
		bridge_send batch "{\"type\":\"DECLINE\",\"offer_id\":\"$o\",\"refuse_seconds\":0}"
	done
	wait_for 15 sh -c "[ \$(grep -c '\"type\":\"OFFER\"' '$TMP/web.ev') -ge 2 ] &&
	    [ \$(grep -c '\"type\":\"OFFER\"' '$TMP/batch.ev') -ge 5 ]"
	sleep 1
}

@test "under contention a role's guarantee is met before a role without one is served" {
	contention web
	[ "$(offers_of web)" -eq 3 ]
	[ "$(offers_of batch)" -eq 1 ]
}

@test "the same contention without quota splits the agents evenly (DRF)" {
	contention ""
	[ "$(offers_of web)" -eq 2 ]
	[ "$(offers_of batch)" -eq 2 ]
}

@test "a role's limit is never exceeded by what it is offered and runs, over a run" {
	start_cluster 2
	cluster-ctl quota set -L 'cpus:1' gold
	bridge_start gold -r gold
	bridge_wait gold '"type":"OFFER"'
	bridge_start other -r batch
	fw=$(bridge_fw gold)
	: >"$TMP/samples"
	( for _ in $(seq 60); do held_cpus "$fw" >>"$TMP/samples"; sleep 0.1; done ) &
	sampler=$!
	bridge_launch gold t1 'sleep 30' 'cpus:0.5;mem:64'
	bridge_launch gold t2 'sleep 30' 'cpus:0.5;mem:64'
	wait_for 15 sh -c "cluster-ctl -h -o task_id tasks -s running | grep -c '^t[12]\$' | grep -qx 2"
	wait "$sampler"
	# over the run: never more than the limit; at the end, exactly it
	[ "$(wc -l <"$TMP/samples")" -eq 60 ]
	awk '$1 > 1 { exit 1 }' "$TMP/samples"
	[ "$(held_cpus "$fw")" = 1.000 ]
	# every offer gold had was within it
	grep '"type":"OFFER"' "$TMP/gold.ev" | jq -r .resources |
	    awk -F';' '{ for (i = 1; i <= NF; i++) if ($i ~ /^cpus:/)
	    { sub(/^cpus:/, "", $i); if ($i + 0 > 1) exit 1 } }'
	# the other role has the rest offered: 3 cpus
	[ "$(held_cpus "$(bridge_fw other)")" = 3.000 ]
	bridge_send gold '{"type":"KILL","task_id":"t1"}'
	bridge_send gold '{"type":"KILL","task_id":"t2"}'
}

@test "a quota or weight the registry cannot keep is refused 'unavailable' and changes nothing" {
	start_cluster 2
	cluster-ctl quota set -L cpus:2 web >/dev/null
	# the work dir (offerd's registry without ZooKeeper) cannot be written
	chmod 500 "$TMP/master"
	run cluster-ctl quota set -L cpus:3 web
	chmod 700 "$TMP/master"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the quota of web is unchanged"* ]]
	grep -q "refused SET_QUOTA from principal .*(unavailable)" "$TMP/offerd.log"
	[ "$(cluster-ctl -h -o limit quota)" = "cpus:2" ]
	chmod 500 "$TMP/master"
	run cluster-ctl weight web 5
	chmod 700 "$TMP/master"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the weight of web is unchanged"* ]]
	[ -z "$(cluster-ctl -h -o role weights | grep -x web)" ]
	# written again once it can be
	run cluster-ctl quota set -L cpus:3 web
	[ "$status" -eq 0 ]
	[ "$(cluster-ctl -h -o limit quota)" = "cpus:3" ]
}
