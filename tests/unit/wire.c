// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The handoff protocol's encoder and decoder (lib/wire.c): round trips,
 * and every malformed message refused. Messages are built by hand here,
 * byte by byte as docs/handoff.md lays them out, not by the encoder.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "wire.h"

/* A hand-built body. */
struct body {
	uint8_t b[8192];
	size_t len;
};

static void put(struct body *m, unsigned tag, const void *v, size_t len)
{
	uint8_t *p = m->b + m->len;

	p[0] = tag >> 8;
	p[1] = tag;
	p[2] = p[3] = 0;
	p[4] = len >> 24;
	p[5] = len >> 16;
	p[6] = len >> 8;
	p[7] = len;
	memcpy(p + 8, v, len);
	m->len += 8 + len;
}

static void put_str(struct body *m, unsigned tag, const char *s)
{
	put(m, tag, s, strlen(s));
}

static const uint8_t id42[8] = { 0, 0, 0, 0, 0, 0, 0, 42 };

static void minimal_req(struct body *m)
{
	m->len = 0;
	put(m, WT_REQUEST_ID, id42, 8);
	put_str(m, WT_PROFILE, "web");
}

TEST(hand_built_request_decodes)
{
	struct body m;
	struct wire_req r;
	const uint8_t to[4] = { 0, 0, 0x13, 0x88 };

	minimal_req(&m);
	put_str(&m, WT_SERVER_NAME, "example.org");
	put_str(&m, WT_ALPN, "h2,http/1.1");
	put(&m, WT_TIMEOUT_MS, to, 4);
	ASSERT_EQ(0, wire_decode_req(m.b, m.len, &r, NULL));
	EXPECT_EQ(42u, r.id);
	ASSERT_EQ(3u, r.profile.len);
	EXPECT_EQ(0, memcmp(r.profile.p, "web", 3));
	ASSERT_EQ(11u, r.server_name.len);
	EXPECT_EQ(0, memcmp(r.server_name.p, "example.org", 11));
	EXPECT_EQ(11u, r.alpn.len);
	EXPECT_EQ(5000u, r.timeout_ms);
}

TEST(encoder_matches_the_documented_layout)
{
	struct wire_req r = { .id = 0x0102030405060708ull };
	struct wire_buf b = { 0 };
	const uint8_t want[] = {
		'K', 'T', 'L', 'S', 1, 1, 0, 0, 0, 0, 0, 8 + 8 + 8 + 3,
		0, 1, 0, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		0, 2, 0, 0, 0, 0, 0, 3, 'w', 'e', 'b',
	};

	r.profile = (struct wire_str){ "web", 3 };
	ASSERT_EQ(0, wire_encode_req(&b, &r));
	ASSERT_EQ(sizeof(want), b.len);
	EXPECT_EQ(0, memcmp(want, b.p, sizeof(want)));
	EXPECT_EQ(8 + 8 + 8 + 3, wire_check_header(b.p, WIRE_REQUEST,
						    WIRE_REQ_MAX));
	wire_buf_wipe_free(&b);
}

TEST(subscription_matches_the_documented_layout)
{
	struct wire_buf b = { 0 };
	struct wire_req r;
	const uint8_t want[] = {
		'K', 'T', 'L', 'S', 1, 3, 0, 0, 0, 0, 0, 8 + 8 + 8 + 3,
		0, 1, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9,
		0, 2, 0, 0, 0, 0, 0, 3, 'w', 'e', 'b',
	};

	ASSERT_EQ(0, wire_encode_subscribe(&b, 9, (struct wire_str){ "web", 3 }));
	ASSERT_EQ(sizeof(want), b.len);
	EXPECT_EQ(0, memcmp(want, b.p, sizeof(want)));
	/* Not a request: a receiver of requests alone refuses it. */
	EXPECT_EQ(-EBADMSG, wire_check_header(b.p, WIRE_REQUEST, WIRE_REQ_MAX));
	ASSERT_EQ(8 + 8 + 8 + 3, wire_check_header(b.p, WIRE_SUBSCRIBE,
						    WIRE_REQ_MAX));
	ASSERT_EQ(0, wire_decode_req(b.p + WIRE_HDR_LEN, b.len - WIRE_HDR_LEN,
				     &r, NULL));
	EXPECT_EQ(9u, r.id);
	ASSERT_EQ(3u, r.profile.len);
	EXPECT_EQ(0, memcmp(r.profile.p, "web", 3));
	EXPECT_EQ(0u, r.server_name.len + r.alpn.len + r.timeout_ms);
	wire_buf_wipe_free(&b);
}

