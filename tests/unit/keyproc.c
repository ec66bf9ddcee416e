// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key process (daemon/ktlsd/keyproc*.c): its request parser, fed
 * packets here directly (sizes, types, the order of requests); then a
 * real one, spawned, that signs, ends the connection on a malformed
 * packet, and whose death fails a signature cleanly; and TLS handshakes
 * whose server signs through it, for ECDSA and RSA keys, TLS 1.2 and 1.3.
 * Signatures are checked with the certificate's public key through
 * GnuTLS here, not by the code under test.
 */
#include <keyutils.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "duo.h"
#include "internal.h"
#include "keyproc.h"
#include "ktlsd.h"

#define DIR_FMT "/tmp/ktlsd-keyproc-%d"

struct keyfiles {
	char dir[64];
	char ec_key[96], ec_cert[96], rsa_key[96], rsa_cert[96], junk[96];
};

/* An ECDSA P-256 and an RSA-2048 key with self-signed certificates. */
static int make_keys(struct keyfiles *k)
{
	snprintf(k->dir, sizeof(k->dir), DIR_FMT, getpid());
	snprintf(k->ec_key, sizeof(k->ec_key), "%s/ec.key", k->dir);
	snprintf(k->ec_cert, sizeof(k->ec_cert), "%s/ec.pem", k->dir);
	snprintf(k->rsa_key, sizeof(k->rsa_key), "%s/rsa.key", k->dir);
	snprintf(k->rsa_cert, sizeof(k->rsa_cert), "%s/rsa.pem", k->dir);
	snprintf(k->junk, sizeof(k->junk), "%s/junk", k->dir);
	return run_shell("(set -e; mkdir -p %s; cd %s; echo junk >junk;"
			 "printf 'cn=localhost\\ndns_name=localhost\\n"
			 "ip_address=127.0.0.1\\nexpiration_days=2\\n"
			 "tls_www_server\\nsigning_key\\n' >tmpl;"
			 "certtool -p --ecc --curve secp256r1 --outfile ec.key;"
			 "certtool -s --load-privkey ec.key --template tmpl "
			 "--outfile ec.pem;"
			 "certtool -p --rsa --bits 2048 --outfile rsa.key;"
			 "certtool -s --load-privkey rsa.key --template tmpl "
			 "--outfile rsa.pem) >/dev/null 2>&1", k->dir, k->dir) ? -1 : 0;
}

static void remove_keys(struct keyfiles *k)
{
	run_shell("rm -rf %s", k->dir);
}

/* Whether sig is a signature of data by the key of cert_path. */
static int verifies(const char *cert_path, unsigned algo,
		    const gnutls_datum_t *data, const gnutls_datum_t *sig)
{
	gnutls_datum_t pem = { 0 };
	gnutls_pubkey_t pub = NULL;
	gnutls_x509_crt_t crt = NULL;
	int ok = 0;

	if (gnutls_load_file(cert_path, &pem) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_pubkey_init(&pub) < 0 ||
	    gnutls_pubkey_import_x509(pub, crt, 0) < 0)
		goto out;
	ok = gnutls_pubkey_verify_data2(pub, algo, 0, data, sig) >= 0;
out:
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(pem.data);
	return ok;
}

/* ---- The parser, packet by packet ---- */

FIXTURE(proto)
{
	struct keyfiles k;
	struct keyproc_srv *s;
	uint8_t reply[KP_MSG_MAX];
	size_t rlen;
	const char *why;
	struct keyproc_hdr rh;		/* the reply's header */
	const uint8_t *body;		/* and body */
};

