# Shared set-up for the bats suite: every test gets its own temporary
# directory, its own ipc endpoints and the freshly built programs on PATH.
# Daemons started with start_daemon are stopped by teardown_daemons.
# An assertion that something is not so is written '! cmd || false':
# bats stops a test at a failed command through set -e, which ignores
# a command negated with ! (t/0130 holds the suite to it).

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
export PATH="$TOP/build/bin:$PATH"

setup_tmp() {
	TMP=$(mktemp -d /tmp/cluster-test.XXXXXX)
	# tasks run as nobody (agentd -U): they reach their sandboxes under it
	chmod 711 "$TMP"
	export TMP
	# offerd started as root serves as an unprivileged user (offerd(8),
	# PRIVILEGE SEPARATION): it makes its socket and work dir in here
	[ "$(id -u)" -ne 0 ] || chmod 1733 "$TMP"
	export CLUSTER_MASTER="ipc://$TMP/master.ipc"
	# the credentials the first daemon makes (cluster-protocol(7), IDENTITY)
	export CLUSTER_CONF="$TMP/conf"
	PIDS=""
	# under t/san, this test's sanitizer reports (of every program it
	# starts, daemons included) go to files named after it
	if [ -n "${SAN_DIR:-}" ]; then
		local at="$SAN_DIR/${BATS_TEST_FILENAME##*/}"
		at="${at%.bats}-$BATS_SUITE_TEST_NUMBER"
		export ASAN_OPTIONS="$SAN_ASAN:log_path=$at"
		export UBSAN_OPTIONS="$SAN_UBSAN:log_path=$at"
	fi
}

# offerd_fails MESSAGE OPTION...: offerd started with OPTION... (on a
# work dir and socket of its own) stops at once with 111, saying MESSAGE.
offerd_fails() {
	local msg=$1; shift
	run offerd -d -w "$TMP/m2" -l "ipc://$TMP/m2.ipc" "$@"
	[ "$status" -eq 111 ]
	[[ "$output" == *"$msg"* ]]
}

# offerd_user: the user offerd started as root serves as by default
# (offerd(8), -u): offerd when that user exists, else nobody.
offerd_user() {
	if getent passwd offerd >/dev/null; then echo offerd; else echo nobody; fi
}

# start_daemon NAME CMD...: run CMD in the background, its output in
# $TMP/NAME.log, and remember it for teardown.
start_daemon() {
	local name=$1; shift
	"$@" >"$TMP/$name.log" 2>&1 3>&- &
	PIDS="$PIDS $!"
	eval "PID_$(echo "$name" | tr -c 'a-zA-Z0-9_\n' _)=$!"
}

