// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lib/session.c and lib/config.c on the host: every failure that can come
 * before, or instead of, the switch to kernel TLS. Both ends are libktls
 * in this process (the client in a thread) over a loopback TCP pair.
 *
 * Where the kernel has no TLS ULP, a handshake that worked ends at the
 * install step with -KTLS_E_NO_KTLS: that is the success path here (and 0
 * where the kernel has kTLS).
 */
#include <fcntl.h>
#include <poll.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <ktls.h>

/* Under SANITIZE=1: GnuTLS's leak in tests/lsan.supp happens here. */
#define KTLS_LSAN_OPTIONS ":fast_unwind_on_malloc=0"
#include "kselftest_harness.h"
#include "duo.h"
#include "peers.h"

/* ---- Throwaway certificates, made once by the parent process ---- */

static struct {
	char dir[32];
	char srv[64], srv_key[64];	/* CN=localhost, DNS:localhost, IP:127.0.0.1 */
	char other[64], other_key[64];	/* an unrelated self-signed "CA" */
	char cli[64], cli_key[64];	/* a client certificate */
	char fake[64], fake_key[64];	/* other's name on another key */
	char junk[64];			/* PEM armour around garbage */
	pid_t owner;
	int ok;
} certs;

static int make_cert(const char *cert, const char *key, const char *cn,
		     const char *san)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec"
		 " -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=%s"
		 "%s%s -keyout %s -out %s >/dev/null 2>&1", cn,
		 san ? " -addext subjectAltName=" : "", san ? san : "", key, cert);
	return system(cmd) ? -1 : 0;
}

static void certs_remove(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", certs.dir);
	if (getpid() == certs.owner && system(cmd))
		fprintf(stderr, "# could not remove %s\n", certs.dir);
}

static void __attribute__((constructor)) certs_make(void)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\n"
		"bm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
	FILE *f;

	strcpy(certs.dir, "/tmp/ktls-session-XXXXXX");
	if (!mkdtemp(certs.dir))
		return;
	certs.owner = getpid();
	atexit(certs_remove);
#define P(field, name) snprintf(certs.field, sizeof(certs.field), "%s/" name, certs.dir)
	P(srv, "srv.pem"); P(srv_key, "srv.key");
	P(other, "other.pem"); P(other_key, "other.key");
	P(cli, "cli.pem"); P(cli_key, "cli.key");
	P(fake, "fake.pem"); P(fake_key, "fake.key");
	P(junk, "junk.pem");
#undef P
	f = fopen(certs.junk, "we");
	if (!f || fputs(junk, f) < 0 || fclose(f))
		return;
	certs.ok = !make_cert(certs.srv, certs.srv_key, "localhost",
			      "DNS:localhost,IP:127.0.0.1") &&
		   !make_cert(certs.other, certs.other_key, "other-ca", NULL) &&
		   !make_cert(certs.cli, certs.cli_key, "client", NULL) &&
		   !make_cert(certs.fake, certs.fake_key, "other-ca", NULL);
}

#define ASSERT_CERTS() \
	ASSERT_TRUE(certs.ok) TH_LOG("could not make test certificates with openssl")


static int set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? fl : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A handshake that worked: installed, or stopped only by missing kTLS. */
/* ---- Fresh configs, at most one session, no peer ---- */

FIXTURE(single)
{
	struct ktls_config *cfg, *server;	/* cfg: a client's */
	struct ktls_session *s;
	int fds[2];
};

FIXTURE_SETUP(single)
{
	self->fds[0] = self->fds[1] = -1;
	ASSERT_CERTS();
	ASSERT_EQ(0, ktls_config_new(&self->cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_new(&self->server, KTLS_SERVER));
}

FIXTURE_TEARDOWN(single)
{
	ktls_session_free(self->s);
	ktls_config_free(self->cfg);
	ktls_config_free(self->server);
	if (self->fds[0] >= 0)
		close(self->fds[0]);
	if (self->fds[1] >= 0)
		close(self->fds[1]);
}

#define ASSERT_NEW_FAILS(err) do {					\
	int __r = ktls_session_new(&self->s, self->cfg, self->fds[0]);	\
	ASSERT_EQ(err, __r) TH_LOG("%s", ktls_strerror(__r));		\
	ASSERT_NULL(self->s);						\
	ASSERT_STREQ(strerror(-(err)), ktls_strerror(__r));		\
} while (0)

TEST_F(single, new_on_pipe)
{
	ASSERT_EQ(0, pipe2(self->fds, O_CLOEXEC));
	ASSERT_NEW_FAILS(-ENOTSOCK);
}

TEST_F(single, new_on_udp)
{
	ASSERT_LE(0, self->fds[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	ASSERT_NEW_FAILS(-EPROTOTYPE);
}

TEST_F(single, new_on_unix_stream)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, self->fds));
	ASSERT_NEW_FAILS(-EPROTONOSUPPORT);
}

