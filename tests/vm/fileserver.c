// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * examples/ktls-fileserver behind a real ktlsd, fetched by curl and
 * openssl s_client: several files over one kept-alive connection, HEAD,
 * 404 and 405, paths that try to leave the root, a FIFO never opened,
 * pipelined requests, six clients at once on a pool of two threads, and a
 * 64 MiB download, every byte compared, with the
 * kernel's TLS counters showing that the kernel did the record layer.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"

#define WEB_PROFILE							\
	"[profile web]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 60000\n"

#define DIR_LEN	128	/* the fixtures' root and out */

FIXTURE(fs)
{
	struct daemon d;
	struct peer srv;
	char root[DIR_LEN], url[128], out[DIR_LEN];
	int port;
};

static void put_file(struct __test_metadata *_metadata, const char *dir,
		     const char *name, size_t len, uint64_t seed)
{
	char path[256];
	char *buf = malloc(len ? len : 1);
	int fd;

	ASSERT_NE(NULL, buf);
	fill_pattern(buf, len, seed, 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, write_full(fd, buf, len));
	close(fd);
	free(buf);
}

/*
 * ktlsd with profiles, a root with a.txt and b.bin (more may follow), and
 * the file server started with mode (its way to its connections: "-l
 * ADDR -p PROFILE" or "-a PROFILE") until it prints ready; its line in
 * banner.
 */
static void start_server(struct __test_metadata *_metadata,
			 struct daemon *d, struct peer *srv, char *root,
			 char *out, const char *profiles,
			 const char *const mode[4], const char *ready,
			 char *banner, size_t banner_len)
{
	char bin[PATH_MAX], lsock[160], *argv[11] = { bin };
	int i, n = 1;

	srv->pid = -1;
	srv->in = srv->out = -1;
	daemon_start(_metadata, d, profiles, 64);
	snprintf(lsock, sizeof(lsock), "%s", d->sock);
	snprintf(root, DIR_LEN, "%s/www", d->dir);
	snprintf(out, DIR_LEN, "%s/out", d->dir);
	ASSERT_EQ(0, mkdir(root, 0755));
	ASSERT_EQ(0, mkdir(out, 0755));
	put_file(_metadata, root, "a.txt", 1000, 1);
	put_file(_metadata, root, "b.bin", 300000, 2);
	ASSERT_EQ(0, build_tool_path(bin, sizeof(bin),
				     "examples/ktls-fileserver",
				     "KTLS_FILESERVER"));
	for (i = 0; i < 4 && mode[i]; i++)
		argv[n++] = (char *)mode[i];
	argv[n++] = "-s";
	argv[n++] = lsock;
	argv[n++] = "-t";
	argv[n++] = "2";
	argv[n] = root;		/* and NULL after it */
	ASSERT_EQ(0, peer_spawn(srv, argv));
	ASSERT_TRUE(peer_expect(srv, ready, banner, banner_len, 20000))
		TH_LOG("the file server did not start: %s", banner);
}

FIXTURE_SETUP(fs)
{
	static const char *const mode[4] = { "-l", "127.0.0.1:0", "-p", "web" };
	char banner[256], *p;

	start_server(_metadata, &self->d, &self->srv, self->root, self->out,
		     WEB_PROFILE, mode, "listening on", banner, sizeof(banner));
	put_file(_metadata, self->root, "index.html", 10, 3);
	p = strrchr(banner, ':');
	ASSERT_NE(NULL, p);
	self->port = atoi(p + 1);
	ASSERT_LT(0, self->port);
	snprintf(self->url, sizeof(self->url), "https://localhost:%d",
		 self->port);
}

FIXTURE_TEARDOWN(fs)
{
	peer_stop(&self->srv);
	daemon_stop(_metadata, &self->d);
}

/* Run a shell command; its stdout (malloc'd) and exit status. */
static char *sh(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap + 1);

	if (!f || !buf) {
		*status = -1;
		return buf;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap)
			break;
	}
	buf[len] = 0;
	*status = pclose(f);
	return buf;
}

/* A file of the root and a downloaded one are the same bytes. */
static int same_file(const char *a, const char *b)
{
	char cmd[600];
	int status;

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	status = system(cmd);
	return status == 0;
}

/* File name of directory root was served as got in directory out. */
static int served(const char *root, const char *name, const char *out,
		  const char *got)
{
	char a[256], b[256];

	snprintf(a, sizeof(a), "%s/%s", root, name);
	snprintf(b, sizeof(b), "%s/%s", out, got);
	return same_file(a, b);
}

#define CURL_OPTS "-sS --max-time 300 --cacert " TEST_CERT " "
#define CURL "curl " CURL_OPTS

