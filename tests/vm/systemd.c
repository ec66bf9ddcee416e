// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd as Debian packages it, under systemd as PID 1: the .debs of
 * `make deb` installed with dpkg -i, then the socket listening before
 * ktlsd runs, socket activation by the first handoff (openssl s_client the
 * peer), reload onto a new certificate, one journal line per handshake,
 * systemd-analyze security, stop with a handshake in flight, NFS over TLS
 * through the packaged ktlsd, and dpkg --purge. The tests run in this
 * order on one system and build on each other: one life of the package.
 * Run by `make check-systemd` (tests/vm/run --systemd --rootfs trixie);
 * anywhere else they skip.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ktls.h"
#include "peers.h"
#include "testutil.h"

#define SOCK	"/run/ktlsd/handoff.sock"
/* Not /tmp: the unit's PrivateTmp= hides it from ktlsd. */
#define TDIR	"/etc/ktlsd/test"
#define STATE	"/run/ktlsd-systemd-test"
#define MNT	"/mnt/ktlsd-systemd"
#define UNIT	"ktlsd.service"

/* The command's stdout in out (trailing newline cut); its exit status. */
static int __attribute__((format(printf, 3, 4)))
sh_out(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	size_t n = 0, r;
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = 0;
	f = popen(cmd, "re");
	if (!f)
		return -1;
	while (n + 1 < len && (r = fread(out + n, 1, len - 1 - n, f)) > 0)
		n += r;
	out[n] = 0;
	while (n && out[n - 1] == '\n')
		out[--n] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *unit_state(const char *unit, char *buf, size_t len)
{
	sh_out(buf, len, "systemctl is-active %s", unit);
	return buf;
}

/* Lines of ktlsd's journal that hold needle. */
static int journal_count(const char *needle)
{
	char out[32];

	sh_out(out, sizeof(out), "journalctl -q -u " UNIT " -o cat --no-pager"
	       " | grep -c -F -e '%s'", needle);
	return atoi(out);
}

/* Wait until the journal has at least min lines with needle; the count. */
static int journal_wait(const char *needle, int min, int timeout_ms)
{
	int n;

	for (;;) {
		n = journal_count(needle);
		if (n >= min || timeout_ms <= 0)
			return n;
		sleep_ms(200);
		timeout_ms -= 200;
	}
}

static int state_wait(const char *unit, const char *want, int timeout_ms)
{
	char st[64];

	for (; timeout_ms > 0; timeout_ms -= 200) {
		if (!strcmp(unit_state(unit, st, sizeof(st)), want))
			return 0;
		sleep_ms(200);
	}
	return -1;
}

/*
 * Whether a Unix stream socket listens at path, from /proc/net/unix
 * ("Num RefCount Protocol Flags Type St Inode Path"; flag __SO_ACCEPTCON
 * 0x10000 is a listener), without connecting: that would start ktlsd.
 */
static int unix_listening(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	char line[512], p[256];
	unsigned long flags;
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %255s", &flags,
			   p) == 2 && !strcmp(p, path) && (flags & 0x10000))
			found = 1;
	if (f)
		fclose(f);
	return found;
}

