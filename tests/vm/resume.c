// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Session resumption: ktls_config_set_tickets(), ktls_session_set_resumption()
 * and ktls_session_get_resumption(), against gnutls-serv / gnutls-cli,
 * openssl s_server / s_client, a GnuTLS server in a thread (tickets where
 * we want them: between data, after a KeyUpdate), ourselves, and ktlsctl
 * --session-file / --tickets. Every variant runs twice: TLS 1.2 (tickets
 * inside the handshake) and TLS 1.3 (tickets through the kernel, after the
 * switch).
 */
#include <gnutls/gnutls.h>
#include <linux/tls.h>
#include <pthread.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "peers.h"
#include "tlsio.h"

#define REC_HANDSHAKE 22
#define SESS_MAX 8192

/* A GnuTLS server in a thread; act() runs after its handshake. */
struct gpeer {
	int fd;
	gnutls_session_t gs;
	void (*act)(struct gpeer *g);
	int hs;			/* its gnutls_handshake() result */
	int ret;		/* what act() saw */
};

FIXTURE(res)
{
	struct ktls_config *cfg;	/* our client's */
	struct ktls_config *scfg;	/* our server's */
	struct ktls_session *s, *ss;
	int fd, sfd, lfd, port;
	struct peer p, p2;
	gnutls_certificate_credentials_t gcred;
	gnutls_datum_t tkey;		/* the GnuTLS peer's ticket key */
	struct gpeer g;
	pthread_t th;
	int th_on;
	unsigned char sess[SESS_MAX];	/* resumption data */
	size_t sess_len;
	char out[65536], out2[65536], file[64];
};

FIXTURE_VARIANT(res)
{
	int version;
	const char *ossl;	/* s_server / s_client version flag */
	const char *gprio;	/* GnuTLS priority string */
};

FIXTURE_VARIANT_ADD(res, tls12)
{
	.version = KTLS_TLS12, .ossl = "-tls1_2",
	.gprio = "NORMAL:-VERS-ALL:+VERS-TLS1.2",
};

FIXTURE_VARIANT_ADD(res, tls13)
{
	.version = KTLS_TLS13, .ossl = "-tls1_3",
	.gprio = "NORMAL:-VERS-ALL:+VERS-TLS1.3",
};

FIXTURE_SETUP(res)
{
	self->fd = self->sfd = self->lfd = -1;
	self->p.pid = self->p2.pid = -1;
	self->p.in = self->p.out = self->p2.in = self->p2.out = -1;
	ASSERT_EQ(0, make_test_cert());
	snprintf(self->file, sizeof(self->file), "/tmp/ktls-sess-%d", getpid());
	unlink(self->file);
}

/* The GnuTLS peer's thread has finished. */
static void gpeer_join(FIXTURE_DATA(res) *self)
{
	if (self->th_on)
		pthread_join(self->th, NULL);
	self->th_on = 0;
}

/* Close our client's connection; the next one starts afresh. */
static void client_end(FIXTURE_DATA(res) *self)
{
	if (self->fd >= 0)
		shutdown(self->fd, SHUT_RDWR);
	gpeer_join(self);
	if (self->g.gs)
		gnutls_deinit(self->g.gs);
	self->g.gs = NULL;
	ktls_session_free(self->s);
	self->s = NULL;
	if (self->fd >= 0)
		close(self->fd);
	if (self->sfd >= 0)
		close(self->sfd);
	self->fd = self->sfd = -1;
}

FIXTURE_TEARDOWN(res)
{
	client_end(self);
	ktls_session_free(self->ss);
	ktls_config_free(self->cfg);
	ktls_config_free(self->scfg);
	if (self->gcred)
		gnutls_certificate_free_credentials(self->gcred);
	if (self->tkey.data) {
		gnutls_memset(self->tkey.data, 0, self->tkey.size);
		gnutls_free(self->tkey.data);
	}
	if (self->lfd >= 0)
		close(self->lfd);
	peer_stop(&self->p);
	peer_stop(&self->p2);
	unlink(self->file);
}

#define SKIP_NO_KTLS(ret) do {						\
	if ((ret) == -KTLS_E_NO_KTLS)					\
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable on this kernel"); \
} while (0)

/* A handshake that must work where the kernel has kTLS. */
#define ASSERT_HANDSHAKE(ret) do {					\
	int __r = (ret);						\
	SKIP_NO_KTLS(__r);						\
	ASSERT_EQ(0, __r);						\
} while (0)