TEST(subscription_needs_a_profile)
{
	struct wire_buf b = { 0 };
	char big[WIRE_NAME_MAX + 1];

	EXPECT_EQ(-EINVAL, wire_encode_subscribe(&b, 1, (struct wire_str){ 0 }));
	memset(big, 'a', sizeof(big));
	EXPECT_EQ(-EMSGSIZE, wire_encode_subscribe(&b, 1, (struct wire_str){
		big, sizeof(big) }));
	wire_buf_wipe_free(&b);
}

TEST(reply_round_trip_keeps_every_field)
{
	uint8_t sha[32], tx[48], rx[48], early[5000];
	struct wire_reply in = { 0 }, out;
	struct wire_buf b = { 0 };
	long len;

	memset(sha, 0xab, sizeof(sha));
	memset(tx, 1, sizeof(tx));
	memset(rx, 2, sizeof(rx));
	memset(early, 'e', sizeof(early));
	in.id = 7;
	in.version = 0x0304;
	in.cipher = 2;
	in.group = (struct wire_str){ "X25519", 6 };
	in.sigalg = (struct wire_str){ "ECDSA-SECP256R1-SHA256", 22 };
	in.alpn = (struct wire_str){ "h2", 2 };
	in.sni = (struct wire_str){ "a.example", 9 };
	in.peer_subject = (struct wire_str){ "CN=client", 9 };
	in.peer_sha256 = sha;
	in.resumed = 1;
	in.offload_tx = 1;
	in.offload_rx = 2;
	in.rekey = 1;
	in.role = 1;
	in.early = early;
	in.early_len = sizeof(early);
	in.secret_tx = tx;
	in.secret_rx = rx;
	in.secret_len = 48;
	ASSERT_EQ(0, wire_encode_reply(&b, &in));
	len = wire_check_header(b.p, WIRE_REPLY, WIRE_REPLY_MAX);
	ASSERT_EQ((long)b.len - WIRE_HDR_LEN, len);
	ASSERT_EQ(0, wire_decode_reply(b.p + WIRE_HDR_LEN, len, &out, NULL));
	EXPECT_EQ(7u, out.id);
	EXPECT_EQ(0, out.status);
	EXPECT_EQ(0x0304, out.version);
	EXPECT_EQ(2u, out.cipher);
	EXPECT_EQ(6u, out.group.len);
	EXPECT_EQ(22u, out.sigalg.len);
	EXPECT_EQ(0, memcmp(out.alpn.p, "h2", 2));
	EXPECT_EQ(9u, out.sni.len);
	EXPECT_EQ(0, memcmp(out.peer_subject.p, "CN=client", 9));
	ASSERT_NE(NULL, out.peer_sha256);
	EXPECT_EQ(0, memcmp(out.peer_sha256, sha, 32));
	EXPECT_EQ(1, out.resumed);
	EXPECT_EQ(1, out.offload_tx);
	EXPECT_EQ(2, out.offload_rx);
	EXPECT_EQ(1, out.rekey);
	EXPECT_EQ(1, out.role);
	ASSERT_EQ(sizeof(early), out.early_len);
	EXPECT_EQ(0, memcmp(out.early, early, sizeof(early)));
	ASSERT_EQ(48u, out.secret_len);
	EXPECT_EQ(0, memcmp(out.secret_tx, tx, 48));
	EXPECT_EQ(0, memcmp(out.secret_rx, rx, 48));
	wire_buf_wipe_free(&b);
	EXPECT_EQ(NULL, b.p);
}

TEST(error_reply_carries_status_and_message_only)
{
	struct wire_reply in = { .id = 9, .status = -EACCES }, out;
	struct wire_buf b = { 0 };

	in.message = (struct wire_str){ "no", 2 };
	in.version = 0x0304;	/* ignored for a failure */
	ASSERT_EQ(0, wire_encode_reply(&b, &in));
	ASSERT_EQ(0, wire_decode_reply(b.p + WIRE_HDR_LEN,
				       b.len - WIRE_HDR_LEN, &out, NULL));
	EXPECT_EQ(-EACCES, out.status);
	EXPECT_EQ(2u, out.message.len);
	EXPECT_EQ(0, out.version);
	EXPECT_EQ(0u, out.secret_len);
	wire_buf_wipe_free(&b);
}