#define SKIP_IF_NO_KTLS() do {						\
	if (!host_has_ktls())						\
		SKIP(return, "kTLS: the kernel has no TLS ULP");	\
} while (0)

/* Three files over one connection: the second and third open none. */
TEST_F_TIMEOUT(fs, files_over_one_kept_alive_connection, 300)
{
	char cmd[2048];
	long long before = tls_stat("TlsTxSw");
	int status;
	char *out;

	SKIP_IF_NO_KTLS();
	snprintf(cmd, sizeof(cmd), CURL "-w '%%{http_code} %%{size_download} "
		 "%%{num_connects}\\n' -o %s/a.txt %s/a.txt -o %s/b.bin "
		 "%s/b.bin -o %s/i.html %s/", self->out, self->url, self->out,
		 self->url, self->out, self->url);
	out = sh(cmd, &status);
	ASSERT_EQ(0, status) TH_LOG("curl: %s", out);
	EXPECT_STREQ("200 1000 1\n200 300000 0\n200 10 0\n", out);
	free(out);
	EXPECT_TRUE(served(self->root, "a.txt", self->out, "a.txt"));
	EXPECT_TRUE(served(self->root, "b.bin", self->out, "b.bin"));
	EXPECT_TRUE(served(self->root, "index.html", self->out, "i.html"));
	/* One connection, one kTLS TX context, and it was the kernel's. */
	EXPECT_EQ(before + 1, tls_stat("TlsTxSw"));
	EXPECT_EQ(1, log_count(&self->d, "kTLS TX sw RX sw"))
		TH_LOG("ktlsd: %s", log_tail(&self->d));
}

/*
 * Six slow downloads at once, served by -t 2: the main thread and two
 * serving threads the whole time (no thread per client), every byte right.
 */
TEST_F_TIMEOUT(fs, six_clients_on_a_pool_of_two, 300)
{
	char cmd[4096], a[256], b[256];
	int status, i, most = 0, n;
	size_t off = 0;
	FILE *f;

	SKIP_IF_NO_KTLS();
	off += snprintf(cmd + off, sizeof(cmd) - off, "(");
	for (i = 0; i < 6; i++)
		off += snprintf(cmd + off, sizeof(cmd) - off, CURL "--limit-rate "
				"100k -o %s/b%d.bin %s/b.bin & ", self->out, i,
				self->url);
	snprintf(cmd + off, sizeof(cmd) - off, "wait) 2>&1; echo done");
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	/* curl's rate limit keeps all six open for ~3 s: look meanwhile. */
	for (i = 0; i < 20; i++) {
		usleep(200 * 1000);
		n = proc_status(self->srv.pid, "Threads");
		if (n > most)
			most = n;
	}
	while (fgets(a, sizeof(a), f))
		TH_LOG("curl: %s", a);
	status = pclose(f);
	ASSERT_EQ(0, status);
	EXPECT_EQ(3, most);
	snprintf(a, sizeof(a), "%s/b.bin", self->root);
	for (i = 0; i < 6; i++) {
		snprintf(b, sizeof(b), "%s/b%d.bin", self->out, i);
		EXPECT_TRUE(same_file(a, b)) TH_LOG("%s", b);
	}
}

TEST_F_TIMEOUT(fs, head_has_length_and_no_body, 120)
{
	char cmd[1024];
	int status;
	char *out;

	SKIP_IF_NO_KTLS();
	snprintf(cmd, sizeof(cmd), CURL "-I %s/b.bin", self->url);
	out = sh(cmd, &status);
	ASSERT_EQ(0, status) TH_LOG("curl: %s", out);
	EXPECT_EQ(0, strncmp(out, "HTTP/1.1 200", 12)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strcasestr(out, "Content-Length: 300000\r\n"))
		TH_LOG("%s", out);
	free(out);
}

TEST_F_TIMEOUT(fs, missing_file_and_wrong_method, 120)
{
	char cmd[1024];
	int status;
	char *out;

	SKIP_IF_NO_KTLS();
	/* curl's -X counts for every URL: --next starts afresh. */
	snprintf(cmd, sizeof(cmd), CURL "-o /dev/null -w '%%{http_code}\\n' "
		 "%s/nothing-here --next " CURL_OPTS "-o /dev/null "
		 "-w '%%{http_code}\\n' -X DELETE %s/a.txt", self->url,
		 self->url);
	out = sh(cmd, &status);
	ASSERT_EQ(0, status) TH_LOG("curl: %s", out);
	EXPECT_STREQ("404\n405\n", out);
	free(out);
}

