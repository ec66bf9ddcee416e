// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls-fileserver: a small HTTPS/1.1 static file server that never sees a
 * private key. It accepts TCP connections, hands each to ktlsd for the TLS
 * handshake, and then serves GET and HEAD with plain send() and sendfile()
 * on the socket: the kernel does the record encryption.
 *
 *   ktls-fileserver [-l ADDR:PORT] [-s HANDOFF_SOCKET] [-p PROFILE] [-q|-n] ROOT
 *
 * Structure. The main thread is the dispatcher: it polls the listening
 * socket and one shared, non-blocking connection to ktlsd, submits every
 * accepted socket with ktls_handoff_submit() and collects the outcomes
 * with ktls_handoff_result(), in whatever order ktlsd finishes them. So a
 * slow handshake never holds up the others, and no thread exists for a
 * client that has not completed its handshake. Each successful handoff
 * gets a detached thread that runs the HTTP keep-alive loop until the
 * client goes away; it owns the session and the socket from then on.
 *
 * This file is the program: options, logging, the dispatcher and the
 * per-client threads. http.c parses what clients send, opens files
 * beneath ROOT and writes response heads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "ktls.h"
#include "fileserver.h"

#define IDLE_SEC	30		/* keep-alive and slow-request limit */
#define LINGER_MS	2000		/* reading after our close_notify */
#define MAX_CONNS	512		/* clients in handoff or being served */
#define STALL_SEC	120		/* no reply for this long: ktlsd is stuck */
#define ACCEPT_BURST	64
#define WORKER_STACK	(256 * 1024)
#define PEER_MAX	(INET6_ADDRSTRLEN + 8)

static const char *prog = "ktls-fileserver";
static int quiet;		/* -q: no line per request */
static int silent;		/* -n: errors only */

static pthread_attr_t worker_attr;
static int n_workers;		/* atomic: threads serving a client */

/* ---- Logging: one fprintf per line, so threads never interleave ---- */

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logmsg(const char *fmt, ...)
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

/* The client chose these bytes: keep them from forging log lines. */
static void sanitize(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 8 < len; in++) {
		unsigned char ch = *in;

		if (ch < 0x21 || ch > 0x7e || ch == '\\')
			o += snprintf(out + o, len - o, "\\x%02x", ch);
		else
			out[o++] = ch;
	}
	if (*in)
		o += snprintf(out + o, len - o, "...");
	out[o] = 0;
}

/* ---- Serving a client ---- */

struct conn {
	int fd;
	struct ktls_session *s;
	const unsigned char *early;	/* not yet consumed; the session's */
	size_t early_len;
	size_t len;			/* bytes in buf */
	char peer[PEER_MAX];
	char buf[HEAD_MAX + 1];
};

static int send_all(int fd, const void *buf, size_t len, int more)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void log_request(const struct conn *c, const struct request *r,
			int status, long long bytes)
{
	char method[64], target[256];

	if (quiet || silent)
		return;
	sanitize(r->method ? r->method : "-", method, sizeof(method));
	sanitize(r->target ? r->target : "-", target, sizeof(target));
	fprintf(stderr, "%s %s %s %d %lld\n", c->peer, method, target, status,
		bytes);
}

/* A response with a short text body. -1 if the client is gone. */
static int send_status(struct conn *c, const struct request *r, int status)
{
	char out[1024], body[128];
	size_t hl, bl;

	bl = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
	hl = format_head(out, sizeof(out) - sizeof(body), status,
			 "text/plain; charset=utf-8", bl, r->keep);
	if (!r->head) {
		memcpy(out + hl, body, bl);
		hl += bl;
	}
	log_request(c, r, status, r->head ? 0 : bl);
	return send_all(c->fd, out, hl, 0);
}

