// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl connect / listen against openssl and GnuTLS: the handshake,
 * stdin and stdout relayed through the kernel, exit 0 on a clean close,
 * and clear failures.
 */
#include "kselftest_harness.h"
#include "peers.h"

FIXTURE(ctl)
{
	struct peer ctl, peer;
	char path[PATH_MAX], port[32], hostport[64];
	char ctl_out[65536], peer_out[65536];
};

FIXTURE_SETUP(ctl)
{
	int port;

	self->ctl.pid = self->peer.pid = -1;
	self->ctl.in = self->ctl.out = self->peer.in = self->peer.out = -1;
	ASSERT_EQ(0, make_test_cert());
	ASSERT_EQ(0, ktlsctl_path(self->path, sizeof(self->path)));
	ASSERT_EQ(0, access(self->path, X_OK)) TH_LOG("no %s", self->path);
	port = free_port();
	ASSERT_LT(0, port);
	snprintf(self->port, sizeof(self->port), "%d", port);
	snprintf(self->hostport, sizeof(self->hostport), "127.0.0.1:%d", port);
}

FIXTURE_TEARDOWN(ctl)
{
	peer_stop(&self->ctl);
	peer_stop(&self->peer);
}

/* A kernel without kTLS: skip (CI turns this into a failure). */
#define SKIP_IF_NO_KTLS(out) do {					\
	if (strstr(out, "no TLS support"))				\
		SKIP(return, "kTLS: the kernel has no TLS ULP");	\
} while (0)