/* Our client on self->fd, resuming self->sess when resume is set. */
static int client_handshake(struct __test_metadata *_metadata,
			    FIXTURE_DATA(res) *self,
			    const FIXTURE_VARIANT(res) *variant, int resume)
{
	int ret;

	set_timeouts(self->fd, 20);
	if (!self->cfg) {
		EXPECT_EQ(0, ktls_config_new(&self->cfg, KTLS_CLIENT));
		EXPECT_EQ(0, ktls_config_set_ca_file(self->cfg, TEST_CERT));
		EXPECT_EQ(0, ktls_config_set_versions(self->cfg, variant->version,
						      variant->version));
	}
	EXPECT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fd));
	EXPECT_EQ(0, ktls_session_set_server_name(self->s, "localhost"));
	EXPECT_EQ(0, ktls_session_set_resumption(self->s,
			resume ? self->sess : NULL, resume ? self->sess_len : 0));
	ret = ktls_session_handshake(self->s);
	if (ret && ret != -KTLS_E_NO_KTLS)
		TH_LOG("handshake: %s", ktls_session_error(self->s));
	return ret;
}

/* A new connection to self->port, and our client's handshake on it. */
static int client_connect(struct __test_metadata *_metadata,
			  FIXTURE_DATA(res) *self,
			  const FIXTURE_VARIANT(res) *variant, int resume)
{
	self->fd = connect_retry(self->port, 10000);
	ASSERT_LE(0, self->fd);
	return client_handshake(_metadata, self, variant, resume);
}

/* The session's resumption data into self->sess. */
static int take_sess(FIXTURE_DATA(res) *self, struct ktls_session *s)
{
	self->sess_len = sizeof(self->sess);
	return ktls_session_get_resumption(s, self->sess, &self->sess_len);
}

