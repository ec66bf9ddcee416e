// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The credentials of the kernel's handshake requests. They come from
 * ktlsd profiles named in [upcall], or from tlshd's configuration file
 * (read the way ktls-utils reads it, so that a host serving NFS or NVMe
 * over TLS can swap tlshd for ktlsd without touching its files), or, per
 * request, from the kernel keyrings when the kernel names keys. All three
 * fill a draft that profile.c's builder makes into a profile.
 *
 * Default credentials are built once per (re)load; a profile of its own
 * is built only for a request that carries key serials, which is rare (a
 * mount, a controller connect) and needs the keys read anyway. The job
 * owns that profile and frees it with itself.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_parse.h"
#include "daemon.h"
#include "handshake_nl.h"
#include "upcall.h"

/* The handshake timeout when the kernel gives none, as a profile's. */
#define UPCALL_TIMEOUT_MS	10000

struct upcall_conf *upcall_conf_new(void)
{
	return calloc(1, sizeof(struct upcall_conf));
}

static void side_free(struct upcall_side *s)
{
	profile_free(&s->own);
	profile_free(&s->anon);
}

void upcall_conf_free(struct upcall_conf *u)
{
	size_t i;

	if (!u)
		return;
	side_free(&u->client);
	side_free(&u->server);
	for (i = 0; i < u->n_keyrings; i++)
		free(u->keyrings[i]);
	free(u->keyrings);
	free(u->tlshd_config);
	free(u->tlshd_path);
	free(u->client_profile);
	free(u->server_profile);
	free(u);
}

/* ---- tlshd's file: a GLib key file ---- */

struct tlshd_file {
	struct upcall_conf *u;
	char group[128];
	struct draft side[2];		/* [0] client, [1] server */
};

static int tlshd_begin(struct parse *p, const char *name)
{
	struct tlshd_file *t = p->user;

	snprintf(t->group, sizeof(t->group), "%s", name);
	return 0;
}

static int add_keyring(struct parse *p, struct upcall_conf *u,
		       const char *name)
{
	char **k = realloc(u->keyrings, (u->n_keyrings + 1) * sizeof(*k));

	if (!k)
		return oom(p);
	u->keyrings = k;
	k[u->n_keyrings] = strdup(name);
	if (!k[u->n_keyrings])
		return oom(p);
	u->n_keyrings++;
	return 0;
}

/* keyrings=a;b;c: names or serials, blanks around them ignored. */
static int set_keyrings(struct parse *p, struct upcall_conf *u, char *value)
{
	char *save = NULL, *w;
	int ret = 0;

	for (w = strtok_r(value, ";", &save); w && !ret;
	     w = strtok_r(NULL, ";", &save)) {
		w = conf_trim(w);
		if (*w)
			ret = add_keyring(p, u, w);
	}
	return ret;
}

/* A GKeyFile key given twice: the last one counts, as in GLib. */
static int set_string(struct parse *p, struct draft *d, int k, char **out,
		      const char *value)
{
	free(*out);
	*out = strdup(value);
	d->seen[k] = p->line;
	return *out ? 0 : oom(p);
}

/*
 * x509.certificate and x509.private_key (pairs[0]), x509.pq.certificate
 * and x509.pq.private_key (pairs[1]): each a pair, in either order.
 */
static int set_pair(struct parse *p, struct draft *d, int pq, int key,
		    const char *value)
{
	struct pair *pair;

	if (!d->pairs) {
		d->pairs = calloc(2, sizeof(*d->pairs));
		if (!d->pairs)
			return oom(p);
	}
	pair = &d->pairs[pq];
	if (d->n_pairs < (size_t)pq + 1)
		d->n_pairs = pq + 1;	/* each freed with the draft */
	if (key)
		pair->key_line = p->line;
	else
		pair->cert_line = p->line;
	return set_string(p, d, key ? P_KEY : P_CERT,
			  key ? &pair->key : &pair->cert, value);
}

