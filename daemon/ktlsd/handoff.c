// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Front door 1: applications hand connected TCP sockets over a Unix
 * stream socket (docs/handoff.md). Every message is size-checked before it
 * is parsed, every received fd checked before it is used (handoff_req.c),
 * and the sender is authorized by the credentials the kernel gives for the
 * connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <gnutls/gnutls.h>

#include "daemon.h"
#include "handoff.h"
#include "loop.h"
#include "wire.h"

/* A partial request must complete within this; then it is refused. */
#define REQ_TIMEOUT_MS	10000
/* Stop reading requests while this much reply is unsent. */
#define OUT_HIGH	(256 * 1024)

void conn_put(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	handoff_sub_free(c);
	if (c->in_fd >= 0)
		close(c->in_fd);
	wire_buf_wipe_free(&c->out);
	pthread_mutex_destroy(&c->lock);
	free(c->gids);
	free(c);
}

unsigned conn_events(const struct conn *c)
{
	unsigned ev = 0;

	if (c->out_off < c->out.len || c->dq)
		ev |= EPOLLOUT;
	if (!c->closing && c->out.len < OUT_HIGH)
		ev |= EPOLLIN;
	return ev;
}

/* On the owner's worker: take no more requests. */
static void conn_set_closing(struct conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->closing = 1;
	pthread_mutex_unlock(&c->lock);
}

