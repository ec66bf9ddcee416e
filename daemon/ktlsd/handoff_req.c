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
#include <sys/stat.h>

#include "daemon.h"
#include "loop.h"
#include "wire.h"

int handoff_req_check_fd(int fd, const char **msg)
{
	struct stat st;
	char ulp[16] = "";
	socklen_t len;
	int v;

	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode)) {
		*msg = "The descriptor is not a socket.";
		return -ENOTSOCK;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) ||
	    (v != AF_INET && v != AF_INET6)) {
		*msg = "The socket is not an IPv4 or IPv6 socket.";
		return -EAFNOSUPPORT;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) || v != SOCK_STREAM) {
		*msg = "The socket is not a stream socket.";
		return -EPROTOTYPE;
	}
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) ||
	    v != IPPROTO_TCP) {
		*msg = "The socket is not TCP.";
		return -EPROTONOSUPPORT;
	}
	len = sizeof(v);
	if (!getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) && v) {
		*msg = "The socket is listening; hand over an accepted or "
		       "connected one.";
		return -ENOTCONN;
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