FIXTURE_SETUP(proto)
{
	ASSERT_EQ(0, make_keys(&self->k));
	self->s = keyproc_srv_new();
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(proto)
{
	keyproc_srv_free(self->s);
	remove_keys(&self->k);
}

/* A request of type with body a + b, id 7; the handler's return. */
static int req(FIXTURE_DATA(proto) *self, uint16_t type, const void *a,
	       size_t alen, const void *b, size_t blen)
{
	static uint8_t msg[KP_MSG_MAX + 64];
	struct keyproc_hdr h = { .type = type, .len = alen + blen, .id = 7 };
	int ret;

	memcpy(msg, &h, KP_HDR_LEN);
	if (alen)
		memcpy(msg + KP_HDR_LEN, a, alen);
	if (blen)
		memcpy(msg + KP_HDR_LEN + alen, b, blen);
	self->rlen = 0;
	ret = keyproc_srv_handle(self->s, msg, KP_HDR_LEN + alen + blen,
				 self->reply, &self->rlen, &self->why);
	if (!ret && self->rlen >= KP_HDR_LEN) {
		memcpy(&self->rh, self->reply, KP_HDR_LEN);
		self->body = self->reply + KP_HDR_LEN;
	}
	return ret;
}

/* The errno of a KP_ERROR reply, or 1 for another type. */
static int reply_err(FIXTURE_DATA(proto) *self)
{
	int32_t err;

	if (self->rh.type != KP_ERROR || self->rh.len != sizeof(err) ||
	    self->rlen != KP_HDR_LEN + sizeof(err))
		return 1;
	memcpy(&err, self->body, sizeof(err));
	return err;
}

static int load_str(FIXTURE_DATA(proto) *self, uint32_t src, const char *s)
{
	return req(self, KP_LOAD, &src, sizeof(src), s, strlen(s));
}

/* LOAD path, expecting success: the key id, 0 on failure. */
static uint32_t load_ok(FIXTURE_DATA(proto) *self, const char *path,
			uint32_t pk)
{
	struct kp_loaded l;

	if (load_str(self, KP_SRC_FILE, path) || self->rh.type != KP_LOADED ||
	    self->rh.len != sizeof(l) || self->rh.id != 7)
		return 0;
	memcpy(&l, self->body, sizeof(l));
	return l.pk == pk ? l.key : 0;
}

static int sign_req(FIXTURE_DATA(proto) *self, uint32_t key, unsigned algo,
		    uint32_t form, const void *data, size_t len)
{
	struct kp_sign rq = { .key = key, .algo = algo, .form = form };

	return req(self, KP_SIGN, &rq, sizeof(rq), data, len);
}

TEST_F(proto, shorter_than_a_header)
{
	uint8_t msg[KP_HDR_LEN - 1] = { KP_SEAL };

	ASSERT_EQ(-EBADMSG, keyproc_srv_handle(self->s, msg, sizeof(msg),
					       self->reply, &self->rlen,
					       &self->why));
	ASSERT_STREQ("shorter than a header", self->why);
}

TEST_F(proto, header_length_disagrees_with_packet)
{
	uint8_t msg[KP_HDR_LEN + 4] = { 0 };
	struct keyproc_hdr h = { .type = KP_DROP, .len = 5 };

	memcpy(msg, &h, KP_HDR_LEN);
	ASSERT_EQ(-EBADMSG, keyproc_srv_handle(self->s, msg, sizeof(msg),
					       self->reply, &self->rlen,
					       &self->why));
	h.len = 3;
	memcpy(msg, &h, KP_HDR_LEN);
	ASSERT_EQ(-EBADMSG, keyproc_srv_handle(self->s, msg, sizeof(msg),
					       self->reply, &self->rlen,
					       &self->why));
	ASSERT_STREQ("header and packet sizes disagree", self->why);
}

TEST_F(proto, reserved_field_set)
{
	uint8_t msg[KP_HDR_LEN] = { 0 };
	struct keyproc_hdr h = { .type = KP_SEAL, .zero = 1 };

	memcpy(msg, &h, KP_HDR_LEN);
	ASSERT_EQ(-EBADMSG, keyproc_srv_handle(self->s, msg, sizeof(msg),
					       self->reply, &self->rlen,
					       &self->why));
}

TEST_F(proto, longer_than_any_request)
{
	static uint8_t big[KP_SIGN_MAX + 1];

	ASSERT_EQ(-EBADMSG, sign_req(self, 1, GNUTLS_SIGN_ECDSA_SHA256,
				     KP_FORM_DATA, big, sizeof(big)));
	ASSERT_EQ(0u, self->rlen);
}

TEST_F(proto, unknown_types)
{
	ASSERT_EQ(-EBADMSG, req(self, 99, NULL, 0, NULL, 0));
	ASSERT_STREQ("unknown request type", self->why);
	/* A reply is no request. */
	ASSERT_EQ(-EBADMSG, req(self, KP_OK, NULL, 0, NULL, 0));
	ASSERT_EQ(-EBADMSG, req(self, KP_ERROR, NULL, 0, NULL, 0));
}

TEST_F(proto, bodies_of_the_wrong_size)
{
	uint32_t src = KP_SRC_KEYRING, word = 1;

	ASSERT_EQ(-EBADMSG, req(self, KP_SEAL, &word, 1, NULL, 0));
	ASSERT_EQ(-EBADMSG, req(self, KP_DROP, &word, 2, NULL, 0));
	ASSERT_EQ(-EBADMSG, req(self, KP_LOAD, &word, 3, NULL, 0));
	ASSERT_EQ(-EBADMSG, req(self, KP_LOAD, &src, 4, &word, 2));
	ASSERT_EQ(-EBADMSG, req(self, KP_SIGN, &word, 4, NULL, 0));
	ASSERT_EQ(-EBADMSG, req(self, KP_LANE, &word, 4, NULL, 0));
	ASSERT_STREQ("LANE with a body", self->why);
	src = 9;
	ASSERT_EQ(-EBADMSG, req(self, KP_LOAD, &src, 4, "/x", 2));
}

TEST_F(proto, names_empty_long_or_with_nul)
{
	static char longname[KP_PATH_MAX + 2];

	ASSERT_EQ(-EBADMSG, load_str(self, KP_SRC_FILE, ""));
	memset(longname, 'a', KP_PATH_MAX + 1);
	ASSERT_EQ(-EBADMSG, load_str(self, KP_SRC_URL, longname));
	ASSERT_EQ(-EBADMSG, req(self, KP_LOAD, &(uint32_t){ KP_SRC_FILE }, 4,
				"/etc\0x", 6));
}

TEST_F(proto, sign_before_load)
{
	ASSERT_EQ(0, sign_req(self, 1, GNUTLS_SIGN_ECDSA_SHA256, KP_FORM_DATA,
			      "hello", 5));
	ASSERT_EQ(-ENOKEY, reply_err(self));
	ASSERT_EQ(7u, self->rh.id);
	ASSERT_EQ(0, sign_req(self, 0, GNUTLS_SIGN_ECDSA_SHA256, KP_FORM_DATA,
			      "hello", 5));
	ASSERT_EQ(-ENOKEY, reply_err(self));
	ASSERT_EQ(0, sign_req(self, KP_KEYS_MAX + 1, GNUTLS_SIGN_ECDSA_SHA256,
			      KP_FORM_DATA, "hello", 5));
	ASSERT_EQ(-ENOKEY, reply_err(self));
}

TEST_F(proto, sign_form_unknown)
{
	ASSERT_EQ(-EBADMSG, sign_req(self, 1, GNUTLS_SIGN_ECDSA_SHA256, 2,
				     "hello", 5));
	ASSERT_STREQ("SIGN: unknown form", self->why);
}

/*
 * Only the flags and algorithms a handshake uses reach GnuTLS: 3.7 lost
 * memory signing with algorithm 0 and flags 0x4f (found by the fuzzer).
 */
TEST_F(proto, sign_flags_and_algorithm_checked)
{
	struct kp_sign rq = { .key = 1, .algo = GNUTLS_SIGN_ECDSA_SHA256,
			      .flags = 0x4f, .form = KP_FORM_DATA };

	ASSERT_EQ(-EBADMSG, req(self, KP_SIGN, &rq, sizeof(rq), "x", 1));
	ASSERT_STREQ("SIGN: a flag a handshake does not use", self->why);
	rq.flags = 0;
	rq.algo = 0;
	ASSERT_EQ(-EBADMSG, req(self, KP_SIGN, &rq, sizeof(rq), "x", 1));
	ASSERT_STREQ("SIGN: unknown signature algorithm", self->why);
	rq.algo = 9999;
	ASSERT_EQ(-EBADMSG, req(self, KP_SIGN, &rq, sizeof(rq), "x", 1));
	/* TLS 1.0's RSA signature names no algorithm: accepted (no key). */
	rq = (struct kp_sign){ .key = 1, .form = KP_FORM_HASH,
			       .flags = GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA };
	ASSERT_EQ(0, req(self, KP_SIGN, &rq, sizeof(rq), "x", 1));
	ASSERT_EQ(-ENOKEY, reply_err(self));
}

/* Each key and algorithm: the signature verifies with the certificate. */
TEST_F(proto, load_and_sign_verifies)
{
	static const struct {
		int rsa;
		unsigned algo;
	} cases[] = {
		{ 0, GNUTLS_SIGN_ECDSA_SHA256 },
		{ 0, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256 },
		{ 1, GNUTLS_SIGN_RSA_SHA256 },
		{ 1, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256 },
	};
	gnutls_datum_t data = { (unsigned char *)"to be signed", 12 }, sig;
	uint32_t ec, rsa;
	size_t i;

	ec = load_ok(self, self->k.ec_key, GNUTLS_PK_ECDSA);
	ASSERT_NE(0u, ec);
	rsa = load_ok(self, self->k.rsa_key, GNUTLS_PK_RSA);
	ASSERT_NE(0u, rsa);
	ASSERT_NE(ec, rsa);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, sign_req(self, cases[i].rsa ? rsa : ec,
				      cases[i].algo, KP_FORM_DATA, data.data,
				      data.size));
		ASSERT_EQ(KP_SIGNATURE, self->rh.type) TH_LOG("case %zu", i);
		sig.data = (unsigned char *)self->body;
		sig.size = self->rh.len;
		ASSERT_TRUE(verifies(cases[i].rsa ? self->k.rsa_cert :
				     self->k.ec_cert, cases[i].algo, &data, &sig))
			TH_LOG("case %zu", i);
		/* And not with the other key's certificate. */
		ASSERT_FALSE(verifies(cases[i].rsa ? self->k.ec_cert :
				      self->k.rsa_cert, cases[i].algo, &data,
				      &sig));
	}
}

