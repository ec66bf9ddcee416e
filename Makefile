# SPDX-License-Identifier: GPL-2.0-or-later
#
# ktlsd / libktls. GNU make; everything is built out of tree in $(B).
#
#   make              build the library, the daemon and the tools
#   make check        unit tests on this machine, kTLS tests in a VM
#                     (KERNELS="bookworm trixie sid" for the whole matrix,
#                     KERNELS= for no VM; SANITIZE=1: see below)
#   make demo         the main job, end to end
#   make install      honours DESTDIR and PREFIX
#   make deb          Debian packages in $(B)/deb, lintian-checked
#   make rpm          RPM packages in $(B)/rpm, rpmlint-checked
#   make check TSAN=1 ThreadSanitizer build in build-tsan, the VM handoff
#                     tests under it (a TSan report fails the test)
#   make check-systemd  make deb, then those packages under systemd as PID 1
#                     in a trixie root, on SYSTEMD_KERNELS (tests/vm/systemd.c)

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
ifneq ($(filter 1,$(SANITIZE) $(ASAN)),)
ifeq ($(origin B),file)
B          := build-asan
endif
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
# the test (tests/daemon.h also looks for reports in its log).
ifeq ($(TSAN),1)
override CFLAGS  += -fsanitize=thread -O1 -g
override LDFLAGS += -fsanitize=thread
TSAN_TESTS ?= $(B)/tests/vm/handoff
export TSAN_OPTIONS ?= halt_on_error=1 exitcode=66 second_deadlock_stack=1
export KTLSD_TSAN := 1
endif

LIB_SRCS   := $(wildcard lib/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_PIC    := $(LIB_SRCS:%.c=$(B)/pic/%.o)
SONAME     := libktls.so.$(SOVERSION)
LIBSO      := $(B)/$(SONAME)
LIBA       := $(B)/libktls.a

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
# harness itself as <kselftest_harness.h>.
TEST_CFLAGS = $(ALL_CFLAGS) -iquote tests -I$(B)/kselftest -Wno-missing-prototypes -Wno-unused-parameter

UNIT_SRCS  := $(wildcard tests/unit/*.c)
VM_SRCS    := $(wildcard tests/vm/*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/%.c=$(B)/tests/%)
VM_BINS    := $(VM_SRCS:tests/%.c=$(B)/tests/%)

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

.PHONY: all tests check check-systemd demo bench install clean deps harness deb rpm
.DELETE_ON_ERROR:

all: $(LIBSO) $(LIBA) $(B)/ktlsctl $(if $(wildcard daemon/ktlsd/main.c),$(B)/ktlsd)

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

$(B)/ktlsctl: $(B)/daemon/ktlsctl/main.o $(CTL_A) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(CTL_A) $(LIBA) $(PKG_LIBS)

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

# Tests link the static libraries, so they may call internals (lib/*.h,
# daemon/ktlsd/*.h, daemon/ktlsctl/*.h).
$(B)/tests/%: tests/%.c $(HARNESS) $(LIBA) $(KTLSD_A) $(CTL_A)
	@mkdir -p $(@D) $(B)/deps/$(@D:$(B)/%=%)
	$(call say,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(PROG_DEPS) -Ilib -Idaemon/ktlsd -Idaemon/ktlsctl -o $@ $< $(CTL_A) $(KTLSD_A) $(LIBA) $(PKG_LIBS) $(KTLSD_LIBS)

tests: $(UNIT_BINS) $(VM_BINS)

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

check: deps
	@$(MAKE) --no-print-directory all $(if $(filter 1,$(TSAN)),$(TSAN_TESTS),tests)
	tests/check $(B) "$(KERNELS)"

# The .debs installed, socket-activated, reloaded, stopped and purged under
# systemd as PID 1 (tests/vm/run --systemd) on each kernel of
# SYSTEMD_KERNELS; results in $(B)/test-results-systemd.
SYSTEMD_KERNELS ?= trixie sid
check-systemd: deps deb
	@$(MAKE) --no-print-directory all $(B)/tests/vm/systemd
	tests/check --systemd $(B) "$(SYSTEMD_KERNELS)"

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
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Itests -c -o $@ $<

$(BENCH): $(BENCH_OBJS) $(LIBA)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(BENCH_OBJS) $(LIBA) $(PKG_LIBS) -lpthread

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
		tests/bench/run --host-facts $(B)/bench && \
		QUICK=$(QUICK) tests/vm/run --kernel $(firstword $(KERNELS)) \
			--rootfs $(BENCH_ROOTFS) --share $(B)/bench --timeout 3600 -- \
			tests/bench/run --measure-only $(B)/bench && \
		tests/bench/run --report $(B)/bench; \
	fi

# The manual pages (mdoc), each into man<section>; tests/unit/man_pages.c
# checks them against the code.
MAN_PAGES := $(wildcard docs/man/*.[1-8])

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0644 include/ktls.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libktls.so
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/
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

-include $(patsubst %.o,%.d,$(LIB_OBJS) $(LIB_PIC) $(CTL_OBJS) $(KTLSD_SRCS:%.c=$(B)/%.o) \
	   $(FS_OBJS) $(BENCH_OBJS)) \
	 $(patsubst $(B)/%,$(B)/deps/%.d,$(UNIT_BINS) $(VM_BINS) $(filter-out %/ktls-fileserver,$(EXAMPLES)))
