// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls_recv(), ktls_send_alert() and ktls_close_notify(): records after the
 * switch, against three kinds of peer.
 *  - GnuTLS in userspace, in a thread, as the server: real KeyUpdates,
 *    tickets, renegotiation requests and alerts, and it tells us which
 *    alert it received from us.
 *  - openssl s_server: close_notify in both directions, its tickets.
 *  - a "raw" peer: a second libktls session (the server) whose records the
 *    test writes by hand with TLS_SET_RECORD_TYPE, to split, merge or
 *    break control messages at will.
 * Our side is always a libktls client.
 */
#include <gnutls/gnutls.h>
#include <linux/tls.h>
#include <pthread.h>
#include <sys/time.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "peers.h"
#include "tlsio.h"

#define REC_CCS 20
#define REC_ALERT 21
#define REC_HANDSHAKE 22
#define REC_DATA 23

/* The GnuTLS peer: a server in a thread; act() runs after its handshake. */
struct gpeer {
	int fd;
	void (*act)(struct gpeer *g);
	gnutls_session_t gs;
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t tkey;
	size_t pushed;		/* bytes it has written to the socket */
	int hs;			/* its gnutls_handshake() result */
	int ret;		/* what act() saw; its meaning is per test */
	int alert;		/* an alert it received from us, or -1 */
	size_t ctl_bytes;	/* bytes of the control message act() sent */
};

FIXTURE(rec)
{
	struct ktls_config *cfg, *scfg;
	struct ktls_session *s;		/* ours: a libktls client */
	struct ktls_session *rs;	/* the raw peer's: a libktls server */
	int fd, rfd;			/* our end; the peer's end */
	int srv_ret;
	pthread_t th;
	int th_on;
	struct gpeer g;
	struct peer p;
	int port;
	char out[65536];
};

FIXTURE_VARIANT(rec)
{
	int version;
	unsigned cipher;
	const char *ossl;	/* OpenSSL cipher (1.2) or ciphersuite (1.3) */
	const char *gnutls;	/* GnuTLS priority cipher name */
};

FIXTURE_VARIANT_ADD(rec, 12_aes_gcm_128)
{
	.version = KTLS_TLS12, .cipher = KTLS_CIPHER_AES_128_GCM,
	.ossl = "ECDHE-ECDSA-AES128-GCM-SHA256", .gnutls = "AES-128-GCM",
};

FIXTURE_VARIANT_ADD(rec, 13_aes_gcm_128)
{
	.version = KTLS_TLS13, .cipher = KTLS_CIPHER_AES_128_GCM,
	.ossl = "TLS_AES_128_GCM_SHA256", .gnutls = "AES-128-GCM",
};

FIXTURE_VARIANT_ADD(rec, 13_chacha20_poly1305)
{
	.version = KTLS_TLS13, .cipher = KTLS_CIPHER_CHACHA20_POLY1305,
	.ossl = "TLS_CHACHA20_POLY1305_SHA256", .gnutls = "CHACHA20-POLY1305",
};

FIXTURE_SETUP(rec)
{
	self->fd = self->rfd = -1;
	self->p.pid = -1;
	self->p.in = self->p.out = -1;
	self->g.alert = -1;
	ASSERT_EQ(0, make_test_cert());
}

FIXTURE_TEARDOWN(rec)
{
	/* Wake a peer thread still waiting for us. */
	if (self->fd >= 0)
		shutdown(self->fd, SHUT_RDWR);
	if (self->th_on)
		pthread_join(self->th, NULL);
	if (self->g.gs)
		gnutls_deinit(self->g.gs);
	if (self->g.cred)
		gnutls_certificate_free_credentials(self->g.cred);
	gnutls_free(self->g.tkey.data);
	ktls_session_free(self->s);
	ktls_session_free(self->rs);
	ktls_config_free(self->cfg);
	ktls_config_free(self->scfg);
	if (self->fd >= 0)
		close(self->fd);
	if (self->rfd >= 0)
		close(self->rfd);
	peer_stop(&self->p);
}

/* No test may hang on a silent socket. */
static void set_rcvtimeo(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void set_sndtimeo(int fd, int sec)
{
	struct timeval tv = { .tv_sec = sec };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Our client handshake on self->fd; 0 when the test was skipped. */
static int our_handshake(struct __test_metadata *_metadata,
			 FIXTURE_DATA(rec) *self,
			 const FIXTURE_VARIANT(rec) *variant)
{
	const struct ktls_info *info;
	int ret;

	set_rcvtimeo(self->fd, 20);
	ASSERT_EQ(0, ktls_config_new(&self->cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->cfg, TEST_CERT));
	ASSERT_EQ(0, ktls_config_set_versions(self->cfg, variant->version,
					      variant->version));
	ASSERT_EQ(0, ktls_config_set_ciphers(self->cfg, variant->cipher));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fd));
	ASSERT_EQ(0, ktls_session_set_server_name(self->s, "localhost"));
	ret = ktls_session_handshake(self->s);
	if (ret == -KTLS_E_NO_KTLS)
		SKIP(return 0, "kTLS: TCP_ULP \"tls\" unavailable on this kernel");
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->s));
	info = ktls_session_info(self->s);
	ASSERT_NE(NULL, info);
	ASSERT_EQ(variant->version, info->version);
	ASSERT_EQ(variant->cipher, info->cipher);
	return 1;
}

