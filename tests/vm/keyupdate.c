// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * TLS 1.3 KeyUpdate in volume and against OpenSSL:
 *  - openssl s_client / s_server update their keys mid-stream when told
 *    ("k": update, "K": update and request ours, typed on their stdin);
 *    where the kernel takes new keys (6.14+) the data around each update
 *    arrives intact and our answer to "K" is understood; elsewhere the
 *    first update ends reading with -KTLS_E_REKEY and what came before it
 *    is exactly what was sent, not a byte more.
 *  - we update our keys 100 times during 64 MiB (a GnuTLS peer, paced to
 *    its flood limit; openssl, unpaced);
 *  - ktls_send() with a rekey limit, watched through the kernel's record
 *    sequence number.
 * openssl's command letters are read at the start of each read() from its
 * stdin, so the data sent through it is digits only and every command is
 * written alone, once the data before it has been read out.
 */
#include <gnutls/gnutls.h>
#include <linux/tls.h>
#include <pthread.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "peers.h"
#include "tlsio.h"

FIXTURE(ku)
{
	struct ktls_config *cfg, *pcfg;
	struct ktls_session *s;		/* ours */
	struct ktls_session *ps;	/* a libktls peer's */
	int fd, pfd, lfd, port;
	struct peer p;
	pthread_t th;
	int th_on;
	char out[1 << 16];
	int rekey;			/* the kernel takes new keys */
	uint64_t limit;			/* our_session(): the rekey limit */
	int reader_ret;
};

FIXTURE_VARIANT(ku)
{
	unsigned cipher;
	const char *ossl;	/* TLS 1.3 ciphersuite */
	const char *gnutls;	/* GnuTLS priority name */
	int heavy;		/* runs the 64 MiB tests */
};

FIXTURE_VARIANT_ADD(ku, aes_gcm_128)
{
	.cipher = KTLS_CIPHER_AES_128_GCM, .ossl = "TLS_AES_128_GCM_SHA256",
	.gnutls = "AES-128-GCM",
};

/* SHA-384 secrets: the other length for the key schedule. */
FIXTURE_VARIANT_ADD(ku, aes_gcm_256)
{
	.cipher = KTLS_CIPHER_AES_256_GCM, .ossl = "TLS_AES_256_GCM_SHA384",
	.gnutls = "AES-256-GCM", .heavy = 1,
};

FIXTURE_SETUP(ku)
{
	struct ktls_probe pr = { .size = sizeof(pr) };

	self->fd = self->pfd = self->lfd = -1;
	self->p.pid = -1;
	self->p.in = self->p.out = -1;
	ASSERT_EQ(0, make_test_cert());
	ASSERT_EQ(0, ktls_probe(&pr));
	self->rekey = !pr.ulp && pr.rekey;
	TH_LOG("kernel %s: %s new TLS 1.3 keys", pr.kernel,
	       self->rekey ? "takes" : "does not take");
}

FIXTURE_TEARDOWN(ku)
{
	if (self->fd >= 0)
		shutdown(self->fd, SHUT_RDWR);
	if (self->pfd >= 0)
		shutdown(self->pfd, SHUT_RDWR);
	if (self->th_on)
		pthread_join(self->th, NULL);
	ktls_session_free(self->s);
	ktls_session_free(self->ps);
	ktls_config_free(self->cfg);
	ktls_config_free(self->pcfg);
	if (self->fd >= 0)
		close(self->fd);
	if (self->pfd >= 0)
		close(self->pfd);
	if (self->lfd >= 0)
		close(self->lfd);
	peer_stop(&self->p);
}

