// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel's record-layer options (ktls_config_set_kernel_options(),
 * ktlsd's zerocopy_sendfile and rx_expect_no_pad): on where asked and
 * possible, as sock_diag sees the socket, with data byte for byte through
 * them: sendfile() out of a zero-copy socket, records into a no-pad one,
 * padded records from a GnuTLS peer read right (and counted by the
 * kernel), a file truncated under sendfile() ends the transfer short
 * with its first bytes intact, never a hang; and through ktlsd.
 */
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "daemon.h"
#include "duo.h"
#include "ktlsd_proc.h"
#include "peers.h"
#include "tlsio.h"

#define BOTH (KTLS_OPT_ZEROCOPY_SENDFILE | KTLS_OPT_RX_NO_PAD)

/*
 * No-pad receive is set from 6.12 on: on 6.1 a padded record came up
 * with wrong bytes (this file's padded test, before libktls left it off).
 */
static int no_pad_kernel(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	return !uname(&u) && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	       (major > 6 || (major == 6 && minor >= 12));
}

#define NO_PAD (no_pad_kernel() ? KTLS_OPT_RX_NO_PAD : 0u)
#define MIB (1024 * 1024)

/* What sock_diag says of the kTLS socket with this inode. */
struct seen {
	unsigned long ino;
	int found, zc, no_pad;
};

static int match(const struct tls_sock *t, void *arg)
{
	struct seen *s = arg;

	if (t->inode != s->ino)
		return 0;
	s->found = 1;
	s->zc = t->zc_sendfile;
	s->no_pad = t->rx_no_pad;
	return 1;
}

static struct seen diag(int fd)
{
	struct seen s = { 0 };
	struct stat st;

	if (!fstat(fd, &st)) {
		s.ino = st.st_ino;
		sockinfo_tls_sockets(match, &s);
	}
	return s;
}

#define ASSERT_DIAG(fd, want_zc, want_no_pad) do {			\
	struct seen __s = diag(fd);					\
	ASSERT_EQ(1, __s.found) TH_LOG("sock_diag does not list it");	\
	EXPECT_EQ(want_zc, __s.zc);					\
	EXPECT_EQ(want_no_pad, __s.no_pad);				\
} while (0)

FIXTURE(opt)
{
	struct ktls_config *scfg, *ccfg;
	struct ktls_session *ss, *cs;
	int fds[2];		/* [0] client, [1] server */
	char file[64];
	int file_fd;
	char *buf;
};