/* On the owner's worker: whether to read requests (replies not piling up). */
static int conn_may_read(struct conn *c)
{
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = !c->closing && c->out.len < OUT_HIGH;
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* On the owner's worker: stop polling, close, drop the owner's ref. */
static void conn_close(struct conn *c)
{
	loop_remove(&c->ev);
	pthread_mutex_lock(&c->lock);
	c->gone = 1;
	close(c->ev.fd);
	c->ev.fd = -1;
	pthread_mutex_unlock(&c->lock);
	if (c->subscribed)
		accept_unsubscribe(c->d, c);
	uidlimit_give(c->d, c->uid, UIDLIMIT_CONN);
	atomic_fetch_sub(&c->d->holds, 1);
	conn_put(c);
}

/*
 * Under c->lock. 0 when all is sent, 1 when some waits, -errno. A
 * delivery begun goes on first: nothing may come inside it.
 */
static int flush(struct conn *c)
{
	ssize_t n;
	int ret = handoff_sub_flush(c, 0);

	if (ret)
		return ret;
	while (c->out_off < c->out.len) {
		n = send(c->ev.fd, c->out.p + c->out_off,
			 c->out.len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n < 0)
			return -errno;
		c->out_off += n;
	}
	/* Replies carry traffic secrets: gone from memory once sent. */
	explicit_bzero(c->out.p, c->out.len);
	c->out.len = c->out_off = 0;
	return handoff_sub_flush(c, 1);
}

/* Queue an encoded message for c from any worker, and send what we can. */
void conn_send(struct conn *c, const struct wire_buf *m)
{
	struct wire_buf *o = &c->out;
	int ret;

	pthread_mutex_lock(&c->lock);
	if (c->gone)
		goto out;
	if (o->cap - o->len < m->len) {
		struct wire_buf bigger = { 0 };
		size_t cap = o->cap ? o->cap : 4096;

		while (cap - o->len < m->len)
			cap *= 2;
		bigger.p = malloc(cap);
		if (!bigger.p) {
			log_err("uid %u: out of memory for a reply; dropping "
				"the connection", (unsigned)c->uid);
			shutdown(c->ev.fd, SHUT_RDWR);
			goto out;
		}
		bigger.cap = cap;
		if (o->len)
			memcpy(bigger.p, o->p, o->len);
		bigger.len = o->len;
		wire_buf_wipe_free(o);
		*o = bigger;
	}
	memcpy(o->p + o->len, m->p, m->len);
	o->len += m->len;
	ret = flush(c);
	if (ret < 0)
		shutdown(c->ev.fd, SHUT_RDWR);	/* the owner sees it and closes */
	else
		loop_modify(&c->ev, conn_events(c));
out:
	pthread_mutex_unlock(&c->lock);
}

void reply_error(struct conn *c, uint64_t id, int status, const char *msg)
{
	struct wire_reply r = { .id = id, .status = status };
	struct wire_buf b = { 0 };

	r.message = (struct wire_str){ msg, strlen(msg) };
	if (!wire_encode_reply(&b, &r))
		conn_send(c, &b);
	wire_buf_wipe_free(&b);
}

static struct wire_str str(const char *s)
{
	return (struct wire_str){ s, s ? strlen(s) : 0 };
}

/* ---- Jobs: the handshake outcome goes back as a reply ---- */

/* j's reply is queued: c may be idle from now on. */
static void job_released(struct conn *c, struct job *j)
{
	atomic_store(&c->done_ms, now_ms());
	uidlimit_give(c->d, j->uid, UIDLIMIT_JOB);
	conn_put(c);
}

int handoff_encode_result(struct wire_buf *b, uint64_t id, int server,
			  const struct ktls_session *s, uint64_t ticket_token)
{
	const struct ktls_info *in = ktls_session_info(s);
	struct wire_reply r = { .id = id };
	uint8_t sha[32];
	const void *early;
	int ret;

	r.version = in->version;
	r.cipher = in->cipher;
	r.group = str(in->group);
	r.sigalg = str(in->sigalg);
	r.alpn = str(in->alpn);
	r.sni = str(in->sni);
	r.peer_subject = str(in->peer_subject);
	if (!session_peer_sha256(s, sha))
		r.peer_sha256 = sha;
	r.resumed = in->resumed;
	r.offload_tx = in->tx;
	r.offload_rx = in->rx;
	r.rekey = session_can_rekey(s);
	r.role = server;
	r.options = in->options;
	r.ticket_token = ticket_token;
	r.early_len = ktls_session_early_data(s, &early);
	r.early = early;
	r.secret_len = session_secrets(s, &r.secret_tx, &r.secret_rx);
	ret = wire_encode_reply(b, &r);
	explicit_bzero(sha, sizeof(sha));
	return ret;
}

static void handoff_done(struct job *j, int status, const char *msg,
			 const struct ktls_session *s)
{
	struct conn *c = j->owner;
	struct wire_buf b = { 0 };

	if (status || !ktls_session_info(s))
		reply_error(c, j->id, status ? status : -EIO, msg);
	else if (handoff_encode_result(&b, j->id, j->p->role == KTLS_SERVER, s,
				       resume_keep(j)))
		reply_error(c, j->id, -EMSGSIZE, "The reply did not fit.");
	else
		conn_send(c, &b);
	wire_buf_wipe_free(&b);
	job_released(c, j);
}

static int handoff_gone(struct job *j)
{
	struct conn *c = j->owner;
	int gone;

	pthread_mutex_lock(&c->lock);
	gone = c->gone;
	pthread_mutex_unlock(&c->lock);
	return gone;
}

static const struct job_ops handoff_ops = {
	.done = handoff_done,
	.gone = handoff_gone,
};

/* ---- Requests ---- */

/* One well-formed request: refuse it with a reply, or start its job. */
static void start(struct conn *c, const struct wire_req *rq, int fd)
{
	const char *msg = "";
	struct job *j = NULL;
	char why[192];
	unsigned have;
	int ret;

	if (fd < 0 || c->extra_fds) {
		ret = -EBADF;
		msg = fd < 0 ? "No descriptor came with the request." :
			       "More than one descriptor came with the request.";
		goto refuse;
	}
	ret = handoff_req_check_fd(fd, &msg);
	if (ret)
		goto refuse;
	j = calloc(1, sizeof(*j));
	if (!j) {
		ret = -ENOMEM;
		msg = "Out of memory.";
		goto refuse;
	}
	j->id = rq->id;
	j->uid = c->uid;
	j->conf = ktlsd_conf(c->d);
	j->p = conf_profile(j->conf, rq->profile.p, rq->profile.len);
	if (!j->p) {
		ret = -ENOENT;
		msg = "No such profile.";
		goto refuse;
	}
	if (!profile_allows(j->p, c->uid, c->gid, c->gids, c->n_gids)) {
		ret = -EACCES;
		msg = "This user may not use the profile.";
		goto refuse;
	}
	ret = handoff_req_apply(j, rq, &msg);
	if (ret)
		goto refuse;
	ret = uidlimit_take(c->d, c->uid, UIDLIMIT_JOB,
			    j->conf->max_inflight_per_uid, &have);
	if (ret == -EBUSY) {
		snprintf(why, sizeof(why), "Too many handshakes in flight for "
			 "this user: uid %u has %u, the most ktlsd takes from "
			 "one user (max_inflight_per_uid); try again.",
			 (unsigned)c->uid, have);
		msg = why;
		goto refuse;
	}
	if (ret) {
		msg = "Out of memory.";
		goto refuse;
	}
	j->ev.fd = fd;
	j->ops = &handoff_ops;
	j->owner = c;
	atomic_fetch_add(&c->refs, 1);
	ret = job_submit(c->d, j);
	if (!ret)
		return;
	uidlimit_give(c->d, c->uid, UIDLIMIT_JOB);
	conn_put(c);
	msg = ret == -EBUSY ? "Too many handshakes in flight; try again." :
			      "ktlsd is shutting down.";
refuse:
	log_info("handoff from uid %u pid %d refused: %s", (unsigned)c->uid,
		 (int)c->pid, msg);
	if (j) {
		if (j->conf)
			conf_put(j->conf);
		free(j);
	}
	if (fd >= 0)
		close(fd);
	reply_error(c, rq->id, ret, msg);
}

/* A malformed message: say why, then close once the reply is out. */
static void protocol_error(struct conn *c, int status, const char *msg)
{
	log_info("handoff connection of uid %u pid %d: %s; closing it",
		 (unsigned)c->uid, (int)c->pid, msg);
	reply_error(c, 0, status, msg);
	conn_set_closing(c);
	if (c->in_fd >= 0) {
		close(c->in_fd);
		c->in_fd = -1;
	}
}

static void take_fds(struct conn *c, struct msghdr *m)
{
	struct cmsghdr *cm;
	size_t i, n;
	int fd;

	for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			/* Only the first, and only with a message's first byte. */
			if (c->in_len == 0 && c->in_fd < 0) {
				c->in_fd = fd;
			} else {
				close(fd);
				c->extra_fds = 1;
			}
		}
	}
}

