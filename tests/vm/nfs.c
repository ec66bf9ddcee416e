// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd as the kernel's handshake agent (the upcall tlshd serves): the
 * kernel NFS server and client on loopback, both handshakes served by a
 * real build/ktlsd, tlshd not running. Needs the trixie root (nfs-utils
 * with xprtsec=) and a kernel with the "handshake" netlink family; tests
 * that lack either are skipped, unless KTLSD_NFS_REQUIRED=1 (tests/check
 * sets it where they must run). On a kernel without the family (6.1) the
 * "nofamily" tests check that ktlsd says so and the handoff still works.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hsproc.h"
#include "ktls.h"
#include "peers.h"
#include "testutil.h"

#define CERTS	"/tmp/ktlsd-nfs-certs"
#define MNT	"/mnt/ktlsd-nfs"
#define DATA_MB	16

/* Where tests/vm/nfs-env is: beside this test's source, from the build. */
static void env_script(char *path, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = 0;
	/* build/tests/vm/nfs -> tests/vm/nfs-env, run from the work tree */
	snprintf(path, len, "tests/vm/nfs-env");
	if (access(path, X_OK) && n > 0)
		snprintf(path, len, "%s/../../../tests/vm/nfs-env",
			 dirname(self));
}

/* ---- ktlsd under test ---- */

struct kd {
	pid_t pid;
	int status;			/* wait status once it exited */
	char dir[64], log[128], conf[128];
};

static int log_has(const struct kd *k, const char *what)
{
	char line[2048];
	int n = 0;
	FILE *f = fopen(k->log, "re");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, what))
			n++;
	if (f)
		fclose(f);
	return n;
}

