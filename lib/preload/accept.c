// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The server side. On listen() of a configured port the TCP listener moves
 * to a descriptor of the shim, and the program's descriptor number gets
 * one end of a Unix SOCK_SEQPACKET pair instead. A thread of the process
 * that listened accepts on the real listener, hands each connection to
 * ktlsd and passes only finished kTLS sockets through the pair, one
 * message each (SCM_RIGHTS plus the peer's address). accept() and
 * accept4() on the program's descriptor receive from the pair: blocking,
 * non-blocking, poll and epoll (level- and edge-triggered) readiness all
 * follow from the pair, and no handshake ever runs on a program's thread.
 * The pair is shared by every process that inherits the descriptor (the
 * workers of a pre-forking server); the thread ends when none holds it.
 * Where ktlsd says the kernel takes new keys, the message also carries
 * the TLS 1.3 traffic secrets, so that the process that accepts can
 * follow the peer's KeyUpdate: they cross the pair as they crossed
 * ktlsd's handoff socket, and every buffer of ours that held them is
 * wiped at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

#define MAX_PENDING 256

struct pending {
	uint64_t id;
	int fd;
	socklen_t alen;
	struct sockaddr_storage addr;
};

struct preload_listener {
	int real;		/* the TCP listener */
	int mine;		/* our end of the pair */
	unsigned short port;
	char profile[64];
	struct ktls_handoff *h;	/* NULL until a connection needs it */
	int warned;		/* "ktlsd is not there" said once */
	int npend;
	struct pending pend[MAX_PENDING];
};

/* What one finished connection carries through the pair. */
struct accept_msg {
	struct preload_hs hs;
	uint32_t alen;
	struct sockaddr_storage addr;
};

int accept_real_fd(const struct preload_listener *l)
{
	return l->real;
}

static int open_handoff(struct preload_listener *l)
{
	int ret = ktls_handoff_open(&l->h, NULL);

	if (ret) {
		l->h = NULL;
		if (!l->warned++)
			preload_log("port %u: connections are refused: no ktlsd at its handoff socket (%s)",
				    l->port, strerror(-ret));
		return ret;
	}
	l->warned = 0;
	return 0;
}

/* Connection to ktlsd lost: every handshake in flight is lost with it. */
static void drop_handoff(struct preload_listener *l, int err)
{
	preload_log("port %u: lost ktlsd (%s); %d connection(s) closed",
		    l->port, strerror(preload_errno(err)), l->npend);
	for (int i = 0; i < l->npend; i++)
		real.close(l->pend[i].fd);
	l->npend = 0;
	ktls_handoff_close(l->h);
	l->h = NULL;
}

static int submit(struct preload_listener *l, int fd, uint64_t *id)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = l->profile,
	};
	int ret;

	while ((ret = ktls_handoff_submit(l->h, fd, &req, id)) == -EAGAIN) {
		struct pollfd p = { .fd = ktls_handoff_fd(l->h), .events = POLLOUT };

		if (poll(&p, 1, 5000) == 0)
			return -ETIMEDOUT;
	}
	return ret;
}

static void take_one(struct preload_listener *l)
{
	struct pending *p = &l->pend[l->npend];
	int ret;

	p->alen = sizeof(p->addr);
	p->fd = real.accept4(l->real, (struct sockaddr *)&p->addr, &p->alen,
			     SOCK_CLOEXEC);
	if (p->fd < 0)
		return;
	if (!l->h && open_handoff(l)) {
		real.close(p->fd);
		return;
	}
	ret = submit(l, p->fd, &p->id);
	if (ret) {
		real.close(p->fd);
		if (ret == -ECONNRESET || ret == -EPIPE || ret == -ETIMEDOUT ||
		    ret == -EPROTO)
			drop_handoff(l, ret);
		else
			preload_log("port %u: handoff refused: %s", l->port,
				    strerror(preload_errno(ret)));
		return;
	}
	l->npend++;
}

static void deliver(struct preload_listener *l, struct pending *p,
		    struct ktls_session *s)
{
	struct accept_msg m = { .alen = p->alen, .addr = p->addr };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	const void *early;

	if (ktls_session_early_data(s, &early)) {
		preload_log("port %u: a connection was closed: application data came with its handshake",
			    l->port);
		return;
	}
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p->fd, sizeof(int));
	preload_hs_from(&m.hs, s);
	if (sendmsg(l->mine, &mh, MSG_NOSIGNAL) < 0 && errno != EPIPE)
		preload_log("port %u: could not pass a connection on: %s",
			    l->port, strerror(errno));
	preload_hs_wipe(&m.hs);
}

