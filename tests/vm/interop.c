// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libktls against real peers: a handshake through the library, then data
 * both ways through the kernel's record layer, with openssl and GnuTLS's
 * command-line tools on the other end. Every TLS version x cipher.
 */
#include <pthread.h>
#include <sys/sendfile.h>

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
	unsigned bulk_mib;	/* size of the bulk transfers in */
};

/*
 * Bulk transfers are 64 MiB in and 32 MiB out for AES-GCM-128 (the common
 * case) and a quarter of that for the others: under emulation every MiB
 * costs, and the code path is the same for all ciphers.
 */
#define V(name, ver, c, o, g)					\
	FIXTURE_VARIANT_ADD(peer, name)				\
	{ .version = ver, .cipher = c, .ossl = o, .gnutls = g,	\
	  .bulk_mib = c == KTLS_CIPHER_AES_128_GCM ? 64 : 16 }

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

/*
 * Connect to the peer's server and hand the socket to the kernel; 0 when
 * the test was skipped (a failed assertion leaves the test directly).
 */
static int client_handshake(struct __test_metadata *_metadata,
			    FIXTURE_DATA(peer) *self,
			    const FIXTURE_VARIANT(peer) *variant)
{
	const struct ktls_info *info;
	int ret;

	client_config(_metadata, self, variant);
	self->fd = connect_retry(self->port, 10000);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fd));
	ASSERT_EQ(0, ktls_session_set_server_name(self->s, "localhost"));
	ret = ktls_session_handshake(self->s);
	if (!ktls_ready(_metadata, ret))
		return 0;
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->s));
	info = ktls_session_info(self->s);
	CHECK_INFO(self->s);
	ASSERT_NE(NULL, info->peer_subject);
	ASSERT_NE(NULL, strstr(info->peer_subject, "CN=localhost"));
	ASSERT_EQ(64, (int)strlen(info->peer_sha256));
	return 1;
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

	if (!client_handshake(_metadata, self, variant))
		return;
	ASSERT_EQ((ssize_t)strlen(msg), send(self->fd, msg, strlen(msg), 0));
	while (got < (ssize_t)strlen(expect)) {
		n = ktls_recv(self->s, buf + got, sizeof(buf) - 1 - got, 0, NULL);
		ASSERT_LT(0, n) TH_LOG("read: %s", n ? ktls_strerror(n) : "EOF");
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
	client_exchange(_metadata, self, variant, "hello kernel tls\n");
}

