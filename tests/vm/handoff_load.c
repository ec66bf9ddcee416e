// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's handoff socket against a real build/ktlsd, under load and at its
 * limits: a thousand handoffs at once, max_inflight, running out of
 * descriptors, idle connections, and what one uid may hold.
 */
#include <grp.h>
#include <sys/resource.h>

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

/* ---- Out of descriptors ---- */

/* The descriptor number ktlsd would get next. */
static int lowest_free_fd(pid_t pid)
{
	char path[64];
	int fd;

	for (fd = 0; fd < 65536; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (access(path, F_OK))
			return fd;
	}
	return -1;
}

/*
 * ktlsd out of descriptors: the connections wait in the backlog, the
 * listener neither spins nor floods the log, and they are served once
 * descriptors are back.
 */
TEST_F(hd, out_of_descriptors)
{
	struct rlimit old, low;
	struct reply rep;
	int sock[4], i, n;

	/* valgrind keeps descriptors of its own under the process's limit. */
	if (getenv("KTLSD_VALGRIND"))
		SKIP(return, "not under memcheck (make memcheck)");

	ASSERT_EQ(0, prlimit(self->d.hs, RLIMIT_NOFILE, NULL, &old));
	low = old;
	low.rlim_cur = lowest_free_fd(self->d.hs);
	ASSERT_EQ(0, prlimit(self->d.hs, RLIMIT_NOFILE, &low, NULL));
	for (i = 0; i < 4; i++) {
		sock[i] = unix_connect(self->d.sock);
		ASSERT_LE(0, sock[i]);
	}
	sleep_ms(1000);
	n = log_count(&self->d, "accept on the handoff socket");
	ASSERT_EQ(0, prlimit(self->d.hs, RLIMIT_NOFILE, &old, NULL));
	ASSERT_LE(1, n) TH_LOG("running out of descriptors went unlogged");
	ASSERT_GE(5, n) TH_LOG("%d warnings about accept in a second", n);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, send_req(sock[i], -1, 3, "web", NULL, NULL, 0));
		ASSERT_EQ(0, read_reply(sock[i], &rep, 5000))
			TH_LOG("connection %d was not served: %s", i,
			       log_tail(&self->d));
		ASSERT_EQ(-EBADF, rep.r.status);
		close(sock[i]);
	}
	serves_on(_metadata, &self->d);
}

/* ---- A thousand at once ---- */

#define CROWD 1000

/* The far ends: libktls clients, non-blocking, in one poll loop. */
struct crowd {
	int n;
	int *fd;
	struct ktls_session **s;
	int *ret;
	struct ktls_config *cfg;
	int64_t deadline;
};

static void *crowd_main(void *arg)
{
	struct crowd *c = arg;
	struct pollfd *p = calloc(c->n, sizeof(*p));
	int *idx = calloc(c->n, sizeof(*idx));
	int i, j, k, left = c->n;

	for (i = 0; i < c->n; i++) {
		c->ret[i] = ktls_session_new(&c->s[i], c->cfg, c->fd[i]);
		if (!c->ret[i])
			c->ret[i] = ktls_session_set_server_name(c->s[i],
								 "localhost");
		if (!c->ret[i])
			c->ret[i] = ktls_session_handshake(c->s[i]);
		if (c->ret[i] != -EAGAIN)
			left--;
	}
	while (p && idx && left > 0 && ms_now() < c->deadline) {
		for (i = 0, k = 0; i < c->n; i++) {
			if (c->ret[i] != -EAGAIN)
				continue;
			p[k].fd = c->fd[i];
			p[k].events = ktls_session_want(c->s[i]) ==
				      KTLS_WANT_WRITE ? POLLOUT : POLLIN;
			p[k].revents = 0;
			idx[k++] = i;
		}
		if (poll(p, k, 1000) < 0 && errno != EINTR)
			break;
		for (j = 0; j < k; j++) {
			if (!p[j].revents)
				continue;
			i = idx[j];
			c->ret[i] = ktls_session_handshake(c->s[i]);
			if (c->ret[i] != -EAGAIN)
				left--;
		}
	}
	free(p);
	free(idx);
	return NULL;
}

#define CONNS 4

