#!/usr/bin/env bats
# drf-alloc and bad input: every bad record gets one ERROR record, changes
# nothing, and never makes a resource allocated twice.  Also the msgpack
# stream on stdin.

load helper

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

GOOD='{"type":"FRAMEWORK_ADD","framework_id":"f1","role":"r"}
{"type":"FRAMEWORK_ADD","framework_id":"f2","role":"z"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096;ports:[10-19]"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:1;ports:[10-14]"}
{"type":"SHARES_QUERY"}'

# Each line is one bad record and, after a tab, the start of its message.
BAD='not json at all	bad record: bad JSON
[1,2,3]	bad record: a record is a JSON object
{"no":"type"}	bad record: a record is a JSON object
{"type":"FROBNICATE"}	unknown record type '"'"'FROBNICATE'"'"'
{"type":"AGENT_ADD","agent_id":"n3"}	AGENT_ADD: field '"'"'resources'"'"' is missing
{"type":"AGENT_ADD","agent_id":"n3","resources":4}	AGENT_ADD: field '"'"'resources'"'"' must be a string
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:-4"}	AGENT_ADD: resources: cpus: '"'"'-4'"'"' is not a non-negative number
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:NaN"}	AGENT_ADD: resources: cpus:
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:inf"}	AGENT_ADD: resources: cpus:
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:1e13"}	AGENT_ADD: resources: cpus: 1e13 is too large
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:1e999"}	AGENT_ADD: resources: cpus:
{"type":"AGENT_ADD","agent_id":"n 3","resources":"cpus:1"}	AGENT_ADD: '"'"'n 3'"'"' is not a valid agent id
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:1","attributes":"rack"}	AGENT_ADD: attributes:
{"type":"AGENT_REMOVE","agent_id":"n9"}	AGENT_REMOVE: unknown agent '"'"'n9'"'"'
{"type":"FRAMEWORK_ADD","framework_id":"f3","role":"no/slash"}	FRAMEWORK_ADD: '"'"'no/slash'"'"' is not a role name
{"type":"FRAMEWORK_ADD","framework_id":"f3","filters":"rack:r1"}	FRAMEWORK_ADD: field '"'"'filters'"'"' must be a map
{"type":"FRAMEWORK_ADD","framework_id":"f3","filters":{"min":"cpus:x"}}	FRAMEWORK_ADD: filters: min: cpus:
{"type":"FRAMEWORK_ADD","framework_id":"f3","filters":{"attributes":7}}	FRAMEWORK_ADD: filters: field '"'"'attributes'"'"' must be a string
{"type":"FRAMEWORK_REMOVE","framework_id":"f9"}	FRAMEWORK_REMOVE: unknown framework '"'"'f9'"'"'
{"type":"RECOVER","framework_id":"f9","agent_id":"n1","resources":"cpus:1"}	RECOVER: unknown framework '"'"'f9'"'"'
{"type":"RECOVER","framework_id":"f1","agent_id":"n9","resources":"cpus:1"}	RECOVER: unknown agent '"'"'n9'"'"'
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:3.5"}	RECOVER: framework f1 holds cpus:3;mem:4096;ports:[15-19] on agent n1, not cpus:3.5
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"ports:[10-10]"}	RECOVER: framework f1 holds
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"gpus:1"}	RECOVER: framework f1 holds
{"type":"RECOVER","framework_id":"f1","agent_id":"n2","resources":"cpus:1"}	RECOVER: framework f1 holds nothing on agent n2
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:1","refuse_seconds":-5}	RECOVER: refuse_seconds must not be negative
{"type":"SUPPRESS"}	SUPPRESS: field '"'"'framework_id'"'"' is missing
{"type":"REVIVE","framework_id":"f9"}	REVIVE: unknown framework '"'"'f9'"'"'
{"type":"WEIGHT","role":"r","weight":0}	WEIGHT: weight 0 of role r is not in
{"type":"WEIGHT","role":"r","weight":-2}	WEIGHT: weight -2 of role r is not in
{"type":"WEIGHT","role":"r","weight":"2"}	WEIGHT: field '"'"'weight'"'"' must be a number
{"type":"TICK","seconds":-1}	TICK: seconds must be in'