TEST_F(proto, load_errors)
{
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/none.key", self->k.dir);
	ASSERT_EQ(0, load_str(self, KP_SRC_FILE, missing));
	ASSERT_EQ(-ENOENT, reply_err(self));
	ASSERT_EQ(0, load_str(self, KP_SRC_FILE, self->k.junk));
	ASSERT_EQ(-EKEYREJECTED, reply_err(self));
	/* A certificate is no private key. */
	ASSERT_EQ(0, load_str(self, KP_SRC_FILE, self->k.ec_cert));
	ASSERT_EQ(-EKEYREJECTED, reply_err(self));
	ASSERT_EQ(0, load_str(self, KP_SRC_FILE, self->k.dir));
	ASSERT_EQ(-EINVAL, reply_err(self));
}

TEST_F(proto, no_files_or_urls_after_seal)
{
	int32_t serial = 0;
	uint32_t src = KP_SRC_KEYRING;

	ASSERT_NE(0u, load_ok(self, self->k.ec_key, GNUTLS_PK_ECDSA));
	ASSERT_EQ(0, req(self, KP_SEAL, NULL, 0, NULL, 0));
	ASSERT_EQ(KP_OK, self->rh.type);
	ASSERT_EQ(0, load_str(self, KP_SRC_FILE, self->k.ec_key));
	ASSERT_EQ(-EPERM, reply_err(self));
	ASSERT_EQ(0, load_str(self, KP_SRC_URL, "pkcs11:token=x"));
	ASSERT_EQ(-EPERM, reply_err(self));
	/* The kernel's keys still come by serial. */
	ASSERT_EQ(0, req(self, KP_LOAD, &src, 4, &serial, 4));
	ASSERT_EQ(-ENOKEY, reply_err(self));
	/* What was loaded before still signs. */
	ASSERT_EQ(0, sign_req(self, 1, GNUTLS_SIGN_ECDSA_SHA256, KP_FORM_DATA,
			      "x", 1));
	ASSERT_EQ(KP_SIGNATURE, self->rh.type);
}