/* Send one line, close stdin, and see the whole exchange end cleanly. */
TEST_F_TIMEOUT(ctl, connect_to_openssl, 120)
{
	char *srv[] = { "openssl", "s_server", "-accept", self->hostport,
		"-quiet", "-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		NULL };
	char *cli[] = { self->path, "connect", self->hostport, "--ca", TEST_CERT,
		"--tls-version", "1.3", "--cipher", "chacha20-poly1305", NULL };

	self->peer.data_only = 1;
	ASSERT_EQ(0, peer_spawn(&self->peer, srv));
	ASSERT_EQ(0, wait_listen(atoi(self->port), 10000));
	ASSERT_EQ(0, peer_spawn(&self->ctl, cli));
	ASSERT_EQ(18, write(self->ctl.in, "line from ktlsctl\n", 18));
	close(self->ctl.in);
	self->ctl.in = -1;
	peer_expect(&self->ctl, "kTLS TX", self->ctl_out, sizeof(self->ctl_out),
		    10000);
	SKIP_IF_NO_KTLS(self->ctl_out);
	ASSERT_NE(NULL, strstr(self->ctl_out, "TLS 1.3 chacha20-poly1305"))
		TH_LOG("ktlsctl said: %s", self->ctl_out);
	ASSERT_NE(NULL, strstr(self->ctl_out, "kTLS TX sw RX sw"));
	ASSERT_TRUE(peer_expect(&self->peer, "line from ktlsctl\n",
				self->peer_out, sizeof(self->peer_out), 10000));
	/* Our close_notify ends s_server's only session; then its reply. */
	ASSERT_EQ(0, peer_wait(&self->ctl, 10000)) TH_LOG("%s", self->ctl_out);
}

/* ktlsctl listen --once with openssl s_client: lines both ways. */
TEST_F_TIMEOUT(ctl, listen_for_openssl, 120)
{
	char *srv[] = { self->path, "listen", self->hostport, "--cert", TEST_CERT,
		"--key", TEST_KEY, "--once", "--tls-version", "1.2", NULL };
	char *cli[] = { "openssl", "s_client", "-connect", self->hostport,
		"-quiet", "-no_ign_eof", "-CAfile", TEST_CERT,
		"-verify_return_error", NULL };

	ASSERT_EQ(0, peer_spawn(&self->ctl, srv));
	ASSERT_EQ(0, wait_listen(atoi(self->port), 10000));
	self->peer.data_only = 1;
	ASSERT_EQ(0, peer_spawn(&self->peer, cli));
	ASSERT_EQ(12, write(self->peer.in, "from client\n", 12));
	ASSERT_EQ(12, write(self->ctl.in, "from server\n", 12));
	ASSERT_TRUE(peer_expect(&self->ctl, "from client\n", self->ctl_out,
				sizeof(self->ctl_out), 10000))
		TH_LOG("ktlsctl said: %s", self->ctl_out);
	SKIP_IF_NO_KTLS(self->ctl_out);
	ASSERT_NE(NULL, strstr(self->ctl_out, "TLS 1.2"));
	ASSERT_TRUE(peer_expect(&self->peer, "from server\n", self->peer_out,
				sizeof(self->peer_out), 10000));
	/* s_client's stdin ends: its close_notify ends ktlsctl cleanly. */
	close(self->peer.in);
	self->peer.in = -1;
	ASSERT_EQ(0, peer_wait(&self->ctl, 10000)) TH_LOG("%s", self->ctl_out);
}

/* TLS 1.3 external PSK against gnutls-serv. */
TEST_F_TIMEOUT(ctl, psk_to_gnutls_serv, 120)
{
	static const char hexkey[] = "00112233445566778899aabbccddeeff";
	char pskfile[] = "/tmp/ktls-psk-XXXXXX", passwd[] = "/tmp/ktls-pwd-XXXXXX";
	char *srv[] = { "gnutls-serv", "--echo", "-q", "-p", self->port,
		"--pskpasswd", passwd,
		"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK", NULL };
	char *cli[] = { self->path, "connect", self->hostport,
		"--psk-identity", "alice", "--psk-file", pskfile, NULL };
	int fd;

	fd = mkstemp(pskfile);
	ASSERT_LE(0, fd);
	ASSERT_EQ(32, write(fd, hexkey, 32));
	close(fd);
	fd = mkstemp(passwd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(6, write(fd, "alice:", 6));
	ASSERT_EQ(33, write(fd, hexkey, 32) + write(fd, "\n", 1));
	close(fd);

	ASSERT_EQ(0, peer_spawn(&self->peer, srv));
	ASSERT_EQ(0, wait_listen(atoi(self->port), 10000));
	ASSERT_EQ(0, peer_spawn(&self->ctl, cli));
	ASSERT_EQ(9, write(self->ctl.in, "psk echo\n", 9));
	ASSERT_TRUE(peer_expect(&self->ctl, "psk echo\n", self->ctl_out,
				sizeof(self->ctl_out), 10000))
		TH_LOG("ktlsctl said: %s", self->ctl_out);
	SKIP_IF_NO_KTLS(self->ctl_out);
	ASSERT_NE(NULL, strstr(self->ctl_out, "TLS 1.3"));
	close(self->ctl.in);
	self->ctl.in = -1;
	unlink(pskfile);
	unlink(passwd);
}

/* A server certificate from an unknown CA: exit 1 and say why. */
TEST_F_TIMEOUT(ctl, untrusted_server_fails_clearly, 120)
{
	char *srv[] = { "openssl", "s_server", "-accept", self->hostport,
		"-quiet", "-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		NULL };
	char *cli[] = { self->path, "connect", self->hostport,
		"--ca", "/etc/ssl/certs/ca-certificates.crt", NULL };

	ASSERT_EQ(0, peer_spawn(&self->peer, srv));
	ASSERT_EQ(0, wait_listen(atoi(self->port), 10000));
	ASSERT_EQ(0, peer_spawn(&self->ctl, cli));
	ASSERT_EQ(1, peer_wait(&self->ctl, 20000));
	peer_expect(&self->ctl, "\n", self->ctl_out, sizeof(self->ctl_out), 1000);
	ASSERT_NE(NULL, strstr(self->ctl_out, "did not verify"))
		TH_LOG("ktlsctl said: %s", self->ctl_out);
}

TEST_HARNESS_MAIN
