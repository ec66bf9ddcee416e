/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handoff protocol between applications and ktlsd (docs/handoff.md):
 * encoding and size-checked decoding, no I/O. Shared by libktls's client
 * side and the daemon; not exported from the shared library.
 */
#ifndef KTLS_WIRE_H
#define KTLS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC		"KTLS"
#define WIRE_VERSION		1
#define WIRE_HDR_LEN		12
#define WIRE_REQUEST		1
#define WIRE_REPLY		2
#define WIRE_SUBSCRIBE		3	/* accept mode: a request's body */
#define WIRE_TICKET		4	/* a TLS 1.3 ticket back to ktlsd */
#define WIRE_REQ_MAX		4096	/* a request's body, at most */
#define WIRE_REPLY_MAX		(128 * 1024)

/* Field tags. Below WIRE_TAG_OPTIONAL a receiver must know the tag. */
enum {
	WT_REQUEST_ID = 1,	/* u64, both ways */
	WT_PROFILE = 2,		/* request: string */
	WT_SERVER_NAME = 3,	/* request: string, client profiles */
	WT_ALPN = 4,		/* request: "h2,http/1.1"; reply: chosen one */
	WT_TIMEOUT_MS = 5,	/* request: u32, may only shorten */

	WT_STATUS = 16,		/* reply: s32, 0 or a negative error */
	WT_MESSAGE = 17,	/* reply: string */
	WT_VERSION = 18,	/* u16: 0x0303 / 0x0304 */
	WT_CIPHER = 19,		/* u32: one KTLS_CIPHER_* bit */
	WT_GROUP = 20,
	WT_SIGALG = 21,
	WT_SNI = 22,
	WT_PEER_SUBJECT = 23,
	WT_PEER_SHA256 = 24,	/* 32 bytes */
	WT_RESUMED = 25,	/* u8 */
	WT_OFFLOAD = 26,	/* u8 tx, u8 rx: enum ktls_offload */
	WT_EARLY_DATA = 27,	/* bytes */
	WT_SECRET_TX = 28,	/* TLS 1.3 traffic secrets, 32 or 48 bytes */
	WT_SECRET_RX = 29,
	WT_REKEY = 30,		/* u8: the kernel takes new keys */
	WT_ROLE = 31,		/* u8: 0 client, 1 server (enum ktls_role) */
	WT_TICKET = 32,		/* ticket message: a NewSessionTicket */

	WT_TAG_OPTIONAL = 0x8000,
	WT_OPTIONS = 0x8001,	/* reply: u8, KTLS_OPT_* the kernel took */
	WT_TICKET_TOKEN = 0x8002, /* reply: u64, ktlsd takes the ticket */
};

#define WIRE_NAME_MAX	255	/* strings other than the message */
#define WIRE_MSG_MAX	1024

/* Decoded fields point into the message buffer; len 0 means absent. */
struct wire_str {
	const char *p;
	size_t len;
};

struct wire_req {
	uint64_t id;
	struct wire_str profile, server_name, alpn;
	uint32_t timeout_ms;
};

struct wire_reply {
	uint64_t id;
	int32_t status;
	struct wire_str message;
	uint16_t version;
	uint32_t cipher;
	struct wire_str group, sigalg, alpn, sni, peer_subject;
	const uint8_t *peer_sha256;	/* 32 bytes, or NULL */
	uint8_t resumed, offload_tx, offload_rx, rekey, role, options;
	uint64_t ticket_token;		/* nonzero: send the ticket back */
	const uint8_t *early;
	size_t early_len;
	const uint8_t *secret_tx, *secret_rx;
	size_t secret_len;
	/* Decoding only: the raw offload field, the receive secret's length. */
	uint16_t offload;
	size_t secret_rx_len;
};

/*
 * The longest TLS 1.3 traffic secret (SHA-384's): what a reply may carry,
 * and what a session keeps for KeyUpdate.
 */
#define KTLS_SECRET_MAX 48

/* A growable output buffer; wipe_free() zeroes it before freeing. */
struct wire_buf {
	uint8_t *p;
	size_t len, cap;
	int err;		/* sticky: -ENOMEM or -EMSGSIZE */
};

void wire_buf_wipe_free(struct wire_buf *b);

/*
 * Encode a whole message (header included) into b, which is emptied first.
 * 0, -ENOMEM, -EMSGSIZE (a field or the body past its limit) or -EINVAL.
 */
int wire_encode_req(struct wire_buf *b, const struct wire_req *r);
int wire_encode_reply(struct wire_buf *b, const struct wire_reply *r);
/*
 * A subscription (accept mode): type WIRE_SUBSCRIBE, the body a request's
 * with its id and profile only; wire_decode_req() decodes it.
 */
int wire_encode_subscribe(struct wire_buf *b, uint64_t id,
			  struct wire_str profile);

/*
 * A ticket message (type WIRE_TICKET): the token of a reply and one whole
 * TLS 1.3 NewSessionTicket handshake message (its 4-byte header included),
 * at most WIRE_TICKET_MAX bytes.
 */
#define WIRE_TICKET_MAX	4000	/* with the fields, within WIRE_REQ_MAX */
struct wire_ticket {
	uint64_t token;
	const uint8_t *msg;
	size_t len;
};

int wire_encode_ticket(struct wire_buf *b, const struct wire_ticket *t);

/*
 * Check a 12-byte header: returns the body length that follows, or
 * -EPROTO (bad magic), -EPROTONOSUPPORT (another version), -EBADMSG (not
 * of type want), -EMSGSIZE (body over max).
 */
long wire_check_header(const uint8_t *hdr, int want, size_t max);

/*
 * Decode a body (what follows the header). Every field is size-checked;
 * duplicates, unknown mandatory tags, strings with NUL bytes or over
 * their limit and truncated fields give -EBADMSG, a missing request id or
 * profile (request) or status (reply) -EBADMSG. 0 on success. why, if not
 * NULL, names the offending field for error messages.
 */
int wire_decode_req(const uint8_t *body, size_t len, struct wire_req *r,
		    const char **why);
int wire_decode_reply(const uint8_t *body, size_t len, struct wire_reply *r,
		      const char **why);
/* A ticket message's body: both fields required, the message 5 bytes up. */
int wire_decode_ticket(const uint8_t *body, size_t len, struct wire_ticket *t,
		       const char **why);

#endif
