// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error texts and cipher names. */
#include <string.h>
#include <strings.h>

#include "internal.h"

KTLS_EXPORT const char *ktls_strerror(int err)
{
	switch (-err) {
	case KTLS_E_NO_KTLS:
		return "the kernel has no TLS support (tls module)";
	case KTLS_E_CIPHER:
		return "the kernel cannot take the negotiated cipher";
	case KTLS_E_ALERT:
		return "the peer sent a fatal TLS alert";
	case KTLS_E_VERIFY:
		return "the peer's certificate did not verify";
	case KTLS_E_HANDSHAKE:
		return "the TLS handshake failed";
	case KTLS_E_CONFIG:
		return "invalid TLS configuration";
	case KTLS_E_REKEY:
		return "the peer updated its TLS keys, which this kernel cannot follow";
	}
	return strerror(err < 0 ? -err : err);
}

static const struct {
	unsigned bit;
	const char *name;
} cipher_names[] = {
	{ KTLS_CIPHER_AES_128_GCM, "aes-128-gcm" },
	{ KTLS_CIPHER_AES_256_GCM, "aes-256-gcm" },
	{ KTLS_CIPHER_CHACHA20_POLY1305, "chacha20-poly1305" },
	{ KTLS_CIPHER_AES_128_CCM, "aes-128-ccm" },
};

KTLS_EXPORT const char *ktls_cipher_name(unsigned cipher)
{
	size_t i;

	for (i = 0; i < sizeof(cipher_names) / sizeof(cipher_names[0]); i++)
		if (cipher_names[i].bit == cipher)
			return cipher_names[i].name;
	return NULL;
}

KTLS_EXPORT unsigned ktls_cipher_from_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(cipher_names) / sizeof(cipher_names[0]); i++)
		if (!strcasecmp(cipher_names[i].name, name))
			return cipher_names[i].bit;
	return 0;
}
