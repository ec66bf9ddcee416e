// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl connect / listen: a handshake through libktls, then stdin and
 * stdout relayed over the socket with the kernel doing the record layer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ktls.h>

#include "ctl.h"
#include "daemon.h"

struct opts {
	const char *sni, *alpn, *ca, *crl, *cert, *key, *psk_id, *psk_file;
	const char *profile, *handoff_path;
	int handoff, sni_given;
	const char *session_file;	/* connect: resumption data in and out */
	int tickets;			/* listen: issue session tickets */
	int version;
	unsigned cipher, timeout;
	int insecure, chain_only, require_client, once, quiet;
	int zerocopy, no_pad;		/* KTLS_OPT_* */
};

static const struct option longopts[] = {
	{ "sni", required_argument, NULL, 's' },
	{ "alpn", required_argument, NULL, 'a' },
	{ "ca", required_argument, NULL, 'C' },
	{ "crl", required_argument, NULL, 'R' },
	{ "insecure", no_argument, NULL, 'k' },
	{ "chain-only", no_argument, NULL, 'N' },
	{ "cert", required_argument, NULL, 'c' },
	{ "key", required_argument, NULL, 'K' },
	{ "psk-identity", required_argument, NULL, 'i' },
	{ "psk-file", required_argument, NULL, 'p' },
	{ "tls-version", required_argument, NULL, 'V' },
	{ "cipher", required_argument, NULL, 'x' },
	{ "require-client-cert", no_argument, NULL, 'r' },
	{ "timeout", required_argument, NULL, 't' },
	{ "once", no_argument, NULL, '1' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "handoff", optional_argument, NULL, 'H' },
	{ "profile", required_argument, NULL, 'P' },
	{ "tickets", no_argument, NULL, 'T' },
	{ "session-file", required_argument, NULL, 'F' },
	{ "zerocopy-sendfile", no_argument, NULL, 'Z' },
	{ "rx-no-pad", no_argument, NULL, 'X' },
	{ NULL, 0, NULL, 0 },
};

/* Options that only store their argument, or set a flag to 1. */
#define STR_OPT(c, m)	{ c, offsetof(struct opts, m), 0 }
#define FLAG_OPT(c, m)	{ c, offsetof(struct opts, m), 1 }
static const struct plain_opt {
	int c;
	size_t off;
	int flag;
} plain_opts[] = {
	STR_OPT('a', alpn), STR_OPT('C', ca), STR_OPT('R', crl),
	STR_OPT('c', cert), STR_OPT('K', key), STR_OPT('i', psk_id),
	STR_OPT('p', psk_file), STR_OPT('P', profile),
	STR_OPT('F', session_file),
	FLAG_OPT('T', tickets), FLAG_OPT('k', insecure),
	FLAG_OPT('N', chain_only), FLAG_OPT('r', require_client),
	FLAG_OPT('1', once), FLAG_OPT('q', quiet),
	FLAG_OPT('Z', zerocopy), FLAG_OPT('X', no_pad),
};