static const char *log_text(const struct kd *k)
{
	static char buf[8192];
	int fd = open(k->log, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;
	off_t size;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1
						 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static int alive(struct kd *k)
{
	if (k->pid <= 0)
		return 0;
	if (waitpid(k->pid, &k->status, WNOHANG) == k->pid) {
		k->pid = -1;
		return 0;
	}
	return 1;
}

/*
 * Start ktlsd with args (NULL-terminated after the binary's flags) and wait
 * for "ready:" or its exit. 1 when ready, 0 when it exited.
 */
static int kd_start(struct kd *k, const char *arg, const char *file)
{
	char bin[PATH_MAX];
	int64_t end = ms_now() + 20000;
	int before = log_has(k, "ready:");

	ktlsd_path(bin, sizeof(bin));
	k->pid = fork();
	if (k->pid == 0) {
		int fd = open(k->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(bin, "ktlsd", "-f", "-v", arg, file, (char *)NULL);
		_exit(127);
	}
	while (ms_now() < end) {
		if (log_has(k, "ready:") > before)
			return 1;
		if (!alive(k))
			return 0;
		usleep(20000);
	}
	return 0;
}

static void kd_stop(struct kd *k)
{
	int64_t end = ms_now() + 8000;

	if (k->pid <= 0)
		return;
	kill(k->pid, SIGTERM);
	while (alive(k) && ms_now() < end)
		usleep(20000);
	if (k->pid > 0) {
		kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
		k->pid = -1;
	}
}

static void kd_init(struct kd *k, const char *name)
{
	memset(k, 0, sizeof(*k));
	k->pid = -1;
	snprintf(k->dir, sizeof(k->dir), "/tmp/ktlsd-nfs-%s", name);
	mkdir(k->dir, 0700);
	snprintf(k->log, sizeof(k->log), "%s/ktlsd.log", k->dir);
	snprintf(k->conf, sizeof(k->conf), "%s/ktlsd.conf", k->dir);
	unlink(k->log);
}

static int __attribute__((format(printf, 2, 3)))
write_file(const char *path, const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	return fclose(f);
}

/* tlshd's file format: what a host running tlshd already has. */
static int tlshd_conf(const char *path, const char *server_cert)
{
	return write_file(path,
		"# tlshd.conf(5)\n[debug]\nloglevel=0\ntls=0\nnl=0\n\n"
		"[authenticate]\n#keyrings=\n\n"
		"[authenticate.client]\nx509.truststore= " CERTS "/ca.pem\n"
		"x509.certificate= " CERTS "/client.pem\n"
		"x509.private_key= " CERTS "/client.key\n\n"
		"[authenticate.server]\nx509.truststore= " CERTS "/ca.pem\n"
		"x509.certificate= " CERTS "/%s.pem\n"
		"x509.private_key= " CERTS "/%s.key\n",
		server_cert, server_cert);
}

/* Mount host's export within a bound: the exit status. */
static int nfs_mount_within(const char *host, const char *path,
			    const char *sec, int bound_s, int64_t *ms)
{
	int64_t t0 = ms_now();
	int st;

	mkdir(MNT, 0755);
	st = run_shell("timeout -k 5 %d mount -t nfs4 -o vers=4.2,xprtsec=%s,retry=0 "
		"%s:%s " MNT " 2>>/tmp/ktlsd-nfs-mount.err", bound_s, sec, host,
		path);
	if (ms)
		*ms = ms_now() - t0;
	return st;
}

static int nfs_mount_host(const char *host, const char *path, const char *sec,
			  int64_t *ms)
{
	return nfs_mount_within(host, path, sec, 90, ms);
}

/* Mount the export with these options within a bound: the exit status. */
static int nfs_mount(const char *path, const char *sec, int64_t *ms)
{
	return nfs_mount_host("localhost", path, sec, ms);
}

static void nfs_umount(void)
{
	run_shell("umount " MNT " 2>/dev/null || umount -l " MNT " 2>/dev/null");
}

/* ---- NFS over TLS, both ends served by ktlsd ---- */

FIXTURE(nfs) {
	struct kd k;
};

FIXTURE_SETUP(nfs)
{
	char env[PATH_MAX];

	kd_init(&self->k, "nfs");
	env_script(env, sizeof(env));
	if (run_shell("%s check >/tmp/ktlsd-nfs-check.txt 2>&1", env)) {
		if (getenv("KTLSD_NFS_REQUIRED"))
			ASSERT_TRUE(0) TH_LOG("NFS over TLS cannot run here");
		SKIP(return, "nfs: no NFS server with xprtsec= in this root "
		     "(the trixie root has one: tests/vm/run --rootfs trixie)");
	}
	ASSERT_EQ(0, run_shell("%s certs " CERTS, env));
	ASSERT_EQ(0, run_shell("%s server >/tmp/ktlsd-nfs-server.txt 2>&1", env))
		TH_LOG("starting the NFS server failed");
	/* No other agent: the kernel must be talking to ours. */
	run_shell("pkill -x tlshd 2>/dev/null");
	nfs_umount();
}

FIXTURE_TEARDOWN(nfs)
{
	nfs_umount();
	kd_stop(&self->k);
	if (getenv("KTLSD_TEST_VERBOSE"))
		fprintf(stderr, "%s", log_text(&self->k));
}

/* ktlsd -T with tlshd's file format; 1, or -1 without the upcall. */
static int start_tlshd_style(struct __test_metadata *_metadata, struct kd *k,
			     const char *server_cert)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/tlshd.conf", k->dir);
	if (tlshd_conf(path, server_cert))
		return 0;
	if (!kd_start(k, "-T", path)) {
		TH_LOG("ktlsd did not start: %s", log_text(k));
		return 0;
	}
	if (!log_has(k, "upcall: serving")) {
		if (!getenv("KTLSD_NFS_REQUIRED"))
			return -1;
		TH_LOG("ktlsd does not serve the upcall: %s", log_text(k));
		return 0;
	}
	return 1;
}

/*
 * In a test: ktlsd -T with tlshd's file format, serving the upcall; else
 * the test is skipped (no NFS here, no upcall in this kernel) or fails.
 */
#define START_TLSHD_STYLE(server_cert) do {				\
	int __r;							\
									\
	if (_metadata->skip)						\
		return;	/* a SKIP in the set-up does not stop us */	\
	__r = start_tlshd_style(_metadata, &self->k, server_cert);	\
	if (__r < 0)							\
		SKIP(return, "nfs: this kernel has no handshake upcall"); \
	ASSERT_EQ(1, __r);						\
} while (0)

/*
 * ktlsctl status: rows of port 2049 with TLS 1.3 and no process ("-" at
 * the end), both ends of the mount; the whole output in out.
 */
static int kernel_rows(const char *ctl, char *out, size_t len)
{
	char cmd[PATH_MAX + 32], *line, *save = NULL, *copy;
	size_t n = 0;
	int rows = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s status 2>&1", ctl);
	f = popen(cmd, "r");
	if (f) {
		n = fread(out, 1, len - 1, f);
		pclose(f);
	}
	out[n] = 0;
	copy = strdup(out);
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);

		rows += strstr(line, ":2049 ") && strstr(line, " 1.3 ") &&
			l > 2 && !strcmp(line + l - 2, " -");
	}
	free(copy);
	return rows;
}

