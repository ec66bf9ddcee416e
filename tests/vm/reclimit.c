// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The peer's record size limit (RFC 8449) after the switch: a GnuTLS peer
 * in a thread that takes records of at most 512 bytes of data
 * (gnutls_record_set_max_recv_size) reads 64 KiB from us and measures
 * every record on the wire before it decrypts it. Where the kernel has
 * TLS_TX_MAX_PAYLOAD_LEN (6.19+) no record of ours may be longer than the
 * limit allows, and the longest must be exactly that long (the whole
 * allowance used: no off-by-one); elsewhere the handshake must fail with
 * the sentence that says why, rather than send records the peer refuses.
 * Our end is a libktls client or server, or ktlsd's handoff.
 */
#include <gnutls/gnutls.h>
#include <linux/tls.h>
#include <pthread.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"
#include "peers.h"
#include "tlsio.h"

#ifndef TLS_TX_MAX_PAYLOAD_LEN
#define TLS_TX_MAX_PAYLOAD_LEN 5
#endif

#define DATA_LEN	(64 * 1024)
#define TAG		16	/* AES-GCM */
#define EXPLICIT_IV	8	/* TLS 1.2 AES-GCM */

/* The GnuTLS peer and what it saw on the wire. */
struct gpeer {
	int fd, version, serve;
	unsigned limit;			/* its receive limit; 0: GnuTLS's */
	gnutls_session_t gs;
	gnutls_certificate_credentials_t cred;
	unsigned char hdr[5];		/* the record header being read */
	size_t hdr_got, body_left;
	size_t max_data_rec;		/* the longest data record (type 23) */
	unsigned data_recs;
	int hs;				/* its handshake's result */
	int rd;				/* bytes read, or a GnuTLS error */
	long long bad_at;		/* first byte not as sent, or -1 */
};

/* Every byte the peer reads goes through here: record lengths, raw. */
static void scan(struct gpeer *g, const unsigned char *p, size_t n)
{
	size_t take;

	while (n) {
		if (g->body_left) {
			take = n < g->body_left ? n : g->body_left;
			g->body_left -= take;
			p += take;
			n -= take;
			continue;
		}
		g->hdr[g->hdr_got++] = *p++;
		n--;
		if (g->hdr_got < 5)
			continue;
		g->hdr_got = 0;
		g->body_left = (g->hdr[3] << 8) | g->hdr[4];
		if (g->hdr[0] == 23) {
			g->data_recs++;
			if (g->body_left > g->max_data_rec)
				g->max_data_rec = g->body_left;
		}
	}
}

static ssize_t gpeer_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct gpeer *g = ptr;
	ssize_t n = recv(g->fd, buf, len, 0);

	if (n > 0)
		scan(g, buf, n);
	return n;
}

static ssize_t gpeer_push(gnutls_transport_ptr_t ptr, const void *buf,
			  size_t len)
{
	struct gpeer *g = ptr;

	return send(g->fd, buf, len, MSG_NOSIGNAL);
}

static void *gpeer_main(void *arg)
{
	struct gpeer *g = arg;
	char *buf = malloc(DATA_LEN);
	int n;

	g->hs = gnutls_handshake_all(g->gs);
	g->rd = 0;
	g->bad_at = -1;
	while (!g->hs && buf && g->rd < DATA_LEN) {
		n = gnutls_record_recv(g->gs, buf + g->rd, DATA_LEN - g->rd);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;	/* after a ticket, say */
		if (n <= 0) {
			g->rd = n ? n : g->rd;
			break;
		}
		g->rd += n;
	}
	if (g->rd == DATA_LEN)
		g->bad_at = check_pattern(buf, DATA_LEN, 17, 0);
	free(buf);
	return NULL;
}

/* The GnuTLS side of fd, its limit set, AES-128-GCM, one version. */
static int gpeer_init(struct gpeer *g)
{
	char prio[160];
	int ret;

	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.%d:"
		 "-CIPHER-ALL:+AES-128-GCM", g->version == KTLS_TLS13 ? 3 : 2);
	ret = gnutls_certificate_allocate_credentials(&g->cred);
	if (!ret && g->serve)
		ret = gnutls_certificate_set_x509_key_file(g->cred, TEST_CERT,
				TEST_KEY, GNUTLS_X509_FMT_PEM);
	if (!ret)
		ret = gnutls_init(&g->gs, g->serve ? GNUTLS_SERVER : GNUTLS_CLIENT);
	if (!ret)
		ret = gnutls_priority_set_direct(g->gs, prio, NULL);
	if (!ret)
		ret = gnutls_credentials_set(g->gs, GNUTLS_CRD_CERTIFICATE, g->cred);
	if (!ret && g->limit)
		ret = gnutls_record_set_max_recv_size(g->gs, g->limit);
	if (ret)
		return ret;
	gnutls_transport_set_ptr(g->gs, g);
	gnutls_transport_set_pull_function(g->gs, gpeer_pull);
	gnutls_transport_set_push_function(g->gs, gpeer_push);
	return 0;
}

