// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The credentials of the kernel's handshake requests. They come from
 * ktlsd profiles named in [upcall], or from tlshd's configuration file
 * (read the way ktls-utils reads it, so that a host serving NFS or NVMe
 * over TLS can swap tlshd for ktlsd without touching its files), or, per
 * request, from the kernel keyrings when the kernel names keys.
 *
 * Default credentials are loaded once per (re)load; a configuration of its
 * own is built only for a request that carries key serials, which is rare
 * (a mount, a controller connect) and needs the keys read anyway.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "handshake_nl.h"
#include "upcall.h"

struct upcall_conf *upcall_conf_new(void)
{
	return calloc(1, sizeof(struct upcall_conf));
}

static void side_free(struct upcall_side *s)
{
	free(s->own.name);
	ktls_config_free(s->own.cfg);
	free(s->anon.name);
	ktls_config_free(s->anon.cfg);
	free(s->ca);
	free(s->crl);
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

static int __attribute__((format(printf, 4, 5)))
say(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* ---- tlshd's file: a GLib key file ---- */

enum { T_TRUST, T_CRL, T_CERT, T_KEY, T_COUNT };
static const char *const tlshd_keys[T_COUNT] = {
	[T_TRUST] = "x509.truststore",
	[T_CRL] = "x509.crl",
	[T_CERT] = "x509.certificate",
	[T_KEY] = "x509.private_key",
};

struct tlshd_file {
	const char *path;
	char *v[2][T_COUNT];		/* [0] client, [1] server */
	int line[2][T_COUNT];
};

static void tlshd_file_free(struct tlshd_file *t)
{
	int i, k;

	for (i = 0; i < 2; i++)
		for (k = 0; k < T_COUNT; k++)
			free(t->v[i][k]);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* GKeyFile's escapes in string values: \s \n \t \r \\. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			*o++ = *s;
			continue;
		}
		s++;
		*o++ = *s == 's' ? ' ' : *s == 'n' ? '\n' : *s == 't' ? '\t' :
		       *s == 'r' ? '\r' : *s;
	}
	*o = 0;
}

static int add_keyring(struct upcall_conf *u, const char *name)
{
	char **k = realloc(u->keyrings, (u->n_keyrings + 1) * sizeof(*k));

	if (!k)
		return -ENOMEM;
	u->keyrings = k;
	k[u->n_keyrings] = strdup(name);
	if (!k[u->n_keyrings])
		return -ENOMEM;
	u->n_keyrings++;
	return 0;
}

static int set_keyrings(struct upcall_conf *u, char *value)
{
	char *save = NULL, *w;
	int ret = 0;

	for (w = strtok_r(value, ";", &save); w && !ret;
	     w = strtok_r(NULL, ";", &save)) {
		w = trim(w);
		if (*w)
			ret = add_keyring(u, w);
	}
	return ret;
}

/* One "key=value" of a section tlshd reads; others are only noted. */
static int tlshd_setting(struct upcall_conf *u, struct tlshd_file *t,
			 const char *sect, int line, const char *key,
			 char *value)
{
	int side = -1, k;

	if (!strcmp(sect, "authenticate.client"))
		side = 0;
	else if (!strcmp(sect, "authenticate.server"))
		side = 1;
	if (side >= 0) {
		for (k = 0; k < T_COUNT && strcmp(key, tlshd_keys[k]); k++)
			;
		if (k == T_COUNT) {
			log_warn("%s:%d: [%s] %s is not used by ktlsd", t->path,
				 line, sect, key);
			return 0;
		}
		free(t->v[side][k]);
		t->v[side][k] = strdup(value);
		t->line[side][k] = line;
		return t->v[side][k] ? 0 : -ENOMEM;
	}
	if (!strcmp(sect, "authenticate") && !strcmp(key, "keyrings"))
		return set_keyrings(u, value);
	if (!strcmp(sect, "debug")) {
		if (!strcmp(key, "loglevel"))
			u->debug = atoi(value);
		/* tls, nl and delay_done tune tlshd's own internals. */
		return 0;
	}
	log_warn("%s:%d: [%s] %s is not used by ktlsd", t->path, line, sect,
		 key);
	return 0;
}

