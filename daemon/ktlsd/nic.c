// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NIC TLS offload, the part without I/O: ethtool's feature replies and
 * rtnetlink's link messages read, lower devices found, the decision made.
 * Every message here came from the kernel, or from a test's recording:
 * lengths and types are checked before anything is read (libnl's parsers
 * with a policy).
 */
#include <errno.h>
#include <string.h>

#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "nic.h"

/* A whole netlink message of type at least hdrlen + what it claims. */
static struct nlmsghdr *msg_ok(const void *msg, size_t len, size_t hdrlen)
{
	const struct nlmsghdr *h = msg;

	if (len < NLMSG_HDRLEN + hdrlen || h->nlmsg_len < NLMSG_HDRLEN + hdrlen ||
	    h->nlmsg_len > len)
		return NULL;
	return (struct nlmsghdr *)h;
}

static void copy_name(char *dst, size_t size, const struct nlattr *a)
{
	size_t n = strnlen(nla_data(a), nla_len(a));

	if (n >= size)
		n = size - 1;
	memcpy(dst, nla_data(a), n);
	dst[n] = 0;
}

/* The feature bits we look at, in a verbose bit set. */
static int bit_flag(const char *name)
{
	if (!strcmp(name, "tls-hw-tx-offload"))
		return NIC_TX;
	if (!strcmp(name, "tls-hw-rx-offload"))
		return NIC_RX;
	return 0;
}

/*
 * Which of our bits a verbose bit set has set: a listed bit is set when
 * the set has no mask (then only set bits are listed) or when it carries
 * the VALUE flag. A compact set (no names) tells us nothing: -EPROTO.
 */
static int bitset_bits(struct nlattr *set, unsigned *out)
{
	static struct nla_policy pol[ETHTOOL_A_BITSET_MAX + 1] = {
		[ETHTOOL_A_BITSET_NOMASK] = { .type = NLA_FLAG },
		[ETHTOOL_A_BITSET_SIZE] = { .type = NLA_U32 },
		[ETHTOOL_A_BITSET_BITS] = { .type = NLA_NESTED },
	};
	static struct nla_policy bpol[ETHTOOL_A_BITSET_BIT_MAX + 1] = {
		[ETHTOOL_A_BITSET_BIT_INDEX] = { .type = NLA_U32 },
		[ETHTOOL_A_BITSET_BIT_NAME] = { .type = NLA_NUL_STRING },
		[ETHTOOL_A_BITSET_BIT_VALUE] = { .type = NLA_FLAG },
	};
	struct nlattr *tb[ETHTOOL_A_BITSET_MAX + 1], *bit;
	struct nlattr *bt[ETHTOOL_A_BITSET_BIT_MAX + 1];
	int rem, nomask;

	*out = 0;
	if (nla_parse_nested(tb, ETHTOOL_A_BITSET_MAX, set, pol))
		return -EPROTO;
	if (!tb[ETHTOOL_A_BITSET_BITS])
		return -EPROTO;
	nomask = !!tb[ETHTOOL_A_BITSET_NOMASK];
	nla_for_each_nested(bit, tb[ETHTOOL_A_BITSET_BITS], rem) {
		if (nla_type(bit) != ETHTOOL_A_BITSET_BITS_BIT)
			continue;
		if (nla_parse_nested(bt, ETHTOOL_A_BITSET_BIT_MAX, bit, bpol))
			return -EPROTO;
		if (!bt[ETHTOOL_A_BITSET_BIT_NAME])
			continue;
		if (nomask || bt[ETHTOOL_A_BITSET_BIT_VALUE])
			*out |= bit_flag(nla_get_string(bt[ETHTOOL_A_BITSET_BIT_NAME]));
	}
	return 0;
}

static int parse_header(struct nlattr *hdr, struct nic_feat *f)
{
	static struct nla_policy pol[ETHTOOL_A_HEADER_MAX + 1] = {
		[ETHTOOL_A_HEADER_DEV_INDEX] = { .type = NLA_U32 },
		[ETHTOOL_A_HEADER_DEV_NAME] = { .type = NLA_NUL_STRING },
	};
	struct nlattr *tb[ETHTOOL_A_HEADER_MAX + 1];

	if (!hdr || nla_parse_nested(tb, ETHTOOL_A_HEADER_MAX, hdr, pol) ||
	    !tb[ETHTOOL_A_HEADER_DEV_INDEX])
		return -EPROTO;
	f->ifindex = nla_get_u32(tb[ETHTOOL_A_HEADER_DEV_INDEX]);
	if (tb[ETHTOOL_A_HEADER_DEV_NAME])
		copy_name(f->name, sizeof(f->name), tb[ETHTOOL_A_HEADER_DEV_NAME]);
	return 0;
}

