// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The configuration, from the environment: KTLS_PRELOAD_ACCEPT
 * ("PORT=PROFILE[,...]") and KTLS_PRELOAD_CONNECT
 * ("HOST:PORT=PROFILE[,...]", HOST a name, an IPv4 address or [IPv6]).
 * Names are resolved at the first connect() that could match them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

#define CONF_MAX 32

static struct preload_accept acc[CONF_MAX];
static struct preload_connect con[CONF_MAX];
static int n_acc, n_con;

static int parse_port(const char *s, size_t len, unsigned short *port)
{
	char buf[8];
	char *end;
	long v;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	v = strtol(buf, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

static int copy_str(char *dst, size_t size, const char *s, size_t len)
{
	if (!len || len >= size)
		return -EINVAL;
	memcpy(dst, s, len);
	dst[len] = 0;
	return 0;
}

/* One "KEY=PROFILE" item: the key (port, or host:port) and the profile. */
static int parse_item(const char *item, size_t len, int connect)
{
	const char *eq = memchr(item, '=', len), *colon;
	size_t klen;

	if (!eq)
		return -EINVAL;
	klen = eq - item;
	if (!connect) {
		struct preload_accept *a = &acc[n_acc];

		if (n_acc == CONF_MAX || parse_port(item, klen, &a->port) ||
		    copy_str(a->profile, sizeof(a->profile), eq + 1,
			     len - klen - 1))
			return -EINVAL;
		n_acc++;
		return 0;
	}
	struct preload_connect *c = &con[n_con];

	colon = NULL;
	for (const char *p = item; p < eq; p++)
		if (*p == ':')
			colon = p;
	if (n_con == CONF_MAX || !colon ||
	    parse_port(colon + 1, eq - colon - 1, &c->port) ||
	    copy_str(c->profile, sizeof(c->profile), eq + 1, len - klen - 1))
		return -EINVAL;
	if (item[0] == '[' && colon[-1] == ']') {
		if (copy_str(c->host, sizeof(c->host), item + 1,
			     colon - item - 2))
			return -EINVAL;
	} else if (copy_str(c->host, sizeof(c->host), item, colon - item)) {
		return -EINVAL;
	}
	n_con++;
	return 0;
}

static int parse_list(const char *var, int connect)
{
	const char *s = getenv(var), *p, *comma;

	if (!s || !*s)
		return 0;
	for (p = s; ; p = comma + 1) {
		comma = strchr(p, ',');
		if (parse_item(p, comma ? (size_t)(comma - p) : strlen(p),
			       connect)) {
			preload_log("refused: %s: cannot read \"%.*s\" (want %s)",
				    var, comma ? (int)(comma - p) : (int)strlen(p),
				    p, connect ? "HOST:PORT=PROFILE" :
				    "PORT=PROFILE");
			return -EINVAL;
		}
		if (!comma)
			return 0;
	}
}

int conf_load(void)
{
	if (parse_list("KTLS_PRELOAD_ACCEPT", 0) ||
	    parse_list("KTLS_PRELOAD_CONNECT", 1))
		return -EINVAL;
	return 0;
}

int conf_active(void)
{
	return n_acc || n_con;
}

const char *conf_accept_profile(unsigned short port)
{
	for (int i = 0; i < n_acc; i++)
		if (acc[i].port == port)
			return acc[i].profile;
	return NULL;
}

static int same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* Whether host (a name or an address) stands for sa. */
static int host_matches(const char *host, const struct sockaddr *sa,
			int *is_name)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	unsigned char bin[16];
	int found = 0;

	*is_name = !inet_pton(AF_INET, host, bin) &&
		   !inet_pton(AF_INET6, host, bin);
	hints.ai_family = sa->sa_family;
	if (!*is_name)
		hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &res))
		return 0;
	for (ai = res; ai && !found; ai = ai->ai_next)
		found = same_addr(ai->ai_addr, sa);
	freeaddrinfo(res);
	return found;
}

const char *conf_connect_profile(const struct sockaddr *sa, socklen_t len,
				 const char **name)
{
	unsigned short port;
	int is_name;

	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    len < (sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
		   sizeof(struct sockaddr_in6)))
		return NULL;
	port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	for (int i = 0; i < n_con; i++) {
		if (con[i].port != port || !host_matches(con[i].host, sa,
							 &is_name))
			continue;
		*name = is_name ? con[i].host : NULL;
		return con[i].profile;
	}
	return NULL;
}
