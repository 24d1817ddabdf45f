# Cluster resource manager: offerd, agentd, drf-alloc, task-launch, cluster-ctl.
# Every program is one folder under bin/; shared code is lib/ (libcluster).
# Outputs go to build/ so the source tree stays clean.

# The release: --version of every program, and the pkg-config file.
VERSION	 = 0.3.0
PREFIX	?= /usr/local
DESTDIR	?=
BINDIR	 = $(PREFIX)/bin
LIBDIR	 = $(PREFIX)/lib
INCDIR	 = $(PREFIX)/include
MANDIR	 = $(PREFIX)/share/man
OFFERD_USER = offerd
# systemd units (share/systemd): systemd reads /usr/local/lib/systemd/system
# as well as /lib/systemd/system; a package would give SYSTEMDDIR=/lib/...
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
UNITS	 = $(wildcard share/systemd/*.service)

CC	?= cc
PKGS	 = libbsd-overlay msgpack nanomsg jansson libcap libsodium
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(CI),true)
WARN	+= -Werror
endif
CFLAGS	?= -O2 -g
# make SAN=1 (or make san): everything in build/ but the fuzzers is built
# with clang under AddressSanitizer and UBSan, UB being an error, for
# t/san.  build/cc says how what is in build/ was compiled: when it
# changes, every object is rebuilt, so no build links stale objects of
# the other kind, and tests link against build/ with it.
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	   -fno-omit-frame-pointer
ifeq ($(SAN),1)
CC	 = clang
CFLAGS	+= $(SAN_FLAGS)
BUILD_CC = $(CC) $(SAN_FLAGS)
else
BUILD_CC = $(CC)
endif
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -fPIC $(WARN) -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lzookeeper_mt -lm
# The metrics' HTTP server (lib/metrics.c): linked into the daemons that
# serve it only, so that the tools do not load it and its TLS libraries.
HTTP_PKG = libmicrohttpd
HTTP_LIBS = $(shell pkg-config --libs $(HTTP_PKG) 2>/dev/null)
CFLAGS	+= $(shell pkg-config --cflags $(HTTP_PKG) 2>/dev/null)
build/bin/offerd build/bin/agentd build/libcluster.so build/test/metrics-test: \
	LDLIBS += $(HTTP_LIBS)

# The long-running daemons allocate with jemalloc: a record is a dozen
# small jansson objects made and freed in microseconds, and glibc's
# malloc spent a third of agentd's time on them, much of it merging its
# fast bins at every large request (docs/benchmarks.md, "The allocator").
# Not under the sanitizers, which bring their own.
ifneq ($(SAN),1)
MALLOC_LIBS = $(shell pkg-config --libs jemalloc 2>/dev/null)
endif
build/bin/offerd build/bin/agentd build/bin/drf-alloc build/bin/cluster-elect: \
	LDLIBS += $(MALLOC_LIBS)
# and the load generators, which stand for other machines: what they cost
# the benchmarks' two cores is not the cluster's
build/bench/load build/bench/agent-emu: LDLIBS += $(MALLOC_LIBS)

# Debian packages the build, the tests and the demo need (see README).
DEBS	 = build-essential pkg-config libbsd-dev libmsgpack-dev libnanomsg-dev \
	   libjansson-dev libcap-dev libsodium-dev bats iproute2 procps gnuplot-nox \
	   libzookeeper-mt-dev zookeeper mandoc jq python3 perl \
	   clang libclang-rt-14-dev \
	   qemu-system-x86 linux-image-amd64 busybox-static \
	   libmicrohttpd-dev libjemalloc-dev tmux curl

PROGS	 = $(notdir $(wildcard bin/*))
# libcluster is every lib/*.c but the program-only ones (PROGSRC: what
# ends a program, which a library never does); programs link both.
PROGSRC	 = lib/die.c
LIBSRC	 = $(filter-out $(PROGSRC),$(wildcard lib/*.c))
LIBOBJ	 = $(LIBSRC:lib/%.c=build/lib/%.o)
PROGOBJ	 = $(PROGSRC:lib/%.c=build/lib/%.o)
LIBHDR	 = $(wildcard lib/*.h)
# Installed headers: the scheduler and executor APIs and what they include.
PUBHDR	 = lib/scheduler.h lib/executor.h $(addprefix lib/,$(shell sed -n \
	   's/^\#include "\(.*\)"/\1/p' lib/scheduler.h))
PROGLIBS = build/libprog.a build/libcluster.a
BINS	 = $(PROGS:%=build/bin/%)
# examples/common/ is not an example: what the C examples share.
EXCOMMON = examples/common/example.c examples/common/example.h
EXAMPLES = $(patsubst %.c,build/%,$(filter-out examples/common/%,\
	   $(wildcard examples/*/*.c)))
