// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A peer's TLS 1.3 KeyUpdate on a connection of libktls-preload.so. The
 * program under the shim is a Python relay between its stdio and one
 * socket (it listens, or connects); its peer is openssl s_client or
 * s_server, which update their keys when told on stdin ("k"; "K" also
 * asks for ours). Data is digits only, so that no line of it is an
 * openssl command. On a kernel that takes new TLS 1.3 keys (6.14+):
 * the data after each update comes out byte for byte, the kernel counts
 * one new receive key per update and one new send key for "K", and a
 * line the program writes afterwards reaches openssl under that key; the
 * same in the child of a server that forks after accept() (it owns the
 * connection). Before 6.14, and in that server's parent if it reads on:
 * the read that meets the update fails with ECONNRESET, and not one byte
 * sent behind the update comes out.
 */
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "peers.h"
#include "preload_util.h"

#define CHUNK (48 * 1024)	/* one phase of data */
#define WAIT_MS 30000

/*
 * Relay stdin to the socket and the socket to stdout: "#up" once it has
 * the connection (TLS on it), "#..." at its end.
 */
static const char relay_py[] =
	"import os, socket, sys, threading\n"
	"mode, port = sys.argv[1], int(sys.argv[2])\n"
	"if mode == 'connect':\n"
	"    s = socket.create_connection(('127.0.0.1', port))\n"
	"else:\n"
	"    ls = socket.socket()\n"
	"    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"    ls.bind(('127.0.0.1', port))\n"
	"    ls.listen(1)\n"
	"    s, _ = ls.accept()\n"
	"    if mode == 'parent':\n"
	"        pid = os.fork()\n"
	"        if not pid:\n"
	"            os._exit(0)\n"
	"        os.waitpid(pid, 0)\n"
	"    if mode == 'fork':\n"
	"        pid = os.fork()\n"
	"        if pid:\n"
	"            s.close()\n"
	"            sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"
	"fd = s.fileno()\n"
	"def write_all(f, b):\n"
	"    while b:\n"
	"        b = b[os.write(f, b):]\n"
	"write_all(1, b'#up\\n')\n"
	"def up():\n"
	"    while True:\n"
	"        d = os.read(0, 4096)\n"
	"        if not d:\n"
	"            return\n"
	"        write_all(fd, d)\n"
	"threading.Thread(target=up, daemon=True).start()\n"
	"while True:\n"
	"    try:\n"
	"        d = os.read(fd, 65536)\n"
	"    except OSError as e:\n"
	"        write_all(1, b'#errno %d\\n' % e.errno)\n"
	"        break\n"
	"    if not d:\n"
	"        write_all(1, b'#eof\\n')\n"
	"        break\n"
	"    write_all(1, d)\n";

FIXTURE(pk)
{
	struct daemon d;
	struct peer ossl;	/* openssl s_client or s_server */
	struct peer prog;	/* the relay under the shim */
	int port, rekey;
	int follows;		/* the program is to follow the updates */
	long long rx0, tx0, rxerr0;	/* the kernel's rekey counters before */
	char so[PATH_MAX], log[160], cmd[2 * PATH_MAX + 512];
	char out[1 << 16];
};

/* Whether this kernel takes new TLS 1.3 keys: 6.14 and later. */
static int kernel_rekeys(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return -1;
	return major > 6 || (major == 6 && minor >= 14);
}

FIXTURE_SETUP(pk)
{
	char path[256];
	int fd;

	self->ossl.pid = self->prog.pid = -1;
	self->ossl.in = self->ossl.out = self->prog.in = self->prog.out = -1;
	NEED("python3");
	NEED("openssl");
	self->rekey = kernel_rekeys();
	ASSERT_LE(0, self->rekey);
	self->follows = self->rekey;
	daemon_start(_metadata, &self->d, PRELOAD_PROFILES, 16);
	ASSERT_EQ(0, build_tool_path(self->so, sizeof(self->so),
				     "libktls-preload.so", "KTLS_PRELOAD_SO"));
	snprintf(self->log, sizeof(self->log), "%s/relay.log", self->d.dir);
	snprintf(path, sizeof(path), "%s/relay.py", self->d.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(relay_py), write_full(fd, relay_py, strlen(relay_py)));
	close(fd);
	self->port = free_port();
	ASSERT_LT(0, self->port);
	self->rx0 = tls_stat("TlsRxRekeyOk");
	self->tx0 = tls_stat("TlsTxRekeyOk");
	self->rxerr0 = tls_stat("TlsRxRekeyError");
	signal(SIGPIPE, SIG_IGN);	/* openssl may be gone before its input */
	TH_LOG("kernel %s new TLS 1.3 keys", self->rekey ? "takes" : "does not take");
}

