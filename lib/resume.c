// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session resumption for clients: the data GnuTLS packs for resuming, in
 * and out, and the TLS 1.3 tickets that reach us after the switch.
 *
 * A TLS 1.3 server sends its NewSessionTickets after the handshake, so
 * they arrive through the kernel, decrypted, in ktls_recv(). GnuTLS has
 * a public way to take a handshake message it did not read itself: the
 * QUIC interface, gnutls_handshake_write() (GnuTLS 3.7.0), which after
 * the handshake hands the message to the same code that processes
 * post-handshake messages read from records. It needs a handshake "read"
 * function (GnuTLS's output for QUIC) set on the session; ours is set only
 * after the switch, when GnuTLS has nothing left to send, and refuses.
 * No record keys are involved, so this works after any number of
 * KeyUpdates, and nothing has to be encrypted again for GnuTLS's record
 * layer to read.
 *
 * A session ktlsd made has no GnuTLS session: its ticket goes back to
 * ktlsd when ktlsd asked for it (adopt.c), which keeps the GnuTLS
 * session for a while and resumes its next handshakes to the server.
 *
 * Servers need nothing here: GnuTLS sends TLS 1.3 tickets at the end of
 * gnutls_handshake(), before the keys go to the kernel, and TLS 1.2
 * tickets travel inside the handshake either way.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

/* GnuTLS's output after the switch would go nowhere: refuse it. */
static int no_handshake_output(gnutls_session_t gs,
			       gnutls_record_encryption_level_t level,
			       gnutls_handshake_description_t type,
			       const void *data, size_t len)
{
	(void)gs;
	(void)level;
	(void)type;
	(void)data;
	(void)len;
	return GNUTLS_E_INVALID_REQUEST;
}

int session_gnutls_ticket(gnutls_session_t gs, const uint8_t *msg,
			  size_t len)
{
	int ret;

	gnutls_handshake_set_read_function(gs, no_handshake_output);
	ret = gnutls_handshake_write(gs, GNUTLS_ENCRYPTION_LEVEL_APPLICATION,
				     msg, len);
	if (ret == GNUTLS_E_MEMORY_ERROR)
		return -ENOMEM;
	return ret < 0 ? -EPROTO : 0;
}

int session_take_ticket(struct ktls_session *s, const uint8_t *msg,
			size_t len)
{
	gnutls_session_t gs = session_gnutls(s);

	if (!session_wants_tickets(s))
		return 0;
	if (!gs) {
		session_ticket_back(s, msg, len);
		return 0;
	}
	return session_gnutls_ticket(gs, msg, len);
}

int session_gnutls_data(gnutls_session_t gs, gnutls_datum_t *d)
{
	int ret;

	/*
	 * Without a ticket in hand, GnuTLS would wait for one by reading the
	 * socket, and return data that cannot resume.
	 */
	if (gnutls_protocol_get_version(gs) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(gs) & GNUTLS_SFLAGS_SESSION_TICKET))
		return -EAGAIN;
	d->data = NULL;
	d->size = 0;
	ret = gnutls_session_get_data2(gs, d);
	if (ret < 0)
		return ret == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
	return 0;
}

KTLS_EXPORT int ktls_session_set_resumption(struct ktls_session *s,
					    const void *data, size_t len)
{
	int ret;

	if (!data != !len || len > UINT_MAX)
		return -EINVAL;
	ret = session_keep_tickets(s);
	if (ret || !data)
		return ret;
	ret = gnutls_session_set_data(session_gnutls(s), data, len);
	if (ret == GNUTLS_E_MEMORY_ERROR)
		return -ENOMEM;
	return ret < 0 ? -EINVAL : 0;
}

KTLS_EXPORT int ktls_session_get_resumption(const struct ktls_session *s,
					    void *buf, size_t *len)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_session_t gs;
	int ret;

	if (!s || !len || session_fd(s) < 0 || session_role(s) != KTLS_CLIENT)
		return -EINVAL;
	gs = session_gnutls(s);
	if (!gs)
		return -EOPNOTSUPP;
	if (!session_wants_tickets(s))
		return -EINVAL;
	ret = session_gnutls_data(gs, &d);
	if (ret)
		return ret;
	if (!buf || *len < d.size) {
		ret = -ENOSPC;
	} else {
		memcpy(buf, d.data, d.size);
		ret = 0;
	}
	*len = d.size;
	/* It holds the resumption secret. */
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	return ret;
}
