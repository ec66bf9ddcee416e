// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NVMe/TCP over TLS with ktlsd as the kernel's only handshake agent: a
 * kernel nvmet target on 127.0.0.1:4420 that wants TLS 1.3 with a PSK from
 * the .nvme keyring, "nvme connect --tls" to it, every queue's handshake
 * (admin and I/O, both ends) served by ktlsd. The shell side is
 * tests/vm/nvme-env. Needs the trixie root (nvme-cli with --tls) and a
 * kernel with NVMe/TCP TLS (6.12, 7.x); skipped elsewhere, unless
 * KTLSD_NFS_REQUIRED=1 (tests/check sets it on the trixie root).
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"
#include "testutil.h"

#define TLSHD_CONF	"/run/ktlsd-nvme-tlshd.conf"
#define SRC		"/run/ktlsd-nvme.src"
#define DATA_MB		16

#define CLIENT_OK	"upcall: client psk handshake to 127.0.0.1:4420: DONE status 0"
#define SERVER_OK	"upcall: server psk handshake from 127.0.0.1:"

/* tests/vm/nvme-env, beside this test's source, from the build. */
static void env_script(char *path, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = 0;
	snprintf(path, len, "tests/vm/nvme-env");
	if (access(path, X_OK) && n > 0)
		snprintf(path, len, "%s/../../../tests/vm/nvme-env",
			 dirname(self));
}

/* The first line a command prints, without its newline; 0 or -1. */
static int first_line(char *out, size_t len, const char *cmd)
{
	FILE *f = popen(cmd, "r");
	int ret = -1;

	out[0] = 0;
	if (!f)
		return -1;
	if (fgets(out, len, f)) {
		out[strcspn(out, "\n")] = 0;
		ret = out[0] ? 0 : -1;
	}
	pclose(f);
	return ret;
}

/* A sysfs attribute of a controller as a number, or -1. */
static long ctrl_attr(const char *ctrl, const char *attr, int base)
{
	char path[128], buf[64];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/sys/class/nvme/%s/%s", ctrl, attr);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, base);
	if (f)
		fclose(f);
	return v;
}

/* Wait until the controller is live again; 1, or 0 after timeout_ms. */
static int ctrl_live(const char *env, const char *ctrl, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;
	char cmd[PATH_MAX + 64], state[32];

	snprintf(cmd, sizeof(cmd), "%s state %s", env, ctrl);
	while (ms_now() < end) {
		if (!first_line(state, sizeof(state), cmd) &&
		    !strcmp(state, "live"))
			return 1;
		sleep_ms(100);
	}
	return 0;
}

FIXTURE(nvme) {
	struct daemon d;
	char env[PATH_MAX];
	char ctrl[32];		/* nvme0 once connected */
	char dev[48];		/* /dev/nvme0n1 */
};

/* ktlsd with tlshd's file naming the .nvme keyring, as a host has it. */
static void start_ktlsd(struct __test_metadata *_metadata, struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	daemon_start(_metadata, d, "[upcall]\nenable = yes\n"
		     "tlshd_config = " TLSHD_CONF "\n", 64);
	ASSERT_EQ(1, log_count(d, "upcall: serving")) TH_LOG("%s", log_tail(d));
}

FIXTURE_SETUP(nvme)
{
	char out[256];
	int ret;

	env_script(self->env, sizeof(self->env));
	ret = run_shell("%s check >/run/ktlsd-nvme-check.txt 2>&1", self->env);
	if (ret) {
		first_line(out, sizeof(out), "cat /run/ktlsd-nvme-check.txt");
		if (getenv("KTLSD_NFS_REQUIRED"))
			ASSERT_TRUE(0) TH_LOG("NVMe/TCP over TLS cannot run: %s", out);
		SKIP(return, "nvme: %s (the trixie root has nvme-cli: "
		     "tests/vm/run --rootfs trixie)", out);
	}
	/* No other agent: the kernel must be talking to ours. */
	run_shell("pkill -x tlshd 2>/dev/null");
	ASSERT_EQ(0, run_shell("printf '[authenticate]\\nkeyrings=.nvme\\n' > "
			       TLSHD_CONF));
	ASSERT_EQ(0, run_shell("%s target >/run/ktlsd-nvme-target.txt 2>&1",
			       self->env)) TH_LOG("the NVMe target did not start");
	start_ktlsd(_metadata, &self->d);
}

