// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl status: a kTLS connection between two ktlsctl processes (listen
 * and connect) shows up as two rows, each with the TLS version, cipher,
 * "sw" both ways and its own process; --json says the same to a JSON
 * parser; another user sees none of root's sockets; the kernel's counters
 * follow the table with what they mean. A socket that ktlsd set up and
 * handed back is listed under the process that asked.
 */
#include <pwd.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"

#define CLIENT_PROFILE							\
	"[profile out]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"					\
	"handshake_timeout = 10000\n"

FIXTURE(st)
{
	struct daemon d;		/* started by the handoff test only */
	struct peer srv, cli;
	char path[PATH_MAX], hostport[64], port[16];
	char srv_out[8192], cli_out[8192];
	char out[65536];
};

FIXTURE_SETUP(st)
{
	int port;

	memset(&self->d, 0, sizeof(self->d));
	self->srv.pid = self->cli.pid = -1;
	self->srv.in = self->srv.out = self->cli.in = self->cli.out = -1;
	ASSERT_EQ(0, make_test_cert());
	ASSERT_EQ(0, ktlsctl_path(self->path, sizeof(self->path)));
	port = free_port();
	ASSERT_LT(0, port);
	snprintf(self->port, sizeof(self->port), "%d", port);
	snprintf(self->hostport, sizeof(self->hostport), "127.0.0.1:%d", port);
}

FIXTURE_TEARDOWN(st)
{
	peer_stop(&self->cli);
	peer_stop(&self->srv);
	daemon_stop(_metadata, &self->d);
}

/*
 * ktlsctl listen and connect, TLS 1.3 with AES-256-GCM, both in kTLS; the
 * client's handshake by ktlsd when handoff names its socket.
 */
static void connect_pair(struct __test_metadata *_metadata,
			 FIXTURE_DATA(st) *self, const char *handoff)
{
	char arg[200];
	char *srv[] = { self->path, "listen", self->hostport, "--cert", TEST_CERT,
		"--key", TEST_KEY, "--once", NULL };
	char *direct[] = { self->path, "connect", self->hostport, "--ca",
		TEST_CERT, "--sni", "localhost", "--tls-version", "1.3",
		"--cipher", "aes-256-gcm", NULL };
	char *via[] = { self->path, "connect", self->hostport, arg, "--profile",
		"out", NULL };
	char **cli = handoff ? via : direct;

	snprintf(arg, sizeof(arg), "--handoff=%s", handoff ? handoff : "");

	ASSERT_EQ(0, peer_spawn(&self->srv, srv));
	ASSERT_EQ(0, wait_listen(atoi(self->port), 10000));
	ASSERT_EQ(0, peer_spawn(&self->cli, cli));
	ASSERT_TRUE(peer_expect(&self->cli, "kTLS TX", self->cli_out,
				sizeof(self->cli_out), 20000))
		TH_LOG("ktlsctl connect said: %s", self->cli_out);
	if (strstr(self->cli_out, "no TLS support"))
		SKIP(return, "kTLS: the kernel has no TLS ULP");
	ASSERT_TRUE(peer_expect(&self->srv, "kTLS TX", self->srv_out,
				sizeof(self->srv_out), 20000))
		TH_LOG("ktlsctl listen said: %s", self->srv_out);
}

/* Run a shell command; its output (stdout and stderr) in self->out. */
static int run(FIXTURE_DATA(st) *self, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;

	self->out[0] = 0;
	if (!p)
		return -1;
	n = fread(self->out, 1, sizeof(self->out) - 1, p);
	self->out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The table's line that has both needles, or NULL. */
static const char *row(const char *text, const char *a, const char *b)
{
	static char line[512];
	const char *p = text, *nl;
	size_t n;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		n = nl - p < (long)sizeof(line) - 1 ? (size_t)(nl - p)
						    : sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		if (strstr(line, a) && strstr(line, b))
			return line;
		if (!*nl)
			break;
	}
	return NULL;
}

TEST_F_TIMEOUT(st, table_lists_both_ends, 120)
{
	char cmd[PATH_MAX + 16], local[80], owner[80];
	const char *r;

	connect_pair(_metadata, self, NULL);
	snprintf(cmd, sizeof(cmd), "%s status 2>&1", self->path);
	ASSERT_EQ(0, run(self, cmd)) TH_LOG("%s", self->out);
	/* The listener's end: local address is the port. */
	snprintf(local, sizeof(local), "%s ", self->hostport);
	snprintf(owner, sizeof(owner), "ktlsctl[%d]", self->srv.pid);
	r = row(self->out, local, owner);
	ASSERT_NE(NULL, r) TH_LOG("no row for %s held by %s in:\n%s", local,
				  owner, self->out);
	ASSERT_NE(NULL, strstr(r, " 1.3 ")) TH_LOG("%s", r);
	ASSERT_NE(NULL, strstr(r, " aes-256-gcm ")) TH_LOG("%s", r);
	ASSERT_NE(NULL, strstr(r, " sw        sw ")) TH_LOG("%s", r);
	/* The client's end: the port is its peer's. */
	snprintf(owner, sizeof(owner), "ktlsctl[%d]", self->cli.pid);
	r = row(self->out, owner, local);
	ASSERT_NE(NULL, r) TH_LOG("no row held by %s in:\n%s", owner, self->out);
	ASSERT_NE(NULL, strstr(r, " 1.3 ")) TH_LOG("%s", r);
	ASSERT_NE(NULL, strstr(r, " aes-256-gcm ")) TH_LOG("%s", r);
	/* Then the kernel's counters, explained. */
	ASSERT_NE(NULL, row(self->out, "TlsCurrTxSw", "open now, encrypted by "
			    "the kernel")) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, row(self->out, "TlsDecryptError", "failed to decrypt"));
}