/* Nothing outside the root comes back, however the path is spelt. */
TEST_F_TIMEOUT(fs, no_path_leaves_the_root, 120)
{
	const char *paths[] = { "/../../../../etc/passwd",
				"/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
				"/..%2f..%2f..%2fetc/passwd", "/out", "/link" };
	char cmd[1024], link_path[256];
	int status;
	size_t i;
	char *out;

	SKIP_IF_NO_KTLS();
	snprintf(link_path, sizeof(link_path), "%s/link", self->root);
	ASSERT_EQ(0, symlink("/etc/passwd", link_path));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(cmd, sizeof(cmd), CURL "--path-as-is -w ' %%{http_code}' "
			 "%s%s", self->url, paths[i]);
		out = sh(cmd, &status);
		ASSERT_EQ(0, status) TH_LOG("%s: %s", paths[i], out);
		EXPECT_EQ(NULL, strstr(out, "root:")) TH_LOG("%s leaked", paths[i]);
		EXPECT_TRUE(strstr(out, " 403") || strstr(out, " 404"))
			TH_LOG("%s: %s", paths[i], out);
		free(out);
	}
}

/* Whether pid is asleep in openat(2) (257 on x86-64). */
static int in_openat(pid_t pid)
{
	char path[64], buf[64] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return !strncmp(buf, "257 ", 4);
}

/*
 * A FIFO beneath the root is answered 404 without being opened for
 * reading: an open would let a writer waiting for a reader go on (opening
 * a device node may act on the device). The writer here still waits.
 */
TEST_F_TIMEOUT(fs, fifo_is_never_opened, 120)
{
	char fifo[256], cmd[1024];
	int64_t end;
	int status;
	pid_t writer;
	char *out;

	SKIP_IF_NO_KTLS();
	snprintf(fifo, sizeof(fifo), "%s/pipe", self->root);
	ASSERT_EQ(0, mkfifo(fifo, 0644));
	writer = fork();
	ASSERT_LE(0, writer);
	if (writer == 0)
		_exit(open(fifo, O_WRONLY | O_CLOEXEC) >= 0 ? 0 : 1);
	for (end = ms_now() + 10000; !in_openat(writer) && ms_now() < end;)
		sleep_ms(10);
	ASSERT_TRUE(in_openat(writer)) TH_LOG("the writer is not waiting");

	snprintf(cmd, sizeof(cmd), CURL "-o /dev/null -w '%%{http_code}' "
		 "%s/pipe", self->url);
	out = sh(cmd, &status);
	EXPECT_EQ(0, status) TH_LOG("curl: %s", out);
	EXPECT_STREQ("404", out);
	free(out);
	/* Had the server opened it, the writer's open() would return now. */
	for (end = ms_now() + 1000; ms_now() < end;) {
		if (waitpid(writer, &status, WNOHANG) == writer)
			break;
		sleep_ms(20);
	}
	EXPECT_TRUE(in_openat(writer)) TH_LOG("the server opened the FIFO");
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
}

/*
 * Absolute-form targets (RFC 9112, 3.2.2): the path starts after the
 * authority, which a query or fragment also ends; with no path, "/".
 */
TEST_F_TIMEOUT(fs, absolute_form_targets, 120)
{
	static const struct {
		const char *target;
		const char *got;	/* status, bytes downloaded */
	} t[] = {
		{ "http://x/a.txt", "200 1000" },
		{ "HTTPS://x:1/a.txt?q", "200 1000" },
		{ "http://x?/a.txt", "200 10" },	/* the query: index.html */
		{ "http://x#/a.txt", "200 10" },
		{ "http://x", "200 10" },
	};
	char cmd[1024];
	int status;
	size_t i;
	char *out;

	SKIP_IF_NO_KTLS();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(cmd, sizeof(cmd), CURL "-o /dev/null --request-target '%s' "
			 "-w '%%{http_code} %%{size_download}' %s/",
			 t[i].target, self->url);
		out = sh(cmd, &status);
		ASSERT_EQ(0, status) TH_LOG("%s: %s", t[i].target, out);
		EXPECT_STREQ(t[i].got, out) TH_LOG("%s", t[i].target);
		free(out);
	}
}