/* Read up to the end of the current message. 1: progress, 0: EOF, -errno. */
static int read_some(struct conn *c)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { c->in + c->in_len, c->want - c->in_len };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	ssize_t n;

	n = recvmsg(c->ev.fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	take_fds(c, &m);
	if (m.msg_flags & MSG_CTRUNC)
		c->extra_fds = 1;
	if (n == 0)
		return 0;
	c->in_len += n;
	return 1;
}

/* A whole message is in c->in: act on it and get ready for the next. */
static void take_message(struct conn *c)
{
	struct wire_req rq;
	const char *why = "";
	char msg[128];
	int ret, fd = c->in_fd;

	if (c->in[5] == WIRE_TICKET) {
		if (fd >= 0)
			close(fd);
		c->in_fd = -1;
		ret = resume_ticket(c->d, c->uid, c->in + WIRE_HDR_LEN,
				    c->in_len - WIRE_HDR_LEN, &why);
	} else {
		ret = wire_decode_req(c->in + WIRE_HDR_LEN,
				      c->in_len - WIRE_HDR_LEN, &rq, &why);
	}
	if (ret) {
		snprintf(msg, sizeof(msg), "Malformed request: %s.", why);
		protocol_error(c, ret, msg);
		return;
	}
	c->in_fd = -1;
	if (c->in[5] == WIRE_SUBSCRIBE)
		handoff_subscribe(c, &rq, fd);
	else if (c->in[5] == WIRE_REQUEST)
		start(c, &rq, fd);
	c->extra_fds = 0;
	c->in_len = 0;
	c->want = WIRE_HDR_LEN;
	c->ev.deadline = 0;
	c->active_ms = now_ms();
}

