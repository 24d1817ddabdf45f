#!/usr/bin/env bats
# lib/auth.c: credential files and sealed records (libsodium), through its
# test driver build/test/auth-test.

load helper

setup() {
	setup_tmp
	AT="$TOP/build/test/auth-test"
}
teardown() { cleanup_tmp; }

@test "sealing: forged, changed, cut, reflected, replayed and stale records are refused" {
	"$AT" new op1 "$TMP/c"
	run "$AT" cases "$TMP/c"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -eq 13 ]
	! grep -q FAIL <<<"$output" || false
}

@test "a new credential is mode 0600 and never overwrites a file" {
	"$AT" new op1 "$TMP/c"
	[ "$(stat -c %a "$TMP/c")" = 600 ]
	[[ "$(cat "$TMP/c")" =~ ^op1\ [A-Za-z0-9+/]{43}=$ ]]
	run "$AT" new op2 "$TMP/c"
	[ "$status" -eq 1 ]
	[[ "$output" == *"File exists"* ]]
	[ "$(cut -d' ' -f1 "$TMP/c")" = op1 ]
	run "$AT" new .. "$TMP/d"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a valid principal"* ]]
	[ ! -e "$TMP/d" ]
}

@test "a credentials file that others may read, someone else owns, or is a link is refused" {
	"$AT" new op1 "$TMP/c"
	chmod 640 "$TMP/c"
	run "$AT" read "$TMP/c"
	[ "$status" -eq 1 ]
	[[ "$output" == *"mode 0640 is too open"*"chmod 600 $TMP/c"* ]]
	chmod 600 "$TMP/c"
	ln -s "$TMP/c" "$TMP/link"
	run "$AT" read "$TMP/link"
	[ "$status" -eq 1 ]
	cp "$TMP/c" "$TMP/theirs"
	chown nobody "$TMP/theirs"
	run "$AT" read "$TMP/theirs"
	[ "$status" -eq 1 ]
	[[ "$output" == *"owned by uid"*"neither us nor root"* ]]
	run "$AT" read "$TMP/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such file"* ]]
}

@test "the master's credentials file: one line per principal, comments, and clear errors" {
	for p in agent1 fw-a ops; do "$AT" new "$p" "$TMP/$p"; done
	{ echo "# principals of the cluster"; cat "$TMP/agent1"; echo; cat "$TMP/fw-a" "$TMP/ops"; } >"$TMP/all"
	chmod 600 "$TMP/all"
	run "$AT" read "$TMP/all"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'agent1\nfw-a\nops')" ]
	cat "$TMP/ops" >>"$TMP/all"
	run "$AT" read "$TMP/all"
	[ "$status" -eq 1 ]
	[[ "$output" == *"all:6: the principal is given twice"* ]]
	for bad in "ops" "ops c2hvcnQ=" "../x $(cut -d' ' -f2 "$TMP/ops")"; do
		echo "$bad" >"$TMP/bad"
		chmod 600 "$TMP/bad"
		run "$AT" read "$TMP/bad"
		[ "$status" -eq 1 ]
		[[ "$output" == *"bad:1: "* ]]
	done
	: >"$TMP/empty"
	chmod 600 "$TMP/empty"
	run "$AT" read "$TMP/empty"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no credential in it"* ]]
	# the last line needs no newline; a file past 4 MiB is refused whole
	printf '%s' "$(cat "$TMP/ops")" >"$TMP/nonl"
	chmod 600 "$TMP/nonl"
	run "$AT" read "$TMP/nonl"
	[ "$status" -eq 0 ]
	[ "$output" = ops ]
	{ cat "$TMP/ops"; head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' '#'; } >"$TMP/big"
	chmod 600 "$TMP/big"
	run "$AT" read "$TMP/big"
	[ "$status" -eq 1 ]
	[[ "$output" == *"big: larger than 4194304 bytes"* ]]
}

@test "a record sealed by one process opens in another with the same secret only" {
	"$AT" new op1 "$TMP/c"
	"$AT" new op1 "$TMP/other"
	printf 'hello' | "$AT" seal "$TMP/c" >"$TMP/frame"
	[ "$(head -c 2 "$TMP/frame")" = CS ]
	[ "$("$AT" open "$TMP/c" <"$TMP/frame")" = hello ]
	run "$AT" open "$TMP/other" <"$TMP/frame"
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused: not made with the principal's secret"* ]]
	python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; sys.stdout.buffer.write(b)' "$TMP/frame" >"$TMP/tampered"
	run "$AT" open "$TMP/c" <"$TMP/tampered"
	[ "$status" -eq 1 ]
	printf 'hello' >"$TMP/plain"
	run "$AT" open "$TMP/c" <"$TMP/plain"
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused: not a sealed record"* ]]
}

@test "the transport with identity: sealed both ways, refusals say why, only an ERROR in the clear" {
	"$AT" new op1 "$TMP/own"
	"$AT" new op1 "$TMP/other"
	"$AT" new stranger "$TMP/stranger"
	cp "$TMP/own" "$TMP/keys"
	run "$TOP/build/test/net-auth-test" "$TMP" "$TMP/keys" "$TMP/own" "$TMP/other" "$TMP/stranger"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -eq 10 ]
}

@test "batches on the wire: a refused frame is kept and goes first, in order; a frame holds 1,024 records at most" {
	run "$TOP/build/test/net-batch-test" "$TMP"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -eq 12 ]
}