TEST_F(proto, drop_then_sign)
{
	uint32_t key = load_ok(self, self->k.ec_key, GNUTLS_PK_ECDSA);

	ASSERT_NE(0u, key);
	ASSERT_EQ(0, req(self, KP_DROP, &key, sizeof(key), NULL, 0));
	ASSERT_EQ(KP_OK, self->rh.type);
	ASSERT_EQ(0, sign_req(self, key, GNUTLS_SIGN_ECDSA_SHA256,
			      KP_FORM_DATA, "x", 1));
	ASSERT_EQ(-ENOKEY, reply_err(self));
	ASSERT_EQ(0, req(self, KP_DROP, &key, sizeof(key), NULL, 0));
	ASSERT_EQ(-ENOKEY, reply_err(self));
}

/* From the keyring: a "user" key only, read by the key process itself. */
TEST_F(proto, keyring_user_keys_only)
{
	uint32_t src = KP_SRC_KEYRING;
	gnutls_datum_t pem = { 0 };
	int32_t user, ring;

	ASSERT_EQ(0, gnutls_load_file(self->k.ec_key, &pem));
	user = add_key("user", "ktlsd-test-keyproc", pem.data, pem.size,
		       KEY_SPEC_PROCESS_KEYRING);
	gnutls_free(pem.data);
	if (user < 0)
		SKIP(return, "no kernel keyrings here: %s", strerror(errno));
	ring = add_key("keyring", "ktlsd-test-ring", NULL, 0,
		       KEY_SPEC_PROCESS_KEYRING);
	ASSERT_LT(0, ring);
	ASSERT_EQ(0, req(self, KP_LOAD, &src, 4, &ring, 4));
	ASSERT_EQ(-EKEYREJECTED, reply_err(self));
	ASSERT_EQ(0, req(self, KP_LOAD, &src, 4, &user, 4));
	ASSERT_EQ(KP_LOADED, self->rh.type);
}

