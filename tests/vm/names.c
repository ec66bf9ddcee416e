// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A client never skips the name check by accident. openssl s_server shows
 * a certificate that its CA vouches for but that names only wrong.example;
 * every client path must refuse it unless told to check the chain alone:
 * ktlsd's handoff with a client profile (without server_name, with another
 * one, with allow_override = sni and no name in the request), ktlsctl
 * connect by address, and a libktls client with no name. The positive
 * controls (the right name, verify = chain, --chain-only) show that the
 * certificate and trust store themselves are fine.
 *
 * And a server profile with client_certificate = request: a client may
 * go without a certificate; one it sends must verify, and is reported.
 */
#include <pthread.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"

#include <ktls.h>

#define OK_STATUS (host_has_ktls() ? 0 : -KTLS_E_NO_KTLS)
#define NO_PEER { .pid = -1, .in = -1, .out = -1 }

#define PKI_DIR "/tmp/ktls-names-pki"
#define WRONG_CERT PKI_DIR "/wrong.pem"	/* self-signed: its own CA */
#define WRONG_KEY PKI_DIR "/wrong.key"
/* Self-signed with TEST_CERT's name but another key: a forgery of it. */
#define FORGED_CERT PKI_DIR "/forged.pem"
#define FORGED_KEY PKI_DIR "/forged.key"

static const char profiles[] =
	"[profile noname]\nrole = client\nca = " WRONG_CERT "\n"
	"[profile othername]\nrole = client\nca = " WRONG_CERT "\n"
	"server_name = right.example\n"
	"[profile override]\nrole = client\nca = " WRONG_CERT "\n"
	"allow_override = sni\n"
	"[profile chain]\nrole = client\nca = " WRONG_CERT "\nverify = chain\n";

static int make_pki(void)
{
	if (!access(WRONG_CERT, R_OK) && !access(FORGED_CERT, R_OK))
		return 0;
	mkdir(PKI_DIR, 0700);
	return system("openssl req -x509 -newkey ec -pkeyopt "
		      "ec_paramgen_curve:P-256 -nodes -days 2 "
		      "-subj /CN=wrong.example "
		      "-addext subjectAltName=DNS:wrong.example "
		      "-keyout " WRONG_KEY " -out " WRONG_CERT " 2>/dev/null && "
		      "openssl req -x509 -newkey ec -pkeyopt "
		      "ec_paramgen_curve:P-256 -nodes -days 2 "
		      "-subj /CN=localhost "
		      "-keyout " FORGED_KEY " -out " FORGED_CERT
		      " 2>/dev/null") ? -1 : 0;
}

FIXTURE(names)
{
	struct daemon d;
	struct peer srv;
	int port;
	char msg[512];
};

FIXTURE_SETUP(names)
{
	char hostport[32];
	char *argv[] = { "openssl", "s_server", "-accept", hostport,
		"-cert", WRONG_CERT, "-key", WRONG_KEY, "-quiet", NULL };

	self->srv = (struct peer)NO_PEER;
	self->srv.data_only = 1;
	ASSERT_EQ(0, make_pki());
	self->port = free_port();
	ASSERT_LT(0, self->port);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->srv, argv));
	ASSERT_EQ(0, wait_listen(self->port, 20000)) TH_LOG("no s_server");
	daemon_start(_metadata, &self->d, profiles, 64);
}

FIXTURE_TEARDOWN(names)
{
	peer_stop(&self->srv);
	daemon_stop(_metadata, &self->d);
}

/* A handoff of a new connection to s_server: the status, ktlsd's message. */
static int handoff(FIXTURE_DATA(names) *self, const char *profile,
		   const char *sni)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = profile, .server_name = sni,
	};
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;
	int fd, ret;

	fd = connect_retry(self->port, 10000);
	if (fd < 0)
		return fd;
	ret = ktls_handoff_open(&h, self->d.sock);
	if (!ret) {
		ret = ktls_handoff(h, fd, &req, &s);
		snprintf(self->msg, sizeof(self->msg), "%s",
			 ktls_handoff_error(h));
		ktls_handoff_close(h);
	}
	if (s)
		ktls_close_notify(s);
	ktls_session_free(s);
	close(fd);
	return ret;
}

