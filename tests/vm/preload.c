// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libktls-preload.so on programs nobody here wrote, with a real ktlsd:
 * Python's http.server (blocking) and nginx (epoll, non-blocking, a master
 * and workers) and busybox httpd (fork per connection) served over TLS to
 * curl and openssl s_client; without ktlsd, refused and said once. Every
 * download is compared byte for byte with the pattern it was written
 * from, and the kernel's counters show that the kernel did the records.
 * Needs the trixie root (nginx); elsewhere the tests whose program is
 * missing skip, unless KTLSD_PRELOAD_REQUIRED=1.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "preload_util.h"

#define BIG (32u << 20)
#define SMALL (64u << 10)

FIXTURE(pl)
{
	struct daemon d;
	pid_t srv;
	int port;
	char so[PATH_MAX], www[160], out[160], log[160], env[PATH_MAX + 512];
};

FIXTURE_SETUP(pl)
{
	self->srv = 0;
	daemon_start(_metadata, &self->d, PRELOAD_PROFILES, 256);
	ASSERT_EQ(0, build_tool_path(self->so, sizeof(self->so),
				     "libktls-preload.so", "KTLS_PRELOAD_SO"));
	ASSERT_EQ(0, access(self->so, R_OK));
	snprintf(self->www, sizeof(self->www), "%s/www", self->d.dir);
	snprintf(self->out, sizeof(self->out), "%s/out", self->d.dir);
	snprintf(self->log, sizeof(self->log), "%s/server.log", self->d.dir);
	ASSERT_EQ(0, mkdir(self->www, 0755));
	ASSERT_EQ(0, mkdir(self->out, 0755));
	ASSERT_EQ(0, put_file(self->www, "small", SMALL, 7));
	self->port = free_port();
	ASSERT_LT(0, self->port);
	snprintf(self->env, sizeof(self->env),
		 "LD_PRELOAD=%s KTLS_HANDOFF_SOCKET=%s KTLS_PRELOAD_ACCEPT=%d=web",
		 self->so, self->d.sock, self->port);
}

FIXTURE_TEARDOWN(pl)
{
	if (self->srv > 0) {
		server_stop(self->srv);
		if (!_metadata->passed || getenv("KTLSD_TEST_KEEP"))
			run_shell("tail -n 20 %s >&2", self->log);
	}
	run_shell("rm -rf %s %s", self->www, self->out);
	unlink(self->log);
	daemon_stop(_metadata, &self->d);
}

#define CURL "curl -sS --fail --cacert " TEST_CERT " --max-time 120 "

/* Fetch name over TLS into out/as, with extra curl options: curl's status. */
static int fetch(FIXTURE_DATA(pl) *self, const char *name, const char *as,
		 const char *opts)
{
	return run_shell(CURL "%s -o %s/%s https://localhost:%d/%s",
			 opts, self->out, as, self->port, name);
}

static long long fetched(FIXTURE_DATA(pl) *self, const char *as, size_t len,
			 uint64_t seed)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", self->out, as);
	return file_differs(path, len, seed);
}

TEST_F_TIMEOUT(pl, python_blocking_32m, 300)
{
	long long tx0 = tls_stat("TlsTxSw");

	NEED("python3");
	ASSERT_EQ(0, put_file(self->www, "big", BIG, 11));
	self->srv = server_start(self->log,
		"exec env %s python3 -m http.server %d --bind 127.0.0.1 --directory %s",
		self->env, self->port, self->www);
	ASSERT_EQ(0, wait_listen(self->port, 30000));
	ASSERT_EQ(0, fetch(self, "big", "big", ""));
	EXPECT_EQ(-1, fetched(self, "big", BIG, 11));
	/* A second connection: the listener goes on. */
	ASSERT_EQ(0, fetch(self, "small", "small", ""));
	EXPECT_EQ(-1, fetched(self, "small", SMALL, 7));
	/* The kernel encrypted what went out: at least one record per 16 KiB. */
	EXPECT_LE(tx0 + 2, tls_stat("TlsTxSw"));
	EXPECT_EQ(0, run_shell("! grep -q ktls-preload %s", self->log))
		TH_LOG("the shim complained: see %s", self->log);
}