/* ---- the GnuTLS peer ---- */

static ssize_t gpeer_push(gnutls_transport_ptr_t ptr, const void *buf,
			  size_t len)
{
	struct gpeer *g = ptr;
	ssize_t n = send(g->fd, buf, len, MSG_NOSIGNAL);

	if (n > 0)
		g->pushed += n;
	return n;
}

static ssize_t gpeer_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct gpeer *g = ptr;

	return recv(g->fd, buf, len, 0);
}

static void *gpeer_run(void *arg)
{
	struct gpeer *g = arg;

	g->hs = gnutls_handshake_all(g->gs);
	if (!g->hs && g->act)
		g->act(g);
	return NULL;
}

/* Receive at the GnuTLS peer; on an alert from us, note which. */
static int gpeer_recv(struct gpeer *g, char *buf, size_t len)
{
	int ret;

	int again = 0;

	/* GnuTLS may return AGAIN after taking a post-handshake message. */
	do
		ret = gnutls_record_recv(g->gs, buf, len);
	while (ret == GNUTLS_E_INTERRUPTED ||
	       (ret == GNUTLS_E_AGAIN && ++again < 3));
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED ||
	    ret == GNUTLS_E_WARNING_ALERT_RECEIVED)
		g->alert = gnutls_alert_get(g->gs);
	return ret;
}

static int gpeer_send(struct gpeer *g, const char *msg)
{
	return gnutls_record_send(g->gs, msg, strlen(msg)) ==
	       (ssize_t)strlen(msg) ? 0 : -1;
}

/*
 * A GnuTLS server on one end of a loopback pair, running act after its
 * handshake, and our client handshake on the other end.
 */
static int gpeer_start(struct __test_metadata *_metadata,
		       FIXTURE_DATA(rec) *self,
		       const FIXTURE_VARIANT(rec) *variant,
		       void (*act)(struct gpeer *), int tickets)
{
	struct gpeer *g = &self->g;
	char prio[128];
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	self->fd = fds[0];
	self->rfd = g->fd = fds[1];
	set_rcvtimeo(g->fd, 20);
	g->act = act;
	ASSERT_EQ(0, gnutls_certificate_allocate_credentials(&g->cred));
	ASSERT_LE(0, gnutls_certificate_set_x509_key_file(g->cred, TEST_CERT,
				TEST_KEY, GNUTLS_X509_FMT_PEM));
	ASSERT_EQ(0, gnutls_init(&g->gs, GNUTLS_SERVER));
	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.%d:-CIPHER-ALL:+%s",
		 variant->version == KTLS_TLS13 ? 3 : 2, variant->gnutls);
	ASSERT_EQ(0, gnutls_priority_set_direct(g->gs, prio, NULL));
	ASSERT_EQ(0, gnutls_credentials_set(g->gs, GNUTLS_CRD_CERTIFICATE, g->cred));
	if (tickets) {
		ASSERT_EQ(0, gnutls_session_ticket_key_generate(&g->tkey));
		ASSERT_EQ(0, gnutls_session_ticket_enable_server(g->gs, &g->tkey));
	}
	gnutls_transport_set_ptr(g->gs, g);
	gnutls_transport_set_push_function(g->gs, gpeer_push);
	gnutls_transport_set_pull_function(g->gs, gpeer_pull);
	ASSERT_EQ(0, pthread_create(&self->th, NULL, gpeer_run, g));
	self->th_on = 1;
	return our_handshake(_metadata, self, variant);
}

/* The GnuTLS peer has finished its act(). */
static void gpeer_join(FIXTURE_DATA(rec) *self)
{
	pthread_join(self->th, NULL);
	self->th_on = 0;
}

/* ---- the raw peer ---- */

static void *raw_server(void *arg)
{
	FIXTURE_DATA(rec) *self = arg;

	self->srv_ret = ktls_session_handshake(self->rs);
	return NULL;
}

/* Both ends libktls sessions: ours on self->fd, the raw peer's on rfd. */
static int raw_start(struct __test_metadata *_metadata, FIXTURE_DATA(rec) *self,
		     const FIXTURE_VARIANT(rec) *variant)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	self->fd = fds[0];
	self->rfd = fds[1];
	set_rcvtimeo(self->rfd, 20);
	ASSERT_EQ(0, ktls_config_new(&self->scfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_add_cert(self->scfg, TEST_CERT, TEST_KEY));
	ASSERT_EQ(0, ktls_config_set_versions(self->scfg, variant->version,
					      variant->version));
	ASSERT_EQ(0, ktls_config_set_ciphers(self->scfg, variant->cipher));
	ASSERT_EQ(0, ktls_session_new(&self->rs, self->scfg, self->rfd));
	ASSERT_EQ(0, pthread_create(&self->th, NULL, raw_server, self));
	self->th_on = 1;
	if (!our_handshake(_metadata, self, variant))
		return 0;
	pthread_join(self->th, NULL);
	self->th_on = 0;
	ASSERT_EQ(0, self->srv_ret) TH_LOG("%s", ktls_session_error(self->rs));
	return 1;
}

/* One record of the given type from the raw peer. */
static int raw_send(int fd, unsigned char type, const void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf = { { 0 } };
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf.buf,
			      .msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cm) = type;
	return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* One record at the raw peer; *type gets its type (0: none). */