/* Whether GnuTLS has ML-DSA, which x509.pq.* keys are (3.8.9 can have). */
static int have_mldsa(void)
{
	return gnutls_pk_get_id("ML-DSA-44") != GNUTLS_PK_UNKNOWN;
}

static int side_setting(struct parse *p, struct draft *d, const char *key,
			const char *value)
{
	struct tlshd_file *t = p->user;

	if (!strcmp(key, "x509.truststore"))
		return set_string(p, d, P_CA, &d->ca, value);
	if (!strcmp(key, "x509.crl"))
		return set_string(p, d, P_CRL, &d->crl, value);
	if (!strcmp(key, "x509.certificate"))
		return set_pair(p, d, 0, 0, value);
	if (!strcmp(key, "x509.private_key"))
		return set_pair(p, d, 0, 1, value);
	if (strcmp(key, "x509.pq.certificate") &&
	    strcmp(key, "x509.pq.private_key")) {
		log_warn("%s:%d: [%s] %s is not used by ktlsd", p->file,
			 p->line, t->group, key);
		return 0;
	}
	if (have_mldsa())
		return set_pair(p, d, 1, !strcmp(key, "x509.pq.private_key"),
				value);
	log_warn("%s:%d: [%s] %s: this GnuTLS (%s) has no ML-DSA, so ktlsd "
		 "presents no post-quantum certificate", p->file, p->line,
		 t->group, key, gnutls_check_version(NULL));
	return 0;
}

/* An integer as GLib's key file reads one: anything else is 0. */
static int keyfile_int(const char *value)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	return end == value || *end || errno || v < INT_MIN || v > INT_MAX ?
	       0 : (int)v;
}

/* [debug]: loglevel, tls (GnuTLS's) and nl (libnl's) levels. */
static int debug_setting(struct parse *p, const char *key, const char *value)
{
	struct tlshd_file *t = p->user;

	if (!strcmp(key, "loglevel"))
		t->u->debug = keyfile_int(value);
	else if (!strcmp(key, "tls"))
		t->u->tls_debug = keyfile_int(value);
	else if (!strcmp(key, "nl"))
		t->u->nl_debug = keyfile_int(value);
	else if (!strcmp(key, "delay_done"))
		log_warn("%s:%d: [debug] delay_done, tlshd's test delay before "
			 "DONE, is not implemented by ktlsd: DONE goes out at "
			 "once", p->file, p->line);
	else
		log_warn("%s:%d: [debug] %s is not used by ktlsd", p->file,
			 p->line, key);
	return 0;
}

/* One "key=value" of a group tlshd reads; others are only noted. */
static int tlshd_setting(struct parse *p, const char *key, char *value)
{
	struct tlshd_file *t = p->user;

	if (!strcmp(t->group, "authenticate.client"))
		return side_setting(p, &t->side[0], key, value);
	if (!strcmp(t->group, "authenticate.server"))
		return side_setting(p, &t->side[1], key, value);
	if (!strcmp(t->group, "authenticate") && !strcmp(key, "keyrings"))
		return set_keyrings(p, t->u, value);
	if (!strcmp(t->group, "debug"))
		return debug_setting(p, key, value);
	log_warn("%s:%d: [%s] %s is not used by ktlsd", p->file, p->line,
		 t->group, key);
	return 0;
}

/* ---- Credentials ---- */

static int new_profile(struct parse *p, struct profile *pr, const char *name,
		       enum ktls_role role)
{
	pr->name = strdup(name);
	pr->role = role;
	pr->timeout_ms = UPCALL_TIMEOUT_MS;
	return pr->name ? 0 : conf_fail(p, 0, -ENOMEM, "out of memory");
}

static const char *const pair_keys[2][2] = {
	{ "x509.certificate", "x509.private_key" },
	{ "x509.pq.certificate", "x509.pq.private_key" },
};

