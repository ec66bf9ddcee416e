// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The application's side of the handoff: send a connected TCP socket to
 * ktlsd with a request, read back the result and turn it into a session.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "wire.h"

/* Longest wait for a reply in ktls_handoff() when no timeout is given. */
#define WAIT_DEFAULT_MS	(5 * 60 * 1000)
/* With a timeout: that, and this much for ktlsd to queue and reply. */
#define WAIT_GRACE_MS	5000

/* Whether the caller's struct (req->size bytes of it) holds field f whole. */
#define REQ_HAS(req, f) \
	((req)->size >= offsetof(struct ktls_handoff_req, f) + sizeof((req)->f))

struct pending {
	uint64_t id;
	int fd;
};

struct ktls_handoff {
	int sock;
	struct sockaddr_un sa;	/* ktlsd's socket, to reconnect to */
	uint64_t next_id;
	struct pending *pend;
	size_t n_pend, cap_pend;
	uint8_t *in;		/* replies being received; wiped as consumed */
	size_t in_len;
	int dead;		/* the connection failed: this error */
	char error[WIRE_MSG_MAX + 1];
};

#define IN_CAP (WIRE_HDR_LEN + WIRE_REPLY_MAX)

static int set_error(struct ktls_handoff *h, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(struct ktls_handoff *h, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->error, sizeof(h->error), fmt, ap);
	va_end(ap);
	return err;
}

/* A new connection to ktlsd in place of h's. 0 or -errno. */
static int reconnect(struct ktls_handoff *h)
{
	if (h->sock >= 0)
		close(h->sock);
	h->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->sock < 0 ||
	    connect(h->sock, (struct sockaddr *)&h->sa, sizeof(h->sa)))
		return -errno;
	gnutls_memset(h->in, 0, h->in_len);
	h->in_len = 0;
	h->dead = 0;
	return 0;
}

/* Whether buf (n bytes) starts with a whole reply to request id 0. */
static int is_notice(const uint8_t *buf, size_t n)
{
	struct wire_reply w;
	const char *why;
	long len = n >= WIRE_HDR_LEN ?
		   wire_check_header(buf, WIRE_REPLY, WIRE_REPLY_MAX) : -1;

	if (len < 0 || n < WIRE_HDR_LEN + (size_t)len)
		return 0;
	return !wire_decode_reply(buf + WIRE_HDR_LEN, len, &w, &why) &&
	       !w.id && w.status < 0;
}

/*
 * ktlsd closes a connection that was idle too long (idle_timeout), after
 * a reply with request id 0. Idle means nothing was pending, so nothing
 * is lost: before sending on a connection with nothing pending, make a
 * new one if ktlsd has closed this one or said it would. A failure
 * leaves h dead, with the reason.
 */