/* Two requests written at once; s_client knows nothing of HTTP. */
TEST_F_TIMEOUT(fs, pipelined_requests_from_openssl, 120)
{
	char hostport[64], reply[8192];
	char *cli[] = { "openssl", "s_client", "-connect", hostport, "-quiet",
		"-CAfile", TEST_CERT, "-verify_return_error", NULL };
	const char *req = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
			  "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n"
			  "Connection: close\r\n\r\n";
	struct peer cl = { .pid = -1, .in = -1, .out = -1, .data_only = 1 };
	char body[11], path[256];
	int fd;

	SKIP_IF_NO_KTLS();
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", self->port);
	snprintf(path, sizeof(path), "%s/index.html", self->root);
	fd = open(path, O_RDONLY);
	ASSERT_EQ(10, read(fd, body, 10));
	close(fd);
	body[10] = 0;
	ASSERT_EQ(0, peer_spawn(&cl, cli));
	ASSERT_EQ((ssize_t)strlen(req), write(cl.in, req, strlen(req)));
	peer_expect(&cl, "Connection: close\r\n\r\n", reply, sizeof(reply),
		    60000);
	/* The server closes after the second answer: s_client exits. */
	EXPECT_EQ(0, peer_wait(&cl, 30000)) TH_LOG("%s", reply);
	peer_stop(&cl);
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 200", 12)) TH_LOG("%s", reply);
	EXPECT_NE(NULL, strstr(reply, "Content-Length: 10\r\n"));
	EXPECT_NE(NULL, memmem(reply, sizeof(reply), body, 10));
	EXPECT_NE(NULL, strstr(strstr(reply, "\r\n\r\n") ?: reply,
			       "HTTP/1.1 200"))
		TH_LOG("no second answer: %s", reply);
	EXPECT_NE(NULL, strstr(reply, "Content-Length: 1000\r\n"));
}

TEST_F_TIMEOUT(fs, download_64_mib, 600)
{
	char cmd[1024];
	int status;
	char *out;

	SKIP_IF_NO_KTLS();
	put_file(_metadata, self->root, "big.bin", 64 << 20, 4);
	snprintf(cmd, sizeof(cmd), CURL "-o %s/big.bin -w '%%{http_code} "
		 "%%{size_download}\\n' %s/big.bin && sha256sum %s/big.bin "
		 "%s/big.bin | cut -d' ' -f1 | uniq | wc -l", self->out,
		 self->url, self->root, self->out);
	out = sh(cmd, &status);
	ASSERT_EQ(0, status) TH_LOG("%s", out);
	/* curl's line, then one distinct SHA-256 for the two files. */
	EXPECT_STREQ("200 67108864\n1\n", out);
	free(out);
	EXPECT_TRUE(served(self->root, "big.bin", self->out, "big.bin"));
}

/* ---- -a: ktlsd listens (accept mode), the file server subscribes ---- */

#define ACCEPT_PORT "18480"

FIXTURE(fsa)
{
	struct daemon d;
	struct peer srv;
	char root[DIR_LEN], out[DIR_LEN];
};

FIXTURE_SETUP(fsa)
{
	static const char *const mode[4] = { "-a", "web" };
	char banner[256];

	start_server(_metadata, &self->d, &self->srv, self->root, self->out,
		     WEB_PROFILE "listen = 127.0.0.1:" ACCEPT_PORT "\n", mode,
		     "subscribed to profile web", banner, sizeof(banner));
}

FIXTURE_TEARDOWN(fsa)
{
	peer_stop(&self->srv);
	daemon_stop(_metadata, &self->d);
}

/* Two connections to ktlsd's port, each file byte for byte. */
TEST_F_TIMEOUT(fsa, files_through_ktlsd_listener, 300)
{
	char cmd[2048];
	long long before = tls_stat("TlsTxSw");
	int status;
	char *out;

	SKIP_IF_NO_KTLS();
	snprintf(cmd, sizeof(cmd), CURL "-w '%%{http_code} %%{size_download} "
		 "%%{num_connects}\\n' -o %s/a.txt https://localhost:"
		 ACCEPT_PORT "/a.txt -o %s/b.bin https://localhost:" ACCEPT_PORT
		 "/b.bin && " CURL "-w '%%{http_code}\\n' -o %s/b2.bin "
		 "https://localhost:" ACCEPT_PORT "/b.bin", self->out,
		 self->out, self->out);
	out = sh(cmd, &status);
	ASSERT_EQ(0, status) TH_LOG("curl: %s", out);
	EXPECT_STREQ("200 1000 1\n200 300000 0\n200\n", out);
	free(out);
	EXPECT_TRUE(served(self->root, "a.txt", self->out, "a.txt"));
	EXPECT_TRUE(served(self->root, "b.bin", self->out, "b.bin"));
	EXPECT_TRUE(served(self->root, "b.bin", self->out, "b2.bin"));
	/* Two connections, both handshaken by ktlsd, kTLS by the kernel. */
	EXPECT_EQ(before + 2, tls_stat("TlsTxSw"));
	EXPECT_EQ(2, log_count(&self->d, "kTLS TX sw RX sw"))
		TH_LOG("ktlsd: %s", log_tail(&self->d));
}

TEST_HARNESS_MAIN
