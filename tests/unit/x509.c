// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * X.509 past one self-signed certificate: chains through an intermediate
 * CA, CRLs, the server's choice of certificate by SNI, validity dates and
 * client chains for mutual TLS. As in session.c, both ends are libktls in
 * this process (the client in a thread) over a loopback TCP pair, and a
 * handshake that worked ends at the install step: 0 with kernel TLS,
 * -KTLS_E_NO_KTLS without it.
 */

#include <ktls.h>

#include "kselftest_harness.h"
#include "duo.h"

/* ---- A throwaway PKI, made once by the parent process ---- */

/*
 *   root ─┬─ int ─┬─ leaf     CN=localhost  (chain.pem: leaf + int)
 *         │       └─ cli      CN=client     (cli-chain.pem: cli + int)
 *         ├─ a, b             a.example, b.example
 *         ├─ direct           localhost, revoked in crl-revoked.pem
 *         ├─ expired          localhost, valid in January 2020 only
 *         └─ future           localhost, valid from 2090
 *
 * The root's CRLs: crl-empty.pem revokes nothing, crl-revoked.pem revokes
 * direct, crl-int.pem direct and int. "openssl x509 -CA root.pem" counts
 * in root.srl as "openssl ca" does, so no two certificates of the root
 * share a serial (a CRL revokes by serial).
 */
static const char pki_script[] =
	"cat >ca.cnf <<'EOF'\n"
	"[ca]\ndefault_ca = root\n"
	"[root]\ndatabase = root.idx\nserial = root.srl\nnew_certs_dir = .\n"
	"certificate = root.pem\nprivate_key = root.key\ndefault_md = sha256\n"
	"default_days = 2\ndefault_crl_days = 2\npolicy = any\n"
	"unique_subject = no\ncopy_extensions = copy\n"
	"[any]\ncommonName = supplied\n"
	"[ca_ext]\nbasicConstraints = critical,CA:true\n"
	"keyUsage = critical,keyCertSign,cRLSign\n"
	"subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
	"[leaf_ext]\nbasicConstraints = CA:false\n"
	"keyUsage = critical,digitalSignature\n"
	"subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
	"EOF\n"
	": >root.idx\n"
	"echo 1000 >root.srl\n"
	"key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
	" -out $1.key; }\n"
	"csr() { key $1; openssl req -new -key $1.key -subj \"/CN=$2\""
	" ${3:+-addext subjectAltName=$3} -out $1.csr; }\n"
	"sign() { openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key"
	" -CAcreateserial -days 2 -extfile ca.cnf -extensions $3 -out $1.pem; }\n"
	"rootca() { openssl ca -batch -config ca.cnf \"$@\"; }\n"
	"key root\n"
	"openssl req -x509 -new -key root.key -subj /CN=test-root -days 2"
	" -config ca.cnf -extensions ca_ext -out root.pem\n"
	"csr int test-intermediate; sign int root ca_ext\n"
	"csr leaf localhost DNS:localhost; sign leaf int leaf_ext\n"
	"cat leaf.pem int.pem >chain.pem\n"
	"csr cli client; sign cli int leaf_ext\n"
	"cat cli.pem int.pem >cli-chain.pem\n"
	"csr a a.example DNS:a.example; sign a root leaf_ext\n"
	"csr b b.example DNS:b.example; sign b root leaf_ext\n"
	"csr direct localhost DNS:localhost\n"
	"rootca -extensions leaf_ext -in direct.csr -out direct.pem\n"
	"csr expired localhost DNS:localhost\n"
	"rootca -extensions leaf_ext -startdate 20200101000000Z"
	" -enddate 20200102000000Z -in expired.csr -out expired.pem\n"
	"csr future localhost DNS:localhost\n"
	"rootca -extensions leaf_ext -startdate 20900101000000Z"
	" -enddate 20900102000000Z -in future.csr -out future.pem\n"
	"rootca -gencrl -out crl-empty.pem\n"
	"rootca -revoke direct.pem -crl_reason keyCompromise\n"
	"rootca -gencrl -out crl-revoked.pem\n"
	"rootca -revoke int.pem -crl_reason cACompromise\n"
	"rootca -gencrl -out crl-int.pem\n";

static struct {
	char dir[32];
	pid_t owner;
	int ok;
} pki;

/* A file of the PKI. Two buffers: enough for the two paths of add_cert. */
static const char *pki_path(const char *name)
{
	static char buf[2][64];
	static unsigned i;
	char *p = buf[i++ % 2];

	snprintf(p, sizeof(buf[0]), "%s/%s", pki.dir, name);
	return p;
}

