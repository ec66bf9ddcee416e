// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * [profile NAME]: what each line says, kept in a draft until the whole
 * section has been read (its lines may come in any order, its role last),
 * then the checks only the whole profile allows. And the one profile
 * builder: a draft, from a [profile NAME], tlshd's file (upcall_conf.c) or
 * the keys the kernel named in one request, becomes a profile's
 * ktls_config, trust, certificates, PSK and policy loaded, errors naming
 * the file and line. Who may use a profile, too.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_parse.h"
#include "daemon.h"

#define PROFILE_NAME_MAX	64

static struct profile *cur_profile(struct parse *p)
{
	return &p->c->profiles[p->c->n_profiles - 1];
}

static struct draft *cur_draft(struct parse *p)
{
	return p->drafts[p->c->n_profiles - 1];
}

/* ---- [profile NAME]: what one line can tell ---- */

static int set_role(struct parse *p, const char *value)
{
	static const char *const words[] = { "server", "client", NULL };
	int i = conf_choose(p, "role", value, words);

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
		return conf_fail(p, d->pairs[d->n_pairs - 1].cert_line, -EINVAL,
				 "certificate without a key line after it");
	pairs = realloc(d->pairs, (d->n_pairs + 1) * sizeof(*pairs));
	if (!pairs)
		return oom(p);
	d->pairs = pairs;
	memset(&pairs[d->n_pairs], 0, sizeof(*pairs));
	pairs[d->n_pairs].cert_line = p->line;
	return conf_path(p, "certificate", value, &pairs[d->n_pairs++].cert);
}

static int set_key(struct parse *p, const char *value)
{
	struct draft *d = cur_draft(p);
	struct pair *last = d->n_pairs ? &d->pairs[d->n_pairs - 1] : NULL;

	if (!last || last->key)
		return bad(p, "key without a certificate line before it");
	last->key_line = p->line;
	/* A token's key is named by URL: the key process opens it. */
	if (!strncmp(value, "pkcs11:", 7)) {
		last->key = strdup(value);
		return last->key ? 0 : oom(p);
	}
	return conf_path(p, "key", value, &last->key);
}

static int set_ca(struct parse *p, const char *value)
{
	struct draft *d = cur_draft(p);

	if (!strcmp(value, "system"))
		return 0;	/* d->ca stays NULL: the system store */
	return conf_path(p, "ca", value, &d->ca);
}

static int set_crl(struct parse *p, const char *value)
{
	return conf_path(p, "crl", value, &cur_draft(p)->crl);
}

static int set_client_cert(struct parse *p, const char *value)
{
	static const char *const words[] = { "none", "request", "require", NULL };
	static const unsigned flags[] = {
		0, KTLS_VERIFY_REQUEST_CLIENT, KTLS_VERIFY_REQUIRE_CLIENT
	};
	int i = conf_choose(p, "client_certificate", value, words);

	if (i < 0)
		return i;
	cur_draft(p)->client_verify = flags[i];
	return 0;
}

static int set_verify(struct parse *p, const char *value)
{
	static const char *const words[] = { "yes", "no", "chain", NULL };
	static const unsigned flags[] = {
		0, KTLS_VERIFY_NONE, KTLS_VERIFY_CHAIN_ONLY
	};
	int i = conf_choose(p, "verify", value, words);

	if (i < 0)
		return i;
	cur_draft(p)->verify = flags[i];
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
		else
			d->psk[i / 2] = hi << 4 | lo;
	}
	d->psk_len = ret ? 0 : len / 2;
	if (ret)
		explicit_bzero(d->psk, sizeof(d->psk));
	/* The text itself: on_setting() wipes it. */
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
	return conf_words(p, "alpn", value, add_alpn);
}

static int add_version(struct parse *p, const char *word)
{
	static const char *const words[] = { "1.2", "1.3", NULL };
	int i = conf_choose(p, "versions", word, words);

	if (i < 0)
		return i;
	cur_draft(p)->versions |= i == 0 ? VERSION_12 : VERSION_13;
	return 0;
}