static int read_tlshd(struct upcall_conf *u, struct tlshd_file *t,
		      char *err, size_t errlen)
{
	char buf[4096], sect[64] = "", *s, *eq;
	int line = 0, ret = 0, n;
	FILE *f = fopen(t->path, "re");

	if (!f)
		return say(err, errlen, -errno, "%s: %s", t->path,
			   strerror(errno));
	/* A line cut in two, or at a NUL, would be read as something else. */
	while (!ret && (n = conf_read_line(f, buf, sizeof(buf)))) {
		line++;
		if (n == -EIO) {
			ret = say(err, errlen, -EIO, "%s: read error", t->path);
			break;
		}
		if (n == -EILSEQ) {
			ret = say(err, errlen, -EINVAL, "%s:%d: a NUL byte in "
				  "the line", t->path, line);
			break;
		}
		s = trim(buf);
		if (!*s || *s == '#')
			continue;	/* a long comment too */
		if (n == -E2BIG) {
			ret = say(err, errlen, -EINVAL, "%s:%d: line longer "
				  "than %zu characters", t->path, line,
				  sizeof(buf) - 1);
			break;
		}
		if (*s == '[') {
			eq = strchr(s, ']');
			if (!eq || (size_t)(eq - s) > sizeof(sect)) {
				ret = say(err, errlen, -EINVAL, "%s:%d: bad "
					  "group header", t->path, line);
				break;
			}
			snprintf(sect, sizeof(sect), "%.*s", (int)(eq - s - 1),
				 s + 1);
			continue;
		}
		eq = strchr(s, '=');
		if (!eq || !*sect) {
			ret = say(err, errlen, -EINVAL, "%s:%d: 'key=value' or "
				  "'[group]' expected", t->path, line);
			break;
		}
		*eq = 0;
		unescape(eq + 1);
		ret = tlshd_setting(u, t, sect, line, trim(s), trim(eq + 1));
		if (ret)
			say(err, errlen, ret, "%s: %s", t->path, strerror(-ret));
	}
	fclose(f);
	return ret;
}

/* ---- Credentials ---- */

static int new_profile(struct profile *p, const char *name,
		       enum ktls_role role)
{
	p->name = strdup(name);
	p->role = role;
	p->timeout_ms = 10000;
	if (!p->name)
		return -ENOMEM;
	return ktls_config_new(&p->cfg, role);
}

/*
 * Trust as tlshd has it: the truststore if it can be read, else the
 * system's. An empty system store is not fatal here: tlshd starts without
 * one too, and handshakes that need it then fail, saying why.
 */
static int load_trust(struct ktls_config *cfg, const char *ca,
		      const char *crl)
{
	int ret = ktls_config_set_ca_file(cfg, ca);

	if (ret && !ca) {
		log_warn("upcall: the system trust store did not load (%s); "
			 "server certificates cannot be verified",
			 ktls_strerror(ret));
		ret = 0;
	}

	if (!ret && crl)
		ret = ktls_config_set_crl_file(cfg, crl);
	return ret;
}