FIXTURE_TEARDOWN(pk)
{
	peer_stop(&self->prog);
	peer_stop(&self->ossl);
	if (self->d.pid > 0 && !_metadata->passed)
		run_shell("tail -n 20 %s >&2", self->log);
	if (self->d.pid)
		daemon_stop(_metadata, &self->d);
}

/*
 * The relay under the shim: a server ("accept"; "fork": the child of the
 * process that accepted serves; "parent": it serves after a fork()) or a
 * client ("connect").
 */
static void prog_start(struct __test_metadata *_metadata,
			FIXTURE_DATA(pk) *self, const char *mode)
{
	char *argv[] = { "sh", "-c", self->cmd, NULL };
	int client = !strcmp(mode, "connect");

	snprintf(self->cmd, sizeof(self->cmd),
		 "exec env LD_PRELOAD=%s KTLS_HANDOFF_SOCKET=%s %s=%s%d=%s python3 -u %s/relay.py %s %d 2>>%s",
		 self->so, self->d.sock,
		 client ? "KTLS_PRELOAD_CONNECT" : "KTLS_PRELOAD_ACCEPT",
		 client ? "127.0.0.1:" : "", self->port, client ? "out" : "web",
		 self->d.dir, mode, self->port, self->log);
	self->prog.data_only = 1;
	ASSERT_EQ(0, peer_spawn(&self->prog, argv));
}

