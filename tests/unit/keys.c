// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lib/keys.c: the TLS 1.3 key schedule steps against RFC 8448, the
 * kernel's crypto_info structs byte by byte, and, through real GnuTLS
 * handshakes, proof that a crypto_info built from GnuTLS's record state
 * opens the records GnuTLS writes: what the kernel has to do once the keys
 * are installed. No kernel TLS is needed.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "kselftest_harness.h"
#include "testutil.h"
#include "internal.h"

/* Exactly len bytes from hex; 0, or -1 on a malformed string. */
static int unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t i;

	if (strlen(hex) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Hex for failure messages; a few may be live in one TH_LOG. */
static const char *tohex(const void *p, size_t len)
{
	static char bufs[4][2 * 64 + 1];
	static unsigned next;
	char *b = bufs[next++ % ARRAY_SIZE(bufs)];
	size_t i;

	if (len > 64)
		len = 64;
	for (i = 0; i < len; i++)
		sprintf(b + 2 * i, "%02x", ((const uint8_t *)p)[i]);
	b[2 * len] = 0;
	return b;
}

static int all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

/* ---- RFC 8448 section 3 (TLS_AES_128_GCM_SHA256) ---- */

FIXTURE(rfc8448)
{
	uint8_t secret[32];
};

FIXTURE_VARIANT(rfc8448)
{
	const char *secret, *key, *iv;
};

FIXTURE_VARIANT_ADD(rfc8448, server_handshake)
{
	.secret = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
	.key = "3fce516009c21727d0f2e4e86ee403bc",
	.iv = "5d313eb2671276ee13000b30",
};

FIXTURE_VARIANT_ADD(rfc8448, client_handshake)
{
	.secret = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
	.key = "dbfaa693d1762c5b666af5d950258d01",
	.iv = "5bd3c71b836e0b76bb73265f",
};

FIXTURE_VARIANT_ADD(rfc8448, server_application)
{
	.secret = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
	.key = "9f02283b6c9c07efc26bb9f2ac92e356",
	.iv = "cf782b88dd83549aadf1e984",
};

FIXTURE_VARIANT_ADD(rfc8448, client_application)
{
	.secret = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
	.key = "17422dda596ed5d9acd890e3c63f5051",
	.iv = "5b78923dee08579033e523d9",
};

/*
 * Not in the RFC: keys of client_application_traffic_secret_1 (the secret
 * after one KeyUpdate, below), from an independent Python computation.
 */
FIXTURE_VARIANT_ADD(rfc8448, client_application_1)
{
	.secret = "fcdfcc72725aaee48bf64e4fd8b749cdbdbab39d90da0b26e2245ca6ea167207",
	.key = "3879d82f5f14056e623f2ce5bfc66fce",
	.iv = "5dfb2c5938c3379b6cc5d1f2",
};

FIXTURE_SETUP(rfc8448)
{
	ASSERT_EQ(0, unhex(variant->secret, self->secret, sizeof(self->secret)));
}

FIXTURE_TEARDOWN(rfc8448)
{
}

TEST_F(rfc8448, traffic_key_iv)
{
	uint8_t key[16], iv[12], want_key[16], want_iv[12];
	int ret;

	ASSERT_EQ(0, unhex(variant->key, want_key, sizeof(want_key)));
	ASSERT_EQ(0, unhex(variant->iv, want_iv, sizeof(want_iv)));
	ret = keys_traffic_key_iv(KTLS_CIPHER_AES_128_GCM, self->secret,
				  sizeof(self->secret), key, sizeof(key), iv,
				  sizeof(iv));
	ASSERT_EQ(0, ret) TH_LOG("keys_traffic_key_iv: %s", strerror(-ret));
	EXPECT_EQ(0, memcmp(key, want_key, sizeof(key)))
		TH_LOG("key %s, RFC 8448 has %s", tohex(key, sizeof(key)), variant->key);
	EXPECT_EQ(0, memcmp(iv, want_iv, sizeof(iv)))
		TH_LOG("iv %s, RFC 8448 has %s", tohex(iv, sizeof(iv)), variant->iv);
}

/*
 * "traffic upd" has no published vector; these values are shared by
 * several independent implementations (OpenSSL- and Python-based).
 */
FIXTURE(traffic_upd)
{
	uint8_t secret[32], want[32];
};

FIXTURE_VARIANT(traffic_upd)
{
	const char *secret, *next;
};

FIXTURE_VARIANT_ADD(traffic_upd, client_application)
{
	.secret = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
	.next = "fcdfcc72725aaee48bf64e4fd8b749cdbdbab39d90da0b26e2245ca6ea167207",
};

FIXTURE_VARIANT_ADD(traffic_upd, server_application)
{
	.secret = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
	.next = "51921b8aa3001976eb401d0a4319a8516416a6c56001a357e5d162031e84f916",
};

FIXTURE_SETUP(traffic_upd)
{
	ASSERT_EQ(0, unhex(variant->secret, self->secret, sizeof(self->secret)));
	ASSERT_EQ(0, unhex(variant->next, self->want, sizeof(self->want)));
}

FIXTURE_TEARDOWN(traffic_upd)
{
}

TEST_F(traffic_upd, next_secret)
{
	uint8_t next[32];
	int ret;

	ret = keys_next_secret(KTLS_CIPHER_AES_128_GCM, self->secret,
			       sizeof(self->secret), next);
	ASSERT_EQ(0, ret) TH_LOG("keys_next_secret: %s", strerror(-ret));
	EXPECT_EQ(0, memcmp(next, self->want, sizeof(next)))
		TH_LOG("got %s, want %s", tohex(next, sizeof(next)), variant->next);
}

TEST_F(traffic_upd, next_secret_in_place)
{
	int ret;

	ret = keys_next_secret(KTLS_CIPHER_AES_128_GCM, self->secret,
			       sizeof(self->secret), self->secret);
	ASSERT_EQ(0, ret) TH_LOG("keys_next_secret: %s", strerror(-ret));
	EXPECT_EQ(0, memcmp(self->secret, self->want, sizeof(self->want)))
		TH_LOG("in place: got %s, want %s",
		       tohex(self->secret, sizeof(self->secret)), variant->next);
}

/* A non-empty context: Derive-Secret(handshake_secret, "c/s hs traffic", CH..SH). */
TEST(expand_label_with_context)
{
	static const struct {
		const char *label, *want;
	} v[] = {
		{ "c hs traffic",
		  "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21" },
		{ "s hs traffic",
		  "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38" },
	};
	uint8_t hs[32], th[32], out[32], want[32];
	size_t i;

	ASSERT_EQ(0, unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac",
			   hs, sizeof(hs)));
	ASSERT_EQ(0, unhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8",
			   th, sizeof(th)));
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		ASSERT_EQ(0, unhex(v[i].want, want, sizeof(want)));
		ASSERT_EQ(0, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, hs, sizeof(hs),
						    v[i].label, th, sizeof(th),
						    out, sizeof(out)));
		EXPECT_EQ(0, memcmp(out, want, sizeof(out)))
			TH_LOG("\"%s\": got %s, RFC 8448 has %s", v[i].label,
			       tohex(out, sizeof(out)), v[i].want);
	}
}