TEST_F(single, new_on_unconnected_tcp)
{
	ASSERT_LE(0, self->fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	ASSERT_NEW_FAILS(-ENOTCONN);
}

TEST_F(single, new_on_listening_tcp)
{
	int port;

	ASSERT_LE(0, self->fds[0] = listen_any(&port));
	ASSERT_NEW_FAILS(-ENOTCONN);
}

/* The peer has already closed: CLOSE_WAIT is no place to start TLS. */
TEST_F(single, new_after_peer_closed)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	ASSERT_EQ(0, tcp_pair(self->fds));
	close(self->fds[1]);
	self->fds[1] = -1;
	nanosleep(&ts, NULL);
	ASSERT_NEW_FAILS(-ENOTCONN);
}

TEST_F(single, new_bad_arguments)
{
	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(-EINVAL, ktls_session_new(&self->s, self->cfg, -1));
	ASSERT_EQ(-EINVAL, ktls_session_new(&self->s, NULL, self->fds[0]));
	ASSERT_EQ(-EINVAL, ktls_session_new(NULL, self->cfg, self->fds[0]));
	ASSERT_NULL(self->s);
	ASSERT_EQ(-EINVAL, ktls_session_handshake(NULL));
	ASSERT_EQ(0, ktls_session_want(NULL));
	ASSERT_STREQ("", ktls_session_error(NULL));
	ASSERT_EQ(-EINVAL, ktls_config_new(NULL, KTLS_CLIENT));
	ASSERT_EQ(-EINVAL, ktls_config_new(&self->cfg, (enum ktls_role)7));
	ASSERT_NE(NULL, self->cfg);	/* untouched: still the fixture's */
}

TEST_F(single, server_name_misuse)
{
	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->server, self->fds[1]));
	ASSERT_EQ(-EINVAL, ktls_session_set_server_name(self->s, "localhost"))
		TH_LOG("a server session took a server name to ask for");
	ktls_session_free(self->s);
	self->s = NULL;
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fds[0]));
	ASSERT_EQ(-EINVAL, ktls_session_set_server_name(self->s, ""));
	ASSERT_EQ(-EINVAL, ktls_session_set_server_name(self->s, NULL));
}

TEST_F(single, add_cert_missing_files)
{
	ASSERT_EQ(-ENOENT, ktls_config_add_cert(self->server, "/nonexistent/c.pem",
						certs.srv_key));
	ASSERT_EQ(-ENOENT, ktls_config_add_cert(self->server, certs.srv,
						"/nonexistent/k.pem"));
	ASSERT_EQ(-EINVAL, ktls_config_add_cert(self->server, NULL, certs.srv_key));
	/* Nothing was added: the server still has no credentials. */
	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->server, self->fds[1]));
	ASSERT_EQ(-KTLS_E_CONFIG, ktls_session_handshake(self->s));
}

TEST_F(single, add_cert_garbage_pem)
{
	ASSERT_EQ(-KTLS_E_CONFIG, ktls_config_add_cert(self->cfg, certs.junk,
						       certs.srv_key));
	ASSERT_EQ(-KTLS_E_CONFIG, ktls_config_add_cert(self->cfg, certs.srv,
						       certs.junk));
	/* Both files good, but the key is another certificate's. */
	ASSERT_EQ(-KTLS_E_CONFIG, ktls_config_add_cert(self->cfg, certs.srv,
						       certs.other_key));
	ASSERT_NE(NULL, strstr(ktls_strerror(-KTLS_E_CONFIG), "configuration"));
}

TEST_F(single, ca_and_crl_files_missing)
{
	ASSERT_EQ(-ENOENT, ktls_config_set_ca_file(self->cfg, "/nonexistent/ca.pem"));
	ASSERT_EQ(-ENOENT, ktls_config_set_crl_file(self->cfg, "/nonexistent/crl.pem"));
	/* The failed CA file left the client without a trust store. */
	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fds[0]));
	ASSERT_EQ(-KTLS_E_CONFIG, ktls_session_handshake(self->s));
}

/*
 * A readable file with no certificate in it (here: the private key given
 * by mistake) is a configuration error, not a missing file.
 */
TEST_F(single, ca_file_without_certificates)
{
	int ret;

	ret = ktls_config_set_ca_file(self->cfg, certs.junk);
	ASSERT_EQ(-KTLS_E_CONFIG, ret) TH_LOG("%s", ktls_strerror(ret));
	ret = ktls_config_set_ca_file(self->cfg, certs.srv_key);
	EXPECT_EQ(-KTLS_E_CONFIG, ret) TH_LOG("a key file as CA file "
		"gave %d (%s)", ret, ktls_strerror(ret));
}

