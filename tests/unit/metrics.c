// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's Prometheus text (daemon/ktlsd/stats.c) and metrics_file writes
 * (metrics.c) on the host. Counters are set by the same calls the daemon
 * makes, with counts chosen here; every expected line is written out by
 * hand. promtool (Debian's prometheus package) must accept the text: with
 * CI=true a missing promtool fails the test, elsewhere it skips.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "loop.h"

#define PROMTOOL "promtool"

/* A scratch directory per test (each runs in its own process). */
FIXTURE(prom)
{
	struct stats st;
	char dir[64], tls_stat[96];
	char out[32768];
	int len;
};

FIXTURE_SETUP(prom)
{
	memset(&self->st, 0, sizeof(self->st));
	strcpy(self->dir, "/tmp/ktlsd-metrics-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->tls_stat, sizeof(self->tls_stat), "%s/tls_stat",
		 self->dir);
	/* The default is the host's /proc/net/tls_stat: not ours to test. */
	self->st.tls_stat_path = self->tls_stat;
}

FIXTURE_TEARDOWN(prom)
{
	DIR *d = opendir(self->dir);
	struct dirent *e;
	char path[PATH_MAX];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", self->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(self->dir);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

/*
 * The handoff door: 4 successes (0, 3, 150 ms and 70 s), 2 timeouts, one
 * verification failure, one refused busy, 8 admitted; 3 sockets with both
 * directions in software, one with TX on the NIC. The upcall door: one
 * success in 12 ms and a request another agent took. 2 reloads, 1 refused.
 */
static void fill(struct stats *st)
{
	int i;

	for (i = 0; i < 8; i++)
		stats_accepted(st, FRONT_HANDOFF);
	stats_refused(st, FRONT_HANDOFF);
	stats_finished(st, FRONT_HANDOFF, 0, 0);
	stats_finished(st, FRONT_HANDOFF, 0, 3);
	stats_finished(st, FRONT_HANDOFF, 0, 150);
	stats_finished(st, FRONT_HANDOFF, 0, 70000);
	stats_finished(st, FRONT_HANDOFF, -ETIMEDOUT, 3000);
	stats_finished(st, FRONT_HANDOFF, -ETIMEDOUT, 3001);
	stats_finished(st, FRONT_HANDOFF, -KTLS_E_VERIFY, 20);
	for (i = 0; i < 3; i++)
		stats_installed(st, FRONT_HANDOFF, KTLS_OFFLOAD_SW,
				KTLS_OFFLOAD_SW);
	stats_installed(st, FRONT_HANDOFF, KTLS_OFFLOAD_HW, KTLS_OFFLOAD_NONE);
	stats_accepted(st, FRONT_UPCALL);
	stats_finished(st, FRONT_UPCALL, 0, 12);
	stats_installed(st, FRONT_UPCALL, KTLS_OFFLOAD_SW, KTLS_OFFLOAD_SW);
	atomic_fetch_add(&st->front[FRONT_UPCALL].missed, 1);
	stats_reloaded(st, 1);
	stats_reloaded(st, 1);
	stats_reloaded(st, 0);
}

static void format(struct __test_metadata *_metadata,
		   FIXTURE_DATA(prom) *self, unsigned inflight)
{
	self->len = stats_format(&self->st, STATS_PROMETHEUS, inflight,
				 self->out, sizeof(self->out));
	ASSERT_LT(0, self->len);
	ASSERT_EQ((size_t)self->len, strlen(self->out));
}

/* Whole lines, so that "... 1" does not match "... 10". */
#define ASSERT_LINE(self, line) do {					\
	char __want[256];						\
									\
	snprintf(__want, sizeof(__want), "\n%s\n", line);		\
	ASSERT_NE(NULL, strstr((self)->out, __want))			\
		TH_LOG("no line \"%s\" in:\n%s", line, (self)->out);	\
} while (0)

TEST_F(prom, handshakes_by_outcome_and_reason)
{
	fill(&self->st);
	format(_metadata, self, 0);
	ASSERT_LINE(self, "# TYPE ktlsd_handshakes_total counter");
	ASSERT_LINE(self, "ktlsd_handshakes_total{front=\"handoff\","
		    "outcome=\"success\"} 4");
	ASSERT_LINE(self, "ktlsd_handshakes_total{front=\"handoff\","
		    "outcome=\"failure\",reason=\"timeout\"} 2");
	ASSERT_LINE(self, "ktlsd_handshakes_total{front=\"handoff\","
		    "outcome=\"failure\",reason=\"verify\"} 1");
	ASSERT_LINE(self, "ktlsd_handshakes_total{front=\"handoff\","
		    "outcome=\"failure\",reason=\"alert\"} 0");
	ASSERT_LINE(self, "ktlsd_handshakes_total{front=\"upcall\","
		    "outcome=\"success\"} 1");
	ASSERT_LINE(self, "ktlsd_handshakes_accepted_total{front=\"handoff\"} 8");
	ASSERT_LINE(self, "ktlsd_handshakes_refused_busy_total"
		    "{front=\"handoff\"} 1");
	ASSERT_LINE(self, "ktlsd_upcall_missed_total{front=\"upcall\"} 1");
	/* Missed is the upcall's alone. */
	ASSERT_NULL(strstr(self->out, "ktlsd_upcall_missed_total{front=\"handoff\""));
}

/* Cumulative buckets in seconds; 70 s is past the last bound (60). */
TEST_F(prom, duration_histogram)
{
	fill(&self->st);
	format(_metadata, self, 0);
	ASSERT_LINE(self, "# TYPE ktlsd_handshake_duration_seconds histogram");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"handoff\",le=\"0.001\"} 1");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"handoff\",le=\"0.002\"} 1");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"handoff\",le=\"0.005\"} 2");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"handoff\",le=\"0.1\"} 2");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"handoff\",le=\"0.2\"} 3");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"handoff\",le=\"60\"} 3");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"handoff\",le=\"+Inf\"} 4");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_sum"
		    "{front=\"handoff\"} 70.153");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_count"
		    "{front=\"handoff\"} 4");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"upcall\",le=\"0.01\"} 0");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_bucket"
		    "{front=\"upcall\",le=\"0.02\"} 1");
	ASSERT_LINE(self, "ktlsd_handshake_duration_seconds_sum"
		    "{front=\"upcall\"} 0.012");
}