/* Derive-Secret(early_secret, "derived", ""): the context is Hash(""). */
TEST(expand_label_derived)
{
	uint8_t early[32], empty_hash[32], out[32], want[32];

	ASSERT_EQ(0, unhex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a",
			   early, sizeof(early)));
	ASSERT_EQ(0, unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			   empty_hash, sizeof(empty_hash)));
	ASSERT_EQ(0, unhex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba",
			   want, sizeof(want)));
	ASSERT_EQ(0, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, early, sizeof(early),
					    "derived", empty_hash, sizeof(empty_hash),
					    out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, want, sizeof(out)))
		TH_LOG("got %s", tohex(out, sizeof(out)));
}

/* opaque label<7..255> with the "tls13 " prefix; opaque context<0..255>. */
TEST(expand_label_bounds)
{
	uint8_t secret[32] = { 1 }, ctx[256] = { 0 }, out[32];
	char label[251];
	int ret;

	memset(label, 'x', sizeof(label) - 1);
	label[sizeof(label) - 1] = 0;
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						  label, NULL, 0, out, 32))
		TH_LOG("a 256-byte label (with the prefix) was taken");
	label[249] = 0;
	ASSERT_EQ(0, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32, label,
					    NULL, 0, out, 32))
		TH_LOG("a 255-byte label (with the prefix) was refused");
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						  "", NULL, 0, out, 32))
		TH_LOG("an empty label was taken");
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						  NULL, NULL, 0, out, 32));
	ASSERT_EQ(0, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32, "key",
					    ctx, 255, out, 32))
		TH_LOG("a 255-byte context was refused");
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						  "key", ctx, 256, out, 32))
		TH_LOG("a 256-byte context was taken");
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						  "key", NULL, 1, out, 32))
		TH_LOG("a context length without a context was taken");
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, NULL, 32,
						  "key", NULL, 0, out, 32));
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						  "key", NULL, 0, NULL, 32));
	ASSERT_EQ(-EINVAL, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						  "key", NULL, 0, out, 0));
	/* RFC 5869: at most 255 blocks of output. */
	{
		static uint8_t big[255 * 32 + 1];

		ASSERT_EQ(0, keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32,
						    "key", NULL, 0, big, 255 * 32));
		memset(big, 0x55, sizeof(big));
		ret = keys_hkdf_expand_label(GNUTLS_MAC_SHA256, secret, 32, "key",
					     NULL, 0, big, sizeof(big));
		ASSERT_EQ(-EINVAL, ret) TH_LOG("256 blocks: %d", ret);
	}
	ASSERT_EQ(-EOPNOTSUPP, keys_hkdf_expand_label(GNUTLS_MAC_UNKNOWN, secret,
						      32, "key", NULL, 0, out, 32));
}

TEST(traffic_key_iv_errors)
{
	uint8_t secret[48] = { 1 }, key[32], iv[16];

	EXPECT_EQ(-EOPNOTSUPP, keys_traffic_key_iv(0, secret, 32, key, 16, iv, 12));
	EXPECT_EQ(-EOPNOTSUPP, keys_traffic_key_iv(1u << 4, secret, 32, key, 16, iv, 12));
	EXPECT_EQ(-EOPNOTSUPP, keys_traffic_key_iv(KTLS_CIPHER_ALL, secret, 32, key,
						   16, iv, 12));
	/* TLS_AES_256_GCM_SHA384 secrets are 48 bytes; the others 32. */
	EXPECT_EQ(-EINVAL, keys_traffic_key_iv(KTLS_CIPHER_AES_256_GCM, secret, 32,
					       key, 32, iv, 12));
	EXPECT_EQ(-EINVAL, keys_traffic_key_iv(KTLS_CIPHER_AES_128_GCM, secret, 48,
					       key, 16, iv, 12));
	EXPECT_EQ(-EINVAL, keys_traffic_key_iv(KTLS_CIPHER_AES_128_GCM, secret, 32,
					       key, 32, iv, 12));
	EXPECT_EQ(-EINVAL, keys_traffic_key_iv(KTLS_CIPHER_CHACHA20_POLY1305, secret,
					       32, key, 16, iv, 12));
	EXPECT_EQ(-EINVAL, keys_traffic_key_iv(KTLS_CIPHER_AES_128_GCM, secret, 32,
					       key, 16, iv, 8));
	EXPECT_EQ(-EINVAL, keys_traffic_key_iv(KTLS_CIPHER_AES_128_GCM, secret, 32,
					       key, 16, iv, 16));
	EXPECT_EQ(0, keys_traffic_key_iv(KTLS_CIPHER_AES_256_GCM, secret, 48, key, 32,
					 iv, 12));
	EXPECT_EQ(0, keys_traffic_key_iv(KTLS_CIPHER_AES_128_CCM, secret, 32, key, 16,
					 iv, 12));
}

