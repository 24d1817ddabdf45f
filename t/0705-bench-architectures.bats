#!/usr/bin/env bats
# arch (t/bench/arch.c, the workload of t/bench/architectures): batch,
# iterative, gang and service frameworks on sched(3) run one seeded
# workload, time-scaled to seconds, on a real offerd and emulated agents,
# under every row (static partitions, offers, shared state, a mix), and
# every job ends.  No figure is checked against a number: figures are the
# benchmark's; this checks that it runs and reports what it says.

load helper

EMU=$TOP/build/bench/agent-emu
ARCH=$TOP/build/bench/arch
AGENTS=40
# 16 cpus an agent: a static quarter (10 agents) holds one 64-task gang
RES='cpus:16;mem:32768'

setup() {
	setup_tmp
	start_daemon offerd offerd -d -v -w "$TMP/master" \
	    --limit rate=100000000,burst=100000000
	wait_for 15 grep -q 'listening on' "$TMP/offerd.log"
	start_daemon emu "$EMU" -d -v -N arch -R "$RES" -a 'part:%{i%4}' "$AGENTS"
	wait_for 15 agents_registered "$AGENTS"
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# arch_row ROW: the workload at a tenth of its time scale, jobs arriving
# for 3 s, its figures in $TMP/ROW.out and its series in $TMP/ROW.dat.
arch_row() {
	"$ARCH" -m "$1" -s 7 -x 0.1 -t 3 -g 60 -c $((AGENTS * 16)) \
	    -M $((AGENTS * 32768)) -o "$TMP/$1.dat" >"$TMP/$1.out" 2>"$TMP/$1.err"
}

# figure ROW KIND NAME: the value of one figure line.
figure() {
	sed -n "s/^arch row=$1 kind=$2 .*$3=\([^ ]*\).*/\1/p" "$TMP/$1.out"
}

# all_done ROW: every kind ran jobs and every job ended.
all_done() {
	local k
	for k in batch iter gang service; do
		[ "$(figure "$1" "$k" jobs_done)" = "$(figure "$1" "$k" ' jobs')" ] ||
		    { echo "$1 $k: $(figure "$1" "$k" jobs_done) of $(figure "$1" "$k" ' jobs')"; return 1; }
	done
}

# static_partitioned: every task of kind K (0 batch, 1 iter, 2 gang, 3
# service) ran on an agent arch-i with i mod 4 = K, the frameworks'
# SUBSCRIBE filters part:K against agent-emu's part:%{i%4}.
static_partitioned() {
	cluster-ctl -h -o task_id,hostname tasks | awk '
	    BEGIN { k["batch"] = 0; k["iter"] = 1; k["gang"] = 2; k["service"] = 3 }
	    { split($1, t, "-"); split($2, h, "-"); n++
	      if (!(t[1] in k) || h[2] % 4 != k[t[1]]) { print "outside: " $0; bad++ } }
	    END { print n " tasks"; exit bad > 0 || n == 0 }'
}

@test "every row runs the same jobs to the end and prints its figures" {
	for row in static offers shared mix; do
		arch_row "$row" || { cat "$TMP/$row.err"; false; }
		cat "$TMP/$row.out"
		all_done "$row"
		[ "$(figure "$row" batch ' jobs')" -gt 0 ]
		[ "$(figure "$row" gang ' jobs')" -gt 0 ]
		[[ "$(figure "$row" all util_cpu_mean)" =~ ^0\.[0-9]{3}$|^1\.000$ ]]
		[[ "$(figure "$row" batch jct_p95_s)" =~ ^[0-9]+\.[0-9]{2}$ ]]
		# every job ended: the lower bound is the median itself
		for k in batch iter gang service; do
			[ "$(figure "$row" "$k" jct_p50_lb_s)" = "$(figure "$row" "$k" jct_p50_s)" ]
		done
		# a line of the series a second, with a count per kind
		[ "$(awk 'NF == 7' "$TMP/$row.dat" | wc -l)" -ge 3 ]
		[ "$row" != static ] || static_partitioned
	done
	# one seed, one workload: the same jobs in every row
	for k in batch iter gang service; do
		[ "$(figure static "$k" ' jobs')" = "$(figure shared "$k" ' jobs')" ]
		[ "$(figure offers "$k" ' jobs')" = "$(figure mix "$k" ' jobs')" ]
	done
	# the modes: shared-state kinds commit, offers kinds do not
	grep -q '^arch row=mix kind=batch mode=offers' "$TMP/mix.out"
	grep -q '^arch row=mix kind=iter mode=shared' "$TMP/mix.out"
	[ "$(figure shared gang commits)" -ge "$(figure shared gang ' jobs')" ]
	! grep -q 'row=offers .*commits=' "$TMP/offers.out" || false
}

# sweep_of ROW...: the rows' figures and series as the harness's sweep
# writes them (one decision time, 0.1), drawn again by it into $TMP/sweep.
sweep_of() {
	local r
	mkdir -p "$TMP/sweep"
	for r in "$@"; do
		sed 's/$/ service_decide=0.1/' "$TMP/$r.out"
		cp "$TMP/$r.dat" "$TMP/sweep/$r-0.1.dat"
	done >"$TMP/sweep/lines"
	PLOT_ONLY=1 SWEEP=0.1 OUT="$TMP/sweep" "$TOP/t/bench/architectures" "$@"
}

@test "the harness tabulates and plots a sweep's figures" {
	for row in offers shared; do
		arch_row "$row" || { cat "$TMP/$row.err"; false; }
	done
	sweep_of offers shared
	cat "$TMP/sweep/table.md" "$TMP/sweep"/sweep-*.dat
	# a line a row in the table, with the row's own figures
	[ "$(grep -c '^| 0.1 s | ' "$TMP/sweep/table.md")" -eq 2 ]
	grep -q "^| 0.1 s | shared | $(figure shared batch jct_p50_s) / $(figure shared batch jct_p95_s) |" \
	    "$TMP/sweep/table.md"
	# sweep-ROW.dat: D, batch p50 and p95, service p50 and its lower
	# bound, busy, done, jobs, conflicts (batch, iter, service), util
	read -r d b50 b95 s50 slb busy done n cb ci cs u <"$TMP/sweep/sweep-shared.dat"
	[ "$d" = 0.1 ] && [ "$b50" = "$(figure shared batch jct_p50_s)" ]
	[ "$slb" = "$(figure shared service jct_p50_lb_s)" ]
	[ "$n" = "$(figure shared service ' jobs')" ]
	[ "$cb" = "$(figure shared batch conflict_frac)" ]
	[ "$cs" = "$(figure shared service conflict_frac)" ]
	[ "$u" = "$(figure shared all util_cpu_mean)" ]
	# offers commit nothing: no conflict figures
	read -r d b50 b95 s50 slb busy done n cb ci cs u <"$TMP/sweep/sweep-offers.dat"
	[ "$cb" = - ] && [ "$cs" = - ] && [ "$done" = "$(figure offers service jobs_done)" ]
	if command -v gnuplot >/dev/null; then
		[ "$(head -c 4 "$TMP/sweep/sweep.png" | tail -c 3)" = PNG ]
		[ "$(head -c 4 "$TMP/sweep/util-0.1.png" | tail -c 3)" = PNG ]
	fi
	# nothing to draw from: a usage error
	run env PLOT_ONLY=1 SWEEP=0.1 OUT="$TMP/empty" "$TOP/t/bench/architectures"
	[ "$status" -eq 100 ]
}

@test "usage errors exit 100" {
	run "$ARCH" -m offers
	[ "$status" -eq 100 ]
	run "$ARCH" -c 8 -M 1024 -m other
	[ "$status" -eq 100 ]
	run "$ARCH" -c 8 -M 1024 -x -1
	[ "$status" -eq 100 ]
	run "$ARCH" -c 8 -M 1024 -t 0
	[ "$status" -eq 100 ]
}