/* Our client takes what resumes the next connection, and leaves. */
static void client_leave(struct __test_metadata *_metadata,
			 FIXTURE_DATA(res) *self)
{
	ASSERT_EQ(0, take_sess(self, self->s));
	ASSERT_EQ(0, ktls_close_notify(self->s));
	client_end(self);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

/* A server program listening on a free port, "127.0.0.1:port" in hp. */
static void server_spawn(struct __test_metadata *_metadata,
			 FIXTURE_DATA(res) *self, char *const argv[], char *hp,
			 size_t hp_len)
{
	self->port = free_port();
	snprintf(hp, hp_len, "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	ASSERT_EQ(0, wait_listen(self->port, 10000));
}

/* ---- our client against gnutls-serv ---- */

/* One connection to gnutls-serv --echo: a line there and back. */
static void echo_line(struct __test_metadata *_metadata,
		      FIXTURE_DATA(res) *self, int seed)
{
	char line[301], back[301];

	hex_line(line, sizeof(line), seed);
	ASSERT_EQ((ssize_t)sizeof(line), send_all(self->s, line, sizeof(line)));
	ASSERT_EQ((ssize_t)sizeof(back),
		  recv_all(self->s, back, sizeof(back), sizeof(back)));
	ASSERT_EQ(0, memcmp(line, back, sizeof(line)));
}

TEST_F_TIMEOUT(res, client_vs_gnutls_serv, 120)
{
	ASSERT_EQ(0, gnutls_serv_echo(&self->p, &self->port));

	ASSERT_HANDSHAKE(client_connect(_metadata, self, variant, 0));
	ASSERT_EQ(0, ktls_session_info(self->s)->resumed);
	/* The echo comes after gnutls-serv's TLS 1.3 tickets. */
	echo_line(_metadata, self, 1);
	client_leave(_metadata, self);

	ASSERT_EQ(0, client_connect(_metadata, self, variant, 1));
	ASSERT_EQ(1, ktls_session_info(self->s)->resumed);
	echo_line(_metadata, self, 2);
	ASSERT_TRUE(peer_expect(&self->p, "*** This is a resumed session",
				self->out, sizeof(self->out), 10000))
		TH_LOG("gnutls-serv said: %s", self->out);
}

/* ---- our client against openssl s_server ---- */

/* s_server sends a line from its stdin; we read it through the kernel. */
static void line_from_s_server(struct __test_metadata *_metadata,
			       FIXTURE_DATA(res) *self, int seed)
{
	char line[201], got[201];

	hex_line(line, sizeof(line), seed);
	ASSERT_EQ((ssize_t)sizeof(line), write(self->p.in, line, sizeof(line)));
	ASSERT_EQ((ssize_t)sizeof(got),
		  recv_all(self->s, got, sizeof(got), sizeof(got)));
	ASSERT_EQ(0, memcmp(line, got, sizeof(line)));
}

TEST_F_TIMEOUT(res, client_vs_openssl_s_server, 120)
{
	char hp[32];
	/* Not -quiet: it reports "Reused session-id". */
	char *argv[] = { "openssl", "s_server", "-accept", hp, "-naccept", "2",
		"-cert", TEST_CERT, "-key", TEST_KEY, (char *)variant->ossl,
		NULL };

	server_spawn(_metadata, self, argv, hp, sizeof(hp));
	ASSERT_HANDSHAKE(client_connect(_metadata, self, variant, 0));
	line_from_s_server(_metadata, self, 3);
	client_leave(_metadata, self);

	ASSERT_EQ(0, client_connect(_metadata, self, variant, 1));
	ASSERT_EQ(1, ktls_session_info(self->s)->resumed);
	line_from_s_server(_metadata, self, 4);
	ASSERT_EQ(0, ktls_close_notify(self->s));
	/* Both connections done: s_server exits and has said it all. */
	ASSERT_TRUE(peer_expect(&self->p, "Reused session-id", self->out,
				sizeof(self->out), 10000))
		TH_LOG("s_server said: %s", self->out);
	ASSERT_EQ(0, peer_wait(&self->p, 10000));
	ASSERT_EQ(1, count(self->out, "Reused session-id"));
}

/* ---- our server with tickets ---- */

static void server_config(struct __test_metadata *_metadata,
			  FIXTURE_DATA(res) *self,
			  const FIXTURE_VARIANT(res) *variant)
{
	ASSERT_EQ(0, ktls_config_new(&self->scfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_add_cert(self->scfg, TEST_CERT, TEST_KEY));
	ASSERT_EQ(0, ktls_config_set_versions(self->scfg, variant->version,
					      variant->version));
	ASSERT_EQ(0, ktls_config_set_tickets(self->scfg, 1));
	self->lfd = listen_any(&self->port);
	ASSERT_LE(0, self->lfd);
}

/* Accept one connection and run our server's handshake on it. */
static int server_accept(FIXTURE_DATA(res) *self)
{
	int ret;

	ktls_session_free(self->ss);
	self->ss = NULL;
	if (self->sfd >= 0)
		close(self->sfd);
	self->sfd = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (self->sfd < 0)
		return -errno;
	set_timeouts(self->sfd, 20);
	ret = ktls_session_new(&self->ss, self->scfg, self->sfd);
	return ret ? ret : ktls_session_handshake(self->ss);
}

/* One s_client connection to our server; its output into out. 0: skipped. */
static int s_client_once(struct __test_metadata *_metadata,
			  FIXTURE_DATA(res) *self,
			  const FIXTURE_VARIANT(res) *variant, struct peer *p,
			  const char *sess_flag, char *out, size_t cap,
			  int resumed)
{
	char hp[32], line[101];
	char *argv[] = { "openssl", "s_client", "-connect", hp,
		"-CAfile", TEST_CERT, "-verify_return_error",
		(char *)variant->ossl, (char *)sess_flag, self->file, NULL };
	int ret;

	snprintf(hp, sizeof(hp), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(p, argv));
	ret = server_accept(self);
	if (ret == -KTLS_E_NO_KTLS)
		SKIP(return 0, "kTLS: TCP_ULP \"tls\" unavailable on this kernel");
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->ss));
	ASSERT_EQ(resumed, ktls_session_info(self->ss)->resumed);
	/* Data after the tickets: s_client prints it once it has them. */
	hex_line(line, sizeof(line), 5 + resumed);
	ASSERT_EQ((ssize_t)sizeof(line), send_all(self->ss, line, sizeof(line)));
	line[sizeof(line) - 1] = 0;
	ASSERT_TRUE(peer_expect(p, line, out, cap, 10000))
		TH_LOG("s_client said: %s", out);
	/* Its stdin ends: close_notify, and it exits. */
	close(p->in);
	p->in = -1;
	ASSERT_EQ(0, ktls_recv(self->ss, line, sizeof(line), 0, NULL));
	ASSERT_EQ(0, peer_wait(p, 10000));
	peer_expect(p, "\n\x01", out, cap, 1000);	/* the rest of its output */
	return 1;
}

TEST_F_TIMEOUT(res, server_vs_openssl_s_client, 120)
{
	char mark[32];

	server_config(_metadata, self, variant);
	if (!s_client_once(_metadata, self, variant, &self->p, "-sess_out",
			   self->out, sizeof(self->out), 0))
		return;
	ASSERT_EQ(0, access(self->file, R_OK));
	s_client_once(_metadata, self, variant, &self->p2, "-sess_in",
		      self->out2, sizeof(self->out2), 1);
	snprintf(mark, sizeof(mark), "Reused, TLSv1.%d",
		 variant->version == KTLS_TLS13 ? 3 : 2);
	ASSERT_NE(NULL, strstr(self->out2, mark))
		TH_LOG("s_client said: %s", self->out2);
}

/*
 * gnutls-cli --resume connects, disconnects and connects again; TLS 1.3:
 * --waitresumption makes it wait for a ticket first. The tickets leave
 * with the handshake, before our keys go to the kernel.
 */
TEST_F_TIMEOUT(res, server_vs_gnutls_cli, 120)
{
	char port[16], line[64];
	char *argv[] = { "gnutls-cli", "--resume", "-p", port,
		"--x509cafile", TEST_CERT, "--priority", (char *)variant->gprio,
		variant->version == KTLS_TLS13 ? "--waitresumption" : "localhost",
		"localhost", NULL };
	int ret;

	server_config(_metadata, self, variant);
	snprintf(port, sizeof(port), "%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	ret = server_accept(self);
	SKIP_NO_KTLS(ret);
	/*
	 * It hangs up at once, and may be gone before the keys reach the
	 * kernel (-ENOTCONN): its tickets went out with the handshake.
	 */
	if (ret != -ENOTCONN) {
		ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->ss));
		ASSERT_EQ(0, ktls_session_info(self->ss)->resumed);
		ASSERT_LE(0, ktls_recv(self->ss, line, sizeof(line), 0, NULL));
	}
	ret = server_accept(self);
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->ss));
	ASSERT_EQ(1, ktls_session_info(self->ss)->resumed);
	ASSERT_EQ(18, send_all(self->ss, "server after resum", 18));
	ASSERT_TRUE(peer_expect(&self->p, "server after resum", self->out,
				sizeof(self->out), 10000))
		TH_LOG("gnutls-cli said: %s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "*** This is a resumed session"))
		TH_LOG("gnutls-cli said: %s", self->out);
}

