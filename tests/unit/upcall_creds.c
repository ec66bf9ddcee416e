// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The credentials of one upcall request (upcall_conf.c's upcall_creds())
 * on the host: keys put in our process keyring stand for the ones the
 * kernel names. A request with keys of its own gets a profile of its own,
 * built by the same builder as every profile, owned by its job; the job
 * holds the configuration in force, not one made for it.
 */
#include <keyutils.h>

#include "kselftest_harness.h"
#include "daemon.h"
#include "internal.h"
#include "loop.h"
#include "peers.h"
#include "upcall.h"
#include "handshake_nl.h"
#include "upjob.h"

static const uint8_t psk32[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
	0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};

FIXTURE(creds)
{
	char path[64];
	char err[512];
	struct conf *c;
	struct ktlsd d;
	struct upreq r;
	const char *msg;
	int32_t cert, key;
};

/* A file's bytes as a "user" key in our process keyring; its serial. */
static int32_t file_key(const char *desc, const char *path)
{
	char buf[8192];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return add_key("user", desc, buf, n, KEY_SPEC_PROCESS_KEYRING);
}

static int load_tlshd(FIXTURE_DATA(creds) *self, const char *text)
{
	FILE *f = fopen(self->path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f))
		return -EIO;
	return conf_load_tlshd(self->path, &self->c, self->err,
			       sizeof(self->err));
}

FIXTURE_SETUP(creds)
{
	ASSERT_EQ(0, make_test_cert());
	snprintf(self->path, sizeof(self->path), "/tmp/ktlsd-creds-%d.conf",
		 getpid());
	keyring_join_session();	/* shared with the key process, as ktlsd's */
	keyring_init();
	self->cert = file_key("ktlsd-test-cert", TEST_CERT);
	self->key = file_key("ktlsd-test-key", TEST_KEY);
	if (self->cert < 0 || self->key < 0)
		SKIP(return, "no kernel keyrings here: %s", strerror(errno));
	ASSERT_EQ(0, load_tlshd(self, "[authenticate.client]\n"
				"x509.truststore=" TEST_CERT "\n"))
		TH_LOG("%s", self->err);
	upjob_daemon(&self->d, self->c);
	self->r.sockfd = -1;
	self->r.type = HANDSHAKE_MSG_TYPE_CLIENTHELLO;
	self->r.auth = HANDSHAKE_AUTH_X509;
	self->r.cert = self->cert;
	self->r.privkey = self->key;
	self->msg = "";
}

FIXTURE_TEARDOWN(creds)
{
	conf_put(self->r.j.conf);
	profile_free(self->r.j.own);
	free(self->r.j.own);
	conf_put(self->c);
	unlink(self->path);
}

/* upcall_creds() for self->r: its return, the sentence in self->msg. */
static int creds(FIXTURE_DATA(creds) *self)
{
	return upcall_creds(ktlsd_conf(&self->d), &self->r, &self->msg);
}

TEST_F(creds, client_keys_from_the_keyring)
{
	const struct profile *p;

	RETURN_IF_SKIPPED();
	self->r.timeout_ms = 7000;
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	p = self->r.j.p;
	ASSERT_NE(NULL, self->r.j.own);
	ASSERT_EQ(self->r.j.own, p);
	ASSERT_EQ(self->c, self->r.j.conf);
	ASSERT_EQ(2, atomic_load(&self->c->refs));
	ASSERT_EQ(KTLS_CLIENT, (int)p->role);
	ASSERT_STREQ("upcall-keyring-client", p->name);
	ASSERT_TRUE(p->cfg->have_cert);
	/* The client side's trust, and tlshd's TLS 1.3 only. */
	ASSERT_STREQ(TEST_CERT, p->ca);
	ASSERT_TRUE(p->cfg->have_trust);
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmin);
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmax);
	ASSERT_EQ(0u, p->cfg->verify);
	ASSERT_EQ(7000u, p->timeout_ms);
	ASSERT_EQ(7000u, p->cfg->timeout_ms);
}