/* Our TLS 1.3 session of the given role on fd; 0 when skipped. */
static int our_session(struct __test_metadata *_metadata,
		       FIXTURE_DATA(ku) *self,
		       const FIXTURE_VARIANT(ku) *variant, enum ktls_role role)
{
	int ret;

	set_timeouts(self->fd, 30);
	ASSERT_EQ(0, ktls_config_new(&self->cfg, role));
	if (role == KTLS_SERVER) {
		ASSERT_EQ(0, ktls_config_add_cert(self->cfg, TEST_CERT, TEST_KEY));
	} else {
		ASSERT_EQ(0, ktls_config_set_ca_file(self->cfg, TEST_CERT));
	}
	ASSERT_EQ(0, ktls_config_set_versions(self->cfg, KTLS_TLS13, KTLS_TLS13));
	ASSERT_EQ(0, ktls_config_set_ciphers(self->cfg, variant->cipher));
	ASSERT_EQ(0, ktls_config_set_rekey_limit(self->cfg, self->limit));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fd));
	if (role == KTLS_CLIENT)
		ASSERT_EQ(0, ktls_session_set_server_name(self->s, "localhost"));
	ret = ktls_session_handshake(self->s);
	if (ret == -KTLS_E_NO_KTLS)
		SKIP(return 0, "kTLS: TCP_ULP \"tls\" unavailable on this kernel");
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->s));
	return 1;
}

/*
 * Our client session with openssl s_server (argv, to accept on hp: filled
 * in here; its stderr shown unless data_only); 0 when skipped.
 */
static int to_s_server(struct __test_metadata *_metadata,
		       FIXTURE_DATA(ku) *self,
		       const FIXTURE_VARIANT(ku) *variant, char *const argv[],
		       char *hp, size_t hp_len, int data_only)
{
	self->port = free_port();
	snprintf(hp, hp_len, "127.0.0.1:%d", self->port);
	self->p.data_only = data_only;
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	self->fd = connect_retry(self->port, 10000);
	ASSERT_LE(0, self->fd);
	return our_session(_metadata, self, variant, KTLS_CLIENT);
}

/* Lines of digits (no openssl command letter), part seed of a stream. */
static void digit_lines(char *buf, size_t len, int seed)
{
	size_t i;

	fill_pattern(buf, len, seed, 0);
	for (i = 0; i < len; i++)
		buf[i] = (i % 64 == 63) ? '\n' : '0' + (unsigned char)buf[i] % 10;
}

#define CHUNK (48 * 1024)	/* one phase of data through openssl */

/*
 * Phase seed: CHUNK bytes into the openssl peer's stdin, then the same
 * bytes out of ktls_recv(), in odd pieces.
 */
static void through_openssl(struct __test_metadata *_metadata,
			    FIXTURE_DATA(ku) *self, int seed)
{
	static char sent[CHUNK], got[CHUNK];

	digit_lines(sent, sizeof(sent), seed);
	ASSERT_EQ((ssize_t)sizeof(sent), write_full(self->p.in, sent, sizeof(sent)));
	memset(got, 0, sizeof(got));
	ASSERT_EQ((ssize_t)sizeof(got), recv_all(self->s, got, sizeof(got), 3001))
		TH_LOG("phase %d", seed);
	ASSERT_EQ(0, memcmp(sent, got, sizeof(got))) TH_LOG("phase %d", seed);
}

/*
 * One command letter, alone on openssl's stdin (everything before it has
 * been read out), and a sign that openssl took it before more data goes
 * in: s_client says so on stderr (it sends the KeyUpdate with its next
 * data); s_server sends the KeyUpdate at once (its note of it goes to a
 * buffered stdout), so it is the socket turning readable.
 */
static void openssl_command(struct __test_metadata *_metadata,
			    FIXTURE_DATA(ku) *self, const char *cmd,
			    const char *said)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

	self->out[0] = 0;
	ASSERT_EQ(2, write(self->p.in, cmd, 2));
	if (said) {
		ASSERT_TRUE(peer_expect(&self->p, said, self->out,
					sizeof(self->out), 10000))
			TH_LOG("openssl said: %s", self->out);
	} else {
		ASSERT_EQ(1, poll(&pfd, 1, 10000));
	}
}

/*
 * Before 6.14: the peer's KeyUpdate ends reading. Phase 2 is behind it
 * under keys we cannot have: not one byte of it may come out.
 */
static void expect_rekey_error(struct __test_metadata *_metadata,
			       FIXTURE_DATA(ku) *self)
{
	char buf[4096];
	ssize_t n;
	int i;

	n = ktls_recv(self->s, buf, sizeof(buf), 0, NULL);
	ASSERT_EQ(-KTLS_E_REKEY, n) TH_LOG("read %zd", n);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(-KTLS_E_REKEY, ktls_recv(self->s, buf, sizeof(buf),
						   MSG_DONTWAIT, NULL));
}