static void conn_read(struct conn *c)
{
	size_t before;
	long len;
	int ret;

	while (conn_may_read(c)) {
		before = c->in_len;
		ret = read_some(c);
		if (ret == -EAGAIN)
			return;
		if (ret <= 0) {
			if (c->in_len)
				protocol_error(c, -EBADMSG, "Request truncated: "
					       "the connection ended inside it.");
			conn_set_closing(c);
			return;
		}
		/* A message begins: it has this long to complete. */
		if (!before)
			c->ev.deadline = now_ms() + REQ_TIMEOUT_MS;
		if (c->in_len < c->want)
			continue;
		if (c->want == WIRE_HDR_LEN) {
			len = wire_check_header(c->in, WIRE_REQUEST, WIRE_REQ_MAX);
			if (len == -EBADMSG && (c->in[5] == WIRE_SUBSCRIBE ||
						c->in[5] == WIRE_TICKET))
				len = wire_check_header(c->in, c->in[5],
							WIRE_REQ_MAX);
			if (len < 0) {
				protocol_error(c, (int)len,
					len == -EMSGSIZE ? "Request too large." :
					len == -EPROTONOSUPPORT ?
					"Unknown protocol version; this ktlsd "
					"speaks version 1." :
					len == -EPROTO ? "Not a handoff request "
					"(bad magic)." : "Bad message type.");
				return;
			}
			c->want += len;
			if (c->in_len < c->want)
				continue;
		}
		take_message(c);
	}
}

/*
 * When c will have been idle for idle_ms, from the later of its last
 * request and its last job's end; a job in flight: look again then.
 */
static int64_t idle_deadline(struct conn *c, int64_t now)
{
	int64_t since = c->active_ms, done = atomic_load(&c->done_ms);

	if (atomic_load(&c->refs) > 1)
		since = now;
	else if (done > since)
		since = done;
	return since + c->idle_ms;
}

/* Nothing asked of ktlsd for idle_ms: say so (request id 0) and close. */
static void idle_close(struct conn *c)
{
	char msg[160];

	log_info("handoff connection of uid %u pid %d idle for %u ms; closing "
		 "it", (unsigned)c->uid, (int)c->pid, c->idle_ms);
	snprintf(msg, sizeof(msg), "No request for %u ms: ktlsd closes idle "
		 "connections (idle_timeout); open a new one.", c->idle_ms);
	reply_error(c, 0, -ETIMEDOUT, msg);
	conn_close(c);
}

/*
 * Nothing in flight, no request begun or waiting to be read, every reply
 * sent and read: the peer has nothing pending (libktls then moves to a
 * new connection on its own).
 */
static int drained(struct conn *c)
{
	int unread = 0, unsent = 0;

	if (atomic_load(&c->refs) > 1 || c->in_len)
		return 0;
	if (ioctl(c->ev.fd, SIOCINQ, &unread) ||
	    ioctl(c->ev.fd, SIOCOUTQ, &unsent))
		unread = unsent = 0;
	unread += unsent;
	pthread_mutex_lock(&c->lock);
	unread += c->out_off < c->out.len || c->dq;
	pthread_mutex_unlock(&c->lock);
	return !unread;
}

/*
 * A drain (reload or stop): a connection goes once it is drained, or at
 * LOOP_DRAIN_MAX_MS. Its read side is shut first, so a request either
 * came before, and is read and answered (a reload's drain serves it, a
 * stop's refuses it), or its sender sees EPIPE and knows nothing was
 * taken: libktls then sends it again on a new connection, to the
 * process that took over. Then a notice (request id 0) and close.
 * 1 when closed; else looked at again in 100 ms.
 */