TEST_F(creds, server_keys_ask_for_client_certificates)
{
	const struct profile *p;

	RETURN_IF_SKIPPED();
	self->r.type = HANDSHAKE_MSG_TYPE_SERVERHELLO;
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	p = self->r.j.p;
	ASSERT_EQ(self->r.j.own, p);
	ASSERT_EQ(KTLS_SERVER, (int)p->role);
	ASSERT_TRUE(p->cfg->have_cert);
	ASSERT_EQ(KTLS_VERIFY_REQUEST_CLIENT, p->cfg->verify);
	ASSERT_EQ(10000u, p->cfg->timeout_ms);
}

/* A ktlsd profile serving the upcall lends its trust, not TLS 1.3 only. */
TEST_F(creds, keys_take_a_ktlsd_profiles_trust)
{
	FILE *f;

	RETURN_IF_SKIPPED();
	conf_put(self->c);
	self->c = NULL;
	f = fopen(self->path, "we");
	ASSERT_NE(NULL, f);
	fputs("[upcall]\nclient_profile = out\n"
	      "[profile out]\nrole = client\nca = " TEST_CERT "\n", f);
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, conf_load(self->path, &self->c, self->err,
			       sizeof(self->err))) TH_LOG("%s", self->err);
	self->d.conf = self->c;
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	ASSERT_STREQ(TEST_CERT, self->r.j.p->ca);
	ASSERT_TRUE(self->r.j.p->cfg->have_trust);
	ASSERT_EQ(KTLS_TLS12, self->r.j.p->cfg->vmin);
}

TEST_F(creds, key_gnutls_cannot_read)
{
	RETURN_IF_SKIPPED();
	self->r.privkey = add_key("user", "ktlsd-test-junk", "junk", 4,
				  KEY_SPEC_PROCESS_KEYRING);
	ASSERT_LT(0, self->r.privkey);
	ASSERT_EQ(EKEYREJECTED, creds(self));
	ASSERT_NE(NULL, strstr(self->msg, "not one GnuTLS can read"))
		TH_LOG("%s", self->msg);
	ASSERT_NULL(self->r.j.own);
	ASSERT_NULL(self->r.j.conf);
	ASSERT_EQ(1, atomic_load(&self->c->refs));
}

TEST_F(creds, key_that_is_not_there)
{
	RETURN_IF_SKIPPED();
	self->r.cert = 0x7ffffff0;
	ASSERT_EQ(EKEYREJECTED, creds(self));
	ASSERT_NE(NULL, strstr(self->msg, "could not be read"))
		TH_LOG("%s", self->msg);
	ASSERT_NULL(self->r.j.own);
}

/* The identity is the key's description; its length picks the suites. */
TEST_F(creds, client_psk_from_the_keyring)
{
	const struct profile *p;

	RETURN_IF_SKIPPED();
	self->r.auth = HANDSHAKE_AUTH_PSK;
	self->r.peerids[0] = 0x7ffffff0;	/* not there: skipped */
	self->r.peerids[1] = add_key("user", "NVMe0R01 host subsys", psk32,
				     sizeof(psk32), KEY_SPEC_PROCESS_KEYRING);
	self->r.n_peerids = 2;
	ASSERT_LT(0, self->r.peerids[1]);
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	p = self->r.j.p;
	ASSERT_EQ(self->r.j.own, p);
	ASSERT_STREQ("upcall-psk-client", p->name);
	ASSERT_EQ(self->r.peerids[1], self->r.psk_used);
	ASSERT_STREQ("NVMe0R01 host subsys", p->cfg->psk_identity);
	ASSERT_EQ(sizeof(psk32), p->cfg->psk_key.size);
	ASSERT_EQ(0, memcmp(psk32, p->cfg->psk_key.data, sizeof(psk32)));
	ASSERT_EQ(KTLS_CIPHER_AES_128_GCM | KTLS_CIPHER_AES_128_CCM |
		  KTLS_CIPHER_CHACHA20_POLY1305, p->cfg->ciphers);
	ASSERT_EQ(KTLS_TLS13, p->cfg->vmin);
	ASSERT_FALSE(p->cfg->have_trust);
	ASSERT_FALSE(p->cfg->have_cert);
}

