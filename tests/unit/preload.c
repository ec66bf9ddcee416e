// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libktls-preload.so where no kTLS is needed: this program runs itself
 * under the shim (a child mode picked by $PRELOAD_TEST_CHILD) and checks
 * what must hold without ktlsd: a configuration it cannot read is refused
 * in one line; a configured listener answers as the TCP one, no
 * connection reaches the program and the reason is said once; other ports
 * pass through in plaintext; a configured connect() fails with
 * ECONNREFUSED and nothing is sent, even when the program writes anyway.
 * The shim's work with ktlsd is tested in the VM (tests/vm/preload*.c).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "peers.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1	/* a sanitized shim cannot go into other programs */
#else
#define SANITIZED 0
#endif

/* ---- the child, under the shim ---- */

static int child_listen(int port, int configured)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, v = 0;
	struct pollfd p;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8))
		return 10;
	if (getsockname(fd, (struct sockaddr *)&got, &len) ||
	    got.sin_family != AF_INET || ntohs(got.sin_port) != port)
		return 11;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) || v != 1)
		return 12;
	printf("ready\n");
	fflush(stdout);
	p.fd = fd;
	p.events = POLLIN;
	if (configured)	/* nothing may reach us in 3 s */
		return poll(&p, 1, 3000) == 0 ? 0 : 13;
	/* Plain TCP: echo one line. */
	{
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		char buf[64];
		ssize_t n;

		if (c < 0)
			return 14;
		n = read(c, buf, sizeof(buf));
		if (n <= 0 || write(c, buf, n) != n)
			return 15;
		close(c);
	}
	return 0;
}

static int child_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGPIPE, SIG_IGN);
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 20;
	if (errno != ECONNREFUSED)
		return 21;
	/* A program that ignores the error: no byte may leave. */
	if (write(fd, "GET / HTTP/1.0\r\n\r\n", 18) >= 0)
		return 22;
	return 0;
}

/*
 * Non-blocking: EINPROGRESS, then writable (poll, or epoll edge-triggered,
 * registered while in progress) with SO_ERROR ECONNREFUSED.
 */
static int child_nbconnect(int port, int use_epoll)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, ep;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGPIPE, SIG_IGN);
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || errno != EINPROGRESS)
		return 30;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
		return 31;	/* in progress: no error yet */
	if (use_epoll) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ||
		    epoll_wait(ep, &ev, 1, 10000) != 1 || !(ev.events & EPOLLOUT))
			return 32;
	} else if (poll(&p, 1, 10000) != 1 || !(p.revents & POLLOUT)) {
		return 33;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err != ECONNREFUSED)
		return 34;
	if (write(fd, "GET / HTTP/1.0\r\n\r\n", 18) >= 0)
		return 35;
	return 0;
}

__attribute__((constructor)) static void child_main(void)
{
	const char *mode = getenv("PRELOAD_TEST_CHILD");
	int port = mode ? atoi(getenv("PRELOAD_TEST_PORT")) : 0;

	if (!mode)
		return;
	if (!strcmp(mode, "nothing"))
		_exit(0);
	if (!strcmp(mode, "listen"))
		_exit(child_listen(port, 1));
	if (!strcmp(mode, "plain"))
		_exit(child_listen(port, 0));
	if (!strcmp(mode, "connect"))
		_exit(child_connect(port));
	if (!strcmp(mode, "nbconnect-poll"))
		_exit(child_nbconnect(port, 0));
	if (!strcmp(mode, "nbconnect-epoll"))
		_exit(child_nbconnect(port, 1));
	_exit(99);
}

/* ---- the tests ---- */

FIXTURE(shim)
{
	char so[PATH_MAX], self_exe[PATH_MAX], log[64];
	struct peer child;
	int port;
};

FIXTURE_SETUP(shim)
{
	ssize_t n;

	if (SANITIZED)
		SKIP(return, "a sanitized shim cannot be preloaded into other programs");
	ASSERT_EQ(0, build_tool_path(self->so, sizeof(self->so),
				     "libktls-preload.so", "KTLS_PRELOAD_SO"));
	ASSERT_EQ(0, access(self->so, R_OK)) TH_LOG("no %s (make)", self->so);
	n = readlink("/proc/self/exe", self->self_exe, sizeof(self->self_exe) - 1);
	ASSERT_LT(0, n);
	self->self_exe[n] = 0;
	strcpy(self->log, "/tmp/ktls-preload-test-XXXXXX");
	ASSERT_LE(0, mkstemp(self->log));
	self->port = free_port();
	ASSERT_LT(0, self->port);
	self->child.pid = -1;
}

FIXTURE_TEARDOWN(shim)
{
	if (self->child.pid > 0)
		peer_stop(&self->child);
	if (self->log[0])
		unlink(self->log);
}

/*
 * Run this program as child mode under the shim with env (more
 * variables); its stderr goes to self->log. Started: 0.
 */
static int start(FIXTURE_DATA(shim) *self, const char *mode, const char *env)
{
	char cmd[PATH_MAX * 3];
	char *argv[] = { "sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd),
		 "exec env LD_PRELOAD=%s KTLS_HANDOFF_SOCKET=/nonexistent/handoff.sock "
		 "PRELOAD_TEST_CHILD=%s PRELOAD_TEST_PORT=%d %s %s 2>%s",
		 self->so, mode, self->port, env, self->self_exe, self->log);
	self->child.data_only = 1;
	return peer_spawn(&self->child, argv);
}

