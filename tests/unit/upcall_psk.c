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
#include "daemon.h"
#include "internal.h"
#include "peers.h"
#include "upjob.h"
#include "handshake_nl.h"

static struct upjob_outcome out;

FIXTURE(psk)
{
	char path[64];
	char err[512];
	struct conf *c;
	struct ktlsd d;
	int fds[2];
	struct upjob_peer sv;
	uint8_t key3[32];
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
	upjob_daemon(&self->d, self->c);
	ASSERT_EQ(0, tcp_pair(self->fds));
	self->sv.fd = self->fds[1];
	memset(self->key3, 0x33, sizeof(self->key3));
	ASSERT_EQ(0, ktls_config_new(&self->sv.cfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_set_versions(self->sv.cfg, KTLS_TLS13,
					      KTLS_TLS13));
	ASSERT_EQ(0, ktls_config_set_psk(self->sv.cfg, "ktlsd-test-three",
					 self->key3, sizeof(self->key3)));
	ASSERT_EQ(0, loop_start(&self->d, 1));
}

FIXTURE_TEARDOWN(psk)
{
	if (self->d.workers)
		loop_stop(&self->d);
	close(self->fds[0]);
	close(self->fds[1]);
	ktls_config_free(self->sv.cfg);
	conf_put(self->c);
	unlink(self->path);
}

/* A client PSK request naming ids (n of them); its outcome in out. */
static int run_request(FIXTURE_DATA(psk) *self, const int32_t *ids,
		       unsigned n)
{
	struct upreq *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->type = HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	r->auth = HANDSHAKE_AUTH_PSK;
	memcpy(r->peerids, ids, n * sizeof(*ids));
	r->n_peerids = n;
	r->timeout_ms = 10000;
	return upjob_run(&self->d, r, self->fds[0], &self->sv, &out);
}

/* The server knows only the third: three ClientHellos, the third wins. */
TEST_F(psk, third_identity_is_accepted)
{
	int i;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_request(self, self->ids, 3));
	ASSERT_EQ(3, self->sv.n);
	for (i = 0; i < 2; i++) {
		ASSERT_NE(0, self->sv.rets[i]);
		ASSERT_NE(-KTLS_E_NO_KTLS, self->sv.rets[i]);
	}
	ASSERT_EQ(host_has_ktls() ? 0 : -KTLS_E_NO_KTLS, self->sv.rets[2]);
	ASSERT_EQ(self->ids[2], out.psk_used);
	ASSERT_EQ(3u, out.psk_next);
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

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_request(self, ids, 3));
	ASSERT_EQ(1, self->sv.n);
	ASSERT_EQ(self->ids[2], out.psk_used);
	ASSERT_EQ(1u, out.psk_next);
}

/*
 * A GnuTLS server (tlshd's, ktlsd's) that knows none of them aborts with
 * internal_error: after the last, EACCES, as tlshd reports a refusal.
 */
TEST_F(psk, none_known_is_eacces)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_request(self, self->ids, 2));
	ASSERT_EQ(2, self->sv.n);
	ASSERT_EQ(KTLS_ALERT_INTERNAL_ERROR, self->sv.alerts[1]);
	ASSERT_EQ(EACCES, out.status);
	ASSERT_EQ(2u, out.psk_next);
}

/*
 * A server that says unknown_psk_identity (RFC 8446 4.2.11) to each:
 * every identity offered, then EKEYREJECTED, as tlshd reports that alert.
 */
TEST_F(psk, unknown_psk_identity_alert_is_ekeyrejected)
{
	RETURN_IF_SKIPPED();
	self->sv.raw_alert = KTLS_ALERT_UNKNOWN_PSK_IDENTITY;
	ASSERT_EQ(0, run_request(self, self->ids, 3));
	ASSERT_EQ(3, self->sv.n);
	ASSERT_EQ(EKEYREJECTED, out.status);
	ASSERT_EQ(3u, out.psk_next);
}

/*
 * An NVMe PSK for SHA-384 ("NVMe1R02 ..."): TLS_AES_256_GCM_SHA384 where
 * GnuTLS binds PSKs with SHA-384 (3.8.11 and later); elsewhere the request
 * is refused before any ClientHello, EOPNOTSUPP, with a line that says so.
 */
TEST_F(psk, sha384_identity)
{
	static const char id[] = "NVMe1R02 nqn.host nqn.subsys digest";
	uint8_t key[48];
	int32_t serial;

	RETURN_IF_SKIPPED();
	memset(key, 0x48, sizeof(key));
	serial = add_key("user", id, key, sizeof(key), KEY_SPEC_PROCESS_KEYRING);
	ASSERT_LT(0, serial);
	ktls_config_free(self->sv.cfg);
	ASSERT_EQ(0, ktls_config_new(&self->sv.cfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_set_versions(self->sv.cfg, KTLS_TLS13,
					      KTLS_TLS13));
	ASSERT_EQ(0, ktls_config_set_psk(self->sv.cfg, id, key, sizeof(key)));
	ASSERT_PSK_SHA384_UNLESS_OPTIONAL(config_psk_sha384_supported());
	if (!config_psk_sha384_supported()) {
		ASSERT_EQ(EOPNOTSUPP, run_request(self, &serial, 1));
		ASSERT_EQ(0, self->sv.n);
		return;
	}
	ASSERT_EQ(0, run_request(self, &serial, 1));
	ASSERT_EQ(1, self->sv.n);
	ASSERT_EQ(host_has_ktls() ? 0 : -KTLS_E_NO_KTLS, self->sv.rets[0]);
	ASSERT_STREQ("AES-256-GCM", self->sv.suite);
	ASSERT_EQ(GNUTLS_DIG_SHA384, self->sv.prf);
	ASSERT_EQ(serial, out.psk_used);
	TH_LOG("GnuTLS %s: TLS_AES_256_GCM_SHA384 with a SHA-384 PSK",
	       gnutls_check_version(NULL));
}

TEST_HARNESS_MAIN