/* A JSON parser reads --json; the two ends and their pids are there. */
TEST_F_TIMEOUT(st, json_parses, 120)
{
	char cmd[2 * PATH_MAX];

	connect_pair(_metadata, self, NULL);
	snprintf(cmd, sizeof(cmd), "%s status --json | python3 -c '"
		 "import json, sys\n"
		 "d = json.load(sys.stdin)\n"
		 "port = \":%s\"\n"
		 "mine = [s for s in d[\"sockets\"] if s[\"local\"].endswith(port)"
		 " or s[\"peer\"].endswith(port)]\n"
		 "pids = sorted(p[\"pid\"] for s in mine for p in s[\"processes\"])\n"
		 "print(len(mine), *sorted(set((s[\"version\"], s[\"cipher\"],"
		 " s[\"tx\"], s[\"rx\"]) for s in mine)), pids,"
		 " d[\"tls_stat\"][\"TlsCurrTxSw\"] >= 2, d[\"all_users\"])\n"
		 "' 2>&1", self->path, self->port);
	ASSERT_EQ(0, run(self, cmd)) TH_LOG("%s", self->out);
	snprintf(cmd, sizeof(cmd), "2 ('1.3', 'aes-256-gcm', 'sw', 'sw') "
		 "[%d, %d] True True\n", self->srv.pid < self->cli.pid ?
		 self->srv.pid : self->cli.pid, self->srv.pid < self->cli.pid ?
		 self->cli.pid : self->srv.pid);
	ASSERT_STREQ(cmd, self->out);
}

/*
 * nobody sees none of root's sockets. Before Linux 6.15 the kernel shows
 * the TLS block to CAP_NET_ADMIN only: then ktlsctl must say so.
 */
TEST_F_TIMEOUT(st, other_user_sees_only_own, 120)
{
	struct passwd *pw = getpwnam("nobody");
	char cmd[PATH_MAX + 80];

	ASSERT_NE(NULL, pw);
	connect_pair(_metadata, self, NULL);
	snprintf(cmd, sizeof(cmd), "setpriv --reuid=%u --regid=%u --clear-groups"
		 " %s status 2>&1", (unsigned)pw->pw_uid, (unsigned)pw->pw_gid,
		 self->path);
	ASSERT_EQ(0, run(self, cmd)) TH_LOG("%s", self->out);
	ASSERT_NULL(strstr(self->out, self->hostport)) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "(no kTLS sockets of yours)"))
		TH_LOG("%s", self->out);
	if (strstr(self->out, "CAP_NET_ADMIN only"))
		TH_LOG("this kernel withholds TLS details from other users");
	/* The counters are for everyone. */
	ASSERT_NE(NULL, strstr(self->out, "TlsCurrTxSw")) TH_LOG("%s", self->out);
}

/* ktlsd did the client's handshake: the socket is the requester's. */
TEST_F_TIMEOUT(st, handoff_socket_listed, 120)
{
	char cmd[PATH_MAX + 16], owner[80], peer[80];
	const char *r;

	daemon_start(_metadata, &self->d, CLIENT_PROFILE, 16);
	connect_pair(_metadata, self, self->d.sock);
	snprintf(cmd, sizeof(cmd), "%s status 2>&1", self->path);
	ASSERT_EQ(0, run(self, cmd)) TH_LOG("%s", self->out);
	snprintf(owner, sizeof(owner), "ktlsctl[%d]", self->cli.pid);
	snprintf(peer, sizeof(peer), " %s ", self->hostport);
	r = row(self->out, owner, peer);
	ASSERT_NE(NULL, r) TH_LOG("no row held by %s in:\n%s", owner, self->out);
	ASSERT_NE(NULL, strstr(r, " 1.3 ")) TH_LOG("%s", r);
	ASSERT_NE(NULL, strstr(r, " sw        sw ")) TH_LOG("%s", r);
	/* ktlsd closed its copy: it holds no kTLS socket. */
	snprintf(owner, sizeof(owner), "ktlsd-hs[%d]", self->d.hs);
	ASSERT_NULL(strstr(self->out, owner)) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
