// SPDX-License-Identifier: LGPL-2.1-or-later
/* The handoff protocol: encoding and size-checked decoding, no I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

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
		if (r->early_len)
			field(b, WT_EARLY_DATA, r->early, r->early_len, max);
		if (r->secret_len) {
			field(b, WT_SECRET_TX, r->secret_tx, r->secret_len, max);
			field(b, WT_SECRET_RX, r->secret_rx, r->secret_len, max);
		}
	}
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

static int take_str(struct wire_str *s, const uint8_t *v, size_t len,
		    size_t limit)
{
	if (!len || len > limit || memchr(v, 0, len))
		return -EBADMSG;
	s->p = (const char *)v;
	s->len = len;
	return 0;
}

static int take_fixed(void *out, const uint8_t *v, size_t len, size_t want)
{
	uint64_t x = 0;
	size_t i;

	if (len != want)
		return -EBADMSG;
	for (i = 0; i < len; i++)
		x = x << 8 | v[i];
	switch (want) {
	case 1: *(uint8_t *)out = x; break;
	case 2: *(uint16_t *)out = x; break;
	case 4: *(uint32_t *)out = x; break;
	case 8: *(uint64_t *)out = x; break;
	}
	return 0;
}

/* Tags seen so far, to refuse duplicates (all mandatory tags are < 64). */
static int once(uint64_t *seen, int tag)
{
	if (tag >= 64)
		return 0;
	if (*seen & (1ull << tag))
		return -EBADMSG;
	*seen |= 1ull << tag;
	return 0;
}

static const char *tag_name(int tag)
{
	static const char *const names[] = {
		[WT_REQUEST_ID] = "request id", [WT_PROFILE] = "profile",
		[WT_SERVER_NAME] = "server name", [WT_ALPN] = "ALPN",
		[WT_TIMEOUT_MS] = "timeout", [WT_STATUS] = "status",
		[WT_MESSAGE] = "message", [WT_VERSION] = "version",
		[WT_CIPHER] = "cipher", [WT_GROUP] = "group",
		[WT_SIGALG] = "signature algorithm", [WT_SNI] = "SNI",
		[WT_PEER_SUBJECT] = "peer subject",
		[WT_PEER_SHA256] = "peer fingerprint", [WT_RESUMED] = "resumed",
		[WT_OFFLOAD] = "offload", [WT_EARLY_DATA] = "early data",
		[WT_SECRET_TX] = "send secret", [WT_SECRET_RX] = "receive secret",
		[WT_REKEY] = "rekey", [WT_ROLE] = "role",
	};

	if (tag > 0 && (size_t)tag < sizeof(names) / sizeof(names[0]) &&
	    names[tag])
		return names[tag];
	return "unknown field";
}

int wire_decode_req(const uint8_t *body, size_t len, struct wire_req *r,
		    const char **why)
{
	const uint8_t *p = body, *end = body + len, *v;
	uint64_t seen = 0;
	size_t n;
	int tag, ret = 0;

	memset(r, 0, sizeof(*r));
	while ((tag = next_field(&p, end, &v, &n)) > 0) {
		ret = once(&seen, tag);
		if (ret)
			break;
		switch (tag) {
		case WT_REQUEST_ID:
			ret = take_fixed(&r->id, v, n, 8);
			break;
		case WT_PROFILE:
			ret = take_str(&r->profile, v, n, WIRE_NAME_MAX);
			break;
		case WT_SERVER_NAME:
			ret = take_str(&r->server_name, v, n, WIRE_NAME_MAX);
			break;
		case WT_ALPN:
			ret = take_str(&r->alpn, v, n, WIRE_NAME_MAX);
			break;
		case WT_TIMEOUT_MS:
			ret = take_fixed(&r->timeout_ms, v, n, 4);
			break;
		default:
			if (!(tag & WT_TAG_OPTIONAL))
				ret = -EBADMSG;
		}
		if (ret)
			break;
	}
	if (tag < 0) {
		if (why)
			*why = "truncated field";
		return tag;
	}
	if (ret) {
		if (why)
			*why = tag_name(tag);
		return ret;
	}
	if (!(seen & (1ull << WT_REQUEST_ID)) || !r->profile.len) {
		if (why)
			*why = !r->profile.len ? "profile (missing)" :
						 "request id (missing)";
		return -EBADMSG;
	}
	return 0;
}