/*
 * 1000 handoffs submitted at once over four connections, their far ends
 * handshaking concurrently: every one completes, and every socket then
 * carries data both ways. Afterwards ktlsd gives the burst's memory back
 * (it held about 12 MiB at the peak and kept it all before it trimmed).
 */
TEST_F_TIMEOUT(hd, thousand_at_once, 600)
{
	struct ktls_handoff *h[CONNS];
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_session **app_s;
	static struct crowd c = { .n = CROWD };	/* outlives a failure */
	int *app_fd, *status, *by_fd, max_fd = 0;
	int i, k, ret, done = 0, submitted = 0, failed = 0, far_failed = 0;
	struct pollfd p[CONNS];
	pthread_t th;
	int64_t t0, ms;
	long rss0, rss1;
	uint64_t id;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	rss0 = proc_rss_kib(self->d.hs);
	ASSERT_LT(0, rss0);
	c.fd = calloc(CROWD, sizeof(int));
	c.s = calloc(CROWD, sizeof(*c.s));
	c.ret = calloc(CROWD, sizeof(int));
	app_fd = calloc(CROWD, sizeof(int));
	app_s = calloc(CROWD, sizeof(*app_s));
	status = calloc(CROWD, sizeof(int));
	ASSERT_TRUE(c.fd && c.s && c.ret && app_fd && app_s && status);
	for (i = 0; i < CROWD; i++) {
		int fds[2];

		ret = tcp_pair(fds);
		ASSERT_EQ(0, ret) TH_LOG("pair %d: %s", i, strerror(-ret));
		c.fd[i] = fds[0];
		app_fd[i] = fds[1];
		ASSERT_EQ(0, set_nonblock(fds[0], 1));
		if (fds[1] > max_fd)
			max_fd = fds[1];
		status[i] = 1;	/* pending */
	}
	by_fd = calloc(max_fd + 1, sizeof(int));
	ASSERT_NE(NULL, by_fd);
	for (i = 0; i < CROWD; i++)
		by_fd[app_fd[i]] = i;
	ASSERT_EQ(0, ktls_config_new(&c.cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(c.cfg, TEST_CERT));
	ASSERT_EQ(0, ktls_config_set_timeout(c.cfg, 500000));
	for (k = 0; k < CONNS; k++) {
		ASSERT_EQ(0, ktls_handoff_open(&h[k], self->d.sock));
		p[k] = (struct pollfd){ ktls_handoff_fd(h[k]), POLLIN, 0 };
	}

	t0 = ms_now();
	c.deadline = t0 + 500000;
	ASSERT_EQ(0, pthread_create(&th, NULL, crowd_main, &c));
	while (done < CROWD && ms_now() < c.deadline) {
		/* Submit what the connections take; then collect. */
		while (submitted < CROWD) {
			k = submitted % CONNS;
			ret = submit(h[k], app_fd[submitted], "patient", NULL,
				     0, &id);
			if (ret == -EAGAIN)
				break;
			ASSERT_EQ(0, ret) TH_LOG("submit %d: %s", submitted,
						 ktls_handoff_error(h[k]));
			submitted++;
		}
		for (k = 0; k < CONNS; k++)
			p[k].events = POLLIN |
				(submitted < CROWD ? POLLOUT : 0);
		poll(p, CONNS, 1000);
		for (k = 0; k < CONNS; k++) {
			while ((ret = ktls_handoff_result(h[k], &r)) == 1) {
				i = by_fd[r.fd];
				ASSERT_EQ(1, status[i]) TH_LOG("two results");
				status[i] = r.status;
				app_s[i] = r.session;
				if (r.status && !failed++)
					TH_LOG("handoff %d: %d %s", i, r.status,
					       ktls_handoff_error(h[k]));
				done++;
			}
			ASSERT_EQ(0, ret) TH_LOG("connection %d: %s", k,
						 ktls_handoff_error(h[k]));
		}
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	ms = ms_now() - t0;
	TH_LOG("%d handoffs done in %lld ms (%d failed)", done, (long long)ms,
	       failed);
	ASSERT_EQ(CROWD, done);
	ASSERT_EQ(0, failed);
	for (i = 0; i < CROWD; i++)
		if (c.ret[i] && !far_failed++)
			TH_LOG("far end %d: %d %s", i, c.ret[i],
			       c.s[i] ? ktls_session_error(c.s[i]) : "");
	ASSERT_EQ(0, far_failed);

	/* Every socket carries data both ways. */
	for (i = 0; i < CROWD; i++)
		ASSERT_EQ(4, write(app_fd[i], &i, 4));
	for (i = 0; i < CROWD; i++) {
		int v = -1;

		ASSERT_EQ(0, set_nonblock(c.fd[i], 0));
		set_rcvtimeo(c.fd[i], 10000);
		ASSERT_EQ(4, ktls_recv(c.s[i], &v, 4, MSG_WAITALL, NULL));
		ASSERT_EQ(i, v);
		v = ~i;
		ASSERT_EQ(4, write(c.fd[i], &v, 4));
	}
	for (i = 0; i < CROWD; i++) {
		int v = 0;

		set_rcvtimeo(app_fd[i], 10000);
		ASSERT_EQ(4, read_full(app_fd[i], &v, 4));
		ASSERT_EQ(~i, v);
	}

	for (i = 0; i < CROWD; i++) {
		ktls_session_free(app_s[i]);
		ktls_session_free(c.s[i]);
		close(app_fd[i]);
		close(c.fd[i]);
	}
	for (k = 0; k < CONNS; k++)
		ktls_handoff_close(h[k]);
	ktls_config_free(c.cfg);
	free(c.fd);
	free(c.s);
	free(c.ret);
	free(app_fd);
	free(app_s);
	free(status);
	free(by_fd);
	ASSERT_NO_FD_LEAK(&self->d);
	/*
	 * The worker that ends the last job gives the burst's memory back
	 * (malloc_trim) after its reply went out: look for up to 5 s.
	 */
	rss1 = proc_rss_kib(self->d.hs);
	for (k = 0; k < 50 && rss1 >= rss0 + 4096; k++) {
		sleep_ms(100);
		rss1 = proc_rss_kib(self->d.hs);
	}
	TH_LOG("ktlsd RSS %ld KiB before, %ld KiB after", rss0, rss1);
	if (DAEMON_SLOW == 1)
		ASSERT_GT(rss0 + 4096, rss1);
}

/* ---- max_inflight ---- */

FIXTURE(busy)
{
	struct daemon d;
};

FIXTURE_SETUP(busy)
{
	daemon_start(_metadata, &self->d, PROFILES, 2);
}

FIXTURE_TEARDOWN(busy)
{
	daemon_stop(_metadata, &self->d);
}

/* Two handshakes wait on silent peers: a third is refused at once. */
TEST_F(busy, third_handoff_is_busy)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_handoff *h;
	int fds[3][2], i, got[3] = { 1, 1, 1 };
	uint64_t id[3];
	int64_t t0;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, tcp_pair(fds[i]));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[0][1], "web", NULL, 0, &id[0]));
	ASSERT_EQ(0, submit(h, fds[1][1], "web", NULL, 0, &id[1]));
	t0 = ms_now();
	ASSERT_EQ(0, submit(h, fds[2][1], "web", NULL, 0, &id[2]));
	ASSERT_EQ(1, wait_result(h, &r, 2000)) TH_LOG("no refusal at once");
	ASSERT_EQ(id[2], r.id) TH_LOG("the first result was not the third's");
	ASSERT_EQ(-EBUSY, r.status) TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_GT(1000, ms_now() - t0);
	ASSERT_NE(0, ktls_handoff_error(h)[0]);
	/*
	 * The silent peers leave: their handshakes end, the slots free. (A
	 * job that had not begun yet would find the socket closed: give them
	 * time to wait for their ClientHello.)
	 */
	sleep_ms(300);
	close(fds[0][0]);
	close(fds[1][0]);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, wait_result(h, &r, 5000));
		ASSERT_TRUE(r.id == id[0] || r.id == id[1]);
		got[r.id == id[0] ? 0 : 1] = r.status;
	}
	ASSERT_EQ(-ECONNRESET, got[0]) TH_LOG("%s", log_tail(&self->d));
	ASSERT_EQ(-ECONNRESET, got[1]) TH_LOG("%s", log_tail(&self->d));
	ktls_handoff_close(h);
	for (i = 0; i < 3; i++) {
		if (i == 2)
			close(fds[i][0]);
		close(fds[i][1]);
	}
	good_handoff(_metadata, &self->d, "web", -1);
	serves_on(_metadata, &self->d);
}

