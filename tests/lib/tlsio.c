// SPDX-License-Identifier: GPL-2.0-or-later
/* Whole reads and writes through libktls, and a GnuTLS peer's handshake. */
#include "tlsio.h"

void set_timeouts(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

ssize_t recv_all(struct ktls_session *s, void *buf, size_t len, size_t step)
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

ssize_t send_all(struct ktls_session *s, const void *buf, size_t len)
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

int gnutls_handshake_all(gnutls_session_t gs)
{
	int ret;

	do
		ret = gnutls_handshake(gs);
	while (ret < 0 && !gnutls_error_is_fatal(ret));
	return ret;
}