TEST_F(prom, daemon_gauges_reloads_installs)
{
	fill(&self->st);
	atomic_store(&self->st.resume_hits, 7);
	atomic_store(&self->st.resume_misses, 2);
	atomic_store(&self->st.resume_evicted, 1);
	format(_metadata, self, 5);
	ASSERT_LINE(self, "ktlsd_resumption_cache_total{result=\"hit\"} 7");
	ASSERT_LINE(self, "ktlsd_resumption_cache_total{result=\"miss\"} 2");
	ASSERT_LINE(self, "ktlsd_resumption_cache_total{result=\"evicted\"} 1");
	ASSERT_LINE(self, "ktlsd_handshakes_in_flight 5");
	ASSERT_LINE(self, "ktlsd_reloads_total{result=\"success\"} 2");
	ASSERT_LINE(self, "ktlsd_reloads_total{result=\"refused\"} 1");
	ASSERT_LINE(self, "ktlsd_ktls_installs_total{front=\"handoff\","
		    "direction=\"tx\",mode=\"sw\"} 3");
	ASSERT_LINE(self, "ktlsd_ktls_installs_total{front=\"handoff\","
		    "direction=\"tx\",mode=\"hw\"} 1");
	ASSERT_LINE(self, "ktlsd_ktls_installs_total{front=\"handoff\","
		    "direction=\"rx\",mode=\"sw\"} 3");
	ASSERT_LINE(self, "ktlsd_ktls_installs_total{front=\"handoff\","
		    "direction=\"rx\",mode=\"hw\"} 0");
	ASSERT_LINE(self, "ktlsd_ktls_installs_total{front=\"upcall\","
		    "direction=\"rx\",mode=\"sw\"} 1");
	ASSERT_LINE(self, "# TYPE ktlsd_start_time_seconds gauge");
}

