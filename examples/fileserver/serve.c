// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls-fileserver's serving pool: a fixed number of threads (-t, one per
 * CPU by default), each with its own epoll set, serve every client whose
 * handshake ktlsd completed; a client lives on one thread from the
 * handoff to the end. Sockets are non-blocking and each client is a small
 * state machine: the request head read with ktls_recv() (first what ktlsd
 * read past the handshake), the response head sent, the file sent with
 * sendfile() as the socket takes it, then the next request (keep-alive),
 * or close_notify and a short linger. http.c does the parsing and paths.
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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktls.h"
#include "fileserver.h"

#define IDLE_MS		30000		/* keep-alive, slow request, stalled send */
#define LINGER_MS	2000		/* reading after our close_notify */
#define POOL_MAX	64
#define CHUNK		(1u << 30)	/* the most one sendfile() asks for */

enum phase {
	READ_HEAD,	/* a request head, or more of it */
	SEND_HEAD,	/* out[out_off..out_len) */
	SEND_FILE,	/* file from file_off to file_size */
	CLOSE,		/* close_notify once the socket takes it */
	LINGER,		/* reading until the client closes too */
};

struct conn {
	int fd;
	struct ktls_session *s;
	struct pool_thread *t;
	struct conn *next, *prev;	/* the thread's clients */
	enum phase phase;
	int64_t deadline;		/* ms, CLOCK_MONOTONIC */
	unsigned events;		/* registered with epoll */
	const unsigned char *early;	/* not yet consumed; the session's */
	size_t early_len;
	size_t len;			/* bytes in buf */
	size_t head;			/* the request being answered */
	struct request r;
	int status;
	char out[1024];
	size_t out_len, out_off;
	int file;
	off_t file_off, file_size;
	char name[PATH_MAX];
	char peer[PEER_MAX];
	char buf[HEAD_MAX + 1];
};

struct pool_thread {
	pthread_t th;
	int ep, wake;			/* epoll set; eventfd for new clients */
	pthread_mutex_t lock;
	struct conn *incoming;		/* handed over, under lock */
	struct conn *clients;		/* this thread's alone */
};

static struct pool_thread pool[POOL_MAX];
static unsigned pool_size, next_thread;
static int n_clients;		/* atomic: clients being served */

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

static void log_request(const struct conn *c, long long bytes)
{
	char method[64], target[256];

	if (quiet || silent)
		return;
	sanitize(c->r.method ? c->r.method : "-", method, sizeof(method));
	sanitize(c->r.target ? c->r.target : "-", target, sizeof(target));
	fprintf(stderr, "%s %s %s %d %lld\n", c->peer, method, target,
		c->status, bytes);
}

/* Wait for events (0: none) until the deadline, on c's thread. */
static int want(struct conn *c, unsigned events, int64_t deadline)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	c->deadline = deadline;
	if (events == c->events)
		return 0;
	if (epoll_ctl(c->t->ep, EPOLL_CTL_MOD, c->fd, &ev))
		return -errno;
	c->events = events;
	return 0;
}

/* A response with a short text body; it is sent next. */
static void status_response(struct conn *c, int status)
{
	char body[128];
	size_t bl;

	bl = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
	c->out_len = format_head(c->out, sizeof(c->out) - sizeof(body), status,
				 "text/plain; charset=utf-8", bl, c->r.keep);
	if (!c->r.head) {
		memcpy(c->out + c->out_len, body, bl);
		c->out_len += bl;
	}
	c->status = status;
	c->out_off = 0;
	c->file = -1;
	c->phase = SEND_HEAD;
	log_request(c, c->r.head ? 0 : bl);
}

/* The request whose head is buf[0..head): its response, sent next. */
static void answer(struct conn *c, size_t head)
{
	/* Parsing ends the head with a NUL: keep a pipelined next byte. */
	char next = c->buf[head];
	struct stat st;
	int status;

	c->deadline = mono_ms() + IDLE_MS;
	c->head = head;
	status = parse_request(c->buf, head, &c->r);
	c->buf[head] = next;
	if (!status) {
		c->file = open_path(c->r.path, &st, c->name, sizeof(c->name));
		if (c->file < 0)
			status = open_status(c->file);
	}
	if (status) {
		if (status != 405 && status != 403 && status != 404)
			c->r.keep = 0;
		status_response(c, status);
		return;
	}
	c->status = 200;
	c->file_off = 0;
	c->file_size = c->r.head ? 0 : st.st_size;
	c->out_len = format_head(c->out, sizeof(c->out), 200,
				 content_type(c->name), (long long)st.st_size,
				 c->r.keep);
	c->out_off = 0;
	c->phase = SEND_HEAD;
}

