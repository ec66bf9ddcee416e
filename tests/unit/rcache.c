// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's client resumption cache (daemon/ktlsd/rcache.c): least recently
 * used out first, the entry and byte bounds, expiry by an injected clock,
 * one entry per name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "rcache.h"

#define T0 1000000	/* ms: any clock will do */

/* name's data is exactly want (a string): 1, else 0. */
static int holds(struct rcache *c, const char *name, int64_t now,
		 const char *want)
{
	uint8_t *d;
	size_t len;
	int ok;

	if (rcache_get(c, name, now, &d, &len))
		return 0;
	ok = len == strlen(want) && !memcmp(d, want, len);
	free(d);
	return ok;
}

TEST(get_gives_what_put_stored)
{
	struct rcache *c = rcache_new(4, 1 << 20);
	struct rcache_counts n;

	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, rcache_put(c, "a.test", "AAA", 3, T0 + 5000, T0));
	EXPECT_TRUE(holds(c, "a.test", T0, "AAA"));
	EXPECT_FALSE(holds(c, "b.test", T0, "AAA"));
	EXPECT_FALSE(holds(c, "a.tes", T0, "AAA"));
	rcache_counts(c, &n);
	EXPECT_EQ(1u, n.entries);
	EXPECT_EQ(1ul, n.hits);
	EXPECT_EQ(2ul, n.misses);
	rcache_free(c);
}

TEST(the_least_recently_used_goes_first)
{
	struct rcache *c = rcache_new(2, 1 << 20);
	struct rcache_counts n;

	ASSERT_EQ(0, rcache_put(c, "a", "1", 1, T0 + 5000, T0));
	ASSERT_EQ(0, rcache_put(c, "b", "2", 1, T0 + 5000, T0));
	/* a is used: b is now the oldest, and goes for c. */
	EXPECT_TRUE(holds(c, "a", T0, "1"));
	ASSERT_EQ(0, rcache_put(c, "c", "3", 1, T0 + 5000, T0));
	EXPECT_FALSE(holds(c, "b", T0, "2"));
	EXPECT_TRUE(holds(c, "a", T0, "1"));
	EXPECT_TRUE(holds(c, "c", T0, "3"));
	rcache_counts(c, &n);
	EXPECT_EQ(2u, n.entries);
	EXPECT_EQ(1ul, n.evicted);
	rcache_free(c);
}

TEST(a_name_has_one_entry_the_newest)
{
	struct rcache *c = rcache_new(2, 1 << 20);
	struct rcache_counts n;

	ASSERT_EQ(0, rcache_put(c, "a", "old", 3, T0 + 5000, T0));
	ASSERT_EQ(0, rcache_put(c, "b", "bb", 2, T0 + 5000, T0));
	ASSERT_EQ(0, rcache_put(c, "a", "new", 3, T0 + 5000, T0));
	EXPECT_TRUE(holds(c, "a", T0, "new"));
	EXPECT_TRUE(holds(c, "b", T0, "bb"));
	rcache_counts(c, &n);
	EXPECT_EQ(2u, n.entries);
	EXPECT_EQ(0ul, n.evicted);
	rcache_free(c);
}

TEST(entries_expire_when_their_ticket_said)
{
	struct rcache *c = rcache_new(4, 1 << 20);
	struct rcache_counts n;

	ASSERT_EQ(0, rcache_put(c, "a", "1", 1, T0 + 5000, T0));
	EXPECT_TRUE(holds(c, "a", T0 + 4999, "1"));
	EXPECT_FALSE(holds(c, "a", T0 + 5000, "1"));
	rcache_counts(c, &n);
	EXPECT_EQ(0u, n.entries) TH_LOG("an expired entry is kept");
	EXPECT_EQ(1ul, n.expired);
	EXPECT_EQ(-EINVAL, rcache_put(c, "a", "1", 1, T0, T0));
	rcache_free(c);
}

TEST(the_byte_bound_holds)
{
	/* Room for two entries of 1000 bytes, not three. */
	size_t max = 2 * (1000 + 400) + 300;
	struct rcache *c = rcache_new(100, max);
	struct rcache_counts n;
	char *big = malloc(1000);

	ASSERT_NE(NULL, big);
	memset(big, 'x', 1000);
	ASSERT_EQ(0, rcache_put(c, "a", big, 1000, T0 + 5000, T0));
	ASSERT_EQ(0, rcache_put(c, "b", big, 1000, T0 + 5000, T0));
	rcache_counts(c, &n);
	ASSERT_EQ(2u, n.entries) TH_LOG("entry overhead over 400 bytes?");
	ASSERT_EQ(0, rcache_put(c, "c", big, 1000, T0 + 5000, T0));
	rcache_counts(c, &n);
	EXPECT_EQ(2u, n.entries);
	EXPECT_GE(max, n.bytes);
	EXPECT_EQ(1ul, n.evicted);
	EXPECT_FALSE(holds(c, "a", T0, "x")) TH_LOG("the oldest stayed");
	free(big);
	/* One entry larger than the whole bound is refused, none lost. */
	big = calloc(1, max);
	ASSERT_NE(NULL, big);
	EXPECT_EQ(-E2BIG, rcache_put(c, "d", big, max, T0 + 5000, T0));
	rcache_counts(c, &n);
	EXPECT_EQ(2u, n.entries);
	free(big);
	rcache_free(c);
}

TEST(bad_arguments)
{
	char name[300];
	struct rcache *c = rcache_new(1, 1000);

	EXPECT_EQ(NULL, rcache_new(0, 1000));
	EXPECT_EQ(NULL, rcache_new(1, 0));
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	EXPECT_EQ(-EINVAL, rcache_put(c, name, "1", 1, T0 + 1, T0));
	EXPECT_EQ(-EINVAL, rcache_put(c, "a", "1", 0, T0 + 1, T0));
	rcache_free(c);
	rcache_free(NULL);
}

TEST_HARNESS_MAIN
