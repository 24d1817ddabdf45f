#!/usr/bin/env bats
# cluster-ctl top (cluster-ctl(1)): in a real terminal (a tmux pane, read
# with capture-pane) it shows agents, frameworks with their shares and
# tasks per state, refreshes, and quits on q or Ctrl-C with the terminal
# as it was; without a terminal it prints one frame per interval.

load helper

setup() {
	setup_tmp
	need_debs tmux
	start_cluster 2
	SOCK="$TMP/tmux.sock"
}
teardown() {
	tmux -S "$SOCK" kill-server 2>/dev/null || true
	dump_logs
	teardown_daemons
	cleanup_tmp
}

# screen: what the tmux pane shows now.
screen() {
	tmux -S "$SOCK" capture-pane -p -t top
}

# shows TEXT: true when the pane shows TEXT.
shows() {
	screen | grep -qF -- "$1"
}

# top_in_tmux: start cluster-ctl top in a 120x40 pane; when it ends, the
# shell there says how, and the terminal's settings after it.
top_in_tmux() {
	tmux -S "$SOCK" new-session -d -s top -x 120 -y 40 \
	    "PATH='$PATH' CLUSTER_MASTER='$CLUSTER_MASTER' CLUSTER_CONF='$CLUSTER_CONF' cluster-ctl top -I 500ms; echo TOP-EXITED-\$?; stty -a | tr ' ;' '\\n\\n' | grep -x 'icanon\\|echo' | sed 's/^/TTY-/'; sleep 60"
}

@test "top shows agents, frameworks with shares and tasks in a terminal, and q quits" {
	cluster-ctl run -q -N busy -c 1 -- sleep 60 &
	runpid=$!
	wait_for 15 sh -c '[ "$(cluster-ctl -h -o state tasks | grep -c TASK_RUNNING)" -eq 1 ]'
	top_in_tmux
	wait_for 15 shows "Agents: 2 active, 0 unreachable"
	shows "q quits"
	shows "1 RUNNING"
	shows "CPU     [#####"
	shows "25.0% used"
	# the tables: the framework with its dominant share, both agents
	screen | grep -E '^fw-[0-9a-f]+ +busy +\* +yes +1 +0\.250'
	screen | grep -qE '^agent-[0-9a-f]+ +host1 '
	screen | grep -qE '^agent-[0-9a-f]+ +host2 '
	# it refreshes: the task ends and the next frames show it
	kill -INT "$runpid"
	wait "$runpid" || true
	wait_for 15 shows "1 KILLED"
	# one frame on the screen, not one after the other
	[ "$(screen | grep -c 'cluster-ctl top:')" -eq 1 ]
	tmux -S "$SOCK" send-keys -t top q
	wait_for 10 shows "TOP-EXITED-0"
	# the terminal is back in canonical mode, with echo
	wait_for 5 shows "TTY-icanon"
	shows "TTY-echo"
}

@test "top quits on Ctrl-C, the terminal restored" {
	top_in_tmux
	wait_for 15 shows "Agents: 2 active"
	tmux -S "$SOCK" send-keys -t top C-c
	wait_for 10 shows "TOP-EXITED-0"
	wait_for 5 shows "TTY-icanon"
}

@test "top without a terminal prints one frame per interval, -n of them" {
	run cluster-ctl top -n 3 -I 200ms </dev/null
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^cluster-ctl top:')" -eq 3 ]
	[ "$(echo "$output" | grep -c '^Agents: 2 active')" -eq 3 ]
	# plain text: no terminal codes
	[ -z "$(echo "$output" | grep -F "$(printf '\033')")" ]
	[[ "$output" != *"q quits"* ]]
	run cluster-ctl top -n 0
	[ "$status" -eq 100 ]
	run cluster-ctl top -I 1ms
	[ "$status" -eq 100 ]
}