TEST_F(single, versions_invalid)
{
	ASSERT_EQ(-EINVAL, ktls_config_set_versions(self->cfg, KTLS_TLS13, KTLS_TLS12));
	ASSERT_EQ(-EINVAL, ktls_config_set_versions(self->cfg, 0x0302, KTLS_TLS13));
	ASSERT_EQ(-EINVAL, ktls_config_set_versions(self->cfg, KTLS_TLS12, 0x0305));
}

TEST_F(single, ciphers_invalid)
{
	ASSERT_EQ(-EINVAL, ktls_config_set_ciphers(self->cfg, 0));
	ASSERT_EQ(-EINVAL, ktls_config_set_ciphers(self->cfg, 1u << 4));
}

TEST_F(single, other_options_invalid)
{
	static const unsigned char key[16] = { 1 };

	ASSERT_EQ(-EINVAL, ktls_config_set_verify(self->cfg, 1u << 4));
	ASSERT_EQ(-EINVAL, ktls_config_set_verify(self->cfg, KTLS_VERIFY_NONE |
						  KTLS_VERIFY_CHAIN_ONLY));
	ASSERT_EQ(-EINVAL, ktls_config_set_timeout(self->cfg, 0));
	ASSERT_EQ(-EINVAL, ktls_config_set_psk(self->cfg, "", key, sizeof(key)));
	ASSERT_EQ(-EINVAL, ktls_config_set_psk(self->cfg, "id", key, 0));
	ASSERT_EQ(0, ktls_config_set_psk(self->cfg, "id", key, sizeof(key)));
	ASSERT_EQ(-EINVAL, ktls_config_set_psk(self->cfg, "id2", key, sizeof(key)))
		TH_LOG("a second PSK replaced the first");
}

TEST_F(single, alpn_too_long_or_too_many)
{
	char big[300];

	memset(big, 'x', 256);
	big[256] = 0;
	ASSERT_EQ(-EINVAL, ktls_config_set_alpn(self->cfg, big));
	ASSERT_EQ(-EINVAL, ktls_config_set_alpn(self->cfg, "a,b,c,d,e,f,g,h,i"));
	ASSERT_EQ(-EINVAL, ktls_config_set_alpn(self->cfg, NULL));
	ASSERT_EQ(0, ktls_config_set_alpn(self->cfg, "h2,http/1.1"));
}

/* Empty names in the ALPN list ("h2,,x", ",h2", "") are refused. */
TEST_F(single, alpn_empty_element)
{
#define EMPTY_ELEMENT(list)						\
	EXPECT_EQ(-EINVAL, ktls_config_set_alpn(self->cfg, list))	\
		TH_LOG("ALPN list \"" list "\" was accepted")
	EMPTY_ELEMENT("h2,,http/1.1");
	EMPTY_ELEMENT(",h2");
	EMPTY_ELEMENT("h2,");
	EMPTY_ELEMENT("");
#undef EMPTY_ELEMENT
}

TEST_F(single, server_without_credentials)
{
	char first[512];

	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->server, self->fds[1]));
	ASSERT_FAILED(-KTLS_E_CONFIG, ktls_session_handshake(self->s), self->s,
		      "certificate and key, or a PSK");
	/* A failed session stays failed, and keeps its explanation. */
	snprintf(first, sizeof(first), "%s", ktls_session_error(self->s));
	ASSERT_EQ(-EINVAL, ktls_session_handshake(self->s));
	ASSERT_STREQ(first, ktls_session_error(self->s));
}

TEST_F(single, client_without_trust_store)
{
	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(0, ktls_session_new(&self->s, self->cfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->s, "localhost"));
	ASSERT_FAILED(-KTLS_E_CONFIG, ktls_session_handshake(self->s), self->s,
		      "No trust store to verify the server with: give a CA file");
}

/* ---- Two libktls ends over one loopback TCP pair ---- */

FIXTURE(pair)
{
	int fds[2];			/* [0] client, [1] server */
	struct ktls_config *ccfg, *scfg;
	struct ktls_session *cs, *ss;
	int cret, sret;
};

