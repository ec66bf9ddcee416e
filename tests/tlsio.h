/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For tests that talk to a TLS peer through a libktls session: socket
 * timeouts, whole reads and writes with ktls_recv() and ktls_send(), and a
 * GnuTLS peer's handshake run to its end.
 */
#ifndef KTLS_TLSIO_H
#define KTLS_TLSIO_H

#include <sys/time.h>

#include <gnutls/gnutls.h>

#include <ktls.h>

#include "testutil.h"

/* No test may hang on a silent socket: sec for reads and writes. */
static inline void set_timeouts(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Read exactly len bytes with ktls_recv() in pieces of at most step: len,
 * what came before the end or an error, or that error.
 */
static inline ssize_t recv_all(struct ktls_session *s, void *buf, size_t len,
			       size_t step)
{
	size_t got = 0;

	while (got < len) {
		size_t want = len - got < step ? len - got : step;
		ssize_t n = ktls_recv(s, (char *)buf + got, want, 0, NULL);

		if (n <= 0)
			return got ? (ssize_t)got : n;
		got += n;
	}
	return got;
}

/* All of buf with ktls_send(): len, or the first error (or 0). */
static inline ssize_t send_all(struct ktls_session *s, const void *buf,
			       size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = ktls_send(s, (const char *)buf + done, len - done, 0);

		if (n <= 0)
			return n;
		done += n;
	}
	return done;
}

/* gnutls_handshake() until it is done or fails for good: its result. */
static inline int gnutls_handshake_all(gnutls_session_t gs)
{
	int ret;

	do
		ret = gnutls_handshake(gs);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	return ret;
}

#endif
