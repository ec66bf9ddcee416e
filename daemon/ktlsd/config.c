// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's configuration file: a [ktlsd] section for the daemon, [upcall]
 * for the kernel's handshake requests and one [profile NAME] section per
 * set of credentials. Parsing happens in two passes. The first (the lines,
 * conf_read.c, calling setting()) checks every value and keeps what a
 * profile says in a draft (profile.c), because a profile's lines may come
 * in any order and its role, needed to create its ktls_config, may come
 * last. The second (profile_check_build()) checks what only the whole
 * profile can tell and builds it.
 *
 * Anything unknown is an error naming the file and line: a misspelt key
 * that was silently ignored would leave a profile less strict than its
 * author believed.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf_parse.h"
#include "keyproc.h"
#include "upcall.h"

/* ---- Values ---- */

int conf_choose(struct parse *p, const char *key, const char *value,
		const char *const *words)
{
	char list[128] = "";
	size_t i, n = 0;

	for (i = 0; words[i]; i++)
		if (!strcmp(value, words[i]))
			return i;
	for (i = 0; words[i] && n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
			      i ? ", " : "", words[i]);
	return bad(p, "%s: '%s' is not one of: %s", key, value, list);
}

static int parse_ulong(const char *s, int base, unsigned long *out)
{
	const char *digits = base == 8 ? "01234567" : "0123456789";
	char *end;

	if (!*s || strspn(s, digits) != strlen(s))
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, base);
	return errno ? -errno : 0;
}

int conf_number(struct parse *p, const char *key, const char *value,
		unsigned long min, unsigned long max, unsigned *out)
{
	unsigned long n;

	if (parse_ulong(value, 10, &n) || n < min || n > max)
		return bad(p, "%s: '%s' is not a number from %lu to %lu",
			   key, value, min, max);
	*out = n;
	return 0;
}

int conf_words(struct parse *p, const char *key, const char *value,
	       int (*fn)(struct parse *p, const char *word))
{
	char *copy = strdup(value), *word, *save = NULL;
	int ret = 0, n = 0;

	if (!copy)
		return oom(p);
	for (word = strtok_r(copy, SEPARATORS, &save); word && !ret;
	     word = strtok_r(NULL, SEPARATORS, &save), n++)
		ret = fn(p, word);
	free(copy);
	if (!ret && !n)
		ret = bad(p, "%s: the list is empty", key);
	return ret;
}

/* Paths are used later, after ktlsd may have changed directory. */
int conf_path(struct parse *p, const char *key, const char *value,
	      char **out)
{
	char *s;

	if (value[0] != '/')
		return bad(p, "%s: '%s' is not an absolute path", key, value);
	s = strdup(value);
	if (!s)
		return oom(p);
	free(*out);
	*out = s;
	return 0;
}

/*
 * A user or group by name or number. Numbers are taken as they are: an id
 * need not have a name, as with containers' mapped ranges. (id_t)-1 means
 * "no change" to chown() and friends, so it is refused.
 */
static int lookup_id(const char *word, int group, unsigned *id)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	long size = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	unsigned long n;
	char *buf = NULL;
	int ret;

	if (isdigit((unsigned char)word[0])) {
		if (parse_ulong(word, 10, &n) || n >= (uid_t)-1)
			return -ERANGE;
		*id = n;
		return 0;
	}
	if (size <= 0)
		size = 16384;
	do {
		free(buf);
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
		ret = group ? getgrnam_r(word, &gr, buf, size, &grp)
			    : getpwnam_r(word, &pw, buf, size, &pwp);
		size *= 2;
	} while (ret == ERANGE && size <= (1 << 20));
	if (!ret && (pwp || grp))
		*id = group ? grp->gr_gid : pwp->pw_uid;
	free(buf);
	if (ret)
		return -ret;
	return pwp || grp ? 0 : -ENOENT;
}

int conf_id(struct parse *p, const char *word, int group, unsigned *id)
{
	const char *what = group ? "group" : "user";
	int ret = lookup_id(word, group, id);

	if (ret == -ENOENT)
		return bad(p, "no such %s '%s'", what, word);
	if (ret == -ERANGE)
		return bad(p, "'%s' is not a valid %s id", word, what);
	if (ret)
		return conf_fail(p, p->line, ret, "cannot look up %s '%s': %s",
				 what, word, strerror(-ret));
	return 0;
}

/* ---- [ktlsd] ---- */

