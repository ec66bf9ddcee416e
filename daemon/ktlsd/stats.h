/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Counters per front door (handoff, kernel upcall): what came in, how it
 * ended and how long it took. Lock-free: workers only add to atomics, the
 * control socket reads them.
 */
#ifndef KTLSD_STATS_H
#define KTLSD_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ktls.h"

enum front { FRONT_HANDOFF, FRONT_UPCALL, FRONT_COUNT };

/* Why a handshake failed, by its status (stats_reason()). */
enum stats_reason {
	R_TIMEOUT, R_VERIFY, R_ALERT, R_HANDSHAKE, R_KERNEL, R_CONFIG,
	R_PEER_GONE, R_CANCELED, R_PSK, R_REQUEST, R_OTHER, R_COUNT
};

/* Upper bounds in ms of the duration histogram; the last is open. */
#define STATS_BUCKETS 16

struct front_stats {
	atomic_ulong accepted;		/* admitted as a job */
	atomic_ulong succeeded, failed;
	atomic_ulong refused_busy;	/* over max_inflight */
	atomic_ulong missed;		/* upcall: another agent took it */
	atomic_ulong reply_failed;	/* the outcome could not be told */
	atomic_ulong reason[R_COUNT];
	atomic_ulong bucket[STATS_BUCKETS];
	atomic_ullong sum_ms;
	atomic_ullong max_ms;
	atomic_ulong installed[2][2];	/* [tx, rx][sw, hw] */
	/* prefer_nic_offload: sockets set up for the NIC, and of those the
	   ones the kernel put in software all the same */
	atomic_ulong nic_asked, nic_fallback;
};

/* Handshake processes at once: the serving one, one starting, the draining. */
#define STATS_SLOTS 8

/*
 * In memory the supervisor shares with its handshake processes: counts
 * survive a restart or a reload. Each process adds to inflight[] in its
 * own slot only; the supervisor zeroes a slot when its process is gone.
 */
struct stats {
	struct front_stats front[FRONT_COUNT];
	atomic_uint inflight[STATS_SLOTS];
	int64_t start_ms;		/* CLOCK_MONOTONIC */
	atomic_ulong reloads, reloads_refused;
	/* accept mode: connections closed unserved, subscribers full */
	atomic_ulong accept_dropped;
	/* resumption = yes: handshakes offered cached data or not, cached
	   entries pushed out by the bound */
	atomic_ulong resume_hits, resume_misses, resume_evicted;
	const char *tls_stat_path;	/* NULL: the kernel's (tests set it) */
};

enum stats_fmt { STATS_TEXT, STATS_JSON, STATS_PROMETHEUS };

enum stats_reason stats_reason(int status);
/* Handshakes in flight in every handshake process. */
unsigned stats_inflight(const struct stats *st);
const char *stats_front_name(enum front f);

void stats_accepted(struct stats *st, enum front f);
void stats_refused(struct stats *st, enum front f);
/* A finished handshake: status 0 or negative, and how long it took. */
void stats_finished(struct stats *st, enum front f, int status, int64_t ms);
/* Where the kernel does each direction's crypto on a socket we set up. */
void stats_installed(struct stats *st, enum front f, enum ktls_offload tx,
		     enum ktls_offload rx);
/* A socket set up for NIC offload: did the kernel use the NIC for TX? */
void stats_nic(struct stats *st, enum front f, int hw);
/* A reload (SIGHUP) that took effect (ok) or was refused. */
void stats_reloaded(struct stats *st, int ok);

/*
 * The counters into buf: as text (one "key value" line each), as JSON lines
 * (one object per front door), or in Prometheus' text format, which also
 * has inflight (handshakes running now), the reloads, kTLS installs and
 * the kernel's tls_stat counters. Returns the length, or -ENOSPC.
 */
int stats_format(const struct stats *st, enum stats_fmt fmt, unsigned inflight,
		 char *buf, size_t len);

#endif
