// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * TLS alerts in the public API: the KTLS_ALERT_* numbers and their names,
 * and ktls_session_alert() after handshakes that a raw peer (plain bytes
 * on a loopback TCP pair) ends with an alert, or that make us send one.
 * The alerts of X.509 failures, libktls at both ends, are in x509.c.
 */
#include <limits.h>

#include <gnutls/gnutls.h>
#include <ktls.h>

#include "kselftest_harness.h"
#include "testutil.h"

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

/* ---- ktls_session_alert() against a raw peer ---- */

FIXTURE(raw)
{
	int fds[2];			/* [0] our client, [1] the raw server */
	struct ktls_config *cfg;
	struct ktls_session *s;
};

FIXTURE_SETUP(raw)
{
	self->fds[0] = self->fds[1] = -1;
	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(0, ktls_config_new(&self->cfg, KTLS_CLIENT));
	/* No certificate ever comes: nothing to verify it with. */
	ASSERT_EQ(0, ktls_config_set_verify(self->cfg, KTLS_VERIFY_NONE));
	ASSERT_EQ(0, ktls_config_set_timeout(self->cfg, 5000));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fds[0]));
}

FIXTURE_TEARDOWN(raw)
{
	ktls_session_free(self->s);
	ktls_config_free(self->cfg);
	if (self->fds[0] >= 0)
		close(self->fds[0]);
	if (self->fds[1] >= 0)
		close(self->fds[1]);
}

/* s reports no alert, and leaves *sent alone. */
#define ASSERT_NO_ALERT(s) do {						\
	int __sent = 7;							\
	ASSERT_EQ(-ENOENT, ktls_session_alert(s, &__sent));		\
	ASSERT_EQ(7, __sent) TH_LOG("*sent written without an alert");	\
} while (0)

TEST_F(raw, no_alert_before_the_handshake)
{
	int sent = 7;

	ASSERT_NO_ALERT(self->s);
	ASSERT_EQ(-EINVAL, ktls_session_alert(NULL, &sent));
	ASSERT_EQ(7, sent);
}

/* A server that answers the ClientHello with a fatal protocol_version. */
TEST_F(raw, alert_received)
{
	static const unsigned char alert[] = { 21, 3, 3, 0, 2, 2, 70 };
	int sent = 7;

	ASSERT_EQ((ssize_t)sizeof(alert), write_full(self->fds[1], alert, sizeof(alert)));
	ASSERT_FAILED(-KTLS_E_ALERT, ktls_session_handshake(self->s), self->s,
		      "with the alert 'protocol_version' (70)");
	ASSERT_EQ(70, ktls_session_alert(self->s, &sent));
	ASSERT_EQ(0, sent) TH_LOG("the peer's alert was reported as ours");
	/* sent may be NULL; the answer stays after the session has failed. */
	ASSERT_EQ(-EINVAL, ktls_session_handshake(self->s));
	ASSERT_EQ(70, ktls_session_alert(self->s, NULL));
}

/* Not a name in the table: the sentence still gives the number. */
TEST_F(raw, alert_received_without_a_name)
{
	static const unsigned char alert[] = { 21, 3, 3, 0, 2, 2, 201 };

	ASSERT_EQ((ssize_t)sizeof(alert), write_full(self->fds[1], alert, sizeof(alert)));
	ASSERT_FAILED(-KTLS_E_ALERT, ktls_session_handshake(self->s), self->s,
		      "with the alert 'unknown' (201)");
	ASSERT_EQ(201, ktls_session_alert(self->s, NULL));
}

/*
 * Read records off the raw end until the stream ends; the description of
 * the first alert record, or -1. *level gets its level.
 */
static int first_alert_on_wire(int fd, int *level)
{
	unsigned char hdr[5], body[1 << 14];
	size_t len;

	for (;;) {
		if (read_full(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
			return -1;
		len = (size_t)hdr[3] << 8 | hdr[4];
		if (len > sizeof(body) || read_full(fd, body, len) != (ssize_t)len)
			return -1;
		if (hdr[0] == 21 && len == 2) {
			*level = body[0];
			return body[1];
		}
	}
}

/*
 * A "ServerHello" whose body is cut short: our end gives up and says so
 * with an alert; the accessor names the one that went out on the wire.
 */
TEST_F(raw, alert_sent_is_the_one_on_the_wire)
{
	static const unsigned char bad_hello[] = { 22, 3, 3, 0, 4, 2, 0, 0, 0 };
	int sent = 7, desc, level = -1, ret;

	ASSERT_EQ((ssize_t)sizeof(bad_hello),
		  write_full(self->fds[1], bad_hello, sizeof(bad_hello)));
	ret = ktls_session_handshake(self->s);
	ASSERT_GT(0, ret);
	ASSERT_NE(-KTLS_E_ALERT, ret) TH_LOG("%s", ktls_session_error(self->s));
	shutdown(self->fds[0], SHUT_WR);
	desc = first_alert_on_wire(self->fds[1], &level);
	ASSERT_LE(0, desc) TH_LOG("no alert reached the peer");
	ASSERT_EQ(2, level);
	ASSERT_EQ(desc, ktls_session_alert(self->s, &sent));
	ASSERT_EQ(1, sent) TH_LOG("our alert was reported as the peer's");
}

/* The peer went away: no alert either way. */
TEST_F(raw, no_alert_when_the_peer_closes)
{
	ASSERT_EQ(0, shutdown(self->fds[1], SHUT_WR));
	ASSERT_FAILED(-ECONNRESET, ktls_session_handshake(self->s), self->s,
		      "closed the connection");
	ASSERT_NO_ALERT(self->s);
}

/* A bad configuration fails before a byte is sent. */
TEST_F(raw, no_alert_after_a_configuration_error)
{
	struct ktls_config *bare;
	struct ktls_session *s;

	ASSERT_EQ(0, ktls_config_new(&bare, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_session_new(&s, bare, self->fds[0]));
	EXPECT_EQ(-KTLS_E_CONFIG, ktls_session_handshake(s));
	EXPECT_EQ(-ENOENT, ktls_session_alert(s, NULL));
	ktls_session_free(s);
	ktls_config_free(bare);
}

TEST_HARNESS_MAIN
