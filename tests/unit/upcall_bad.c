// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bad input from the kernel's side of the upcall: a request whose socket
 * is already closed, or is not TCP, of a type we do not know, naming a key
 * or keyring that is not there or a key of the wrong type, a PEERNAME the
 * certificate does not match, no timeout. Each ends with the status DONE
 * carries, and the next request is served. Requests run as ktlsd runs
 * them from the ACCEPT on (tests/lib/upjob.h): checks, credentials, a job
 * on the worker loop, the status; the netlink ACCEPT and DONE, and
 * upcall.c's log line for a request refused before a job, are the VM
 * tests' (the host has no handshake family).
 */
#include <keyutils.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "internal.h"
#include "peers.h"
#include "upjob.h"
#include "handshake_nl.h"

FIXTURE(bad)
{
	char path[64], err[512];
	struct conf *c;
	struct ktlsd d;
	int fds[2];
	struct upjob_peer peer;
	struct upjob_outcome out;
};

FIXTURE_SETUP(bad)
{
	FILE *f;
	int ret;

	ASSERT_EQ(0, make_test_cert());
	snprintf(self->path, sizeof(self->path), "/tmp/ktlsd-bad-%d.conf",
		 getpid());
	keyring_init();
	f = fopen(self->path, "we");
	ASSERT_NE(NULL, f);
	fputs("[authenticate.client]\nx509.truststore=" TEST_CERT "\n"
	      "[authenticate.server]\nx509.certificate=" TEST_CERT "\n"
	      "x509.private_key=" TEST_KEY "\n", f);
	ASSERT_EQ(0, fclose(f));
	ret = conf_load_tlshd(self->path, &self->c, self->err,
			      sizeof(self->err));
	/* Read once: gone before anything can stop the test halfway. */
	unlink(self->path);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->err);
	upjob_daemon(&self->d, self->c);
	self->fds[0] = self->fds[1] = -1;
	ASSERT_EQ(0, loop_start(&self->d, 1));
}

FIXTURE_TEARDOWN(bad)
{
	if (self->d.workers)
		loop_stop(&self->d);
	close(self->fds[0]);
	close(self->fds[1]);
	ktls_config_free(self->peer.cfg);
	conf_put(self->c);
}

/* A fresh connection and a libktls peer of role role (TLS 1.3). */
static int new_peer(FIXTURE_DATA(bad) *self, enum ktls_role role)
{
	int ret;

	close(self->fds[0]);
	close(self->fds[1]);
	ktls_config_free(self->peer.cfg);
	memset(&self->peer, 0, sizeof(self->peer));
	memset(&self->out, 0, sizeof(self->out));
	ret = tcp_pair(self->fds);
	if (!ret)
		ret = ktls_config_new(&self->peer.cfg, role);
	if (!ret)
		ret = ktls_config_set_versions(self->peer.cfg, KTLS_TLS13,
					       KTLS_TLS13);
	if (!ret && role == KTLS_SERVER)
		ret = ktls_config_add_cert(self->peer.cfg, TEST_CERT, TEST_KEY);
	if (!ret && role == KTLS_CLIENT)
		ret = ktls_config_set_ca_file(self->peer.cfg, TEST_CERT);
	self->peer.fd = self->fds[1];
	return ret;
}

static struct upreq *request(int type, int auth)
{
	struct upreq *r = calloc(1, sizeof(*r));

	if (r) {
		r->type = type;
		r->auth = auth;
		r->timeout_ms = 10000;
	}
	return r;
}

/* A client request that verifies the server by the name peername. */
static int client_request(FIXTURE_DATA(bad) *self, const char *peername,
			  unsigned timeout_ms)
{
	struct upreq *r = request(HANDSHAKE_MSG_TYPE_CLIENTHELLO,
				  HANDSHAKE_AUTH_UNAUTH);

	if (!r || new_peer(self, KTLS_SERVER))
		return -ENOMEM;
	snprintf(r->peername, sizeof(r->peername), "%s", peername);
	r->timeout_ms = timeout_ms;
	return upjob_run(&self->d, r, self->fds[0], &self->peer, &self->out);
}

/* The handshake completed: kTLS installed, or on this host its absence. */
#define ASSERT_SERVED(self) do {					\
	ASSERT_EQ(host_has_ktls() ? 0 : -KTLS_E_NO_KTLS,		\
		  (self)->peer.rets[(self)->peer.n - 1]);		\
	ASSERT_EQ(host_has_ktls() ? 0 : EIO, (self)->out.status);	\
} while (0)

/* The consumer's socket closed before we took it: ENOTCONN, no job. */
TEST_F(bad, socket_already_closed)
{
	struct upreq *r = request(HANDSHAKE_MSG_TYPE_CLIENTHELLO,
				  HANDSHAKE_AUTH_UNAUTH);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int i;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, new_peer(self, KTLS_SERVER));
	close(self->fds[1]);
	self->fds[1] = -1;
	/* Until our end has seen the FIN. */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, getsockopt(self->fds[0], IPPROTO_TCP, TCP_INFO,
					&ti, &len));
		if (ti.tcpi_state != TCP_ESTABLISHED)
			break;
		usleep(10000);
	}
	ASSERT_EQ(ENOTCONN, upjob_run(&self->d, r, self->fds[0], &self->peer,
				      &self->out));
	ASSERT_EQ(0, client_request(self, "localhost", 10000));
	ASSERT_SERVED(self);
}