/* Each malformed body, and the field the decoder blames. */
FIXTURE(bad_req) {
	struct body m;
};
FIXTURE_SETUP(bad_req) { minimal_req(&self->m); }
FIXTURE_TEARDOWN(bad_req) {}

FIXTURE_VARIANT(bad_req) {
	int kind;
	const char *blame;
};
#define BAD(name, k, b) \
	FIXTURE_VARIANT_ADD(bad_req, name) { .kind = k, .blame = b }
BAD(duplicate_profile, 1, "profile");
BAD(unknown_mandatory_tag, 2, "unknown field");
BAD(truncated_field, 3, "truncated field");
BAD(short_request_id, 4, "request id");
BAD(nul_in_profile, 5, "profile");
BAD(server_name_too_long, 6, "server name");
BAD(empty_string, 7, "ALPN");
BAD(no_profile, 8, "profile (missing)");
BAD(no_request_id, 9, "request id (missing)");
BAD(length_past_the_end, 10, "truncated field");
BAD(nonzero_reserved, 11, "truncated field");

TEST_F(bad_req, refused_and_blamed)
{
	struct body *m = &self->m;
	struct wire_req r;
	const char *why = "";
	char name[300];

	switch (variant->kind) {
	case 1: put_str(m, WT_PROFILE, "again"); break;
	case 2: put_str(m, 0x7fff, "x"); break;
	case 3: m->len -= 1; break;
	case 4: m->len = 0; put(m, WT_REQUEST_ID, id42, 4);
		put_str(m, WT_PROFILE, "web"); break;
	case 5: m->len = 0; put(m, WT_REQUEST_ID, id42, 8);
		put(m, WT_PROFILE, "w\0b", 3); break;
	case 6: memset(name, 'a', 256); name[256] = 0;
		put_str(m, WT_SERVER_NAME, name); break;
	case 7: put(m, WT_ALPN, "", 0); break;
	case 8: m->len = 0; put(m, WT_REQUEST_ID, id42, 8); break;
	case 9: m->len = 0; put_str(m, WT_PROFILE, "web"); break;
	case 10: m->b[m->len - 4] = 0xff; break; /* profile length: 255 */
	case 11: m->b[m->len - 3 - 6] = 1; break;	/* profile's zero bytes */
	}
	EXPECT_EQ(-EBADMSG, wire_decode_req(m->b, m->len, &r, &why));
	EXPECT_STREQ(variant->blame, why);
}

TEST(optional_unknown_tag_is_ignored)
{
	struct body m;
	struct wire_req r;

	minimal_req(&m);
	put_str(&m, 0x8123, "a hint from a newer client");
	EXPECT_EQ(0, wire_decode_req(m.b, m.len, &r, NULL));
	EXPECT_EQ(42u, r.id);
}

/*
 * Kernel options: tag 0x8001 as hand-built bytes, one byte; bits a later
 * ktlsd may add are dropped; absent when none is on.
 */
TEST(reply_kernel_options)
{
	static const uint8_t status0[4], both = 3, more = 0xff;
	struct wire_reply in = { .id = 3, .status = 0 }, out;
	struct wire_buf b = { 0 };
	struct body m = { .len = 0 };
	long len;

	put(&m, 1, id42, 8);
	put(&m, 16, status0, 4);
	put(&m, 0x8001, &both, 1);
	ASSERT_EQ(0, wire_decode_reply(m.b, m.len, &out, NULL));
	EXPECT_EQ(KTLS_OPT_ZEROCOPY_SENDFILE | KTLS_OPT_RX_NO_PAD, out.options);
	m.len = 0;
	put(&m, 1, id42, 8);
	put(&m, 16, status0, 4);
	put(&m, 0x8001, &more, 1);
	ASSERT_EQ(0, wire_decode_reply(m.b, m.len, &out, NULL));
	EXPECT_EQ(3, out.options);
	/* The encoder leaves the field out when it is 0. */
	ASSERT_EQ(0, wire_encode_reply(&b, &in));
	len = wire_check_header(b.p, WIRE_REPLY, WIRE_REPLY_MAX);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, wire_decode_reply(b.p + WIRE_HDR_LEN, len, &out, NULL));
	EXPECT_EQ(0, out.options);
	EXPECT_EQ(NULL, memmem(b.p, b.len, "\x80\x01\x00\x00", 4));
	wire_buf_wipe_free(&b);
	in.options = KTLS_OPT_RX_NO_PAD;
	ASSERT_EQ(0, wire_encode_reply(&b, &in));
	ASSERT_NE(NULL, memmem(b.p, b.len, "\x80\x01\x00\x00\x00\x00\x00\x01\x02",
			       9));
	wire_buf_wipe_free(&b);
}