/* ---- Idle connections, and what one uid may hold ---- */

/* "shared": a server profile that uids 54321 and 54320 may use. */
#define SHARED_PROFILE							\
	"\n[profile shared]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 20000\n"					\
	"allow_users = 54321 54320\n"

/*
 * n connections to ktlsd's socket made by a process running as uid (and
 * gone by the time this returns): ktlsd takes them for uid's, since the
 * credentials are those of the connecting process. Into fds: 0 or -errno.
 */
static int connect_as(const struct daemon *d, uid_t uid, int n, int *fds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	int sp[2], err = 0, i, status;
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	pid_t pid;

	if (n < 1 || n > 4)
		return -EINVAL;
	/* The socket is 0666; its directory must let others through. */
	if (chmod(d->dir, 0711) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int mine[4];

		close(sp[0]);
		if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
			err = -errno;
		for (i = 0; !err && i < n; i++) {
			mine[i] = unix_connect(d->sock);
			if (mine[i] < 0)
				err = mine[i];
		}
		if (err)
			_exit(write(sp[1], &err, sizeof(err)) != sizeof(err));
		_exit(send_fds(sp[1], &err, sizeof(err), mine, n) != 0);
	}
	close(sp[1]);
	if (recvmsg(sp[0], &m, MSG_CMSG_CLOEXEC) != sizeof(err))
		err = err ? err : -EIO;
	close(sp[0]);
	waitpid(pid, &status, 0);
	c = CMSG_FIRSTHDR(&m);
	if (!err && (!c || c->cmsg_type != SCM_RIGHTS ||
		     c->cmsg_len != CMSG_LEN(n * sizeof(int))))
		err = -EIO;
	if (!err)
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	return err;
}