TEST(next_secret_errors)
{
	uint8_t secret[48] = { 1 }, out[48];

	EXPECT_EQ(-EOPNOTSUPP, keys_next_secret(0, secret, 32, out));
	EXPECT_EQ(-EOPNOTSUPP, keys_next_secret(1u << 4, secret, 32, out));
	EXPECT_EQ(-EINVAL, keys_next_secret(KTLS_CIPHER_AES_256_GCM, secret, 32, out));
	EXPECT_EQ(-EINVAL, keys_next_secret(KTLS_CIPHER_AES_128_GCM, secret, 48, out));
	EXPECT_EQ(-EINVAL, keys_next_secret(KTLS_CIPHER_AES_128_GCM, secret, 32, NULL));
	EXPECT_EQ(0, keys_next_secret(KTLS_CIPHER_AES_256_GCM, secret, 48, out));
}

/* ---- Cipher identities ---- */

TEST(cipher_from_gnutls)
{
	static const struct {
		gnutls_cipher_algorithm_t alg;
		unsigned want;
	} v[] = {
		{ GNUTLS_CIPHER_AES_128_GCM, KTLS_CIPHER_AES_128_GCM },
		{ GNUTLS_CIPHER_AES_256_GCM, KTLS_CIPHER_AES_256_GCM },
		{ GNUTLS_CIPHER_CHACHA20_POLY1305, KTLS_CIPHER_CHACHA20_POLY1305 },
		{ GNUTLS_CIPHER_AES_128_CCM, KTLS_CIPHER_AES_128_CCM },
		/* The kernel has no 8-byte-tag CCM, no CCM-256, no CBC. */
		{ GNUTLS_CIPHER_AES_128_CCM_8, 0 },
		{ GNUTLS_CIPHER_AES_256_CCM, 0 },
		{ GNUTLS_CIPHER_AES_128_CBC, 0 },
		{ GNUTLS_CIPHER_NULL, 0 },
		{ GNUTLS_CIPHER_UNKNOWN, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		EXPECT_EQ(v[i].want, keys_cipher_from_gnutls(v[i].alg))
			TH_LOG("%s", gnutls_cipher_get_name(v[i].alg));
}

TEST(kernel_cipher)
{
	/* The numbers of <linux/tls.h>, written out: they are kernel ABI. */
	EXPECT_EQ(51, keys_kernel_cipher(KTLS_CIPHER_AES_128_GCM));
	EXPECT_EQ(52, keys_kernel_cipher(KTLS_CIPHER_AES_256_GCM));
	EXPECT_EQ(54, keys_kernel_cipher(KTLS_CIPHER_CHACHA20_POLY1305));
	EXPECT_EQ(53, keys_kernel_cipher(KTLS_CIPHER_AES_128_CCM));
	EXPECT_EQ(0, keys_kernel_cipher(0));
	EXPECT_EQ(0, keys_kernel_cipher(KTLS_CIPHER_AES_128_GCM | KTLS_CIPHER_AES_256_GCM));
	EXPECT_EQ(0, keys_kernel_cipher(1u << 4));
	EXPECT_EQ(0, keys_kernel_cipher(KTLS_CIPHER_ALL));
}

TEST(cipher_hash)
{
	EXPECT_EQ((unsigned)GNUTLS_MAC_SHA256, keys_cipher_hash(KTLS_CIPHER_AES_128_GCM));
	EXPECT_EQ((unsigned)GNUTLS_MAC_SHA384, keys_cipher_hash(KTLS_CIPHER_AES_256_GCM));
	EXPECT_EQ((unsigned)GNUTLS_MAC_SHA256, keys_cipher_hash(KTLS_CIPHER_CHACHA20_POLY1305));
	EXPECT_EQ((unsigned)GNUTLS_MAC_SHA256, keys_cipher_hash(KTLS_CIPHER_AES_128_CCM));
	EXPECT_EQ((unsigned)GNUTLS_MAC_UNKNOWN, keys_cipher_hash(0));
	EXPECT_EQ((unsigned)GNUTLS_MAC_UNKNOWN, keys_cipher_hash(1u << 4));
}

/* ---- crypto_info, field by field ---- */

/* The fields of ci, found through the kernel's struct for its cipher_type. */
struct ci_view {
	const uint8_t *key, *salt, *iv, *seq;
	size_t key_len, salt_len, iv_len;
	gnutls_cipher_algorithm_t alg;
};

#define CI_VIEW(v, s, a) do {						\
	(v)->key = (s).key;						\
	(v)->key_len = sizeof((s).key);					\
	(v)->salt = (s).salt;						\
	(v)->salt_len = sizeof((s).salt);				\
	(v)->iv = (s).iv;						\
	(v)->iv_len = sizeof((s).iv);					\
	(v)->seq = (s).rec_seq;						\
	(v)->alg = (a);							\
} while (0)

static int ci_view(const union ktls_crypto_info *ci, struct ci_view *v)
{
	switch (ci->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		CI_VIEW(v, ci->gcm128, GNUTLS_CIPHER_AES_128_GCM);
		return 0;
	case TLS_CIPHER_AES_GCM_256:
		CI_VIEW(v, ci->gcm256, GNUTLS_CIPHER_AES_256_GCM);
		return 0;
	case TLS_CIPHER_CHACHA20_POLY1305:
		CI_VIEW(v, ci->chacha, GNUTLS_CIPHER_CHACHA20_POLY1305);
		return 0;
	case TLS_CIPHER_AES_CCM_128:
		CI_VIEW(v, ci->ccm128, GNUTLS_CIPHER_AES_128_CCM);
		return 0;
	}
	return -1;
}

/* What GnuTLS would give: distinct bytes, so a misplaced one shows. */
static const uint8_t in_key[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};
static const uint8_t in_iv[16] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};
static const uint8_t in_seq[8] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