static int drain_step(struct conn *c)
{
	struct ktlsd *d = c->d;
	int late = now_ms() - d->stop_ms >= LOOP_DRAIN_MAX_MS;

	/* A subscriber: once no accepted handshake may still come to it. */
	if (c->subscribed && (late || !accept_busy(d)))
		accept_unsubscribe(d, c);
	if (!c->shut && (late || drained(c))) {
		shutdown(c->ev.fd, SHUT_RD);
		c->shut = 1;
		conn_read(c);
	}
	if (c->shut && atomic_load(&c->refs) == 1 && !c->in_len) {
		reply_error(c, 0, -ESHUTDOWN, atomic_load(&d->handover) ?
			    "ktlsd reloaded its configuration: open a new "
			    "connection." : "ktlsd is stopping.");
		conn_close(c);
		return 1;
	}
	c->ev.deadline = now_ms() + 100;
	return 0;
}

static void conn_handle(struct ev *e, unsigned events)
{
	struct conn *c = (struct conn *)e;
	int ret = 0, idle, flushed;
	int64_t now;

	if (events & EV_EXIT) {
		conn_close(c);
		return;
	}
	if (events & EV_STOP) {
		drain_step(c);
		return;
	}
	if ((events & EV_TIMEOUT) && !atomic_load(&c->d->stopping)) {
		/*
		 * Idle: no job in flight, and no partial request (or closing,
		 * with replies the peer does not take).
		 */
		now = now_ms();
		if (c->idle_ms && (c->closing || (!c->in_len && c->idle_at)) &&
		    now >= idle_deadline(c, now)) {
			idle_close(c);
			return;
		}
		/*
		 * A partial request's deadline, or the loop could not poll c.
		 * Closing: only time to look at the jobs again (below).
		 */
		if (!c->closing && (c->in_len || !c->idle_at))
			protocol_error(c, -EBADMSG, "Request truncated: the "
				       "rest did not come in time.");
	} else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		conn_read(c);
	}
	/* No job in flight: then every reply is in out (they put after). */
	idle = atomic_load(&c->refs) == 1;
	pthread_mutex_lock(&c->lock);
	if (c->out_off < c->out.len || c->dq)
		ret = flush(c);
	if (ret >= 0)
		loop_modify(&c->ev, conn_events(c));
	flushed = c->out_off == c->out.len;
	pthread_mutex_unlock(&c->lock);
	/*
	 * The peer is gone (closed, not just shut down its sending side:
	 * EPOLLHUP): close now; jobs in flight still hold a reference and
	 * find the connection gone. Closing after the end of the requests
	 * or a malformed one: once the replies of the jobs in flight are
	 * out, looked at every 100 ms.
	 */
	if (ret < 0 || (events & (EPOLLERR | EPOLLHUP)) ||
	    (c->closing && flushed && idle))
		conn_close(c);
	else if (atomic_load(&c->d->stopping))
		drain_step(c);
	else if (c->closing)
		c->ev.deadline = now_ms() + 100;
	else if (!c->in_len && c->idle_ms)	/* else a request's deadline */
		c->ev.deadline = c->idle_at = idle_deadline(c, now_ms());
}

static int peer_groups(struct conn *c, int fd)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g;

	for (;;) {
		g = malloc(len);
		if (!g)
			return -ENOMEM;
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len))
			break;
		free(g);
		if (errno != ERANGE)
			return -errno;
	}
	c->gids = g;
	c->n_gids = len / sizeof(gid_t);
	return 0;
}

