// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Key material: from what GnuTLS holds for one direction to the struct
 * setsockopt(SOL_TLS) takes, and the TLS 1.3 key schedule steps needed to
 * rekey a socket whose records the kernel already runs.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>

#include "internal.h"

/* Both sides of the boundary spell versions as on the wire. */
_Static_assert(KTLS_TLS12 == TLS_1_2_VERSION, "KTLS_TLS12 is not the kernel's");
_Static_assert(KTLS_TLS13 == TLS_1_3_VERSION, "KTLS_TLS13 is not the kernel's");

#define KEYS_NONCE_LEN	12	/* every AEAD here: RFC 5116 N_MIN */
#define KEYS_SEQ_LEN	8
#define KEYS_MAX_HASH	64
#define HKDF_PREFIX	"tls13 "

#define FIELD_SIZE(st, f) sizeof(((struct st *)0)->f)

/*
 * The copies below rely on salt and iv together being the 12-byte nonce
 * (TLS 1.3 and RFC 7905 split it there), and on an 8-byte sequence
 * number; a kernel header that says otherwise must not build.
 */
#define KEYS_LAYOUT_CHECK(st)						\
	_Static_assert(FIELD_SIZE(st, salt) + FIELD_SIZE(st, iv) ==	\
		       KEYS_NONCE_LEN, #st ": salt + iv is not a nonce");	\
	_Static_assert(FIELD_SIZE(st, rec_seq) == KEYS_SEQ_LEN,		\
		       #st ": rec_seq is not 8 bytes")

KEYS_LAYOUT_CHECK(tls12_crypto_info_aes_gcm_128);
KEYS_LAYOUT_CHECK(tls12_crypto_info_aes_gcm_256);
KEYS_LAYOUT_CHECK(tls12_crypto_info_chacha20_poly1305);
KEYS_LAYOUT_CHECK(tls12_crypto_info_aes_ccm_128);

#define KEYS_LAYOUT(st)							\
	.size = sizeof(struct st),					\
	.key_len = FIELD_SIZE(st, key),					\
	.salt_len = FIELD_SIZE(st, salt),				\
	.iv_len = FIELD_SIZE(st, iv),					\
	.key_off = offsetof(struct st, key),				\
	.salt_off = offsetof(struct st, salt),				\
	.iv_off = offsetof(struct st, iv),				\
	.seq_off = offsetof(struct st, rec_seq)

struct keys_cipher {
	unsigned cipher;		/* KTLS_CIPHER_* */
	const char *name;		/* ours, as in ktlsctl --cipher */
	const char *prio;		/* in a GnuTLS priority string */
	unsigned short type;		/* the kernel's TLS_CIPHER_* */
	gnutls_cipher_algorithm_t alg;
	gnutls_mac_algorithm_t hash;	/* of the TLS 1.3 suite */
	size_t size;			/* of the kernel's struct */
	size_t key_len, salt_len, iv_len;
	size_t key_off, salt_off, iv_off, seq_off;
};

static const struct keys_cipher keys_ciphers[] = {
	{ KTLS_CIPHER_AES_128_GCM, "aes-128-gcm", "AES-128-GCM",
	  TLS_CIPHER_AES_GCM_128,
	  GNUTLS_CIPHER_AES_128_GCM, GNUTLS_MAC_SHA256,
	  KEYS_LAYOUT(tls12_crypto_info_aes_gcm_128) },
	{ KTLS_CIPHER_AES_256_GCM, "aes-256-gcm", "AES-256-GCM",
	  TLS_CIPHER_AES_GCM_256,
	  GNUTLS_CIPHER_AES_256_GCM, GNUTLS_MAC_SHA384,
	  KEYS_LAYOUT(tls12_crypto_info_aes_gcm_256) },
	{ KTLS_CIPHER_CHACHA20_POLY1305, "chacha20-poly1305", "CHACHA20-POLY1305",
	  TLS_CIPHER_CHACHA20_POLY1305,
	  GNUTLS_CIPHER_CHACHA20_POLY1305, GNUTLS_MAC_SHA256,
	  KEYS_LAYOUT(tls12_crypto_info_chacha20_poly1305) },
	{ KTLS_CIPHER_AES_128_CCM, "aes-128-ccm", "AES-128-CCM",
	  TLS_CIPHER_AES_CCM_128,
	  GNUTLS_CIPHER_AES_128_CCM, GNUTLS_MAC_SHA256,
	  KEYS_LAYOUT(tls12_crypto_info_aes_ccm_128) },
};

#define KEYS_NCIPHERS (sizeof(keys_ciphers) / sizeof(keys_ciphers[0]))

static const struct keys_cipher *keys_find(unsigned cipher)
{
	size_t i;

	for (i = 0; i < KEYS_NCIPHERS; i++)
		if (keys_ciphers[i].cipher == cipher)
			return &keys_ciphers[i];
	return NULL;
}

static int keys_errno(int gnutls_err)
{
	switch (gnutls_err) {
	case GNUTLS_E_MEMORY_ERROR:
		return -ENOMEM;
	case GNUTLS_E_INVALID_REQUEST:
	case GNUTLS_E_SHORT_MEMORY_BUFFER:
		return -EINVAL;
	case GNUTLS_E_UNKNOWN_ALGORITHM:
	case GNUTLS_E_UNWANTED_ALGORITHM:
		return -EOPNOTSUPP;
	}
	return -EIO;
}

unsigned keys_cipher_from_gnutls(gnutls_cipher_algorithm_t alg)
{
	size_t i;

	for (i = 0; i < KEYS_NCIPHERS; i++)
		if (keys_ciphers[i].alg == alg)
			return keys_ciphers[i].cipher;
	return 0;
}

unsigned short keys_kernel_cipher(unsigned cipher)
{
	const struct keys_cipher *c = keys_find(cipher);

	return c ? c->type : 0;
}

KTLS_EXPORT const char *ktls_cipher_name(unsigned cipher)
{
	const struct keys_cipher *c = keys_find(cipher);

	return c ? c->name : NULL;
}

KTLS_EXPORT unsigned ktls_cipher_from_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < KEYS_NCIPHERS; i++)
		if (!strcasecmp(keys_ciphers[i].name, name))
			return keys_ciphers[i].cipher;
	return 0;
}

