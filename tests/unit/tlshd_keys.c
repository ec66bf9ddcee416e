// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every key of tlshd 1.4's tlshd.conf(5) beyond the four x509 files
 * (tests/unit/ktlsd_config.c has those): what ktlsd does with each, or the
 * one line that says it does not, naming the key and its FILE:LINE. Log
 * lines are read back from ktlsd's stderr, caught in a file.
 */
#include <keyutils.h>
#include <netlink/netlink.h>
#include <syslog.h>

#include "kselftest_harness.h"
#include "internal.h"
#include "peers.h"
#include "upcall.h"

FIXTURE(keys)
{
	char path[64], logpath[64], err[512];
	char log[4096];
	struct conf *c;
	int saved;
};

FIXTURE_SETUP(keys)
{
	ASSERT_EQ(0, make_test_cert());
	snprintf(self->path, sizeof(self->path), "/tmp/ktlsd-tk-%d.conf",
		 getpid());
	snprintf(self->logpath, sizeof(self->logpath), "/tmp/ktlsd-tk-%d.log",
		 getpid());
	self->saved = -1;
}

FIXTURE_TEARDOWN(keys)
{
	conf_put(self->c);
	unlink(self->path);
	unlink(self->logpath);
	if (self->saved >= 0) {
		dup2(self->saved, 2);
		close(self->saved);
	}
	log_set_level(LOG_INFO);
}

/* ktlsd's stderr into a file, until logged() reads it back. */
static void catch_log(FIXTURE_DATA(keys) *self)
{
	int fd = open(self->logpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);

	self->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

static const char *logged(FIXTURE_DATA(keys) *self)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(self->saved, 2);
	close(self->saved);
	self->saved = -1;
	f = fopen(self->logpath, "re");
	n = f ? fread(self->log, 1, sizeof(self->log) - 1, f) : 0;
	self->log[n] = 0;
	if (f)
		fclose(f);
	return self->log;
}

/* Write tlshd's file and load it, stderr caught; conf_load_tlshd()'s. */
static int load(FIXTURE_DATA(keys) *self, const char *text)
{
	FILE *f = fopen(self->path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f))
		return -EIO;
	catch_log(self);
	return conf_load_tlshd(self->path, &self->c, self->err,
			       sizeof(self->err));
}

#define ASSERT_LOGGED(self, line, text) do {				\
	char __want[300];						\
	snprintf(__want, sizeof(__want), "%s:%d: %s", (self)->path,	\
		 line, text);						\
	ASSERT_NE(NULL, strstr((self)->log, __want))			\
		TH_LOG("no \"%s\" in: %s", __want, (self)->log);	\
} while (0)

/* [debug] loglevel: 0 (tlshd's default) is info, 1 and up debug. */
TEST_F(keys, debug_loglevel)
{
	ASSERT_EQ(0, load(self, "[debug]\nloglevel=0\n")) TH_LOG("%s", self->err);
	logged(self);
	ASSERT_EQ(LOG_INFO, self->c->log_level);
	conf_put(self->c);
	ASSERT_EQ(0, load(self, "[debug]\nloglevel=1\n")) TH_LOG("%s", self->err);
	logged(self);
	ASSERT_EQ(LOG_DEBUG, self->c->log_level);
	conf_put(self->c);
	/* As GLib reads an integer: "2x" is none, so 0. */
	ASSERT_EQ(0, load(self, "[debug]\nloglevel=2x\n")) TH_LOG("%s", self->err);
	logged(self);
	ASSERT_EQ(LOG_INFO, self->c->log_level);
}

/* [debug] tls and nl: GnuTLS's and libnl's levels, set when applied. */
TEST_F(keys, debug_tls_and_nl)
{
	ASSERT_EQ(0, load(self, "[debug]\ntls=4\nnl=2\n")) TH_LOG("%s", self->err);
	logged(self);
	ASSERT_EQ(4, self->c->upcall->tls_debug);
	ASSERT_EQ(2, self->c->upcall->nl_debug);
	upcall_conf_apply(self->c);
	ASSERT_EQ(2, nl_debug);
	/* GnuTLS's messages come out as ktlsd's debug lines. */
	log_set_level(LOG_DEBUG);
	catch_log(self);
	{
		gnutls_certificate_credentials_t cred;

		/* A missing trust file: GnuTLS logs where it failed. */
		ASSERT_EQ(0, gnutls_certificate_allocate_credentials(&cred));
		ASSERT_GT(0, gnutls_certificate_set_x509_trust_file(cred,
				"/nonexistent/ca.pem", GNUTLS_X509_FMT_PEM));
		gnutls_certificate_free_credentials(cred);
	}
	logged(self);
	ASSERT_NE(NULL, strstr(self->log, "debug: gnutls[")) TH_LOG("%s", self->log);
	conf_put(self->c);
	ASSERT_EQ(0, load(self, "[debug]\n")) TH_LOG("%s", self->err);
	logged(self);
	upcall_conf_apply(self->c);
	ASSERT_EQ(0, nl_debug);
}

/* [debug] delay_done: a test aid of tlshd's, said not to be done. */
TEST_F(keys, debug_delay_done)
{
	ASSERT_EQ(0, load(self, "[debug]\n\ndelay_done=5\n")) TH_LOG("%s", self->err);
	logged(self);
	ASSERT_LOGGED(self, 3, "[debug] delay_done, tlshd's test delay before "
		      "DONE, is not implemented by ktlsd");
}

