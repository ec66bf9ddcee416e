// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls_probe(), sockinfo_offload() and `ktlsctl probe`, checked against
 * what the kernel does with hand-set keys. The expectations are facts of
 * the kernels we test on (6.1, 6.12, 7.x): all four ciphers both ways in
 * both versions; TLS 1.3 rekey from 6.14; the ULP's sock_diag details
 * for everyone from 6.15, before that for CAP_NET_ADMIN only.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/tls.h>
#include <sched.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "peers.h"

#include "internal.h"

#define REQUIRE_KTLS(fd) do {						\
	int __e = tcp_set_ulp_tls(fd);					\
	if (__e == -ENOENT)						\
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable on %s",	\
		     "this kernel");					\
	ASSERT_EQ(0, __e) TH_LOG("TCP_ULP tls: %s", strerror(-__e));	\
} while (0)

/* The running kernel is at least major.minor, read from uname here. */
static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return -1;
	return ma > major || (ma == major && mi >= minor);
}

/* Hand-set TLS 1.3 AES-GCM-128 keys for one direction (as raw_ktls.c). */
static int set_keys(int fd, int dir)
{
	struct tls12_crypto_info_aes_gcm_128 ci;

	memset(&ci, 0, sizeof(ci));
	ci.info.version = TLS_1_3_VERSION;
	ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
	fill_pattern(ci.key, sizeof(ci.key), 42, 0);
	fill_pattern(ci.iv, sizeof(ci.iv), 42, 100);
	fill_pattern(ci.salt, sizeof(ci.salt), 42, 200);
	if (setsockopt(fd, SOL_TLS, dir, &ci, sizeof(ci)))
		return -errno;
	return 0;
}

/* Remove CAP_NET_ADMIN from this (forked test) process for good. */
static int drop_net_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	d[0].permitted &= ~(1u << CAP_NET_ADMIN);
	d[0].inheritable &= ~(1u << CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static const char *offload_name(enum ktls_offload m)
{
	return m == KTLS_OFFLOAD_NONE ? "none" : m == KTLS_OFFLOAD_SW ? "sw" :
	       m == KTLS_OFFLOAD_HW ? "hw" : "?";
}

/* ---- ktls_probe() ---- */

FIXTURE(probed)
{
	struct ktls_probe p;
};

FIXTURE_SETUP(probed)
{
	memset(&self->p, 0, sizeof(self->p));
	self->p.size = sizeof(self->p);
	ASSERT_EQ(0, ktls_probe(&self->p));
}

FIXTURE_TEARDOWN(probed)
{
}

#define REQUIRE_PROBE_ULP() do {					\
	if (self->p.ulp == -ENOENT)					\
		SKIP(return, "kTLS: the probe found no TLS ULP: %s",	\
		     self->p.why);					\
} while (0)

TEST_F(probed, kernel_is_uname)
{
	struct utsname u;

	ASSERT_EQ(0, uname(&u));
	ASSERT_STREQ(u.release, self->p.kernel);
}

TEST_F(probed, ulp_works)
{
	if (self->p.ulp) {
		/* Whatever the cause, the operator gets a sentence. */
		ASSERT_NE('\0', self->p.why[0]);
		ASSERT_NE(NULL, memchr(self->p.why, '\0', sizeof(self->p.why)));
	}
	REQUIRE_PROBE_ULP();
	ASSERT_EQ(0, self->p.ulp) TH_LOG("ulp %d: %s", self->p.ulp, self->p.why);
	ASSERT_STREQ("", self->p.why);
}

TEST_F(probed, all_ciphers_both_versions)
{
	REQUIRE_PROBE_ULP();
	EXPECT_EQ(KTLS_CIPHER_ALL, self->p.tx12);
	EXPECT_EQ(KTLS_CIPHER_ALL, self->p.rx12);
	EXPECT_EQ(KTLS_CIPHER_ALL, self->p.tx13);
	EXPECT_EQ(KTLS_CIPHER_ALL, self->p.rx13);
}

TEST_F(probed, rekey_from_6_14)
{
	int want = kernel_at_least(6, 14);

	REQUIRE_PROBE_ULP();
	ASSERT_LE(0, want);
	ASSERT_EQ(want, self->p.rekey)
		TH_LOG("kernel %s: rekey %d", self->p.kernel, self->p.rekey);
}

TEST(probe_size_too_small)
{
	struct ktls_probe p;

	memset(&p, 0, sizeof(p));
	p.size = offsetof(struct ktls_probe, ulp) + sizeof(p.ulp) - 1;
	ASSERT_EQ(-EINVAL, ktls_probe(&p));
	p.size = 0;
	ASSERT_EQ(-EINVAL, ktls_probe(&p));
	ASSERT_EQ(-EINVAL, ktls_probe(NULL));
}

