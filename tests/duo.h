/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two libktls ends in one process: the client handshakes in a thread, the
 * server in the caller; and how an end is expected to have finished.
 */
#ifndef KTLS_DUO_H
#define KTLS_DUO_H

#include <pthread.h>

#include <ktls.h>

#include "testutil.h"

/*
 * What an application does with a failed handshake is to close: the peer
 * then sees the end of the stream (SHUT_WR sends a FIN, not a RST, so it
 * still reads all that was sent before).
 */
static inline int handshake_or_close(struct ktls_session *s, int fd)
{
	int ret = ktls_session_handshake(s);

	if (ret)
		shutdown(fd, SHUT_WR);
	return ret;
}

struct duo_client {
	struct ktls_session *s;
	int fd;
	int ret;
};

static inline void *duo_client_main(void *arg)
{
	struct duo_client *c = arg;

	c->ret = handshake_or_close(c->s, c->fd);
	return NULL;
}

/*
 * Handshake cs (on cfd) in a thread against ss (on sfd) here; the results
 * go to *cret and *sret. 0, or a pthread error.
 */
static inline int duo_handshake(struct ktls_session *cs, int cfd, int *cret,
				struct ktls_session *ss, int sfd, int *sret)
{
	struct duo_client c = { .s = cs, .fd = cfd };
	pthread_t th;
	int err;

	err = pthread_create(&th, NULL, duo_client_main, &c);
	if (err)
		return err;
	*sret = handshake_or_close(ss, sfd);
	err = pthread_join(th, NULL);
	*cret = c.ret;
	return err;
}

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
