// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl subscribe PROFILE: accept mode from the command line. ktlsd
 * listens and runs the handshakes; each connection comes here as a kTLS
 * socket, is described in one line and echoed until the peer closes.
 * One connection at a time: the others wait in ktlsd's bounded queue.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ktls.h>

#include "ctl.h"
#include "daemon.h"

/* "192.0.2.1:443", "[2001:db8::1]:443", or "?" */
static void peer_name(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) ||
	    sockinfo_peer_address(fd, host, sizeof(host))) {
		snprintf(out, len, "?");
		return;
	}
	port = ss.ss_family == AF_INET6 ?
	       ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	       ntohs(((struct sockaddr_in *)&ss)->sin_port);
	snprintf(out, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
		 port);
}

/* The connection in one line on stdout, for people and for scripts. */
static void describe(int fd, const struct ktls_info *in)
{
	char peer[INET6_ADDRSTRLEN + 16];

	peer_name(fd, peer, sizeof(peer));
	printf("%s TLS %s %s SNI %s ALPN %s kTLS TX %s RX %s peer ", peer,
	       in->version == KTLS_TLS13 ? "1.3" : "1.2", in->cipher_name,
	       *in->sni ? in->sni : "-", *in->alpn ? in->alpn : "-",
	       ctl_offload_name(in->tx), ctl_offload_name(in->rx));
	if (in->peer_subject)
		printf("%s SHA-256 %s\n", in->peer_subject, in->peer_sha256);
	else
		printf("-\n");
	fflush(stdout);
}

/* What the peer sends, back to it, until it closes: 0, or 1 on an error. */
static int echo(struct ktls_session *s, int fd)
{
	static char buf[1 << 16];
	int alert = -1;
	ssize_t n;

	for (;;) {
		n = ktls_recv(s, buf, sizeof(buf), 0, &alert);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n == 0)	/* close_notify: ktls_recv() answered it */
			return 0;
		if (n < 0)
			return ctl_recv_failed(n, alert);
		if (util_write_all(fd, buf, n)) {
			fprintf(stderr, "ktlsctl: send: %s\n", strerror(errno));
			return 1;
		}
	}
}

/*
 * The next connection off h, served: 0 or 1 as echo() says, 2 when the
 * connection came without its session, or a negative error for h.
 */
static int serve_next(struct ktls_handoff *h)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct pollfd p;
	int ret;

	for (;;) {
		ret = ktls_handoff_result(h, &r);
		if (ret)
			break;
		/* A resubscription changes the socket: poll it afresh. */
		p = (struct pollfd){ .fd = ktls_handoff_fd(h), .events = POLLIN };
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			return -errno;
	}
	if (ret < 0)
		return ret;
	if (r.status) {
		fprintf(stderr, "ktlsctl: a connection without its session: "
			"%s\n", ktls_strerror(r.status));
		close(r.fd);
		return 2;
	}
	describe(r.fd, ktls_session_info(r.session));
	ret = echo(r.session, r.fd);
	ktls_session_free(r.session);
	close(r.fd);
	return ret;
}

static struct ktls_handoff *subscribe(const char *path, const char *profile)
{
	struct ktls_handoff *h;
	uint64_t id;
	int ret;

	ret = ktls_handoff_open(&h, path);
	if (ret < 0) {
		fprintf(stderr, "ktlsctl: cannot reach ktlsd at %s: %s\n",
			path ? path : getenv("KTLS_HANDOFF_SOCKET") ?
			getenv("KTLS_HANDOFF_SOCKET") : KTLS_HANDOFF_SOCKET,
			strerror(-ret));
		return NULL;
	}
	ret = ktls_handoff_subscribe(h, profile, &id);
	if (ret < 0) {
		fprintf(stderr, "ktlsctl: subscribing to profile %s: %s\n",
			profile, *ktls_handoff_error(h) ?
			ktls_handoff_error(h) : ktls_strerror(ret));
		ktls_handoff_close(h);
		return NULL;
	}
	fprintf(stderr, "ktlsctl: subscribed to profile %s\n", profile);
	return h;
}

int ctl_subscribe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "handoff", required_argument, NULL, 'H' },
		{ "once", no_argument, NULL, '1' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct ktls_handoff *h;
	int c, once = 0, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'H')
			path = optarg;
		else if (c == '1')
			once = 1;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	h = subscribe(path, argv[optind]);
	if (!h)
		return 1;
	do {
		ret = serve_next(h);
	} while (ret >= 0 && !once);
	if (ret < 0)
		fprintf(stderr, "ktlsctl: ktlsd: %s\n", *ktls_handoff_error(h) ?
			ktls_handoff_error(h) : ktls_strerror(ret));
	ktls_handoff_close(h);
	return ret ? 1 : 0;
usage:
	fprintf(stderr, "usage: ktlsctl subscribe PROFILE [--handoff SOCKET] "
		"[--once]\n");
	return 2;
}
