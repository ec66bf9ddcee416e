// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A cache of client resumption data by server name: least recently used
 * first out, bounded by entries and by bytes, each entry with the expiry
 * its ticket gave. No lock and no clock of its own: resume.c holds its
 * lock around every call and passes the time, which the tests choose.
 * Entries hold resumption secrets: wiped when they go, never realloc'd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "rcache.h"

struct rc_entry {
	struct rc_entry *prev, *next;	/* prev: more recently used */
	int64_t expires_ms;
	size_t len, size;		/* the data's; the whole allocation */
	char name[RCACHE_NAME_MAX + 1];
	uint8_t data[];
};

struct rcache {
	struct rc_entry *head, *tail;	/* head: the most recently used */
	unsigned n, max_n;
	size_t bytes, max_bytes;
	struct rcache_counts counts;
};

struct rcache *rcache_new(unsigned max_entries, size_t max_bytes)
{
	struct rcache *c;

	if (!max_entries || !max_bytes)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->max_n = max_entries;
	c->max_bytes = max_bytes;
	return c;
}

static void unlink_entry(struct rcache *c, struct rc_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(struct rcache *c, struct rc_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void drop(struct rcache *c, struct rc_entry *e)
{
	unlink_entry(c, e);
	c->n--;
	c->bytes -= e->size;
	gnutls_memset(e, 0, e->size);
	free(e);
}

void rcache_free(struct rcache *c)
{
	if (!c)
		return;
	while (c->head)
		drop(c, c->head);
	free(c);
}

static struct rc_entry *find(struct rcache *c, const char *name)
{
	struct rc_entry *e;

	for (e = c->head; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

int rcache_put(struct rcache *c, const char *name, const void *data,
	       size_t len, int64_t expires_ms, int64_t now_ms)
{
	size_t size = sizeof(struct rc_entry) + len;
	struct rc_entry *e;

	if (!len || strlen(name) > RCACHE_NAME_MAX)
		return -EINVAL;
	if (size > c->max_bytes)
		return -E2BIG;
	if (expires_ms <= now_ms)
		return -EINVAL;
	e = find(c, name);
	if (e)			/* the newer ticket replaces the older */
		drop(c, e);
	e = malloc(size);
	if (!e)
		return -ENOMEM;
	memset(e, 0, sizeof(*e));
	strcpy(e->name, name);
	memcpy(e->data, data, len);
	e->len = len;
	e->size = size;
	e->expires_ms = expires_ms;
	while (c->tail && (c->n + 1 > c->max_n ||
			   c->bytes + size > c->max_bytes)) {
		if (c->tail->expires_ms <= now_ms)
			c->counts.expired++;
		else
			c->counts.evicted++;
		drop(c, c->tail);
	}
	push_front(c, e);
	c->n++;
	c->bytes += size;
	return 0;
}

int rcache_get(struct rcache *c, const char *name, int64_t now_ms,
	       uint8_t **data, size_t *len)
{
	struct rc_entry *e = find(c, name);

	if (e && e->expires_ms <= now_ms) {
		c->counts.expired++;
		drop(c, e);
		e = NULL;
	}
	if (!e) {
		c->counts.misses++;
		return -ENOENT;
	}
	*data = malloc(e->len);
	if (!*data)
		return -ENOMEM;
	memcpy(*data, e->data, e->len);
	*len = e->len;
	unlink_entry(c, e);
	push_front(c, e);
	c->counts.hits++;
	return 0;
}

void rcache_counts(const struct rcache *c, struct rcache_counts *out)
{
	*out = c->counts;
	out->entries = c->n;
	out->bytes = c->bytes;
}