static ssize_t raw_recv(int fd, void *buf, size_t len, unsigned char *type)
{
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf.buf,
			      .msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &msg, 0);

	*type = 0;
	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
		*type = *CMSG_DATA(cm);
	return n;
}

/* The raw peer's next record is this alert from us. */
#define EXPECT_ALERT(fd, level, desc) do {				\
	unsigned char __a[8], __t;					\
	ssize_t __n = raw_recv(fd, __a, sizeof(__a), &__t);		\
	ASSERT_EQ(2, __n) TH_LOG("the peer read %zd", __n);		\
	ASSERT_EQ(REC_ALERT, __t);					\
	ASSERT_EQ(level, __a[0]);					\
	ASSERT_EQ(desc, __a[1]);					\
} while (0)

/* The raw peer reads the end of the stream: nothing follows. */
#define EXPECT_EOF(fd) do {						\
	unsigned char __b[64], __t;					\
	ASSERT_EQ(0, raw_recv(fd, __b, sizeof(__b), &__t));		\
} while (0)

/* A TLS 1.3 NewSessionTicket of body_len bytes (contents are not read). */
static size_t fake_ticket(unsigned char *buf, size_t body_len)
{
	buf[0] = 4;
	buf[1] = (unsigned char)(body_len >> 16);
	buf[2] = (unsigned char)(body_len >> 8);
	buf[3] = (unsigned char)body_len;
	memset(buf + 4, 0xa5, body_len);
	return 4 + body_len;
}

/* ---- arguments and state ---- */

