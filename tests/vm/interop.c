// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libktls against real peers: a handshake through the library, then data
 * both ways through the kernel's record layer, with openssl and GnuTLS's
 * command-line tools on the other end. Every TLS version x cipher.
 */
#include <linux/tls.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "peers.h"

FIXTURE(peer)
{
	struct peer p;
	struct ktls_config *cfg;
	struct ktls_session *s;
	int fd, lfd, port;
	char out[65536];
};

FIXTURE_VARIANT(peer)
{
	int version;
	unsigned cipher;
	const char *ossl;	/* OpenSSL cipher (1.2) or ciphersuite (1.3) */
	const char *gnutls;	/* GnuTLS priority cipher name */
};

#define V(name, ver, c, o, g)					\
	FIXTURE_VARIANT_ADD(peer, name)				\
	{ .version = ver, .cipher = c, .ossl = o, .gnutls = g }

V(12_aes_gcm_128, KTLS_TLS12, KTLS_CIPHER_AES_128_GCM,
  "ECDHE-ECDSA-AES128-GCM-SHA256", "AES-128-GCM");
V(12_aes_gcm_256, KTLS_TLS12, KTLS_CIPHER_AES_256_GCM,
  "ECDHE-ECDSA-AES256-GCM-SHA384", "AES-256-GCM");
V(12_chacha20_poly1305, KTLS_TLS12, KTLS_CIPHER_CHACHA20_POLY1305,
  "ECDHE-ECDSA-CHACHA20-POLY1305", "CHACHA20-POLY1305");
V(12_aes_ccm_128, KTLS_TLS12, KTLS_CIPHER_AES_128_CCM,
  "ECDHE-ECDSA-AES128-CCM", "AES-128-CCM");
V(13_aes_gcm_128, KTLS_TLS13, KTLS_CIPHER_AES_128_GCM,
  "TLS_AES_128_GCM_SHA256", "AES-128-GCM");
V(13_aes_gcm_256, KTLS_TLS13, KTLS_CIPHER_AES_256_GCM,
  "TLS_AES_256_GCM_SHA384", "AES-256-GCM");
V(13_chacha20_poly1305, KTLS_TLS13, KTLS_CIPHER_CHACHA20_POLY1305,
  "TLS_CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305");
V(13_aes_ccm_128, KTLS_TLS13, KTLS_CIPHER_AES_128_CCM,
  "TLS_AES_128_CCM_SHA256", "AES-128-CCM");

FIXTURE_SETUP(peer)
{
	self->p.pid = -1;
	self->p.in = self->p.out = -1;
	self->fd = self->lfd = -1;
	ASSERT_EQ(0, make_test_cert());
	self->port = free_port();
	ASSERT_LT(0, self->port);
}

FIXTURE_TEARDOWN(peer)
{
	ktls_session_free(self->s);
	ktls_config_free(self->cfg);
	peer_stop(&self->p);
	if (self->fd >= 0)
		close(self->fd);
	if (self->lfd >= 0)
		close(self->lfd);
}

/* Application data from a kTLS socket, skipping post-handshake records. */
static ssize_t ktls_read(int fd, char *buf, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];

	for (;;) {
		struct iovec iov = { buf, len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		ssize_t n = recvmsg(fd, &msg, 0);

		if (n <= 0)
			return n;
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != TLS_GET_RECORD_TYPE ||
		    *CMSG_DATA(cm) == 23)
			return n;
	}
}

static int ktls_ready(struct __test_metadata *_metadata, int ret)
{
	if (ret == -KTLS_E_NO_KTLS)
		SKIP(return 0, "kTLS: TCP_ULP \"tls\" unavailable on this kernel");
	return 1;
}

/* The negotiated parameters are what the variant forced. */
#define CHECK_INFO(s) do {						\
	const struct ktls_info *in = ktls_session_info(s);		\
	ASSERT_NE(NULL, in);						\
	ASSERT_EQ(variant->version, in->version);			\
	ASSERT_EQ(variant->cipher, in->cipher);				\
	ASSERT_EQ((int)KTLS_OFFLOAD_SW, (int)in->tx);			\
	ASSERT_EQ((int)KTLS_OFFLOAD_SW, (int)in->rx);			\
} while (0)

static void client_config(struct __test_metadata *_metadata,
			  FIXTURE_DATA(peer) *self,
			  const FIXTURE_VARIANT(peer) *variant)
{
	ASSERT_EQ(0, ktls_config_new(&self->cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->cfg, TEST_CERT));
	ASSERT_EQ(0, ktls_config_set_versions(self->cfg, variant->version,
					      variant->version));
	ASSERT_EQ(0, ktls_config_set_ciphers(self->cfg, variant->cipher));
}