/* What the kernel must get. */
static const uint8_t want_salt[4] = { 0xa0, 0xa1, 0xa2, 0xa3 };
/* TLS 1.3 AES: the rest of the 12-byte IV. */
static const uint8_t want_iv13[8] = {
	0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
};
/* TLS 1.2 AES: the explicit nonce goes on from the sequence number. */
static const uint8_t want_iv12[8] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};
/* ChaCha20-Poly1305: the whole IV, no salt. */
static const uint8_t want_iv_chacha[12] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab,
};

FIXTURE(crypto_info)
{
	union ktls_crypto_info ci;
	/*
	 * Here, not on the stack of the test: the body is inlined after the
	 * harness's setjmp(), and at -O1 gcc warns (-Wclobbered) about
	 * fields of a local kept in registers across it.
	 */
	struct ci_view v;
};

FIXTURE_VARIANT(crypto_info)
{
	int version;
	unsigned cipher;
	unsigned short type;		/* TLS_CIPHER_*, written out */
	int size;			/* of the kernel's struct */
	size_t key_len, in_iv_len;	/* as GnuTLS gives them */
	const uint8_t *salt, *iv;	/* as the kernel must get them */
	size_t salt_len, iv_len;
};

#define CI_VARIANT(name, ver, c, t, st, kl, ivl, s, sl, i, il)		\
	FIXTURE_VARIANT_ADD(crypto_info, name)				\
	{								\
		.version = ver, .cipher = c, .type = t,			\
		.size = sizeof(struct st), .key_len = kl,		\
		.in_iv_len = ivl, .salt = s, .salt_len = sl,		\
		.iv = i, .iv_len = il,					\
	}

CI_VARIANT(12_aes_gcm_128, 0x0303, KTLS_CIPHER_AES_128_GCM, 51,
	   tls12_crypto_info_aes_gcm_128, 16, 4, want_salt, 4, want_iv12, 8);
CI_VARIANT(12_aes_gcm_256, 0x0303, KTLS_CIPHER_AES_256_GCM, 52,
	   tls12_crypto_info_aes_gcm_256, 32, 4, want_salt, 4, want_iv12, 8);
CI_VARIANT(12_chacha20_poly1305, 0x0303, KTLS_CIPHER_CHACHA20_POLY1305, 54,
	   tls12_crypto_info_chacha20_poly1305, 32, 12, NULL, 0, want_iv_chacha, 12);
CI_VARIANT(12_aes_ccm_128, 0x0303, KTLS_CIPHER_AES_128_CCM, 53,
	   tls12_crypto_info_aes_ccm_128, 16, 4, want_salt, 4, want_iv12, 8);
CI_VARIANT(13_aes_gcm_128, 0x0304, KTLS_CIPHER_AES_128_GCM, 51,
	   tls12_crypto_info_aes_gcm_128, 16, 12, want_salt, 4, want_iv13, 8);
CI_VARIANT(13_aes_gcm_256, 0x0304, KTLS_CIPHER_AES_256_GCM, 52,
	   tls12_crypto_info_aes_gcm_256, 32, 12, want_salt, 4, want_iv13, 8);
CI_VARIANT(13_chacha20_poly1305, 0x0304, KTLS_CIPHER_CHACHA20_POLY1305, 54,
	   tls12_crypto_info_chacha20_poly1305, 32, 12, NULL, 0, want_iv_chacha, 12);
CI_VARIANT(13_aes_ccm_128, 0x0304, KTLS_CIPHER_AES_128_CCM, 53,
	   tls12_crypto_info_aes_ccm_128, 16, 12, want_salt, 4, want_iv13, 8);

FIXTURE_SETUP(crypto_info)
{
	/* Stale bytes the function must not leave behind. */
	memset(&self->ci, 0x5a, sizeof(self->ci));
}

FIXTURE_TEARDOWN(crypto_info)
{
}

TEST_F(crypto_info, fields_in_place)
{
	struct ci_view *v = &self->v;
	int ret;

	ret = keys_crypto_info(&self->ci, variant->version, variant->cipher,
			       in_key, variant->key_len, in_iv,
			       variant->in_iv_len, in_seq);
	ASSERT_EQ(variant->size, ret)
		TH_LOG("returned %d (%s)", ret, ret < 0 ? strerror(-ret) : "size");
	ASSERT_EQ(variant->version, self->ci.info.version);
	ASSERT_EQ(variant->type, self->ci.info.cipher_type);
	ASSERT_EQ(0, ci_view(&self->ci, v));

	ASSERT_EQ(variant->key_len, v->key_len);
	EXPECT_EQ(0, memcmp(v->key, in_key, v->key_len))
		TH_LOG("key %s", tohex(v->key, v->key_len));
	ASSERT_EQ(variant->salt_len, v->salt_len);
	if (v->salt_len) {
		EXPECT_EQ(0, memcmp(v->salt, variant->salt, v->salt_len))
			TH_LOG("salt %s, want %s", tohex(v->salt, v->salt_len),
			       tohex(variant->salt, v->salt_len));
	}
	ASSERT_EQ(variant->iv_len, v->iv_len);
	EXPECT_EQ(0, memcmp(v->iv, variant->iv, v->iv_len))
		TH_LOG("iv %s, want %s", tohex(v->iv, v->iv_len),
		       tohex(variant->iv, v->iv_len));
	EXPECT_EQ(0, memcmp(v->seq, in_seq, sizeof(in_seq)))
		TH_LOG("rec_seq %s", tohex(v->seq, 8));
	EXPECT_TRUE(all_zero((uint8_t *)&self->ci + ret, sizeof(self->ci) - ret))
		TH_LOG("stale bytes after the %d-byte struct", ret);
}