static int build_side(struct upcall_conf *u, struct tlshd_file *t, int side,
		      char *err, size_t errlen)
{
	struct upcall_side *s = side ? &u->server : &u->client;
	enum ktls_role role = side ? KTLS_SERVER : KTLS_CLIENT;
	const char *sect = side ? "authenticate.server" : "authenticate.client";
	char **v = t->v[side];
	int ret;

	if (v[T_TRUST] && access(v[T_TRUST], R_OK)) {
		log_warn("%s:%d: x509.truststore %s: %s; using the system's "
			 "trust store, as tlshd does", t->path,
			 t->line[side][T_TRUST], v[T_TRUST], strerror(errno));
		free(v[T_TRUST]);
		v[T_TRUST] = NULL;
	}
	if (!v[T_CERT] != !v[T_KEY])
		return say(err, errlen, -EINVAL, "%s: [%s] has %s without %s",
			   t->path, sect, v[T_CERT] ? "x509.certificate" :
			   "x509.private_key", v[T_CERT] ? "x509.private_key" :
			   "x509.certificate");
	ret = new_profile(&s->own, side ? "tlshd-server" : "tlshd-client", role);
	if (!ret)
		ret = ktls_config_set_versions(s->own.cfg, KTLS_TLS13, KTLS_TLS13);
	if (!ret)
		ret = load_trust(s->own.cfg, v[T_TRUST], v[T_CRL]);
	if (ret)
		return say(err, errlen, ret, "%s: [%s] trust store %s: %s",
			   t->path, sect, v[T_TRUST] ? v[T_TRUST] : "(system)",
			   ktls_strerror(ret));
	if (v[T_CERT]) {
		ret = ktls_config_add_cert(s->own.cfg, v[T_CERT], v[T_KEY]);
		if (ret)
			return say(err, errlen, ret, "%s:%d: [%s] %s with key %s: "
				   "%s", t->path, t->line[side][T_CERT], sect,
				   v[T_CERT], v[T_KEY], ktls_strerror(ret));
		s->have_cert = 1;
	}
	/* tlshd asks clients for a certificate, and checks one that comes. */
	if (side && (ret = ktls_config_set_verify(s->own.cfg,
					KTLS_VERIFY_REQUEST_CLIENT)))
		return say(err, errlen, ret, "%s", ktls_strerror(ret));
	/* tlshd sends no certificate for an unauthenticated client request. */
	if (!side) {
		ret = new_profile(&s->anon, "tlshd-client-anon", role);
		if (!ret)
			ret = ktls_config_set_versions(s->anon.cfg, KTLS_TLS13,
						       KTLS_TLS13);
		if (!ret)
			ret = load_trust(s->anon.cfg, v[T_TRUST], v[T_CRL]);
		if (ret)
			return say(err, errlen, ret, "%s: %s", t->path,
				   ktls_strerror(ret));
	}
	s->p = &s->own;
	s->tls13_only = 1;
	if ((v[T_TRUST] && !(s->ca = strdup(v[T_TRUST]))) ||
	    (v[T_CRL] && !(s->crl = strdup(v[T_CRL]))))
		return say(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

static int use_profile(struct conf *c, struct upcall_side *s,
		       const char *name, enum ktls_role role, char *err,
		       size_t errlen)
{
	const struct profile *p = conf_profile(c, name, strlen(name));

	if (!p)
		return say(err, errlen, -EINVAL, "%s:%d: [upcall] names profile "
			   "'%s', which is not defined", c->path,
			   c->upcall->line, name);
	if (p->role != role)
		return say(err, errlen, -EINVAL, "%s:%d: [upcall] %s_profile "
			   "'%s' is a %s profile", c->path, c->upcall->line,
			   role == KTLS_CLIENT ? "client" : "server", name,
			   p->role == KTLS_CLIENT ? "client" : "server");
	s->p = p;
	s->have_cert = 1;
	if ((p->ca && !(s->ca = strdup(p->ca))) ||
	    (p->crl && !(s->crl = strdup(p->crl))))
		return say(err, errlen, -ENOMEM, "out of memory");
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

int upcall_conf_finish(struct conf *c, char *err, size_t errlen)
{
	struct upcall_conf *u = c->upcall;
	struct tlshd_file t = { 0 };
	int ret = 0, side;

	if (u->enable == UPCALL_NO)
		return 0;
	if (u->client_profile)
		ret = use_profile(c, &u->client, u->client_profile, KTLS_CLIENT,
				  err, errlen);
	if (!ret && u->server_profile)
		ret = use_profile(c, &u->server, u->server_profile, KTLS_SERVER,
				  err, errlen);
	if (ret || (u->client.p && u->server.p))
		return ret;
	t.path = u->tlshd_config ? u->tlshd_config : default_tlshd_path();
	if (t.path) {
		u->tlshd_path = strdup(t.path);
		if (!u->tlshd_path)
			return say(err, errlen, -ENOMEM, "out of memory");
		ret = read_tlshd(u, &t, err, errlen);
	}
	/* Without a file, tlshd's defaults: the system's trust, no certificate. */
	for (side = 0; !ret && side < 2; side++)
		if (!(side ? u->server.p : u->client.p))
			ret = build_side(u, &t, side, err, errlen);
	tlshd_file_free(&t);
	return ret;
}

/* ---- One request's credentials ---- */

/* A configuration of one profile, for one request; conf_put() frees it. */
static struct conf *request_conf(const struct conf *base, const char *name,
				 enum ktls_role role, struct ktls_config **cfg)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	c->max_inflight = base->max_inflight;
	c->profiles = calloc(1, sizeof(*c->profiles));
	if (c->profiles) {
		c->n_profiles = 1;
		if (!new_profile(&c->profiles[0], name, role)) {
			*cfg = c->profiles[0].cfg;
			return c;
		}
	}
	conf_put(c);
	return NULL;
}

/* The certificate and key the kernel named, into cfg. 0 or errno. */
static int keyring_cert(struct ktls_config *cfg, const struct upreq *r,
			const char **msg)
{
	uint8_t *cert = NULL, *key = NULL;
	size_t clen = 0, klen = 0;
	int ret;

	ret = keyring_read(r->cert, &cert, &clen);
	if (!ret)
		ret = keyring_read(r->privkey, &key, &klen);
	if (ret) {
		*msg = "The certificate or private key the kernel named could "
		       "not be read from the keyring.";
		ret = -ret == EACCES ? EACCES : EKEYREJECTED;
		goto out;
	}
	if (ktls_config_add_cert_mem(cfg, cert, clen, key, klen)) {
		*msg = "The certificate or private key in the keyring is not "
		       "one GnuTLS can read (DER or PEM expected).";
		ret = EKEYREJECTED;
	}
out:
	if (key)
		gnutls_memset(key, 0, klen);
	free(key);
	free(cert);
	return ret;
}

/* Client PSK: the first key the kernel named that we can read. */
static int client_psk(struct ktls_config *cfg, struct upreq *r,
		      const char **msg)
{
	char identity[256];
	uint8_t *key = NULL;
	size_t len = 0;
	unsigned i, ciphers;
	int ret = -ENOKEY;

	for (i = 0; i < r->n_peerids; i++) {
		if (keyring_describe(r->peerids[i], identity, sizeof(identity)))
			continue;
		ret = keyring_read(r->peerids[i], &key, &len);
		if (!ret)
			break;
	}
	if (ret) {
		*msg = "None of the PSKs the kernel named could be read from "
		       "the keyring.";
		return EKEYREJECTED;
	}
	r->psk_used = r->peerids[i];
	ret = ktls_config_set_psk(cfg, identity, key, len);
	/* A 48-byte key is for SHA-384 suites, a 32-byte one for SHA-256 ones. */
	ciphers = len == 48 ? KTLS_CIPHER_AES_256_GCM :
		  len == 32 ? KTLS_CIPHER_AES_128_GCM | KTLS_CIPHER_AES_128_CCM |
			      KTLS_CIPHER_CHACHA20_POLY1305 : 0;
	if (!ret && ciphers)
		ret = ktls_config_set_ciphers(cfg, ciphers);
	gnutls_memset(key, 0, len);
	free(key);
	if (ret) {
		*msg = "The PSK from the keyring was refused.";
		return EKEYREJECTED;
	}
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
	struct conf *c;

	if (r->keyring)
		rings[n++] = r->keyring;
	c = ktlsd_conf(r->j.d);
	for (i = 0; c->upcall && i < c->upcall->n_keyrings &&
	     n < sizeof(rings) / sizeof(rings[0]); i++) {
		serial = keyring_lookup(c->upcall->keyrings[i]);
		if (serial)
			rings[n++] = serial;
	}
	conf_put(c);
	/* As tlshd: the consumers' own keyrings are always searched. */
	for (i = 0; i < 3 && n < sizeof(rings) / sizeof(rings[0]); i++) {
		serial = keyring_lookup(i == 0 ? ".nvme" : i == 1 ? ".nfs" : ".nfsd");
		if (serial)
			rings[n++] = serial;
	}
	serial = keyring_find_psk(rings, n, identity);
	if (!serial || keyring_read(serial, &data, &len)) {
		atomic_store(&r->psk_unknown, 1);
		log_info("upcall: no PSK with identity '%s' in the keyrings",
			 identity);
		return -ENOKEY;
	}
	if (len > *key_len) {
		gnutls_memset(data, 0, len);
		free(data);
		return -EMSGSIZE;
	}
	memcpy(key, data, len);
	*key_len = len;
	gnutls_memset(data, 0, len);
	free(data);
	r->psk_used = serial;
	return 0;
}

static int own_creds(struct conf *base, struct upreq *r,
		     const struct upcall_side *s, struct conf **out,
		     const char **msg)
{
	int client = r->type == HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	int psk = r->auth == HANDSHAKE_AUTH_PSK;
	struct ktls_config *cfg = NULL;
	struct conf *c;
	int ret;

	c = request_conf(base, psk ? (client ? "upcall-psk-client" :
				      "upcall-psk-server") :
			 (client ? "upcall-keyring-client" :
			  "upcall-keyring-server"),
			 client ? KTLS_CLIENT : KTLS_SERVER, &cfg);
	if (!c) {
		*msg = "Out of memory.";
		return ENOMEM;
	}
	ret = ktls_config_set_timeout(cfg, r->timeout_ms ? r->timeout_ms : 10000);
	if (!ret && (psk || s->tls13_only))
		ret = ktls_config_set_versions(cfg, KTLS_TLS13, KTLS_TLS13);
	if (ret) {
		*msg = "Setting up the handshake failed.";
		ret = EIO;
		goto out;
	}
	if (psk) {
		ret = client ? client_psk(cfg, r, msg) :
			       ktls_config_set_psk_lookup(cfg, server_psk, r) ? EIO : 0;
		goto out;
	}
	ret = load_trust(cfg, s->ca, s->crl);
	if (ret) {
		*msg = "The trust store did not load.";
		ret = EIO;
		goto out;
	}
	ret = keyring_cert(cfg, r, msg);
	if (!ret && !client &&
	    ktls_config_set_verify(cfg, KTLS_VERIFY_REQUEST_CLIENT))
		ret = EIO;
out:
	if (ret) {
		conf_put(c);
		return ret;
	}
	*out = c;
	return 0;
}

int upcall_creds(struct ktlsd *d, struct upreq *r, struct conf **conf,
		 const struct profile **p, const char **msg)
{
	struct conf *c = ktlsd_conf(d), *own = NULL;
	struct upcall_conf *u = c->upcall;
	int client = r->type == HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	const struct upcall_side *s = client ? &u->client : &u->server;
	int ret;

	if (r->auth == HANDSHAKE_AUTH_PSK ||
	    (r->auth == HANDSHAKE_AUTH_X509 && r->cert != TLS_NO_CERT &&
	     r->privkey != TLS_NO_PRIVKEY)) {
		ret = own_creds(c, r, s, &own, msg);
		conf_put(c);
		if (ret)
			return ret;
		*conf = own;
		*p = &own->profiles[0];
		return 0;
	}
	if (!s->p) {
		*msg = "The upcall has no credentials configured.";
		ret = EACCES;
	} else if (client && r->auth == HANDSHAKE_AUTH_UNAUTH && s->anon.cfg) {
		*p = &s->anon;
		ret = 0;
	} else if (!s->have_cert && (!client || r->auth == HANDSHAKE_AUTH_X509)) {
		*msg = client ? "No client certificate is configured "
				"(x509.certificate in [authenticate.client])." :
				"No server certificate is configured "
				"(x509.certificate in [authenticate.server]).";
		ret = EACCES;
	} else {
		*p = s->p;
		ret = 0;
	}
	if (ret) {
		conf_put(c);
		return ret;
	}
	*conf = c;
	return 0;
}
