// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error texts. */
#include <string.h>

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
