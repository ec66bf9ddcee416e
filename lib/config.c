// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Credentials and policy, built once and shared read-only by sessions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * The kernel's answer, kept once it has TLS: a probe opens a dozen loopback
 * connections and installs a cipher on each, which costs more than many a
 * handshake (a ktlsd worker builds a config for each upcall that names its
 * own keys). What a kernel with TLS takes does not shrink while it runs;
 * ktlsd's reload starts a new process, which probes afresh. A kernel
 * without TLS is asked again next time (the module may be loaded since).
 */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ktls_probe probed;
static int have_probed;

static int kernel_probe(struct ktls_probe *p)
{
	int ret = 0;

	pthread_mutex_lock(&probe_lock);
	if (!have_probed) {
		probed.size = sizeof(probed);
		ret = ktls_probe(&probed);
		have_probed = !ret && !probed.ulp;
	}
	if (!ret)
		*p = probed;
	pthread_mutex_unlock(&probe_lock);
	return ret;
}

/*
 * Never negotiate what the running kernel could not install. Without kTLS
 * at all nothing is taken away: the handshake then ends with the clearer
 * "no TLS support in the kernel" error.
 */
static void kernel_ciphers(struct ktls_config *cfg)
{
	struct ktls_probe p;

	if (kernel_probe(&p) || p.ulp)
		return;
	if (p.tx12 & p.rx12)
		cfg->kernel12 = p.tx12 & p.rx12;
	if (p.tx13 & p.rx13)
		cfg->kernel13 = p.tx13 & p.rx13;
	cfg->kernel_rekey = p.rekey;
}

static void drop_key(gnutls_datum_t *k)
{
	if (!k->data)
		return;
	gnutls_memset(k->data, 0, k->size);
	gnutls_free(k->data);
	k->data = NULL;
	k->size = 0;
}

static void drop_ticket_key(struct ktls_config *cfg)
{
	drop_key(&cfg->ticket_key);
	drop_key(&cfg->ticket_prev);
}

KTLS_EXPORT int ktls_config_new(struct ktls_config **out, enum ktls_role role)
{
	struct ktls_config *cfg;
	int ret;

	if (!out || (role != KTLS_CLIENT && role != KTLS_SERVER))
		return -EINVAL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->role = role;
	cfg->vmin = KTLS_TLS12;
	cfg->vmax = KTLS_TLS13;
	cfg->ciphers = KTLS_CIPHER_ALL;
	cfg->timeout_ms = 10000;
	cfg->kernel12 = cfg->kernel13 = KTLS_CIPHER_ALL;
	kernel_ciphers(cfg);
	if (gnutls_certificate_allocate_credentials(&cfg->x509) < 0) {
		free(cfg);
		return -ENOMEM;
	}
	ret = config_update_priority(cfg);
	if (ret < 0) {
		ktls_config_free(cfg);
		return ret;
	}
	*out = cfg;
	return 0;
}

KTLS_EXPORT void ktls_config_free(struct ktls_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->prio)
		gnutls_priority_deinit(cfg->prio);
	if (cfg->x509)
		gnutls_certificate_free_credentials(cfg->x509);
	if (cfg->psk_client)
		gnutls_psk_free_client_credentials(cfg->psk_client);
	if (cfg->psk_server)
		gnutls_psk_free_server_credentials(cfg->psk_server);
	if (cfg->psk_key.data) {
		gnutls_memset(cfg->psk_key.data, 0, cfg->psk_key.size);
		free(cfg->psk_key.data);
	}
	free(cfg->psk_identity);
	free(cfg->alpn_buf);
	drop_ticket_key(cfg);
	free(cfg);
}

KTLS_EXPORT int ktls_config_set_ca_file(struct ktls_config *cfg, const char *path)
{
	int ret;

	if (!cfg)
		return -EINVAL;
	/* NULL: the system's trust store. */
	ret = path ? gnutls_certificate_set_x509_trust_file(cfg->x509, path,
							     GNUTLS_X509_FMT_PEM)
		   : gnutls_certificate_set_x509_system_trust(cfg->x509);
	if (ret == GNUTLS_E_FILE_ERROR)
		return -ENOENT;
	if (ret <= 0)	/* nothing usable in it */
		return -KTLS_E_CONFIG;
	cfg->have_trust = 1;
	return 0;
}

