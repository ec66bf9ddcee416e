// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's handoff socket against a real build/ktlsd: reloads (SIGHUP
 * during handoffs, a broken file, a new profile) and how things end
 * (SIGTERM drains, a requester that half-closes or leaves mid-handshake).
 */
#include "kselftest_harness.h"
#include "handoff_util.h"

/* ---- The fixture: a ktlsd of our own ---- */

FIXTURE(hd)
{
	struct daemon d;
};

FIXTURE_SETUP(hd)
{
	daemon_start(_metadata, &self->d, PROFILES, 1024);
}

FIXTURE_TEARDOWN(hd)
{
	daemon_stop(_metadata, &self->d);
}

/* ---- Requesters that stop asking, and SIGTERM ---- */

/*
 * The application sends its requests, then shuts down its sending side:
 * it is still there, and gets every reply; then ktlsd closes.
 */
TEST_F(hd, half_close_still_gets_replies)
{
	struct far_end far = { 0 };
	struct reply rep;
	int sock, good[2], silent[2], i, ret = 0, st[2] = { 1, 1 };

	ASSERT_EQ(0, tcp_pair(good));
	ASSERT_EQ(0, tcp_pair(silent));
	sock = unix_connect(self->d.sock);
	ASSERT_LE(0, sock);
	ASSERT_EQ(0, far_start(&far, good[0], KTLS_CLIENT, NULL));
	ret = send_req(sock, good[1], 1, "web", NULL, NULL, 0);
	if (!ret)
		ret = send_req(sock, silent[1], 2, "web", NULL, NULL, 500);
	if (!ret)
		ret = shutdown(sock, SHUT_WR) ? -errno : 0;
	for (i = 0; !ret && i < 2; i++) {
		ret = read_reply(sock, &rep, 10000);
		if (!ret && rep.r.id >= 1 && rep.r.id <= 2)
			st[rep.r.id - 1] = rep.r.status;
	}
	far_settle(&far, ret || st[0], good[1]);
	ASSERT_EQ(0, ret) TH_LOG("reply %d of 2: %s", i, strerror(-ret));
	ASSERT_EQ(OK_STATUS, st[0]) TH_LOG("far end: %s", far_error(&far));
	ASSERT_EQ(-ETIMEDOUT, st[1]);
	ASSERT_TRUE(closed_within(sock, 3000))
		TH_LOG("ktlsd kept the connection after the last reply");
	close(sock);
	far_free(&far);
	close(good[0]);
	close(good[1]);
	close(silent[0]);
	close(silent[1]);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * SIGTERM with a handshake in flight: it runs to its end and its reply
 * comes; a request after the signal gets -ESHUTDOWN at once; then ktlsd
 * exits 0 and its socket is gone.
 */
TEST_F(hd, sigterm_drains)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_handoff *h;
	int fds[2], late[2], probe[2];
	uint64_t id, late_id, probe_id;
	int64_t t0;

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, tcp_pair(late));
	ASSERT_EQ(0, tcp_pair(probe));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[1], "web", NULL, 1500, &id));
	/*
	 * Admitted before the signal: ktlsd takes a connection's requests in
	 * order, so the answer to one it refuses at once (an unknown profile)
	 * comes after the first is in flight. (Holding its socket is not
	 * enough: the checks come between that and the admission.)
	 */
	ASSERT_EQ(0, submit(h, probe[1], "no-such-profile", NULL, 0, &probe_id));
	ASSERT_EQ(1, wait_result(h, &r, 5000));
	ASSERT_EQ(probe_id, r.id);
	ASSERT_EQ(-ENOENT, r.status);
	ASSERT_FDS(&self->d, 2);
	ASSERT_EQ(0, kill(self->d.pid, SIGTERM));
	ASSERT_EQ(1, log_wait(&self->d, "draining 1 handshakes", 1, 5000))
		TH_LOG("%s", log_tail(&self->d));
	t0 = ms_now();
	ASSERT_EQ(0, submit(h, late[1], "web", NULL, 0, &late_id));
	ASSERT_EQ(1, wait_result(h, &r, 5000));
	ASSERT_EQ(late_id, r.id) TH_LOG("status %d", r.status);
	ASSERT_EQ(-ESHUTDOWN, r.status) TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_GT(1000, ms_now() - t0);
	ASSERT_EQ(1, wait_result(h, &r, 5000));
	ASSERT_EQ(id, r.id);
	ASSERT_EQ(-ETIMEDOUT, r.status) TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_EQ(0, daemon_wait(&self->d, 5000))
		TH_LOG("ktlsd did not exit 0 after draining: %s",
		       log_tail(&self->d));
	ASSERT_EQ(-1, access(self->d.sock, F_OK));
	ASSERT_EQ(ENOENT, errno);
	ktls_handoff_close(h);
	close(fds[0]);
	close(fds[1]);
	close(late[0]);
	close(late[1]);
	close(probe[0]);
	close(probe[1]);
}