/*
 * A certificate needs its key and a key its certificate; the pairs given
 * are moved to the front (a post-quantum one alone comes first).
 */
static int check_pairs(struct parse *p, struct draft *d, int side)
{
	struct pair *pair;
	size_t i, n = 0, pq[2];
	int c;

	for (i = 0; i < d->n_pairs; i++) {
		pair = &d->pairs[i];
		if (!pair->cert && !pair->key)
			continue;
		pq[n] = i;
		if (i != n) {
			d->pairs[n] = *pair;
			memset(pair, 0, sizeof(*pair));
		}
		n++;
	}
	d->n_pairs = n;
	for (i = 0; i < n; i++) {
		pair = &d->pairs[i];
		if (pair->cert && pair->key)
			continue;
		c = !pair->cert;
		return conf_fail(p, c ? pair->key_line : pair->cert_line,
				 -EINVAL, "[authenticate.%s] has %s without %s",
				 side ? "server" : "client",
				 pair_keys[pq[i]][c], pair_keys[pq[i]][!c]);
	}
	return 0;
}

/*
 * A side as tlshd has it: TLS 1.3 only, the truststore (or the system's)
 * on both sides, the certificate if any; a server asks clients for one
 * and checks one that comes; a client in an unauthenticated request sends
 * none (anon).
 */
static int build_side(struct parse *p, struct upcall_conf *u,
		      struct draft *d, int side)
{
	struct upcall_side *s = side ? &u->server : &u->client;
	enum ktls_role role = side ? KTLS_SERVER : KTLS_CLIENT;
	struct draft anon = { .trust = TRUST_TLSHD, .versions = VERSION_13 };
	int ret;

	d->trust = TRUST_TLSHD;
	d->versions = VERSION_13;
	if (side)
		d->client_verify = KTLS_VERIFY_REQUEST_CLIENT;
	ret = check_pairs(p, d, side);
	if (!ret)
		ret = new_profile(p, &s->own, side ? "tlshd-server" :
				  "tlshd-client", role);
	if (!ret)
		ret = profile_build(p, &s->own, d);
	if (ret)
		return ret;
	s->p = &s->own;
	s->tls13_only = 1;
	s->have_cert = d->n_pairs;
	if (side)
		return 0;
	/* The trust own ended up with: a warning about it is given once. */
	anon.ca = s->own.ca;
	anon.crl = d->crl;
	anon.seen[P_CA] = d->seen[P_CA];
	anon.seen[P_CRL] = d->seen[P_CRL];
	ret = new_profile(p, &s->anon, "tlshd-client-anon", role);
	return ret ? ret : profile_build(p, &s->anon, &anon);
}

static int use_profile(struct parse *p, struct conf *c, struct upcall_side *s,
		       const char *name, enum ktls_role role)
{
	const struct profile *pr = conf_profile(c, name, strlen(name));

	if (!pr)
		return conf_fail(p, c->upcall->line, -EINVAL, "[upcall] names "
				 "profile '%s', which is not defined", name);
	if (pr->role != role)
		return conf_fail(p, c->upcall->line, -EINVAL, "[upcall] "
				 "%s_profile '%s' is a %s profile",
				 role == KTLS_CLIENT ? "client" : "server", name,
				 pr->role == KTLS_CLIENT ? "client" : "server");
	s->p = pr;
	s->have_cert = 1;
	return 0;
}

static const char *default_tlshd_path(void)
{
	if (!access(TLSHD_CONFIG, F_OK))
		return TLSHD_CONFIG;
	if (!access(TLSHD_CONFIG_LEGACY, F_OK))
		return TLSHD_CONFIG_LEGACY;
	return NULL;
}

