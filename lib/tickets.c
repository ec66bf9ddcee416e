// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Servers with two ticket keys (ktls_config_set_ticket_keys()): the first
 * seals new tickets, the second still opens those sealed before a
 * rotation. GnuTLS takes one master key per session, and only once, so the
 * key is chosen when the ClientHello is in, before GnuTLS reads it: when
 * the client offers a ticket, a throwaway server session with the previous
 * key reads the same ClientHello, and if that one resumes, the real
 * session gets the previous key; otherwise it gets the current one. The
 * throwaway session stops right after the ClientHello (no ServerHello, no
 * signature), so a client without a ticket, or with one of the current
 * key, costs nothing, and one with an old ticket one ClientHello read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "session.h"

#define EXT_SESSION_TICKET	35
#define EXT_PRE_SHARED_KEY	41
#define REC_HANDSHAKE		22
#define HS_CLIENT_HELLO		1
#define REC_MAX			16384

static unsigned get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

/*
 * Whether a ClientHello body (from its version on) offers a ticket: a
 * non-empty session_ticket extension (TLS 1.2) or a pre_shared_key one
 * (TLS 1.3, where tickets are PSK identities). Malformed: no.
 */
static int offers_ticket(const uint8_t *p, size_t len)
{
	size_t off = 2 + 32, n, end;

	if (len < off + 1)
		return 0;
	off += 1 + p[off];				/* session_id */
	if (len < off + 2)
		return 0;
	off += 2 + get16(p + off);			/* cipher_suites */
	if (len < off + 1)
		return 0;
	off += 1 + p[off];				/* compression */
	if (len < off + 2)
		return 0;
	end = off + 2 + get16(p + off);
	if (end > len)
		return 0;
	for (off += 2; off + 4 <= end; off += 4 + n) {
		unsigned type = get16(p + off);

		n = get16(p + off + 2);
		if (off + 4 + n > end)
			return 0;
		if ((type == EXT_SESSION_TICKET && n) ||
		    type == EXT_PRE_SHARED_KEY)
			return 1;
	}
	return 0;
}

/* The throwaway session's input: one record holding the ClientHello. */
struct dry {
	uint8_t rec[5 + 4 + REC_MAX];
	size_t len, off;
	int resumed;
};

static ssize_t dry_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct dry *d = p;

	if (d->off == d->len) {
		errno = EAGAIN;
		return -1;
	}
	if (len > d->len - d->off)
		len = d->len - d->off;
	memcpy(buf, d->rec + d->off, len);
	d->off += len;
	return len;
}

static ssize_t dry_push(gnutls_transport_ptr_t p, const void *buf, size_t len)
{
	(void)p;
	(void)buf;
	return len;
}

/* After the ClientHello: whether it resumed, and stop there. */
static int dry_read(gnutls_session_t gs, unsigned htype, unsigned when,
		    unsigned incoming, const gnutls_datum_t *msg)
{
	struct dry *d = gnutls_session_get_ptr(gs);

	(void)htype;
	(void)when;
	(void)incoming;
	(void)msg;
	d->resumed = gnutls_session_is_resumed(gs);
	return GNUTLS_E_USER_ERROR;
}

/* Whether the ClientHello body hello resumes under key: 1 or 0. */
static int opens(const struct ktls_config *cfg, const gnutls_datum_t *key,
		 const gnutls_datum_t *hello)
{
	gnutls_session_t gs;
	struct dry *d;
	int ret = 0;

	if (hello->size > REC_MAX - 4)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return 0;
	d->rec[0] = REC_HANDSHAKE;
	d->rec[1] = 3;
	d->rec[2] = 1;
	d->rec[3] = (hello->size + 4) >> 8;
	d->rec[4] = (hello->size + 4) & 0xff;
	d->rec[5] = HS_CLIENT_HELLO;
	d->rec[6] = 0;
	d->rec[7] = hello->size >> 8;
	d->rec[8] = hello->size & 0xff;
	memcpy(d->rec + 9, hello->data, hello->size);
	d->len = 9 + hello->size;
	if (gnutls_init(&gs, GNUTLS_SERVER | GNUTLS_NO_SIGNAL |
			GNUTLS_NONBLOCK) < 0)
		goto out;
	if (gnutls_priority_set(gs, cfg->prio) >= 0 &&
	    gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, cfg->x509) >= 0 &&
	    (!cfg->psk_server ||
	     gnutls_credentials_set(gs, GNUTLS_CRD_PSK, cfg->psk_server) >= 0) &&
	    gnutls_session_ticket_enable_server(gs, key) >= 0) {
		gnutls_session_set_ptr(gs, d);
		gnutls_transport_set_ptr(gs, d);
		gnutls_transport_set_pull_function(gs, dry_pull);
		gnutls_transport_set_push_function(gs, dry_push);
		gnutls_handshake_set_hook_function(gs,
			GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
			dry_read);
		gnutls_handshake(gs);
		ret = d->resumed;
	}
	gnutls_deinit(gs);
out:
	gnutls_memset(d, 0, sizeof(*d));
	free(d);
	return ret;
}

/*
 * Before GnuTLS reads the (first) ClientHello (session.c's hook calls
 * this): give the session the key that opens the client's ticket. After a
 * HelloRetryRequest the choice stands.
 */
int tickets_hello(gnutls_session_t gs, const gnutls_datum_t *msg)
{
	struct ktls_session *s = gnutls_session_get_ptr(gs);
	const struct ktls_config *cfg;
	const gnutls_datum_t *key;

	if (!s || !s->ticket_pick)
		return 0;
	s->ticket_pick = 0;
	cfg = s->cfg;
	key = &cfg->ticket_key;
	if (offers_ticket(msg->data, msg->size) &&
	    opens(cfg, &cfg->ticket_prev, msg))
		key = &cfg->ticket_prev;
	return gnutls_session_ticket_enable_server(gs, key) < 0 ?
	       GNUTLS_E_INTERNAL_ERROR : 0;
}

int tickets_enable(struct ktls_session *s, gnutls_session_t gs)
{
	const struct ktls_config *cfg = s->cfg;

	if (!cfg->ticket_prev.data)
		return gnutls_session_ticket_enable_server(gs,
				&cfg->ticket_key) < 0 ? -ENOMEM : 0;
	s->ticket_pick = 1;	/* tickets_hello() chooses */
	return 0;
}

int tickets_offered(const uint8_t *hello, size_t len)
{
	return offers_ticket(hello, len);
}
