#!/usr/bin/env bats
# A real Prometheus server (Debian's prometheus package, installed when
# missing) on a free loopback port, with a configuration written here,
# scrapes offerd --metrics and agentd --metrics every second while tasks run; its HTTP
# API then answers with the task and allocation metrics they should have.

load helper

setup() {
	setup_tmp
	need_debs prometheus curl jq
	start_daemon offerd offerd -d -v -w "$TMP/master" --metrics 127.0.0.1:0
	start_daemon agent1 agentd -d -v -k -w "$TMP/agent1" -N host1 \
	    -R 'cpus:2;mem:1024' -g 1s --metrics 127.0.0.1:0
	wait_for 15 agents_registered 1
	PROM=$(free_port)
	cat >"$TMP/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: offerd
	    static_configs:
	      - targets: ['127.0.0.1:$(metrics_port offerd)']
	  - job_name: agentd
	    static_configs:
	      - targets: ['127.0.0.1:$(metrics_port agent1)']
	EOF
	promtool check config "$TMP/prometheus.yml"
	start_daemon prometheus prometheus \
	    --config.file="$TMP/prometheus.yml" \
	    --storage.tsdb.path="$TMP/tsdb" \
	    --web.listen-address="127.0.0.1:$PROM"
	wait_for 30 curl -sf "http://127.0.0.1:$PROM/-/ready"
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# query EXPR: the value of the PromQL instant query EXPR, one result
# only ("" when there is none).
query() {
	curl -sf --max-time 5 "http://127.0.0.1:$PROM/api/v1/query" \
	    --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // ""'
}

# query_is EXPR VALUE: true when Prometheus answers EXPR with VALUE.
query_is() {
	[ "$(query "$1")" = "$2" ]
}

@test "Prometheus scrapes offerd and agentd and answers with the task and allocation metrics" {
	# both targets are up
	wait_for 20 query_is 'up{job="offerd"}' 1
	wait_for 20 query_is 'up{job="agentd"}' 1
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	run cluster-ctl run -- true
	[ "$status" -eq 0 ]
	run cluster-ctl run -- sh -c 'exit 2'
	[ "$status" -eq 2 ]
	cluster-ctl run -q -c 1 -M 256 -- sleep 60 &
	runpid=$!
	# what the master counted, as Prometheus scraped it
	wait_for 20 query_is 'cluster_offerd_tasks{state="TASK_RUNNING"}' 1
	wait_for 20 query_is cluster_offerd_tasks_started_total 4
	wait_for 20 query_is 'cluster_offerd_tasks_ended_total{state="TASK_FINISHED"}' 2
	wait_for 20 query_is 'cluster_offerd_tasks_ended_total{state="TASK_FAILED"}' 1
	query_is cluster_offerd_offers_accepted_total 4
	query_is 'cluster_offerd_cpus{state="used"}' 1
	query_is 'cluster_offerd_cpus{state="total"}' 2
	query_is 'cluster_offerd_memory_bytes{state="used"}' 268435456
	query_is 'cluster_offerd_agents{state="active"}' 1
	query_is 'cluster_offerd_frameworks{state="active"}' 1
	# the allocator's cycles, as a histogram Prometheus can take apart
	[ "$(query 'cluster_offerd_allocation_cycle_seconds_count')" -ge 1 ]
	[ -n "$(query 'histogram_quantile(0.99, cluster_offerd_allocation_cycle_seconds_bucket)')" ]
	[ "$(query 'cluster_offerd_status_update_acknowledgement_seconds_count')" -ge 6 ]
	# and what the agent counted
	wait_for 20 query_is cluster_agentd_launches_total 4
	query_is 'cluster_agentd_tasks{state="TASK_RUNNING"}' 1
	query_is cluster_agentd_launch_seconds_count 4
	query_is 'cluster_agentd_tasks_ended_total{state="TASK_FAILED"}' 1
	kill -INT "$runpid"
	wait "$runpid" || true
	wait_for 20 query_is 'cluster_offerd_tasks_ended_total{state="TASK_KILLED"}' 1
	wait_for 20 query_is 'cluster_offerd_cpus{state="used"}' 0
}