@test "each bad record gets one clear ERROR and leaves the state as it was" {
	bad_records=$(cut -f1 <<<"$BAD")
	run drf-alloc --clock manual <<<"$GOOD
$bad_records
{\"type\":\"SHARES_QUERY\"}
{\"type\":\"ALLOCATE\"}
{\"type\":\"SHARES_QUERY\"}"
	echo "$output"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$TMP/out"
	printf '%s\n' "$BAD" >"$TMP/bad"
	run python3 - "$TMP/out" "$TMP/bad" <<'EOF'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
bad = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
shares = [r for r in out if r["type"] == "SHARES"]
errors = [r for r in out if r["type"] == "ERROR"]
allocs = [r for r in out if r["type"] == "ALLOCATION"]
assert len(errors) == len(bad), (len(errors), len(bad))
codes = {"malformed", "invalid", "unknown_type", "unknown_agent",
         "unknown_framework"}
for (rec, want), e in zip(bad, errors):
    assert e["message"].startswith(want), (rec, e["message"], want)
    assert e["code"] in codes, (rec, e)
# the state before the bad records, after them, and after one more cycle
assert len(shares) == 3
assert shares[0] == shares[1], (shares[0], shares[1])
# the only thing the extra cycle may do is offer what f1 gave back on n1
assert [(a["framework_id"], a["agent_id"], a["resources"]) for a in allocs] == [
    ("f1", "n1", "cpus:4;mem:4096;ports:[10-19]"),
    ("f2", "n2", "cpus:4;mem:4096"),
    ("f1", "n1", "cpus:1;ports:[10-14]")], allocs
print("ok", len(errors))
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "ok $(wc -l <"$TMP/bad")" ]
}

@test "an ERROR names the record type and echoes its framework and agent" {
	run drf-alloc --clock manual <<'EOF'
{"type":"RECOVER","framework_id":"ghost","agent_id":"n1","resources":"cpus:1","ref":42}
EOF
	[ "$output" = '{"type":"ERROR","code":"unknown_framework","message":"RECOVER: unknown framework '"'"'ghost'"'"'","about":"RECOVER","ref":42,"framework_id":"ghost","agent_id":"n1"}' ]
}

@test "an agent re-added smaller than what is allocated on it offers nothing until as much is given back" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:1024"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:2;mem:2048"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:2;mem:2048"}
{"type":"ALLOCATE"}
{"type":"CLAIM","framework_id":"f1","agent_id":"n1","resources":"cpus:3"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:4;mem:1024"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	allocs=$(grep '"type":"ALLOCATION"' <<<"$output" | jq -r .resources | tr '\n' ' ')
	# the whole agent; nothing while over; its new size; the claim beyond
	# what is free is held over, and given back it frees the new size only
	[ "$allocs" = "cpus:4;mem:4096 cpus:1;mem:1024 cpus:1;mem:1024 " ]
	! grep -q '"type":"ERROR"' <<<"$output" || false
	grep -q 'agent n1 has cpus:3;mem:3072 allocated, more than its new total' <<<"$output"
	grep -q 'held beyond its total' <<<"$output"
}

@test "an incoming ERROR is logged, never answered" {
	run drf-alloc --clock manual <<'EOF'
{"type":"ERROR","message":"offerd did not like something","about":"ALLOCATION"}
EOF
	[ "$status" -eq 0 ]
	[[ "$output" == *"peer reports an error about ALLOCATION"* ]]
	[[ "$output" != *'"type":"ERROR"'* ]]
}

@test "TICK needs the manual clock" {
	run drf-alloc <<<'{"type":"TICK","seconds":1}'
	[ "$status" -eq 0 ]
	[[ "$output" == *'"message":"TICK: the clock is real'* ]]
}

@test "an overlong line is one ERROR and the next line still counts" {
	python3 -c '
import sys
sys.stdout.write("{\"type\":\"FRAMEWORK_ADD\",\"framework_id\":\"f1\",\"pad\":\"" + "x" * (1100 * 1024) + "\"}\n")
sys.stdout.write("{\"type\":\"FRAMEWORK_ADD\",\"framework_id\":\"f2\"}\n")
sys.stdout.write("{\"type\":\"SHARES_QUERY\"}\n")' >"$TMP/in"
	run drf-alloc --clock manual <"$TMP/in"
	echo "$output"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *'line longer than the record size limit'* ]]
	[[ "${lines[1]}" == *'"frameworks":[{"framework_id":"f2"'* ]]
}

# the tests' msgpack encoder and decoder (t/mpack.py)
MSGPACK_PY="import sys; sys.path.insert(0, '$BATS_TEST_DIRNAME'); from mpack import pack, unpack"