/* A status owed before closing: no keep-alive, no request to name. */
static void refuse(struct conn *c, int status)
{
	memset(&c->r, 0, sizeof(c->r));
	c->deadline = mono_ms() + IDLE_MS;
	c->head = c->len;
	status_response(c, status);
}

/*
 * More of the request stream: first what ktlsd read past the handshake,
 * then the socket. >0 bytes, 0 end of stream, or -errno (-EAGAIN).
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
		n = ktls_recv(c->s, c->buf + c->len, room, MSG_DONTWAIT, NULL);
	while (n == -EINTR);
	if (n > 0)
		c->len += n;
	return n;
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

/* READ_HEAD: 1 to go on, 0 waiting, -1 to close (0 given: gracefully). */
static int read_head(struct conn *c, int *graceful)
{
	size_t head;
	ssize_t n;

	skip_blank_lines(c);
	head = head_end(c->buf, c->len);
	if (head) {
		answer(c, head);
		return 1;
	}
	if (c->len == HEAD_MAX) {
		refuse(c, memchr(c->buf, '\n', c->len) ? 431 : 414);
		return 1;
	}
	n = fill(c);
	if (n > 0)
		return 1;
	if (n == -EAGAIN)
		return want(c, EPOLLIN, c->deadline) ? -1 : 0;
	if (n && n != -ECONNRESET)
		logmsg("%s: receive: %s", c->peer, ktls_strerror((int)n));
	*graceful = n == 0;
	return -1;
}

/* The response is out: the next request, or the end. */
static void response_done(struct conn *c)
{
	if (c->file >= 0) {
		close(c->file);
		c->file = -1;
		log_request(c, (long long)c->file_off);
	}
	if (!c->r.keep) {
		c->phase = CLOSE;
		return;
	}
	memmove(c->buf, c->buf + c->head, c->len - c->head);
	c->len -= c->head;
	c->phase = READ_HEAD;
	c->deadline = mono_ms() + IDLE_MS;
}

/* SEND_HEAD and SEND_FILE: 1 to go on, 0 waiting, -1 broken. */
static int send_some(struct conn *c)
{
	int more = c->file >= 0 && c->file_size > 0;
	ssize_t n;

	if (c->phase == SEND_HEAD) {
		/*
		 * MSG_MORE leaves the kernel's record open, so the head
		 * shares the first record (and packet) with the file.
		 */
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
		if (n > 0 && (c->out_off += n) == c->out_len) {
			if (more)
				c->phase = SEND_FILE;
			else
				response_done(c);
		}
	} else {
		size_t left = c->file_size - c->file_off;

		n = sendfile(c->fd, c->file, &c->file_off,
			     left > CHUNK ? CHUNK : left);
		if (n == 0) {
			logmsg("%s: sendfile %s: file shrank", c->peer, c->name);
			return -1;
		}
		if (n > 0 && c->file_off == c->file_size)
			response_done(c);
	}
	if (n > 0) {
		/* A stall, not the whole response, is bounded. */
		if (c->phase != READ_HEAD)
			c->deadline = mono_ms() + IDLE_MS;
		return 1;
	}
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN)
		return want(c, EPOLLOUT, c->deadline) ? -1 : 0;
	/* The Content-Length cannot be kept: the connection ends. */
	if (errno != EPIPE && errno != ECONNRESET)
		logmsg("%s: send %s: %s", c->peer, c->name, strerror(errno));
	return -1;
}

static void conn_free(struct conn *c)
{
	struct pool_thread *t = c->t;

	if (c->file >= 0)
		close(c->file);
	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ktls_session_free(c->s);
	close(c->fd);
	free(c);
	__atomic_sub_fetch(&n_clients, 1, __ATOMIC_RELAXED);
}

/*
 * CLOSE: close_notify once the socket has room, then LINGER: read until
 * the client closes too (bounded), since closing with unread data sends
 * a reset, which can make the client drop the response it has not read.
 * 0 waiting, -1 done.
 */
static int closing(struct conn *c, unsigned events)
{
	if (c->phase == CLOSE) {
		if (!(events & EPOLLOUT))
			return want(c, EPOLLOUT, mono_ms() + LINGER_MS) ? -1 : 0;
		if (ktls_close_notify(c->s))
			return -1;
		c->phase = LINGER;
		c->len = 0;
		return want(c, EPOLLIN, mono_ms() + LINGER_MS) ? -1 : 0;
	}
	for (;;) {
		ssize_t n = ktls_recv(c->s, c->buf, HEAD_MAX, MSG_DONTWAIT, NULL);

		if (n == -EAGAIN)
			return 0;
		if (n <= 0 && n != -EINTR)
			return -1;
	}
}

