#!/usr/bin/env bats
# The sanitizer run of make check: make SAN=1 builds under ASan and UBSan
# and says so in build/cc, a plain make rebuilds (and build/ld, what
# the programs link, relinks them when it changes); t/san counts every
# sanitizer report, even of a program whose stderr no one reads, as a
# failed test named after the test that ran it.

load helper

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

# in_new_bats CMD...: run CMD with none of this bats' environment (its
# PATH finds bats' internal bats first)
in_new_bats() {
	env -i PATH="$(echo "$PATH" | tr : '\n' | grep -v bats-core | paste -sd :)" "$@"
}

@test "make SAN=1 builds the library under the sanitizers, a plain make rebuilds it without" {
	mkdir "$TMP/tree"
	cp -r "$TOP/Makefile" "$TOP/lib" "$TMP/tree/"
	run make -C "$TMP/tree" -s SAN=1 build/libcluster.a
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q -- '-fsanitize=address,undefined' "$TMP/tree/build/cc"
	nm "$TMP/tree/build/libcluster.a" | grep -q __asan_report
	nm "$TMP/tree/build/libcluster.a" | grep -q __ubsan_handle
	# SAN as t/san exports it does not leak into the plain build
	run env -u SAN make -C "$TMP/tree" -s build/libcluster.a
	[ "$status" -eq 0 ]
	[ "$(cat "$TMP/tree/build/cc")" = cc ]
	! nm "$TMP/tree/build/libcluster.a" | grep -q __asan || false
	# and nothing is rebuilt while the compiler stays
	touch "$TMP/mark"
	sleep 1
	env -u SAN make -C "$TMP/tree" -s build/libcluster.a
	[ -z "$(find "$TMP/tree/build" -newer "$TMP/mark")" ]
}

@test "a change of the libraries linked in relinks: build/ld says what they were" {
	mkdir "$TMP/tree"
	cp -r "$TOP/Makefile" "$TOP/lib" "$TMP/tree/"
	# built where jemalloc was missing, then where it is (only the
	# libraries are made, so it need not be there)
	env -u SAN make -C "$TMP/tree" -s MALLOC_LIBS= build/libcluster.a build/libprog.a
	grep -q -- -lsodium "$TMP/tree/build/ld"
	! grep -q -- -ljemalloc "$TMP/tree/build/ld" || false
	touch "$TMP/mark"
	sleep 1
	# both libraries every program links are made again, the objects not
	env -u SAN make -C "$TMP/tree" -s MALLOC_LIBS=-ljemalloc build/libcluster.a build/libprog.a
	grep -q -- -ljemalloc "$TMP/tree/build/ld"
	[ "$TMP/tree/build/libcluster.a" -nt "$TMP/mark" ]
	[ "$TMP/tree/build/libprog.a" -nt "$TMP/mark" ]
	[ -z "$(find "$TMP/tree/build/lib" -name '*.o' -newer "$TMP/mark")" ]
	# and the same again rebuilds nothing
	touch "$TMP/mark"
	sleep 1
	env -u SAN make -C "$TMP/tree" -s MALLOC_LIBS=-ljemalloc build/libcluster.a build/libprog.a
	[ -z "$(find "$TMP/tree/build" -newer "$TMP/mark")" ]
}