FIXTURE_SETUP(opt)
{
	self->file_fd = -1;
	self->fds[0] = self->fds[1] = -1;
	ASSERT_EQ(0, make_test_cert());
	ASSERT_EQ(0, ktls_config_new(&self->scfg, KTLS_SERVER));
	ASSERT_EQ(0, ktls_config_add_cert(self->scfg, TEST_CERT, TEST_KEY));
	ASSERT_EQ(0, ktls_config_new(&self->ccfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->ccfg, TEST_CERT));
	self->buf = malloc(64 * MIB);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(opt)
{
	if (self->ss)
		ktls_session_free(self->ss);
	if (self->cs)
		ktls_session_free(self->cs);
	ktls_config_free(self->scfg);
	ktls_config_free(self->ccfg);
	close(self->fds[0]);
	close(self->fds[1]);
	if (self->file_fd >= 0) {
		close(self->file_fd);
		unlink(self->file);
	}
	free(self->buf);
}

/* Both ends over TCP loopback, TLS version v; asserts both succeeded. */
static void connect_both(struct __test_metadata *_metadata,
			 FIXTURE_DATA(opt) *self, int v)
{
	int cret, sret;

	ASSERT_EQ(0, ktls_config_set_versions(self->scfg, v, v));
	ASSERT_EQ(0, tcp_pair(self->fds));
	set_timeouts(self->fds[0], 30);
	set_timeouts(self->fds[1], 30);
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ASSERT_EQ(0, ktls_session_new(&self->ss, self->scfg, self->fds[1]));
	ASSERT_EQ(0, duo_handshake(self->cs, self->fds[0], &cret,
				   self->ss, self->fds[1], &sret));
	if (cret == -KTLS_E_NO_KTLS)
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable here");
	ASSERT_EQ(0, cret) TH_LOG("%s", ktls_session_error(self->cs));
	ASSERT_EQ(0, sret) TH_LOG("%s", ktls_session_error(self->ss));
}

/* A file of len bytes of the pattern (seed 7), open for reading. */
static void make_file(struct __test_metadata *_metadata,
		      FIXTURE_DATA(opt) *self, size_t len)
{
	int fd;

	strcpy(self->file, "/tmp/ktlsd-opt-XXXXXX");
	fd = mkstemp(self->file);
	ASSERT_LE(0, fd);
	fill_pattern(self->buf, len, 7, 0);
	ASSERT_EQ((ssize_t)len, write_full(fd, self->buf, len));
	self->file_fd = fd;
}

/* sendfile() of a whole file in a thread, then the end of our sending. */
struct sender {
	int sock, file;
	long long len, sent;
	int err;
};

static void *send_file(void *arg)
{
	struct sender *s = arg;
	off_t off = 0;
	ssize_t n;

	while (off < s->len) {
		n = sendfile(s->sock, s->file, &off, s->len - off);
		if (n <= 0) {
			s->err = n < 0 ? errno : 0;
			break;
		}
	}
	s->sent = off;
	shutdown(s->sock, SHUT_WR);
	return NULL;
}

/* ktls_send() of a buffer in a thread. */
struct pump {
	struct ktls_session *s;
	const void *buf;
	size_t len;
	ssize_t ret;
};

static void *send_buf(void *arg)
{
	struct pump *p = arg;

	p->ret = send_all(p->s, p->buf, p->len);
	return NULL;
}

/*
 * Software kTLS (all a VM has) takes zero-copy but ignores it, and the
 * kernel reports it only with a NIC doing the crypto: off, both ways.
 */
TEST_F_TIMEOUT(opt, software_tls13, 120)
{
	struct sender snd = { .len = 16 * MIB };
	struct pump pump = { 0 };
	pthread_t th;

	ASSERT_EQ(0, ktls_config_set_kernel_options(self->scfg, BOTH));
	connect_both(_metadata, self, KTLS_TLS13);
	ASSERT_EQ(KTLS_OFFLOAD_SW, (int)ktls_session_info(self->ss)->tx);
	EXPECT_EQ(NO_PAD, ktls_session_info(self->ss)->options);
	EXPECT_EQ(0u, ktls_session_info(self->cs)->options);
	ASSERT_DIAG(self->fds[1], 0, !!NO_PAD);
	ASSERT_DIAG(self->fds[0], 0, 0);

	/* 16 MiB out of the zero-copy socket by sendfile()... */
	make_file(_metadata, self, 16 * MIB);
	snd.sock = self->fds[1];
	snd.file = self->file_fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, send_file, &snd));
	memset(self->buf, 0, 16 * MIB);
	EXPECT_EQ(16 * MIB, recv_all(self->cs, self->buf, 16 * MIB, MIB));
	pthread_join(th, NULL);
	ASSERT_EQ(16 * MIB, snd.sent) TH_LOG("sendfile: %s", strerror(snd.err));
	EXPECT_EQ(-1, check_pattern(self->buf, 16 * MIB, 7, 0));
	/* ...and 16 MiB into the no-pad one. */
	fill_pattern(self->buf + 16 * MIB, 16 * MIB, 9, 0);
	pump.s = self->cs;
	pump.buf = self->buf + 16 * MIB;
	pump.len = 16 * MIB;
	ASSERT_EQ(0, pthread_create(&th, NULL, send_buf, &pump));
	EXPECT_EQ(16 * MIB, recv_all(self->ss, self->buf, 16 * MIB, 100000));
	pthread_join(th, NULL);
	EXPECT_EQ(16 * MIB, pump.ret);
	EXPECT_EQ(-1, check_pattern(self->buf, 16 * MIB, 9, 0));
}

