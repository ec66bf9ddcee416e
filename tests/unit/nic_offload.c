// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prefer_nic_offload's decision, driven by netlink replies: one recorded
 * from a real virtio NIC (tests/unit/data), and others laid out here byte
 * by byte the way the kernel lays them out (verbose bit sets, as ethtool
 * netlink sends them unless asked for compact ones): features on, off,
 * off [fixed], a bond of two ports, a VLAN on top of it. No TLS-offload
 * NIC exists on the test machines, so this is where "on" is tested.
 */
#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kselftest_harness.h"
#include "loop.h"
#include "nic.h"
#include "testutil.h"

#define RECORDED "tests/unit/data/ethtool-features-virtio.hex"

/* A netlink message, written by hand: header, fixed part, attributes. */
struct mb {
	uint8_t b[2048];
	size_t len;
	size_t nest[8];
	int depth;
};

static void put(struct mb *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = { .nla_len = NLA_HDRLEN + len, .nla_type = type };

	memcpy(m->b + m->len, &a, sizeof(a));
	if (len)
		memcpy(m->b + m->len + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(NLA_HDRLEN + len);
}

static void put_u32(struct mb *m, uint16_t type, uint32_t v)
{
	put(m, type, &v, 4);
}

static void put_str(struct mb *m, uint16_t type, const char *s)
{
	put(m, type, s, strlen(s) + 1);
}

static void open_nest(struct mb *m, uint16_t type)
{
	m->nest[m->depth++] = m->len;
	put(m, type | NLA_F_NESTED, NULL, 0);
}

static void close_nest(struct mb *m)
{
	struct nlattr *a = (struct nlattr *)(m->b + m->nest[--m->depth]);

	a->nla_len = m->len - m->nest[m->depth];
}

static void begin(struct mb *m, uint16_t type, const void *fixed, size_t len)
{
	struct nlmsghdr h = { .nlmsg_type = type };

	memset(m, 0, sizeof(*m));
	memcpy(m->b, &h, sizeof(h));
	memcpy(m->b + NLMSG_HDRLEN, fixed, len);
	m->len = NLMSG_HDRLEN + NLMSG_ALIGN(len);
}

static size_t end(struct mb *m)
{
	((struct nlmsghdr *)m->b)->nlmsg_len = m->len;
	return m->len;
}

/* A verbose bit set naming the bits of names (NULL-ended); all set. */
static void bitset(struct mb *m, uint16_t type, const char *const *names)
{
	int i;

	open_nest(m, type);
	put(m, ETHTOOL_A_BITSET_NOMASK, NULL, 0);
	put_u32(m, ETHTOOL_A_BITSET_SIZE, 64);
	open_nest(m, ETHTOOL_A_BITSET_BITS);
	for (i = 0; names[i]; i++) {
		open_nest(m, ETHTOOL_A_BITSET_BITS_BIT);
		put_u32(m, ETHTOOL_A_BITSET_BIT_INDEX, 40 + i);
		put_str(m, ETHTOOL_A_BITSET_BIT_NAME, names[i]);
		close_nest(m);
	}
	close_nest(m);
	close_nest(m);
}

static const char *const none[] = { NULL };
static const char *const both[] = {
	"tx-checksum-ipv4", "tls-hw-tx-offload", "tls-hw-rx-offload", NULL
};
static const char *const tx_only[] = { "tls-hw-tx-offload", NULL };
static const char *const other[] = { "rx-gro", "tls-hw-record", NULL };

/* A features reply: what is active, what the device could do, what not. */
static size_t features(struct mb *m, int ifindex, const char *name,
		       const char *const *active, const char *const *hw,
		       const char *const *fixed)
{
	struct genlmsghdr g = { .cmd = ETHTOOL_MSG_FEATURES_GET_REPLY,
				.version = ETHTOOL_GENL_VERSION };

	begin(m, 21, &g, sizeof(g));
	open_nest(m, ETHTOOL_A_FEATURES_HEADER);
	put_u32(m, ETHTOOL_A_HEADER_DEV_INDEX, ifindex);
	put_str(m, ETHTOOL_A_HEADER_DEV_NAME, name);
	close_nest(m);
	bitset(m, ETHTOOL_A_FEATURES_HW, hw);
	bitset(m, ETHTOOL_A_FEATURES_WANTED, none);
	bitset(m, ETHTOOL_A_FEATURES_ACTIVE, active);
	bitset(m, ETHTOOL_A_FEATURES_NOCHANGE, fixed);
	return end(m);
}

static size_t link_msg(struct mb *m, int ifindex, const char *name,
		       const char *kind, int link, int master)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	begin(m, RTM_NEWLINK, &ifi, sizeof(ifi));
	put_str(m, IFLA_IFNAME, name);
	if (link)
		put_u32(m, IFLA_LINK, link);
	if (master)
		put_u32(m, IFLA_MASTER, master);
	if (kind) {
		open_nest(m, IFLA_LINKINFO);
		put_str(m, IFLA_INFO_KIND, kind);
		close_nest(m);
	}
	return end(m);
}

