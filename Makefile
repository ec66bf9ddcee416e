# SPDX-License-Identifier: GPL-2.0-or-later
#
# ktlsd / libktls. GNU make; everything is built out of tree in $(B).
#
#   make              build the library, the daemon and the tools
#   make check        unit tests on this machine, kTLS tests in a VM
#                     (KERNELS="bookworm trixie sid" for the whole matrix)
#   make demo         the main job, end to end
#   make install      honours DESTDIR and PREFIX

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
B          ?= build
KERNELS    ?= trixie

VERSION    := 0.1.0
SOVERSION  := 0

CC         ?= cc
CFLAGS     ?= -O2 -g
WARNFLAGS  := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
CPPFLAGS   += -D_GNU_SOURCE -Iinclude
PKGS       := gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = $(WARNFLAGS) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS)

LIB_SRCS   := $(wildcard lib/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_PIC    := $(LIB_SRCS:%.c=$(B)/pic/%.o)
SONAME     := libktls.so.$(SOVERSION)
LIBSO      := $(B)/$(SONAME)
LIBA       := $(B)/libktls.a

CTL_SRCS   := $(wildcard daemon/ktlsctl*.c daemon/ctl_*.c)
CTL_OBJS   := $(CTL_SRCS:%.c=$(B)/%.o)

HARNESS    := $(B)/kselftest/kselftest_harness.h
TEST_CFLAGS = $(ALL_CFLAGS) -I$(B)/kselftest -Itests -Wno-missing-prototypes -Wno-unused-parameter

UNIT_SRCS  := $(wildcard tests/unit/*.c)
VM_SRCS    := $(wildcard tests/vm/*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/%.c=$(B)/tests/%)
VM_BINS    := $(VM_SRCS:tests/%.c=$(B)/tests/%)

# Quiet unless V=1.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all tests check demo bench install clean deps harness
.DELETE_ON_ERROR:

all: $(LIBSO) $(LIBA) $(if $(CTL_SRCS),$(B)/ktlsctl)

$(B)/pic/lib/%.o: lib/%.c lib/internal.h include/ktls.h
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(B)/lib/%.o: lib/%.c lib/internal.h include/ktls.h
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c -o $@ $<

$(LIBSO): $(LIB_PIC) lib/libktls.map
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libktls.map \
		-Wl,-z,defs -Wl,-z,now -Wl,-z,relro $(LDFLAGS) -o $@ $(LIB_PIC) $(PKG_LIBS)
	$(Q)ln -sf $(SONAME) $(B)/libktls.so

$(LIBA): $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(B)/daemon/%.o: daemon/%.c include/ktls.h $(wildcard daemon/*.h)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/ktlsctl: $(CTL_OBJS) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CTL_OBJS) $(LIBA) $(PKG_LIBS)

deps:
	@packaging/deps all --check 2>/dev/null || packaging/deps all

$(HARNESS):
	tests/fetch-harness $(B)/kselftest

harness: $(HARNESS)

# Tests link the static library, so they may call internals (lib/*.h).
$(B)/tests/%: tests/%.c $(HARNESS) $(wildcard tests/*.h) $(LIBA)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) -Ilib -o $@ $< $(LIBA) $(PKG_LIBS) -lpthread

tests: $(UNIT_BINS) $(VM_BINS)

EXAMPLES := $(B)/examples/raw-ktls-demo

$(B)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $<

all: $(EXAMPLES)

check: deps
	@$(MAKE) --no-print-directory all tests
	tests/check $(B) "$(KERNELS)"

# Until the daemon's own demo exists: kTLS with hand-set keys, in the VM
# when this kernel lacks kTLS.
demo: deps
	@$(MAKE) --no-print-directory all
	@if $(B)/examples/raw-ktls-demo --probe; then \
		$(B)/examples/raw-ktls-demo; \
	else \
		echo "this kernel has no kTLS: running the demo in a $(firstword $(KERNELS)) VM"; \
		tests/vm/run --kernel $(firstword $(KERNELS)) -- \
			sh -c 'modprobe -q aesni_intel; exec $(B)/examples/raw-ktls-demo'; \
	fi

# ---- make bench: the benchmark suite (QUICK=1: the short run CI does) ----
BENCH := $(B)/bench/bench

$(BENCH): tests/bench/bench.c $(wildcard tests/*.h) include/ktls.h $(LIBA)
	@mkdir -p $(@D)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LIBA) $(PKG_LIBS)

# In the test VM when this kernel lacks kTLS; $(B)/bench is shared with it.
bench: deps
	@$(MAKE) --no-print-directory all $(BENCH)
	@if $(BENCH) probe 2>/dev/null; then \
		QUICK=$(QUICK) tests/bench/run $(B)/bench; \
	else \
		echo "this kernel has no kTLS: running the benchmarks in a $(firstword $(KERNELS)) VM"; \
		tests/bench/run --host-facts $(B)/bench && \
		QUICK=$(QUICK) tests/vm/run --kernel $(firstword $(KERNELS)) \
			--share $(B)/bench --timeout 3600 -- tests/bench/run $(B)/bench; \
	fi

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 0644 include/ktls.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libktls.so
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		lib/libktls.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/libktls.pc
	$(if $(CTL_SRCS),install -m 0755 $(B)/ktlsctl $(DESTDIR)$(BINDIR)/)

clean:
	rm -rf $(B)
