// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error texts, and the names of TLS alerts. */
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

/* RFC 8446, section 6 (and TLS 1.2's no_renegotiation): the wire names. */
static const char *const alert_names[] = {
	[KTLS_ALERT_CLOSE_NOTIFY] = "close_notify",
	[KTLS_ALERT_UNEXPECTED_MESSAGE] = "unexpected_message",
	[KTLS_ALERT_BAD_RECORD_MAC] = "bad_record_mac",
	[KTLS_ALERT_RECORD_OVERFLOW] = "record_overflow",
	[KTLS_ALERT_HANDSHAKE_FAILURE] = "handshake_failure",
	[KTLS_ALERT_BAD_CERTIFICATE] = "bad_certificate",
	[KTLS_ALERT_UNSUPPORTED_CERTIFICATE] = "unsupported_certificate",
	[KTLS_ALERT_CERTIFICATE_REVOKED] = "certificate_revoked",
	[KTLS_ALERT_CERTIFICATE_EXPIRED] = "certificate_expired",
	[KTLS_ALERT_CERTIFICATE_UNKNOWN] = "certificate_unknown",
	[KTLS_ALERT_ILLEGAL_PARAMETER] = "illegal_parameter",
	[KTLS_ALERT_UNKNOWN_CA] = "unknown_ca",
	[KTLS_ALERT_ACCESS_DENIED] = "access_denied",
	[KTLS_ALERT_DECODE_ERROR] = "decode_error",
	[KTLS_ALERT_DECRYPT_ERROR] = "decrypt_error",
	[KTLS_ALERT_PROTOCOL_VERSION] = "protocol_version",
	[KTLS_ALERT_INSUFFICIENT_SECURITY] = "insufficient_security",
	[KTLS_ALERT_INTERNAL_ERROR] = "internal_error",
	[KTLS_ALERT_INAPPROPRIATE_FALLBACK] = "inappropriate_fallback",
	[KTLS_ALERT_USER_CANCELED] = "user_canceled",
	[KTLS_ALERT_NO_RENEGOTIATION] = "no_renegotiation",
	[KTLS_ALERT_MISSING_EXTENSION] = "missing_extension",
	[KTLS_ALERT_UNSUPPORTED_EXTENSION] = "unsupported_extension",
	[KTLS_ALERT_UNRECOGNIZED_NAME] = "unrecognized_name",
	[KTLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE] = "bad_certificate_status_response",
	[KTLS_ALERT_UNKNOWN_PSK_IDENTITY] = "unknown_psk_identity",
	[KTLS_ALERT_CERTIFICATE_REQUIRED] = "certificate_required",
	[KTLS_ALERT_NO_APPLICATION_PROTOCOL] = "no_application_protocol",
};

KTLS_EXPORT const char *ktls_alert_name(int desc)
{
	if (desc < 0 || (size_t)desc >= sizeof(alert_names) / sizeof(alert_names[0]))
		return NULL;
	return alert_names[desc];
}
