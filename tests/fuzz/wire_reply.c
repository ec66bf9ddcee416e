// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The handoff reply as libktls reads it from ktlsd (lib/handoff.c): a
 * 12-byte header, then the body it announces. A reply that decodes must
 * hold its limits and encode again to the same fields, unless the
 * encoder's own additions take it past the size limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ktls.h>

#include "fuzz.h"
#include "wire.h"

static int same_str(struct wire_str a, struct wire_str b)
{
	return a.len == b.len && (!a.len || !memcmp(a.p, b.p, a.len));
}

static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	return !n || (a && b && !memcmp(a, b, n));
}

static void check_limits(const struct wire_reply *r)
{
	FUZZ_CHECK(r->status <= 0 && r->role <= 1);
	FUZZ_CHECK(r->message.len <= WIRE_MSG_MAX);
	FUZZ_CHECK(r->group.len <= WIRE_NAME_MAX && r->sni.len <= WIRE_NAME_MAX);
	FUZZ_CHECK(r->secret_len == r->secret_rx_len);
	FUZZ_CHECK(!r->secret_len || (r->secret_len >= 32 &&
				      r->secret_len <= KTLS_SECRET_MAX));
	FUZZ_CHECK(!r->early_len == !r->early);
	FUZZ_CHECK(!(r->options & ~(KTLS_OPT_ZEROCOPY_SENDFILE |
				    KTLS_OPT_RX_NO_PAD)));
}

static void compare(const struct wire_reply *a, const struct wire_reply *b)
{
	FUZZ_CHECK(a->id == b->id && a->status == b->status);
	FUZZ_CHECK(same_str(a->message, b->message));
	if (a->status)
		return;		/* the encoder sends no more for a failure */
	FUZZ_CHECK(a->version == b->version && a->cipher == b->cipher);
	FUZZ_CHECK(same_str(a->group, b->group) &&
		   same_str(a->sigalg, b->sigalg) &&
		   same_str(a->alpn, b->alpn) && same_str(a->sni, b->sni) &&
		   same_str(a->peer_subject, b->peer_subject));
	FUZZ_CHECK(!a->peer_sha256 == !b->peer_sha256 &&
		   same_bytes(a->peer_sha256, b->peer_sha256,
			      a->peer_sha256 ? 32 : 0));
	FUZZ_CHECK(a->resumed == b->resumed && a->rekey == b->rekey &&
		   a->role == b->role && a->offload_tx == b->offload_tx &&
		   a->offload_rx == b->offload_rx && a->options == b->options);
	FUZZ_CHECK(a->early_len == b->early_len &&
		   same_bytes(a->early, b->early, a->early_len));
	FUZZ_CHECK(a->secret_len == b->secret_len &&
		   same_bytes(a->secret_tx, b->secret_tx, a->secret_len) &&
		   same_bytes(a->secret_rx, b->secret_rx, a->secret_len));
}

/* len: the body decoded into r. */
static void round_trip(const struct wire_reply *r, size_t len)
{
	struct wire_buf b = { 0 };
	struct wire_reply again;
	int ret = wire_encode_reply(&b, r);

	/* Fields the encoder adds (version, offload...) take 100 bytes at most. */
	if (ret == -EMSGSIZE && len > WIRE_REPLY_MAX - 100)
		goto out;
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(wire_check_header(b.p, WIRE_REPLY, WIRE_REPLY_MAX) ==
		   (long)(b.len - WIRE_HDR_LEN));
	ret = wire_decode_reply(b.p + WIRE_HDR_LEN, b.len - WIRE_HDR_LEN,
				&again, NULL);
	FUZZ_CHECK(ret == 0);
	compare(r, &again);
out:
	wire_buf_wipe_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	struct wire_reply r;
	uint8_t *body;
	long len;
	int ret;

	fuzz_verdict = 0;
	body = fuzz_wire_body(data, size, WIRE_REPLY, WIRE_REPLY_MAX, &len);
	if (!body)
		return 0;
	ret = wire_decode_reply(body, len, &r, &why);
	FUZZ_CHECK(ret == 0 || (ret < 0 && why));
	if (!ret) {
		check_limits(&r);
		round_trip(&r, len);
		fuzz_verdict = 1;
	}
	free(body);
	return 0;
}
