// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Accept mode's keys in [profile NAME]: listen = ADDR:PORT (IPv4, or
 * IPv6 in brackets; a list, or the key repeated) and subscriber_queue.
 * Addresses are literals: a name would need a resolver at start-up, and
 * an operator should know which address ktlsd binds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "conf_parse.h"
#include "daemon.h"

static struct profile *cur(struct parse *p)
{
	return &p->c->profiles[p->c->n_profiles - 1];
}

/* "ADDR:PORT" or "[ADDR6]:PORT" into a; 0, or -EINVAL. */
static int parse_addr(const char *word, struct listen_addr *a)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	unsigned long n;
	char *end;
	size_t len;

	colon = strrchr(word, ':');
	if (!colon || colon == word)
		return -EINVAL;
	len = colon - word;
	if (len >= sizeof(host))
		return -EINVAL;
	memcpy(host, word, len);
	host[len] = 0;
	port = colon + 1;
	errno = 0;
	n = strtoul(port, &end, 10);
	if (!*port || *end || errno || n < 1 || n > 65535 || *port == '+' ||
	    *port == '-')
		return -EINVAL;
	memset(&a->sa, 0, sizeof(a->sa));
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		host[len - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(n);
		a->len = sizeof(*s6);
	} else {
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(n);
		a->len = sizeof(*s4);
	}
	snprintf(a->text, sizeof(a->text), "%s", word);
	return 0;
}

static int add_listen(struct parse *p, const char *word)
{
	struct profile *pr = cur(p);
	struct listen_addr a, *more;
	size_t i;

	if (strlen(word) >= sizeof(a.text) || parse_addr(word, &a))
		return bad(p, "listen: '%s' is not ADDRESS:PORT (an IPv4 "
			   "address, or an IPv6 one in brackets: [::1]:8443)",
			   word);
	for (i = 0; i < pr->n_listen; i++)
		if (pr->listen[i].len == a.len &&
		    !memcmp(&pr->listen[i].sa, &a.sa, a.len))
			return bad(p, "listen: %s twice (line %d)", word,
				   pr->listen[i].line);
	a.line = p->line;
	more = realloc(pr->listen, (pr->n_listen + 1) * sizeof(*more));
	if (!more)
		return oom(p);
	more[pr->n_listen++] = a;
	pr->listen = more;
	return 0;
}

int accept_conf_listen(struct parse *p, const char *value)
{
	return conf_words(p, "listen", value, add_listen);
}

int accept_conf_queue(struct parse *p, const char *value)
{
	return conf_number(p, "subscriber_queue", value, 1, ACCEPT_QUEUE_MAX,
			   &cur(p)->subscriber_queue);
}

int accept_conf_check(struct parse *p, size_t i)
{
	const struct profile *pr = &p->c->profiles[i], *o;
	const struct draft *d = p->drafts[i];
	const struct listen_addr *a, *b;
	size_t j, k, l;

	if (pr->role != KTLS_SERVER && (d->seen[P_LISTEN] ||
					d->seen[P_SUB_QUEUE]))
		return conf_fail(p, d->seen[P_LISTEN] ? d->seen[P_LISTEN] :
				 d->seen[P_SUB_QUEUE], -EINVAL, "%s is for "
				 "server profiles (accept mode)",
				 d->seen[P_LISTEN] ? "listen" :
				 "subscriber_queue");
	for (j = 0; j < i; j++) {
		o = &p->c->profiles[j];
		for (k = 0; k < pr->n_listen; k++) {
			a = &pr->listen[k];
			for (l = 0; l < o->n_listen; l++) {
				b = &o->listen[l];
				if (a->len == b->len &&
				    !memcmp(&a->sa, &b->sa, a->len))
					return conf_fail(p, a->line, -EINVAL,
						"listen: %s is profile %s's "
						"already (line %d)", a->text,
						o->name, b->line);
			}
		}
	}
	return 0;
}
