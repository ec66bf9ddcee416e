// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls-fileserver: a small HTTPS/1.1 static file server that never sees a
 * private key. It accepts TCP connections, hands each to ktlsd for the TLS
 * handshake, and then serves GET and HEAD with plain send() and sendfile()
 * on the socket: the kernel does the record encryption.
 *
 *   ktls-fileserver [-l ADDR:PORT] [-s HANDOFF_SOCKET] [-p PROFILE]
 *                   [-t THREADS] [-q|-n] ROOT
 *   ktls-fileserver -a PROFILE [-s HANDOFF_SOCKET] [-t THREADS] [-q|-n] ROOT
 *
 * Structure. The main thread is the dispatcher: it polls the listening
 * socket and one shared, non-blocking connection to ktlsd, submits every
 * accepted socket with ktls_handoff_submit() and collects the outcomes
 * with ktls_handoff_result(), in whatever order ktlsd finishes them. So a
 * slow handshake never holds up the others, and no thread exists for a
 * client that has not completed its handshake. Each successful handoff
 * goes to one thread of a fixed pool (-t), which serves it with its other
 * clients from an epoll set until it goes away, owning the session and
 * the socket from then on: no thread per client.
 *
 * With -a (accept mode) ktlsd owns the listening socket (the profile's
 * listen lines): the dispatcher subscribes to the profile and gets each
 * connection with its handshake done, one message each; it stops reading
 * while the pool is full, and ktlsd holds the rest (subscriber_queue).
 *
 * This file is the program: options, logging and the dispatcher. The
 * serving pool is in serve.c; http.c parses what clients send, opens
 * files beneath ROOT and writes response heads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "ktls.h"
#include "fileserver.h"

#define MAX_CONNS	512		/* clients in handoff or being served */
#define STALL_SEC	120		/* no reply for this long: ktlsd is stuck */
#define ACCEPT_BURST	64

static const char *prog = "ktls-fileserver";
int quiet;
int silent;

/* ---- Logging: one fprintf per line, so threads never interleave ---- */

void logmsg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, line);
}

static void fmt_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(out, len, "?");
	}
}

/* ---- The dispatcher: accepted sockets on their way through ktlsd ---- */

struct waiting {
	int fd;
	int submitted;
	uint64_t id;
	time_t since;
	char peer[PEER_MAX];
};

struct dispatcher {
	const char *sock_path;		/* NULL: the library's default */
	struct ktls_handoff_req req;
	struct ktls_handoff *h;		/* NULL until needed, or after failing */
	struct waiting w[MAX_CONNS];
	int n;
};

static void fail_client(struct dispatcher *d, int i, const char *why,
			const char *msg)
{
	logmsg("%s: handoff failed: %s%s%s%s", d->w[i].peer, why,
	       *msg ? " (" : "", msg, *msg ? ")" : "");
	/* A ktlsd that is stuck still holds a duplicate: hang up for it. */
	shutdown(d->w[i].fd, SHUT_RDWR);
	close(d->w[i].fd);
	/* Shifting keeps the queue in arrival order. */
	memmove(&d->w[i], &d->w[i + 1], (d->n - i - 1) * sizeof(d->w[0]));
	d->n--;
}

/*
 * The connection to ktlsd is gone (or stuck): its pending handoffs are
 * lost, and so are their clients. The next client reconnects.
 */
static void drop_handoff(struct dispatcher *d, const char *why)
{
	char msg[1100];

	snprintf(msg, sizeof(msg), "%s", d->h ? ktls_handoff_error(d->h) : "");
	ktls_handoff_close(d->h);
	d->h = NULL;
	while (d->n)
		fail_client(d, 0, why, msg);
}

static void submit_waiting(struct dispatcher *d)
{
	int i = 0, ret;

	while (i < d->n) {
		if (d->w[i].submitted) {
			i++;
			continue;
		}
		if (!d->h) {
			ret = ktls_handoff_open(&d->h, d->sock_path);
			if (ret) {
				d->h = NULL;
				fail_client(d, i, "cannot reach ktlsd",
					    ktls_strerror(ret));
				continue;
			}
		}
		ret = ktls_handoff_submit(d->h, d->w[i].fd, &d->req, &d->w[i].id);
		if (ret == -EAGAIN)
			return;		/* poll for POLLOUT */
		if (ret == -ECONNRESET) {
			drop_handoff(d, "ktlsd closed the connection");
			continue;
		}
		if (ret) {
			fail_client(d, i, ktls_strerror(ret),
				    ktls_handoff_error(d->h));
			continue;
		}
		d->w[i].submitted = 1;
		d->w[i].since = mono_sec();
		i++;
	}
}

