// SPDX-License-Identifier: GPL-2.0-or-later
/* TLS alerts in the public API: the KTLS_ALERT_* numbers and their names. */
#include <limits.h>

#include <gnutls/gnutls.h>
#include <ktls.h>

#include "kselftest_harness.h"

/* ---- Numbers and names ---- */

/* The same wire values as GnuTLS's, which was written apart from ours. */
TEST(constants_are_the_wire_values)
{
	EXPECT_EQ(GNUTLS_AL_WARNING, KTLS_ALERT_LEVEL_WARNING);
	EXPECT_EQ(GNUTLS_AL_FATAL, KTLS_ALERT_LEVEL_FATAL);
#define SAME(name) EXPECT_EQ(GNUTLS_A_##name, KTLS_ALERT_##name) TH_LOG(#name)
	SAME(CLOSE_NOTIFY);
	SAME(UNEXPECTED_MESSAGE);
	SAME(BAD_RECORD_MAC);
	SAME(RECORD_OVERFLOW);
	SAME(HANDSHAKE_FAILURE);
	SAME(BAD_CERTIFICATE);
	SAME(UNSUPPORTED_CERTIFICATE);
	SAME(CERTIFICATE_REVOKED);
	SAME(CERTIFICATE_EXPIRED);
	SAME(CERTIFICATE_UNKNOWN);
	SAME(ILLEGAL_PARAMETER);
	SAME(UNKNOWN_CA);
	SAME(ACCESS_DENIED);
	SAME(DECODE_ERROR);
	SAME(DECRYPT_ERROR);
	SAME(PROTOCOL_VERSION);
	SAME(INSUFFICIENT_SECURITY);
	SAME(INTERNAL_ERROR);
	SAME(INAPPROPRIATE_FALLBACK);
	SAME(USER_CANCELED);
	SAME(NO_RENEGOTIATION);
	SAME(MISSING_EXTENSION);
	SAME(UNSUPPORTED_EXTENSION);
	SAME(UNRECOGNIZED_NAME);
	SAME(UNKNOWN_PSK_IDENTITY);
	SAME(CERTIFICATE_REQUIRED);
	SAME(NO_APPLICATION_PROTOCOL);
#undef SAME
	/* GnuTLS 3.7 has no name for this one: RFC 8446, section 6. */
	EXPECT_EQ(113, KTLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE);
}

/* RFC 8446, section 6, as printed there (and RFC 5246's no_renegotiation). */
static const struct {
	int desc;
	const char *name;
} rfc_names[] = {
	{ 0, "close_notify" }, { 10, "unexpected_message" },
	{ 20, "bad_record_mac" }, { 22, "record_overflow" },
	{ 40, "handshake_failure" }, { 42, "bad_certificate" },
	{ 43, "unsupported_certificate" }, { 44, "certificate_revoked" },
	{ 45, "certificate_expired" }, { 46, "certificate_unknown" },
	{ 47, "illegal_parameter" }, { 48, "unknown_ca" },
	{ 49, "access_denied" }, { 50, "decode_error" },
	{ 51, "decrypt_error" }, { 70, "protocol_version" },
	{ 71, "insufficient_security" }, { 80, "internal_error" },
	{ 86, "inappropriate_fallback" }, { 90, "user_canceled" },
	{ 100, "no_renegotiation" }, { 109, "missing_extension" },
	{ 110, "unsupported_extension" }, { 112, "unrecognized_name" },
	{ 113, "bad_certificate_status_response" },
	{ 115, "unknown_psk_identity" }, { 116, "certificate_required" },
	{ 120, "no_application_protocol" },
};

TEST(names_are_the_rfc_names)
{
	size_t i;

	for (i = 0; i < sizeof(rfc_names) / sizeof(rfc_names[0]); i++) {
		const char *got = ktls_alert_name(rfc_names[i].desc);

		ASSERT_NE(NULL, got) TH_LOG("no name for %d", rfc_names[i].desc);
		EXPECT_STREQ(rfc_names[i].name, got);
	}
}

/* Nothing else has a name: gaps, TLS 1.3's reserved numbers, out of range. */
TEST(other_numbers_have_no_name)
{
	int n, i, named;

	for (n = -1; n <= 256; n++) {
		named = 0;
		for (i = 0; i < (int)(sizeof(rfc_names) / sizeof(rfc_names[0])); i++)
			named |= rfc_names[i].desc == n;
		if (!named)
			EXPECT_EQ(NULL, ktls_alert_name(n)) TH_LOG("%d is named %s", n,
								ktls_alert_name(n));
	}
	EXPECT_EQ(NULL, ktls_alert_name(INT_MIN));
	EXPECT_EQ(NULL, ktls_alert_name(INT_MAX));
}

TEST_HARNESS_MAIN