/*
 * The application hangs up while ktlsd waits for a silent peer: the job is
 * dropped within about a second (well before the 3 s timeout), its
 * descriptor closed.
 */
TEST_F(hd, requester_leaves_mid_handshake)
{
	struct ktls_handoff *h;
	uint64_t id;
	int64_t t0;
	int fds[2], n;

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[1], "web", NULL, 0, &id));
	/* ktlsd holds the peer's socket: one more than idle, and our line. */
	ASSERT_FDS(&self->d, 2);
	ktls_handoff_close(h);
	t0 = ms_now();
	n = settle_fds(&self->d, self->d.base_fds, 2500);
	ASSERT_EQ(self->d.base_fds, n)
		TH_LOG("the abandoned job holds its socket after %lld ms:%s",
		       (long long)(ms_now() - t0), fd_list(hs_pid(self->d.pid)));
	ASSERT_EQ(1, log_wait(&self->d, "requester went away", 1, 1000))
		TH_LOG("%s", log_tail(&self->d));
	/* The application still has a working connection of its own. */
	ASSERT_EQ(3, write(fds[0], "abc", 3));
	close(fds[0]);
	close(fds[1]);
	serves_on(_metadata, &self->d);
}

/* ---- Reloads ---- */

/* A server profile "added" in the file, then SIGHUP, then the reload done. */
static void add_profile_and_reload(struct __test_metadata *_metadata,
				   struct daemon *d)
{
	ASSERT_EQ(0, write_conf(d, "[profile added]\n"
				"role = server\n"
				"certificate = " TEST_CERT "\n"
				"key = " TEST_KEY "\n"));
	ASSERT_EQ(0, kill(d->pid, SIGHUP));
	ASSERT_EQ(1, log_wait(d, "info: reloaded ", 1, 10000 * DAEMON_SLOW))
		TH_LOG("%s", log_tail(d));
}

#define BATCH 10

/*
 * SIGHUP ten times during 200 handoffs (in batches of ten at once, the
 * signal sent while a batch is in flight): not one of them fails.
 */