FIXTURE_TEARDOWN(nvme)
{
	if (self->ctrl[0])
		run_shell("%s disconnect >/dev/null 2>&1", self->env);
	daemon_stop(_metadata, &self->d);
}

/* Connect with TLS: the controller and its queue count (admin included). */
static long connect_ctrl(struct __test_metadata *_metadata,
			 FIXTURE_DATA(nvme) *self, int64_t *ms)
{
	char cmd[PATH_MAX + 64];
	int64_t t0 = ms_now();
	long queues;

	snprintf(cmd, sizeof(cmd), "%s connect 2>/run/ktlsd-nvme-connect.txt",
		 self->env);
	if (first_line(self->ctrl, sizeof(self->ctrl), cmd)) {
		first_line(cmd, sizeof(cmd), "tail -n 1 /run/ktlsd-nvme-connect.txt");
		TH_LOG("nvme connect --tls failed: %s\n%s", cmd,
		       log_tail(&self->d));
		return -1;
	}
	if (ms)
		*ms = ms_now() - t0;
	snprintf(self->dev, sizeof(self->dev), "/dev/%sn1", self->ctrl);
	queues = ctrl_attr(self->ctrl, "queue_count", 10);
	TH_LOG("%s: %ld queues, TLS key %lx", self->ctrl, queues,
	       ctrl_attr(self->ctrl, "tls_key", 16));
	return queues;
}

/* SHA-256 of what a command writes to stdout, as hex; 0 or -1. */
static int sha256_of(char *hex, size_t len, const char *cmd)
{
	char line[PATH_MAX + 64];

	snprintf(line, sizeof(line), "%s | sha256sum", cmd);
	if (first_line(hex, len, line))
		return -1;
	hex[strcspn(hex, " ")] = 0;
	return strlen(hex) == 64 ? 0 : -1;
}

/*
 * mb MiB of fresh random data to the namespace and back, both with
 * O_DIRECT (the page cache cannot answer): 0 when the SHA-256 of both
 * agree, else -1; the times taken in ms[0] (write), ms[1] (read).
 */
