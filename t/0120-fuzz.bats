#!/usr/bin/env bats
# The decoders under libFuzzer with AddressSanitizer and UBSan: every
# harness of t/fuzz runs for FUZZ_SECONDS (default 15) from its kept seed
# corpus (copied, so that the tree's corpus does not grow), and must end
# with no crash, leak or undefined behaviour.  Figures go to the TAP output.

load helper

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

# fuzz NAME: run build/fuzz/NAME; print its figures as a TAP comment.
fuzz() {
	local name=$1 secs=${FUZZ_SECONDS:-15}
	mkdir -p "$TMP/corpus" "$TMP/art"
	cp -r "$TOP/t/fuzz/corpus/$name/." "$TMP/corpus/"
	run "$TOP/build/fuzz/$name" -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="$TMP/art/" -max_len=4096 "$TMP/corpus"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' <<<"$output")
	echo "# fuzz $name: ${runs:-?} executions in $secs s, $(ls "$TMP/art" | wc -l) crashes" >&3
	[ "$status" -eq 0 ] || { echo "$output" | tail -40; ls "$TMP/art"; return 1; }
	[ -z "$(ls "$TMP/art")" ]
	[ "${runs:-0}" -gt 1000 ]
}

@test "fuzz: msgpack records off the wire decode, or are refused, and round-trip" { fuzz rec; }
@test "fuzz: JSON lines become records within the wire's limits" { fuzz json; }
@test "fuzz: resource and attribute strings parse, print and compute consistently" { fuzz res; }
@test "fuzz: sealed frames and credential lines never open unless sealed with the key" { fuzz auth; }
@test "fuzz: ACL files parse or are refused with a line, and the last matching rule decides" { fuzz acl; }
@test "fuzz: the launcher's fork server requests and option values decode, or are refused" { fuzz launch; }