static int send_file(struct conn *c, const struct request *r)
{
	char out[1024], name[PATH_MAX];
	struct stat st;
	off_t off = 0;
	ssize_t n;
	size_t hl;
	int fd, ret = 0;

	fd = open_path(r->path, &st, name, sizeof(name));
	if (fd < 0)
		return send_status(c, r, open_status(fd));
	hl = format_head(out, sizeof(out), 200, content_type(name),
			 (long long)st.st_size, r->keep);
	/*
	 * MSG_MORE leaves the kernel's record open, so the headers share
	 * the first record (and packet) with the start of the file.
	 */
	if (send_all(c->fd, out, hl, !r->head && st.st_size > 0)) {
		close(fd);
		return -1;
	}
	while (!r->head && off < st.st_size) {
		size_t want = st.st_size - off;

		n = sendfile(c->fd, fd, &off, want > (1u << 30) ? 1u << 30 : want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/*
			 * The client stalled or left, or the file shrank: the
			 * Content-Length cannot be kept, so the connection ends.
			 */
			if (n == 0 || (errno != EPIPE && errno != ECONNRESET))
				logmsg("%s: sendfile %s: %s", c->peer, name,
				       n ? strerror(errno) : "file shrank");
			ret = -1;
			break;
		}
	}
	close(fd);
	log_request(c, r, 200, r->head ? 0 : (long long)off);
	return ret;
}


/*
 * Read more of the request stream: first what ktlsd read past the
 * handshake, then the socket. >0 bytes, 0 end of stream, or -errno.
 */
