// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The handoff request as ktlsd reads it off an application's socket
 * (daemon/ktlsd/handoff.c): a 12-byte header, then the body it announces.
 * A request that decodes must encode again to the same fields. A
 * subscription (type 3) has a request's body: the same decoder. A ticket
 * message (type 4) has its own, and must encode again to the same too.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static int same_str(struct wire_str a, struct wire_str b)
{
	return a.len == b.len && (!a.len || !memcmp(a.p, b.p, a.len));
}

/* The encoder's view of r: its output must decode to r again. */
static void round_trip(const struct wire_req *r, int type)
{
	struct wire_buf b = { 0 };
	struct wire_req again;
	int ret;

	/* A subscription's encoder takes the id and profile alone. */
	if (type == WIRE_SUBSCRIBE && !r->server_name.len && !r->alpn.len &&
	    !r->timeout_ms)
		ret = wire_encode_subscribe(&b, r->id, r->profile);
	else
		ret = wire_encode_req(&b, r);
	if (ret == 0 && type == WIRE_SUBSCRIBE && b.p[5] == WIRE_REQUEST)
		type = WIRE_REQUEST;
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(b.len >= WIRE_HDR_LEN);
	FUZZ_CHECK(wire_check_header(b.p, type, WIRE_REQ_MAX) ==
		   (long)(b.len - WIRE_HDR_LEN));
	ret = wire_decode_req(b.p + WIRE_HDR_LEN, b.len - WIRE_HDR_LEN,
			      &again, NULL);
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(again.id == r->id && again.timeout_ms == r->timeout_ms);
	FUZZ_CHECK(same_str(again.profile, r->profile));
	FUZZ_CHECK(same_str(again.server_name, r->server_name));
	FUZZ_CHECK(same_str(again.alpn, r->alpn));
	wire_buf_wipe_free(&b);
}

/* A ticket message's body: 1 when it decodes (and round-trips). */
static int ticket(const uint8_t *body, long len)
{
	struct wire_buf b = { 0 };
	const char *why = NULL;
	struct wire_ticket t, again;
	int ret = wire_decode_ticket(body, len, &t, &why);

	FUZZ_CHECK(ret == 0 || (ret < 0 && why));
	if (ret)
		return 0;
	FUZZ_CHECK(t.token && t.len >= 5 && t.len <= WIRE_TICKET_MAX);
	FUZZ_CHECK(wire_encode_ticket(&b, &t) == 0);
	FUZZ_CHECK(wire_check_header(b.p, WIRE_TICKET, WIRE_REQ_MAX) ==
		   (long)(b.len - WIRE_HDR_LEN));
	FUZZ_CHECK(wire_decode_ticket(b.p + WIRE_HDR_LEN, b.len - WIRE_HDR_LEN,
				      &again, NULL) == 0);
	FUZZ_CHECK(again.token == t.token && again.len == t.len &&
		   !memcmp(again.msg, t.msg, t.len));
	wire_buf_wipe_free(&b);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	struct wire_req r;
	uint8_t *body;
	int ret, type = WIRE_REQUEST;
	long len;

	fuzz_verdict = 0;
	body = fuzz_wire_body(data, size, type, WIRE_REQ_MAX, &len);
	if (!body) {
		type = WIRE_SUBSCRIBE;
		body = fuzz_wire_body(data, size, type, WIRE_REQ_MAX, &len);
	}
	if (!body) {
		body = fuzz_wire_body(data, size, WIRE_TICKET, WIRE_REQ_MAX,
				      &len);
		if (body)
			fuzz_verdict = ticket(body, len);
		free(body);
		return 0;
	}
	ret = wire_decode_req(body, len, &r, &why);
	FUZZ_CHECK(ret == 0 || (ret < 0 && why));
	if (!ret) {
		FUZZ_CHECK(r.profile.len > 0 && r.profile.len <= WIRE_NAME_MAX);
		FUZZ_CHECK(r.server_name.len <= WIRE_NAME_MAX);
		FUZZ_CHECK(r.alpn.len <= WIRE_NAME_MAX);
		round_trip(&r, type);
		fuzz_verdict = 1;
	}
	free(body);
	return 0;
}