#define ASSERT_REFUSED_NAME(ret) do {					\
	ASSERT_EQ(-KTLS_E_VERIFY, ret) TH_LOG("%s", self->msg);		\
	ASSERT_NE(NULL, strstr(self->msg, "does not match"))		\
		TH_LOG("%s", self->msg);				\
} while (0)

TEST_F(names, handoff_profile_without_server_name)
{
	ASSERT_REFUSED_NAME(handoff(self, "noname", NULL));
	ASSERT_NE(NULL, strstr(self->msg, "127.0.0.1")) TH_LOG("%s", self->msg);
}

TEST_F(names, handoff_profile_with_other_server_name)
{
	ASSERT_REFUSED_NAME(handoff(self, "othername", NULL));
}

TEST_F(names, handoff_override_without_name_in_request)
{
	ASSERT_REFUSED_NAME(handoff(self, "override", NULL));
}

TEST_F(names, handoff_override_with_other_name_in_request)
{
	ASSERT_REFUSED_NAME(handoff(self, "override", "right.example"));
}

/* The control: the same server and trust, asked for its own name. */
TEST_F(names, handoff_override_with_right_name)
{
	ASSERT_EQ(OK_STATUS, handoff(self, "override", "wrong.example"))
		TH_LOG("%s", self->msg);
}

/* Loosened on purpose: taken, and said so at start. */
TEST_F(names, handoff_verify_chain)
{
	char *log;

	ASSERT_EQ(OK_STATUS, handoff(self, "chain", NULL))
		TH_LOG("%s", self->msg);
	log = log_read(&self->d);
	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, strstr(log, "profile chain: verify = chain"))
		TH_LOG("%s", log);
	ASSERT_EQ(NULL, strstr(log, "profile noname: verify"))
		TH_LOG("%s", log);
	free(log);
}

/* ktlsd -t names the loosened profile too. */
TEST_F(names, check_mode_reports_chain_only)
{
	char bin[PATH_MAX], cmd[PATH_MAX + 256], out[4096] = "";
	FILE *f;
	size_t n;

	ASSERT_EQ(0, ktlsd_path(bin, sizeof(bin)));
	snprintf(cmd, sizeof(cmd), "%s -t -c %s 2>&1", bin, self->d.conf);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	ASSERT_EQ(0, pclose(f)) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "profile chain: verify = chain"))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "configuration OK")) TH_LOG("%s", out);
}

/* ktlsctl connect: exit status and what it said, with stdin closed. */
static int ktlsctl(FIXTURE_DATA(names) *self, const char *extra, char *out,
		   size_t cap)
{
	char bin[PATH_MAX], cmd[PATH_MAX + 256];
	FILE *f;
	size_t n;

	if (ktlsctl_path(bin, sizeof(bin)))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s connect 127.0.0.1:%d --ca %s %s "
		 "--timeout 10000 </dev/null 2>&1", bin, self->port,
		 WRONG_CERT, extra);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	return pclose(f);
}

TEST_F(names, ktlsctl_connect_by_address)
{
	char out[4096];

	ASSERT_NE(0, ktlsctl(self, "", out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "did not verify")) TH_LOG("%s", out);
}

TEST_F(names, ktlsctl_connect_chain_only)
{
	char out[4096];
	int st = ktlsctl(self, "--chain-only", out, sizeof(out));

	if (!host_has_ktls())
		SKIP(return, "kTLS: the kernel has no TLS ULP");
	ASSERT_EQ(0, st) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "TLS 1.3")) TH_LOG("%s", out);
}

/* libktls itself, no name set: the address is checked. */
TEST_F(names, library_client_without_name)
{
	struct ktls_config *cfg;
	struct ktls_session *s;
	int fd = connect_retry(self->port, 10000);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ktls_config_new(&cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(cfg, WRONG_CERT));
	ASSERT_EQ(0, ktls_session_new(&s, cfg, fd));
	ASSERT_EQ(-KTLS_E_VERIFY, ktls_session_handshake(s))
		TH_LOG("%s", ktls_session_error(s));
	ASSERT_NE(NULL, strstr(ktls_session_error(s), "127.0.0.1"));
	ktls_session_free(s);
	ktls_config_free(cfg);
	close(fd);
}

/* ---- client_certificate = request, on a server profile ---- */