static size_t read_hex(const char *path, uint8_t *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	char line[256], *p;
	size_t n = 0;
	unsigned v;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		for (p = line; n < size && sscanf(p, "%2x", &v) == 1; p += 2)
			buf[n++] = v;
	}
	fclose(f);
	return n;
}

/* ---- Reading features ---- */

TEST(recorded_virtio_is_off_and_fixed)
{
	uint8_t buf[8192];
	struct nic_feat f;
	size_t n = read_hex(RECORDED, buf, sizeof(buf));

	ASSERT_LT((size_t)1000, n) TH_LOG("%s did not read", RECORDED);
	ASSERT_EQ(0, nic_parse_features(buf, n, &f));
	EXPECT_EQ(4, f.ifindex);
	EXPECT_STREQ("eth0", f.name);
	EXPECT_EQ(NIC_TX_FIXED | NIC_RX_FIXED, f.flags);
}

TEST(recorded_reply_cut_short_is_refused)
{
	uint8_t buf[8192];
	struct nic_feat f;
	size_t n = read_hex(RECORDED, buf, sizeof(buf));

	ASSERT_LT((size_t)1000, n);
	EXPECT_EQ(-EPROTO, nic_parse_features(buf, n - 100, &f));
	EXPECT_EQ(-EPROTO, nic_parse_features(buf, 10, &f));
}

TEST(on_both_ways)
{
	struct mb m;
	struct nic_feat f;
	size_t n = features(&m, 7, "enp1s0f0", both, both, none);

	ASSERT_EQ(0, nic_parse_features(m.b, n, &f));
	EXPECT_EQ(7, f.ifindex);
	EXPECT_STREQ("enp1s0f0", f.name);
	EXPECT_EQ(NIC_TX | NIC_RX | NIC_TX_HW | NIC_RX_HW, f.flags);
}

TEST(off_but_possible)
{
	struct mb m;
	struct nic_feat f;
	size_t n = features(&m, 7, "enp1s0f0", other, both, none);

	ASSERT_EQ(0, nic_parse_features(m.b, n, &f));
	EXPECT_EQ(NIC_TX_HW | NIC_RX_HW, f.flags);
}

TEST(off_fixed)
{
	struct mb m;
	struct nic_feat f;
	size_t n = features(&m, 2, "ens3", other, none, both);

	ASSERT_EQ(0, nic_parse_features(m.b, n, &f));
	EXPECT_EQ(NIC_TX_FIXED | NIC_RX_FIXED, f.flags);
}

TEST(tx_on_rx_off)
{
	struct mb m;
	struct nic_feat f;
	size_t n = features(&m, 2, "ens3", tx_only, both, none);

	ASSERT_EQ(0, nic_parse_features(m.b, n, &f));
	EXPECT_EQ(NIC_TX | NIC_TX_HW | NIC_RX_HW, f.flags);
}

/* With a mask, a listed bit is set only when it carries the VALUE flag. */
TEST(masked_bitset_reads_value_flags)
{
	struct genlmsghdr g = { .cmd = ETHTOOL_MSG_FEATURES_GET_REPLY };
	struct nic_feat f;
	struct mb m;

	begin(&m, 21, &g, sizeof(g));
	open_nest(&m, ETHTOOL_A_FEATURES_HEADER);
	put_u32(&m, ETHTOOL_A_HEADER_DEV_INDEX, 5);
	close_nest(&m);
	open_nest(&m, ETHTOOL_A_FEATURES_ACTIVE);
	open_nest(&m, ETHTOOL_A_BITSET_BITS);
	open_nest(&m, ETHTOOL_A_BITSET_BITS_BIT);
	put_str(&m, ETHTOOL_A_BITSET_BIT_NAME, "tls-hw-tx-offload");
	close_nest(&m);
	open_nest(&m, ETHTOOL_A_BITSET_BITS_BIT);
	put_str(&m, ETHTOOL_A_BITSET_BIT_NAME, "tls-hw-rx-offload");
	put(&m, ETHTOOL_A_BITSET_BIT_VALUE, NULL, 0);
	close_nest(&m);
	close_nest(&m);
	close_nest(&m);
	ASSERT_EQ(0, nic_parse_features(m.b, end(&m), &f));
	/* No HW set: nothing may be changed, so both read as fixed. */
	EXPECT_EQ(NIC_RX | NIC_TX_FIXED | NIC_RX_FIXED, f.flags);
}

