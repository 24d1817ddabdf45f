#!/usr/bin/env bats
# offerd's allocator link (offerd(8), DESCRIPTION; bin/offerd/alloc.c): an
# allocator that keeps dying is started again after a wait that doubles
# each time, from half a second up to 30 seconds, back to half a second
# after one that lived 10 seconds, and the master keeps serving
# meanwhile.  The cap cannot be set shorter, so only the first four steps
# (0.5, 1, 2, 4 s) are waited for, not the cap; they are read from the
# log lines and from their times.

load helper

setup() {
	setup_tmp
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# fake_alloc N: an allocator that exits 3 at once its first N times,
# then is drf-alloc; offerd runs it as its own user, which may write here.
fake_alloc() {
	mkdir -m 777 "$TMP/fa"
	cat >"$TMP/fake-alloc" <<EOF
#!/bin/sh
echo x >>"$TMP/fa/starts"
[ "\$(wc -l <"$TMP/fa/starts")" -gt $1 ] && exec "$TOP/build/bin/drf-alloc" "\$@"
exit 3
EOF
	chmod 755 "$TMP/fake-alloc"
}

# starts N: true once the allocator was started N times.
starts() {
	[ -f "$TMP/fa/starts" ] && [ "$(wc -l <"$TMP/fa/starts")" -ge "$1" ]
}

# waits: the waits offerd announced, in order, on one line.
waits() {
	sed -n 's/.*allocator .* after [0-9]* ms; starting it again in \([0-9]*\) ms$/\1/p' \
	    "$TMP/offerd.log" | tr '\n' ' '
}

# ms HH:MM:SS.mmm: milliseconds since midnight.
ms() {
	echo "$1" | awk -F '[:.]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}

@test "an allocator that keeps dying is started again after 0.5, 1, 2, 4 s, and the master serves meanwhile" {
	fake_alloc 4
	start_daemon offerd offerd -d -v -w "$TMP/master" \
	    --allocator-program="$TMP/fake-alloc"
	wait_for 15 grep -q 'listening on' "$TMP/offerd.log"
	# the master answers while its allocator is down
	wait_for 5 grep -q 'allocator exited with status 3' "$TMP/offerd.log"
	run cluster-ctl -h -o agent_id agents
	[ "$status" -eq 0 ]
	# the fifth start is the real allocator
	wait_for 20 starts 5
	sleep 1
	grep 'allocator' "$TMP/offerd.log"
	# the waits announced double
	[ "$(waits)" = "500 1000 2000 4000 " ]
	# and are kept: each start comes at least the announced wait after
	# the exit before it (and not long after it)
	sed -n -e 's/^\([0-9:.]*\) .*allocator exited .* again in \([0-9]*\) ms$/\1 \2/p' \
	    -e 's/^\([0-9:.]*\) .*allocator .* started .*/\1 start/p' \
	    "$TMP/offerd.log" >"$TMP/times"
	cat "$TMP/times"
	steps=0 exited=
	while read -r t what; do
		if [ "$what" != start ]; then
			exited=$t wait=$what
		elif [ -n "$exited" ]; then
			gap=$(( $(ms "$t") - $(ms "$exited") ))
			echo "announced $wait ms, waited $gap ms"
			[ "$gap" -ge $((wait - 20)) ]
			[ "$gap" -lt $((wait + 3000)) ]
			steps=$((steps + 1)) exited=
		fi
	done <"$TMP/times"
	[ "$steps" -eq 4 ]
	# the real one stays, learns of an agent and its offers run a task
	[ "$(grep -c 'allocator exited' "$TMP/offerd.log")" -eq 4 ]
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" --hostname=host1 \
	    --resources='cpus:2;mem:1024'
	wait_for 15 agents_registered 1
	run timeout 30 cluster-ctl run -- echo served
	[ "$status" -eq 0 ]
	[[ "$output" == *served* ]]
}

@test "an allocator that lived 10 s is started again after 0.5 s, not twice the wait before" {
	fake_alloc 2
	start_daemon offerd offerd -d -v -w "$TMP/master" \
	    --allocator-program="$TMP/fake-alloc"
	wait_for 15 starts 3
	wait_for 10 grep -q 'drf-alloc: serving' "$TMP/offerd.log"
	[ "$(waits)" = "500 1000 " ]
	# the third start lives past 10 s, then is killed: 0.5 s again
	pid=$(sed -n 's/.*allocator .* started (pid \([0-9]*\)).*/\1/p' \
	    "$TMP/offerd.log" | tail -1)
	sleep 10.5
	kill -KILL "$pid"
	wait_for 10 grep -q "allocator killed by signal 9 after" "$TMP/offerd.log"
	grep 'allocator' "$TMP/offerd.log"
	[ "$(waits)" = "500 1000 500 " ]
	lived=$(sed -n 's/.*allocator killed by signal 9 after \([0-9]*\) ms.*/\1/p' \
	    "$TMP/offerd.log")
	[ "$lived" -ge 10000 ]
	# and it is started again, and serves
	wait_for 10 starts 4
	wait_for 10 sh -c '[ "$(grep -c "drf-alloc: serving" "$1")" -eq 2 ]' - \
	    "$TMP/offerd.log"
	run cluster-ctl -h -o agent_id agents
	[ "$status" -eq 0 ]
}