int nic_parse_features(const void *msg, size_t len, struct nic_feat *f)
{
	static struct nla_policy pol[ETHTOOL_A_FEATURES_MAX + 1] = {
		[ETHTOOL_A_FEATURES_HEADER] = { .type = NLA_NESTED },
		[ETHTOOL_A_FEATURES_HW] = { .type = NLA_NESTED },
		[ETHTOOL_A_FEATURES_ACTIVE] = { .type = NLA_NESTED },
		[ETHTOOL_A_FEATURES_NOCHANGE] = { .type = NLA_NESTED },
	};
	struct nlattr *tb[ETHTOOL_A_FEATURES_MAX + 1];
	struct nlmsghdr *h = msg_ok(msg, len, GENL_HDRLEN);
	struct genlmsghdr *g;
	unsigned active, fixed = 0, hw = 0;

	memset(f, 0, sizeof(*f));
	if (!h)
		return -EPROTO;
	g = nlmsg_data(h);
	if (g->cmd != ETHTOOL_MSG_FEATURES_GET_REPLY ||
	    genlmsg_parse(h, 0, tb, ETHTOOL_A_FEATURES_MAX, pol))
		return -EPROTO;
	if (parse_header(tb[ETHTOOL_A_FEATURES_HEADER], f) ||
	    !tb[ETHTOOL_A_FEATURES_ACTIVE] ||
	    bitset_bits(tb[ETHTOOL_A_FEATURES_ACTIVE], &active))
		return -EPROTO;
	if (tb[ETHTOOL_A_FEATURES_NOCHANGE] &&
	    bitset_bits(tb[ETHTOOL_A_FEATURES_NOCHANGE], &fixed))
		return -EPROTO;
	if (tb[ETHTOOL_A_FEATURES_HW] &&
	    bitset_bits(tb[ETHTOOL_A_FEATURES_HW], &hw))
		return -EPROTO;
	/* As ethtool -k shows it: fixed unless the device may change it. */
	fixed |= ~hw;
	f->flags = active | (fixed & NIC_TX ? NIC_TX_FIXED : 0) |
		   (fixed & NIC_RX ? NIC_RX_FIXED : 0) |
		   (hw & NIC_TX ? NIC_TX_HW : 0) | (hw & NIC_RX ? NIC_RX_HW : 0);
	return 0;
}

int nic_parse_link(const void *msg, size_t len, struct nic_link *l)
{
	static struct nla_policy pol[IFLA_MAX + 1] = {
		[IFLA_IFNAME] = { .type = NLA_NUL_STRING },
		[IFLA_LINK] = { .type = NLA_U32 },
		[IFLA_MASTER] = { .type = NLA_U32 },
		[IFLA_LINKINFO] = { .type = NLA_NESTED },
	};
	static struct nla_policy ipol[IFLA_INFO_MAX + 1] = {
		[IFLA_INFO_KIND] = { .type = NLA_NUL_STRING },
	};
	struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	struct nlmsghdr *h = msg_ok(msg, len, sizeof(struct ifinfomsg));
	struct ifinfomsg *ifi;

	memset(l, 0, sizeof(*l));
	if (!h || h->nlmsg_type != RTM_NEWLINK ||
	    nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, pol))
		return -EPROTO;
	ifi = nlmsg_data(h);
	l->ifindex = ifi->ifi_index;
	if (tb[IFLA_IFNAME])
		copy_name(l->name, sizeof(l->name), tb[IFLA_IFNAME]);
	if (tb[IFLA_LINK])
		l->link = nla_get_u32(tb[IFLA_LINK]);
	if (tb[IFLA_MASTER])
		l->master = nla_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINKINFO] &&
	    !nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], ipol) &&
	    info[IFLA_INFO_KIND])
		copy_name(l->kind, sizeof(l->kind), info[IFLA_INFO_KIND]);
	return l->ifindex > 0 ? 0 : -EPROTO;
}

static const struct nic_link *find_link(const struct nic_link *links,
					size_t n, int ifindex)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (links[i].ifindex == ifindex)
			return &links[i];
	return NULL;
}

static int lower(const struct nic_link *links, size_t n, int ifindex,
		 int *out, size_t max, size_t *got, int depth)
{
	const struct nic_link *l = find_link(links, n, ifindex);
	size_t i, before = *got;
	int ret;

	if (!l)
		return -ENOENT;
	if (depth > NIC_MAX_DEPTH)
		return -ELOOP;
	if (!strcmp(l->kind, "vlan") && l->link > 0)
		return lower(links, n, l->link, out, max, got, depth + 1);
	if (strcmp(l->kind, "bond")) {
		if (*got >= max)
			return -E2BIG;
		out[(*got)++] = ifindex;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (links[i].master != ifindex)
			continue;
		ret = lower(links, n, links[i].ifindex, out, max, got, depth + 1);
		if (ret)
			return ret;
	}
	/* A bond without ports carries nothing itself: no offload. */
	return *got > before ? 0 : -ENOENT;
}

int nic_lower(const struct nic_link *links, size_t n, int ifindex,
	      int *out, size_t max)
{
	size_t got = 0;
	int ret = lower(links, n, ifindex, out, max, &got, 0);

	return ret ? ret : (int)got;
}

int nic_decide(const struct nic_link *links, size_t n_links,
	       const struct nic_feat *feats, size_t n_feats, int ifindex,
	       const char **why)
{
	int low[NIC_MAX_LOWER], n, i;
	size_t j;

	n = nic_lower(links, n_links, ifindex, low, NIC_MAX_LOWER);
	if (n < 0) {
		if (why)
			*why = n == -ENOENT ? "no lower device" : "too many devices";
		return n;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < n_feats; j++)
			if (feats[j].ifindex == low[i])
				break;
		if (j < n_feats && (feats[j].flags & NIC_TX))
			continue;
		if (why) {
			const struct nic_link *l = find_link(links, n_links, low[i]);

			*why = l ? l->name : "a lower device";
		}
		return 0;
	}
	return 1;
}
