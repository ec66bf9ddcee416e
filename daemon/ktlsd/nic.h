/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NIC TLS offload: which device a socket's records leave by, down through
 * bonds and VLANs to the devices that do the work, and whether those have
 * tls-hw-tx-offload / tls-hw-rx-offload on (ethtool netlink). nic.c reads
 * netlink messages and decides, without I/O, so the tests can hand it
 * recorded replies; nic_nl.c asks the kernel. ktlsd (prefer_nic_offload)
 * and ktlsctl probe use it.
 */
#ifndef KTLSD_NIC_H
#define KTLSD_NIC_H

#include <net/if.h>
#include <stddef.h>

/* A device's TLS offload features, as ethtool reports them. */
#define NIC_TX		(1u << 0)	/* tls-hw-tx-offload active */
#define NIC_RX		(1u << 1)	/* tls-hw-rx-offload active */
#define NIC_TX_FIXED	(1u << 2)	/* cannot be changed (not in HW, or
					   NOCHANGE): ethtool's [fixed] */
#define NIC_RX_FIXED	(1u << 3)
#define NIC_TX_HW	(1u << 4)	/* in HW: ethtool -K may turn it on */
#define NIC_RX_HW	(1u << 5)

struct nic_feat {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned flags;			/* NIC_* */
};

/* A link as rtnetlink describes it: enough to find lower devices. */
struct nic_link {
	int ifindex;
	int link;			/* IFLA_LINK: a VLAN's lower device */
	int master;			/* IFLA_MASTER: a bond port's bond */
	char name[IF_NAMESIZE];
	char kind[16];			/* IFLA_INFO_KIND: "vlan", "bond", "" */
};

/*
 * One ETHTOOL_MSG_FEATURES_GET_REPLY (a whole netlink message: nlmsghdr,
 * genlmsghdr, attributes; len bytes) into *f. Bit sets must be verbose
 * (named bits), as they are unless ETHTOOL_FLAG_COMPACT_BITSETS is asked.
 * 0, or -EPROTO for a message that is not such a reply or is malformed.
 */
int nic_parse_features(const void *msg, size_t len, struct nic_feat *f);

/* One RTM_NEWLINK message into *l: 0, or -EPROTO. */
int nic_parse_link(const void *msg, size_t len, struct nic_link *l);

#define NIC_MAX_LOWER	16
#define NIC_MAX_DEPTH	8

/*
 * The devices that carry ifindex's traffic: itself, or for a VLAN its
 * lower device's, for a bond its ports' (recursively, NIC_MAX_DEPTH
 * deep). Up to max of them into out; returns how many, or -ENOENT when
 * ifindex is not among links, -ELOOP past the depth, -E2BIG past max.
 */
int nic_lower(const struct nic_link *links, size_t n, int ifindex,
	      int *out, size_t max);

/*
 * The decision, from what was read: whether records to a peer routed
 * through ifindex can be offloaded, i.e. every lower device has
 * tls-hw-tx-offload on (RX alone is not worth TLS 1.2). 1 yes, 0 no
 * (*why, if why, names the first device that says no, in a static or
 * feats-owned string), or -errno as nic_lower(). A lower device missing
 * from feats counts as off.
 */
int nic_decide(const struct nic_link *links, size_t n_links,
	       const struct nic_feat *feats, size_t n_feats, int ifindex,
	       const char **why);

/* ---- nic_nl.c: asking the kernel ---- */

/*
 * Every link of this network namespace into *links (malloc'd, *n of
 * them): 0 or -errno.
 */
int nic_nl_links(struct nic_link **links, size_t *n);
/*
 * The TLS offload features of ifindex: 0, -EOPNOTSUPP when the kernel has
 * no ethtool netlink family, or -errno.
 */
int nic_nl_features(int ifindex, struct nic_feat *f);
/* The device the route from fd's local address to its peer leaves by. */
int nic_nl_route(int fd, int *ifindex);

/*
 * The whole question for a connected TCP socket: route, lower devices,
 * their features. 1 (offload possible), 0 (not: *dev names the device
 * and why, dev_len bytes), or -errno (asking failed; treat as 0).
 */
int nic_socket_offload(int fd, char *dev, size_t dev_len);

#endif