static void pki_remove(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", pki.dir);
	if (getpid() == pki.owner && system(cmd))
		fprintf(stderr, "# could not remove %s\n", pki.dir);
}

static void __attribute__((constructor)) pki_make(void)
{
	char cmd[128];
	FILE *f;

	strcpy(pki.dir, "/tmp/ktls-x509-XXXXXX");
	if (!mkdtemp(pki.dir))
		return;
	pki.owner = getpid();
	atexit(pki_remove);
	f = fopen(pki_path("mk.sh"), "we");
	if (!f || fputs(pki_script, f) < 0 || fclose(f))
		return;
	snprintf(cmd, sizeof(cmd), "cd %s && sh -e mk.sh >mk.log 2>&1 ||"
		 " { tail -n 5 mk.log | sed 's/^/# /'; false; }", pki.dir);
	pki.ok = !system(cmd);
}

/* ---- Two libktls ends, for TLS 1.2 and for TLS 1.3 ---- */

FIXTURE(x509)
{
	int fds[2];			/* [0] client, [1] server */
	struct ktls_config *ccfg, *scfg;
	struct ktls_session *cs, *ss;
	int cret, sret;
};

FIXTURE_VARIANT(x509)
{
	int version;
};

FIXTURE_VARIANT_ADD(x509, tls12) { .version = KTLS_TLS12 };
FIXTURE_VARIANT_ADD(x509, tls13) { .version = KTLS_TLS13 };

/* Each test adds its own credentials; no end has any yet. */
FIXTURE_SETUP(x509)
{
	struct ktls_config **cfg[2] = { &self->ccfg, &self->scfg };
	int i;

	self->fds[0] = self->fds[1] = -1;
	ASSERT_TRUE(pki.ok) TH_LOG("could not make the test PKI with openssl");
	ASSERT_EQ(0, tcp_pair(self->fds));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, ktls_config_new(cfg[i], i ? KTLS_SERVER : KTLS_CLIENT));
		ASSERT_EQ(0, ktls_config_set_versions(*cfg[i], variant->version,
						      variant->version));
		/* A failing end that leaves its peer waiting must not hang the run. */
		ASSERT_EQ(0, ktls_config_set_timeout(*cfg[i], 5000));
	}
}

FIXTURE_TEARDOWN(x509)
{
	ktls_session_free(self->cs);
	ktls_session_free(self->ss);
	ktls_config_free(self->ccfg);
	ktls_config_free(self->scfg);
	if (self->fds[0] >= 0)
		close(self->fds[0]);
	if (self->fds[1] >= 0)
		close(self->fds[1]);
}

/* Client (asking for name, if not NULL) in a thread, server here. */
static void run(struct __test_metadata *_metadata, FIXTURE_DATA(x509) *d,
		const char *name)
{
	ASSERT_EQ(0, ktls_session_new(&d->cs, d->ccfg, d->fds[0]));
	ASSERT_EQ(0, ktls_session_new(&d->ss, d->scfg, d->fds[1]));
	if (name)
		ASSERT_EQ(0, ktls_session_set_server_name(d->cs, name));
	ASSERT_EQ(0, duo_handshake(d->cs, d->fds[0], &d->cret,
				   d->ss, d->fds[1], &d->sret));
}

static void serve(struct __test_metadata *_metadata, FIXTURE_DATA(x509) *d,
		  const char *cert, const char *key)
{
	int ret = ktls_config_add_cert(d->scfg, pki_path(cert), pki_path(key));

	ASSERT_EQ(0, ret) TH_LOG("server cert %s: %s", cert, ktls_strerror(ret));
}

static void trust_root(struct __test_metadata *_metadata, struct ktls_config *cfg)
{
	ASSERT_EQ(0, ktls_config_set_ca_file(cfg, pki_path("root.pem")));
}


/* A handshake that worked: installed, or stopped only by missing kTLS. */
#define ASSERT_BOTH_REACHED_INSTALL() do {				\
	ASSERT_REACHED_INSTALL(self->cret, self->cs);			\
	ASSERT_REACHED_INSTALL(self->sret, self->ss);			\
} while (0)


/* The client rejected the server's certificate, saying why. */
#define ASSERT_CLIENT_REJECTED(why) do {				\
	ASSERT_FAILED(-KTLS_E_VERIFY, self->cret, self->cs,		\
		      "certificate did not verify");			\
	ASSERT_ERROR_HAS(self->cs, why);				\
	ASSERT_PEER_ALERTED(self->sret, self->ss);			\
} while (0)