/* ---- ourselves on both ends ---- */

struct cli_thread {
	FIXTURE_DATA(res) *self;
	const FIXTURE_VARIANT(res) *variant;
	struct __test_metadata *md;
	int resume, ret;
	char got[100];
};

static void *client_main(void *arg)
{
	struct cli_thread *c = arg;

	c->ret = client_handshake(c->md, c->self, c->variant, c->resume);
	if (!c->ret && recv_all(c->self->s, c->got, sizeof(c->got), 33) !=
	    (ssize_t)sizeof(c->got))
		c->ret = -EIO;
	if (!c->ret)
		c->ret = take_sess(c->self, c->self->s);
	return NULL;
}

TEST_F_TIMEOUT(res, ourselves, 120)
{
	struct cli_thread c = { .self = self, .variant = variant, .md = _metadata };
	char data[100];
	pthread_t th;
	int round, ret;

	server_config(_metadata, self, variant);
	fill_pattern(data, sizeof(data), 7, 0);
	for (round = 0; round < 2; round++) {
		self->fd = connect_retry(self->port, 10000);
		ASSERT_LE(0, self->fd);
		c.resume = round;
		ASSERT_EQ(0, pthread_create(&th, NULL, client_main, &c));
		ret = server_accept(self);
		if (!ret)
			ret = send_all(self->ss, data, sizeof(data)) ==
			      sizeof(data) ? 0 : -EIO;
		if (ret)
			shutdown(self->sfd, SHUT_RDWR);
		pthread_join(th, NULL);
		SKIP_NO_KTLS(ret);
		ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->ss));
		ASSERT_EQ(0, c.ret) TH_LOG("client: %s", ktls_strerror(c.ret));
		ASSERT_EQ(0, memcmp(data, c.got, sizeof(data)));
		ASSERT_EQ(round, ktls_session_info(self->s)->resumed);
		ASSERT_EQ(round, ktls_session_info(self->ss)->resumed);
		client_end(self);
	}
}

/* ---- a GnuTLS server: tickets between data, after a KeyUpdate ---- */

static void *gpeer_main(void *arg)
{
	struct gpeer *g = arg;

	g->hs = gnutls_handshake_all(g->gs);
	if (!g->hs && g->act)
		g->act(g);
	return NULL;
}

