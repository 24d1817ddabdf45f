#!/usr/bin/env bats
# drf-alloc standalone: allocator records on stdin, decisions on stdout.
# Most tests use the manual clock, so that cycles run only on ALLOCATE and
# TICK and every output is exact.

load helper

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

# summary: turn the SHARES lines of stdin into one line per framework:
# "id role dominant(3 places) allocated agents=N [suppressed]".
summary() {
	python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] != "SHARES":
        continue
    for f in r["frameworks"]:
        print("%s %s %.3f %s agents=%d%s" % (f["framework_id"], f["role"],
            f["dominant"], f["allocated"] or "-", f["agents"],
            " suppressed" if f["suppressed"] else ""))'
}

# allocations: only the ALLOCATION lines of stdin, as "fw agent resources".
allocations() {
	python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] == "ALLOCATION":
        print(r["framework_id"], r["agent_id"], r["resources"])'
}

# manual_allocations [OPTION...]: drf-alloc --clock manual OPTION... on stdin,
# only its ALLOCATION lines, as allocations prints them; the status is
# drf-alloc's.
manual_allocations() {
	local out st=0
	out=$(drf-alloc --clock manual "$@") || st=$?
	allocations <<<"$out"
	return "$st"
}

@test "--help prints the usage on stdout, a bad option exits 100" {
	run drf-alloc --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: drf-alloc [-dv] [-A program]"* ]]
	run drf-alloc --no-such-option
	[ "$status" -eq 100 ]
	run drf-alloc --clock sundial
	[ "$status" -eq 100 ]
	run drf-alloc -W nonsense
	[ "$status" -eq 100 ]
	run drf-alloc -W r=-1
	[ "$status" -eq 100 ]
	run drf-alloc --min-offer cpus:x
	[ "$status" -eq 100 ]
	run drf-alloc -A true
	[ "$status" -eq 100 ]
}

@test "the DRF paper's two users end with A 3 tasks, B 2 tasks, both at 2/3" {
	# The frameworks are played by this driver: on each ALLOCATION the
	# receiver launches one task if it fits and gives back the rest; when
	# nothing fits it declines the whole offer for an hour.
	cat >"$TMP/paper.py" <<'EOF'
import json, subprocess
p = subprocess.Popen(["drf-alloc", "--clock", "manual"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True, bufsize=1)
def send(**r):
    p.stdin.write(json.dumps(r) + "\n")
    p.stdin.flush()
def parse(s):
    return {k: float(v) for k, v in (kv.split(":") for kv in s.split(";") if kv)}
need = {"A": {"cpus": 1, "mem": 4096}, "B": {"cpus": 3, "mem": 1024}}
tasks, order = {"A": 0, "B": 0}, ""
send(type="AGENT_ADD", agent_id="a1", resources="cpus:9;mem:18432")
send(type="FRAMEWORK_ADD", framework_id="A")
send(type="FRAMEWORK_ADD", framework_id="B")
for rnd in range(50):
    send(type="ALLOCATE")
    send(type="SHARES_QUERY")
    got = 0
    while True:
        r = json.loads(p.stdout.readline())
        if r["type"] == "SHARES":
            shares = r
            break
        assert r["type"] == "ALLOCATION", r
        got += 1
        fw, have = r["framework_id"], parse(r["resources"])
        task = need[fw]
        if all(have.get(k, 0) >= v for k, v in task.items()):
            tasks[fw] += 1
            order += fw
            rest = ";".join("%s:%g" % (k, have[k] - task.get(k, 0)) for k in have)
            send(type="RECOVER", framework_id=fw, agent_id=r["agent_id"], resources=rest)
        else:
            send(type="RECOVER", framework_id=fw, agent_id=r["agent_id"],
                 resources=r["resources"], refuse_seconds=3600)
    if got == 0:
        break
p.stdin.close()
assert p.wait() == 0
print("A=%d B=%d order=%s" % (tasks["A"], tasks["B"], order))
for f in shares["frameworks"]:
    print("%s %.4f %s" % (f["framework_id"], f["dominant"], f["allocated"]))
EOF
	run python3 "$TMP/paper.py"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "A=3 B=2 order=ABABA" ]
	[ "${lines[1]}" = "A 0.6667 cpus:3;mem:12288" ]
	[ "${lines[2]}" = "B 0.6667 cpus:6;mem:2048" ]
}