/* Store a plain option's value: 0, or -1 when c is not one. */
static int set_plain(struct opts *o, int c)
{
	const struct plain_opt *p;
	char *m;

	for (p = plain_opts; p < plain_opts + sizeof(plain_opts) /
					   sizeof(plain_opts[0]); p++) {
		if (p->c != c)
			continue;
		m = (char *)o + p->off;
		if (p->flag)
			*(int *)m = 1;
		else
			*(const char **)m = optarg;
		return 0;
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
		if (!set_plain(o, c))
			continue;
		switch (c) {
		case 's': o->sni = optarg; o->sni_given = 1; break;
		case 'H': o->handoff = 1; o->handoff_path = optarg; break;
		case 't': o->timeout = strtoul(optarg, NULL, 10); break;
		case 'V':
			if (!strcmp(optarg, "1.2"))
				o->version = KTLS_TLS12;
			else if (!strcmp(optarg, "1.3"))
				o->version = KTLS_TLS13;
			else
				goto bad;
			break;
		case 'x':
			o->cipher = ktls_cipher_from_name(optarg);
			if (!o->cipher)
				goto bad;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 1 || !!o->cert != !!o->key ||
	    !!o->psk_id != !!o->psk_file || !!o->handoff != !!o->profile)
		return -1;
	return 0;
bad:
	fprintf(stderr, "ktlsctl: bad value '%s'\n", optarg);
	return -1;
}

/* The configuration the options describe; none for --handoff (0). */
static int make_config(const struct opts *o, enum ktls_role role,
		       struct ktls_config **out)
{
	struct ktls_config *cfg;
	unsigned char psk[64];
	int ret, n;

	*out = NULL;
	if (o->handoff)
		return 0;
	ret = ktls_config_new(&cfg, role);
	if (ret < 0)
		cfg = NULL;
	else if (o->version)
		ret = ktls_config_set_versions(cfg, o->version, o->version);
	if (!ret && o->cipher)
		ret = ktls_config_set_ciphers(cfg, o->cipher);
	if (!ret && o->alpn)
		ret = ktls_config_set_alpn(cfg, o->alpn);
	if (!ret && o->timeout)
		ret = ktls_config_set_timeout(cfg, o->timeout);
	if (!ret && (o->ca || (role == KTLS_CLIENT && !o->insecure && !o->psk_id))) {
		ret = ktls_config_set_ca_file(cfg, o->ca);
		if (ret < 0)
			fprintf(stderr, "ktlsctl: cannot load the trust store %s\n",
				o->ca ? o->ca : "(system)");
	}
	if (!ret && o->crl)
		ret = ktls_config_set_crl_file(cfg, o->crl);
	if (!ret && o->tickets)
		ret = ktls_config_set_tickets(cfg, 1);
	if (!ret)
		ret = ktls_config_set_kernel_options(cfg,
			(o->zerocopy ? KTLS_OPT_ZEROCOPY_SENDFILE : 0) |
			(o->no_pad ? KTLS_OPT_RX_NO_PAD : 0));
	if (!ret && o->cert) {
		ret = ktls_config_add_cert(cfg, o->cert, o->key);
		if (ret < 0)
			fprintf(stderr, "ktlsctl: cannot load %s / %s\n", o->cert, o->key);
	}
	if (!ret && o->psk_id) {
		n = ctl_secret_read_psk(o->psk_file, psk, sizeof(psk));
		if (n == -EINVAL || n == -EFBIG)
			fprintf(stderr, "ktlsctl: %s: expected the PSK in hex, "
				"%zu bytes at most\n", o->psk_file, sizeof(psk));
		else if (n < 0)
			fprintf(stderr, "ktlsctl: %s: %s\n", o->psk_file,
				strerror(-n));
		if (n < 0) {
			ret = n;
		} else {
			ret = ktls_config_set_psk(cfg, o->psk_id, psk, n);
		}
		explicit_bzero(psk, sizeof(psk));
	}
	if (!ret)
		ret = ktls_config_set_verify(cfg,
			(o->insecure ? KTLS_VERIFY_NONE : 0) |
			(o->chain_only ? KTLS_VERIFY_CHAIN_ONLY : 0) |
			(o->require_client ? KTLS_VERIFY_REQUIRE_CLIENT : 0));
	if (ret < 0) {
		fprintf(stderr, "ktlsctl: %s\n", ktls_strerror(ret));
		ktls_config_free(cfg);
		return ret;
	}
	*out = cfg;
	return 0;
}

const char *ctl_offload_name(enum ktls_offload m)
{
	switch (m) {
	case KTLS_OFFLOAD_HW:
		return "nic";
	case KTLS_OFFLOAD_SW:
		return "sw";
	case KTLS_OFFLOAD_NONE:
		return "none";
	default:
		return "unknown (needs CAP_NET_ADMIN before Linux 6.15)";
	}
}

static void print_info(const struct ktls_info *in)
{
	fprintf(stderr, "ktlsctl: TLS %s %s, group %s, signature %s, ALPN %s, "
		"SNI %s, resumed %s, kTLS TX %s RX %s\n",
		in->version == KTLS_TLS13 ? "1.3" : "1.2", in->cipher_name,
		*in->group ? in->group : "-", *in->sigalg ? in->sigalg : "-",
		*in->alpn ? in->alpn : "-", *in->sni ? in->sni : "-",
		in->resumed ? "yes" : "no", ctl_offload_name(in->tx),
		ctl_offload_name(in->rx));
	if (in->peer_subject)
		fprintf(stderr, "ktlsctl: peer %s, SHA-256 %s\n",
			in->peer_subject, in->peer_sha256);
	if (in->options)
		fprintf(stderr, "ktlsctl: kernel options:%s%s\n",
			in->options & KTLS_OPT_ZEROCOPY_SENDFILE ?
			" zerocopy-sendfile" : "",
			in->options & KTLS_OPT_RX_NO_PAD ? " rx-no-pad" : "");
}

int ctl_recv_failed(ssize_t n, int alert)
{
	if (n == -KTLS_E_ALERT)
		fprintf(stderr, "ktlsctl: the peer sent the fatal alert %d\n",
			alert);
	else
		fprintf(stderr, "ktlsctl: receive: %s\n", ktls_strerror((int)n));
	return 1;
}

/* stdin -> socket, socket -> stdout, until the peer closes. */
static int relay(struct ktls_session *s, int fd)
{
	static char buf[1 << 16];
	struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
			       { .fd = fd, .events = POLLIN } };
	int alert = -1;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n > 0) {
				if (util_write_all(fd, buf, n))
					return 1;
			} else {
				p[0].fd = -1;	/* stdin is done: so are we */
				ktls_close_notify(s);
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = ktls_recv(s, buf, sizeof(buf), MSG_DONTWAIT,
					      &alert);

			if (n == -EAGAIN)
				continue;
			if (n == 0)	/* the peer closed; ours went back */
				return 0;
			if (n < 0)
				return ctl_recv_failed(n, alert);
			if (util_write_all(1, buf, n))
				return 1;
		}
	}
}