/* TLS 1.2 has no padding to bet on: the kernel refuses, zero-copy stays. */
TEST_F_TIMEOUT(opt, no_pad_not_on_tls12, 60)
{
	ASSERT_EQ(0, ktls_config_set_kernel_options(self->scfg, BOTH));
	connect_both(_metadata, self, KTLS_TLS12);
	EXPECT_EQ(0u, ktls_session_info(self->ss)->options);
	ASSERT_DIAG(self->fds[1], 0, 0);
}

TEST(unknown_option_refused)
{
	struct ktls_config *cfg;

	ASSERT_EQ(0, ktls_config_new(&cfg, KTLS_CLIENT));
	EXPECT_EQ(-EINVAL, ktls_config_set_kernel_options(cfg, 4));
	EXPECT_EQ(-EINVAL, ktls_config_set_kernel_options(NULL, 1));
	ktls_config_free(cfg);
}

/*
 * A file cut to 2 MiB while sendfile() sends 64 MiB of it: sendfile()
 * ends (short), within the test's time, and what arrived is the file's
 * first bytes, as many as sendfile() said.
 */
TEST_F_TIMEOUT(opt, file_truncated_under_sendfile, 120)
{
	struct sender snd = { .len = 64 * MIB };
	pthread_t th;
	ssize_t got = 0, n;

	ASSERT_EQ(0, ktls_config_set_kernel_options(self->scfg, BOTH));
	connect_both(_metadata, self, KTLS_TLS13);
	make_file(_metadata, self, 64 * MIB);
	snd.sock = self->fds[1];
	snd.file = self->file_fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, send_file, &snd));
	memset(self->buf, 0, 64 * MIB);
	ASSERT_EQ(MIB, recv_all(self->cs, self->buf, MIB, MIB));
	got = MIB;
	ASSERT_EQ(0, ftruncate(self->file_fd, 2 * MIB));
	while ((n = ktls_recv(self->cs, self->buf + got, 64 * MIB - got, 0,
			      NULL)) > 0)
		got += n;
	pthread_join(th, NULL);
	EXPECT_EQ(0, n) TH_LOG("ktls_recv: %s", strerror((int)-n));
	EXPECT_EQ(snd.sent, got) TH_LOG("sendfile error: %s", strerror(snd.err));
	EXPECT_GT(64 * MIB, got);
	EXPECT_EQ(-1, check_pattern(self->buf, got, 7, 0));
}

/* A GnuTLS server that pads each record to its end, in a thread. */
struct padder {
	int fd;
	gnutls_certificate_credentials_t cred;
	int ret;
};

static void *pad_records(void *arg)
{
	struct padder *p = arg;
	gnutls_session_t gs;
	char rec[1000];
	int i;

	p->ret = -1;
	if (gnutls_init(&gs, GNUTLS_SERVER) < 0)
		return NULL;
	gnutls_priority_set_direct(gs, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, p->cred);
	gnutls_transport_set_int(gs, p->fd);
	/* The client's byte says its kTLS is in: no record comes early. */
	if (gnutls_handshake_all(gs) == 0 &&
	    gnutls_record_recv(gs, rec, 1) == 1) {
		p->ret = 0;
		for (i = 0; i < 100 && !p->ret; i++) {
			fill_pattern(rec, sizeof(rec), 3, i * sizeof(rec));
			if (gnutls_record_send2(gs, rec, sizeof(rec), 500, 0) !=
			    (ssize_t)sizeof(rec))
				p->ret = -2;
		}
		gnutls_bye(gs, GNUTLS_SHUT_WR);
	}
	gnutls_deinit(gs);
	return NULL;
}

