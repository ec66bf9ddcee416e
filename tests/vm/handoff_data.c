// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's handoff socket against a real build/ktlsd, the handshake and the
 * data: handshakes that fail or time out, then the good path (session
 * info, data both ways, early data, key updates, flags restored) through
 * libktls, ktlsctl and the Python example.
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

/* ---- Handshakes that go wrong ---- */

/* Close with a RST rather than a FIN. */
static void close_rst(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* h's one handoff ends -ECONNRESET, within 2 s of the reset at t0. */
static void reset_noticed(struct __test_metadata *_metadata,
			  struct ktls_handoff *h, int64_t t0)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };

	ASSERT_EQ(1, wait_result(h, &r, 10000)) TH_LOG("no result");
	ASSERT_EQ(-ECONNRESET, r.status)
		TH_LOG("after %lld ms: %s", (long long)(ms_now() - t0),
		       ktls_handoff_error(h));
	ASSERT_GT(2000, ms_now() - t0) TH_LOG("the reset went unnoticed");
}

/* Client profile: the server reads the ClientHello, then resets. */
TEST_F(hd, peer_resets_client_handshake)
{
	struct ktls_handoff *h;
	uint8_t hello[5];
	uint64_t id;
	int64_t t0;
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[0], "out", NULL, 0, &id));
	ASSERT_EQ(0, recv_exact(fds[1], hello, sizeof(hello), 5000));
	ASSERT_EQ(0x16, hello[0]) TH_LOG("not a handshake record");
	sleep_ms(100);
	t0 = ms_now();
	close_rst(fds[1]);
	reset_noticed(_metadata, h, t0);
	ASSERT_NE(0, ktls_handoff_error(h)[0]);
	ktls_handoff_close(h);
	close(fds[0]);
	serves_on(_metadata, &self->d);
}

/* A real ClientHello (libktls's), as bytes; its length. */
static ssize_t client_hello(uint8_t *buf, size_t cap)
{
	struct ktls_config *cfg;
	struct ktls_session *s;
	struct pollfd p;
	ssize_t n = -1;
	int fds[2];

	if (tcp_pair(fds))
		return -1;
	set_nonblock(fds[0], 1);
	if (!ktls_config_new(&cfg, KTLS_CLIENT)) {
		ktls_config_set_verify(cfg, KTLS_VERIFY_NONE);
		if (!ktls_session_new(&s, cfg, fds[0])) {
			if (ktls_session_handshake(s) == -EAGAIN) {
				p = (struct pollfd){ fds[1], POLLIN, 0 };
				sleep_ms(50);
				if (poll(&p, 1, 5000) == 1)
					n = recv(fds[1], buf, cap, 0);
			}
			ktls_session_free(s);
		}
		ktls_config_free(cfg);
	}
	close(fds[0]);
	close(fds[1]);
	return n;
}

/* Server profile: half a ClientHello, then a reset. */
TEST_F(hd, peer_resets_server_handshake)
{
	struct ktls_handoff *h;
	uint8_t hello[4096];
	ssize_t len = client_hello(hello, sizeof(hello));
	uint64_t id;
	int64_t t0;
	int fds[2];

	ASSERT_LT(100, len) TH_LOG("no ClientHello to replay");
	ASSERT_EQ(0x16, hello[0]);
	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[1], "web", NULL, 0, &id));
	ASSERT_EQ(len / 2, write(fds[0], hello, len / 2));
	sleep_ms(200);
	t0 = ms_now();
	close_rst(fds[0]);
	reset_noticed(_metadata, h, t0);
	ktls_handoff_close(h);
	close(fds[1]);
	serves_on(_metadata, &self->d);
}

/* Server profile: the client speaks HTTP. A quick failure, explained. */
TEST_F(hd, peer_sends_garbage)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct conn c = { 0 };
	int64_t t0;
	int ret;

	conn_pair(_metadata, &c);
	ASSERT_EQ((ssize_t)strlen(http), write(c.peer, http, strlen(http)));
	t0 = ms_now();
	ret = conn_handoff(&self->d, &c, "web", NULL, NULL, 0);
	ASSERT_EQ(-KTLS_E_HANDSHAKE, ret) TH_LOG("%d: %s", ret, c.msg);
	ASSERT_NE(0, c.msg[0]) TH_LOG("a failure without a message");
	ASSERT_GT(2000, ms_now() - t0);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* A peer that never speaks: the profile's 3 s, then -ETIMEDOUT. */