KTLS_EXPORT int ktls_config_set_crl_file(struct ktls_config *cfg, const char *path)
{
	int ret;

	if (!cfg || !path)
		return -EINVAL;
	ret = gnutls_certificate_set_x509_crl_file(cfg->x509, path,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0)
		return ret == GNUTLS_E_FILE_ERROR ? -ENOENT : -KTLS_E_CONFIG;
	return 0;
}

KTLS_EXPORT int ktls_config_add_cert(struct ktls_config *cfg,
				     const char *cert_path, const char *key_path)
{
	int ret;

	if (!cfg || !cert_path || !key_path)
		return -EINVAL;
	ret = gnutls_certificate_set_x509_key_file2(cfg->x509, cert_path,
						    key_path, GNUTLS_X509_FMT_PEM,
						    NULL, 0);
	if (ret < 0)
		return ret == GNUTLS_E_FILE_ERROR ? -ENOENT : -KTLS_E_CONFIG;
	cfg->have_cert = 1;
	return 0;
}

static int psk_server_key(gnutls_session_t gs, const gnutls_datum_t *identity,
			  gnutls_datum_t *key)
{
	const struct ktls_config *cfg = session_config(gs);

	if (!cfg || !cfg->psk_identity ||
	    identity->size != strlen(cfg->psk_identity) ||
	    memcmp(identity->data, cfg->psk_identity, identity->size))
		return -1;
	key->data = gnutls_malloc(cfg->psk_key.size);
	if (!key->data)
		return -1;
	memcpy(key->data, cfg->psk_key.data, cfg->psk_key.size);
	key->size = cfg->psk_key.size;
	return 0;
}

/*
 * The client's key, handed over per handshake: GnuTLS wipes what it is
 * given this way, but not the copy gnutls_psk_set_client_credentials()
 * would keep (GnuTLS 3.7 frees it unwiped).
 */
static int psk_client_key(gnutls_session_t gs, gnutls_datum_t *identity,
			  gnutls_datum_t *key)
{
	const struct ktls_config *cfg = session_config(gs);
	size_t len;

	if (!cfg || !cfg->psk_identity || !cfg->psk_key.data)
		return -1;
	len = strlen(cfg->psk_identity);
	identity->data = gnutls_malloc(len);
	key->data = gnutls_malloc(cfg->psk_key.size);
	if (!identity->data || !key->data) {
		gnutls_free(identity->data);
		gnutls_free(key->data);
		identity->data = key->data = NULL;
		return -1;
	}
	memcpy(identity->data, cfg->psk_identity, len);
	identity->size = len;
	memcpy(key->data, cfg->psk_key.data, cfg->psk_key.size);
	key->size = cfg->psk_key.size;
	return 0;
}

KTLS_EXPORT int ktls_config_set_psk(struct ktls_config *cfg, const char *identity,
				    const void *key, size_t key_len)
{
	if (!cfg || !identity || !*identity || !key || !key_len ||
	    key_len > 512 || cfg->psk_identity)
		return -EINVAL;
	cfg->psk_identity = strdup(identity);
	cfg->psk_key.data = malloc(key_len);
	if (!cfg->psk_identity || !cfg->psk_key.data)
		return -ENOMEM;
	memcpy(cfg->psk_key.data, key, key_len);
	cfg->psk_key.size = key_len;
	if (cfg->role == KTLS_CLIENT) {
		if (config_psk_client_alloc(cfg) < 0)
			return -ENOMEM;
		gnutls_psk_set_client_credentials_function2(cfg->psk_client,
							    psk_client_key);
	} else {
		if (config_psk_server_alloc(cfg) < 0)
			return -ENOMEM;
		gnutls_psk_set_server_credentials_function2(cfg->psk_server,
							    psk_server_key);
	}
	return config_update_priority(cfg);
}

KTLS_EXPORT int ktls_config_set_alpn(struct ktls_config *cfg, const char *list)
{
	if (!cfg || !list)
		return -EINVAL;
	free(cfg->alpn_buf);
	return util_parse_alpn(list, &cfg->alpn_buf, cfg->alpn, &cfg->n_alpn);
}

KTLS_EXPORT int ktls_config_set_versions(struct ktls_config *cfg, int min, int max)
{
	if (!cfg || min > max || min < KTLS_TLS12 || max > KTLS_TLS13)
		return -EINVAL;
	cfg->vmin = min;
	cfg->vmax = max;
	return config_update_priority(cfg);
}