TEST(header_checks)
{
	uint8_t h[WIRE_HDR_LEN] = { 'K', 'T', 'L', 'S', 1, 1, 0, 0,
				    0, 0, 0x10, 0 };

	EXPECT_EQ(4096, wire_check_header(h, WIRE_REQUEST, WIRE_REQ_MAX));
	h[11] = 1;
	EXPECT_EQ(-EMSGSIZE, wire_check_header(h, WIRE_REQUEST, WIRE_REQ_MAX));
	h[11] = 0;
	EXPECT_EQ(-EBADMSG, wire_check_header(h, WIRE_REPLY, WIRE_REPLY_MAX));
	h[4] = 2;
	EXPECT_EQ(-EPROTONOSUPPORT, wire_check_header(h, WIRE_REQUEST,
						      WIRE_REQ_MAX));
	h[4] = 1;
	h[0] = 'k';
	EXPECT_EQ(-EPROTO, wire_check_header(h, WIRE_REQUEST, WIRE_REQ_MAX));
	h[0] = 'K';
	h[7] = 1;
	EXPECT_EQ(-EBADMSG, wire_check_header(h, WIRE_REQUEST, WIRE_REQ_MAX));
}

TEST(reply_with_positive_status_or_odd_secrets_is_refused)
{
	struct body m = { .len = 0 };
	struct wire_reply r;
	const uint8_t st[4] = { 0, 0, 0, 1 }, zero[4] = { 0 };
	uint8_t s32[32] = { 0 }, s48[48] = { 0 };
	const char *why = "";

	put(&m, WT_REQUEST_ID, id42, 8);
	put(&m, WT_STATUS, st, 4);
	EXPECT_EQ(-EBADMSG, wire_decode_reply(m.b, m.len, &r, &why));
	EXPECT_STREQ("status", why);

	m.len = 0;
	put(&m, WT_REQUEST_ID, id42, 8);
	put(&m, WT_STATUS, zero, 4);
	put(&m, WT_SECRET_TX, s32, 32);
	put(&m, WT_SECRET_RX, s48, 48);
	EXPECT_EQ(-EBADMSG, wire_decode_reply(m.b, m.len, &r, &why));
	EXPECT_STREQ("secrets of unequal length", why);

	m.len = 0;
	put(&m, WT_REQUEST_ID, id42, 8);
	put(&m, WT_STATUS, zero, 4);
	put(&m, WT_SECRET_TX, s32, 31);
	EXPECT_EQ(-EBADMSG, wire_decode_reply(m.b, m.len, &r, &why));
	EXPECT_STREQ("send secret", why);

	m.len = 0;
	put(&m, WT_REQUEST_ID, id42, 8);
	EXPECT_EQ(-EBADMSG, wire_decode_reply(m.b, m.len, &r, &why));
	EXPECT_STREQ("status or request id (missing)", why);
}

TEST(encoder_refuses_oversize_and_nul)
{
	struct wire_req r = { .id = 1 };
	struct wire_buf b = { 0 };
	char name[300];

	memset(name, 'a', sizeof(name));
	r.profile = (struct wire_str){ "web", 3 };
	r.server_name = (struct wire_str){ name, 256 };
	EXPECT_EQ(-EMSGSIZE, wire_encode_req(&b, &r));
	r.server_name = (struct wire_str){ "a\0b", 3 };
	EXPECT_EQ(-EINVAL, wire_encode_req(&b, &r));
	r.server_name = (struct wire_str){ 0 };
	r.profile = (struct wire_str){ 0 };
	EXPECT_EQ(-EINVAL, wire_encode_req(&b, &r));
	wire_buf_wipe_free(&b);
}

/* ---- Ticket messages (type 4) ---- */

/* A NewSessionTicket as bytes: type 4, length 9, lifetime 7200 s, ... */
static const uint8_t nst[13] = { 4, 0, 0, 9, 0, 0, 0x1c, 0x20, 1, 2, 3, 4, 5 };

TEST(ticket_hand_built_decodes)
{
	struct wire_ticket t;
	struct body m = { .len = 0 };

	put(&m, 1, id42, 8);
	put(&m, 32, nst, sizeof(nst));
	ASSERT_EQ(0, wire_decode_ticket(m.b, m.len, &t, NULL));
	EXPECT_EQ(42u, t.token);
	ASSERT_EQ(sizeof(nst), t.len);
	EXPECT_EQ(0, memcmp(t.msg, nst, sizeof(nst)));
}