#define SESSION_MAX (1 << 16)	/* GnuTLS's packed sessions are ~1-2 KiB */

/*
 * --session-file: resume with what the file holds, if it exists; keep
 * this connection's tickets either way. Data the library cannot use (old,
 * or from another program) only costs a full handshake.
 */
static int load_session(struct ktls_session *s, const char *path)
{
	static unsigned char buf[SESSION_MAX];
	ssize_t n = -1;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	} else if (errno != ENOENT) {
		fprintf(stderr, "ktlsctl: %s: %s\n", path, strerror(errno));
	}
	ret = n > 0 ? ktls_session_set_resumption(s, buf, n) : -EINVAL;
	explicit_bzero(buf, sizeof(buf));
	if (ret == -EINVAL && n > 0)
		fprintf(stderr, "ktlsctl: %s: unusable session data, ignored\n",
			path);
	if (ret == -EINVAL)
		ret = ktls_session_set_resumption(s, NULL, 0);
	return ret;
}

/*
 * After the relay: the newest resumption data, if the server sent any,
 * replaces the file (mode 0600: it holds a secret), atomically.
 */
static void save_session(const struct ktls_session *s, const char *path)
{
	static unsigned char buf[SESSION_MAX];
	size_t len = sizeof(buf);
	int ret;

	ret = ktls_session_get_resumption(s, buf, &len);
	if (ret == -EAGAIN || ret == -EOPNOTSUPP)
		return;		/* no ticket came; ktlsd kept the session */
	if (ret < 0) {
		fprintf(stderr, "ktlsctl: no session data to save: %s\n",
			ktls_strerror(ret));
		return;
	}
	ret = ctl_secret_save(path, buf, len);
	if (ret < 0)
		fprintf(stderr, "ktlsctl: cannot save %s: %s\n", path,
			strerror(-ret));
	explicit_bzero(buf, sizeof(buf));
}

/* ktlsd runs the handshake on fd with one of its profiles. */
static int handoff(int fd, const struct opts *o, struct ktls_session **s)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = o->profile,
		.server_name = o->sni_given ? o->sni : NULL, .alpn = o->alpn,
		.timeout_ms = o->timeout,
	};
	struct ktls_handoff *h;
	int ret;

	ret = ktls_handoff_open(&h, o->handoff_path);
	if (ret < 0) {
		fprintf(stderr, "ktlsctl: cannot reach ktlsd at %s: %s\n",
			o->handoff_path ? o->handoff_path :
			getenv("KTLS_HANDOFF_SOCKET") ?
			getenv("KTLS_HANDOFF_SOCKET") : KTLS_HANDOFF_SOCKET,
			strerror(-ret));
		return ret;
	}
	ret = ktls_handoff(h, fd, &req, s);
	if (ret < 0)
		fprintf(stderr, "ktlsctl: handoff: %s\n", *ktls_handoff_error(h) ?
			ktls_handoff_error(h) : ktls_strerror(ret));
	ktls_handoff_close(h);
	return ret;
}