#define REQUEST_PROFILE							\
	"[profile asks]\nrole = server\ncertificate = " TEST_CERT "\n"	\
	"key = " TEST_KEY "\nca = " TEST_CERT "\n"			\
	"client_certificate = request\n"

FIXTURE(request)
{
	struct daemon d;
	struct ktls_config *ccfg;
	struct ktls_session *cs, *ss;
	int fds[2], cret;
	char msg[512];
};

FIXTURE_SETUP(request)
{
	self->fds[0] = self->fds[1] = -1;
	daemon_start(_metadata, &self->d, REQUEST_PROFILE, 64);
	ASSERT_EQ(0, ktls_config_new(&self->ccfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(self->ccfg, TEST_CERT));
	ASSERT_EQ(0, ktls_config_set_timeout(self->ccfg, 10000));
	ASSERT_EQ(0, tcp_pair(self->fds));
}

FIXTURE_TEARDOWN(request)
{
	ktls_session_free(self->cs);
	ktls_session_free(self->ss);
	ktls_config_free(self->ccfg);
	close(self->fds[0]);
	close(self->fds[1]);
	daemon_stop(_metadata, &self->d);
}

static void *client_main(void *arg)
{
	FIXTURE_DATA(request) *self = arg;

	self->cret = ktls_session_handshake(self->cs);
	if (self->cret)
		shutdown(self->fds[0], SHUT_WR);
	return NULL;
}

/* Our client on fds[0] in a thread; fds[1] handed to "asks". */
static int serve_one(FIXTURE_DATA(request) *self)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "asks" };
	struct ktls_handoff *h;
	pthread_t th;
	int ret;

	ret = ktls_session_new(&self->cs, self->ccfg, self->fds[0]);
	if (!ret)
		ret = ktls_session_set_server_name(self->cs, "localhost");
	if (!ret)
		ret = -pthread_create(&th, NULL, client_main, self);
	if (ret)
		return ret;
	ret = ktls_handoff_open(&h, self->d.sock);
	if (!ret) {
		ret = ktls_handoff(h, self->fds[1], &req, &self->ss);
		snprintf(self->msg, sizeof(self->msg), "%s",
			 ktls_handoff_error(h));
		ktls_handoff_close(h);
	}
	if (ret)	/* the client must not wait for a server gone quiet */
		shutdown(self->fds[1], SHUT_RDWR);
	pthread_join(th, NULL);
	return ret;
}

TEST_F(request, client_without_certificate_accepted)
{
	ASSERT_EQ(OK_STATUS, serve_one(self)) TH_LOG("%s", self->msg);
	if (!host_has_ktls())
		SKIP(return, "kTLS: the kernel has no TLS ULP");
	ASSERT_EQ(0, self->cret) TH_LOG("%s", ktls_session_error(self->cs));
	ASSERT_NULL(ktls_session_info(self->ss)->peer_subject);
}

TEST_F(request, client_certificate_reported)
{
	const char *subject;

	ASSERT_EQ(0, ktls_config_add_cert(self->ccfg, TEST_CERT, TEST_KEY));
	ASSERT_EQ(OK_STATUS, serve_one(self)) TH_LOG("%s", self->msg);
	if (!host_has_ktls())
		SKIP(return, "kTLS: the kernel has no TLS ULP");
	ASSERT_EQ(0, self->cret) TH_LOG("%s", ktls_session_error(self->cs));
	subject = ktls_session_info(self->ss)->peer_subject;
	ASSERT_NE(NULL, subject);
	ASSERT_NE(NULL, strstr(subject, "CN=localhost")) TH_LOG("%s", subject);
}

/*
 * What a client sends must verify: a certificate that names the trusted
 * issuer (so the client offers it) but is not signed by it is refused.
 */
TEST_F(request, untrusted_client_certificate_refused)
{
	ASSERT_EQ(0, make_pki());
	ASSERT_EQ(0, ktls_config_add_cert(self->ccfg, FORGED_CERT, FORGED_KEY));
	ASSERT_EQ(-KTLS_E_VERIFY, serve_one(self)) TH_LOG("%s", self->msg);
	ASSERT_NE(NULL, strstr(self->msg, "did not verify")) TH_LOG("%s", self->msg);
}

TEST_HARNESS_MAIN
