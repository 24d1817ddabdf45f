#!/usr/bin/env bats
# Privilege separation with the real daemons (offerd(8), PRIVILEGE
# SEPARATION): offerd started as root keeps a root parent that holds the
# pid file, passes signals on and reads the credentials; everything that
# serves (offerd's child and its allocator) runs as an unprivileged user
# with no capability.  Needs root.

load helper

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	setup_tmp
	U=$(offerd_user)
	UID_U=$(id -u "$U")
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# serving_pid: the pid of offerd's serving child (of PID_offerd).
serving_pid() {
	pgrep -P "$PID_offerd" -x offerd
}

# unprivileged PID: PID runs as $U, every uid of it, with no capability
# and no way to gain one.
unprivileged() {
	[ "$(ps -o user= -p "$1")" = "$U" ]
	[ "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status")" = \
	    "$UID_U $UID_U $UID_U $UID_U" ]
	grep -q '^CapEff:[[:space:]]*0*$' "/proc/$1/status"
	grep -q '^CapPrm:[[:space:]]*0*$' "/proc/$1/status"
	grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$1/status"
}

@test "offerd started as root serves as an unprivileged user; the parent stays root; the cluster runs a task" {
	OFFERD_FLAGS="-p $TMP/offerd.pid" start_cluster 1
	child=$(serving_pid)
	[ -n "$child" ]
	[ "$(ps -o user= -p "$PID_offerd")" = root ]
	[ "$(cat "$TMP/offerd.pid")" -eq "$PID_offerd" ]
	unprivileged "$child"
	grep -q "serving as $U (uid $UID_U), pid $child; the parent $PID_offerd stays root" "$TMP/offerd.log"
	# the allocator is the child's, and as unprivileged
	alloc=$(pgrep -P "$child" -x drf-alloc)
	unprivileged "$alloc"
	# the work dir and what is in it are the user's only
	[ "$(stat -c '%U %a' "$TMP/master")" = "$U 700" ]
	run cluster-ctl run -- echo privsep
	[ "$status" -eq 0 ]
	[[ "$output" == *TASK_FINISHED* ]]
	kill -HUP "$PID_offerd"	# the durable state is written
	wait_for 5 test -e "$TMP/master/state.json"
	[ "$(stat -c '%U %a' "$TMP/master/state.json")" = "$U 600" ]
}

@test "SIGHUP: the parent reads the root-only credentials file and the child takes a new principal" {
	start_cluster 1
	[ "$(stat -c '%U %a' "$CLUSTER_CONF/credentials")" = "root 600" ]
	# the serving user could not read it itself
	run su "$U" -s /bin/sh -c "cat '$CLUSTER_CONF/credentials'"
	[ "$status" -ne 0 ]
	"$TOP/build/test/auth-test" new carol "$TMP/carol-before"
	run cluster-ctl -C "$TMP/carol-before" agents
	[ "$status" -eq 1 ]
	[[ "$output" == *"no credential for the principal"* ]]
	principal carol
	grep -q "SIGHUP: reading the files again for the serving process" "$TMP/offerd.log"
	grep -q "2 principals from $CLUSTER_CONF/credentials" "$TMP/offerd.log"
	run cluster-ctl -C "$TMP/carol" -h -o hostname agents
	[ "$status" -eq 0 ]
	[ "$output" = host1 ]
	# a file the parent refuses (too open) keeps the principals taken
	chmod 644 "$CLUSTER_CONF/credentials"
	n=$(grep -c "too open" "$TMP/offerd.log" || true)
	kill -HUP "$PID_offerd"
	wait_for 5 sh -c 'test "$(grep -c "too open" "$1")" -gt "$2"' - \
	    "$TMP/offerd.log" "$n"
	run cluster-ctl -C "$TMP/carol" -h -o hostname agents
	[ "$status" -eq 0 ]
	[ "$output" = host1 ]
}

@test "SIGTERM to the parent stops both with status 0 and removes the pid file" {
	start_daemon offerd offerd -d -v -w "$TMP/master" -p "$TMP/offerd.pid"
	wait_for 10 grep -q "listening on" "$TMP/offerd.log"
	child=$(serving_pid)
	alloc=$(pgrep -P "$child" -x drf-alloc)
	kill -TERM "$PID_offerd"
	st=0
	wait "$PID_offerd" || st=$?
	[ "$st" -eq 0 ]
	! kill -0 "$child" 2>/dev/null || false
	wait_for 5 sh -c "! kill -0 $alloc 2>/dev/null"
	[ ! -e "$TMP/offerd.pid" ]
	grep -q stopping "$TMP/offerd.log"
}

@test "the serving child ends when the root parent is killed" {
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 10 grep -q "listening on" "$TMP/offerd.log"
	child=$(serving_pid)
	kill -KILL "$PID_offerd"
	wait_for 5 sh -c "! kill -0 $child 2>/dev/null"
}

@test "-u: an unknown user is a usage error; a given user serves; -u root does not separate; not root, only oneself" {
	run offerd -d -w "$TMP/master" -u no-such-user-$$
	[ "$status" -eq 100 ]
	[[ "$output" == *"-u no-such-user-$$: no such user"* ]]
	[ ! -e "$TMP/master" ]
	run su nobody -s /bin/sh -c "$TOP/build/bin/offerd --check -u root"
	[ "$status" -eq 100 ]
	[[ "$output" == *"only root may serve as another user"* ]]
	run su nobody -s /bin/sh -c "$TOP/build/bin/offerd --check -u nobody"
	[ "$status" -eq 0 ]
	U=nobody UID_U=$(id -u nobody)
	start_daemon offerd offerd -d -v -w "$TMP/master" -u nobody
	wait_for 10 grep -q "listening on" "$TMP/offerd.log"
	unprivileged "$(serving_pid)"
	[ "$(stat -c %U "$TMP/master")" = nobody ]
	# -u root: one process, as root, as before, and the log says so
	teardown_daemons
	start_daemon offerd offerd -d -v -w "$TMP/root" -u root
	wait_for 10 grep -q "listening on" "$TMP/offerd.log"
	grep -q -- "-u root: every record is handled as root" "$TMP/offerd.log"
	[ "$(ps -o user= -p "$PID_offerd")" = root ]
	! serving_pid || false
}

@test "a work dir holding files offerd did not make is not given away" {
	mkdir -m 755 "$TMP/w"
	echo mine >"$TMP/w/other"
	run offerd -d -w "$TMP/w"
	[ "$status" -eq 111 ]
	[[ "$output" == *"holds files offerd did not make"* ]]
	[ "$(stat -c '%U %a' "$TMP/w")" = "root 755" ]
	[ "$(stat -c %U "$TMP/w/other")" = root ]
	# one that holds offerd's own state, made as root before, is taken
	mkdir -m 750 "$TMP/old"
	echo '{"version":1}' >"$TMP/old/state.json"
	start_daemon offerd offerd -d -v -w "$TMP/old"
	wait_for 10 grep -q "listening on" "$TMP/offerd.log"
	[ "$(stat -c '%U %a' "$TMP/old")" = "$U 700" ]
	[ "$(stat -c '%U %a' "$TMP/old/state.json")" = "$U 600" ]
}
