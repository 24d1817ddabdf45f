#!/usr/bin/env bats
# The metrics server's limits (offerd(8) METRICS; lib/metrics.c): at most
# 8 scrapers at once, a ninth connection closed at once unanswered, an
# idle one closed after 5 seconds, and the master serving before and
# after; a metric holds at most 4096 series, the cut logged once.

load helper

setup() {
	setup_tmp
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

@test "a ninth scraper at once is closed unanswered; an idle one after 5 s; scrapes are served before and after" {
	start_daemon offerd offerd -d -v -w "$TMP/master" --metrics=127.0.0.1:0
	wait_for 15 sh -c '[ -n "$(sed -n "s/.*metrics on [^ ]*: port \([0-9]*\), .*/\1/p" "$1")" ]' \
	    - "$TMP/offerd.log"
	port=$(metrics_port offerd)
	run python3 - "$port" <<'EOF'
import socket, subprocess, sys, time
port = int(sys.argv[1])
GET = b"GET /metrics HTTP/1.0\r\n\r\n"

def answer(s, timeout=10):
    """What the server sends on S until it closes: '200', 'none' or other."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except ConnectionResetError:
        pass
    s.close()
    if not data:
        return "none"
    ok = b" 200 " in data.split(b"\r\n")[0] and b"cluster_offerd_agents" in data
    return "200" if ok else repr(data[:40])

def scrape():
    t = time.time()
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(GET)
    except ConnectionResetError:
        return "none", time.time() - t
    return answer(s), time.time() - t

# eight scrapers connect and say nothing yet: each holds a place
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
opened = time.time()
# once the server took them all (its accept queue is empty)
for _ in range(50):
    time.sleep(0.1)
    ss = subprocess.run(["ss", "-Hltn", "sport = :%d" % port],
                        capture_output=True, text=True).stdout.split()
    if ss and ss[1] == "0":
        break
time.sleep(0.2)
# the ninth is closed at once, unanswered
what, took = scrape()
print("ninth", what, round(took, 2))
# the eighth is served when it asks
held[7].sendall(GET)
print("eighth", answer(held[7]))
# an idle one is closed by the server after 5 s
held[0].settimeout(15)
gone = held[0].recv(1) == b""
print("idle closed", gone, "after", round(time.time() - opened, 1))
for s in held:
    s.close()
# places free again (MHD frees a closed one's when it next looks)
for _ in range(30):
    what, took = scrape()
    if what == "200":
        break
    time.sleep(0.1)
print("after", what)
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	# refused: no byte, and at once (not after a wait for a free place)
	[[ "${lines[0]}" == "ninth none "* ]]
	[ "$(echo "${lines[0]}" | awk '{ print ($3 < 1) }')" -eq 1 ]
	[ "${lines[1]}" = "eighth 200" ]
	[[ "${lines[2]}" == "idle closed True after "* ]]
	idle=$(echo "${lines[2]}" | awk '{ print $NF }')
	[ "$(echo "$idle" | awk '{ print ($1 >= 4.5 && $1 < 10) }')" -eq 1 ]
	[ "${lines[3]}" = "after 200" ]
	# and the master served all along
	run cluster-ctl metrics
	[ "$status" -eq 0 ]
	[[ "$output" == *cluster_offerd_agents* ]]
}

@test "a metric holds at most 4096 series; the first one past them is logged, once" {
	run "$TOP/build/test/metrics-test" series 5000
	[ "$status" -eq 0 ]
	echo "$output" | grep -v '^test_many{' | head
	# bats mixes stderr in: the one log line, then the text
	[ "$(echo "$output" | grep -c '^test_many{')" -eq 4096 ]
	[ "$(echo "$output" | grep -c 'metrics: many has 4096 series, its most: label sets past them are not counted')" -eq 1 ]
	# the first 4096 label sets stay, with their latest values
	[[ "$output" == *'test_many{id="0"} 0'* ]]
	[[ "$output" == *'test_many{id="4095"} 4095'* ]]
	[[ "$output" != *'test_many{id="4096"}'* ]]
	# at the most, nothing is cut and nothing logged
	run "$TOP/build/test/metrics-test" series 4096
	[ "$(echo "$output" | grep -c '^test_many{')" -eq 4096 ]
	[[ "$output" != *'not counted'* ]]
}
