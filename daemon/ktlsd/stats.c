// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-front-door counters and a fixed duration histogram. Percentiles are
 * read off the histogram: they are the upper bound of the bucket the
 * percentile falls in, which is as precise as an operator needs ("p99 is
 * under 200 ms") at the cost of sixteen counters.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "ktls.h"
#include "stats.h"

static const unsigned bounds[STATS_BUCKETS - 1] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000,
	60000,
};

static const char *const reason_names[R_COUNT] = {
	[R_TIMEOUT] = "timeout",
	[R_VERIFY] = "verify",
	[R_ALERT] = "alert",
	[R_HANDSHAKE] = "handshake",
	[R_KERNEL] = "kernel",
	[R_CONFIG] = "config",
	[R_PEER_GONE] = "peer_gone",
	[R_CANCELED] = "canceled",
	[R_PSK] = "psk_unknown",
	[R_REQUEST] = "bad_request",
	[R_OTHER] = "other",
};

enum stats_reason stats_reason(int status)
{
	switch (status) {
	case -ETIMEDOUT:
		return R_TIMEOUT;
	case -KTLS_E_VERIFY:
	case -EACCES:
		return R_VERIFY;
	case -KTLS_E_ALERT:
		return R_ALERT;
	case -KTLS_E_HANDSHAKE:
		return R_HANDSHAKE;
	case -KTLS_E_NO_KTLS:
	case -KTLS_E_CIPHER:
		return R_KERNEL;
	case -KTLS_E_CONFIG:
		return R_CONFIG;
	case -ECONNRESET:
	case -EPIPE:
	case -ENOTCONN:
		return R_PEER_GONE;
	case -ECANCELED:
		return R_CANCELED;
	case -EKEYREJECTED:
	case -ENOKEY:
		return R_PSK;
	case -EINVAL:
	case -EBADF:
	case -ENOTSOCK:
	case -EPROTONOSUPPORT:
	case -EOPNOTSUPP:
		return R_REQUEST;
	}
	return R_OTHER;
}

const char *stats_front_name(enum front f)
{
	return f == FRONT_UPCALL ? "upcall" : "handoff";
}

unsigned stats_inflight(const struct stats *st)
{
	unsigned n = 0;
	int i;

	for (i = 0; i < STATS_SLOTS; i++)
		n += atomic_load(&st->inflight[i]);
	return n;
}

void stats_accepted(struct stats *st, enum front f)
{
	atomic_fetch_add(&st->front[f].accepted, 1);
}

void stats_refused(struct stats *st, enum front f)
{
	atomic_fetch_add(&st->front[f].refused_busy, 1);
}

static int offload_index(enum ktls_offload m)
{
	return m == KTLS_OFFLOAD_SW ? 0 : m == KTLS_OFFLOAD_HW ? 1 : -1;
}

void stats_installed(struct stats *st, enum front f, enum ktls_offload tx,
		     enum ktls_offload rx)
{
	int t = offload_index(tx), r = offload_index(rx);

	if (t >= 0)
		atomic_fetch_add(&st->front[f].installed[0][t], 1);
	if (r >= 0)
		atomic_fetch_add(&st->front[f].installed[1][r], 1);
}

void stats_nic(struct stats *st, enum front f, int hw)
{
	atomic_fetch_add(&st->front[f].nic_asked, 1);
	if (!hw)
		atomic_fetch_add(&st->front[f].nic_fallback, 1);
}

void stats_reloaded(struct stats *st, int ok)
{
	atomic_fetch_add(ok ? &st->reloads : &st->reloads_refused, 1);
}

void stats_finished(struct stats *st, enum front f, int status, int64_t ms)
{
	struct front_stats *fs = &st->front[f];
	unsigned long long m = ms < 0 ? 0 : (unsigned long long)ms, max;
	unsigned i;

	if (status) {
		atomic_fetch_add(&fs->failed, 1);
		atomic_fetch_add(&fs->reason[stats_reason(status)], 1);
		return;
	}
	atomic_fetch_add(&fs->succeeded, 1);
	for (i = 0; i < STATS_BUCKETS - 1 && m > bounds[i]; i++)
		;
	atomic_fetch_add(&fs->bucket[i], 1);
	atomic_fetch_add(&fs->sum_ms, m);
	max = atomic_load(&fs->max_ms);
	while (m > max && !atomic_compare_exchange_weak(&fs->max_ms, &max, m))
		;
}

