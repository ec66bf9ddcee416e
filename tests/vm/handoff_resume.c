// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Client resumption through ktlsd (resumption = yes): a program's handoff
 * to a real server (gnutls-serv, openssl s_server), the program reads and
 * so sends the server's TLS 1.3 ticket back to ktlsd, and the next handoff
 * to that server name resumes: the reply says so, and so does the server.
 * A ticket for one name is never offered to another, the cache's bound
 * evicts the least recently used name, and without resumption = yes
 * nothing resumes.
 */
#include "kselftest_harness.h"
#include "handoff_util.h"
#include "peers.h"
#include "tlsio.h"

/*
 * Besides handoff_util.h's PROFILES ("web" shows that ktlsd serves on):
 * "res": resumes, to localhost. "names": resumes, with the request's
 * server name (the chain verified, not the name: the test certificate
 * names localhost only), two names at most. "plain": as "res" without
 * resumption = yes.
 */
#define RES_PROFILES							\
	"[profile res]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"					\
	"resumption = yes\n"						\
	"handshake_timeout = 20000\n"					\
	"\n"								\
	"[profile names]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"verify = chain\n"						\
	"allow_override = sni\n"					\
	"resumption = yes\n"						\
	"resumption_cache = 2\n"					\
	"handshake_timeout = 20000\n"					\
	"\n"								\
	"[profile plain]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"					\
	"handshake_timeout = 20000\n"

/* How long ktlsd gets to take a ticket sent back (its own connection). */
#define TICKET_MS	(5000 * DAEMON_SLOW)

FIXTURE(hr)
{
	struct daemon d;
	struct peer p;
	int port;
	int s_server;		/* the peer is s_server, not gnutls-serv */
	char out[16384];
};

FIXTURE_SETUP(hr)
{
	memset(&self->p, 0, sizeof(self->p));
	self->p.pid = 0;
	daemon_start(_metadata, &self->d, PROFILES "\n" RES_PROFILES, 1024);
}

FIXTURE_TEARDOWN(hr)
{
	if (self->p.pid > 0)
		peer_stop(&self->p);
	daemon_stop(_metadata, &self->d);
}

static void gnutls_serv(struct __test_metadata *_metadata,
			FIXTURE_DATA(hr) *self)
{
	ASSERT_EQ(0, gnutls_serv_echo(&self->p, &self->port));
}

/*
 * A line through s: to gnutls-serv and back, or from s_server's stdin.
 * Reading it reads the server's tickets first, which go back to ktlsd.
 */
static void line_through(struct __test_metadata *_metadata,
			 FIXTURE_DATA(hr) *self, struct ktls_session *s,
			 int seed)
{
	char line[201], got[201];

	hex_line(line, sizeof(line), seed);
	if (self->s_server) {
		ASSERT_EQ((ssize_t)sizeof(line),
			  write(self->p.in, line, sizeof(line)));
	} else {
		ASSERT_EQ((ssize_t)sizeof(line), send_all(s, line, sizeof(line)));
	}
	ASSERT_EQ((ssize_t)sizeof(got), recv_all(s, got, sizeof(got),
						  sizeof(got)));
	ASSERT_EQ(0, memcmp(line, got, sizeof(line)));
}

/*
 * One handoff of a new connection to the peer for profile (server name
 * sni, or the profile's), a line through it, a clean close, and time for
 * the ticket to reach ktlsd: the reply's resumed (0 or 1), or -1.
 */
static int handoff_once(struct __test_metadata *_metadata,
			FIXTURE_DATA(hr) *self, const char *profile,
			const char *sni, int seed)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = profile,
					.server_name = sni };
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;
	int fd, ret, resumed = -1;
	char kept[300];
	int n;

	snprintf(kept, sizeof(kept), "resumption data for %s kept",
		 sni ? sni : "localhost");
	n = log_count(&self->d, kept);

	fd = connect_retry(self->port, 10000);
	if (fd < 0)
		return -1;
	if (ktls_handoff_open(&h, self->d.sock)) {
		close(fd);
		return -1;
	}
	ret = ktls_handoff(h, fd, &req, &s);
	if (ret) {
		TH_LOG("handoff %d to %s: %s", seed, sni ? sni : "localhost",
		       ktls_handoff_error(h));
		goto out;
	}
	resumed = ktls_session_info(s)->resumed;
	line_through(_metadata, self, s, seed);
	ktls_close_notify(s);
out:
	ktls_session_free(s);
	ktls_handoff_close(h);
	close(fd);
	/* ktlsd logs each ticket it takes: the next handoff can use it. */
	if (resumed >= 0 && strcmp(profile, "plain") &&
	    log_wait(&self->d, kept, n + 1, TICKET_MS) != n + 1) {
		TH_LOG("ktlsd took no ticket for %s: %s", kept,
		       log_tail(&self->d));
		resumed = -1;
	}
	return resumed;
}

TEST_F_TIMEOUT(hr, gnutls_serv_resumes, 180)
{
	gnutls_serv(_metadata, self);
	ASSERT_EQ(0, handoff_once(_metadata, self, "res", NULL, 1));
	ASSERT_EQ(1, handoff_once(_metadata, self, "res", NULL, 2))
		TH_LOG("the second handoff did not resume");
	ASSERT_TRUE(peer_expect(&self->p, "*** This is a resumed session",
				self->out, sizeof(self->out), 10000))
		TH_LOG("gnutls-serv said: %s", self->out);
	/* The ticket of the resumed one: the next resumes too. */
	ASSERT_EQ(1, handoff_once(_metadata, self, "res", NULL, 3));
	ASSERT_NO_FD_LEAK(&self->d);
}