/*
 * [authenticate] keyrings: linked into the session keyring, which the
 * handshake processes share; one not found, said.
 */
TEST_F(keys, authenticate_keyrings)
{
	void *list = NULL;
	int32_t ring, *ids;
	long n, i;
	int found = 0;

	keyctl_join_session_keyring(NULL);	/* this test's own */
	ring = add_key("keyring", "ktlsd-tk-ring", NULL, 0,
		       KEY_SPEC_PROCESS_KEYRING);
	if (ring < 0)
		SKIP(return, "no kernel keyrings here: %s", strerror(errno));
	keyring_init();
	ASSERT_EQ(0, load(self, "[authenticate]\n"
			  "keyrings=ktlsd-tk-ring;ktlsd-tk-nope;.nvme\n"))
		TH_LOG("%s", self->err);
	upcall_link_keyrings(self->c);
	logged(self);
	ASSERT_NE(NULL, strstr(self->log, "keyrings: 'ktlsd-tk-nope' is not a "
			       "keyring ktlsd can link")) TH_LOG("%s", self->log);
	ASSERT_NULL(strstr(self->log, "'ktlsd-tk-ring'")) TH_LOG("%s", self->log);
	/* .nvme comes with its module, maybe later: linked when there, silently. */
	ASSERT_NULL(strstr(self->log, "'.nvme'")) TH_LOG("%s", self->log);
	n = keyctl_read_alloc(KEY_SPEC_SESSION_KEYRING, &list);
	ASSERT_LE(0, n);
	ids = list;
	for (i = 0; i < n / 4; i++)
		found |= ids[i] == ring;
	free(list);
	ASSERT_TRUE(found);
	keyctl_unlink(ring, KEY_SPEC_SESSION_KEYRING);
	keyctl_unlink(ring, KEY_SPEC_PROCESS_KEYRING);
}

/* x509.pq.*: ML-DSA certificates, where GnuTLS has ML-DSA; else a line. */
TEST_F(keys, pq_certificate)
{
	ASSERT_EQ(0, load(self, "[authenticate.server]\n"
			  "x509.certificate=" TEST_CERT "\n"
			  "x509.private_key=" TEST_KEY "\n"
			  "x509.pq.certificate=/nonexistent/pq.pem\n"
			  "x509.pq.private_key=/nonexistent/pq.key\n"))
		TH_LOG("%s", self->err);
	logged(self);
	if (gnutls_pk_get_id("ML-DSA-44") != GNUTLS_PK_UNKNOWN)
		SKIP(return, "this GnuTLS has ML-DSA: the files are loaded "
		     "(and these do not exist)");
	ASSERT_LOGGED(self, 4, "[authenticate.server] x509.pq.certificate: this "
		      "GnuTLS");
	ASSERT_LOGGED(self, 5, "[authenticate.server] x509.pq.private_key: this "
		      "GnuTLS");
	ASSERT_NE(NULL, strstr(self->log, "has no ML-DSA, so ktlsd presents no "
			       "post-quantum certificate"));
	ASSERT_TRUE(self->c->upcall->server.own.cfg->have_cert);
}

/* Where GnuTLS has ML-DSA, a pq pair needs both halves, like the other. */
TEST_F(keys, pq_pair_needs_both)
{
	if (gnutls_pk_get_id("ML-DSA-44") == GNUTLS_PK_UNKNOWN)
		SKIP(return, "this GnuTLS has no ML-DSA: x509.pq.* are not read");
	ASSERT_EQ(-EINVAL, load(self, "[authenticate.client]\n"
			       "x509.pq.certificate=" TEST_CERT "\n"));
	logged(self);
	ASSERT_NE(NULL, strstr(self->err, "x509.pq.certificate without "
			       "x509.pq.private_key")) TH_LOG("%s", self->err);
}

/* Session tags: a directory of files that ktlsd does not read, said. */
TEST_F(keys, session_tags)
{
	char dir[64], file[100];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/ktlsd-tags-%d", getpid());
	snprintf(file, sizeof(file), "%s/nfs.yaml", dir);
	ASSERT_EQ(0, mkdir(dir, 0700));
	catch_log(self);
	ASSERT_EQ(0, upcall_note_tags(dir));
	f = fopen(file, "we");
	ASSERT_NE(NULL, f);
	fclose(f);
	ASSERT_EQ(1, upcall_note_tags(dir));
	ASSERT_EQ(0, upcall_note_tags("/nonexistent/tags.d"));
	logged(self);
	unlink(file);
	rmdir(dir);
	ASSERT_NE(NULL, strstr(self->log, "tlshd's session tags are not "
			       "implemented by ktlsd; the 1 file(s)"))
		TH_LOG("%s", self->log);
}

/* A key or group tlshd 1.4 does not have: one line naming it. */
TEST_F(keys, unknown_key_and_group)
{
	ASSERT_EQ(0, load(self, "[authenticate.client]\nx509.bogus=1\n"
			  "[other]\nkey=v\n[debug]\nloud=1\n"))
		TH_LOG("%s", self->err);
	logged(self);
	ASSERT_LOGGED(self, 2, "[authenticate.client] x509.bogus is not used by "
		      "ktlsd");
	ASSERT_LOGGED(self, 4, "[other] key is not used by ktlsd");
	ASSERT_LOGGED(self, 6, "[debug] loud is not used by ktlsd");
}

TEST_HARNESS_MAIN