/*
 * A 48-byte key is for TLS_AES_256_GCM_SHA384, which needs GnuTLS 3.8.11
 * (PSK binders of SHA-384); older ones cannot use it: said, not tried.
 */
TEST_F(creds, client_psk_48_bytes_is_aes_256_sha384)
{
	uint8_t psk48[48];

	RETURN_IF_SKIPPED();
	memset(psk48, 0x5a, sizeof(psk48));
	self->r.auth = HANDSHAKE_AUTH_PSK;
	self->r.peerids[0] = add_key("user", "id48", psk48, sizeof(psk48),
				     KEY_SPEC_PROCESS_KEYRING);
	self->r.n_peerids = 1;
	ASSERT_PSK_SHA384_UNLESS_OPTIONAL(config_psk_sha384_supported());
	if (!config_psk_sha384_supported()) {
		ASSERT_EQ(EOPNOTSUPP, creds(self));
		ASSERT_STREQ("This GnuTLS cannot use a SHA-384 PSK.", self->msg);
		ASSERT_NULL(self->r.j.own);
		return;
	}
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	ASSERT_EQ(KTLS_CIPHER_AES_256_GCM, self->r.j.p->cfg->ciphers);
	ASSERT_TRUE(self->r.j.p->cfg->psk_sha384);
}

/* NVMe's identities name their hash; the key's length decides otherwise. */
TEST_F(creds, psk_hash_from_identity)
{
	static const struct {
		const char *id;
		size_t len;
		int hash;
	} t[] = {
		{ "NVMe0R01 host subsys", 48, 256 },
		{ "NVMe1R01 host subsys digest", 32, 256 },
		{ "NVMe1R02 host subsys digest", 32, 384 },
		{ "NVMe1G02 host subsys digest", 48, 384 },
		{ "NVMe1R03 host subsys digest", 48, -1 },
		{ "NVMe1R12 host subsys digest", 48, -1 },
		{ "NVMe1R02", 32, 256 },	/* not one: no blank */
		{ "nvme1R02 host", 32, 256 },
		{ "id", 48, 384 },
		{ "id", 32, 256 },
		{ "id", 16, 0 },
	};
	size_t i;

	RETURN_IF_SKIPPED();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = upcall_psk_hash(t[i].id, t[i].len);

		if (got != t[i].hash)
			fprintf(stderr, "# '%s', %zu bytes: %d\n", t[i].id,
				t[i].len, got);
		EXPECT_EQ(t[i].hash, got);
	}
}

/* An NVMe PSK for SHA-384 first, one for SHA-256 next. */
TEST_F(creds, client_psk_sha384_identity)
{
	uint8_t psk48[48];

	RETURN_IF_SKIPPED();
	memset(psk48, 0x6b, sizeof(psk48));
	self->r.auth = HANDSHAKE_AUTH_PSK;
	self->r.peerids[0] = add_key("user", "NVMe1R02 hostnqn subnqn digest",
				     psk48, sizeof(psk48),
				     KEY_SPEC_PROCESS_KEYRING);
	self->r.peerids[1] = add_key("user", "NVMe1R01 hostnqn subnqn digest",
				     psk32, sizeof(psk32),
				     KEY_SPEC_PROCESS_KEYRING);
	self->r.n_peerids = 2;
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	ASSERT_PSK_SHA384_UNLESS_OPTIONAL(config_psk_sha384_supported());
	if (config_psk_sha384_supported()) {
		ASSERT_EQ(self->r.peerids[0], self->r.psk_used);
		ASSERT_EQ(KTLS_CIPHER_AES_256_GCM, self->r.j.p->cfg->ciphers);
		ASSERT_TRUE(self->r.j.p->cfg->psk_sha384);
		ASSERT_EQ(1u, self->r.psk_next);
	} else {
		/* Skipped with a log line; the next one is offered. */
		ASSERT_EQ(self->r.peerids[1], self->r.psk_used);
		ASSERT_STREQ("NVMe1R01 hostnqn subnqn digest",
			     self->r.j.p->cfg->psk_identity);
		ASSERT_FALSE(self->r.j.p->cfg->psk_sha384);
		ASSERT_EQ(2u, self->r.psk_next);
	}
}