/* ktlsd says why it closes (request id 0, status want, phrase), and does. */
static void told_and_closed(struct __test_metadata *_metadata, int sock,
			    int want, const char *phrase, int timeout_ms)
{
	struct reply rep;
	int ret = read_reply(sock, &rep, timeout_ms);

	ASSERT_EQ(0, ret) TH_LOG("no reply: %s", strerror(-ret));
	ASSERT_EQ(0ull, rep.r.id);
	ASSERT_EQ(want, rep.r.status)
		TH_LOG("expected %d (%s), got %d: %s", want, strerror(-want),
		       rep.r.status, rep.msg);
	ASSERT_NE(NULL, strstr(rep.msg, phrase)) TH_LOG("%s", rep.msg);
	ASSERT_TRUE(closed_within(sock, 3000))
		TH_LOG("ktlsd kept the connection after saying: %s", rep.msg);
}

FIXTURE(idle)
{
	struct daemon d;
};

FIXTURE_SETUP(idle)
{
	self->d.ktlsd_keys = "idle_timeout = 1500\n";
	daemon_start(_metadata, &self->d, PROFILES, 1024);
}

FIXTURE_TEARDOWN(idle)
{
	daemon_stop(_metadata, &self->d);
}

/*
 * A connection that never asks for anything is closed after idle_timeout,
 * with the reason; one that asked something a second later, a second
 * later too. The daemon serves on meanwhile and after.
 */
TEST_F(idle, idle_connection_is_closed)
{
	struct pollfd p = { .events = POLLIN };
	struct reply rep;
	int silent, used;
	int64_t t0, t1;

	t0 = ms_now();
	silent = unix_connect(self->d.sock);
	ASSERT_LE(0, silent);
	used = unix_connect(self->d.sock);
	ASSERT_LE(0, used);
	sleep_ms(1000);
	t1 = ms_now();
	ASSERT_EQ(0, send_req(used, -1, 3, "web", NULL, NULL, 0));
	ASSERT_EQ(0, read_reply(used, &rep, 10000));
	ASSERT_EQ(-EBADF, rep.r.status) TH_LOG("%s", rep.msg);
	told_and_closed(_metadata, silent, -ETIMEDOUT, "idle_timeout", 10000);
	ASSERT_LE(1450, ms_now() - t0)
		TH_LOG("closed after %lld ms of 1500", (long long)(ms_now() - t0));
	/* The request kept the other one open. */
	p.fd = used;
	ASSERT_EQ(0, poll(&p, 1, 0)) TH_LOG("closed with the idle one");
	told_and_closed(_metadata, used, -ETIMEDOUT, "idle_timeout", 10000);
	ASSERT_LE(1450, ms_now() - t1)
		TH_LOG("closed %lld ms after its request", (long long)(ms_now() - t1));
	ASSERT_EQ(2, log_wait(&self->d, "idle for 1500 ms; closing it", 2,
			      2000)) TH_LOG("%s", log_tail(&self->d));
	close(silent);
	close(used);
	serves_on(_metadata, &self->d);
}