/*
 * The whole exchange with a peer that updates on command: data, "k",
 * data, "K", data, then a line from us under our answering key.
 */
static void command_updates(struct __test_metadata *_metadata,
			    FIXTURE_DATA(ku) *self, const char *said)
{
	static const char line[] = "1234567890 after our own update\n";

	through_openssl(_metadata, self, 1);
	openssl_command(_metadata, self, "k\n", said);
	if (!self->rekey) {
		/* Data behind the update, to be sure it is never shown. */
		digit_lines(self->out, CHUNK, 2);
		ASSERT_EQ(CHUNK, write_full(self->p.in, self->out, CHUNK));
		expect_rekey_error(_metadata, self);
		return;
	}
	through_openssl(_metadata, self, 2);
	openssl_command(_metadata, self, "K\n", said);
	through_openssl(_metadata, self, 3);
	/* Reading phase 3 took the peer's KeyUpdate, and answered it. */
	self->out[0] = 0;
	ASSERT_EQ((ssize_t)strlen(line), send_all(self->s, line, strlen(line)));
	ASSERT_TRUE(peer_expect(&self->p, line, self->out, sizeof(self->out),
				10000))
		TH_LOG("openssl said: %s", self->out);
}

/* We are the server; s_client updates its keys when told. */
TEST_F_TIMEOUT(ku, s_client_updates, 120)
{
	char hp[32];
	char *argv[] = { "openssl", "s_client", "-connect", hp,
		"-CAfile", TEST_CERT, "-verify_return_error", "-tls1_3",
		"-ciphersuites", (char *)variant->ossl, NULL };

	self->lfd = listen_any(&self->port);
	ASSERT_LE(0, self->lfd);
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	self->fd = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, self->fd);
	if (!our_session(_metadata, self, variant, KTLS_SERVER))
		return;
	/* s_client says KEYUPDATE when it takes the command. */
	command_updates(_metadata, self, "KEYUPDATE");
}

/* We are the client; s_server updates its keys when told. */
TEST_F_TIMEOUT(ku, s_server_updates, 120)
{
	char hp[32];
	char *argv[] = { "openssl", "s_server", "-accept", hp, "-naccept", "1",
		"-cert", TEST_CERT, "-key", TEST_KEY, "-tls1_3",
		"-ciphersuites", (char *)variant->ossl, NULL };

	if (!to_s_server(_metadata, self, variant, argv, hp, sizeof(hp), 0))
		return;
	command_updates(_metadata, self, NULL);
}

/* ---- 100 of our updates during 64 MiB ---- */

#define BULK (64u << 20)
#define UPDATES 100
#define SEG (BULK / UPDATES)
/*
 * GnuTLS 3.7.9 takes at most 8 KeyUpdates per second: a 9th within 1000 ms
 * of the first fails with GNUTLS_E_TOO_MANY_HANDSHAKE_PACKETS (measured:
 * 120 ms apart fails at the 9th, 125 ms apart goes on). The updates it
 * reads must be that far apart: each is sent 130 ms after the GnuTLS peer
 * has read everything before it, so it has processed the one before.
 */
#define GNUTLS_KU_GAP_MS 130

struct gpeer {
	int fd;
	gnutls_session_t gs;
	gnutls_certificate_credentials_t cred;
	uint64_t got;		/* bytes read and checked (atomic) */
	int ret;
};

static void *gpeer_main(void *arg)
{
	struct gpeer *g = arg;
	static char buf[1 << 16];
	uint64_t got = 0;
	int ret;

	ret = gnutls_handshake_all(g->gs);
	while (!ret && got < BULK) {
		ssize_t n = gnutls_record_recv(g->gs, buf, sizeof(buf));

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0) {
			ret = n ? (int)n : -1;
			break;
		}
		if (check_pattern(buf, n, 81, got) >= 0) {
			ret = -2;
			break;
		}
		got += n;
		__atomic_store_n(&g->got, got, __ATOMIC_RELEASE);
	}
	/* Sent under the keys it moved to at our requests. */
	if (!ret && gnutls_record_send(g->gs, "done", 4) != 4)
		ret = -3;
	g->ret = ret;
	return NULL;
}

