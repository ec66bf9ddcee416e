// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A real ktlsd with metrics_file: after handoffs the file exists, mode
 * 0644, promtool accepts it and its counts are the handshakes done here;
 * `ktlsctl stats --prometheus` says the same; a reload keeps the file
 * coming, and a reload to an unwritable path is refused with FILE:LINE
 * while the old file goes on.
 */
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"

#include <ktls.h>

#define PROFILES							\
	"[profile web]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 10000\n"

#define HANDOFFS 3

/* ---- One handoff: ktlsd the server, a libktls client at the far end ---- */

struct far {
	int fd, ret;
	struct ktls_config *cfg;
	struct ktls_session *s;
};

static void *far_main(void *arg)
{
	struct far *f = arg;

	f->ret = ktls_session_handshake(f->s);
	if (f->ret)
		shutdown(f->fd, SHUT_WR);
	return NULL;
}

/* 0, or what failed, in msg. */
static int one_handoff(const char *sock, char *msg, size_t len)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	struct ktls_session *s = NULL;
	struct ktls_handoff *h = NULL;
	struct far f = { .ret = -1 };
	pthread_t th;
	int fds[2], ret, started = 0;

	snprintf(msg, len, "setting up");
	ret = tcp_pair(fds);
	if (ret)
		return ret;
	f.fd = fds[0];
	ret = ktls_config_new(&f.cfg, KTLS_CLIENT);
	if (!ret)
		ret = ktls_config_set_ca_file(f.cfg, TEST_CERT);
	if (!ret)
		ret = ktls_session_new(&f.s, f.cfg, f.fd);
	if (!ret)
		ret = ktls_session_set_server_name(f.s, "localhost");
	if (!ret)
		ret = -pthread_create(&th, NULL, far_main, &f);
	started = !ret;
	if (!ret)
		ret = ktls_handoff_open(&h, sock);
	if (!ret) {
		ret = ktls_handoff(h, fds[1], &req, &s);
		snprintf(msg, len, "handoff: %s", ktls_handoff_error(h));
	}
	if (ret)
		shutdown(fds[1], SHUT_RDWR);
	if (started)
		pthread_join(th, NULL);
	if (!ret && f.ret) {
		ret = f.ret;
		snprintf(msg, len, "far end: %s", ktls_session_error(f.s));
	}
	if (h)
		ktls_handoff_close(h);
	if (s)
		ktls_session_free(s);
	if (f.s)
		ktls_session_free(f.s);
	if (f.cfg)
		ktls_config_free(f.cfg);
	close(fds[0]);
	close(fds[1]);
	return ret;
}

/* ---- Reading what ktlsd wrote ---- */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	return 0;
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

/* Wait until the file has line (ktlsd writes it every second here). */
static int file_wait(const char *path, const char *line, char *buf,
		     size_t len, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;

	for (;;) {
		if (!read_text(path, buf, len) && has_line(buf, line))
			return 1;
		if (ms_now() >= end)
			return 0;
		sleep_ms(100);
	}
}

