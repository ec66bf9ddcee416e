// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's handoff socket (docs/handoff.md) against a real build/ktlsd, bad
 * inputs: descriptors, requests and messages it must refuse, each with its
 * documented status, after which the same daemon still hands out working
 * kTLS sockets and holds no descriptor more than when it was idle.
 */
#include <grp.h>

#include "kselftest_harness.h"
#include "handoff_util.h"

/*
 * refused() for profile "web", with the first nsend of fds attached; then
 * all nfds of them are closed, and ktlsd holds none.
 */
static void refused_fds(struct __test_metadata *_metadata,
			const struct daemon *d, int *fds, int nsend, int nfds,
			int want)
{
	refused(_metadata, d, fds, nsend, "web", NULL, NULL, want);
	while (nfds-- > 0)
		close(fds[nfds]);
	ASSERT_NO_FD_LEAK(d);
}

/*
 * A malformed message (buf, with one end of a TCP connection attached;
 * then our side shut if shut): an error reply with request id 0 and status
 * want, then ktlsd closes the connection, and serves on.
 */
static void protocol_error(struct __test_metadata *_metadata,
			   const struct daemon *d, const void *buf, size_t len,
			   int shut, int want)
{
	struct reply rep;
	int fds[2], sock;

	ASSERT_EQ(0, tcp_pair(fds));
	sock = unix_connect(d->sock);
	ASSERT_LE(0, sock);
	ASSERT_EQ(0, send_fds(sock, buf, len, &fds[1], 1));
	if (shut)
		ASSERT_EQ(0, shutdown(sock, SHUT_WR));
	ASSERT_EQ(0, read_reply(sock, &rep, 10000))
		TH_LOG("no error reply: %s", log_tail(d));
	ASSERT_EQ(0ull, rep.r.id);
	ASSERT_EQ(want, rep.r.status)
		TH_LOG("expected %d (%s), got %d: %s", want, strerror(-want),
		       rep.r.status, rep.msg);
	ASSERT_NE(0, rep.msg[0]) TH_LOG("an error reply without a message");
	ASSERT_TRUE(closed_within(sock, 3000))
		TH_LOG("ktlsd kept the connection after a malformed request");
	close(sock);
	close(fds[0]);
	close(fds[1]);
	serves_on(_metadata, d);
}

/* ---- The fixture: a ktlsd of our own ---- */

FIXTURE(hd)
{
	struct daemon d;
};

FIXTURE_SETUP(hd)
{
	daemon_start(_metadata, &self->d, PROFILES, 1024);
}

FIXTURE_TEARDOWN(hd)
{
	daemon_stop(_metadata, &self->d);
}

/* ---- Descriptors ktlsd must refuse ---- */

TEST_F(hd, no_descriptor)
{
	refused_fds(_metadata, &self->d, NULL, 0, 0, -EBADF);
}

TEST_F(hd, two_descriptors)
{
	int a[2], b[2], fds[4];

	ASSERT_EQ(0, tcp_pair(a));
	ASSERT_EQ(0, tcp_pair(b));
	fds[0] = a[1];
	fds[1] = b[1];
	fds[2] = a[0];
	fds[3] = b[0];
	refused_fds(_metadata, &self->d, fds, 2, 4, -EBADF);
}

TEST_F(hd, pipe)
{
	int p[2];

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	refused_fds(_metadata, &self->d, p, 1, 2, -ENOTSOCK);
}

TEST_F(hd, regular_file)
{
	int fd = open(self->d.conf, O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	refused_fds(_metadata, &self->d, &fd, 1, 1, -ENOTSOCK);
}

/* check_fd(): an IPv4 socket that is not a stream one. */
TEST_F(hd, udp_socket)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(9) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ASSERT_LE(0, fd);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	refused_fds(_metadata, &self->d, &fd, 1, 1, -EPROTOTYPE);
}

