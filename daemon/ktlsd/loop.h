/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ktlsd's engine: worker threads, each with its own epoll set, and the
 * handshake jobs they run. Front doors (handoff.c, upcall.c; main.c opens
 * them) feed jobs in and get the outcome back through a callback.
 */
#ifndef KTLSD_LOOP_H
#define KTLSD_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ktlsd.h"
#include "stats.h"

struct worker;
struct uid_use;

/* Something a worker polls: a socket, with an optional deadline. */
#define EV_TIMEOUT	(1u << 31)	/* passed to handle() at the deadline */
#define EV_STOP		(1u << 30)	/* the daemon is draining: take no more */
#define EV_EXIT		(1u << 29)	/* nothing in flight: close and free */
struct ev {
	int fd;
	struct worker *w;
	void (*handle)(struct ev *e, unsigned events);
	int64_t deadline;		/* ms on CLOCK_MONOTONIC, 0: none */
	struct ev *next, *prev;		/* the worker's list, or its queue */
};

struct ktlsd {
	pthread_mutex_t conf_lock;
	struct conf *conf;		/* current; take it with ktlsd_conf() */
	unsigned n_workers;
	struct worker *workers;
	atomic_uint next_worker;
	atomic_uint *inflight;		/* handshakes queued or running: this
					   process's slot in stats */
	atomic_uint inflight_peak;	/* the most since we were last idle */
	atomic_int stopping;
	atomic_int handover;		/* the drain is a reload's: open
					   connections are still served */
	int64_t stop_ms;		/* when the drain began */
	atomic_uint stops_seen;		/* workers that passed EV_STOP on */
	atomic_uint holds;		/* connections that may still ask: the
					   drain ends after them */
	struct stats *stats;		/* per front door (stats.c), shared with
					   the supervisor and later processes */
	struct upcall *upcall;		/* upcall.c's, or NULL */
	struct acceptor *acceptor;	/* accept.c's, or NULL */
	struct resume *resume;		/* resume.c's, or NULL: none kept */
	int offload_fd;			/* offload.c: to the supervisor, or -1 */
	pthread_mutex_t offload_lock;
	/* uidlimit.c: connections and handshakes per uid, hashed by uid */
	pthread_mutex_t uid_lock;
	struct uid_use *uid_use[64];
	/* offload.c: devices whose silent software fallback was logged */
	pthread_mutex_t nic_lock;
#define NIC_SAID_MAX	32
	char nic_said[NIC_SAID_MAX][40];
	size_t n_nic_said;
};

/* A reference to the configuration in force; conf_put() it. */
struct conf *ktlsd_conf(struct ktlsd *d);
/* Replace it (the old one lives on while jobs hold it). */
void ktlsd_set_conf(struct ktlsd *d, struct conf *c);

int64_t now_ms(void);
/* "ADDR:PORT" of fd's peer (or "?"), for log lines. */
void loop_peer_name(int fd, char *buf, size_t len);

/* Start n workers; 0 or -errno. */
int loop_start(struct ktlsd *d, unsigned n);
/*
 * Drain, begun: every polled ev gets EV_STOP; returns once every worker
 * has passed it on (the listeners are closed: nothing new comes in).
 * handover: a reload's drain, where a new process takes over; requests on
 * connections still open are served, not refused.
 */
#define LOOP_DRAIN_MAX_MS	10000	/* then connections are made to go */
void loop_drain(struct ktlsd *d, int handover);
/*
 * Drain, ended: jobs run to their end and held connections close (at
 * most LOOP_DRAIN_MAX_MS after the start), then every ev left gets
 * EV_EXIT and the workers are joined. Begins the drain if not begun.
 */
void loop_stop(struct ktlsd *d);

/*
 * Give e to a worker (w, or the next in turn when NULL): it registers e->fd
 * for events and owns e from then on. Callable from any thread.
 */