TEST_F(crypto_info, wrong_key_len)
{
	const size_t lens[] = { 0, variant->key_len - 1, variant->key_len + 1,
				variant->key_len == 16 ? 32 : 16 };
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		memset(&self->ci, 0x5a, sizeof(self->ci));
		ret = keys_crypto_info(&self->ci, variant->version, variant->cipher,
				       in_key, lens[i], in_iv, variant->in_iv_len,
				       in_seq);
		EXPECT_EQ(-EINVAL, ret) TH_LOG("a %zu-byte key gave %d", lens[i], ret);
		EXPECT_TRUE(all_zero(&self->ci, sizeof(self->ci)))
			TH_LOG("ci not wiped after a %zu-byte key", lens[i]);
	}
}

TEST_F(crypto_info, wrong_iv_len)
{
	const size_t lens[] = { 0, 4, 8, 12, 16 };
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		if (lens[i] == variant->in_iv_len)
			continue;
		memset(&self->ci, 0x5a, sizeof(self->ci));
		ret = keys_crypto_info(&self->ci, variant->version, variant->cipher,
				       in_key, variant->key_len, in_iv, lens[i],
				       in_seq);
		EXPECT_EQ(-EINVAL, ret) TH_LOG("a %zu-byte IV gave %d", lens[i], ret);
		EXPECT_TRUE(all_zero(&self->ci, sizeof(self->ci)))
			TH_LOG("ci not wiped after a %zu-byte IV", lens[i]);
	}
}

TEST_F(crypto_info, missing_inputs)
{
	EXPECT_EQ(-EINVAL, keys_crypto_info(&self->ci, variant->version,
					    variant->cipher, NULL, variant->key_len,
					    in_iv, variant->in_iv_len, in_seq));
	EXPECT_EQ(-EINVAL, keys_crypto_info(&self->ci, variant->version,
					    variant->cipher, in_key, variant->key_len,
					    NULL, variant->in_iv_len, in_seq));
	EXPECT_EQ(-EINVAL, keys_crypto_info(&self->ci, variant->version,
					    variant->cipher, in_key, variant->key_len,
					    in_iv, variant->in_iv_len, NULL));
	EXPECT_EQ(-EINVAL, keys_crypto_info(NULL, variant->version,
					    variant->cipher, in_key, variant->key_len,
					    in_iv, variant->in_iv_len, in_seq));
}

TEST_F(crypto_info, other_versions)
{
	const int versions[] = { 0, 0x0301, 0x0302, 0x0305, 0x0403, 0xfefd };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(versions); i++) {
		memset(&self->ci, 0x5a, sizeof(self->ci));
		EXPECT_EQ(-EINVAL, keys_crypto_info(&self->ci, versions[i],
						    variant->cipher, in_key,
						    variant->key_len, in_iv,
						    variant->in_iv_len, in_seq))
			TH_LOG("version %#x was taken", versions[i]);
		EXPECT_TRUE(all_zero(&self->ci, sizeof(self->ci)));
	}
}

TEST(crypto_info_unknown_cipher)
{
	const unsigned ciphers[] = { 0, 1u << 4, 1u << 31,
				     KTLS_CIPHER_AES_128_GCM | KTLS_CIPHER_AES_128_CCM,
				     KTLS_CIPHER_ALL };
	union ktls_crypto_info ci;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ciphers); i++) {
		memset(&ci, 0x5a, sizeof(ci));
		EXPECT_EQ(-EOPNOTSUPP, keys_crypto_info(&ci, KTLS_TLS13, ciphers[i],
							in_key, 16, in_iv, 12, in_seq))
			TH_LOG("cipher %#x was taken", ciphers[i]);
		EXPECT_TRUE(all_zero(&ci, sizeof(ci)));
	}
}

/* ---- Real handshakes: does the crypto_info open GnuTLS's records? ---- */

/* The largest record body: TLS 1.2 explicit nonce, 2^14, tag, padding. */
#define RECORD_MAX (8 + 16384 + 256 + 16)

struct record {
	uint8_t hdr[5];
	uint8_t body[RECORD_MAX];
	size_t len;
};

struct traffic_secret {
	const char *label;	/* the keylog name of this side's writes */
	uint8_t data[64];
	size_t len;
};

static int keep_secret(gnutls_session_t s, const char *label,
		       const gnutls_datum_t *secret)
{
	struct traffic_secret *ts = gnutls_session_get_ptr(s);

	if (!strcmp(label, ts->label) && secret->size <= sizeof(ts->data)) {
		memcpy(ts->data, secret->data, secret->size);
		ts->len = secret->size;
	}
	return 0;
}

static int make_cert(gnutls_x509_privkey_t *key, gnutls_x509_crt_t *crt)
{
	static const uint8_t serial[] = { 0x01 };
	time_t now = time(NULL);
	int ret;

	ret = gnutls_x509_privkey_init(key);
	if (ret < 0)
		return ret;
	ret = gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (ret < 0)
		return ret;
	ret = gnutls_x509_crt_init(crt);
	if (ret < 0)
		return ret;
	if ((ret = gnutls_x509_crt_set_version(*crt, 3)) < 0 ||
	    (ret = gnutls_x509_crt_set_serial(*crt, serial, sizeof(serial))) < 0 ||
	    (ret = gnutls_x509_crt_set_activation_time(*crt, now - 60)) < 0 ||
	    (ret = gnutls_x509_crt_set_expiration_time(*crt, now + 3600)) < 0 ||
	    (ret = gnutls_x509_crt_set_dn_by_oid(*crt, GNUTLS_OID_X520_COMMON_NAME,
						 0, "keys.test", 9)) < 0 ||
	    (ret = gnutls_x509_crt_set_key(*crt, *key)) < 0)
		return ret;
	return gnutls_x509_crt_sign2(*crt, *crt, *key, GNUTLS_DIG_SHA256, 0);
}

struct side {
	gnutls_session_t s;
	int fd;
	int ret;
};

static void *handshake_main(void *arg)
{
	struct side *h = arg;

	do {
		h->ret = gnutls_handshake(h->s);
	} while (h->ret < 0 && !gnutls_error_is_fatal(h->ret) &&
		 h->ret != GNUTLS_E_AGAIN);
	/* The other side must not wait for a peer that gave up. */
	if (h->ret < 0)
		shutdown(h->fd, SHUT_RDWR);
	return NULL;
}