TEST_F_TIMEOUT(nfs, tls_16mib_both_ends, 240)
{
	long long tx0 = tls_stat("TlsTxSw"), rx0 = tls_stat("TlsRxSw");
	int64_t mount_ms, remount_ms, t0, write_ms, read_ms;
	char sum_src[80] = "", sum_nfs[80] = "", stats[4096] = "";
	char ctl[PATH_MAX], cmd[PATH_MAX + 32];
	FILE *f;

	START_TLSHD_STYLE("server");
	ASSERT_EQ(0, nfs_mount("/", "tls", &mount_ms))
		TH_LOG("mount failed: %s", log_text(&self->k));
	/* The server's grace period: wait it out before timing anything. */
	ASSERT_EQ(0, run_shell("echo x > " MNT "/grace && rm " MNT "/grace"));
	ASSERT_EQ(0, run_shell("head -c %dM /dev/urandom > /tmp/ktlsd-nfs-src",
			DATA_MB));
	t0 = ms_now();
	ASSERT_EQ(0, run_shell("cp /tmp/ktlsd-nfs-src " MNT "/data && sync " MNT "/data"));
	write_ms = ms_now() - t0;
	/* Read back over the wire, not from the page cache. */
	nfs_umount();
	ASSERT_EQ(0, run_shell("sync; echo 3 > /proc/sys/vm/drop_caches"));
	ASSERT_EQ(0, nfs_mount("/", "tls", &remount_ms));
	t0 = ms_now();
	ASSERT_EQ(0, run_shell("cat " MNT "/data > /dev/null"));
	read_ms = ms_now() - t0;
	f = popen("sha256sum < " MNT "/data", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(sum_nfs, sizeof(sum_nfs), f));
	pclose(f);
	f = popen("sha256sum < /tmp/ktlsd-nfs-src", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(sum_src, sizeof(sum_src), f));
	pclose(f);
	EXPECT_STREQ(sum_src, sum_nfs);
	/* Both ends' handshakes, by ktlsd, and the kernel did the crypto. */
	EXPECT_LE(2, log_has(&self->k, "upcall: client unauthenticated "
			     "handshake to"))
		TH_LOG("%s", log_text(&self->k));
	EXPECT_LE(2, log_has(&self->k, "upcall: server x509 handshake from"));
	EXPECT_EQ(0, log_has(&self->k, "DONE status 5"));
	EXPECT_LE(tx0 + 2, tls_stat("TlsTxSw"));
	EXPECT_LE(rx0 + 2, tls_stat("TlsRxSw"));
	ktlsctl_path(ctl, sizeof(ctl));
	snprintf(cmd, sizeof(cmd), "%s stats 2>&1", ctl);
	f = popen(cmd, "r");
	if (f) {
		size_t n = fread(stats, 1, sizeof(stats) - 1, f);

		stats[n] = 0;
		pclose(f);
	}
	EXPECT_NE(NULL, strstr(stats, "upcall.succeeded ")) TH_LOG("%s", stats);
	EXPECT_EQ(NULL, strstr(stats, "upcall.succeeded 0\n")) TH_LOG("%s", stats);
	/* The mount's sockets are the kernel's: no process holds them. */
	EXPECT_LE(2, kernel_rows(ctl, stats, sizeof(stats))) TH_LOG("%s", stats);
	TH_LOG("mount %lld ms, remount %lld ms; %d MiB write %lld ms (%.1f MB/s), "
	       "read %lld ms (%.1f MB/s); TlsTxSw +%lld",
	       (long long)mount_ms, (long long)remount_ms, DATA_MB,
	       (long long)write_ms, DATA_MB * 1.048576 * 1000 / (write_ms + 1),
	       (long long)read_ms, DATA_MB * 1.048576 * 1000 / (read_ms + 1),
	       tls_stat("TlsTxSw") - tx0);
}

