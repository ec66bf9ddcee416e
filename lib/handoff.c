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

/* A subscription's state (accept mode), in its pending entry. */
enum { SUB_NONE, SUB_ASKED, SUB_ON };

struct pending {
	uint64_t id;
	int fd;
	int sub;		/* SUB_*: a subscription stays pending */
};

/* How long ktls_handoff_subscribe() waits for ktlsd's answer. */
#define SUBSCRIBE_WAIT_MS	30000

struct ktls_handoff {
	int sock;
	struct sockaddr_un sa;	/* ktlsd's socket, to reconnect to */
	uint64_t next_id;
	struct pending *pend;
	size_t n_pend, cap_pend;
	uint8_t *in;		/* replies being received; wiped as consumed */
	size_t in_len;
	int in_fd;		/* came with the message being received */
	int dead;		/* the connection failed: this error */
	int sub_status;		/* ktlsd's answer to the subscription */
	char *sub_profile;	/* subscribed: asked again on a new connection */
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
	if (h->in_fd >= 0)
		close(h->in_fd);
	h->in_fd = -1;
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
	h->in_fd = -1;
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
	if (h->in_fd >= 0)
		close(h->in_fd);
	gnutls_memset(h->in, 0, IN_CAP);
	free(h->in);
	free(h->pend);
	free(h->sub_profile);
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
	h->pend[h->n_pend++] = (struct pending){ id, fd, SUB_NONE };
	return 0;
}

static int submit(struct ktls_handoff *h, int fd,
		  const struct ktls_handoff_req *req, uint64_t *id, int dontwait)
{
	struct wire_buf b = { 0 };
	int ret;

	if (!h || fd < 0 || !id)
		return -EINVAL;
	if (h->sub_profile)
		return -EBUSY;
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

/* A subscription message, blocking: 0 or -errno. */
static int send_all(int sock, const struct wire_buf *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = send(sock, b->p + off, b->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += n;
	}
	return 0;
}

/* A new connection, and the subscription asked again on it. */
static int resubscribe(struct ktls_handoff *h)
{
	struct wire_buf b = { 0 };
	int ret = reconnect(h);

	if (!ret)
		ret = wire_encode_subscribe(&b, h->pend[0].id, (struct wire_str){
			h->sub_profile, strlen(h->sub_profile) });
	if (!ret)
		ret = send_all(h->sock, &b);
	wire_buf_wipe_free(&b);
	if (ret)
		return set_error(h, ret, "ktlsd closed the subscription's "
				 "connection, and subscribing again failed: %s.",
				 strerror(-ret));
	h->pend[0].sub = SUB_ASKED;
	return 2;
}

/*
 * A reply to subscription entry i: ktlsd's answer to it (2: nothing for
 * the caller) or a delivery (1, in *r).
 */
static int take_sub(struct ktls_handoff *h, size_t i,
		    const struct wire_reply *w, struct ktls_handoff_result *r)
{
	if (h->pend[i].sub == SUB_ASKED) {
		snprintf(h->error, sizeof(h->error), "%.*s",
			 (int)w->message.len, w->message.p ? w->message.p : "");
		if (!w->status) {
			h->pend[i].sub = SUB_ON;
			return 2;
		}
		h->sub_status = w->status;
		h->pend[i] = h->pend[--h->n_pend];
		/* Asked again by ourselves: the caller hears it now. */
		return h->sub_profile ? w->status : 2;
	}
	if (w->status || h->in_fd < 0)
		return set_error(h, -EPROTO, "ktlsd's delivery for subscription "
				 "%llu came without a socket.",
				 (unsigned long long)w->id);
	memset(r, 0, sizeof(*r));
	r->id = w->id;
	r->fd = h->in_fd;
	h->in_fd = -1;
	h->error[0] = 0;
	r->status = session_adopt(&r->session, r->fd, w);
	if (r->status)
		set_error(h, r->status, "ktlsd's delivery for subscription %llu "
			  "could not be used.", (unsigned long long)w->id);
	return 1;
}

/*
 * A reply to pending entry i, or to none (i == h->n_pend): 1 with *r, 2
 * when there is nothing for the caller, or a negative error.
 */
static int take_one(struct ktls_handoff *h, size_t i,
		    const struct wire_reply *w, struct ktls_handoff_result *r)
{
	/* Request id 0: ktlsd could not read a request and closes. */
	if (i == h->n_pend && !w->id && w->status < 0) {
		if (h->sub_profile)
			return resubscribe(h);
		return set_error(h, w->status, "ktlsd refused the connection: "
				 "%.*s", (int)w->message.len,
				 w->message.p ? w->message.p : "");
	}
	if (i == h->n_pend)
		return set_error(h, -EPROTO, "ktlsd replied to request %llu, "
				 "which is not pending.",
				 (unsigned long long)w->id);
	if (h->pend[i].sub)
		return take_sub(h, i, w, r);
	memset(r, 0, sizeof(*r));
	r->id = w->id;
	r->fd = h->pend[i].fd;
	h->pend[i] = h->pend[--h->n_pend];
	r->status = w->status;
	snprintf(h->error, sizeof(h->error), "%.*s", (int)w->message.len,
		 w->message.p ? w->message.p : "");
	if (!r->status) {
		r->status = session_adopt(&r->session, r->fd, w);
		if (!r->status && w->ticket_token)
			session_set_ticket_sink(r->session, &h->sa,
						w->ticket_token);
		if (r->status)
			set_error(h, r->status, "ktlsd's reply for request %llu "
				  "could not be used.", (unsigned long long)w->id);
	}
	return 1;
}

/*
 * Take a complete reply off the front of h->in, if there is one: 1 with
 * *r, 2 when it was for us alone, 0 when incomplete, or an error.
 */
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
	ret = take_one(h, i, &w, r);
	if (ret < 0 || h->in_len < total)	/* or a new connection */
		return ret;
	/* The reply held traffic secrets: wipe it as it leaves the buffer. */
	memmove(h->in, h->in + total, h->in_len - total);
	gnutls_memset(h->in + h->in_len - total, 0, total);
	h->in_len -= total;
	if (h->in_fd >= 0) {	/* came with a message that takes none */
		close(h->in_fd);
		h->in_fd = -1;
	}
	return ret;
}

