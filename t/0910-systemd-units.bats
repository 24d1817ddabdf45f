#!/usr/bin/env bats
# The systemd units of share/systemd (offerd.service, offerd-elect.service,
# agentd.service): make install puts them in SYSTEMDDIR with the programs'
# installed paths, systemd-analyze verify finds nothing to say about them,
# and offerd serves within the capability bounding set and no_new_privs
# its units give it.

load helper

setup() {
	setup_tmp
	UNITS="offerd.service offerd-elect.service agentd.service"
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# install_units: make install to $TMP/usr (OFFERD_USER=root: no user is
# made on this machine for it); the units end in $TMP/usr/lib/systemd/system.
install_units() {
	make -C "$TOP" -s install PREFIX="$TMP/usr" OFFERD_USER=root \
	    >"$TMP/install.log" 2>&1
	SYSD="$TMP/usr/lib/systemd/system"
}

# unit_value UNIT KEY: the value of KEY in the source unit UNIT.
unit_value() {
	sed -n "s/^$2=//p" "$TOP/share/systemd/$1"
}

@test "make install puts the units in SYSTEMDDIR with the installed programs' paths" {
	install_units
	for u in $UNITS; do
		[ -f "$SYSD/$u" ]
		[ "$(stat -c %a "$SYSD/$u")" = 644 ]
		! grep -q @BINDIR@ "$SYSD/$u" || false
	done
	grep -qx "ExecStart=$TMP/usr/bin/offerd -d -p /run/offerd/offerd.pid \$OFFERD_OPTS" "$SYSD/offerd.service"
	grep -qx "ExecStart=$TMP/usr/bin/agentd -d -p /run/agentd/agentd.pid \$AGENTD_OPTS" "$SYSD/agentd.service"
	grep -q "^ExecStart=$TMP/usr/bin/cluster-elect -d \$ELECT_OPTS -- $TMP/usr/bin/offerd " "$SYSD/offerd-elect.service"
	# the environment files of offerd(8) and agentd(8), FILES
	grep -qx 'EnvironmentFile=-/etc/default/cluster-offerd' "$SYSD/offerd.service"
	grep -qx 'EnvironmentFile=-/etc/default/cluster-agentd' "$SYSD/agentd.service"
	grep -qx 'EnvironmentFile=-/etc/default/cluster-elect' "$SYSD/offerd-elect.service"
	make -C "$TOP" -s uninstall PREFIX="$TMP/usr" >>"$TMP/install.log" 2>&1
	for u in $UNITS; do [ ! -e "$SYSD/$u" ]; done
}

@test "systemd-analyze verify passes on the installed units" {
	command -v systemd-analyze >/dev/null ||
	    skip "systemd-analyze is not installed (Debian package systemd)"
	install_units
	# it checks that every command and man page exists: the installed ones
	run env MANPATH="$TMP/usr/share/man" systemd-analyze verify \
	    "$SYSD/offerd.service" "$SYSD/offerd-elect.service" \
	    "$SYSD/agentd.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]	# an unknown key is only a warning: none either
}

@test "agentd.service delegates its cgroup, keeps tasks over a stop and an OOM kill; no pids cap" {
	[ "$(unit_value agentd.service Delegate)" = yes ]
	[ "$(unit_value agentd.service KillMode)" = process ]
	[ "$(unit_value agentd.service OOMPolicy)" = continue ]
	[ "$(unit_value agentd.service TasksMax)" = infinity ]
	# agentd ignores SIGHUP (agentd(8)): no reload that does nothing
	[ -z "$(unit_value agentd.service ExecReload)" ]
	# offerd reloads on SIGHUP, through cluster-elect too
	[ "$(unit_value offerd.service ExecReload)" = '/bin/kill -HUP $MAINPID' ]
	[ "$(unit_value offerd-elect.service ExecReload)" = '/bin/kill -HUP $MAINPID' ]
}

@test "offerd serves with its units' capability bounding set and no_new_privs" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v setpriv >/dev/null || skip "setpriv is not installed (util-linux)"
	caps=$(unit_value offerd.service CapabilityBoundingSet)
	[ -n "$caps" ]
	[ "$caps" = "$(unit_value offerd-elect.service CapabilityBoundingSet)" ]
	[ "$(unit_value offerd.service NoNewPrivileges)" = yes ]
	# CAP_SETUID CAP_KILL -> -all,+setuid,+kill
	set=-all
	for c in $caps; do
		c=${c#CAP_}
		set="$set,+$(echo "$c" | tr A-Z a-z)"
	done
	# a first start makes the work dir, a restart takes the user's own
	start_daemon offerd0 setpriv --bounding-set "$set" --inh-caps -all \
	    --no-new-privs offerd -d -v -w "$TMP/master" -p "$TMP/offerd.pid"
	wait_for 10 test -S "$TMP/master.ipc"
	kill -TERM "$PID_offerd0"
	wait_for 10 sh -c '! kill -0 "$1" 2>/dev/null' - "$PID_offerd0"
	[ "$(stat -c %U "$TMP/master")" = "$(offerd_user)" ]
	start_daemon offerd setpriv --bounding-set "$set" --inh-caps -all \
	    --no-new-privs offerd -d -v -w "$TMP/master" -p "$TMP/offerd.pid"
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:1;mem:256' -g 1s
	wait_for 15 agents_registered 1
	grep -q "serving as $(offerd_user)" "$TMP/offerd.log"
	[ "$(cat "$TMP/offerd.pid")" -eq "$PID_offerd" ]
	grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$PID_offerd/status"
	run cluster-ctl run -- echo bounded
	[ "$status" -eq 0 ]
	[[ "$output" == *bounded* ]]
	# SIGHUP, the units' ExecReload: the parent reads the files again
	kill -HUP "$PID_offerd"
	wait_for 5 grep -q "SIGHUP: reading the files again" "$TMP/offerd.log"
	kill -TERM "$PID_offerd"
	wait_for 10 sh -c '! kill -0 "$1" 2>/dev/null' - "$PID_offerd"
	! grep -q 'Operation not permitted' "$TMP/offerd.log" || false
}