/* Up to len bytes of fd within ms (fewer at its end); the count. */
static size_t read_for(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t end = ms_now() + ms;
	size_t got = 0;
	ssize_t n;

	while (got < len && ms_now() < end) {
		if (poll(&p, 1, (int)(end - ms_now())) <= 0)
			continue;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/* Lines of digits, part seed of the stream. */
static void digit_lines(char *buf, size_t len, int seed)
{
	fill_pattern(buf, len, seed, 0);
	for (size_t i = 0; i < len; i++)
		buf[i] = i % 64 == 63 ? '\n' : '0' + (unsigned char)buf[i] % 10;
}

/* Phase seed: CHUNK bytes into openssl, the same out of the program. */
static void phase(struct __test_metadata *_metadata, FIXTURE_DATA(pk) *self,
		  int seed)
{
	static char sent[CHUNK], got[CHUNK + 1];
	size_t n;

	digit_lines(sent, CHUNK, seed);
	ASSERT_EQ(CHUNK, write_full(self->ossl.in, sent, CHUNK));
	memset(got, 0, sizeof(got));
	n = read_for(self->prog.out, got, CHUNK, WAIT_MS);
	if (n != CHUNK) {	/* what openssl had to say meanwhile */
		self->out[0] = 0;
		peer_expect(&self->ossl, "\1", self->out, sizeof(self->out), 2000);
	}
	ASSERT_EQ((size_t)CHUNK, n)
		TH_LOG("phase %d: got \"%.80s\"; openssl: %s", seed, got, self->out);
	ASSERT_EQ(0, memcmp(sent, got, CHUNK)) TH_LOG("phase %d", seed);
}

/* Wait until the kernel's counter name has reached want. */
static int counter_reaches(const char *name, long long want)
{
	for (int ms = 0; ms < WAIT_MS; ms += 50) {
		if (tls_stat(name) >= want)
			return 1;
		sleep_ms(50);
	}
	return 0;
}

/*
 * One command letter alone on openssl's stdin, everything before it read
 * out. s_client says so (and sends its KeyUpdate with its next data);
 * s_server sends it at once, and on a kernel that rekeys the program's
 * read takes it before more data goes in.
 */
static void command(struct __test_metadata *_metadata, FIXTURE_DATA(pk) *self,
		    const char *cmd, int client, long long rx_want)
{
	self->out[0] = 0;
	ASSERT_EQ(2, write(self->ossl.in, cmd, 2));
	if (client) {
		ASSERT_TRUE(peer_expect(&self->ossl, "KEYUPDATE", self->out,
					sizeof(self->out), 10000))
			TH_LOG("openssl said: %s", self->out);
	} else if (self->follows) {
		ASSERT_TRUE(counter_reaches("TlsRxRekeyOk", rx_want));
	}
}

/*
 * Before 6.14: the read fails, and not a byte behind the update shows.
 * s_client sends its update with the data behind it; s_server at once.
 */
static void expect_reset(struct __test_metadata *_metadata,
			 FIXTURE_DATA(pk) *self, int client)
{
	static char behind[CHUNK];
	char end[64] = "", want[32];
	size_t n;

	digit_lines(behind, CHUNK, 2);
	if (client)
		ASSERT_EQ(CHUNK, write_full(self->ossl.in, behind, CHUNK));
	snprintf(want, sizeof(want), "#errno %d\n", ECONNRESET);
	n = read_for(self->prog.out, end, sizeof(end) - 1, WAIT_MS);
	EXPECT_STREQ(want, end) TH_LOG("%zu bytes", n);
	EXPECT_EQ(self->rx0, tls_stat("TlsRxRekeyOk"));	/* -1 before 6.14 */
	EXPECT_EQ(0, peer_wait(&self->prog, 10000));
}

/* The whole exchange: data, "k", data, "K", data, and a line back. */
static void updates(struct __test_metadata *_metadata, FIXTURE_DATA(pk) *self,
		    int client)
{
	static const char line[] = "1234567890 after our own update\n";
	char up[5] = "";

	/* Nothing for openssl to send before the program has its connection. */
	ASSERT_EQ(4u, read_for(self->prog.out, up, 4, WAIT_MS));
	ASSERT_STREQ("#up\n", up);
	phase(_metadata, self, 1);
	command(_metadata, self, "k\n", client, self->rx0 + 1);
	if (!self->follows) {
		expect_reset(_metadata, self, client);
		return;
	}
	phase(_metadata, self, 2);
	EXPECT_EQ(self->rx0 + 1, tls_stat("TlsRxRekeyOk"));
	EXPECT_EQ(self->tx0, tls_stat("TlsTxRekeyOk"));
	command(_metadata, self, "K\n", client, self->rx0 + 2);
	phase(_metadata, self, 3);
	EXPECT_EQ(self->rx0 + 2, tls_stat("TlsRxRekeyOk"));
	EXPECT_EQ(self->tx0 + 1, tls_stat("TlsTxRekeyOk"));
	/* Our answer to "K" went out, and then this under the new key. */
	self->out[0] = 0;
	ASSERT_EQ((ssize_t)strlen(line), write_full(self->prog.in, line, strlen(line)));
	EXPECT_TRUE(peer_expect(&self->ossl, line, self->out, sizeof(self->out),
				10000))
		TH_LOG("openssl said: %s", self->out);
	EXPECT_EQ(self->rxerr0, tls_stat("TlsRxRekeyError"));
}

/* The shimmed program is the server (mode: prog_start()'s); s_client updates. */
static void server_case(struct __test_metadata *_metadata,
			FIXTURE_DATA(pk) *self, const char *mode)
{
	char hp[32];
	char *argv[] = { "openssl", "s_client", "-connect", hp,
		"-CAfile", TEST_CERT, "-verify_return_error", "-tls1_3", NULL };

	prog_start(_metadata, self, mode);
	ASSERT_EQ(0, wait_listen(self->port, WAIT_MS));
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->ossl, argv));
	updates(_metadata, self, 1);
}

TEST_F_TIMEOUT(pk, server_follows_s_client, 180)
{
	RETURN_IF_SKIPPED();
	server_case(_metadata, self, "accept");
}

/* After fork() the child owns the connection, and follows the updates. */
TEST_F_TIMEOUT(pk, forked_child_follows_s_client, 180)
{
	RETURN_IF_SKIPPED();
	server_case(_metadata, self, "fork");
}

/*
 * After fork() the parent no longer has the secrets (the child owns the
 * connection): it cannot follow, and says so as an older kernel would.
 */
TEST_F_TIMEOUT(pk, parent_after_fork_resets, 180)
{
	RETURN_IF_SKIPPED();
	self->follows = 0;
	server_case(_metadata, self, "parent");
}

/* The shimmed program is the client; s_server updates its keys. */
TEST_F_TIMEOUT(pk, client_follows_s_server, 180)
{
	char hp[32];
	char *argv[] = { "openssl", "s_server", "-accept", hp, "-naccept", "1",
		"-cert", TEST_CERT, "-key", TEST_KEY, "-tls1_3", NULL };

	RETURN_IF_SKIPPED();
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", self->port);
	ASSERT_EQ(0, peer_spawn(&self->ossl, argv));
	ASSERT_EQ(0, wait_listen(self->port, WAIT_MS));
	prog_start(_metadata, self, "connect");
	updates(_metadata, self, 0);
}

TEST_HARNESS_MAIN