/* ---- A spawned key process ---- */

FIXTURE(live)
{
	struct keyfiles k;
	struct keyproc *kp;
};

FIXTURE_SETUP(live)
{
	ASSERT_EQ(0, make_keys(&self->k));
	ASSERT_EQ(0, keyproc_spawn(&self->kp));
}

FIXTURE_TEARDOWN(live)
{
	keyproc_put(self->kp);
	remove_keys(&self->k);
}

TEST_F(live, named_and_signs)
{
	gnutls_datum_t data = { (unsigned char *)"abc", 3 }, sig = { 0 };
	char path[64], comm[32] = "";
	struct kp_loaded key;
	FILE *f;

	/* Its first answer: it runs as itself by then. */
	ASSERT_EQ(0, keyproc_load(self->kp, KP_SRC_FILE, self->k.rsa_key, &key));
	ASSERT_EQ(GNUTLS_PK_RSA, (int)key.pk);
	ASSERT_EQ(2048u, key.bits);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)self->kp->pid);
	f = fopen(path, "re");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(comm, sizeof(comm), f));
	fclose(f);
	ASSERT_STREQ("ktlsd-key\n", comm);
	ASSERT_EQ(0, keyproc_sign(self->kp, key.key, KP_FORM_DATA,
				  GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 0, &data,
				  &sig));
	ASSERT_TRUE(verifies(self->k.rsa_cert, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256,
			     &data, &sig));
	gnutls_free(sig.data);
	ASSERT_EQ(0, keyproc_seal(self->kp));
	ASSERT_EQ(-EPERM, keyproc_load(self->kp, KP_SRC_FILE, self->k.ec_key,
				       &key));
}