/* Curr* go down as well as up: gauges; the rest are counters. */
TEST_F(prom, kernel_tls_stat)
{
	ASSERT_EQ(0, write_text(self->tls_stat, "TlsCurrTxSw                     3\n"
				"TlsTxSw                         10\n"
				"TlsDecryptError                 1\n"
				"TlsRxNoPadViolation             7\n"
				"TlsFutureCounter                4\n"
				"bad-name 9\n"));
	format(_metadata, self, 0);
	ASSERT_LINE(self, "# TYPE ktlsd_kernel_tls_curr_tx_sw gauge");
	ASSERT_LINE(self, "ktlsd_kernel_tls_curr_tx_sw 3");
	ASSERT_LINE(self, "# TYPE ktlsd_kernel_tls_tx_sw_total counter");
	ASSERT_LINE(self, "ktlsd_kernel_tls_tx_sw_total 10");
	ASSERT_LINE(self, "ktlsd_kernel_tls_decrypt_error_total 1");
	ASSERT_LINE(self, "ktlsd_kernel_tls_rx_no_pad_violation_total 7");
	/* A counter newer than this code still gets out, named the same way. */
	ASSERT_LINE(self, "ktlsd_kernel_tls_future_counter_total 4");
	ASSERT_NULL(strstr(self->out, "bad-name"));
	ASSERT_NULL(strstr(self->out, "bad_name"));
	ASSERT_NE(NULL, strstr(self->out, "# HELP ktlsd_kernel_tls_decrypt_error"
			       "_total The kernel's TlsDecryptError: records "
			       "that failed to decrypt"));
}

/* No tls module loaded: no file, no kernel lines, the rest as always. */
TEST_F(prom, kernel_tls_stat_missing)
{
	format(_metadata, self, 0);
	ASSERT_NULL(strstr(self->out, "ktlsd_kernel_tls"));
	ASSERT_LINE(self, "ktlsd_handshakes_in_flight 0");
}

/*
 * Accept mode's drops in `ktlsctl stats` text and JSON too, under the
 * handoff door (whose connections they are), not under the upcall's.
 */
TEST_F(prom, accept_dropped_in_text_and_json)
{
	char *handoff, *upcall;

	fill(&self->st);
	atomic_store(&self->st.accept_dropped, 7);
	self->len = stats_format(&self->st, STATS_TEXT, 0, self->out,
				 sizeof(self->out));
	ASSERT_LT(0, self->len);
	ASSERT_LINE(self, "handoff.accept_dropped 7");
	ASSERT_NULL(strstr(self->out, "upcall.accept_dropped"));
	self->len = stats_format(&self->st, STATS_JSON, 0, self->out,
				 sizeof(self->out));
	ASSERT_LT(0, self->len);
	handoff = strstr(self->out, "{\"front\":\"handoff\"");
	upcall = strstr(self->out, "{\"front\":\"upcall\"");
	ASSERT_NE(NULL, handoff) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, upcall) TH_LOG("%s", self->out);
	ASSERT_EQ(0, handoff - self->out);	/* one line each, handoff first */
	ASSERT_NE(NULL, strstr(handoff, ",\"reply_failed\":0,"
			       "\"accept_dropped\":7,\"failed_by_reason\":{"))
		TH_LOG("%s", self->out);
	ASSERT_NULL(strstr(upcall, "accept_dropped")) TH_LOG("%s", upcall);
}

TEST_F(prom, buffer_too_small)
{
	char small[512];

	fill(&self->st);
	ASSERT_EQ(-ENOSPC, stats_format(&self->st, STATS_PROMETHEUS, 0, small,
					sizeof(small)));
}

/* ---- promtool ---- */

/*
 * Run promtool check metrics on text: its exit status (0: accepted), and
 * what it said in said. -ENOENT when there is no promtool.
 */