KTLS_EXPORT int ktls_config_set_ciphers(struct ktls_config *cfg, unsigned mask)
{
	if (!cfg || !(mask & KTLS_CIPHER_ALL) || (mask & ~KTLS_CIPHER_ALL))
		return -EINVAL;
	cfg->ciphers = mask;
	return config_update_priority(cfg);
}

KTLS_EXPORT int ktls_config_set_verify(struct ktls_config *cfg, unsigned flags)
{
	if (!cfg || (flags & ~(KTLS_VERIFY_NONE | KTLS_VERIFY_REQUIRE_CLIENT |
			       KTLS_VERIFY_REQUEST_CLIENT |
			       KTLS_VERIFY_CHAIN_ONLY)))
		return -EINVAL;
	if ((flags & KTLS_VERIFY_NONE) && (flags & KTLS_VERIFY_CHAIN_ONLY))
		return -EINVAL;
	cfg->verify = flags;
	return 0;
}

KTLS_EXPORT int ktls_config_set_timeout(struct ktls_config *cfg, unsigned ms)
{
	if (!cfg || !ms)
		return -EINVAL;
	cfg->timeout_ms = ms;
	return 0;
}

/*
 * Servers: one random master key per configuration. GnuTLS (since 3.6.4;
 * the derivation was fixed in 3.6.14, GNUTLS-SA-2020-06-03) does not seal
 * tickets with it directly but with keys derived from it per time period
 * (the gnutls_db_set_cache_expiration() period, 6 hours by default), so
 * ticket keys rotate with no work here (GnuTLS's NEWS for 3.6.4). The key
 * never leaves this process: tickets from another process, or from an
 * earlier run, fall back to a full handshake.
 */
KTLS_EXPORT int ktls_config_set_tickets(struct ktls_config *cfg, int on)
{
	if (!cfg)
		return -EINVAL;
	if (cfg->role == KTLS_SERVER) {
		if (!on)
			drop_ticket_key(cfg);
		else if (!cfg->ticket_key.data &&
			 gnutls_session_ticket_key_generate(&cfg->ticket_key) < 0)
			return -ENOMEM;
	}
	cfg->tickets = !!on;
	return 0;
}

/* A copy of len bytes of key in GnuTLS's memory (it wipes nothing itself). */
static int copy_key(gnutls_datum_t *to, const uint8_t *key, size_t len)
{
	to->data = gnutls_malloc(len);
	if (!to->data)
		return -ENOMEM;
	memcpy(to->data, key, len);
	to->size = len;
	return 0;
}

/*
 * Servers that share keys: the same master key gives the same derived
 * keys in every process (GnuTLS derives them from the key and the time
 * period only), so any of them opens the others' tickets. A second key is
 * the one before a rotation: lib/tickets.c opens the tickets it sealed.
 */
KTLS_EXPORT int ktls_config_set_ticket_keys(struct ktls_config *cfg,
					    const void *keys, size_t len)
{
	const uint8_t *k = keys;

	if (!cfg || cfg->role != KTLS_SERVER || !keys ||
	    (len != KTLS_TICKET_KEY_LEN && len != 2 * KTLS_TICKET_KEY_LEN))
		return -EINVAL;
	drop_ticket_key(cfg);
	if (copy_key(&cfg->ticket_key, k, KTLS_TICKET_KEY_LEN) ||
	    (len > KTLS_TICKET_KEY_LEN &&
	     copy_key(&cfg->ticket_prev, k + KTLS_TICKET_KEY_LEN,
		      KTLS_TICKET_KEY_LEN))) {
		drop_ticket_key(cfg);
		return -ENOMEM;
	}
	cfg->tickets = 1;
	return 0;
}

KTLS_EXPORT int ktls_config_set_kernel_options(struct ktls_config *cfg,
					       unsigned opts)
{
	if (!cfg || opts & ~(KTLS_OPT_ZEROCOPY_SENDFILE | KTLS_OPT_RX_NO_PAD))
		return -EINVAL;
	cfg->options = opts;
	return 0;
}

KTLS_EXPORT int ktls_config_set_rekey_limit(struct ktls_config *cfg,
					    uint64_t bytes)
{
	if (!cfg)
		return -EINVAL;
	cfg->rekey_limit = bytes;
	return 0;
}

/*
 * The system's key exchange groups with X25519 moved to the front, as
 * "-GROUP-ALL:+GROUP-X25519:+GROUP-...": the fastest of them, and the one
 * most peers offer first, while the set stays what the system allows
 * (GnuTLS's NORMAL leads with SECP256R1). Nothing when X25519 is not in
 * the set. Returns the length written, or -1 when buf is too small.
 */
