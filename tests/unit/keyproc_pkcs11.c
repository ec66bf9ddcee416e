// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * key = pkcs11:... in ktlsd.conf: the key process opens the token (a
 * SoftHSM token made here, its key generated on it and marked sensitive
 * and never extractable), and a TLS handshake's server signs with it.
 * The token's module is loaded by the key process only: this process,
 * which made the profile, never maps it (PKCS#11 and fork do not mix).
 */
#include <signal.h>

#include "kselftest_harness.h"
#include "duo.h"
#include "hsproc.h"
#include "internal.h"
#include "keyproc.h"
#include "ktlsd.h"
#include "upcall.h"

#define PIN	"1234"
#define KEY_URL	"pkcs11:token=ktlsd-test;object=k;type=private"

FIXTURE(p11)
{
	char dir[64], conf[128], cert[128], err[512];
	struct conf *c;
	struct ktls_config *ccfg;
	struct ktls_session *cs, *ss;
	int fds[2], cret, sret;
};

/* A token with an ECDSA key on it, and a self-signed certificate for it. */
static int make_token(const char *dir)
{
	char env[128];

	snprintf(env, sizeof(env), "%s/softhsm2.conf", dir);
	setenv("SOFTHSM2_CONF", env, 1);
	return run_shell("(set -e; mkdir -p %s/tokens; cd %s;"
			 "printf 'directories.tokendir = %s/tokens\\n"
			 "objectstore.backend = file\\nlog.level = ERROR\\n'"
			 " >softhsm2.conf;"
			 "softhsm2-util --init-token --free --label ktlsd-test"
			 " --pin " PIN " --so-pin 5678;"
			 "export GNUTLS_PIN=" PIN ";"
			 "p11tool --login --generate-privkey ecdsa --curve "
			 "secp256r1 --label k pkcs11:token=ktlsd-test;"
			 "printf 'cn=localhost\\ndns_name=localhost\\n"
			 "expiration_days=2\\ntls_www_server\\nsigning_key\\n'"
			 " >tmpl;"
			 "certtool -s --load-privkey '" KEY_URL "' --template "
			 "tmpl --outfile cert.pem) >/dev/null 2>&1",
			 dir, dir, dir) ? -1 : 0;
}

static int write_conf(FIXTURE_DATA(p11) *self, const char *key)
{
	FILE *f = fopen(self->conf, "we");

	if (!f)
		return -1;
	fprintf(f, "[profile s]\nrole = server\ncertificate = %s\n"
		"key = %s\n", self->cert, key);
	return fclose(f);
}

FIXTURE_SETUP(p11)
{
	self->fds[0] = self->fds[1] = -1;
	if (run_shell("command -v softhsm2-util p11tool >/dev/null"))
		SKIP(return, "softhsm2 and gnutls-bin are not installed");
	snprintf(self->dir, sizeof(self->dir), "/tmp/ktlsd-p11-%d", getpid());
	snprintf(self->conf, sizeof(self->conf), "%s/ktlsd.conf", self->dir);
	snprintf(self->cert, sizeof(self->cert), "%s/cert.pem", self->dir);
	ASSERT_EQ(0, make_token(self->dir));
	ASSERT_EQ(0, ktls_config_new(&self->ccfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->ccfg, self->cert));
	ASSERT_EQ(0, ktls_config_set_timeout(self->ccfg, 5000));
	ASSERT_EQ(0, tcp_pair(self->fds));
}

FIXTURE_TEARDOWN(p11)
{
	ktls_session_free(self->cs);
	ktls_session_free(self->ss);
	ktls_config_free(self->ccfg);
	conf_put(self->c);
	if (self->fds[0] >= 0)
		close(self->fds[0]);
	if (self->fds[1] >= 0)
		close(self->fds[1]);
	if (self->dir[0])
		run_shell("rm -rf %s", self->dir);
}

TEST_F(p11, handshake_signs_on_the_token)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, write_conf(self, KEY_URL ";pin-value=" PIN));
	ASSERT_EQ(0, conf_load(self->conf, &self->c, self->err,
			       sizeof(self->err))) TH_LOG("%s", self->err);
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->c->profiles[0].cfg,
				      self->fds[1]));
	ASSERT_EQ(0, duo_handshake(self->cs, self->fds[0], &self->cret,
				   self->ss, self->fds[1], &self->sret));
	ASSERT_REACHED_INSTALL(self->cret, self->cs);
	ASSERT_REACHED_INSTALL(self->sret, self->ss);
	/* The token's module: in the key process, not here. */
	ASSERT_EQ(1, proc_maps_have(self->c->keys->pid, "libsofthsm2"));
	ASSERT_EQ(0, proc_maps_have(0, "libsofthsm2"));
}

/* The key was made on the token and cannot leave it. */
TEST_F(p11, key_is_sensitive_and_never_extractable)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_shell("GNUTLS_PIN=" PIN " p11tool --login "
			       "--list-all-privkeys pkcs11:token=ktlsd-test "
			       "2>/dev/null | grep 'CKA_NEVER_EXTRACTABLE;' | "
			       "grep -q 'CKA_SENSITIVE;'"));
}

/* tlshd's file takes the URL the same way, for the upcall's server side. */
TEST_F(p11, tlshd_file_key_by_url)
{
	const struct upcall_side *srv;
	FILE *f = fopen(self->conf, "we");

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, f);
	fprintf(f, "[authenticate.server]\nx509.certificate=%s\n"
		"x509.private_key=" KEY_URL ";pin-value=" PIN "\n", self->cert);
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, conf_load_tlshd(self->conf, &self->c, self->err,
				     sizeof(self->err))) TH_LOG("%s", self->err);
	srv = &self->c->upcall->server;
	ASSERT_EQ(1, srv->have_cert);
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ(0, ktls_session_new(&self->ss, srv->p->cfg, self->fds[1]));
	ASSERT_EQ(0, duo_handshake(self->cs, self->fds[0], &self->cret,
				   self->ss, self->fds[1], &self->sret));
	ASSERT_REACHED_INSTALL(self->cret, self->cs);
	ASSERT_REACHED_INSTALL(self->sret, self->ss);
	ASSERT_EQ(0, proc_maps_have(0, "libsofthsm2"));
}

TEST_F(p11, wrong_pin_names_the_key_line)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, write_conf(self, KEY_URL ";pin-value=0000"));
	ASSERT_NE(0, conf_load(self->conf, &self->c, self->err,
			       sizeof(self->err)));
	ASSERT_NE(NULL, strstr(self->err, "ktlsd.conf:4: ")) TH_LOG("%s",
								     self->err);
	ASSERT_NE(NULL, strstr(self->err, "not a private key GnuTLS can read"))
		TH_LOG("%s", self->err);
}

TEST_HARNESS_MAIN