/* Wait until the GnuTLS peer has read off bytes; 0, or -ETIMEDOUT. */
static int gpeer_caught_up(struct gpeer *g, uint64_t off)
{
	int64_t end = ms_now() + 30000;

	while (__atomic_load_n(&g->got, __ATOMIC_ACQUIRE) < off) {
		if (ms_now() > end || __atomic_load_n(&g->ret, __ATOMIC_RELAXED))
			return -ETIMEDOUT;
		sleep_ms(1);
	}
	return 0;
}

/*
 * A GnuTLS peer reads and checks every byte, following each of our 100
 * updates; every tenth asks it to update too, which we follow when its
 * "done" comes. Before 6.14 each call says -KTLS_E_REKEY, sends nothing,
 * and the data still flows.
 */
TEST_F_TIMEOUT(ku, hundred_updates_gnutls, 300)
{
	static struct gpeer g;
	static char seg[SEG + UPDATES];
	uint64_t off = 0;
	char done[4];
	int fds[2], i;
	char prio[96];
	int64_t t0;

	if (!variant->heavy)
		SKIP(return, "one cipher is enough for 64 MiB");
	memset(&g, 0, sizeof(g));
	ASSERT_EQ(0, tcp_pair(fds));
	self->fd = fds[0];
	self->pfd = g.fd = fds[1];
	set_timeouts(g.fd, 30);
	ASSERT_EQ(0, gnutls_certificate_allocate_credentials(&g.cred));
	ASSERT_LE(0, gnutls_certificate_set_x509_key_file(g.cred, TEST_CERT,
				TEST_KEY, GNUTLS_X509_FMT_PEM));
	ASSERT_EQ(0, gnutls_init(&g.gs, GNUTLS_SERVER | GNUTLS_NO_SIGNAL));
	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+%s",
		 variant->gnutls);
	ASSERT_EQ(0, gnutls_priority_set_direct(g.gs, prio, NULL));
	ASSERT_EQ(0, gnutls_credentials_set(g.gs, GNUTLS_CRD_CERTIFICATE, g.cred));
	gnutls_transport_set_int(g.gs, g.fd);
	ASSERT_EQ(0, pthread_create(&self->th, NULL, gpeer_main, &g));
	self->th_on = 1;
	if (!our_session(_metadata, self, variant, KTLS_CLIENT))
		goto out;

	t0 = ms_now();
	for (i = 0; i < UPDATES; i++) {
		size_t n = i < UPDATES - 1 ? SEG : BULK - off;

		if (self->rekey) {
			ASSERT_EQ(0, gpeer_caught_up(&g, off))
				TH_LOG("update %d: the peer stopped: %d (%s)", i,
				       g.ret, gnutls_strerror(g.ret));
			sleep_ms(GNUTLS_KU_GAP_MS);
		}
		ASSERT_EQ(self->rekey ? 0 : -KTLS_E_REKEY,
			  ktls_key_update(self->s, i % 10 == 9));
		fill_pattern(seg, n, 81, off);
		ASSERT_EQ((ssize_t)n, write_full(self->fd, seg, n))
			TH_LOG("update %d: the peer stopped: %d (%s)", i, g.ret,
			       gnutls_strerror(g.ret));
		off += n;
	}
	ASSERT_EQ(4, recv_all(self->s, done, 4, 4));
	ASSERT_EQ(0, memcmp(done, "done", 4));
	TH_LOG("64 MiB with %d updates in %lld ms", self->rekey ? UPDATES : 0,
	       (long long)(ms_now() - t0));
	pthread_join(self->th, NULL);
	self->th_on = 0;
	ASSERT_EQ(0, g.ret) TH_LOG("peer: %d (%s)", g.ret, gnutls_strerror(g.ret));
out:
	if (self->th_on) {
		shutdown(self->fd, SHUT_RDWR);
		pthread_join(self->th, NULL);
		self->th_on = 0;
	}
	gnutls_deinit(g.gs);
	gnutls_certificate_free_credentials(g.cred);
}