TEST_F(hd, silent_peer_times_out)
{
	struct conn c = { 0 };
	int64_t ms;

	conn_pair(_metadata, &c);
	ms = conn_times_out(_metadata, &self->d, &c, "web", 0);
	ASSERT_NE(0, c.msg[0]);
	ASSERT_LE(2900, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	ASSERT_GE(5000, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* The request's timeout shortens the profile's; it cannot lengthen it. */
TEST_F(hd, request_timeout)
{
	struct conn c = { 0 };
	int64_t ms;

	conn_pair(_metadata, &c);
	ms = conn_times_out(_metadata, &self->d, &c, "web", 500);
	ASSERT_LE(450, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	ASSERT_GE(2000, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	ms = conn_times_out(_metadata, &self->d, &c, "web", 60000);
	ASSERT_GE(5000, ms) TH_LOG("a request lengthened the timeout to "
				   "%lld ms", (long long)ms);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* The name asked for is not the certificate's: the client refuses it. */
TEST_F(hd, client_profile_wrong_name)
{
	struct conn c = { 0 };
	int ret;

	conn_open(_metadata, &c, KTLS_SERVER, NULL);
	ret = conn_handoff(&self->d, &c, "out", "elsewhere.example", NULL, 0);
	ASSERT_EQ(-KTLS_E_VERIFY, ret) TH_LOG("%s", c.msg);
	ASSERT_NE(NULL, strstr(c.msg, "did not verify")) TH_LOG("%s", c.msg);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* ---- The good path ---- */

/* conn_handoff() that must work, and the far end's handshake with it. */
static void conn_handoff_ok(struct __test_metadata *_metadata,
			    const struct daemon *d, struct conn *c,
			    const char *profile, const char *sni,
			    const char *alpn)
{
	int ret = conn_handoff(d, c, profile, sni, alpn, 0);

	ASSERT_EQ(0, ret) TH_LOG("%s", c->msg);
	ASSERT_EQ(0, c->far.ret) TH_LOG("%s", far_error(&c->far));
}

/* to_far from the app's end, to_app from the far end: both arrive. */
static void both_ways(struct __test_metadata *_metadata, struct conn *c,
		      const char *to_far, const char *to_app)
{
	ssize_t n = strlen(to_far), m = strlen(to_app);
	char buf[64];

	ASSERT_GE((ssize_t)sizeof(buf), n > m ? n : m);
	ASSERT_EQ(n, write(c->app, to_far, n));
	ASSERT_EQ(n, ktls_recv(c->far.s, buf, n, MSG_WAITALL, NULL));
	ASSERT_EQ(0, memcmp(buf, to_far, n));
	ASSERT_EQ(m, write(c->peer, to_app, m));
	ASSERT_EQ(m, ktls_recv(c->s, buf, m, MSG_WAITALL, NULL));
	ASSERT_EQ(0, memcmp(buf, to_app, m));
}

/* Server profile: what the session says, on both ends. */
TEST_F(hd, server_session_info)
{
	const struct ktls_info *in, *fin;
	struct conn c = { 0 };
	const uint8_t *tx, *rx;
	int ret;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);
	in = ktls_session_info(c.s);
	fin = ktls_session_info(c.far.s);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(KTLS_TLS13, in->version);
	ASSERT_EQ(fin->version, in->version);
	ASSERT_EQ(fin->cipher, in->cipher);
	ASSERT_NE(0u, in->cipher & KTLS_CIPHER_ALL);
	ASSERT_EQ(0u, in->cipher & (in->cipher - 1)) TH_LOG("not one cipher");
	ASSERT_STREQ(fin->cipher_name, in->cipher_name);
	ASSERT_STREQ(fin->group, in->group);
	ASSERT_STREQ("localhost", in->sni);
	ASSERT_EQ(NULL, in->peer_subject);
	ASSERT_EQ(0, in->resumed);
	ASSERT_EQ(KTLS_SERVER, (int)session_role(c.s));
	ASSERT_EQ(c.app, session_fd(c.s));
	ASSERT_EQ(KTLS_OFFLOAD_SW, (int)(in->tx == KTLS_OFFLOAD_UNKNOWN ?
					 KTLS_OFFLOAD_SW : in->tx));
	/* TLS 1.3: the traffic secrets came along. */
	ret = session_secrets(c.s, &tx, &rx);
	ASSERT_TRUE(ret == 32 || ret == 48) TH_LOG("secret length %d", ret);
	ASSERT_NE(0, memcmp(tx, rx, ret));
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* Data both ways: plain read/write and ktls_recv on the app's socket. */
TEST_F(hd, server_data_both_ways)
{
	static char big[256 * 1024], got[sizeof(big)];
	struct conn c = { 0 };
	ssize_t n, done;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);

	/* app -> far: plain write() through the kernel. */
	fill_pattern(big, sizeof(big), 1, 0);
	ASSERT_EQ((ssize_t)sizeof(big), write_full(c.app, big, sizeof(big)));
	for (done = 0; done < (ssize_t)sizeof(got); done += n) {
		n = ktls_recv(c.far.s, got + done, sizeof(got) - done, 0, NULL);
		ASSERT_LT(0, n) TH_LOG("far end read %zd: %s", n,
				       strerror(-n));
	}
	ASSERT_EQ(-1, check_pattern(got, sizeof(got), 1, 0));

	/* far -> app: read() and then ktls_recv(). */
	fill_pattern(big, sizeof(big), 2, 0);
	ASSERT_EQ((ssize_t)sizeof(big), write_full(c.peer, big, sizeof(big)));
	ASSERT_EQ(1000, read_full(c.app, got, 1000));
	for (done = 1000; done < (ssize_t)sizeof(got); done += n) {
		n = ktls_recv(c.s, got + done, sizeof(got) - done, 0, NULL);
		ASSERT_LT(0, n) TH_LOG("ktls_recv %zd: %s", n, strerror(-n));
	}
	ASSERT_EQ(-1, check_pattern(got, sizeof(got), 2, 0));

	/* A clean close: the far end sees its end of file. */
	ASSERT_EQ(0, ktls_close_notify(c.s));
	ASSERT_EQ(0, ktls_recv(c.far.s, got, 1, 0, NULL));
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * The far end writes the moment its handshake is done: whatever ktlsd read
 * of it comes as early data, the rest from the socket; nothing is lost.
 */
TEST_F(hd, data_right_after_handshake)
{
	static char sent[48 * 1024], got[sizeof(sent)];
	struct conn c = { 0 };
	const void *early;
	size_t n_early;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	fill_pattern(sent, sizeof(sent), 3, 0);
	c.far.send = sent;
	c.far.send_len = sizeof(sent);
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);
	n_early = ktls_session_early_data(c.s, &early);
	ASSERT_GE(sizeof(got), n_early);
	if (n_early)
		memcpy(got, early, n_early);
	ASSERT_EQ((ssize_t)(sizeof(got) - n_early),
		  read_full(c.app, got + n_early, sizeof(got) - n_early));
	ASSERT_EQ(-1, check_pattern(got, sizeof(got), 3, 0))
		TH_LOG("%zu bytes came as early data", n_early);
	TH_LOG("%zu of %zu bytes came as early data", n_early, sizeof(sent));
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* With the secrets from the reply, the application can update its keys. */
TEST_F(hd, key_update_after_handoff)
{
	struct ktls_probe probe = { .size = sizeof(probe) };
	struct conn c = { 0 };
	int ret;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	ASSERT_EQ(0, ktls_probe(&probe));
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);
	ASSERT_EQ(!!probe.rekey, !!session_can_rekey(c.s))
		TH_LOG("the reply's rekey flag does not match the kernel");
	ret = ktls_key_update(c.s, 1);
	if (!probe.rekey) {
		ASSERT_EQ(-KTLS_E_REKEY, ret);
		SKIP(goto out, "kernel %s takes no new TLS 1.3 keys (6.14+)",
		     probe.kernel);
	}
	ASSERT_EQ(0, ret) TH_LOG("ktls_key_update: %s", ktls_strerror(ret));
	/* New keys our way; the far end follows and updates its own. */
	both_ways(_metadata, &c, "after-rekey", "back");
out:
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* ktlsd works non-blocking on the shared file; the app's flag comes back. */
TEST_F(hd, fd_flags_restored)
{
	struct conn c;
	int ret, nb;

	for (nb = 0; nb < 2; nb++) {
		memset(&c, 0, sizeof(c));
		conn_open(_metadata, &c, KTLS_CLIENT, NULL);
		ASSERT_EQ(0, set_nonblock(c.app, nb));
		ret = conn_handoff(&self->d, &c, "web", NULL, NULL, 0);
		ASSERT_EQ(nb ? O_NONBLOCK : 0,
			  fcntl(c.app, F_GETFL) & O_NONBLOCK)
			TH_LOG("O_NONBLOCK %s after a handoff",
			       nb ? "cleared" : "left set");
		ASSERT_EQ(OK_STATUS, ret) TH_LOG("%s", c.msg);
		conn_close(&c);
	}
	/* And after a failure. */
	memset(&c, 0, sizeof(c));
	conn_pair(_metadata, &c);
	conn_times_out(_metadata, &self->d, &c, "web", 300);
	ASSERT_EQ(0, fcntl(c.app, F_GETFL) & O_NONBLOCK)
		TH_LOG("O_NONBLOCK left set after a failed handoff");
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* Client profile with SNI and ALPN from the request. */
TEST_F(hd, client_profile_overrides)
{
	const struct ktls_info *in;
	struct conn c = { 0 };

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	conn_open(_metadata, &c, KTLS_SERVER, "http/1.1");
	conn_handoff_ok(_metadata, &self->d, &c, "out", "localhost",
			"h2,http/1.1");
	in = ktls_session_info(c.s);
	ASSERT_EQ(KTLS_CLIENT, (int)session_role(c.s));
	ASSERT_STREQ("http/1.1", in->alpn);
	ASSERT_STREQ("localhost", in->sni);
	ASSERT_STREQ("localhost", ktls_session_info(c.far.s)->sni);
	ASSERT_NE(NULL, in->peer_subject);
	ASSERT_NE(NULL, strstr(in->peer_subject, "CN=localhost"))
		TH_LOG("peer subject %s", in->peer_subject);
	ASSERT_EQ((size_t)64, strlen(in->peer_sha256));
	both_ways(_metadata, &c, "hello", "world");
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* ---- Other programs speaking to ktlsd ---- */

#define SKIP_IF_NO_KTLS(said) do {					\
	if (strstr(said, "no TLS support"))				\
		SKIP(goto out, NO_KTLS_REASON);				\
} while (0)

#define NO_PEER { .pid = -1, .in = -1, .out = -1 }

static char peer_a[65536], peer_b[65536];

/*
 * A TLS server program (its stdout only), listening on port; then the
 * client program that is to reach it through ktlsd.
 */
static void spawn_both(struct __test_metadata *_metadata, struct peer *srv,
		       char *const srv_argv[], int port, struct peer *cli,
		       char *const cli_argv[])
{
	ASSERT_LT(0, port);
	peer_a[0] = peer_b[0] = 0;
	srv->data_only = 1;
	ASSERT_EQ(0, peer_spawn(srv, srv_argv));
	ASSERT_EQ(0, wait_listen(port, 10000));
	ASSERT_EQ(0, peer_spawn(cli, cli_argv));
}

/* The client's input ends: it exits 0 (what it said is in peer_a). */
static void client_exits(struct __test_metadata *_metadata, struct peer *cli)
{
	close(cli->in);
	cli->in = -1;
	ASSERT_EQ(0, peer_wait(cli, 10000)) TH_LOG("%s", peer_a);
}

/* Both programs gone: ktlsd holds nothing more than when idle. */
static void stop_both(struct __test_metadata *_metadata,
		      const struct daemon *d, struct peer *cli,
		      struct peer *srv)
{
	peer_stop(cli);
	peer_stop(srv);
	ASSERT_NO_FD_LEAK(d);
}

/* ktlsctl connect --handoff against gnutls-serv --echo: a line echoed. */
TEST_F_TIMEOUT(hd, ktlsctl_to_gnutls_serv, 120)
{
	struct peer srv = NO_PEER, ctl = NO_PEER;
	char path[PATH_MAX], port[16], hostport[32], handoff_arg[160];
	char *srv_argv[] = { "gnutls-serv", "--echo", "-q", "-p", port,
		"--x509certfile", TEST_CERT, "--x509keyfile", TEST_KEY, NULL };
	char *ctl_argv[] = { path, "connect", hostport, handoff_arg,
		"--profile", "out", NULL };
	int pt = free_port();

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	snprintf(port, sizeof(port), "%d", pt);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", pt);
	snprintf(handoff_arg, sizeof(handoff_arg), "--handoff=%s",
		 self->d.sock);
	spawn_both(_metadata, &srv, srv_argv, pt, &ctl, ctl_argv);
	ASSERT_EQ(15, write(ctl.in, "echo through 1\n", 15));
	peer_expect(&ctl, "echo through 1\n", peer_a, sizeof(peer_a), 20000);
	SKIP_IF_NO_KTLS(peer_a);
	ASSERT_NE(NULL, strstr(peer_a, "echo through 1\n"))
		TH_LOG("ktlsctl said: %s\nktlsd: %s", peer_a,
		       log_tail(&self->d));
	ASSERT_NE(NULL, strstr(peer_a, "TLS 1.3")) TH_LOG("%s", peer_a);
	ASSERT_EQ(15, write(ctl.in, "echo through 2\n", 15));
	ASSERT_TRUE(peer_expect(&ctl, "echo through 2\n", peer_a,
				sizeof(peer_a), 10000));
	client_exits(_metadata, &ctl);
out:
	stop_both(_metadata, &self->d, &ctl, &srv);
}

/* ktlsctl connect --handoff against openssl s_server: lines both ways. */
TEST_F_TIMEOUT(hd, ktlsctl_to_openssl, 120)
{
	struct peer srv = NO_PEER, ctl = NO_PEER;
	char path[PATH_MAX], hostport[32], handoff_arg[160];
	char *srv_argv[] = { "openssl", "s_server", "-accept", hostport,
		"-quiet", "-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		NULL };
	char *ctl_argv[] = { path, "connect", hostport, handoff_arg,
		"--profile", "out", NULL };
	int pt = free_port();

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", pt);
	snprintf(handoff_arg, sizeof(handoff_arg), "--handoff=%s",
		 self->d.sock);
	spawn_both(_metadata, &srv, srv_argv, pt, &ctl, ctl_argv);
	ASSERT_EQ(12, write(ctl.in, "to s_server\n", 12));
	peer_expect(&ctl, "kTLS TX", peer_a, sizeof(peer_a), 20000);
	SKIP_IF_NO_KTLS(peer_a);
	ASSERT_NE(NULL, strstr(peer_a, "kTLS TX"))
		TH_LOG("ktlsctl said: %s\nktlsd: %s", peer_a,
		       log_tail(&self->d));
	ASSERT_TRUE(peer_expect(&srv, "to s_server\n", peer_b, sizeof(peer_b),
				10000)) TH_LOG("s_server got: %s", peer_b);
	ASSERT_EQ(14, write(srv.in, "from s_server\n", 14));
	ASSERT_TRUE(peer_expect(&ctl, "from s_server\n", peer_a, sizeof(peer_a),
				10000)) TH_LOG("ktlsctl said: %s", peer_a);
	client_exits(_metadata, &ctl);
out:
	stop_both(_metadata, &self->d, &ctl, &srv);
}

/* examples/handoff.py, from the source tree next to the build. */
static int example_path(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n;

	if (!access("examples/handoff.py", R_OK)) {
		snprintf(path, size, "examples/handoff.py");
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = 0;
	snprintf(path, size, "%s/../../../examples/handoff.py", dirname(self));
	return access(path, R_OK) ? -errno : 0;
}

/* The Python example (the protocol without libktls) to openssl s_server. */
TEST_F_TIMEOUT(hd, python_example_to_openssl, 120)
{
	struct peer srv = NO_PEER, py = NO_PEER;
	char path[PATH_MAX], port[16], hostport[32];
	char *srv_argv[] = { "openssl", "s_server", "-accept", hostport,
		"-quiet", "-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		NULL };
	/* Debian's own: a pyenv shim costs seconds under emulation. */
	char *py_argv[] = { access("/usr/bin/python3", X_OK) ? "python3" :
		"/usr/bin/python3", path, "--socket", self->d.sock,
		"--profile", "out", "--server-name", "localhost", "127.0.0.1",
		port, NULL };
	int pt = free_port();

	ASSERT_EQ(0, example_path(path, sizeof(path)))
		TH_LOG("examples/handoff.py not found");
	snprintf(port, sizeof(port), "%d", pt);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", pt);
	spawn_both(_metadata, &srv, srv_argv, pt, &py, py_argv);
	ASSERT_EQ(15, write(py.in, "line from py 1\n", 15));
	peer_expect(&py, "handoff", peer_a, sizeof(peer_a), 30000);
	if (strstr(peer_a, "status -4097"))
		SKIP(goto out, NO_KTLS_REASON);
	ASSERT_TRUE(peer_expect(&srv, "line from py 1\n", peer_b,
				sizeof(peer_b), 20000))
		TH_LOG("s_server got: %s\nhandoff.py said: %s\nktlsd: %s",
		       peer_b, peer_a, log_tail(&self->d));
	ASSERT_EQ(16, write(srv.in, "reply from ossl\n", 16));
	ASSERT_TRUE(peer_expect(&py, "reply from ossl\n", peer_a,
				sizeof(peer_a), 10000))
		TH_LOG("handoff.py said: %s", peer_a);
	ASSERT_NE(NULL, strstr(peer_a, "status 0: TLS 1.3"))
		TH_LOG("%s", peer_a);
	client_exits(_metadata, &py);
out:
	stop_both(_metadata, &self->d, &py, &srv);
}

TEST_HARNESS_MAIN