@test "one cycle: the lowest share takes a whole agent, ties by allocations then name" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"b"}
{"type":"FRAMEWORK_ADD","framework_id":"a"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:2;mem:1024;ports:[31000-31009]"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:2;mem:1024"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:4;mem:2048"}
{"type":"ALLOCATE"}
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = '{"type":"ALLOCATION","framework_id":"a","agent_id":"n1","resources":"cpus:2;mem:1024;ports:[31000-31009]"}' ]
	[ "${lines[1]}" = '{"type":"ALLOCATION","framework_id":"b","agent_id":"n2","resources":"cpus:2;mem:1024"}' ]
	# both at 1/4 with one allocation each: the name decides
	[ "${lines[2]}" = '{"type":"ALLOCATION","framework_id":"a","agent_id":"n3","resources":"cpus:4;mem:2048"}' ]
}

@test "60 frameworks in 4 weighted roles, 500 agents, filters and declines: the decisions of a plain reference DRF" {
	# t/drf-reference.py sorts every candidate for every agent; drf.c
	# keeps heaps several levels deep at this size and visits past
	# frameworks that a minimum or a decline filter passes over
	cd "$TMP"
	for seed in 1 2 3; do
		python3 "$BATS_TEST_DIRNAME/drf-reference.py" "$seed"
		drf-alloc --clock manual <"$seed.in" >"$seed.raw"
		! grep -v '"ALLOCATION"' "$seed.raw" || false
		allocations <"$seed.raw" >"$seed.out"
		[ "$(wc -l <"$seed.out")" -eq 600 ]
		diff "$seed.expected" "$seed.out"
	done
}