/* s_server -quiet writes what it reads to stdout: checked here. */
struct sink {
	int fd;
	uint64_t got;
	long long bad;		/* first wrong offset, or -1 */
};

static void *sink_main(void *arg)
{
	struct sink *k = arg;
	static char buf[1 << 16];
	ssize_t n;

	k->bad = -1;
	while (k->got < BULK && (n = read(k->fd, buf, sizeof(buf))) > 0) {
		if (k->got + n > BULK)
			n = BULK - k->got;
		if (k->bad < 0)
			k->bad = check_pattern(buf, n, 82, k->got);
		k->got += n;
	}
	return NULL;
}

/* The same against OpenSSL, which sets no limit: no pacing at all. */
TEST_F_TIMEOUT(ku, hundred_updates_openssl, 300)
{
	static char seg[SEG + UPDATES];
	char hp[32], done[5];
	char *argv[] = { "openssl", "s_server", "-accept", hp, "-naccept", "1",
		"-quiet", "-cert", TEST_CERT, "-key", TEST_KEY, "-tls1_3",
		"-ciphersuites", (char *)variant->ossl, NULL };
	struct sink k = { 0 };
	uint64_t off = 0;
	pthread_t th;
	int64_t t0;
	int i;

	if (!variant->heavy)
		SKIP(return, "one cipher is enough for 64 MiB");
	if (!to_s_server(_metadata, self, variant, argv, hp, sizeof(hp), 1))
		return;
	k.fd = self->p.out;
	ASSERT_EQ(0, pthread_create(&th, NULL, sink_main, &k));
	t0 = ms_now();
	for (i = 0; i < UPDATES; i++) {
		size_t n = i < UPDATES - 1 ? SEG : BULK - off;

		if (ktls_key_update(self->s, i % 10 == 9) !=
		    (self->rekey ? 0 : -KTLS_E_REKEY))
			break;
		fill_pattern(seg, n, 82, off);
		if (write_full(self->fd, seg, n) != (ssize_t)n)
			break;
		off += n;
	}
	if (i < UPDATES)
		shutdown(self->fd, SHUT_RDWR);	/* let the sink see the end */
	pthread_join(th, NULL);
	ASSERT_EQ(UPDATES, i) TH_LOG("stopped at update %d", i);
	ASSERT_EQ((uint64_t)BULK, k.got);
	ASSERT_EQ(-1, k.bad);
	/* Its answers to our requests come before this line: followed. */
	ASSERT_EQ(5, write(self->p.in, "done\n", 5));
	ASSERT_EQ(5, recv_all(self->s, done, 5, 5));
	ASSERT_EQ(0, memcmp(done, "done\n", 5));
	TH_LOG("64 MiB with %d updates in %lld ms", self->rekey ? UPDATES : 0,
	       (long long)(ms_now() - t0));
}

/* ---- ktls_send() with a rekey limit ---- */

/* The kernel's next TLS_TX record sequence number, or -1. */
static int64_t tx_seq(int fd, unsigned cipher)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
	} ci;
	socklen_t len = cipher == KTLS_CIPHER_AES_128_GCM ? sizeof(ci.g128) :
							    sizeof(ci.g256);
	const unsigned char *rs = cipher == KTLS_CIPHER_AES_128_GCM ?
				  ci.g128.rec_seq : ci.g256.rec_seq;
	int64_t seq = 0;
	int i;

	memset(&ci, 0, sizeof(ci));
	if (getsockopt(fd, SOL_TLS, TLS_TX, &ci, &len))
		return -1;
	for (i = 0; i < 8; i++)
		seq = seq << 8 | rs[i];
	memset(&ci, 0, sizeof(ci));	/* the key may be in there */
	return seq;
}

#define LIMIT (1u << 20)
#define SENT (8u << 20)
#define PIECE (64u << 10)