static void duo_setup(struct __test_metadata *_metadata, FIXTURE_DATA(pair) *d)
{
	d->fds[0] = d->fds[1] = -1;
	ASSERT_CERTS();
	ASSERT_EQ(0, tcp_pair(d->fds));
	ASSERT_EQ(0, ktls_config_new(&d->ccfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_new(&d->scfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_set_ca_file(d->ccfg, certs.srv));
	ASSERT_EQ(0, ktls_config_add_cert(d->scfg, certs.srv, certs.srv_key));
	/* A failing end that leaves its peer waiting must not hang the run. */
	ASSERT_EQ(0, ktls_config_set_timeout(d->ccfg, 5000));
	ASSERT_EQ(0, ktls_config_set_timeout(d->scfg, 5000));
}

static void duo_teardown(FIXTURE_DATA(pair) *d)
{
	ktls_session_free(d->cs);
	ktls_session_free(d->ss);
	ktls_config_free(d->ccfg);
	ktls_config_free(d->scfg);
	if (d->fds[0] >= 0)
		close(d->fds[0]);
	if (d->fds[1] >= 0)
		close(d->fds[1]);
}

/* Sessions from the configs as they are now; name NULL: no server name. */
static void duo_sessions(struct __test_metadata *_metadata, FIXTURE_DATA(pair) *d,
			 const char *name)
{
	ASSERT_EQ(0, ktls_session_new(&d->cs, d->ccfg, d->fds[0]));
	ASSERT_EQ(0, ktls_session_new(&d->ss, d->scfg, d->fds[1]));
	if (name)
		ASSERT_EQ(0, ktls_session_set_server_name(d->cs, name));
}

/* Client in a thread, server here; both results in d. */
static void duo_run(struct __test_metadata *_metadata, FIXTURE_DATA(pair) *d,
		    const char *name)
{
	duo_sessions(_metadata, d, name);
	ASSERT_EQ(0, duo_handshake(d->cs, d->fds[0], &d->cret,
				   d->ss, d->fds[1], &d->sret));
}

#define ASSERT_BOTH_REACHED_INSTALL(d) do {				\
	ASSERT_REACHED_INSTALL((d)->cret, (d)->cs);			\
	ASSERT_REACHED_INSTALL((d)->sret, (d)->ss);			\
} while (0)

FIXTURE_SETUP(pair)
{
	duo_setup(_metadata, self);
}

FIXTURE_TEARDOWN(pair)
{
	duo_teardown(self);
}

/*
 * The verifying end fails and closes without a TLS alert (libktls sends
 * none on a handshake failure), so its peer can only report the closed
 * connection.
 */
#define ASSERT_PEER_CLOSED(ret, s)					\
	ASSERT_FAILED(-ECONNRESET, ret, s,				\
		      "closed the connection during the handshake")

/* After duo_run(): how each end ended. */
#define ASSERT_CLIENT_FAILED(err, phrase)				\
	ASSERT_FAILED(err, self->cret, self->cs, phrase)
#define ASSERT_SERVER_FAILED(err, phrase)				\
	ASSERT_FAILED(err, self->sret, self->ss, phrase)
#define ASSERT_CLIENT_SAW_ALERT() ASSERT_PEER_ALERTED(self->cret, self->cs)
#define ASSERT_SERVER_SAW_ALERT() ASSERT_PEER_ALERTED(self->sret, self->ss)

TEST_F(pair, untrusted_ca)
{
	ktls_config_free(self->ccfg);
	self->ccfg = NULL;
	ASSERT_EQ(0, ktls_config_new(&self->ccfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->ccfg, certs.other));
	duo_run(_metadata, self, "localhost");
	ASSERT_CLIENT_FAILED(-KTLS_E_VERIFY, "certificate did not verify");
	ASSERT_ERROR_HAS(self->cs, "issuer");
	ASSERT_SERVER_SAW_ALERT();
}

TEST_F(pair, wrong_server_name)
{
	duo_run(_metadata, self, "wrong.example");
	ASSERT_CLIENT_FAILED(-KTLS_E_VERIFY, "certificate did not verify");
	ASSERT_ERROR_HAS(self->cs, "does not match");
	ASSERT_SERVER_SAW_ALERT();
}

/* An IP literal is not sent as SNI but is checked against the SAN IP. */
TEST_F(pair, ip_address_matches_san)
{
	duo_run(_metadata, self, "127.0.0.1");
	ASSERT_BOTH_REACHED_INSTALL(self);
}

/* No name given: the peer's address is checked, and this one is in the SAN. */
TEST_F(pair, no_name_address_in_san)
{
	duo_run(_metadata, self, NULL);
	ASSERT_BOTH_REACHED_INSTALL(self);
}

TEST_F(pair, ip_address_not_in_san)
{
	duo_run(_metadata, self, "127.0.0.2");
	ASSERT_CLIENT_FAILED(-KTLS_E_VERIFY, "does not match");
}

TEST_F(pair, verify_none_without_trust_store)
{
	ktls_config_free(self->ccfg);
	self->ccfg = NULL;
	ASSERT_EQ(0, ktls_config_new(&self->ccfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_verify(self->ccfg, KTLS_VERIFY_NONE));
	duo_run(_metadata, self, "wrong.example");
	ASSERT_BOTH_REACHED_INSTALL(self);
}

static void require_client_cert(struct __test_metadata *_metadata,
				FIXTURE_DATA(pair) *self, const char *ca, int version)
{
	ASSERT_EQ(0, ktls_config_set_verify(self->scfg, KTLS_VERIFY_REQUIRE_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->scfg, ca));
	ASSERT_EQ(0, ktls_config_set_versions(self->ccfg, version, version));
}

/*
 * TLS 1.2: the client waits for the server's Finished, which never comes;
 * it sees the server close.
 */
TEST_F(pair, mtls12_client_without_cert)
{
	require_client_cert(_metadata, self, certs.cli, KTLS_TLS12);
	duo_run(_metadata, self, "localhost");
	ASSERT_SERVER_FAILED(-KTLS_E_VERIFY, "sent no certificate");
	ASSERT_CLIENT_SAW_ALERT();
}

/*
 * TLS 1.3: the client's handshake is over once it has sent its (empty)
 * Certificate and Finished, before the server looks at them; the client
 * cannot know, and goes on to the install step. With kTLS it would learn
 * of the failure only from its first read.
 *
 * The server must report it as TLS 1.2 does (-KTLS_E_VERIFY), although
 * GnuTLS names it differently in TLS 1.3 (GNUTLS_E_CERTIFICATE_REQUIRED).
 */
TEST_F(pair, mtls13_client_without_cert)
{
	require_client_cert(_metadata, self, certs.cli, KTLS_TLS13);
	duo_run(_metadata, self, "localhost");
	ASSERT_REACHED_INSTALL(self->cret, self->cs);
	EXPECT_EQ(-KTLS_E_VERIFY, self->sret)
		TH_LOG("TLS 1.3 missing client certificate: %s",
		       ktls_session_error(self->ss));
}

TEST_F(pair, mtls_client_cert_trusted)
{
	require_client_cert(_metadata, self, certs.cli, KTLS_TLS13);
	ASSERT_EQ(0, ktls_config_add_cert(self->ccfg, certs.cli, certs.cli_key));
	duo_run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL(self);
}

/*
 * A client whose certificate is from a CA the server does not name in its
 * CertificateRequest sends none (GnuTLS picks by issuer), so this one
 * carries the trusted CA's name, signed with another key.
 */
TEST_F(pair, mtls12_client_cert_forged)
{
	require_client_cert(_metadata, self, certs.other, KTLS_TLS12);
	ASSERT_EQ(0, ktls_config_add_cert(self->ccfg, certs.fake, certs.fake_key));
	duo_run(_metadata, self, "localhost");
	ASSERT_SERVER_FAILED(-KTLS_E_VERIFY, "certificate did not verify");
	ASSERT_CLIENT_SAW_ALERT();
}

/* Both ends PSK-only (no certificates at all), TLS 1.3; the server is "alice". */
static void psk_configs(struct __test_metadata *_metadata,
			FIXTURE_DATA(pair) *self, const char *client_id,
			const char *client_key, const char *server_key)
{
	struct ktls_config **cfg[2] = { &self->ccfg, &self->scfg };
	const char *id[2] = { client_id, "alice" };
	const char *key[2] = { client_key, server_key };
	int i;

	for (i = 0; i < 2; i++) {
		ktls_config_free(*cfg[i]);
		*cfg[i] = NULL;
		ASSERT_EQ(0, ktls_config_new(cfg[i], i ? KTLS_SERVER : KTLS_CLIENT));
		ASSERT_EQ(0, ktls_config_set_psk(*cfg[i], id[i], key[i], strlen(key[i])));
		ASSERT_EQ(0, ktls_config_set_versions(*cfg[i], KTLS_TLS13, KTLS_TLS13));
		ASSERT_EQ(0, ktls_config_set_timeout(*cfg[i], 5000));
	}
}

#define KEY1 "0123456789abcdef0123456789abcdef"
#define KEY2 "fedcba9876543210fedcba9876543210"

TEST_F(pair, psk13_same_key)
{
	psk_configs(_metadata, self, "alice", KEY1, KEY1);
	duo_run(_metadata, self, NULL);
	ASSERT_BOTH_REACHED_INSTALL(self);
}

TEST_F(pair, psk13_wrong_key)
{
	psk_configs(_metadata, self, "alice", KEY1, KEY2);
	duo_run(_metadata, self, NULL);
	/* The binder in the ClientHello does not check out with our key. */
	ASSERT_SERVER_FAILED(-KTLS_E_HANDSHAKE, "handshake failed: An illegal parameter");
	ASSERT_CLIENT_SAW_ALERT();
}

TEST_F(pair, psk13_unknown_identity)
{
	psk_configs(_metadata, self, "mallory", KEY1, KEY1);
	duo_run(_metadata, self, NULL);
	ASSERT_SERVER_FAILED(-KTLS_E_HANDSHAKE, "handshake failed: Error in password/key file");
	ASSERT_CLIENT_SAW_ALERT();
	/* GnuTLS's text ends in a full stop already: no "..". */
	EXPECT_EQ(NULL, strstr(ktls_session_error(self->ss), ".."))
		TH_LOG("doubled full stop in \"%s\"", ktls_session_error(self->ss));
}

TEST_F(pair, alpn_overlap)
{
	ASSERT_EQ(0, ktls_config_set_alpn(self->ccfg, "h2,http/1.1"));
	ASSERT_EQ(0, ktls_config_set_alpn(self->scfg, "http/1.1"));
	duo_run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL(self);
}

TEST_F(pair, no_common_version)
{
	ASSERT_EQ(0, ktls_config_set_versions(self->ccfg, KTLS_TLS12, KTLS_TLS12));
	ASSERT_EQ(0, ktls_config_set_versions(self->scfg, KTLS_TLS13, KTLS_TLS13));
	duo_run(_metadata, self, "localhost");
	ASSERT_SERVER_FAILED(-KTLS_E_HANDSHAKE, "No common TLS parameters");
	ASSERT_CLIENT_SAW_ALERT();
}

TEST_F(pair, no_common_cipher)
{
	ASSERT_EQ(0, ktls_config_set_ciphers(self->ccfg, KTLS_CIPHER_AES_128_GCM));
	ASSERT_EQ(0, ktls_config_set_ciphers(self->scfg, KTLS_CIPHER_AES_256_GCM));
	duo_run(_metadata, self, "localhost");
	ASSERT_SERVER_FAILED(-KTLS_E_HANDSHAKE, "No common TLS parameters");
	ASSERT_CLIENT_SAW_ALERT();
}

/* A blocking handshake with a peer that never answers, 500 ms allowed. */
static void assert_times_out(struct __test_metadata *_metadata,
			     struct ktls_session *s)
{
	struct timespec t0, t1;
	long ms;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = ktls_session_handshake(s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ASSERT_FAILED(-ETIMEDOUT, ret, s, "did not finish within 500 ms");
	ASSERT_LE(490, ms);
	ASSERT_GE(3000, ms);
}

/* The client end is a plain socket that never says a word. */
TEST_F(pair, timeout_silent_client)
{
	ASSERT_EQ(0, ktls_config_set_timeout(self->scfg, 500));
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->scfg, self->fds[1]));
	assert_times_out(_metadata, self->ss);
}

/* The server end reads nothing and never answers the ClientHello. */
TEST_F(pair, timeout_silent_server)
{
	ASSERT_EQ(0, ktls_config_set_timeout(self->ccfg, 500));
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	assert_times_out(_metadata, self->cs);
}

/*
 * NOTE: include/ktls.h calls the timeout a deadline "for blocking
 * handshakes", but ktls_session_handshake() checks it on every call, so a
 * non-blocking handshake that spans it ends in -ETIMEDOUT as well. This
 * pins what the code does; the header or the code should change.
 */
TEST_F(pair, timeout_nonblocking)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	ASSERT_EQ(0, set_nonblocking(self->fds[1]));
	ASSERT_EQ(0, ktls_config_set_timeout(self->scfg, 200));
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->scfg, self->fds[1]));
	ASSERT_EQ(-1, ktls_session_time_left(self->ss));
	ASSERT_EQ(-EAGAIN, ktls_session_handshake(self->ss));
	/* What an event loop would give poll() as its timeout. */
	ASSERT_LT(0, ktls_session_time_left(self->ss));
	ASSERT_GE(200, ktls_session_time_left(self->ss));
	nanosleep(&ts, NULL);
	ASSERT_EQ(0, ktls_session_time_left(self->ss));
	ASSERT_FAILED(-ETIMEDOUT, ktls_session_handshake(self->ss), self->ss,
		      "did not finish within 200 ms");
}