/* Not TCP (QUIC one day; a Unix socket here): EOPNOTSUPP. */
TEST_F(bad, not_a_tcp_socket)
{
	struct upreq *r = request(HANDSHAKE_MSG_TYPE_SERVERHELLO,
				  HANDSHAKE_AUTH_X509);
	int sp[2];

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	ASSERT_EQ(EOPNOTSUPP, upjob_run(&self->d, r, sp[0], &self->peer,
					&self->out));
	close(sp[0]);
	close(sp[1]);
}

TEST_F(bad, unknown_handshake_type)
{
	struct upreq *r = request(7, HANDSHAKE_AUTH_UNAUTH);

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, new_peer(self, KTLS_SERVER));
	ASSERT_EQ(EINVAL, upjob_run(&self->d, r, self->fds[0], &self->peer,
				    &self->out));
	ASSERT_EQ(0, client_request(self, "localhost", 10000));
	ASSERT_SERVED(self);
}

/* Key serials that are not there: EKEYREJECTED, as tlshd's failed read. */
TEST_F(bad, certificate_serial_not_there)
{
	struct upreq *r = request(HANDSHAKE_MSG_TYPE_CLIENTHELLO,
				  HANDSHAKE_AUTH_X509);

	ASSERT_NE(NULL, r);
	r->cert = r->privkey = 0x7ffffff0;
	ASSERT_EQ(0, new_peer(self, KTLS_SERVER));
	ASSERT_EQ(EKEYREJECTED, upjob_run(&self->d, r, self->fds[0],
					  &self->peer, &self->out));
	ASSERT_EQ(0, client_request(self, "localhost", 10000));
	ASSERT_SERVED(self);
}

/* A keyring given as the certificate: refused by its type. */
TEST_F(bad, key_of_the_wrong_type)
{
	struct upreq *r = request(HANDSHAKE_MSG_TYPE_SERVERHELLO,
				  HANDSHAKE_AUTH_X509);
	int32_t ring = add_key("keyring", "ktlsd-bad-ring", NULL, 0,
			       KEY_SPEC_PROCESS_KEYRING);

	ASSERT_NE(NULL, r);
	if (ring < 0)
		SKIP(return, "no kernel keyrings here: %s", strerror(errno));
	r->cert = ring;
	r->privkey = ring;
	ASSERT_EQ(0, new_peer(self, KTLS_CLIENT));
	ASSERT_EQ(EKEYREJECTED, upjob_run(&self->d, r, self->fds[0],
					  &self->peer, &self->out));
	ASSERT_EQ(0, client_request(self, "localhost", 10000));
	ASSERT_SERVED(self);
}

/*
 * A server PSK request naming a keyring that does not exist: the others
 * are searched (as tlshd), the client's identity is in none: EKEYREJECTED.
 */
TEST_F(bad, keyring_not_there)
{
	struct upreq *r = request(HANDSHAKE_MSG_TYPE_SERVERHELLO,
				  HANDSHAKE_AUTH_PSK);
	uint8_t key[32];

	ASSERT_NE(NULL, r);
	memset(key, 0x44, sizeof(key));
	r->keyring = 0x7ffffff0;
	ASSERT_EQ(0, new_peer(self, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_psk(self->peer.cfg, "ktlsd-bad-nobody",
					 key, sizeof(key)));
	ASSERT_EQ(0, upjob_run(&self->d, r, self->fds[0], &self->peer,
			       &self->out));
	ASSERT_EQ(EKEYREJECTED, self->out.status);
	ASSERT_EQ(1, self->peer.n);
	ASSERT_NE(0, self->peer.rets[0]);
	ASSERT_EQ(0, client_request(self, "localhost", 10000));
	ASSERT_SERVED(self);
}

/* The certificate does not name the PEERNAME: EACCES, as tlshd. */
TEST_F(bad, peername_not_in_certificate)
{
	ASSERT_EQ(0, client_request(self, "nfs.example.net", 10000));
	ASSERT_EQ(EACCES, self->out.status);
	ASSERT_EQ(0, client_request(self, "localhost", 10000));
	ASSERT_SERVED(self);
}

/* No timeout from the kernel: the profile's (10 s), and it completes. */
TEST_F(bad, timeout_zero)
{
	ASSERT_EQ(0, client_request(self, "localhost", 0));
	ASSERT_EQ(10000u, self->out.timeout_ms);
	ASSERT_SERVED(self);
	ASSERT_EQ(0, client_request(self, "localhost", 3000));
	ASSERT_EQ(3000u, self->out.timeout_ms);
}

TEST_HARNESS_MAIN