/* A GnuTLS server with tickets on one end, our client on the other. */
static int gpeer_start(struct __test_metadata *_metadata,
		       FIXTURE_DATA(res) *self,
		       const FIXTURE_VARIANT(res) *variant,
		       void (*act)(struct gpeer *), int resume)
{
	struct gpeer *g = &self->g;
	int fds[2];

	if (!self->gcred) {
		ASSERT_EQ(0, gnutls_certificate_allocate_credentials(&self->gcred));
		ASSERT_LE(0, gnutls_certificate_set_x509_key_file(self->gcred,
				TEST_CERT, TEST_KEY, GNUTLS_X509_FMT_PEM));
		ASSERT_EQ(0, gnutls_session_ticket_key_generate(&self->tkey));
	}
	ASSERT_EQ(0, tcp_pair(fds));
	self->fd = fds[0];
	self->sfd = g->fd = fds[1];
	set_timeouts(g->fd, 20);
	g->act = act;
	g->ret = 0;
	ASSERT_EQ(0, gnutls_init(&g->gs, GNUTLS_SERVER | GNUTLS_NO_SIGNAL));
	ASSERT_EQ(0, gnutls_priority_set_direct(g->gs, variant->gprio, NULL));
	ASSERT_EQ(0, gnutls_credentials_set(g->gs, GNUTLS_CRD_CERTIFICATE,
					    self->gcred));
	ASSERT_EQ(0, gnutls_session_ticket_enable_server(g->gs, &self->tkey));
	gnutls_transport_set_int(g->gs, g->fd);
	ASSERT_EQ(0, pthread_create(&self->th, NULL, gpeer_main, g));
	self->th_on = 1;
	return client_handshake(_metadata, self, variant, resume);
}

#define PART 100000	/* bytes of data between the peer's messages */

/* GnuTLS sends at most one record per call. */
static int gpeer_pattern(struct gpeer *g, int part)
{
	static char buf[PART];
	size_t done = 0;

	fill_pattern(buf, PART, 9, (uint64_t)part * PART);
	while (done < PART) {
		ssize_t n = gnutls_record_send(g->gs, buf + done, PART - done);

		if (n <= 0)
			return n ? (int)n : -1;
		done += n;
	}
	return 0;
}

/* Data, a ticket, data. */
static void act_ticket_between(struct gpeer *g)
{
	g->ret = gpeer_pattern(g, 0);
	if (!g->ret)
		g->ret = gnutls_session_ticket_send(g->gs, 1, 0);
	if (!g->ret)
		g->ret = gpeer_pattern(g, 1);
}

/* Data, KeyUpdate, data, a ticket (under the new key), data. */
static void act_ticket_after_key_update(struct gpeer *g)
{
	g->ret = gpeer_pattern(g, 0);
	if (!g->ret)
		g->ret = gnutls_session_key_update(g->gs, 0);
	if (!g->ret)
		g->ret = gpeer_pattern(g, 1);
	if (!g->ret)
		g->ret = gnutls_session_ticket_send(g->gs, 1, 0);
	if (!g->ret)
		g->ret = gpeer_pattern(g, 2);
}

static void act_short(struct gpeer *g)
{
	g->ret = gnutls_record_send(g->gs, "resumed", 7) == 7 ? 0 : -1;
}

/* Read parts [from, to) of the peer's pattern, 7777 bytes at a time. */
static void read_parts(struct __test_metadata *_metadata,
		       FIXTURE_DATA(res) *self, int from, int to)
{
	static char buf[PART];
	int i;

	for (i = from; i < to; i++) {
		ASSERT_EQ(PART, recv_all(self->s, buf, PART, 7777));
		ASSERT_EQ(-1, check_pattern(buf, PART, 9, (uint64_t)i * PART))
			TH_LOG("part %d", i);
	}
}

/* A second connection with the data taken: the GnuTLS server resumes. */
static void resume_gpeer(struct __test_metadata *_metadata,
			 FIXTURE_DATA(res) *self,
			 const FIXTURE_VARIANT(res) *variant)
{
	char buf[8];

	client_end(self);
	ASSERT_EQ(0, gpeer_start(_metadata, self, variant, act_short, 1));
	ASSERT_EQ(7, recv_all(self->s, buf, 7, 7));
	ASSERT_EQ(0, memcmp(buf, "resumed", 7));
	ASSERT_EQ(1, ktls_session_info(self->s)->resumed);
	gpeer_join(self);
	ASSERT_EQ(0, self->g.ret);
	ASSERT_NE(0, gnutls_session_is_resumed(self->g.gs));
}

/*
 * The data around a ticket is intact, and the ticket is taken: the data
 * to resume changes (GnuTLS keeps the newest ticket) and resumes.
 */
TEST_F_TIMEOUT(res, ticket_between_data, 120)
{
	unsigned char first[SESS_MAX];
	size_t first_len;

	if (variant->version != KTLS_TLS13)
		SKIP(return, "TLS 1.2 tickets come within the handshake only");
	ASSERT_HANDSHAKE(gpeer_start(_metadata, self, variant, act_ticket_between, 0));
	read_parts(_metadata, self, 0, 1);
	/* So far, the tickets GnuTLS sent with its handshake. */
	ASSERT_EQ(0, take_sess(self, self->s));
	memcpy(first, self->sess, self->sess_len);
	first_len = self->sess_len;
	read_parts(_metadata, self, 1, 2);
	ASSERT_EQ(0, take_sess(self, self->s));
	gpeer_join(self);
	ASSERT_EQ(0, self->g.ret) TH_LOG("%s", gnutls_strerror(self->g.ret));
	ASSERT_TRUE(first_len != self->sess_len ||
		    memcmp(first, self->sess, first_len))
		TH_LOG("the ticket between the data was not taken");
	resume_gpeer(_metadata, self, variant);
}