TEST_F_TIMEOUT(hr, openssl_s_server_resumes, 180)
{
	char hp[32];
	/* Not -quiet: it reports "Reused session-id". */
	char *argv[] = { "openssl", "s_server", "-accept", hp, "-naccept", "2",
		"-cert", TEST_CERT, "-key", TEST_KEY, "-tls1_3", NULL };

	self->s_server = 1;
	self->port = free_port();
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	ASSERT_EQ(0, wait_listen(self->port, 10000));
	ASSERT_EQ(0, handoff_once(_metadata, self, "res", NULL, 1));
	ASSERT_EQ(1, handoff_once(_metadata, self, "res", NULL, 2))
		TH_LOG("the second handoff did not resume");
	ASSERT_TRUE(peer_expect(&self->p, "Reused session-id", self->out,
				sizeof(self->out), 10000))
		TH_LOG("s_server said: %s", self->out);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* a.test's ticket is not offered to b.test, which is the same server. */
TEST_F_TIMEOUT(hr, another_name_is_not_resumed, 180)
{
	gnutls_serv(_metadata, self);
	ASSERT_EQ(0, handoff_once(_metadata, self, "names", "a.test", 1));
	ASSERT_EQ(0, handoff_once(_metadata, self, "names", "b.test", 2))
		TH_LOG("b.test resumed with a.test's ticket");
	ASSERT_EQ(1, handoff_once(_metadata, self, "names", "a.test", 3));
	ASSERT_EQ(1, handoff_once(_metadata, self, "names", "b.test", 4));
}

/* resumption_cache = 2: a third name evicts the least recently used. */
TEST_F_TIMEOUT(hr, the_cache_bound_evicts_the_oldest, 240)
{
	gnutls_serv(_metadata, self);
	ASSERT_EQ(0, handoff_once(_metadata, self, "names", "a.test", 1));
	ASSERT_EQ(0, handoff_once(_metadata, self, "names", "b.test", 2));
	ASSERT_EQ(0, handoff_once(_metadata, self, "names", "c.test", 3));
	ASSERT_EQ(1, handoff_once(_metadata, self, "names", "c.test", 4));
	ASSERT_EQ(1, handoff_once(_metadata, self, "names", "b.test", 5));
	ASSERT_EQ(0, handoff_once(_metadata, self, "names", "a.test", 6))
		TH_LOG("a.test was not evicted");
}

TEST_F_TIMEOUT(hr, off_by_default, 180)
{
	gnutls_serv(_metadata, self);
	ASSERT_EQ(0, handoff_once(_metadata, self, "plain", NULL, 1));
	ASSERT_EQ(0, handoff_once(_metadata, self, "plain", NULL, 2))
		TH_LOG("resumed without resumption = yes");
	/* The same server resumes for the profile that asks. */
	ASSERT_EQ(0, handoff_once(_metadata, self, "res", NULL, 3));
	ASSERT_EQ(1, handoff_once(_metadata, self, "res", NULL, 4));
}

/*
 * Tickets that are no use: one under a token ktlsd never gave is dropped
 * without a word, a malformed ticket message refused as any malformed
 * message is; ktlsd serves on and holds nothing more.
 */
TEST_F_TIMEOUT(hr, bad_tickets_change_nothing, 180)
{
	static const uint8_t nst[13] = { 4, 0, 0, 9, 0, 0, 0x1c, 0x20, 1 };
	static const uint8_t no_token[12 + 8 + 13] = {
		'K', 'T', 'L', 'S', 1, 4, 0, 0, 0, 0, 0, 21,
		0, 32, 0, 0, 0, 0, 0, 13, 4, 0, 0, 9, 0, 0, 0x1c, 0x20, 1,
	};
	struct wire_ticket t = { 0x0123456789abcdefull, nst, sizeof(nst) };
	struct wire_buf b = { 0 };
	struct reply rep;
	int sock;

	ASSERT_EQ(0, wire_encode_ticket(&b, &t));
	sock = unix_connect(self->d.sock);
	ASSERT_LE(0, sock);
	ASSERT_EQ((ssize_t)b.len, send(sock, b.p, b.len, MSG_NOSIGNAL));
	ASSERT_EQ(-ETIMEDOUT, read_reply(sock, &rep, 1000))
		TH_LOG("ktlsd answered a ticket");
	ASSERT_EQ((ssize_t)sizeof(no_token),
		  send(sock, no_token, sizeof(no_token), MSG_NOSIGNAL));
	ASSERT_EQ(0, read_reply(sock, &rep, 10000));
	EXPECT_EQ(0u, rep.r.id);
	EXPECT_EQ(-EBADMSG, rep.r.status);
	EXPECT_NE(NULL, strstr(rep.msg, "token")) TH_LOG("%s", rep.msg);
	EXPECT_TRUE(closed_within(sock, 5000));
	close(sock);
	wire_buf_wipe_free(&b);
	serves_on(_metadata, &self->d);
}

TEST_HARNESS_MAIN
