// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Front door 3, accept mode: a server profile with listen = ADDR:PORT
 * owns its listening TCP sockets. The supervisor binds them (root may
 * take a port below 1024) and keeps them across restarts and reloads; a
 * handshake process accepts on them only while some program subscribed
 * to the profile (handoff_sub.c), runs the server handshake as for a
 * handoff, and delivers the kTLS socket to one subscriber, in turn.
 * Without a subscriber nothing is accepted: connections wait in the
 * listen queue (ACCEPT_BACKLOG), then the kernel refuses them.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "handoff.h"
#include "loop.h"

/* Out of descriptors: look again after this long. */
#define PAUSE_MS	250
/* Connections taken per wake-up, so that the worker's others get a turn. */
#define ACCEPT_BURST	32

/* One listening socket, in a handshake process. */
struct lsock {
	struct ev ev;
	struct acceptor *a;
	char profile[128];
	char text[64];
	int added;			/* on its worker: others may modify it */
	int stopped;			/* closed: a drain began */
	int paused;			/* out of descriptors */
};

/* A subscription: the program behind c takes the profile's sockets. */
struct sub {
	struct sub *next;
	struct conn *c;			/* a reference */
	char profile[128];
	uint64_t id;
	uid_t uid;
	unsigned max;			/* subscriber_queue */
};

struct acceptor {
	struct ktlsd *d;
	pthread_mutex_t lock;		/* subs, rr, the lsocks' events */
	struct sub *subs;
	unsigned rr;
	struct lsock *ls;
	size_t n_ls;
	atomic_uint busy;		/* handshakes in flight */
	int64_t said_ms;		/* the last drop logged */
	unsigned long unsaid;		/* drops since, not logged */
};

/* An accepted connection's handshake: our own copy of the socket. */
struct ajob {
	struct job j;			/* first: the loop frees it as a job */
	struct acceptor *a;
	int fd;				/* what the subscriber gets */
};

/* ---- In the supervisor: the sockets ---- */

static int bind_one(const struct listen_addr *la)
{
	int fd, one = 1, err;

	fd = socket(la->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (la->sa.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)&la->sa, la->len) ||
	    listen(fd, ACCEPT_BACKLOG)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int add_tcp(struct listeners *ls, const struct profile *p,
		   const struct listen_addr *la, int fd)
{
	struct tcp_listener *more, *t;

	more = realloc(ls->tcp, (ls->n_tcp + 1) * sizeof(*more));
	if (!more)
		return -ENOMEM;
	ls->tcp = more;
	t = &more[ls->n_tcp];
	t->profile = strdup(p->name);
	if (!t->profile)
		return -ENOMEM;
	snprintf(t->text, sizeof(t->text), "%s", la->text);
	t->fd = fd;
	ls->n_tcp++;
	return 0;
}

/* A listening TCP socket? 0, or why not. */
static const char *not_tcp_listener(int fd)
{
	int v = 0, proto = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) || !v)
		return "not a listening socket";
	len = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) ||
	    proto != IPPROTO_TCP)
		return "not TCP";
	return NULL;
}

/*
 * What a passed socket is, whatever its name: a listening Unix stream
 * socket can only be the handoff socket, a listening TCP socket only a
 * profile's. Anything else is neither.
 */
enum passed_kind { PASSED_UNIX, PASSED_TCP, PASSED_OTHER };

static enum passed_kind passed_kind(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) ||
	    type != SOCK_STREAM)
		return PASSED_OTHER;
	if (ss.ss_family == AF_UNIX) {
		int v = 0;

		len = sizeof(v);
		return !getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) &&
		       v ? PASSED_UNIX : PASSED_OTHER;
	}
	if ((ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
	    !not_tcp_listener(fd))
		return PASSED_TCP;
	return PASSED_OTHER;
}