TEST(compact_bitset_is_refused)
{
	struct genlmsghdr g = { .cmd = ETHTOOL_MSG_FEATURES_GET_REPLY };
	uint32_t bits[2] = { ~0u, ~0u };
	struct nic_feat f;
	struct mb m;

	begin(&m, 21, &g, sizeof(g));
	open_nest(&m, ETHTOOL_A_FEATURES_HEADER);
	put_u32(&m, ETHTOOL_A_HEADER_DEV_INDEX, 5);
	close_nest(&m);
	open_nest(&m, ETHTOOL_A_FEATURES_ACTIVE);
	put_u32(&m, ETHTOOL_A_BITSET_SIZE, 64);
	put(&m, ETHTOOL_A_BITSET_VALUE, bits, sizeof(bits));
	close_nest(&m);
	EXPECT_EQ(-EPROTO, nic_parse_features(m.b, end(&m), &f));
}

TEST(other_command_is_refused)
{
	struct mb m;
	struct nic_feat f;
	size_t n = features(&m, 7, "x", both, both, none);

	((struct genlmsghdr *)(m.b + NLMSG_HDRLEN))->cmd = ETHTOOL_MSG_LINKINFO_GET_REPLY;
	EXPECT_EQ(-EPROTO, nic_parse_features(m.b, n, &f));
}

/* ---- Links, lower devices and the decision ---- */

TEST(link_message)
{
	struct nic_link l;
	struct mb m;

	ASSERT_EQ(0, nic_parse_link(m.b, link_msg(&m, 9, "bond0.100", "vlan", 8, 0), &l));
	EXPECT_EQ(9, l.ifindex);
	EXPECT_EQ(8, l.link);
	EXPECT_EQ(0, l.master);
	EXPECT_STREQ("bond0.100", l.name);
	EXPECT_STREQ("vlan", l.kind);
	ASSERT_EQ(0, nic_parse_link(m.b, link_msg(&m, 3, "eth1", NULL, 0, 8), &l));
	EXPECT_EQ(8, l.master);
	EXPECT_STREQ("", l.kind);
}

/*
 * lo 1; eth0 2, eth1 3 (ports of bond0 8); eth2 4; bond0.100 9 (VLAN on
 * bond0); eth2.7 10 (VLAN on eth2); bond1 11 (no ports).
 */
FIXTURE(net)
{
	struct nic_link links[8];
	struct nic_feat feats[4];
	const char *why;
};

FIXTURE_SETUP(net)
{
	static const struct { int i; const char *n, *k; int link, master; } t[] = {
		{ 1, "lo", NULL, 0, 0 }, { 2, "eth0", NULL, 0, 8 },
		{ 3, "eth1", NULL, 0, 8 }, { 4, "eth2", NULL, 0, 0 },
		{ 8, "bond0", "bond", 0, 0 }, { 9, "bond0.100", "vlan", 8, 0 },
		{ 10, "eth2.7", "vlan", 4, 0 }, { 11, "bond1", "bond", 0, 0 },
	};
	struct mb m;
	size_t i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, nic_parse_link(m.b, link_msg(&m, t[i].i, t[i].n, t[i].k,
							  t[i].link, t[i].master),
					    &self->links[i]));
	/* All on but lo (off, fixed) until a test says otherwise. */
	ASSERT_EQ(0, nic_parse_features(m.b, features(&m, 1, "lo", none, none, both),
					&self->feats[0]));
	ASSERT_EQ(0, nic_parse_features(m.b, features(&m, 2, "eth0", both, both, none),
					&self->feats[1]));
	ASSERT_EQ(0, nic_parse_features(m.b, features(&m, 3, "eth1", both, both, none),
					&self->feats[2]));
	ASSERT_EQ(0, nic_parse_features(m.b, features(&m, 4, "eth2", both, both, none),
					&self->feats[3]));
	self->why = NULL;
}

FIXTURE_TEARDOWN(net)
{
}

static void turn_off(FIXTURE_DATA(net) *self, int i)
{
	struct mb m;

	nic_parse_features(m.b, features(&m, self->feats[i].ifindex,
					 self->feats[i].name, none, both, none),
			   &self->feats[i]);
}