TEST(ticket_round_trip_and_header)
{
	struct wire_ticket in = { 0x1122334455667788ull, nst, sizeof(nst) }, out;
	struct wire_buf b = { 0 };

	ASSERT_EQ(0, wire_encode_ticket(&b, &in));
	ASSERT_EQ(8 + 8 + 8 + 13, wire_check_header(b.p, WIRE_TICKET,
						    WIRE_REQ_MAX));
	EXPECT_EQ(4, b.p[5]);
	EXPECT_EQ(-EBADMSG, wire_check_header(b.p, WIRE_REQUEST, WIRE_REQ_MAX));
	ASSERT_EQ(0, wire_decode_ticket(b.p + WIRE_HDR_LEN,
					b.len - WIRE_HDR_LEN, &out, NULL));
	EXPECT_EQ(0x1122334455667788ull, out.token);
	EXPECT_EQ(0, memcmp(out.msg, nst, sizeof(nst)));
	wire_buf_wipe_free(&b);
}

TEST(ticket_refused_when_malformed)
{
	uint8_t big[WIRE_TICKET_MAX + 1] = { 4 };
	const uint8_t zero[8] = { 0 };
	struct wire_ticket t = { 1, big, sizeof(big) };
	struct wire_buf b = { 0 };
	const char *why = NULL;
	struct body m = { .len = 0 };

	EXPECT_EQ(-EINVAL, wire_encode_ticket(&b, &t));
	t.len = 4;	/* shorter than a header and a lifetime */
	EXPECT_EQ(-EINVAL, wire_encode_ticket(&b, &t));
	t = (struct wire_ticket){ 0, nst, sizeof(nst) };
	EXPECT_EQ(-EINVAL, wire_encode_ticket(&b, &t));
	wire_buf_wipe_free(&b);

	put(&m, 1, id42, 8);	/* no ticket */
	EXPECT_EQ(-EBADMSG, wire_decode_ticket(m.b, m.len, &t, &why));
	EXPECT_STREQ("ticket (missing)", why);
	m.len = 0;
	put(&m, 32, nst, sizeof(nst));	/* no token */
	EXPECT_EQ(-EBADMSG, wire_decode_ticket(m.b, m.len, &t, NULL));
	put(&m, 1, zero, 8);		/* token 0 */
	EXPECT_EQ(-EBADMSG, wire_decode_ticket(m.b, m.len, &t, &why));
	EXPECT_STREQ("token", why);
	m.len = 0;
	put(&m, 1, id42, 8);
	put(&m, 32, big, sizeof(big));	/* over the limit */
	EXPECT_EQ(-EBADMSG, wire_decode_ticket(m.b, m.len, &t, NULL));
	m.len = 0;
	put(&m, 1, id42, 8);
	put(&m, 32, nst, sizeof(nst));
	put_str(&m, 2, "web");		/* a request's field */
	EXPECT_EQ(-EBADMSG, wire_decode_ticket(m.b, m.len, &t, NULL));
}

TEST(reply_carries_the_ticket_token_as_optional)
{
	struct wire_reply in = { .id = 3, .version = 0x0304, .cipher = 1 }, out;
	struct wire_buf b = { 0 };
	size_t i;

	in.ticket_token = 0xfedcba9876543210ull;
	ASSERT_EQ(0, wire_encode_reply(&b, &in));
	ASSERT_EQ(0, wire_decode_reply(b.p + WIRE_HDR_LEN,
				       b.len - WIRE_HDR_LEN, &out, NULL));
	EXPECT_EQ(0xfedcba9876543210ull, out.ticket_token);
	/* Tag 0x8002: optional, so an older libktls skips it. */
	for (i = WIRE_HDR_LEN; i + 1 < b.len; i++)
		if (b.p[i] == 0x80 && b.p[i + 1] == 0x02)
			break;
	EXPECT_GT(b.len - 1, i) TH_LOG("no tag 0x8002 in the reply");
	in.ticket_token = 0;
	ASSERT_EQ(0, wire_encode_reply(&b, &in));
	ASSERT_EQ(0, wire_decode_reply(b.p + WIRE_HDR_LEN,
				       b.len - WIRE_HDR_LEN, &out, NULL));
	EXPECT_EQ(0u, out.ticket_token);
	wire_buf_wipe_free(&b);
}

TEST_HARNESS_MAIN