/* A libktls server reading SENT bytes of pattern 83. */
static void *reader_main(void *arg)
{
	FIXTURE_DATA(ku) *self = arg;
	static char buf[PIECE];
	uint64_t got = 0;
	int ret = ktls_session_handshake(self->ps);

	while (!ret && got < SENT) {
		ssize_t n = ktls_recv(self->ps, buf, sizeof(buf), 0, NULL);

		if (n <= 0) {
			ret = n ? (int)n : -EPIPE;
			break;
		}
		if (check_pattern(buf, n, 83, got) >= 0)
			ret = -EBADMSG;
		got += n;
	}
	self->reader_ret = ret;
	return NULL;
}

/*
 * 8 MiB through ktls_send() with a 1 MiB limit, in 64 KiB calls: the
 * kernel's send record sequence number starts again at each of the 7
 * updates, and never passes the 64 full records of 1 MiB (65 with the
 * KeyUpdate's). Our libktls peer follows every update and checks every
 * byte. Where the kernel cannot take new keys there is no update; the
 * data is the same.
 */
TEST_F_TIMEOUT(ku, send_rekey_limit, 300)
{
	static char buf[PIECE];
	int64_t seq, last = 0, max = 0;
	uint64_t off = 0;
	int fds[2], resets = 0;

	ASSERT_EQ(0, tcp_pair(fds));
	self->fd = fds[0];
	self->pfd = fds[1];
	set_timeouts(self->pfd, 30);
	ASSERT_EQ(0, ktls_config_new(&self->pcfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_add_cert(self->pcfg, TEST_CERT, TEST_KEY));
	ASSERT_EQ(0, ktls_session_new(&self->ps, self->pcfg, self->pfd));
	ASSERT_EQ(0, pthread_create(&self->th, NULL, reader_main, self));
	self->th_on = 1;
	self->limit = LIMIT;
	if (!our_session(_metadata, self, variant, KTLS_CLIENT))
		return;
	while (off < SENT) {
		fill_pattern(buf, PIECE, 83, off);
		ASSERT_EQ((ssize_t)PIECE, send_all(self->s, buf, PIECE));
		off += PIECE;
		seq = tx_seq(self->fd, variant->cipher);
		ASSERT_LE(0, seq);
		if (seq < last)
			resets++;
		if (seq > max)
			max = seq;
		last = seq;
	}
	pthread_join(self->th, NULL);
	self->th_on = 0;
	ASSERT_EQ(0, self->reader_ret) TH_LOG("%s", ktls_strerror(self->reader_ret));
	TH_LOG("%d updates, highest record sequence number %lld", resets,
	       (long long)max);
	if (self->rekey) {
		ASSERT_EQ((int)(SENT / LIMIT - 1), resets);
		ASSERT_GE(LIMIT / 16384 + 1, max);
	} else {
		ASSERT_EQ(0, resets);
		ASSERT_EQ(SENT / 16384, max);
	}
}

/* ktls_send()'s refusals; a session with no limit just sends. */
TEST_F_TIMEOUT(ku, send_arguments, 120)
{
	char hp[32];
	char *argv[] = { "openssl", "s_server", "-accept", hp, "-naccept", "1",
		"-quiet", "-cert", TEST_CERT, "-key", TEST_KEY, NULL };

	EXPECT_EQ(-EINVAL, ktls_config_set_rekey_limit(NULL, 1));
	EXPECT_EQ(-EINVAL, ktls_send(NULL, "x", 1, 0));
	if (!to_s_server(_metadata, self, variant, argv, hp, sizeof(hp), 1))
		return;
	EXPECT_EQ(-EINVAL, ktls_send(self->s, NULL, 1, 0));
	EXPECT_EQ(-EINVAL, ktls_send(self->s, "x", 1, MSG_OOB));
	EXPECT_EQ(0, ktls_send(self->s, NULL, 0, 0));
	ASSERT_EQ(6, ktls_send(self->s, "hello\n", 6, MSG_DONTWAIT));
	ASSERT_TRUE(peer_expect(&self->p, "hello\n", self->out,
				sizeof(self->out), 10000));
	ASSERT_EQ(0, ktls_close_notify(self->s));
	/* After our close the kernel would drop it: refused. */
	EXPECT_EQ(-EPIPE, ktls_send(self->s, "late", 4, 0));
}

TEST_HARNESS_MAIN