TEST_F_TIMEOUT(nfs, mtls_client_certificate, 200)
{
	int64_t ms;

	START_TLSHD_STYLE("server");
	/* The mtls-only export takes a client whose certificate verified... */
	ASSERT_EQ(0, nfs_mount("/m", "mtls", &ms))
		TH_LOG("mtls mount failed: %s", log_text(&self->k));
	ASSERT_EQ(0, run_shell("echo mtls > " MNT "/hello && grep -q mtls " MNT "/hello"));
	nfs_umount();
	EXPECT_LE(1, log_has(&self->k, "upcall: client x509 handshake to"));
	/* ...and not one that only has TLS (no peer identity in DONE). */
	EXPECT_NE(0, nfs_mount("/m", "tls", NULL));
	TH_LOG("mtls mount %lld ms", (long long)ms);
}

TEST_F_TIMEOUT(nfs, bad_server_certificate_fails_the_mount, 200)
{
	int64_t ms;

	START_TLSHD_STYLE("bad-server");
	EXPECT_NE(0, nfs_mount("/", "tls", &ms));
	EXPECT_GT(90000, ms) TH_LOG("the mount hung");
	EXPECT_LE(1, log_has(&self->k, "certificate did not verify"))
		TH_LOG("%s", log_text(&self->k));
	EXPECT_LE(1, log_has(&self->k, "DONE status 13"));
	TH_LOG("the mount failed after %lld ms", (long long)ms);
}

/*
 * The kernel's PEERNAME (the host name mounted) is not in the server's
 * certificate: DONE says EACCES and the mount fails; the next request,
 * by a name it has, is served. The kernel's handshake family has nothing
 * ktlsd does not serve (6.12: no key-update messages).
 */
TEST_F_TIMEOUT(nfs, peername_not_in_certificate_then_served, 200)
{
	int64_t ms;

	START_TLSHD_STYLE("server");
	/* The VM's /etc is a tmpfs overlay: the alias goes with it. */
	ASSERT_EQ(0, run_shell("echo '127.0.0.1 ktlsd-other.test' >> /etc/hosts"));
	EXPECT_NE(0, nfs_mount_host("ktlsd-other.test", "/", "tls", &ms));
	EXPECT_GT(90000, ms) TH_LOG("the mount hung");
	EXPECT_LE(1, log_has(&self->k, "DONE status 13"))
		TH_LOG("%s", log_text(&self->k));
	EXPECT_LE(1, log_has(&self->k, "ktlsd-other.test"))
		TH_LOG("%s", log_text(&self->k));
	ASSERT_EQ(0, nfs_mount("/", "tls", &ms)) TH_LOG("%s", log_text(&self->k));
	EXPECT_LE(1, log_has(&self->k, "DONE status 0"));
	EXPECT_EQ(0, log_has(&self->k, "has more than ktlsd serves"));
}