/* Over max_connections_per_uid: say why (request id 0), and close. */
static void refuse_conn(int fd, const struct ucred *cred, unsigned have)
{
	struct wire_reply r = { .id = 0, .status = -EBUSY };
	struct wire_buf b = { 0 };
	char msg[192];

	snprintf(msg, sizeof(msg), "Too many handoff connections: uid %u has "
		 "%u open, the most ktlsd takes from one user "
		 "(max_connections_per_uid).", (unsigned)cred->uid, have);
	log_info("handoff connection of uid %u pid %d refused: %s",
		 (unsigned)cred->uid, (int)cred->pid, msg);
	r.message = (struct wire_str){ msg, strlen(msg) };
	/* A new socket's buffer is empty: the reply fits, or never mind. */
	if (!wire_encode_reply(&b, &r) &&
	    send(fd, b.p, b.len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("refusing uid %u: %m", (unsigned)cred->uid);
	wire_buf_wipe_free(&b);
	close(fd);
}

/* A new connection: counted against its uid's limit, then served. */
static void take(struct ktlsd *d, int fd, const struct ucred *cred)
{
	unsigned have, max_conns, idle_ms;
	struct conf *cf;
	struct conn *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c || peer_groups(c, fd)) {
		log_warn("refusing a handoff connection: %m");
		free(c);
		close(fd);
		return;
	}
	cf = ktlsd_conf(d);
	max_conns = cf->max_conns_per_uid;
	idle_ms = cf->idle_timeout_ms;
	conf_put(cf);
	ret = uidlimit_take(d, cred->uid, UIDLIMIT_CONN, max_conns, &have);
	if (ret) {
		if (ret == -EBUSY) {
			refuse_conn(fd, cred, have);
		} else {
			log_warn("refusing a handoff connection of uid %u: out "
				 "of memory", (unsigned)cred->uid);
			close(fd);
		}
		free(c->gids);
		free(c);
		return;
	}
	c->ev.fd = fd;
	c->ev.handle = conn_handle;
	c->d = d;
	atomic_fetch_add(&d->holds, 1);
	atomic_init(&c->refs, 1);
	pthread_mutex_init(&c->lock, NULL);
	c->uid = cred->uid;
	c->gid = cred->gid;
	c->pid = cred->pid;
	c->in_fd = -1;
	c->dq_tail = &c->dq;
	c->want = WIRE_HDR_LEN;
	c->idle_ms = idle_ms;
	c->active_ms = now_ms();
	if (idle_ms)
		c->ev.deadline = c->idle_at = c->active_ms + idle_ms;
	loop_add(d, NULL, &c->ev, EPOLLIN);
}

/* A socket of ours to listen on: bound at path, mode and group set. */
static int bind_path(const struct conf *cf)
{
	int fd;

	/* A socket file left behind is reused, a live ktlsd is not. */
	if (unixsock_answers(cf->socket_path)) {
		log_err("%s: another ktlsd is serving this socket",
			cf->socket_path);
		return -EADDRINUSE;
	}
	fd = unixsock_listen(cf->socket_path, cf->socket_mode, cf->socket_gid,
			     SOMAXCONN);
	if (fd == -ENAMETOOLONG)
		log_err("socket path too long: %s", cf->socket_path);
	else if (fd < 0)
		log_err("listening on %s: %s", cf->socket_path, strerror(-fd));
	return fd;
}

int handoff_listen(struct listeners *ls, const struct conf *cf,
		   int activated_fd)
{
	int fd;

	/* Without profiles there is nothing to hand off for. */
	if (!cf->n_profiles && activated_fd < 0)
		return 0;
	if (activated_fd >= 0) {
		fd = activated_fd;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
			return -errno;
	} else {
		fd = bind_path(cf);
		if (fd < 0)
			return fd;
		ls->handoff_path = strdup(cf->socket_path);
		if (!ls->handoff_path) {
			close(fd);
			unlink(cf->socket_path);
			return -ENOMEM;
		}
	}
	ls->handoff = fd;
	return 0;
}

int handoff_open(struct ktlsd *d, const struct conf *cf,
		 const struct listeners *ls)
{
	(void)cf;
	if (ls->handoff < 0)
		return 0;
	uidlimit_init(d);
	/* The supervisor keeps its copy, bound at the path, open. */
	return unixsock_serve(d, ls->handoff, NULL, "handoff", take);
}
