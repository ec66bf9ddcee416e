// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * TLS clients (GnuTLS), the same code against every server, and the
 * loopback sockets they use.
 */
#include <fcntl.h>
#include <sys/epoll.h>

#include "bench.h"

gnutls_certificate_credentials_t client_cred(const struct opts *o,
					     const char *cert)
{
	gnutls_certificate_credentials_t cred;
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s.pem", o->dir, cert);
	if (gnutls_certificate_allocate_credentials(&cred) ||
	    gnutls_certificate_set_x509_trust_file(cred, path,
						   GNUTLS_X509_FMT_PEM) != 1)
		die("cannot load %s as the clients' trust anchor", path);
	return cred;
}

/*
 * A non-blocking client on fd that verifies the server's certificate
 * (chain and name), as a real client does.
 */
gnutls_session_t client_session(gnutls_certificate_credentials_t cred, int fd)
{
	gnutls_session_t gs;

	if (gnutls_init(&gs, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) ||
	    gnutls_priority_set_direct(gs, HS_PRIORITY, NULL) ||
	    gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, cred) ||
	    gnutls_server_name_set(gs, GNUTLS_NAME_DNS, "localhost", 9))
		die("GnuTLS client setup failed");
	gnutls_session_set_verify_cert(gs, "localhost", 0);
	gnutls_transport_set_int(gs, fd);
	return gs;
}

void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		die("fcntl: %s", strerror(errno));
}

/* Close without TIME_WAIT: long runs would fill the table otherwise. */
void close_reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* A blocking loopback connection to addr, and (lfd >= 0) its accepted end. */
int connect_to(const struct sockaddr_in *addr, int lfd, int *accepted)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		die("connect to 127.0.0.1:%u: %s", ntohs(addr->sin_port),
		    strerror(errno));
	if (lfd >= 0) {
		*accepted = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (*accepted < 0)
			die("accept: %s", strerror(errno));
	}
	return fd;
}

/* A listening loopback socket with a deep backlog; *addr gets its address. */
int listener(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) ||
	    listen(fd, 4096) || getsockname(fd, (struct sockaddr *)addr, &len))
		die("loopback listener: %s", strerror(errno));
	return fd;
}

void ep_set(int ep, int op, int fd, unsigned events, uint64_t data)
{
	struct epoll_event ee = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, op, fd, &ee))
		die("epoll_ctl: %s", strerror(errno));
}