static void collect(struct preload_listener *l)
{
	for (;;) {
		struct ktls_handoff_result r = { .size = sizeof(r) };
		int ret = ktls_handoff_result(l->h, &r), i;

		if (ret == 0)
			return;
		if (ret < 0) {
			drop_handoff(l, ret);
			return;
		}
		for (i = 0; i < l->npend && l->pend[i].id != r.id; i++)
			;
		if (i < l->npend) {
			if (r.status == 0)
				deliver(l, &l->pend[i], r.session);
			else
				preload_log("port %u: handshake failed: %s",
					    l->port, ktls_handoff_error(l->h));
			real.close(l->pend[i].fd);
			l->pend[i] = l->pend[--l->npend];
		}
		/* Secrets and all: the program needs none of it. */
		ktls_session_free(r.session);
	}
}

static void *acceptor(void *arg)
{
	struct preload_listener *l = arg;

	preload_inside = 1;	/* this thread is all shim */
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = l->real,
			  .events = l->npend < MAX_PENDING ? POLLIN : 0 },
			{ .fd = l->mine },
			{ .fd = l->h && l->npend ? ktls_handoff_fd(l->h) : -1,
			  .events = POLLIN },
		};

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & (POLLHUP | POLLERR))
			break;	/* nobody holds the program's end */
		if (p[2].revents)
			collect(l);
		if (p[0].revents & POLLIN)
			take_one(l);
	}
	for (int i = 0; i < l->npend; i++)
		real.close(l->pend[i].fd);
	if (l->h)
		ktls_handoff_close(l->h);
	real.close(l->real);
	real.close(l->mine);
	free(l);
	return NULL;
}

/* Put the pair's end at fd, keep the TCP listener; 0 or -errno. */
static int stand_in(int fd, struct preload_listener *l)
{
	int fl = real.fcntl(fd, F_GETFL), fdfl = real.fcntl(fd, F_GETFD);
	int sp[2];

	l->real = real.fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (l->real < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		real.close(l->real);
		return -errno;
	}
	if (real.dup3(sp[0], fd, fdfl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0) {
		int e = errno;

		real.close(sp[0]);
		real.close(sp[1]);
		real.close(l->real);
		return -e;
	}
	real.close(sp[0]);
	l->mine = sp[1];
	/* The TCP listener's description is ours alone now. */
	real.fcntl(l->real, F_SETFL, fl | O_NONBLOCK);
	real.fcntl(fd, F_SETFL, fl & O_NONBLOCK);
	return 0;
}

static int is_tcp(int fd, unsigned short *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);

	if (real.getsockname(fd, (struct sockaddr *)&ss, &sl) ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
	    real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) ||
	    type != SOCK_STREAM)
		return 0;
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 1;
}

int accept_listen(int fd, int backlog, int *ret)
{
	struct preload_listener *l = fdtab_listener(fd);
	const char *profile;
	unsigned short port;
	int err;

	if (preload_inside)
		return 0;
	if (l) {
		*ret = real.listen(l->real, backlog);
		return 1;
	}
	if (!is_tcp(fd, &port) || !(profile = conf_accept_profile(port)))
		return 0;
	*ret = real.listen(fd, backlog);
	if (*ret)
		return 1;
	l = calloc(1, sizeof(*l));
	if (!l) {
		err = -ENOMEM;
		goto refuse;
	}
	l->port = port;
	strcpy(l->profile, profile);	/* both are 64 bytes */
	err = stand_in(fd, l);
	if (err)
		goto refuse;
	fdtab_set_listener(fd, l);
	err = preload_thread(acceptor, l);
	if (err)	/* the pair stays: accept() then fails, fd is not TCP */
		return *ret = -1, errno = -err, 1;
	return 1;
refuse:
	free(l);
	shutdown(fd, SHUT_RDWR);	/* no plaintext connections either */
	preload_log("refused: port %u cannot be served through ktlsd: %s",
		    port, strerror(-err));
	errno = -err;
	*ret = -1;
	return 1;
}

int accept_take(struct preload_listener *l, int fd, struct sockaddr *addr,
		socklen_t *len, int flags)
{
	struct accept_msg m;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int nfd = -1, err;
	ssize_t n;

	n = real.recvmsg(fd, &mh, flags & SOCK_CLOEXEC ? MSG_CMSG_CLOEXEC : 0);
	if (n < 0)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&nfd, CMSG_DATA(cm), sizeof(int));
	if (n != sizeof(m) || nfd < 0) {
		preload_hs_wipe(&m.hs);
		if (nfd >= 0)
			real.close(nfd);
		if (n == 0)
			preload_log("port %u: the process that listened has exited: run the server in the foreground",
				    l->port);
		errno = n == 0 ? EINVAL : ECONNABORTED;
		return -1;
	}
	if (flags & SOCK_NONBLOCK)
		real.fcntl(nfd, F_SETFL, real.fcntl(nfd, F_GETFL) | O_NONBLOCK);
	err = fdtab_add_conn(nfd, &m.hs, KTLS_SERVER);
	preload_hs_wipe(&m.hs);
	if (err) {
		real.close(nfd);
		errno = -err;
		return -1;
	}
	if (addr && len) {
		memcpy(addr, &m.addr, *len < m.alen ? *len : m.alen);
		*len = m.alen;
	}
	return nfd;
}
