#!/usr/bin/env bats
# cluster-elect with the lock file backend: three offerd candidates on one
# machine, failover on kill -9, no split brain after SIGSTOP, the lease.

bats_require_minimum_version 1.5.0

load helper
load 0800-elect-helper

setup() {
	setup_tmp
	ELECT_ARGS="--lock $TMP/lock"
	ELECT_MASTER="lock://$TMP/lock"
	export CLUSTER_MASTER=$ELECT_MASTER
}
teardown() { elect_teardown; }

@test "bad input: usage errors exit 100, a missing directory 111, a missing command 127" {
	run cluster-elect --lock "$TMP/lock"
	[ "$status" -eq 100 ]
	[[ "$output" == *"no command given"* ]]
	[[ "$output" == *"usage: cluster-elect"* ]]
	run cluster-elect -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"give -z zk-url or --lock=lockfile"* ]]
	run cluster-elect -z "zk://127.0.0.1:2181" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"no path"* ]]
	run cluster-elect -z "zk://127.0.0.1:notaport/x" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"port is invalid"* ]]
	run cluster-elect -z "http://h:1/x" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	run cluster-elect --lock "$TMP/lock" -z "zk://h:1/x" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	run cluster-elect --session-timeout 5ms --lock "$TMP/lock" -- offerd -l ipc://x
	[ "$status" -eq 100 ]
	[[ "$output" == *"session timeout"* ]]
	run cluster-elect --lock "$TMP/lock" -- sleep 1
	[ "$status" -eq 100 ]
	[[ "$output" == *"no endpoint to publish"* ]]
	run cluster-elect -d --lock "$TMP/no/such/dir/lock" -- offerd -l ipc://x
	[ "$status" -eq 111 ]
	[[ "$output" == *"directory does not exist"* ]]
	run -127 cluster-elect -d --lock "$TMP/lock" --endpoint ipc://x -- no-such-command-here
	[[ "$output" == *"command not found"* ]]
	run cluster-ctl -m "lock://relative/path" leader
	[ "$status" -eq 100 ]
	run cluster-ctl leader
	[ "$status" -eq 1 ]
	[[ "$output" == *"no leader"* ]]
	run cluster-elect --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: cluster-elect"* ]]
}

