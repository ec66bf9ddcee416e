// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reads on the connections the shim handed over. kTLS hands up alerts and
 * post-handshake messages as records of their own, which a plain read()
 * turns into EIO; every read goes through ktls_recv() instead, which
 * makes the peer's close_notify an end of file, skips TLS 1.3 tickets,
 * and follows the peer's KeyUpdate where the session kept the secrets
 * (fdtab.c): the new receive key goes into the kernel, and ours goes out
 * too if the peer asked, before the read goes on. Elsewhere a KeyUpdate
 * ends the stream with ECONNRESET. Only the first non-empty buffer of a
 * vector is filled: a short read, as a stream socket may give.
 */
#include <errno.h>
#include <sys/socket.h>

#include "preload.h"

ssize_t recv_conn(struct preload_conn *c, int fd, const struct iovec *iov,
		  int iovcnt, int flags)
{
	ssize_t n;
	int i;

	for (i = 0; i < iovcnt && !iov[i].iov_len; i++)
		;
	if (i == iovcnt)
		return 0;
	if (flags & MSG_PEEK)	/* data records only; a control one is EIO */
		return real.recvfrom(fd, iov[i].iov_base, iov[i].iov_len,
				     flags, NULL, NULL);
	fdtab_conn_at(c, fd);
	preload_inside++;
	n = ktls_recv(c->s, iov[i].iov_base, iov[i].iov_len,
		      flags & (MSG_DONTWAIT | MSG_WAITALL), NULL);
	preload_inside--;
	if (n < 0) {
		errno = n == -EAGAIN ? EAGAIN : preload_errno(n);
		return -1;
	}
	return n;
}
