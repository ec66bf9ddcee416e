/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A handoff connection (handoff.c), shared with handoff_sub.c, which adds
 * accept mode's subscriptions to it, and accept.c, which delivers to them.
 */
#ifndef KTLSD_HANDOFF_H
#define KTLSD_HANDOFF_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "loop.h"
#include "wire.h"

/* A ready socket on its way to a subscriber, with its message. */
struct delivery {
	struct delivery *next;
	struct wire_buf m;		/* holds traffic secrets: wiped */
	size_t off;			/* sent so far (the fd went with 0) */
	int fd;
};

struct conn {
	struct ev ev;			/* owned by one worker */
	struct ktlsd *d;
	atomic_int refs;		/* the owner's, one per job and one
					   per subscription */
	/*
	 * Jobs reply from any worker: fd, out, out_off, gone, closing and
	 * the deliveries are read and written under the lock (the owner may
	 * read closing without it: nobody else writes it).
	 */
	pthread_mutex_t lock;
	int gone;			/* closed: replies are dropped */
	int closing;			/* close once out is flushed */
	struct wire_buf out;
	size_t out_off;
	struct delivery *dq, **dq_tail;	/* sent after out, one by one */
	unsigned n_dq;
	int subscribed;			/* in accept.c's list (the owner's) */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	gid_t *gids;
	size_t n_gids;
	unsigned idle_ms;		/* idle_timeout when accepted; 0: none */
	int64_t active_ms;		/* accepted, or the last request read */
	_Atomic int64_t done_ms;	/* the last job's end (its worker's) */
	int64_t idle_at;		/* the idle deadline armed; 0: none */
	uint8_t in[WIRE_HDR_LEN + WIRE_REQ_MAX];
	size_t in_len, want;		/* want: header, then whole message */
	int in_fd;			/* arrived with the message's first byte */
	int extra_fds;			/* more fds than one came: refuse */
	int shut;			/* draining: its read side shut */
};

/* ---- handoff.c ---- */

/* Drop a reference; the last frees c. */
void conn_put(struct conn *c);
/* The events the owner polls for. Under c->lock. */
unsigned conn_events(const struct conn *c);
/* Queue an encoded message for c from any worker, and send what we can. */
void conn_send(struct conn *c, const struct wire_buf *m);
void reply_error(struct conn *c, uint64_t id, int status, const char *msg);
/* A successful handshake's reply (s installed) into b: 0 or -errno. */
int handoff_encode_result(struct wire_buf *b, uint64_t id, int server,
			  const struct ktls_session *s, uint64_t ticket_token);

/* ---- handoff_sub.c: accept mode on a handoff connection ---- */

/* A subscription message (decoded as a request), on the owner's worker. */
void handoff_subscribe(struct conn *c, const struct wire_req *rq, int fd);
/*
 * From any worker: queue m (taken: emptied) with the ready socket fd
 * (taken) for c, unless c holds max deliveries unsent already (-ENOBUFS)
 * or is gone (-EPIPE); then m and fd stay the caller's.
 */
int handoff_deliver(struct conn *c, struct wire_buf *m, int fd, unsigned max);
/*
 * Under c->lock: send deliveries, the one begun only (all = 0) or every
 * one (all = 1, out being empty). 0 when done, 1 when some wait, -errno.
 */
int handoff_sub_flush(struct conn *c, int all);
/* The last reference: close the sockets never delivered. */
void handoff_sub_free(struct conn *c);

#endif
