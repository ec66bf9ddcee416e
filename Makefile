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

HARNESS    := $(B)/kselftest/kselftest_harness.h
TEST_CFLAGS = $(ALL_CFLAGS) -I$(B)/kselftest -Itests -Wno-missing-prototypes -Wno-unused-parameter

UNIT_SRCS  := $(wildcard tests/unit/*.c)
VM_SRCS    := $(wildcard tests/vm/*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/%.c=$(B)/tests/%)
VM_BINS    := $(VM_SRCS:tests/%.c=$(B)/tests/%)

.PHONY: all tests check demo install clean deps harness
.DELETE_ON_ERROR:

all:

deps:
	@packaging/deps all --check 2>/dev/null || packaging/deps all

$(HARNESS):
	tests/fetch-harness $(B)/kselftest

harness: $(HARNESS)

$(B)/tests/%: tests/%.c $(HARNESS) $(wildcard tests/*.h)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(PKG_LIBS) -lpthread

tests: $(UNIT_BINS) $(VM_BINS)

EXAMPLES := $(B)/examples/raw-ktls-demo

$(B)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

all: $(EXAMPLES)

check: deps
	$(MAKE) all tests
	tests/check $(B) "$(KERNELS)"

# Until the daemon's own demo exists: kTLS with hand-set keys, in the VM
# when this kernel lacks kTLS.
demo: deps
	$(MAKE) all
	@if $(B)/examples/raw-ktls-demo --probe; then \
		$(B)/examples/raw-ktls-demo; \
	else \
		echo "this kernel has no kTLS: running the demo in a $(firstword $(KERNELS)) VM"; \
		tests/vm/run --kernel $(firstword $(KERNELS)) -- \
			sh -c 'modprobe -q aesni_intel; exec $(B)/examples/raw-ktls-demo'; \
	fi

install: all

clean:
	rm -rf $(B)
