#!/usr/bin/env bats
# lib/acl.c: the ACL file's grammar and matching (cluster-acl(5)), through
# its test driver build/test/acl-test.

load helper

setup() {
	setup_tmp
	AT="$TOP/build/test/acl-test"
}
teardown() { cleanup_tmp; }

# answers FILE QUESTIONS...: the permit/deny lines acl-test prints, joined.
answers() {
	"$AT" "$@" | tail -n +2 | tr '\n' ' '
}

@test "the last matching rule decides; no matching rule denies" {
	cat >"$TMP/acl" <<-'E'
	# the data team
	permit * register analytics   # anyone may use the role
	deny bob register analytics
	permit data run-as hadoop spark
	permit ops query tasks
	E
	run "$AT" "$TMP/acl"
	[ "$output" = "4 rules" ]
	[ "$(answers "$TMP/acl" ann register analytics bob register analytics \
	    ann register web ann register '*')" = "permit deny deny deny " ]
	[ "$(answers "$TMP/acl" data run-as spark data run-as hadoop \
	    data run-as nobody ops run-as spark)" = "permit permit deny deny " ]
	[ "$(answers "$TMP/acl" ops query tasks ops query agents \
	    ops agent - ops weight analytics)" = "permit deny deny deny " ]
}

@test "run-as '*' is any user but uid 0: root only where a rule names it" {
	printf 'permit ops run-as *\npermit admin run-as root\n' >"$TMP/acl"
	[ "$(answers "$TMP/acl" ops run-as nobody ops run-as root ops run-as 0 \
	    ops run-as 00 ops run-as +0)" = "permit deny deny deny deny " ]
	[ "$(answers "$TMP/acl" admin run-as root admin run-as 0 \
	    admin run-as nobody)" = "permit permit deny " ]
	# a later "deny * run-as *" does not take back the named root
	printf 'permit admin run-as root\ndeny admin run-as *\n' >"$TMP/acl"
	[ "$(answers "$TMP/acl" admin run-as root admin run-as nobody)" = "permit deny " ]
}

@test "objects: '*' and none mean any where an action allows it" {
	printf 'permit ops weight\npermit ops query\npermit ops agent\npermit ops kill *\npermit ops view *\n' >"$TMP/acl"
	[ "$(answers "$TMP/acl" ops weight '*' ops weight web ops query offers \
	    ops agent - ops kill bob ops view bob ops view '')" = \
	    "permit permit permit permit permit permit permit " ]
	[ "$(answers "$TMP/acl" bob weight web bob query agents bob agent - \
	    bob kill ops bob view ops)" = "deny deny deny deny deny " ]
}

@test "no file: everything but running as root and killing others' work" {
	[ "$(answers none ops register web ops run-as nobody ops run-as root \
	    ops run-as 0 ops agent - ops weight '*' ops query tasks ops view bob \
	    ops kill bob)" = "permit permit deny deny permit permit permit permit deny " ]
}

@test "a bad line is refused with its number and what is wrong" {
	bad() {
		printf "permit ops agent\n\n$1\n" >"$TMP/acl"
		run "$AT" "$TMP/acl"
		echo "$output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"$TMP/acl:3: $2"* ]]
	}
	bad 'allow ops agent' "a rule starts with permit or deny, not 'allow'"
	bad 'permit ops' 'permit needs a principal and an action'
	bad 'permit .. agent' "'..' is neither a principal nor *"
	bad 'deny ops kil bob' "unknown action 'kil'"
	bad 'permit ops agent host1' 'agent takes no object'
	bad 'permit ops register' 'register needs at least one role (or *)'
	bad 'permit ops run-as -x' "'-x' is not a user nor *"
	bad 'permit ops run-as a/b' "'a/b' is not a user nor *"
	bad 'permit ops query task' "'task' is not a query nor *"
	bad 'permit ops view .hidden' "'.hidden' is not a principal nor *"
	printf 'permit ops agent\n\0\n' | { run "$AT" -; echo "$output"; [[ "$output" == *"-:2: a NUL byte"* ]]; }
}

@test "the file must be ours or root's and writable by us only; a link is refused" {
	printf 'permit ops agent\n' >"$TMP/acl"
	chmod 644 "$TMP/acl"
	run "$AT" "$TMP/acl"
	[ "$status" -eq 0 ]
	chmod 664 "$TMP/acl"
	run "$AT" "$TMP/acl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"mode 0664 is too open"* ]]
	chmod 644 "$TMP/acl"
	ln -s "$TMP/acl" "$TMP/link"
	run "$AT" "$TMP/link"
	[ "$status" -eq 1 ]
	run "$AT" "$TMP/missing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$TMP/missing: No such file"* ]]
	if [ "$(id -u)" = 0 ]; then
		chown nobody "$TMP/acl"
		run "$AT" "$TMP/acl"
		[ "$status" -eq 1 ]
		[[ "$output" == *"neither us nor root"* ]]
	fi
}
