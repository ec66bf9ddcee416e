// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Client resumption through ktlsd (docs/handoff.md, "Tickets"): a client
 * profile with resumption = yes keeps, per server name, the resumption
 * data of its TLS 1.3 handshakes (rcache.c), and offers it on the next
 * handshake to that name.
 *
 * A TLS 1.3 server sends its tickets after the handshake, so they reach
 * the program, through the kernel, not ktlsd. ktlsd therefore keeps the
 * GnuTLS session of each such handshake (not the socket) for a short time,
 * and its reply carries a random token; libktls sends the ticket back
 * with that token (a ticket message, on a connection of its own), and the
 * kept session turns it into resumption data, as GnuTLS would have had
 * it read the ticket itself. Kept sessions are bounded in count and time;
 * a ticket is taken only from the uid that made the handoff.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "daemon.h"
#include "loop.h"
#include "rcache.h"
#include "wire.h"

#define KEEP_MAX	256		/* GnuTLS sessions waiting for tickets */
#define KEEP_MS		30000		/* for this long each, at most */
#define ENTRY_BYTES	8192		/* the byte bound: entries times this */
#define LIFETIME_MAX_S	(7 * 86400)	/* RFC 8446, 4.6.1 */

struct kept {
	uint64_t token;
	uid_t uid;
	int64_t until;
	gnutls_session_t gs;
	struct conf *conf;		/* a reference: gs uses its credentials */
	struct rcache *cache;
	char name[RCACHE_NAME_MAX + 1];
};

/* One cache per profile name, made at its first use. */
struct pcache {
	struct pcache *next;
	struct rcache *c;
	char profile[RCACHE_NAME_MAX + 1];
};

struct resume {
	pthread_mutex_t lock;
	struct kept kept[KEEP_MAX];
	size_t n_kept;
	struct pcache *caches;
};

/* ---- The state: kept sessions and caches ---- */

struct resume *resume_new(void)
{
	struct resume *r = calloc(1, sizeof(*r));