/* The PEM block of a certificate in text, whitespace left out. */
static int pem_block(const char *text, char *out, size_t len)
{
	static const char end[] = "-----END CERTIFICATE-----";
	const char *b = strstr(text, "-----BEGIN CERTIFICATE-----"), *e;
	size_t n = 0;

	if (!b || !(e = strstr(b, end)))
		return -1;
	for (e += strlen(end); b < e && n + 1 < len; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ')
			out[n++] = *b;
	out[n] = 0;
	return 0;
}

static int file_pem(const char *path, char *out, size_t len)
{
	char text[8192];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	return pem_block(text, out, len);
}

static int spawn_s_client(struct peer *p, int port)
{
	static char addr[32];
	char *argv[] = { "openssl", "s_client", "-connect", addr,
			 "-servername", "localhost", "-CAfile", TDIR "/ca.pem",
			 "-verify_return_error", NULL };

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	return peer_spawn(p, argv);
}

static int accept_wait(int lfd, char *peer, size_t len)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int fd;

	if (poll(&pfd, 1, 60000) != 1)
		return -1;
	fd = accept4(lfd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC);
	if (fd >= 0 && peer)
		snprintf(peer, len, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

struct shake {
	char peer[32];		/* s_client's address, as ktlsd logs it */
	char cert[4096];	/* the certificate s_client was shown */
	char why[512];		/* what failed */
};

/*
 * One server-profile handoff to the packaged ktlsd (profile "web"), with
 * openssl s_client as the peer: 0 when s_client verified the server and
 * printed msg, sent over kTLS; -1 with sk->why.
 */
static int handoff_once(struct shake *sk, const char *msg)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	struct peer p = { .pid = -1, .in = -1, .out = -1 };
	struct ktls_handoff *h = NULL;
	struct ktls_session *s = NULL;
	int lfd, fd = -1, port, r, ret = -1;
	char out[16384] = "";

	sk->why[0] = sk->cert[0] = 0;
	lfd = listen_any(&port);
	if (lfd < 0 || spawn_s_client(&p, port)) {
		snprintf(sk->why, sizeof(sk->why), "no listener or s_client");
		goto out;
	}
	fd = accept_wait(lfd, sk->peer, sizeof(sk->peer));
	if (fd < 0) {
		snprintf(sk->why, sizeof(sk->why), "s_client did not connect");
		goto out;
	}
	r = ktls_handoff_open(&h, SOCK);
	if (!r)
		r = ktls_handoff(h, fd, &req, &s);
	if (r) {
		snprintf(sk->why, sizeof(sk->why), "handoff: %d %s", r,
			 h ? ktls_handoff_error(h) : strerror(-r));
		goto out;
	}
	if (write_full(fd, msg, strlen(msg)) != (ssize_t)strlen(msg) ||
	    !peer_expect(&p, msg, out, sizeof(out), 30000)) {
		snprintf(sk->why, sizeof(sk->why), "s_client did not print "
			 "what was sent: %.300s", out);
		goto out;
	}
	if (pem_block(out, sk->cert, sizeof(sk->cert))) {
		snprintf(sk->why, sizeof(sk->why), "no certificate printed");
		goto out;
	}
	ret = 0;
out:
	ktls_session_free(s);
	ktls_handoff_close(h);
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	peer_stop(&p);
	return ret;
}

/* Every file outside the volatile places, sorted, into path. */
static int snapshot(const char *path)
{
	/* journal, systemd's, mount(8)'s and the boot's runtime state, the
	 * NFS server's (tests/vm/nfs-env), this test's own notes */
	return run_shell("find /etc /usr /var /run /srv /opt /root -xdev 2>/dev/null | "
		  "grep -v -E '^/var/log/journal|^/run/(systemd|log|user|udev|"
		  "credentials|lock|mount|rpcbind|nfs-env|ktlsd-systemd-test)|"
		  "^/srv/nfs|"
		  "^/var/lib/(systemd/(timers|random-seed|coredump)|nfs)|"
		  "^/var/lib/dpkg/(lock|triggers/Lock|.*-old$)|^/var/cache/' | "
		  "sort >%s", path);
}

FIXTURE(sd) {
	char st[64];
};

FIXTURE_SETUP(sd)
{
	char comm[32] = "";
	FILE *f = fopen("/proc/1/comm", "re");

	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	if (strcmp(comm, "systemd\n"))
		SKIP(return, "not booted with systemd as PID 1 (tests/vm/run --systemd)");
}

FIXTURE_TEARDOWN(sd)
{
}

/*
 * The harness runs a test's body even after its set-up skipped: every
 * test starts with this, so nothing is installed on a machine that is
 * not the systemd-booted guest.
 */
#define NEED_GUEST() RETURN_IF_SKIPPED()

static const char web_conf[] =
	"[ktlsd]\nsocket = " SOCK "\ncontrol_socket = /run/ktlsd/control.sock\n"
	"[profile web]\nrole = server\ncertificate = " TDIR "/cert.pem\n"
	"key = " TDIR "/key.pem\n";

static int write_conf(const char *text)
{
	FILE *f = fopen("/etc/ktlsd/ktlsd.conf", "we");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* A CA, and two certificates for localhost it signed: old and new. */
static int make_certs(void)
{
	return run_shell("set -e; mkdir -p " TDIR "; cd " TDIR "; "
		  "ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'; "
		  "openssl req -x509 $ec -days 2 -subj /CN=ktlsd-test-ca "
		  "-addext basicConstraints=critical,CA:TRUE "
		  "-addext keyUsage=critical,keyCertSign -keyout ca.key "
		  "-out ca.pem 2>/dev/null; "
		  "echo subjectAltName=DNS:localhost,IP:127.0.0.1 >san.ext; "
		  "for n in old new; do openssl req $ec -subj /CN=localhost "
		  "-keyout $n.key -out $n.csr 2>/dev/null; openssl x509 -req "
		  "-in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
		  "-extfile san.ext -out $n.pem 2>/dev/null; done; "
		  "cp old.pem cert.pem; cp old.key key.pem; chmod 600 *.key");
}

TEST_F_TIMEOUT(sd, dpkg_install_socket_listens_before_ktlsd_runs, 300)
{
	char debs[PATH_MAX], out[512];

	NEED_GUEST();
	ASSERT_EQ(0, build_tool_path(debs, sizeof(debs), "deb", "KTLSD_DEBS"));
	ASSERT_EQ(0, run_shell("ls %s/ktlsd_*.deb %s/libktls0_*.deb >/dev/null", debs,
			debs)) TH_LOG("no packages in %s: make deb", debs);
	ASSERT_EQ(0, run_shell("mkdir -p " STATE));
	ASSERT_EQ(0, snapshot(STATE "/before"));
	ASSERT_EQ(0, run_shell("dpkg -i %s/libktls0_*.deb %s/ktlsd_*.deb "
			">" STATE "/dpkg.log 2>&1", debs, debs))
		TH_LOG("dpkg -i failed: see " STATE "/dpkg.log");
	/* Enabled and started by the package; ktlsd itself not yet. */
	ASSERT_STREQ("active", unit_state("ktlsd.socket", self->st, sizeof(self->st)));
	sh_out(out, sizeof(out), "systemctl is-enabled ktlsd.socket");
	EXPECT_STREQ("enabled", out);
	EXPECT_TRUE(unix_listening(SOCK));
	EXPECT_STREQ("inactive", unit_state(UNIT, self->st, sizeof(self->st)));
	EXPECT_NE(0, run_shell("pidof ktlsd >/dev/null"));
	/* What the administrator does next: credentials and profiles. */
	ASSERT_EQ(0, make_certs());
	ASSERT_EQ(0, write_conf(web_conf));
	EXPECT_STREQ("inactive", unit_state(UNIT, self->st, sizeof(self->st)));
}

TEST_F_TIMEOUT(sd, first_handoff_starts_ktlsd_and_succeeds, 300)
{
	char want[4096], pid[32];
	struct shake sk;

	NEED_GUEST();
	ASSERT_STREQ("inactive", unit_state(UNIT, self->st, sizeof(self->st)));
	ASSERT_EQ(0, handoff_once(&sk, "first-handoff\n")) TH_LOG("%s", sk.why);
	ASSERT_EQ(0, file_pem(TDIR "/old.pem", want, sizeof(want)));
	EXPECT_STREQ(want, sk.cert);
	EXPECT_STREQ("active", unit_state(UNIT, self->st, sizeof(self->st)));
	sh_out(pid, sizeof(pid), "systemctl show -P MainPID " UNIT);
	EXPECT_LT(0, atoi(pid));
	EXPECT_LE(1, journal_count("ready: 1 profiles"));
	EXPECT_LE(1, journal_count("activated socket"));
}

/* The reload and the handshakes run at once; each handshake must pass. */
TEST_F_TIMEOUT(sd, reload_serves_the_new_certificate_no_handshake_fails, 400)
{
	char old[4096], new[4096];
	int during = 0, status;
	struct shake sk;
	pid_t pid;

	NEED_GUEST();
	ASSERT_EQ(0, file_pem(TDIR "/old.pem", old, sizeof(old)));
	ASSERT_EQ(0, file_pem(TDIR "/new.pem", new, sizeof(new)));
	ASSERT_NE(0, strcmp(old, new));
	ASSERT_EQ(0, handoff_once(&sk, "before-reload\n")) TH_LOG("%s", sk.why);
	EXPECT_STREQ(old, sk.cert);
	ASSERT_EQ(0, run_shell("cd " TDIR " && cp new.pem cert.pem && cp new.key key.pem"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(run_shell("systemctl reload " UNIT));
	while (waitpid(pid, &status, WNOHANG) == 0) {
		ASSERT_EQ(0, handoff_once(&sk, "during-reload\n"))
			TH_LOG("during the reload: %s", sk.why);
		EXPECT_TRUE(!strcmp(sk.cert, old) || !strcmp(sk.cert, new));
		during++;
	}
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* notify-reload: systemctl returned after ktlsd's READY=1. */
	ASSERT_EQ(0, handoff_once(&sk, "after-reload\n")) TH_LOG("%s", sk.why);
	EXPECT_STREQ(new, sk.cert) {
		static char journal[4096];

		sh_out(journal, sizeof(journal), "journalctl -q -u " UNIT
		       " -o short-monotonic --no-pager | tail -n 25");
		TH_LOG("the old certificate after the reload; the journal:\n%s",
		       journal);
	}
	EXPECT_EQ(1, journal_count("reloaded /etc/ktlsd/ktlsd.conf"));
	EXPECT_EQ(0, journal_count("failed in"));
	/*
	 * The old process was told to drain and said so: under systemd the
	 * supervisor has no CAP_KILL, so a signal to the ktlsd user's
	 * process failed, and every reload waited 10 s for nothing.
	 */
	EXPECT_EQ(0, journal_count("did not say it drains"));
	EXPECT_STREQ("active", unit_state(UNIT, self->st, sizeof(self->st)));
	TH_LOG("%d handshakes while systemctl reload ran", during);
}

TEST_F_TIMEOUT(sd, journal_has_one_line_per_handshake, 300)
{
	char needle[3][128];
	struct shake sk;
	int i, before;

	NEED_GUEST();
	before = journal_count("ktlsd: info: handshake ");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, handoff_once(&sk, "journal\n")) TH_LOG("%s", sk.why);
		snprintf(needle[i], sizeof(needle[i]), "handshake %s profile web "
			 "uid 0: TLS 1.3 ", sk.peer);
	}
	/* journald may take a moment; then no more lines come. */
	for (i = 0; i < 3; i++)
		EXPECT_EQ(1, journal_wait(needle[i], 1, 10000)) TH_LOG("%s", needle[i]);
	sleep_ms(1000);
	EXPECT_EQ(before + 3, journal_count("ktlsd: info: handshake "));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(1, journal_count(needle[i]));
}

/*
 * Every directive of the installed unit's [Service] has a comment: each
 * run of directive lines starts right under a comment line.
 */
static int unexplained_directives(const char *path, char *bad, size_t len)
{
	FILE *f = fopen(path, "re");
	int in_service = 0, explained = 0, n = 0, no = 0;
	char line[512];

	bad[0] = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		no++;
		if (line[0] == '[') {
			in_service = !strncmp(line, "[Service]", 9);
			explained = 0;
		} else if (line[0] == '\n') {
			explained = 0;
		} else if (line[0] == '#') {
			explained = 1;
		} else if (in_service && !explained) {
			n++;
			snprintf(bad + strlen(bad), len - strlen(bad), " %d", no);
		}
	}
	fclose(f);
	return n;
}

/*
 * 2.0: the supervisor must change uid to start the unprivileged handshake
 * process (CAP_SETUID/SETGID and four @privileged calls: 0.5 of it), and
 * the upcall and the probe need the host's network, netlink, Internet
 * sockets and CAP_NET_ADMIN (1.1). The items that still count are
 * logged, to see which one moved when the figure does.
 */
TEST_F_TIMEOUT(sd, systemd_analyze_security_exposure_at_most_2_0, 200)
{
	char out[16384], bad[4096], path[256], lines[256];
	const char *p;
	double exposure;

	NEED_GUEST();
	sh_out(out, sizeof(out), "systemd-analyze security --no-pager " UNIT " 2>&1");
	p = strstr(out, "Overall exposure level for " UNIT ": ");
	ASSERT_NE(NULL, p) TH_LOG("%s", out);
	ASSERT_EQ(1, sscanf(p + strlen("Overall exposure level for " UNIT ": "),
			    "%lf", &exposure));
	sh_out(bad, sizeof(bad), "systemd-analyze security --no-pager " UNIT
	       " 2>&1 | grep '^✗' | tr -s ' '");
	TH_LOG("exposure %.1f; what counts:\n%s", exposure, bad);
	EXPECT_GE(2.0, exposure) TH_LOG("%s", out);
	ASSERT_EQ(0, sh_out(path, sizeof(path), "systemctl show -P FragmentPath " UNIT));
	EXPECT_EQ(0, unexplained_directives(path, lines, sizeof(lines)))
		TH_LOG("%s: directives without a comment above, lines%s", path, lines);
}

/* 0 when path is there (want 1) or not (want 0) for process pid; else -1, why. */
static int ns_sees(int pid, const char *path, int want, char *why, size_t len)
{
	int there = !run_shell("nsenter -t %d -m test -e %s", pid, path);

	snprintf(why, len, "ktlsd %s %s", there ? "sees" : "lacks", path);
	return there == want ? 0 : -1;
}

/*
 * What RootDirectory= takes away, seen from ktlsd's own mount namespace:
 * the host's /run (systemd's private socket, this test's notes), /var
 * and /srv are not there; its configuration and its sockets are. (The
 * trixie root has no D-Bus, hence no /run/dbus to look for.)
 */
TEST_F_TIMEOUT(sd, ktlsd_sees_usr_etc_and_its_run_dir_only, 200)
{
	static const char *const hidden[] = {
		"/run/systemd/private", "/run/ktlsd-systemd-test", "/var/lib",
		"/srv",
	};
	static const char *const seen[] = {
		"/etc/ktlsd/ktlsd.conf", TDIR "/key.pem", SOCK,
		"/run/ktlsd/control.sock", "/usr/sbin/ktlsd",
	};
	char pid[32], why[256];
	size_t i;

	NEED_GUEST();
	ASSERT_EQ(0, run_shell("test -e /run/systemd/private && test -d /var/lib "
			       "&& test -d /srv"));
	ASSERT_STREQ("active", unit_state(UNIT, self->st, sizeof(self->st)));
	sh_out(pid, sizeof(pid), "systemctl show -P MainPID " UNIT);
	ASSERT_LT(0, atoi(pid));
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		EXPECT_EQ(0, ns_sees(atoi(pid), hidden[i], 0, why, sizeof(why)))
			TH_LOG("%s", why);
	for (i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
		EXPECT_EQ(0, ns_sees(atoi(pid), seen[i], 1, why, sizeof(why)))
			TH_LOG("%s", why);
}

/* Copy bytes both ways between a and b until either side ends. */
static void relay(int a, int b)
{
	struct pollfd pfd[2] = { { .fd = a, .events = POLLIN },
				 { .fd = b, .events = POLLIN } };
	char buf[16384];
	ssize_t n;
	int i;

	while (poll(pfd, 2, 60000) > 0) {
		for (i = 0; i < 2; i++) {
			if (!pfd[i].revents)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n <= 0 || write_full(pfd[!i].fd, buf, n) != n)
				return;
		}
	}
}

/*
 * A handshake in flight when `systemctl stop` comes: ktlsd waits for it.
 * The client's first byte is held back (a relay starts s_client only once
 * ktlsd said it drains), so the handshake is surely in flight.
 */
TEST_F_TIMEOUT(sd, stop_drains_the_handshake_in_flight, 300)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct peer p = { .pid = -1, .in = -1, .out = -1 };
	struct pollfd pfd = { .events = POLLIN };
	int l1, l2, c, s, sc, port1, port2 = 0, ret, drains;
	struct ktls_handoff *h;
	char out[16384] = "", exit_line[256];
	uint64_t id;
	pid_t rp;

	NEED_GUEST();
	ASSERT_STREQ("active", unit_state(UNIT, self->st, sizeof(self->st)));
	l1 = listen_any(&port1);
	ASSERT_LE(0, l1);
	c = connect_retry(port1, 5000);
	ASSERT_LE(0, c);
	s = accept_wait(l1, NULL, 0);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, ktls_handoff_open(&h, SOCK));
	ASSERT_EQ(0, ktls_handoff_submit(h, s, &req, &id));
	ASSERT_EQ(0, run_shell("for i in $(seq 100); do ktlsctl stats --prometheus | "
			"grep -q '^ktlsd_handshakes_in_flight 1$' && exit 0; "
			"sleep 0.2; done; exit 1"));
	/* A reload's old process may have said it too, earlier. */
	drains = journal_count("draining 1 handshakes in flight");
	ASSERT_EQ(0, run_shell("systemctl stop --no-block " UNIT));
	ASSERT_EQ(drains + 1, journal_wait("draining 1 handshakes in flight",
					   drains + 1, 30000));
	EXPECT_STREQ("deactivating", unit_state(UNIT, self->st, sizeof(self->st)));

	l2 = listen_any(&port2);
	ASSERT_LE(0, l2);
	ASSERT_EQ(0, spawn_s_client(&p, port2));
	sc = accept_wait(l2, NULL, 0);
	ASSERT_LE(0, sc);
	rp = fork();
	ASSERT_LE(0, rp);
	if (!rp) {
		relay(c, sc);
		_exit(0);
	}
	pfd.fd = ktls_handoff_fd(h);
	ASSERT_EQ(1, poll(&pfd, 1, 60000));
	ret = ktls_handoff_result(h, &r);
	ASSERT_EQ(1, ret);
	EXPECT_EQ(0, r.status) TH_LOG("%s", ktls_handoff_error(h));
	EXPECT_EQ(id, r.id);
	EXPECT_EQ(7, write_full(s, "drain\n\n", 7));
	EXPECT_TRUE(peer_expect(&p, "drain", out, sizeof(out), 30000))
		TH_LOG("%s", out);
	ktls_session_free(r.session);
	ktls_handoff_close(h);
	close(s);
	kill(rp, SIGTERM);
	waitpid(rp, NULL, 0);
	peer_stop(&p);
	close(c);
	close(sc);
	close(l1);
	close(l2);

	EXPECT_EQ(0, state_wait(UNIT, "inactive", 60000));
	sh_out(exit_line, sizeof(exit_line), "journalctl -q -u " UNIT " -o cat "
	       "--no-pager | grep -F 'exiting: ' | tail -n 1");
	EXPECT_NE(NULL, strstr(exit_line, ", 0 failed")) TH_LOG("%s", exit_line);
	/* The socket stays with systemd: the next request starts ktlsd. */
	EXPECT_STREQ("active", unit_state("ktlsd.socket", self->st, sizeof(self->st)));
	EXPECT_TRUE(unix_listening(SOCK));
}