/*
 * The session exists before the client goes away: a socket that is
 * already in CLOSE_WAIT is refused by ktls_session_new (see
 * single.new_after_peer_closed).
 */
TEST_F(pair, client_closes_before_hello)
{
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->scfg, self->fds[1]));
	close(self->fds[0]);
	self->fds[0] = -1;
	ASSERT_PEER_CLOSED(ktls_session_handshake(self->ss), self->ss);
}

/* A plaintext HTTP client on the TLS port: "GET /" is no record header. */
TEST_F(pair, client_speaks_http)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";

	ASSERT_EQ(0, ktls_session_new(&self->ss, self->scfg, self->fds[1]));
	ASSERT_EQ((ssize_t)strlen(req), write_full(self->fds[0], req, strlen(req)));
	close(self->fds[0]);
	self->fds[0] = -1;
	ASSERT_FAILED(-KTLS_E_HANDSHAKE, ktls_session_handshake(self->ss), self->ss,
		      "handshake failed: An unexpected TLS packet");
}

/* A server that answers the ClientHello with a fatal alert, in clear. */
TEST_F(pair, server_sends_fatal_alert)
{
	static const unsigned char alert[] = { 21, 3, 3, 0, 2, 2, 40 };

	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ((ssize_t)sizeof(alert),
		  write_full(self->fds[1], alert, sizeof(alert)));
	ASSERT_FAILED(-KTLS_E_ALERT, ktls_session_handshake(self->cs), self->cs,
		      "aborted the handshake with the alert");
	ASSERT_ERROR_HAS(self->cs, "'handshake_failure' (40)");
}

