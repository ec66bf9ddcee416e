// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl probe, the NIC part: each interface's TLS offload features, as
 * ethtool netlink reports them, and for VLANs and bonds the devices below
 * that would do the work (what prefer_nic_offload looks at).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "../ktlsd/nic.h"

static const char *state(unsigned flags, unsigned on, unsigned fixed)
{
	if (flags & on)
		return flags & fixed ? "on [fixed]" : "on";
	return flags & fixed ? "off [fixed]" : "off";
}

static void print_lower(const struct nic_link *links, size_t n, int ifindex,
			int json)
{
	int low[NIC_MAX_LOWER], k, i;
	size_t j;

	k = nic_lower(links, n, ifindex, low, NIC_MAX_LOWER);
	if (k == 1 && low[0] == ifindex)
		k = 0;		/* a device of its own */
	for (i = 0; i < k; i++)
		for (j = 0; j < n; j++)
			if (links[j].ifindex == low[i]) {
				if (json) {
					fputs(i ? ", " : "", stdout);
					ctl_json_string(links[j].name);
				} else {
					printf(" %s", links[j].name);
				}
			}
}

static void print_one(const struct nic_link *links, size_t n, size_t i,
		      int json, int first)
{
	const struct nic_link *l = &links[i];
	struct nic_feat f;
	int ret = nic_nl_features(l->ifindex, &f);

	if (json) {
		printf("%s{\"name\": ", first ? "" : ", ");
		ctl_json_string(l->name);
		printf(", \"kind\": ");
		ctl_json_string(l->kind);
		if (ret)
			printf(", \"error\": \"%s\"", strerror(-ret));
		else
			printf(", \"tls_hw_tx\": %s, \"tls_hw_tx_fixed\": %s, "
			       "\"tls_hw_rx\": %s, \"tls_hw_rx_fixed\": %s",
			       f.flags & NIC_TX ? "true" : "false",
			       f.flags & NIC_TX_FIXED ? "true" : "false",
			       f.flags & NIC_RX ? "true" : "false",
			       f.flags & NIC_RX_FIXED ? "true" : "false");
		printf(", \"lower\": [");
		print_lower(links, n, l->ifindex, 1);
		printf("]}");
		return;
	}
	printf("  %-15s ", l->name);
	if (ret)
		printf("features not read: %s", strerror(-ret));
	else
		printf("tx %-11s rx %-11s", state(f.flags, NIC_TX, NIC_TX_FIXED),
		       state(f.flags, NIC_RX, NIC_RX_FIXED));
	if (*l->kind) {
		printf(" (%s", l->kind);
		print_lower(links, n, l->ifindex, 0);
		putchar(')');
	}
	putchar('\n');
}

void ctl_probe_nic(int json)
{
	struct nic_link *links = NULL;
	size_t n = 0, i;
	struct nic_feat f;
	int ret = nic_nl_links(&links, &n);

	/* Is ethtool netlink there at all? Ask once, about the first link. */
	if (!ret && n)
		ret = nic_nl_features(links[0].ifindex, &f);
	if (ret == -EOPNOTSUPP || (ret && !n)) {
		if (json)
			printf(", \"interfaces\": null");
		else
			printf("NIC offload:   unknown (%s)\n", ret == -EOPNOTSUPP ?
			       "no ethtool netlink in this kernel" : strerror(-ret));
		free(links);
		return;
	}
	if (json)
		printf(", \"interfaces\": [");
	else
		printf("NIC TLS offload (tls-hw-tx-offload, tls-hw-rx-offload):\n");
	for (i = 0; i < n; i++)
		print_one(links, n, i, json, i == 0);
	if (json)
		putchar(']');
	free(links);
}