/* Errors that mean "these settings have no common suite", not a bug. */
static int cannot_negotiate(int err)
{
	return err == GNUTLS_E_NO_CIPHER_SUITES ||
	       err == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
	       err == GNUTLS_E_INSUFFICIENT_CREDENTIALS ||
	       err == GNUTLS_E_NO_PRIORITIES_WERE_SET ||
	       err == GNUTLS_E_NO_COMMON_KEY_SHARE;
}

FIXTURE(wire)
{
	int fd[2];			/* [0] the client's end, [1] the server's */
	gnutls_session_t s[2];
	gnutls_certificate_credentials_t cred[2];
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	struct traffic_secret secret[2];
	char skip[256];			/* why there is no session to test */
};

FIXTURE_VARIANT(wire)
{
	int version;
	unsigned cipher;
	const char *prio;	/* the cipher in a GnuTLS priority string */
	gnutls_cipher_algorithm_t alg;
};

#define WIRE_VARIANT(name, ver, c, p, a)				\
	FIXTURE_VARIANT_ADD(wire, name)					\
	{ .version = ver, .cipher = c, .prio = p, .alg = a }

WIRE_VARIANT(12_aes_gcm_128, KTLS_TLS12, KTLS_CIPHER_AES_128_GCM,
	     "AES-128-GCM", GNUTLS_CIPHER_AES_128_GCM);
WIRE_VARIANT(12_aes_gcm_256, KTLS_TLS12, KTLS_CIPHER_AES_256_GCM,
	     "AES-256-GCM", GNUTLS_CIPHER_AES_256_GCM);
WIRE_VARIANT(12_chacha20_poly1305, KTLS_TLS12, KTLS_CIPHER_CHACHA20_POLY1305,
	     "CHACHA20-POLY1305", GNUTLS_CIPHER_CHACHA20_POLY1305);
WIRE_VARIANT(12_aes_ccm_128, KTLS_TLS12, KTLS_CIPHER_AES_128_CCM,
	     "AES-128-CCM", GNUTLS_CIPHER_AES_128_CCM);
WIRE_VARIANT(13_aes_gcm_128, KTLS_TLS13, KTLS_CIPHER_AES_128_GCM,
	     "AES-128-GCM", GNUTLS_CIPHER_AES_128_GCM);
WIRE_VARIANT(13_aes_gcm_256, KTLS_TLS13, KTLS_CIPHER_AES_256_GCM,
	     "AES-256-GCM", GNUTLS_CIPHER_AES_256_GCM);
WIRE_VARIANT(13_chacha20_poly1305, KTLS_TLS13, KTLS_CIPHER_CHACHA20_POLY1305,
	     "CHACHA20-POLY1305", GNUTLS_CIPHER_CHACHA20_POLY1305);
WIRE_VARIANT(13_aes_ccm_128, KTLS_TLS13, KTLS_CIPHER_AES_128_CCM,
	     "AES-128-CCM", GNUTLS_CIPHER_AES_128_CCM);

FIXTURE_SETUP(wire)
{
	static const char *const labels[2] = {
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0",
	};
	/* Nothing blocks for long when one side gives up. */
	struct timeval tv = { .tv_sec = 10 };
	struct side side[2];
	pthread_t client;
	char prio[128];
	int i, ret, err;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, self->fd));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, setsockopt(self->fd[i], SOL_SOCKET, SO_RCVTIMEO,
					&tv, sizeof(tv)));
	ret = make_cert(&self->key, &self->crt);
	ASSERT_EQ(0, ret) TH_LOG("self-signed certificate: %s", gnutls_strerror(ret));

	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.%d:-CIPHER-ALL:+%s",
		 variant->version == KTLS_TLS13 ? 3 : 2, variant->prio);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, gnutls_certificate_allocate_credentials(&self->cred[i]));
		/* No tickets: the server writes nothing the test does not send. */
		ASSERT_EQ(0, gnutls_init(&self->s[i], i ? GNUTLS_SERVER | GNUTLS_NO_TICKETS
							: GNUTLS_CLIENT));
		ret = gnutls_priority_set_direct(self->s[i], prio, NULL);
		if (ret < 0) {
			snprintf(self->skip, sizeof(self->skip),
				 "GnuTLS %s does not take \"%s\": %s",
				 gnutls_check_version(NULL), prio, gnutls_strerror(ret));
			return;
		}
		ASSERT_EQ(0, gnutls_credentials_set(self->s[i], GNUTLS_CRD_CERTIFICATE,
						    self->cred[i]));
		gnutls_transport_set_int(self->s[i], self->fd[i]);
		self->secret[i].label = labels[i];
		gnutls_session_set_ptr(self->s[i], &self->secret[i]);
		gnutls_session_set_keylog_function(self->s[i], keep_secret);
		side[i].s = self->s[i];
		side[i].fd = self->fd[i];
	}
	ASSERT_EQ(0, gnutls_certificate_set_x509_key(self->cred[1], &self->crt, 1,
						     self->key));

	ASSERT_EQ(0, pthread_create(&client, NULL, handshake_main, &side[0]));
	handshake_main(&side[1]);
	pthread_join(client, NULL);
	err = side[1].ret < 0 ? side[1].ret : side[0].ret;
	if (err < 0 && cannot_negotiate(err)) {
		snprintf(self->skip, sizeof(self->skip),
			 "GnuTLS %s cannot negotiate TLS 1.%d with %s: %s",
			 gnutls_check_version(NULL), variant->version == KTLS_TLS13 ? 3 : 2,
			 variant->prio, gnutls_strerror(err));
		return;
	}
	ASSERT_EQ(0, side[0].ret) TH_LOG("client handshake: %s",
					 gnutls_strerror(side[0].ret));
	ASSERT_EQ(0, side[1].ret) TH_LOG("server handshake: %s",
					 gnutls_strerror(side[1].ret));
	ASSERT_EQ(variant->version == KTLS_TLS13 ? GNUTLS_TLS1_3 : GNUTLS_TLS1_2,
		  (int)gnutls_protocol_get_version(self->s[1]));
	ASSERT_EQ(variant->alg, gnutls_cipher_get(self->s[1]))
		TH_LOG("negotiated %s", gnutls_cipher_get_name(gnutls_cipher_get(self->s[1])));
	/* The library names the cipher the same way. */
	ASSERT_EQ(variant->cipher, keys_cipher_from_gnutls(gnutls_cipher_get(self->s[1])));
}