static int take_bytes(const uint8_t **out, size_t *out_len, const uint8_t *v,
		      size_t n, size_t min, size_t max)
{
	if (n < min || n > max)
		return -EBADMSG;
	*out = v;
	*out_len = n;
	return 0;
}

int wire_decode_reply(const uint8_t *body, size_t len, struct wire_reply *r,
		      const char **why)
{
	const uint8_t *p = body, *end = body + len, *v, *off = NULL;
	uint64_t seen = 0;
	size_t n, tx_len = 0, rx_len = 0, off_len;
	uint32_t status = 0;
	int tag, ret = 0;

	memset(r, 0, sizeof(*r));
	while ((tag = next_field(&p, end, &v, &n)) > 0) {
		ret = once(&seen, tag);
		if (ret)
			break;
		switch (tag) {
		case WT_REQUEST_ID:
			ret = take_fixed(&r->id, v, n, 8);
			break;
		case WT_STATUS:
			ret = take_fixed(&status, v, n, 4);
			r->status = (int32_t)status;
			if (!ret && r->status > 0)
				ret = -EBADMSG;
			break;
		case WT_MESSAGE:
			ret = take_str(&r->message, v, n, WIRE_MSG_MAX);
			break;
		case WT_VERSION:
			ret = take_fixed(&r->version, v, n, 2);
			break;
		case WT_CIPHER:
			ret = take_fixed(&r->cipher, v, n, 4);
			break;
		case WT_GROUP:
			ret = take_str(&r->group, v, n, WIRE_NAME_MAX);
			break;
		case WT_SIGALG:
			ret = take_str(&r->sigalg, v, n, WIRE_NAME_MAX);
			break;
		case WT_ALPN:
			ret = take_str(&r->alpn, v, n, WIRE_NAME_MAX);
			break;
		case WT_SNI:
			ret = take_str(&r->sni, v, n, WIRE_NAME_MAX);
			break;
		case WT_PEER_SUBJECT:
			ret = take_str(&r->peer_subject, v, n, WIRE_MSG_MAX);
			break;
		case WT_PEER_SHA256:
			ret = take_bytes(&r->peer_sha256, &off_len, v, n, 32, 32);
			break;
		case WT_RESUMED:
			ret = take_fixed(&r->resumed, v, n, 1);
			break;
		case WT_OFFLOAD:
			ret = take_bytes(&off, &off_len, v, n, 2, 2);
			break;
		case WT_REKEY:
			ret = take_fixed(&r->rekey, v, n, 1);
			break;
		case WT_ROLE:
			ret = take_fixed(&r->role, v, n, 1);
			if (!ret && r->role > 1)
				ret = -EBADMSG;
			break;
		case WT_EARLY_DATA:
			ret = take_bytes(&r->early, &r->early_len, v, n, 1,
					 WIRE_REPLY_MAX);
			break;
		case WT_SECRET_TX:
			ret = take_bytes(&r->secret_tx, &tx_len, v, n, 32, 48);
			break;
		case WT_SECRET_RX:
			ret = take_bytes(&r->secret_rx, &rx_len, v, n, 32, 48);
			break;
		default:
			if (!(tag & WT_TAG_OPTIONAL))
				ret = -EBADMSG;
		}
		if (ret)
			break;
	}
	if (tag < 0 || ret) {
		if (why)
			*why = tag < 0 ? "truncated field" : tag_name(tag);
		return tag < 0 ? tag : ret;
	}
	if (off) {
		r->offload_tx = off[0];
		r->offload_rx = off[1];
	}
	if (!(seen & (1ull << WT_STATUS)) || !(seen & (1ull << WT_REQUEST_ID)) ||
	    tx_len != rx_len) {
		if (why)
			*why = tx_len != rx_len ? "secrets of unequal length" :
			       "status or request id (missing)";
		return -EBADMSG;
	}
	r->secret_len = tx_len;
	return 0;
}
