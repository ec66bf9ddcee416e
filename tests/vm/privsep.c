// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's privilege separation against a real build/ktlsd: the handshake
 * process's user and capabilities as /proc shows them, the key file it
 * cannot open, what the kernel asks of the upcall's netlink calls, and a
 * handshake process killed during handoffs (the supervisor replaces it;
 * no connect is refused; every later handoff works).
 */
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include "handoff_util.h"
#include "handshake_nl.h"
#include "ktlsd.h"

#define CAP_NET_ADMIN_BIT (1ull << 12)

/* ---- What /proc says of a process ---- */

/* The value of "Name:" in /proc/pid/status (a static buffer), or "". */
static const char *status_field(pid_t pid, const char *name)
{
	static char val[256];
	char path[64], line[512];
	size_t n = strlen(name);
	FILE *f;

	val[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) || line[n] != ':')
			continue;
		snprintf(val, sizeof(val), "%s", line + n + 1 +
			 strspn(line + n + 1, " \t"));
		val[strcspn(val, "\n")] = 0;
		break;
	}
	if (f)
		fclose(f);
	return val;
}

static unsigned long long status_hex(pid_t pid, const char *name)
{
	return strtoull(status_field(pid, name), NULL, 16);
}

/* The user the handshake process should be: ktlsd, else nobody. */
static struct passwd *hs_user(void)
{
	struct passwd *pw = getpwnam("ktlsd");

	return pw ? pw : getpwnam("nobody");
}

static int have_handshake_family(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int fam = -1;

	if (sk && !genl_connect(sk))
		fam = genl_ctrl_resolve(sk, HANDSHAKE_FAMILY_NAME);
	if (sk)
		nl_socket_free(sk);
	return fam > 0;
}

/* ---- The fixture: ktlsd with the upcall off, or on ---- */

FIXTURE(ps)
{
	struct daemon d;
	pid_t hs;
};

FIXTURE_VARIANT(ps)
{
	const char *profiles;
	int upcall;
};

FIXTURE_VARIANT_ADD(ps, no_upcall)
{
	.profiles = PROFILES "\n[upcall]\nenable = no\n",
	.upcall = 0,
};

FIXTURE_VARIANT_ADD(ps, upcall)
{
	.profiles = PROFILES "\n[upcall]\nenable = yes\n",
	.upcall = 1,
};

FIXTURE_SETUP(ps)
{
	if (variant->upcall && !have_handshake_family())
		SKIP(return, "this kernel has no handshake upcall (6.5+)");
	/*
	 * The offload report from sock_diag, as where a NIC offloads TLS:
	 * elsewhere the kernel's counts tell it (tests/vm/probe.c).
	 */
	setenv("KTLSD_TEST_OFFLOAD_SOCK_DIAG", "1", 1);
	daemon_start(_metadata, &self->d, variant->profiles, 1024);
	self->hs = self->d.hs;
}

FIXTURE_TEARDOWN(ps)
{
	daemon_stop(_metadata, &self->d);
}

/* ---- Who the handshake process is ---- */

TEST_F(ps, handshake_process_is_unprivileged)
{
	unsigned long long want = variant->upcall ? CAP_NET_ADMIN_BIT : 0;
	struct passwd *pw = hs_user();
	char ids[64];

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, pw);
	ASSERT_STREQ("ktlsd", status_field(self->d.pid, "Name"));
	ASSERT_STREQ("0\t0\t0\t0", status_field(self->d.pid, "Uid"));
	ASSERT_STREQ("ktlsd-hs", status_field(self->hs, "Name"));
	snprintf(ids, sizeof(ids), "%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid,
		 pw->pw_uid, pw->pw_uid);
	ASSERT_STREQ(ids, status_field(self->hs, "Uid"));
	snprintf(ids, sizeof(ids), "%u\t%u\t%u\t%u", pw->pw_gid, pw->pw_gid,
		 pw->pw_gid, pw->pw_gid);
	ASSERT_STREQ(ids, status_field(self->hs, "Gid"));
	ASSERT_STREQ("", status_field(self->hs, "Groups"));
	ASSERT_EQ(want, status_hex(self->hs, "CapEff"));
	ASSERT_EQ(want, status_hex(self->hs, "CapPrm"));
	ASSERT_EQ(want, status_hex(self->hs, "CapBnd"));
	ASSERT_EQ(0ull, status_hex(self->hs, "CapInh"));
	ASSERT_EQ(0ull, status_hex(self->hs, "CapAmb"));
	ASSERT_STREQ("1", status_field(self->hs, "NoNewPrivs"));
	snprintf(ids, sizeof(ids), "%s", status_field(self->hs, "Uid"));
	TH_LOG("handshake process %d: uid %s, CapEff %s", self->hs, ids,
	       status_field(self->hs, "CapEff"));
}

