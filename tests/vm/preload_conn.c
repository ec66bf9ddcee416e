// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libktls-preload.so on single connections: the client side (Python's
 * urllib, blocking, and curl http://, non-blocking connect, to openssl
 * s_server -WWW through a relay that records the client's bytes: no
 * plaintext on the wire; without ktlsd the connect fails), and the
 * bookkeeping of a server's descriptors across dup (F_DUPFD_CLOEXEC),
 * dup2, dup3, fork and exec, each checked by a Python ssl client that
 * wants its echo and then a close_notify (a TCP end without one is an
 * error there). A peer's KeyUpdate: tests/vm/preload_keyupdate.c.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "preload_util.h"

#define MID (1u << 20)

/* The server under the shim: one connection, its descriptor as argv[2] says. */
static const char fd_server[] =
	"import os, socket, sys\n"
	"def serve(fd):\n"
	"    data = b''\n"
	"    while not data.endswith(b'\\n'):\n"
	"        d = os.read(fd, 100)\n"
	"        if not d:\n"
	"            break\n"
	"        data += d\n"
	"    os.write(fd, b'echo:' + data)\n"
	"    os.close(fd)\n"
	"if sys.argv[1] == 'serve':\n"
	"    serve(int(sys.argv[2]))\n"
	"    sys.exit(0)\n"
	"port, mode = int(sys.argv[1]), sys.argv[2]\n"
	"ls = socket.socket()\n"
	"ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	"ls.bind(('127.0.0.1', port))\n"
	"ls.listen(8)\n"
	"c, _ = ls.accept()\n"
	"fd = c.detach()\n"
	"if mode == 'dup':\n"
	"    n = os.dup(fd); os.close(fd); fd = n\n"
	"elif mode == 'dup2':\n"
	"    os.dup2(fd, 100); os.close(fd); fd = 100\n"
	"elif mode == 'dup3':\n"
	"    os.dup2(fd, 101, inheritable=False); os.close(fd); fd = 101\n"
	"elif mode == 'fork':\n"
	"    pid = os.fork()\n"
	"    if pid:\n"
	"        os.close(fd); os.waitpid(pid, 0); sys.exit(0)\n"
	"elif mode == 'exec':\n"
	"    os.set_inheritable(fd, True)\n"
	"    os.execv(sys.executable, [sys.executable, sys.argv[0], 'serve', str(fd)])\n"
	"serve(fd)\n";

/* The client: exit 0 for its echo followed by a close_notify. */
static const char tls_client[] =
	"import socket, ssl, sys\n"
	"ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
	"s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=60)\n"
	"t = ctx.wrap_socket(s, server_hostname='localhost', suppress_ragged_eofs=False)\n"
	"t.sendall(b'ping\\n')\n"
	"got = b''\n"
	"try:\n"
	"    while True:\n"
	"        d = t.recv(100)\n"
	"        if not d:\n"
	"            break\n"
	"        got += d\n"
	"except ssl.SSLEOFError:\n"
	"    print('TCP end without close_notify after', got)\n"
	"    sys.exit(2)\n"
	"print('got', got)\n"
	"sys.exit(0 if got == b'echo:ping\\n' else 1)\n";

FIXTURE(pc)
{
	struct daemon d;
	struct relay r;
	pid_t srv;
	int port, relay_on;
	char so[PATH_MAX], www[160], log[160], env[PATH_MAX + 512];
};

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n = (ssize_t)strlen(text);
	int ok;

	if (fd < 0)
		return -errno;
	ok = write_full(fd, text, n) == n;
	close(fd);
	return ok ? 0 : -EIO;
}

FIXTURE_SETUP(pc)
{
	char path[256];

	self->srv = 0;
	self->relay_on = 0;
	NEED("python3");
	daemon_start(_metadata, &self->d, PRELOAD_PROFILES, 64);
	ASSERT_EQ(0, build_tool_path(self->so, sizeof(self->so),
				     "libktls-preload.so", "KTLS_PRELOAD_SO"));
	snprintf(self->www, sizeof(self->www), "%s/www", self->d.dir);
	snprintf(self->log, sizeof(self->log), "%s/server.log", self->d.dir);
	ASSERT_EQ(0, mkdir(self->www, 0755));
	ASSERT_EQ(0, put_file(self->www, "mid", MID, 5));
	snprintf(path, sizeof(path), "%s/fdsrv.py", self->d.dir);
	ASSERT_EQ(0, write_text(path, fd_server));
	snprintf(path, sizeof(path), "%s/client.py", self->d.dir);
	ASSERT_EQ(0, write_text(path, tls_client));
	self->port = free_port();
	ASSERT_LT(0, self->port);
}

FIXTURE_TEARDOWN(pc)
{
	if (self->relay_on)
		relay_stop(&self->r);
	server_stop(self->srv);
	if (self->d.pid > 0 && (!_metadata->passed || getenv("KTLSD_TEST_KEEP")))
		run_shell("tail -n 20 %s >&2", self->log);
	if (self->d.pid) {
		run_shell("rm -rf %s", self->www);
		unlink(self->log);
		daemon_stop(_metadata, &self->d);
	}
}

/* ---- the server side: descriptors ---- */

