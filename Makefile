# Cluster resource manager: offerd, agentd, drf-alloc, task-launch, cluster-ctl.
# Every program is one folder under bin/; shared code is lib/ (libcluster).
# Outputs go to build/ so the source tree stays clean.

PREFIX	?= /usr/local
DESTDIR	?=
BINDIR	 = $(PREFIX)/bin
LIBDIR	 = $(PREFIX)/lib
INCDIR	 = $(PREFIX)/include
MANDIR	 = $(PREFIX)/share/man

CC	?= cc
PKGS	 = libbsd-overlay msgpack nanomsg jansson libcap
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(CI),true)
WARN	+= -Werror
endif
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -fPIC $(WARN) -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lzookeeper_mt -lm

# Debian packages the build, the tests and the demo need (see README).
DEBS	 = build-essential pkg-config libbsd-dev libmsgpack-dev libnanomsg-dev \
	   libjansson-dev libcap-dev bats iproute2 procps gnuplot-nox \
	   libzookeeper-mt-dev zookeeper mandoc jq python3 perl

PROGS	 = $(notdir $(wildcard bin/*))
LIBSRC	 = $(wildcard lib/*.c)
LIBOBJ	 = $(LIBSRC:lib/%.c=build/lib/%.o)
LIBHDR	 = $(wildcard lib/*.h)
BINS	 = $(PROGS:%=build/bin/%)
EXAMPLES = $(patsubst %.c,build/%,$(wildcard examples/*/*.c))
# Test tools, built with the programs and never installed.
TESTPROGS = build/bench/agent-emu

.PHONY: all deps check demo bench install uninstall clean

all: $(BINS) $(EXAMPLES) $(TESTPROGS)

build/lib/%.o: lib/%.c $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

build/libcluster.a: $(LIBOBJ)
	$(AR) rcs $@ $^

build/libcluster.so: $(LIBOBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# One rule builds every program from all the .c files of its folder.
.SECONDEXPANSION:
build/bin/%: $$(wildcard bin/%/*.c) $$(wildcard bin/%/*.h) build/libcluster.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ibin/$* -o $@ $(filter %.c,$^) build/libcluster.a $(LDLIBS)

# task-launch runs once per task, so its start-up counts: its libraries
# are linked in (glibc stays shared, for NSS user look-ups), which takes
# ld.so's symbol look-ups off every launch (docs/benchmarks.md).
build/bin/task-launch: LDLIBS = -Wl,-Bstatic \
	$(shell pkg-config --static --libs libbsd jansson libcap 2>/dev/null) \
	-Wl,-Bdynamic

# C benchmarks: t/bench/NAME.c builds to build/bench/NAME.
build/bench/%: t/bench/%.c build/libcluster.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libcluster.a $(LDLIBS)

# Example frameworks: examples/DIR/NAME.c builds to build/examples/DIR/NAME.
build/examples/%: examples/%.c build/libcluster.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libcluster.a $(LDLIBS)

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

check: deps
	$(MAKE) all
	t/run

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
	install -m 644 $(LIBHDR) $(DESTDIR)$(INCDIR)/cluster
	for m in man/*.[1-8]; do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s; done
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCDIR@|$(INCDIR)|g' share/cluster.pc.in \
	    >$(DESTDIR)$(LIBDIR)/pkgconfig/cluster.pc

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(LIBDIR)/libcluster.*
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/cluster.pc
	rm -rf $(DESTDIR)$(INCDIR)/cluster
	for m in man/*.[1-8]; do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done

clean:
	rm -rf build
