// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What a handoff request may ask: the socket that came with it must be a
 * connected TCP socket without kTLS, and its overrides (server name, ALPN,
 * timeout) must be ones the profile allows. Each refusal comes with a
 * sentence for the application's operator.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

#include "daemon.h"
#include "loop.h"
#include "wire.h"

/*
 * Four questions, each answer the kernel's: getsockname() fails on what
 * is not a socket and names the family; the protocol of an IPv4/IPv6
 * socket tells stream from not (TCP, SCTP and MPTCP are the stream ones);
 * TCP_INFO's state is ESTABLISHED only for a connected, not listening,
 * socket; TCP_ULP names an upper layer already there. (Seven calls before:
 * fstat, SO_DOMAIN, SO_TYPE and SO_ACCEPTCONN told nothing more.)
 */
int handoff_req_check_fd(int fd, const char **msg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ulp[16] = "";
	int v;

	if (getsockname(fd, (struct sockaddr *)&ss, &len)) {
		*msg = "The descriptor is not a socket.";
		return -ENOTSOCK;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
		*msg = "The socket is not an IPv4 or IPv6 socket.";
		return -EAFNOSUPPORT;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len))
		v = -1;
	if (v != IPPROTO_TCP && v != IPPROTO_SCTP && v != IPPROTO_MPTCP) {
		*msg = "The socket is not a stream socket.";
		return -EPROTOTYPE;
	}
	if (v != IPPROTO_TCP) {
		*msg = "The socket is not TCP.";
		return -EPROTONOSUPPORT;
	}
	if (sockinfo_tcp_established(fd, msg))
		return -ENOTCONN;
	len = sizeof(ulp);
	if (!getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &len) && ulp[0]) {
		*msg = "The socket already has an upper-layer protocol "
		       "(kTLS is installed on it already?).";
		return -EALREADY;
	}
	return 0;
}

int handoff_req_apply(struct job *j, const struct wire_req *rq,
		      const char **msg)
{
	const struct profile *p = j->p;

	if ((rq->server_name.len || rq->alpn.len) && p->role != KTLS_CLIENT) {
		*msg = "Server name and ALPN overrides are for client profiles.";
		return -EPERM;
	}
	if (rq->server_name.len && !(p->overrides & OVERRIDE_SNI)) {
		*msg = "The profile does not allow overriding the server name.";
		return -EPERM;
	}
	if (rq->alpn.len && !(p->overrides & OVERRIDE_ALPN)) {
		*msg = "The profile does not allow overriding ALPN.";
		return -EPERM;
	}
	if (rq->server_name.len)
		snprintf(j->server_name, sizeof(j->server_name), "%.*s",
			 (int)rq->server_name.len, rq->server_name.p);
	else if (p->server_name)
		snprintf(j->server_name, sizeof(j->server_name), "%s",
			 p->server_name);
	if (rq->alpn.len)
		snprintf(j->alpn, sizeof(j->alpn), "%.*s", (int)rq->alpn.len,
			 rq->alpn.p);
	j->timeout_ms = p->timeout_ms;
	if (rq->timeout_ms && rq->timeout_ms < j->timeout_ms)
		j->timeout_ms = rq->timeout_ms;
	return 0;
}