/*
 * A ticket after the peer's KeyUpdate: where the kernel takes new keys,
 * it is taken like any other (GnuTLS gets the message, not a record, so
 * the key it came under does not matter). Elsewhere the KeyUpdate ends
 * the connection first (-KTLS_E_REKEY) and the older tickets still serve.
 */
TEST_F_TIMEOUT(res, ticket_after_key_update, 120)
{
	unsigned char first[SESS_MAX];
	struct ktls_probe pr = { .size = sizeof(pr) };
	size_t first_len;
	char buf[64];

	if (variant->version != KTLS_TLS13)
		SKIP(return, "KeyUpdate is TLS 1.3 only");
	ASSERT_HANDSHAKE(gpeer_start(_metadata, self, variant, act_ticket_after_key_update, 0));
	read_parts(_metadata, self, 0, 1);
	ASSERT_EQ(0, take_sess(self, self->s));
	memcpy(first, self->sess, self->sess_len);
	first_len = self->sess_len;
	ASSERT_EQ(0, ktls_probe(&pr));
	TH_LOG("this kernel %s new keys", pr.rekey ? "takes" : "does not take");
	if (!pr.rekey) {
		ASSERT_EQ(-KTLS_E_REKEY, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
		ASSERT_EQ(0, take_sess(self, self->s));
		ASSERT_EQ(first_len, self->sess_len);
		ASSERT_EQ(0, memcmp(first, self->sess, first_len));
	} else {
		read_parts(_metadata, self, 1, 3);
		ASSERT_EQ(0, take_sess(self, self->s));
		ASSERT_TRUE(first_len != self->sess_len ||
			    memcmp(first, self->sess, first_len))
			TH_LOG("the ticket after the KeyUpdate was not taken");
		gpeer_join(self);
		ASSERT_EQ(0, self->g.ret) TH_LOG("%s", gnutls_strerror(self->g.ret));
	}
	resume_gpeer(_metadata, self, variant);
}

/* ---- what the calls refuse ---- */

TEST_F_TIMEOUT(res, api_errors, 120)
{
	static const unsigned char junk[40] = { 1, 2, 3 };
	struct ktls_session *s;
	unsigned char buf[16];
	size_t len = sizeof(buf);
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_config_new(&self->cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_verify(self->cfg, KTLS_VERIFY_NONE));
	ASSERT_EQ(0, ktls_config_new(&self->scfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_set_tickets(self->scfg, 1));
	ASSERT_EQ(0, ktls_config_set_tickets(self->scfg, 0));
	ASSERT_EQ(0, ktls_config_set_tickets(self->scfg, 1));
	ASSERT_EQ(-EINVAL, ktls_config_set_tickets(NULL, 1));
	ASSERT_EQ(-EINVAL, ktls_config_set_rekey_limit(NULL, 1));

	ASSERT_EQ(0, ktls_session_new(&s, self->cfg, fds[0]));
	EXPECT_EQ(-EINVAL, ktls_session_get_resumption(s, buf, &len));
	EXPECT_EQ(-EINVAL, ktls_session_set_resumption(s, NULL, 5));
	EXPECT_EQ(-EINVAL, ktls_session_set_resumption(s, junk, 0));
	EXPECT_EQ(-EINVAL, ktls_session_set_resumption(NULL, NULL, 0));
	/* Not data GnuTLS made: refused, and the session still works. */
	EXPECT_EQ(-EINVAL, ktls_session_set_resumption(s, junk, sizeof(junk)));
	EXPECT_EQ(0, ktls_session_set_resumption(s, NULL, 0));
	EXPECT_EQ(0, ktls_session_set_server_name(s, "localhost"));
	EXPECT_EQ(-EINVAL, ktls_send(s, "x", 1, 0));
	ktls_session_free(s);

	ASSERT_EQ(0, ktls_session_new(&s, self->scfg, fds[1]));
	EXPECT_EQ(-EINVAL, ktls_session_set_resumption(s, NULL, 0));
	EXPECT_EQ(-EINVAL, ktls_session_get_resumption(s, buf, &len));
	ktls_session_free(s);
	/* Nothing reached the wire. */
	EXPECT_EQ(-1, recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT));
	close(fds[0]);
	close(fds[1]);
}

/* Our server, a client session of ours: sizes, no ticket yet, refusals. */
struct hs_thread {
	struct ktls_session *s;
	int ret;
};

static void *hs_main(void *arg)
{
	struct hs_thread *h = arg;

	h->ret = ktls_session_handshake(h->s);
	return NULL;
}

/* Both ends ours, the server issuing tickets only if tickets is set. */
static int pair_start(struct __test_metadata *_metadata,
		      FIXTURE_DATA(res) *self,
		      const FIXTURE_VARIANT(res) *variant, int tickets)
{
	struct hs_thread h;
	pthread_t th;
	int fds[2], ret;

	ASSERT_EQ(0, tcp_pair(fds));
	self->fd = fds[0];
	self->sfd = fds[1];
	set_timeouts(self->sfd, 20);
	ASSERT_EQ(0, ktls_config_new(&self->scfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_add_cert(self->scfg, TEST_CERT, TEST_KEY));
	ASSERT_EQ(0, ktls_config_set_tickets(self->scfg, tickets));
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->scfg, self->sfd));
	h.s = self->ss;
	ASSERT_EQ(0, pthread_create(&th, NULL, hs_main, &h));
	ret = client_handshake(_metadata, self, variant, 0);
	if (ret)
		shutdown(self->fd, SHUT_RDWR);
	pthread_join(th, NULL);
	return ret ? ret : h.ret;
}

