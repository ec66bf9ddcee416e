// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NIC TLS offload, asking the kernel: the route to a socket's peer and the
 * links (rtnetlink), the features of a device (ethtool netlink, through
 * libnl-genl). What comes back is read by nic.c. Only a profile with
 * prefer_nic_offload = yes, and ktlsctl probe, come here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/ethtool_netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "nic.h"

static int nl_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_NODEV: return -ENODEV;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	default: return -EIO;
	}
}

static struct nl_sock *open_sock(int protocol)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk)
		return NULL;
	if (nl_connect(sk, protocol)) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* Send msg (freed), then read answers into cb until done: 0 or -errno. */
static int ask(struct nl_sock *sk, struct nl_msg *msg, nl_recvmsg_msg_cb_t cb,
	       void *arg)
{
	int ret;

	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	ret = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return nl_errno(ret);
	ret = nl_recvmsgs_default(sk);
	return ret < 0 ? nl_errno(ret) : 0;
}

struct links {
	struct nic_link *v;
	size_t n, cap;
	int err;
};

static int on_link(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct links *ls = arg;
	struct nic_link *more;

	if (ls->n == ls->cap) {
		more = realloc(ls->v, (ls->cap * 2 + 8) * sizeof(*more));
		if (!more) {
			ls->err = -ENOMEM;
			return NL_STOP;
		}
		ls->v = more;
		ls->cap = ls->cap * 2 + 8;
	}
	if (!nic_parse_link(h, h->nlmsg_len, &ls->v[ls->n]))
		ls->n++;
	return NL_OK;
}

int nic_nl_links(struct nic_link **links, size_t *n)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct links ls = { 0 };
	struct nl_sock *sk = open_sock(NETLINK_ROUTE);
	struct nl_msg *msg;
	int ret = -ENOMEM;

	if (!sk)
		return -EIO;
	msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
	if (msg && nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) == 0)
		ret = ask(sk, msg, on_link, &ls);
	else
		nlmsg_free(msg);
	nl_socket_free(sk);
	if (!ret)
		ret = ls.err;
	if (ret) {
		free(ls.v);
		return ret;
	}
	*links = ls.v;
	*n = ls.n;
	return 0;
}

struct feat_answer {
	struct nic_feat *f;
	int ret;
};

static int on_features(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct feat_answer *a = arg;

	a->ret = nic_parse_features(h, h->nlmsg_len, a->f);
	return NL_OK;
}

int nic_nl_features(int ifindex, struct nic_feat *f)
{
	/* The header nest by hand: the kernel wants NLA_F_NESTED on it. */
	struct {
		struct nlattr a;
		uint32_t index;
	} hdr = {
		{ .nla_len = sizeof(hdr), .nla_type = ETHTOOL_A_HEADER_DEV_INDEX },
		(uint32_t)ifindex,
	};
	struct feat_answer a = { f, -ENODATA };
	struct nl_sock *sk = open_sock(NETLINK_GENERIC);
	struct nl_msg *msg = NULL;
	int family, ret = -ENOMEM;

	if (!sk)
		return -EIO;
	family = genl_ctrl_resolve(sk, ETHTOOL_GENL_NAME);
	if (family < 0) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 NLM_F_REQUEST, ETHTOOL_MSG_FEATURES_GET,
				 ETHTOOL_GENL_VERSION) ||
	    nla_put(msg, ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED, sizeof(hdr),
		    &hdr)) {
		nlmsg_free(msg);
		goto out;
	}
	ret = ask(sk, msg, on_features, &a);
	if (!ret)
		ret = a.ret;
out:
	nl_socket_free(sk);
	return ret;
}

static int on_route(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[RTA_MAX + 1];
	int *oif = arg;

	if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct rtmsg), tb, RTA_MAX,
			NULL) == 0 && tb[RTA_OIF] && nla_len(tb[RTA_OIF]) >= 4)
		*oif = nla_get_u32(tb[RTA_OIF]);
	return NL_OK;
}

/* fd's peer as an address family and bytes (IPv4-mapped: IPv4). */
static int peer_addr(int fd, int *family, uint8_t addr[16], size_t *len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return -errno;
	if (ss.ss_family == AF_INET) {
		*family = AF_INET;
		*len = 4;
		memcpy(addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*family = AF_INET;
		*len = 4;
		memcpy(addr, s6->sin6_addr.s6_addr + 12, 4);
	} else if (ss.ss_family == AF_INET6) {
		*family = AF_INET6;
		*len = 16;
		memcpy(addr, &s6->sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int nic_nl_route(int fd, int *ifindex)
{
	struct rtmsg rt = { 0 };
	uint8_t addr[16];
	size_t len = 0;
	int family = 0, oif = 0, ret;
	struct nl_sock *sk;
	struct nl_msg *msg;

	ret = peer_addr(fd, &family, addr, &len);
	if (ret)
		return ret;
	rt.rtm_family = family;
	rt.rtm_dst_len = len * 8;
	sk = open_sock(NETLINK_ROUTE);
	if (!sk)
		return -EIO;
	ret = -ENOMEM;
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	if (msg && !nlmsg_append(msg, &rt, sizeof(rt), NLMSG_ALIGNTO) &&
	    !nla_put(msg, RTA_DST, len, addr))
		ret = ask(sk, msg, on_route, &oif);
	else
		nlmsg_free(msg);
	nl_socket_free(sk);
	if (!ret && oif <= 0)
		ret = -ENETUNREACH;
	if (!ret)
		*ifindex = oif;
	return ret;
}

/* Features of every lower device of ifindex into feats (*n). */
static int lower_features(const struct nic_link *links, size_t n_links,
			  int ifindex, struct nic_feat *feats, size_t *n)
{
	int low[NIC_MAX_LOWER], k, i, ret;

	k = nic_lower(links, n_links, ifindex, low, NIC_MAX_LOWER);
	if (k < 0)
		return k;
	for (*n = 0, i = 0; i < k; i++) {
		ret = nic_nl_features(low[i], &feats[*n]);
		if (ret)
			return ret;
		(*n)++;
	}
	return 0;
}

int nic_socket_offload(int fd, char *dev, size_t dev_len)
{
	struct nic_feat feats[NIC_MAX_LOWER];
	struct nic_link *links = NULL;
	const char *why = NULL;
	size_t n_links = 0, n_feats = 0, i;
	int ifindex, ret;

	snprintf(dev, dev_len, "?");
	ret = nic_nl_route(fd, &ifindex);
	if (!ret)
		ret = nic_nl_links(&links, &n_links);
	if (ret)
		return ret;
	for (i = 0; i < n_links; i++)
		if (links[i].ifindex == ifindex)
			snprintf(dev, dev_len, "%s", links[i].name);
	ret = lower_features(links, n_links, ifindex, feats, &n_feats);
	if (!ret)
		ret = nic_decide(links, n_links, feats, n_feats, ifindex, &why);
	if (ret == 0 && why && strcmp(why, dev))
		snprintf(dev + strlen(dev), dev_len - strlen(dev), " (%s)", why);
	free(links);
	return ret;
}