/*
 * Read no further than the end of the message being received, so that a
 * descriptor that comes is the one sent with that message's first byte.
 */
static ssize_t recv_message(struct ktls_handoff *h)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	size_t want = WIRE_HDR_LEN - h->in_len, i, n;
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	long len;
	ssize_t got;
	int fd;

	if (h->in_len >= WIRE_HDR_LEN) {
		len = wire_check_header(h->in, WIRE_REPLY, WIRE_REPLY_MAX);
		want = WIRE_HDR_LEN + (len < 0 ? 0 : len) - h->in_len;
	}
	iov = (struct iovec){ h->in + h->in_len, want };
	got = recvmsg(h->sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	for (cm = CMSG_FIRSTHDR(&m); got >= 0 && cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (!h->in_len && h->in_fd < 0 && !i)
				h->in_fd = fd;
			else
				close(fd);
		}
	}
	return got;
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

/*
 * Replies until one is for the caller: 1, 0 (none yet) or an error.
 * until_answer: stop (0) once ktlsd has answered the subscription, and
 * leave what follows unread.
 */
static int pump(struct ktls_handoff *h, struct ktls_handoff_result *res,
		int until_answer)
{
	ssize_t n;
	int ret;

	for (;;) {
		ret = take_reply(h, res);
		if (ret == 2 && until_answer &&
		    (!h->n_pend || h->pend[0].sub != SUB_ASKED))
			return 0;
		if (ret == 2)
			continue;
		if (ret)
			break;
		n = recv_message(h);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0 && h->sub_profile && h->n_pend) {
			ret = resubscribe(h);
			if (ret < 0)
				break;
			continue;
		}
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
	return ret;
}

KTLS_EXPORT int ktls_handoff_result(struct ktls_handoff *h,
				    struct ktls_handoff_result *r)
{
	struct ktls_handoff_result res;
	int ret;

	if (!h || !r ||
	    r->size < offsetof(struct ktls_handoff_result, id) + sizeof(r->id))
		return -EINVAL;
	if (h->dead)
		return h->dead;
	ret = pump(h, &res, 0);
	if (ret > 0)
		give_result(r, &res);
	return ret;
}

/* Ask for a subscription to profile and wait for ktlsd's answer. */
static int subscribe(struct ktls_handoff *h, const char *profile)
{
	struct ktls_handoff_result res;
	struct wire_buf b = { 0 };
	struct pollfd p;
	int ret;

	ret = wire_encode_subscribe(&b, h->next_id, (struct wire_str){
		profile, strlen(profile) });
	if (!ret)
		ret = add_pending(h, h->next_id, -1);
	if (!ret)
		ret = send_all(h->sock, &b);
	wire_buf_wipe_free(&b);
	if (ret == -EINVAL || ret == -EMSGSIZE)
		return set_error(h, -EINVAL, "Bad profile name.");
	if (ret)
		return set_error(h, ret, "Sending the subscription: %s.",
				 strerror(-ret));
	h->pend[0].sub = SUB_ASKED;
	h->sub_status = 0;
	for (;;) {
		ret = pump(h, &res, 1);
		if (ret)	/* a result: nothing else was pending */
			return ret < 0 ? ret : -EPROTO;
		if (!h->n_pend || h->pend[0].sub != SUB_ASKED)
			break;
		p = (struct pollfd){ .fd = h->sock, .events = POLLIN };
		ret = poll(&p, 1, SUBSCRIBE_WAIT_MS);
		if (ret == 0)
			return set_error(h, -ETIMEDOUT, "ktlsd did not answer "
					 "the subscription within %d ms.",
					 SUBSCRIBE_WAIT_MS);
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
	return h->n_pend ? 0 : h->sub_status;
}

KTLS_EXPORT int ktls_handoff_subscribe(struct ktls_handoff *h,
				       const char *profile, uint64_t *id)
{
	int ret;

	if (!h || !profile || !*profile || !id)
		return -EINVAL;
	if (h->n_pend || h->sub_profile)
		return -EINPROGRESS;
	ret = revive_if_closed(h);
	if (ret)
		return ret;
	ret = subscribe(h, profile);
	if (ret) {
		h->n_pend = 0;
		/* An older ktlsd reads a type it does not know, and closes. */
		if (ret == -EBADMSG) {
			ret = set_error(h, -EOPNOTSUPP, "This ktlsd does not take "
					"subscriptions (accept mode): it is older "
					"than this libktls.");
		}
		if (h->dead)
			reconnect(h);
		return ret;
	}
	h->sub_profile = strdup(profile);
	if (!h->sub_profile) {
		h->n_pend = 0;
		return -ENOMEM;
	}
	*id = h->next_id++;
	return 0;
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