@test "t/san: each sanitizer report is a failed test, named, with its text" {
	# a tree whose build/ says it is sanitized, with two faulty programs
	mkdir -p "$TMP/tree/t" "$TMP/tree/build"
	cp "$TOP/t/run" "$TOP/t/san" "$TOP/t/helper.bash" "$TOP/t/lsan.supp" \
	    "$TMP/tree/t/"
	echo "clang -fsanitize=address,undefined" >"$TMP/tree/build/cc"
	printf '#include <stdlib.h>\nint main(void) { char *p = malloc(4);'\
' p[4] = 1; free(p); return 0; }\n' >"$TMP/heap.c"
	printf 'int main(int argc, char **argv) { int x = 2147483647;'\
' (void)argv; x += argc; return x & 1; }\n' >"$TMP/ub.c"
	for p in heap ub; do
		clang -g -O0 -fsanitize=address,undefined \
		    -fno-sanitize-recover=undefined -o "$TMP/tree/build/$p" \
		    "$TMP/$p.c"
	done
	# (written as "TEST": bats would take "@test" here as its own)
	sed 's/^TEST /@test /' >"$TMP/tree/t/9999-faulty.bats" <<'TESTS'
load helper
setup() { setup_tmp; }
teardown() { cleanup_tmp; }
TEST "a heap overflow in the background, its stderr thrown away" {
	"$TOP/build/heap" >/dev/null 2>&1 &
	wait $! || true
}
TEST "a clean test" { true; }
TEST "a signed overflow" { run "$TOP/build/ub"; }
TEST "only LeakSanitizer's notice of a thread it could not stop" {
	printf '==drf-alloc==24690==Unable to get registers from thread 24577.\n' \
	    >"${ASAN_OPTIONS##*log_path=}.drf-alloc.24690"
}
TESTS
	run in_new_bats "$TMP/tree/t/san" t/9999-faulty.bats
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not ok - sanitizer report 9999-faulty-1.heap."*"(in: a heap overflow in the background, its stderr thrown away)"* ]]
	[[ "$output" == *"ERROR: AddressSanitizer: heap-buffer-overflow"* ]]
	[[ "$output" == *"not ok - sanitizer report 9999-faulty-3.ub."*"(in: a signed overflow)"* ]]
	[[ "$output" == *"runtime error: signed integer overflow"* ]]
	[[ "$output" == *"# sanitizer notice 9999-faulty-4.drf-alloc.24690: ==drf-alloc==24690==Unable to get registers from thread 24577."* ]]
	[[ "$output" == *"sanitizers: 2 reports, kept in /tmp/cluster-san."* ]]
	[ "${lines[${#lines[@]} - 1]}" = "4 passed, 2 failed, 0 skipped" ]
	rm -rf "$(echo "$output" | sed -n 's/.*kept in \(.*\)$/\1/p')"
}

@test "t/san refuses a build that is not sanitized" {
	mkdir -p "$TMP/tree/t" "$TMP/tree/build"
	cp "$TOP/t/run" "$TOP/t/san" "$TMP/tree/t/"
	echo cc >"$TMP/tree/build/cc"
	run in_new_bats "$TMP/tree/t/san"
	[ "$status" -eq 1 ]
	[[ "$output" == *"build/ is not sanitized: run make san"* ]]
}

@test "a change of task-launch's own link line relinks it: bound at start again after a build without" {
	mkdir "$TMP/tree"
	cp -r "$TOP/Makefile" "$TOP/lib" "$TOP/bin" "$TMP/tree/"
	# a build/ left by a Makefile that linked task-launch lazily
	env -u SAN make -C "$TMP/tree" -s -j2 build/bin/task-launch \
	    LAUNCH_LIBS="-Wl,-Bstatic $(pkg-config --static --libs libbsd jansson libcap) -Wl,-Bdynamic"
	! readelf -d "$TMP/tree/build/bin/task-launch" | grep -q 'FLAGS.*NOW' || false
	touch "$TMP/mark"
	sleep 1
	env -u SAN make -C "$TMP/tree" -s build/bin/task-launch
	[ "$TMP/tree/build/bin/task-launch" -nt "$TMP/mark" ]
	readelf -d "$TMP/tree/build/bin/task-launch" | grep -q 'FLAGS.*NOW'
	[ -z "$(find "$TMP/tree/build/lib" -name '*.o' -newer "$TMP/mark")" ]
	# a program with link additions of its own does not change build/ld
	cp "$TMP/tree/build/ld" "$TMP/ld"
	env -u SAN make -C "$TMP/tree" -s build/bin/offerd
	cmp "$TMP/ld" "$TMP/tree/build/ld"
}

@test "a negated assertion can fail its test: every '! cmd' in t/ ends in '|| false'" {
	# set -e, which bats relies on, ignores a command negated with !:
	# on any line but a test's last, '! grep -q x f' passes whatever f holds
	# (a choice is an if, not '! cond || var=...', which reads as one)
	run grep -nE '^[[:space:]]*! ' "$TOP"/t/*.bats "$TOP"/t/*.bash
	echo "$output" | grep -vE '\|\| false$|[|\\]$|^$' && false
	# the rule itself catches what it should
	printf '\t! grep -q x f\n\t! grep -q x f || used=y\n' >"$TMP/bad.bats"
	[ "$(grep -nE '^[[:space:]]*! ' "$TMP/bad.bats" | grep -cvE '\|\| false$|[|\\]$')" -eq 2 ]
}