static void gpeer_free(struct gpeer *g)
{
	if (g->gs)
		gnutls_deinit(g->gs);
	if (g->cred)
		gnutls_certificate_free_credentials(g->cred);
	g->gs = NULL;
	g->cred = NULL;
}

/* Whether this kernel takes TLS_TX_MAX_PAYLOAD_LEN: 1, 0, or -errno. */
static int kernel_has_payload_len(void)
{
	int fds[2], ret;
	uint16_t v;
	socklen_t len = sizeof(v);

	if (tcp_pair(fds))
		return -errno;
	ret = tcp_set_ulp_tls(fds[0]);
	if (!ret)
		ret = getsockopt(fds[0], SOL_TLS, TLS_TX_MAX_PAYLOAD_LEN, &v,
				 &len) ? (errno == ENOPROTOOPT ? 0 : -errno) : 1;
	close(fds[0]);
	close(fds[1]);
	return ret;
}

/* The longest record of limit bytes of data on the wire. */
static size_t record_len(int version, unsigned data)
{
	return version == KTLS_TLS13 ? data + 1 + TAG : EXPLICIT_IV + data + TAG;
}

FIXTURE(rsl)
{
	int fd, pfd;
	struct ktls_config *cfg;
	struct ktls_session *s;
	struct gpeer g;
	pthread_t th;
	int th_on;
	int has;	/* kernel_has_payload_len() */
};

FIXTURE_VARIANT(rsl)
{
	int version;
	int we_serve;
	unsigned limit;	/* the peer's; 0: GnuTLS's default, full records */
};

FIXTURE_VARIANT_ADD(rsl, client_13_512)
{
	.version = KTLS_TLS13, .we_serve = 0, .limit = 512,
};

FIXTURE_VARIANT_ADD(rsl, client_12_512)
{
	.version = KTLS_TLS12, .we_serve = 0, .limit = 512,
};

FIXTURE_VARIANT_ADD(rsl, server_13_512)
{
	.version = KTLS_TLS13, .we_serve = 1, .limit = 512,
};

FIXTURE_VARIANT_ADD(rsl, server_12_1000)
{
	.version = KTLS_TLS12, .we_serve = 1, .limit = 1000,
};

FIXTURE_VARIANT_ADD(rsl, client_13_no_limit)
{
	.version = KTLS_TLS13, .we_serve = 0, .limit = 0,
};

FIXTURE_SETUP(rsl)
{
	int fds[2];

	self->fd = self->pfd = -1;
	ASSERT_EQ(0, make_test_cert());
	self->has = kernel_has_payload_len();
	if (self->has == -ENOENT)
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable on this kernel");
	ASSERT_LE(0, self->has);
	ASSERT_EQ(0, tcp_pair(fds));
	/* fds[0] connected, fds[1] accepted: the client is on fds[0]. */
	self->fd = fds[variant->we_serve];
	self->pfd = fds[!variant->we_serve];
	set_timeouts(self->fd, 20);
	set_timeouts(self->pfd, 20);
	self->g.fd = self->pfd;
	self->g.version = variant->version;
	self->g.serve = !variant->we_serve;
	self->g.limit = variant->limit;
	ASSERT_EQ(0, gpeer_init(&self->g));
	ASSERT_EQ(0, pthread_create(&self->th, NULL, gpeer_main, &self->g));
	self->th_on = 1;
}

FIXTURE_TEARDOWN(rsl)
{
	if (self->fd >= 0)
		shutdown(self->fd, SHUT_RDWR);
	if (self->th_on)
		pthread_join(self->th, NULL);
	gpeer_free(&self->g);
	ktls_session_free(self->s);
	ktls_config_free(self->cfg);
	if (self->fd >= 0)
		close(self->fd);
	if (self->pfd >= 0)
		close(self->pfd);
}

/* Our end's handshake: libktls, client or server as the variant says. */
static int our_handshake(FIXTURE_DATA(rsl) *self, int we_serve, int version)
{
	int ret;

	ret = ktls_config_new(&self->cfg, we_serve ? KTLS_SERVER : KTLS_CLIENT);
	if (!ret && we_serve)
		ret = ktls_config_add_cert(self->cfg, TEST_CERT, TEST_KEY);
	if (!ret && !we_serve)
		ret = ktls_config_set_verify(self->cfg, KTLS_VERIFY_NONE);
	if (!ret)
		ret = ktls_config_set_versions(self->cfg, version, version);
	if (!ret)
		ret = ktls_config_set_ciphers(self->cfg, KTLS_CIPHER_AES_128_GCM);
	if (!ret)
		ret = ktls_session_new(&self->s, self->cfg, self->fd);
	return ret ? ret : ktls_session_handshake(self->s);
}