/* The server end has closed: EOF where the ServerHello should be. */
TEST_F(pair, server_closes_after_hello)
{
	char buf[5];

	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ(0, shutdown(self->fds[1], SHUT_WR));
	ASSERT_PEER_CLOSED(ktls_session_handshake(self->cs), self->cs);
	ASSERT_EQ(5, read_full(self->fds[1], buf, sizeof(buf)));
	ASSERT_EQ(0x16, buf[0]) TH_LOG("the client's first record is no handshake");
}

/* ---- Key exchange groups ---- */

/* Bytes of the client's first record on fd (its ClientHello); 0 or -1. */
static ssize_t read_client_hello(int fd, unsigned char *buf, size_t size)
{
	size_t len;

	if (read_full(fd, buf, 5) != 5 || buf[0] != 0x16)
		return -1;
	len = (size_t)buf[3] << 8 | buf[4];
	if (len + 5 > size || read_full(fd, buf + 5, len) != (ssize_t)len)
		return -1;
	return len + 5;
}

/*
 * An extension of a ClientHello record: its body and length, or NULL.
 * Layout (RFC 8446, 4.1.2): record header 5, handshake header 4, version
 * 2, random 32, session id <1>, cipher suites <2>, compression <1>, then
 * the extensions <2>, each a type 2, length 2, body.
 */