/* nginx with a plain listen and sendfile, a master and two workers. */
static void nginx_conf(struct __test_metadata *_metadata,
		       FIXTURE_DATA(pl) *self)
{
	char path[256], text[2048];
	int fd, n;

	n = snprintf(text, sizeof(text),
		"%s"
		"worker_processes 2;\n"
		"daemon off;\n"
		"master_process on;\n"
		"pid %s/nginx.pid;\n"
		"error_log %s/nginx.err warn;\n"
		"events { worker_connections 1024; }\n"
		"http {\n"
		"	access_log off;\n"
		"	sendfile on;\n"
		"	keepalive_timeout 60s;\n"
		"	default_type application/octet-stream;\n"
		"	client_body_temp_path %s/tmp;\n"
		"	server {\n"
		"		listen 127.0.0.1:%d backlog=1024;\n"
		"		root %s;\n"
		"	}\n"
		"}\n",
		geteuid() ? "" : "user root;\n", self->d.dir, self->d.dir,
		self->d.dir, self->port, self->www);
	snprintf(path, sizeof(path), "%s/nginx.conf", self->d.dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(n, write_full(fd, text, n));
	close(fd);
}

static void nginx_start(struct __test_metadata *_metadata,
			FIXTURE_DATA(pl) *self)
{
	NEED("nginx");
	nginx_conf(_metadata, self);
	self->srv = server_start(self->log,
		"exec env %s nginx -p %s/ -e %s/nginx.err -c %s/nginx.conf",
		self->env, self->d.dir, self->d.dir, self->d.dir);
	ASSERT_EQ(0, wait_listen(self->port, 30000))
		TH_LOG("nginx did not listen");
}

TEST_F_TIMEOUT(pl, nginx_event_loop, 300)
{
	nginx_start(_metadata, self);
	if (self->srv <= 0)
		return;
	ASSERT_EQ(0, put_file(self->www, "big", BIG, 11));
	ASSERT_EQ(0, fetch(self, "big", "big", ""));
	EXPECT_EQ(-1, fetched(self, "big", BIG, 11));
}

TEST_F_TIMEOUT(pl, nginx_keepalive, 120)
{
	char cmd[512];

	nginx_start(_metadata, self);
	if (self->srv <= 0)
		return;
	/* Two requests, one connection: curl says it reused it. */
	snprintf(cmd, sizeof(cmd),
		 CURL "-v -o %s/a https://localhost:%d/small -o %s/b https://localhost:%d/small 2>&1 | grep -q 'Re-using existing'",
		 self->out, self->port, self->out, self->port);
	EXPECT_EQ(0, run_shell("%s", cmd));
	EXPECT_EQ(-1, fetched(self, "a", SMALL, 7));
	EXPECT_EQ(-1, fetched(self, "b", SMALL, 7));
}

TEST_F_TIMEOUT(pl, nginx_200_parallel, 600)
{
	char cmd[1024];
	int i, bad = 0;

	nginx_start(_metadata, self);
	if (self->srv <= 0)
		return;
	/* 200 connections at once, each its own handshake (no reuse). */
	snprintf(cmd, sizeof(cmd),
		 "i=0; while [ $i -lt 200 ]; do echo \"url = https://localhost:%d/small\"; "
		 "echo \"output = %s/p$i\"; i=$((i+1)); done > %s/urls && "
		 CURL "--parallel --parallel-max 200 --parallel-immediate -K %s/urls",
		 self->port, self->out, self->d.dir, self->d.dir);
	ASSERT_EQ(0, run_shell("%s", cmd));
	for (i = 0; i < 200; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		bad += fetched(self, name, SMALL, 7) != -1;
	}
	EXPECT_EQ(0, bad);
}

TEST_F_TIMEOUT(pl, nginx_s_client, 120)
{
	nginx_start(_metadata, self);
	if (self->srv <= 0)
		return;
	ASSERT_EQ(0, run_shell("echo hello-through-ktlsd > %s/t.txt", self->www));
	EXPECT_EQ(0, run_shell(
		"printf 'GET /t.txt HTTP/1.0\\r\\n\\r\\n' | timeout 60 openssl s_client "
		"-connect 127.0.0.1:%d -CAfile %s -verify_return_error -quiet "
		"-ign_eof 2>/dev/null | grep -q hello-through-ktlsd",
		self->port, TEST_CERT));
}

TEST_F_TIMEOUT(pl, busybox_fork_per_connection, 120)
{
	NEED("busybox");
	ASSERT_EQ(0, put_file(self->www, "mid", 1u << 20, 5));
	self->srv = server_start(self->log,
		"exec env %s busybox httpd -f -p 127.0.0.1:%d -h %s",
		self->env, self->port, self->www);
	ASSERT_EQ(0, wait_listen(self->port, 30000));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, fetch(self, "mid", "mid", ""));
		EXPECT_EQ(-1, fetched(self, "mid", 1u << 20, 5));
		unlink("mid");
	}
}

TEST_F_TIMEOUT(pl, accept_without_ktlsd, 120)
{
	NEED("python3");
	snprintf(self->env, sizeof(self->env),
		 "LD_PRELOAD=%s KTLS_HANDOFF_SOCKET=%s/none KTLS_PRELOAD_ACCEPT=%d=web",
		 self->so, self->d.dir, self->port);
	self->srv = server_start(self->log,
		"exec env %s python3 -m http.server %d --bind 127.0.0.1 --directory %s",
		self->env, self->port, self->www);
	ASSERT_EQ(0, wait_listen(self->port, 30000));
	/* Neither TLS nor plaintext: the connection is closed. */
	EXPECT_NE(0, fetch(self, "small", "s1", ""));
	EXPECT_NE(0, run_shell("curl -sS --max-time 20 -o %s/s2 http://127.0.0.1:%d/small",
			       self->out, self->port));
	EXPECT_EQ(0, run_shell("[ ! -s %s/s2 ]", self->out));
	/* Said once, naming the reason. */
	EXPECT_EQ(0, run_shell("[ $(grep -c 'no ktlsd at its handoff socket' %s) = 1 ]",
			       self->log));
}

TEST_HARNESS_MAIN