TEST_F(live, malformed_packet_ends_the_connection)
{
	int status = 0;
	char c;

	ASSERT_EQ(3, send(self->kp->c.fd, "bad", 3, 0));
	/* It closes without a reply, and exits with 1. */
	ASSERT_EQ(0, recv(self->kp->c.fd, &c, 1, 0));
	ASSERT_EQ(self->kp->pid, waitpid(self->kp->pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(1, WEXITSTATUS(status));
}

TEST_F(live, after_it_died_signing_fails)
{
	gnutls_datum_t data = { (unsigned char *)"abc", 3 }, sig = { 0 };
	struct kp_loaded key;

	ASSERT_EQ(0, keyproc_load(self->kp, KP_SRC_FILE, self->k.ec_key, &key));
	ASSERT_EQ(0, kill(self->kp->pid, SIGKILL));
	ASSERT_EQ(self->kp->pid, waitpid(self->kp->pid, NULL, 0));
	ASSERT_EQ(-EPIPE, keyproc_sign(self->kp, key.key, KP_FORM_DATA,
				       GNUTLS_SIGN_ECDSA_SHA256, 0, &data,
				       &sig));
	ASSERT_EQ(NULL, sig.data);
	ASSERT_EQ(-EPIPE, keyproc_seal(self->kp));
}

/* ---- Lanes: a connection per signing thread ---- */

/* The threads of process pid (the key process: 1 + its open lanes). */
static int threads_of(pid_t pid)
{
	return proc_status(pid, "Threads");
}

/* Until pid has n threads (a closed lane's thread ends on its own). */
static int threads_become(pid_t pid, int n)
{
	int i;

	for (i = 0; i < 200 && threads_of(pid) != n; i++)
		usleep(10000);
	return threads_of(pid);
}

/*
 * LANE by hand over the first connection: the lane's descriptor, or the
 * ERROR's negative errno, or -1000 for a reply of another kind.
 */
static int lane_by_hand(struct keyproc *kp, uint32_t id)
{
	struct keyproc_hdr h = { .type = KP_LANE, .id = id };
	uint8_t buf[KP_MSG_MAX];
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	int32_t err;
	ssize_t n;
	int fd;

	if (send(kp->c.fd, &h, KP_HDR_LEN, 0) != KP_HDR_LEN)
		return -1000;
	n = recvmsg(kp->c.fd, &m, MSG_CMSG_CLOEXEC);
	if (n < KP_HDR_LEN)
		return -1000;
	memcpy(&h, buf, KP_HDR_LEN);
	c = CMSG_FIRSTHDR(&m);
	if (h.id != id)
		return -1000;
	if (h.type == KP_ERROR && n == KP_HDR_LEN + sizeof(err) && !c) {
		memcpy(&err, buf + KP_HDR_LEN, sizeof(err));
		return err;
	}
	if (h.type != KP_OK || n != KP_HDR_LEN || !c ||
	    c->cmsg_type != SCM_RIGHTS)
		return -1000;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

struct signer {
	struct keyproc *kp;
	struct keyfiles *k;
	uint32_t key;
	pthread_t tid;
	int good;
};

static void *sign_50(void *arg)
{
	struct signer *t = arg;
	gnutls_datum_t data = { (unsigned char *)"lane", 4 }, sig;
	int i;

	for (i = 0; i < 50; i++) {
		sig = (gnutls_datum_t){ 0 };
		if (!keyproc_sign(t->kp, t->key, KP_FORM_DATA,
				  GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig) &&
		    verifies(t->k->ec_cert, GNUTLS_SIGN_ECDSA_SHA256, &data,
			     &sig))
			t->good++;
		gnutls_free(sig.data);
	}
	return NULL;
}

/*
 * Four threads sign 50 times each: every signature verifies, and the key
 * process serves each thread on a lane of its own (a thread per lane).
 */
TEST_F(live, each_signing_thread_gets_a_lane)
{
	struct signer t[4];
	struct kp_loaded key;
	int i;

	ASSERT_EQ(0, keyproc_load(self->kp, KP_SRC_FILE, self->k.ec_key, &key));
	ASSERT_EQ(1, threads_of(self->kp->pid));
	for (i = 0; i < 4; i++) {
		t[i] = (struct signer){ .kp = self->kp, .k = &self->k,
					.key = key.key };
		ASSERT_EQ(0, pthread_create(&t[i].tid, NULL, sign_50, &t[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i].tid, NULL);
		EXPECT_EQ(50, t[i].good);
	}
	EXPECT_EQ(5, threads_of(self->kp->pid));
}

/* A lane signs and does nothing else: anything more ends that lane only. */
TEST_F(live, a_lane_takes_sign_only)
{
	struct keyproc_hdr h = { .type = KP_SEAL, .id = 1 };
	gnutls_datum_t data = { (unsigned char *)"abc", 3 }, sig = { 0 };
	struct kp_loaded key;
	int lane;
	char c;

	ASSERT_EQ(0, keyproc_load(self->kp, KP_SRC_FILE, self->k.ec_key, &key));
	lane = lane_by_hand(self->kp, 1000);
	ASSERT_LE(0, lane);
	ASSERT_EQ(2, threads_of(self->kp->pid));
	ASSERT_EQ(KP_HDR_LEN, send(lane, &h, KP_HDR_LEN, 0));
	ASSERT_EQ(0, recv(lane, &c, 1, 0));
	close(lane);
	ASSERT_EQ(1, threads_become(self->kp->pid, 1));
	/* The process and its first connection serve on. */
	ASSERT_EQ(0, keyproc_sign(self->kp, key.key, KP_FORM_DATA,
				  GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig));
	ASSERT_TRUE(verifies(self->k.ec_cert, GNUTLS_SIGN_ECDSA_SHA256, &data,
			     &sig));
	gnutls_free(sig.data);
}

/*
 * KP_LANES_MAX lanes at once, then EMFILE (a handshake process cannot
 * make it start threads without end); a closed lane frees its place; a
 * client refused a lane signs over the first connection.
 */
TEST_F(live, lanes_are_bounded)
{
	gnutls_datum_t data = { (unsigned char *)"abc", 3 }, sig = { 0 };
	int lanes[KP_LANES_MAX], i, fd;
	struct kp_loaded key;

	ASSERT_EQ(0, keyproc_load(self->kp, KP_SRC_FILE, self->k.ec_key, &key));
	for (i = 0; i < KP_LANES_MAX; i++) {
		lanes[i] = lane_by_hand(self->kp, 1000 + i);
		ASSERT_LE(0, lanes[i]) TH_LOG("lane %d: %d", i, lanes[i]);
	}
	ASSERT_EQ(-EMFILE, lane_by_hand(self->kp, 2000));
	ASSERT_EQ(1 + KP_LANES_MAX, threads_of(self->kp->pid));
	ASSERT_EQ(0, keyproc_sign(self->kp, key.key, KP_FORM_DATA,
				  GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig));
	ASSERT_TRUE(verifies(self->k.ec_cert, GNUTLS_SIGN_ECDSA_SHA256, &data,
			     &sig));
	gnutls_free(sig.data);
	ASSERT_EQ(1 + KP_LANES_MAX, threads_of(self->kp->pid));
	close(lanes[0]);
	ASSERT_EQ(KP_LANES_MAX, threads_become(self->kp->pid, KP_LANES_MAX));
	fd = lane_by_hand(self->kp, 2001);
	ASSERT_LE(0, fd);
	close(fd);
	for (i = 1; i < KP_LANES_MAX; i++)
		close(lanes[i]);
}

/*
 * The first connection closed: the key process shuts its lanes, frees its
 * keys and exits 0 (under ASan, whose leak check fails the exit when the
 * state was left behind for a lane).
 */
TEST_F(live, closing_the_first_connection_ends_the_lanes)
{
	struct timeval tv = { .tv_sec = 5 };
	struct kp_loaded key;
	int lane, status = 0;
	char c;

	ASSERT_EQ(0, keyproc_load(self->kp, KP_SRC_FILE, self->k.ec_key, &key));
	lane = lane_by_hand(self->kp, 1000);
	ASSERT_LE(0, lane);
	ASSERT_EQ(0, setsockopt(lane, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	close(self->kp->c.fd);
	self->kp->c.fd = -1;
	ASSERT_EQ(0, recv(lane, &c, 1, 0));
	ASSERT_EQ(self->kp->pid, waitpid(self->kp->pid, &status, 0));
	self->kp->pid = 0;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(lane);
}

/*
 * A forked child never signs over its parent's lane (their replies would
 * cross): its first signature asks for a lane of its own.
 */
TEST_F(live, a_forked_child_asks_for_its_own_lane)
{
	gnutls_datum_t data = { (unsigned char *)"abc", 3 }, sig = { 0 };
	struct kp_loaded key;
	int status = 0;
	pid_t child;

	ASSERT_EQ(0, keyproc_load(self->kp, KP_SRC_FILE, self->k.ec_key, &key));
	ASSERT_EQ(0, keyproc_sign(self->kp, key.key, KP_FORM_DATA,
				  GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig));
	gnutls_free(sig.data);
	ASSERT_EQ(2, threads_of(self->kp->pid));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		sig = (gnutls_datum_t){ 0 };
		_exit(keyproc_sign(self->kp, key.key, KP_FORM_DATA,
				   GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig) ||
		      !verifies(self->k.ec_cert, GNUTLS_SIGN_ECDSA_SHA256,
				&data, &sig) ||
		      threads_of(self->kp->pid) != 3);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* Its lane ended with it; ours still serves. */
	ASSERT_EQ(2, threads_become(self->kp->pid, 2));
	sig = (gnutls_datum_t){ 0 };
	ASSERT_EQ(0, keyproc_sign(self->kp, key.key, KP_FORM_DATA,
				  GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &sig));
	gnutls_free(sig.data);
}

/* ---- Handshakes whose server signs in the key process ---- */

FIXTURE(hs)
{
	struct keyfiles k;
	char conf[128], err[512];
	struct conf *c;
	struct ktls_config *ccfg;
	struct ktls_session *cs, *ss;
	int fds[2], cret, sret;
};

FIXTURE_VARIANT(hs)
{
	int rsa;
	int version;
};

FIXTURE_VARIANT_ADD(hs, ecdsa_tls13) { .rsa = 0, .version = KTLS_TLS13 };
FIXTURE_VARIANT_ADD(hs, ecdsa_tls12) { .rsa = 0, .version = KTLS_TLS12 };
FIXTURE_VARIANT_ADD(hs, rsa_tls13) { .rsa = 1, .version = KTLS_TLS13 };
FIXTURE_VARIANT_ADD(hs, rsa_tls12) { .rsa = 1, .version = KTLS_TLS12 };

FIXTURE_SETUP(hs)
{
	FILE *f;

	self->fds[0] = self->fds[1] = -1;
	ASSERT_EQ(0, make_keys(&self->k));
	snprintf(self->conf, sizeof(self->conf), "%s/ktlsd.conf", self->k.dir);
	f = fopen(self->conf, "we");
	ASSERT_NE(NULL, f);
	fprintf(f, "[profile s]\nrole = server\ncertificate = %s\nkey = %s\n",
		variant->rsa ? self->k.rsa_cert : self->k.ec_cert,
		variant->rsa ? self->k.rsa_key : self->k.ec_key);
	fclose(f);
	ASSERT_EQ(0, conf_load(self->conf, &self->c, self->err,
			       sizeof(self->err))) TH_LOG("%s", self->err);
	ASSERT_NE(NULL, self->c->keys);
	ASSERT_EQ(0, ktls_config_new(&self->ccfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->ccfg, variant->rsa ?
					     self->k.rsa_cert : self->k.ec_cert));
	ASSERT_EQ(0, ktls_config_set_versions(self->ccfg, variant->version,
					      variant->version));
	ASSERT_EQ(0, ktls_config_set_timeout(self->ccfg, 5000));
	ASSERT_EQ(0, tcp_pair(self->fds));
}

FIXTURE_TEARDOWN(hs)
{
	ktls_session_free(self->cs);
	ktls_session_free(self->ss);
	ktls_config_free(self->ccfg);
	conf_put(self->c);
	if (self->fds[0] >= 0)
		close(self->fds[0]);
	if (self->fds[1] >= 0)
		close(self->fds[1]);
	remove_keys(&self->k);
}

TEST_F(hs, server_signs_in_the_key_process)
{
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->c->profiles[0].cfg,
				      self->fds[1]));
	ASSERT_EQ(0, duo_handshake(self->cs, self->fds[0], &self->cret,
				   self->ss, self->fds[1], &self->sret));
	ASSERT_REACHED_INSTALL(self->cret, self->cs);
	ASSERT_REACHED_INSTALL(self->sret, self->ss);
}

/* Once the key process is gone, the handshake fails, and says so. */
TEST_F(hs, without_the_key_process_the_handshake_fails)
{
	ASSERT_EQ(0, kill(self->c->keys->pid, SIGKILL));
	ASSERT_EQ(self->c->keys->pid, waitpid(self->c->keys->pid, NULL, 0));
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->c->profiles[0].cfg,
				      self->fds[1]));
	ASSERT_EQ(0, duo_handshake(self->cs, self->fds[0], &self->cret,
				   self->ss, self->fds[1], &self->sret));
	ASSERT_NE(0, self->sret);
	ASSERT_NE(-KTLS_E_NO_KTLS, self->sret);
	ASSERT_NE(0, self->cret);
}

TEST_HARNESS_MAIN