TEST(not_installed)
{
	struct ktls_config *cfg;
	struct ktls_session *s;
	char buf[16];
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_config_new(&cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_verify(cfg, KTLS_VERIFY_NONE));
	ASSERT_EQ(0, ktls_session_new(&s, cfg, fds[0]));
	EXPECT_EQ(-EINVAL, ktls_recv(s, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(-EINVAL, ktls_recv(s, buf, sizeof(buf), MSG_DONTWAIT, NULL));
	EXPECT_EQ(-EINVAL, ktls_send_alert(s, 1, 0));
	EXPECT_EQ(-EINVAL, ktls_close_notify(s));
	EXPECT_EQ(-EINVAL, ktls_recv(NULL, buf, sizeof(buf), 0, NULL));
	EXPECT_EQ(-EINVAL, ktls_send_alert(NULL, 2, 80));
	EXPECT_EQ(-EINVAL, ktls_close_notify(NULL));
	/* Nothing went out, and the socket is still open both ways. */
	EXPECT_EQ(-1, recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, send(fds[0], "x", 1, 0));
	ktls_session_free(s);
	ktls_config_free(cfg);
	close(fds[0]);
	close(fds[1]);
}

TEST_F_TIMEOUT(rec, bad_arguments, 60)
{
	char buf[16];

	if (!raw_start(_metadata, self, variant))
		return;
	EXPECT_EQ(-EINVAL, ktls_send_alert(self->s, 0, 10));
	EXPECT_EQ(-EINVAL, ktls_send_alert(self->s, 3, 10));
	EXPECT_EQ(-EINVAL, ktls_send_alert(self->s, 2, -1));
	EXPECT_EQ(-EINVAL, ktls_send_alert(self->s, 2, 256));
	EXPECT_EQ(-EINVAL, ktls_recv(self->s, buf, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, ktls_recv(self->s, NULL, sizeof(buf), 0, NULL));
	EXPECT_EQ(-EINVAL, ktls_recv(self->s, buf, sizeof(buf), MSG_PEEK, NULL));
	EXPECT_EQ(-EAGAIN, ktls_recv(self->s, buf, sizeof(buf), MSG_DONTWAIT, NULL));
	/* None of that reached the wire: the peer's first record is ours. */
	ASSERT_EQ(0, ktls_close_notify(self->s));
	EXPECT_ALERT(self->rfd, 1, 0);
	EXPECT_EOF(self->rfd);
}

/* ---- close_notify ---- */

static void act_bye(struct gpeer *g)
{
	/* 0 only once our close_notify came back. */
	g->ret = gnutls_bye(g->gs, GNUTLS_SHUT_RDWR);
}

TEST_F_TIMEOUT(rec, close_notify_from_gnutls_answered, 60)
{
	char buf[64];
	int alert = -1;

	if (!gpeer_start(_metadata, self, variant, act_bye, 0))
		return;
	ASSERT_EQ(0, ktls_recv(self->s, buf, sizeof(buf), 0, &alert));
	EXPECT_EQ(-1, alert);
	gpeer_join(self);
	ASSERT_EQ(GNUTLS_E_SUCCESS, self->g.ret)
		TH_LOG("gnutls_bye: %s", gnutls_strerror(self->g.ret));
	/* Answering closed our side; a later close is a no-op. */
	EXPECT_EQ(0, ktls_close_notify(self->s));
}

static void act_recv_then_bye(struct gpeer *g)
{
	char buf[64];

	/* Our close_notify reads as the end of the stream: 0. */
	g->ret = gpeer_recv(g, buf, sizeof(buf));
	if (!g->ret)
		gnutls_bye(g->gs, GNUTLS_SHUT_WR);
}

TEST_F_TIMEOUT(rec, close_notify_to_gnutls, 60)
{
	char buf[64];

	if (!gpeer_start(_metadata, self, variant, act_recv_then_bye, 0))
		return;
	ASSERT_EQ(0, ktls_close_notify(self->s));
	ASSERT_EQ(0, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	gpeer_join(self);
	ASSERT_EQ(0, self->g.ret) TH_LOG("the peer read %d (%s)", self->g.ret,
					 gnutls_strerror(self->g.ret));
}

TEST_F_TIMEOUT(rec, close_notify_sent_once, 60)
{
	static const unsigned char cn[2] = { 1, 0 };
	char buf[64];

	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, ktls_close_notify(self->s));
	ASSERT_EQ(0, ktls_close_notify(self->s));
	/* The kernel would take this and drop it: refused instead. */
	ASSERT_EQ(-EPIPE, ktls_send_alert(self->s, 2, 80));
	EXPECT_ALERT(self->rfd, 1, 0);
	EXPECT_EOF(self->rfd);
	/* The peer answers; ktls_recv() sees the end and sends nothing more. */
	ASSERT_EQ(0, raw_send(self->rfd, REC_ALERT, cn, sizeof(cn)));
	ASSERT_EQ(0, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	EXPECT_EOF(self->rfd);
}

TEST_F_TIMEOUT(rec, eof_without_close_notify, 60)
{
	char buf[64];

	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, shutdown(self->rfd, SHUT_WR));
	ASSERT_EQ(0, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
}

/* Start s_server for one connection and connect our client to it. */
static int ossl_start(struct __test_metadata *_metadata,
		      FIXTURE_DATA(rec) *self,
		      const FIXTURE_VARIANT(rec) *variant, int msg)
{
	char port[32];
	char *argv[] = { "openssl", "s_server", "-accept", port, "-quiet",
		"-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		variant->version == KTLS_TLS13 ? "-tls1_3" : "-tls1_2",
		variant->version == KTLS_TLS13 ? "-ciphersuites" : "-cipher",
		(char *)variant->ossl, msg ? "-msg" : NULL, NULL };

	self->port = free_port();
	ASSERT_LT(0, self->port);
	snprintf(port, sizeof(port), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	self->fd = connect_retry(self->port, 10000);
	ASSERT_LE(0, self->fd);
	return our_handshake(_metadata, self, variant);
}

/* Everything the peer prints until it exits; returns its exit status. */
static int ossl_finish(struct peer *p, char *buf, size_t cap, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->out, .events = POLLIN };
	size_t len = 0;
	int st;

	for (; timeout_ms > 0; timeout_ms -= 100) {
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(p->out, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (len + 1 == cap)
			len = 0;
	}
	buf[len] = 0;
	for (; timeout_ms > 0; timeout_ms -= 100) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(100 * 1000);
	}
	return -1;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

TEST_F_TIMEOUT(rec, close_notify_from_openssl, 120)
{
	unsigned char buf[64];

	if (!ossl_start(_metadata, self, variant, 0))
		return;
	/* s_server sends what it reads, then close_notify at the end of it. */
	ASSERT_EQ(4, write(self->p.in, "bye\n", 4));
	close(self->p.in);
	self->p.in = -1;
	ASSERT_EQ(4, recv_all(self->s, buf, 4, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "bye\n", 4));
	ASSERT_EQ(0, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(0, ossl_finish(&self->p, self->out, sizeof(self->out), 20000));
}

TEST_F_TIMEOUT(rec, close_notify_to_openssl, 120)
{
	char buf[64], mark[80];

	if (!ossl_start(_metadata, self, variant, 1))
		return;
	ASSERT_EQ(0, ktls_close_notify(self->s));
	/* Its tickets (TLS 1.3), then its answering close_notify. */
	ASSERT_EQ(0, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(0, ktls_close_notify(self->s));
	ASSERT_EQ(0, ossl_finish(&self->p, self->out, sizeof(self->out), 20000))
		TH_LOG("s_server said: %s", self->out);
	snprintf(mark, sizeof(mark), "<<< TLS 1.%d, Alert [length 0002], "
		 "warning close_notify", variant->version == KTLS_TLS13 ? 3 : 2);
	ASSERT_EQ(1, count(self->out, mark)) TH_LOG("s_server said: %s", self->out);
}

/* ---- alerts from the peer ---- */

static void act_fatal_alert(struct gpeer *g)
{
	g->ret = gnutls_alert_send(g->gs, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED);
}

TEST_F_TIMEOUT(rec, fatal_alert_from_gnutls, 60)
{
	char buf[64];
	int alert = -1;

	if (!gpeer_start(_metadata, self, variant, act_fatal_alert, 0))
		return;
	ASSERT_EQ(-KTLS_E_ALERT, ktls_recv(self->s, buf, sizeof(buf), 0, &alert));
	ASSERT_EQ(GNUTLS_A_ACCESS_DENIED, alert);
	gpeer_join(self);
	ASSERT_EQ(0, self->g.ret);
	/* Nothing may follow a fatal alert: our side is shut too. */
	EXPECT_EQ(0, ktls_close_notify(self->s));
	EXPECT_EOF(self->rfd);
}

/* A warning: ignored in TLS 1.2, an error like any other in TLS 1.3. */
TEST_F_TIMEOUT(rec, warning_alert, 60)
{
	static const unsigned char warn[2] = { 1, 42 /* bad_certificate */ };
	unsigned char buf[64];
	int alert = -1;

	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, raw_send(self->rfd, REC_ALERT, warn, sizeof(warn)));
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, "data", 4));
	if (variant->version == KTLS_TLS12) {
		ASSERT_EQ(4, ktls_recv(self->s, buf, sizeof(buf), 0, &alert));
		ASSERT_EQ(0, memcmp(buf, "data", 4));
		ASSERT_EQ(-1, alert);
	} else {
		ASSERT_EQ(-KTLS_E_ALERT, ktls_recv(self->s, buf, sizeof(buf), 0,
						   &alert));
		ASSERT_EQ(42, alert);
		EXPECT_EOF(self->rfd);
	}
}

TEST_F_TIMEOUT(rec, user_canceled_ignored, 60)
{
	static const unsigned char uc[2] = { 1, 90 };
	unsigned char buf[64];

	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, raw_send(self->rfd, REC_ALERT, uc, sizeof(uc)));
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, "data", 4));
	ASSERT_EQ(4, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(0, memcmp(buf, "data", 4));
}

/* Endless warnings do not keep ktls_recv() from returning. */
TEST_F_TIMEOUT(rec, warning_flood, 60)
{
	static const unsigned char uc[2] = { 1, 90 };
	unsigned char buf[64];
	int i;

	if (!raw_start(_metadata, self, variant))
		return;
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, raw_send(self->rfd, REC_ALERT, uc, sizeof(uc)));
	ASSERT_EQ(-EPROTO, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
}

/* ---- post-handshake messages ---- */

static void act_ticket_then_data(struct gpeer *g)
{
	size_t before = g->pushed;

	g->ret = gnutls_session_ticket_send(g->gs, 1, 0);
	g->ctl_bytes = g->pushed - before;
	if (!g->ret)
		g->ret = gpeer_send(g, "data after the ticket");
}

TEST_F_TIMEOUT(rec, ticket_from_gnutls, 60)
{
	static const char msg[] = "data after the ticket";
	unsigned char buf[256];

	if (variant->version != KTLS_TLS13)
		SKIP(return, "NewSessionTicket after the handshake is TLS 1.3 only");
	if (!gpeer_start(_metadata, self, variant, act_ticket_then_data, 1))
		return;
	ASSERT_EQ((ssize_t)strlen(msg), recv_all(self->s, buf, strlen(msg), sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, msg, strlen(msg)));
	gpeer_join(self);
	ASSERT_EQ(0, self->g.ret) TH_LOG("%s", gnutls_strerror(self->g.ret));
	ASSERT_NE((size_t)0, self->g.ctl_bytes) TH_LOG("GnuTLS sent no ticket");
}

/* What s_server sends after the handshake, then its data, intact. */
TEST_F_TIMEOUT(rec, tickets_from_openssl, 120)
{
	static const char msg[] = "data after the tickets\n";
	unsigned char buf[256], type;
	struct iovec iov = { buf, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf) };

	if (!ossl_start(_metadata, self, variant, 0))
		return;
	ASSERT_EQ((ssize_t)strlen(msg), write(self->p.in, msg, strlen(msg)));
	/* A peek at the first record's type, for the record. */
	ASSERT_EQ(1, recvmsg(self->fd, &m, MSG_PEEK));
	ASSERT_NE(NULL, CMSG_FIRSTHDR(&m));
	type = *CMSG_DATA(CMSG_FIRSTHDR(&m));
	TH_LOG("s_server's first record after the handshake: %s",
	       type == REC_HANDSHAKE ? "handshake (tickets)" :
	       type == REC_DATA ? "data (no tickets)" : "other");
	ASSERT_EQ((ssize_t)strlen(msg), recv_all(self->s, buf, strlen(msg), sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, msg, strlen(msg)));
}

static void act_hello_request(struct gpeer *g)
{
	char buf[64];

	/* TLS 1.2: a HelloRequest, answered by no_renegotiation. */
	g->ret = gnutls_rehandshake(g->gs);
	if (g->ret)
		return;
	g->ret = gpeer_recv(g, buf, sizeof(buf));
	gpeer_send(g, "still here");
}

TEST_F_TIMEOUT(rec, renegotiation_refused, 60)
{
	unsigned char buf[64];

	if (variant->version != KTLS_TLS12)
		SKIP(return, "renegotiation is TLS 1.2 only");
	if (!gpeer_start(_metadata, self, variant, act_hello_request, 0))
		return;
	ASSERT_EQ(10, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(0, memcmp(buf, "still here", 10));
	gpeer_join(self);
	ASSERT_EQ(GNUTLS_E_WARNING_ALERT_RECEIVED, self->g.ret)
		TH_LOG("%s", gnutls_strerror(self->g.ret));
	ASSERT_EQ(GNUTLS_A_NO_RENEGOTIATION, self->g.alert);
}

static void act_key_update(struct gpeer *g)
{
	char buf[64];
	size_t before = g->pushed;

	g->ret = gnutls_session_key_update(g->gs, 0);
	g->ctl_bytes = g->pushed - before;
	if (g->ret)
		return;
	gpeer_send(g, "secret after the key update");
	g->ret = gpeer_recv(g, buf, sizeof(buf));
}

/* Does this kernel take new TLS 1.3 keys (6.14+)? Asked of the library. */
static int kernel_rekeys(void)
{
	struct ktls_probe p = { .size = sizeof(p) };

	return !ktls_probe(&p) && !p.ulp && p.rekey;
}

/*
 * The peer's KeyUpdate. Where the kernel takes new keys we follow it and
 * the data behind it arrives intact; elsewhere a fatal alert and
 * -KTLS_E_REKEY, and no later call hands out what came after it.
 */
TEST_F_TIMEOUT(rec, peer_key_update, 60)
{
	static const char secret[] = "secret after the key update";
	unsigned char buf[256];
	ssize_t n;
	int i;

	if (variant->version != KTLS_TLS13)
		SKIP(return, "KeyUpdate is TLS 1.3 only");
	if (!gpeer_start(_metadata, self, variant, act_key_update, 0))
		return;
	memset(buf, 0, sizeof(buf));
	if (kernel_rekeys()) {
		ASSERT_EQ((ssize_t)strlen(secret),
			  recv_all(self->s, buf, strlen(secret), sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, secret, strlen(secret)));
		/* Our keys did not change: the peer still reads us. */
		ASSERT_EQ(2, write(self->fd, "ok", 2));
		gpeer_join(self);
		ASSERT_EQ(2, self->g.ret) TH_LOG("%s", gnutls_strerror(self->g.ret));
		return;
	}
	ASSERT_EQ(-KTLS_E_REKEY, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	gpeer_join(self);
	ASSERT_NE((size_t)0, self->g.ctl_bytes);
	ASSERT_EQ(GNUTLS_E_FATAL_ALERT_RECEIVED, self->g.ret)
		TH_LOG("the peer read %d (%s)", self->g.ret,
		       gnutls_strerror(self->g.ret));
	ASSERT_EQ(GNUTLS_A_INTERNAL_ERROR, self->g.alert);
	/* The data behind it (new keys) must never come out. */
	for (i = 0; i < 3; i++) {
		n = ktls_recv(self->s, buf, sizeof(buf), i ? MSG_DONTWAIT : 0, NULL);
		TH_LOG("read %d after the KeyUpdate: %zd (%s)", i + 1, n,
		       n < 0 ? ktls_strerror((int)n) : "bytes");
		ASSERT_GE(0, n);
		ASSERT_EQ(NULL, memmem(buf, sizeof(buf), secret, strlen(secret)));
	}
}

static void act_key_update_requested(struct gpeer *g)
{
	char buf[64];

	g->ret = gnutls_session_key_update(g->gs, GNUTLS_KU_PEER);
	if (g->ret)
		return;
	gpeer_send(g, "after");
	/* GnuTLS takes our KeyUpdate on the way to our data. */
	g->ret = gpeer_recv(g, buf, sizeof(buf));
	if (g->ret == 5 && memcmp(buf, "reply", 5))
		g->ret = -1;
}

/* The peer asks us to update too: both directions move on. */
TEST_F_TIMEOUT(rec, peer_requests_key_update, 60)
{
	unsigned char buf[64];

	if (variant->version != KTLS_TLS13)
		SKIP(return, "KeyUpdate is TLS 1.3 only");
	if (!gpeer_start(_metadata, self, variant, act_key_update_requested, 0))
		return;
	if (!kernel_rekeys()) {
		ASSERT_EQ(-KTLS_E_REKEY, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
		return;
	}
	ASSERT_EQ(5, recv_all(self->s, buf, 5, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "after", 5));
	ASSERT_EQ(5, write(self->fd, "reply", 5));
	gpeer_join(self);
	ASSERT_EQ(5, self->g.ret) TH_LOG("the peer read %d (%s)", self->g.ret,
					 gnutls_strerror(self->g.ret));
}

/*
 * GnuTLS 3.7 treats a quick run of KeyUpdates as a flood ("Too many
 * handshake packets have been received" for a 9th within 1000 ms, measured
 * here: 120 ms apart fails, 125 ms apart does not), so ours are paced: 20,
 * 250 ms apart, each after 800 KiB. keyupdate.c sends 100.
 */
#define UPDATES 20
#define UPDATE_BYTES (16u << 20)

static void act_read_pattern(struct gpeer *g)
{
	static char buf[1 << 16];
	size_t got = 0;

	while (got < UPDATE_BYTES) {
		int n = gpeer_recv(g, buf, sizeof(buf));

		if (n <= 0) {
			g->ret = n ? n : -1;
			return;
		}
		if (check_pattern(buf, n, 71, got) >= 0) {
			g->ret = -2;
			return;
		}
		got += n;
	}
	g->ret = 0;
}

/*
 * We update our keys 20 times during a 16 MiB transfer, asking the peer to
 * update its own every tenth time; the GnuTLS peer follows each one and
 * checks every byte. Where the kernel cannot take new
 * keys, the call says so, sends nothing, and the data still flows.
 */
TEST_F_TIMEOUT(rec, our_key_updates, 300)
{
	static unsigned char buf[UPDATE_BYTES / UPDATES];
	size_t off = 0;
	int i, rekeys = kernel_rekeys();

	if (variant->version != KTLS_TLS13)
		SKIP(return, "KeyUpdate is TLS 1.3 only");
	if (!gpeer_start(_metadata, self, variant, act_read_pattern, 0))
		return;
	set_sndtimeo(self->fd, 20);	/* a peer that stopped reading fails us */
	for (i = 0; i < UPDATES; i++) {
		size_t n = i < UPDATES - 1 ? sizeof(buf) : UPDATE_BYTES - off;

		struct timespec pause = { 0, 250 * 1000 * 1000 };

		nanosleep(&pause, NULL);
		ASSERT_EQ(rekeys ? 0 : -KTLS_E_REKEY,
			  ktls_key_update(self->s, i % 10 == 9));
		fill_pattern(buf, n, 71, off);
		if (write_full(self->fd, buf, n) != (ssize_t)n) {
			shutdown(self->fd, SHUT_RDWR);
			gpeer_join(self);
			ASSERT_TRUE(0) TH_LOG("update %d: the peer stopped: %d (%s)",
					      i, self->g.ret,
					      gnutls_strerror(self->g.ret));
		}
		off += n;
	}
	gpeer_join(self);
	ASSERT_EQ(0, self->g.ret) TH_LOG("peer: %d (%s)", self->g.ret,
					 gnutls_strerror(self->g.ret));
}

/*
 * A KeyUpdate split over two records: refused on every kernel. Before 6.14
 * the kernel cannot take new keys; from 6.14 on it stops decrypting after
 * the record that starts a KeyUpdate (EKEYEXPIRED), so the message's second
 * half, still under the old key, can never be read.
 */
TEST_F_TIMEOUT(rec, key_update_split, 60)
{
	static const unsigned char ku1[3] = { 24, 0, 0 }, ku2[2] = { 1, 0 };
	unsigned char buf[64];

	if (variant->version != KTLS_TLS13)
		SKIP(return, "KeyUpdate is TLS 1.3 only");
	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, "before", 6));
	ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, ku1, sizeof(ku1)));
	ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, ku2, sizeof(ku2)));
	ASSERT_EQ(6, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(-KTLS_E_REKEY, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	EXPECT_ALERT(self->rfd, 2, 80);
	EXPECT_EOF(self->rfd);
}

/* ---- reading in pieces ---- */

/*
 * 100 bytes in two records with control records between them, read one
 * byte at a time: the control records go unseen, the bytes come in order.
 * TLS 1.3: a ticket; TLS 1.2: a HelloRequest, answered by a warning.
 */
TEST_F_TIMEOUT(rec, one_byte_reads, 60)
{
	static const unsigned char uc[2] = { 1, 90 }, hr[4] = { 0, 0, 0, 0 };
	unsigned char data[100], buf[100], nst[300];
	int tls13 = variant->version == KTLS_TLS13;

	if (!raw_start(_metadata, self, variant))
		return;
	fill_pattern(data, sizeof(data), 61, 0);
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, data, 50));
	if (tls13) {
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, nst,
				      fake_ticket(nst, 200)));
	} else {
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, hr, sizeof(hr)));
	}
	ASSERT_EQ(0, raw_send(self->rfd, REC_ALERT, uc, sizeof(uc)));
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, data + 50, 50));
	ASSERT_EQ(100, recv_all(self->s, buf, sizeof(buf), 1));
	ASSERT_EQ(-1, check_pattern(buf, sizeof(buf), 61, 0));
	if (!tls13)
		EXPECT_ALERT(self->rfd, 1, 100);
}