/* Send DATA_LEN bytes on fd in large writes, as an application would. */
static int send_data(int fd)
{
	char *buf = malloc(DATA_LEN);
	ssize_t n;
	size_t off = 0;

	if (!buf)
		return -ENOMEM;
	fill_pattern(buf, DATA_LEN, 17, 0);
	while (off < DATA_LEN) {
		n = send(fd, buf + off, DATA_LEN - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += n;
	}
	free(buf);
	return off == DATA_LEN ? 0 : -EIO;
}

/* What the peer saw of DATA_LEN bytes under a limit of data per record. */
#define ASSERT_PEER_GOT_RECORDS_OF(max_data) do {			\
	pthread_join(self->th, NULL);					\
	self->th_on = 0;						\
	ASSERT_EQ(0, self->g.hs) TH_LOG("%s", gnutls_strerror(self->g.hs)); \
	ASSERT_EQ(DATA_LEN, self->g.rd)					\
		TH_LOG("the peer: %s", gnutls_strerror(self->g.rd));	\
	EXPECT_EQ(-1, self->g.bad_at);					\
	EXPECT_EQ(record_len(variant->version, max_data),		\
		  self->g.max_data_rec);				\
	EXPECT_LE(DATA_LEN / (max_data), self->g.data_recs);		\
	TH_LOG("%u data records, the longest %zu bytes", self->g.data_recs, \
	       self->g.max_data_rec);					\
} while (0)

TEST_F_TIMEOUT(rsl, no_record_over_the_limit, 60)
{
	unsigned data = variant->limit;
	uint16_t v = 0;
	socklen_t len = sizeof(v);
	int ret;

	if (_metadata->skip)
		return;
	ret = our_handshake(self, variant->we_serve, variant->version);
	if (variant->limit && !self->has) {
		/* The peer would refuse our records: refused here instead. */
		EXPECT_EQ(-EMSGSIZE, ret);
		EXPECT_NE(NULL, strstr(ktls_session_error(self->s),
				       "Linux 6.19")) TH_LOG("%s",
				       ktls_session_error(self->s));
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->s));
	if (variant->limit) {
		/*
		 * What the kernel keeps: bytes of data per record. GnuTLS
		 * advertises its receive size plus one in TLS 1.3 (the
		 * content type), as is, in TLS 1.2: the same data both ways.
		 */
		ASSERT_EQ(0, getsockopt(self->fd, SOL_TLS,
					TLS_TX_MAX_PAYLOAD_LEN, &v, &len));
		EXPECT_EQ(variant->limit, v);
	} else {
		data = 16384;
	}
	ASSERT_EQ(0, send_data(self->fd));
	ASSERT_PEER_GOT_RECORDS_OF(data);
}

/* ---- The same through ktlsd's handoff: ktlsd installs the keys ---- */

FIXTURE(handoff)
{
	struct daemon d;
	int fd, pfd;
	struct gpeer g;
	pthread_t th;
	int th_on;
	int has;
};

FIXTURE_SETUP(handoff)
{
	int fds[2];

	self->fd = self->pfd = -1;
	self->has = kernel_has_payload_len();
	if (self->has == -ENOENT)
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable on this kernel");
	ASSERT_LE(0, self->has);
	daemon_start(_metadata, &self->d, "[profile srv]\nrole = server\n"
		     "certificate = " TEST_CERT "\nkey = " TEST_KEY "\n"
		     "versions = 1.3\n", 16);
	ASSERT_EQ(0, tcp_pair(fds));
	self->pfd = fds[0];
	self->fd = fds[1];
	set_timeouts(self->pfd, 20);
	self->g.fd = self->pfd;
	self->g.version = KTLS_TLS13;
	self->g.limit = 512;
	ASSERT_EQ(0, gpeer_init(&self->g));
	ASSERT_EQ(0, pthread_create(&self->th, NULL, gpeer_main, &self->g));
	self->th_on = 1;
}

FIXTURE_TEARDOWN(handoff)
{
	if (self->pfd >= 0)
		shutdown(self->pfd, SHUT_RDWR);
	if (self->th_on)
		pthread_join(self->th, NULL);
	gpeer_free(&self->g);
	if (self->fd >= 0)
		close(self->fd);
	if (self->pfd >= 0)
		close(self->pfd);
	daemon_stop(_metadata, &self->d);
}

TEST_F_TIMEOUT(handoff, server_keeps_the_client_limit, 60)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "srv" };
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;
	int ret;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ret = ktls_handoff(h, self->fd, &req, &s);
	ktls_session_free(s);
	if (!self->has) {
		EXPECT_NE(0, ret);
		EXPECT_EQ(1, log_count(&self->d, "Linux 6.19"))
			TH_LOG("%s", log_tail(&self->d));
		ktls_handoff_close(h);
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_handoff_error(h));
	ktls_handoff_close(h);
	ASSERT_EQ(0, send_data(self->fd));
	pthread_join(self->th, NULL);
	self->th_on = 0;
	ASSERT_EQ(0, self->g.hs) TH_LOG("%s", gnutls_strerror(self->g.hs));
	ASSERT_EQ(DATA_LEN, self->g.rd)
		TH_LOG("the peer: %s", gnutls_strerror(self->g.rd));
	EXPECT_EQ(-1, self->g.bad_at);
	EXPECT_EQ(record_len(KTLS_TLS13, 512), self->g.max_data_rec);
}

TEST_HARNESS_MAIN
