# Shared set-up of the election tests (t/0800-elect-*.bats) and of
# t/bench/failover: candidates under cluster-elect, each running its own
# offerd, and a real ZooKeeper server on loopback.  Load after helper.

ELECT_SESSION=${ELECT_SESSION:-1s}

# elect_start I [cluster-elect options]: candidate I runs
# "offerd -l ipc://$TMP/mI.ipc -w $TMP/wI" while it leads; the election is
# $ELECT_ARGS (-l FILE or -z URL).  Its log is $TMP/elect$I.log, its pid
# $PID_electI.  setsid gives it its own process group, as a supervisor
# would: the command then has another one, and both can be stopped apart.
elect_start() {
	local i=$1; shift
	start_daemon "elect$i" setsid cluster-elect -d -v --session-timeout "$ELECT_SESSION" \
	    "$@" $ELECT_ARGS -- offerd -d -vv -l "ipc://$TMP/m$i.ipc" \
	    -w "$TMP/w$i" $OFFERD_FLAGS
}

# elect_three: three candidates.
elect_three() {
	elect_start 1
	elect_start 2
	elect_start 3
}

# leader_index: the number of the candidate that leads now, from the
# election itself; fails when none does.
leader_index() {
	local ep
	ep=$(cluster-ctl -m "$ELECT_MASTER" leader 2>/dev/null) || return 1
	case $ep in
	"ipc://$TMP/m"*.ipc) ep=${ep#"ipc://$TMP/m"}; echo "${ep%.ipc}" ;;
	*) return 1 ;;
	esac
}

# serving: true when the leader answers a query.
serving() {
	cluster-ctl -m "$ELECT_MASTER" -t 2s agents >/dev/null 2>&1
}

# led_by_other I: true when a candidate other than I leads and serves.
led_by_other() {
	local l
	l=$(leader_index) || return 1
	[ "$l" != "$1" ] && serving
}