static void collect_results(struct dispatcher *d)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	int i, ret;

	while (d->h) {
		ret = ktls_handoff_result(d->h, &r);
		if (ret == 0)
			return;
		if (ret < 0) {
			drop_handoff(d, ktls_strerror(ret));
			return;
		}
		for (i = 0; i < d->n; i++)
			if (d->w[i].submitted && d->w[i].id == r.id)
				break;
		if (i == d->n) {	/* cannot happen: the library checks ids */
			ktls_session_free(r.session);
			close(r.fd);
			continue;
		}
		if (r.status) {
			fail_client(d, i, ktls_strerror(r.status),
				    ktls_handoff_error(d->h));
			continue;
		}
		start_worker(r.fd, r.session, d->w[i].peer);
		memmove(&d->w[i], &d->w[i + 1], (d->n - i - 1) * sizeof(d->w[0]));
		d->n--;
	}
}

static int busy(const struct dispatcher *d)
{
	return d->n + workers_running() >= MAX_CONNS;
}

static void accept_clients(struct dispatcher *d, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	for (i = 0; i < ACCEPT_BURST && !busy(d); i++) {
		len = sizeof(ss);
		/* Blocking until served: the pool makes it non-blocking. */
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				logmsg("accept: %s", strerror(errno));
				/* The backlog stays readable: do not spin. */
				usleep(100 * 1000);
			} else if (errno != EAGAIN) {
				logmsg("accept: %s", strerror(errno));
			}
			return;
		}
		d->w[d->n] = (struct waiting){ .fd = fd };
		fmt_addr((struct sockaddr *)&ss, d->w[d->n].peer,
			 sizeof(d->w[0].peer));
		d->n++;
	}
}

static void check_stalled(struct dispatcher *d)
{
	time_t now = mono_sec();
	int i;

	/*
	 * ktlsd bounds every handshake with its profile's timeout, so a
	 * request unanswered for this long means ktlsd is wedged. There is
	 * no cancelling one request (and its socket must stay open until the
	 * reply, or the number could be reused): start over.
	 */
	for (i = 0; i < d->n; i++)
		if (d->w[i].submitted && now - d->w[i].since > STALL_SEC) {
			drop_handoff(d, "ktlsd does not answer");
			return;
		}
}

static void dispatch(struct dispatcher *d, int lfd)
{
	struct pollfd p[2];
	int i, unsent, full;

	for (;;) {
		for (unsent = 0, i = 0; i < d->n; i++)
			unsent |= !d->w[i].submitted;
		full = busy(d);
		/* At the limit, leave new clients in the kernel's backlog. */
		p[0] = (struct pollfd){ .fd = full ? -1 : lfd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = d->h ? ktls_handoff_fd(d->h) : -1,
					.events = POLLIN | (unsent ? POLLOUT : 0) };
		/* Workers do not wake us when they finish: look again soon. */
		if (poll(p, 2, full ? 50 : 1000) < 0 && errno != EINTR) {
			logmsg("poll: %s", strerror(errno));
			sleep(1);
			continue;
		}
		if (p[1].revents)
			collect_results(d);
		if (p[0].revents & POLLIN)
			accept_clients(d, lfd);
		submit_waiting(d);
		check_stalled(d);
	}
}

/* ---- Accept mode: ktlsd listens, we take ready connections ---- */

/* Subscribe on a new connection to ktlsd: the handle, or NULL (said why). */
static struct ktls_handoff *subscribe(const char *path, const char *profile)
{
	struct ktls_handoff *h;
	uint64_t id;
	int ret = ktls_handoff_open(&h, path);

	if (ret) {
		logmsg("cannot reach ktlsd: %s", ktls_strerror(ret));
		return NULL;
	}
	ret = ktls_handoff_subscribe(h, profile, &id);
	if (ret) {
		logmsg("subscribing to profile %s: %s (%s)", profile,
		       ktls_strerror(ret), ktls_handoff_error(h));
		ktls_handoff_close(h);
		return NULL;
	}
	return h;
}

/* One ready connection (or not) off h: 0, or the error for h. */
static int take_ready(struct ktls_handoff *h)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char peer[PEER_MAX] = "?";
	int ret = ktls_handoff_result(h, &r);

	if (ret <= 0)
		return ret;
	if (r.status) {		/* the socket came, but not its session */
		logmsg("a connection from ktlsd: %s", ktls_strerror(r.status));
		close(r.fd);
		return 0;
	}
	if (!getpeername(r.fd, (struct sockaddr *)&ss, &len))
		fmt_addr((struct sockaddr *)&ss, peer, sizeof(peer));
	start_worker(r.fd, r.session, peer);
	return 0;
}