TEST_F(hd, unix_stream_socket)
{
	int sp[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	refused_fds(_metadata, &self->d, sp, 1, 2, -EAFNOSUPPORT);
}

TEST_F(hd, listening_tcp_socket)
{
	int port, fd = listen_any(&port);

	ASSERT_LE(0, fd);
	refused_fds(_metadata, &self->d, &fd, 1, 1, -ENOTCONN);
}

TEST_F(hd, unconnected_tcp_socket)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_LE(0, fd);
	refused_fds(_metadata, &self->d, &fd, 1, 1, -ENOTCONN);
}

/* The peer has closed: CLOSE_WAIT is not an established connection. */
TEST_F(hd, closed_tcp_connection)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int fds[2], i;

	ASSERT_EQ(0, tcp_pair(fds));
	close(fds[0]);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, getsockopt(fds[1], IPPROTO_TCP, TCP_INFO, &ti,
					&len));
		if (ti.tcpi_state != 1)
			break;
		sleep_ms(10);
	}
	refused_fds(_metadata, &self->d, &fds[1], 1, 1, -ENOTCONN);
}

TEST_F(hd, socket_with_tls_ulp)
{
	int fds[2], ret;

	ASSERT_EQ(0, tcp_pair(fds));
	ret = tcp_set_ulp_tls(fds[1]);
	if (ret == -ENOENT) {
		close(fds[0]);
		close(fds[1]);
		SKIP(return, NO_KTLS_REASON);
	}
	ASSERT_EQ(0, ret);
	refused_fds(_metadata, &self->d, &fds[1], 1, 1, -EALREADY);
	close(fds[0]);
}

/* ---- Requests ktlsd must refuse ---- */

/* Well-formed but for no profile: refused, the connection stays usable. */
TEST_F(hd, unknown_profile)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	refused(_metadata, &self->d, &fds[1], 1, "no-such-profile", NULL, NULL,
		-ENOENT);
	close(fds[0]);
	close(fds[1]);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* SNI or ALPN where the profile does not allow it; or on a server. */
TEST_F(hd, override_not_allowed)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	refused(_metadata, &self->d, &fds[1], 1, "fixed", "localhost", NULL,
		-EPERM);
	refused(_metadata, &self->d, &fds[1], 1, "fixed", NULL, "h2", -EPERM);
	refused(_metadata, &self->d, &fds[1], 1, "web", "localhost", NULL,
		-EPERM);
	close(fds[0]);
	close(fds[1]);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * The status of a request for profile from a child process running as
 * uid and gid with no supplementary groups, on a TCP connection whose far
 * end stays silent (an admitted request times out after 300 ms).
 */
static int status_as(struct __test_metadata *_metadata,
		     const struct daemon *d, uid_t uid, gid_t gid,
		     const char *profile)
{
	int res[2] = { 0, 0 }, p[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct reply rep;
		int sock, tcp[2];

		/* res: the step that failed (0: none), and the status. */
		res[0] = 1;
		if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
			goto out;
		res[0] = 2;
		sock = unix_connect(d->sock);
		if (sock < 0 || tcp_pair(tcp))
			goto out;
		res[0] = 3;
		if (send_req(sock, tcp[1], 6, profile, NULL, NULL, 300) ||
		    read_reply(sock, &rep, 10000) || rep.r.id != 6)
			goto out;
		res[0] = 0;
		res[1] = rep.r.status;
out:
		if (write(p[1], res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(res), read_full(p[0], res, sizeof(res)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, res[0])
		TH_LOG("the child as uid %u gid %u failed at step %d (1 setuid, "
		       "2 connect, 3 request)", uid, gid, res[0]);
	return res[1];
}

/*
 * (Unnamed uids and gids such as 54321: nobody's may be ktlsd's own
 * user on a host without one, which every profile allows.)
 * uid 54321 asks for a profile that allows uid 12345 only: -EACCES. root
 * (this process) is allowed the same profile.
 */
TEST_F(hd, uid_not_allowed)
{
	struct conn c = { 0 };

	if (geteuid() != 0)
		SKIP(return, "changing uid needs root");
	ASSERT_EQ(0, chmod(self->d.dir, 0711));
	ASSERT_EQ(-EACCES, status_as(_metadata, &self->d, 54321, 54321,
				     "strangers"))
		TH_LOG("%s", log_tail(&self->d));
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "uid 54321"))
		TH_LOG("the log does not name the refused uid");

	/* root passes the check: this one gets as far as timing out. */
	conn_pair(_metadata, &c);
	conn_times_out(_metadata, &self->d, &c, "strangers", 300);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}


/*
 * allow_groups counts the primary group (SO_PEERCRED's gid), which a
 * process need not have among its supplementary groups: gid 4242 may use
 * a profile for group 4242 (its handshake runs and times out), gid 54321
 * may not.
 */
TEST_F(hd, primary_group_allowed)
{
	int status;

	if (geteuid() != 0)
		SKIP(return, "changing uid needs root");
	ASSERT_EQ(0, chmod(self->d.dir, 0711));
	ASSERT_EQ(0, write_conf(&self->d, "[profile members]\n"
				"role = client\n"
				"ca = " TEST_CERT "\n"
				"server_name = localhost\n"
				"allow_groups = 4242\n"));
	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d, "info: reloaded ", 1,
			      5000 * DAEMON_SLOW))
		TH_LOG("%s", log_tail(&self->d));
	status = status_as(_metadata, &self->d, 54321, 4242, "members");
	ASSERT_EQ(-ETIMEDOUT, status) TH_LOG("%s", log_tail(&self->d));
	status = status_as(_metadata, &self->d, 54321, 54321, "members");
	ASSERT_EQ(-EACCES, status) TH_LOG("%s", log_tail(&self->d));
	serves_on(_metadata, &self->d);
}

