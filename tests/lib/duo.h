/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two libktls ends in one process: the client handshakes in a thread, the
 * server in the caller (tests/lib/duo.c); and how an end is expected to
 * have finished.
 */
#ifndef KTLS_DUO_H
#define KTLS_DUO_H

#include <pthread.h>

#include <ktls.h>

#include "testutil.h"

/*
 * ktls_session_handshake(), and on failure what an application does: it
 * closes. The peer then sees the end of the stream (SHUT_WR sends a FIN,
 * not a RST, so it still reads all that was sent before).
 */
int handshake_or_close(struct ktls_session *s, int fd);

/* A client's handshake for a thread: duo_client_main(&c) sets c.ret. */
struct duo_client {
	struct ktls_session *s;
	int fd;
	int ret;
};

void *duo_client_main(void *arg);

/*
 * Handshake cs (on cfd) in a thread against ss (on sfd) here; the results
 * go to *cret and *sret. 0, or a pthread error.
 */
int duo_handshake(struct ktls_session *cs, int cfd, int *cret,
		  struct ktls_session *ss, int sfd, int *sret);

/*
 * The handshake succeeded up to the install: 0 where the kernel has kTLS,
 * else the "no TLS support" error.
 */
#define ASSERT_REACHED_INSTALL(ret, s) do {				\
	if (host_has_ktls()) {						\
		ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(s));	\
	} else {							\
		ASSERT_FAILED(-KTLS_E_NO_KTLS, ret, s, "modprobe tls");	\
	}								\
} while (0)

/* The failing end told the other why, with a fatal alert. */
#define ASSERT_PEER_ALERTED(ret, s)					\
	ASSERT_FAILED(-KTLS_E_ALERT, ret, s,				\
		      "aborted the handshake with the alert")

#endif