static void accept_mode(const char *path, const char *profile)
{
	struct ktls_handoff *h = subscribe(path, profile);
	struct pollfd p;
	int ret;

	if (!h)
		exit(1);
	if (!silent) {
		printf("subscribed to profile %s\n", profile);
		fflush(stdout);
	}
	for (;;) {
		/* Full: leave them to ktlsd, which holds a bounded queue. */
		if (workers_running() >= MAX_CONNS) {
			usleep(50 * 1000);
			continue;
		}
		p = (struct pollfd){ .fd = ktls_handoff_fd(h), .events = POLLIN };
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			logmsg("poll: %s", strerror(errno));
		ret = take_ready(h);
		if (ret >= 0)
			continue;
		/* libktls subscribes again by itself; this is worse: anew. */
		logmsg("ktlsd: %s (%s); subscribing again", ktls_strerror(ret),
		       ktls_handoff_error(h));
		ktls_handoff_close(h);
		while (!(h = subscribe(path, profile)))
			sleep(1);
	}
}

/* ---- Setup ---- */

static int listen_on(const char *spec, char *shown, size_t shown_len)
{
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	}, *res, *ai;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *port, *end, *orig = spec;
	char host[256];
	int fd = -1, one = 1, ret;

	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (!end || end[1] != ':')
			return -1;
		port = end + 2;
		spec++;
	} else {
		end = strrchr(spec, ':');
		if (!end || memchr(spec, ':', end - spec))
			return -1;
		port = end + 1;
	}
	if ((size_t)(end - spec) >= sizeof(host) || !*port)
		return -1;
	memcpy(host, spec, end - spec);
	host[end - spec] = 0;
	ret = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", prog, orig, gai_strerror(ret));
		return -2;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 511))
			break;
		ret = errno;
		close(fd);
		fd = -1;
		errno = ret;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "%s: listen on %s: %s\n", prog, orig,
			strerror(errno));
		return -2;
	}
	getsockname(fd, (struct sockaddr *)&ss, &len);
	fmt_addr((struct sockaddr *)&ss, shown, shown_len);
	return fd;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-l ADDR:PORT | -a PROFILE] [-s HANDOFF_SOCKET] [-p PROFILE]"
		" [-t THREADS] [-q] [-n] ROOT\n"
		"  -l  where to listen (default 127.0.0.1:8443, or [::1]:8443)\n"
		"  -a  accept mode: take the connections ktlsd accepts for PROFILE\n"
		"      (its listen lines) instead of listening\n"
		"  -s  ktlsd's handoff socket (default $KTLS_HANDOFF_SOCKET or %s)\n"
		"  -p  ktlsd profile for the handshakes (default \"web\")\n"
		"  -t  serving threads, 1 to 64 (default: one per CPU)\n"
		"  -q  no line per request\n"
		"  -n  nothing but errors\n", prog, KTLS_HANDOFF_SOCKET);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct dispatcher d;
	const char *listen_spec = "127.0.0.1:8443", *accept_profile = NULL;
	struct ktls_handoff *probe;
	char shown[PEER_MAX];
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	int opt, lfd, ret;

	d.req.size = sizeof(d.req);
	d.req.profile = "web";
	while ((opt = getopt(argc, argv, "a:l:s:p:t:qnh")) != -1) {
		switch (opt) {
		case 'a': accept_profile = optarg; break;
		case 't': threads = strtol(optarg, NULL, 10); break;
		case 'l': listen_spec = optarg; break;
		case 's': d.sock_path = optarg; break;
		case 'p': d.req.profile = optarg; break;
		case 'q': quiet = 1; break;
		case 'n': silent = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || !*d.req.profile || threads < 1)
		usage();
	if (threads > 64)
		threads = 64;

	signal(SIGPIPE, SIG_IGN);
	ret = root_open(argv[optind]);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[optind],
			strerror(-ret));
		return 1;
	}

	if (accept_profile) {
		ret = workers_init(threads);
		if (ret) {
			fprintf(stderr, "%s: cannot start the serving threads: "
				"%s\n", prog, strerror(-ret));
			return 1;
		}
		accept_mode(d.sock_path, accept_profile);
	}

	lfd = listen_on(listen_spec, shown, sizeof(shown));
	if (lfd == -1) {
		fprintf(stderr, "%s: bad address '%s' (want ADDR:PORT or "
			"[ADDR]:PORT)\n", prog, listen_spec);
		return 2;
	}
	if (lfd < 0)
		return 1;

	/* Say so at once if ktlsd is not there; each client retries anyway. */
	ret = ktls_handoff_open(&probe, d.sock_path);
	if (ret)
		fprintf(stderr, "%s: warning: cannot reach ktlsd: %s\n", prog,
			ktls_strerror(ret));
	else
		d.h = probe;

	ret = workers_init(threads);
	if (ret) {
		fprintf(stderr, "%s: cannot start the serving threads: %s\n",
			prog, strerror(-ret));
		return 1;
	}

	if (!silent) {
		printf("listening on %s\n", shown);
		fflush(stdout);
	}
	dispatch(&d, lfd);
	return 0;
}