/* A passed TCP listener for the profile it is named after: 0, or why not. */
static const char *take_passed_tcp(struct listeners *ls,
				   const struct conf *c, int fd,
				   const char *name)
{
	const struct profile *p;

	p = name ? conf_profile(c, name, strlen(name)) : NULL;
	if (!p)
		return "a TCP socket not named after a profile (its "
		       "FileDescriptorName= must be a server profile's name)";
	if (p->role != KTLS_SERVER)
		return "named after a client profile";
	if (fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK))
		return "cannot be made non-blocking";
	if (add_tcp(ls, p, &(struct listen_addr){ .text =
		    "(socket activation)" }, fd))
		return "out of memory";
	log_info("profile %s: listening on the socket passed by socket "
		 "activation", p->name);
	return NULL;
}

int accept_activated(struct listeners *ls, const struct conf *c,
		     const int *fds, char *const *names, int n)
{
	const char *why, *name;
	int i, handoff = -1;

	for (i = 0; i < n; i++) {
		name = names[i] ? names[i] : "no name";
		switch (passed_kind(fds[i])) {
		case PASSED_UNIX:
			why = handoff >= 0 ? "a second Unix socket (the handoff "
			      "socket came before it)" : NULL;
			if (!why) {
				handoff = fds[i];
				if (names[i] && conf_profile(c, names[i],
							     strlen(names[i])))
					log_info("socket activation: descriptor "
						 "%d (%s) is a Unix socket: the "
						 "handoff socket, not the "
						 "profile's", fds[i], name);
			}
			break;
		case PASSED_TCP:
			why = take_passed_tcp(ls, c, fds[i], names[i]);
			break;
		default:
			why = "neither a listening Unix stream socket (the "
			      "handoff socket) nor a listening TCP socket (a "
			      "server profile's)";
		}
		if (why) {
			log_warn("socket activation: descriptor %d (%s): %s; "
				 "closed", fds[i], name, why);
			close(fds[i]);
		}
	}
	return handoff;
}

/* Whether ls holds a socket passed for profile p (accept_activated()). */
static int has_activated(const struct listeners *ls, const struct profile *p)
{
	size_t i;

	for (i = 0; i < ls->n_tcp; i++)
		if (!strcmp(ls->tcp[i].profile, p->name))
			return 1;
	return 0;
}

int accept_listen(struct listeners *ls, const struct conf *c,
		  int activated_fd)
{
	const struct profile *p;
	size_t i, k;
	int fd, ret;

	(void)activated_fd;	/* accept_activated() took the profiles' */
	for (i = 0; i < c->n_profiles; i++) {
		p = &c->profiles[i];
		if (has_activated(ls, p)) {
			if (p->n_listen)
				log_warn("profile %s: a socket came by socket "
					 "activation: its listen lines are "
					 "not bound", p->name);
			continue;
		}
		for (k = 0; k < p->n_listen; k++) {
			fd = bind_one(&p->listen[k]);
			if (fd < 0) {
				log_err("%s:%d: profile %s: listen on %s: %s",
					c->path, p->listen[k].line, p->name,
					p->listen[k].text, strerror(-fd));
				return fd;
			}
			ret = add_tcp(ls, p, &p->listen[k], fd);
			if (ret) {
				close(fd);
				return ret;
			}
			log_info("profile %s: listening on %s", p->name,
				 p->listen[k].text);
		}
	}
	return 0;
}

void accept_close(struct listeners *ls)
{
	size_t i;

	for (i = 0; i < ls->n_tcp; i++) {
		close(ls->tcp[i].fd);
		free(ls->tcp[i].profile);
	}
	free(ls->tcp);
	ls->tcp = NULL;
	ls->n_tcp = 0;
}

static int same_listen(const struct profile *a, const struct profile *b)
{
	size_t k;

	if (!b || a->n_listen != b->n_listen)
		return 0;
	for (k = 0; k < a->n_listen; k++)
		if (a->listen[k].len != b->listen[k].len ||
		    memcmp(&a->listen[k].sa, &b->listen[k].sa,
			   a->listen[k].len))
			return 0;
	return 1;
}