const char *keys_cipher_prio(unsigned cipher)
{
	const struct keys_cipher *c = keys_find(cipher);

	return c ? c->prio : NULL;
}

size_t keys_cipher_key_len(unsigned cipher)
{
	const struct keys_cipher *c = keys_find(cipher);

	return c ? c->key_len : 0;
}

size_t keys_crypto_info_size(unsigned cipher)
{
	const struct keys_cipher *c = keys_find(cipher);

	return c ? c->size : 0;
}

gnutls_mac_algorithm_t keys_cipher_hash(unsigned cipher)
{
	const struct keys_cipher *c = keys_find(cipher);

	return c ? c->hash : GNUTLS_MAC_UNKNOWN;
}

int keys_crypto_info(union ktls_crypto_info *ci, int version, unsigned cipher,
		     const uint8_t *key, size_t key_len,
		     const uint8_t *iv, size_t iv_len, const uint8_t seq[8])
{
	const struct keys_cipher *c = keys_find(cipher);
	unsigned char *p = (unsigned char *)ci;
	int explicit_nonce;

	if (!ci)
		return -EINVAL;
	/* No stale key bytes from an earlier use survive, even on error. */
	memset(ci, 0, sizeof(*ci));
	if (version != KTLS_TLS12 && version != KTLS_TLS13)
		return -EINVAL;
	if (!c)
		return -EOPNOTSUPP;
	/*
	 * TLS 1.2 AES suites carry an explicit nonce in each record, and
	 * GnuTLS hands out only the implicit part (the salt). TLS 1.3 and
	 * ChaCha20 (RFC 7905) XOR the sequence number into a 12-byte IV.
	 */
	explicit_nonce = version == KTLS_TLS12 && c->salt_len;
	if (!key || key_len != c->key_len || !iv || !seq)
		return -EINVAL;
	if (iv_len != (explicit_nonce ? c->salt_len : KEYS_NONCE_LEN))
		return -EINVAL;

	ci->info.version = version;
	ci->info.cipher_type = c->type;
	memcpy(p + c->key_off, key, key_len);
	memcpy(p + c->salt_off, iv, c->salt_len);
	if (explicit_nonce) {
		/*
		 * The kernel sends iv as the first explicit nonce and counts
		 * up from it, while GnuTLS used each record's sequence number:
		 * starting at the current one continues that series, so no
		 * nonce is used twice under this key.
		 */
		memcpy(p + c->iv_off, seq, c->iv_len);
	} else {
		memcpy(p + c->iv_off, iv + c->salt_len, c->iv_len);
	}
	memcpy(p + c->seq_off, seq, KEYS_SEQ_LEN);
	return (int)c->size;
}

