/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ktlsd's handshake process, as the tests find it (tests/lib/hsproc.c). */
#ifndef KTLS_TEST_HSPROC_H
#define KTLS_TEST_HSPROC_H

#include <sys/types.h>

/*
 * The newest child of supervisor named ktlsd-hs (during a reload the old
 * one drains beside the new one), or -1.
 */
pid_t hs_pid(pid_t supervisor);
/* One that is not `not`, waiting up to timeout_ms for it; or -1. */
pid_t hs_wait(pid_t supervisor, pid_t not, int timeout_ms);

#endif