/*
 * libktls replaces a connection that ktlsd closed for idleness: a program
 * that keeps one handle and hands over a socket now and then never sees
 * the close. (Each request here is refused at once: a pipe.)
 */
TEST_F(idle, library_reconnects_after_idle_close)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;
	int p[2], i;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(-ENOTSOCK, ktls_handoff(h, p[0], &req, &s))
			TH_LOG("request %d: %s", i, ktls_handoff_error(h));
		sleep_ms(2500);		/* idle_timeout is 1500 */
	}
	ASSERT_EQ(3, log_wait(&self->d, "idle for 1500 ms; closing it", 3,
			      5000)) TH_LOG("%s", log_tail(&self->d));
	ktls_handoff_close(h);
	close(p[0]);
	close(p[1]);
	serves_on(_metadata, &self->d);
}

/*
 * A handshake in flight is not idleness: a connection waiting for a reply
 * longer than idle_timeout gets it; idle_timeout after it, it is closed.
 */
TEST_F(idle, connection_waiting_for_reply_is_not_idle)
{
	struct reply rep;
	int sock, fds[2];
	int64_t t0, t1;

	ASSERT_EQ(0, tcp_pair(fds));
	sock = unix_connect(self->d.sock);
	ASSERT_LE(0, sock);
	/* A silent peer: "web" gives up after 3 s, twice idle_timeout. */
	ASSERT_EQ(0, send_req(sock, fds[1], 7, "web", NULL, NULL, 0));
	t0 = ms_now();
	ASSERT_EQ(0, read_reply(sock, &rep, 20000));
	t1 = ms_now();
	ASSERT_EQ(7ull, rep.r.id) TH_LOG("%d: %s", rep.r.status, rep.msg);
	ASSERT_EQ(-ETIMEDOUT, rep.r.status) TH_LOG("%s", rep.msg);
	ASSERT_LE(2900, t1 - t0);
	told_and_closed(_metadata, sock, -ETIMEDOUT, "idle_timeout", 10000);
	/* Counted from the reply: the handshake's 3 s, then 1.5 s. */
	ASSERT_LE(4450, ms_now() - t0)
		TH_LOG("closed %lld ms after the request",
		       (long long)(ms_now() - t0));
	close(sock);
	close(fds[0]);
	close(fds[1]);
	serves_on(_metadata, &self->d);
}

FIXTURE(peruid)
{
	struct daemon d;
};

FIXTURE_SETUP(peruid)
{
	if (geteuid() != 0)
		SKIP(return, "acting as other uids needs root");
	self->d.ktlsd_keys = "max_connections_per_uid = 2\n"
			     "max_inflight_per_uid = 2\n";
	daemon_start(_metadata, &self->d, PROFILES SHARED_PROFILE, 1024);
}

FIXTURE_TEARDOWN(peruid)
{
	daemon_stop(_metadata, &self->d);
}

/* A request that needs no handshake: -EBADF, on a connection that works. */
static void answered(struct __test_metadata *_metadata, int sock)
{
	struct reply rep;

	ASSERT_EQ(0, send_req(sock, -1, 3, "shared", NULL, NULL, 0));
	ASSERT_EQ(0, read_reply(sock, &rep, 10000))
		TH_LOG("no reply on a connection ktlsd took");
	ASSERT_EQ(3ull, rep.r.id);
	ASSERT_EQ(-EBADF, rep.r.status) TH_LOG("%s", rep.msg);
}

/*
 * uid 54321 opens three connections: the third is refused with the
 * reason. uid 54320 and root are served meanwhile; once 54321 closes one,
 * it may open another.
 */