static int set_versions(struct parse *p, const char *value)
{
	return conf_words(p, "versions", value, add_version);
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
	return conf_words(p, "ciphers", value, add_cipher);
}

static int set_timeout(struct parse *p, const char *value)
{
	return conf_number(p, "handshake_timeout", value, 100, 600000,
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
	int i = conf_choose(p, "allow_override", word, words);

	if (i < 0)
		return i;
	cur_profile(p)->overrides |= i == 0 ? OVERRIDE_SNI : OVERRIDE_ALPN;
	return 0;
}

static int set_overrides(struct parse *p, const char *value)
{
	return conf_words(p, "allow_override", value, add_override);
}

/*
 * One more id in *ids (*n of them): a user's, or a group's. uid_t and
 * gid_t are both unsigned int (were that to change, the compiler would
 * refuse the pointers add_user() and add_group() pass).
 */
static int add_id(struct parse *p, const char *word, int group,
		  unsigned **ids, size_t *n)
{
	unsigned *more, id;
	int ret = conf_id(p, word, group, &id);

	if (ret)
		return ret;
	more = realloc(*ids, (*n + 1) * sizeof(*more));
	if (!more)
		return oom(p);
	more[(*n)++] = id;
	*ids = more;
	return 0;
}

static int add_user(struct parse *p, const char *word)
{
	struct profile *pr = cur_profile(p);

	return add_id(p, word, 0, &pr->uids, &pr->n_uids);
}

static int set_users(struct parse *p, const char *value)
{
	return conf_words(p, "allow_users", value, add_user);
}

static int add_group(struct parse *p, const char *word)
{
	struct profile *pr = cur_profile(p);

	return add_id(p, word, 1, &pr->gids, &pr->n_gids);
}

static int set_groups(struct parse *p, const char *value)
{
	return conf_words(p, "allow_groups", value, add_group);
}

/* A yes/no key: 1 or 0, or an error. */
static int yes_no(struct parse *p, const char *key, const char *value)
{
	static const char *const words[] = { "no", "yes", NULL };

	return conf_choose(p, key, value, words);
}

static int set_option(struct parse *p, const char *key, const char *value,
		      unsigned bit)
{
	struct draft *d = cur_draft(p);
	int i = yes_no(p, key, value);

	if (i < 0)
		return i;
	d->kernel_options = i ? d->kernel_options | bit
			      : d->kernel_options & ~bit;
	return 0;
}

static int set_zerocopy(struct parse *p, const char *value)
{
	return set_option(p, "zerocopy_sendfile", value,
			  KTLS_OPT_ZEROCOPY_SENDFILE);
}

static int set_no_pad(struct parse *p, const char *value)
{
	return set_option(p, "rx_expect_no_pad", value, KTLS_OPT_RX_NO_PAD);
}

static int set_tickets(struct parse *p, const char *value)
{
	int i = yes_no(p, "tickets", value);

	if (i < 0)
		return i;
	cur_draft(p)->tickets = i;
	return 0;
}

static int set_ticket_key_file(struct parse *p, const char *value)
{
	return conf_path(p, "ticket_key_file", value,
			 &cur_draft(p)->ticket_key_file);
}

static int set_nic(struct parse *p, const char *value)
{
	int i = yes_no(p, "prefer_nic_offload", value);

	if (i < 0)
		return i;
	cur_draft(p)->prefer_nic = i;
	return 0;
}

/* Lists may go on over several lines, so their keys may repeat. */
static const struct key keys[P_COUNT] = {
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
	[P_TICKETS]	= { "tickets", set_tickets, 0 },
	[P_TICKET_KEY_FILE] = { "ticket_key_file", set_ticket_key_file, 0 },
	[P_ZEROCOPY]	= { "zerocopy_sendfile", set_zerocopy, 0 },
	[P_NO_PAD]	= { "rx_expect_no_pad", set_no_pad, 0 },
	[P_NIC]		= { "prefer_nic_offload", set_nic, 0 },
	[P_LISTEN]	= { "listen", accept_conf_listen, 1 },
	[P_SUB_QUEUE]	= { "subscriber_queue", accept_conf_queue, 0 },
	[P_RESUME]	= { "resumption", resume_conf_enable, 0 },
	[P_RESUME_CACHE] = { "resumption_cache", resume_conf_cache, 0 },
};

const struct key *profile_keys(struct parse *p, size_t *n, int **seen)
{
	*n = P_COUNT;
	*seen = cur_draft(p)->seen;
	return keys;
}

/* ---- The section header ---- */

static int valid_profile_name(const char *name)
{
	size_t len = strlen(name);

	return len >= 1 && len <= PROFILE_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == len;
}

int profile_begin(struct parse *p, const char *name)
{
	struct conf *c = p->c;
	struct profile *profiles;
	struct draft **drafts;
	size_t i;

	name += strspn(name, " \t");
	if (!valid_profile_name(name))
		return bad(p, "profile name '%s': 1 to %d characters of "
			   "A-Z a-z 0-9 . _ - expected", name, PROFILE_NAME_MAX);
	for (i = 0; i < c->n_profiles; i++)
		if (!strcmp(c->profiles[i].name, name))
			return bad(p, "duplicate [profile %s] (first on line %d)",
				   name, p->drafts[i]->line);
	profiles = realloc(c->profiles, (c->n_profiles + 1) * sizeof(*profiles));
	if (!profiles)
		return oom(p);
	c->profiles = profiles;
	/* Each draft alone: it holds a PSK, which realloc() would copy. */
	drafts = realloc(p->drafts, (c->n_profiles + 1) * sizeof(*drafts));
	if (!drafts)
		return oom(p);
	p->drafts = drafts;
	drafts[c->n_profiles] = calloc(1, sizeof(**drafts));
	if (!drafts[c->n_profiles])
		return oom(p);
	memset(&profiles[c->n_profiles], 0, sizeof(*profiles));
	profiles[c->n_profiles].timeout_ms = 10000;
	drafts[c->n_profiles]->line = p->line;
	profiles[c->n_profiles].name = strdup(name);
	c->n_profiles++;	/* counted even without its name: freed alike */
	p->sect = SECT_PROFILE;
	return profiles[c->n_profiles - 1].name ? 0 : oom(p);
}

/* ---- [profile NAME]: the whole section ---- */

static int check_role_keys(struct parse *p, const struct profile *pr,
			   const struct draft *d)
{
	if (pr->role == KTLS_SERVER) {
		if (d->seen[P_VERIFY])
			return conf_fail(p, d->seen[P_VERIFY], -EINVAL, "verify is for "
					 "client profiles (servers: client_certificate)");
		if (d->seen[P_SERVER_NAME])
			return conf_fail(p, d->seen[P_SERVER_NAME], -EINVAL,
					 "server_name is for client profiles");
		if (d->seen[P_OVERRIDE])
			return conf_fail(p, d->seen[P_OVERRIDE], -EINVAL,
					 "allow_override is for client profiles");
		if (!d->n_pairs && !d->psk_len)
			return conf_fail(p, d->line, -EINVAL, "server profile '%s' needs "
					 "a certificate and key, or a PSK", pr->name);
		if (d->client_verify && !d->seen[P_CA])
			return conf_fail(p, d->seen[P_CLIENT_CERT], -EINVAL,
					 "client_certificate = %s needs a ca line "
					 "to verify clients with",
					 d->client_verify == KTLS_VERIFY_REQUEST_CLIENT ?
					 "request" : "require");
		if (d->seen[P_TICKETS] && !d->tickets && d->ticket_key_file)
			return conf_fail(p, d->seen[P_TICKETS], -EINVAL,
					 "tickets = no with a ticket_key_file");
	} else if (d->seen[P_CLIENT_CERT]) {
		return conf_fail(p, d->seen[P_CLIENT_CERT], -EINVAL,
				 "client_certificate is for server profiles");
	} else if (d->seen[P_TICKETS] || d->seen[P_TICKET_KEY_FILE]) {
		return conf_fail(p, d->seen[P_TICKETS] ? d->seen[P_TICKETS] :
				 d->seen[P_TICKET_KEY_FILE], -EINVAL,
				 "tickets and ticket_key_file are for server "
				 "profiles");
	}
	return 0;
}

static int check_profile(struct parse *p, const struct profile *pr,
			 const struct draft *d)
{
	if (!d->seen[P_ROLE])
		return conf_fail(p, d->line, -EINVAL, "[profile %s] has no role "
				 "(role = server or client)", pr->name);
	if (d->n_pairs && !d->pairs[d->n_pairs - 1].key)
		return conf_fail(p, d->pairs[d->n_pairs - 1].cert_line, -EINVAL,
				 "certificate without a key line after it");
	if (!d->seen[P_PSK_ID] != !d->seen[P_PSK_KEY])
		return conf_fail(p, d->seen[P_PSK_ID] ? d->seen[P_PSK_ID]
						 : d->seen[P_PSK_KEY], -EINVAL,
				 "psk_identity and psk_key go together");
	return check_role_keys(p, pr, d);
}

/* What NIC offload can carry: TLS 1.2, AES-GCM (mainline kernels). */
#define NIC_CIPHERS	(KTLS_CIPHER_AES_128_GCM | KTLS_CIPHER_AES_256_GCM)

/*
 * prefer_nic_offload = yes: a second configuration, the profile's with
 * TLS 1.2 and AES-GCM only. Only: a GnuTLS server picks the highest
 * version both sides have whatever the order, and the client's favourite
 * cipher, so an order alone would not bring the NIC into play.
 */
static int build_nic(struct parse *p, struct profile *pr,
		     const struct draft *d)
{
	struct draft nd = *d;
	struct profile np = *pr;
	int line = d->seen[P_NIC];
	int ret;

	if (d->versions && !(d->versions & VERSION_12))
		return conf_fail(p, line, -EINVAL, "prefer_nic_offload needs "
				 "TLS 1.2 (versions = 1.3 leaves no NIC offload)");
	if (d->ciphers && !(d->ciphers & NIC_CIPHERS))
		return conf_fail(p, line, -EINVAL, "prefer_nic_offload needs "
				 "aes-128-gcm or aes-256-gcm among the ciphers");
	nd.versions = VERSION_12;
	nd.ciphers = (d->ciphers ? d->ciphers : NIC_CIPHERS) & NIC_CIPHERS;
	np.cfg = NULL;
	np.ca = np.crl = NULL;
	ret = profile_build(p, &np, &nd);
	explicit_bzero(&nd, sizeof(nd));	/* the PSK came along */
	free(np.ca);
	free(np.crl);
	if (ret) {
		ktls_config_free(np.cfg);
		return ret;
	}
	pr->nic_cfg = np.cfg;
	return 0;
}

int profile_check_build(struct parse *p, size_t i)
{
	struct profile *pr = &p->c->profiles[i];
	const struct draft *d = p->drafts[i];
	int ret = check_profile(p, pr, d);

	if (!ret)
		ret = accept_conf_check(p, i);
	if (!ret)
		ret = resume_conf_check(p, i);
	if (!ret)
		ret = profile_build(p, pr, d);
	if (!ret && d->prefer_nic)
		ret = build_nic(p, pr, d);
	return ret;
}

/* ---- The builder: every profile, from any source ---- */

/* tlshd's way: whatever does not load, the handshakes that need it fail. */
static int load_trust_tlshd(struct parse *p, struct profile *pr,
			    const struct draft *d, const char **ca)
{
	char where[16];
	int ret;

	if (*ca && access(*ca, R_OK)) {
		snprintf(where, sizeof(where), ":%d", draft_at(d, P_CA));
		log_warn("%s%s: %s: %s; using the system's trust store, as "
			 "tlshd does", p->file, draft_at(d, P_CA) ? where : "", *ca,
			 strerror(errno));
		*ca = NULL;
	}
	ret = ktls_config_set_ca_file(pr->cfg, *ca);
	if (ret && !*ca) {
		log_warn("%s: the system trust store did not load (%s); peer "
			 "certificates cannot be verified", p->file,
			 ktls_strerror(ret));
		ret = 0;
	}
	if (ret)
		return fail_key(p, P_CA, draft_at(d, P_CA), ret, "%s: %s", *ca,
				ktls_strerror(ret));
	return 0;
}

static int load_trust_ktlsd(struct parse *p, struct profile *pr,
			    const struct draft *d)
{
	int ret;

	if (d->seen[P_CA]) {
		ret = ktls_config_set_ca_file(pr->cfg, d->ca);
		if (ret)
			return fail_key(p, P_CA, d->seen[P_CA], ret, "%s: %s",
					d->ca ? d->ca : "the system trust store",
					ktls_strerror(ret));
	} else if (pr->role == KTLS_CLIENT &&
		   !(d->verify & KTLS_VERIFY_NONE) && !d->psk_len) {
		ret = ktls_config_set_ca_file(pr->cfg, NULL);
		if (ret)
			return fail_key(p, P_CA, d->line, ret, "no ca line, and "
					"the system trust store did not load: %s",
					ktls_strerror(ret));
	}
	return 0;
}

static int load_trust(struct parse *p, struct profile *pr,
		      const struct draft *d)
{
	const char *ca = d->ca;
	int ret;

	ret = d->trust == TRUST_TLSHD ? load_trust_tlshd(p, pr, d, &ca)
				      : load_trust_ktlsd(p, pr, d);
	if (ret)
		return ret;
	if (d->crl) {
		ret = ktls_config_set_crl_file(pr->cfg, d->crl);
		if (ret)
			return fail_key(p, P_CRL, draft_at(d, P_CRL), ret, "%s: %s",
					d->crl, ktls_strerror(ret));
	}
	/* Per-request credentials of the upcall take the same trust. */
	if ((ca && !(pr->ca = strdup(ca))) ||
	    (d->crl && !(pr->crl = strdup(d->crl))))
		return fail_key(p, P_CA, d->line, -ENOMEM, "out of memory");
	return 0;
}

/* libktls refused a value that parsed: name the line and its reason. */
#define refused(p, d, k, key, ret)					\
	fail_key(p, k, draft_at(d, k), ret, "%s: %s", key, ktls_strerror(ret))

static int apply_psk(struct parse *p, struct profile *pr,
		     const struct draft *d)
{
	int ret = 0;

	if (d->psk_len && d->psk_sha384)
		ret = config_set_psk_sha384(pr->cfg);
	if (!ret && d->psk_len)
		ret = ktls_config_set_psk(pr->cfg, d->psk_identity,
					  d->psk_mem ? d->psk_mem : d->psk,
					  d->psk_len);
	else if (d->psk_lookup)
		ret = ktls_config_set_psk_lookup(pr->cfg, d->psk_lookup,
						 d->psk_arg);
	return ret ? refused(p, d, P_PSK_KEY, "psk_key", ret) : 0;
}

static int apply_policy(struct parse *p, struct profile *pr,
			const struct draft *d)
{
	struct ktls_config *cfg = pr->cfg;
	int ret;

	ret = ktls_config_set_verify(cfg, d->verify | d->client_verify);
	if (ret)
		return refused(p, d, P_VERIFY, "verify", ret);
	/*
	 * The PSK, versions and ciphers each make the GnuTLS priorities
	 * again; once is enough (the upcall builds a profile per request).
	 */
	config_hold_priority(cfg);
	ret = apply_psk(p, pr, d);
	if (ret)
		return ret;
	ret = d->alpn ? ktls_config_set_alpn(cfg, d->alpn) : 0;
	if (ret)
		return refused(p, d, P_ALPN, "alpn", ret);
	ret = d->versions ? ktls_config_set_versions(cfg,
			d->versions & VERSION_12 ? KTLS_TLS12 : KTLS_TLS13,
			d->versions & VERSION_13 ? KTLS_TLS13 : KTLS_TLS12) : 0;
	if (ret)
		return refused(p, d, P_VERSIONS, "versions", ret);
	ret = d->ciphers ? ktls_config_set_ciphers(cfg, d->ciphers) : 0;
	if (!ret)
		ret = config_release_priority(cfg);
	if (ret)
		return d->ciphers ? refused(p, d, P_CIPHERS, "ciphers", ret) :
		       refused(p, d, P_VERSIONS, "versions", ret);
	ret = ktls_config_set_timeout(cfg, pr->timeout_ms);
	if (ret)
		return refused(p, d, P_TIMEOUT, "handshake_timeout", ret);
	ret = ktls_config_set_kernel_options(cfg, d->kernel_options);
	if (ret)
		return refused(p, d, P_ZEROCOPY, "zerocopy_sendfile", ret);
	return pr->role == KTLS_SERVER ? tickets_apply(p, pr, d) : 0;
}

int profile_build(struct parse *p, struct profile *pr, const struct draft *d)
{
	int ret = ktls_config_new(&pr->cfg, pr->role);

	if (ret)
		return fail_key(p, P_ROLE, d->line, ret, "%s", ktls_strerror(ret));
	pr->verify = d->verify;
	ret = load_trust(p, pr, d);
	if (!ret)
		ret = profile_load_certs(p, pr, d);
	if (!ret)
		ret = apply_policy(p, pr, d);
	return ret;
}

void draft_free(struct draft *d)
{
	size_t j;

	for (j = 0; j < d->n_pairs; j++) {
		free(d->pairs[j].cert);
		free(d->pairs[j].key);
	}
	free(d->pairs);
	free(d->ca);
	free(d->crl);
	free(d->psk_identity);
	free(d->alpn);
	free(d->ticket_key_file);
	explicit_bzero(d->psk, sizeof(d->psk));
}

void profile_drafts_free(struct parse *p)
{
	size_t i;

	for (i = 0; p->drafts && i < p->c->n_profiles; i++) {
		draft_free(p->drafts[i]);
		free(p->drafts[i]);
	}
	free(p->drafts);
	p->drafts = NULL;
}

void profile_free(struct profile *pr)
{
	if (!pr)
		return;
	free(pr->name);
	ktls_config_free(pr->cfg);
	ktls_config_free(pr->nic_cfg);
	free(pr->server_name);
	free(pr->uids);
	free(pr->gids);
	free(pr->ca);
	free(pr->crl);
	free(pr->listen);
}

void conf_log_loosened(const struct conf *c)
{
	const struct profile *p;
	size_t i;

	/* Not c->profiles + n_profiles: without profiles, profiles is NULL. */
	for (i = 0; i < c->n_profiles; i++) {
		p = &c->profiles[i];
		if (p->verify & KTLS_VERIFY_NONE)
			log_warn("profile %s: verify = no: servers are not "
				 "verified at all (any certificate, any name)",
				 p->name);
		else if (p->verify & KTLS_VERIFY_CHAIN_ONLY)
			log_warn("profile %s: verify = chain: a server's "
				 "certificate chain is checked, its name is not "
				 "(any certificate the ca vouches for is taken "
				 "for any host)", p->name);
	}
}

/* ---- Who may use it ---- */

int profile_allows(const struct profile *p, uid_t uid, gid_t gid,
		   const gid_t *gids, size_t n_gids)
{
	size_t i, j;

	/* Root could take the keys anyway; our own uid already has them. */
	if (uid == 0 || uid == geteuid())
		return 1;
	for (i = 0; i < p->n_uids; i++)
		if (p->uids[i] == uid)
			return 1;
	/* The primary group is not always among the supplementary ones. */
	for (j = 0; j < p->n_gids; j++)
		if (p->gids[j] == gid)
			return 1;
	for (i = 0; gids && i < n_gids; i++)
		for (j = 0; j < p->n_gids; j++)
			if (p->gids[j] == gids[i])
				return 1;
	return 0;
}
