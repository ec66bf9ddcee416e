// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Whether an install went to a NIC, told without sock_diag. The kernel
 * counts every direction it hands to a NIC (TlsTxDevice and TlsRxDevice in
 * /proc/net/tls_stat, for the network namespace of whoever opened the
 * file). If neither count moved while we installed, and the socket lives
 * in that namespace, both directions went to software. On hosts without a
 * TLS-offloading NIC, nearly all of them, the counts never move, so the
 * sock_diag query (for ktlsd before Linux 6.15 also a round trip to its
 * supervisor) is left out. Any doubt (a count moved, another namespace, a
 * file or option this kernel lacks) leaves the answer to sock_diag.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static int count_fd = -1;
static uint64_t count_netns;
static int count_off;

void nic_count_disable(void)
{
	count_off = 1;
}

static int netns_cookie(int fd, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) ||
	       len != sizeof(*cookie) ? -1 : 0;
}

/*
 * The file, opened once it exists (the tls module makes it), with the
 * cookie of the namespace it speaks for: ours, read off a socket of ours
 * made at the same moment.
 */
static int count_file(void)
{
	int fd = __atomic_load_n(&count_fd, __ATOMIC_ACQUIRE), s;

	if (fd >= 0)
		return fd;
	pthread_mutex_lock(&count_lock);
	if (count_fd < 0) {
		fd = open("/proc/net/tls_stat", O_RDONLY | O_CLOEXEC);
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && s >= 0 && !netns_cookie(s, &count_netns))
			__atomic_store_n(&count_fd, fd, __ATOMIC_RELEASE);
		else if (fd >= 0)
			close(fd);
		if (s >= 0)
			close(s);
	}
	fd = count_fd;
	pthread_mutex_unlock(&count_lock);
	return fd;
}

void nic_count_open(void)
{
	if (!count_off)
		count_file();
}

static int take_count(const char *name, unsigned long long v, void *arg)
{
	struct nic_count *c = arg;

	if (!strcmp(name, "TlsTxDevice"))
		c->tx = v;
	else if (!strcmp(name, "TlsRxDevice"))
		c->rx = v;
	return 0;
}

void nic_count_read(struct nic_count *c)
{
	char buf[2048];
	int fd = count_off ? -1 : count_file();
	ssize_t n;

	c->ok = 0;
	if (fd < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = 0;
	c->tx = c->rx = -1;
	tls_stat_parse(buf, take_count, c);
	c->ok = c->tx >= 0 && c->rx >= 0;
}

int nic_count_unmoved(int fd, const struct nic_count *before)
{
	struct nic_count now;
	uint64_t cookie;

	if (!before->ok)
		return 0;
	nic_count_read(&now);
	if (!now.ok || now.tx != before->tx || now.rx != before->rx)
		return 0;
	return !netns_cookie(fd, &cookie) && cookie == count_netns;
}
