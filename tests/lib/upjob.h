/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kernel handshake requests run the way ktlsd runs them, on the host: a
 * request's credentials from upcall_creds(), a job on ktlsd's worker loop
 * with the upcall's retry op and the status DONE would carry
 * (upcall_status()); only the netlink ACCEPT and DONE are not there (the
 * host has no handshake family). The peer is libktls in a thread of the
 * test, on the other end of a loopback TCP connection (tests/lib/upjob.c).
 */
#ifndef KTLS_UPJOB_H
#define KTLS_UPJOB_H

#include <stdatomic.h>

#include "loop.h"
#include "upcall.h"

#define UPJOB_TRIES 4

/* The peer: handshakes on one connection until one succeeds or EOF. */
struct upjob_peer {
	int fd;
	struct ktls_config *cfg;	/* the test's */
	int raw_alert;			/* instead: this alert to each hello */
	int rets[UPJOB_TRIES];
	int alerts[UPJOB_TRIES];	/* the alert each attempt sent, or -1 */
	int n;				/* handshakes that began */
	char suite[64];			/* of the one that got through */
	int prf;			/* its hash (gnutls_digest_algorithm_t) */
	atomic_int idle;		/* waiting for a ClientHello, or done */
};

/* What DONE would have said, and what the request had come to. */
struct upjob_outcome {
	int status;
	int32_t psk_used;
	unsigned psk_next;
	unsigned timeout_ms;
};

/*
 * d as the handshake process has it, serving c: its lock, its counters
 * (static storage, one set per test process).
 */
void upjob_daemon(struct ktlsd *d, struct conf *c);

/*
 * A request r (type, auth, keys, peername, timeout filled in; taken over,
 * freed by the loop or here) on the connection cfd, whose other end the
 * peer serves: credentials, job, wait for the outcome. 0, or a positive
 * errno from upcall_creds() (the request refused before a job), or
 * -errno.
 */
int upjob_run(struct ktlsd *d, struct upreq *r, int cfd,
	      struct upjob_peer *peer, struct upjob_outcome *out);

#endif