/* The upper bound of the bucket holding the p-th percentile (0 if none). */
static unsigned long long percentile(const struct front_stats *fs,
				     unsigned long n, unsigned p)
{
	unsigned long want = (n * p + 99) / 100, seen = 0;
	unsigned i;

	if (!n)
		return 0;
	for (i = 0; i < STATS_BUCKETS; i++) {
		seen += atomic_load(&fs->bucket[i]);
		if (seen >= want)
			return i < STATS_BUCKETS - 1 ? bounds[i]
						     : atomic_load(&fs->max_ms);
	}
	return atomic_load(&fs->max_ms);
}

struct out {
	char *buf;
	size_t len, used;
	int full;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = 1;
	else
		o->used += n;
}

static void format_front(struct out *o, const struct stats *st, enum front f,
			 int json, long uptime)
{
	const struct front_stats *fs = &st->front[f];
	const char *name = stats_front_name(f);
	unsigned long ok = atomic_load(&fs->succeeded);
	unsigned long long mean = ok ? atomic_load(&fs->sum_ms) / ok : 0;
	unsigned i;

	if (json) {
		put(o, "{\"front\":\"%s\",\"uptime_s\":%ld,\"accepted\":%lu,"
		    "\"succeeded\":%lu,\"failed\":%lu,\"refused_busy\":%lu,"
		    "\"missed\":%lu,\"reply_failed\":%lu,", name, uptime,
		    atomic_load(&fs->accepted), ok, atomic_load(&fs->failed),
		    atomic_load(&fs->refused_busy), atomic_load(&fs->missed),
		    atomic_load(&fs->reply_failed));
		/* Accept mode's connections come through the handoff door. */
		if (f == FRONT_HANDOFF)
			put(o, "\"accept_dropped\":%lu,",
			    atomic_load(&st->accept_dropped));
		put(o, "\"failed_by_reason\":{");
		for (i = 0; i < R_COUNT; i++)
			put(o, "%s\"%s\":%lu", i ? "," : "", reason_names[i],
			    atomic_load(&fs->reason[i]));
		put(o, "},\"duration_ms\":{\"mean\":%llu,\"p50\":%llu,"
		    "\"p99\":%llu,\"max\":%llu}}\n", mean,
		    percentile(fs, ok, 50), percentile(fs, ok, 99),
		    (unsigned long long)atomic_load(&fs->max_ms));
		return;
	}
	put(o, "%s.accepted %lu\n%s.succeeded %lu\n%s.failed %lu\n"
	    "%s.refused_busy %lu\n", name, atomic_load(&fs->accepted), name, ok,
	    name, atomic_load(&fs->failed), name,
	    atomic_load(&fs->refused_busy));
	if (f == FRONT_UPCALL)
		put(o, "%s.missed %lu\n", name, atomic_load(&fs->missed));
	put(o, "%s.reply_failed %lu\n", name, atomic_load(&fs->reply_failed));
	if (f == FRONT_HANDOFF)
		put(o, "%s.accept_dropped %lu\n", name,
		    atomic_load(&st->accept_dropped));
	put(o, "%s.nic_asked %lu\n%s.nic_fallback %lu\n", name,
	    atomic_load(&fs->nic_asked), name, atomic_load(&fs->nic_fallback));
	for (i = 0; i < R_COUNT; i++)
		put(o, "%s.failed.%s %lu\n", name, reason_names[i],
		    atomic_load(&fs->reason[i]));
	put(o, "%s.duration_ms.mean %llu\n%s.duration_ms.p50 %llu\n"
	    "%s.duration_ms.p99 %llu\n%s.duration_ms.max %llu\n", name, mean,
	    name, percentile(fs, ok, 50), name, percentile(fs, ok, 99), name,
	    (unsigned long long)atomic_load(&fs->max_ms));
}

/* ---- Prometheus' text format (version 0.0.4) ---- */