	if (r)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

static void kept_free(struct kept *k)
{
	gnutls_deinit(k->gs);
	conf_put(k->conf);
	memset(k, 0, sizeof(*k));
}

void resume_free(struct resume *r)
{
	struct pcache *pc;

	if (!r)
		return;
	while (r->n_kept)
		kept_free(&r->kept[--r->n_kept]);
	while ((pc = r->caches)) {
		r->caches = pc->next;
		rcache_free(pc->c);
		free(pc);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Under r->lock: p's cache, made now if need be; NULL without memory. */
static struct rcache *cache_of(struct resume *r, const struct profile *p)
{
	unsigned n = p->resumption_cache ? p->resumption_cache :
					   RESUME_CACHE_DEFAULT;
	struct pcache *pc;

	for (pc = r->caches; pc; pc = pc->next)
		if (!strcmp(pc->profile, p->name))
			return pc->c;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return NULL;
	pc->c = rcache_new(n, (size_t)n * ENTRY_BYTES);
	if (!pc->c) {
		free(pc);
		return NULL;
	}
	snprintf(pc->profile, sizeof(pc->profile), "%s", p->name);
	pc->next = r->caches;
	r->caches = pc;
	return pc->c;
}

/*
 * The name a handshake is cached under: its server name, else the peer's
 * address (from j->peer, "ADDR:PORT" or "[ADDR6]:PORT": our copy of the
 * socket is closed by the time resume_keep() runs).
 */
static int cache_name(const struct job *j, char *buf, size_t len)
{
	const char *p = j->peer, *colon = strrchr(p, ':');
	size_t n;

	if (j->server_name[0]) {
		snprintf(buf, len, "%s", j->server_name);
		return 0;
	}
	if (!colon || colon == p)
		return -EINVAL;
	n = colon - p;
	if (p[0] == '[' && n >= 2 && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	snprintf(buf, len, "%.*s", (int)n, p);
	return 0;
}

static int wanted(const struct job *j)
{
	return j->p->role == KTLS_CLIENT && j->p->resumption && j->d->resume &&
	       j->front == FRONT_HANDOFF;
}

int resume_prepare(struct job *j)
{
	struct resume *r = j->d->resume;
	char name[RCACHE_NAME_MAX + 1];
	struct rcache *c;
	uint8_t *data = NULL;
	size_t len = 0;
	int ret;

	if (!wanted(j) || cache_name(j, name, sizeof(name)))
		return 0;
	pthread_mutex_lock(&r->lock);
	c = cache_of(r, j->p);
	if (!c || rcache_get(c, name, now_ms(), &data, &len))
		data = NULL;
	pthread_mutex_unlock(&r->lock);
	if (j->d->stats)
		atomic_fetch_add(data ? &j->d->stats->resume_hits :
				 &j->d->stats->resume_misses, 1);
	ret = ktls_session_set_resumption(j->s, data, data ? len : 0);
	/* Data GnuTLS does not take: a full handshake, as without. */
	if (ret == -EINVAL && data)
		ret = ktls_session_set_resumption(j->s, NULL, 0);
	if (data) {
		gnutls_memset(data, 0, len);
		free(data);
	}
	return ret;
}

/* Under r->lock: the kept sessions whose time is up go. */
static void sweep(struct resume *r, int64_t now)
{
	size_t i = 0;

	while (i < r->n_kept) {
		if (r->kept[i].until > now) {
			i++;
			continue;
		}
		kept_free(&r->kept[i]);
		r->kept[i] = r->kept[--r->n_kept];
	}
}

/* Under r->lock: a free slot, the oldest one's if none. */
static struct kept *slot(struct resume *r)
{
	struct kept *k, *old = &r->kept[0];

	if (r->n_kept < KEEP_MAX)
		return &r->kept[r->n_kept++];
	for (k = r->kept; k < r->kept + KEEP_MAX; k++)
		if (k->until < old->until)
			old = k;
	kept_free(old);
	return old;
}

uint64_t resume_keep(struct job *j)
{
	const struct ktls_info *in = ktls_session_info(j->s);
	struct resume *r = j->d->resume;
	char name[RCACHE_NAME_MAX + 1];
	uint64_t token = 0;
	struct rcache *c;
	struct kept *k;
	int64_t now = now_ms();

	if (!wanted(j) || !in || in->version != KTLS_TLS13 ||
	    cache_name(j, name, sizeof(name)) ||
	    gnutls_rnd(GNUTLS_RND_NONCE, &token, sizeof(token)) || !token)
		return 0;
	pthread_mutex_lock(&r->lock);
	sweep(r, now);
	c = cache_of(r, j->p);
	if (!c) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	k = slot(r);
	k->cache = c;
	k->token = token;
	k->uid = j->uid;
	k->until = now + KEEP_MS;
	k->conf = conf_get(j->conf);
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->gs = session_take_gnutls(j->s);
	/* Its socket is closed (the number may be another's soon): no I/O. */
	gnutls_transport_set_int(k->gs, -1);
	pthread_mutex_unlock(&r->lock);
	return token;
}

/* Under r->lock: the kept session for the token, taken out, if uid's. */
static int take_kept(struct resume *r, uint64_t token, uid_t uid,
		     struct kept *out)
{
	size_t i;

	for (i = 0; i < r->n_kept; i++) {
		if (r->kept[i].token != token || r->kept[i].uid != uid)
			continue;
		*out = r->kept[i];
		r->kept[i] = r->kept[--r->n_kept];
		return 0;
	}
	return -ENOENT;
}

/* The ticket's lifetime in ms (at most 7 days); 0: not to be kept. */
static int64_t lifetime_ms(const uint8_t *msg, size_t len)
{
	uint32_t s;

	if (len < 8)
		return 0;
	s = (uint32_t)msg[4] << 24 | msg[5] << 16 | msg[6] << 8 | msg[7];
	return (int64_t)(s < LIFETIME_MAX_S ? s : LIFETIME_MAX_S) * 1000;
}

/* Feed k the ticket and store what it gives in k's cache. */
static int store(struct ktlsd *d, struct kept *k, const struct wire_ticket *t)
{
	struct resume *r = d->resume;
	struct rcache_counts before, after;
	int64_t life = lifetime_ms(t->msg, t->len), now;
	gnutls_datum_t data = { NULL, 0 };
	int ret;

	if (!life)
		return -EINVAL;
	ret = session_gnutls_ticket(k->gs, t->msg, t->len);
	if (!ret)
		ret = session_gnutls_data(k->gs, &data);
	if (ret)
		return ret;
	now = now_ms();
	pthread_mutex_lock(&r->lock);
	rcache_counts(k->cache, &before);
	ret = rcache_put(k->cache, k->name, data.data, data.size, now + life,
			 now);
	rcache_counts(k->cache, &after);
	pthread_mutex_unlock(&r->lock);
	if (d->stats)
		atomic_fetch_add(&d->stats->resume_evicted,
				 after.evicted - before.evicted);
	gnutls_memset(data.data, 0, data.size);
	gnutls_free(data.data);
	return ret;
}

int resume_ticket(struct ktlsd *d, uid_t uid, const uint8_t *body,
		  size_t len, const char **why)
{
	struct resume *r = d->resume;
	struct wire_ticket t;
	struct kept k;
	int ret = wire_decode_ticket(body, len, &t, why);

	if (ret)
		return ret;
	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	ret = take_kept(r, t.token, uid, &k);
	pthread_mutex_unlock(&r->lock);
	if (ret) {
		log_debug("uid %u: a ticket for no handoff of its own (late?)",
			  (unsigned)uid);
		return 0;
	}
	ret = store(d, &k, &t);
	if (ret)
		log_info("uid %u: a ticket for %s could not be used: %s",
			 (unsigned)uid, k.name, strerror(-ret));
	else
		log_info("uid %u: resumption data for %s kept", (unsigned)uid,
			 k.name);
	kept_free(&k);
	return 0;
}
