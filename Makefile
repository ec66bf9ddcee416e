# SPDX-License-Identifier: GPL-2.0-or-later
#
# ktlsd / libktls. GNU make; everything is built out of tree in $(B).
#
#   make              build the library, the daemon and the tools
#   make check        unit tests on this machine, kTLS tests in a VM
#                     (KERNELS="bookworm trixie sid" for the whole matrix,
#                     KERNELS= for no VM; SANITIZE=1: see below;
#                     SLICE="bookworm sid": those kernels run only the
#                     tests that depend on the kernel, see tests/check)
#   make demo         the main job, end to end
#   make install      honours DESTDIR and PREFIX
#   make deb          Debian packages in $(B)/deb, lintian-checked
#   make rpm          RPM packages in $(B)/rpm, rpmlint-checked
#   make check TSAN=1 ThreadSanitizer build in build-tsan, the VM handoff
#                     tests under it (a TSan report fails the test)
#   make fuzz         libFuzzer harnesses of every parser of untrusted
#                     input, built with clang in $(B)-fuzz, each run for
#                     FUZZ_SECONDS (30); a crash fails (tests/fuzz/run)
#   make soak         tests/vm/soak with SOAK_HANDSHAKES (10,000) handshakes
#                     in a VM (make check runs 2,000): RSS and descriptors
#                     of ktlsd's three processes stay flat
#   make check-systemd  make deb, then those packages under systemd as PID 1
#                     in a trixie root, on SYSTEMD_KERNELS (tests/vm/systemd.c)
#   make memcheck     the handoff tests on this machine with every ktlsd
#                     process under valgrind's memcheck (an error or a
#                     definite leak fails), built in $(B)-memcheck

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
B          ?= $(if $(filter 1,$(TSAN)),build-tsan,build)
KERNELS    ?= trixie

VERSION    := 0.1.0
SOVERSION  := 0

CC         ?= cc
CFLAGS     ?= -O2 -g
WARNFLAGS  := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
# CFLAGS, CPPFLAGS and LDFLAGS are the builder's (dpkg-buildflags, rpm's
# optflags); ours are added to them, even to a CPPFLAGS given to make.
override CPPFLAGS += -D_GNU_SOURCE -Iinclude
PKGS       := gnutls
DAEMON_PKGS := inih libnl-genl-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = $(WARNFLAGS) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS)

# SANITIZE=1 (or ASAN=1): AddressSanitizer with LeakSanitizer, and UBSan,
# for everything built (library, daemon, tools, examples, tests), into
# build-asan unless B is given. Any error, undefined behaviour included,
# ends the program; each host test also fails if it lost memory (the leak
# check in tests/kselftest_harness.h; suppressions in tests/lsan.supp).
# In the VM it runs SANITIZE_VM_TESTS only (empty: all of them): ktlsd's
# handoff, reloads and drains, accept mode, the file server, and the privilege
# separation with the kernel's upcall calls.
ifneq ($(filter 1,$(SANITIZE) $(ASAN)),)
ifeq ($(origin B),file)
B          := build-asan
endif
SANITIZE_VM_TESTS ?= handoff_data handoff_reload handoff_accept fileserver privsep
export KTLSD_VM_ONLY := $(SANITIZE_VM_TESTS)
# A guest of 2 GiB: ten reloads in a row took 896 of the 1 GiB guest's
# 965 MB (the supervisor's RSS 467 MB, its freed memory held in ASan's
# quarantine, and the processes it forks start with all of it), and in CI
# the kernel's OOM killer ended ktlsd once. Without ASan: 29 MB, flat
# over 60 reloads.
export KTLSD_VM_MEM := 2G
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer
override CFLAGS  += $(SAN_FLAGS)
override LDFLAGS += $(SAN_FLAGS)
$(B)/tests/%: private CPPFLAGS += \
	-DKTLS_LSAN_SUPPRESSIONS='"$(CURDIR)/tests/lsan.supp"'
