// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Accept mode on a handoff connection (docs/handoff.md, "Subscription"):
 * a program subscribes to a server profile that listens (listen = ...),
 * and each connection ktlsd accepts there and finishes its handshake for
 * comes back as one reply, the kTLS socket attached to its first byte.
 * Each delivery is sent with its own sendmsg(), after every reply queued
 * before it, so that its descriptor goes with its message and no other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "handoff.h"

/*
 * The subscriber's socket buffer: small, so that a subscriber that stops
 * reading leaves its connections in ktlsd's queue (subscriber_queue),
 * which is bounded and counted, rather than in the kernel's.
 */
#define SUB_SNDBUF	8192

static void refuse(struct conn *c, uint64_t id, int status, const char *msg)
{
	log_info("subscription of uid %u pid %d refused: %s", (unsigned)c->uid,
		 (int)c->pid, msg);
	reply_error(c, id, status, msg);
}

void handoff_subscribe(struct conn *c, const struct wire_req *rq, int fd)
{
	const struct profile *p;
	struct conf *cf;
	int ret, sndbuf = SUB_SNDBUF;

	if (fd >= 0 || c->extra_fds) {
		if (fd >= 0)
			close(fd);
		refuse(c, rq->id, -EINVAL, "A subscription takes no "
		       "descriptor.");
		return;
	}
	if (rq->server_name.len || rq->alpn.len || rq->timeout_ms) {
		refuse(c, rq->id, -EINVAL, "A subscription names a profile "
		       "only.");
		return;
	}
	cf = ktlsd_conf(c->d);
	p = conf_profile(cf, rq->profile.p, rq->profile.len);
	if (!p)
		ret = -ENOENT;
	else if (!profile_allows(p, c->uid, c->gid, c->gids, c->n_gids))
		ret = -EACCES;
	else
		ret = accept_subscribe(c->d, c, p, rq->id);
	conf_put(cf);
	if (ret) {
		refuse(c, rq->id, ret, ret == -ENOENT ? "No such profile." :
		       ret == -EACCES ? "This user may not use the profile." :
		       ret == -EADDRNOTAVAIL ? "The profile does not listen "
		       "(no listen line, or one added since ktlsd started: "
		       "that needs a restart)." : "Out of memory.");
		return;
	}
	if (setsockopt(c->ev.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
		       sizeof(sndbuf)))
		log_debug("subscriber's SO_SNDBUF: %m");
	log_info("uid %u pid %d subscribed to profile %.*s", (unsigned)c->uid,
		 (int)c->pid, (int)rq->profile.len, rq->profile.p);
	reply_error(c, rq->id, 0, "Subscribed.");
}

int handoff_deliver(struct conn *c, struct wire_buf *m, int fd, unsigned max)
{
	struct delivery *dl;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (c->gone || c->closing) {
		ret = -EPIPE;
		goto out;
	}
	if (c->n_dq >= max) {
		ret = -ENOBUFS;
		goto out;
	}
	dl = calloc(1, sizeof(*dl));
	if (!dl) {
		ret = -ENOMEM;
		goto out;
	}
	dl->m = *m;
	memset(m, 0, sizeof(*m));
	dl->fd = fd;
	*c->dq_tail = dl;
	c->dq_tail = &dl->next;
	c->n_dq++;
	/* Behind replies not yet sent: they go first, then this. */
	if (c->out_off == c->out.len && handoff_sub_flush(c, 1) < 0)
		shutdown(c->ev.fd, SHUT_RDWR);	/* the owner sees it */
	else
		loop_modify(&c->ev, conn_events(c));
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static void delivery_free(struct delivery *dl)
{
	if (dl->fd >= 0)
		close(dl->fd);
	wire_buf_wipe_free(&dl->m);
	free(dl);
}

/* The first delivery: 0 when it went whole, 1 when the rest waits. */
static int send_one(struct conn *c, struct delivery *dl)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { dl->m.p + dl->off, dl->m.len - dl->off };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (!dl->off) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &dl->fd, sizeof(int));
	}
	do {
		n = sendmsg(c->ev.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 1 : -errno;
	if (!dl->off) {		/* the program has it now */
		close(dl->fd);
		dl->fd = -1;
	}
	dl->off += n;
	return dl->off < dl->m.len;
}

int handoff_sub_flush(struct conn *c, int all)
{
	struct delivery *dl;
	int ret;

	while ((dl = c->dq) && (all || dl->off)) {
		ret = send_one(c, dl);
		if (ret)
			return ret;
		c->dq = dl->next;
		if (!c->dq)
			c->dq_tail = &c->dq;
		c->n_dq--;
		delivery_free(dl);
	}
	return 0;
}

void handoff_sub_free(struct conn *c)
{
	struct delivery *dl;

	while ((dl = c->dq)) {
		c->dq = dl->next;
		delivery_free(dl);
	}
	c->dq_tail = &c->dq;
	c->n_dq = 0;
}