TEST_F_TIMEOUT(res, get_resumption_sizes, 120)
{
	unsigned char small[4];
	char buf[8];
	size_t len = 0, need;

	ASSERT_HANDSHAKE(pair_start(_metadata, self, variant, 1));
	EXPECT_EQ(-EINVAL, ktls_session_get_resumption(self->ss, NULL, &len));
	if (variant->version == KTLS_TLS13) {
		/* The tickets are in the socket, not read yet. */
		EXPECT_EQ(-EAGAIN, ktls_session_get_resumption(self->s, NULL, &len));
		ASSERT_EQ(4, send_all(self->ss, "data", 4));
		ASSERT_EQ(4, recv_all(self->s, buf, 4, 4));
	}
	len = 0;
	ASSERT_EQ(-ENOSPC, ktls_session_get_resumption(self->s, NULL, &len));
	need = len;
	ASSERT_LT(sizeof(small), need);
	len = sizeof(small);
	ASSERT_EQ(-ENOSPC, ktls_session_get_resumption(self->s, small, &len));
	ASSERT_EQ(need, len);
	ASSERT_EQ(0, take_sess(self, self->s));
	ASSERT_EQ(need, self->sess_len);
}

/* TLS 1.3: a server without tickets sends none: -EAGAIN stays. */
TEST_F_TIMEOUT(res, no_tickets_no_data, 120)
{
	size_t len = 0;
	char buf[8];

	if (variant->version != KTLS_TLS13)
		SKIP(return, "TLS 1.2 has a session ID to resume at least");
	ASSERT_HANDSHAKE(pair_start(_metadata, self, variant, 0));
	ASSERT_EQ(4, send_all(self->ss, "data", 4));
	ASSERT_EQ(4, recv_all(self->s, buf, 4, 4));
	EXPECT_EQ(-EAGAIN, ktls_session_get_resumption(self->s, NULL, &len));
}

