// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The name an upcall client handshake verifies the server against: the
 * kernel's PEERNAME, else the profile's server_name, else the peer's
 * address, never nothing (a client with no name would check the chain
 * alone). That the address is then really checked is tests/unit/x509.c's
 * x509.no_name_checks_peer_address.
 */
#include <sys/un.h>

#include "kselftest_harness.h"
#include "testutil.h"
#include "ktlsd.h"
#include "upcall.h"

FIXTURE(name)
{
	int fds[2];
	struct profile p;
	char buf[256];
};

FIXTURE_SETUP(name)
{
	memset(&self->p, 0, sizeof(self->p));
	self->fds[0] = self->fds[1] = -1;
	ASSERT_EQ(0, tcp_pair(self->fds));
}

FIXTURE_TEARDOWN(name)
{
	close(self->fds[0]);
	close(self->fds[1]);
}

TEST_F(name, kernel_peername_first)
{
	self->p.server_name = "profile.example";
	upcall_verify_name("nfs.example", &self->p, self->fds[0], self->buf,
			   sizeof(self->buf));
	ASSERT_STREQ("nfs.example", self->buf);
}

TEST_F(name, profile_without_peername)
{
	self->p.server_name = "profile.example";
	upcall_verify_name("", &self->p, self->fds[0], self->buf,
			   sizeof(self->buf));
	ASSERT_STREQ("profile.example", self->buf);
}

TEST_F(name, address_without_either)
{
	upcall_verify_name(NULL, &self->p, self->fds[0], self->buf,
			   sizeof(self->buf));
	ASSERT_STREQ("127.0.0.1", self->buf);
}

/* An IPv4 peer reached over an IPv6 socket is named as certificates do. */
TEST_F(name, v4_mapped_address_as_ipv4)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	socklen_t len = sizeof(sa);
	int l, c;

	l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, l);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sa.sin6_addr);
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(l, 1));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&sa, &len));
	c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	upcall_verify_name(NULL, &self->p, c, self->buf, sizeof(self->buf));
	ASSERT_STREQ("127.0.0.1", self->buf);
	close(c);
	close(l);
}

/* Not connected: a name that matches no certificate, never an empty one. */
TEST_F(name, unconnected_socket_not_empty)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_LE(0, fd);
	upcall_verify_name(NULL, &self->p, fd, self->buf, sizeof(self->buf));
	ASSERT_STRNE("", self->buf);
	close(fd);
}

TEST_HARNESS_MAIN
