#!/usr/bin/env bats
# What an interactive run waits for: run -v traces each step; the first
# SUBSCRIBE is the only one; a new framework is offered without waiting
# for the allocator's timed cycle; TEARDOWN is answered with TORN_DOWN.

load helper

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# an allocator whose timed cycle comes once an hour
slow_allocator() {
	cat >"$TMP/slow-alloc" <<EOF
#!/bin/sh
exec "$TOP/build/bin/drf-alloc" -I 3600 "\$@"
EOF
	chmod 755 "$TMP/slow-alloc"
}

@test "run -v traces every step in order, with milliseconds since it began" {
	start_cluster 1
	run cluster-ctl run -v -- true
	echo "$output"
	[ "$status" -eq 0 ]
	# the answer whether an agent could hold it may come at any time,
	# or not be awaited at all once an offer held the task; what it
	# waits for once subscribed is said at the first offer or tick
	steps=$(echo "$output" | sed -n 's/^run: *[0-9.]* ms //p' |
	    grep -v 'could hold it$' | grep -v '^subscribed as framework' |
	    sed 's/ of offer.*//; s/ as run to the master at .*//; s/hold .*/hold/')
	expected="-> SUBSCRIBE
asking whether an agent could hold
<- SUBSCRIBED
<- OFFER
-> ACCEPT
<- STATUS TASK_STARTING
<- STATUS TASK_RUNNING
<- STATUS TASK_FINISHED
-> TEARDOWN
socket closed
output complete
exit 0"
	[ "$steps" = "$expected" ]
	# the times only grow
	echo "$output" | sed -n 's/^run: *\([0-9.]*\) ms.*/\1/p' |
	    sort -n -c
	# without -v, none of it
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	[[ "$output" != *"run: "*" ms "* ]]
}

@test "run's first SUBSCRIBE is taken: the master never sees it again" {
	start_cluster 1
	for i in 1 2 3; do cluster-ctl run -q -- true; done
	[ "$(grep -c 'framework .* (run) subscribed' "$TMP/offerd.log")" -eq 3 ]
	! grep -q 'subscribed again' "$TMP/offerd.log" || false
	# run's trace holds one SUBSCRIBE
	run cluster-ctl run -v -q -- true
	[ "$(echo "$output" | grep -c -- '-> SUBSCRIBE')" -eq 1 ]
}

@test "a run is offered at once, not at the allocator's next timed cycle" {
	slow_allocator
	OFFERD_FLAGS="-A $TMP/slow-alloc" start_cluster 1
	pgrep -f "drf-alloc -I 3600" >/dev/null
	# with an hour between timed cycles, only the cycle that a new
	# subscription starts can offer within the minute
	run cluster-ctl -t 60000 run -- true
	echo "$output"
	[ "$status" -eq 0 ]
	run cluster-ctl -t 60000 run -- true
	[ "$status" -eq 0 ]
}

@test "TEARDOWN is answered with TORN_DOWN, and the framework is gone" {
	start_cluster 1
	printf '%s\n' \
	    '{"type":"SUBSCRIBE","name":"td","role":"*","framework_id":"fw-td1"}' \
	    '{"type":"TEARDOWN","framework_id":"fw-td1"}' |
	    cluster-ctl send --wait 1s >"$TMP/send.out"
	cat "$TMP/send.out"
	grep -q '"type":"SUBSCRIBED"' "$TMP/send.out"
	grep -q '"type":"TORN_DOWN".*"framework_id":"fw-td1"\|"framework_id":"fw-td1".*"type":"TORN_DOWN"' \
	    "$TMP/send.out"
	run cluster-ctl -h -o id frameworks
	[[ "$output" != *fw-td1* ]]
	# a TEARDOWN of a framework that is gone is an ERROR, not TORN_DOWN
	# (send exits 1 when an ERROR came back)
	echo '{"type":"TEARDOWN","framework_id":"fw-td1"}' |
	    cluster-ctl send --wait 1s >"$TMP/send2.out" || true
	cat "$TMP/send2.out"
	grep -q '"type":"ERROR"' "$TMP/send2.out"
	grep -q '"code":' "$TMP/send2.out"
	! grep -q TORN_DOWN "$TMP/send2.out" || false
	# and the master kept serving
	run cluster-ctl run -q -- true
	[ "$status" -eq 0 ]
}