TEST_F(peruid, connections_per_uid)
{
	int mine[3], other[2], again, i;

	ASSERT_EQ(0, connect_as(&self->d, 54321, 3, mine));
	told_and_closed(_metadata, mine[2], -EBUSY, "max_connections_per_uid",
			10000);
	ASSERT_EQ(1, log_wait(&self->d, "connection of uid 54321", 1, 2000));
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "refused: Too many handoff "
			       "connections: uid 54321 has 2 open"))
		TH_LOG("%s", log_tail(&self->d));
	answered(_metadata, mine[0]);
	answered(_metadata, mine[1]);
	/* Another user is not held back by it, nor is root. */
	ASSERT_EQ(0, connect_as(&self->d, 54320, 2, other));
	answered(_metadata, other[0]);
	answered(_metadata, other[1]);
	good_handoff(_metadata, &self->d, "web", -1);
	/* One of 54321's connections goes: it may open another. */
	close(mine[0]);
	ASSERT_FDS(&self->d, 3);
	ASSERT_EQ(0, connect_as(&self->d, 54321, 1, &again));
	answered(_metadata, again);
	close(again);
	for (i = 1; i < 3; i++)
		close(mine[i]);
	close(other[0]);
	close(other[1]);
	serves_on(_metadata, &self->d);
}

/*
 * uid 54321 has two handshakes in flight (silent peers): its third
 * request gets -EBUSY at once, with the reason, on the same connection.
 * uid 54320 and root are served meanwhile; once 54321's handshakes end,
 * its requests are taken again.
 */
TEST_F(peruid, inflight_per_uid)
{
	int sock, other, fds[4][2], i;
	struct reply rep;
	int64_t t0;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, tcp_pair(fds[i]));
	ASSERT_EQ(0, connect_as(&self->d, 54321, 1, &sock));
	ASSERT_EQ(0, connect_as(&self->d, 54320, 1, &other));
	ASSERT_EQ(0, send_req(sock, fds[0][1], 1, "shared", NULL, NULL, 0));
	ASSERT_EQ(0, send_req(sock, fds[1][1], 2, "shared", NULL, NULL, 0));
	t0 = ms_now();
	ASSERT_EQ(0, send_req(sock, fds[2][1], 3, "shared", NULL, NULL, 0));
	ASSERT_EQ(0, read_reply(sock, &rep, 10000));
	ASSERT_EQ(3ull, rep.r.id) TH_LOG("%d: %s", rep.r.status, rep.msg);
	ASSERT_EQ(-EBUSY, rep.r.status) TH_LOG("%s", rep.msg);
	ASSERT_NE(NULL, strstr(rep.msg, "max_inflight_per_uid"))
		TH_LOG("%s", rep.msg);
	ASSERT_GT(5000, ms_now() - t0);
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "handoff from uid 54321"))
		TH_LOG("%s", log_tail(&self->d));
	/* uid 54320 is taken: its handshake runs, to its timeout. */
	ASSERT_EQ(0, send_req(other, fds[3][1], 4, "shared", NULL, NULL, 300));
	ASSERT_EQ(0, read_reply(other, &rep, 20000));
	ASSERT_EQ(4ull, rep.r.id);
	ASSERT_EQ(-ETIMEDOUT, rep.r.status) TH_LOG("%s", rep.msg);
	/* And root. */
	good_handoff(_metadata, &self->d, "web", -1);
	/* 54321's silent peers leave: its handshakes end, it may ask again. */
	close(fds[0][0]);
	close(fds[1][0]);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, read_reply(sock, &rep, 20000));
		ASSERT_TRUE(rep.r.id == 1 || rep.r.id == 2);
		ASSERT_EQ(-ECONNRESET, rep.r.status) TH_LOG("%s", rep.msg);
	}
	ASSERT_EQ(0, send_req(sock, fds[2][1], 5, "shared", NULL, NULL, 300));
	ASSERT_EQ(0, read_reply(sock, &rep, 20000));
	ASSERT_EQ(5ull, rep.r.id);
	ASSERT_EQ(-ETIMEDOUT, rep.r.status) TH_LOG("%s", rep.msg);
	close(sock);
	close(other);
	for (i = 0; i < 4; i++) {
		if (i >= 2)
			close(fds[i][0]);
		close(fds[i][1]);
	}
	serves_on(_metadata, &self->d);
}

TEST_HARNESS_MAIN