/*
 * Several messages in one record and one message over two records, read
 * 7 bytes at a time.
 */
TEST_F_TIMEOUT(rec, merged_and_split_messages, 60)
{
	static const unsigned char hr2[8] = { 0 }, half[2] = { 0, 0 };
	unsigned char data[200], buf[200], two[600], one[400];
	size_t n1, n2, n;
	int tls13 = variant->version == KTLS_TLS13;

	if (!raw_start(_metadata, self, variant))
		return;
	fill_pattern(data, sizeof(data), 62, 0);
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, data, 100));
	if (tls13) {
		n1 = fake_ticket(two, 250);
		n2 = fake_ticket(two + n1, 40);
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, two, n1 + n2));
		n = fake_ticket(one, 300);
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, one, 3));
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, one + 3, 150));
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, one + 153, n - 153));
	} else {
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, hr2, sizeof(hr2)));
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, half, sizeof(half)));
		ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, half, sizeof(half)));
	}
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, data + 100, 100));
	ASSERT_EQ(200, recv_all(self->s, buf, sizeof(buf), 7));
	ASSERT_EQ(-1, check_pattern(buf, sizeof(buf), 62, 0));
	if (!tls13) {
		EXPECT_ALERT(self->rfd, 1, 100);
		EXPECT_ALERT(self->rfd, 1, 100);
		EXPECT_ALERT(self->rfd, 1, 100);
	}
}