/* The sides no ktlsd profile serves, from tlshd's file or its defaults. */
static int tlshd_sides(struct conf *c, char *err, size_t errlen)
{
	struct upcall_conf *u = c->upcall;
	struct tlshd_file t = { .u = u };
	struct parse p = {
		.file = "upcall", .syntax = SYNTAX_KEYFILE, .begin = tlshd_begin,
		.set = tlshd_setting, .user = &t, .err = err, .errlen = errlen,
		.c = c,
	};
	const char *path = u->tlshd_config ? u->tlshd_config
					   : default_tlshd_path();
	int ret = 0, side;

	if (path) {
		u->tlshd_path = strdup(path);
		if (!u->tlshd_path)
			return conf_fail(&p, 0, -ENOMEM, "out of memory");
		p.file = u->tlshd_path;
		ret = conf_parse_file(&p);
	}
	/* Without a file, tlshd's defaults: the system's trust, no certificate. */
	for (side = 0; !ret && side < 2; side++)
		if (!(side ? u->server.p : u->client.p))
			ret = build_side(&p, u, &t.side[side], side);
	draft_free(&t.side[0]);
	draft_free(&t.side[1]);
	return ret;
}

int upcall_conf_finish(struct conf *c, char *err, size_t errlen)
{
	struct upcall_conf *u = c->upcall;
	struct parse p = { .file = c->path, .err = err, .errlen = errlen };
	int ret = 0;

	if (u->enable == UPCALL_NO)
		return 0;
	if (u->client_profile)
		ret = use_profile(&p, c, &u->client, u->client_profile,
				  KTLS_CLIENT);
	if (!ret && u->server_profile)
		ret = use_profile(&p, c, &u->server, u->server_profile,
				  KTLS_SERVER);
	if (ret || (u->client.p && u->server.p))
		return ret;
	ret = tlshd_sides(c, err, errlen);
	if (ret)
		return ret;
	upcall_note_tags(TLSHD_TAGS_DIR);
	/* tlshd's loglevel, 1 and up, is ktlsd's debug level. */
	if (u->debug > 0)
		c->log_level = LOG_DEBUG;
	return 0;
}

/* ---- One request's credentials ---- */

/* What the kernel's keys held, for one request; wiped when done. */
struct req_keys {
	uint8_t *cert, *psk;
	size_t cert_len, psk_len;
	char identity[256];
};

static void req_keys_wipe(struct req_keys *k)
{
	if (k->psk)
		explicit_bzero(k->psk, k->psk_len);
	free(k->psk);
	free(k->cert);
}

/* Types a key the kernel names may have: readable, and meant for it. */
static const char *const cert_types[] = { "user", "big_key", NULL };
static const char *const psk_types[] = { "psk", "user", NULL };

/*
 * Is key serial of a type it may be (what: "certificate", "PSK")? 0, or
 * EKEYREJECTED with *msg and a log line naming the type.
 */
static int key_type_ok(int32_t serial, const char *const *types,
		       const char *what, const char **msg)
{
	char type[64];

	if (keyring_check_type(serial, types, type, sizeof(type)) !=
	    -EKEYREJECTED)
		return 0;	/* readable or not: keyring_read() tells */
	log_info("upcall: key %d that the kernel named as a %s is of type "
		 "'%s'; refused", serial, what, type);
	*msg = "A key the kernel named is of the wrong type.";
	return EKEYREJECTED;
}

/*
 * The certificate the kernel named, into d, and its private key's serial:
 * the key process reads that key, never this one. 0 or errno.
 */
static int keyring_cert(struct draft *d, struct req_keys *k,
			const struct upreq *r, const char **msg)
{
	int ret;

	ret = key_type_ok(r->cert, cert_types, "certificate", msg);
	if (!ret)
		ret = key_type_ok(r->privkey, cert_types, "private key", msg);
	if (ret)
		return ret;
	ret = keyring_read(r->cert, &k->cert, &k->cert_len);
	if (!ret && r->privkey <= 0)
		ret = -ENOKEY;
	if (ret) {
		*msg = "The certificate or private key the kernel named could "
		       "not be read from the keyring.";
		return -ret == EACCES ? EACCES : EKEYREJECTED;
	}
	d->cert_mem = k->cert;
	d->cert_len = k->cert_len;
	d->key_serial = r->privkey;
	d->mem_what = "the certificate and key the kernel named";
	return 0;
}

