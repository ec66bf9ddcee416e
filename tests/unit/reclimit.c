// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The peer's record size limit read off its hello messages (lib/reclimit.c)
 * and the data per record that follows for the kernel. The messages are
 * written out by hand from RFC 8446 and RFC 8449; the expected limits are
 * the numbers in them.
 */
#include "kselftest_harness.h"
#include "session.h"

/* A ClientHello body: version, random, no session id, one suite, null. */
#define CH_HEAD								\
	0x03, 0x03, RANDOM, 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00
#define RANDOM								\
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,		\
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32

/* A TLS 1.2 ServerHello body with a 32-byte session id and a GCM suite. */
#define SH_HEAD								\
	0x03, 0x03, RANDOM, 0x20, RANDOM, 0xc0, 0x2f, 0x00

/* record_size_limit (28) of 513, max_fragment_length (1) code 2 (1024). */
static const uint8_t ch_both[] = {
	CH_HEAD, 0x00, 0x0b,
	0x00, 0x1c, 0x00, 0x02, 0x02, 0x01,
	0x00, 0x01, 0x00, 0x01, 0x02,
};

static const uint8_t ch_mfl_512[] = {
	CH_HEAD, 0x00, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01,
};

/* record_size_limit of 10: below RFC 8449's minimum of 64. */
static const uint8_t ch_too_small[] = {
	CH_HEAD, 0x00, 0x06, 0x00, 0x1c, 0x00, 0x02, 0x00, 0x0a,
};

/* An extension that claims more bytes than there are. */
static const uint8_t ch_truncated[] = {
	CH_HEAD, 0x00, 0x06, 0x00, 0x1c, 0x00, 0x09, 0x02, 0x01,
};

static const uint8_t sh12_512[] = {
	SH_HEAD, 0x00, 0x06, 0x00, 0x1c, 0x00, 0x02, 0x02, 0x00,
};

static const uint8_t sh12_no_exts[] = { SH_HEAD };

/* EncryptedExtensions: the extensions block alone. 16385 = 2^14 + 1. */
static const uint8_t ee_full[] = {
	0x00, 0x06, 0x00, 0x1c, 0x00, 0x02, 0x40, 0x01,
};

static const uint8_t ee_2049[] = {
	0x00, 0x06, 0x00, 0x1c, 0x00, 0x02, 0x08, 0x01,
};

#define PARSE(rl, type, msg) reclimit_parse(rl, type, msg, sizeof(msg))

TEST(client_hello_both_extensions)
{
	struct reclimit rl = { 0 };

	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_CLIENT_HELLO, ch_both));
	EXPECT_EQ(513u, rl.rsl);
	EXPECT_EQ(1024u, rl.mfl);
	/* record_size_limit wins; TLS 1.3 counts the content type in it. */
	EXPECT_EQ(512u, reclimit_payload(&rl, KTLS_TLS13));
	EXPECT_EQ(513u, reclimit_payload(&rl, KTLS_TLS12));
}

TEST(max_fragment_length_alone)
{
	struct reclimit rl = { 0 };

	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_CLIENT_HELLO, ch_mfl_512));
	EXPECT_EQ(0u, rl.rsl);
	EXPECT_EQ(512u, rl.mfl);
	EXPECT_EQ(512u, reclimit_payload(&rl, KTLS_TLS12));
	EXPECT_EQ(511u, reclimit_payload(&rl, KTLS_TLS13));
}

TEST(below_the_minimum_is_no_limit)
{
	struct reclimit rl = { 0 };

	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_CLIENT_HELLO, ch_too_small));
	EXPECT_EQ(10u, rl.rsl);
	EXPECT_EQ(0u, reclimit_payload(&rl, KTLS_TLS13));
	EXPECT_EQ(0u, reclimit_payload(&rl, KTLS_TLS12));
}

TEST(truncated_extension_is_refused)
{
	struct reclimit rl = { .rsl = 600 };

	EXPECT_EQ(-EPROTO, PARSE(&rl, GNUTLS_HANDSHAKE_CLIENT_HELLO,
				 ch_truncated));
	/* What an earlier hello said does not survive a new one. */
	EXPECT_EQ(0u, reclimit_payload(&rl, KTLS_TLS13));
}

TEST(tls12_server_hello)
{
	struct reclimit rl = { 0 };

	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_SERVER_HELLO, sh12_512));
	EXPECT_EQ(512u, rl.rsl);
	EXPECT_EQ(512u, reclimit_payload(&rl, KTLS_TLS12));
	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_SERVER_HELLO, sh12_no_exts));
	EXPECT_EQ(0u, rl.rsl);
	EXPECT_EQ(0u, reclimit_payload(&rl, KTLS_TLS12));
}

TEST(tls13_encrypted_extensions)
{
	struct reclimit rl = { 0 };

	/* The ServerHello of TLS 1.3 has none; they follow encrypted. */
	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_SERVER_HELLO, sh12_no_exts));
	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_ENCRYPTED_EXTENSIONS, ee_2049));
	EXPECT_EQ(2049u, rl.rsl);
	EXPECT_EQ(2048u, reclimit_payload(&rl, KTLS_TLS13));
	/* 2^14 + 1 in TLS 1.3 is a full record: nothing for the kernel. */
	ASSERT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_ENCRYPTED_EXTENSIONS, ee_full));
	EXPECT_EQ(16385u, rl.rsl);
	EXPECT_EQ(0u, reclimit_payload(&rl, KTLS_TLS13));
	/* 16384 in TLS 1.2 is a full record too. */
	rl.rsl = 16384;
	EXPECT_EQ(0u, reclimit_payload(&rl, KTLS_TLS12));
	EXPECT_EQ(16383u, reclimit_payload(&rl, KTLS_TLS13));
}

TEST(other_messages_change_nothing)
{
	struct reclimit rl = { .rsl = 1000, .mfl = 0 };

	EXPECT_EQ(0, PARSE(&rl, GNUTLS_HANDSHAKE_CERTIFICATE_PKT, ee_2049));
	EXPECT_EQ(1000u, rl.rsl);
	EXPECT_EQ(0, reclimit_parse(&rl, GNUTLS_HANDSHAKE_FINISHED, NULL, 0));
	EXPECT_EQ(999u, reclimit_payload(&rl, KTLS_TLS13));
}

TEST_HARNESS_MAIN