static int revive_if_closed(struct ktls_handoff *h)
{
	ssize_t n;
	int ret;

	if (h->n_pend || h->in_len)
		return h->dead;
	if (!h->dead) {
		n = recv(h->sock, h->in, IN_CAP, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		ret = n > 0 && !is_notice(h->in, n);
		if (n > 0)	/* a reply may hold secrets */
			gnutls_memset(h->in, 0, n);
		if (ret)
			return 0;
	}
	ret = reconnect(h);
	if (ret)
		h->dead = set_error(h, ret, "ktlsd closed the idle handoff "
				    "connection and a new one failed: %s.",
				    strerror(-ret));
	return ret;
}

KTLS_EXPORT int ktls_handoff_open(struct ktls_handoff **out, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ktls_handoff *h;
	int ret;

	if (!out)
		return -EINVAL;
	if (!path)
		path = getenv("KTLS_HANDOFF_SOCKET");
	if (!path || !*path)
		path = KTLS_HANDOFF_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->in = malloc(IN_CAP);
	if (!h->in) {
		free(h);
		return -ENOMEM;
	}
	h->next_id = 1;
	h->sa = sa;
	h->sock = -1;
	ret = reconnect(h);
	if (ret) {
		ktls_handoff_close(h);
		return ret;
	}
	*out = h;
	return 0;
}

KTLS_EXPORT void ktls_handoff_close(struct ktls_handoff *h)
{
	if (!h)
		return;
	if (h->sock >= 0)
		close(h->sock);
	gnutls_memset(h->in, 0, IN_CAP);
	free(h->in);
	free(h->pend);
	free(h);
}

KTLS_EXPORT int ktls_handoff_fd(const struct ktls_handoff *h)
{
	return h ? h->sock : -1;
}

KTLS_EXPORT const char *ktls_handoff_error(const struct ktls_handoff *h)
{
	return h ? h->error : "";
}

static int encode(struct wire_buf *b, const struct ktls_handoff_req *req,
		  uint64_t id)
{
	struct wire_req w = { .id = id };

	if (!req || !REQ_HAS(req, profile) || !req->profile)
		return -EINVAL;
	w.profile = (struct wire_str){ req->profile, strlen(req->profile) };
	/* Fields the caller's struct is too old to have are left out. */
	if (REQ_HAS(req, server_name) && req->server_name)
		w.server_name = (struct wire_str){ req->server_name,
						   strlen(req->server_name) };
	if (REQ_HAS(req, alpn) && req->alpn)
		w.alpn = (struct wire_str){ req->alpn, strlen(req->alpn) };
	if (REQ_HAS(req, timeout_ms))
		w.timeout_ms = req->timeout_ms;
	if (!w.profile.len)
		return -EINVAL;
	return wire_encode_req(b, &w);
}

/* Send one message with fd attached to its first byte. */
static int send_with_fd(struct ktls_handoff *h, const struct wire_buf *b,
			int fd, int dontwait)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { b->p, b->len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	size_t off = 0;
	ssize_t n;

	memset(u.buf, 0, sizeof(u.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	for (;;) {
		n = sendmsg(h->sock, &msg, MSG_NOSIGNAL |
			    (dontwait && !off ? MSG_DONTWAIT : 0));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && off) {
			struct pollfd p = { .fd = h->sock, .events = POLLOUT };

			poll(&p, 1, 1000);
			continue;
		}
		if (n < 0)
			return -errno;
		off += n;
		if (off == b->len)
			return 0;
		/* The rest goes without the fd: it went with the first byte. */
		iov.iov_base = b->p + off;
		iov.iov_len = b->len - off;
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}
}

static int add_pending(struct ktls_handoff *h, uint64_t id, int fd)
{
	if (h->n_pend == h->cap_pend) {
		size_t cap = h->cap_pend ? 2 * h->cap_pend : 16;
		struct pending *p = realloc(h->pend, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		h->pend = p;
		h->cap_pend = cap;
	}
	h->pend[h->n_pend++] = (struct pending){ id, fd };
	return 0;
}

static int submit(struct ktls_handoff *h, int fd,
		  const struct ktls_handoff_req *req, uint64_t *id, int dontwait)
{
	struct wire_buf b = { 0 };
	int ret;

	if (!h || fd < 0 || !id)
		return -EINVAL;
	ret = revive_if_closed(h);
	if (ret)
		return ret;
	h->error[0] = 0;
	ret = add_pending(h, h->next_id, fd);
	if (!ret)
		ret = encode(&b, req, h->next_id);
	if (ret == -EINVAL || ret == -EMSGSIZE)
		set_error(h, ret, "Bad request: a missing profile, or a name "
			  "longer than %d bytes.", WIRE_NAME_MAX);
	if (!ret)
		ret = send_with_fd(h, &b, fd, dontwait);
	/*
	 * Nothing else pending, and ktlsd had shut this connection's read
	 * side (it drains: a reload or a stop) before any of the request
	 * got in: nothing was taken, so it goes again on a new connection.
	 */
	if ((ret == -EPIPE || ret == -ECONNRESET) && h->n_pend == 1 &&
	    !reconnect(h))
		ret = send_with_fd(h, &b, fd, dontwait);
	wire_buf_wipe_free(&b);
	if (ret) {
		h->n_pend--;
		if (ret == -EPIPE || ret == -ECONNRESET)
			return set_error(h, -ECONNRESET, "ktlsd closed the "
					 "handoff connection.");
		return ret;
	}
	*id = h->next_id++;
	return 0;
}

KTLS_EXPORT int ktls_handoff_submit(struct ktls_handoff *h, int fd,
				    const struct ktls_handoff_req *req,
				    uint64_t *id)
{
	return submit(h, fd, req, id, 1);
}

/* Take a complete reply off the front of h->in, if there is one. */
static int take_reply(struct ktls_handoff *h, struct ktls_handoff_result *r)
{
	struct wire_reply w;
	const char *why = "";
	size_t i, total;
	long len;
	int ret;

	if (h->in_len < WIRE_HDR_LEN)
		return 0;
	len = wire_check_header(h->in, WIRE_REPLY, WIRE_REPLY_MAX);
	if (len < 0)
		return set_error(h, -EPROTO, "ktlsd's reply has a bad header.");
	total = WIRE_HDR_LEN + len;
	if (h->in_len < total)
		return 0;
	ret = wire_decode_reply(h->in + WIRE_HDR_LEN, len, &w, &why);
	if (ret)
		return set_error(h, -EPROTO, "ktlsd's reply is malformed (%s).",
				 why);
	for (i = 0; i < h->n_pend; i++)
		if (h->pend[i].id == w.id)
			break;
	/* Request id 0: ktlsd could not read a request and closes. */
	if (i == h->n_pend && !w.id && w.status < 0)
		return set_error(h, w.status, "ktlsd refused the connection: "
				 "%.*s", (int)w.message.len,
				 w.message.p ? w.message.p : "");
	if (i == h->n_pend)
		return set_error(h, -EPROTO, "ktlsd replied to request %llu, "
				 "which is not pending.",
				 (unsigned long long)w.id);
	memset(r, 0, sizeof(*r));
	r->id = w.id;
	r->fd = h->pend[i].fd;
	h->pend[i] = h->pend[--h->n_pend];
	r->status = w.status;
	snprintf(h->error, sizeof(h->error), "%.*s", (int)w.message.len,
		 w.message.p ? w.message.p : "");
	if (!r->status) {
		r->status = session_adopt(&r->session, r->fd, &w);
		if (r->status)
			set_error(h, r->status, "ktlsd's reply for request %llu "
				  "could not be used.", (unsigned long long)w.id);
	}
	/* The reply held traffic secrets: wipe it as it leaves the buffer. */
	memmove(h->in, h->in + total, h->in_len - total);
	gnutls_memset(h->in + h->in_len - total, 0, total);
	h->in_len -= total;
	return 1;
}

/*
 * Copy what the caller's struct has room for: r->size may be that of an
 * older, shorter struct. A session it cannot hold would be lost: freed.
 */
static void give_result(struct ktls_handoff_result *r,
			const struct ktls_handoff_result *res)
{
#define HAS(f) (r->size >= offsetof(struct ktls_handoff_result, f) + sizeof(r->f))
	r->id = res->id;
	if (HAS(fd))
		r->fd = res->fd;
	if (HAS(status))
		r->status = res->status;
	if (HAS(session))
		r->session = res->session;
	else
		ktls_session_free(res->session);
#undef HAS
}

KTLS_EXPORT int ktls_handoff_result(struct ktls_handoff *h,
				    struct ktls_handoff_result *r)
{
	struct ktls_handoff_result res;
	ssize_t n;
	int ret;

	if (!h || !r ||
	    r->size < offsetof(struct ktls_handoff_result, id) + sizeof(r->id))
		return -EINVAL;
	if (h->dead)
		return h->dead;
	for (;;) {
		ret = take_reply(h, &res);
		if (ret)
			break;
		n = recv(h->sock, h->in + h->in_len, IN_CAP - h->in_len,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			ret = set_error(h, -ECONNRESET, "ktlsd closed the handoff "
					"connection%s.", h->n_pend ?
					" with handoffs pending" : "");
			break;
		}
		h->in_len += n;
	}
	if (ret < 0)
		h->dead = ret;
	if (ret > 0)
		give_result(r, &res);
	return ret;
}

/*
 * How long ktls_handoff() waits for the reply to req (sent, so req is
 * whole up to its profile): in 64 bits, since timeout_ms + the grace can
 * pass UINT_MAX, and no more than poll() takes.
 */
static int reply_wait_ms(const struct ktls_handoff_req *req)
{
	uint64_t ms;

	if (!REQ_HAS(req, timeout_ms) || !req->timeout_ms)
		return WAIT_DEFAULT_MS;
	ms = (uint64_t)req->timeout_ms + WAIT_GRACE_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

KTLS_EXPORT int ktls_handoff(struct ktls_handoff *h, int fd,
			     const struct ktls_handoff_req *req,
			     struct ktls_session **s)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct pollfd p;
	uint64_t id;
	int ret, wait_ms;

	if (!h || !s)
		return -EINVAL;
	if (h->n_pend)
		return -EINPROGRESS;
	ret = submit(h, fd, req, &id, 0);
	if (ret)
		return ret;
	wait_ms = reply_wait_ms(req);
	for (;;) {
		ret = ktls_handoff_result(h, &r);
		if (ret < 0)
			return ret;
		if (ret)
			break;
		p = (struct pollfd){ .fd = h->sock, .events = POLLIN };
		ret = poll(&p, 1, wait_ms);
		if (ret == 0) {
			h->dead = set_error(h, -ETIMEDOUT, "ktlsd did not answer "
					    "within %d ms.", wait_ms);
			return h->dead;
		}
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
	*s = r.session;
	return r.status;
}
