#!/usr/bin/env bats
# drf-alloc -l (serving offerd on a nanomsg PAIR socket) and -x (relaying
# to an allocator program).  This file plays offerd with a small client
# that calls libnanomsg through python3's ctypes and speaks msgpack.

load helper

setup() {
	setup_tmp
	EP="ipc://$TMP/alloc.ipc"
	export TESTDIR="$BATS_TEST_DIRNAME"
	cat >"$TMP/offerd.py" <<'EOF'
# offerd.py ENDPOINT: connect to the allocator; then each stdin line is
#   send JSON      send the record (msgpack)
#   raw HEX        send raw bytes
#   recv           print the next record received as JSON (or TIMEOUT)
#   quiet SECONDS  print every record that arrives within SECONDS
import ctypes, json, os, sys
sys.path.insert(0, os.environ["TESTDIR"])
from mpack import pack, unpack
nn = ctypes.CDLL("libnanomsg.so.5")
nn.nn_recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
nn.nn_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
nn.nn_connect.argtypes = [ctypes.c_int, ctypes.c_char_p]
nn.nn_freemsg.argtypes = [ctypes.c_void_p]
s = nn.nn_socket(1, 16)                         # AF_SP, NN_PAIR
assert nn.nn_connect(s, sys.argv[1].encode()) >= 0

def recv(ms):
    t = ctypes.c_int(ms)
    nn.nn_setsockopt(s, 0, 5, ctypes.byref(t), 4)   # NN_RCVTIMEO
    buf = ctypes.c_void_p()
    n = nn.nn_recv(s, ctypes.byref(buf), ctypes.c_size_t(-1).value, 0)
    if n < 0:
        return None
    data = ctypes.string_at(buf, n); nn.nn_freemsg(buf)
    return unpack(data)[0]

def send(b):
    # the allocator may not have accepted the connection yet: retry a while
    t = ctypes.c_int(5000)
    nn.nn_setsockopt(s, 0, 4, ctypes.byref(t), 4)   # NN_SNDTIMEO
    assert nn.nn_send(s, b, len(b), 0) == len(b)

for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "send":
        send(pack(json.loads(arg), wide=True))
    elif cmd == "raw":
        send(bytes.fromhex(arg))
    elif cmd == "recv":
        r = recv(5000)
        print(json.dumps(r, separators=(",", ":")) if r is not None else "TIMEOUT", flush=True)
    elif cmd == "quiet":
        while True:
            r = recv(int(float(arg) * 1000))
            if r is None:
                break
            print(json.dumps(r, separators=(",", ":")), flush=True)
EOF
}
teardown() { teardown_daemons; cleanup_tmp; }

# talk: offerd.py plays the script on stdin against drf-alloc on $EP;
# what came back is in $output and $lines, shown with the daemons' logs.
talk() {
	run python3 "$TMP/offerd.py" "$EP"
	echo "$output"
	dump_logs
}

@test "-l serves offerd: events in, ALLOCATION and ERROR out, SIGTERM exits 0" {
	start_daemon alloc drf-alloc -d -v -l "$EP"
	talk <<'EOF'
send {"type":"FRAMEWORK_ADD","framework_id":"f1"}
send {"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:2;mem:512;ports:[31000-31005]"}
recv
send {"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"mem:512"}
recv
raw c1
recv
send {"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"mem:1024"}
recv
send {"type":"SHARES_QUERY"}
recv
EOF
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:2;mem:512;ports:[31000-31005]"}' ]
	[ "${lines[1]}" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"mem:512"}' ]
	[[ "${lines[2]}" == '{"type":"ERROR","code":"malformed","message":"bad record: unsupported msgpack type 0xc1"}' ]]
	[[ "${lines[3]}" == *'"message":"RECOVER: framework f1 holds cpus:2;mem:512;ports:[31000-31005] on agent n1, not mem:1024"'* ]]
	[[ "${lines[4]}" == '{"type":"SHARES","total":"cpus:2;mem:512"'* ]]
	kill -TERM "$PID_alloc"
	rc=0; wait "$PID_alloc" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q "stopping on signal" "$TMP/alloc.log"
}

@test "-l: nothing is allocated while offerd is not there to take it" {
	start_daemon alloc drf-alloc -d --clock manual -l "$EP"
	# the allocation decided before anyone connected must not be lost:
	# with no peer the send fails and the resources stay free
	talk <<'EOF'
send {"type":"FRAMEWORK_ADD","framework_id":"f1"}
send {"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:64"}
send {"type":"ALLOCATE"}
recv
send {"type":"ALLOCATE"}
send {"type":"SHARES_QUERY"}
recv
EOF
	[ "${lines[0]}" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:1;mem:64"}' ]
	[[ "${lines[1]}" == *'"allocated":"cpus:1;mem:64","agents":1,"allocations":1,'* ]]
}

@test "-x relays to an allocator program and drops its bad lines" {
	cat >"$TMP/prog" <<'EOF'
#!/bin/sh
# answers every record with two bad lines and one good one
while read -r line; do
	echo 'this is not JSON'
	echo '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:-1"}'
	echo '{"type":"OFFER","framework_id":"f1"}'
	echo '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:1"}'
done
EOF
	chmod +x "$TMP/prog"
	start_daemon alloc drf-alloc -d -l "$EP" -A "$TMP/prog"
	talk <<'EOF'
send {"type":"ALLOCATE"}
quiet 1
EOF
	[ "$output" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:1"}' ]
	grep -q "wrote a bad line, dropped: bad JSON" "$TMP/alloc.log"
	grep -q "wrote a bad line, dropped: ALLOCATION: resources: cpus: '-1'" "$TMP/alloc.log"
	grep -q "wrote a bad line, dropped: an allocator sends ALLOCATION, ERROR or SHARES, not OFFER" "$TMP/alloc.log"
	kill -TERM "$PID_alloc"
	rc=0; wait "$PID_alloc" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "-x with the static example: owners get their agents over the socket" {
	start_daemon alloc drf-alloc -d -l "$EP" -A "$TOP/examples/alloc-static/alloc-static"
	talk <<'EOF'
send {"type":"FRAMEWORK_ADD","framework_id":"web"}
send {"type":"FRAMEWORK_ADD","framework_id":"batch"}
send {"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096","attributes":"owner:batch"}
recv
send {"type":"SHARES_QUERY"}
recv
EOF
	[ "${lines[0]}" = '{"type":"ALLOCATION","framework_id":"batch","agent_id":"n1","resources":"cpus:4;mem:4096"}' ]
	[[ "${lines[1]}" == '{"type":"SHARES","total":"cpus:4;mem:4096"'* ]]
}

@test "-x: when the program dies drf-alloc exits 111" {
	drf-alloc -d -l "$EP" -A 'exit 3' 2>"$TMP/err" &
	pid=$!
	rc=0; wait "$pid" || rc=$?
	cat "$TMP/err"
	[ "$rc" -eq 111 ]
	grep -q "allocator program exited with status 3" "$TMP/err"
}

@test "-l on an endpoint that cannot be bound exits 111" {
	run drf-alloc -d -l "ipc:///nonexistent-dir/x.ipc"
	echo "$output"
	[ "$status" -eq 111 ]
}