static void fd_case(struct __test_metadata *_metadata,
		    FIXTURE_DATA(pc) *self, const char *mode)
{
	int st;

	self->srv = server_start(self->log,
		"exec env LD_PRELOAD=%s KTLS_HANDOFF_SOCKET=%s KTLS_PRELOAD_ACCEPT=%d=web python3 -u %s/fdsrv.py %d %s",
		self->so, self->d.sock, self->port, self->d.dir, self->port,
		mode);
	ASSERT_EQ(0, wait_listen(self->port, 30000));
	st = run_shell("timeout 120 python3 %s/client.py %d %s >>%s 2>&1",
		       self->d.dir, self->port, TEST_CERT, self->log);
	EXPECT_EQ(0, st) TH_LOG("%s: 1: wrong echo, 2: no close_notify", mode);
}

TEST_F_TIMEOUT(pc, plain, 120) { fd_case(_metadata, self, "plain"); }
TEST_F_TIMEOUT(pc, dup, 120) { fd_case(_metadata, self, "dup"); }
TEST_F_TIMEOUT(pc, dup2, 120) { fd_case(_metadata, self, "dup2"); }
TEST_F_TIMEOUT(pc, dup3, 120) { fd_case(_metadata, self, "dup3"); }
TEST_F_TIMEOUT(pc, fork, 120) { fd_case(_metadata, self, "fork"); }
TEST_F_TIMEOUT(pc, exec, 120) { fd_case(_metadata, self, "exec"); }

/* ---- the client side ---- */

static void s_server_start(struct __test_metadata *_metadata,
			   FIXTURE_DATA(pc) *self)
{
	self->srv = server_start(self->log,
		"cd %s && exec openssl s_server -WWW -accept 127.0.0.1:%d -cert %s -key %s",
		self->www, self->port, TEST_CERT, TEST_KEY);
	ASSERT_EQ(0, wait_listen(self->port, 30000));
	ASSERT_EQ(0, relay_start(&self->r, self->port));
	self->relay_on = 1;
	snprintf(self->env, sizeof(self->env),
		 "LD_PRELOAD=%s KTLS_HANDOFF_SOCKET=%s KTLS_PRELOAD_CONNECT=127.0.0.1:%d=out",
		 self->so, self->d.sock, self->r.port);
}

/* What the client sent was TLS from its first byte, and no request in clear. */
static void wire_is_tls(struct __test_metadata *_metadata, struct relay *r)
{
	ASSERT_LT(0, (int)r->len);
	EXPECT_EQ(0x16, r->wire[0]);	/* a handshake record */
	EXPECT_EQ(0, relay_saw(r, "GET /"));
	EXPECT_EQ(0, relay_saw(r, "HTTP/1"));
}

TEST_F_TIMEOUT(pc, relay_sees_plaintext, 120)
{
	/* The check below can fail: without the shim the request is plain. */
	s_server_start(_metadata, self);
	run_shell("curl -s --max-time 20 -o /dev/null http://127.0.0.1:%d/mid",
		  self->r.port);
	EXPECT_EQ(1, relay_saw(&self->r, "GET /mid"));
}

TEST_F_TIMEOUT(pc, client_urllib_blocking, 180)
{
	char out[200];

	s_server_start(_metadata, self);
	snprintf(out, sizeof(out), "%s/got", self->d.dir);
	ASSERT_EQ(0, run_shell("env %s timeout 120 python3 -c "
		"\"import urllib.request, sys; open(sys.argv[2], 'wb').write(urllib.request.urlopen(sys.argv[1]).read())\" "
		"http://127.0.0.1:%d/mid %s >>%s 2>&1",
		self->env, self->r.port, out, self->log));
	EXPECT_EQ(-1, file_differs(out, MID, 5));
	wire_is_tls(_metadata, &self->r);
	unlink(out);
}

TEST_F_TIMEOUT(pc, client_curl_nonblocking, 180)
{
	char out[200];

	s_server_start(_metadata, self);
	snprintf(out, sizeof(out), "%s/got", self->d.dir);
	ASSERT_EQ(0, run_shell("env %s curl -sS --max-time 120 -o %s http://127.0.0.1:%d/mid >>%s 2>&1",
			       self->env, out, self->r.port, self->log));
	EXPECT_EQ(-1, file_differs(out, MID, 5));
	wire_is_tls(_metadata, &self->r);
	unlink(out);
}

TEST_F_TIMEOUT(pc, client_without_ktlsd, 120)
{
	s_server_start(_metadata, self);
	snprintf(self->env, sizeof(self->env),
		 "LD_PRELOAD=%s KTLS_HANDOFF_SOCKET=%s/none KTLS_PRELOAD_CONNECT=127.0.0.1:%d=out",
		 self->so, self->d.dir, self->r.port);
	EXPECT_EQ(7, run_shell("env %s curl -sS --max-time 60 -o /dev/null http://127.0.0.1:%d/mid >>%s 2>&1",
			       self->env, self->r.port, self->log));
	EXPECT_EQ(0, run_shell("grep -q 'connect refused: no ktlsd' %s", self->log));
	sleep_ms(500);
	EXPECT_EQ(0, (int)self->r.len) TH_LOG("the client sent bytes without TLS");
}

TEST_HARNESS_MAIN
