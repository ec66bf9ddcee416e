// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Servers behind one name resume each other's sessions: two ktlsd share a
 * ticket_key_file. openssl s_client saves its session from the first and
 * resumes it on the second; after `ktlsctl ticket-key rotate` and a
 * reload, the old ticket still resumes (the key before the rotation opens
 * it); after a second rotation it does not. TLS 1.2 (tickets in the
 * handshake) and TLS 1.3 (tickets as PSKs).
 */
#include <ktls.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"
#include "peers.h"

FIXTURE(fleet)
{
	struct daemon d[2];
	char keys[96], sess[96];
	char profiles[1024];
	int lfd, port;
	struct peer p;
	char out[16384];
};

FIXTURE_VARIANT(fleet)
{
	const char *ossl;	/* s_client's version flag */
	const char *mark;	/* what s_client says when it resumed */
};

FIXTURE_VARIANT_ADD(fleet, tls12)
{
	.ossl = "-tls1_2", .mark = "Reused, TLSv1.2",
};

FIXTURE_VARIANT_ADD(fleet, tls13)
{
	.ossl = "-tls1_3", .mark = "Reused, TLSv1.3",
};

/* Run ktlsctl with args (a shell word list): its exit status. */
static int ktlsctl(const char *args)
{
	char path[PATH_MAX], cmd[PATH_MAX + 256];

	if (ktlsctl_path(path, sizeof(path)))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s %s", path, args);
	return run_shell("%s", cmd);
}

FIXTURE_SETUP(fleet)
{
	char args[160];

	self->lfd = -1;
	self->p.pid = -1;
	self->p.in = self->p.out = -1;
	ASSERT_EQ(0, make_test_cert());
	snprintf(self->keys, sizeof(self->keys), "/tmp/ktlsd-tk-%d", getpid());
	snprintf(self->sess, sizeof(self->sess), "/tmp/ktlsd-sess-%d",
		 getpid());
	unlink(self->keys);
	snprintf(args, sizeof(args), "ticket-key new %s", self->keys);
	ASSERT_EQ(0, ktlsctl(args));
	snprintf(self->profiles, sizeof(self->profiles),
		 "[profile web]\nrole = server\ncertificate = %s\nkey = %s\n"
		 "ticket_key_file = %s\n", TEST_CERT, TEST_KEY, self->keys);
	daemon_start(_metadata, &self->d[0], self->profiles, 64);
	daemon_start(_metadata, &self->d[1], self->profiles, 64);
	self->lfd = listen_any(&self->port);
	ASSERT_LE(0, self->lfd);
}

FIXTURE_TEARDOWN(fleet)
{
	peer_stop(&self->p);
	if (self->lfd >= 0)
		close(self->lfd);
	daemon_stop(_metadata, &self->d[0]);
	daemon_stop(_metadata, &self->d[1]);
	unlink(self->keys);
	unlink(self->sess);
}

/*
 * One s_client connection (sess_flag: -sess_out or -sess_in), accepted
 * here and handed to ktlsd number n: whether ktlsd resumed it, and
 * s_client's output in self->out.
 */
static int one(struct __test_metadata *_metadata, FIXTURE_DATA(fleet) *self,
	       const FIXTURE_VARIANT(fleet) *variant, int n,
	       const char *sess_flag)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	char hp[32], line[] = "after the tickets\n";
	char *argv[] = { "openssl", "s_client", "-connect", hp,
		"-CAfile", TEST_CERT, "-verify_return_error",
		(char *)variant->ossl, (char *)sess_flag, self->sess, NULL };
	struct ktls_handoff *h = NULL;
	struct ktls_session *s = NULL;
	int fd, ret, resumed = -1;

	snprintf(hp, sizeof(hp), "127.0.0.1:%d", self->port);
	self->out[0] = 0;
	ASSERT_EQ(0, peer_spawn(&self->p, argv));
	fd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, fd);
	ret = ktls_handoff_open(&h, self->d[n].sock);
	if (!ret)
		ret = ktls_handoff(h, fd, &req, &s);
	if (ret == -KTLS_E_NO_KTLS) {
		ktls_handoff_close(h);
		close(fd);
		SKIP(return -1, "kTLS: TCP_ULP \"tls\" unavailable here");
	}
	EXPECT_EQ(0, ret) TH_LOG("handoff: %s", h ? ktls_handoff_error(h) : "");
	if (!ret) {
		resumed = ktls_session_info(s)->resumed;
		/* s_client prints this after the tickets before it. */
		EXPECT_EQ((ssize_t)strlen(line), write(fd, line, strlen(line)));
		EXPECT_TRUE(peer_expect(&self->p, "after the tickets",
					self->out, sizeof(self->out), 10000))
			TH_LOG("s_client said: %s", self->out);
		ktls_session_free(s);
	}
	ktls_handoff_close(h);
	close(self->p.in);	/* s_client's stdin ends: it leaves */
	self->p.in = -1;
	EXPECT_EQ(0, peer_wait(&self->p, 10000));
	peer_expect(&self->p, "\n\x01", self->out, sizeof(self->out), 1000);
	peer_stop(&self->p);
	close(fd);
	return resumed;
}