TEST_F_TIMEOUT(nfs, restart_between_mounts_ktlsd_conf, 200)
{
	int64_t ms1, ms2;

	if (_metadata->skip)
		return;	/* a SKIP in the set-up does not stop us */

	/* ktlsd's own format this time: profiles named in [upcall]. */
	ASSERT_EQ(0, write_file(self->k.conf,
		"[ktlsd]\nsocket = %s/handoff.sock\ncontrol_socket = %s/ctl.sock\n"
		"[upcall]\nenable = auto\nclient_profile = nfs-client\n"
		"server_profile = nfs-server\n"
		"[profile nfs-client]\nrole = client\nca = " CERTS "/ca.pem\n"
		"versions = 1.3\n"
		"[profile nfs-server]\nrole = server\n"
		"certificate = " CERTS "/server.pem\nkey = " CERTS "/server.key\n"
		"versions = 1.3\n", self->k.dir, self->k.dir));
	ASSERT_EQ(1, kd_start(&self->k, "-c", self->k.conf))
		TH_LOG("%s", log_text(&self->k));
	if (!log_has(&self->k, "upcall: serving"))
		SKIP(return, "nfs: this kernel has no handshake upcall");
	ASSERT_EQ(0, nfs_mount("/", "tls", &ms1)) TH_LOG("%s", log_text(&self->k));
	nfs_umount();
	kd_stop(&self->k);
	ASSERT_EQ(1, kd_start(&self->k, "-c", self->k.conf));
	ASSERT_EQ(0, nfs_mount("/", "tls", &ms2)) TH_LOG("%s", log_text(&self->k));
	EXPECT_EQ(0, run_shell("ls " MNT " >/dev/null"));
	TH_LOG("mount %lld ms, after the restart %lld ms", (long long)ms1,
	       (long long)ms2);
}

/* SIGKILL of pid after ms milliseconds, from a child of ours. */
static pid_t kill_later(pid_t pid, int ms)
{
	pid_t k = fork();

	if (!k) {
		usleep(ms * 1000);
		_exit(kill(pid, SIGKILL) ? 1 : 0);
	}
	return k;
}

/*
 * One NFS-over-TLS mount, read and unmount; victim (unless 0) SIGKILLed
 * 150 ms into it. The status (0: it all worked), the mount's time in *ms.
 */
static int mount_killing(pid_t victim, int64_t *ms)
{
	pid_t killer = victim ? kill_later(victim, 150) : 0;
	/*
	 * A mount whose handshake failed when its key process was killed
	 * has been seen to hang in the kernel (ktlsd answered both ends
	 * within 60 ms and served again within 2 s, and no handshake was
	 * asked for again): such a mount may fail, so 30 s bound it.
	 */
	int st = nfs_mount_within("localhost", "/", "tls", victim ? 30 : 90, ms);

	if (killer > 0)
		waitpid(killer, NULL, 0);
	if (!st)
		st = run_shell("ls " MNT " >/dev/null");
	nfs_umount();
	return st;
}

/*
 * Eight mounts in a row; during the third and the sixth the handshake
 * process is SIGKILLed. The supervisor stays and starts another; the loop
 * completes, and every mount but those two works (they may too: the kill
 * can fall before or after their handshake).
 */
TEST_F_TIMEOUT(nfs, handshake_process_killed_during_mount_loop, 600)
{
	int i, st, failed_killed = 0, failed_other = 0;
	pid_t sup, hs;
	int64_t ms;

	START_TLSHD_STYLE("server");
	sup = self->k.pid;
	for (i = 0; i < 8; i++) {
		int kill_it = i == 2 || i == 5;

		hs = hs_pid(sup);
		ASSERT_LT(0, hs) TH_LOG("mount %d: no handshake process", i);
		st = mount_killing(kill_it ? hs : 0, &ms);
		TH_LOG("mount %d%s: status %d in %lld ms", i,
		       kill_it ? " (killed)" : "", st, (long long)ms);
		if (st)
			kill_it ? failed_killed++ : failed_other++;
		if (kill_it)
			ASSERT_LT(0, hs_wait(sup, hs, 5000));
	}
	EXPECT_EQ(0, failed_other) TH_LOG("%s", log_text(&self->k));
	EXPECT_EQ(sup, self->k.pid);
	EXPECT_TRUE(alive(&self->k));
	EXPECT_EQ(2, log_has(&self->k, "was killed by signal 9"));
	TH_LOG("%d of the 2 mounts during a kill failed", failed_killed);
}

/*
 * The same with the key process ("ktlsd-key", which signs the server's
 * handshakes): SIGKILLed 150 ms into the third and the sixth of eight
 * mounts. The supervisor reloads (a new key process, a new handshake
 * process) within a few seconds; the loop completes, every mount after a
 * kill works (the killed ones may too), and the supervisor stays.
 */
