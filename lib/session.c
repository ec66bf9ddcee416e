// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The handshake engine: GnuTLS drives the handshake over the caller's TCP
 * socket; when it completes, the negotiated keys go to the kernel
 * (install.c) and GnuTLS is done with the socket.
 *
 * GnuTLS reads through our pull function, which never reads past the end
 * of the TLS record being received: whatever the peer sends after the
 * handshake stays in the socket for the kernel, and the only application
 * data we can hold is what GnuTLS already decrypted (returned to the caller
 * as early data).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "session.h"

const struct ktls_config *session_config(gnutls_session_t gs)
{
	struct ktls_session *s = gnutls_session_get_ptr(gs);

	return s ? s->cfg : NULL;
}

/*
 * Blocking sockets: wait for the socket within the handshake deadline, so
 * that a silent peer cannot hold us longer than the timeout.
 */
static int wait_io(struct ktls_session *s, short events)
{
	struct pollfd pfd = { .fd = s->fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = s->deadline_ms - util_now_ms();
		if (left <= 0) {
			s->timed_out = 1;
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static ssize_t io_result(struct ktls_session *s, ssize_t n)
{
	if (n < 0) {
		s->io_errno = errno;
		gnutls_transport_set_errno(s->gs,
			errno == EAGAIN || errno == EWOULDBLOCK ? EAGAIN :
			errno == EINTR ? EINTR : EIO);
	}
	return n;
}

/*
 * Once the kernel has the keys GnuTLS must never read or write the socket
 * again: its bytes are kTLS's. Nothing here asks it to, but some GnuTLS
 * calls would (gnutls_session_get_data2() waits for a TLS 1.3 ticket by
 * reading): they get EAGAIN instead.
 */
static int switched(struct ktls_session *s)
{
	if (s->state != S_DONE)
		return 0;
	gnutls_transport_set_errno(s->gs, EAGAIN);
	return 1;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct ktls_session *s = ptr;
	size_t want;
	ssize_t n;

	if (switched(s))
		return -1;
	if (s->blocking && wait_io(s, POLLIN))
		return io_result(s, -1);
	/* At a record boundary read only the header, then only its body. */
	want = s->rec_left ? s->rec_left : sizeof(s->hdr) - s->hdr_got;
	if (want > len)
		want = len;
	n = recv(s->fd, buf, want, MSG_DONTWAIT);
	if (n < 0 && s->blocking && (errno == EAGAIN || errno == EWOULDBLOCK))
		errno = EINTR;	/* spurious wake-up: GnuTLS retries */
	if (n <= 0)
		return io_result(s, n);
	if (s->rec_left) {
		s->rec_left -= n;
	} else {
		memcpy(s->hdr + s->hdr_got, buf, n);
		s->hdr_got += n;
		if (s->hdr_got == sizeof(s->hdr)) {
			s->rec_left = (size_t)s->hdr[3] << 8 | s->hdr[4];
			s->hdr_got = 0;
		}
	}
	return n;
}

/*
 * GnuTLS gathers a whole flight (ServerHello up to Finished) and hands it
 * over at once: one sendmsg(), so one TCP segment where a send() per
 * record made six, each waking the peer.
 */
static ssize_t push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int n_iov)
{
	struct ktls_session *s = ptr;
	struct msghdr msg = {
		/* giovec_t is documented to have struct iovec's layout. */
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)n_iov,
	};
	ssize_t n;

	_Static_assert(sizeof(giovec_t) == sizeof(struct iovec),
		       "giovec_t is not struct iovec");
	if (switched(s))
		return -1;
	if (s->blocking && wait_io(s, POLLOUT))
		return io_result(s, -1);
	n = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && s->blocking && (errno == EAGAIN || errno == EWOULDBLOCK))
		errno = EINTR;
	return io_result(s, n);
}