TEST_F_TIMEOUT(opt, padded_records_read_right, 60)
{
	struct padder p = { 0 };
	long long before = tls_stat("TlsRxNoPadViolation");
	pthread_t th;
	int ret;

	ASSERT_LE(0, before) TH_LOG("no TlsRxNoPadViolation counter");
	ASSERT_EQ(0, gnutls_certificate_allocate_credentials(&p.cred));
	ASSERT_LE(0, gnutls_certificate_set_x509_key_file(p.cred, TEST_CERT,
			TEST_KEY, GNUTLS_X509_FMT_PEM));
	ASSERT_EQ(0, ktls_config_set_kernel_options(self->ccfg,
						    KTLS_OPT_RX_NO_PAD));
	ASSERT_EQ(0, tcp_pair(self->fds));
	set_timeouts(self->fds[0], 30);
	p.fd = self->fds[1];
	ASSERT_EQ(0, pthread_create(&th, NULL, pad_records, &p));
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	ret = ktls_session_handshake(self->cs);
	if (ret == -KTLS_E_NO_KTLS) {
		shutdown(self->fds[0], SHUT_RDWR);
		pthread_join(th, NULL);
		gnutls_certificate_free_credentials(p.cred);
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable here");
	}
	ASSERT_EQ(0, ret) TH_LOG("%s", ktls_session_error(self->cs));
	EXPECT_EQ(NO_PAD, ktls_session_info(self->cs)->options);
	ASSERT_EQ(1, send_all(self->cs, "x", 1));
	ASSERT_EQ(100000, recv_all(self->cs, self->buf, 100000, 100000));
	pthread_join(th, NULL);
	gnutls_certificate_free_credentials(p.cred);
	EXPECT_EQ(0, p.ret);
	EXPECT_EQ(-1, check_pattern(self->buf, 100000, 3, 0));
	/*
	 * Padded records that the kernel decrypted in one pass into our
	 * buffer were decrypted again, and counted (it takes that pass only
	 * when the buffer holds the whole record: not for every one).
	 */
	if (NO_PAD) {
		EXPECT_LT(before, tls_stat("TlsRxNoPadViolation"));
	} else {
		EXPECT_EQ(before, tls_stat("TlsRxNoPadViolation"));
	}
	EXPECT_GE(before + 100, tls_stat("TlsRxNoPadViolation"));
}

/* Through ktlsd: the profile's options, the reply, the kernel agree. */
TEST_F_TIMEOUT(opt, through_ktlsd, 120)
{
	struct daemon d = { 0 };
	struct ktls_handoff *h = NULL;
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	struct ktls_session *s = NULL;
	pthread_t th;
	struct duo_client c;
	int ret;

	daemon_start(_metadata, &d, "[profile web]\nrole = server\n"
		     "certificate = " TEST_CERT "\nkey = " TEST_KEY "\n"
		     "versions = 1.3\nzerocopy_sendfile = yes\n"
		     "rx_expect_no_pad = yes\n", 16);
	ASSERT_EQ(0, tcp_pair(self->fds));
	ASSERT_EQ(0, ktls_session_new(&self->cs, self->ccfg, self->fds[0]));
	ASSERT_EQ(0, ktls_session_set_server_name(self->cs, "localhost"));
	c.s = self->cs;
	c.fd = self->fds[0];
	ASSERT_EQ(0, pthread_create(&th, NULL, duo_client_main, &c));
	ret = ktls_handoff_open(&h, d.sock);
	if (!ret)
		ret = ktls_handoff(h, self->fds[1], &req, &s);
	pthread_join(th, NULL);
	if (ret == -KTLS_E_NO_KTLS) {
		ktls_handoff_close(h);
		daemon_stop(_metadata, &d);
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable here");
	}
	EXPECT_EQ(0, ret) TH_LOG("%s", h ? ktls_handoff_error(h) : "");
	if (!ret) {
		EXPECT_EQ(NO_PAD, ktls_session_info(s)->options);
		ASSERT_DIAG(self->fds[1], 0, !!NO_PAD);
		ktls_session_free(s);
	}
	ktls_handoff_close(h);
	daemon_stop(_metadata, &d);
}

TEST_HARNESS_MAIN
