/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Client resumption data by server name (rcache.c): LRU, bounded by entry
 * count and bytes, expiring entries. Not thread-safe: the caller locks.
 */
#ifndef KTLSD_RCACHE_H
#define KTLSD_RCACHE_H

#include <stddef.h>
#include <stdint.h>

#define RCACHE_NAME_MAX	255

struct rcache;

struct rcache_counts {
	unsigned entries;
	size_t bytes;			/* entries' data and bookkeeping */
	unsigned long hits, misses, evicted, expired;
};

/* At most max_entries entries and max_bytes bytes (both > 0), or NULL. */
struct rcache *rcache_new(unsigned max_entries, size_t max_bytes);
/* Every entry wiped, then c freed. NULL is fine. */
void rcache_free(struct rcache *c);
/*
 * A copy of data (len > 0) for name, valid until expires_ms (later than
 * now_ms); an entry of the same name goes, then the least recently used
 * ones until both bounds hold. 0, -EINVAL, -E2BIG (one entry over the
 * byte bound), -ENOMEM.
 */
int rcache_put(struct rcache *c, const char *name, const void *data,
	       size_t len, int64_t expires_ms, int64_t now_ms);
/*
 * A copy of name's data in *data (malloc'd: the caller wipes and frees
 * it), the entry now the most recently used. 0, -ENOENT (none, or
 * expired: then it goes), -ENOMEM.
 */
int rcache_get(struct rcache *c, const char *name, int64_t now_ms,
	       uint8_t **data, size_t *len);
void rcache_counts(const struct rcache *c, struct rcache_counts *out);

#endif