/* A caller built against a shorter struct: nothing past its end moves. */
TEST(probe_size_short_struct)
{
	struct ktls_probe p, full;

	memset(&full, 0, sizeof(full));
	full.size = sizeof(full);
	ASSERT_EQ(0, ktls_probe(&full));

	memset(&p, 0xa5, sizeof(p));
	p.size = offsetof(struct ktls_probe, rx13) + sizeof(p.rx13);
	ASSERT_EQ(0, ktls_probe(&p));
	ASSERT_EQ(full.ulp, p.ulp);
	ASSERT_EQ(full.tx12, p.tx12);
	ASSERT_EQ(full.rx13, p.rx13);
	ASSERT_EQ(0xa5a5a5a5, (unsigned)p.rekey);
	ASSERT_EQ(0xa5, (unsigned char)p.kernel[0]);
	ASSERT_EQ(0xa5, (unsigned char)p.why[sizeof(p.why) - 1]);

	/* Only the ULP fits. */
	memset(&p, 0xa5, sizeof(p));
	p.size = offsetof(struct ktls_probe, ulp) + sizeof(p.ulp);
	ASSERT_EQ(0, ktls_probe(&p));
	ASSERT_EQ(full.ulp, p.ulp);
	ASSERT_EQ(0xa5a5a5a5, p.tx12);
}

static int count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += !access(path, F_OK);
	}
	return n;
}

/* Every path closes what it opened, kTLS or not. */
TEST(probe_and_sockinfo_close_their_fds)
{
	struct ktls_probe p = { .size = sizeof(p) };
	enum ktls_offload tx, rx;
	int before, fd[2];

	ASSERT_EQ(0, tcp_pair(fd));
	before = count_fds();
	ASSERT_EQ(0, ktls_probe(&p));
	ASSERT_EQ(before, count_fds());
	ASSERT_EQ(0, sockinfo_offload(fd[0], &tx, &rx));
	if (!tcp_set_ulp_tls(fd[0])) {
		ASSERT_EQ(0, set_keys(fd[0], TLS_TX));
		ASSERT_EQ(0, sockinfo_offload(fd[0], &tx, &rx));
	}
	ASSERT_EQ(before, count_fds());
	close(fd[0]);
	close(fd[1]);
}

/* The TCP connections this machine opened so far (/proc/net/snmp). */
static long active_opens(void)
{
	char line[1024], names[1024] = "";
	FILE *f = fopen("/proc/net/snmp", "r");
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *n, *val, *sn, *sv;
		int i = 0, col = -1;

		if (strncmp(line, "Tcp:", 4))
			continue;
		if (!names[0]) {
			strcpy(names, line);
			continue;
		}
		/* The header line names the columns, the next has values. */
		for (n = strtok_r(names, " \n", &sn); n;
		     n = strtok_r(NULL, " \n", &sn), i++)
			if (!strcmp(n, "ActiveOpens"))
				col = i;
		for (i = 0, val = strtok_r(line, " \n", &sv); val && col >= 0;
		     val = strtok_r(NULL, " \n", &sv), i++)
			if (i == col)
				v = atol(val);
		break;
	}
	fclose(f);
	return v;
}

/*
 * A configuration learns the kernel's ciphers from a probe, a dozen
 * loopback connections; a process probes once, not once per config
 * (ktlsd builds one for each upcall that names its own keys).
 */
TEST(config_probes_the_kernel_once)
{
	struct ktls_probe p = { .size = sizeof(p) };
	struct ktls_config *cfg;
	long before, after;
	int fd[2], i;

	ASSERT_EQ(0, tcp_pair(fd));
	REQUIRE_KTLS(fd[0]);
	close(fd[0]);
	close(fd[1]);
	ASSERT_EQ(0, ktls_config_new(&cfg, KTLS_CLIENT));
	ktls_config_free(cfg);
	before = active_opens();
	ASSERT_LT(0, before);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, ktls_config_new(&cfg, i % 2 ? KTLS_SERVER :
					     KTLS_CLIENT));
		ktls_config_free(cfg);
	}
	after = active_opens();
	EXPECT_EQ(before, after) TH_LOG("10 configs opened %ld connections",
					after - before);
	/* ktls_probe() itself always asks afresh. */
	ASSERT_EQ(0, ktls_probe(&p));
	EXPECT_LT(after, active_opens());
}

/*
 * nic_count.c: an install that no NIC took is told by the kernel's counts
 * (ktlsd then skips sock_diag), and anything it cannot vouch for is left
 * to sock_diag: a count that moved, a socket of another namespace.
 */
