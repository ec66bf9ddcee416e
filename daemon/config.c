// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's configuration file: a [ktlsd] section for the daemon and one
 * [profile NAME] section per set of credentials. Parsing happens in two
 * passes. The first (inih calling on_setting()) checks every value and
 * keeps what a profile says in a struct draft, because a profile's lines
 * may come in any order and its role, needed to create its ktls_config,
 * may come last. The second (build_profile()) checks what only the whole
 * profile can tell and loads the credentials.
 *
 * Anything unknown is an error naming the file and line: a misspelt key
 * that was silently ignored would leave a profile less strict than its
 * author believed.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "ktlsd.h"
#include "upcall.h"

#define PROFILE_NAME_MAX	64
#define PSK_MIN			16
#define PSK_MAX			64
#define SEPARATORS		", \t"

enum section { SECT_NONE, SECT_DAEMON, SECT_PROFILE, SECT_UPCALL };

/* Keys of [profile NAME]; the values index profile_keys[] and seen[]. */
enum {
	P_ROLE, P_CERT, P_KEY, P_CA, P_CRL, P_CLIENT_CERT, P_VERIFY,
	P_PSK_ID, P_PSK_KEY, P_ALPN, P_VERSIONS, P_CIPHERS, P_TIMEOUT,
	P_SERVER_NAME, P_OVERRIDE, P_USERS, P_GROUPS, P_COUNT
};

/* Keys of [ktlsd]. */
enum {
	D_SOCKET, D_MODE, D_GROUP, D_WORKERS, D_INFLIGHT, D_LOG, D_LEVEL,
	D_CONTROL, D_COUNT
};

/* Keys of [upcall]. */
enum { U_ENABLE, U_TLSHD, U_CLIENT, U_SERVER, U_COUNT };

struct pair {
	char *cert, *key;
	int cert_line, key_line;
};

#define VERSION_12	1u
#define VERSION_13	2u

/* What one [profile NAME] said, until its ktls_config is built. */
struct draft {
	int line;			/* of the section header */
	int seen[P_COUNT];		/* line of each key's last use, or 0 */
	struct pair *pairs;
	size_t n_pairs;
	char *ca;			/* NULL with "ca = system" */
	char *crl;
	char *psk_identity;
	unsigned char psk[PSK_MAX];
	size_t psk_len;
	char *alpn;
	int require_client;
	int verify_none;
	unsigned versions;		/* VERSION_* */
	unsigned ciphers;		/* KTLS_CIPHER_* */
};

struct parse {
	const char *file;
	FILE *f;
	int line;			/* inih counts reader calls: so do we */
	enum section sect;
	int daemon_line;		/* of [ktlsd], 0 until seen */
	int daemon_seen[D_COUNT];
	int upcall_seen[U_COUNT];
	struct conf *c;
	struct draft *drafts;		/* parallel to c->profiles */
	char *err;
	size_t errlen;
	int ret;			/* the first error, or 0 */
	int err_line;
};

struct key {
	const char *name;
	int (*set)(struct parse *p, const char *value);
	int repeat;			/* may appear more than once */
};

/* Keep the first error only: later ones are often its consequences. */
static int __attribute__((format(printf, 4, 5)))
fail(struct parse *p, int line, int err, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->ret)
		return p->ret;
	p->ret = err;
	p->err_line = line;
	if (!p->err || !p->errlen)
		return err;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->file);
	if (n < 0 || (size_t)n >= p->errlen)
		return err;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return err;
}

/* An error in the value on the line being parsed. */
#define bad(p, ...)	fail(p, (p)->line, -EINVAL, __VA_ARGS__)
#define oom(p)		fail(p, (p)->line, -ENOMEM, "out of memory")

static struct profile *cur_profile(struct parse *p)
{
	return &p->c->profiles[p->c->n_profiles - 1];
}

static struct draft *cur_draft(struct parse *p)
{
	return &p->drafts[p->c->n_profiles - 1];
}

