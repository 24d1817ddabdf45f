#!/usr/bin/env bats
# drf-alloc -l (serving offerd on a nanomsg PAIR socket) and -x (relaying
# to an allocator program).  This file plays offerd with a small client
# that calls libnanomsg through python3's ctypes and speaks msgpack.

load helper

setup() {
	setup_tmp
	EP="ipc://$TMP/alloc.ipc"
	cat >"$TMP/offerd.py" <<'EOF'
# offerd.py ENDPOINT: connect to the allocator; then each stdin line is
#   send JSON      send the record (msgpack)
#   raw HEX        send raw bytes
#   recv           print the next record received as JSON (or TIMEOUT)
#   quiet SECONDS  print every record that arrives within SECONDS
import ctypes, json, struct, sys
nn = ctypes.CDLL("libnanomsg.so.5")
nn.nn_recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
nn.nn_send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
nn.nn_connect.argtypes = [ctypes.c_int, ctypes.c_char_p]
nn.nn_freemsg.argtypes = [ctypes.c_void_p]
s = nn.nn_socket(1, 16)                         # AF_SP, NN_PAIR
assert nn.nn_connect(s, sys.argv[1].encode()) >= 0

def pack(v):
    if isinstance(v, bool): return b"\xc3" if v else b"\xc2"
    if isinstance(v, int): return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float): return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode(); return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        return b"\xdf" + struct.pack(">I", len(v)) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)

def unpack(b, i=0):
    c = b[i]; i += 1
    if c < 0x80: return c, i
    if c >= 0xe0: return c - 256, i
    if c & 0xe0 == 0xa0: n = c & 31; return b[i:i+n].decode(), i + n
    if c & 0xf0 in (0x80, 0x90): n, m = c & 15, c & 0xf0 == 0x80
    elif c in (0xdc, 0xde): n, m = struct.unpack(">H", b[i:i+2])[0], c == 0xde; i += 2
    elif c in (0xdd, 0xdf): n, m = struct.unpack(">I", b[i:i+4])[0], c == 0xdf; i += 4
    elif c in (0xc2, 0xc3): return c == 0xc3, i
    elif c == 0xcb: return struct.unpack(">d", b[i:i+8])[0], i + 8
    elif c in (0xd9, 0xda, 0xdb):
        k = {0xd9: ">B", 0xda: ">H", 0xdb: ">I"}[c]; w = struct.calcsize(k)
        n = struct.unpack(k, b[i:i+w])[0]; return b[i+w:i+w+n].decode(), i + w + n
    elif c in (0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3):
        f = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}[c]
        k = struct.calcsize(f); return struct.unpack(f, b[i:i+k])[0], i + k
    else: raise ValueError(hex(c))
    out = {} if m else []
    for _ in range(n):
        if m:
            k, i = unpack(b, i); out[k], i = unpack(b, i)
        else:
            x, i = unpack(b, i); out.append(x)
    return out, i

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
        send(pack(json.loads(arg)))
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

@test "-l serves offerd: events in, ALLOCATION and ERROR out, SIGTERM exits 0" {
	start_daemon alloc drf-alloc -d -v -l "$EP"
	run python3 "$TMP/offerd.py" "$EP" <<'EOF'
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
	echo "$output"
	dump_logs
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
	start_daemon alloc drf-alloc -d -c manual -l "$EP"
	# the allocation decided before anyone connected must not be lost:
	# with no peer the send fails and the resources stay free
	run python3 "$TMP/offerd.py" "$EP" <<'EOF'
send {"type":"FRAMEWORK_ADD","framework_id":"f1"}
send {"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:64"}
send {"type":"ALLOCATE"}
recv
send {"type":"ALLOCATE"}
send {"type":"SHARES_QUERY"}
recv
EOF
	echo "$output"
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
	start_daemon alloc drf-alloc -d -l "$EP" -x "$TMP/prog"
	run python3 "$TMP/offerd.py" "$EP" <<'EOF'
send {"type":"ALLOCATE"}
quiet 1
EOF
	echo "$output"
	dump_logs
	[ "$output" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:1"}' ]
	grep -q "wrote a bad line, dropped: bad JSON" "$TMP/alloc.log"
	grep -q "wrote a bad line, dropped: ALLOCATION: resources: cpus: '-1'" "$TMP/alloc.log"
	grep -q "wrote a bad line, dropped: an allocator sends ALLOCATION, ERROR or SHARES, not OFFER" "$TMP/alloc.log"
	kill -TERM "$PID_alloc"
	rc=0; wait "$PID_alloc" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "-x with the static example: owners get their agents over the socket" {
	start_daemon alloc drf-alloc -d -l "$EP" -x "$TOP/examples/alloc-static/alloc-static"
	run python3 "$TMP/offerd.py" "$EP" <<'EOF'
send {"type":"FRAMEWORK_ADD","framework_id":"web"}
send {"type":"FRAMEWORK_ADD","framework_id":"batch"}
send {"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096","attributes":"owner:batch"}
recv
send {"type":"SHARES_QUERY"}
recv
EOF
	echo "$output"
	dump_logs
	[ "${lines[0]}" = '{"type":"ALLOCATION","framework_id":"batch","agent_id":"n1","resources":"cpus:4;mem:4096"}' ]
	[[ "${lines[1]}" == '{"type":"SHARES","total":"cpus:4;mem:4096"'* ]]
}

@test "-x: when the program dies drf-alloc exits 111" {
	drf-alloc -d -l "$EP" -x 'exit 3' 2>"$TMP/err" &
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