/* GnuTLS hands each new secret here; only the application ones are kept. */
static int keep_secrets(gnutls_session_t gs, gnutls_record_encryption_level_t level,
			const void *rd, const void *wr, size_t len)
{
	struct ktls_session *s = gnutls_session_get_ptr(gs);

	if (level != GNUTLS_ENCRYPTION_LEVEL_APPLICATION || len > KTLS_SECRET_MAX)
		return 0;
	if (rd)
		memcpy(s->secret_rx, rd, len);
	if (wr)
		memcpy(s->secret_tx, wr, len);
	s->secret_len = len;
	return 0;
}

/*
 * KTLS_VERIFY_REQUEST_CLIENT: a client may send no certificate; one that
 * it sends must verify.
 */
static int verify_if_given(gnutls_session_t gs)
{
	struct ktls_session *s = gnutls_session_get_ptr(gs);
	unsigned status = 0;
	int ret = gnutls_certificate_verify_peers3(gs, NULL, &status);

	if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND)
		return 0;
	if (ret < 0)
		status |= GNUTLS_CERT_INVALID;
	s->verify_status = status;
	return status ? GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR : 0;
}

/* A TCP socket, connected, with no upper layer protocol yet. */
static int check_socket(int fd)
{
	int v;
	socklen_t len = sizeof(v);
	char ulp[16] = "";
	int ret;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len))
		return -errno;
	if (v != SOCK_STREAM)
		return -EPROTOTYPE;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len))
		return -errno;
	if (v != IPPROTO_TCP)
		return -EPROTONOSUPPORT;
	ret = sockinfo_tcp_established(fd, NULL);
	if (ret)
		return ret;
	len = sizeof(ulp);
	if (!getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &len) && ulp[0])
		return -EALREADY;
	return 0;
}

static int is_ip_literal(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 ||
	       inet_pton(AF_INET6, name, buf) == 1;
}

/* Whether a client checks the server's certificate against a name. */
static int checks_name(const struct ktls_config *cfg)
{
	return cfg->role == KTLS_CLIENT && !cfg->psk_client &&
	       !(cfg->verify & (KTLS_VERIFY_NONE | KTLS_VERIFY_CHAIN_ONLY));
}

/* The client's name: SNI and the name its certificate must carry. */
static int apply_server_name(struct ktls_session *s, gnutls_session_t gs)
{
	const char *name = s->server_name;

	/* SNI carries host names only (RFC 6066); IPs are still verified. */
	if (!is_ip_literal(name) &&
	    gnutls_server_name_set(gs, GNUTLS_NAME_DNS, name, strlen(name)) < 0)
		return -EINVAL;
	/* GnuTLS keeps the pointer: s->server_name lives as long as gs. */
	if (checks_name(s->cfg))
		gnutls_session_set_verify_cert(gs, name, 0);
	return 0;
}

/*
 * No name was given: the certificate must name the address we reached,
 * as tlshd does. Checking the chain alone would accept any certificate
 * of the trust store (with the system's, any public site's) for any host.
 */
static int apply_peer_name(struct ktls_session *s)
{
	int ret;

	if (s->server_name || !checks_name(s->cfg))
		return 0;
	ret = sockinfo_peer_address(s->fd, s->peer_name, sizeof(s->peer_name));
	if (ret)
		return session_fail(s, ret, "No server name was given and the peer's "
				    "address could not be read to check the "
				    "certificate against: %s.", strerror(-ret));
	gnutls_session_set_verify_cert(s->gs, s->peer_name, 0);
	return 0;
}

static int apply_alpn(gnutls_session_t gs, const char *list)
{
	gnutls_datum_t names[KTLS_ALPN_MAX];
	char *buf = NULL;
	unsigned n;
	int ret;

	ret = util_parse_alpn(list, &buf, names, &n);
	if (!ret && gnutls_alpn_set_protocols(gs, names, n, 0) < 0)
		ret = -ENOMEM;
	free(buf);
	return ret;
}

/*
 * GnuTLS keeps one handshake hook per session: this one serves each part
 * that needs one. Before the ClientHello is read, a server with two
 * ticket keys picks one (tickets.c); after each message the peer sent, its
 * record size limit is looked for (reclimit.c).
 */