/* MSG_DONTWAIT: a control record alone consumes, then -EAGAIN. */
TEST_F_TIMEOUT(rec, dontwait, 60)
{
	static const unsigned char uc[2] = { 1, 90 };
	struct pollfd pfd = { .events = POLLIN };
	unsigned char buf[64];

	if (!raw_start(_metadata, self, variant))
		return;
	pfd.fd = self->fd;
	ASSERT_EQ(-EAGAIN, ktls_recv(self->s, buf, sizeof(buf), MSG_DONTWAIT, NULL));
	ASSERT_EQ(0, raw_send(self->rfd, REC_ALERT, uc, sizeof(uc)));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(-EAGAIN, ktls_recv(self->s, buf, sizeof(buf), MSG_DONTWAIT, NULL));
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, "data", 4));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(4, ktls_recv(self->s, buf, sizeof(buf), MSG_DONTWAIT, NULL));
	ASSERT_EQ(0, memcmp(buf, "data", 4));
}

/*
 * The kernel never hands a control record to a reader without room for
 * its type: a plain recv() fails with EIO and the record stays queued.
 * ktls_recv() relies on this to take bytes without a type for data.
 */
TEST_F_TIMEOUT(rec, plain_recv_never_sees_control, 60)
{
	static const unsigned char uc[2] = { 1, 90 };
	unsigned char buf[64];

	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, raw_send(self->rfd, REC_ALERT, uc, sizeof(uc)));
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, "data", 4));
	ASSERT_EQ(-1, recv(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(4, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	ASSERT_EQ(0, memcmp(buf, "data", 4));
}

struct later {
	int fd;
	const unsigned char *buf;
	size_t len;
};

static void *send_later(void *arg)
{
	struct later *l = arg;

	usleep(300 * 1000);
	raw_send(l->fd, REC_HANDSHAKE, l->buf, l->len);
	raw_send(l->fd, REC_DATA, "data", 4);
	return NULL;
}

/*
 * A message continued in a later record is waited for even under
 * MSG_DONTWAIT, so the stream stays in step.
 */
TEST_F_TIMEOUT(rec, split_message_waited_for, 60)
{
	static const unsigned char hr[4] = { 0 };
	struct pollfd pfd = { .events = POLLIN };
	unsigned char buf[64], nst[64];
	struct later l;
	pthread_t th;
	ssize_t n;
	int tls13 = variant->version == KTLS_TLS13;

	if (!raw_start(_metadata, self, variant))
		return;
	l.fd = self->rfd;
	l.buf = tls13 ? nst + 10 : hr + 2;
	l.len = tls13 ? fake_ticket(nst, 30) - 10 : 2;
	ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, tls13 ? nst : hr,
			      tls13 ? 10 : 2));
	pfd.fd = self->fd;
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(0, pthread_create(&th, NULL, send_later, &l));
	n = ktls_recv(self->s, buf, sizeof(buf), MSG_DONTWAIT, NULL);
	if (n == -EAGAIN)	/* the data record had not arrived yet */
		n = ktls_recv(self->s, buf, sizeof(buf), 0, NULL);
	pthread_join(th, NULL);
	ASSERT_EQ(4, n) TH_LOG("%s", n < 0 ? ktls_strerror((int)n) : "");
	ASSERT_EQ(0, memcmp(buf, "data", 4));
	if (!tls13)
		EXPECT_ALERT(self->rfd, 1, 100);
}