/* Rotate the shared keys, and reload both daemons. */
static void rotate(struct __test_metadata *_metadata,
		   FIXTURE_DATA(fleet) *self, int round)
{
	char args[160];
	int i;

	snprintf(args, sizeof(args), "ticket-key rotate %s", self->keys);
	ASSERT_EQ(0, ktlsctl(args));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, kill(self->d[i].pid, SIGHUP));
		ASSERT_EQ(round, log_wait(&self->d[i], "reloaded", round, 20000))
			TH_LOG("%s", log_tail(&self->d[i]));
	}
}

TEST_F_TIMEOUT(fleet, shared_and_rotated, 240)
{
	int r;

	/* A session from the first server... */
	r = one(_metadata, self, variant, 0, "-sess_out");
	if (r < 0)
		return;
	ASSERT_EQ(0, r);
	ASSERT_EQ(0, access(self->sess, R_OK)) TH_LOG("%s", self->out);
	/* ...resumes on the second, */
	ASSERT_EQ(1, one(_metadata, self, variant, 1, "-sess_in"));
	ASSERT_NE(NULL, strstr(self->out, variant->mark)) TH_LOG("%s", self->out);
	/* still after one rotation, on either, */
	rotate(_metadata, self, 1);
	ASSERT_EQ(1, one(_metadata, self, variant, 1, "-sess_in"));
	ASSERT_NE(NULL, strstr(self->out, variant->mark)) TH_LOG("%s", self->out);
	/* not after two. */
	rotate(_metadata, self, 2);
	ASSERT_EQ(0, one(_metadata, self, variant, 0, "-sess_in"));
	ASSERT_EQ(NULL, strstr(self->out, "Reused")) TH_LOG("%s", self->out);
}

/* A new session under the rotated keys resumes on the other server. */
TEST_F_TIMEOUT(fleet, new_key_shared, 240)
{
	int r;

	rotate(_metadata, self, 1);
	r = one(_metadata, self, variant, 1, "-sess_out");
	if (r < 0)
		return;
	ASSERT_EQ(0, r);
	ASSERT_EQ(1, one(_metadata, self, variant, 0, "-sess_in"));
	ASSERT_NE(NULL, strstr(self->out, variant->mark)) TH_LOG("%s", self->out);
}

/* Without the file, a second ktlsd cannot open the first one's tickets. */
TEST_F_TIMEOUT(fleet, other_key_does_not_resume, 240)
{
	char args[160];
	int r;

	r = one(_metadata, self, variant, 0, "-sess_out");
	if (r < 0)
		return;
	unlink(self->keys);
	snprintf(args, sizeof(args), "ticket-key new %s", self->keys);
	ASSERT_EQ(0, ktlsctl(args));
	ASSERT_EQ(0, kill(self->d[1].pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d[1], "reloaded", 1, 20000));
	ASSERT_EQ(0, one(_metadata, self, variant, 1, "-sess_in"));
	ASSERT_EQ(NULL, strstr(self->out, "Reused")) TH_LOG("%s", self->out);
}

/* A key file gone bad: the reload is refused, the keys in use stay. */
TEST_F_TIMEOUT(fleet, bad_file_at_reload_keeps_keys, 240)
{
	int r;

	ASSERT_EQ(0, chmod(self->keys, 0644));
	ASSERT_EQ(0, kill(self->d[1].pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d[1], "reload refused", 1, 20000));
	ASSERT_NE(0, log_count(&self->d[1], "readable or writable by group "
			       "or others")) TH_LOG("%s", log_tail(&self->d[1]));
	r = one(_metadata, self, variant, 0, "-sess_out");
	if (r < 0)
		return;
	ASSERT_EQ(1, one(_metadata, self, variant, 1, "-sess_in"));
	ASSERT_NE(NULL, strstr(self->out, variant->mark)) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