/*
 * The server rejected the client's certificate. In TLS 1.3 the client is
 * done before the server looks at its certificate and goes on to install
 * (see session.c, pair.mtls13_client_without_cert); in TLS 1.2 it waits
 * for the server's Finished and gets its alert.
 */
#define ASSERT_SERVER_REJECTED(why) do {				\
	ASSERT_FAILED(-KTLS_E_VERIFY, self->sret, self->ss, why);	\
	if (variant->version == KTLS_TLS13)				\
		ASSERT_REACHED_INSTALL(self->cret, self->cs);		\
	else								\
		ASSERT_PEER_ALERTED(self->cret, self->cs);		\
} while (0)

/* The server trusts only the root and demands a client certificate. */
static void require_client(struct __test_metadata *_metadata,
			   FIXTURE_DATA(x509) *self, const char *cert,
			   const char *key)
{
	serve(_metadata, self, "chain.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	trust_root(_metadata, self->scfg);
	ASSERT_EQ(0, ktls_config_set_verify(self->scfg, KTLS_VERIFY_REQUIRE_CLIENT));
	ASSERT_EQ(0, ktls_config_add_cert(self->ccfg, pki_path(cert), pki_path(key)));
}

/* ---- Chains ---- */

TEST_F(x509, chain_with_intermediate)
{
	serve(_metadata, self, "chain.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL();
}

/* The client knows only the root: without the intermediate no path. */
TEST_F(x509, chain_leaf_only)
{
	serve(_metadata, self, "leaf.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("issuer is unknown");
}

/* An intermediate among the trust anchors is an anchor of its own. */
TEST_F(x509, chain_intermediate_trusted)
{
	serve(_metadata, self, "leaf.pem", "leaf.key");
	ASSERT_EQ(0, ktls_config_set_ca_file(self->ccfg, pki_path("int.pem")));
	run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL();
}

/* ---- Revocation ---- */

TEST_F(x509, crl_revokes_server)
{
	serve(_metadata, self, "direct.pem", "direct.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_crl_file(self->ccfg, pki_path("crl-revoked.pem")));
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("revoked");
}

/* The order of the two setters is the caller's choice. */
TEST_F(x509, crl_before_ca_file)
{
	serve(_metadata, self, "direct.pem", "direct.key");
	ASSERT_EQ(0, ktls_config_set_crl_file(self->ccfg, pki_path("crl-revoked.pem")));
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("revoked");
}

TEST_F(x509, crl_not_listing_server)
{
	serve(_metadata, self, "direct.pem", "direct.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_crl_file(self->ccfg, pki_path("crl-empty.pem")));
	run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL();
}

/* Not the leaf but the CA between it and the root is revoked. */
TEST_F(x509, crl_revokes_intermediate)
{
	serve(_metadata, self, "chain.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_crl_file(self->ccfg, pki_path("crl-int.pem")));
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("revoked");
}

/* The root's CRL says nothing of int's leaves: the chain is good. */
TEST_F(x509, crl_of_other_issuer)
{
	serve(_metadata, self, "chain.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_crl_file(self->ccfg, pki_path("crl-revoked.pem")));
	run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL();
}

/* The server checks the client against its CRL as well. */
TEST_F(x509, crl_revokes_client)
{
	require_client(_metadata, self, "direct.pem", "direct.key");
	ASSERT_EQ(0, ktls_config_set_crl_file(self->scfg, pki_path("crl-revoked.pem")));
	run(_metadata, self, "localhost");
	ASSERT_SERVER_REJECTED("revoked");
}

TEST_F(x509, crl_file_missing)
{
	ASSERT_EQ(-ENOENT, ktls_config_set_crl_file(self->ccfg, pki_path("nope.pem")));
	ASSERT_EQ(-EINVAL, ktls_config_set_crl_file(self->ccfg, NULL));
	ASSERT_EQ(-EINVAL, ktls_config_set_crl_file(NULL, pki_path("crl-empty.pem")));
}

/*
 * A file with no CRL in it (the CA certificate or a key, given by mistake)
 * is refused: accepted, it would leave the client checking no revocation
 * while the operator believes it does.
 */
TEST_F(x509, crl_file_without_crl)
{
	int ret = ktls_config_set_crl_file(self->ccfg, pki_path("root.pem"));

	EXPECT_EQ(-KTLS_E_CONFIG, ret)
		TH_LOG("a CRL file with no CRL gave %d (%s)", ret, ktls_strerror(ret));
	ret = ktls_config_set_crl_file(self->ccfg, pki_path("root.key"));
	EXPECT_EQ(-KTLS_E_CONFIG, ret)
		TH_LOG("a key file as CRL file gave %d (%s)", ret, ktls_strerror(ret));
}

/* ---- The server's certificate chosen by the client's SNI ---- */

static void serve_a_and_b(struct __test_metadata *_metadata,
			  FIXTURE_DATA(x509) *self)
{
	serve(_metadata, self, "a.pem", "a.key");
	serve(_metadata, self, "b.pem", "b.key");
	trust_root(_metadata, self->ccfg);
}

/* Not the first certificate: the name check passes only if b's was sent. */
TEST_F(x509, sni_selects_second_cert)
{
	serve_a_and_b(_metadata, self);
	run(_metadata, self, "b.example");
	ASSERT_BOTH_REACHED_INSTALL();
}

TEST_F(x509, sni_selects_first_cert)
{
	serve_a_and_b(_metadata, self);
	run(_metadata, self, "a.example");
	ASSERT_BOTH_REACHED_INSTALL();
}

/* The same, the other way round, so that neither can be a default. */
TEST_F(x509, sni_selects_regardless_of_order)
{
	serve(_metadata, self, "b.pem", "b.key");
	serve(_metadata, self, "a.pem", "a.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "a.example");
	ASSERT_BOTH_REACHED_INSTALL();
}

/* No certificate has the name: the server falls back to one anyway. */
TEST_F(x509, sni_unknown_name)
{
	serve_a_and_b(_metadata, self);
	run(_metadata, self, "c.example");
	ASSERT_CLIENT_REJECTED("does not match");
}

/* ---- The name checked when none is given ---- */

/*
 * No server name: the certificate must name the address we connected to.
 * a.pem is for a.example only, so a client that checked the chain alone
 * would accept it for 127.0.0.1.
 */
TEST_F(x509, no_name_checks_peer_address)
{
	serve(_metadata, self, "a.pem", "a.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, NULL);
	ASSERT_CLIENT_REJECTED("does not match");
	ASSERT_ERROR_HAS(self->cs, "the peer's address, 127.0.0.1");
}

/* The address does not turn a wrong name into a right one. */
TEST_F(x509, no_name_with_verify_none_unchanged)
{
	serve(_metadata, self, "a.pem", "a.key");
	ASSERT_EQ(0, ktls_config_set_verify(self->ccfg, KTLS_VERIFY_NONE));
	run(_metadata, self, NULL);
	ASSERT_BOTH_REACHED_INSTALL();
}

/* Chain-only is there when asked for: any name the root vouches for. */
TEST_F(x509, chain_only_accepts_other_name)
{
	serve(_metadata, self, "a.pem", "a.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_verify(self->ccfg, KTLS_VERIFY_CHAIN_ONLY));
	run(_metadata, self, NULL);
	ASSERT_BOTH_REACHED_INSTALL();
}

/* ... a given name is then SNI only ... */
TEST_F(x509, chain_only_ignores_given_name)
{
	serve(_metadata, self, "a.pem", "a.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_verify(self->ccfg, KTLS_VERIFY_CHAIN_ONLY));
	run(_metadata, self, "wrong.example");
	ASSERT_BOTH_REACHED_INSTALL();
}

/* ... but the chain is still checked. */
TEST_F(x509, chain_only_still_checks_chain)
{
	serve(_metadata, self, "leaf.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_verify(self->ccfg, KTLS_VERIFY_CHAIN_ONLY));
	run(_metadata, self, NULL);
	ASSERT_CLIENT_REJECTED("issuer is unknown");
}

/* ---- Validity dates ---- */

TEST_F(x509, expired_server_cert)
{
	serve(_metadata, self, "expired.pem", "expired.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("expired");
}

TEST_F(x509, not_yet_valid_server_cert)
{
	serve(_metadata, self, "future.pem", "future.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("not yet valid");
}

/* ---- Client certificate chains ---- */

TEST_F(x509, mtls_client_chain)
{
	require_client(_metadata, self, "cli-chain.pem", "cli.key");
	run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL();
}

/*
 * Without the intermediate the client's certificate does not chain to a
 * CA that the server's CertificateRequest names, so GnuTLS sends none.
 */
TEST_F(x509, mtls_client_leaf_only)
{
	require_client(_metadata, self, "cli.pem", "cli.key");
	run(_metadata, self, "localhost");
	ASSERT_SERVER_REJECTED("sent no certificate");
}

TEST_F(x509, mtls_client_expired)
{
	require_client(_metadata, self, "expired.pem", "expired.key");
	run(_metadata, self, "localhost");
	ASSERT_SERVER_REJECTED("expired");
}

/* ---- The alert that ended the handshake, on both ends ---- */

/* s's handshake ended with alert desc, which it sent (1) or received (0). */
#define ASSERT_ALERT(s, desc, sent) do {				\
	int __sent = -1, __got = ktls_session_alert(s, &__sent);	\
									\
	ASSERT_EQ(desc, __got) TH_LOG("%s: %s", #s, ktls_session_error(s)); \
	ASSERT_EQ(sent, __sent) TH_LOG("%s: %s the alert, says who sent it", \
				       #s, sent ? "sent" : "received"); \
} while (0)

/*
 * After the install step: nothing, where the kernel has kTLS; else the
 * internal_error that tells the peer why we stop.
 */
#define ASSERT_ALERT_OF_INSTALL(s) do {					\
	if (host_has_ktls()) {						\
		ASSERT_EQ(-ENOENT, ktls_session_alert(s, NULL));	\
	} else {							\
		ASSERT_ALERT(s, KTLS_ALERT_INTERNAL_ERROR, 1);		\
	}								\
} while (0)

TEST_F(x509, alert_unknown_ca)
{
	serve(_metadata, self, "leaf.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("issuer is unknown");
	ASSERT_ALERT(self->cs, KTLS_ALERT_UNKNOWN_CA, 1);
	ASSERT_ALERT(self->ss, KTLS_ALERT_UNKNOWN_CA, 0);
	ASSERT_ERROR_HAS(self->ss, "'unknown_ca' (48)");
}

TEST_F(x509, alert_certificate_revoked)
{
	serve(_metadata, self, "direct.pem", "direct.key");
	trust_root(_metadata, self->ccfg);
	ASSERT_EQ(0, ktls_config_set_crl_file(self->ccfg, pki_path("crl-revoked.pem")));
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("revoked");
	ASSERT_ALERT(self->cs, KTLS_ALERT_CERTIFICATE_REVOKED, 1);
	ASSERT_ALERT(self->ss, KTLS_ALERT_CERTIFICATE_REVOKED, 0);
	ASSERT_ERROR_HAS(self->ss, "'certificate_revoked' (44)");
}

TEST_F(x509, alert_certificate_expired)
{
	serve(_metadata, self, "expired.pem", "expired.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_CLIENT_REJECTED("expired");
	ASSERT_ALERT(self->cs, KTLS_ALERT_CERTIFICATE_EXPIRED, 1);
	ASSERT_ALERT(self->ss, KTLS_ALERT_CERTIFICATE_EXPIRED, 0);
}

/* The name check failed: no more specific alert than bad_certificate. */
TEST_F(x509, alert_bad_certificate)
{
	serve_a_and_b(_metadata, self);
	run(_metadata, self, "c.example");
	ASSERT_CLIENT_REJECTED("does not match");
	ASSERT_ALERT(self->cs, KTLS_ALERT_BAD_CERTIFICATE, 1);
	ASSERT_ALERT(self->ss, KTLS_ALERT_BAD_CERTIFICATE, 0);
}

/*
 * The server demands a client certificate and gets none: TLS 1.3 has an
 * alert for that, which reaches the client only after its switch (its
 * handshake was over); TLS 1.2's is handshake_failure, within the
 * client's handshake.
 */
TEST_F(x509, alert_client_certificate_missing)
{
	require_client(_metadata, self, "cli.pem", "cli.key");
	run(_metadata, self, "localhost");
	ASSERT_SERVER_REJECTED("sent no certificate");
	if (variant->version == KTLS_TLS13) {
		ASSERT_ALERT(self->ss, KTLS_ALERT_CERTIFICATE_REQUIRED, 1);
		ASSERT_ALERT_OF_INSTALL(self->cs);
	} else {
		ASSERT_ALERT(self->ss, KTLS_ALERT_HANDSHAKE_FAILURE, 1);
		ASSERT_ALERT(self->cs, KTLS_ALERT_HANDSHAKE_FAILURE, 0);
		ASSERT_ERROR_HAS(self->cs, "'handshake_failure' (40)");
	}
}

/* A good handshake ends with no alert (or the install step's). */
TEST_F(x509, alert_none_after_success)
{
	serve(_metadata, self, "chain.pem", "leaf.key");
	trust_root(_metadata, self->ccfg);
	run(_metadata, self, "localhost");
	ASSERT_BOTH_REACHED_INSTALL();
	ASSERT_ALERT_OF_INSTALL(self->cs);
	ASSERT_ALERT_OF_INSTALL(self->ss);
}

TEST_HARNESS_MAIN