/* Our client, the peer's server echoing lines reversed (-rev) or as is. */
static void client_exchange(struct __test_metadata *_metadata,
			    FIXTURE_DATA(peer) *self,
			    const FIXTURE_VARIANT(peer) *variant,
			    const char *expect)
{
	static const char msg[] = "hello kernel tls\n";
	char buf[256] = "";
	ssize_t n, got = 0;
	int ret;

	self->fd = connect_retry(self->port, 10000);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fd));
	ASSERT_EQ(0, ktls_session_set_server_name(self->s, "localhost"));
	ret = ktls_session_handshake(self->s);
	if (!ktls_ready(_metadata, ret))
		return;
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->s));
	CHECK_INFO(self->s);
	ASSERT_NE(NULL, ktls_session_info(self->s)->peer_subject);
	ASSERT_NE(NULL, strstr(ktls_session_info(self->s)->peer_subject,
			       "CN=localhost"));
	ASSERT_EQ(64, (int)strlen(ktls_session_info(self->s)->peer_sha256));

	ASSERT_EQ((ssize_t)strlen(msg), send(self->fd, msg, strlen(msg), 0));
	while (got < (ssize_t)strlen(expect)) {
		n = ktls_read(self->fd, buf + got, sizeof(buf) - 1 - got);
		ASSERT_LT(0, n) TH_LOG("read: %s", n ? strerror(errno) : "EOF");
		got += n;
	}
	buf[got] = 0;
	ASSERT_STREQ(expect, buf);
}

TEST_F_TIMEOUT(peer, client_vs_openssl_s_server, 120)
{
	char port[16];
	char *argv[] = { "openssl", "s_server", "-accept", port,
		"-cert", TEST_CERT, "-key", TEST_KEY, "-rev", "-quiet",
		variant->version == KTLS_TLS13 ? "-tls1_3" : "-tls1_2",
		variant->version == KTLS_TLS13 ? "-ciphersuites" : "-cipher",
		(char *)variant->ossl, NULL };

	snprintf(port, sizeof(port), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	client_config(_metadata, self, variant);
	client_exchange(_metadata, self, variant, "slt lenrek olleh\n");
}

TEST_F_TIMEOUT(peer, client_vs_gnutls_serv, 120)
{
	char port[16], prio[128];
	char *argv[] = { "gnutls-serv", "--echo", "-q", "-p", port,
		"--x509certfile", TEST_CERT, "--x509keyfile", TEST_KEY,
		"--priority", prio, NULL };

	snprintf(port, sizeof(port), "%d", self->port);
	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.%d:-CIPHER-ALL:+%s",
		 variant->version == KTLS_TLS13 ? 3 : 2, variant->gnutls);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	client_config(_metadata, self, variant);
	client_exchange(_metadata, self, variant, "hello kernel tls\n");
}

/* Our server; the peer's client sends "ping", we answer "pong". */
static void server_exchange(struct __test_metadata *_metadata,
			    FIXTURE_DATA(peer) *self,
			    const FIXTURE_VARIANT(peer) *variant)
{
	char buf[256] = "";
	const void *early;
	size_t have;
	ssize_t n;
	int ret;

	self->fd = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ktls_config_new(&self->cfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_add_cert(self->cfg, TEST_CERT, TEST_KEY));
	ASSERT_EQ(0, ktls_config_set_versions(self->cfg, variant->version,
					      variant->version));
	ASSERT_EQ(0, ktls_config_set_ciphers(self->cfg, variant->cipher));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fd));
	ret = ktls_session_handshake(self->s);
	if (!ktls_ready(_metadata, ret))
		return;
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->s));
	CHECK_INFO(self->s);

	/* The client may have sent its line with its last flight. */
	ASSERT_EQ(5, write(self->p.in, "ping\n", 5));
	have = ktls_session_early_data(self->s, &early);
	memcpy(buf, early, have);
	while (have < 5) {
		n = ktls_read(self->fd, buf + have, sizeof(buf) - 1 - have);
		ASSERT_LT(0, n) TH_LOG("read: %s", n ? strerror(errno) : "EOF");
		have += n;
	}
	ASSERT_EQ(0, memcmp(buf, "ping\n", 5));
	ASSERT_EQ(5, send(self->fd, "pong\n", 5, 0));
	buf[0] = 0;
	ASSERT_TRUE(peer_expect(&self->p, "pong", self->out, sizeof(self->out),
				10000)) TH_LOG("peer said: %s", self->out);
}

TEST_F_TIMEOUT(peer, server_vs_openssl_s_client, 120)
{
	char port[32];
	char *argv[] = { "openssl", "s_client", "-connect", port, "-quiet",
		"-CAfile", TEST_CERT, "-verify_return_error",
		variant->version == KTLS_TLS13 ? "-tls1_3" : "-tls1_2",
		variant->version == KTLS_TLS13 ? "-ciphersuites" : "-cipher",
		(char *)variant->ossl, NULL };

	self->lfd = listen_any(&self->port);
	ASSERT_LE(0, self->lfd);
	snprintf(port, sizeof(port), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	server_exchange(_metadata, self, variant);
}

TEST_F_TIMEOUT(peer, server_vs_gnutls_cli, 120)
{
	char port[16], prio[128];
	char *argv[] = { "gnutls-cli", "--x509cafile", TEST_CERT, "-p", port,
		"--priority", prio, "localhost", NULL };

	self->lfd = listen_any(&self->port);
	ASSERT_LE(0, self->lfd);
	snprintf(port, sizeof(port), "%d", self->port);
	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.%d:-CIPHER-ALL:+%s",
		 variant->version == KTLS_TLS13 ? 3 : 2, variant->gnutls);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	server_exchange(_metadata, self, variant);
}

TEST_HARNESS_MAIN