# ms_between T0 T1: milliseconds from T0 to T1, both HH:MM:SS.mmm of
# local time as the logs write them (T1 may be past midnight).
ms_between() {
	local a b h m s ms
	IFS=:. read -r h m s ms <<<"$1"
	a=$(( ((10#$h * 60 + 10#$m) * 60 + 10#$s) * 1000 + 10#$ms ))
	IFS=:. read -r h m s ms <<<"$2"
	b=$(( ((10#$h * 60 + 10#$m) * 60 + 10#$s) * 1000 + 10#$ms ))
	[ "$b" -ge "$a" ] || b=$((b + 86400000))
	echo $((b - a))
}

# command_pid I: the pid of the command candidate I runs (its process
# group too); fails when it runs none.
command_pid() {
	local p pid
	eval "pid=\$PID_elect$1"
	p=$(pgrep -P "$pid" offerd) || return 1
	echo "$p"
}

# offerds_running: how many of the candidates run their command.
offerds_running() {
	local i n=0
	for i in 1 2 3; do command_pid "$i" >/dev/null && n=$((n + 1)); done
	echo "$n"
}

# kill_candidate I: kill -9 candidate I and its command's process group.
kill_candidate() {
	local pid cmd
	eval "pid=\$PID_elect$1"
	cmd=$(command_pid "$1") || true
	kill -KILL "$pid"
	[ -z "$cmd" ] || kill -KILL -- "-$cmd"
}

# kill_leader_within UP SECS MS: three candidates serve within UP
# seconds; once the leader (its number left in $old) and its command are
# killed, another leads and serves within SECS seconds, in under MS
# milliseconds, with one command running.
kill_leader_within() {
	local t0 t1
	elect_three
	wait_for "$1" serving
	old=$(leader_index)
	kill_candidate "$old"
	t0=$(date +%s%N)
	wait_for "$2" led_by_other "$old"
	t1=$(date +%s%N)
	echo "new leader after $(( (t1 - t0) / 1000000 )) ms"
	[ $(( (t1 - t0) / 1000000 )) -lt "$3" ]
	[ "$(offerds_running)" -eq 1 ]
}

# stopped_leader_yields UP SECS: three candidates serve within UP seconds;
# SIGSTOP the leader and its command; another leads within SECS seconds,
# and at SIGCONT the old one exits 111 before handling a record, its
# command gone, while the new one serves on.
stopped_leader_yields() {
	local old oldpid cmd handled late st
	elect_three
	wait_for "$1" serving
	old=$(leader_index)
	eval "oldpid=\$PID_elect$old"
	cmd=$(command_pid "$old")
	kill -STOP "$oldpid"
	kill -STOP -- "-$cmd"
	wait_for "$2" led_by_other "$old"
	handled=$(grep -c -- '<- ' "$TMP/elect$old.log" || true)
	# records wait for the stopped master
	cluster-ctl -m "ipc://$TMP/m$old.ipc" -t 3s agents >"$TMP/late.out" 2>&1 &
	late=$!
	sleep 0.5
	kill -CONT -- "-$cmd"
	kill -CONT "$oldpid"
	st=0
	wait "$oldpid" || st=$?
	[ "$st" -eq 111 ]
	grep -q "lease expired: no longer leader" "$TMP/elect$old.log"
	grep -q "no longer sure to lead" "$TMP/elect$old.log"
	# nothing was handled after the stop
	[ "$(grep -c -- '<- ' "$TMP/elect$old.log" || true)" -eq "$handled" ]
	st=0
	wait "$late" || st=$?
	[ "$st" -ne 0 ]
	! kill -0 "$cmd" 2>/dev/null || false
	# the new leader was never disturbed
	led_by_other "$old"
	[ "$(offerds_running)" -eq 1 ]
}

# elect_teardown: the teardown of every election test.
elect_teardown() {
	dump_logs; kill_leftovers; teardown_daemons; kill_leftovers; cleanup_tmp
}

# Every process left that belongs to this test's directory (commands of
# candidates killed on purpose, their allocators, a man page example's
# masters): killed by pid.
kill_leftovers() {
	local list pid args
	list=$(ps -eo pid=,args=)
	while read -r pid args; do
		case $args in
		*"ipc://$TMP/"*|*" $TMP/"*|*"lock://$TMP/"*)
			kill -CONT "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true ;;
		esac
	done <<<"$list"
	return 0
}

# ---- ZooKeeper ----

# zk_available: true when java and Debian's zookeeper package are here.
zk_available() {
	command -v java >/dev/null && [ -r /usr/share/java/zookeeper.jar ]
}

# zk_start DIR [PORT]: a standalone ZooKeeper on $ZK_ADDR (default
# 127.0.0.1) at PORT (by default a free one) with its data in DIR and a
# 200 ms tick (sessions of 400 ms to 4 s).  Sets ZK_PORT; its pid is in
# DIR/pid.  Waits until it accepts connections.
zk_start() {
	local dir=$1 i pid addr=${ZK_ADDR:-127.0.0.1}
	mkdir -p "$dir/data"
	ZK_PORT=${2:-$(python3 -c 'import socket, sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$addr")}
	cat >"$dir/zoo.cfg" <<-EOF
	tickTime=200
	dataDir=$dir/data
	clientPort=$ZK_PORT
	clientPortAddress=$addr
	admin.enableServer=false
	maxClientCnxns=0
	EOF
	java -Xmx128m -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
	    -Dzookeeper.log.dir="$dir" \
	    org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
	    >>"$dir/zookeeper.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/pid"
	export ZK_PORT
	for i in $(seq 150); do
		(exec 3<>"/dev/tcp/$addr/$ZK_PORT") 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "ZooKeeper did not start:" >&2
	tail -20 "$dir/zookeeper.log" >&2
	return 1
}

# zk_file_start: the setup_file of a bats file of ZooKeeper tests: one
# server for the whole file (ZK_DIR, ZK_PORT), or ZK_SKIP saying why not.
zk_file_start() {
	ZK_SKIP=
	if ! zk_available; then
		export ZK_SKIP="needs java and Debian's zookeeper package (apt-get install zookeeper)"
		return 0
	fi
	ZK_DIR=$(mktemp -d /tmp/cluster-zk.XXXXXX)
	export ZK_DIR
	zk_start "$ZK_DIR"
}

# zk_file_stop: the teardown_file that goes with zk_file_start.
zk_file_stop() {
	[ -z "${ZK_DIR:-}" ] || zk_stop "$ZK_DIR"
	[ -z "${ZK_DIR:-}" ] || rm -rf "$ZK_DIR"
}

# zk_stop DIR: stop the server zk_start DIR started.
zk_stop() {
	local pid
	pid=$(cat "$1/pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$1/pid"
	return 0
}