int accept_listen_differs(const struct conf *old, const struct conf *c)
{
	const struct profile *p, *q;
	size_t i;

	for (i = 0; i < c->n_profiles; i++) {
		p = &c->profiles[i];
		q = conf_profile(old, p->name, strlen(p->name));
		if (p->n_listen && !same_listen(p, q))
			return 1;
	}
	for (i = 0; i < old->n_profiles; i++) {
		p = &old->profiles[i];
		q = conf_profile(c, p->name, strlen(p->name));
		if (p->n_listen && !same_listen(p, q))
			return 1;
	}
	return 0;
}

/* ---- In a handshake process: subscriptions ---- */

static int has_sub(const struct acceptor *a, const char *profile)
{
	const struct sub *s;

	for (s = a->subs; s; s = s->next)
		if (!strcmp(s->profile, profile))
			return 1;
	return 0;
}

/* Under a->lock: poll the profile's sockets while it has subscribers. */
static void set_polling(struct acceptor *a, const char *profile)
{
	unsigned ev = has_sub(a, profile) ? EPOLLIN : 0;
	size_t i;

	for (i = 0; i < a->n_ls; i++) {
		struct lsock *l = &a->ls[i];

		/* Not yet on its worker: its first look (below) sees subs. */
		if (l->added && !l->stopped && !l->paused &&
		    !strcmp(l->profile, profile))
			loop_modify(&l->ev, ev);
	}
}

int accept_subscribe(struct ktlsd *d, struct conn *c, const struct profile *p,
		     uint64_t id)
{
	struct acceptor *a = d->acceptor;
	struct sub *s, **end;
	size_t i;

	if (!a || p->role != KTLS_SERVER)
		return -EADDRNOTAVAIL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->profile, sizeof(s->profile), "%s", p->name);
	s->c = c;
	s->id = id;
	s->uid = c->uid;
	s->max = p->subscriber_queue ? p->subscriber_queue :
		 ACCEPT_QUEUE_DEFAULT;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->n_ls; i++)
		if (!a->ls[i].stopped && !strcmp(a->ls[i].profile, p->name))
			break;
	if (i == a->n_ls) {
		pthread_mutex_unlock(&a->lock);
		free(s);
		return -EADDRNOTAVAIL;
	}
	atomic_fetch_add(&c->refs, 1);
	c->subscribed = 1;
	for (end = &a->subs; *end; end = &(*end)->next)
		;
	*end = s;
	set_polling(a, s->profile);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

void accept_unsubscribe(struct ktlsd *d, struct conn *c)
{
	struct acceptor *a = d->acceptor;
	struct sub **pp, *s, *gone = NULL;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	for (pp = &a->subs; (s = *pp);) {
		if (s->c != c) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		set_polling(a, s->profile);
		s->next = gone;
		gone = s;
	}
	pthread_mutex_unlock(&a->lock);
	c->subscribed = 0;
	while ((s = gone)) {
		gone = s->next;
		conn_put(s->c);
		free(s);
	}
}

int accept_busy(struct ktlsd *d)
{
	return d->acceptor && atomic_load(&d->acceptor->busy);
}

/* Under a->lock: whether s's program has room for one more socket. */
static int has_room(struct sub *s)
{
	int ret;

	pthread_mutex_lock(&s->c->lock);
	ret = !s->c->gone && s->c->n_dq < s->max;
	pthread_mutex_unlock(&s->c->lock);
	return ret;
}

/*
 * Under a->lock: the next subscriber of profile in turn (round robin)
 * that has room, or NULL. turn: take the turn (a delivery); else only
 * look (whether to accept at all).
 */
static struct sub *pick(struct acceptor *a, const char *profile, int turn)
{
	struct sub *s;
	unsigned n = 0, k, start;

	for (s = a->subs; s; s = s->next)
		n += !strcmp(s->profile, profile);
	if (!n)
		return NULL;
	start = (turn ? a->rr++ : a->rr) % n;
	for (k = 0; k < n; k++) {
		unsigned want = (start + k) % n, at = 0;

		for (s = a->subs; s; s = s->next) {
			if (strcmp(s->profile, profile))
				continue;
			if (at++ == want)
				break;
		}
		if (s && has_room(s))
			return s;
	}
	return NULL;
}