TEST_F_TIMEOUT(hd, reload_during_handoffs, 300)
{
	static struct far_end far[BATCH];	/* outlives a failure */
	int fds[BATCH][2], b, i, k, ret, failed = 0, hups = 0;
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_handoff *h;
	int64_t t0 = ms_now();
	uint64_t id;

	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	for (b = 0; b < 200 / BATCH; b++) {
		for (k = 0; k < BATCH; k++) {
			memset(&far[k], 0, sizeof(far[k]));
			ASSERT_EQ(0, tcp_pair(fds[k]));
			ASSERT_EQ(0, far_start(&far[k], fds[k][0], KTLS_CLIENT,
					       NULL));
			ASSERT_EQ(0, submit(h, fds[k][1], "web", NULL, 0, &id));
		}
		if (b % 2) {
			ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
			hups++;
		}
		for (i = 0; i < BATCH; i++) {
			ret = wait_result(h, &r, 30000);
			ASSERT_EQ(1, ret) TH_LOG("batch %d: %d results", b, i);
			for (k = 0; k < BATCH && fds[k][1] != r.fd; k++)
				;
			ASSERT_GT(BATCH, k);
			far_settle(&far[k], r.status, fds[k][1]);
			if ((r.status != OK_STATUS ||
			     (!r.status && far[k].ret)) && !failed++)
				TH_LOG("batch %d: %d %s; far end: %s", b,
				       r.status, ktls_handoff_error(h),
				       far_error(&far[k]));
			if (r.session)
				ktls_session_free(r.session);
		}
		for (k = 0; k < BATCH; k++) {
			far_free(&far[k]);
			close(fds[k][0]);
			close(fds[k][1]);
		}
		/* One reload per signal: not two signals pending at once. */
		ret = log_wait(&self->d, "info: reloaded ", hups,
			       20000 * DAEMON_SLOW);
		ASSERT_EQ(hups, ret) TH_LOG("%s", log_tail(&self->d));
	}
	ktls_handoff_close(h);
	TH_LOG("200 handoffs and %d reloads in %lld ms", hups,
	       (long long)(ms_now() - t0));
	ASSERT_EQ(0, failed);
	ASSERT_EQ(10, log_count(&self->d, "info: reloaded "));
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * A reload while the old process still has a handshake in flight (a
 * silent peer): a connection opened before, now idle, is closed by the old
 * process before the reload is announced, and libktls sends its next
 * request on a new one, so it gets the new configuration; so does every
 * connection made after the announcement. (Before, the old process kept
 * the connection and refused its request with -ESHUTDOWN.)
 */
TEST_F_TIMEOUT(hd, reload_moves_open_connections, 120)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_handoff *h, *slow;
	int silent[2], fds[2], i;
	uint64_t id, slow_id;

	ASSERT_EQ(0, tcp_pair(silent));
	ASSERT_EQ(0, ktls_handoff_open(&slow, self->d.sock));
	ASSERT_EQ(0, submit(slow, silent[1], "patient", NULL,
			    60000 * DAEMON_SLOW, &slow_id));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, submit(h, fds[1], "added", NULL, 0, &id));
	ASSERT_EQ(1, wait_result(h, &r, 5000));
	ASSERT_EQ(-ENOENT, r.status);
	close(fds[0]);
	close(fds[1]);

	add_profile_and_reload(_metadata, &self->d);
	/* The silent handshake is still in the old process. */
	ASSERT_EQ(-ETIMEDOUT, wait_result(slow, &r, 0));

	/* The profile is known: the handshake (nobody at the far end) times out. */
	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, submit(h, fds[1], "added", NULL, 500, &id));
	ASSERT_EQ(1, wait_result(h, &r, 10000));
	ASSERT_EQ(id, r.id);
	ASSERT_EQ(-ETIMEDOUT, r.status) TH_LOG("%s", ktls_handoff_error(h));
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < 10; i++)
		good_handoff(_metadata, &self->d, "added", -1);

	/* Its peer goes: the old process ends it, and then itself. */
	close(silent[0]);
	silent[0] = -1;
	ASSERT_EQ(1, wait_result(slow, &r, 10000 * DAEMON_SLOW));
	ASSERT_EQ(slow_id, r.id);
	ASSERT_GT(0, r.status);
	ktls_handoff_close(slow);
	ktls_handoff_close(h);
	close(silent[1]);
	serves_on(_metadata, &self->d);
}

/* A broken file on SIGHUP: refused, logged, the old profiles go on. */
TEST_F(hd, reload_refuses_broken_config)
{
	ASSERT_EQ(0, write_file(&self->d, "[ktlsd\nthis is = not a config\n"));
	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d, "reload refused", 1, 5000 * DAEMON_SLOW))
		TH_LOG("%s", log_tail(&self->d));
	ASSERT_EQ(0, log_count(&self->d, "info: reloaded "));
	serves_on(_metadata, &self->d);
}

/* A good reload brings a new profile, usable at once. */
TEST_F(hd, reload_adds_profile)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	refused(_metadata, &self->d, &fds[1], 1, "added", NULL, NULL, -ENOENT);
	close(fds[0]);
	close(fds[1]);

	add_profile_and_reload(_metadata, &self->d);
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "6 profiles"));
	good_handoff(_metadata, &self->d, "added", -1);
	serves_on(_metadata, &self->d);
}

TEST_HARNESS_MAIN
