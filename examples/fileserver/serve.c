// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls-fileserver's client threads. Each client whose handshake ktlsd
 * completed gets a detached thread that owns its socket and session and
 * runs the HTTP/1.1 keep-alive loop: request heads read with ktls_recv()
 * (first what ktlsd read past the handshake), files sent with sendfile(),
 * and close_notify at the end. http.c does the parsing and the paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ktls.h"
#include "fileserver.h"

#define IDLE_SEC	30		/* keep-alive and slow-request limit */
#define LINGER_MS	2000		/* reading after our close_notify */
#define WORKER_STACK	(256 * 1024)

static pthread_attr_t worker_attr;
static int n_workers;		/* atomic: threads serving a client */

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

/* ktlsd worked on a duplicate of this socket, sharing its flags. */
static void conn_setup(struct conn *c)
{
	const void *early;
	int one = 1, fl;

	fl = fcntl(c->fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_timeout(c->fd, SO_RCVTIMEO, IDLE_SEC * 1000);
	set_timeout(c->fd, SO_SNDTIMEO, IDLE_SEC * 1000);
	c->early_len = ktls_session_early_data(c->s, &early);
	c->early = early;
}

/* Stray CRLFs between requests are allowed (RFC 9112, 2.2). */
static void skip_blank_lines(struct conn *c)
{
	size_t skip = 0;

	while (skip < c->len &&
	       (c->buf[skip] == '\r' || c->buf[skip] == '\n'))
		skip++;
	memmove(c->buf, c->buf + skip, c->len - skip);
	c->len -= skip;
}

/*
 * No whole request head yet: read more. 1 to look again; 0 to stop, after
 * the status a client is owed, with *graceful cleared when the connection
 * broke. *started: when the head began to arrive, or 0.
 */
static int read_more(struct conn *c, time_t *started, int *graceful)
{
	struct request r;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	if (c->len == HEAD_MAX) {
		send_status(c, &r, memchr(c->buf, '\n', c->len) ? 431 : 414);
		return 0;
	}
	if (c->len && !*started)
		*started = mono_sec();
	/* A request trickling in cannot hold the thread forever. */
	if (*started && mono_sec() - *started > IDLE_SEC) {
		send_status(c, &r, 408);
		return 0;
	}
	n = fill(c);
	if (n > 0)
		return 1;
	if (n == -EAGAIN && c->len)
		send_status(c, &r, 408);
	if (n == 0 || n == -EAGAIN)
		return 0;		/* end of stream, or idle */
	if (n != -ECONNRESET)
		logmsg("%s: receive: %s", c->peer, ktls_strerror((int)n));
	*graceful = 0;
	return 0;
}

/* The request whose head is c->buf[0..head): answer it. <0: broken. */
static int answer(struct conn *c, size_t head, struct request *r)
{
	/* Parsing ends the head with a NUL: keep a pipelined next byte. */
	char next = c->buf[head];
	int status;

	status = parse_request(c->buf, head, r);
	c->buf[head] = next;
	if (!status)
		return send_file(c, r);
	if (status != 405 && status != 403 && status != 404)
		r->keep = 0;
	return send_status(c, r, status);
}

/* One client, from the handoff to the end of its keep-alive. */
static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct request r;
	time_t started = 0;
	int graceful = 1;
	size_t head;

	conn_setup(c);
	for (;;) {
		skip_blank_lines(c);
		head = head_end(c->buf, c->len);
		if (!head) {
			if (read_more(c, &started, &graceful))
				continue;
			break;
		}
		started = 0;
		if (answer(c, head, &r) < 0) {
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

/* Before the first start_worker(). */
void workers_init(void)
{
	pthread_attr_init(&worker_attr);
	pthread_attr_setdetachstate(&worker_attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&worker_attr, WORKER_STACK);
}

void start_worker(int fd, struct ktls_session *s, const char *peer)
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

int workers_running(void)
{
	return __atomic_load_n(&n_workers, __ATOMIC_RELAXED);
}