/* tests/vm/nfs-env, from the work tree or beside the build. */
static void env_script(char *path, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = 0;
	snprintf(path, len, "tests/vm/nfs-env");
	if (access(path, X_OK) && n > 0)
		snprintf(path, len, "%s/../../../tests/vm/nfs-env", dirname(self));
}

#define NFSC TDIR "/nfs"

TEST_F_TIMEOUT(sd, nfs_over_tls_through_the_packaged_ktlsd, 400)
{
	char env[PATH_MAX], pid[32], exe[PATH_MAX], link[64];
	ssize_t n;

	NEED_GUEST();
	env_script(env, sizeof(env));
	ASSERT_EQ(0, run_shell("%s check", env));
	run_shell("systemctl stop tlshd.service 2>/dev/null");
	EXPECT_NE(0, strcmp("active", unit_state("tlshd.service", self->st,
						  sizeof(self->st))));
	ASSERT_NE(0, run_shell("pidof tlshd >/dev/null"));
	ASSERT_EQ(0, run_shell("%s certs " NFSC " >/dev/null", env));
	ASSERT_EQ(0, write_conf(
		"[ktlsd]\nsocket = " SOCK "\n"
		"[upcall]\nenable = yes\nclient_profile = nfs-client\n"
		"server_profile = nfs-server\n"
		"[profile nfs-client]\nrole = client\nca = " NFSC "/ca.pem\n"
		"[profile nfs-server]\nrole = server\n"
		"certificate = " NFSC "/server.pem\nkey = " NFSC "/server.key\n"));
	/* The upcall needs ktlsd running: no socket starts it. */
	ASSERT_EQ(0, run_shell("systemctl start " UNIT));
	ASSERT_LE(1, journal_wait("upcall: serving", 1, 30000));
	ASSERT_EQ(0, run_shell("%s server tls >/dev/null", env));
	mkdir(MNT, 0755);
	ASSERT_EQ(0, run_shell("timeout -k 5 120 mount -t nfs4 -o vers=4.2,xprtsec=tls,"
			"retry=0 localhost:/ " MNT));
	EXPECT_EQ(0, run_shell("echo over-tls >" MNT "/hello && grep -q over-tls "
			MNT "/hello"));
	EXPECT_EQ(0, run_shell("umount " MNT));
	/* xprtsec=tls: the client shows no certificate of its own. */
	EXPECT_LE(1, journal_count("upcall: client unauthenticated handshake to"));
	EXPECT_LE(1, journal_count("upcall: server x509 handshake from"));
	EXPECT_EQ(journal_count("DONE status "), journal_count("DONE status 0"));
	/* And that ktlsd was the packaged one, run by systemd. */
	sh_out(pid, sizeof(pid), "systemctl show -P MainPID " UNIT);
	snprintf(link, sizeof(link), "/proc/%d/exe", atoi(pid));
	n = readlink(link, exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = 0;
	EXPECT_STREQ("/usr/sbin/ktlsd", exe);
}

TEST_F_TIMEOUT(sd, dpkg_purge_leaves_no_file_behind, 300)
{
	char left[8192];

	NEED_GUEST();
	/* The administrator's own files go first, as they would. */
	ASSERT_EQ(0, run_shell("rm -rf " TDIR " && rmdir " MNT " 2>/dev/null; true"));
	ASSERT_EQ(0, run_shell("dpkg --purge ktlsd libktls0 >>" STATE "/dpkg.log 2>&1"))
		TH_LOG("dpkg --purge failed: see " STATE "/dpkg.log");
	EXPECT_NE(0, run_shell("systemctl cat ktlsd.socket >/dev/null 2>&1"));
	EXPECT_NE(0, run_shell("pidof ktlsd >/dev/null"));
	EXPECT_FALSE(unix_listening(SOCK));
	ASSERT_EQ(0, snapshot(STATE "/after"));
	sh_out(left, sizeof(left), "comm -13 " STATE "/before " STATE "/after");
	EXPECT_STREQ("", left) TH_LOG("left behind:\n%s", left);
	sh_out(left, sizeof(left), "comm -23 " STATE "/before " STATE "/after");
	EXPECT_STREQ("", left) TH_LOG("gone:\n%s", left);
}

TEST_HARNESS_MAIN
