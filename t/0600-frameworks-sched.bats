#!/usr/bin/env bats
# The scheduler library sched(3): the man page's example compiles and runs
# real tasks; the installed pkg-config file builds it against the shared
# library.

load helper

setup() { setup_tmp; }
teardown() { dump_logs; teardown_daemons; kill_strays; cleanup_tmp; }

# kill_strays: end whatever outlived the daemons (an allocator whose offerd
# was killed, the tasks of a killed agent): processes naming $TMP.

# the compiler (and sanitizers, under t/san) that build/ was made with
CC=$(cat "$TOP/build/cc" 2>/dev/null || echo cc)
LIBS="$(pkg-config --libs libbsd-overlay msgpack nanomsg jansson libcap libsodium) -lzookeeper_mt -lm"

@test "the man page is clean for mandoc and documents every function of the header" {
	man_documents sched.3 scheduler.h sched
}

@test "the EXAMPLES scheduler compiles warning-free and runs its tasks to the end" {
	man_example sched.3 "$TMP/hello.c"
	grep -q 'sched_run' "$TMP/hello.c"
	$CC -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Werror -I"$TOP/lib" -o "$TMP/hello" \
	    "$TMP/hello.c" "$TOP/build/libcluster.a" $LIBS
	start_cluster 2 3>&-
	run timeout 30 "$TMP/hello" 'echo out-$$' 5
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c ' TASK_FINISHED$')" -eq 5 ]
	for i in 0 1 2 3 4; do [[ "$output" == *"hello-$i TASK_FINISHED"* ]]; done
	# each status update reached the scheduler once, though agents resend
	[ "$(echo "$output" | grep -c 'hello-0 TASK_RUNNING')" -eq 1 ]
	# the master ran exactly those tasks, and the framework left
	[ "$(cluster-ctl -o json tasks | grep -c '"state":"TASK_FINISHED"')" -eq 5 ]
	wait_for 5 sh -c '[ -z "$(cluster-ctl -h frameworks)" ]'
	# a failing command makes it fail
	run timeout 30 "$TMP/hello" 'exit 3' 2
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | grep -c ' TASK_FAILED$')" -eq 2 ]
}

@test "with no master the scheduler keeps subscribing and never reports success" {
	man_example sched.3 "$TMP/hello.c"
	$CC -std=gnu11 -I"$TOP/lib" -o "$TMP/hello" "$TMP/hello.c" \
	    "$TOP/build/libcluster.a" $LIBS
	run timeout 2 "$TMP/hello"
	[ "$status" -eq 124 ]
}

@test "make install writes cluster.pc; pkg-config builds the example against the shared library" {
	man_example sched.3 "$TMP/hello.c"
	run make -C "$TOP" -s install PREFIX="$TMP/prefix"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -f "$TMP/prefix/lib/pkgconfig/cluster.pc" ]
	[ -f "$TMP/prefix/include/cluster/scheduler.h" ]
	[ -f "$TMP/prefix/share/man/man3/sched.3" ]
	export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig"
	run pkg-config --cflags --libs cluster
	echo "$output"
	[[ "$output" == *"-I$TMP/prefix/include/cluster"* ]]
	[[ "$output" == *"-L$TMP/prefix/lib -lcluster"* ]]
	$CC -o "$TMP/hello-so" "$TMP/hello.c" $(pkg-config --cflags --libs cluster)
	start_cluster 1 3>&-
	LD_LIBRARY_PATH="$TMP/prefix/lib" run timeout 30 "$TMP/hello-so" true 2
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c ' TASK_FINISHED$')" -eq 2 ]
	LD_LIBRARY_PATH="$TMP/prefix/lib" ldd "$TMP/hello-so" | grep -q "$TMP/prefix/lib/libcluster.so"
	make -C "$TOP" -s uninstall PREFIX="$TMP/prefix"
	[ ! -e "$TMP/prefix/lib/pkgconfig/cluster.pc" ]
}