int upcall_psk_hash(const char *identity, size_t key_len)
{
	const char *id = identity;

	/* NVMe/TCP: "NVMe<version><R|G><hash> ...", hash 01 or 02. */
	if (!strncmp(id, "NVMe", 4) && isdigit((unsigned char)id[4]) &&
	    id[5] && isdigit((unsigned char)id[6]) &&
	    isdigit((unsigned char)id[7]) && id[8] == ' ')
		return id[6] != '0' ? -1 : id[7] == '1' ? 256 :
		       id[7] == '2' ? 384 : -1;
	return key_len == 48 ? 384 : key_len == 32 ? 256 : 0;
}

/* One PSK the kernel named, if we can use it: 0 or errno with *msg. */
static int client_psk_one(struct req_keys *k, int32_t serial, int *hash,
			  const char **msg)
{
	int ret = key_type_ok(serial, psk_types, "PSK", msg);

	if (ret)
		return ret;
	if (keyring_describe(serial, k->identity, sizeof(k->identity)) ||
	    keyring_read(serial, &k->psk, &k->psk_len)) {
		*msg = "None of the PSKs the kernel named could be read from "
		       "the keyring.";
		return EKEYREJECTED;
	}
	*hash = upcall_psk_hash(k->identity, k->psk_len);
	if (*hash < 0) {
		log_info("upcall: PSK %d '%s' names a hash that ktlsd does not "
			 "know; skipped", serial, k->identity);
		*msg = "A PSK names a hash that ktlsd does not know.";
		return EKEYREJECTED;
	}
	if (*hash == 384 && !config_psk_sha384_supported()) {
		log_warn("upcall: PSK %d '%s' is for SHA-384 suites, which this "
			 "GnuTLS (%s) cannot use with a PSK (3.8.11 and later "
			 "can); skipped", serial, k->identity,
			 gnutls_check_version(NULL));
		*msg = "This GnuTLS cannot use a SHA-384 PSK.";
		return EOPNOTSUPP;
	}
	return 0;
}

static void req_psk_wipe(struct req_keys *k)
{
	if (k->psk)
		explicit_bzero(k->psk, k->psk_len);
	free(k->psk);
	k->psk = NULL;
	k->psk_len = 0;
}

/*
 * Client PSK: the next key the kernel named (from r->psk_next) that we
 * can use; tlshd offers them one ClientHello each, and so do we.
 */
static int client_psk(struct draft *d, struct req_keys *k, struct upreq *r,
		      const char **msg)
{
	int ret = EKEYREJECTED, hash = 0;
	unsigned i;

	*msg = "The kernel named no PSK.";
	for (i = r->psk_next; i < r->n_peerids; i++) {
		req_psk_wipe(k);
		ret = client_psk_one(k, r->peerids[i], &hash, msg);
		if (!ret)
			break;
	}
	r->psk_next = i + 1;
	if (ret)
		return ret;
	r->psk_used = r->peerids[i];
	d->psk_identity = k->identity;
	d->psk_mem = k->psk;
	d->psk_len = k->psk_len;
	d->psk_sha384 = hash == 384;
	/* The suites of the PSK's hash. */
	d->ciphers = hash == 384 ? KTLS_CIPHER_AES_256_GCM :
		     hash == 256 ? KTLS_CIPHER_AES_128_GCM |
				   KTLS_CIPHER_AES_128_CCM |
				   KTLS_CIPHER_CHACHA20_POLY1305 : 0;
	return 0;
}