TEST(nic_counts_tell_software)
{
	enum ktls_offload tx, rx;
	struct nic_count before, moved, none = { 0 };
	int fd[2];

	ASSERT_EQ(0, tcp_pair(fd));
	REQUIRE_KTLS(fd[0]);
	nic_count_read(&before);
	ASSERT_EQ(1, before.ok);
	ASSERT_EQ(0, set_keys(fd[0], TLS_TX));
	ASSERT_EQ(0, set_keys(fd[0], TLS_RX));
	ASSERT_EQ(1, nic_count_unmoved(fd[0], &before));
	/* What sock_diag says of the same socket. */
	ASSERT_EQ(0, sockinfo_offload(fd[0], &tx, &rx));
	ASSERT_EQ((int)KTLS_OFFLOAD_SW, (int)tx);
	ASSERT_EQ((int)KTLS_OFFLOAD_SW, (int)rx);

	moved = before;
	moved.tx--;
	EXPECT_EQ(0, nic_count_unmoved(fd[0], &moved));
	moved = before;
	moved.rx--;
	EXPECT_EQ(0, nic_count_unmoved(fd[0], &moved));
	EXPECT_EQ(0, nic_count_unmoved(fd[0], &none));
	close(fd[0]);
	close(fd[1]);
}

/* A TCP socket made in a network namespace of its own, passed to us. */
static int foreign_socket(void)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b = 0;
	struct iovec iov = { &b, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int sv[2], fd = -1, st;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	pid = fork();
	if (pid == 0) {
		int s;

		close(sv[0]);
		if (unshare(CLONE_NEWNET))
			_exit(1);
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			_exit(2);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &s, sizeof(int));
		_exit(sendmsg(sv[1], &m, 0) == 1 ? 0 : 3);
	}
	close(sv[1]);
	if (recvmsg(sv[0], &m, 0) == 1 && (c = CMSG_FIRSTHDR(&m)) &&
	    c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(sv[0]);
	waitpid(pid, &st, 0);
	return fd;
}

TEST(nic_counts_vouch_for_our_namespace_only)
{
	struct nic_count before;
	int fd[2], other;

	ASSERT_EQ(0, tcp_pair(fd));
	REQUIRE_KTLS(fd[0]);
	close(fd[0]);
	close(fd[1]);
	other = foreign_socket();
	ASSERT_LE(0, other) TH_LOG("no socket from a new network namespace");
	nic_count_read(&before);
	ASSERT_EQ(1, before.ok);
	EXPECT_EQ(0, nic_count_unmoved(other, &before));
	close(other);
}

/* ---- sockinfo_offload() ---- */

FIXTURE(offload)
{
	int fd[2];
};

FIXTURE_SETUP(offload)
{
	ASSERT_EQ(0, tcp_pair(self->fd));
}

FIXTURE_TEARDOWN(offload)
{
	close(self->fd[0]);
	close(self->fd[1]);
}

#define ASSERT_OFFLOAD(fd, want_tx, want_rx) do {			\
	enum ktls_offload __tx = 99, __rx = 99;				\
	int __e = sockinfo_offload(fd, &__tx, &__rx);			\
	ASSERT_EQ(0, __e) TH_LOG("sockinfo_offload: %s", strerror(-__e)); \
	ASSERT_EQ((int)(want_tx), (int)__tx) TH_LOG("tx %s", offload_name(__tx));	\
	ASSERT_EQ((int)(want_rx), (int)__rx) TH_LOG("rx %s", offload_name(__rx));	\
} while (0)

TEST_F(offload, plain_tcp)
{
	ASSERT_OFFLOAD(self->fd[0], KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_NONE);
	ASSERT_OFFLOAD(self->fd[1], KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_NONE);
}

TEST_F(offload, ulp_without_keys)
{
	REQUIRE_KTLS(self->fd[0]);
	ASSERT_OFFLOAD(self->fd[0], KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_NONE);
}

TEST_F(offload, tx_only)
{
	REQUIRE_KTLS(self->fd[0]);
	ASSERT_EQ(0, set_keys(self->fd[0], TLS_TX));
	ASSERT_OFFLOAD(self->fd[0], KTLS_OFFLOAD_SW, KTLS_OFFLOAD_NONE);
	/* The peer is a different socket, untouched. */
	ASSERT_OFFLOAD(self->fd[1], KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_NONE);
}

TEST_F(offload, rx_only)
{
	REQUIRE_KTLS(self->fd[1]);
	ASSERT_EQ(0, set_keys(self->fd[1], TLS_RX));
	ASSERT_OFFLOAD(self->fd[1], KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_SW);
}