static int log_lines(FIXTURE_DATA(shim) *self, const char *needle)
{
	return run_shell("exit $(grep -c '%s' %s)", needle, self->log);
}

TEST_F(shim, unreadable_configuration_refused)
{
	static const char *const bad[] = {
		"KTLS_PRELOAD_ACCEPT=web",
		"KTLS_PRELOAD_ACCEPT=99999=web",
		"KTLS_PRELOAD_ACCEPT=443=",
		"KTLS_PRELOAD_CONNECT=localhost=out",
		"KTLS_PRELOAD_CONNECT=[::1]:x=out",
	};

	RETURN_IF_SKIPPED();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char var[64];

		ASSERT_EQ(0, start(self, "nothing", bad[i]));
		EXPECT_EQ(127, peer_wait(&self->child, 10000)) TH_LOG("%s", bad[i]);
		self->child.pid = -1;
		snprintf(var, sizeof(var), "refused: %.*s", (int)strcspn(bad[i], "="),
			 bad[i]);
		EXPECT_EQ(1, log_lines(self, var)) TH_LOG("%s", bad[i]);
	}
	/* And a good one runs. */
	ASSERT_EQ(0, start(self, "nothing", "KTLS_PRELOAD_ACCEPT=443=web,8443=b "
			   "KTLS_PRELOAD_CONNECT=[::1]:443=out,localhost:80=o"));
	EXPECT_EQ(0, peer_wait(&self->child, 10000));
	self->child.pid = -1;
}

TEST_F_TIMEOUT(shim, listener_without_ktlsd_refuses, 60)
{
	char env[64], buf[256];

	RETURN_IF_SKIPPED();
	snprintf(env, sizeof(env), "KTLS_PRELOAD_ACCEPT=%d=web", self->port);
	ASSERT_EQ(0, start(self, "listen", env));
	ASSERT_EQ(1, peer_expect(&self->child, "ready", buf, sizeof(buf), 10000))
		TH_LOG("child status %d", peer_wait(&self->child, 100));
	for (int i = 0; i < 2; i++) {
		int fd = connect_retry(self->port, 5000);
		ssize_t n;

		ASSERT_LE(0, fd);
		struct timeval tv = { .tv_sec = 5 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = write(fd, "GET / HTTP/1.0\r\n\r\n", 18);
		(void)n;
		/* Closed by the shim: an end or a reset, never an answer. */
		n = read(fd, buf, sizeof(buf));
		EXPECT_GE(0, n) TH_LOG("read %zd", n);
		if (n < 0)
			EXPECT_NE(EAGAIN, errno);
		close(fd);
	}
	/* The program saw no connection; the reason said once. */
	EXPECT_EQ(0, peer_wait(&self->child, 10000));
	self->child.pid = -1;
	EXPECT_EQ(1, log_lines(self, "no ktlsd at its handoff socket"));
}

TEST_F_TIMEOUT(shim, other_ports_pass_through, 60)
{
	char env[64], buf[256];
	int fd;

	RETURN_IF_SKIPPED();
	snprintf(env, sizeof(env), "KTLS_PRELOAD_ACCEPT=%d=web", self->port + 1);
	ASSERT_EQ(0, start(self, "plain", env));
	ASSERT_EQ(1, peer_expect(&self->child, "ready", buf, sizeof(buf), 10000));
	fd = connect_retry(self->port, 5000);
	ASSERT_LE(0, fd);
	ASSERT_EQ(6, write(fd, "hello\n", 6));
	ASSERT_EQ(6, read_full(fd, buf, 6));
	EXPECT_EQ(0, memcmp(buf, "hello\n", 6));
	close(fd);
	EXPECT_EQ(0, peer_wait(&self->child, 10000));
	self->child.pid = -1;
	EXPECT_EQ(0, log_lines(self, "ktls-preload"));
}

static void connect_case(struct __test_metadata *_metadata,
			 FIXTURE_DATA(shim) *self, const char *mode)
{
	int lfd, port, c;
	char env[80], buf[64];
	ssize_t n;

	lfd = listen_any(&port);
	ASSERT_LE(0, lfd);
	self->port = port;
	snprintf(env, sizeof(env), "KTLS_PRELOAD_CONNECT=127.0.0.1:%d=out", port);
	ASSERT_EQ(0, start(self, mode, env));
	EXPECT_EQ(0, peer_wait(&self->child, 15000))
		TH_LOG("%s: see the child's numbers in the source", mode);
	self->child.pid = -1;
	/* The TCP connection was made, and shut down with nothing sent. */
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, c);
	n = read(c, buf, sizeof(buf));
	EXPECT_GE(0, n);
	close(c);
	close(lfd);
	EXPECT_EQ(1, log_lines(self, "connect refused: no ktlsd"));
}

TEST_F_TIMEOUT(shim, connect_without_ktlsd_sends_nothing, 60)
{
	RETURN_IF_SKIPPED();
	connect_case(_metadata, self, "connect");
}

TEST_F_TIMEOUT(shim, nonblocking_connect_poll, 60)
{
	RETURN_IF_SKIPPED();
	connect_case(_metadata, self, "nbconnect-poll");
}

TEST_F_TIMEOUT(shim, nonblocking_connect_epoll_et, 60)
{
	RETURN_IF_SKIPPED();
	connect_case(_metadata, self, "nbconnect-epoll");
}

TEST_HARNESS_MAIN
