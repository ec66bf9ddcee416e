// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The offload a handshake reports (kTLS in software or on the NIC), for a
 * handshake process without CAP_NET_ADMIN: before Linux 6.15 sock_diag
 * shows a socket's ULP details only to a caller with it (measured on
 * 6.12, docs/privsep.md), and the handshake process keeps the capability
 * only for the upcall. So it names the socket (addresses, ports, cookie)
 * to its supervisor on a socket pair of their own, in one fixed-size
 * message, and gets the two modes back. The supervisor checks the size
 * and the family and asks the kernel; a socket that is not there is an
 * error, and the answer says nothing but two modes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/inet_diag.h>

#include "daemon.h"
#include "loop.h"

struct offload_query {
	uint32_t family;
	struct inet_diag_sockid id;
};

struct offload_answer {
	int32_t err;
	uint32_t tx, rx;
};

int offload_pair(int fds[2])
{
	struct timeval tv = { .tv_sec = 1 };

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds))
		return -errno;
	/* A supervisor that does not answer costs a worker a second. */
	setsockopt(fds[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fds[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

void offload_fix(struct ktlsd *d, struct ktls_session *s, int fd)
{
	const struct ktls_info *in = ktls_session_info(s);
	struct offload_query q;
	struct offload_answer a;
	int family;
	ssize_t n;

	if (d->offload_fd <= 0 || !in || in->tx != KTLS_OFFLOAD_UNKNOWN)
		return;
	memset(&q, 0, sizeof(q));
	if (sockinfo_sockid(fd, &family, &q.id))
		return;
	q.family = family;
	pthread_mutex_lock(&d->offload_lock);
	n = send(d->offload_fd, &q, sizeof(q), MSG_NOSIGNAL);
	if (n == (ssize_t)sizeof(q))
		n = recv(d->offload_fd, &a, sizeof(a), 0);
	pthread_mutex_unlock(&d->offload_lock);
	if (n != (ssize_t)sizeof(a) || a.err ||
	    a.tx > KTLS_OFFLOAD_UNKNOWN || a.rx > KTLS_OFFLOAD_UNKNOWN)
		return;
	session_set_offload(s, a.tx, a.rx);
}

void offload_answer(int fd)
{
	struct offload_query q;
	struct offload_answer a = { 0 };
	enum ktls_offload tx = KTLS_OFFLOAD_UNKNOWN, rx = KTLS_OFFLOAD_UNKNOWN;
	ssize_t n = recv(fd, &q, sizeof(q), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0)
		return;
	if (n != (ssize_t)sizeof(q))
		a.err = -EINVAL;
	else
		a.err = sockinfo_offload_id(q.family, &q.id, &tx, &rx);
	a.tx = tx;
	a.rx = rx;
	send(fd, &a, sizeof(a), MSG_DONTWAIT | MSG_NOSIGNAL);
}