/* promtool check metrics on path: its status, its words in said. */
static int promtool(const char *path, char *said, size_t len)
{
	char cmd[300];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "promtool check metrics <%s 2>&1", path);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	n = fread(said, 1, len - 1, p);
	said[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Files in dir whose name has needle. */
static int count_named(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += !!strstr(e->d_name, needle);
	if (d)
		closedir(d);
	return n;
}

/* ---- The fixture: ktlsd writing metrics into a directory of ours ---- */

FIXTURE(met)
{
	struct daemon d;
	char dir[64], prom[96], ctl[96], keys[512];
	char text[32768], said[4096];
};

FIXTURE_SETUP(met)
{
	strcpy(self->dir, "/tmp/ktlsd-metrics-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->prom, sizeof(self->prom), "%s/ktlsd.prom", self->dir);
	snprintf(self->ctl, sizeof(self->ctl), "%s/ctl.sock", self->dir);
	snprintf(self->keys, sizeof(self->keys), "control_socket = %s\n"
		 "metrics_file = %s\nmetrics_interval = 1\n", self->ctl,
		 self->prom);
	self->d.ktlsd_keys = self->keys;
	daemon_start(_metadata, &self->d, PROFILES, 64);
}

FIXTURE_TEARDOWN(met)
{
	daemon_stop(_metadata, &self->d);
	remove_dir(self->dir);
}

#define SKIP_IF_NO_KTLS() do {						\
	if (!host_has_ktls())						\
		SKIP(return, "kTLS: the kernel has no TLS ULP");	\
} while (0)

static void handoffs(struct __test_metadata *_metadata, const char *sock)
{
	char msg[600];
	int i;

	for (i = 0; i < HANDOFFS; i++)
		ASSERT_EQ(0, one_handoff(sock, msg, sizeof(msg)))
			TH_LOG("handoff %d: %s", i, msg);
}

TEST_F_TIMEOUT(met, file_counts_handshakes, 120)
{
	struct stat st;

	SKIP_IF_NO_KTLS();
	/* Written at start, before any handshake. */
	ASSERT_TRUE(file_wait(self->prom, "ktlsd_handshakes_total{front=\""
			      "handoff\",outcome=\"success\"} 0", self->text,
			      sizeof(self->text), 5000 * DAEMON_SLOW))
		TH_LOG("%s\nktlsd: %s", self->text, log_tail(&self->d));
	handoffs(_metadata, self->d.sock);
	ASSERT_TRUE(file_wait(self->prom, "ktlsd_handshakes_total{front=\""
			      "handoff\",outcome=\"success\"} 3", self->text,
			      sizeof(self->text), 5000 * DAEMON_SLOW))
		TH_LOG("%s", self->text);
	ASSERT_TRUE(has_line(self->text, "ktlsd_handshakes_accepted_total"
			     "{front=\"handoff\"} 3"));
	ASSERT_TRUE(has_line(self->text, "ktlsd_handshake_duration_seconds_"
			     "count{front=\"handoff\"} 3"));
	ASSERT_TRUE(has_line(self->text, "ktlsd_ktls_installs_total{front=\""
			     "handoff\",direction=\"tx\",mode=\"sw\"} 3"));
	ASSERT_TRUE(has_line(self->text, "ktlsd_ktls_installs_total{front=\""
			     "handoff\",direction=\"rx\",mode=\"sw\"} 3"));
	ASSERT_TRUE(has_line(self->text, "ktlsd_handshakes_in_flight 0"));
	/* The kernel's counters: at least both ends of ours. */
	ASSERT_NE(NULL, strstr(self->text, "\nktlsd_kernel_tls_tx_sw_total "))
		TH_LOG("%s", self->text);
	ASSERT_EQ(0, stat(self->prom, &st));
	ASSERT_EQ(0644u, st.st_mode & 07777);
	ASSERT_EQ(0, count_named(self->dir, ".tmp-"));
	ASSERT_EQ(0, promtool(self->prom, self->said, sizeof(self->said)))
		TH_LOG("promtool: %s", self->said);
	ASSERT_STREQ("", self->said);
}

TEST_F_TIMEOUT(met, ktlsctl_prometheus, 120)
{
	char ctl[PATH_MAX], cmd[2 * PATH_MAX], out[128];

	SKIP_IF_NO_KTLS();
	handoffs(_metadata, self->d.sock);
	ASSERT_EQ(0, ktlsctl_path(ctl, sizeof(ctl)));
	snprintf(out, sizeof(out), "%s/ktlsctl.prom", self->dir);
	snprintf(cmd, sizeof(cmd), "%s stats --socket %s --prometheus >%s",
		 ctl, self->ctl, out);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, read_text(out, self->text, sizeof(self->text)));
	ASSERT_TRUE(has_line(self->text, "ktlsd_handshakes_total{front=\""
			     "handoff\",outcome=\"success\"} 3"))
		TH_LOG("%s", self->text);
	ASSERT_TRUE(has_line(self->text, "ktlsd_handshakes_total{front=\""
			     "handoff\",outcome=\"failure\",reason=\"timeout\"} 0"));
	ASSERT_EQ(0, promtool(out, self->said, sizeof(self->said)))
		TH_LOG("promtool: %s", self->said);
	ASSERT_STREQ("", self->said);
}

/*
 * A reload keeps the file coming (it counts itself); one that names a
 * directory that does not exist is refused on its line, and the old file
 * goes on, counting the refusal.
 */
TEST_F_TIMEOUT(met, reload_keeps_the_file, 120)
{
	char keys[512], where[400];

	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_TRUE(file_wait(self->prom, "ktlsd_reloads_total{result=\""
			      "success\"} 1", self->text, sizeof(self->text),
			      8000 * DAEMON_SLOW))
		TH_LOG("%s\nktlsd: %s", self->text, log_tail(&self->d));

	snprintf(keys, sizeof(keys), "control_socket = %s\n"
		 "metrics_file = %s/gone/ktlsd.prom\n", self->ctl, self->dir);
	self->d.ktlsd_keys = keys;
	ASSERT_EQ(0, write_conf(&self->d, ""));
	self->d.ktlsd_keys = self->keys;
	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d, "reload refused", 1, 8000 * DAEMON_SLOW))
		TH_LOG("%s", log_tail(&self->d));
	/* [ktlsd], socket, socket_mode, log, log_level, max_inflight, ... */
	snprintf(where, sizeof(where), "%s:8: metrics_file: directory %s/gone: "
		 "No such file or directory", self->d.conf, self->dir);
	ASSERT_EQ(1, log_count(&self->d, where)) TH_LOG("%s", log_tail(&self->d));
	ASSERT_TRUE(file_wait(self->prom, "ktlsd_reloads_total{result=\""
			      "refused\"} 1", self->text, sizeof(self->text),
			      8000 * DAEMON_SLOW))
		TH_LOG("%s", self->text);
	ASSERT_EQ(0, count_named(self->dir, "gone"));
}

TEST_HARNESS_MAIN