TEST_F_TIMEOUT(nfs, key_process_killed_during_mount_loop, 600)
{
	int i, st, failed_killed = 0, failed_other = 0, kills = 0;
	pid_t sup, kp;
	int64_t ms, t0, start = ms_now(), reload_ms[2] = { 0 };

	START_TLSHD_STYLE("server");
	sup = self->k.pid;
	for (i = 0; i < 8; i++) {
		int kill_it = i == 2 || i == 5;

		kp = child_named(sup, "ktlsd-key");
		ASSERT_LT(0, kp) TH_LOG("mount %d: no key process", i);
		t0 = ms_now();
		st = mount_killing(kill_it ? kp : 0, &ms);
		TH_LOG("mount %d%s: status %d in %lld ms", i,
		       kill_it ? " (key process killed)" : "", st,
		       (long long)ms);
		if (st)
			kill_it ? failed_killed++ : failed_other++;
		if (!kill_it)
			continue;
		/*
		 * Seen in about one run in five: the mount whose handshake
		 * was in flight hangs until its bound. Keep ktlsd's side of
		 * it for whoever looks into that.
		 */
		if (ms > 20000)
			TH_LOG("mount %d hung; ktlsd's log: %s", i,
			       log_text(&self->k));
		/* The reload: a new key process, then a new "ready:". */
		ASSERT_LT(0, child_wait(sup, "ktlsd-key", kp, 10000))
			TH_LOG("no new key process: %s", log_text(&self->k));
		while (log_has(&self->k, "ready:") < kills + 2 &&
		       ms_now() - t0 < 20000)
			usleep(20000);
		ASSERT_EQ(kills + 2, log_has(&self->k, "ready:"))
			TH_LOG("no reload after the kill: %s", log_text(&self->k));
		reload_ms[kills++] = ms_now() - t0 - 150;
	}
	EXPECT_EQ(0, failed_other) TH_LOG("%s", log_text(&self->k));
	EXPECT_EQ(sup, self->k.pid);
	EXPECT_TRUE(alive(&self->k));
	EXPECT_EQ(2, log_has(&self->k, "reloading to start another"))
		TH_LOG("%s", log_text(&self->k));
	/* Those two deaths, and no other process died. */
	EXPECT_EQ(2, log_has(&self->k, "was killed by signal"));
	TH_LOG("%d of the 2 mounts during a kill failed; the reload was seen "
	       "done %lld and %lld ms after the kill (after the mount ended); "
	       "%lld ms in all", failed_killed, (long long)reload_ms[0],
	       (long long)reload_ms[1], (long long)(ms_now() - start));
}

/* ---- Start-up: another agent, no family, the handoff still there ---- */

FIXTURE(agent) {
	struct kd k;
};

FIXTURE_SETUP(agent)
{
	kd_init(&self->k, "agent");
	ASSERT_EQ(0, make_test_cert());
}

FIXTURE_TEARDOWN(agent)
{
	kd_stop(&self->k);
	run_shell("pkill -x tlshd 2>/dev/null");
}

static int agent_conf(struct kd *k, const char *upcall)
{
	return write_file(k->conf,
		"[ktlsd]\nsocket = %s/handoff.sock\ncontrol_socket = %s/ctl.sock\n"
		"%s\n"
		"[profile srv]\nrole = server\ncertificate = " TEST_CERT "\n"
		"key = " TEST_KEY "\n", k->dir, k->dir, upcall);
}