static const unsigned char *ch_extension(const unsigned char *b, size_t len,
					 unsigned type, size_t *ext_len)
{
	size_t off = 5 + 4 + 2 + 32, end;

	if (off + 1 > len)
		return NULL;
	off += 1 + b[off];
	if (off + 2 > len)
		return NULL;
	off += 2 + ((size_t)b[off] << 8 | b[off + 1]);
	if (off + 1 > len)
		return NULL;
	off += 1 + b[off];
	if (off + 2 > len)
		return NULL;
	end = off + 2 + ((size_t)b[off] << 8 | b[off + 1]);
	if (end > len)
		return NULL;
	for (off += 2; off + 4 <= end;) {
		unsigned t = (unsigned)b[off] << 8 | b[off + 1];
		size_t l = (size_t)b[off + 2] << 8 | b[off + 3];

		if (off + 4 + l > end)
			return NULL;
		if (t == type) {
			*ext_len = l;
			return b + off + 4;
		}
		off += 4 + l;
	}
	return NULL;
}

#define EXT_SUPPORTED_GROUPS	10
#define EXT_KEY_SHARE		51
#define GROUP_X25519		0x001d

/*
 * Our client leads with X25519 and sends one key share, for it (GnuTLS's
 * defaults lead with P-256 and send two, each a key generation).
 */
TEST_F(pair, client_hello_one_key_share_x25519)
{
	unsigned char ch[4096];
	const unsigned char *e;
	size_t len;
	ssize_t n;

	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ(0, set_nonblocking(self->fds[0]));
	ASSERT_EQ(-EAGAIN, ktls_session_handshake(self->cs));
	n = read_client_hello(self->fds[1], ch, sizeof(ch));
	ASSERT_LT(0, n);
	e = ch_extension(ch, n, EXT_SUPPORTED_GROUPS, &len);
	ASSERT_NE(NULL, e);
	ASSERT_LE(4u, len);
	EXPECT_EQ(GROUP_X25519, e[2] << 8 | e[3]) TH_LOG("first group %#x",
							 e[2] << 8 | e[3]);
	e = ch_extension(ch, n, EXT_KEY_SHARE, &len);
	ASSERT_NE(NULL, e);
	/* client_shares<2>: one entry of group 2, length 2, 32 bytes. */
	ASSERT_EQ(2u + 4 + 32, len);
	EXPECT_EQ(GROUP_X25519, e[2] << 8 | e[3]);
}

/* A GnuTLS server with priorities prio on fd, blocking; the group or 0. */
static int gnutls_server_group(int fd, const char *prio)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t gs;
	int ret, group = 0;

	if (gnutls_certificate_allocate_credentials(&cred))
		return 0;
	if (gnutls_certificate_set_x509_key_file(cred, certs.srv, certs.srv_key,
						 GNUTLS_X509_FMT_PEM) >= 0 &&
	    !gnutls_init(&gs, GNUTLS_SERVER)) {
		if (!gnutls_priority_set_direct(gs, prio, NULL) &&
		    !gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, cred)) {
			gnutls_transport_set_int(gs, fd);
			do
				ret = gnutls_handshake(gs);
			while (ret < 0 && !gnutls_error_is_fatal(ret));
			if (!ret)
				group = gnutls_group_get(gs);
		}
		gnutls_deinit(gs);
	}
	gnutls_certificate_free_credentials(cred);
	return group;
}