static int session_hook(gnutls_session_t gs, unsigned htype, unsigned when,
			unsigned incoming, const gnutls_datum_t *msg)
{
	if (when == GNUTLS_HOOK_PRE)
		return incoming && htype == GNUTLS_HANDSHAKE_CLIENT_HELLO ?
		       tickets_hello(gs, msg) : 0;
	return reclimit_hook(gs, htype, when, incoming, msg);
}

/*
 * A GnuTLS session for s, from its configuration and what was set on s so
 * far. Tickets stay off unless this side uses them: a server that issues
 * them, a client that asked for resumption.
 */
static int new_gnutls(struct ktls_session *s, gnutls_session_t *out)
{
	const struct ktls_config *cfg = s->cfg;
	int issue = cfg->role == KTLS_SERVER && cfg->ticket_key.data;
	gnutls_session_t gs;
	unsigned flags;
	int ret = -ENOMEM;

	flags = (cfg->role == KTLS_SERVER ? GNUTLS_SERVER : GNUTLS_CLIENT) |
		GNUTLS_NO_SIGNAL | GNUTLS_NONBLOCK;
	if (!issue && !s->tickets)
		flags |= GNUTLS_NO_TICKETS;
	/*
	 * One key share, for the first group (X25519 where the system allows
	 * it), not GnuTLS's default two: a server that wants another group
	 * asks for it (HelloRetryRequest), and every other handshake saves a
	 * key generation.
	 */
	if (cfg->role == KTLS_CLIENT)
		flags |= GNUTLS_KEY_SHARE_TOP;
	if (gnutls_init(&gs, flags) < 0)
		return -ENOMEM;
	if (gnutls_priority_set(gs, cfg->prio) < 0 ||
	    gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, cfg->x509) < 0)
		goto err;
	if (cfg->psk_client &&
	    gnutls_credentials_set(gs, GNUTLS_CRD_PSK, cfg->psk_client) < 0)
		goto err;
	if (cfg->psk_server &&
	    gnutls_credentials_set(gs, GNUTLS_CRD_PSK, cfg->psk_server) < 0)
		goto err;
	if (cfg->n_alpn &&
	    gnutls_alpn_set_protocols(gs, cfg->alpn, cfg->n_alpn, 0) < 0)
		goto err;
	/* GnuTLS sends TLS 1.3 tickets before gnutls_handshake() returns. */
	if (issue && tickets_enable(s, gs) < 0)
		goto err;
	if (cfg->role == KTLS_SERVER) {
		if (cfg->verify & KTLS_VERIFY_REQUIRE_CLIENT) {
			gnutls_certificate_server_set_request(gs, GNUTLS_CERT_REQUIRE);
			gnutls_session_set_verify_cert(gs, NULL, 0);
		} else if (cfg->verify & KTLS_VERIFY_REQUEST_CLIENT) {
			/* GnuTLS's own check would fail a client without one. */
			gnutls_certificate_server_set_request(gs, GNUTLS_CERT_REQUEST);
			gnutls_session_set_verify_function(gs, verify_if_given);
		}
	} else if (!(cfg->verify & KTLS_VERIFY_NONE) && !cfg->psk_client) {
		/*
		 * The chain; the name is added by apply_server_name() or, at
		 * the handshake, apply_peer_name(). Without one of them only
		 * KTLS_VERIFY_CHAIN_ONLY gets this far.
		 */
		gnutls_session_set_verify_cert(gs, NULL, 0);
	}
	if (s->server_name) {
		ret = apply_server_name(s, gs);
		if (ret)
			goto err;
	}
	if (s->alpn_list) {
		ret = apply_alpn(gs, s->alpn_list);
		if (ret)
			goto err;
	}
	gnutls_session_set_ptr(gs, s);
	gnutls_handshake_set_secret_function(gs, keep_secrets);
	gnutls_handshake_set_hook_function(gs, GNUTLS_HANDSHAKE_ANY,
					   GNUTLS_HOOK_BOTH, session_hook);
	gnutls_transport_set_ptr(gs, s);
	gnutls_transport_set_pull_function(gs, pull);
	gnutls_transport_set_vec_push_function(gs, push);
	*out = gs;
	return 0;