static int promtool(const char *dir, const char *text, char *said,
		    size_t len)
{
	char in[128], out[128], cmd[400];
	int st, fd;
	ssize_t n;

	snprintf(in, sizeof(in), "%s/check.prom", dir);
	snprintf(out, sizeof(out), "%s/promtool.out", dir);
	if (write_text(in, text))
		return -EIO;
	snprintf(cmd, sizeof(cmd), "command -v " PROMTOOL " >/dev/null || "
		 "exit 127; " PROMTOOL " check metrics <%s >%s 2>&1", in, out);
	st = system(cmd);
	if (!WIFEXITED(st))
		return -ECHILD;
	if (WEXITSTATUS(st) == 127)
		return -ENOENT;
	fd = open(out, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, said, len - 1);
	said[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	return WEXITSTATUS(st);
}

#define SKIP_WITHOUT_PROMTOOL(ret) do {					\
	const char *__ci = getenv("CI");				\
									\
	if ((ret) == -ENOENT && !(__ci && !strcmp(__ci, "true")))	\
		SKIP(return, "no promtool (Debian: apt install "	\
		     "prometheus)");					\
	ASSERT_NE(-ENOENT, (ret)) TH_LOG("CI needs promtool (prometheus)"); \
} while (0)

TEST_F(prom, promtool_accepts)
{
	char said[4096];
	int ret;

	fill(&self->st);
	ASSERT_EQ(0, write_text(self->tls_stat, "TlsCurrTxSw 3\nTlsTxSw 10\n"
				"TlsDecryptError 1\nTlsRxRekeyReceived 2\n"));
	format(_metadata, self, 2);
	ret = promtool(self->dir, self->out, said, sizeof(said));
	SKIP_WITHOUT_PROMTOOL(ret);
	/* Its lint warnings ("counter metrics should have _total") too. */
	ASSERT_EQ(0, ret) TH_LOG("promtool: %s", said);
	ASSERT_STREQ("", said);
}

/* The check above can fail: promtool does complain about bad text. */
TEST_F(prom, promtool_refuses_bad_text)
{
	char said[4096];
	int ret;

	ret = promtool(self->dir, "# HELP ktlsd_x A counter.\n"
		       "# TYPE ktlsd_x counter\nktlsd_x 1\n", said,
		       sizeof(said));
	SKIP_WITHOUT_PROMTOOL(ret);
	ASSERT_NE(0, ret);
	ASSERT_NE(NULL, strstr(said, "_total")) TH_LOG("promtool: %s", said);
}

/* ---- metrics_write(): the file node_exporter reads ---- */

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

TEST_F(prom, write_replaces_the_file)
{
	char path[128], buf[64];
	struct stat st;
	mode_t old = umask(077);
	int fd, ret;

	snprintf(path, sizeof(path), "%s/ktlsd.prom", self->dir);
	ret = metrics_write(path, "first\n", 6);
	umask(old);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, metrics_write(path, "second\n", 7));
	ASSERT_EQ(0, stat(path, &st));
	/* Whatever the umask: node_exporter may run as another user. */
	ASSERT_EQ(0644u, st.st_mode & 07777);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(7, read(fd, buf, sizeof(buf)));
	close(fd);
	ASSERT_EQ(0, memcmp(buf, "second\n", 7));
	/* No temporary file left beside it. */
	ASSERT_EQ(1, count_entries(self->dir));
}

TEST_F(prom, write_into_missing_directory)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/gone/ktlsd.prom", self->dir);
	ASSERT_EQ(-ENOENT, metrics_write(path, "x\n", 2));
	ASSERT_EQ(0, count_entries(self->dir));
}

/* The path is a directory: rename() fails, the temporary file goes. */
TEST_F(prom, write_over_a_directory)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/sub", self->dir);
	ASSERT_EQ(0, mkdir(path, 0700));
	ASSERT_EQ(-EISDIR, metrics_write(path, "x\n", 2));
	ASSERT_EQ(1, count_entries(self->dir));
}

TEST_HARNESS_MAIN