@test "weighted roles: weight 2 gets twice the agents (-W and WEIGHT)" {
	events='{"type":"FRAMEWORK_ADD","framework_id":"f1","role":"gold"}
{"type":"FRAMEWORK_ADD","framework_id":"f2","role":"tin"}'
	for i in 1 2 3 4 5 6; do
		events="$events
{\"type\":\"AGENT_ADD\",\"agent_id\":\"n$i\",\"resources\":\"cpus:1;mem:1024\"}"
	done
	run drf-alloc --clock manual -W gold=2 <<<"$events
{\"type\":\"ALLOCATE\"}
{\"type\":\"SHARES_QUERY\"}"
	echo "$output"
	[ "$status" -eq 0 ]
	run summary <<<"$output"
	[ "${lines[0]}" = "f1 gold 0.667 cpus:4;mem:4096 agents=4" ]
	[ "${lines[1]}" = "f2 tin 0.333 cpus:2;mem:2048 agents=2" ]
	# the same through the record, and the other way round
	run drf-alloc --clock manual <<<"{\"type\":\"WEIGHT\",\"role\":\"tin\",\"weight\":2}
$events
{\"type\":\"ALLOCATE\"}
{\"type\":\"SHARES_QUERY\"}"
	run summary <<<"$output"
	[ "${lines[0]}" = "f1 gold 0.333 cpus:2;mem:2048 agents=2" ]
	[ "${lines[1]}" = "f2 tin 0.667 cpus:4;mem:4096 agents=4" ]
	# -w is the work dir elsewhere: never the weight
	run drf-alloc --clock manual -w gold=2 </dev/null
	[ "$status" -eq 100 ]
}

@test "roles first, then frameworks inside a role" {
	run manual_allocations <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"a1","role":"a"}
{"type":"FRAMEWORK_ADD","framework_id":"a2","role":"a"}
{"type":"FRAMEWORK_ADD","framework_id":"b1","role":"b"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:100"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:1;mem:100"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:1;mem:100"}
{"type":"AGENT_ADD","agent_id":"n4","resources":"cpus:1;mem:100"}
{"type":"ALLOCATE"}
EOF
	# role b's single framework gets half; role a's two split theirs
	[ "$output" = "a1 n1 cpus:1;mem:100
b1 n2 cpus:1;mem:100
a2 n3 cpus:1;mem:100
b1 n4 cpus:1;mem:100" ]
}

@test "offered resources count as allocated until recovered" {
	run manual_allocations <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"slow"}
{"type":"FRAMEWORK_ADD","framework_id":"zippy"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"zippy","agent_id":"n2","resources":"cpus:4;mem:4096"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
EOF
	# slow sits on n1 unanswered, so n2 goes to zippy; zippy gives n2
	# back and, lower again, gets it back; then both hold 1/3 and slow,
	# with fewer allocations, gets n3
	[ "$output" = "slow n1 cpus:4;mem:4096
zippy n2 cpus:4;mem:4096
zippy n2 cpus:4;mem:4096
slow n3 cpus:4;mem:4096" ]
}

@test "decline filters hold until they expire on the manual clock" {
	run drf-alloc --clock manual -I 1s <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:4;mem:4096","refuse_seconds":5}
{"type":"ALLOCATE"}
{"type":"TICK","seconds":4.9}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
{"type":"TICK","seconds":0.1}
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:4;mem:4096"}' ]
	[[ "${lines[1]}" == '{"type":"SHARES"'* ]]
	# the TICK that reaches 5 s crosses an interval: its cycle offers n1 again
	[ "${lines[2]}" = "${lines[0]}" ]
}

@test "a decline filter holds only while the agent has no more free than was declined" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:2;mem:2048","refuse_seconds":10}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:2;mem:2048"}
{"type":"ALLOCATE"}
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	# the leftover is refused; when the task's half comes back, more than
	# the declined part is free and the filter no longer holds
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:4;mem:4096"}' ]
	[ "${lines[1]}" = "${lines[0]}" ]
}

@test "a declined agent goes to the next framework meanwhile" {
	run manual_allocations <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"FRAMEWORK_ADD","framework_id":"f2"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:4;mem:4096","refuse_seconds":5}
{"type":"ALLOCATE"}
EOF
	[ "$output" = "f1 n1 cpus:4;mem:4096
f2 n1 cpus:4;mem:4096" ]
}

@test "suppress stops offers; revive resumes them and clears decline filters" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"SUPPRESS","framework_id":"f1"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
{"type":"REVIVE","framework_id":"f1"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:4;mem:4096","refuse_seconds":3600}
{"type":"ALLOCATE"}
{"type":"REVIVE","framework_id":"f1"}
{"type":"ALLOCATE"}
EOF
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	got=("${lines[@]}")
	[ "${got[1]}" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:4;mem:4096"}' ]
	[ "${got[2]}" = "${got[1]}" ]
	run summary <<<"${got[0]}"
	[ "$output" = "f1 * 0.000 - agents=0 suppressed" ]
}

@test "node filters: attributes and a minimum of free resources" {
	run manual_allocations <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"a-picky","filters":{"attributes":"rack:r2;zone:x|y"}}
{"type":"FRAMEWORK_ADD","framework_id":"b-big","filters":{"min":"cpus:8"}}
{"type":"FRAMEWORK_ADD","framework_id":"c-any"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096","attributes":"rack:r1;zone:x"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:4;mem:4096","attributes":"rack:r2;zone:z"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:4;mem:4096","attributes":"rack:r2;zone:y"}
{"type":"AGENT_ADD","agent_id":"n4","resources":"cpus:16;mem:4096"}
{"type":"ALLOCATE"}
EOF
	[ "$output" = "c-any n1 cpus:4;mem:4096
c-any n2 cpus:4;mem:4096
a-picky n3 cpus:4;mem:4096
b-big n4 cpus:16;mem:4096" ]
}

@test "the min-offer rule: too little free is not offered" {
	run manual_allocations <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:0.005;mem:16;ports:[1-2]"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"mem:32"}
{"type":"AGENT_ADD","agent_id":"n3","resources":"cpus:0.01"}
{"type":"ALLOCATE"}
EOF
	[ "$output" = "f1 n2 mem:32
f1 n3 cpus:0.01" ]
	run manual_allocations --min-offer 'cpus:1;mem:64' <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:63"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:1;mem:64"}
{"type":"ALLOCATE"}
EOF
	[ "$output" = "f1 n2 cpus:1;mem:64" ]
}

@test "partial recover, claim, agent and framework removal keep the books exact" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"FRAMEWORK_ADD","framework_id":"f2"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096;ports:[100-199]"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:4;mem:4096"}
{"type":"CLAIM","framework_id":"f2","agent_id":"n2","resources":"cpus:1;mem:1000"}
{"type":"ALLOCATE"}
{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:3.5;mem:4000;ports:[100-149,151-199]"}
{"type":"SHARES_QUERY"}
{"type":"ALLOCATE"}
{"type":"AGENT_REMOVE","agent_id":"n2"}
{"type":"SHARES_QUERY"}
{"type":"FRAMEWORK_REMOVE","framework_id":"f1"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	all=$output
	run summary <<<"$all"
	[ "$output" = "f1 * 0.062 cpus:0.5;mem:96 agents=1
f2 * 0.500 cpus:4;mem:4096 agents=1
f1 * 1.000 cpus:4;mem:4096 agents=1
f2 * 0.000 - agents=0
f2 * 1.000 cpus:4;mem:4096 agents=1" ]
	run allocations <<<"$all"
	# f2's claim puts it ahead of f1 for n2; what f1 gives back of n1 comes
	# back to it, and once f1 is gone f2 gets n1 whole again: port 150
	# rejoined the range, nothing was lost or counted twice
	[ "$output" = "f1 n1 cpus:4;mem:4096;ports:[100-199]
f2 n2 cpus:3;mem:3096
f1 n1 cpus:3.5;mem:4000;ports:[100-149,151-199]
f2 n1 cpus:4;mem:4096;ports:[100-199]" ]
}

@test "shares after removal: agent resources vanish, framework holdings return" {
	run drf-alloc --clock manual <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"FRAMEWORK_ADD","framework_id":"f2"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:4;mem:4096"}
{"type":"AGENT_ADD","agent_id":"n2","resources":"cpus:4;mem:4096"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
{"type":"AGENT_REMOVE","agent_id":"n2"}
{"type":"SHARES_QUERY"}
{"type":"FRAMEWORK_REMOVE","framework_id":"f1"}
{"type":"ALLOCATE"}
{"type":"SHARES_QUERY"}
EOF
	echo "$output"
	run summary <<<"$output"
	[ "$output" = "f1 * 0.500 cpus:4;mem:4096 agents=1
f2 * 0.500 cpus:4;mem:4096 agents=1
f1 * 1.000 cpus:4;mem:4096 agents=1
f2 * 0.000 - agents=0
f2 * 1.000 cpus:4;mem:4096 agents=1" ]
}

@test "EOF runs a last cycle; the real clock needs no ALLOCATE" {
	run drf-alloc <<'EOF'
{"type":"FRAMEWORK_ADD","framework_id":"f1"}
{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:64"}
EOF
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:1;mem:64"}' ]
}

@test "the real clock allocates on events while the input stays open" {
	mkfifo "$TMP/in"
	drf-alloc -I 1h <"$TMP/in" >"$TMP/out" &
	pid=$!
	exec 7>"$TMP/in"
	echo '{"type":"FRAMEWORK_ADD","framework_id":"f1"}' >&7
	echo '{"type":"AGENT_ADD","agent_id":"n1","resources":"cpus:1;mem:64"}' >&7
	wait_for 5 grep -q ALLOCATION "$TMP/out"
	echo '{"type":"RECOVER","framework_id":"f1","agent_id":"n1","resources":"cpus:1","refuse_seconds":0}' >&7
	wait_for 5 sh -c "[ \$(grep -c ALLOCATION '$TMP/out') -eq 2 ]"
	exec 7>&-
	wait "$pid"
	cat "$TMP/out"
	[ "$(sed -n 2p "$TMP/out")" = '{"type":"ALLOCATION","framework_id":"f1","agent_id":"n1","resources":"cpus:1"}' ]
}

@test "SIGTERM ends the standalone mode with status 0" {
	mkfifo "$TMP/in"
	drf-alloc <"$TMP/in" >"$TMP/out" &
	pid=$!
	exec 7>"$TMP/in"
	sleep 0.2
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	exec 7>&-
	[ "$rc" -eq 0 ]
}

@test "the EXAMPLES of drf-alloc(8) print what the page says" {
	run python3 - "$TOP/man/drf-alloc.8" <<'EOF'
import subprocess, sys
lines, n = open(sys.argv[1]).read().split("\n"), 0
for i, l in enumerate(lines):
    if not l.startswith("$ drf-alloc") or "<<'EOF'" not in l:
        continue
    j = lines.index("EOF", i)
    k = lines.index(".Ed", j)
    cmd = l[2:].split("<<")[0].split()
    got = subprocess.run(cmd, input="\n".join(lines[i + 1:j]) + "\n", text=True,
                         capture_output=True).stdout
    assert got == "".join(x + "\n" for x in lines[j + 1:k]), (l, got)
    n += 1
print("examples", n)
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "examples 3" ]
}