/*
 * The key file (root's, mode 0600) cannot be opened with the handshake
 * process's credentials, taken from /proc (a forked test process becomes
 * them); and the handshake process holds no descriptor of it.
 */
TEST_F(ps, key_file_cannot_be_opened)
{
	const char *u = status_field(self->hs, "Uid");
	uid_t uid = strtoul(u, NULL, 10);
	gid_t gid = strtoul(status_field(self->hs, "Gid"), NULL, 10);
	struct stat st;
	int status;
	pid_t pid;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, stat(TEST_KEY, &st));
	ASSERT_EQ(0u, st.st_uid);
	ASSERT_EQ(0, (int)(st.st_mode & 077)) TH_LOG("mode %o", st.st_mode);
	ASSERT_NE(0u, uid);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd;

		if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			_exit(2);
		fd = open(TEST_KEY, O_RDONLY | O_CLOEXEC);
		_exit(fd >= 0 ? 1 : errno == EACCES ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("1: opened; 2: could not become uid %u; 3: not EACCES",
		       uid);
	ASSERT_NULL(strstr(fd_list(self->hs), TEST_KEY))
		TH_LOG("%s", fd_list(self->hs));
}

/* ---- What the kernel asks of the upcall's calls, measured ---- */

/* One genl request (cmd, with a u32 and an s32 attribute), its errno. */
static int genl_call(int family, int cmd, int a1, uint32_t v1, int a2,
		     int32_t v2)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr gh;
		struct nlattr a1;
		uint32_t v1;
		struct nlattr a2;
		int32_t v2;
	} m = {
		.nh = { .nlmsg_len = sizeof(m), .nlmsg_type = family,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 },
		.gh = { .cmd = cmd, .version = HANDSHAKE_FAMILY_VERSION },
		.a1 = { .nla_len = 8, .nla_type = a1 }, .v1 = v1,
		.a2 = { .nla_len = 8, .nla_type = a2 }, .v2 = v2,
	};
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr e;
		char more[256];
	} r;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = send(fd, &m, sizeof(m), 0);
	if (n == (ssize_t)sizeof(m))
		n = recv(fd, &r, sizeof(r), 0);
	close(fd);
	if (n < (ssize_t)(sizeof(r.nh) + sizeof(r.e)))
		return n < 0 ? -errno : -EPROTO;
	return r.nh.nlmsg_type == NLMSG_ERROR ? r.e.error : 0;
}

static int join_group(int group)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
			 sizeof(group)) ? -errno : 0;
	close(fd);
	return ret;
}

