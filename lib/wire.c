// SPDX-License-Identifier: LGPL-2.1-or-later
/* The handoff protocol: encoding and size-checked decoding, no I/O. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include <ktls.h>

#include "wire.h"

#define FIELD_HDR 8	/* u16 tag, u16 zero, u32 length */

void wire_buf_wipe_free(struct wire_buf *b)
{
	if (b->p) {
		gnutls_memset(b->p, 0, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static uint8_t *reserve(struct wire_buf *b, size_t n, size_t max)
{
	uint8_t *p;
	size_t cap;

	if (b->err)
		return NULL;
	if (n > max || b->len > max - n) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		/* Not realloc: a moved buffer would leave secrets behind. */
		p = malloc(cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		if (b->p) {
			memcpy(p, b->p, b->len);
			gnutls_memset(b->p, 0, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	p = b->p + b->len;
	b->len += n;
	return p;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void field(struct wire_buf *b, uint16_t tag, const void *v, size_t len,
		  size_t max)
{
	uint8_t *p = reserve(b, FIELD_HDR + len, max);

	if (!p)
		return;
	put16(p, tag);
	put16(p + 2, 0);
	put32(p + 4, len);
	if (len)
		memcpy(p + FIELD_HDR, v, len);
}

static void field_u64(struct wire_buf *b, uint16_t tag, uint64_t v, size_t max)
{
	uint8_t x[8];

	put32(x, v >> 32);
	put32(x + 4, v);
	field(b, tag, x, 8, max);
}

static void field_u32(struct wire_buf *b, uint16_t tag, uint32_t v, size_t max)
{
	uint8_t x[4];

	put32(x, v);
	field(b, tag, x, 4, max);
}

static void field_str(struct wire_buf *b, uint16_t tag, struct wire_str s,
		      size_t limit, size_t max)
{
	if (!s.len)
		return;
	if (s.len > limit || memchr(s.p, 0, s.len)) {
		if (!b->err)
			b->err = s.len > limit ? -EMSGSIZE : -EINVAL;
		return;
	}
	field(b, tag, s.p, s.len, max);
}

static void begin(struct wire_buf *b, int type)
{
	uint8_t *p;

	b->len = 0;
	b->err = 0;
	p = reserve(b, WIRE_HDR_LEN, WIRE_HDR_LEN);
	if (!p)
		return;
	memcpy(p, WIRE_MAGIC, 4);
	p[4] = WIRE_VERSION;
	p[5] = type;
	put16(p + 6, 0);
}

static int end(struct wire_buf *b)
{
	if (b->err)
		return b->err;
	put32(b->p + 8, b->len - WIRE_HDR_LEN);
	return 0;
}

int wire_encode_req(struct wire_buf *b, const struct wire_req *r)
{
	const size_t max = WIRE_HDR_LEN + WIRE_REQ_MAX;

	if (!r->profile.len)
		return -EINVAL;
	begin(b, WIRE_REQUEST);
	field_u64(b, WT_REQUEST_ID, r->id, max);
	field_str(b, WT_PROFILE, r->profile, WIRE_NAME_MAX, max);
	field_str(b, WT_SERVER_NAME, r->server_name, WIRE_NAME_MAX, max);
	field_str(b, WT_ALPN, r->alpn, WIRE_NAME_MAX, max);
	if (r->timeout_ms)
		field_u32(b, WT_TIMEOUT_MS, r->timeout_ms, max);
	return end(b);
}

int wire_encode_subscribe(struct wire_buf *b, uint64_t id,
			  struct wire_str profile)
{
	const size_t max = WIRE_HDR_LEN + WIRE_REQ_MAX;

	if (!profile.len)
		return -EINVAL;
	begin(b, WIRE_SUBSCRIBE);
	field_u64(b, WT_REQUEST_ID, id, max);
	field_str(b, WT_PROFILE, profile, WIRE_NAME_MAX, max);
	return end(b);
}

int wire_encode_reply(struct wire_buf *b, const struct wire_reply *r)
{
	const size_t max = WIRE_HDR_LEN + WIRE_REPLY_MAX;
	uint8_t x[2];

	begin(b, WIRE_REPLY);
	field_u64(b, WT_REQUEST_ID, r->id, max);
	field_u32(b, WT_STATUS, (uint32_t)r->status, max);
	field_str(b, WT_MESSAGE, r->message, WIRE_MSG_MAX, max);
	if (r->status == 0) {
		put16(x, r->version);
		field(b, WT_VERSION, x, 2, max);
		field_u32(b, WT_CIPHER, r->cipher, max);
		field_str(b, WT_GROUP, r->group, WIRE_NAME_MAX, max);
		field_str(b, WT_SIGALG, r->sigalg, WIRE_NAME_MAX, max);
		field_str(b, WT_ALPN, r->alpn, WIRE_NAME_MAX, max);
		field_str(b, WT_SNI, r->sni, WIRE_NAME_MAX, max);
		field_str(b, WT_PEER_SUBJECT, r->peer_subject, WIRE_MSG_MAX, max);
		if (r->peer_sha256)
			field(b, WT_PEER_SHA256, r->peer_sha256, 32, max);
		field(b, WT_RESUMED, &r->resumed, 1, max);
		x[0] = r->offload_tx;
		x[1] = r->offload_rx;
		field(b, WT_OFFLOAD, x, 2, max);
		field(b, WT_REKEY, &r->rekey, 1, max);
		field(b, WT_ROLE, &r->role, 1, max);
		if (r->options)
			field(b, WT_OPTIONS, &r->options, 1, max);
		if (r->ticket_token)
			field_u64(b, WT_TICKET_TOKEN, r->ticket_token, max);
		if (r->early_len)
			field(b, WT_EARLY_DATA, r->early, r->early_len, max);
		if (r->secret_len) {
			field(b, WT_SECRET_TX, r->secret_tx, r->secret_len, max);
			field(b, WT_SECRET_RX, r->secret_rx, r->secret_len, max);
		}
	}
	return end(b);
}

int wire_encode_ticket(struct wire_buf *b, const struct wire_ticket *t)
{
	const size_t max = WIRE_HDR_LEN + WIRE_REQ_MAX;

	if (!t->token || t->len < 5 || t->len > WIRE_TICKET_MAX)
		return -EINVAL;
	begin(b, WIRE_TICKET);
	field_u64(b, WT_REQUEST_ID, t->token, max);
	field(b, WT_TICKET, t->msg, t->len, max);
	return end(b);
}

long wire_check_header(const uint8_t *hdr, int want, size_t max)
{
	uint32_t len;

	if (memcmp(hdr, WIRE_MAGIC, 4))
		return -EPROTO;
	if (hdr[4] != WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (hdr[5] != want || get16(hdr + 6))
		return -EBADMSG;
	len = get32(hdr + 8);
	if (len > max)
		return -EMSGSIZE;
	return len;
}

/* One field at a time; returns the tag, 0 at the end, -EBADMSG. */
static int next_field(const uint8_t **p, const uint8_t *end,
		      const uint8_t **val, size_t *len)
{
	uint32_t n;
	int tag;

	if (*p == end)
		return 0;
	if (end - *p < FIELD_HDR)
		return -EBADMSG;
	tag = get16(*p);
	n = get32(*p + 4);
	if (!tag || get16(*p + 2) || n > (size_t)(end - *p) - FIELD_HDR)
		return -EBADMSG;
	*val = *p + FIELD_HDR;
	*len = n;
	*p += FIELD_HDR + n;
	return tag;
}

/* How to take one field: into which member, of what kind and size. */
enum kind { K_INT, K_STR, K_BYTES };

struct spec {
	uint16_t tag;
	uint8_t kind;
	uint16_t off;		/* the member: an integer, wire_str or pointer */
	uint16_t len_off;	/* K_BYTES: its size_t length member, or 0 */
	uint32_t min, max;	/* K_INT: both the size in bytes */
	const char *name;
};

#define INT(t, type, m, n) \
	{ t, K_INT, offsetof(type, m), 0, sizeof(((type *)0)->m), \
	  sizeof(((type *)0)->m), n }
#define STR(t, type, m, max, n) \
	{ t, K_STR, offsetof(type, m), 0, 1, max, n }
#define BYTES(t, type, m, lm, min, max, n) \
	{ t, K_BYTES, offsetof(type, m), lm, min, max, n }

static const struct spec req_specs[] = {
	INT(WT_REQUEST_ID, struct wire_req, id, "request id"),
	STR(WT_PROFILE, struct wire_req, profile, WIRE_NAME_MAX, "profile"),
	STR(WT_SERVER_NAME, struct wire_req, server_name, WIRE_NAME_MAX,
	    "server name"),
	STR(WT_ALPN, struct wire_req, alpn, WIRE_NAME_MAX, "ALPN"),
	INT(WT_TIMEOUT_MS, struct wire_req, timeout_ms, "timeout"),
	{ 0 }
};

#define R struct wire_reply
static const struct spec reply_specs[] = {
	INT(WT_REQUEST_ID, R, id, "request id"),
	INT(WT_STATUS, R, status, "status"),
	STR(WT_MESSAGE, R, message, WIRE_MSG_MAX, "message"),
	INT(WT_VERSION, R, version, "version"),
	INT(WT_CIPHER, R, cipher, "cipher"),
	STR(WT_GROUP, R, group, WIRE_NAME_MAX, "group"),
	STR(WT_SIGALG, R, sigalg, WIRE_NAME_MAX, "signature algorithm"),
	STR(WT_ALPN, R, alpn, WIRE_NAME_MAX, "ALPN"),
	STR(WT_SNI, R, sni, WIRE_NAME_MAX, "SNI"),
	STR(WT_PEER_SUBJECT, R, peer_subject, WIRE_MSG_MAX, "peer subject"),
	BYTES(WT_PEER_SHA256, R, peer_sha256, 0, 32, 32, "peer fingerprint"),
	INT(WT_RESUMED, R, resumed, "resumed"),
	INT(WT_OFFLOAD, R, offload, "offload"),
	BYTES(WT_EARLY_DATA, R, early, offsetof(R, early_len), 1,
	      WIRE_REPLY_MAX, "early data"),
	BYTES(WT_SECRET_TX, R, secret_tx, offsetof(R, secret_len), 32,
	      KTLS_SECRET_MAX, "send secret"),
	BYTES(WT_SECRET_RX, R, secret_rx, offsetof(R, secret_rx_len), 32,
	      KTLS_SECRET_MAX, "receive secret"),
	INT(WT_REKEY, R, rekey, "rekey"),
	INT(WT_ROLE, R, role, "role"),
	INT(WT_OPTIONS, R, options, "kernel options"),
	INT(WT_TICKET_TOKEN, R, ticket_token, "ticket token"),
	{ 0 }
};
#undef R

static const struct spec ticket_specs[] = {
	INT(WT_REQUEST_ID, struct wire_ticket, token, "token"),
	BYTES(WT_TICKET, struct wire_ticket, msg,
	      offsetof(struct wire_ticket, len), 5, WIRE_TICKET_MAX, "ticket"),
	{ 0 }
};

/* A mandatory field, and the reason given when it is absent. */
struct must {
	uint16_t tag;
	const char *why;
};

static const struct must req_must[] = {
	{ WT_PROFILE, "profile (missing)" },
	{ WT_REQUEST_ID, "request id (missing)" },
	{ 0 }
};

static const struct must ticket_must[] = {
	{ WT_REQUEST_ID, "token (missing)" },
	{ WT_TICKET, "ticket (missing)" },
	{ 0 }
};

static const struct must reply_must[] = {
	{ WT_STATUS, "status or request id (missing)" },
	{ WT_REQUEST_ID, "status or request id (missing)" },
	{ 0 }
};

static int take(const struct spec *sp, void *out, const uint8_t *v, size_t n)
{
	char *m = (char *)out + sp->off;
	uint64_t x = 0;
	size_t i;

	if (n < sp->min || n > sp->max)
		return -EBADMSG;
	switch (sp->kind) {
	case K_INT:
		for (i = 0; i < n; i++)
			x = x << 8 | v[i];
		if (n == 1)
			*(uint8_t *)m = x;
		else if (n == 2)
			*(uint16_t *)m = x;
		else if (n == 4)
			*(uint32_t *)m = x;
		else
			*(uint64_t *)m = x;
		return 0;
	case K_STR:
		if (memchr(v, 0, n))
			return -EBADMSG;
		((struct wire_str *)m)->p = (const char *)v;
		((struct wire_str *)m)->len = n;
		return 0;
	default:
		*(const uint8_t **)m = v;
		if (sp->len_off)
			*(size_t *)((char *)out + sp->len_off) = n;
		return 0;
	}
}

/* -EBADMSG, with the reason in *why if the caller asked for one. */
static int bad_msg(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EBADMSG;
}

/*
 * Zero out (size bytes), then walk a body and take every field by its
 * spec, then check that every field in must came. A duplicate, a field
 * outside the body, an unknown mandatory tag, a bad value or a missing
 * field: -EBADMSG, and *why (if why) names it. (Bit i of seen is specs[i];
 * a table holds fewer than 64.)
 */
static int decode(const uint8_t *body, size_t len, const struct spec *specs,
		  const struct must *must, void *out, size_t size,
		  const char **why)
{
	const uint8_t *p = body, *end = body + len, *v;
	const struct spec *sp;
	uint64_t seen = 0;
	size_t n;
	int tag;

	memset(out, 0, size);
	while ((tag = next_field(&p, end, &v, &n)) > 0) {
		for (sp = specs; sp->tag && sp->tag != tag; sp++)
			;
		if (!sp->tag) {
			if (tag & WT_TAG_OPTIONAL)
				continue;
			return bad_msg(why, "unknown field");
		}
		if ((seen & (1ull << (sp - specs))) || take(sp, out, v, n))
			return bad_msg(why, sp->name);
		seen |= 1ull << (sp - specs);
	}
	if (tag < 0)
		return bad_msg(why, "truncated field");
	for (; must->tag; must++) {
		for (sp = specs; sp->tag != must->tag; sp++)
			;
		if (!(seen & (1ull << (sp - specs))))
			return bad_msg(why, must->why);
	}
	return 0;
}

int wire_decode_req(const uint8_t *body, size_t len, struct wire_req *r,
		    const char **why)
{
	return decode(body, len, req_specs, req_must, r, sizeof(*r), why);
}

int wire_decode_reply(const uint8_t *body, size_t len, struct wire_reply *r,
		      const char **why)
{
	int ret = decode(body, len, reply_specs, reply_must, r, sizeof(*r),
			 why);

	if (ret)
		return ret;
	if (r->status > 0)
		return bad_msg(why, "status");
	if (r->role > 1)
		return bad_msg(why, "role");
	if (r->secret_len != r->secret_rx_len)
		return bad_msg(why, "secrets of unequal length");
	/* Bits a later ktlsd may add mean nothing here. */
	r->options &= KTLS_OPT_ZEROCOPY_SENDFILE | KTLS_OPT_RX_NO_PAD;
	r->offload_tx = r->offload >> 8;
	r->offload_rx = r->offload & 0xff;
	return 0;
}

int wire_decode_ticket(const uint8_t *body, size_t len, struct wire_ticket *t,
		       const char **why)
{
	int ret = decode(body, len, ticket_specs, ticket_must, t, sizeof(*t),
			 why);

	if (ret)
		return ret;
	if (!t->token)
		return bad_msg(why, "token");
	return 0;
}