static void prom_family(struct out *o, const char *name, const char *type,
			const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One counter per front door, from the field at offset off. */
static void prom_per_front(struct out *o, const struct stats *st,
			   const char *name, const char *help, size_t off,
			   enum front only)
{
	unsigned f;

	prom_family(o, name, "counter", help);
	for (f = 0; f < FRONT_COUNT; f++) {
		const atomic_ulong *v = (const atomic_ulong *)
			((const char *)&st->front[f] + off);

		if (only == FRONT_COUNT || only == f)
			put(o, "%s{front=\"%s\"} %lu\n", name,
			    stats_front_name(f), atomic_load(v));
	}
}

static void prom_outcomes(struct out *o, const struct stats *st)
{
	static const char name[] = "ktlsd_handshakes_total";
	unsigned f, i;

	prom_family(o, name, "counter", "Handshakes finished, by front door, "
		    "outcome and, for failures, reason.");
	for (f = 0; f < FRONT_COUNT; f++) {
		const struct front_stats *fs = &st->front[f];

		put(o, "%s{front=\"%s\",outcome=\"success\"} %lu\n", name,
		    stats_front_name(f), atomic_load(&fs->succeeded));
		for (i = 0; i < R_COUNT; i++)
			put(o, "%s{front=\"%s\",outcome=\"failure\","
			    "reason=\"%s\"} %lu\n", name, stats_front_name(f),
			    reason_names[i], atomic_load(&fs->reason[i]));
	}
}

/*
 * Prometheus' buckets are cumulative and in seconds; ours count each range
 * alone, in ms. The count is the buckets' sum rather than "succeeded",
 * which a handshake finishing now may already have raised: +Inf and
 * _count must agree.
 */
static void prom_histogram(struct out *o, const struct stats *st)
{
	static const char name[] = "ktlsd_handshake_duration_seconds";
	unsigned long seen;
	unsigned f, i;

	prom_family(o, name, "histogram", "How long successful handshakes "
		    "took, from admission to the keys installed.");
	for (f = 0; f < FRONT_COUNT; f++) {
		const struct front_stats *fs = &st->front[f];
		const char *fn = stats_front_name(f);

		seen = 0;
		for (i = 0; i < STATS_BUCKETS; i++) {
			seen += atomic_load(&fs->bucket[i]);
			if (i < STATS_BUCKETS - 1)
				put(o, "%s_bucket{front=\"%s\",le=\"%g\"} %lu\n",
				    name, fn, bounds[i] / 1000.0, seen);
		}
		put(o, "%s_bucket{front=\"%s\",le=\"+Inf\"} %lu\n"
		    "%s_sum{front=\"%s\"} %.3f\n%s_count{front=\"%s\"} %lu\n",
		    name, fn, seen, name, fn,
		    atomic_load(&fs->sum_ms) / 1000.0, name, fn, seen);
	}
}

static void prom_installs(struct out *o, const struct stats *st)
{
	static const char name[] = "ktlsd_ktls_installs_total";
	static const char *const dir[2] = { "tx", "rx" }, *const how[2] = {
		"sw", "hw"
	};
	unsigned f, d, m;

	prom_family(o, name, "counter", "Directions of sockets ktlsd handed "
		    "to kernel TLS, by where their crypto runs (sw: the "
		    "kernel, hw: the NIC).");
	for (f = 0; f < FRONT_COUNT; f++)
		for (d = 0; d < 2; d++)
			for (m = 0; m < 2; m++)
				put(o, "%s{front=\"%s\",direction=\"%s\","
				    "mode=\"%s\"} %lu\n", name,
				    stats_front_name(f), dir[d], how[m],
				    atomic_load(&st->front[f].installed[d][m]));
}

static void prom_daemon(struct out *o, const struct stats *st,
			unsigned inflight, double start)
{
	prom_family(o, "ktlsd_start_time_seconds", "gauge",
		    "When ktlsd started, in seconds since the Unix epoch.");
	put(o, "ktlsd_start_time_seconds %.3f\n", start);
	prom_family(o, "ktlsd_handshakes_in_flight", "gauge",
		    "Handshakes queued or running now, all front doors.");
	put(o, "ktlsd_handshakes_in_flight %u\n", inflight);
	prom_family(o, "ktlsd_reloads_total", "counter", "Configuration "
		    "reloads (SIGHUP), by whether they took effect.");
	put(o, "ktlsd_reloads_total{result=\"success\"} %lu\n"
	    "ktlsd_reloads_total{result=\"refused\"} %lu\n",
	    atomic_load(&st->reloads), atomic_load(&st->reloads_refused));
	prom_family(o, "ktlsd_accept_dropped_total", "counter", "Accept "
		    "mode: connections closed unserved (every subscriber's "
		    "queue full, or over a handshake limit).");
	put(o, "ktlsd_accept_dropped_total %lu\n",
	    atomic_load(&st->accept_dropped));
	prom_family(o, "ktlsd_resumption_cache_total", "counter", "Client "
		    "profiles with resumption = yes: handshakes that offered "
		    "cached data (hit) or had none (miss), entries evicted by "
		    "resumption_cache.");
	put(o, "ktlsd_resumption_cache_total{result=\"hit\"} %lu\n"
	    "ktlsd_resumption_cache_total{result=\"miss\"} %lu\n"
	    "ktlsd_resumption_cache_total{result=\"evicted\"} %lu\n",
	    atomic_load(&st->resume_hits), atomic_load(&st->resume_misses),
	    atomic_load(&st->resume_evicted));
}

/*
 * A tls_stat counter: TlsTxSw becomes ktlsd_kernel_tls_tx_sw_total, and
 * the TlsCurr* ones, which go down too, gauges without _total.
 */
static int prom_tls_stat(const char *name, unsigned long long v, void *arg)
{
	const char *meaning = tls_stat_meaning(name), *s = name;
	char metric[160] = "ktlsd_kernel_tls";
	size_t n = strlen(metric);
	int gauge;

	if (!strncmp(s, "Tls", 3))
		s += 3;
	gauge = !strncmp(s, "Curr", 4);
	for (; *s && n < sizeof(metric) - 16; s++) {
		if (isupper((unsigned char)*s))
			metric[n++] = '_';
		metric[n++] = tolower((unsigned char)*s);
	}
	metric[n] = 0;
	if (!gauge)
		strcat(metric, "_total");
	put(arg, "# HELP %s The kernel's %s: %s (all of this network "
	    "namespace, not ktlsd's alone).\n# TYPE %s %s\n%s %llu\n", metric,
	    name, meaning ? meaning : "see the kernel's tls documentation",
	    metric, gauge ? "gauge" : "counter", metric, v);
	return 0;
}

static void format_prometheus(struct out *o, const struct stats *st,
			      unsigned inflight, double start)
{
	prom_daemon(o, st, inflight, start);
	prom_per_front(o, st, "ktlsd_handshakes_accepted_total", "Handshakes "
		       "admitted, by front door.",
		       offsetof(struct front_stats, accepted), FRONT_COUNT);
	prom_outcomes(o, st);
	prom_histogram(o, st);
	prom_per_front(o, st, "ktlsd_handshakes_refused_busy_total",
		       "Handshakes refused because max_inflight were running.",
		       offsetof(struct front_stats, refused_busy), FRONT_COUNT);
	prom_per_front(o, st, "ktlsd_upcall_missed_total", "Kernel "
		       "handshake requests another agent took first.",
		       offsetof(struct front_stats, missed), FRONT_UPCALL);
	prom_per_front(o, st, "ktlsd_replies_failed_total", "Outcomes that "
		       "could not be told to whoever asked.",
		       offsetof(struct front_stats, reply_failed), FRONT_COUNT);
	prom_installs(o, st);
	prom_per_front(o, st, "ktlsd_nic_offload_asked_total", "Sockets set "
		       "up for NIC offload (prefer_nic_offload, device on).",
		       offsetof(struct front_stats, nic_asked), FRONT_HANDOFF);
	prom_per_front(o, st, "ktlsd_nic_offload_fallback_total", "Of those, "
		       "the ones the kernel put in software all the same.",
		       offsetof(struct front_stats, nic_fallback), FRONT_HANDOFF);
	/* No file: no tls module, nothing to say. */
	tls_stat_read(st->tls_stat_path, prom_tls_stat, o);
}

int stats_format(const struct stats *st, enum stats_fmt fmt, unsigned inflight,
		 char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };
	struct timespec ts, wall;
	int64_t up_ms;
	unsigned f;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_gettime(CLOCK_REALTIME, &wall);
	up_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - st->start_ms;
	if (fmt == STATS_PROMETHEUS) {
		format_prometheus(&o, st, inflight, wall.tv_sec +
				  wall.tv_nsec / 1e9 - up_ms / 1000.0);
		return o.full ? -ENOSPC : (int)o.used;
	}
	if (fmt == STATS_TEXT)
		put(&o, "uptime_s %ld\n", (long)(up_ms / 1000));
	for (f = 0; f < FRONT_COUNT; f++)
		format_front(&o, st, f, fmt == STATS_JSON, (long)(up_ms / 1000));
	return o.full ? -ENOSPC : (int)o.used;
}
