// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A profile's certificates and private keys (profile.c's builder calls
 * this): each key is loaded by the configuration's key process
 * (keyproc.h), which keeps it, and the profile gets a GnuTLS key that
 * asks that process for signatures. Only the certificates are read here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_parse.h"
#include "daemon.h"
#include "keyproc.h"

/* libktls cannot say which file of the two it could not read. */
static int pair_failed(struct parse *p, const struct pair *pair, int ret)
{
	int err;

	if (access(pair->cert, R_OK)) {
		err = errno;
		return fail_key(p, P_CERT, pair->cert_line, -err, "%s: %s",
				pair->cert, strerror(err));
	}
	if (access(pair->key, R_OK)) {
		err = errno;
		return fail_key(p, P_KEY, pair->key_line, -err, "%s: %s",
				pair->key, strerror(err));
	}
	return fail_key(p, P_CERT, pair->cert_line, ret, "%s with key %s: %s",
			pair->cert, pair->key, ktls_strerror(ret));
}

/*
 * The benchmark's comparison only (tests/bench): private keys in this
 * process, as before the key process. Never for a real deployment.
 */
static int keys_in_process(void)
{
	static atomic_int warned;
	const char *v = getenv("KTLSD_BENCH_KEYS_IN_PROCESS");

	if (!v || strcmp(v, "1"))
		return 0;
	if (!atomic_exchange(&warned, 1))
		log_err("KTLSD_BENCH_KEYS_IN_PROCESS=1: PRIVATE KEYS ARE LOADED "
			"INTO THE HANDSHAKE PROCESS (a benchmark switch; unset "
			"it for any real use)");
	return 1;
}

/* The configuration's key process, started at its first key. */
static int conf_keyproc(struct parse *p, struct keyproc **kp)
{
	int ret = 0;

	if (!p->c)
		return -EINVAL;
	if (!p->c->keys)
		ret = keyproc_spawn(&p->c->keys);
	*kp = p->c->keys;
	return ret;
}

static const char *key_error(int err)
{
	switch (err) {
	case -EKEYREJECTED:
		return "not a private key GnuTLS can read (PEM or DER; "
		       "for a URL: no such key, or a wrong PIN)";
	case -EPROTONOSUPPORT:
		return "GnuTLS does not know this kind of URL";
	case -EPERM:
		return "keys from files and URLs are loaded with the "
		       "configuration only";
	}
	return strerror(-err);
}

/* A key loaded in the key process, as a GnuTLS key that signs there. */
static int keyproc_key(struct parse *p, int src, const void *what,
		       int drop, gnutls_privkey_t *out)
{
	struct kp_loaded key;
	struct keyproc *kp;
	int ret = conf_keyproc(p, &kp);

	if (ret)
		return ret;
	ret = keyproc_load(kp, src, what, &key);
	if (!ret)
		ret = keyproc_privkey(kp, &key, drop, out);
	return ret;
}

/* One certificate and key line; the key itself stays in the key process. */
static int add_pair(struct parse *p, struct profile *pr,
		    const struct pair *pair)
{
	int url = !strncmp(pair->key, "pkcs11:", 7);
	gnutls_datum_t cert = { 0 };
	gnutls_privkey_t key;
	int ret;

	ret = keyproc_key(p, url ? KP_SRC_URL : KP_SRC_FILE, pair->key, 0, &key);
	if (ret)
		return fail_key(p, P_KEY, pair->key_line, ret, "%s: %s",
				pair->key, key_error(ret));
	if (gnutls_load_file(pair->cert, &cert) < 0) {
		ret = access(pair->cert, R_OK) ? -errno : -KTLS_E_CONFIG;
		gnutls_privkey_deinit(key);
		return fail_key(p, P_CERT, pair->cert_line, ret, "%s: %s",
				pair->cert, ret == -KTLS_E_CONFIG ?
				ktls_strerror(ret) : strerror(-ret));
	}
	ret = config_add_cert_privkey(pr->cfg, cert.data, cert.size, key);
	gnutls_free(cert.data);
	if (ret) {
		gnutls_privkey_deinit(key);
		return fail_key(p, P_CERT, pair->cert_line, ret, "%s with key "
				"%s: %s", pair->cert, pair->key,
				ktls_strerror(ret));
	}
	return 0;
}

/* The kernel's keys: the certificate in memory, the key by serial. */
static int add_keyring_pair(struct parse *p, struct profile *pr,
			    const struct draft *d)
{
	gnutls_privkey_t key;
	int ret;

	keyring_share(d->key_serial);
	ret = keyproc_key(p, KP_SRC_KEYRING, &d->key_serial, 1, &key);
	keyring_unshare(d->key_serial);
	if (ret)
		return fail_key(p, P_KEY, draft_at(d, P_KEY), ret, "%s: %s",
				d->mem_what, key_error(ret));
	ret = config_add_cert_privkey(pr->cfg, d->cert_mem, d->cert_len, key);
	if (ret) {
		gnutls_privkey_deinit(key);
		return fail_key(p, P_CERT, draft_at(d, P_CERT), ret, "%s: %s",
				d->mem_what, ktls_strerror(ret));
	}
	return 0;
}

int profile_load_certs(struct parse *p, struct profile *pr,
		       const struct draft *d)
{
	size_t i;
	int ret;

	/* Not d->pairs + d->n_pairs: without certificates pairs is NULL. */
	for (i = 0; i < d->n_pairs; i++) {
		if (!keys_in_process()) {
			ret = add_pair(p, pr, &d->pairs[i]);
			if (ret)
				return ret;
			continue;
		}
		ret = ktls_config_add_cert(pr->cfg, d->pairs[i].cert,
					   d->pairs[i].key);
		if (ret)
			return pair_failed(p, &d->pairs[i], ret);
	}
	return d->cert_mem ? add_keyring_pair(p, pr, d) : 0;
}