static ssize_t fill(struct conn *c)
{
	size_t room = HEAD_MAX - c->len;
	ssize_t n;

	if (c->early_len) {
		n = c->early_len < room ? c->early_len : room;
		memcpy(c->buf + c->len, c->early, n);
		c->early += n;
		c->early_len -= n;
		c->len += n;
		return n;
	}
	do
		n = ktls_recv(c->s, c->buf + c->len, room, 0, NULL);
	while (n == -EINTR);
	if (n > 0)
		c->len += n;
	return n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static time_t mono_sec(void)
{
	return mono_ms() / 1000;
}

static void set_timeout(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/*
 * After our close_notify, read until the client closes too (bounded):
 * closing a socket with unread data sends a reset, which can make the
 * client drop the response it has not read yet.
 */
static void linger_close(struct conn *c)
{
	int64_t end = mono_ms() + LINGER_MS;

	set_timeout(c->fd, SO_RCVTIMEO, 500);
	while (mono_ms() < end)
		if (ktls_recv(c->s, c->buf, HEAD_MAX, 0, NULL) <= 0)
			break;
}

/* One client, from the handoff to the end of its keep-alive. */
static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct request r;
	time_t started = 0;
	int one = 1, status, graceful = 1;
	size_t head, skip;
	ssize_t n;
	const void *early;
	char next;
	int fl;

	/* ktlsd worked on a duplicate of this socket, sharing its flags. */
	fl = fcntl(c->fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_timeout(c->fd, SO_RCVTIMEO, IDLE_SEC * 1000);
	set_timeout(c->fd, SO_SNDTIMEO, IDLE_SEC * 1000);
	c->early_len = ktls_session_early_data(c->s, &early);
	c->early = early;

	for (;;) {
		/* Stray CRLFs between requests are allowed (RFC 9112, 2.2). */
		skip = 0;
		while (skip < c->len &&
		       (c->buf[skip] == '\r' || c->buf[skip] == '\n'))
			skip++;
		memmove(c->buf, c->buf + skip, c->len - skip);
		c->len -= skip;

		head = head_end(c->buf, c->len);
		if (!head) {
			memset(&r, 0, sizeof(r));
			if (c->len == HEAD_MAX) {
				send_status(c, &r, memchr(c->buf, '\n', c->len) ?
					    431 : 414);
				break;
			}
			if (c->len && !started)
				started = mono_sec();
			/* A request trickling in cannot hold the thread forever. */
			if (started && mono_sec() - started > IDLE_SEC) {
				send_status(c, &r, 408);
				break;
			}
			n = fill(c);
			if (n > 0)
				continue;
			if (n == -EAGAIN && c->len)
				send_status(c, &r, 408);
			if (n == 0 || n == -EAGAIN)
				break;		/* end of stream, or idle */
			if (n != -ECONNRESET)
				logmsg("%s: receive: %s", c->peer,
				       ktls_strerror((int)n));
			graceful = 0;
			break;
		}
		started = 0;
		/* Parsing ends the head with a NUL: keep a pipelined next byte. */
		next = c->buf[head];
		status = parse_request(c->buf, head, &r);
		c->buf[head] = next;
		if (status) {
			if (status != 405 && status != 403 && status != 404)
				r.keep = 0;
			n = send_status(c, &r, status);
		} else {
			n = send_file(c, &r);
		}
		if (n < 0) {
			graceful = 0;
			break;
		}
		memmove(c->buf, c->buf + head, c->len - head);
		c->len -= head;
		if (!r.keep)
			break;
	}
	if (graceful && !ktls_close_notify(c->s))
		linger_close(c);
	ktls_session_free(c->s);
	close(c->fd);
	free(c);
	__atomic_sub_fetch(&n_workers, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void start_worker(int fd, struct ktls_session *s, const char *peer)
{
	struct conn *c = malloc(sizeof(*c));
	pthread_t t;
	int ret = ENOMEM;

	if (c) {
		c->fd = fd;
		c->s = s;
		c->len = 0;
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		__atomic_add_fetch(&n_workers, 1, __ATOMIC_RELAXED);
		ret = pthread_create(&t, &worker_attr, conn_main, c);
		if (!ret)
			return;
		__atomic_sub_fetch(&n_workers, 1, __ATOMIC_RELAXED);
		free(c);
	}
	logmsg("%s: no thread for this client: %s", peer, strerror(ret));
	ktls_session_free(s);
	close(fd);
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
	struct ktls_handoff_result r;
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
	return d->n + __atomic_load_n(&n_workers, __ATOMIC_RELAXED) >= MAX_CONNS;
}

static void accept_clients(struct dispatcher *d, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	for (i = 0; i < ACCEPT_BURST && !busy(d); i++) {
		len = sizeof(ss);
		/* Blocking, as the serving thread wants it. */
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
		"usage: %s [-l ADDR:PORT] [-s HANDOFF_SOCKET] [-p PROFILE] [-q] [-n]"
		" ROOT\n"
		"  -l  where to listen (default 127.0.0.1:8443, or [::1]:8443)\n"
		"  -s  ktlsd's handoff socket (default $KTLS_HANDOFF_SOCKET or %s)\n"
		"  -p  ktlsd profile for the handshakes (default \"web\")\n"
		"  -q  no line per request\n"
		"  -n  nothing but errors\n", prog, KTLS_HANDOFF_SOCKET);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct dispatcher d;
	const char *listen_spec = "127.0.0.1:8443";
	struct ktls_handoff *probe;
	char shown[PEER_MAX];
	int opt, lfd, ret;

	d.req.size = sizeof(d.req);
	d.req.profile = "web";
	while ((opt = getopt(argc, argv, "l:s:p:qnh")) != -1) {
		switch (opt) {
		case 'l': listen_spec = optarg; break;
		case 's': d.sock_path = optarg; break;
		case 'p': d.req.profile = optarg; break;
		case 'q': quiet = 1; break;
		case 'n': silent = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || !*d.req.profile)
		usage();

	signal(SIGPIPE, SIG_IGN);
	ret = root_open(argv[optind]);
	if (ret) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[optind],
			strerror(-ret));
		return 1;
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

	pthread_attr_init(&worker_attr);
	pthread_attr_setdetachstate(&worker_attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&worker_attr, WORKER_STACK);

	if (!silent) {
		printf("listening on %s\n", shown);
		fflush(stdout);
	}
	dispatch(&d, lfd);
	return 0;
}