static int set_socket(struct parse *p, const char *value)
{
	if (strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bad(p, "socket: the path is longer than a Unix socket takes");
	return conf_path(p, "socket", value, &p->c->socket_path);
}

static int set_socket_mode(struct parse *p, const char *value)
{
	unsigned long mode;

	if (parse_ulong(value, 8, &mode) || mode > 07777)
		return bad(p, "socket_mode: '%s' is not an octal mode like 0660",
			   value);
	p->c->socket_mode = mode;
	return 0;
}

static int set_socket_group(struct parse *p, const char *value)
{
	unsigned gid;
	int ret = conf_id(p, value, 1, &gid);

	if (!ret)
		p->c->socket_gid = gid;
	return ret;
}

static int set_workers(struct parse *p, const char *value)
{
	return conf_number(p, "workers", value, 0, 1024, &p->c->workers);
}

static int set_max_inflight(struct parse *p, const char *value)
{
	return conf_number(p, "max_inflight", value, 1, 1 << 20, &p->c->max_inflight);
}

/* Milliseconds like handshake_timeout: 60000 is a minute, 0 is never. */
static int set_idle_timeout(struct parse *p, const char *value)
{
	unsigned long ms;

	if (parse_ulong(value, 10, &ms) || (ms && ms < 1000) || ms > 86400000)
		return bad(p, "idle_timeout: '%s' is not 0 (never) or a number "
			   "of milliseconds from 1000 to 86400000", value);
	p->c->idle_timeout_ms = ms;
	return 0;
}

static int set_max_conns_per_uid(struct parse *p, const char *value)
{
	return conf_number(p, "max_connections_per_uid", value, 1, 1 << 20,
			   &p->c->max_conns_per_uid);
}

static int set_max_inflight_per_uid(struct parse *p, const char *value)
{
	return conf_number(p, "max_inflight_per_uid", value, 1, 1 << 20,
			   &p->c->max_inflight_per_uid);
}

static int set_metrics_file(struct parse *p, const char *value)
{
	return conf_path(p, "metrics_file", value, &p->c->metrics_path);
}

static int set_metrics_interval(struct parse *p, const char *value)
{
	return conf_number(p, "metrics_interval", value, 1, 3600,
			   &p->c->metrics_interval_s);
}

/* The file must be writable now: at -t, start and reload, not later. */
static int metrics_finish(struct parse *p)
{
	char msg[PATH_MAX + 64];
	int ret;

	if (!p->c->metrics_path) {
		if (p->daemon_seen[D_METRICS_INTERVAL])
			return conf_fail(p, p->daemon_seen[D_METRICS_INTERVAL],
					 -EINVAL, "metrics_interval without "
					 "metrics_file");
		return 0;
	}
	ret = metrics_check_path(p->c->metrics_path, msg, sizeof(msg));
	if (ret)
		return conf_fail(p, p->daemon_seen[D_METRICS_FILE], ret,
				 "metrics_file: %s", msg);
	return 0;
}

/* What [ktlsd]'s keys say together, once all are read. */
static int daemon_finish(struct parse *p)
{
	struct conf *c = p->c;
	int line = p->daemon_seen[D_INFLIGHT_UID];

	if (metrics_finish(p))
		return p->ret;
	if (!line)
		c->max_inflight_per_uid = c->max_inflight / 4 ? c->max_inflight / 4
							     : 1;
	else if (c->max_inflight_per_uid > c->max_inflight)
		return conf_fail(p, line, -EINVAL, "max_inflight_per_uid: %u "
				 "is more than max_inflight (%u)",
				 c->max_inflight_per_uid, c->max_inflight);
	return 0;
}

static int set_log(struct parse *p, const char *value)
{
	static const char *const words[] = { "stderr", "syslog", NULL };
	int i = conf_choose(p, "log", value, words);

	if (i < 0)
		return i;
	p->c->log_syslog = i == 1;
	return 0;
}

static int set_log_level(struct parse *p, const char *value)
{
	static const char *const words[] = {
		"err", "warning", "notice", "info", "debug", NULL
	};
	static const int levels[] = {
		LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG
	};
	int i = conf_choose(p, "log_level", value, words);

	if (i < 0)
		return i;
	p->c->log_level = levels[i];
	return 0;
}

static int set_control(struct parse *p, const char *value)
{
	if (strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bad(p, "control_socket: the path is longer than a Unix "
			   "socket takes");
	return conf_path(p, "control_socket", value, &p->c->control_path);
}

/* A user name as useradd takes it; looked up at start, not here. */
static int set_user(struct parse *p, const char *value)
{
	size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
	char *dup;

	if (!*value || value[n] || value[0] == '-' || n > 32)
		return bad(p, "user: '%s' is not a user name", value);
	dup = strdup(value);
	if (!dup)
		return conf_fail(p, p->line, -ENOMEM, "out of memory");
	free(p->c->user);
	p->c->user = dup;
	return 0;
}

static const struct key daemon_keys[D_COUNT] = {
	[D_SOCKET]	= { "socket", set_socket, 0 },
	[D_MODE]	= { "socket_mode", set_socket_mode, 0 },
	[D_GROUP]	= { "socket_group", set_socket_group, 0 },
	[D_WORKERS]	= { "workers", set_workers, 0 },
	[D_INFLIGHT]	= { "max_inflight", set_max_inflight, 0 },
	[D_LOG]		= { "log", set_log, 0 },
	[D_LEVEL]	= { "log_level", set_log_level, 0 },
	[D_CONTROL]	= { "control_socket", set_control, 0 },
	[D_IDLE]	= { "idle_timeout", set_idle_timeout, 0 },
	[D_CONNS_UID]	= { "max_connections_per_uid", set_max_conns_per_uid, 0 },
	[D_INFLIGHT_UID] = { "max_inflight_per_uid", set_max_inflight_per_uid, 0 },
	[D_METRICS_FILE] = { "metrics_file", set_metrics_file, 0 },
	[D_METRICS_INTERVAL] = { "metrics_interval", set_metrics_interval, 0 },
	[D_USER]	= { "user", set_user, 0 },
};

/* ---- [upcall]: the kernel's handshake requests (upcall.c) ---- */

static int set_upcall_enable(struct parse *p, const char *value)
{
	static const char *const words[] = { "yes", "no", "auto", NULL };
	int i = conf_choose(p, "enable", value, words);

	if (i < 0)
		return i;
	p->c->upcall->enable = i == 0 ? UPCALL_YES : i == 1 ? UPCALL_NO :
				       UPCALL_AUTO;
	return 0;
}

static int set_upcall_tlshd(struct parse *p, const char *value)
{
	return conf_path(p, "tlshd_config", value, &p->c->upcall->tlshd_config);
}

static int set_upcall_profile(struct parse *p, const char *key,
			      const char *value, char **out)
{
	char *s;

	if (strpbrk(value, SEPARATORS))
		return bad(p, "%s: '%s' is not a profile name", key, value);
	s = strdup(value);
	if (!s)
		return oom(p);
	*out = s;
	return 0;
}

static int set_upcall_client(struct parse *p, const char *value)
{
	return set_upcall_profile(p, "client_profile", value,
				  &p->c->upcall->client_profile);
}

static int set_upcall_server(struct parse *p, const char *value)
{
	return set_upcall_profile(p, "server_profile", value,
				  &p->c->upcall->server_profile);
}

static const struct key upcall_keys[U_COUNT] = {
	[U_ENABLE]	= { "enable", set_upcall_enable, 0 },
	[U_TLSHD]	= { "tlshd_config", set_upcall_tlshd, 0 },
	[U_CLIENT]	= { "client_profile", set_upcall_client, 0 },
	[U_SERVER]	= { "server_profile", set_upcall_server, 0 },
};

const struct key *conf_section_keys(enum section sect, size_t *n)
{
	*n = sect == SECT_DAEMON ? D_COUNT : sect == SECT_UPCALL ? U_COUNT : 0;
	return sect == SECT_DAEMON ? daemon_keys :
	       sect == SECT_UPCALL ? upcall_keys : NULL;
}

/* ---- Sections and settings ---- */

static int begin_section(struct parse *p, const char *name)
{
	if (!strcmp(name, "ktlsd")) {
		if (p->daemon_line)
			return bad(p, "duplicate [ktlsd] (first on line %d)",
				   p->daemon_line);
		p->daemon_line = p->line;
		p->sect = SECT_DAEMON;
		return 0;
	}
	if (!strcmp(name, "upcall")) {
		if (p->c->upcall->line)
			return bad(p, "duplicate [upcall] (first on line %d)",
				   p->c->upcall->line);
		p->c->upcall->line = p->line;
		p->sect = SECT_UPCALL;
		return 0;
	}
	if (!strncmp(name, "profile", 7) && (!name[7] || isblank(name[7])))
		return profile_begin(p, name + 7);
	return bad(p, "unknown section [%s] (expected [ktlsd], [upcall] or "
		   "[profile NAME])", name);
}

/* One "key = value" line of ktlsd.conf: 0 or an error. */
static int setting(struct parse *p, const char *name, char *value)
{
	const struct key *keys;
	size_t i, n;
	int *seen;

	if (p->sect == SECT_NONE)
		return bad(p, "'%s' outside any section", name);
	if (p->sect == SECT_DAEMON) {
		keys = daemon_keys;
		n = D_COUNT;
		seen = p->daemon_seen;
	} else if (p->sect == SECT_UPCALL) {
		keys = upcall_keys;
		n = U_COUNT;
		seen = p->upcall_seen;
	} else {
		keys = profile_keys(p, &n, &seen);
	}
	for (i = 0; i < n && strcmp(keys[i].name, name); i++)
		;
	if (i == n)
		return bad(p, "unknown key '%s' in %s", name,
			   p->sect == SECT_DAEMON ? "[ktlsd]" :
			   p->sect == SECT_UPCALL ? "[upcall]" : "a profile");
	if (seen[i] && !keys[i].repeat)
		return bad(p, "'%s' given twice (first on line %d)", name,
			   seen[i]);
	if (!*value)
		return bad(p, "'%s' has no value", name);
	seen[i] = p->line;
	return keys[i].set(p, value);
}

/* ---- The whole file ---- */

static void conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->n_profiles; i++)
		profile_free(&c->profiles[i]);
	free(c->profiles);
	upcall_conf_free(c->upcall);
	keyproc_put(c->keys);	/* after the profiles: their keys hold it */
	free(c->metrics_path);
	free(c->user);
	free(c->control_path);
	free(c->socket_path);
	free(c->path);
	free(c);
}

