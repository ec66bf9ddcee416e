// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A kernel request with several PSK identities, as NVMe/TCP sends them:
 * the client offers one per ClientHello, in the kernel's order, until the
 * server accepts one (tlshd's behaviour). The path exercised is ktlsd's
 * own from the credentials on: upcall_creds() for the first identity, a
 * job on ktlsd's worker loop, the loop's retry op (upcall_retry()) for the
 * next ones, and the status DONE would carry (upcall_status()); only the
 * netlink ACCEPT and DONE are not here (the host has no handshake
 * family). The server is libktls in a thread of this process, on the
 * other end of a loopback TCP connection, and knows one identity only; it
 * handshakes again on the same connection after each failure, as a server
 * that lets a client retry must.
 */
#include <keyutils.h>

#include "kselftest_harness.h"
#include "duo.h"
#include "internal.h"
#include "session.h"
#include "loop.h"
#include "peers.h"
#include "upcall.h"
#include "handshake_nl.h"

#define TRIES 4

struct server {
	int fd;
	const char *identity;
	uint8_t key[48];
	size_t key_len;
	int rets[TRIES];
	int alerts[TRIES];		/* the alert each attempt sent */
	int n;				/* handshakes that began */
	char suite[64];			/* of the last one that got through */
	int prf;			/* its hash (gnutls_digest_algorithm_t) */
	int raw_alert;			/* answer each ClientHello with this */
};

struct outcome {
	int pipe[2];
	int status;			/* what DONE would say */
	int32_t psk_used;
	unsigned tries;			/* r->psk_next at the end */
};

static struct outcome out;

/* A server that answers each ClientHello with a fatal alert, raw. */
static void *alert_main(struct server *sv)
{
	uint8_t hdr[5], body[1 << 14];
	uint8_t alert[7] = { 21, 3, 3, 0, 2, 2, (uint8_t)sv->raw_alert };
	size_t len;

	for (sv->n = 0; sv->n < TRIES; sv->n++) {
		if (read_full(sv->fd, hdr, 5) != 5 || hdr[0] != 22)
			break;
		len = hdr[3] << 8 | hdr[4];
		if (len > sizeof(body) || read_full(sv->fd, body, len) != (ssize_t)len ||
		    write_full(sv->fd, alert, sizeof(alert)) != sizeof(alert))
			break;
		sv->rets[sv->n] = -KTLS_E_ALERT;
		sv->alerts[sv->n] = sv->raw_alert;
	}
	return NULL;
}

/* The server: handshakes on one connection until one succeeds or EOF. */
static void *server_main(void *arg)
{
	struct server *sv = arg;
	struct ktls_config *cfg = NULL;
	struct ktls_session *s;
	int alert, sent;
	char b;

	if (sv->raw_alert)
		return alert_main(sv);
	if (ktls_config_new(&cfg, KTLS_SERVER) ||
	    ktls_config_set_versions(cfg, KTLS_TLS13, KTLS_TLS13) ||
	    ktls_config_set_psk(cfg, sv->identity, sv->key, sv->key_len))
		goto out;
	for (sv->n = 0; sv->n < TRIES; sv->n++) {
		/* Wait for a ClientHello, or the client's end. */
		if (recv(sv->fd, &b, 1, MSG_PEEK) != 1 ||
		    ktls_session_new(&s, cfg, sv->fd))
			break;
		sv->rets[sv->n] = ktls_session_handshake(s);
		alert = ktls_session_alert(s, &sent);
		sv->alerts[sv->n] = alert >= 0 && sent ? alert : -1;
		if (sv->rets[sv->n] == 0 || sv->rets[sv->n] == -KTLS_E_NO_KTLS) {
			snprintf(sv->suite, sizeof(sv->suite), "%s",
				 gnutls_cipher_get_name(gnutls_cipher_get(s->gs)));
			sv->prf = gnutls_prf_hash_get(s->gs);
		}
		ktls_session_free(s);
		if (sv->suite[0]) {
			sv->n++;
			break;
		}
	}
out:
	ktls_config_free(cfg);
	return NULL;
}

static void test_done(struct job *j, int status, const char *msg,
		      const struct ktls_session *s)
{
	struct upreq *r = (struct upreq *)j;

	out.status = upcall_status(r, status, s);
	out.psk_used = r->psk_used;
	out.tries = r->psk_next;
	if (write(out.pipe[1], "x", 1) != 1)
		abort();
}

static int test_gone(struct job *j)
{
	return 0;
}

/* upcall.c's job_ops, but for DONE, which needs the kernel. */
static const struct job_ops test_ops = {
	.done = test_done,
	.gone = test_gone,
	.retry = upcall_retry,
};

FIXTURE(psk)
{
	char path[64];
	char err[512];
	struct conf *c;
	struct ktlsd d;
	int fds[2];
	pthread_t th;
	struct server sv;
	int32_t ids[3];
};

/* A "psk" key would need the kernel's NVMe code; "user" ones read alike. */
static int32_t psk_key(const char *identity, uint8_t fill, size_t len)
{
	uint8_t key[48];

	memset(key, fill, len);
	return add_key("user", identity, key, len, KEY_SPEC_PROCESS_KEYRING);
}

FIXTURE_SETUP(psk)
{
	FILE *f;

	snprintf(self->path, sizeof(self->path), "/tmp/ktlsd-psk-%d.conf",
		 getpid());
	keyring_init();
	self->ids[0] = psk_key("ktlsd-test-one", 0x11, 32);
	self->ids[1] = psk_key("ktlsd-test-two", 0x22, 32);
	self->ids[2] = psk_key("ktlsd-test-three", 0x33, 32);
	if (self->ids[0] < 0 || self->ids[1] < 0 || self->ids[2] < 0)
		SKIP(return, "no kernel keyrings here: %s", strerror(errno));
	f = fopen(self->path, "we");
	ASSERT_NE(NULL, f);
	fputs("[authenticate.client]\n", f);
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, conf_load_tlshd(self->path, &self->c, self->err,
				     sizeof(self->err))) TH_LOG("%s", self->err);
	self->d.conf = self->c;
	pthread_mutex_init(&self->d.conf_lock, NULL);
	ASSERT_EQ(0, pipe2(out.pipe, O_CLOEXEC));
	ASSERT_EQ(0, tcp_pair(self->fds));
	self->sv.fd = self->fds[1];
	self->sv.identity = "ktlsd-test-three";
	memset(self->sv.key, 0x33, 32);
	self->sv.key_len = 32;
	ASSERT_EQ(0, loop_start(&self->d, 1));
}