/* ... but not for ever: the peer hears internal_error. */
TEST_F_TIMEOUT(rec, split_message_never_finished, 60)
{
	unsigned char buf[64], nst[64];

	if (variant->version != KTLS_TLS13 ||
	    variant->cipher != KTLS_CIPHER_AES_128_GCM)
		SKIP(return, "one variant is enough: a 10 s wait, cipher-blind");
	if (!raw_start(_metadata, self, variant))
		return;
	fake_ticket(nst, 30);
	ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, nst, 10));
	ASSERT_EQ(-ETIMEDOUT, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	EXPECT_ALERT(self->rfd, 2, 80);
	EXPECT_EOF(self->rfd);
}

/* ---- protocol violations: unexpected_message, -EPROTO ---- */

TEST_F_TIMEOUT(rec, unexpected_handshake_message, 60)
{
	/* CertificateRequest: post-handshake auth was never offered. */
	static const unsigned char cr[4] = { 13, 0, 0, 0 };
	unsigned char buf[64];

	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, cr, sizeof(cr)));
	ASSERT_EQ(-EPROTO, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	EXPECT_ALERT(self->rfd, 2, 10);
	EXPECT_EOF(self->rfd);
}

TEST_F_TIMEOUT(rec, ticket_in_tls12, 60)
{
	unsigned char buf[64], nst[64];

	if (variant->version != KTLS_TLS12)
		SKIP(return, "tickets after the handshake are fine in TLS 1.3");
	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, nst, fake_ticket(nst, 20)));
	ASSERT_EQ(-EPROTO, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	EXPECT_ALERT(self->rfd, 2, 10);
}

TEST_F_TIMEOUT(rec, change_cipher_spec, 60)
{
	static const unsigned char ccs[1] = { 1 };
	unsigned char buf[64];

	if (!raw_start(_metadata, self, variant))
		return;
	ASSERT_EQ(0, raw_send(self->rfd, REC_CCS, ccs, sizeof(ccs)));
	ASSERT_EQ(-EPROTO, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	EXPECT_ALERT(self->rfd, 2, 10);
}

/* Data in the middle of a handshake message split over records. */
TEST_F_TIMEOUT(rec, data_inside_handshake_message, 60)
{
	static const unsigned char part[2] = { 0, 0 };
	unsigned char buf[64], nst[64];
	int tls13 = variant->version == KTLS_TLS13;

	if (!raw_start(_metadata, self, variant))
		return;
	fake_ticket(nst, 20);
	ASSERT_EQ(0, raw_send(self->rfd, REC_HANDSHAKE, tls13 ? nst : part, 2));
	ASSERT_EQ(0, raw_send(self->rfd, REC_DATA, "data", 4));
	ASSERT_EQ(-EPROTO, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	EXPECT_ALERT(self->rfd, 2, 10);
}

TEST_HARNESS_MAIN