static struct conf *conf_new(const char *path)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->path = strdup(path);
	c->socket_path = strdup(KTLS_HANDOFF_SOCKET);
	c->socket_mode = 0660;
	c->socket_gid = (gid_t)-1;
	c->max_inflight = 1024;
	c->idle_timeout_ms = 60000;
	c->max_conns_per_uid = 64;
	c->max_inflight_per_uid = 1024 / 4;
	c->log_syslog = 1;
	c->log_level = LOG_INFO;
	c->control_path = strdup(KTLSD_CONTROL_SOCKET);
	c->control_mode = 0600;
	c->user = strdup("ktlsd");
	c->metrics_interval_s = 15;
	c->upcall = upcall_conf_new();
	if (!c->path || !c->socket_path || !c->control_path || !c->upcall ||
	    !c->user) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/*
 * The key process takes no more keys from files or URLs; one is started
 * if the upcall may need it for the kernel's keys. 0 or -errno.
 */
static int conf_seal_keys(struct conf *c, char *err, size_t errlen)
{
	int ret = 0;

	if (!c->keys && c->upcall->enable != UPCALL_NO)
		ret = keyproc_spawn(&c->keys);
	if (!ret && c->keys)
		ret = keyproc_seal(c->keys);
	if (ret)
		snprintf(err, errlen, "%s: the key process: %s", c->path,
			 strerror(-ret));
	return ret;
}

int conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct parse p = {
		.file = path, .syntax = SYNTAX_INI, .begin = begin_section,
		.set = setting, .err = err, .errlen = errlen,
	};
	size_t i;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	p.c = conf_new(path);
	if (!p.c)
		return conf_fail(&p, 0, -ENOMEM, "out of memory");
	ret = conf_parse_file(&p);
	if (!ret)
		ret = daemon_finish(&p);
	/* With [upcall], the kernel's requests may be all there is to serve. */
	if (!ret && !p.c->n_profiles && !p.c->upcall->line)
		ret = conf_fail(&p, 0, -EINVAL, "no [profile NAME] section");
	for (i = 0; !ret && i < p.c->n_profiles; i++)
		ret = profile_check_build(&p, i);
	profile_drafts_free(&p);
	if (!ret)
		ret = upcall_conf_finish(p.c, err, errlen);
	if (!ret)
		ret = conf_seal_keys(p.c, err, errlen);
	if (ret) {
		conf_free(p.c);
		return ret;
	}
	*out = p.c;
	return 0;
}

int conf_load_tlshd(const char *path, struct conf **out, char *err,
		    size_t errlen)
{
	struct conf *c;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	c = conf_new(path);
	if (!c || !(c->upcall->tlshd_config = strdup(path))) {
		if (c)
			conf_free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->tlshd_only = 1;
	c->log_syslog = 1;
	c->upcall->enable = UPCALL_YES;
	ret = upcall_conf_finish(c, err, errlen);
	if (!ret)
		ret = conf_seal_keys(c, err, errlen);
	if (ret) {
		conf_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

struct conf *conf_get(struct conf *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void conf_put(struct conf *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1)
		conf_free(c);
}

const struct profile *conf_profile(const struct conf *c, const char *name,
				   size_t len)
{
	size_t i;

	if (!c || !name)
		return NULL;
	for (i = 0; i < c->n_profiles; i++) {
		const char *pn = c->profiles[i].name;

		if (strlen(pn) == len && !memcmp(pn, name, len))
			return &c->profiles[i];
	}
	return NULL;
}