# Test tools, built with the programs and never installed: the agent
# emulator, the architectures workload (t/0705) and the drivers of
# library modules (t/unit).
TESTPROGS = build/bench/agent-emu build/bench/arch \
	   $(patsubst t/unit/%.c,build/test/%,$(wildcard t/unit/*.c))

.PHONY: all deps check demo bench fuzz san install uninstall clean FORCE

all: $(BINS) $(EXAMPLES) $(TESTPROGS)

san:
	$(MAKE) SAN=1 all

# Rewritten only when the compiler changes; every program depends on the
# libraries, which depend on it through their objects.
build/cc: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_CC)' | cmp -s - $@ || echo '$(BUILD_CC)' >$@

# build/ld, likewise, says what programs are linked with (jemalloc found
# or not, a package's flags, task-launch's and cluster-ctl's own link
# lines): the libraries depend on it, so no program keeps an allocator,
# a library or a linker flag it was linked with before.  Taken once,
# below CTL_LIBS, not with a target's own additions (which a library
# would inherit from whichever program asked for it first).
build/ld: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_LD)' | cmp -s - $@ || echo '$(BUILD_LD)' >$@

build/lib/%.o: lib/%.c $(LIBHDR) build/cc
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

build/libcluster.a: $(LIBOBJ) build/ld
	$(AR) rcs $@ $(filter %.o,$^)

build/libcluster.so: $(LIBOBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

build/lib/die.o: CFLAGS += -DCLUSTER_VERSION='"$(VERSION)"'

build/libprog.a: $(PROGOBJ) build/ld
	$(AR) rcs $@ $(filter %.o,$^)

# One rule builds every program from all the .c files of its folder.
.SECONDEXPANSION:
build/bin/%: $$(wildcard bin/%/*.c) $$(wildcard bin/%/*.h) $(PROGLIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibin/$* -o $@ $(filter %.c,$^) $(PROGLIBS) $(LDLIBS)

# task-launch runs once per task, so its start-up counts: its libraries
# are linked in (glibc stays shared, for NSS user look-ups), which takes
# ld.so's symbol look-ups off every launch (docs/benchmarks.md).  Bound
# at start (-z now): the fork server's supervisors inherit the symbols
# resolved, instead of each looking up the ones it calls and writing
# them into its own copy of the table (4-12 % of the launch's CPU).
LAUNCH_LIBS = -Wl,-z,now -Wl,-Bstatic \
	$(shell pkg-config --static --libs libbsd jansson libcap 2>/dev/null) \
	-Wl,-Bdynamic
build/bin/task-launch: LDLIBS = $(LAUNCH_LIBS)

# cluster-ctl starts once per command (and run once per interactive
# task): the same for it, all but nanomsg (no static library in Debian);
# half of its start-up CPU (docs/benchmarks.md, Interactive latency).
CTL_LIBS = -Wl,-Bstatic \
	$(shell pkg-config --static --libs libbsd msgpack jansson libsodium \
	2>/dev/null) -lzookeeper_mt -Wl,-Bdynamic \
	$(shell pkg-config --libs nanomsg 2>/dev/null) -lm
build/bin/cluster-ctl: LDLIBS = $(CTL_LIBS)
BUILD_LD := $(LDLIBS) $(HTTP_LIBS) $(MALLOC_LIBS) $(LAUNCH_LIBS) $(CTL_LIBS)

# C benchmarks: t/bench/NAME.c builds to build/bench/NAME.
build/bench/%: t/bench/%.c $(PROGLIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(PROGLIBS) $(LDLIBS)

# The allocator benchmark times drf-alloc's DRF core in process.
build/bench/alloc: t/bench/alloc.c bin/drf-alloc/drf.c bin/drf-alloc/drf.h $(PROGLIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibin/drf-alloc -o $@ $(filter %.c,$^) $(PROGLIBS) $(LDLIBS)

# Test drivers of library modules: t/unit/NAME.c builds to build/test/NAME.
build/test/%: t/unit/%.c t/unit/check.h $(PROGLIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(PROGLIBS) $(LDLIBS)

# libFuzzer harnesses of the decoders: t/fuzz/NAME.c builds with clang,
# the sanitizers and the library sources it needs to build/fuzz/NAME;
# t/0120-fuzz.bats runs each for a bounded time from t/fuzz/corpus/NAME.
FUZZ_CC	 = clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer $(SAN_FLAGS)
FUZZ_SRC = lib/rec.c lib/res.c lib/util.c lib/map.c lib/auth.c lib/acl.c
FUZZERS	 = $(patsubst t/fuzz/%.c,build/fuzz/%,$(wildcard t/fuzz/*.c))

build/fuzz/%: t/fuzz/%.c $(FUZZ_SRC) $(LIBHDR) $$(FUZZ_PROG)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -std=gnu11 -D_GNU_SOURCE -Ilib \
	    $(addprefix -I,$(sort $(dir $(FUZZ_PROG)))) \
	    $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -o $@ $< \
	    $(FUZZ_SRC) $(filter %.c,$(FUZZ_PROG)) \
	    $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# A harness of a program's own decoder links that program's file too:
# the launcher's requests are decoded in task-launch's parse.c.
build/fuzz/launch: FUZZ_PROG = bin/task-launch/parse.c bin/task-launch/task-launch.h

fuzz: $(FUZZERS)

# Example frameworks: examples/DIR/NAME.c builds to build/examples/DIR/NAME,
# with what they share (examples/common).
build/examples/%: examples/%.c $(EXCOMMON) $(PROGLIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iexamples/common -o $@ $< $(filter %.c,$(EXCOMMON)) \
	    $(PROGLIBS) $(LDLIBS)

# Install the Debian packages that are missing (no-op when all are there).
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The whole suite, then again on the sanitized build (t/check).
check: deps
	$(MAKE) all fuzz
	t/check

demo: deps
	$(MAKE) all
	share/demo

bench: deps
	$(MAKE) all
	@for b in t/bench/*; do [ -x "$$b" ] && ! [ -d "$$b" ] && "$$b"; done; true

install: all build/libcluster.so
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/cluster
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 build/libcluster.a $(DESTDIR)$(LIBDIR)
	install -m 755 build/libcluster.so $(DESTDIR)$(LIBDIR)
	install -m 644 $(PUBHDR) $(DESTDIR)$(INCDIR)/cluster
	for m in man/*.[1-8]; do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCDIR@|$(INCDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    share/cluster.pc.in \
	    >$(DESTDIR)$(LIBDIR)/pkgconfig/cluster.pc
	install -d $(DESTDIR)$(SYSTEMDDIR)
	for u in $(UNITS); do sed -e 's|@BINDIR@|$(BINDIR)|g' $$u \
		>$(DESTDIR)$(SYSTEMDDIR)/$${u##*/}; \
		chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$${u##*/}; done
# offerd started as root serves as this user (offerd(8); PRIV_USER in
# bin/offerd/priv.c): made on the machine itself, never in a DESTDIR
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	    ! getent passwd $(OFFERD_USER) >/dev/null; then \
		if command -v adduser >/dev/null; then \
			adduser --system --group --no-create-home $(OFFERD_USER); \
		else \
			useradd --system --user-group --no-create-home \
			    --home-dir /nonexistent --shell /usr/sbin/nologin \
			    $(OFFERD_USER); \
		fi; \
	fi

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(LIBDIR)/libcluster.*
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/cluster.pc
	rm -rf $(DESTDIR)$(INCDIR)/cluster
	for m in man/*.[1-8]; do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	for u in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDDIR)/$${u##*/}; done

clean:
	rm -rf build