int keys_hkdf_expand_label(gnutls_mac_algorithm_t mac,
			   const uint8_t *secret, size_t secret_len,
			   const char *label, const uint8_t *context,
			   size_t context_len, uint8_t *out, size_t out_len)
{
	/* struct HkdfLabel at its largest: two length-prefixed vectors. */
	uint8_t info[2 + 1 + 255 + 1 + 255];
	const size_t prefix_len = sizeof(HKDF_PREFIX) - 1;
	size_t hash_len = gnutls_hmac_get_len(mac);
	size_t label_len, n = 0;
	gnutls_datum_t k, i;
	int ret;

	if (!hash_len)
		return -EOPNOTSUPP;
	/* HKDF-Expand (RFC 5869) makes at most 255 blocks. */
	if (!secret || !secret_len || secret_len > UINT_MAX || !label ||
	    (context_len && !context) || !out || !out_len ||
	    out_len > 255 * hash_len || out_len > 0xffff)
		return -EINVAL;
	label_len = strlen(label);
	/* RFC 8446 7.1: opaque label<7..255>, opaque context<0..255>. */
	if (!label_len || prefix_len + label_len > 255 || context_len > 255)
		return -EINVAL;

	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(prefix_len + label_len);
	memcpy(info + n, HKDF_PREFIX, prefix_len);
	n += prefix_len;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = (uint8_t)context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;

	k.data = (unsigned char *)secret;
	k.size = (unsigned)secret_len;
	i.data = info;
	i.size = (unsigned)n;
	ret = gnutls_hkdf_expand(mac, &k, &i, out, out_len);
	if (ret < 0) {
		gnutls_memset(out, 0, out_len);
		return keys_errno(ret);
	}
	return 0;
}

/*
 * A traffic secret is as long as its suite's hash; one of another length
 * belongs to another suite and would give keys the peer does not have.
 */
static const struct keys_cipher *keys_find_secret(unsigned cipher,
						  size_t secret_len, int *err)
{
	const struct keys_cipher *c = keys_find(cipher);

	if (!c) {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	if (secret_len != gnutls_hmac_get_len(c->hash)) {
		*err = -EINVAL;
		return NULL;
	}
	return c;
}

int keys_traffic_key_iv(unsigned cipher, const uint8_t *secret,
			size_t secret_len, uint8_t *key, size_t key_len,
			uint8_t *iv, size_t iv_len)
{
	const struct keys_cipher *c;
	int ret;

	c = keys_find_secret(cipher, secret_len, &ret);
	if (!c)
		return ret;
	if (!key || key_len != c->key_len || !iv || iv_len != KEYS_NONCE_LEN)
		return -EINVAL;

	ret = keys_hkdf_expand_label(c->hash, secret, secret_len, "key",
				     NULL, 0, key, key_len);
	if (ret)
		return ret;
	ret = keys_hkdf_expand_label(c->hash, secret, secret_len, "iv",
				     NULL, 0, iv, iv_len);
	if (ret)
		gnutls_memset(key, 0, key_len);
	return ret;
}

int keys_next_secret(unsigned cipher, const uint8_t *secret,
		     size_t secret_len, uint8_t *out)
{
	uint8_t next[KEYS_MAX_HASH];
	const struct keys_cipher *c;
	int ret;

	c = keys_find_secret(cipher, secret_len, &ret);
	if (!c)
		return ret;
	if (!out || secret_len > sizeof(next))
		return -EINVAL;

	/* Through a copy, so that callers may update a secret in place. */
	ret = keys_hkdf_expand_label(c->hash, secret, secret_len,
				     "traffic upd", NULL, 0, next, secret_len);
	if (!ret)
		memcpy(out, next, secret_len);
	gnutls_memset(next, 0, sizeof(next));
	return ret;
}
