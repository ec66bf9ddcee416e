// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which ClientHellos offer a ticket (lib/tickets.c): only those do the
 * extra read that finds the key before a rotation. Bodies built here by
 * hand, byte by byte from RFC 8446 section 4.1.2 and RFC 5077.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "internal.h"
#include "session.h"

/* A ClientHello body with extensions ext (len bytes) after the rest. */
static size_t hello(uint8_t *b, const uint8_t *ext, size_t len)
{
	size_t n = 0;

	b[n++] = 3;				/* legacy_version */
	b[n++] = 3;
	memset(b + n, 7, 32);			/* random */
	n += 32;
	b[n++] = 0;				/* session_id */
	b[n++] = 0;				/* cipher_suites: one */
	b[n++] = 2;
	b[n++] = 0x13;
	b[n++] = 0x01;
	b[n++] = 1;				/* compression: null */
	b[n++] = 0;
	b[n++] = len >> 8;			/* extensions */
	b[n++] = len & 0xff;
	if (len)
		memcpy(b + n, ext, len);
	return n + len;
}

static int offered(const uint8_t *ext, size_t len)
{
	uint8_t b[512];

	return tickets_offered(b, hello(b, ext, len));
}

TEST(no_extensions)
{
	EXPECT_EQ(0, offered(NULL, 0));
}

TEST(empty_session_ticket_asks_for_one)
{
	const uint8_t ext[] = { 0, 35, 0, 0 };

	EXPECT_EQ(0, offered(ext, sizeof(ext)));
}

TEST(session_ticket_with_a_ticket)
{
	const uint8_t ext[] = { 0, 10, 0, 2, 0, 29, 0, 35, 0, 3, 1, 2, 3 };

	EXPECT_EQ(1, offered(ext, sizeof(ext)));
}

TEST(pre_shared_key)
{
	const uint8_t ext[] = { 0, 43, 0, 3, 2, 3, 4, 0, 41, 0, 1, 0 };

	EXPECT_EQ(1, offered(ext, sizeof(ext)));
}

TEST(other_extensions_only)
{
	const uint8_t ext[] = { 0, 43, 0, 3, 2, 3, 4, 0, 45, 0, 2, 1, 1 };

	EXPECT_EQ(0, offered(ext, sizeof(ext)));
}

/* An extension that claims more than the list holds ends the search. */
TEST(extension_overruns_the_list)
{
	const uint8_t ext[] = { 0, 43, 0, 9, 2, 3, 4, 0, 41, 0, 1, 0 };

	EXPECT_EQ(0, offered(ext, sizeof(ext)));
}

TEST(truncated_bodies)
{
	const uint8_t ext[] = { 0, 41, 0, 1, 0 };
	uint8_t b[512];
	size_t n = hello(b, ext, sizeof(ext)), cut;

	EXPECT_EQ(1, tickets_offered(b, n));
	for (cut = 0; cut < n; cut++)
		EXPECT_EQ(0, tickets_offered(b, cut)) TH_LOG("cut at %zu", cut);
}

TEST_HARNESS_MAIN