/* Server PSK: called by GnuTLS with the identity the client offers. */
static int server_psk(void *arg, const char *identity, uint8_t *key,
		      size_t *key_len)
{
	struct upreq *r = arg;
	int32_t rings[UPCALL_MAX_IDS + 16];
	size_t n = 0, i, len;
	uint8_t *data;
	int32_t serial;
	/* The configuration the job started with, as for the rest of it. */
	const struct conf *c = r->j.conf;

	/*
	 * Mostly found among the keys we possess already: the keyrings are
	 * looked up by name (a read of /proc/keys each) only when it is not.
	 */
	serial = keyring_find_possessed_psk(identity);
	if (serial)
		goto found;
	if (r->keyring)
		rings[n++] = r->keyring;
	for (i = 0; c->upcall && i < c->upcall->n_keyrings &&
	     n < sizeof(rings) / sizeof(rings[0]); i++) {
		serial = keyring_lookup(c->upcall->keyrings[i]);
		if (serial)
			rings[n++] = serial;
	}
	/* As tlshd: the consumers' own keyrings are always searched. */
	for (i = 0; i < 3 && n < sizeof(rings) / sizeof(rings[0]); i++) {
		serial = keyring_lookup(i == 0 ? ".nvme" : i == 1 ? ".nfs" : ".nfsd");
		if (serial)
			rings[n++] = serial;
	}
	serial = keyring_find_psk(rings, n, identity);
found:
	if (!serial || keyring_read(serial, &data, &len)) {
		atomic_store(&r->psk_unknown, UPCALL_PSK_UNKNOWN);
		log_info("upcall: no PSK with identity '%s' in the keyrings",
			 identity);
		return -ENOKEY;
	}
	if (len > *key_len || (upcall_psk_hash(identity, 0) == 384 &&
				!config_psk_sha384_supported())) {
		if (len <= *key_len) {
			atomic_store(&r->psk_unknown, UPCALL_PSK_UNUSABLE);
			log_warn("upcall: the client's PSK '%s' is for SHA-384 "
				 "suites, which this GnuTLS (%s) cannot use with "
				 "a PSK (3.8.11 and later can)", identity,
				 gnutls_check_version(NULL));
		}
		explicit_bzero(data, len);
		free(data);
		return -EMSGSIZE;
	}
	memcpy(key, data, len);
	*key_len = len;
	explicit_bzero(data, len);
	free(data);
	r->psk_used = serial;
	return 0;
}

/* The kernel's status and a sentence for a profile that did not build. */
static int build_failed(const struct parse *p, const struct draft *d,
			const char **msg)
{
	log_debug("%s", p->err);
	if (p->ret == -ENOMEM) {
		*msg = "Out of memory.";
		return ENOMEM;
	}
	if (p->ret == -EPIPE || p->ret == -ETIMEDOUT) {
		*msg = "The key process is gone (reload ktlsd).";
		return EIO;
	}
	switch (p->err_key) {
	case P_CERT:
	case P_KEY:
		*msg = "The certificate or private key in the keyring is not "
		       "one GnuTLS can read (DER or PEM expected).";
		return EKEYREJECTED;
	case P_PSK_KEY:
		if (!d->psk_mem)
			break;
		*msg = "The PSK from the keyring was refused.";
		return EKEYREJECTED;
	case P_CA:
	case P_CRL:
		*msg = "The trust store did not load.";
		return EIO;
	}
	*msg = "Setting up the handshake failed.";
	return EIO;
}