/* Run c as far as it goes; events: what epoll said (0: nothing yet). */
static void conn_run(struct conn *c, unsigned events)
{
	int ret = 1, graceful = 0;

	while (ret > 0) {
		switch (c->phase) {
		case READ_HEAD:
			graceful = 1;
			ret = read_head(c, &graceful);
			if (ret < 0 && graceful) {
				c->phase = CLOSE;
				ret = 1;
			}
			break;
		case SEND_HEAD:
		case SEND_FILE:
			ret = send_some(c);
			break;
		case CLOSE:
		case LINGER:
			ret = closing(c, events);
			events = 0;
			break;
		}
	}
	if (ret < 0)
		conn_free(c);
}

/* The deadline passed: what the phase owes, then the end. */
static void conn_expired(struct conn *c)
{
	if (c->phase == READ_HEAD && c->len) {
		refuse(c, 408);
		conn_run(c, 0);
	} else if (c->phase == READ_HEAD) {
		c->phase = CLOSE;
		conn_run(c, 0);
	} else {
		conn_free(c);
	}
}

static void expire(struct pool_thread *t, int64_t now)
{
	struct conn *c, *next;

	for (c = t->clients; c; c = next) {
		next = c->next;
		if (c->deadline && c->deadline <= now)
			conn_expired(c);
	}
}

/* ktlsd worked on a duplicate of this socket, sharing its flags. */
static void conn_begin(struct pool_thread *t, struct conn *c)
{
	struct epoll_event ev = { .events = 0, .data.ptr = c };
	const void *early;
	int one = 1, fl;

	c->t = t;
	c->prev = NULL;
	c->next = t->clients;
	if (t->clients)
		t->clients->prev = c;
	t->clients = c;
	fl = fcntl(c->fd, F_GETFL);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->early_len = ktls_session_early_data(c->s, &early);
	c->early = early;
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) ||
	    epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev)) {
		logmsg("%s: cannot serve: %s", c->peer, strerror(errno));
		conn_free(c);
		return;
	}
	c->deadline = mono_ms() + IDLE_MS;
	conn_run(c, 0);
}

static void take_incoming(struct pool_thread *t)
{
	struct conn *c, *next;
	uint64_t n;

	if (read(t->wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
		logmsg("pool: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&t->lock);
	c = t->incoming;
	t->incoming = NULL;
	pthread_mutex_unlock(&t->lock);
	for (; c; c = next) {
		next = c->next;
		conn_begin(t, c);
	}
}

static void *pool_main(void *arg)
{
	struct pool_thread *t = arg;
	struct epoll_event evs[64];
	int64_t now, last = mono_ms();
	int n, i;

	for (;;) {
		n = epoll_wait(t->ep, evs, 64, 250);
		for (i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				take_incoming(t);
			else
				conn_run(evs[i].data.ptr, evs[i].events);
		}
		now = mono_ms();
		if (now - last >= 250) {
			expire(t, now);
			last = now;
		}
	}
	return NULL;
}

int workers_init(unsigned threads)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	unsigned i;
	int ret;

	if (!threads || threads > POOL_MAX)
		return -EINVAL;
	for (i = 0; i < threads; i++) {
		struct pool_thread *t = &pool[i];

		pthread_mutex_init(&t->lock, NULL);
		t->ep = epoll_create1(EPOLL_CLOEXEC);
		t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->ep < 0 || t->wake < 0 ||
		    epoll_ctl(t->ep, EPOLL_CTL_ADD, t->wake, &ev))
			return -errno;
		ret = pthread_create(&t->th, NULL, pool_main, t);
		if (ret)
			return -ret;
		pool_size++;
	}
	return 0;
}

void start_worker(int fd, struct ktls_session *s, const char *peer)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct pool_thread *t = &pool[next_thread++ % pool_size];
	uint64_t one = 1;

	if (!c) {
		logmsg("%s: out of memory for this client", peer);
		ktls_session_free(s);
		close(fd);
		return;
	}
	c->fd = fd;
	c->s = s;
	c->file = -1;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	__atomic_add_fetch(&n_clients, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&t->lock);
	c->next = t->incoming;
	t->incoming = c;
	pthread_mutex_unlock(&t->lock);
	if (write(t->wake, &one, sizeof(one)) < 0)
		logmsg("pool: eventfd: %s", strerror(errno));
}

int workers_running(void)
{
	return __atomic_load_n(&n_clients, __ATOMIC_RELAXED);
}
