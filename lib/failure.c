// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * How a handshake fails: the alert that tells the peer why (as TLS wants,
 * unless the connection itself is gone), and the sentence in the
 * session's error that tells the operator what to do about it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

int session_fail(struct ktls_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->state = S_FAILED;
	return err;
}

/* Why the peer's certificate failed, whichever check ran. */
static unsigned verify_status(struct ktls_session *s)
{
	if (s->cfg && (s->cfg->verify & KTLS_VERIFY_REQUEST_CLIENT))
		return s->verify_status;
	return gnutls_session_get_verify_cert_status(s->gs);
}

/* The most specific alert for a certificate that did not verify. */
static int verify_alert(unsigned status)
{
	if (status & GNUTLS_CERT_REVOKED)
		return KTLS_ALERT_CERTIFICATE_REVOKED;
	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
		return KTLS_ALERT_CERTIFICATE_EXPIRED;
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
		return KTLS_ALERT_UNKNOWN_CA;
	return KTLS_ALERT_BAD_CERTIFICATE;
}

void session_send_alert(struct ktls_session *s, int level, int desc)
{
	if (gnutls_alert_send(s->gs, level, desc) >= 0 &&
	    level == KTLS_ALERT_LEVEL_FATAL) {
		s->alert_from = ALERT_SENT;
		s->alert = desc;
	}
}

/*
 * Tell the peer why, as TLS wants, unless the connection itself is gone
 * or the peer is the one who gave up.
 */
static void send_failure_alert(struct ktls_session *s, int gerr)
{
	int level, desc;

	switch (gerr) {
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		return;
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_CERTIFICATE_ERROR:
		session_send_alert(s, KTLS_ALERT_LEVEL_FATAL,
				   verify_alert(verify_status(s)));
		return;
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		session_send_alert(s, KTLS_ALERT_LEVEL_FATAL,
				   gnutls_protocol_get_version(s->gs) == GNUTLS_TLS1_3 ?
				   KTLS_ALERT_CERTIFICATE_REQUIRED :
				   KTLS_ALERT_HANDSHAKE_FAILURE);
		return;
	}
	/* What gnutls_alert_send_appropriate() sends for a fatal error. */
	desc = gnutls_error_to_alert(gerr, &level);
	session_send_alert(s, level, desc);
}

int session_handshake_error(struct ktls_session *s, int gerr)
{
	gnutls_datum_t out = { NULL, 0 };
	char name[INET6_ADDRSTRLEN + 80] = "";
	const char *alert;
	unsigned status;

	send_failure_alert(s, gerr);

	switch (gerr) {
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		s->alert_from = ALERT_RECEIVED;
		s->alert = gnutls_alert_get(s->gs);
		alert = ktls_alert_name(s->alert);
		return session_fail(s, -KTLS_E_ALERT, "The peer aborted the "
				    "handshake with the alert '%s' (%d).",
				    alert ? alert : "unknown", s->alert);
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_CERTIFICATE_ERROR:
		status = verify_status(s);
		if (gnutls_certificate_verification_status_print(status,
				GNUTLS_CRT_X509, &out, 0) < 0)
			out.data = NULL;
		if (s->peer_name[0])
			snprintf(name, sizeof(name), " No server name was "
				 "given: the name checked was the peer's "
				 "address, %s.", s->peer_name);
		session_fail(s, -KTLS_E_VERIFY, "The peer's certificate did not verify: "
			     "%s%s Check the trust store (CA file), the name asked "
			     "for and the certificate's validity.",
			     out.data ? (char *)out.data : "unknown reason.", name);
		gnutls_free(out.data);
		return -KTLS_E_VERIFY;
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		if (s->timed_out)
			return session_fail(s, -ETIMEDOUT, "The handshake did not finish "
					    "within %u ms.", s->cfg->timeout_ms);
		return session_fail(s, -(s->io_errno ? s->io_errno : EIO),
				    "The connection failed during the handshake: %s.",
				    strerror(s->io_errno ? s->io_errno : EIO));
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
		return session_fail(s, -ECONNRESET, "The peer closed the connection "
				    "during the handshake.");
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		return session_fail(s, -KTLS_E_VERIFY, "The peer sent no certificate, "
				    "and one is required.");
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
		return session_fail(s, -KTLS_E_HANDSHAKE, "No common TLS "
				    "parameters with the peer: check the versions, "
				    "ciphers and credentials on both sides. (%s)",
				    gnutls_strerror(gerr));
	}
	return session_fail(s, -KTLS_E_HANDSHAKE, "The TLS handshake failed: %s",
			    gnutls_strerror(gerr));
}