/* Accept the peer's client and hand the socket to the kernel as server. */
static int server_handshake(struct __test_metadata *_metadata,
			    FIXTURE_DATA(peer) *self,
			    const FIXTURE_VARIANT(peer) *variant)
{
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
		return 0;
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->s));
	CHECK_INFO(self->s);
	return 1;
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

	/*
	 * The client has its line before the handshake, so it sends it right
	 * behind its last flight (TLS 1.3: with its Finished): it may arrive
	 * before the keys are in the kernel, and must not be lost.
	 */
	ASSERT_EQ(5, write(self->p.in, "ping\n", 5));
	if (!server_handshake(_metadata, self, variant))
		return;

	have = ktls_session_early_data(self->s, &early);
	memcpy(buf, early, have);
	while (have < 5) {
		n = ktls_recv(self->s, buf + have, sizeof(buf) - 1 - have, 0, NULL);
		ASSERT_LT(0, n) TH_LOG("read: %s", n ? ktls_strerror(n) : "EOF");
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

/* ---- bulk data, 1-byte writes and close_notify ---- */

#define BULK_IN ((size_t)variant->bulk_mib << 20)	/* the peer sends */
#define BULK_OUT (BULK_IN / 2)				/* we send, by sendfile() */

struct feeder {
	int fd;			/* write the pattern here */
	int file;		/* or sendfile() this file, if >= 0 */
	size_t len;
	uint64_t seed;
	size_t done;
};

static void *feed(void *arg)
{
	static __thread unsigned char buf[1 << 16];
	struct feeder *f = arg;
	off_t off = 0;

	if (f->file >= 0) {
		while ((size_t)off < f->len)
			if (sendfile(f->fd, f->file, &off, f->len - off) <= 0)
				break;
		f->done = off;
		return NULL;
	}
	while (f->done < f->len) {
		size_t n = f->len - f->done < sizeof(buf) ? f->len - f->done
							  : sizeof(buf);

		fill_pattern(buf, n, f->seed, f->done);
		if (write_full(f->fd, buf, n) != (ssize_t)n)
			break;
		f->done += n;
	}
	return NULL;
}

/* A temporary file holding len bytes of the pattern. */
static int pattern_file(size_t len, uint64_t seed)
{
	char path[] = "/tmp/ktls-bulk-XXXXXX";
	unsigned char buf[1 << 16];
	size_t off;
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	for (off = 0; off < len; off += sizeof(buf)) {
		fill_pattern(buf, sizeof(buf), seed, off);
		if (write_full(fd, buf, sizeof(buf)) != sizeof(buf))
			return -1;
	}
	return fd;
}

/* Read len bytes with rd(ctx, ...) and check them against the pattern. */
static long long drain_check(ssize_t (*rd)(void *, char *, size_t), void *ctx,
			     size_t len, uint64_t seed, size_t *got)
{
	static char buf[1 << 16];
	long long bad = -1;

	*got = 0;
	while (*got < len) {
		ssize_t n = rd(ctx, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (bad < 0)
			bad = check_pattern(buf, n, seed, *got);
		*got += n;
	}
	return bad;
}

/* From the peer's stdout pipe. */
static ssize_t pipe_read(void *fd, char *buf, size_t len)
{
	return read(*(int *)fd, buf, len);
}

/* From our kTLS socket, through the library. */
static ssize_t session_read(void *s, char *buf, size_t len)
{
	return ktls_recv(s, buf, len, 0, NULL);
}

/*
 * Our client against openssl s_server: 32 MiB out by sendfile() (s_server
 * prints what it receives), 64 MiB in (what s_server reads from its
 * stdin), then close_notify both ways.
 */
TEST_F_TIMEOUT(peer, client_bulk_and_close_notify_openssl, 600)
{
	struct feeder snd = { .file = -1, .len = BULK_OUT, .seed = 41 };
	struct feeder rcv = { .file = -1, .len = BULK_IN, .seed = 42 };
	pthread_t th;
	char port[32];
	char *argv[] = { "openssl", "s_server", "-accept", port, "-quiet",
		"-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		variant->version == KTLS_TLS13 ? "-tls1_3" : "-tls1_2",
		variant->version == KTLS_TLS13 ? "-ciphersuites" : "-cipher",
		(char *)variant->ossl, NULL };
	size_t got;

	snprintf(port, sizeof(port), "127.0.0.1:%d", self->port);
	self->p.data_only = 1;
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	if (!client_handshake(_metadata, self, variant))
		return;

	snd.fd = self->fd;
	snd.file = pattern_file(BULK_OUT, 41);
	ASSERT_LE(0, snd.file);
	ASSERT_EQ(0, pthread_create(&th, NULL, feed, &snd));
	ASSERT_EQ(-1, drain_check(pipe_read, &self->p.out, BULK_OUT, 41, &got));
	ASSERT_EQ(BULK_OUT, got);
	pthread_join(th, NULL);
	ASSERT_EQ(BULK_OUT, snd.done);
	close(snd.file);

	rcv.fd = self->p.in;
	ASSERT_EQ(0, pthread_create(&th, NULL, feed, &rcv));
	ASSERT_EQ(-1, drain_check(session_read, self->s, BULK_IN, 42, &got));
	ASSERT_EQ(BULK_IN, got);
	pthread_join(th, NULL);

	/* Ours, then s_server's in answer: the end of the stream. */
	ASSERT_EQ(0, ktls_close_notify(self->s));
	ASSERT_EQ(0, ktls_recv(self->s, self->out, sizeof(self->out), 0, NULL));
}

/* 1,000 one-byte records to openssl s_server, which prints them. */
TEST_F_TIMEOUT(peer, client_one_byte_writes_openssl, 300)
{
	char port[32];
	char *argv[] = { "openssl", "s_server", "-accept", port, "-quiet",
		"-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		variant->version == KTLS_TLS13 ? "-tls1_3" : "-tls1_2",
		variant->version == KTLS_TLS13 ? "-ciphersuites" : "-cipher",
		(char *)variant->ossl, NULL };
	unsigned char msg[1000];
	size_t i, got;

	snprintf(port, sizeof(port), "127.0.0.1:%d", self->port);
	self->p.data_only = 1;
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	if (!client_handshake(_metadata, self, variant))
		return;
	fill_pattern(msg, sizeof(msg), 43, 0);
	for (i = 0; i < sizeof(msg); i++)
		ASSERT_EQ(1, send(self->fd, &msg[i], 1, 0));
	ASSERT_EQ(-1, drain_check(pipe_read, &self->p.out, sizeof(msg), 43, &got));
	ASSERT_EQ(sizeof(msg), got);
}

/*
 * Our server against openssl s_client: 64 MiB in (s_client's stdin), 32 MiB
 * out by sendfile() (s_client's stdout), then our close_notify.
 */
TEST_F_TIMEOUT(peer, server_bulk_openssl, 600)
{
	struct feeder snd = { .file = -1, .len = BULK_OUT, .seed = 51 };
	struct feeder rcv = { .file = -1, .len = BULK_IN, .seed = 52 };
	pthread_t th;
	char port[32];
	char *argv[] = { "openssl", "s_client", "-connect", port, "-quiet",
		"-CAfile", TEST_CERT, "-verify_return_error",
		variant->version == KTLS_TLS13 ? "-tls1_3" : "-tls1_2",
		variant->version == KTLS_TLS13 ? "-ciphersuites" : "-cipher",
		(char *)variant->ossl, NULL };
	size_t got;

	self->lfd = listen_any(&self->port);
	ASSERT_LE(0, self->lfd);
	snprintf(port, sizeof(port), "127.0.0.1:%d", self->port);
	self->p.data_only = 1;
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	if (!server_handshake(_metadata, self, variant))
		return;

	rcv.fd = self->p.in;
	ASSERT_EQ(0, pthread_create(&th, NULL, feed, &rcv));
	ASSERT_EQ(-1, drain_check(session_read, self->s, BULK_IN, 52, &got));
	ASSERT_EQ(BULK_IN, got);
	pthread_join(th, NULL);

	snd.fd = self->fd;
	snd.file = pattern_file(BULK_OUT, 51);
	ASSERT_LE(0, snd.file);
	ASSERT_EQ(0, pthread_create(&th, NULL, feed, &snd));
	ASSERT_EQ(-1, drain_check(pipe_read, &self->p.out, BULK_OUT, 51, &got));
	ASSERT_EQ(BULK_OUT, got);
	pthread_join(th, NULL);
	close(snd.file);
	ASSERT_EQ(0, ktls_close_notify(self->s));
}

TEST_HARNESS_MAIN