FIXTURE_TEARDOWN(psk)
{
	if (self->d.workers)
		loop_stop(&self->d);
	close(self->fds[0]);
	close(self->fds[1]);
	close(out.pipe[0]);
	close(out.pipe[1]);
	conf_put(self->c);
	unlink(self->path);
}

/*
 * Submit a client PSK request naming ids (n of them) as upcall.c's
 * start() does; wait for its outcome in out. 0 or -errno.
 */
static int run_request(FIXTURE_DATA(psk) *self, const int32_t *ids,
		       unsigned n)
{
	struct upreq *r = calloc(1, sizeof(*r));
	const char *msg = "";
	struct pollfd pfd = { .fd = out.pipe[0], .events = POLLIN };
	char b;
	int ret;

	if (!r)
		return -ENOMEM;
	r->sockfd = -1;
	r->type = HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	r->auth = HANDSHAKE_AUTH_PSK;
	memcpy(r->peerids, ids, n * sizeof(*ids));
	r->n_peerids = n;
	r->timeout_ms = 10000;
	ret = upcall_creds(ktlsd_conf(&self->d), r, &msg);
	if (ret) {
		free(r);
		return -ret;
	}
	r->j.front = FRONT_UPCALL;
	r->j.ops = &test_ops;
	r->j.timeout_ms = r->timeout_ms;
	r->j.ev.fd = dup(self->fds[0]);
	if (pthread_create(&self->th, NULL, server_main, &self->sv))
		return -EAGAIN;
	ret = job_submit(&self->d, &r->j);
	if (ret)
		return ret;
	ret = poll(&pfd, 1, 20000) == 1 && read(out.pipe[0], &b, 1) == 1 ?
	      0 : -ETIMEDOUT;
	/* The client has finished: the server sees the end, if it waits. */
	shutdown(self->fds[0], SHUT_RDWR);
	pthread_join(self->th, NULL);
	return ret;
}

/* The server knows only the third: three ClientHellos, the third wins. */
TEST_F(psk, third_identity_is_accepted)
{
	int i;

	ASSERT_EQ(0, run_request(self, self->ids, 3));
	ASSERT_EQ(3, self->sv.n);
	for (i = 0; i < 2; i++) {
		ASSERT_NE(0, self->sv.rets[i]);
		ASSERT_NE(-KTLS_E_NO_KTLS, self->sv.rets[i]);
	}
	ASSERT_EQ(host_has_ktls() ? 0 : -KTLS_E_NO_KTLS, self->sv.rets[2]);
	ASSERT_EQ(self->ids[2], out.psk_used);
	ASSERT_EQ(3u, out.tries);
	/* A 32-byte PSK: a SHA-256 suite. */
	ASSERT_EQ(GNUTLS_DIG_SHA256, self->sv.prf);
	ASSERT_STRNE("AES-256-GCM", self->sv.suite);
	/* Here, without kTLS, the install fails after the handshake. */
	ASSERT_EQ(host_has_ktls() ? 0 : EIO, out.status);
}

/* The first the server knows is used: no further ClientHello. */
TEST_F(psk, first_known_identity_ends_the_tries)
{
	int32_t ids[3] = { self->ids[2], self->ids[0], self->ids[1] };

	ASSERT_EQ(0, run_request(self, ids, 3));
	ASSERT_EQ(1, self->sv.n);
	ASSERT_EQ(self->ids[2], out.psk_used);
	ASSERT_EQ(1u, out.tries);
}

/*
 * A GnuTLS server (tlshd's, ktlsd's) that knows none of them aborts with
 * internal_error: after the last, EACCES, as tlshd reports a refusal.
 */
TEST_F(psk, none_known_is_eacces)
{
	ASSERT_EQ(0, run_request(self, self->ids, 2));
	ASSERT_EQ(2, self->sv.n);
	ASSERT_EQ(KTLS_ALERT_INTERNAL_ERROR, self->sv.alerts[1]);
	ASSERT_EQ(EACCES, out.status);
	ASSERT_EQ(2u, out.tries);
}

/*
 * A server that says unknown_psk_identity (RFC 8446 4.2.11) to each:
 * every identity offered, then EKEYREJECTED, as tlshd reports that alert.
 */
TEST_F(psk, unknown_psk_identity_alert_is_ekeyrejected)
{
	self->sv.raw_alert = KTLS_ALERT_UNKNOWN_PSK_IDENTITY;
	ASSERT_EQ(0, run_request(self, self->ids, 3));
	ASSERT_EQ(3, self->sv.n);
	ASSERT_EQ(EKEYREJECTED, out.status);
	ASSERT_EQ(3u, out.tries);
}

TEST_HARNESS_MAIN