teardown_daemons() {
	local p
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	PIDS=""
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(( $(date +%s) + $1 )); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Print every daemon log; bats shows it only when a test fails.
dump_logs() {
	local f
	for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done
}

cleanup_tmp() {
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# start_cluster [N]: offerd (with its drf-alloc) and N agents (default 2),
# each agent offering cpus:2;mem:1024, all on ipc endpoints under $TMP.
# Waits until every agent is registered.  Extra offerd flags: $OFFERD_FLAGS.
start_cluster() {
	local n=${1:-2} i
	start_daemon offerd offerd -d -v -w "$TMP/master" $OFFERD_FLAGS
	for i in $(seq "$n"); do
		start_daemon "agent$i" agentd -d -v -k -w "$TMP/agent$i" \
		    -N "host$i" -R "${AGENT_RESOURCES:-cpus:2;mem:1024}" \
		    -a "rack:r$i" -g 1s
	done
	wait_for 15 agents_registered "$n"
}

# agent1_kill9: agent1 of start_cluster dies at once (its tasks live on).
agent1_kill9() {
	kill -KILL "$PID_agent1"
	wait "$PID_agent1" 2>/dev/null || true
}

# agent1_restart: agent1 again, as start_cluster started it, its log in
# agent1b.log.
agent1_restart() {
	start_daemon agent1b agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R "${AGENT_RESOURCES:-cpus:2;mem:1024}" -a rack:r1 -g 1s
}

# agents_registered N: true when the master lists N active agents.
agents_registered() {
	[ "$(cluster-ctl -h -o active agents 2>/dev/null | grep -c yes)" -eq "$1" ]
}

# A framework driven through the scheduler bridge (cluster-ctl subscribe):
# bridge_start NAME [subscribe options]: events go to $TMP/NAME.ev, calls
# are written with bridge_send NAME JSON.  Stopped by teardown_daemons.
bridge_start() {
	local name=$1; shift
	mkfifo "$TMP/$name.in"
	cluster-ctl subscribe -N "$name" "$@" <"$TMP/$name.in" >"$TMP/$name.ev" 2>"$TMP/$name.log" 3>&- &
	PIDS="$PIDS $!"
	eval "PID_bridge_$name=$!"
	# keep the FIFO open for writing in this shell
	eval "exec {BRIDGE_FD_$name}>\"\$TMP/\$name.in\""
	wait_for 10 grep -q '"type":"SUBSCRIBED"' "$TMP/$name.ev"
}

bridge_send() {
	local fd
	eval "fd=\$BRIDGE_FD_$1"
	echo "$2" >&"$fd"
}

# bridge_wait NAME PATTERN [SECONDS]: wait until the events hold PATTERN.
bridge_wait() {
	wait_for "${3:-15}" grep -q -- "$2" "$TMP/$1.ev"
}

# bridge_count NAME PATTERN: how many event lines hold PATTERN.
bridge_count() {
	grep -c -- "$2" "$TMP/$1.ev" || true
}

# bridge_accept NAME TASK [HOST]: take a free offer (of HOST's agent when
# given; wait for one after a REVIVE) and launch TASK, one task
# description in JSON, on it, refusing nothing of the rest.
bridge_accept() {
	local offer
	bridge_send "$1" '{"type":"REVIVE"}'
	wait_for 15 bridge_free_offer "$1" ${3:+"$3"}
	offer=$(bridge_free_offer "$1" ${3:+"$3"})
	echo "$offer" >>"$TMP/$1.used"
	bridge_send "$1" "{\"type\":\"ACCEPT\",\"offer_id\":\"$offer\",\"refuse_seconds\":0,\"tasks\":[$2]}"
}

# bridge_launch NAME TASK_ID COMMAND [RESOURCES]: accept an outstanding
# offer (or the next one) with one task running COMMAND under sh -c.
bridge_launch() {
	bridge_accept "$1" "{\"task_id\":\"$2\",\"resources\":\"${4:-cpus:0.5;mem:64}\",\"command\":\"$3\"}"
}

# bridge_free_offer NAME [HOST]: print the newest offer (of HOST's agent
# when given) neither used nor rescinded.
bridge_free_offer() {
	local o
	for o in $(grep '"type":"OFFER"' "$TMP/$1.ev" | grep -e "${2:+\"hostname\":\"$2\"}" |
	    sed 's/.*"offer_id":"\([^"]*\)".*/\1/' | tac); do
		grep '"type":"RESCIND"' "$TMP/$1.ev" | grep -q "\"offer_id\":\"$o\"" && continue
		[ -f "$TMP/$1.used" ] && grep -qx "$o" "$TMP/$1.used" && continue
		echo "$o"
		return 0
	done
	return 1
}

# bridge_fw NAME: the framework id the bridge subscribed with.
bridge_fw() {
	grep '"type":"SUBSCRIBED"' "$TMP/$1.ev" | head -1 |
	    sed 's/.*"framework_id":"\([^"]*\)".*/\1/'
}

# task_states NAME TASK: the states the framework saw for TASK, in order.
task_states() {
	grep '"type":"STATUS"' "$TMP/$1.ev" | grep "\"task_id\":\"$2\"" |
	    sed 's/.*"state":"\([A-Z_]*\)".*/\1/' | tr '\n' ' '
}

# status_field NAME TASK STATE FIELD: FIELD of the first STATE update of
# TASK that bridge NAME saw.
status_field() {
	grep '"type":"STATUS"' "$TMP/$1.ev" | grep "\"task_id\":\"$2\"" |
	    grep "\"state\":\"$3\"" | head -1 | jq -r ".$4"
}

# bridge_ack NAME TASK UUID: acknowledge an update through bridge NAME.
bridge_ack() {
	bridge_send "$1" "{\"type\":\"ACKNOWLEDGE\",\"task_id\":\"$2\",\"uuid\":\"$3\"}"
}

# gone PID: true when process PID has ended.
gone() {
	! kill -0 "$1" 2>/dev/null || false
}

# no_process PATTERN: true when no process's command line holds PATTERN
# (a function, so that no shell of ours holds it in its own arguments).
no_process() {
	! pgrep -f "$1" >/dev/null || false
}

# principal NAME: a credential for NAME in $TMP/NAME, added to the master's
# credentials; the master (PID_offerd) is told with SIGHUP and has read it
# when this returns.
principal() {
	local n
	n=$(grep -c "principals from" "$TMP/offerd.log" || true)
	cluster-ctl credential --add "$1" "$TMP/$1" >/dev/null
	kill -HUP "$PID_offerd"
	# sh -c: the count is taken again at every try, not once here
	wait_for 5 sh -c 'test "$(grep -c "principals from" "$1")" -gt "$2"' - \
	    "$TMP/offerd.log" "$n"
}

# batch_of PYTHON-LIST: the msgpack frame of the records PYTHON-LIST
# (cluster-protocol(7), Framing), on stdout
batch_of() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mpack
sys.stdout.buffer.write(mpack.pack(eval(sys.argv[2])))' "$TOP/t" "$1"
}

# ---- metrics (offerd --metrics, agentd --metrics; t/095x) ----

# metrics_port NAME: the port daemon NAME (started with -v and -M
# ADDR:0) says it serves its metrics on.
metrics_port() {
	sed -n 's/.*metrics on [^ ]*: port \([0-9]*\), .*/\1/p' \
	    "$TMP/$1.log" | tail -1
}

# metric SAMPLE: the value of SAMPLE (its name and labels exactly as the
# text writes them) in the metrics text on stdin; nothing when absent.
metric() {
	awk -v n="$1" '$1 == n { print $2 }'
}

# free_port: a loopback TCP port that is free now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# need_debs PACKAGE...: install the Debian packages that are missing
# (root only, waiting for other installs), else skip the test.
need_debs() {
	local p missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || skip "needs$missing (Debian), installed as root"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
	    install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
	    skip "cannot install$missing"
}

# send_rec JSON: send one record to the master; its answers in $output.
# cluster-ctl send gives up when the socket is not connected in time (a
# loaded machine): that is tried again, twice.
send_rec() {
	local i
	for i in 1 2 3; do
		run sh -c 'echo "$1" | cluster-ctl send --wait 500ms' - "$1"
		[[ "$output" != *"cannot send to the master"* ]] && break
	done
	echo "$1 -> $output"
}

# man_documents PAGE HEADER PREFIX: man/PAGE is clean for mandoc and has
# an .Fn for every function named PREFIX_* that lib/HEADER declares.
man_documents() {
	local f
	run mandoc -T lint -W warning "$TOP/man/$1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for f in $(grep -o "^[a-z_ *]*\\b$3_[a-z_]*(" "$TOP/lib/$2" |
	    grep -o "$3_[a-z_]*" | sort -u); do
		grep -q "^\.Fn $f " "$TOP/man/$1" || { echo "undocumented: $f"; false; }
	done
}

# man_example PAGE OUT: the C program of man/PAGE's EXAMPLES, unescaped,
# written to OUT.
man_example() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE ALSO/p' "$TOP/man/$1" |
	    sed -n '/^\.Bd -literal$/,/^\.Ed$/p' | sed '1d' |
	    sed '/^\.Ed$/,$d' | sed -e 's/\\e/\\/g' -e 's/\\&//g' >"$2"
}

# executor_example DEST: the example of executor(3) compiled to DEST, the
# executor of the executor tests (t/065x).
executor_example() {
	local cc libs
	cc=$(cat "$TOP/build/cc" 2>/dev/null || echo cc)
	libs="$(pkg-config --libs libbsd-overlay msgpack nanomsg jansson libcap libsodium) -lzookeeper_mt -lm"
	man_example executor.3 "$1.c"
	$cc -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror \
	    -I"$TOP/lib" -isystem /usr/include/bsd -DLIBBSD_OVERLAY \
	    -o "$1" "$1.c" "$TOP/build/libcluster.a" $libs
	chmod 755 "$1"
}

# kill_strays: kill what a test left running from its directory (tasks,
# executors): teardown's last resort before its directory goes.
kill_strays() {
	local p
	for p in $(pgrep -f "$TMP/"); do kill -KILL "$p" 2>/dev/null || true; done
}