static int groups_x25519_first(char *buf, size_t size)
{
	const unsigned *list;
	gnutls_priority_t def;
	int n = 0, count, i, found = 0;

	buf[0] = 0;
	if (gnutls_priority_init(&def, NULL, NULL) < 0)
		return 0;
	count = gnutls_priority_group_list(def, &list);
	for (i = 0; i < count; i++)
		found |= list[i] == GNUTLS_GROUP_X25519;
	if (found) {
		n = snprintf(buf, size, ":-GROUP-ALL:+GROUP-X25519");
		for (i = 0; i < count && n < (int)size; i++)
			if (list[i] != GNUTLS_GROUP_X25519)
				n += snprintf(buf + n, size - n, ":+GROUP-%s",
					      gnutls_group_get_name(list[i]));
	}
	gnutls_priority_deinit(def);
	return n < (int)size ? n : -1;
}

/*
 * The groups, made once: the system's defaults are read when GnuTLS
 * starts, and a process that wants new ones (ktlsd on reload) is a new
 * one. A config costs a priority parse less.
 */
static pthread_once_t groups_once = PTHREAD_ONCE_INIT;
static char groups[512];
static int groups_len;

static void groups_make(void)
{
	groups_len = groups_x25519_first(groups, sizeof(groups));
}

/*
 * Start from the system's default priorities (keeping their order, but
 * for X25519 first among the groups) and take away what the kernel's
 * record layer cannot carry: non-AEAD and other ciphers, and versions
 * other than TLS 1.2 and 1.3. And TLS 1.2's RSA key exchange: no forward
 * secrecy, and the one use of a private key that is a decryption, which
 * a key held by another process (ktlsd's key process) does not offer.
 */
int config_update_priority(struct ktls_config *cfg)
{
	unsigned usable = cfg->ciphers;
	char buf[1024];
	const char *err;
	gnutls_priority_t p;
	unsigned bit;
	int n;

	if (cfg->held) {
		cfg->stale = 1;
		return 0;
	}
	if (cfg->vmin <= KTLS_TLS12 && (usable & cfg->kernel12))
		usable &= cfg->kernel12;
	if (cfg->vmax >= KTLS_TLS13 && (usable & cfg->kernel13))
		usable &= cfg->kernel13;

	n = snprintf(buf, sizeof(buf),
		     "-VERS-ALL:%s%s-RSA:"
		     "-AES-128-CBC:-AES-256-CBC:-CAMELLIA-128-CBC:-CAMELLIA-256-CBC:"
		     "-CAMELLIA-128-GCM:-CAMELLIA-256-GCM:-3DES-CBC:-ARCFOUR-128:"
		     "-AES-256-CCM:-AES-128-CCM-8:-AES-256-CCM-8",
		     cfg->vmax >= KTLS_TLS13 ? "+VERS-TLS1.3:" : "",
		     cfg->vmin <= KTLS_TLS12 ? "+VERS-TLS1.2:" : "");
	for (bit = 1; bit & KTLS_CIPHER_ALL; bit <<= 1)
		if (!(usable & bit))
			n += snprintf(buf + n, sizeof(buf) - n, ":-%s",
				      keys_cipher_prio(bit));
	if (cfg->psk_client || cfg->psk_server)
		n += snprintf(buf + n, sizeof(buf) - n, ":+ECDHE-PSK:+DHE-PSK:+PSK");
	if (n >= (int)sizeof(buf))
		return -EOVERFLOW;
	pthread_once(&groups_once, groups_make);
	if (groups_len < 0 || groups_len >= (int)sizeof(buf) - n)
		return -EOVERFLOW;
	memcpy(buf + n, groups, groups_len + 1);
	if (gnutls_priority_init2(&p, buf, &err, GNUTLS_PRIORITY_INIT_DEF_APPEND) < 0)
		return -KTLS_E_CONFIG;
	if (cfg->prio)
		gnutls_priority_deinit(cfg->prio);
	cfg->prio = p;
	return 0;
}

void config_hold_priority(struct ktls_config *cfg)
{
	cfg->held = 1;
}

int config_release_priority(struct ktls_config *cfg)
{
	int stale = cfg->stale;

	cfg->held = 0;
	cfg->stale = 0;
	return stale ? config_update_priority(cfg) : 0;
}
