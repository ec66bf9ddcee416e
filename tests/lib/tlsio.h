/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For tests that talk to a TLS peer through a libktls session: socket
 * timeouts, whole reads and writes with ktls_recv() and ktls_send(), and a
 * GnuTLS peer's handshake run to its end (tests/lib/tlsio.c).
 */
#ifndef KTLS_TLSIO_H
#define KTLS_TLSIO_H

#include <sys/time.h>

#include <gnutls/gnutls.h>

#include <ktls.h>

#include "testutil.h"

/* No test may hang on a silent socket: sec for reads and writes. */
void set_timeouts(int fd, int sec);

/*
 * Read exactly len bytes with ktls_recv() in pieces of at most step: len,
 * what came before the end or an error, or that error.
 */
ssize_t recv_all(struct ktls_session *s, void *buf, size_t len, size_t step);

/* All of buf with ktls_send(): len, or the first error (or 0). */
ssize_t send_all(struct ktls_session *s, const void *buf, size_t len);

/* gnutls_handshake() until it is done or fails for good: its result. */
int gnutls_handshake_all(gnutls_session_t gs);

#endif