err:
	gnutls_deinit(gs);
	return ret;
}

KTLS_EXPORT int ktls_session_new(struct ktls_session **out,
				 const struct ktls_config *cfg, int fd)
{
	int ret;

	if (!out || !cfg || fd < 0)
		return -EINVAL;
	ret = check_socket(fd);
	if (ret < 0)
		return ret;
	return session_new_daemon(out, cfg, fd, 1, -1);
}

int session_new_daemon(struct ktls_session **out, const struct ktls_config *cfg,
		       int fd, int may_block, int diag_nl)
{
	struct ktls_session *s;
	int ret;

	if (!out || !cfg || fd < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->never_block = !may_block;
	s->diag_nl = diag_nl;
	s->cfg = cfg;
	s->role = cfg->role;
	s->kernel_rekey = cfg->kernel_rekey;
	s->fd = fd;
	s->tickets = cfg->role == KTLS_CLIENT && cfg->tickets;
	s->tx.limit = cfg->rekey_limit;
	ret = new_gnutls(s, &s->gs);
	if (ret) {
		ktls_session_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

KTLS_EXPORT int ktls_session_set_alpn(struct ktls_session *s, const char *list)
{
	char *copy;
	int ret;

	if (!s || !list || s->state != S_NEW || !s->gs)
		return -EINVAL;
	ret = apply_alpn(s->gs, list);
	if (ret)
		return ret;
	/* Kept in case the GnuTLS session must be made again. */
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	free(s->alpn_list);
	s->alpn_list = copy;
	return 0;
}

KTLS_EXPORT int ktls_session_set_server_name(struct ktls_session *s,
					     const char *name)
{
	if (!s || !name || !*name || strlen(name) > 253 ||
	    s->state != S_NEW || s->role != KTLS_CLIENT || !s->gs)
		return -EINVAL;
	free(s->server_name);
	s->server_name = strdup(name);
	if (!s->server_name)
		return -ENOMEM;
	return apply_server_name(s, s->gs);
}

int session_keep_tickets(struct ktls_session *s)
{
	gnutls_session_t gs;
	int ret;

	if (!s || !s->gs || s->state != S_NEW || s->role != KTLS_CLIENT)
		return -EINVAL;
	if (s->tickets)
		return 0;
	/* gnutls_init() flags are final: make the session again, untouched. */
	s->tickets = 1;
	ret = new_gnutls(s, &gs);
	if (ret) {
		s->tickets = 0;
		return ret;
	}
	gnutls_deinit(s->gs);
	s->gs = gs;
	return 0;
}

int session_wants_tickets(const struct ktls_session *s)
{
	return s->state == S_DONE &&
	       ((s->tickets && s->gs) || s->ticket_token);
}

gnutls_session_t session_gnutls(const struct ktls_session *s)
{
	return s->gs;
}

gnutls_session_t session_take_gnutls(struct ktls_session *s)
{
	gnutls_session_t gs = s->gs;

	s->gs = NULL;
	return gs;
}

struct ktls_tx_count *session_tx_count(struct ktls_session *s)
{
	return &s->tx;
}

KTLS_EXPORT int ktls_session_time_left(const struct ktls_session *s)
{
	int64_t left;

	if (!s || s->state == S_NEW)
		return -1;
	if (s->state != S_HANDSHAKE)
		return 0;
	left = s->deadline_ms - util_now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

KTLS_EXPORT int ktls_session_want(const struct ktls_session *s)
{
	if (!s || s->state != S_HANDSHAKE)
		return 0;
	return gnutls_record_get_direction(s->gs) ? KTLS_WANT_WRITE : KTLS_WANT_READ;
}

KTLS_EXPORT int ktls_session_handshake(struct ktls_session *s)
{
	int fl, ret;

	if (!s)
		return -EINVAL;
	switch (s->state) {
	case S_DONE:
		return 0;
	case S_FAILED:
		return -EINVAL;
	case S_NEW:
		if (s->cfg->role == KTLS_SERVER && !s->cfg->have_cert &&
		    !s->cfg->psk_server)
			return session_fail(s, -KTLS_E_CONFIG, "A server needs a "
					    "certificate and key, or a PSK.");
		if (s->cfg->role == KTLS_CLIENT && !s->cfg->have_trust &&
		    !s->cfg->psk_client && !(s->cfg->verify & KTLS_VERIFY_NONE))
			return session_fail(s, -KTLS_E_CONFIG, "No trust store to verify "
					    "the server with: give a CA file.");
		ret = apply_peer_name(s);
		if (ret)
			return ret;
		s->deadline_ms = util_now_ms() + s->cfg->timeout_ms;
		s->state = S_HANDSHAKE;
		break;
	case S_HANDSHAKE:
		break;
	}
	if (!s->never_block) {
		fl = fcntl(s->fd, F_GETFL);
		s->blocking = fl >= 0 && !(fl & O_NONBLOCK);
	}

	do {
		if (util_now_ms() >= s->deadline_ms) {
			s->timed_out = 1;
			return session_handshake_error(s, GNUTLS_E_PULL_ERROR);
		}
		ret = gnutls_handshake(s->gs);
	} while (ret < 0 && !gnutls_error_is_fatal(ret) &&
		 (s->blocking || ret != GNUTLS_E_AGAIN));
	if (ret == GNUTLS_E_AGAIN)
		return -EAGAIN;
	if (ret < 0)
		return session_handshake_error(s, ret);
	return session_install(s);
}

int session_fd(const struct ktls_session *s)
{
	return s && s->state == S_DONE ? s->fd : -1;
}

int session_version(const struct ktls_session *s)
{
	return s && s->state == S_DONE ? s->info.version : 0;
}

enum ktls_role session_role(const struct ktls_session *s)
{
	return s->role;
}

struct ktls_rx_end *session_rx_end(struct ktls_session *s)
{
	return &s->rx_end;
}

int session_secrets(const struct ktls_session *s, const uint8_t **tx,
		    const uint8_t **rx)
{
	if (s->state != S_DONE || s->info.version != KTLS_TLS13)
		return 0;
	*tx = s->secret_tx;
	*rx = s->secret_rx;
	return s->secret_len;
}

const gnutls_datum_t *session_peer_certs(const struct ktls_session *s,
					 unsigned *n)
{
	const gnutls_datum_t *certs;

	*n = 0;
	if (!s || !s->gs || s->state != S_DONE)
		return NULL;
	certs = gnutls_certificate_get_peers(s->gs, n);
	if (!certs)
		*n = 0;
	return certs;
}

int session_peer_sha256(const struct ktls_session *s, uint8_t out[32])
{
	if (!s || s->state != S_DONE || !s->have_peer_sha256)
		return -ENOENT;
	memcpy(out, s->peer_sha256, sizeof(s->peer_sha256));
	return 0;
}

KTLS_EXPORT size_t ktls_session_early_data(const struct ktls_session *s,
					   const void **buf)
{
	if (!s || !buf)
		return 0;
	*buf = s->early;
	return s->early_len;
}

KTLS_EXPORT const struct ktls_info *ktls_session_info(const struct ktls_session *s)
{
	return s && s->state == S_DONE ? &s->info : NULL;
}

KTLS_EXPORT const char *ktls_session_error(const struct ktls_session *s)
{
	return s ? s->error : "";
}

KTLS_EXPORT int ktls_session_alert(const struct ktls_session *s, int *sent)
{
	if (!s)
		return -EINVAL;
	if (s->alert_from == ALERT_NONE)
		return -ENOENT;
	if (sent)
		*sent = s->alert_from == ALERT_SENT;
	return s->alert;
}

KTLS_EXPORT void ktls_session_free(struct ktls_session *s)
{
	if (!s)
		return;
	if (s->gs)
		gnutls_deinit(s->gs);	/* wipes GnuTLS's copies of the keys */
	if (s->early) {
		gnutls_memset(s->early, 0, s->early_len);
		free(s->early);
	}
	free(s->server_name);
	free(s->alpn_list);
	free(s->peer_subject);
	gnutls_memset(s, 0, sizeof(*s));
	free(s);
}