/* ---- Values ---- */

/* Index of value in words (NULL-terminated), or an error listing them. */
static int choose(struct parse *p, const char *key, const char *value,
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

static int number(struct parse *p, const char *key, const char *value,
		  unsigned long min, unsigned long max, unsigned *out)
{
	unsigned long n;

	if (parse_ulong(value, 10, &n) || n < min || n > max)
		return bad(p, "%s: '%s' is not a number from %lu to %lu",
			   key, value, min, max);
	*out = n;
	return 0;
}

/* Call fn for each word of a list separated by commas and/or blanks. */
static int for_each_word(struct parse *p, const char *key, const char *value,
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
static int set_path(struct parse *p, const char *key, const char *value,
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

static int id_value(struct parse *p, const char *word, int group, unsigned *id)
{
	const char *what = group ? "group" : "user";
	int ret = lookup_id(word, group, id);

	if (ret == -ENOENT)
		return bad(p, "no such %s '%s'", what, word);
	if (ret == -ERANGE)
		return bad(p, "'%s' is not a valid %s id", word, what);
	if (ret)
		return fail(p, p->line, ret, "cannot look up %s '%s': %s",
			    what, word, strerror(-ret));
	return 0;
}

/* ---- [ktlsd] ---- */

static int set_socket(struct parse *p, const char *value)
{
	if (strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bad(p, "socket: the path is longer than a Unix socket takes");
	return set_path(p, "socket", value, &p->c->socket_path);
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
	int ret = id_value(p, value, 1, &gid);

	if (!ret)
		p->c->socket_gid = gid;
	return ret;
}

static int set_workers(struct parse *p, const char *value)
{
	return number(p, "workers", value, 0, 1024, &p->c->workers);
}

static int set_max_inflight(struct parse *p, const char *value)
{
	return number(p, "max_inflight", value, 1, 1 << 20, &p->c->max_inflight);
}

static int set_log(struct parse *p, const char *value)
{
	static const char *const words[] = { "stderr", "syslog", NULL };
	int i = choose(p, "log", value, words);

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
	int i = choose(p, "log_level", value, words);

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
	return set_path(p, "control_socket", value, &p->c->control_path);
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
};

/* ---- [upcall]: the kernel's handshake requests (upcall.c) ---- */

static int set_upcall_enable(struct parse *p, const char *value)
{
	static const char *const words[] = { "yes", "no", "auto", NULL };
	int i = choose(p, "enable", value, words);

	if (i < 0)
		return i;
	p->c->upcall->enable = i == 0 ? UPCALL_YES : i == 1 ? UPCALL_NO :
				       UPCALL_AUTO;
	return 0;
}

static int set_upcall_tlshd(struct parse *p, const char *value)
{
	return set_path(p, "tlshd_config", value, &p->c->upcall->tlshd_config);
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

/* ---- [profile NAME]: what one line can tell ---- */

static int set_role(struct parse *p, const char *value)
{
	static const char *const words[] = { "server", "client", NULL };
	int i = choose(p, "role", value, words);

	if (i < 0)
		return i;
	cur_profile(p)->role = i == 0 ? KTLS_SERVER : KTLS_CLIENT;
	return 0;
}

static int set_cert(struct parse *p, const char *value)
{
	struct draft *d = cur_draft(p);
	struct pair *pairs;

	if (d->n_pairs && !d->pairs[d->n_pairs - 1].key)
		return fail(p, d->pairs[d->n_pairs - 1].cert_line, -EINVAL,
			    "certificate without a key line after it");
	pairs = realloc(d->pairs, (d->n_pairs + 1) * sizeof(*pairs));
	if (!pairs)
		return oom(p);
	d->pairs = pairs;
	memset(&pairs[d->n_pairs], 0, sizeof(*pairs));
	pairs[d->n_pairs].cert_line = p->line;
	return set_path(p, "certificate", value, &pairs[d->n_pairs++].cert);
}

static int set_key(struct parse *p, const char *value)
{
	struct draft *d = cur_draft(p);
	struct pair *last = d->n_pairs ? &d->pairs[d->n_pairs - 1] : NULL;

	if (!last || last->key)
		return bad(p, "key without a certificate line before it");
	last->key_line = p->line;
	return set_path(p, "key", value, &last->key);
}

static int set_ca(struct parse *p, const char *value)
{
	struct draft *d = cur_draft(p);

	if (!strcmp(value, "system"))
		return 0;	/* d->ca stays NULL: the system store */
	return set_path(p, "ca", value, &d->ca);
}

static int set_crl(struct parse *p, const char *value)
{
	return set_path(p, "crl", value, &cur_draft(p)->crl);
}

static int set_client_cert(struct parse *p, const char *value)
{
	static const char *const words[] = { "none", "request", "require", NULL };
	int i = choose(p, "client_certificate", value, words);

	/* "request" has no libktls flag yet: it behaves as "none". */
	if (i < 0)
		return i;
	cur_draft(p)->require_client = i == 2;
	return 0;
}

static int set_verify(struct parse *p, const char *value)
{
	static const char *const words[] = { "yes", "no", NULL };
	int i = choose(p, "verify", value, words);

	if (i < 0)
		return i;
	cur_draft(p)->verify_none = i == 1;
	return 0;
}

static int set_psk_identity(struct parse *p, const char *value)
{
	struct draft *d = cur_draft(p);

	d->psk_identity = strdup(value);
	return d->psk_identity ? 0 : oom(p);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int set_psk_key(struct parse *p, const char *value)
{
	struct draft *d = cur_draft(p);
	size_t i, len = strlen(value);
	int ret = 0;

	if (len % 2 || len < 2 * PSK_MIN || len > 2 * PSK_MAX)
		ret = bad(p, "psk_key: %d to %d hex digits (an even number) expected",
			  2 * PSK_MIN, 2 * PSK_MAX);
	for (i = 0; !ret && i < len; i += 2) {
		int hi = hex_digit(value[i]), lo = hex_digit(value[i + 1]);

		if (hi < 0 || lo < 0)
			ret = bad(p, "psk_key: not a hex string");
		d->psk[i / 2] = hi << 4 | lo;
	}
	d->psk_len = ret ? 0 : len / 2;
	if (ret)
		explicit_bzero(d->psk, sizeof(d->psk));
	/*
	 * The text is inih's line buffer, which it no longer needs after the
	 * handler returns: do not leave the key there for the next lines.
	 */
	explicit_bzero((char *)value, len);
	return ret;
}

static int add_alpn(struct parse *p, const char *word)
{
	struct draft *d = cur_draft(p);
	size_t old = d->alpn ? strlen(d->alpn) : 0;
	char *s;

	if (strlen(word) > 255)
		return bad(p, "alpn: '%.32s...' is longer than 255 bytes", word);
	s = realloc(d->alpn, old + strlen(word) + 2);
	if (!s)
		return oom(p);
	snprintf(s + old, strlen(word) + 2, "%s%s", old ? "," : "", word);
	d->alpn = s;
	return 0;
}

static int set_alpn(struct parse *p, const char *value)
{
	return for_each_word(p, "alpn", value, add_alpn);
}

static int add_version(struct parse *p, const char *word)
{
	static const char *const words[] = { "1.2", "1.3", NULL };
	int i = choose(p, "versions", word, words);

	if (i < 0)
		return i;
	cur_draft(p)->versions |= i == 0 ? VERSION_12 : VERSION_13;
	return 0;
}

static int set_versions(struct parse *p, const char *value)
{
	return for_each_word(p, "versions", value, add_version);
}

static int add_cipher(struct parse *p, const char *word)
{
	unsigned bit = ktls_cipher_from_name(word);

	if (!bit)
		return bad(p, "ciphers: unknown cipher '%s' (known: aes-128-gcm, "
			   "aes-256-gcm, chacha20-poly1305, aes-128-ccm)", word);
	cur_draft(p)->ciphers |= bit;
	return 0;
}

static int set_ciphers(struct parse *p, const char *value)
{
	return for_each_word(p, "ciphers", value, add_cipher);
}

static int set_timeout(struct parse *p, const char *value)
{
	return number(p, "handshake_timeout", value, 100, 600000,
		      &cur_profile(p)->timeout_ms);
}

static int set_server_name(struct parse *p, const char *value)
{
	struct profile *pr = cur_profile(p);

	if (strpbrk(value, SEPARATORS) || strlen(value) > 253)
		return bad(p, "server_name: '%s' is not a host name", value);
	pr->server_name = strdup(value);
	return pr->server_name ? 0 : oom(p);
}

static int add_override(struct parse *p, const char *word)
{
	static const char *const words[] = { "sni", "alpn", NULL };
	int i = choose(p, "allow_override", word, words);

	if (i < 0)
		return i;
	cur_profile(p)->overrides |= i == 0 ? OVERRIDE_SNI : OVERRIDE_ALPN;
	return 0;
}

static int set_overrides(struct parse *p, const char *value)
{
	return for_each_word(p, "allow_override", value, add_override);
}

static int add_user(struct parse *p, const char *word)
{
	struct profile *pr = cur_profile(p);
	uid_t *uids;
	unsigned id;
	int ret = id_value(p, word, 0, &id);

	if (ret)
		return ret;
	uids = realloc(pr->uids, (pr->n_uids + 1) * sizeof(*uids));
	if (!uids)
		return oom(p);
	uids[pr->n_uids++] = id;
	pr->uids = uids;
	return 0;
}

static int set_users(struct parse *p, const char *value)
{
	return for_each_word(p, "allow_users", value, add_user);
}

static int add_group(struct parse *p, const char *word)
{
	struct profile *pr = cur_profile(p);
	gid_t *gids;
	unsigned id;
	int ret = id_value(p, word, 1, &id);

	if (ret)
		return ret;
	gids = realloc(pr->gids, (pr->n_gids + 1) * sizeof(*gids));
	if (!gids)
		return oom(p);
	gids[pr->n_gids++] = id;
	pr->gids = gids;
	return 0;
}

static int set_groups(struct parse *p, const char *value)
{
	return for_each_word(p, "allow_groups", value, add_group);
}

/* Lists may go on over several lines, so their keys may repeat. */
static const struct key profile_keys[P_COUNT] = {
	[P_ROLE]	= { "role", set_role, 0 },
	[P_CERT]	= { "certificate", set_cert, 1 },
	[P_KEY]		= { "key", set_key, 1 },
	[P_CA]		= { "ca", set_ca, 0 },
	[P_CRL]		= { "crl", set_crl, 0 },
	[P_CLIENT_CERT]	= { "client_certificate", set_client_cert, 0 },
	[P_VERIFY]	= { "verify", set_verify, 0 },
	[P_PSK_ID]	= { "psk_identity", set_psk_identity, 0 },
	[P_PSK_KEY]	= { "psk_key", set_psk_key, 0 },
	[P_ALPN]	= { "alpn", set_alpn, 1 },
	[P_VERSIONS]	= { "versions", set_versions, 1 },
	[P_CIPHERS]	= { "ciphers", set_ciphers, 1 },
	[P_TIMEOUT]	= { "handshake_timeout", set_timeout, 0 },
	[P_SERVER_NAME]	= { "server_name", set_server_name, 0 },
	[P_OVERRIDE]	= { "allow_override", set_overrides, 1 },
	[P_USERS]	= { "allow_users", set_users, 1 },
	[P_GROUPS]	= { "allow_groups", set_groups, 1 },
};

/* ---- Sections and lines ---- */

static int valid_profile_name(const char *name)
{
	size_t len = strlen(name);

	return len >= 1 && len <= PROFILE_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == len;
}

static int begin_profile(struct parse *p, const char *name)
{
	struct conf *c = p->c;
	struct profile *profiles;
	struct draft *drafts;
	size_t i;

	name += strspn(name, " \t");
	if (!valid_profile_name(name))
		return bad(p, "profile name '%s': 1 to %d characters of "
			   "A-Z a-z 0-9 . _ - expected", name, PROFILE_NAME_MAX);
	for (i = 0; i < c->n_profiles; i++)
		if (!strcmp(c->profiles[i].name, name))
			return bad(p, "duplicate [profile %s] (first on line %d)",
				   name, p->drafts[i].line);
	profiles = realloc(c->profiles, (c->n_profiles + 1) * sizeof(*profiles));
	if (!profiles)
		return oom(p);
	c->profiles = profiles;
	drafts = realloc(p->drafts, (c->n_profiles + 1) * sizeof(*drafts));
	if (!drafts)
		return oom(p);
	p->drafts = drafts;
	memset(&profiles[c->n_profiles], 0, sizeof(*profiles));
	memset(&drafts[c->n_profiles], 0, sizeof(*drafts));
	profiles[c->n_profiles].timeout_ms = 10000;
	drafts[c->n_profiles].line = p->line;
	profiles[c->n_profiles].name = strdup(name);
	c->n_profiles++;	/* counted even without its name: freed alike */
	p->sect = SECT_PROFILE;
	return profiles[c->n_profiles - 1].name ? 0 : oom(p);
}

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
		return begin_profile(p, name + 7);
	return bad(p, "unknown section [%s] (expected [ktlsd], [upcall] or "
		   "[profile NAME])", name);
}

/*
 * inih calls the handler for keys only, so headers are followed here, as
 * the lines go by: that sees empty sections too, and profile names longer
 * than inih's 50-byte section buffer.
 */
static void header(struct parse *p, const char *line)
{
	const char *end = strchr(line, ']');
	char name[128];

	if (!end)
		return;		/* inih reports the syntax error */
	if ((size_t)(end - line) > sizeof(name)) {
		bad(p, "section name too long");
		return;
	}
	memcpy(name, line + 1, end - line - 1);
	name[end - line - 1] = '\0';
	begin_section(p, name);
}

static int is_comment(const char *s)
{
	s += strspn(s, " \t");
	return *s == ';' || *s == '#';
}

/*
 * inih's reader. Besides counting lines and seeing headers, it refuses
 * lines longer than inih's buffer, which inih would cut in two and parse
 * as two lines; over-long comments are cut short instead.
 */
static char *read_line(char *buf, int size, void *user)
{
	struct parse *p = user;
	size_t len;
	char *s;
	int ch;

	if (p->ret || !fgets(buf, size, p->f))
		return NULL;
	p->line++;
	len = strlen(buf);
	if (len == (size_t)size - 1 && buf[len - 1] != '\n') {
		ch = getc(p->f);
		if (ch != EOF && ch != '\n' && !is_comment(buf)) {
			bad(p, "line longer than %d characters", size - 2);
			return NULL;
		}
		while (ch != EOF && ch != '\n')
			ch = getc(p->f);
	}
	s = buf;
	if (p->line == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	if (*s == '[')
		header(p, s);
	else if (!is_comment(s) && s[strspn(s, " \t")] == '[')
		bad(p, "a section header must start at the beginning of the line");
	return p->ret ? NULL : buf;
}

/* inih's handler, for every "key = value" line. */
static int on_setting(void *user, const char *section, const char *name,
		      const char *value)
{
	struct parse *p = user;
	const struct key *keys;
	size_t i, n;
	int *seen;

	(void)section;	/* read_line() follows the sections */
	if (p->ret)
		return 0;
	if (p->sect == SECT_NONE)
		return !bad(p, "'%s' outside any section", name);
	if (p->sect == SECT_DAEMON) {
		keys = daemon_keys;
		n = D_COUNT;
		seen = p->daemon_seen;
	} else if (p->sect == SECT_UPCALL) {
		keys = upcall_keys;
		n = U_COUNT;
		seen = p->upcall_seen;
	} else {
		keys = profile_keys;
		n = P_COUNT;
		seen = cur_draft(p)->seen;
	}
	for (i = 0; i < n && strcmp(keys[i].name, name); i++)
		;
	if (i == n)
		return !bad(p, "unknown key '%s' in %s", name,
			    p->sect == SECT_DAEMON ? "[ktlsd]" :
			    p->sect == SECT_UPCALL ? "[upcall]" : "a profile");
	if (seen[i] && !keys[i].repeat)
		return !bad(p, "'%s' given twice (first on line %d)", name,
			    seen[i]);
	if (!*value)
		return !bad(p, "'%s' has no value", name);
	seen[i] = p->line;
	return !keys[i].set(p, value);
}

static int parse_file(struct parse *p)
{
	char iobuf[4096];
	int line, err;

	p->f = fopen(p->file, "re");
	if (!p->f) {
		err = errno;
		return fail(p, 0, -err, "%s", strerror(err));
	}
	/* Our buffer, so that a PSK read through it can be wiped. */
	setvbuf(p->f, iobuf, _IOFBF, sizeof(iobuf));
	line = ini_parse_stream(read_line, p, on_setting, p);
	if (!p->ret && ferror(p->f))
		fail(p, 0, -EIO, "read error");
	fclose(p->f);
	explicit_bzero(iobuf, sizeof(iobuf));
	p->f = NULL;
	if (line == -2)
		return fail(p, 0, -ENOMEM, "out of memory");
	/* inih goes on after a syntax error: it may come before ours. */
	if (line > 0 && (!p->ret || line < p->err_line)) {
		p->ret = 0;
		fail(p, line, -EINVAL, "syntax error: 'key = value' or "
		     "'[section]' expected");
	}
	return p->ret;
}

/* ---- [profile NAME]: the whole section ---- */

static int check_role_keys(struct parse *p, const struct profile *pr,
			   const struct draft *d)
{
	if (pr->role == KTLS_SERVER) {
		if (d->seen[P_VERIFY])
			return fail(p, d->seen[P_VERIFY], -EINVAL, "verify is for "
				    "client profiles (servers: client_certificate)");
		if (d->seen[P_SERVER_NAME])
			return fail(p, d->seen[P_SERVER_NAME], -EINVAL,
				    "server_name is for client profiles");
		if (d->seen[P_OVERRIDE])
			return fail(p, d->seen[P_OVERRIDE], -EINVAL,
				    "allow_override is for client profiles");
		if (!d->n_pairs && !d->psk_len)
			return fail(p, d->line, -EINVAL, "server profile '%s' needs "
				    "a certificate and key, or a PSK", pr->name);
		if (d->require_client && !d->seen[P_CA])
			return fail(p, d->seen[P_CLIENT_CERT], -EINVAL,
				    "client_certificate = require needs a ca line "
				    "to verify clients with");
	} else if (d->seen[P_CLIENT_CERT]) {
		return fail(p, d->seen[P_CLIENT_CERT], -EINVAL,
			    "client_certificate is for server profiles");
	}
	return 0;
}

static int check_profile(struct parse *p, const struct profile *pr,
			 const struct draft *d)
{
	if (!d->seen[P_ROLE])
		return fail(p, d->line, -EINVAL, "[profile %s] has no role "
			    "(role = server or client)", pr->name);
	if (d->n_pairs && !d->pairs[d->n_pairs - 1].key)
		return fail(p, d->pairs[d->n_pairs - 1].cert_line, -EINVAL,
			    "certificate without a key line after it");
	if (!d->seen[P_PSK_ID] != !d->seen[P_PSK_KEY])
		return fail(p, d->seen[P_PSK_ID] ? d->seen[P_PSK_ID]
						 : d->seen[P_PSK_KEY], -EINVAL,
			    "psk_identity and psk_key go together");
	return check_role_keys(p, pr, d);
}

static int load_trust(struct parse *p, struct profile *pr,
		      const struct draft *d)
{
	int ret;

	if (d->seen[P_CA]) {
		ret = ktls_config_set_ca_file(pr->cfg, d->ca);
		if (ret)
			return fail(p, d->seen[P_CA], ret, "%s: %s",
				    d->ca ? d->ca : "the system trust store",
				    ktls_strerror(ret));
	} else if (pr->role == KTLS_CLIENT && !d->verify_none && !d->psk_len) {
		ret = ktls_config_set_ca_file(pr->cfg, NULL);
		if (ret)
			return fail(p, d->line, ret, "no ca line, and the system "
				    "trust store did not load: %s",
				    ktls_strerror(ret));
	}
	if (d->crl) {
		ret = ktls_config_set_crl_file(pr->cfg, d->crl);
		if (ret)
			return fail(p, d->seen[P_CRL], ret, "%s: %s", d->crl,
				    ktls_strerror(ret));
	}
	/* The upcall builds configurations per request with the same trust. */
	if ((d->ca && !(pr->ca = strdup(d->ca))) ||
	    (d->crl && !(pr->crl = strdup(d->crl))))
		return fail(p, d->line, -ENOMEM, "out of memory");
	return 0;
}

static int load_certs(struct parse *p, struct profile *pr,
		      const struct draft *d)
{
	const struct pair *pair;
	int ret, err;

	for (pair = d->pairs; pair < d->pairs + d->n_pairs; pair++) {
		ret = ktls_config_add_cert(pr->cfg, pair->cert, pair->key);
		if (!ret)
			continue;
		/* libktls cannot say which file of the two it could not read. */
		if (access(pair->cert, R_OK)) {
			err = errno;
			return fail(p, pair->cert_line, -err, "%s: %s",
				    pair->cert, strerror(err));
		}
		if (access(pair->key, R_OK)) {
			err = errno;
			return fail(p, pair->key_line, -err, "%s: %s",
				    pair->key, strerror(err));
		}
		return fail(p, pair->cert_line, ret, "%s with key %s: %s",
			    pair->cert, pair->key, ktls_strerror(ret));
	}
	return 0;
}

/* libktls refused a value that parsed: name the line and its reason. */
static int refused(struct parse *p, int line, const char *key, int ret)
{
	return fail(p, line, ret, "%s: %s", key, ktls_strerror(ret));
}

static int apply_policy(struct parse *p, struct profile *pr,
			const struct draft *d)
{
	struct ktls_config *cfg = pr->cfg;
	unsigned flags = (d->verify_none ? KTLS_VERIFY_NONE : 0) |
			 (d->require_client ? KTLS_VERIFY_REQUIRE_CLIENT : 0);
	int ret;

	ret = ktls_config_set_verify(cfg, flags);
	if (ret)
		return refused(p, d->line, "verify", ret);
	ret = d->psk_len ? ktls_config_set_psk(cfg, d->psk_identity, d->psk,
					       d->psk_len) : 0;
	if (ret)
		return refused(p, d->seen[P_PSK_KEY], "psk_key", ret);
	ret = d->alpn ? ktls_config_set_alpn(cfg, d->alpn) : 0;
	if (ret)
		return refused(p, d->seen[P_ALPN], "alpn", ret);
	ret = d->versions ? ktls_config_set_versions(cfg,
			d->versions & VERSION_12 ? KTLS_TLS12 : KTLS_TLS13,
			d->versions & VERSION_13 ? KTLS_TLS13 : KTLS_TLS12) : 0;
	if (ret)
		return refused(p, d->seen[P_VERSIONS], "versions", ret);
	ret = d->ciphers ? ktls_config_set_ciphers(cfg, d->ciphers) : 0;
	if (ret)
		return refused(p, d->seen[P_CIPHERS], "ciphers", ret);
	ret = ktls_config_set_timeout(cfg, pr->timeout_ms);
	if (ret)
		return refused(p, d->seen[P_TIMEOUT], "handshake_timeout", ret);
	return 0;
}

static int build_profile(struct parse *p, struct profile *pr,
			 const struct draft *d)
{
	int ret = check_profile(p, pr, d);

	if (ret)
		return ret;
	ret = ktls_config_new(&pr->cfg, pr->role);
	if (ret)
		return fail(p, d->line, ret, "%s", ktls_strerror(ret));
	ret = load_trust(p, pr, d);
	if (!ret)
		ret = load_certs(p, pr, d);
	if (!ret)
		ret = apply_policy(p, pr, d);
	return ret;
}

/* ---- The whole file ---- */

static void drafts_free(struct parse *p)
{
	size_t i, j;

	for (i = 0; p->drafts && i < p->c->n_profiles; i++) {
		struct draft *d = &p->drafts[i];

		for (j = 0; j < d->n_pairs; j++) {
			free(d->pairs[j].cert);
			free(d->pairs[j].key);
		}
		free(d->pairs);
		free(d->ca);
		free(d->crl);
		free(d->psk_identity);
		free(d->alpn);
		explicit_bzero(d->psk, sizeof(d->psk));
	}
	free(p->drafts);
	p->drafts = NULL;
}

static void conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->n_profiles; i++) {
		struct profile *pr = &c->profiles[i];

		free(pr->name);
		ktls_config_free(pr->cfg);
		free(pr->server_name);
		free(pr->uids);
		free(pr->gids);
		free(pr->ca);
		free(pr->crl);
	}
	free(c->profiles);
	upcall_conf_free(c->upcall);
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
	c->log_syslog = 1;
	c->log_level = LOG_INFO;
	c->control_path = strdup(KTLSD_CONTROL_SOCKET);
	c->control_mode = 0600;
	c->upcall = upcall_conf_new();
	if (!c->path || !c->socket_path || !c->control_path || !c->upcall) {
		conf_free(c);
		return NULL;
	}
	return c;
}

int conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct parse p = { .file = path, .err = err, .errlen = errlen };
	size_t i;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	p.c = conf_new(path);
	if (!p.c)
		return fail(&p, 0, -ENOMEM, "out of memory");
	ret = parse_file(&p);
	/* With [upcall], the kernel's requests may be all there is to serve. */
	if (!ret && !p.c->n_profiles && !p.c->upcall->line)
		ret = fail(&p, 0, -EINVAL, "no [profile NAME] section");
	for (i = 0; !ret && i < p.c->n_profiles; i++)
		ret = build_profile(&p, &p.c->profiles[i], &p.drafts[i]);
	drafts_free(&p);
	if (!ret)
		ret = upcall_conf_finish(p.c, err, errlen);
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
	if (ret) {
		conf_free(c);
		return ret;
	}
	if (c->upcall->debug > 0)
		c->log_level = LOG_DEBUG;
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

int profile_allows(const struct profile *p, uid_t uid, const gid_t *gids,
		   size_t n_gids)
{
	size_t i, j;

	/* Root could take the keys anyway; our own uid already has them. */
	if (uid == 0 || uid == geteuid())
		return 1;
	for (i = 0; i < p->n_uids; i++)
		if (p->uids[i] == uid)
			return 1;
	for (i = 0; gids && i < n_gids; i++)
		for (j = 0; j < p->n_gids; j++)
			if (p->gids[j] == gids[i])
				return 1;
	return 0;
}
