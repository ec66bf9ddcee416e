// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Credentials that come from memory rather than from files: what a daemon
 * reads out of the kernel's keyrings when the kernel asks it for a
 * handshake (the serials of a certificate, a private key or a PSK), and
 * PSKs that can only be found once the peer has named one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "internal.h"

/* PEM carries its own armour; anything else is taken as DER. */
static gnutls_x509_crt_fmt_t guess_format(const void *p, size_t len)
{
	return memmem(p, len, "-----BEGIN", 10) ? GNUTLS_X509_FMT_PEM
						 : GNUTLS_X509_FMT_DER;
}

KTLS_EXPORT int ktls_config_add_cert_mem(struct ktls_config *cfg,
					 const void *cert, size_t cert_len,
					 const void *key, size_t key_len)
{
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned)cert_len };
	gnutls_datum_t k = { (unsigned char *)key, (unsigned)key_len };
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t pk = NULL;
	unsigned n = 0, i;
	int ret;

	if (!cfg || !cert || !cert_len || !key || !key_len ||
	    cert_len > (1u << 24) || key_len > (1u << 24))
		return -EINVAL;
	ret = -KTLS_E_CONFIG;
	if (gnutls_x509_crt_list_import2(&crts, &n, &c,
					 guess_format(cert, cert_len), 0) < 0 || !n)
		goto out;
	if (gnutls_x509_privkey_init(&pk) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	/* import2 takes PKCS#1, PKCS#8 and SEC1 keys, PEM or DER. */
	if (gnutls_x509_privkey_import2(pk, &k, guess_format(key, key_len),
					NULL, 0) < 0)
		goto out;
	/* The credentials keep copies; ours go below. */
	if (gnutls_certificate_set_x509_key(cfg->x509, crts, n, pk) < 0)
		goto out;
	cfg->have_cert = 1;
	ret = 0;
out:
	if (pk)
		gnutls_x509_privkey_deinit(pk);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return ret;
}

#define CHAIN_MAX	16

/*
 * The credentials take the key and the certificates on success only
 * (gnutls_certificate_set_key()); after checking that they match, which
 * for a key held elsewhere means one signature made there.
 */
int config_add_cert_privkey(struct ktls_config *cfg, const void *cert,
			    size_t cert_len, gnutls_privkey_t key)
{
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned)cert_len };
	gnutls_pcert_st pcerts[CHAIN_MAX];
	unsigned n = CHAIN_MAX, i;
	int ret;

	if (!cfg || !cert || !cert_len || !key || cert_len > (1u << 24))
		return -EINVAL;
	ret = gnutls_pcert_list_import_x509_raw(pcerts, &n, &c,
						guess_format(cert, cert_len), 0);
	if (ret < 0 || !n)
		return -KTLS_E_CONFIG;
	ret = gnutls_certificate_set_key(cfg->x509, NULL, 0, pcerts, n, key);
	if (ret < 0) {
		for (i = 0; i < n; i++)
			gnutls_pcert_deinit(&pcerts[i]);
		return -KTLS_E_CONFIG;
	}
	cfg->have_cert = 1;
	return 0;
}

/*
 * GnuTLS binds external PSKs with SHA-256 only, up to 3.8.10: a PSK made
 * for SHA-384 suites (NVMe's "NVMe1R02 ..." identities) needs the
 * credentials with a binder hash that 3.8.11 added. They are looked up at
 * run time, so that a build against older headers uses them when the
 * library has them.
 */
typedef int (*psk_client2_fn)(gnutls_psk_client_credentials_t *sc,
			      gnutls_mac_algorithm_t mac);
typedef int (*psk_server2_fn)(gnutls_psk_server_credentials_t *sc,
			      gnutls_mac_algorithm_t mac);

int config_psk_sha384_supported(void)
{
	return dlsym(RTLD_DEFAULT,
		     "gnutls_psk_allocate_client_credentials2") != NULL;
}

int config_set_psk_sha384(struct ktls_config *cfg)
{
	if (!cfg || cfg->psk_client || cfg->psk_server)
		return -EINVAL;
	if (!config_psk_sha384_supported())
		return -EOPNOTSUPP;
	cfg->psk_sha384 = 1;
	return 0;
}

int config_psk_client_alloc(struct ktls_config *cfg)
{
	psk_client2_fn alloc2;

	if (!cfg->psk_sha384)
		return gnutls_psk_allocate_client_credentials(&cfg->psk_client);
	*(void **)&alloc2 = dlsym(RTLD_DEFAULT,
				  "gnutls_psk_allocate_client_credentials2");
	return alloc2 ? alloc2(&cfg->psk_client, GNUTLS_MAC_SHA384) :
			GNUTLS_E_UNIMPLEMENTED_FEATURE;
}

/* A server takes a binder of either hash where GnuTLS can check both. */
int config_psk_server_alloc(struct ktls_config *cfg)
{
	psk_server2_fn alloc2;

	*(void **)&alloc2 = dlsym(RTLD_DEFAULT,
				  "gnutls_psk_allocate_server_credentials2");
	if (alloc2)
		return alloc2(&cfg->psk_server, GNUTLS_MAC_UNKNOWN);
	return gnutls_psk_allocate_server_credentials(&cfg->psk_server);
}

/* GnuTLS asks for the key of the identity the client offered. */
static int psk_lookup_key(gnutls_session_t gs, const gnutls_datum_t *identity,
			  gnutls_datum_t *key)
{
	const struct ktls_config *cfg = session_config(gs);
	uint8_t buf[KTLS_PSK_LOOKUP_MAX];
	char name[256];
	size_t len = sizeof(buf);
	int ret = -1;

	if (!cfg || !cfg->psk_lookup || identity->size >= sizeof(name) ||
	    memchr(identity->data, 0, identity->size))
		return -1;
	memcpy(name, identity->data, identity->size);
	name[identity->size] = 0;
	if (cfg->psk_lookup(cfg->psk_lookup_arg, name, buf, &len) ||
	    !len || len > sizeof(buf))
		goto out;
	key->data = gnutls_malloc(len);
	if (!key->data)
		goto out;
	memcpy(key->data, buf, len);
	key->size = len;
	ret = 0;
out:
	gnutls_memset(buf, 0, sizeof(buf));
	return ret;
}

KTLS_EXPORT int ktls_config_set_psk_lookup(struct ktls_config *cfg,
					   ktls_psk_lookup_fn fn, void *arg)
{
	if (!cfg || !fn || cfg->role != KTLS_SERVER || cfg->psk_server)
		return -EINVAL;
	if (config_psk_server_alloc(cfg) < 0)
		return -ENOMEM;
	cfg->psk_lookup = fn;
	cfg->psk_lookup_arg = arg;
	gnutls_psk_set_server_credentials_function2(cfg->psk_server,
						    psk_lookup_key);
	return config_update_priority(cfg);
}