FIXTURE_TEARDOWN(wire)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (self->s[i])
			gnutls_deinit(self->s[i]);
		if (self->cred[i])
			gnutls_certificate_free_credentials(self->cred[i]);
		close(self->fd[i]);
	}
	if (self->crt)
		gnutls_x509_crt_deinit(self->crt);
	if (self->key)
		gnutls_x509_privkey_deinit(self->key);
}

#define REQUIRE_SESSION() do {						\
	if (self->skip[0])						\
		SKIP(return, "%s", self->skip);				\
} while (0)

static void read_record(struct __test_metadata *_metadata, int fd,
			struct record *r)
{
	ASSERT_EQ(5, read_full(fd, r->hdr, 5)) TH_LOG("no record header");
	/* Every record after the handshake: TLS 1.2 framing. */
	ASSERT_EQ(0x03, r->hdr[1]);
	ASSERT_EQ(0x03, r->hdr[2]);
	r->len = r->hdr[3] << 8 | r->hdr[4];
	ASSERT_GE(sizeof(r->body), r->len) TH_LOG("a %zu-byte record", r->len);
	ASSERT_EQ((ssize_t)r->len, read_full(fd, r->body, r->len))
		TH_LOG("short record body");
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * Open r as the kernel's RX side would, from nothing but ci and the
 * record's place after the sequence number in ci: nonce and additional
 * data by RFC 5288/6655/7905 (TLS 1.2) and RFC 8446. Returns the content
 * length in plain (RECORD_MAX bytes) and its content type in *type.
 */
static size_t open_record(struct __test_metadata *_metadata,
			  const union ktls_crypto_info *ci, uint64_t index,
			  const struct record *r, uint8_t *plain, uint8_t *type)
{
	int tls13 = ci->info.version == KTLS_TLS13;
	uint8_t nonce[12], aad[13];
	gnutls_aead_cipher_hd_t aead;
	size_t ctoff = 0, aad_len, plen = RECORD_MAX;
	struct ci_view v;
	gnutls_datum_t k;
	uint64_t seq;
	int i, ret;

	ASSERT_EQ(0, ci_view(ci, &v)) TH_LOG("cipher_type %u", ci->info.cipher_type);
	seq = be64(v.seq) + index;
	if (v.salt_len && !tls13) {
		/* The explicit nonce leads the record; the kernel counts from iv. */
		ASSERT_LE(8u + 16, r->len);
		memcpy(nonce, v.salt, 4);
		memcpy(nonce + 4, r->body, 8);
		ctoff = 8;
		ASSERT_EQ(be64(v.iv) + index, be64(r->body))
			TH_LOG("explicit nonce %s is not iv + %llu: the kernel's "
			       "would repeat or skip GnuTLS's", tohex(r->body, 8),
			       (unsigned long long)index);
	} else {
		ASSERT_EQ(12u, v.salt_len + v.iv_len);
		memcpy(nonce, v.salt, v.salt_len);
		memcpy(nonce + v.salt_len, v.iv, v.iv_len);
		for (i = 0; i < 8; i++)
			nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	}
	ASSERT_LE(ctoff + 16, r->len);
	if (tls13) {
		memcpy(aad, r->hdr, 5);
		aad_len = 5;
	} else {
		size_t ptlen = r->len - ctoff - 16;

		put_be64(aad, seq);
		aad[8] = r->hdr[0];
		aad[9] = 0x03;
		aad[10] = 0x03;
		aad[11] = (uint8_t)(ptlen >> 8);
		aad[12] = (uint8_t)ptlen;
		aad_len = 13;
	}

	k.data = (unsigned char *)v.key;
	k.size = v.key_len;
	ASSERT_EQ(0, gnutls_aead_cipher_init(&aead, v.alg, &k));
	ret = gnutls_aead_cipher_decrypt(aead, nonce, sizeof(nonce), aad, aad_len,
					 16, r->body + ctoff, r->len - ctoff,
					 plain, &plen);
	gnutls_aead_cipher_deinit(aead);
	ASSERT_EQ(0, ret) TH_LOG("record %llu (seq %llu) does not open: %s",
				 (unsigned long long)index, (unsigned long long)seq,
				 gnutls_strerror(ret));
	if (!tls13) {
		*type = r->hdr[0];
		return plen;
	}
	/* TLSInnerPlaintext: content, type, zero padding. */
	ASSERT_EQ(23, r->hdr[0]);
	while (plen && !plain[plen - 1])
		plen--;
	ASSERT_LT(0u, plen) TH_LOG("no content type");
	*type = plain[--plen];
	return plen;
}

/* Have side w send records and open each with ci; returns how many. */
static uint64_t send_and_open(struct __test_metadata *_metadata,
			      FIXTURE_DATA(wire) *self, int w,
			      const union ktls_crypto_info *ci)
{
	static const size_t lens[] = { 1, 777, 16384 };
	static uint8_t msg[16384], plain[RECORD_MAX];
	static struct record r;
	size_t i, n;
	uint8_t type;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		fill_pattern(msg, lens[i], 40 + w, i * 100000);
		ASSERT_EQ((ssize_t)lens[i], gnutls_record_send(self->s[w], msg, lens[i]));
		read_record(_metadata, self->fd[!w], &r);
		n = open_record(_metadata, ci, i, &r, plain, &type);
		ASSERT_EQ(23, type) TH_LOG("record %zu: content type %u", i, type);
		ASSERT_EQ(lens[i], n);
		ASSERT_EQ(-1, check_pattern(plain, n, 40 + w, i * 100000))
			TH_LOG("record %zu opened to other bytes", i);
	}
	return i;
}