static int serve_fd(int fd, const struct ktls_config *cfg,
		    const struct opts *o, int client)
{
	struct ktls_session *s;
	const void *early;
	size_t n;
	int ret;

	if (o->handoff) {
		if (handoff(fd, o, &s) < 0)
			return 1;
		goto relay;
	}
	ret = ktls_session_new(&s, cfg, fd);
	if (ret < 0) {
		fprintf(stderr, "ktlsctl: %s\n", ktls_strerror(ret));
		return 1;
	}
	if (client && o->sni)
		ret = ktls_session_set_server_name(s, o->sni);
	if (!ret && client && o->session_file)
		ret = load_session(s, o->session_file);
	if (!ret)
		ret = ktls_session_handshake(s);
	if (ret < 0) {
		fprintf(stderr, "ktlsctl: %s\n", *ktls_session_error(s) ?
			ktls_session_error(s) : ktls_strerror(ret));
		ktls_session_free(s);
		return 1;
	}
relay:
	if (!o->quiet)
		print_info(ktls_session_info(s));
	n = ktls_session_early_data(s, &early);
	ret = n && util_write_all(1, early, n) ? 1 : relay(s, fd);
	if (client && o->session_file)
		save_session(s, o->session_file);
	ktls_session_free(s);
	return ret;
}

/* "host:port", "[v6]:port" or, for listen, "port". */
static int split_hostport(char *arg, char **host, char **port)
{
	char *c;

	if (arg[0] == '[') {
		c = strchr(arg, ']');
		if (!c || c[1] != ':')
			return -1;
		*c = 0;
		*host = arg + 1;
		*port = c + 2;
		return 0;
	}
	c = strrchr(arg, ':');
	if (!c) {
		*host = NULL;
		*port = arg;
		return 0;
	}
	*c = 0;
	*host = arg;
	*port = c + 1;
	return 0;
}

int ctl_connect(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct ktls_config *cfg = NULL;
	char *host, *port;
	struct opts o;
	int fd = -1, ret, err;

	if (parse_opts(argc, argv, &o) ||
	    split_hostport(argv[optind], &host, &port) || !host) {
		fprintf(stderr, "usage: ktlsctl connect HOST:PORT [options] "
			"[--session-file FILE]\n"
			"       ktlsctl connect HOST:PORT --handoff[=SOCKET] "
			"--profile NAME [--sni NAME] [--alpn LIST]\n");
		return 2;
	}
	if (!o.sni && !o.psk_id)
		o.sni = host;
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		fprintf(stderr, "ktlsctl: %s:%s: %s\n", host, port, gai_strerror(err));
		return 1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "ktlsctl: connect %s:%s: %s\n", host, port,
			strerror(err));
		return 1;
	}
	if (make_config(&o, KTLS_CLIENT, &cfg) < 0) {
		close(fd);
		return 1;
	}
	ret = serve_fd(fd, cfg, &o, 1);
	close(fd);
	ktls_config_free(cfg);
	return ret;
}

int ctl_listen(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *res;
	struct ktls_config *cfg = NULL;
	char *host, *port;
	struct opts o;
	int lfd, fd, ret = 0, one = 1, err;

	if (parse_opts(argc, argv, &o) ||
	    split_hostport(argv[optind], &host, &port) ||
	    (!o.cert && !o.psk_id && !o.handoff)) {
		fprintf(stderr, "usage: ktlsctl listen [ADDR:]PORT --cert FILE "
			"--key FILE [options] [--tickets] [--once]\n"
			"       ktlsctl listen [ADDR:]PORT --handoff[=SOCKET] "
			"--profile NAME [--once]\n");
		return 2;
	}
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		fprintf(stderr, "ktlsctl: %s: %s\n", port, gai_strerror(err));
		return 1;
	}
	lfd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, res->ai_addr, res->ai_addrlen) || listen(lfd, 16)) {
		fprintf(stderr, "ktlsctl: listen on %s: %s\n", port, strerror(errno));
		freeaddrinfo(res);
		return 1;
	}
	freeaddrinfo(res);
	if (make_config(&o, KTLS_SERVER, &cfg) < 0) {
		close(lfd);
		return 1;
	}
	do {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			ret = 1;
			break;
		}
		ret = serve_fd(fd, cfg, &o, 0);
		close(fd);
	} while (!o.once);
	close(lfd);
	ktls_config_free(cfg);
	return ret;
}