/* The keys the kernel named, in a draft: 0 or errno with *msg. */
static int request_draft(struct draft *d, struct req_keys *k, struct upreq *r,
			 const struct upcall_side *s, const char **msg)
{
	int client = r->type == HANDSHAKE_MSG_TYPE_CLIENTHELLO;

	if (r->auth == HANDSHAKE_AUTH_PSK) {
		d->versions = VERSION_13;
		if (client)
			return client_psk(d, k, r, msg);
		d->psk_lookup = server_psk;
		d->psk_arg = r;
		return 0;
	}
	/* The default profile's trust, loaded the way tlshd loads it. */
	d->trust = TRUST_TLSHD;
	d->ca = s->p ? s->p->ca : NULL;
	d->crl = s->p ? s->p->crl : NULL;
	if (s->tls13_only)
		d->versions = VERSION_13;
	if (!client)
		d->client_verify = KTLS_VERIFY_REQUEST_CLIENT;
	return keyring_cert(d, k, r, msg);
}

/* A profile of r's own, from the keys the kernel named. 0 or errno. */
static int own_creds(struct conf *c, struct upreq *r,
		     const struct upcall_side *s, struct profile **out,
		     const char **msg)
{
	int client = r->type == HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	int psk = r->auth == HANDSHAKE_AUTH_PSK;
	struct req_keys k = { 0 };
	struct draft d = { 0 };		/* borrows all it holds */
	char why[256] = "";
	struct parse p = { .file = "upcall", .err = why, .errlen = sizeof(why),
			   .c = c };
	struct profile *pr = calloc(1, sizeof(*pr));
	int ret = ENOMEM;

	*msg = "Out of memory.";
	if (!pr || new_profile(&p, pr, psk ? (client ? "upcall-psk-client" :
					      "upcall-psk-server") :
			       (client ? "upcall-keyring-client" :
				"upcall-keyring-server"),
			       client ? KTLS_CLIENT : KTLS_SERVER))
		goto out;
	if (r->timeout_ms)
		pr->timeout_ms = r->timeout_ms;
	ret = request_draft(&d, &k, r, s, msg);
	if (!ret && profile_build(&p, pr, &d))
		ret = build_failed(&p, &d, msg);
out:
	req_keys_wipe(&k);
	if (ret) {
		profile_free(pr);
		free(pr);
		return ret;
	}
	*out = pr;
	return 0;
}

int upcall_psk_next(struct upreq *r)
{
	struct profile *pr;
	const char *msg;
	int ret;

	if (r->type != HANDSHAKE_MSG_TYPE_CLIENTHELLO ||
	    r->auth != HANDSHAKE_AUTH_PSK || r->psk_next >= r->n_peerids)
		return 0;
	ret = own_creds(r->j.conf, r, NULL, &pr, &msg);
	if (ret) {
		log_info("upcall: no further PSK to offer: %s", msg);
		return 0;
	}
	profile_free(r->j.own);
	free(r->j.own);
	r->j.own = pr;
	r->j.p = pr;
	return 1;
}

int upcall_creds(struct conf *c, struct upreq *r, const char **msg)
{
	struct upcall_conf *u = c->upcall;
	int client = r->type == HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	const struct upcall_side *s = client ? &u->client : &u->server;
	struct job *j = &r->j;
	int ret = 0;

	if (r->auth == HANDSHAKE_AUTH_PSK ||
	    (r->auth == HANDSHAKE_AUTH_X509 && r->cert != TLS_NO_CERT &&
	     r->privkey != TLS_NO_PRIVKEY)) {
		ret = own_creds(c, r, s, &j->own, msg);
		j->p = j->own;
	} else if (!s->p) {
		*msg = "The upcall has no credentials configured.";
		ret = EACCES;
	} else if (client && r->auth == HANDSHAKE_AUTH_UNAUTH && s->anon.cfg) {
		j->p = &s->anon;
	} else if (!s->have_cert && (!client || r->auth == HANDSHAKE_AUTH_X509)) {
		*msg = client ? "No client certificate is configured "
				"(x509.certificate in [authenticate.client])." :
				"No server certificate is configured "
				"(x509.certificate in [authenticate.server]).";
		ret = EACCES;
	} else {
		j->p = s->p;
	}
	if (ret) {
		conf_put(c);
		return ret;
	}
	j->conf = c;
	return 0;
}
