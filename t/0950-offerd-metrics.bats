#!/usr/bin/env bats
# Metrics (offerd(8) and agentd(8), METRICS): offerd --metrics and agentd --metrics
# serve the Prometheus text on GET /metrics only, cluster-ctl metrics
# prints the master's, promtool (Debian's prometheus package) finds the
# text valid, the counts follow the tasks run, and what a hostile peer
# sends neither makes labels up nor stops the server.

load helper

setup() {
	setup_tmp
	need_debs prometheus curl
	OFFERD_FLAGS="--metrics 127.0.0.1:0"
	start_daemon offerd offerd -d -v -w "$TMP/master" $OFFERD_FLAGS
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 1s --metrics 127.0.0.1:0
	wait_for 15 agents_registered 1
	MPORT=$(metrics_port offerd)
	APORT=$(metrics_port agent1)
	[ -n "$MPORT" ] && [ -n "$APORT" ]
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# scrape PORT: the text on http://127.0.0.1:PORT/metrics.
scrape() {
	curl -sf --max-time 5 "http://127.0.0.1:$1/metrics"
}

@test "offerd and agentd serve valid Prometheus text; cluster-ctl metrics prints the master's" {
	run scrape "$MPORT"
	[ "$status" -eq 0 ]
	echo "$output" | promtool check metrics
	[ "$(echo "$output" | metric 'cluster_offerd_agents{state="active"}')" = 1 ]
	echo "$output" | grep -q '^# TYPE cluster_offerd_allocation_cycle_seconds histogram$'
	echo "$output" | grep -q '^# HELP cluster_offerd_tasks_started_total '
	[ "$(echo "$output" | metric 'cluster_offerd_cpus{state="total"}')" = 2 ]
	[ "$(echo "$output" | metric 'cluster_offerd_memory_bytes{state="total"}')" = 1073741824 ]
	run scrape "$APORT"
	[ "$status" -eq 0 ]
	echo "$output" | promtool check metrics
	echo "$output" | grep -q '^# TYPE cluster_agentd_launch_seconds histogram$'
	run cluster-ctl metrics
	[ "$status" -eq 0 ]
	echo "$output" | promtool check metrics
	[ "$(echo "$output" | metric 'cluster_offerd_agents{state="active"}')" = 1 ]
	# the text served over HTTP as a file for the textfile collector
	cluster-ctl metrics >"$TMP/cluster.prom"
	grep -q '^cluster_offerd_tasks_started_total 0$' "$TMP/cluster.prom"
}

@test "task, offer and record counts follow the tasks run, on master and agent" {
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	run cluster-ctl run -- sh -c 'exit 3'
	[ "$status" -eq 3 ]
	# updates come and are acknowledged after run ends: wait for them
	wait_for 10 sh -c "curl -sf http://127.0.0.1:$MPORT/metrics | grep -q '^cluster_offerd_tasks_ended_total{state=\"TASK_FAILED\"} 1\$'"
	text=$(scrape "$MPORT")
	[ "$(echo "$text" | metric cluster_offerd_tasks_started_total)" = 2 ]
	[ "$(echo "$text" | metric 'cluster_offerd_tasks_ended_total{state="TASK_FINISHED"}')" = 1 ]
	[ "$(echo "$text" | metric cluster_offerd_offers_accepted_total)" = 2 ]
	[ "$(echo "$text" | metric cluster_offerd_offers_made_total)" -ge 2 ]
	[ "$(echo "$text" | metric 'cluster_offerd_records_sent_total{type="LAUNCH"}')" -ge 2 ]
	[ "$(echo "$text" | metric 'cluster_offerd_records_received_total{type="ACCEPT"}')" = 2 ]
	[ "$(echo "$text" | metric cluster_offerd_allocation_cycle_seconds_count)" -ge 1 ]
	[ "$(echo "$text" | metric cluster_offerd_status_update_acknowledgement_seconds_count)" -ge 1 ]
	# the scrapes before this one were timed (the wait_for's, at least one)
	[ "$(echo "$text" | metric cluster_offerd_scrape_render_seconds_count)" -ge 1 ]
	[ "$(echo "$text" | metric 'cluster_offerd_scrape_render_seconds_bucket{le="+Inf"}')" -ge 1 ]
	# nothing runs now: no task in a live state (a state once seen stays
	# listed, at 0), nothing used
	echo "$text" | grep -q '^cluster_offerd_tasks{state="TASK_STAGING"} 0$'
	[ -z "$(echo "$text" | grep '^cluster_offerd_tasks{' | grep -v ' 0$')" ]
	[ "$(echo "$text" | metric 'cluster_offerd_cpus{state="used"}')" = 0 ]
	text=$(scrape "$APORT")
	[ "$(echo "$text" | metric cluster_agentd_launches_total)" = 2 ]
	[ "$(echo "$text" | metric cluster_agentd_launch_seconds_count)" = 2 ]
	[ "$(echo "$text" | metric 'cluster_agentd_tasks_ended_total{state="TASK_FINISHED"}')" = 1 ]
	[ "$(echo "$text" | metric 'cluster_agentd_tasks_ended_total{state="TASK_FAILED"}')" = 1 ]
	[ "$(echo "$text" | metric 'cluster_agentd_records_sent_total{type="STATUS"}')" -ge 4 ]
}

@test "a running task is counted as running and its resources as used" {
	cluster-ctl run -q -c 1 -M 64 -- sleep 30 &
	runpid=$!
	wait_for 15 sh -c "curl -sf http://127.0.0.1:$MPORT/metrics | grep -q '^cluster_offerd_tasks{state=\"TASK_RUNNING\"} 1\$'"
	text=$(scrape "$MPORT")
	[ "$(echo "$text" | metric 'cluster_offerd_cpus{state="used"}')" = 1 ]
	[ "$(echo "$text" | metric 'cluster_offerd_memory_bytes{state="used"}')" = 67108864 ]
	text=$(scrape "$APORT")
	[ "$(echo "$text" | metric 'cluster_agentd_tasks{state="TASK_RUNNING"}')" = 1 ]
	kill -INT "$runpid"
	wait "$runpid" || true
}

@test "the agent and resource gauges follow agents that come and go" {
	start_daemon agent2 agentd -d -v -k -w "$TMP/agent2" -N host2 \
	    -R 'cpus:3;mem:512' -g 1s
	wait_for 15 agents_registered 2
	text=$(scrape "$MPORT")
	[ "$(echo "$text" | metric 'cluster_offerd_agents{state="active"}')" = 2 ]
	[ "$(echo "$text" | metric 'cluster_offerd_cpus{state="total"}')" = 5 ]
	[ "$(echo "$text" | metric 'cluster_offerd_memory_bytes{state="total"}')" = 1610612736 ]
	# a task on each: used is the sum, offered never more than what is free
	cluster-ctl run -q -c 2 -M 64 -- sleep 30 &
	r1=$!
	cluster-ctl run -q -c 3 -M 64 -- sleep 30 &
	r2=$!
	wait_for 15 sh -c "curl -sf http://127.0.0.1:$MPORT/metrics | grep -q '^cluster_offerd_tasks{state=\"TASK_RUNNING\"} 2\$'"
	text=$(scrape "$MPORT")
	[ "$(echo "$text" | metric 'cluster_offerd_cpus{state="used"}')" = 5 ]
	[ "$(echo "$text" | metric 'cluster_offerd_memory_bytes{state="used"}')" = 134217728 ]
	[ "$(echo "$text" | metric 'cluster_offerd_cpus{state="offered"}')" = 0 ]
	kill -INT "$r1" "$r2"
	wait "$r1" "$r2" || true
	# agent2 stops (its tasks killed) and leaves: out of every gauge
	kill -TERM "$PID_agent2"
	wait_for 15 agents_registered 1
	wait_for 15 sh -c "curl -sf http://127.0.0.1:$MPORT/metrics | grep -q '^cluster_offerd_cpus{state=\"total\"} 2\$'"
	text=$(scrape "$MPORT")
	[ "$(echo "$text" | metric 'cluster_offerd_agents{state="active"}')" = 1 ]
	[ "$(echo "$text" | metric 'cluster_offerd_memory_bytes{state="total"}')" = 1073741824 ]
	[ "$(echo "$text" | metric 'cluster_offerd_cpus{state="used"}')" = 0 ]
	[ -z "$(echo "$text" | grep '^cluster_offerd_tasks{' | grep -v ' 0$')" ]
}

@test "only GET /metrics is served: 404 elsewhere, 405 for other methods" {
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/"
	[ "$output" = 404 ]
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics/x"
	[ "$output" = 404 ]
	run curl -s -o /dev/null -w '%{http_code}' -X POST -d junk "http://127.0.0.1:$APORT/metrics"
	[ "$output" = 405 ]
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$MPORT/metrics"
	[ "$output" = 405 ]
	# a slow scraper that never finishes its request holds up nothing
	exec 4<>/dev/tcp/127.0.0.1/"$MPORT"
	printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&4
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	scrape "$MPORT" | grep -q '^cluster_offerd_tasks_started_total 1$'
	exec 4>&-
	kill -0 "$PID_offerd"
}

@test "a record of a made-up type counts as other: a peer makes no labels" {
	echo '{"type":"NO_SUCH_TYPE_XYZ"}' | cluster-ctl send -t 2s >"$TMP/ans" || true
	grep -q '"code":"unknown_type"' "$TMP/ans"
	text=$(scrape "$MPORT")
	[ -z "$(echo "$text" | grep NO_SUCH_TYPE_XYZ)" ]
	[ "$(echo "$text" | metric 'cluster_offerd_records_received_total{type="other"}')" = 1 ]
	kill -0 "$PID_offerd"
}

@test "a batch of records is one frame in and its answers one frame out" {
	text=$(scrape "$MPORT")
	fin=$(echo "$text" | metric cluster_offerd_frames_received_total)
	fout=$(echo "$text" | metric cluster_offerd_frames_sent_total)
	[ "$fin" -gt 0 ] && [ "$fout" -gt 0 ]
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mpack
sys.stdout.buffer.write(mpack.pack([{"type": "NO_SUCH_%d" % i} for i in range(50)]))' "$TOP/t" >"$TMP/batch"
	cluster-ctl send --raw --wait 1s <"$TMP/batch" >"$TMP/ans" || true
	[ "$(grep -c '"code":"unknown_type"' "$TMP/ans")" -eq 50 ]
	text=$(scrape "$MPORT")
	[ "$(echo "$text" | metric 'cluster_offerd_records_received_total{type="other"}')" = 50 ]
	[ "$(echo "$text" | metric 'cluster_offerd_records_sent_total{type="ERROR"}')" = 50 ]
	# the agent's heartbeats (-g 1s) come and are answered meanwhile
	fin2=$(echo "$text" | metric cluster_offerd_frames_received_total)
	fout2=$(echo "$text" | metric cluster_offerd_frames_sent_total)
	echo "frames in $fin -> $fin2, out $fout -> $fout2"
	[ "$fin2" -gt "$fin" ] && [ "$fin2" -le $((fin + 5)) ]
	[ "$fout2" -gt "$fout" ] && [ "$fout2" -le $((fout + 5)) ]
}

@test "a port already in use ends the daemon at start with 111" {
	run offerd -d -w "$TMP/m2" -l "ipc://$TMP/m2.ipc" --metrics "127.0.0.1:$MPORT"
	[ "$status" -eq 111 ]
	[[ "$output" == *"cannot listen on 127.0.0.1:$MPORT"* ]]
	run offerd -d -w "$TMP/m3" -l "ipc://$TMP/m3.ipc" --metrics "localhost"
	[ "$status" -eq 111 ]
	[[ "$output" == *"want ADDRESS:PORT"* ]]
}
