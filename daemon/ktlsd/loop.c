// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Worker threads and handshake jobs. Each worker owns an epoll set and a
 * list of what it polls; anything handed to a worker from another thread
 * goes through its queue and eventfd. A job lives on one worker from the
 * first ClientHello byte to the reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "daemon.h"
#include "keyproc.h"
#include "loop.h"

struct worker {
	struct ktlsd *d;
	pthread_t tid;
	int epfd, efd;
	int diag_nl;			/* sock_diag, for the offload report */
	pthread_mutex_t qlock;
	struct queued *queue;		/* handed over, not yet registered */
	struct ev head;			/* what this worker polls */
	int stop_seen;
};

/* An ev handed to a worker, with the events to register it for. */
struct queued {
	struct ev *e;
	unsigned events;
	struct queued *next;
};

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct conf *ktlsd_conf(struct ktlsd *d)
{
	struct conf *c;

	pthread_mutex_lock(&d->conf_lock);
	c = conf_get(d->conf);
	pthread_mutex_unlock(&d->conf_lock);
	return c;
}

void ktlsd_set_conf(struct ktlsd *d, struct conf *c)
{
	struct conf *old;

	pthread_mutex_lock(&d->conf_lock);
	old = d->conf;
	d->conf = c;
	pthread_mutex_unlock(&d->conf_lock);
	if (old)
		conf_put(old);
}

static void list_add(struct worker *w, struct ev *e)
{
	e->w = w;
	e->next = w->head.next;
	e->prev = &w->head;
	w->head.next->prev = e;
	w->head.next = e;
}

static void list_del(struct ev *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = e->prev = NULL;
}

/* The worker this thread runs, if it is one. */
static __thread struct worker *self;

static void poll_add(struct worker *w, struct ev *e, unsigned events)
{
	struct epoll_event ee = { .events = events, .data.ptr = e };

	list_add(w, e);
	if (e->fd >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, e->fd, &ee))
		/* Let the owner fail it at once rather than hang. */
		e->deadline = 1;
}

void loop_add(struct ktlsd *d, struct worker *w, struct ev *e, unsigned events)
{
	struct queued *q;
	uint64_t one = 1;

	if (!w)
		w = &d->workers[atomic_fetch_add(&d->next_worker, 1) %
				d->n_workers];
	e->w = w;
	if (w == self) {
		/* Our own list: no queue, no wake-up through the eventfd. */
		poll_add(w, e, events);
		return;
	}
	q = malloc(sizeof(*q));
	if (!q)
		fatal("out of memory queueing work");
	q->e = e;
	q->events = events;
	pthread_mutex_lock(&w->qlock);
	q->next = w->queue;
	w->queue = q;
	pthread_mutex_unlock(&w->qlock);
	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fatal("waking worker: %m");
}

int loop_modify(struct ev *e, unsigned events)
{
	struct epoll_event ee = { .events = events, .data.ptr = e };

	return epoll_ctl(e->w->epfd, EPOLL_CTL_MOD, e->fd, &ee) ? -errno : 0;
}

void loop_unpoll(struct ev *e)
{
	if (e->fd >= 0)
		epoll_ctl(e->w->epfd, EPOLL_CTL_DEL, e->fd, NULL);
}