/* As uid/gid with CAP_NET_ADMIN or none: join, DONE, ACCEPT's errnos. */
static void probe_as(uid_t uid, gid_t gid, int net_admin, int family,
		     int group, int out[3])
{
	struct hs_user u = { .drop = 1, .uid = uid, .gid = gid };
	int p[2], status;
	pid_t pid;

	out[0] = out[1] = out[2] = -ENOSYS;
	if (pipe(p))
		return;
	pid = fork();
	if (!pid) {
		int r[3] = { -ENOSYS, -ENOSYS, -ENOSYS };

		/* ktlsd's own drop: the process the kernel then sees. */
		if (!privdrop_apply(&u, net_admin, getppid())) {
			r[0] = join_group(group);
			r[1] = genl_call(family, HANDSHAKE_CMD_DONE,
					 HANDSHAKE_A_DONE_STATUS, 0,
					 HANDSHAKE_A_DONE_SOCKFD, -1);
			r[2] = genl_call(family, HANDSHAKE_CMD_ACCEPT,
					 HANDSHAKE_A_ACCEPT_HANDLER_CLASS,
					 HANDSHAKE_HANDLER_CLASS_NONE,
					 HANDSHAKE_A_ACCEPT_TIMEOUT, 0);
		}
		_exit(write(p[1], r, sizeof(r)) != sizeof(r));
	}
	close(p[1]);
	if (pid > 0 && read(p[0], out, 3 * sizeof(int)) != 3 * sizeof(int))
		out[0] = out[1] = out[2] = -EIO;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/*
 * Which of the upcall's calls need CAP_NET_ADMIN, for a process of the
 * handshake process's user: measured on the running kernel and logged
 * (docs/privsep.md has the results). ktlsd depends on one fact: DONE is
 * refused without it (so the handshake process keeps it), taken with it.
 * ACCEPT names the handler class "none", which no request waits in.
 */
TEST_F(ps, upcall_calls_need_cap_net_admin)
{
	struct passwd *pw = hs_user();
	struct nl_sock *sk;
	int family, group, without[3], with[3];

	RETURN_IF_SKIPPED();
	if (!variant->upcall)
		SKIP(return, "measured with the upcall on");
	sk = nl_socket_alloc();
	ASSERT_NE(NULL, sk);
	ASSERT_EQ(0, genl_connect(sk));
	family = genl_ctrl_resolve(sk, HANDSHAKE_FAMILY_NAME);
	group = genl_ctrl_resolve_grp(sk, HANDSHAKE_FAMILY_NAME,
				      HANDSHAKE_MCGRP_TLSHD);
	nl_socket_free(sk);
	ASSERT_LT(0, family);
	ASSERT_LT(0, group);
	probe_as(pw->pw_uid, pw->pw_gid, 0, family, group, without);
	probe_as(pw->pw_uid, pw->pw_gid, 1, family, group, with);
	TH_LOG("uid %u without CAP_NET_ADMIN: join tlshd group %d, DONE %d, "
	       "ACCEPT %d", pw->pw_uid, without[0], without[1], without[2]);
	TH_LOG("uid %u with CAP_NET_ADMIN: join tlshd group %d, DONE %d, "
	       "ACCEPT %d", pw->pw_uid, with[0], with[1], with[2]);
	ASSERT_EQ(-EPERM, without[1]);
	ASSERT_EQ(-EBADF, with[1]);
}

/*
 * The offload a handoff reports: sock_diag's ULP block, asked by the
 * handshake process (without CAP_NET_ADMIN when the upcall is off).
 */
TEST_F(ps, offload_report)
{
	const struct ktls_info *in;
	struct conn c = { 0 };

	RETURN_IF_SKIPPED();
	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	ASSERT_EQ(0, conn_handoff(&self->d, &c, "web", NULL, NULL, 0))
		TH_LOG("%s", c.msg);
	in = ktls_session_info(c.s);
	ASSERT_NE(NULL, in);
	TH_LOG("CapEff %s: tx %d rx %d (unknown %d, sw %d)",
	       status_field(self->hs, "CapEff"), in->tx, in->rx,
	       KTLS_OFFLOAD_UNKNOWN, KTLS_OFFLOAD_SW);
	ASSERT_EQ((int)KTLS_OFFLOAD_SW, (int)in->tx);
	ASSERT_EQ((int)KTLS_OFFLOAD_SW, (int)in->rx);
	conn_close(&c);
}

/* ---- A handshake process killed during handoffs ---- */

#define BATCH 10
#define KILLS 3

struct run {
	struct ktls_handoff *h;
	int refused;		/* connects refused or failed: must stay 0 */
	int lost;		/* handoffs in flight on a killed process */
	int failed;		/* others that did not succeed: must stay 0 */
	int64_t ready_ms[KILLS];	/* kill to the new process's ready */
	int64_t done_ms[KILLS];		/* ... to a handoff done by it */
};

/*
 * One batch on r->h: submit, SIGKILL the handshake process if kill_it,
 * collect. A killed process's requests end with the connection (an error
 * from wait_result); the connection is then reopened.
 */
static void batch(struct __test_metadata *_metadata, FIXTURE_DATA(ps) *self,
		  struct run *r, int kill_it, int b)
{
	static struct far_end far[BATCH];	/* outlives a failure */
	struct ktls_handoff_result res = { .size = sizeof(res) };
	int fds[BATCH][2], i, k, ret;
	uint64_t id;

	if (!r->h && ktls_handoff_open(&r->h, self->d.sock)) {
		r->refused++;
		return;
	}
	for (k = 0; k < BATCH; k++) {
		memset(&far[k], 0, sizeof(far[k]));
		ASSERT_EQ(0, tcp_pair(fds[k]));
		ASSERT_EQ(0, far_start(&far[k], fds[k][0], KTLS_CLIENT, NULL));
		ASSERT_EQ(0, submit(r->h, fds[k][1], "web", NULL, 0, &id));
	}
	if (kill_it)
		ASSERT_EQ(0, kill(self->hs, SIGKILL));
	for (i = 0; i < BATCH; i++) {
		ret = wait_result(r->h, &res, 30000);
		ASSERT_NE(-ETIMEDOUT, ret) TH_LOG("batch %d: no result", b);
		if (ret != 1)
			break;
		for (k = 0; k < BATCH && fds[k][1] != res.fd; k++)
			;
		ASSERT_GT(BATCH, k);
		far_settle(&far[k], res.status, fds[k][1]);
		if ((res.status != OK_STATUS || (!res.status && far[k].ret)) &&
		    !r->failed++)
			TH_LOG("batch %d: %d %s; far end: %s", b, res.status,
			       ktls_handoff_error(r->h), far_error(&far[k]));
		if (res.session)
			ktls_session_free(res.session);
	}
	ASSERT_TRUE(i == BATCH || kill_it)
		TH_LOG("batch %d: the connection ended after %d results", b, i);
	if (i < BATCH) {
		r->lost += BATCH - i;
		for (k = 0; k < BATCH; k++)
			far_settle(&far[k], -EPIPE, fds[k][1]);
		ktls_handoff_close(r->h);
		r->h = NULL;
	}
	for (k = 0; k < BATCH; k++) {
		far_free(&far[k]);
		close(fds[k][0]);
		close(fds[k][1]);
	}
}

/*
 * From the kill (at t0) to the new process's "ready:" (the n-th in the
 * log) into *ready, and to the first handoff that then works into *done.
 */
static void restarted(struct __test_metadata *_metadata,
		      FIXTURE_DATA(ps) *self, int64_t t0, int n,
		      int64_t *ready, int64_t *done)
{
	pid_t pid;

	ASSERT_EQ(n, log_wait(&self->d, "info: ready:", n, 5000));
	*ready = ms_now() - t0;
	pid = hs_wait(self->d.pid, self->hs, 5000);
	ASSERT_LT(0, pid) TH_LOG("no new handshake process: %s",
				 log_tail(&self->d));
	self->hs = pid;
	good_handoff(_metadata, &self->d, "web", -1);
	*done = ms_now() - t0;
}

/*
 * SIGKILL of the handshake process three times during 200 handoffs (in
 * batches of ten at once, while a batch is in flight): the supervisor
 * stays, a new process serves within a second, no connect is refused,
 * only the handoffs in flight on the killed process fail, as a closed
 * connection, and every other one works.
 */
TEST_F_TIMEOUT(ps, sigkill_during_handoffs, 600)
{
	pid_t sup = self->d.pid;
	struct run r = { 0 };
	int b, kills = 0;
	int64_t t0 = ms_now(), tk, worst = 0;

	RETURN_IF_SKIPPED();
	if (variant->upcall)
		SKIP(return, "the same with the upcall on: once is enough");
	for (b = 0; b < 200 / BATCH; b++) {
		int kill_it = b % 6 == 3 && kills < KILLS;

		tk = ms_now();
		batch(_metadata, self, &r, kill_it, b);
		if (!kill_it)
			continue;
		restarted(_metadata, self, tk, kills + 2, &r.ready_ms[kills],
			  &r.done_ms[kills]);
		if (r.ready_ms[kills] > worst)
			worst = r.ready_ms[kills];
		kills++;
	}
	if (r.h)
		ktls_handoff_close(r.h);
	TH_LOG("200 handoffs, %d kills in %lld ms: %d lost in flight", kills,
	       (long long)(ms_now() - t0), r.lost);
	for (b = 0; b < kills; b++)
		TH_LOG("kill %d: a new process ready after %lld ms, a handoff "
		       "through it done after %lld ms", b + 1,
		       (long long)r.ready_ms[b], (long long)r.done_ms[b]);
	ASSERT_EQ(KILLS, kills);
	ASSERT_EQ(0, r.refused);
	ASSERT_EQ(0, r.failed);
	ASSERT_EQ(sup, self->d.pid);
	ASSERT_TRUE(daemon_alive(&self->d));
	ASSERT_GT(1000 * DAEMON_SLOW, worst);
	ASSERT_EQ(KILLS, log_count(&self->d, "was killed by signal 9"));
	serves_on(_metadata, &self->d);
}

/*
 * SIGKILL of the key process: the supervisor reloads, which spawns a new
 * one and a new handshake process; every handoff after that works, the
 * supervisor stays.
 */
TEST_F_TIMEOUT(ps, key_process_killed, 120)
{
	pid_t sup = self->d.pid, kp, kp2, hs2;
	int i;

	RETURN_IF_SKIPPED();
	if (variant->upcall)
		SKIP(return, "the same with the upcall on: once is enough");
	good_handoff(_metadata, &self->d, "web", -1);
	kp = child_named(sup, "ktlsd-key");
	ASSERT_LT(0, kp) TH_LOG("no key process under %d", (int)sup);
	ASSERT_EQ(0, kill(kp, SIGKILL));
	ASSERT_EQ(1, log_wait(&self->d, "reloading to start another", 1,
			      5000)) TH_LOG("%s", log_tail(&self->d));
	kp2 = child_wait(sup, "ktlsd-key", kp, 10000);
	ASSERT_LT(0, kp2) TH_LOG("no new key process: %s", log_tail(&self->d));
	hs2 = hs_wait(sup, self->hs, 10000);
	ASSERT_LT(0, hs2) TH_LOG("no new handshake process");
	ASSERT_EQ(2, log_wait(&self->d, "info: ready:", 2, 10000));
	self->hs = hs2;
	for (i = 0; i < 20; i++)
		good_handoff(_metadata, &self->d, "web", -1);
	ASSERT_EQ(sup, self->d.pid);
	ASSERT_TRUE(daemon_alive(&self->d));
	serves_on(_metadata, &self->d);
}

TEST_HARNESS_MAIN