TEST_F(offload, tx_and_rx)
{
	REQUIRE_KTLS(self->fd[0]);
	ASSERT_EQ(0, set_keys(self->fd[0], TLS_TX));
	ASSERT_EQ(0, set_keys(self->fd[0], TLS_RX));
	ASSERT_OFFLOAD(self->fd[0], KTLS_OFFLOAD_SW, KTLS_OFFLOAD_SW);
}

/*
 * ktlsd's way after an install: straight to sock_diag on a netlink socket
 * each worker keeps. It must say what a fresh sockinfo_offload() says,
 * socket after socket on the same netlink socket (no stale answer).
 */
TEST_F(offload, kept_netlink_socket_agrees)
{
	enum ktls_offload tx = 99, rx = 99;
	int nl, i, other[2];

	REQUIRE_KTLS(self->fd[0]);
	ASSERT_EQ(0, set_keys(self->fd[0], TLS_TX));
	ASSERT_EQ(0, tcp_pair(other));
	ASSERT_EQ(0, tcp_set_ulp_tls(other[1]));
	ASSERT_EQ(0, set_keys(other[1], TLS_TX));
	ASSERT_EQ(0, set_keys(other[1], TLS_RX));
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	ASSERT_LE(0, nl);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, sockinfo_tls_modes(self->fd[0], 0, nl, &tx, &rx));
		ASSERT_EQ(KTLS_OFFLOAD_SW, (int)tx);
		ASSERT_EQ(KTLS_OFFLOAD_NONE, (int)rx);
		ASSERT_OFFLOAD(self->fd[0], tx, rx);
		ASSERT_EQ(0, sockinfo_tls_modes(other[1], 0, nl, &tx, &rx));
		ASSERT_EQ(KTLS_OFFLOAD_SW, (int)tx);
		ASSERT_EQ(KTLS_OFFLOAD_SW, (int)rx);
		ASSERT_OFFLOAD(other[1], tx, rx);
	}
	close(nl);
	close(other[0]);
	close(other[1]);
}

/* The kernel withholds the ULP's details from others before 6.15. */
TEST_F(offload, without_net_admin)
{
	enum ktls_offload tx, rx;
	int want = kernel_at_least(6, 15), err;

	REQUIRE_KTLS(self->fd[0]);
	ASSERT_EQ(0, set_keys(self->fd[0], TLS_TX));
	ASSERT_EQ(0, set_keys(self->fd[0], TLS_RX));
	ASSERT_EQ(0, drop_net_admin());
	/* Plain sockets never need the netlink query. */
	ASSERT_OFFLOAD(self->fd[1], KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_NONE);
	err = sockinfo_offload(self->fd[0], &tx, &rx);
	if (want) {
		ASSERT_EQ(0, err) TH_LOG("%s", strerror(-err));
		ASSERT_EQ(KTLS_OFFLOAD_SW, (int)tx);
		ASSERT_EQ(KTLS_OFFLOAD_SW, (int)rx);
	} else {
		ASSERT_EQ(-EPERM, err) TH_LOG("%s", strerror(-err));
	}
}

TEST(sockinfo_not_tcp)
{
	enum ktls_offload tx, rx;
	int fd, p[2];

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-EINVAL, sockinfo_offload(fd, &tx, &rx));
	close(fd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(-ENOTSOCK, sockinfo_offload(p[0], &tx, &rx));
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(-EBADF, sockinfo_offload(-1, &tx, &rx));
}

/* The same over IPv6 (::1), where the query carries 128-bit addresses. */
TEST(sockinfo_ipv6)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(sa);
	int lfd, c, a;

	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)))
		SKIP(return, "no IPv6 loopback here: %s", strerror(errno));
	ASSERT_EQ(0, listen(lfd, 1));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&sa, &len));
	c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, a);
	close(lfd);

	ASSERT_OFFLOAD(c, KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_NONE);
	REQUIRE_KTLS(c);
	ASSERT_EQ(0, set_keys(c, TLS_TX));
	ASSERT_OFFLOAD(c, KTLS_OFFLOAD_SW, KTLS_OFFLOAD_NONE);
	ASSERT_EQ(0, set_keys(c, TLS_RX));
	ASSERT_OFFLOAD(c, KTLS_OFFLOAD_SW, KTLS_OFFLOAD_SW);
	close(c);
	close(a);
}

/* ---- ktlsctl probe ---- */