void loop_add(struct ktlsd *d, struct worker *w, struct ev *e, unsigned events);
/* Change the events of e, owned by the calling thread's worker or not. */
int loop_modify(struct ev *e, unsigned events);
/*
 * On e's worker: stop polling e->fd but keep e on the worker's list, for
 * EV_EXIT (the fd is not closed).
 */
void loop_unpoll(struct ev *e);
/* On e's worker: stop polling e (the fd is not closed). */
void loop_remove(struct ev *e);

/* ---- Handshake jobs ---- */

struct job;

/* How a front door learns the outcome; called on the job's worker. */
struct job_ops {
	/*
	 * status is 0 with s installed, or a negative error with msg. The
	 * socket and s are freed after it returns.
	 */
	void (*done)(struct job *j, int status, const char *msg,
		     const struct ktls_session *s);
	/* Nonzero when whoever asked has gone: the job is dropped. */
	int (*gone)(struct job *j);
	/*
	 * Optional: after a failed handshake (status, with s), nonzero when
	 * j->p was replaced and the handshake is to start over on the same
	 * socket (a client offering its next PSK identity, as tlshd does).
	 */
	int (*retry)(struct job *j, int status, const struct ktls_session *s);
};

struct job {
	struct ev ev;			/* ev.fd: our copy of the TCP socket */
	struct ktlsd *d;
	const struct job_ops *ops;
	void *owner;			/* the front door's */
	uint64_t id;
	struct conf *conf;		/* a reference, for p's lifetime */
	const struct profile *p;
	struct profile *own;		/* p when it is the job's alone (keys
					   the kernel named), freed with it */
	char server_name[256], alpn[256];
	unsigned timeout_ms;
	uid_t uid;
	int64_t start_ms, end_ms;
	struct ktls_session *s;
	char peer[64];
	enum front front;		/* who counts it: FRONT_HANDOFF (0) */
	unsigned armed;			/* the events epoll waits for */
	int nic;			/* got the profile's nic_cfg */
	char nic_dev[40];		/* the route's device (offload.c) */
};

/*
 * Admit a job: counts it against max_inflight, then queues it on the
 * next worker. Returns 0, or -EBUSY / -ESHUTDOWN (the caller still owns j
 * and replies itself).
 */
int job_submit(struct ktlsd *d, struct job *j);

/* ---- offload.c: prefer_nic_offload ---- */

/*
 * The configuration for j's socket fd: the profile's nic_cfg when it has
 * one and fd's device offloads TLS (j->nic set), else its cfg.
 */
const struct ktls_config *offload_pick(struct job *j, int fd);
/* After the install: count, and log a silent software fallback once. */
void offload_installed(struct job *j, const struct ktls_info *in);

/* ---- resume.c: client resumption (resumption = yes) ---- */

struct resume;
struct resume *resume_new(void);
void resume_free(struct resume *r);
/*
 * Before j's handshake (its session made): offer the resumption data
 * cached for j's server name, if j's profile resumes. 0 or -ENOMEM.
 */
int resume_prepare(struct job *j);
/*
 * After j's successful TLS 1.3 handshake, before the reply: keep its
 * GnuTLS session (taken from j->s) for the ticket the program sends
 * back. The token for the reply, or 0 (nothing kept).
 */
uint64_t resume_keep(struct job *j);
/*
 * A ticket message's body from a handoff connection of uid: the kept
 * session with its token, if uid's, takes the ticket and fills the cache.
 * 0 (used or not), or -EBADMSG with *why for a malformed one.
 */
int resume_ticket(struct ktlsd *d, uid_t uid, const uint8_t *body,
		  size_t len, const char **why);

/* ---- offload_query.c: the offload report, asked of the supervisor ---- */

struct ktls_session;
/* The socket pair: [0] the supervisor's, [1] the handshake process's. */
int offload_pair(int fds[2]);
/*
 * In the handshake process, before our copy of fd closes: if s reports its
 * offload as unknown (sock_diag withheld it), ask the supervisor.
 */
void offload_fix(struct ktlsd *d, struct ktls_session *s, int fd);
/* In the supervisor: answer one query waiting on fd. */
void offload_answer(int fd);

#endif