@test "one of three leads and serves; cluster-ctl leader names it; the others wait" {
	elect_three
	wait_for 10 serving
	[ "$(offerds_running)" -eq 1 ]
	l=$(leader_index)
	command_pid "$l"
	run cluster-ctl leader
	[ "$output" = "ipc://$TMP/m$l.ipc" ]
	run cluster-ctl -o json leader
	[[ "$output" == *'"backend":"lock"'* ]]
	[[ "$output" == *"\"endpoint\":\"ipc://$TMP/m$l.ipc\""* ]]
	[[ "$output" == *'"session_timeout_ms":1000'* ]]
	# a direct endpoint is its own leader
	[ "$(cluster-ctl -m ipc://elsewhere leader)" = ipc://elsewhere ]
	sleep 1.5
	[ "$(offerds_running)" -eq 1 ]
	[ "$(leader_index)" = "$l" ]
}

@test "kill -9 of the leader and its command: a standby leads within 2 seconds" {
	kill_leader_within 10 5 2000
	# and once more: the last candidate takes over from the second
	second=$(leader_index)
	kill_candidate "$second"
	wait_for 5 led_by_other "$second"
	l=$(leader_index)
	[ "$l" != "$old" ]
	[ "$l" != "$second" ]
}

@test "SIGSTOP past the lease: another leads, and at SIGCONT the old leader exits before handling a record" {
	# its lock is broken once its lease is over by half a session
	stopped_leader_yields 10 6
}

@test "kill -9 of cluster-elect alone: its command stops at the end of its lease, and a standby waits for it" {
	elect_three
	wait_for 10 serving
	old=$(leader_index)
	eval "oldpid=\$PID_elect$old"
	cmd=$(command_pid "$old")
	kill -KILL "$oldpid"
	wait_for 5 led_by_other "$old"
	# it sees the lease's end at its next wake-up, and exits
	wait_for 3 gone "$cmd"
	grep -q "lease expired: no longer leader" "$TMP/elect$old.log"
	new=$(leader_index)
	grep -q "waiting .* ms for the lease of $oldpid@" "$TMP/elect$new.log"
	# the old command handled nothing once the new one had started (it
	# notices the end of its lease at its next wake-up, before any record)
	started=$(grep "leading lock:" "$TMP/elect$new.log" | tail -1 | cut -c1-12)
	last=$(grep -- "offerd: <- " "$TMP/elect$old.log" | tail -1 | cut -c1-12)
	[[ -z "$last" || "$last" < "$started" ]]
}

@test "SIGTERM: the leader stops its command, resigns and exits 0; a standby leads at once" {
	elect_three
	wait_for 10 serving
	old=$(leader_index)
	eval "oldpid=\$PID_elect$old"
	cmd=$(command_pid "$old")
	kill -TERM "$oldpid"
	st=0
	wait "$oldpid" || st=$?
	[ "$st" -eq 0 ]
	! kill -0 "$cmd" 2>/dev/null || false
	wait_for 3 led_by_other "$old"
}

@test "a command that exits gives up leadership; cluster-elect exits with its status" {
	run cluster-elect -d --lock "$TMP/lock" --endpoint ipc://nowhere -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *"giving up leadership"* ]]
	run cluster-elect -d --lock "$TMP/lock" --endpoint ipc://nowhere -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	# and the next candidate is not kept waiting
	run cluster-elect -d --lock "$TMP/lock" --endpoint ipc://nowhere -- true
	[ "$status" -eq 0 ]
	[[ "$output" != *"waiting"* ]]
}

@test "the lease is readable by any command: a deadline in CLOCK_BOOTTIME ms, revoked on loss" {
	run cluster-elect --lock "$TMP/lock" --endpoint ipc://nowhere -- sh -c \
	    'd=$(od -An -t d8 -N8 "/dev/fd/$CLUSTER_LEASE_FD"); u=$(cut -d" " -f1 /proc/uptime); echo "deadline=$d uptime=$u"'
	[ "$status" -eq 0 ]
	d=$(echo "$output" | sed -n 's/.*deadline= *\([0-9]*\).*/\1/p')
	u=$(echo "$output" | sed -n 's/.*uptime=\([0-9]*\)\.\([0-9]*\).*/\1\20/p')
	echo "deadline $d ms, now $u ms"
	# valid for at most a session from now
	[ "$d" -gt "$u" ]
	[ "$d" -le $((u + 1100 + 2000)) ]
}

# man_example: the first example of cluster-elect(8) (three masters on a
# lock file), as a shell script.
man_example() {
	awk '/^Three masters on one machine/ { on = 1; next }
	    on && /^\.Bd/ { lit = 1; next }
	    lit && /^\.Ed/ { exit }
	    lit { gsub(/\\e/, "\\"); print }' "$TOP/man/cluster-elect.8"
}

@test "the manual's lock file example works as written on a fresh machine: /run/cluster is made" {
	# a fresh machine: /run and /var/lib exist, /run/cluster does not
	mkdir -p "$TMP/run" "$TMP/var/lib"
	man_example | sed -e "s|/run/|$TMP/run/|g" -e "s|/var/lib/|$TMP/var/lib/|g" \
	    >"$TMP/example.sh"
	grep -q "cluster-elect -d --session-timeout 1s --lock $TMP/run/cluster/master.lock" "$TMP/example.sh"
	bash "$TMP/example.sh" >"$TMP/example.log" 2>&1
	cat "$TMP/example.log"
	grep -q "^tcp://127.0.0.1:505[123]$" "$TMP/example.log"
	[ "$(stat -c %a "$TMP/run/cluster")" = 755 ]
	ELECT_MASTER="lock://$TMP/run/cluster/master.lock"
	wait_for 10 serving
	! grep -q "directory does not exist" "$TMP/example.log" || false
}

@test "a lock directory or file that others may write, or a symbolic link, is refused: nobody else may publish a leader" {
	mkdir -m 0777 "$TMP/open"
	run cluster-elect -d --lock "$TMP/open/lock" --endpoint ipc://x -- true
	[ "$status" -eq 111 ]
	[[ "$output" == *"$TMP/open: mode 0777: others could replace the lock file (chmod go-w $TMP/open)"* ]]
	[ ! -e "$TMP/open/lock" ]
	mkdir -m 0755 "$TMP/d"
	touch "$TMP/d/lock"
	chmod 0666 "$TMP/d/lock"
	run cluster-elect -d --lock "$TMP/d/lock" --endpoint ipc://x -- true
	[ "$status" -eq 111 ]
	[[ "$output" == *"$TMP/d/lock: mode 0666: others could publish a leader"* ]]
	chmod 0644 "$TMP/d/lock"
	ln -s "$TMP/d/lock" "$TMP/d/link"
	run cluster-elect -d --lock "$TMP/d/link" --endpoint ipc://x -- true
	[ "$status" -eq 111 ]
	[[ "$output" == *"a symbolic link"* ]]
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody "$TMP/d/lock"
		run cluster-elect -d --lock "$TMP/d/lock" --endpoint ipc://x -- true
		[ "$status" -eq 111 ]
		[[ "$output" == *"owned by uid $(id -u nobody), neither us nor root"* ]]
		chown root "$TMP/d/lock"
	fi
	# nor do clients believe such a file
	printf 'cluster-elect/1 1 h 1000 %s 1 ipc://%s/evil.ipc\n' \
	    "$(( $(date +%s%3N) + 60000 ))" "$TMP" >"$TMP/d/forged"
	chmod 0666 "$TMP/d/forged"
	run cluster-ctl -m "lock://$TMP/d/forged" leader
	[ "$status" -eq 111 ]
	[[ "$output" == *"$TMP/d/forged: others may write it: not believed"* ]]
	chmod 0644 "$TMP/d/forged"
	[ "$(cluster-ctl -m "lock://$TMP/d/forged" leader)" = "ipc://$TMP/evil.ipc" ]
	# a sticky directory such as /tmp is fine: nobody else removes our files
	mkdir -m 1777 "$TMP/sticky"
	run cluster-elect -d --lock "$TMP/sticky/lock" --endpoint ipc://x -- sh -c 'exit 5'
	[ "$status" -eq 5 ]
	run cluster-elect -d --lock "$TMP/d/lock" --endpoint ipc://x -- sh -c 'exit 6'
	[ "$status" -eq 6 ]
}