/* Run argv, collect stdout into out (NUL-terminated); the exit status. */
static int run(char *const argv[], const char *in, char *out, size_t size)
{
	int po[2], pi[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) || pipe2(pi, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(pi[0], 0);
		dup2(po[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pi[0]);
	close(po[1]);
	if (in)
		write_full(pi[1], in, strlen(in));
	close(pi[1]);
	while (got + 1 < size && (n = read(po[0], out + got, size - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(po[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(ktlsctl_probe_json)
{
	static const unsigned bits[] = {
		KTLS_CIPHER_AES_128_GCM, KTLS_CIPHER_AES_256_GCM,
		KTLS_CIPHER_CHACHA20_POLY1305, KTLS_CIPHER_AES_128_CCM,
	};
	char path[512], out[8192], res[128];
	char *argv[] = { path, "probe", "--json", NULL };
	char *py[] = { "/usr/bin/python3", "-c",
		       "import json,sys; d=json.load(sys.stdin); "
		       "print(sorted(d))", NULL };
	size_t i;
	int st;

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	if (access(path, X_OK))
		SKIP(return, "ktlsctl is not built yet (%s)", path);
	st = run(argv, NULL, out, sizeof(out));
	TH_LOG("%s", out);
	if (strstr(out, "\"ulp_available\": false")) {
		ASSERT_EQ(1, st);
		SKIP(return, "kTLS: ktlsctl probe found no TLS ULP");
	}
	ASSERT_EQ(0, st);
	ASSERT_NE(NULL, strstr(out, "\"ulp_available\": true"));
	ASSERT_NE(NULL, strstr(out, "\"tls12\": {"));
	ASSERT_NE(NULL, strstr(out, "\"tls13\": {"));
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		const char *name = ktls_cipher_name(bits[i]);
		char quoted[64];

		ASSERT_NE(NULL, name);
		snprintf(quoted, sizeof(quoted), "\"%s\"", name);
		ASSERT_NE(NULL, strstr(out, quoted)) TH_LOG("no %s", quoted);
	}
	ASSERT_NE(NULL, strstr(out, kernel_at_least(6, 14) ?
				    "\"rekey\": true" : "\"rekey\": false"));

	/* Valid JSON, with the documented keys, when python3 is here. */
	if (!access(py[0], X_OK)) {
		ASSERT_EQ(0, run(py, out, res, sizeof(res)));
		ASSERT_STREQ("['interfaces', 'kernel', 'rekey', 'tls12', "
			     "'tls13', 'ulp_available', 'why']\n", res);
	}
}

TEST(ktlsctl_probe_text_and_usage)
{
	char path[512], out[8192];
	char *text[] = { path, "probe", NULL };
	char *bad[] = { path, "probe", "--bogus", NULL };
	int st;

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	if (access(path, X_OK))
		SKIP(return, "ktlsctl is not built yet (%s)", path);
	ASSERT_EQ(2, run(bad, NULL, out, sizeof(out)));
	st = run(text, NULL, out, sizeof(out));
	TH_LOG("%s", out);
	if (strstr(out, "not available")) {
		ASSERT_EQ(1, st);
		SKIP(return, "kTLS: ktlsctl probe found kTLS unusable");
	}
	ASSERT_EQ(0, st);
	ASSERT_NE(NULL, strstr(out, "available"));
}

/*
 * The operator's message when the module is not loaded and we may not
 * load it: unload tls (only in the test VM), drop CAP_NET_ADMIN, probe.
 * Later tests do not mind: the next TCP_ULP by root loads it again.
 */
TEST(probe_explains_missing_module)
{
	struct ktls_probe p = { .size = sizeof(p) };
	int i, err = 0;

	if (!getenv("KTLSVM"))
		SKIP(return, "unloads the tls module: runs only in the test VM");
	for (i = 0; i < 50; i++) {
		err = syscall(SYS_delete_module, "tls", O_NONBLOCK) ? -errno : 0;
		if (err != -EAGAIN && err != -EBUSY)
			break;
		usleep(100 * 1000);
	}
	if (err == -ENOENT && !access("/sys/module/tls", F_OK))
		SKIP(return, "tls is built into this kernel");
	ASSERT_TRUE(!err || err == -ENOENT) TH_LOG("rmmod tls: %s", strerror(-err));
	ASSERT_EQ(0, drop_net_admin());

	ASSERT_EQ(0, ktls_probe(&p));
	ASSERT_EQ(-ENOENT, p.ulp);
	ASSERT_NE(NULL, strstr(p.why, "modprobe tls")) TH_LOG("why: %s", p.why);
	ASSERT_NE(NULL, strstr(p.why, "CAP_NET_ADMIN")) TH_LOG("why: %s", p.why);
	TH_LOG("why: %s", p.why);
}

TEST_HARNESS_MAIN