endif

# TSAN=1: everything with ThreadSanitizer, in its own build directory (its
# objects never mix with the others). The tests find the ktlsd of their own
# build directory, so they start the TSan one. `make check TSAN=1` runs
# only TSAN_TESTS: TSan slows the VM down a lot. In the guest ktlsd runs
# with TSAN_OPTIONS below: a report stops it with status 66, which fails
# the test (tests/lib/ktlsd_proc.c also looks for reports in its log).
# TSAN_TESTS: every part of the handoff tests (tests/vm/handoff_*.c).
ifeq ($(TSAN),1)
override CFLAGS  += -fsanitize=thread -O1 -g
override LDFLAGS += -fsanitize=thread
TSAN_TESTS ?= $(HANDOFF_BINS)
export TSAN_OPTIONS ?= halt_on_error=1 exitcode=66 second_deadlock_stack=1
export KTLSD_TSAN := 1
export KTLSD_VM_MEM := 2G
endif

LIB_SRCS   := $(wildcard lib/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_PIC    := $(LIB_SRCS:%.c=$(B)/pic/%.o)
SONAME     := libktls.so.$(SOVERSION)
LIBSO      := $(B)/$(SONAME)
LIBA       := $(B)/libktls.a

# libktls-preload.so (lib/preload/): its own objects and libktls's, all
# hidden but the libc functions it interposes; not part of libktls's ABI.
PRELOAD_SRCS := $(wildcard lib/preload/*.c)
PRELOAD_PIC  := $(PRELOAD_SRCS:%.c=$(B)/pic/%.o)
PRELOAD      := $(B)/libktls-preload.so
$(PRELOAD_PIC): private CPPFLAGS += -Ilib

# One directory per program: daemon/ktlsctl/ and daemon/ktlsd/.
CTL_SRCS   := $(wildcard daemon/ktlsctl/*.c)
CTL_OBJS   := $(CTL_SRCS:%.c=$(B)/%.o)
# ktlsctl: main.c plus the rest, which tests link too.
CTL_A      := $(B)/libktlsctl.a

# ktlsd: main.c plus everything else in daemon/ktlsd/, which tests link too.
KTLSD_SRCS := $(wildcard daemon/ktlsd/*.c)
KTLSD_INT  := $(filter-out $(B)/daemon/ktlsd/main.o,$(KTLSD_SRCS:%.c=$(B)/%.o))
KTLSD_A    := $(B)/libktlsd.a
KTLSD_CFLAGS := $(shell pkg-config --cflags $(DAEMON_PKGS) 2>/dev/null)
KTLSD_LIBS := $(shell pkg-config --libs $(DAEMON_PKGS) 2>/dev/null) -lkeyutils -lpthread

HARNESS    := $(B)/kselftest/kselftest_harness.h
# -iquote: "kselftest_harness.h" is tests/'s wrapper, which includes the
# harness itself as <kselftest_harness.h>; the helpers' headers are in
# tests/lib. Tests may call internals (lib/*.h, daemon/ktlsd/*.h,
# daemon/ktlsctl/*.h).
TEST_INC    = -iquote tests -iquote tests/lib -I$(B)/kselftest \
	      -Ilib -Idaemon/ktlsd -Idaemon/ktlsctl
TEST_CFLAGS = $(ALL_CFLAGS) $(TEST_INC) -Wno-missing-prototypes -Wno-unused-parameter

# Helpers shared by the tests (tests/lib/*.c), compiled once into an
# archive that every test and the bench link.
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(B)/%.o)
TESTLIB_A    := $(B)/tests/libtestutil.a

# Each tests/unit/*.c and tests/vm/*.c is a test program, but for
# tests/vm/*_util.c, helpers that some of them link: the handoff tests,
# split by theme (handoff_*.c), share tests/vm/handoff_util.c.
UNIT_SRCS  := $(wildcard tests/unit/*.c)
VM_UTILS   := $(wildcard tests/vm/*_util.c)
VM_SRCS    := $(filter-out $(VM_UTILS),$(wildcard tests/vm/*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/%.c=$(B)/tests/%)
# The fuzz harnesses (make fuzz, below), each also a host test.
FUZZ_NAMES := wire_req wire_reply ktlsd_conf tlshd_conf upcall_accept http_request \
	      client_hello keyproc_req
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(B)/tests/unit/fuzz_%)
VM_BINS    := $(VM_SRCS:tests/%.c=$(B)/tests/%)
VM_UTIL_OBJS := $(VM_UTILS:%.c=$(B)/%.o)
HANDOFF_BINS := $(filter $(B)/tests/vm/handoff_%,$(VM_BINS))

# Header dependencies, made by the compiler with each object (-MMD -MP) and
# read back at the end of this file. A program compiled and linked in one
# step keeps its list in $(B)/deps/, out of the directories that hold the
# test binaries.
DEPFLAGS    = -MMD -MP
PROG_DEPS   = -MMD -MP -MT $@ -MF $(B)/deps/$(@:$(B)/%=%).d

# Quiet unless V=1.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all tests check check-systemd demo bench install clean deps harness deb rpm fuzz fuzz-build memcheck soak
.DELETE_ON_ERROR:

all: $(LIBSO) $(LIBA) $(PRELOAD) $(B)/ktlsctl $(if $(wildcard daemon/ktlsd/main.c),$(B)/ktlsd)

$(B)/pic/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -fvisibility=hidden -c -o $@ $<

$(LIBSO): $(LIB_PIC) lib/libktls.map
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libktls.map \
		-Wl,-z,defs -Wl,-z,now -Wl,-z,relro $(LDFLAGS) -o $@ $(LIB_PIC) $(PKG_LIBS)
	$(Q)ln -sf $(SONAME) $(B)/libktls.so

$(PRELOAD): $(PRELOAD_PIC) $(filter-out $(PRELOAD_PIC),$(LIB_PIC)) lib/preload/preload.map
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libktls-preload.so \
		-Wl,--version-script=lib/preload/preload.map -Wl,-z,defs -Wl,-z,now -Wl,-z,relro $(LDFLAGS) -o $@ \
		$(filter %.o,$^) $(PKG_LIBS) -ldl -lpthread

$(LIBA): $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/daemon/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(KTLSD_CFLAGS) -Ilib -c -o $@ $<

$(CTL_A): $(filter-out $(B)/daemon/ktlsctl/main.o,$(CTL_OBJS))
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# probe lists NIC TLS offload with ktlsd's nic.c (libnl-genl).
CTL_NIC    := $(B)/daemon/ktlsd/nic.o $(B)/daemon/ktlsd/nic_nl.o
$(B)/ktlsctl: $(B)/daemon/ktlsctl/main.o $(CTL_A) $(CTL_NIC) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(CTL_A) $(CTL_NIC) $(LIBA) $(PKG_LIBS) \
		$(shell pkg-config --libs libnl-genl-3.0 2>/dev/null)

$(KTLSD_A): $(KTLSD_INT)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/ktlsd: $(B)/daemon/ktlsd/main.o $(KTLSD_A) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(KTLSD_A) $(LIBA) $(PKG_LIBS) $(KTLSD_LIBS)

deps:
	@packaging/deps all --check 2>/dev/null || packaging/deps all

$(HARNESS):
	tests/fetch-harness $(B)/kselftest

harness: $(HARNESS)

# Test helpers keep -Wmissing-prototypes: what they share is declared in
# their headers. Those that assert define KTLS_TEST_HELPER (see
# tests/kselftest_harness.h).
$(B)/tests/%.o: tests/%.c $(HARNESS)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_INC) $(DEPFLAGS) -c -o $@ $<

$(TESTLIB_A): $(TESTLIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(HANDOFF_BINS) $(B)/tests/vm/keyscan $(B)/tests/vm/soak: $(B)/tests/vm/handoff_util.o
# It builds netlink messages with libnl, as the daemon reads them.
$(B)/tests/unit/upcall_family $(B)/tests/unit/tlshd_keys: TEST_CFLAGS += $(KTLSD_CFLAGS)
# The privilege separation test speaks the upcall's netlink family too.
$(B)/tests/vm/privsep: $(B)/tests/vm/handoff_util.o
$(B)/tests/vm/privsep: TEST_CFLAGS += $(KTLSD_CFLAGS)
$(filter $(B)/tests/vm/preload%,$(VM_BINS)): $(B)/tests/vm/preload_util.o

# Tests link the static libraries, so they may call internals; and the
# objects of their own helpers, if any (the .o among the prerequisites).
$(B)/tests/%: tests/%.c $(HARNESS) $(TESTLIB_A) $(LIBA) $(KTLSD_A) $(CTL_A)
	@mkdir -p $(@D) $(B)/deps/$(@D:$(B)/%=%)
	$(call say,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(PROG_DEPS) -o $@ $< $(filter %.o,$^) $(TESTLIB_A) $(CTL_A) $(KTLSD_A) $(LIBA) $(PKG_LIBS) $(KTLSD_LIBS)

tests: $(UNIT_BINS) $(VM_BINS) $(FUZZ_REPLAY)

# Each examples/*.c is a program; the file server is examples/fileserver/.
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c)) \
	    $(B)/examples/ktls-fileserver
FS_OBJS  := $(patsubst %.c,$(B)/%.o,$(wildcard examples/fileserver/*.c))

$(B)/examples/%: examples/%.c $(LIBA)
	@mkdir -p $(@D) $(B)/deps/examples
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(PROG_DEPS) -o $@ $< $(LIBA) $(PKG_LIBS) -lpthread

$(B)/examples/fileserver/%.o: examples/fileserver/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/examples/ktls-fileserver: $(FS_OBJS) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(FS_OBJS) $(LIBA) $(PKG_LIBS) -lpthread

all: $(EXAMPLES)

# tests/check runs every program in $(B)/tests/unit and vm: first remove
# those whose source is gone (renamed or split), so none runs twice.
check: deps
	@$(MAKE) --no-print-directory all $(if $(filter 1,$(TSAN)),$(TSAN_TESTS),tests)
	@for f in $(B)/tests/unit/* $(B)/tests/vm/*; do \
		case " $(UNIT_BINS) $(FUZZ_REPLAY) $(VM_BINS) " in *" $$f "*) continue ;; esac; \
		[ ! -f "$$f" ] || [ ! -x "$$f" ] || rm -v "$$f"; \
	done
	KTLSD_SLICE="$(SLICE)" tests/check $(B) "$(KERNELS)"

# ktlsd under valgrind (tests/lib/ktlsd_proc.c: KTLSD_VALGRIND=1 starts it
# so, each process with its own log, checked at the end of each test) for
# the handoff tests, run here: they need no kTLS for what is looked at (the
# requests, handshakes and replies; without kTLS they stop at the
# install). Its own build directory: the tests wait ten times longer there.
# (handoff_nic is left out: it needs the VM's network devices.)
MEMCHECK_BINS := $(patsubst %,$(B)-memcheck/tests/vm/handoff_%,bad data load reload)
memcheck: deps
	@$(MAKE) --no-print-directory B=$(B)-memcheck \
		CPPFLAGS=-DKTLSD_MEMCHECK all $(MEMCHECK_BINS)
	@rm -rf $(B)-memcheck/test-results; mkdir -p $(B)-memcheck/test-results
	KTLSD_VALGRIND=1 tests/run-tests run $(B)-memcheck/test-results \
		memcheck $(MEMCHECK_BINS) || true
	tests/run-tests summary $(B)-memcheck/test-results

# The .debs installed, socket-activated, reloaded, stopped and purged under
# systemd as PID 1 (tests/vm/run --systemd) on each kernel of
# SYSTEMD_KERNELS; results in $(B)/test-results-systemd.
SYSTEMD_KERNELS ?= trixie sid
check-systemd: deps deb
	@$(MAKE) --no-print-directory all $(B)/tests/vm/systemd
	tests/check --systemd $(B) "$(SYSTEMD_KERNELS)"

# ktlsd's three processes over SOAK_HANDSHAKES handoff handshakes, in a VM
# on the first of KERNELS (about 7 minutes under TCG for 10,000).
SOAK_HANDSHAKES ?= 10000
soak: deps
	@$(MAKE) --no-print-directory all $(B)/tests/vm/soak
	KTLSD_SOAK_HANDSHAKES=$(SOAK_HANDSHAKES) tests/vm/run \
		--kernel $(firstword $(KERNELS)) --timeout 3600 -- \
		sh -c 'modprobe -q aesni_intel; exec "$$@"' sh $(B)/tests/vm/soak

# ktlsd + the example file server + curl; in a VM when this kernel lacks kTLS.
demo: deps
	@$(MAKE) --no-print-directory all
	@if $(B)/examples/raw-ktls-demo --probe; then \
		examples/demo $(B); \
	else \
		echo "this kernel has no kTLS: running the demo in a $(firstword $(KERNELS)) VM"; \
		tests/vm/run --kernel $(firstword $(KERNELS)) -- \
			sh -c 'modprobe -q aesni_intel; exec examples/demo $(B)'; \
	fi

# ---- make bench: the benchmark suite (QUICK=1: the short run CI does) ----
BENCH := $(B)/bench/bench
BENCH_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard tests/bench/*.c))

$(B)/tests/bench/%.o: tests/bench/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -iquote tests/lib -iquote daemon/ktlsd -c -o $@ $<

# With ktlsd's internals: hs-floor --keyproc starts its key process.
$(BENCH): $(BENCH_OBJS) $(TESTLIB_A) $(KTLSD_A) $(LIBA)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(BENCH_OBJS) $(TESTLIB_A) $(KTLSD_A) $(LIBA) $(PKG_LIBS) $(KTLSD_LIBS) -lpthread

# In the test VM when this kernel lacks kTLS, on the trixie root (it has
# nginx for P2; BENCH_ROOTFS=host skips that comparison); $(B)/bench is
# shared with it, and the host makes the report (table, plots) from it.
BENCH_ROOTFS ?= trixie
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH)
	@if $(BENCH) probe 2>/dev/null; then \
		QUICK=$(QUICK) tests/bench/run $(B)/bench; \
	else \
		echo "this kernel has no kTLS: running the benchmarks in a $(firstword $(KERNELS)) VM"; \
		QUICK=$(QUICK) tests/bench/run --host-facts $(B)/bench && \
		QUICK=$(QUICK) tests/vm/run --kernel $(firstword $(KERNELS)) \
			--rootfs $(BENCH_ROOTFS) --share $(B)/bench --timeout 3600 -- \
			tests/bench/run --measure-only $(B)/bench && \
		tests/bench/run --report $(B)/bench; \
	fi

# ---- make fuzz: libFuzzer harnesses (tests/fuzz/) ----
# Each tests/fuzz/NAME.c is a libFuzzer target. `make fuzz` builds them
# all with clang (libFuzzer, ASan, UBSan) into $(B)-fuzz, whose objects
# never mix with gcc's, and runs each for FUZZ_SECONDS; tests/fuzz/run
# prints a line per harness and fails on a crash, whose input it keeps
# under $(B)-fuzz/crashes/NAME/. In every make check the same harnesses,
# linked with tests/fuzz/replay.c instead of libFuzzer, replay the seeds
# and the kept crash inputs as host tests ($(B)/tests/unit/fuzz_NAME).
FUZZ_SECONDS ?= 30
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer \
		-fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=undefined
FUZZ_CFLAGS  = $(TEST_CFLAGS) $(KTLSD_CFLAGS) -DFUZZ_SRC='"$(CURDIR)/tests/fuzz"' \
	       -Ilib -Idaemon/ktlsd -Iexamples/fileserver
FUZZ_LIBS    = $(KTLSD_A) $(LIBA) $(PKG_LIBS) $(KTLSD_LIBS)

$(B)/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(B)/tests/fuzz/replay.o: $(HARNESS)

# Kept: both the tests and the fuzz targets link them.
.PRECIOUS: $(B)/tests/fuzz/%.o

$(B)/tests/unit/fuzz_%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/replay.o \
			$(B)/tests/fuzz/common.o $(B)/examples/fileserver/http.o \
			$(LIBA) $(KTLSD_A)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(FUZZ_LIBS)

$(B)/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/common.o \
	     $(B)/examples/fileserver/http.o $(LIBA) $(KTLSD_A)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer,address,undefined $(FUZZ_WRAP) \
		-o $@ $(filter %.o,$^) $(FUZZ_LIBS)

# The configuration harnesses' key process, a thread (keyproc_thread.c).
FUZZ_KEYPROC := $(B)/fuzz/ktlsd_conf $(B)/fuzz/tlshd_conf
$(FUZZ_KEYPROC): $(B)/tests/fuzz/keyproc_thread.o
$(FUZZ_KEYPROC): FUZZ_WRAP := -Wl,--wrap=keyproc_spawn,--wrap=keyproc_put

fuzz-build: $(FUZZ_NAMES:%=$(B)/fuzz/%)

fuzz:
	@packaging/deps ci --check 2>/dev/null || packaging/deps ci
	@$(MAKE) --no-print-directory B=$(B)-fuzz CC=clang CFLAGS="$(FUZZ_FLAGS)" fuzz-build
	tests/fuzz/run $(B)-fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

# The manual pages (mdoc), each into man<section>; tests/unit/man_pages.c
# checks them against the code.
MAN_PAGES := $(wildcard docs/man/*.[1-8])

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0644 include/ktls.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libktls.so
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	install -d $(DESTDIR)$(LIBDIR)/ktlsd
	install -m 0644 $(PRELOAD) $(DESTDIR)$(LIBDIR)/ktlsd/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		lib/libktls.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/libktls.pc
	install -m 0755 $(B)/ktlsctl $(DESTDIR)$(BINDIR)/
	$(if $(wildcard daemon/ktlsd/main.c),install -m 0755 $(B)/ktlsd $(DESTDIR)$(SBINDIR)/)
	for p in $(MAN_PAGES); do \
		install -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/} || exit; \
	done

# Packages, built from a copy of the tree (packaging/build-pkg says how).
deb rpm:
	@packaging/deps pkg --check 2>/dev/null || packaging/deps pkg
	@packaging/deps build --check 2>/dev/null || packaging/deps build
	packaging/build-pkg $@ $(B) $(VERSION)

clean:
	rm -rf $(B)

-include $(patsubst %.o,%.d,$(LIB_OBJS) $(LIB_PIC) $(PRELOAD_PIC) $(CTL_OBJS) $(KTLSD_SRCS:%.c=$(B)/%.o) \
	   $(FS_OBJS) $(BENCH_OBJS) $(TESTLIB_OBJS) $(VM_UTIL_OBJS) \
	   $(patsubst %.c,$(B)/%.o,$(wildcard tests/fuzz/*.c))) \
	 $(patsubst $(B)/%,$(B)/deps/%.d,$(UNIT_BINS) $(VM_BINS) $(filter-out %/ktls-fileserver,$(EXAMPLES)))
