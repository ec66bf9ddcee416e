// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-front-door counters and a fixed duration histogram. Percentiles are
 * read off the histogram: they are the upper bound of the bucket the
 * percentile falls in, which is as precise as an operator needs ("p99 is
 * under 200 ms") at the cost of sixteen counters.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

void stats_accepted(struct stats *st, enum front f)
{
	atomic_fetch_add(&st->front[f].accepted, 1);
}

void stats_refused(struct stats *st, enum front f)
{
	atomic_fetch_add(&st->front[f].refused_busy, 1);
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
		    "\"missed\":%lu,\"reply_failed\":%lu,\"failed_by_reason\":{",
		    name, uptime, atomic_load(&fs->accepted), ok,
		    atomic_load(&fs->failed), atomic_load(&fs->refused_busy),
		    atomic_load(&fs->missed), atomic_load(&fs->reply_failed));
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
	for (i = 0; i < R_COUNT; i++)
		put(o, "%s.failed.%s %lu\n", name, reason_names[i],
		    atomic_load(&fs->reason[i]));
	put(o, "%s.duration_ms.mean %llu\n%s.duration_ms.p50 %llu\n"
	    "%s.duration_ms.p99 %llu\n%s.duration_ms.max %llu\n", name, mean,
	    name, percentile(fs, ok, 50), name, percentile(fs, ok, 99), name,
	    (unsigned long long)atomic_load(&fs->max_ms));
}

int stats_format(const struct stats *st, int json, char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };
	struct timespec ts;
	long uptime;
	unsigned f;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	uptime = (long)(((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
			 st->start_ms) / 1000);
	if (!json)
		put(&o, "uptime_s %ld\n", uptime);
	for (f = 0; f < FRONT_COUNT; f++)
		format_front(&o, st, f, json, uptime);
	return o.full ? -ENOSPC : (int)o.used;
}