#define decide(self, ifindex) \
	nic_decide((self)->links, 8, (self)->feats, 4, ifindex, &(self)->why)

TEST_F(net, plain_device_on)
{
	EXPECT_EQ(1, decide(self, 4));
}

TEST_F(net, plain_device_off)
{
	turn_off(self, 3);
	EXPECT_EQ(0, decide(self, 4));
	EXPECT_STREQ("eth2", self->why);
}

TEST_F(net, loopback_fixed_off)
{
	EXPECT_EQ(0, decide(self, 1));
	EXPECT_STREQ("lo", self->why);
}

TEST_F(net, bond_of_two_lowers)
{
	int low[NIC_MAX_LOWER];

	ASSERT_EQ(2, nic_lower(self->links, 8, 8, low, NIC_MAX_LOWER));
	EXPECT_EQ(2, low[0]);
	EXPECT_EQ(3, low[1]);
	EXPECT_EQ(1, decide(self, 8));
}

TEST_F(net, bond_with_one_port_off)
{
	turn_off(self, 2);
	EXPECT_EQ(0, decide(self, 8));
	EXPECT_STREQ("eth1", self->why);
}

TEST_F(net, vlan_on_bond)
{
	int low[NIC_MAX_LOWER];

	ASSERT_EQ(2, nic_lower(self->links, 8, 9, low, NIC_MAX_LOWER));
	EXPECT_EQ(1, decide(self, 9));
	turn_off(self, 1);
	EXPECT_EQ(0, decide(self, 9));
	EXPECT_STREQ("eth0", self->why);
}

TEST_F(net, vlan_on_device)
{
	EXPECT_EQ(1, decide(self, 10));
	turn_off(self, 3);
	EXPECT_EQ(0, decide(self, 10));
}

TEST_F(net, bond_without_ports)
{
	EXPECT_EQ(-ENOENT, decide(self, 11));
}

TEST_F(net, unknown_device)
{
	EXPECT_EQ(-ENOENT, decide(self, 42));
}

/* Features never read for a lower device: off, not a guess. */
TEST_F(net, missing_features_count_as_off)
{
	EXPECT_EQ(0, nic_decide(self->links, 8, self->feats, 2, 8, &self->why));
	EXPECT_STREQ("eth1", self->why);
}

TEST_F(net, vlan_loop_stops)
{
	self->links[5].link = 9;	/* bond0.100 on itself */
	EXPECT_EQ(-ELOOP, decide(self, 9));
}

/* ---- After the install: counted always, said once per device ---- */

TEST(fallback_counted_and_said_once_per_device)
{
	static struct stats st;
	static struct ktlsd d = { .nic_lock = PTHREAD_MUTEX_INITIALIZER,
				  .stats = &st };
	struct profile p = { .name = "web" };
	struct ktls_info sw = { .tx = KTLS_OFFLOAD_SW, .rx = KTLS_OFFLOAD_SW };
	struct ktls_info hw = { .tx = KTLS_OFFLOAD_HW, .rx = KTLS_OFFLOAD_HW };
	struct job j = { .d = &d, .p = &p, .nic = 1 };
	const struct front_stats *fs = &st.front[FRONT_HANDOFF];

	snprintf(j.nic_dev, sizeof(j.nic_dev), "eth0");
	offload_installed(&j, &hw);
	offload_installed(&j, &sw);
	offload_installed(&j, &sw);
	snprintf(j.nic_dev, sizeof(j.nic_dev), "bond0 (eth1)");
	offload_installed(&j, &sw);
	EXPECT_EQ(4ul, atomic_load(&fs->nic_asked));
	EXPECT_EQ(3ul, atomic_load(&fs->nic_fallback));
	ASSERT_EQ(2u, d.n_nic_said);
	EXPECT_STREQ("eth0", d.nic_said[0]);
	EXPECT_STREQ("bond0 (eth1)", d.nic_said[1]);
	/* A job not set up for the NIC is none of this. */
	j.nic = 0;
	offload_installed(&j, &sw);
	EXPECT_EQ(4ul, atomic_load(&fs->nic_asked));
}

/* ---- The real path, on this machine's loopback ---- */

TEST(live_loopback_socket_is_off)
{
	char dev[64];
	int fds[2], ret;

	ASSERT_EQ(0, tcp_pair(fds));
	ret = nic_socket_offload(fds[0], dev, sizeof(dev));
	close(fds[0]);
	close(fds[1]);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no ethtool netlink in this kernel");
	EXPECT_EQ(0, ret);
	EXPECT_STREQ("lo", dev);
}

TEST_HARNESS_MAIN
