// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prefer_nic_offload on a real kernel. No NIC here offloads TLS (QEMU has
 * none, Debian builds no emulated one), so this shows the real path with
 * devices whose features read off: a handshake over loopback keeps the
 * normal order (TLS 1.3) and reports software; and the device lookup
 * through the kernel's own replies for dummy devices, a VLAN on one and a
 * bond of two (the guest has no NIC: dummy devices read off [fixed] just
 * as a virtio NIC does, tests/unit/data). Where "on" leads to TLS 1.2:
 * tests/unit/nic_offload.c and ktlsd_config.c.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include "kselftest_harness.h"
#include "handoff_util.h"
#include "nic.h"

#define NIC_PROFILE							\
	"[profile nicweb]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 5000\n"					\
	"prefer_nic_offload = yes\n"

FIXTURE(nic)
{
	struct daemon d;
};

FIXTURE_SETUP(nic)
{
	daemon_start(_metadata, &self->d, NIC_PROFILE, 64);
}

FIXTURE_TEARDOWN(nic)
{
	daemon_stop(_metadata, &self->d);
}

TEST_F(nic, loopback_keeps_normal_order_and_reports_sw)
{
	const struct ktls_info *in;
	struct conn c = { 0 };
	int ret;

	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	ret = conn_handoff(&self->d, &c, "nicweb", NULL, NULL, 0);
	if (!host_has_ktls()) {
		conn_close(&c);
		SKIP(return, NO_KTLS_REASON);
	}
	ASSERT_EQ(0, ret) TH_LOG("%s", c.msg);
	in = ktls_session_info(c.s);
	EXPECT_EQ(KTLS_TLS13, in->version);
	EXPECT_EQ(KTLS_OFFLOAD_SW, (int)in->tx);
	EXPECT_EQ(KTLS_OFFLOAD_SW, (int)in->rx);
	conn_close(&c);
	/* Not set up for the NIC, so no fallback to tell of. */
	EXPECT_EQ(0, log_count(&self->d, "offloads TLS, but"));
}

/* ---- The device lookup, on the kernel's own replies ---- */

static int udp_to(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &sin.sin_addr);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What nic_socket_offload() says of a socket routed to addr. */
static int offload_to(const char *addr, char *dev, size_t len)
{
	int fd = udp_to(addr), ret;

	if (fd < 0)
		return -errno;
	ret = nic_socket_offload(fd, dev, len);
	close(fd);
	return ret;
}

FIXTURE(devs)
{
	char dev[64];
	int had_bonding;
};

FIXTURE_SETUP(devs)
{
	self->had_bonding = !access("/sys/module/bonding", F_OK);
	if (run_shell("modprobe -q dummy numdummies=0 && modprobe -q 8021q && "
		      "modprobe -q bonding max_bonds=0"))
		SKIP(return, "no dummy, 8021q or bonding module");
	ASSERT_EQ(0, run_shell(
		"ip link add kd0 type dummy && ip link add kd1 type dummy && "
		"ip link add kd2 type dummy && "
		"ip link add link kd0 name kd0.7 type vlan id 7 && "
		"ip link add kb0 type bond mode active-backup && "
		"ip link set kd1 master kb0 && ip link set kd2 master kb0 && "
		"for l in kd0 kd0.7 kb0; do ip link set $l up; done && "
		"ip addr add 10.91.0.1/24 dev kd0 && "
		"ip addr add 10.91.7.1/24 dev kd0.7 && "
		"ip addr add 10.91.8.1/24 dev kb0"));
}

/*
 * bonding needs the tls module (NIC offload through bonds): unloaded
 * again, or tls could not be (tests/vm/probe.c unloads it).
 */
FIXTURE_TEARDOWN(devs)
{
	run_shell("ip link del kb0; ip link del kd0.7; ip link del kd0; "
		  "ip link del kd1; ip link del kd2; true");
	if (!self->had_bonding)
		run_shell("rmmod bonding");
}

/* What ktlsd asked for the handshake above: lo, off. */
TEST_F(devs, loopback_reads_off)
{
	EXPECT_EQ(0, offload_to("127.0.0.1", self->dev, sizeof(self->dev)));
	EXPECT_STREQ("lo", self->dev);
}

TEST_F(devs, dummy_reads_off_fixed)
{
	struct nic_link *links;
	struct nic_feat f;
	size_t n, i;

	ASSERT_EQ(0, nic_nl_links(&links, &n));
	for (i = 0; i < n && strcmp(links[i].name, "kd0"); i++)
		;
	ASSERT_GT(n, i) TH_LOG("kd0 is not among the links");
	ASSERT_EQ(0, nic_nl_features(links[i].ifindex, &f));
	EXPECT_STREQ("kd0", f.name);
	EXPECT_EQ(NIC_TX_FIXED | NIC_RX_FIXED, f.flags);
	free(links);
	EXPECT_EQ(0, offload_to("10.91.0.2", self->dev, sizeof(self->dev)));
	EXPECT_STREQ("kd0", self->dev);
}

TEST_F(devs, vlan_looks_at_its_lower_device)
{
	struct nic_link *links;
	int low[NIC_MAX_LOWER];
	size_t n, i;

	ASSERT_EQ(0, nic_nl_links(&links, &n));
	for (i = 0; i < n && strcmp(links[i].name, "kd0.7"); i++)
		;
	ASSERT_GT(n, i);
	EXPECT_STREQ("vlan", links[i].kind);
	ASSERT_EQ(1, nic_lower(links, n, links[i].ifindex, low, NIC_MAX_LOWER));
	for (i = 0; i < n && links[i].ifindex != low[0]; i++)
		;
	ASSERT_GT(n, i);
	EXPECT_STREQ("kd0", links[i].name);
	free(links);
	EXPECT_EQ(0, offload_to("10.91.7.2", self->dev, sizeof(self->dev)));
	EXPECT_STREQ("kd0.7 (kd0)", self->dev);
}

TEST_F(devs, bond_looks_at_its_ports)
{
	struct nic_link *links;
	int low[NIC_MAX_LOWER];
	size_t n, i;

	ASSERT_EQ(0, nic_nl_links(&links, &n));
	for (i = 0; i < n && strcmp(links[i].name, "kb0"); i++)
		;
	ASSERT_GT(n, i);
	EXPECT_STREQ("bond", links[i].kind);
	EXPECT_EQ(2, nic_lower(links, n, links[i].ifindex, low, NIC_MAX_LOWER));
	free(links);
	EXPECT_EQ(0, offload_to("10.91.8.2", self->dev, sizeof(self->dev)));
	EXPECT_STREQ("kb0 (kd1)", self->dev);
}

TEST_HARNESS_MAIN