/* ---- Malformed messages: an error reply, then the connection closes ---- */

TEST_F(hd, truncated_request)
{
	struct wire_buf b = { 0 };

	ASSERT_EQ(0, encode_req(&b, 1, "web", NULL, NULL, 0));
	protocol_error(_metadata, &self->d, b.p, b.len / 2, 1, -EBADMSG);
	wire_buf_wipe_free(&b);
}

TEST_F(hd, oversize_request)
{
	static const uint8_t hdr[WIRE_HDR_LEN] = {
		'K', 'T', 'L', 'S', 1, 1, 0, 0, 0, 0, 5000 >> 8, 5000 & 0xff,
	};

	protocol_error(_metadata, &self->d, hdr, sizeof(hdr), 0, -EMSGSIZE);
}

/* Version 2: refused, in a version 1 reply (read_reply checks it). */
TEST_F(hd, unknown_version)
{
	struct wire_buf b = { 0 };

	ASSERT_EQ(0, encode_req(&b, 1, "web", NULL, NULL, 0));
	b.p[4] = 2;
	protocol_error(_metadata, &self->d, b.p, b.len, 0, -EPROTONOSUPPORT);
	wire_buf_wipe_free(&b);
}

TEST_F(hd, bad_magic)
{
	struct wire_buf b = { 0 };

	ASSERT_EQ(0, encode_req(&b, 1, "web", NULL, NULL, 0));
	memcpy(b.p, "HTTP", 4);
	protocol_error(_metadata, &self->d, b.p, b.len, 0, -EPROTO);
	wire_buf_wipe_free(&b);
}

/* A tag below 0x8000 that version 1 does not have: the body is invalid. */
TEST_F(hd, unknown_mandatory_field)
{
	static const uint8_t field[9] = { 0x01, 0x00, 0, 0, 0, 0, 0, 1, 'x' };
	struct wire_buf b = { 0 };
	uint8_t msg[512];
	size_t len;

	ASSERT_EQ(0, encode_req(&b, 1, "web", NULL, NULL, 0));
	ASSERT_GT(sizeof(msg), b.len + sizeof(field));
	memcpy(msg, b.p, b.len);
	memcpy(msg + b.len, field, sizeof(field));
	len = b.len + sizeof(field);
	msg[10] = (len - WIRE_HDR_LEN) >> 8;
	msg[11] = (len - WIRE_HDR_LEN) & 0xff;
	protocol_error(_metadata, &self->d, msg, len, 0, -EBADMSG);
	wire_buf_wipe_free(&b);
}

TEST_HARNESS_MAIN