/* A connection closed unserved: counted, logged at most once a second. */
static void dropped(struct acceptor *a, const char *profile, int fd,
		    const char *why)
{
	char peer[64] = "?";
	int64_t now = now_ms();
	unsigned long more;

	loop_peer_name(fd, peer, sizeof(peer));
	atomic_fetch_add(&a->d->stats->accept_dropped, 1);
	pthread_mutex_lock(&a->lock);
	more = a->unsaid;
	if (a->said_ms && now - a->said_ms < 1000) {
		a->unsaid++;
		pthread_mutex_unlock(&a->lock);
		return;
	}
	a->said_ms = now;
	a->unsaid = 0;
	pthread_mutex_unlock(&a->lock);
	log_warn("profile %s: connection from %s closed: %s (%lu more "
		 "dropped in the last second)", profile, peer, why, more);
}

/* ---- In a handshake process: accepted connections ---- */

/*
 * Deliver to a subscriber of j's profile with room, in turn; the socket
 * is closed (and the drop logged) when none has.
 */
static void accept_done(struct job *j, int status, const char *msg,
			const struct ktls_session *s)
{
	struct ajob *aj = (struct ajob *)j;
	struct acceptor *a = aj->a;
	struct wire_buf b = { 0 };
	struct sub *sub;
	unsigned tries;
	int ret = -ENOBUFS;

	(void)msg;	/* the loop logged the failure: nobody else hears */
	if (status) {
		close(aj->fd);
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	for (tries = 0; ret && tries < 4 && (sub = pick(a, j->p->name, 1));
	     tries++) {
		ret = handoff_encode_result(&b, sub->id, 1, s, 0);
		if (!ret)
			ret = handoff_deliver(sub->c, &b, aj->fd, sub->max);
		wire_buf_wipe_free(&b);
		if (ret == -EMSGSIZE || ret == -ENOMEM)
			break;
	}
	pthread_mutex_unlock(&a->lock);
	if (ret) {
		dropped(a, j->p->name, aj->fd, ret == -ENOBUFS ? "every "
			"subscriber's queue is full (subscriber_queue)" :
			strerror(-ret));
		close(aj->fd);
	}
out:
	uidlimit_give(a->d, j->uid, UIDLIMIT_JOB);
	atomic_fetch_sub(&a->busy, 1);
}

/* No subscriber left: the handshake is for nobody. */
static int accept_gone(struct job *j)
{
	struct acceptor *a = ((struct ajob *)j)->a;
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = !has_sub(a, j->p->name);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

static const struct job_ops accept_ops = {
	.done = accept_done,
	.gone = accept_gone,
};

/* A job for fd, or the reason it has none (fd then the caller's). */
static const char *start_job(struct lsock *l, int fd, uid_t uid)
{
	struct acceptor *a = l->a;
	struct ajob *aj = calloc(1, sizeof(*aj));
	struct job *j = &aj->j;
	const char *why;
	unsigned have;

	if (!aj)
		return "out of memory";
	j->conf = ktlsd_conf(a->d);
	j->p = conf_profile(j->conf, l->profile, strlen(l->profile));
	aj->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (!j->p || aj->fd < 0 ||
	    uidlimit_take(a->d, uid, UIDLIMIT_JOB,
			  j->conf->max_inflight_per_uid, &have)) {
		why = aj->fd < 0 ? "out of descriptors" : "too many handshakes "
		      "in flight for the subscriber's user "
		      "(max_inflight_per_uid)";
		if (aj->fd >= 0)
			close(aj->fd);
		conf_put(j->conf);
		free(aj);
		return why;
	}
	aj->a = a;
	j->uid = uid;
	j->timeout_ms = j->p->timeout_ms;
	j->ev.fd = fd;
	j->ops = &accept_ops;
	j->owner = a;
	atomic_fetch_add(&a->busy, 1);
	if (!job_submit(a->d, j))
		return NULL;
	atomic_fetch_sub(&a->busy, 1);
	uidlimit_give(a->d, uid, UIDLIMIT_JOB);
	close(aj->fd);
	conf_put(j->conf);
	free(aj);
	return "too many handshakes in flight (max_inflight)";
}

/* One accepted connection: to a handshake, or closed with a reason. */
static void take(struct lsock *l, int fd)
{
	struct acceptor *a = l->a;
	const char *why;
	struct sub *s;
	uid_t uid = 0;

	pthread_mutex_lock(&a->lock);
	s = pick(a, l->profile, 0);
	if (s)
		uid = s->uid;
	pthread_mutex_unlock(&a->lock);
	why = s ? start_job(l, fd, uid) : "every subscriber's queue is full "
	      "(subscriber_queue)";
	if (why) {
		dropped(a, l->profile, fd, why);
		close(fd);
	}
}

/* Out of descriptors: the connections wait; look again in a while. */
static void pause_accept(struct lsock *l)
{
	if (!l->paused)
		log_warn("profile %s: accept on %s: %m; retrying every %d ms",
			 l->profile, l->text, PAUSE_MS);
	pthread_mutex_lock(&l->a->lock);
	l->paused = 1;
	loop_modify(&l->ev, 0);
	pthread_mutex_unlock(&l->a->lock);
	l->ev.deadline = now_ms() + PAUSE_MS;
}

static void lsock_handle(struct ev *e, unsigned events)
{
	struct lsock *l = (struct lsock *)e;
	struct acceptor *a = l->a;
	int fd, n, subs;

	if (events & (EV_STOP | EV_EXIT)) {
		/* The supervisor's copy stays: the next process takes over. */
		pthread_mutex_lock(&a->lock);
		loop_remove(e);
		close(e->fd);
		e->fd = -1;
		l->stopped = 1;
		pthread_mutex_unlock(&a->lock);
		return;
	}
	pthread_mutex_lock(&a->lock);
	l->added = 1;
	l->paused = 0;
	subs = has_sub(a, l->profile);
	loop_modify(e, subs ? EPOLLIN : 0);
	pthread_mutex_unlock(&a->lock);
	for (n = 0; subs && n < ACCEPT_BURST; n++) {
		fd = accept4(e->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			take(l, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			pause_accept(l);
		else if (errno != EAGAIN && errno != EINTR &&
			 errno != ECONNABORTED)
			log_warn("profile %s: accept on %s: %m", l->profile,
				 l->text);
		break;
	}
}

int accept_open(struct ktlsd *d, const struct conf *c,
		const struct listeners *ls)
{
	const struct profile *p;
	struct acceptor *a;
	struct lsock *l;
	size_t i;

	if (!ls->n_tcp)
		return 0;
	a = calloc(1, sizeof(*a));
	if (a)
		a->ls = calloc(ls->n_tcp, sizeof(*a->ls));
	if (!a || !a->ls) {
		free(a);
		return -ENOMEM;
	}
	a->d = d;
	pthread_mutex_init(&a->lock, NULL);
	for (i = 0; i < ls->n_tcp; i++) {
		l = &a->ls[a->n_ls];
		p = conf_profile(c, ls->tcp[i].profile,
				 strlen(ls->tcp[i].profile));
		if (!p || p->role != KTLS_SERVER) {
			log_warn("%s: profile %s is gone: its listening "
				 "socket %s is not served until a restart",
				 c->path, ls->tcp[i].profile, ls->tcp[i].text);
			continue;
		}
		snprintf(l->profile, sizeof(l->profile), "%s", p->name);
		snprintf(l->text, sizeof(l->text), "%s", ls->tcp[i].text);
		l->a = a;
		l->ev.fd = ls->tcp[i].fd;
		l->ev.handle = lsock_handle;
		a->n_ls++;
	}
	d->acceptor = a;
	/*
	 * A first look on its worker's first pass: from then on (added)
	 * subscriptions turn its polling on and off from any worker.
	 */
	for (i = 0; i < a->n_ls; i++) {
		a->ls[i].ev.deadline = 1;
		loop_add(d, NULL, &a->ls[i].ev, 0);
	}
	return 0;
}