static int round_trip(struct __test_metadata *_metadata, const char *dev,
		      int mb, int64_t ms[2])
{
	char sum_src[80], sum_back[80], cmd[128];
	int64_t t0;

	if (run_shell("head -c %dM /dev/urandom > " SRC, mb))
		return -1;
	t0 = ms_now();
	if (run_shell("dd if=" SRC " of=%s bs=1M oflag=direct conv=fsync "
		      "status=none", dev)) {
		TH_LOG("writing %d MiB to %s failed", mb, dev);
		return -1;
	}
	ms[0] = ms_now() - t0;
	if (sha256_of(sum_src, sizeof(sum_src), "cat " SRC))
		return -1;
	t0 = ms_now();
	snprintf(cmd, sizeof(cmd), "dd if=%s bs=1M count=%d iflag=direct "
		 "status=none", dev, mb);
	if (sha256_of(sum_back, sizeof(sum_back), cmd))
		return -1;
	ms[1] = ms_now() - t0;
	if (strcmp(sum_src, sum_back)) {
		TH_LOG("read back %s, wrote %s", sum_back, sum_src);
		return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(nvme, tls_16mib_round_trip, 240)
{
	long long tx0 = tls_stat("TlsTxSw"), rx0 = tls_stat("TlsRxSw");
	int64_t connect_ms = 0, ms[2] = { 0, 0 };
	long queues;

	if (_metadata->skip)
		return;	/* a SKIP in the set-up does not stop us */
	queues = connect_ctrl(_metadata, self, &connect_ms);
	ASSERT_LT(1, queues);
	/* Every queue's handshake, both ends, by ktlsd. */
	EXPECT_EQ(queues, log_wait(&self->d, CLIENT_OK, queues, 10000))
		TH_LOG("%s", log_tail(&self->d));
	EXPECT_EQ(queues, log_wait(&self->d, SERVER_OK, queues, 10000));
	EXPECT_EQ(0, log_count(&self->d, "DONE status 1"));
	EXPECT_LE(tx0 + 2 * queues, tls_stat("TlsTxSw"));
	EXPECT_LE(rx0 + 2 * queues, tls_stat("TlsRxSw"));
	ASSERT_EQ(0, round_trip(_metadata, self->dev, DATA_MB, ms));
	TH_LOG("connect %lld ms (%ld queues); %d MiB O_DIRECT write %lld ms "
	       "(%.1f MB/s), read %lld ms (%.1f MB/s)", (long long)connect_ms,
	       queues, DATA_MB, (long long)ms[0],
	       DATA_MB * 1.048576 * 1000 / (ms[0] + 1), (long long)ms[1],
	       DATA_MB * 1.048576 * 1000 / (ms[1] + 1));
}

/* nvme reset: the controller reconnects every queue, through ktlsd. */
TEST_F_TIMEOUT(nvme, reset_handshakes_again, 200)
{
	int64_t ms[2];
	long queues;

	if (_metadata->skip)
		return;
	queues = connect_ctrl(_metadata, self, NULL);
	ASSERT_LT(1, queues);
	ASSERT_EQ(queues, log_wait(&self->d, CLIENT_OK, queues, 10000));
	ASSERT_EQ(0, run_shell("nvme reset /dev/%s", self->ctrl));
	ASSERT_EQ(1, ctrl_live(self->env, self->ctrl, 60000))
		TH_LOG("%s did not come back: %s", self->ctrl, log_tail(&self->d));
	EXPECT_EQ(2 * queues, log_wait(&self->d, CLIENT_OK, 2 * queues, 10000))
		TH_LOG("%s", log_tail(&self->d));
	EXPECT_EQ(2 * queues, log_wait(&self->d, SERVER_OK, 2 * queues, 10000));
	EXPECT_EQ(0, round_trip(_metadata, self->dev, 1, ms));
}

/*
 * ktlsd restarted under a live controller: the kernel's sockets keep
 * their TLS; a reset then handshakes through the new ktlsd, and so does
 * a new connection after a disconnect.
 */
TEST_F_TIMEOUT(nvme, ktlsd_restart_then_reset_and_reconnect, 240)
{
	int64_t ms[2];
	long queues;

	if (_metadata->skip)
		return;
	queues = connect_ctrl(_metadata, self, NULL);
	ASSERT_LT(1, queues);
	daemon_stop(_metadata, &self->d);
	ASSERT_EQ(0, round_trip(_metadata, self->dev, 1, ms))
		TH_LOG("I/O without ktlsd running failed");
	start_ktlsd(_metadata, &self->d);
	ASSERT_EQ(0, run_shell("nvme reset /dev/%s", self->ctrl));
	ASSERT_EQ(1, ctrl_live(self->env, self->ctrl, 60000))
		TH_LOG("%s did not come back: %s", self->ctrl, log_tail(&self->d));
	EXPECT_EQ(queues, log_wait(&self->d, CLIENT_OK, queues, 10000))
		TH_LOG("%s", log_tail(&self->d));
	EXPECT_EQ(queues, log_wait(&self->d, SERVER_OK, queues, 10000));
	EXPECT_EQ(0, round_trip(_metadata, self->dev, 1, ms));
	ASSERT_EQ(0, run_shell("%s disconnect >/dev/null 2>&1", self->env));
	self->ctrl[0] = 0;
	queues = connect_ctrl(_metadata, self, NULL);
	ASSERT_LT(1, queues);
	EXPECT_LE(2 * queues, log_wait(&self->d, CLIENT_OK, 2 * queues, 10000))
		TH_LOG("%s", log_tail(&self->d));
	EXPECT_EQ(0, round_trip(_metadata, self->dev, 1, ms));
}

TEST_HARNESS_MAIN
