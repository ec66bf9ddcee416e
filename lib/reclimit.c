// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The peer's record size limit (RFC 8449), kept by the kernel.
 *
 * A peer that cannot take 16 KiB records says so with record_size_limit
 * (or, the older way, max_fragment_length), and we must never send it a
 * larger record. GnuTLS keeps to it for the records it writes, but after
 * the switch the kernel writes ours, and GnuTLS before 3.8.11 has no call
 * that tells the peer's limit (gnutls_record_get_max_size() is our own
 * receive limit). So a handshake hook reads the extensions of the peer's
 * hello (ClientHello; ServerHello, and EncryptedExtensions in TLS 1.3),
 * and install.c hands the limit to the kernel (TLS_TX_MAX_PAYLOAD_LEN,
 * Linux 6.19+).
 */
#include <errno.h>
#include <string.h>

#include "session.h"

#define EXT_MAX_FRAGMENT_LENGTH	1
#define EXT_RECORD_SIZE_LIMIT	28
#define FULL_RECORD		16384	/* TLS's own limit on plaintext */

static int take_ext(void *arg, unsigned id, const unsigned char *data,
		    unsigned len)
{
	struct reclimit *rl = arg;

	if (id == EXT_RECORD_SIZE_LIMIT && len == 2)
		rl->rsl = (data[0] << 8) | data[1];
	else if (id == EXT_MAX_FRAGMENT_LENGTH && len == 1 &&
		 data[0] >= 1 && data[0] <= 4)
		rl->mfl = 256u << data[0];	/* 2^9 .. 2^12 */
	return 0;
}

/* Skip a ServerHello's fixed fields: the offset of its extensions. */
static size_t server_hello_exts(const uint8_t *msg, size_t len)
{
	size_t off = 2 + 32;	/* legacy_version, random */

	if (len < off + 1)
		return len;
	off += 1 + msg[off];	/* session id */
	off += 2 + 1;		/* cipher suite, compression method */
	return off < len ? off : len;
}

int reclimit_parse(struct reclimit *rl, unsigned htype, const uint8_t *msg,
		   size_t len)
{
	gnutls_datum_t d = { (unsigned char *)msg, (unsigned)len };
	unsigned flags = 0;
	size_t off;

	switch (htype) {
	case GNUTLS_HANDSHAKE_CLIENT_HELLO:
		flags = GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO;
		memset(rl, 0, sizeof(*rl));	/* a second one replaces it */
		break;
	case GNUTLS_HANDSHAKE_SERVER_HELLO:
		memset(rl, 0, sizeof(*rl));
		off = server_hello_exts(msg, len);
		d.data += off;
		d.size -= off;
		if (!d.size)
			return 0;	/* no extensions at all */
		break;
	case GNUTLS_HANDSHAKE_ENCRYPTED_EXTENSIONS:
		break;
	default:
		return 0;
	}
	return gnutls_ext_raw_parse(rl, take_ext, &d, flags) < 0 ? -EPROTO : 0;
}

unsigned reclimit_payload(const struct reclimit *rl, int version)
{
	unsigned max = FULL_RECORD, type = version == KTLS_TLS13;

	/*
	 * TLS 1.3 counts the inner content type in the limit: one byte less
	 * of data. record_size_limit wins over max_fragment_length (RFC
	 * 8449, section 5); the latter is read the same way, to be safe.
	 */
	if (rl->rsl >= 64)
		max = rl->rsl - type;
	else if (rl->mfl)
		max = rl->mfl - type;
	return max < FULL_RECORD ? max : 0;
}

/* gnutls_handshake_hook_func: every handshake message the peer sent. */
int reclimit_hook(gnutls_session_t gs, unsigned htype, unsigned when,
		  unsigned incoming, const gnutls_datum_t *msg)
{
	struct ktls_session *s = gnutls_session_get_ptr(gs);

	(void)when;
	if (incoming && s && msg)
		reclimit_parse(&s->rl, htype, msg->data, msg->size);
	return 0;
}