void loop_remove(struct ev *e)
{
	if (e->fd >= 0)
		epoll_ctl(e->w->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	if (e->next)
		list_del(e);
}

static void take_queue(struct worker *w)
{
	struct queued *q, *next;
	uint64_t n;

	if (read(w->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		fatal("reading eventfd: %m");
	pthread_mutex_lock(&w->qlock);
	q = w->queue;
	w->queue = NULL;
	pthread_mutex_unlock(&w->qlock);
	for (; q; q = next) {
		next = q->next;
		poll_add(w, q->e, q->events);
		free(q);
	}
}

/* Fire what has reached its deadline; return ms until the next one. */
static int run_timers(struct worker *w)
{
	int64_t now = now_ms(), next = now + 1000;
	struct ev *e, *n;

	for (e = w->head.next; e != &w->head; e = n) {
		n = e->next;
		if (!e->deadline)
			continue;
		if (e->deadline <= now) {
			e->deadline = 0;
			e->handle(e, EV_TIMEOUT);	/* may free e */
		} else if (e->deadline < next) {
			next = e->deadline;
		}
	}
	return next - now;
}

/* Tell everything this worker polls about a stop (EV_STOP, EV_EXIT). */
static void broadcast(struct worker *w, unsigned what)
{
	struct ev *e, *n;

	for (e = w->head.next; e != &w->head; e = n) {
		n = e->next;
		e->handle(e, what);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[64];
	int i, n, wait = 1000;

	self = w;
	keyproc_set_lane(w - w->d->workers);	/* hsproc.c opened it */
	for (;;) {
		if (atomic_load(&w->d->stopping) && !w->stop_seen) {
			w->stop_seen = 1;
			broadcast(w, EV_STOP);
			atomic_fetch_add(&w->d->stops_seen, 1);
		}
		if (w->stop_seen && !atomic_load(w->d->inflight) &&
		    !atomic_load(&w->d->holds)) {
			take_queue(w);
			broadcast(w, EV_EXIT);
			break;
		}
		n = epoll_wait(w->epfd, ev, 64, wait);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait: %m");
		for (i = 0; i < n; i++) {
			struct ev *e = ev[i].data.ptr;

			if (!e)
				take_queue(w);
			else
				e->handle(e, ev[i].events);
		}
		wait = run_timers(w);
	}
	return NULL;
}

int loop_start(struct ktlsd *d, unsigned n)
{
	unsigned i;
	int ret;

	d->workers = calloc(n, sizeof(*d->workers));
	if (!d->workers)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct worker *w = &d->workers[i];
		struct epoll_event ee = { .events = EPOLLIN, .data.ptr = NULL };

		w->d = d;
		w->head.next = w->head.prev = &w->head;
		pthread_mutex_init(&w->qlock, NULL);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		/* Kept: two syscalls less per handshake than one each. */
		w->diag_nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
				    NETLINK_SOCK_DIAG);
		if (w->epfd < 0 || w->efd < 0 || w->diag_nl < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &ee))
			return -errno;
	}
	d->n_workers = n;
	for (i = 0; i < n; i++) {
		ret = pthread_create(&d->workers[i].tid, NULL, worker_main,
				     &d->workers[i]);
		if (ret)
			fatal("starting worker %u: %s", i, strerror(ret));
	}
	return 0;
}

void loop_drain(struct ktlsd *d, int handover)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t one = 1;
	unsigned i;

	if (atomic_load(&d->stopping))
		return;
	atomic_store(&d->handover, handover);
	d->stop_ms = now_ms();
	atomic_store(&d->stopping, 1);
	for (i = 0; i < d->n_workers; i++)
		if (write(d->workers[i].efd, &one, sizeof(one)) < 0)
			log_warn("waking worker %u: %m", i);
	while (atomic_load(&d->stops_seen) < d->n_workers)
		nanosleep(&ms, NULL);
}

void loop_stop(struct ktlsd *d)
{
	unsigned i;

	loop_drain(d, 0);
	for (i = 0; i < d->n_workers; i++) {
		pthread_join(d->workers[i].tid, NULL);
		close(d->workers[i].epfd);
		close(d->workers[i].efd);
		close(d->workers[i].diag_nl);
		pthread_mutex_destroy(&d->workers[i].qlock);
	}
	free(d->workers);
	d->workers = NULL;
	d->n_workers = 0;
}

/* ---- Handshake jobs ---- */

/*
 * A burst leaves its memory in the workers' malloc arenas: about 12 KiB a
 * handshake, 120 MiB after 10,000 at once. When the last one is done,
 * give what is free back to the system, if the burst was large enough to
 * matter (small ones come and go all the time; trimming is not free).
 */
#define TRIM_AFTER_PEAK 256

static void note_peak(struct ktlsd *d, unsigned n)
{
	unsigned peak = atomic_load(&d->inflight_peak);

	while (n > peak &&
	       !atomic_compare_exchange_weak(&d->inflight_peak, &peak, n))
		;
}

static void idle(struct ktlsd *d)
{
	if (atomic_exchange(&d->inflight_peak, 0) >= TRIM_AFTER_PEAK)
		malloc_trim(0);
}

void loop_peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (!getpeername(fd, (struct sockaddr *)&ss, &sl)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 host, port);
}

static unsigned want_events(const struct job *j)
{
	return ktls_session_want(j->s) == KTLS_WANT_WRITE ? EPOLLOUT : EPOLLIN;
}

static const char *offload_name(enum ktls_offload m)
{
	switch (m) {
	case KTLS_OFFLOAD_SW: return "sw";
	case KTLS_OFFLOAD_HW: return "nic";
	case KTLS_OFFLOAD_NONE: return "none";
	default: return "unknown";
	}
}

static void job_finish(struct job *j, int status, const char *msg)
{
	const struct ktls_info *in;
	int64_t ms = now_ms() - j->start_ms;
	struct ktlsd *d;

	if (!status)
		offload_fix(j->d, j->s, j->ev.fd);
	in = status ? NULL : ktls_session_info(j->s);

	loop_remove(&j->ev);
	if (in)
		log_info("handshake %s profile %s uid %u: TLS %s %s, kTLS TX %s "
			 "RX %s, in %lld ms", j->peer, j->p->name,
			 (unsigned)j->uid,
			 in->version == KTLS_TLS13 ? "1.3" : "1.2",
			 in->cipher_name, offload_name(in->tx),
			 offload_name(in->rx), (long long)ms);
	else
		log_info("handshake %s profile %s uid %u failed in %lld ms: %s",
			 j->peer, j->p->name, (unsigned)j->uid, (long long)ms,
			 msg);
	/* Our copy goes before the reply: the application owns it next. */
	close(j->ev.fd);
	j->ev.fd = -1;
	stats_finished(j->d->stats, j->front, status, ms);
	if (in) {
		stats_installed(j->d->stats, j->front, in->tx, in->rx);
		offload_installed(j, in);
	}
	j->ops->done(j, status, msg, j->s);
	ktls_session_free(j->s);
	conf_put(j->conf);
	profile_free(j->own);
	free(j->own);
	d = j->d;
	free(j);
	if (atomic_fetch_sub(d->inflight, 1) == 1)
		idle(d);
}