@test "-f msgpack: a msgpack stream in, msgpack records out" {
	python3 -c "$MSGPACK_PY"'
import sys
recs = [
    {"type": "FRAMEWORK_ADD", "framework_id": "f1"},
    {"type": "AGENT_ADD", "agent_id": "n1", "resources": "cpus:2;mem:2048"},
    {"type": "ALLOCATE"},
    {"type": "RECOVER", "framework_id": "f1", "agent_id": "n1", "resources": "cpus:1.5", "refuse_seconds": 0.0},
]
out = b"".join(pack(r) for r in recs)
# split one record across the stream to check the framing
sys.stdout.buffer.write(out)
sys.stdout.buffer.write(pack({"type": "SHARES_QUERY"}))
sys.stdout.buffer.write(pack({"type": "AGENT_REMOVE"}))
sys.stdout.buffer.write(b"\xc1")' >"$TMP/in"
	drf-alloc --clock manual -o msgpack <"$TMP/in" >"$TMP/out"
	run python3 -c "$MSGPACK_PY"'
import sys
b = open(sys.argv[1], "rb").read()
i = 0
while i < len(b):
    r, i = unpack(b, i)
    if r["type"] == "SHARES":
        print("SHARES", r["frameworks"][0]["allocated"])
    elif r["type"] == "ALLOCATION":
        print(r["type"], r["framework_id"], r["agent_id"], r["resources"])
    else:
        print(r["type"], r["message"])' "$TMP/out"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ALLOCATION f1 n1 cpus:2;mem:2048" ]
	[ "${lines[1]}" = "SHARES cpus:0.5;mem:2048" ]
	[ "${lines[2]}" = "ERROR AGENT_REMOVE: field 'agent_id' is missing" ]
	[ "${lines[3]}" = "ERROR bad record: unsupported msgpack type 0xc1" ]
	# the final cycle at EOF offers what came back
	[ "${lines[4]}" = "ALLOCATION f1 n1 cpus:1.5" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "-f msgpack: a record cut short at EOF and a hostile length are ERRORs" {
	printf '\x82\xa4type\xa8ALLOCATE\xa3' >"$TMP/in"
	run sh -c "drf-alloc --clock manual -o msgpack <'$TMP/in' | python3 -c 'import sys; sys.stdout.write(repr(sys.stdin.buffer.read()))'"
	echo "$output"
	[[ "$output" == *"truncated msgpack record at end of input"* ]]
	# a map that declares 2^32-1 pairs in a handful of bytes
	printf '\xdf\xff\xff\xff\xff\xa4type' >"$TMP/in"
	run sh -c "drf-alloc --clock manual -o msgpack <'$TMP/in' | python3 -c 'import sys; sys.stdout.write(repr(sys.stdin.buffer.read()))'"
	echo "$output"
	[[ "$output" == *"more than the limit"* ]]
}

@test "random events: the books match a model, nothing is offered twice" {
	cat >"$TMP/fuzz.py" <<'EOF'
import json, random, subprocess, sys
random.seed(int(sys.argv[1]))
p = subprocess.Popen(["drf-alloc", "--clock", "manual"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                     text=True, bufsize=1)
def res(s):
    return {k: round(float(v) * 1000) for k, v in (kv.split(":") for kv in s.split(";") if kv)}
def fmt(r):
    return ";".join("%s:%g" % (k, v / 1000) for k, v in sorted(r.items()) if v)
def le(a, b):
    return all(v <= b.get(k, 0) for k, v in a.items())
agents, fws, holds, suppressed = {}, set(), {}, set()   # agents: id -> [total, free, over]
def meet(a, b):
    return {k: min(v, a.get(k, 0)) for k, v in b.items() if min(v, a.get(k, 0)) > 0}
def minus(a, b):
    return {k: v - b.get(k, 0) for k, v in a.items()}
def give(ag, r):
    # what goes back pays off what was held beyond the total first
    pay = meet(ag[2], r)
    move(ag[2], {}, pay)
    move({}, ag[1], minus(r, pay))
def held(f, a):
    return holds.setdefault((f, a), {})
def move(src, dst, r):
    for k, v in r.items():
        src[k] = src.get(k, 0) - v
        dst[k] = dst.get(k, 0) + v
def talk(rec):
    p.stdin.write(json.dumps(rec) + "\n")
    p.stdin.write('{"type":"SHARES_QUERY"}\n')
    p.stdin.flush()
    out = []
    while True:
        r = json.loads(p.stdout.readline())
        if r["type"] == "SHARES":
            return out, r
        out.append(r)
errors = allocs = 0
for step in range(1500):
    a = "n%d" % random.randrange(6)
    f = "f%d" % random.randrange(4)
    amount = {"cpus": random.randrange(0, 4000, 500), "mem": random.randrange(0, 2048, 256) * 1000}
    kind = random.choice(["AGENT_ADD", "AGENT_REMOVE", "FRAMEWORK_ADD", "FRAMEWORK_REMOVE",
                          "RECOVER", "RECOVER", "RECOVER", "CLAIM", "SUPPRESS", "REVIVE",
                          "ALLOCATE", "ALLOCATE", "ALLOCATE"])
    rec = {"type": kind, "agent_id": a, "framework_id": f}
    if kind == "AGENT_ADD":
        rec["resources"] = fmt({"cpus": random.randrange(1, 8) * 1000, "mem": random.randrange(1, 8) * 1024000})
    if kind in ("RECOVER", "CLAIM"):
        rec["resources"] = fmt(amount)
    if kind == "FRAMEWORK_ADD":
        rec["role"] = random.choice(["*", "x", "y"])
    out, shares = talk(rec)
    errs = [r for r in out if r["type"] == "ERROR"]
    # what the model says must happen
    if kind == "AGENT_ADD":
        new = res(rec["resources"])
        used = {}
        for (hf, ha), h in holds.items():
            if ha == a:
                move({}, used, h)
        ok = True
        part = meet(new, used)
        agents[a] = [new, minus(new, part), minus(used, part)]
    elif kind == "AGENT_REMOVE":
        ok = a in agents
        if ok:
            del agents[a]
            holds = {k: v for k, v in holds.items() if k[1] != a}
    elif kind == "FRAMEWORK_ADD":
        ok = True
        fws.add(f)
    elif kind == "FRAMEWORK_REMOVE":
        ok = f in fws
        if ok:
            fws.discard(f)
            suppressed.discard(f)
            for (hf, ha) in [k for k in holds if k[0] == f]:
                give(agents[ha], holds.pop((hf, ha)))
    elif kind == "RECOVER":
        r = res(rec["resources"])
        ok = f in fws and a in agents and (not any(r.values()) or ((f, a) in holds and le(r, holds[(f, a)])))
        if ok:
            move(held(f, a), {}, r)
            give(agents[a], r)
    elif kind == "CLAIM":
        r = res(rec["resources"])
        ok = f in fws and a in agents
        if ok:
            part = meet(agents[a][1], r)
            move(agents[a][1], {}, part)
            move({}, agents[a][2], minus(r, part))
            move({}, held(f, a), r)
    elif kind in ("SUPPRESS", "REVIVE"):
        ok = f in fws
        if ok:
            (suppressed.add if kind == "SUPPRESS" else suppressed.discard)(f)
    else:
        ok = True
    assert ok == (not errs), (step, rec, errs, ok)
    errors += len(errs)
    for r in out:
        if r["type"] != "ALLOCATION":
            continue
        fa, aa, got = r["framework_id"], r["agent_id"], res(r["resources"])
        assert fa in fws and fa not in suppressed, (step, r)
        # the whole free pool of the agent, never more
        free = {k: v for k, v in agents[aa][1].items() if v}
        assert got == free, (step, r, free)
        move(agents[aa][1], held(fa, aa), got)
        allocs += 1
    for fr in shares["frameworks"]:
        want = {}
        for (hf, ha), h in holds.items():
            if hf == fr["framework_id"]:
                move({}, want, h)
        assert res(fr["allocated"]) == {k: v for k, v in want.items() if v}, (step, fr, want)
    for ag, (total, free, over) in agents.items():
        assert all(v >= 0 for v in free.values()) and le(free, total), (step, ag)
        assert all(v >= 0 for v in over.values()), (step, ag)
        # nothing is both free and held beyond the total
        assert not meet(free, over), (step, ag, free, over)
p.stdin.close()
assert p.wait() == 0
assert allocs > 100 and errors > 100, (allocs, errors)
print("ok", allocs, errors)
EOF
	for seed in 1 2 3; do
		run python3 "$TMP/fuzz.py" "$seed"
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == "ok "* ]]
	done
}
