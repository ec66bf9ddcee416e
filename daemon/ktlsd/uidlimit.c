// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Connections and handshakes per uid: the handoff socket is shared by
 * local users, and one of them must not take every slot. Counted in a
 * small hash of the uids that have any (struct ktlsd's uid_use).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "loop.h"

struct uid_use {
	uid_t uid;
	unsigned n[2];			/* connections, handshakes in flight */
	struct uid_use *next;
};

#define UID_BUCKETS (sizeof(((struct ktlsd *)0)->uid_use) / \
		     sizeof(((struct ktlsd *)0)->uid_use[0]))

/*
 * root and ktlsd's own user may stop ktlsd anyway: limiting them would
 * protect nothing, and a big server running as either would hit them.
 */
static int uid_limited(uid_t uid)
{
	return uid != 0 && uid != geteuid();
}

int uidlimit_take(struct ktlsd *d, uid_t uid, int what, unsigned max,
		  unsigned *have)
{
	struct uid_use **head = &d->uid_use[uid % UID_BUCKETS], *u;
	int ret = 0;

	*have = 0;
	if (!uid_limited(uid))
		return 0;
	pthread_mutex_lock(&d->uid_lock);
	for (u = *head; u && u->uid != uid; u = u->next)
		;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u) {
			ret = -ENOMEM;
			goto out;
		}
		u->uid = uid;
		u->next = *head;
		*head = u;
	}
	*have = u->n[what];
	if (u->n[what] >= max)
		ret = -EBUSY;	/* max >= 1: u is in use, it stays */
	else
		u->n[what]++;
out:
	pthread_mutex_unlock(&d->uid_lock);
	return ret;
}

void uidlimit_give(struct ktlsd *d, uid_t uid, int what)
{
	struct uid_use **pp = &d->uid_use[uid % UID_BUCKETS], *u;

	if (!uid_limited(uid))
		return;
	pthread_mutex_lock(&d->uid_lock);
	while ((u = *pp) && u->uid != uid)
		pp = &u->next;
	if (!u || !u->n[what])
		fatal("uid %u: giving back a %s never taken", (unsigned)uid,
		      what == UIDLIMIT_CONN ? "connection" : "handshake");
	if (!--u->n[what] && !u->n[!what]) {	/* !what: the other count */
		*pp = u->next;
		free(u);
	}
	pthread_mutex_unlock(&d->uid_lock);
}

void uidlimit_init(struct ktlsd *d)
{
	pthread_mutex_init(&d->uid_lock, NULL);
}