/* ci for side w's writes, as the library would build it for TLS_TX. */
static void state_to_ci(struct __test_metadata *_metadata,
			const FIXTURE_VARIANT(wire) *variant, gnutls_session_t s,
			union ktls_crypto_info *ci, uint8_t seq[8])
{
	gnutls_datum_t mac, iv, key;
	int ret;

	ASSERT_EQ(0, gnutls_record_get_state(s, 0, &mac, &iv, &key, seq));
	ret = keys_crypto_info(ci, variant->version, variant->cipher, key.data,
			       key.size, iv.data, iv.size, seq);
	ASSERT_LT(0, ret) TH_LOG("keys_crypto_info(%u-byte key, %u-byte iv): %s",
				 key.size, iv.size, strerror(-ret));
}

/*
 * One record goes out before the switch, so that the sequence number
 * handed over is not zero; then the state is taken and records follow.
 */
static void records_open(struct __test_metadata *_metadata,
			 FIXTURE_DATA(wire) *self,
			 const FIXTURE_VARIANT(wire) *variant, int w)
{
	static struct record r;
	union ktls_crypto_info ci;
	uint8_t seq[8];

	ASSERT_EQ(6, gnutls_record_send(self->s[w], "before", 6));
	read_record(_metadata, self->fd[!w], &r);
	state_to_ci(_metadata, variant, self->s[w], &ci, seq);
	ASSERT_NE(0u, be64(seq)) TH_LOG("the sequence number did not move");
	send_and_open(_metadata, self, w, &ci);
}

TEST_F(wire, client_records_open)
{
	REQUIRE_SESSION();
	records_open(_metadata, self, variant, 0);
}

TEST_F(wire, server_records_open)
{
	REQUIRE_SESSION();
	records_open(_metadata, self, variant, 1);
}

/*
 * TLS 1.3 rekey as the library does it for an installed socket: from the
 * traffic secret alone (never GnuTLS's new state), derive the next secret
 * and its key and IV, and open what GnuTLS writes after its KeyUpdate.
 * Twice, so the second update starts from a derived secret.
 */
static void rekey_records_open(struct __test_metadata *_metadata,
			       FIXTURE_DATA(wire) *self,
			       const FIXTURE_VARIANT(wire) *variant, int w)
{
	struct traffic_secret *ts = &self->secret[w];
	union ktls_crypto_info ci;
	gnutls_datum_t mac, giv, gkey;
	uint8_t key[32], iv[12], seq[8];
	static uint8_t plain[RECORD_MAX];
	static struct record r;
	size_t key_len, n;
	uint64_t sent = 0;	/* records under ci so far */
	uint8_t type;
	int round, ret;

	ASSERT_EQ(gnutls_hmac_get_len(keys_cipher_hash(variant->cipher)), ts->len)
		TH_LOG("no %s from GnuTLS's keylog", ts->label);
	state_to_ci(_metadata, variant, self->s[w], &ci, seq);
	ASSERT_EQ(0, gnutls_record_get_state(self->s[w], 0, &mac, &giv, &gkey, seq));
	key_len = gkey.size;
	ASSERT_GE(sizeof(key), key_len);
	/* Our derivation from the secret gives GnuTLS's own keys. */
	ASSERT_EQ(0, keys_traffic_key_iv(variant->cipher, ts->data, ts->len, key,
					 key_len, iv, sizeof(iv)));
	ASSERT_EQ(0, memcmp(key, gkey.data, key_len))
		TH_LOG("key %s, GnuTLS has %s", tohex(key, key_len),
		       tohex(gkey.data, key_len));
	ASSERT_EQ(12u, giv.size);
	ASSERT_EQ(0, memcmp(iv, giv.data, 12))
		TH_LOG("iv %s, GnuTLS has %s", tohex(iv, 12), tohex(giv.data, 12));

	for (round = 1; round <= 2; round++) {
		ASSERT_EQ(0, gnutls_session_key_update(self->s[w], 0));
		/* The KeyUpdate itself goes under the old keys. */
		read_record(_metadata, self->fd[!w], &r);
		n = open_record(_metadata, &ci, sent, &r, plain, &type);
		ASSERT_EQ(22, type) TH_LOG("round %d: content type %u", round, type);
		ASSERT_EQ(5u, n);
		ASSERT_EQ(24, plain[0]) TH_LOG("handshake type %u, not key_update",
					       plain[0]);

		ret = keys_next_secret(variant->cipher, ts->data, ts->len, ts->data);
		ASSERT_EQ(0, ret) TH_LOG("keys_next_secret: %s", strerror(-ret));
		ret = keys_traffic_key_iv(variant->cipher, ts->data, ts->len, key,
					  key_len, iv, sizeof(iv));
		ASSERT_EQ(0, ret) TH_LOG("keys_traffic_key_iv: %s", strerror(-ret));
		/* Every key update starts the sequence at zero. */
		memset(seq, 0, sizeof(seq));
		ASSERT_LT(0, keys_crypto_info(&ci, KTLS_TLS13, variant->cipher, key,
					      key_len, iv, sizeof(iv), seq));
		sent = send_and_open(_metadata, self, w, &ci);
	}
}

TEST_F(wire, client_rekey_records_open)
{
	REQUIRE_SESSION();
	if (variant->version != KTLS_TLS13)
		SKIP(return, "KeyUpdate exists in TLS 1.3 only");
	rekey_records_open(_metadata, self, variant, 0);
}

TEST_F(wire, server_rekey_records_open)
{
	REQUIRE_SESSION();
	if (variant->version != KTLS_TLS13)
		SKIP(return, "KeyUpdate exists in TLS 1.3 only");
	rekey_records_open(_metadata, self, variant, 1);
}

TEST_HARNESS_MAIN