/* A server that takes X25519 gets it; one that wants P-256 asks again. */
TEST_F(pair, servers_choice_of_group)
{
	static const struct {
		const char *prio;
		int group;
	} t[] = {
		{ "NORMAL", GNUTLS_GROUP_X25519 },
		{ "NORMAL:-GROUP-ALL:+GROUP-SECP256R1", GNUTLS_GROUP_SECP256R1 },
	};
	struct duo_client c;
	pthread_t th;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (i) {
			duo_teardown(self);
			duo_setup(_metadata, self);
		}
		ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
		ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
		c = (struct duo_client){ .s = self->cs, .fd = self->fds[0] };
		ASSERT_EQ(0, pthread_create(&th, NULL, duo_client_main, &c));
		EXPECT_EQ(t[i].group, gnutls_server_group(self->fds[1], t[i].prio))
			TH_LOG("server priorities %s", t[i].prio);
		ASSERT_EQ(0, pthread_join(th, NULL));
		ASSERT_REACHED_INSTALL(c.ret, self->cs);
	}
}

/* ---- The success path for every version x cipher ---- */

FIXTURE(suite)
{
	FIXTURE_DATA(pair) p;
};

FIXTURE_VARIANT(suite)
{
	int version;
	unsigned cipher;
};

#define V(name, ver, c)						\
	FIXTURE_VARIANT_ADD(suite, name) { .version = ver, .cipher = c }

V(12_aes_gcm_128, KTLS_TLS12, KTLS_CIPHER_AES_128_GCM);
V(12_aes_gcm_256, KTLS_TLS12, KTLS_CIPHER_AES_256_GCM);
V(12_chacha20_poly1305, KTLS_TLS12, KTLS_CIPHER_CHACHA20_POLY1305);
V(12_aes_ccm_128, KTLS_TLS12, KTLS_CIPHER_AES_128_CCM);
V(13_aes_gcm_128, KTLS_TLS13, KTLS_CIPHER_AES_128_GCM);
V(13_aes_gcm_256, KTLS_TLS13, KTLS_CIPHER_AES_256_GCM);
V(13_chacha20_poly1305, KTLS_TLS13, KTLS_CIPHER_CHACHA20_POLY1305);
V(13_aes_ccm_128, KTLS_TLS13, KTLS_CIPHER_AES_128_CCM);

FIXTURE_SETUP(suite)
{
	struct ktls_config *cfg[2];
	int i;

	duo_setup(_metadata, &self->p);
	cfg[0] = self->p.ccfg;
	cfg[1] = self->p.scfg;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, ktls_config_set_versions(cfg[i], variant->version,
						      variant->version));
		ASSERT_EQ(0, ktls_config_set_ciphers(cfg[i], variant->cipher));
	}
}

FIXTURE_TEARDOWN(suite)
{
	duo_teardown(&self->p);
}

TEST_F(suite, handshake_blocking)
{
	duo_run(_metadata, &self->p, "localhost");
	ASSERT_BOTH_REACHED_INSTALL(&self->p);
}

/* Both ends non-blocking, driven from this one thread by poll(). */
TEST_F(suite, handshake_nonblocking)
{
	FIXTURE_DATA(pair) *d = &self->p;
	struct ktls_session *s[2];
	int ret[2], done[2] = { 0, 0 }, eagain = 0, rounds, i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, set_nonblocking(d->fds[i]));
	duo_sessions(_metadata, d, "localhost");
	s[0] = d->cs;
	s[1] = d->ss;
	for (rounds = 0; !(done[0] && done[1]); rounds++) {
		struct pollfd pfd[2];
		int n = 0, want;

		ASSERT_GT(100, rounds) TH_LOG("no end after %d rounds", rounds);
		for (i = 0; i < 2; i++) {
			if (done[i])
				continue;
			ret[i] = ktls_session_handshake(s[i]);
			if (ret[i] != -EAGAIN) {
				done[i] = 1;
				continue;
			}
			eagain++;
			want = ktls_session_want(s[i]);
			ASSERT_TRUE(want == KTLS_WANT_READ || want == KTLS_WANT_WRITE)
				TH_LOG("-EAGAIN but want() says %d", want);
			pfd[n].fd = d->fds[i];
			pfd[n].events = want == KTLS_WANT_READ ? POLLIN : POLLOUT;
			n++;
		}
		if (n)
			ASSERT_LT(0, poll(pfd, n, 5000))
				TH_LOG("both ends wait and nothing moves");
	}
	ASSERT_LT(0, eagain) TH_LOG("no -EAGAIN: was the socket really non-blocking?");
	ASSERT_REACHED_INSTALL(ret[0], d->cs);
	ASSERT_REACHED_INSTALL(ret[1], d->ss);
}

TEST_HARNESS_MAIN