/* upcall_psk_next(): the next identity in a profile of its own, then none. */
TEST_F(creds, client_psk_next_identity)
{
	struct profile *first;

	RETURN_IF_SKIPPED();
	self->r.auth = HANDSHAKE_AUTH_PSK;
	self->r.peerids[0] = add_key("user", "ktlsd-id-a", psk32, sizeof(psk32),
				     KEY_SPEC_PROCESS_KEYRING);
	self->r.peerids[1] = 0x7ffffff0;	/* not there: skipped */
	self->r.peerids[2] = add_key("user", "ktlsd-id-c", psk32, sizeof(psk32),
				     KEY_SPEC_PROCESS_KEYRING);
	self->r.n_peerids = 3;
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	first = self->r.j.own;
	ASSERT_STREQ("ktlsd-id-a", first->cfg->psk_identity);
	ASSERT_EQ(1, upcall_psk_next(&self->r));
	ASSERT_NE(first, self->r.j.own);
	ASSERT_EQ(self->r.j.own, self->r.j.p);
	ASSERT_STREQ("ktlsd-id-c", self->r.j.p->cfg->psk_identity);
	ASSERT_EQ(self->r.peerids[2], self->r.psk_used);
	ASSERT_EQ(0, upcall_psk_next(&self->r));
	ASSERT_STREQ("ktlsd-id-c", self->r.j.p->cfg->psk_identity);
}

/* A keyring where a PSK or a certificate should be: refused, by type. */
TEST_F(creds, key_of_the_wrong_type)
{
	int32_t ring = add_key("keyring", "ktlsd-test-ring", NULL, 0,
			       KEY_SPEC_PROCESS_KEYRING);

	RETURN_IF_SKIPPED();
	ASSERT_LT(0, ring);
	self->r.cert = ring;
	ASSERT_EQ(EKEYREJECTED, creds(self));
	ASSERT_STREQ("A key the kernel named is of the wrong type.", self->msg);
	ASSERT_NULL(self->r.j.own);
	self->r.auth = HANDSHAKE_AUTH_PSK;
	self->r.peerids[0] = ring;
	self->r.n_peerids = 1;
	ASSERT_EQ(EKEYREJECTED, creds(self));
	ASSERT_STREQ("A key the kernel named is of the wrong type.", self->msg);
	ASSERT_NULL(self->r.j.own);
}

TEST_F(creds, client_psk_none_readable)
{
	RETURN_IF_SKIPPED();
	self->r.auth = HANDSHAKE_AUTH_PSK;
	self->r.peerids[0] = 0x7ffffff0;
	self->r.n_peerids = 1;
	ASSERT_EQ(EKEYREJECTED, creds(self));
	ASSERT_NE(NULL, strstr(self->msg, "None of the PSKs"))
		TH_LOG("%s", self->msg);
	ASSERT_NULL(self->r.j.own);
}

/* A server finds the PSK by the identity the client offers, later. */
TEST_F(creds, server_psk_is_looked_up)
{
	RETURN_IF_SKIPPED();
	self->r.type = HANDSHAKE_MSG_TYPE_SERVERHELLO;
	self->r.auth = HANDSHAKE_AUTH_PSK;
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	ASSERT_EQ(self->r.j.own, self->r.j.p);
	ASSERT_TRUE(self->r.j.p->cfg->psk_lookup != NULL);
	ASSERT_EQ(&self->r, self->r.j.p->cfg->psk_lookup_arg);
	ASSERT_EQ(KTLS_TLS13, self->r.j.p->cfg->vmin);
}

/* Without keys of its own a request takes a profile of the configuration. */
TEST_F(creds, no_keys_no_profile_of_its_own)
{
	RETURN_IF_SKIPPED();
	self->r.auth = HANDSHAKE_AUTH_UNAUTH;
	self->r.cert = self->r.privkey = 0;
	ASSERT_EQ(0, creds(self)) TH_LOG("%s", self->msg);
	ASSERT_NULL(self->r.j.own);
	ASSERT_EQ(&self->c->upcall->client.anon, self->r.j.p);
	ASSERT_EQ(self->c, self->r.j.conf);
}

TEST_HARNESS_MAIN