/* A ticket GnuTLS cannot parse, to a client that keeps tickets. */
TEST_F_TIMEOUT(res, bad_ticket, 120)
{
	unsigned char nst[40], buf[64], t;
	union {
		char b[CMSG_SPACE(1)];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { nst, sizeof(nst) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *cm;

	if (variant->version != KTLS_TLS13)
		SKIP(return, "tickets after the handshake are TLS 1.3 only");
	ASSERT_HANDSHAKE(pair_start(_metadata, self, variant, 0));
	/* NewSessionTicket whose nonce claims more bytes than there are. */
	memset(nst, 0xa5, sizeof(nst));
	nst[0] = 4;
	nst[1] = 0;
	nst[2] = 0;
	nst[3] = sizeof(nst) - 4;
	memset(&cb, 0, sizeof(cb));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(cm) = REC_HANDSHAKE;
	ASSERT_EQ((ssize_t)sizeof(nst), sendmsg(self->sfd, &m, 0));
	ASSERT_EQ(-EPROTO, ktls_recv(self->s, buf, sizeof(buf), 0, NULL));
	/* decode_error came back. */
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	m.msg_controllen = sizeof(cb.b);
	ASSERT_EQ(2, recvmsg(self->sfd, &m, 0));
	t = *CMSG_DATA(CMSG_FIRSTHDR(&m));
	ASSERT_EQ(21, t);
	ASSERT_EQ(2, buf[0]);
	ASSERT_EQ(50, buf[1]);
}

/* ---- ktlsctl --session-file and --tickets ---- */

/* A kernel without kTLS: skip (CI turns this into a failure). */
#define SKIP_IF_NO_KTLS_SAID(out) do {					\
	if (strstr(out, "no TLS support"))				\
		SKIP(return, "kTLS: the kernel has no TLS ULP");	\
} while (0)

/*
 * A line typed into the server program comes out of the client program
 * (self->out2: what it said); then the client's stdin ends, and it must
 * exit 0 within timeout_ms.
 */
static void line_to_client(struct __test_metadata *_metadata,
			   FIXTURE_DATA(res) *self, int seed, const char *who,
			   int timeout_ms)
{
	char line[81];

	hex_line(line, sizeof(line), seed);
	ASSERT_EQ((ssize_t)sizeof(line), write(self->p.in, line, sizeof(line)));
	line[sizeof(line) - 1] = 0;
	ASSERT_TRUE(peer_expect(&self->p2, line, self->out2,
				sizeof(self->out2), 10000))
		TH_LOG("%s said: %s", who, self->out2);
	close(self->p2.in);
	self->p2.in = -1;
	ASSERT_EQ(0, peer_wait(&self->p2, timeout_ms));
}

/*
 * ktlsctl connect --session-file twice to s_server: the first run saves
 * what the second resumes with.
 */
TEST_F_TIMEOUT(res, ktlsctl_session_file, 120)
{
	char hp[32], path[PATH_MAX];
	char *srv[] = { "openssl", "s_server", "-accept", hp, "-naccept", "2",
		"-cert", TEST_CERT, "-key", TEST_KEY, (char *)variant->ossl, NULL };
	char *cli[] = { path, "connect", hp, "--ca", TEST_CERT,
		"--session-file", self->file, NULL };
	int round;

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	server_spawn(_metadata, self, srv, hp, sizeof(hp));
	for (round = 0; round < 2; round++) {
		self->out2[0] = 0;
		ASSERT_EQ(0, peer_spawn(&self->p2, cli));
		peer_expect(&self->p2, "kTLS TX", self->out2,
			    sizeof(self->out2), 10000);
		SKIP_IF_NO_KTLS_SAID(self->out2);
		ASSERT_NE(NULL, strstr(self->out2, round ? "resumed yes" :
						     "resumed no"))
			TH_LOG("ktlsctl said: %s", self->out2);
		/*
		 * A line from s_server: its TLS 1.3 tickets came before. Then
		 * ktlsctl's stdin ends: close_notify both ways, save, exit 0.
		 */
		line_to_client(_metadata, self, 20 + round, "ktlsctl", 20000);
		peer_stop(&self->p2);
		ASSERT_EQ(0, access(self->file, R_OK));
	}
	ASSERT_TRUE(peer_expect(&self->p, "Reused session-id", self->out,
				sizeof(self->out), 10000))
		TH_LOG("s_server said: %s", self->out);
}

/* ktlsctl listen --tickets: s_client -sess_out, then -sess_in resumes. */
TEST_F_TIMEOUT(res, ktlsctl_listen_tickets, 120)
{
	char hp[32], path[PATH_MAX], mark[32];
	char *srv[] = { path, "listen", hp, "--cert", TEST_CERT, "--key",
		TEST_KEY, "--tickets", "--tls-version",
		variant->version == KTLS_TLS13 ? "1.3" : "1.2", NULL };
	char *cli[] = { "openssl", "s_client", "-connect", hp,
		"-CAfile", TEST_CERT, "-verify_return_error", (char *)variant->ossl,
		"-sess_out", self->file, NULL };
	int round;

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	server_spawn(_metadata, self, srv, hp, sizeof(hp));
	for (round = 0; round < 2; round++) {
		cli[8] = round ? "-sess_in" : "-sess_out";
		self->out2[0] = 0;
		ASSERT_EQ(0, peer_spawn(&self->p2, cli));
		peer_expect(&self->p, "kTLS TX", self->out, sizeof(self->out),
			    10000);
		SKIP_IF_NO_KTLS_SAID(self->out);
		ASSERT_NE(NULL, strstr(self->out, round ? "resumed yes" :
						    "resumed no"))
			TH_LOG("ktlsctl said: %s", self->out);
		self->out[0] = 0;
		line_to_client(_metadata, self, 30 + round, "s_client", 10000);
		peer_expect(&self->p2, "\n\x01", self->out2, sizeof(self->out2),
			    1000);	/* the rest of what it printed */
		if (round)
			break;
		peer_stop(&self->p2);
	}
	snprintf(mark, sizeof(mark), "Reused, TLSv1.%d",
		 variant->version == KTLS_TLS13 ? 3 : 2);
	ASSERT_NE(NULL, strstr(self->out2, mark))
		TH_LOG("s_client said: %s", self->out2);
}

TEST_HARNESS_MAIN