/* Hand one end of a loopback pair to ktlsd; run the client here. */
static int handoff_works(struct kd *k, char *msg, size_t len)
{
	char sock[160];
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "srv" };
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;
	int fds[2] = { -1, -1 }, hold[2], ret, st;
	pid_t pid;
	char c;

	snprintf(sock, sizeof(sock), "%s/handoff.sock", k->dir);
	if (tcp_pair(fds) || pipe2(hold, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid == 0) {
		struct ktls_config *cfg;
		struct ktls_session *cs;

		close(fds[1]);
		close(hold[1]);
		if (ktls_config_new(&cfg, KTLS_CLIENT) ||
		    ktls_config_set_ca_file(cfg, TEST_CERT) ||
		    ktls_session_new(&cs, cfg, fds[0]) ||
		    ktls_session_set_server_name(cs, "localhost"))
			_exit(2);
		ret = ktls_session_handshake(cs);
		/* Keep the connection until ktlsd has installed its end. */
		if (read(hold[0], &c, 1) < 0)
			_exit(3);
		_exit(ret ? 1 : 0);
	}
	close(fds[0]);
	close(hold[0]);
	ret = ktls_handoff_open(&h, sock);
	if (!ret) {
		ret = ktls_handoff(h, fds[1], &req, &s);
		snprintf(msg, len, "%s", ktls_handoff_error(h));
		ktls_session_free(s);
		ktls_handoff_close(h);
	}
	close(hold[1]);
	waitpid(pid, &st, 0);
	close(fds[1]);
	if (!ret && (!WIFEXITED(st) || WEXITSTATUS(st)))
		ret = -EPROTO;
	return ret;
}

TEST_F(agent, no_family_is_said_and_handoff_works)
{
	char msg[256] = "";

	ASSERT_EQ(0, agent_conf(&self->k, ""));
	ASSERT_EQ(1, kd_start(&self->k, "-c", self->k.conf))
		TH_LOG("%s", log_text(&self->k));
	if (log_has(&self->k, "upcall: serving"))
		SKIP(return, "upcall: this kernel has the handshake family");
	EXPECT_EQ(1, log_has(&self->k, "has no 'handshake' netlink family"))
		TH_LOG("%s", log_text(&self->k));
	EXPECT_EQ(0, handoff_works(&self->k, msg, sizeof(msg))) TH_LOG("%s", msg);
	kd_stop(&self->k);

	/* Asked for explicitly, the same is a start-up failure. */
	ASSERT_EQ(0, agent_conf(&self->k, "[upcall]\nenable = yes\n"));
	EXPECT_EQ(0, kd_start(&self->k, "-c", self->k.conf));
	EXPECT_TRUE(WIFEXITED(self->k.status) && WEXITSTATUS(self->k.status) == 1);
	EXPECT_LE(2, log_has(&self->k, "has no 'handshake' netlink family"));
}

TEST_F(agent, tlshd_running_is_detected)
{
	char path[160], msg[256] = "";

	if (access("/usr/sbin/tlshd", X_OK))
		SKIP(return, "upcall: no tlshd in this root");
	snprintf(path, sizeof(path), "%s/tlshd.conf", self->k.dir);
	ASSERT_EQ(0, write_file(path, "[debug]\nloglevel=0\n"));
	ASSERT_EQ(0, run_shell("/usr/sbin/tlshd -c %s >/dev/null 2>&1 &", path));
	usleep(500000);
	ASSERT_EQ(0, agent_conf(&self->k, ""));
	ASSERT_EQ(1, kd_start(&self->k, "-c", self->k.conf))
		TH_LOG("%s", log_text(&self->k));
	if (log_has(&self->k, "has no 'handshake' netlink family"))
		SKIP(return, "upcall: this kernel has no handshake family");
	/* Defaulted: a warning, no upcall, the handoff as before. */
	EXPECT_EQ(1, log_has(&self->k, "tlshd (pid ")) TH_LOG("%s", log_text(&self->k));
	EXPECT_EQ(0, log_has(&self->k, "upcall: serving"));
	EXPECT_EQ(0, handoff_works(&self->k, msg, sizeof(msg))) TH_LOG("%s", msg);
	kd_stop(&self->k);
	/* Asked for: ktlsd refuses to start beside it. */
	ASSERT_EQ(0, agent_conf(&self->k, "[upcall]\nenable = yes\n"));
	EXPECT_EQ(0, kd_start(&self->k, "-c", self->k.conf));
	EXPECT_LE(2, log_has(&self->k, "already listens"));
}

TEST_HARNESS_MAIN
