// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prefer_nic_offload on a job: before the handshake, whether the socket's
 * device offloads TLS (nic.h), and so which of the profile's two
 * configurations it gets; after the install, whether the kernel really
 * used the NIC. The kernel falls back to software without a word (a
 * device out of offload contexts, a NETDEV_DOWN): we count each such
 * socket and say it once per device.
 */
#include <string.h>

#include "loop.h"
#include "nic.h"

const struct ktls_config *offload_pick(struct job *j, int fd)
{
	int ret;

	j->nic = 0;
	if (!j->p->nic_cfg)
		return j->p->cfg;
	ret = nic_socket_offload(fd, j->nic_dev, sizeof(j->nic_dev));
	if (ret < 0)
		log_debug("handshake %s: the device's TLS offload could not be "
			  "read (%s); the normal order", j->peer, strerror(-ret));
	else if (!ret)
		log_debug("handshake %s: %s has no TLS offload on; the normal "
			  "order", j->peer, j->nic_dev);
	if (ret != 1)
		return j->p->cfg;
	j->nic = 1;
	return j->p->nic_cfg;
}

/* Whether dev is said already; if not, it is from now on. */
static int said_before(struct ktlsd *d, const char *dev)
{
	size_t i;
	int seen = 0;

	pthread_mutex_lock(&d->nic_lock);
	for (i = 0; i < d->n_nic_said && !seen; i++)
		seen = !strcmp(d->nic_said[i], dev);
	if (!seen && d->n_nic_said < NIC_SAID_MAX)
		snprintf(d->nic_said[d->n_nic_said++], sizeof(d->nic_said[0]),
			 "%s", dev);
	pthread_mutex_unlock(&d->nic_lock);
	/* Past NIC_SAID_MAX devices: say nothing more, count on. */
	return seen || d->n_nic_said >= NIC_SAID_MAX;
}

void offload_installed(struct job *j, const struct ktls_info *in)
{
	if (!j->nic)
		return;
	stats_nic(j->d->stats, j->front, in->tx == KTLS_OFFLOAD_HW);
	if (in->tx == KTLS_OFFLOAD_HW || said_before(j->d, j->nic_dev))
		return;
	log_warn("handshake %s profile %s: %s offloads TLS, but the kernel "
		 "installed the keys in software (TX %s); counted as "
		 "nic_fallback, said once per device", j->peer, j->p->name,
		 j->nic_dev, in->tx == KTLS_OFFLOAD_SW ? "sw" : "none");
}