/* A session for j->p on j's socket. 0, or -errno with *msg. */
/*
 * The front door checked the socket. The session never blocks, so the
 * application's file flags (its description is shared with our copy) are
 * left alone: no fcntl() before or after.
 */
static int job_session(struct job *j, const char **msg)
{
	int ret = session_new_daemon(&j->s, offload_pick(j, j->ev.fd),
				     j->ev.fd, 0, j->ev.w->diag_nl);

	/* Before the server name: it may make the GnuTLS session again. */
	if (!ret)
		ret = resume_prepare(j);
	if (!ret && j->server_name[0])
		ret = ktls_session_set_server_name(j->s, j->server_name);
	if (!ret && j->alpn[0])
		ret = ktls_session_set_alpn(j->s, j->alpn);
	if (ret)
		*msg = ret == -ENOMEM ? "Out of memory." :
		       "The socket or a request field was refused.";
	return ret;
}

/* The front door chose to try again (its retry op): a new session. */
static int job_restart(struct job *j, int status)
{
	const char *msg;
	int ret;

	if (status == -ETIMEDOUT || !j->ops->retry ||
	    !j->ops->retry(j, status, j->s))
		return 0;
	ktls_session_free(j->s);
	j->s = NULL;
	ret = job_session(j, &msg);
	if (ret)
		job_finish(j, ret, msg);
	else if (loop_modify(&j->ev, EPOLLOUT))
		job_finish(j, -EIO, "Polling the socket failed.");
	else
		j->armed = EPOLLOUT;
	return 1;
}

static void job_step(struct job *j)
{
	int ret = ktls_session_handshake(j->s);

	if (ret == -EAGAIN) {
		unsigned ev = want_events(j);

		/* Mostly the same again: epoll already waits for it. */
		if (ev != j->armed && loop_modify(&j->ev, ev)) {
			job_finish(j, -EIO, "Polling the socket failed.");
			return;
		}
		j->armed = ev;
		return;
	}
	if (ret && job_restart(j, ret))
		return;
	if (ret == -ETIMEDOUT)
		job_finish(j, ret, "The handshake did not finish in time.");
	else
		job_finish(j, ret, ret ? ktls_session_error(j->s) : "");
}

static void job_handle(struct ev *e, unsigned events)
{
	struct job *j = (struct job *)e;
	int64_t now = now_ms();

	if (j->ops->gone(j)) {
		job_finish(j, -ECANCELED, "The requester went away.");
		return;
	}
	if (now >= j->end_ms) {
		job_finish(j, -ETIMEDOUT, "The handshake did not finish in time.");
		return;
	}
	/* Wake at least once a second to notice a requester that left. */
	e->deadline = now + 1000 < j->end_ms ? now + 1000 : j->end_ms;
	if (!(events & (EV_TIMEOUT | EV_STOP)))
		job_step(j);
}

/* First call on the worker: set the session up. */
static void job_begin(struct ev *e, unsigned events)
{
	struct job *j = (struct job *)e;
	const char *msg;
	int ret;

	(void)events;
	e->handle = job_handle;
	ret = job_session(j, &msg);
	if (ret) {
		job_finish(j, ret, msg);
		return;
	}
	job_handle(e, 0);
}

int job_submit(struct ktlsd *d, struct job *j)
{
	unsigned max, n;

	/* A reload's drain serves the connections still open (handoff.c). */
	if (atomic_load(&d->stopping) &&
	    !(j->front == FRONT_HANDOFF && atomic_load(&d->handover)))
		return -ESHUTDOWN;
	max = j->conf->max_inflight;
	n = atomic_fetch_add(d->inflight, 1);
	if (n >= max) {
		atomic_fetch_sub(d->inflight, 1);
		stats_refused(d->stats, j->front);
		return -EBUSY;
	}
	note_peak(d, n + 1);
	j->d = d;
	j->start_ms = now_ms();
	j->end_ms = j->start_ms + j->timeout_ms;
	loop_peer_name(j->ev.fd, j->peer, sizeof(j->peer));
	j->ev.handle = job_begin;
	j->ev.deadline = 1;	/* begin on the worker's first pass */
	stats_accepted(d->stats, j->front);
	j->armed = EPOLLIN;
	loop_add(d, NULL, &j->ev, EPOLLIN);
	return 0;
}
