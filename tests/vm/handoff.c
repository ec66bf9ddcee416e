// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsd's handoff socket (docs/handoff.md) against a real build/ktlsd:
 * every refusal with its documented status, after which the same daemon
 * still hands out working kTLS sockets and holds no descriptor more than
 * when it was idle; handshakes that fail, time out or are abandoned;
 * max_inflight; reloads; the good path through libktls, ktlsctl and the
 * Python example; and a thousand handoffs at once.
 */
#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/un.h>

#include "kselftest_harness.h"
#include "ktlsd_proc.h"

#include <ktls.h>
#include "internal.h"
#include "wire.h"

/*
 * A handshake that should work: 0; or where the kernel has no kTLS, the
 * failure at the install (the handshake itself went through).
 */
#define OK_STATUS (host_has_ktls() ? 0 : -KTLS_E_NO_KTLS)

#define NO_KTLS_REASON "kTLS: the kernel has no TLS ULP"

static void set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

/* Close with a RST rather than a FIN. */
static void close_rst(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* ---- The daemon under test ---- */

/*
 * "web": a server (3 s to handshake); "patient": the same with 300 s;
 * "out": a client that trusts the test certificate and lets requests set
 * SNI and ALPN; "fixed": a client that does not; "strangers": a client
 * profile for uid 12345 only (and root).
 */
#define PROFILES							\
	"[profile web]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 3000\n"					\
	"\n"								\
	"[profile patient]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 300000\n"					\
	"\n"								\
	"[profile out]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"					\
	"allow_override = sni alpn\n"					\
	"handshake_timeout = 3000\n"					\
	"\n"								\
	"[profile fixed]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"					\
	"handshake_timeout = 3000\n"					\
	"\n"								\
	"[profile strangers]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"					\
	"handshake_timeout = 3000\n"					\
	"allow_users = 12345\n"

/* What ktlsd's descriptors are, for failure messages. */
static const char *fd_list(pid_t pid)
{
	static char list[4096];
	char path[320], target[256];
	struct dirent *e;
	size_t len = 0;
	ssize_t n;
	DIR *dir;

	list[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	while (dir && (e = readdir(dir)) && len < sizeof(list) - 300) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
			 e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		len += snprintf(list + len, sizeof(list) - len, " %s=%s",
				e->d_name, target);
	}
	if (dir)
		closedir(dir);
	return list;
}

/* The descriptor number ktlsd would get next. */
static int lowest_free_fd(pid_t pid)
{
	char path[64];
	int fd;

	for (fd = 0; fd < 65536; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (access(path, F_OK))
			return fd;
	}
	return -1;
}

/* ktlsd's descriptor count once it stops moving (up to ~2 s) to want. */
static int settle_fds(const struct daemon *d, int want, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;
	int n;

	for (;;) {
		n = count_fds(d->pid);
		if (n == want || ms_now() >= end)
			return n;
		sleep_ms(20);
	}
}

/* ktlsd holds extra descriptors more than when idle (within ~2 s). */
#define ASSERT_FDS(d, extra) do {					\
	int __n = settle_fds(d, (d)->base_fds + (extra), 2000);		\
	ASSERT_EQ((d)->base_fds + (extra), __n)				\
		TH_LOG("ktlsd holds %d descriptors, %d when idle:%s",	\
		       __n, (d)->base_fds, fd_list((d)->pid));		\
} while (0)

/* Everything the test handed over or opened is closed: so is ktlsd's. */
#define ASSERT_NO_FD_LEAK(d) ASSERT_FDS(d, 0)

/* ---- Speaking the protocol by hand ---- */

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	set_rcvtimeo(fd, 30000);
	return fd;
}

/* buf, with nfds descriptors attached to its first byte. */
static int send_fds(int sock, const void *buf, size_t len, const int *fds,
		    int nfds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	n = sendmsg(sock, &m, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static struct wire_str wstr(const char *s)
{
	return (struct wire_str){ s, s ? strlen(s) : 0 };
}

static int encode_req(struct wire_buf *b, uint64_t id, const char *profile,
		      const char *sni, const char *alpn, unsigned timeout_ms)
{
	struct wire_req w = {
		.id = id, .profile = wstr(profile), .server_name = wstr(sni),
		.alpn = wstr(alpn), .timeout_ms = timeout_ms,
	};

	return wire_encode_req(b, &w);
}

static int send_req(int sock, int fd, uint64_t id, const char *profile,
		    const char *sni, const char *alpn, unsigned timeout_ms)
{
	struct wire_buf b = { 0 };
	int ret = encode_req(&b, id, profile, sni, alpn, timeout_ms);

	if (!ret)
		ret = send_fds(sock, b.p, b.len, &fd, fd >= 0);
	wire_buf_wipe_free(&b);
	return ret;
}

/* Exactly len bytes: 0, -ETIMEDOUT, -ECONNRESET (the end came first). */
static int recv_exact(int sock, void *buf, size_t len, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		int left = (int)(end - ms_now());

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) <= 0)
			continue;
		n = recv(sock, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		got += n;
	}
	return 0;
}

/* A decoded reply; r's pointers go stale at the next read_reply(). */
struct reply {
	struct wire_reply r;
	char msg[WIRE_MSG_MAX + 1];
};

static uint8_t reply_buf[WIRE_HDR_LEN + WIRE_REPLY_MAX];

/* 0, or -ETIMEDOUT, -ECONNRESET, -EPROTO (not a valid version 1 reply). */
static int read_reply(int sock, struct reply *rep, int timeout_ms)
{
	const char *why = "";
	long len;
	int ret;

	memset(rep, 0, sizeof(*rep));
	ret = recv_exact(sock, reply_buf, WIRE_HDR_LEN, timeout_ms);
	if (ret)
		return ret;
	len = wire_check_header(reply_buf, WIRE_REPLY, WIRE_REPLY_MAX);
	if (len < 0)
		return -EPROTO;
	ret = recv_exact(sock, reply_buf + WIRE_HDR_LEN, len, timeout_ms);
	if (ret)
		return ret;
	if (wire_decode_reply(reply_buf + WIRE_HDR_LEN, len, &rep->r, &why))
		return -EPROTO;
	snprintf(rep->msg, sizeof(rep->msg), "%.*s", (int)rep->r.message.len,
		 rep->r.message.p ? rep->r.message.p : "");
	return 0;
}

/* Whether ktlsd closes sock (with nothing more to say) within the time. */
static int closed_within(int sock, int timeout_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	char c;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	n = recv(sock, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ---- The far end of the TCP connection: libktls in a thread ---- */

struct far_end {
	int fd;
	struct ktls_config *cfg;
	struct ktls_session *s;
	pthread_t th;
	int running;
	int ret;
	const void *send;	/* written as soon as the handshake is done */
	size_t send_len;
};

static void *far_main(void *arg)
{
	struct far_end *f = arg;

	f->ret = ktls_session_handshake(f->s);
	if (f->ret)
		shutdown(f->fd, SHUT_WR);
	else if (f->send_len && write_full(f->fd, f->send, f->send_len) !=
				(ssize_t)f->send_len)
		f->ret = -errno;
	return NULL;
}

/* A client (trusting the test certificate) or server (with it) on fd. */
static int far_start(struct far_end *f, int fd, enum ktls_role role,
		     const char *alpn)
{
	int ret;

	f->fd = fd;
	ret = ktls_config_new(&f->cfg, role);
	if (!ret)
		ret = role == KTLS_CLIENT ?
			ktls_config_set_ca_file(f->cfg, TEST_CERT) :
			ktls_config_add_cert(f->cfg, TEST_CERT, TEST_KEY);
	if (!ret && alpn)
		ret = ktls_config_set_alpn(f->cfg, alpn);
	if (!ret)
		ret = ktls_config_set_timeout(f->cfg, 30000);
	if (!ret)
		ret = ktls_session_new(&f->s, f->cfg, fd);
	if (!ret && role == KTLS_CLIENT)
		ret = ktls_session_set_server_name(f->s, "localhost");
	if (!ret)
		ret = -pthread_create(&f->th, NULL, far_main, f);
	if (!ret)
		f->running = 1;
	return ret;
}

static int far_join(struct far_end *f)
{
	if (f->running)
		pthread_join(f->th, NULL);
	f->running = 0;
	return f->ret;
}

static void far_free(struct far_end *f)
{
	far_join(f);
	if (f->s)
		ktls_session_free(f->s);
	if (f->cfg)
		ktls_config_free(f->cfg);
	f->s = NULL;
	f->cfg = NULL;
}

/*
 * The handoff's outcome is in: if it failed, stop the far end waiting for
 * more, then wait for it (before any assertion can unwind the stack that
 * holds f).
 */
static void far_settle(struct far_end *f, int status, int app_fd)
{
	if (status)
		shutdown(app_fd, SHUT_RDWR);
	far_join(f);
}

static const char *far_error(const struct far_end *f)
{
	return f->s ? ktls_session_error(f->s) : "";
}

/* ---- Handoffs through libktls ---- */

/* ktls_handoff() on a new connection: the status, ktlsd's message in msg. */
static int handoff(const struct daemon *d, int fd, const char *profile,
		   const char *sni, const char *alpn, unsigned timeout_ms,
		   struct ktls_session **s, char *msg, size_t msglen)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = profile, .server_name = sni,
		.alpn = alpn, .timeout_ms = timeout_ms,
	};
	struct ktls_handoff *h;
	int ret;

	*s = NULL;
	ret = ktls_handoff_open(&h, d->sock);
	if (ret) {
		snprintf(msg, msglen, "ktls_handoff_open: %s", strerror(-ret));
		return ret;
	}
	ret = ktls_handoff(h, fd, &req, s);
	snprintf(msg, msglen, "%s", ktls_handoff_error(h));
	ktls_handoff_close(h);
	return ret;
}

/* One result within the time: 1 (in *r), -ETIMEDOUT, or h's error. */
static int wait_result(struct ktls_handoff *h, struct ktls_handoff_result *r,
		       int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;
	struct pollfd p = { .fd = ktls_handoff_fd(h), .events = POLLIN };
	int ret;

	for (;;) {
		ret = ktls_handoff_result(h, r);
		if (ret)
			return ret;
		if (ms_now() >= end)
			return -ETIMEDOUT;
		poll(&p, 1, (int)(end - ms_now()));
	}
}

static int submit(struct ktls_handoff *h, int fd, const char *profile,
		  const char *sni, unsigned timeout_ms, uint64_t *id)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = profile, .server_name = sni,
		.timeout_ms = timeout_ms,
	};

	return ktls_handoff_submit(h, fd, &req, id);
}

/*
 * A TCP connection for a handoff: app is the end handed to ktlsd, peer the
 * other, where a libktls far end may run; s and msg what the handoff gave.
 */
struct conn {
	int app, peer;
	struct far_end far;
	struct ktls_session *s;
	char msg[WIRE_MSG_MAX + 1];
};

/* A connection with nobody at the far end (app: the accepted side). */
static void conn_pair(struct __test_metadata *_metadata, struct conn *c)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	c->peer = fds[0];
	c->app = fds[1];
}

/*
 * A connection whose far end is libktls in far_role (offering far_alpn,
 * sending c->far.send once done), already handshaking; both ends give up
 * waiting after 10 s.
 */
static void conn_open(struct __test_metadata *_metadata, struct conn *c,
		      enum ktls_role far_role, const char *far_alpn)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	/* The client connects: it has fds[0]. */
	c->peer = fds[far_role == KTLS_CLIENT ? 0 : 1];
	c->app = fds[far_role == KTLS_CLIENT ? 1 : 0];
	set_rcvtimeo(c->app, 10000);
	set_rcvtimeo(c->peer, 10000);
	ASSERT_EQ(0, far_start(&c->far, c->peer, far_role, far_alpn));
}

/*
 * ktls_handoff() of c->app: the status, ktlsd's message in c->msg. A far
 * end has finished when this returns.
 */
static int conn_handoff(const struct daemon *d, struct conn *c,
			const char *profile, const char *sni, const char *alpn,
			unsigned timeout_ms)
{
	int ret = handoff(d, c->app, profile, sni, alpn, timeout_ms, &c->s,
			  c->msg, sizeof(c->msg));

	if (c->far.running)
		far_settle(&c->far, ret, c->app);
	return ret;
}

/* conn_handoff() that must work, and the far end's handshake with it. */
static void conn_handoff_ok(struct __test_metadata *_metadata,
			    const struct daemon *d, struct conn *c,
			    const char *profile, const char *sni,
			    const char *alpn)
{
	int ret = conn_handoff(d, c, profile, sni, alpn, 0);

	ASSERT_EQ(0, ret) TH_LOG("%s", c->msg);
	ASSERT_EQ(0, c->far.ret) TH_LOG("%s", far_error(&c->far));
}

/* conn_handoff() that must time out: how long it took, in ms. */
static int64_t conn_times_out(struct __test_metadata *_metadata,
			      const struct daemon *d, struct conn *c,
			      const char *profile, unsigned timeout_ms)
{
	int64_t t0 = ms_now();
	int ret = conn_handoff(d, c, profile, NULL, NULL, timeout_ms);

	ASSERT_EQ(-ETIMEDOUT, ret) TH_LOG("%s", c->msg);
	return ms_now() - t0;
}

/* to_far from the app's end, to_app from the far end: both arrive. */
static void both_ways(struct __test_metadata *_metadata, struct conn *c,
		      const char *to_far, const char *to_app)
{
	ssize_t n = strlen(to_far), m = strlen(to_app);
	char buf[64];

	ASSERT_GE((ssize_t)sizeof(buf), n > m ? n : m);
	ASSERT_EQ(n, write(c->app, to_far, n));
	ASSERT_EQ(n, ktls_recv(c->far.s, buf, n, MSG_WAITALL, NULL));
	ASSERT_EQ(0, memcmp(buf, to_far, n));
	ASSERT_EQ(m, write(c->peer, to_app, m));
	ASSERT_EQ(m, ktls_recv(c->s, buf, m, MSG_WAITALL, NULL));
	ASSERT_EQ(0, memcmp(buf, to_app, m));
}

static void conn_close(struct conn *c)
{
	if (c->s)
		ktls_session_free(c->s);
	far_free(&c->far);
	close(c->app);
	close(c->peer);
}

/*
 * A handoff that must work, to show that ktlsd still serves: a server
 * profile, with a libktls client at the far end; through ktls_handoff() on
 * a new connection, or by hand on sock when sock >= 0. Where the kernel has
 * kTLS a few bytes then go each way; elsewhere the handshake must get as
 * far as the install.
 */
static void good_handoff(struct __test_metadata *_metadata,
			 const struct daemon *d, const char *profile, int sock)
{
	struct conn c = { 0 };
	struct reply rep;
	char buf[4];
	int status, io = 0;

	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	if (sock >= 0) {
		io = send_req(sock, c.app, 99, profile, NULL, NULL, 0);
		if (!io)
			io = read_reply(sock, &rep, 30000);
		if (!io && rep.r.id != 99)
			io = -EPROTO;
		status = io ? io : rep.r.status;
		snprintf(c.msg, sizeof(c.msg), "%s", io ? "" : rep.msg);
		far_settle(&c.far, status, c.app);
	} else {
		status = conn_handoff(d, &c, profile, NULL, NULL, 0);
	}
	ASSERT_EQ(0, io) TH_LOG("no reply on the connection: %s",
				strerror(-io));
	ASSERT_EQ(OK_STATUS, status)
		TH_LOG("a handoff with profile %s that should work: %s "
		       "(far end: %s)", profile, c.msg, far_error(&c.far));
	if (!status) {
		ASSERT_EQ(0, c.far.ret) TH_LOG("far end: %s",
					       far_error(&c.far));
		ASSERT_EQ(4, write(c.app, "ping", 4));
		ASSERT_EQ(4, ktls_recv(c.far.s, buf, 4, MSG_WAITALL, NULL));
		ASSERT_EQ(0, memcmp(buf, "ping", 4));
		ASSERT_EQ(4, write(c.peer, "pong", 4));
		ASSERT_EQ(4, read_full(c.app, buf, 4));
		ASSERT_EQ(0, memcmp(buf, "pong", 4));
	}
	conn_close(&c);
}

/* After a failure: ktlsd still serves, and holds nothing more than idle. */
static void serves_on(struct __test_metadata *_metadata,
		      const struct daemon *d)
{
	good_handoff(_metadata, d, "web", -1);
	ASSERT_NO_FD_LEAK(d);
}

/*
 * A well-formed request for profile with nfds descriptors must get status
 * want with a message; the connection stays usable: a handoff on it works.
 */
static void refused(struct __test_metadata *_metadata, const struct daemon *d,
		    const int *fds, int nfds, const char *profile,
		    const char *sni, const char *alpn, int want)
{
	struct wire_buf b = { 0 };
	struct reply rep;
	int sock = unix_connect(d->sock);

	ASSERT_LE(0, sock) TH_LOG("connect %s: %s", d->sock, strerror(-sock));
	ASSERT_EQ(0, encode_req(&b, 42, profile, sni, alpn, 0));
	ASSERT_EQ(0, send_fds(sock, b.p, b.len, fds, nfds));
	wire_buf_wipe_free(&b);
	ASSERT_EQ(0, read_reply(sock, &rep, 10000));
	ASSERT_EQ(42ull, rep.r.id);
	ASSERT_EQ(want, rep.r.status)
		TH_LOG("expected %d (%s), got %d: %s", want, strerror(-want),
		       rep.r.status, rep.msg);
	ASSERT_NE(0, rep.msg[0]) TH_LOG("a refusal without a message");
	/* Refused, yet still usable; and the daemon serves on. */
	good_handoff(_metadata, d, "web", sock);
	close(sock);
}

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
 * uid 65534 asks for a profile that allows uid 12345 only: -EACCES. root
 * (this process) is allowed the same profile.
 */
TEST_F(hd, uid_not_allowed)
{
	struct conn c = { 0 };

	if (geteuid() != 0)
		SKIP(return, "changing uid needs root");
	ASSERT_EQ(0, chmod(self->d.dir, 0711));
	ASSERT_EQ(-EACCES, status_as(_metadata, &self->d, 65534, 65534,
				     "strangers"))
		TH_LOG("%s", log_tail(&self->d));
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "uid 65534"))
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
 * a profile for group 4242 (its handshake runs and times out), gid 65534
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
	ASSERT_EQ(1, log_wait(&self->d, "info: reloaded ", 1, 5000))
		TH_LOG("%s", log_tail(&self->d));
	status = status_as(_metadata, &self->d, 65534, 4242, "members");
	ASSERT_EQ(-ETIMEDOUT, status) TH_LOG("%s", log_tail(&self->d));
	status = status_as(_metadata, &self->d, 65534, 65534, "members");
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

/*
 * The application sends its requests, then shuts down its sending side:
 * it is still there, and gets every reply; then ktlsd closes.
 */
TEST_F(hd, half_close_still_gets_replies)
{
	struct far_end far = { 0 };
	struct reply rep;
	int sock, good[2], silent[2], i, ret = 0, st[2] = { 1, 1 };

	ASSERT_EQ(0, tcp_pair(good));
	ASSERT_EQ(0, tcp_pair(silent));
	sock = unix_connect(self->d.sock);
	ASSERT_LE(0, sock);
	ASSERT_EQ(0, far_start(&far, good[0], KTLS_CLIENT, NULL));
	ret = send_req(sock, good[1], 1, "web", NULL, NULL, 0);
	if (!ret)
		ret = send_req(sock, silent[1], 2, "web", NULL, NULL, 500);
	if (!ret)
		ret = shutdown(sock, SHUT_WR) ? -errno : 0;
	for (i = 0; !ret && i < 2; i++) {
		ret = read_reply(sock, &rep, 10000);
		if (!ret && rep.r.id >= 1 && rep.r.id <= 2)
			st[rep.r.id - 1] = rep.r.status;
	}
	far_settle(&far, ret || st[0], good[1]);
	ASSERT_EQ(0, ret) TH_LOG("reply %d of 2: %s", i, strerror(-ret));
	ASSERT_EQ(OK_STATUS, st[0]) TH_LOG("far end: %s", far_error(&far));
	ASSERT_EQ(-ETIMEDOUT, st[1]);
	ASSERT_TRUE(closed_within(sock, 3000))
		TH_LOG("ktlsd kept the connection after the last reply");
	close(sock);
	far_free(&far);
	close(good[0]);
	close(good[1]);
	close(silent[0]);
	close(silent[1]);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * SIGTERM with a handshake in flight: it runs to its end and its reply
 * comes; a request after the signal gets -ESHUTDOWN at once; then ktlsd
 * exits 0 and its socket is gone.
 */
TEST_F(hd, sigterm_drains)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_handoff *h;
	int fds[2], late[2], probe[2];
	uint64_t id, late_id, probe_id;
	int64_t t0;

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, tcp_pair(late));
	ASSERT_EQ(0, tcp_pair(probe));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[1], "web", NULL, 1500, &id));
	/*
	 * Admitted before the signal: ktlsd takes a connection's requests in
	 * order, so the answer to one it refuses at once (an unknown profile)
	 * comes after the first is in flight. (Holding its socket is not
	 * enough: the checks come between that and the admission.)
	 */
	ASSERT_EQ(0, submit(h, probe[1], "no-such-profile", NULL, 0, &probe_id));
	ASSERT_EQ(1, wait_result(h, &r, 5000));
	ASSERT_EQ(probe_id, r.id);
	ASSERT_EQ(-ENOENT, r.status);
	ASSERT_FDS(&self->d, 2);
	ASSERT_EQ(0, kill(self->d.pid, SIGTERM));
	ASSERT_EQ(1, log_wait(&self->d, "draining 1 handshakes", 1, 5000))
		TH_LOG("%s", log_tail(&self->d));
	t0 = ms_now();
	ASSERT_EQ(0, submit(h, late[1], "web", NULL, 0, &late_id));
	ASSERT_EQ(1, wait_result(h, &r, 5000));
	ASSERT_EQ(late_id, r.id) TH_LOG("status %d", r.status);
	ASSERT_EQ(-ESHUTDOWN, r.status) TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_GT(1000, ms_now() - t0);
	ASSERT_EQ(1, wait_result(h, &r, 5000));
	ASSERT_EQ(id, r.id);
	ASSERT_EQ(-ETIMEDOUT, r.status) TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_EQ(0, daemon_wait(&self->d, 5000))
		TH_LOG("ktlsd did not exit 0 after draining: %s",
		       log_tail(&self->d));
	ASSERT_EQ(-1, access(self->d.sock, F_OK));
	ASSERT_EQ(ENOENT, errno);
	ktls_handoff_close(h);
	close(fds[0]);
	close(fds[1]);
	close(late[0]);
	close(late[1]);
	close(probe[0]);
	close(probe[1]);
}

/*
 * ktlsd out of descriptors: the connections wait in the backlog, the
 * listener neither spins nor floods the log, and they are served once
 * descriptors are back.
 */
TEST_F(hd, out_of_descriptors)
{
	struct rlimit old, low;
	struct reply rep;
	int sock[4], i, n;

	ASSERT_EQ(0, prlimit(self->d.pid, RLIMIT_NOFILE, NULL, &old));
	low = old;
	low.rlim_cur = lowest_free_fd(self->d.pid);
	ASSERT_EQ(0, prlimit(self->d.pid, RLIMIT_NOFILE, &low, NULL));
	for (i = 0; i < 4; i++) {
		sock[i] = unix_connect(self->d.sock);
		ASSERT_LE(0, sock[i]);
	}
	sleep_ms(1000);
	n = log_count(&self->d, "accept on the handoff socket");
	ASSERT_EQ(0, prlimit(self->d.pid, RLIMIT_NOFILE, &old, NULL));
	ASSERT_LE(1, n) TH_LOG("running out of descriptors went unlogged");
	ASSERT_GE(5, n) TH_LOG("%d warnings about accept in a second", n);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, send_req(sock[i], -1, 3, "web", NULL, NULL, 0));
		ASSERT_EQ(0, read_reply(sock[i], &rep, 5000))
			TH_LOG("connection %d was not served: %s", i,
			       log_tail(&self->d));
		ASSERT_EQ(-EBADF, rep.r.status);
		close(sock[i]);
	}
	serves_on(_metadata, &self->d);
}

/* ---- Handshakes that go wrong ---- */

/*
 * The application hangs up while ktlsd waits for a silent peer: the job is
 * dropped within about a second (well before the 3 s timeout), its
 * descriptor closed.
 */
TEST_F(hd, requester_leaves_mid_handshake)
{
	struct ktls_handoff *h;
	uint64_t id;
	int64_t t0;
	int fds[2], n;

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[1], "web", NULL, 0, &id));
	/* ktlsd holds the peer's socket: one more than idle, and our line. */
	ASSERT_FDS(&self->d, 2);
	ktls_handoff_close(h);
	t0 = ms_now();
	n = settle_fds(&self->d, self->d.base_fds, 2500);
	ASSERT_EQ(self->d.base_fds, n)
		TH_LOG("the abandoned job holds its socket after %lld ms:%s",
		       (long long)(ms_now() - t0), fd_list(self->d.pid));
	ASSERT_EQ(1, log_wait(&self->d, "requester went away", 1, 1000))
		TH_LOG("%s", log_tail(&self->d));
	/* The application still has a working connection of its own. */
	ASSERT_EQ(3, write(fds[0], "abc", 3));
	close(fds[0]);
	close(fds[1]);
	serves_on(_metadata, &self->d);
}

/* h's one handoff ends -ECONNRESET, within 2 s of the reset at t0. */
static void reset_noticed(struct __test_metadata *_metadata,
			  struct ktls_handoff *h, int64_t t0)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };

	ASSERT_EQ(1, wait_result(h, &r, 10000)) TH_LOG("no result");
	ASSERT_EQ(-ECONNRESET, r.status)
		TH_LOG("after %lld ms: %s", (long long)(ms_now() - t0),
		       ktls_handoff_error(h));
	ASSERT_GT(2000, ms_now() - t0) TH_LOG("the reset went unnoticed");
}

/* Client profile: the server reads the ClientHello, then resets. */
TEST_F(hd, peer_resets_client_handshake)
{
	struct ktls_handoff *h;
	uint8_t hello[5];
	uint64_t id;
	int64_t t0;
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[0], "out", NULL, 0, &id));
	ASSERT_EQ(0, recv_exact(fds[1], hello, sizeof(hello), 5000));
	ASSERT_EQ(0x16, hello[0]) TH_LOG("not a handshake record");
	sleep_ms(100);
	t0 = ms_now();
	close_rst(fds[1]);
	reset_noticed(_metadata, h, t0);
	ASSERT_NE(0, ktls_handoff_error(h)[0]);
	ktls_handoff_close(h);
	close(fds[0]);
	serves_on(_metadata, &self->d);
}

/* A real ClientHello (libktls's), as bytes; its length. */
static ssize_t client_hello(uint8_t *buf, size_t cap)
{
	struct ktls_config *cfg;
	struct ktls_session *s;
	struct pollfd p;
	ssize_t n = -1;
	int fds[2];

	if (tcp_pair(fds))
		return -1;
	set_nonblock(fds[0], 1);
	if (!ktls_config_new(&cfg, KTLS_CLIENT)) {
		ktls_config_set_verify(cfg, KTLS_VERIFY_NONE);
		if (!ktls_session_new(&s, cfg, fds[0])) {
			if (ktls_session_handshake(s) == -EAGAIN) {
				p = (struct pollfd){ fds[1], POLLIN, 0 };
				sleep_ms(50);
				if (poll(&p, 1, 5000) == 1)
					n = recv(fds[1], buf, cap, 0);
			}
			ktls_session_free(s);
		}
		ktls_config_free(cfg);
	}
	close(fds[0]);
	close(fds[1]);
	return n;
}

/* Server profile: half a ClientHello, then a reset. */
TEST_F(hd, peer_resets_server_handshake)
{
	struct ktls_handoff *h;
	uint8_t hello[4096];
	ssize_t len = client_hello(hello, sizeof(hello));
	uint64_t id;
	int64_t t0;
	int fds[2];

	ASSERT_LT(100, len) TH_LOG("no ClientHello to replay");
	ASSERT_EQ(0x16, hello[0]);
	ASSERT_EQ(0, tcp_pair(fds));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[1], "web", NULL, 0, &id));
	ASSERT_EQ(len / 2, write(fds[0], hello, len / 2));
	sleep_ms(200);
	t0 = ms_now();
	close_rst(fds[0]);
	reset_noticed(_metadata, h, t0);
	ktls_handoff_close(h);
	close(fds[1]);
	serves_on(_metadata, &self->d);
}

/* Server profile: the client speaks HTTP. A quick failure, explained. */
TEST_F(hd, peer_sends_garbage)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct conn c = { 0 };
	int64_t t0;
	int ret;

	conn_pair(_metadata, &c);
	ASSERT_EQ((ssize_t)strlen(http), write(c.peer, http, strlen(http)));
	t0 = ms_now();
	ret = conn_handoff(&self->d, &c, "web", NULL, NULL, 0);
	ASSERT_EQ(-KTLS_E_HANDSHAKE, ret) TH_LOG("%d: %s", ret, c.msg);
	ASSERT_NE(0, c.msg[0]) TH_LOG("a failure without a message");
	ASSERT_GT(2000, ms_now() - t0);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* A peer that never speaks: the profile's 3 s, then -ETIMEDOUT. */
TEST_F(hd, silent_peer_times_out)
{
	struct conn c = { 0 };
	int64_t ms;

	conn_pair(_metadata, &c);
	ms = conn_times_out(_metadata, &self->d, &c, "web", 0);
	ASSERT_NE(0, c.msg[0]);
	ASSERT_LE(2900, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	ASSERT_GE(5000, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* The request's timeout shortens the profile's; it cannot lengthen it. */
TEST_F(hd, request_timeout)
{
	struct conn c = { 0 };
	int64_t ms;

	conn_pair(_metadata, &c);
	ms = conn_times_out(_metadata, &self->d, &c, "web", 500);
	ASSERT_LE(450, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	ASSERT_GE(2000, ms) TH_LOG("timed out after %lld ms", (long long)ms);
	ms = conn_times_out(_metadata, &self->d, &c, "web", 60000);
	ASSERT_GE(5000, ms) TH_LOG("a request lengthened the timeout to "
				   "%lld ms", (long long)ms);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* The name asked for is not the certificate's: the client refuses it. */
TEST_F(hd, client_profile_wrong_name)
{
	struct conn c = { 0 };
	int ret;

	conn_open(_metadata, &c, KTLS_SERVER, NULL);
	ret = conn_handoff(&self->d, &c, "out", "elsewhere.example", NULL, 0);
	ASSERT_EQ(-KTLS_E_VERIFY, ret) TH_LOG("%s", c.msg);
	ASSERT_NE(NULL, strstr(c.msg, "did not verify")) TH_LOG("%s", c.msg);
	conn_close(&c);
	serves_on(_metadata, &self->d);
}

/* ---- The good path ---- */

/* Server profile: what the session says, on both ends. */
TEST_F(hd, server_session_info)
{
	const struct ktls_info *in, *fin;
	struct conn c = { 0 };
	const uint8_t *tx, *rx;
	int ret;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);
	in = ktls_session_info(c.s);
	fin = ktls_session_info(c.far.s);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(KTLS_TLS13, in->version);
	ASSERT_EQ(fin->version, in->version);
	ASSERT_EQ(fin->cipher, in->cipher);
	ASSERT_NE(0u, in->cipher & KTLS_CIPHER_ALL);
	ASSERT_EQ(0u, in->cipher & (in->cipher - 1)) TH_LOG("not one cipher");
	ASSERT_STREQ(fin->cipher_name, in->cipher_name);
	ASSERT_STREQ(fin->group, in->group);
	ASSERT_STREQ("localhost", in->sni);
	ASSERT_EQ(NULL, in->peer_subject);
	ASSERT_EQ(0, in->resumed);
	ASSERT_EQ(KTLS_SERVER, (int)session_role(c.s));
	ASSERT_EQ(c.app, session_fd(c.s));
	ASSERT_EQ(KTLS_OFFLOAD_SW, (int)(in->tx == KTLS_OFFLOAD_UNKNOWN ?
					 KTLS_OFFLOAD_SW : in->tx));
	/* TLS 1.3: the traffic secrets came along. */
	ret = session_secrets(c.s, &tx, &rx);
	ASSERT_TRUE(ret == 32 || ret == 48) TH_LOG("secret length %d", ret);
	ASSERT_NE(0, memcmp(tx, rx, ret));
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* Data both ways: plain read/write and ktls_recv on the app's socket. */
TEST_F(hd, server_data_both_ways)
{
	static char big[256 * 1024], got[sizeof(big)];
	struct conn c = { 0 };
	ssize_t n, done;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);

	/* app -> far: plain write() through the kernel. */
	fill_pattern(big, sizeof(big), 1, 0);
	ASSERT_EQ((ssize_t)sizeof(big), write_full(c.app, big, sizeof(big)));
	for (done = 0; done < (ssize_t)sizeof(got); done += n) {
		n = ktls_recv(c.far.s, got + done, sizeof(got) - done, 0, NULL);
		ASSERT_LT(0, n) TH_LOG("far end read %zd: %s", n,
				       strerror(-n));
	}
	ASSERT_EQ(-1, check_pattern(got, sizeof(got), 1, 0));

	/* far -> app: read() and then ktls_recv(). */
	fill_pattern(big, sizeof(big), 2, 0);
	ASSERT_EQ((ssize_t)sizeof(big), write_full(c.peer, big, sizeof(big)));
	ASSERT_EQ(1000, read_full(c.app, got, 1000));
	for (done = 1000; done < (ssize_t)sizeof(got); done += n) {
		n = ktls_recv(c.s, got + done, sizeof(got) - done, 0, NULL);
		ASSERT_LT(0, n) TH_LOG("ktls_recv %zd: %s", n, strerror(-n));
	}
	ASSERT_EQ(-1, check_pattern(got, sizeof(got), 2, 0));

	/* A clean close: the far end sees its end of file. */
	ASSERT_EQ(0, ktls_close_notify(c.s));
	ASSERT_EQ(0, ktls_recv(c.far.s, got, 1, 0, NULL));
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * The far end writes the moment its handshake is done: whatever ktlsd read
 * of it comes as early data, the rest from the socket; nothing is lost.
 */
TEST_F(hd, data_right_after_handshake)
{
	static char sent[48 * 1024], got[sizeof(sent)];
	struct conn c = { 0 };
	const void *early;
	size_t n_early;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	fill_pattern(sent, sizeof(sent), 3, 0);
	c.far.send = sent;
	c.far.send_len = sizeof(sent);
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);
	n_early = ktls_session_early_data(c.s, &early);
	ASSERT_GE(sizeof(got), n_early);
	memcpy(got, early, n_early);
	ASSERT_EQ((ssize_t)(sizeof(got) - n_early),
		  read_full(c.app, got + n_early, sizeof(got) - n_early));
	ASSERT_EQ(-1, check_pattern(got, sizeof(got), 3, 0))
		TH_LOG("%zu bytes came as early data", n_early);
	TH_LOG("%zu of %zu bytes came as early data", n_early, sizeof(sent));
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* With the secrets from the reply, the application can update its keys. */
TEST_F(hd, key_update_after_handoff)
{
	struct ktls_probe probe = { .size = sizeof(probe) };
	struct conn c = { 0 };
	int ret;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	ASSERT_EQ(0, ktls_probe(&probe));
	conn_open(_metadata, &c, KTLS_CLIENT, NULL);
	conn_handoff_ok(_metadata, &self->d, &c, "web", NULL, NULL);
	ASSERT_EQ(!!probe.rekey, !!session_can_rekey(c.s))
		TH_LOG("the reply's rekey flag does not match the kernel");
	ret = ktls_key_update(c.s, 1);
	if (!probe.rekey) {
		ASSERT_EQ(-KTLS_E_REKEY, ret);
		SKIP(goto out, "kernel %s takes no new TLS 1.3 keys (6.14+)",
		     probe.kernel);
	}
	ASSERT_EQ(0, ret) TH_LOG("ktls_key_update: %s", ktls_strerror(ret));
	/* New keys our way; the far end follows and updates its own. */
	both_ways(_metadata, &c, "after-rekey", "back");
out:
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* ktlsd works non-blocking on the shared file; the app's flag comes back. */
TEST_F(hd, fd_flags_restored)
{
	struct conn c;
	int ret, nb;

	for (nb = 0; nb < 2; nb++) {
		memset(&c, 0, sizeof(c));
		conn_open(_metadata, &c, KTLS_CLIENT, NULL);
		ASSERT_EQ(0, set_nonblock(c.app, nb));
		ret = conn_handoff(&self->d, &c, "web", NULL, NULL, 0);
		ASSERT_EQ(nb ? O_NONBLOCK : 0,
			  fcntl(c.app, F_GETFL) & O_NONBLOCK)
			TH_LOG("O_NONBLOCK %s after a handoff",
			       nb ? "cleared" : "left set");
		ASSERT_EQ(OK_STATUS, ret) TH_LOG("%s", c.msg);
		conn_close(&c);
	}
	/* And after a failure. */
	memset(&c, 0, sizeof(c));
	conn_pair(_metadata, &c);
	conn_times_out(_metadata, &self->d, &c, "web", 300);
	ASSERT_EQ(0, fcntl(c.app, F_GETFL) & O_NONBLOCK)
		TH_LOG("O_NONBLOCK left set after a failed handoff");
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* Client profile with SNI and ALPN from the request. */
TEST_F(hd, client_profile_overrides)
{
	const struct ktls_info *in;
	struct conn c = { 0 };

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	conn_open(_metadata, &c, KTLS_SERVER, "http/1.1");
	conn_handoff_ok(_metadata, &self->d, &c, "out", "localhost",
			"h2,http/1.1");
	in = ktls_session_info(c.s);
	ASSERT_EQ(KTLS_CLIENT, (int)session_role(c.s));
	ASSERT_STREQ("http/1.1", in->alpn);
	ASSERT_STREQ("localhost", in->sni);
	ASSERT_STREQ("localhost", ktls_session_info(c.far.s)->sni);
	ASSERT_NE(NULL, in->peer_subject);
	ASSERT_NE(NULL, strstr(in->peer_subject, "CN=localhost"))
		TH_LOG("peer subject %s", in->peer_subject);
	ASSERT_EQ((size_t)64, strlen(in->peer_sha256));
	both_ways(_metadata, &c, "hello", "world");
	conn_close(&c);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* ---- Reloads ---- */

#define BATCH 10

/*
 * SIGHUP ten times during 200 handoffs (in batches of ten at once, the
 * signal sent while a batch is in flight): not one of them fails.
 */
TEST_F_TIMEOUT(hd, reload_during_handoffs, 300)
{
	static struct far_end far[BATCH];	/* outlives a failure */
	int fds[BATCH][2], b, i, k, ret, failed = 0, hups = 0;
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_handoff *h;
	int64_t t0 = ms_now();
	uint64_t id;

	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	for (b = 0; b < 200 / BATCH; b++) {
		for (k = 0; k < BATCH; k++) {
			memset(&far[k], 0, sizeof(far[k]));
			ASSERT_EQ(0, tcp_pair(fds[k]));
			ASSERT_EQ(0, far_start(&far[k], fds[k][0], KTLS_CLIENT,
					       NULL));
			ASSERT_EQ(0, submit(h, fds[k][1], "web", NULL, 0, &id));
		}
		if (b % 2) {
			ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
			hups++;
		}
		for (i = 0; i < BATCH; i++) {
			ret = wait_result(h, &r, 30000);
			ASSERT_EQ(1, ret) TH_LOG("batch %d: %d results", b, i);
			for (k = 0; k < BATCH && fds[k][1] != r.fd; k++)
				;
			ASSERT_GT(BATCH, k);
			far_settle(&far[k], r.status, fds[k][1]);
			if ((r.status != OK_STATUS ||
			     (!r.status && far[k].ret)) && !failed++)
				TH_LOG("batch %d: %d %s; far end: %s", b,
				       r.status, ktls_handoff_error(h),
				       far_error(&far[k]));
			if (r.session)
				ktls_session_free(r.session);
		}
		for (k = 0; k < BATCH; k++) {
			far_free(&far[k]);
			close(fds[k][0]);
			close(fds[k][1]);
		}
		/* One reload per signal: not two signals pending at once. */
		ret = log_wait(&self->d, "info: reloaded ", hups,
			       20000 * DAEMON_SLOW);
		ASSERT_EQ(hups, ret) TH_LOG("%s", log_tail(&self->d));
	}
	ktls_handoff_close(h);
	TH_LOG("200 handoffs and %d reloads in %lld ms", hups,
	       (long long)(ms_now() - t0));
	ASSERT_EQ(0, failed);
	ASSERT_EQ(10, log_count(&self->d, "info: reloaded "));
	ASSERT_NO_FD_LEAK(&self->d);
}

/* A broken file on SIGHUP: refused, logged, the old profiles go on. */
TEST_F(hd, reload_refuses_broken_config)
{
	ASSERT_EQ(0, write_file(&self->d, "[ktlsd\nthis is = not a config\n"));
	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d, "reload refused", 1, 5000 * DAEMON_SLOW))
		TH_LOG("%s", log_tail(&self->d));
	ASSERT_EQ(0, log_count(&self->d, "info: reloaded "));
	serves_on(_metadata, &self->d);
}

/* A good reload brings a new profile, usable at once. */
TEST_F(hd, reload_adds_profile)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	refused(_metadata, &self->d, &fds[1], 1, "added", NULL, NULL, -ENOENT);
	close(fds[0]);
	close(fds[1]);

	ASSERT_EQ(0, write_conf(&self->d, "[profile added]\n"
				"role = server\n"
				"certificate = " TEST_CERT "\n"
				"key = " TEST_KEY "\n"));
	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d, "info: reloaded ", 1,
			      5000 * DAEMON_SLOW))
		TH_LOG("%s", log_tail(&self->d));
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "6 profiles"));
	good_handoff(_metadata, &self->d, "added", -1);
	serves_on(_metadata, &self->d);
}

/* ---- A thousand at once ---- */

#define CROWD 1000

/* The far ends: libktls clients, non-blocking, in one poll loop. */
struct crowd {
	int n;
	int *fd;
	struct ktls_session **s;
	int *ret;
	struct ktls_config *cfg;
	int64_t deadline;
};

static void *crowd_main(void *arg)
{
	struct crowd *c = arg;
	struct pollfd *p = calloc(c->n, sizeof(*p));
	int *idx = calloc(c->n, sizeof(*idx));
	int i, j, k, left = c->n;

	for (i = 0; i < c->n; i++) {
		c->ret[i] = ktls_session_new(&c->s[i], c->cfg, c->fd[i]);
		if (!c->ret[i])
			c->ret[i] = ktls_session_set_server_name(c->s[i],
								 "localhost");
		if (!c->ret[i])
			c->ret[i] = ktls_session_handshake(c->s[i]);
		if (c->ret[i] != -EAGAIN)
			left--;
	}
	while (p && idx && left > 0 && ms_now() < c->deadline) {
		for (i = 0, k = 0; i < c->n; i++) {
			if (c->ret[i] != -EAGAIN)
				continue;
			p[k].fd = c->fd[i];
			p[k].events = ktls_session_want(c->s[i]) ==
				      KTLS_WANT_WRITE ? POLLOUT : POLLIN;
			p[k].revents = 0;
			idx[k++] = i;
		}
		if (poll(p, k, 1000) < 0 && errno != EINTR)
			break;
		for (j = 0; j < k; j++) {
			if (!p[j].revents)
				continue;
			i = idx[j];
			c->ret[i] = ktls_session_handshake(c->s[i]);
			if (c->ret[i] != -EAGAIN)
				left--;
		}
	}
	free(p);
	free(idx);
	return NULL;
}

#define CONNS 4

/*
 * 1000 handoffs submitted at once over four connections, their far ends
 * handshaking concurrently: every one completes, and every socket then
 * carries data both ways. Afterwards ktlsd gives the burst's memory back
 * (it held about 12 MiB at the peak and kept it all before it trimmed).
 */
TEST_F_TIMEOUT(hd, thousand_at_once, 600)
{
	struct ktls_handoff *h[CONNS];
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_session **app_s;
	static struct crowd c = { .n = CROWD };	/* outlives a failure */
	int *app_fd, *status, *by_fd, max_fd = 0;
	int i, k, ret, done = 0, submitted = 0, failed = 0, far_failed = 0;
	struct pollfd p[CONNS];
	pthread_t th;
	int64_t t0, ms;
	long rss0, rss1;
	uint64_t id;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	rss0 = proc_rss_kib(self->d.pid);
	ASSERT_LT(0, rss0);
	c.fd = calloc(CROWD, sizeof(int));
	c.s = calloc(CROWD, sizeof(*c.s));
	c.ret = calloc(CROWD, sizeof(int));
	app_fd = calloc(CROWD, sizeof(int));
	app_s = calloc(CROWD, sizeof(*app_s));
	status = calloc(CROWD, sizeof(int));
	ASSERT_TRUE(c.fd && c.s && c.ret && app_fd && app_s && status);
	for (i = 0; i < CROWD; i++) {
		int fds[2];

		ret = tcp_pair(fds);
		ASSERT_EQ(0, ret) TH_LOG("pair %d: %s", i, strerror(-ret));
		c.fd[i] = fds[0];
		app_fd[i] = fds[1];
		ASSERT_EQ(0, set_nonblock(fds[0], 1));
		if (fds[1] > max_fd)
			max_fd = fds[1];
		status[i] = 1;	/* pending */
	}
	by_fd = calloc(max_fd + 1, sizeof(int));
	ASSERT_NE(NULL, by_fd);
	for (i = 0; i < CROWD; i++)
		by_fd[app_fd[i]] = i;
	ASSERT_EQ(0, ktls_config_new(&c.cfg, KTLS_CLIENT));
	ASSERT_EQ(0, ktls_config_set_ca_file(c.cfg, TEST_CERT));
	ASSERT_EQ(0, ktls_config_set_timeout(c.cfg, 500000));
	for (k = 0; k < CONNS; k++) {
		ASSERT_EQ(0, ktls_handoff_open(&h[k], self->d.sock));
		p[k] = (struct pollfd){ ktls_handoff_fd(h[k]), POLLIN, 0 };
	}

	t0 = ms_now();
	c.deadline = t0 + 500000;
	ASSERT_EQ(0, pthread_create(&th, NULL, crowd_main, &c));
	while (done < CROWD && ms_now() < c.deadline) {
		/* Submit what the connections take; then collect. */
		while (submitted < CROWD) {
			k = submitted % CONNS;
			ret = submit(h[k], app_fd[submitted], "patient", NULL,
				     0, &id);
			if (ret == -EAGAIN)
				break;
			ASSERT_EQ(0, ret) TH_LOG("submit %d: %s", submitted,
						 ktls_handoff_error(h[k]));
			submitted++;
		}
		for (k = 0; k < CONNS; k++)
			p[k].events = POLLIN |
				(submitted < CROWD ? POLLOUT : 0);
		poll(p, CONNS, 1000);
		for (k = 0; k < CONNS; k++) {
			while ((ret = ktls_handoff_result(h[k], &r)) == 1) {
				i = by_fd[r.fd];
				ASSERT_EQ(1, status[i]) TH_LOG("two results");
				status[i] = r.status;
				app_s[i] = r.session;
				if (r.status && !failed++)
					TH_LOG("handoff %d: %d %s", i, r.status,
					       ktls_handoff_error(h[k]));
				done++;
			}
			ASSERT_EQ(0, ret) TH_LOG("connection %d: %s", k,
						 ktls_handoff_error(h[k]));
		}
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	ms = ms_now() - t0;
	TH_LOG("%d handoffs done in %lld ms (%d failed)", done, (long long)ms,
	       failed);
	ASSERT_EQ(CROWD, done);
	ASSERT_EQ(0, failed);
	for (i = 0; i < CROWD; i++)
		if (c.ret[i] && !far_failed++)
			TH_LOG("far end %d: %d %s", i, c.ret[i],
			       c.s[i] ? ktls_session_error(c.s[i]) : "");
	ASSERT_EQ(0, far_failed);

	/* Every socket carries data both ways. */
	for (i = 0; i < CROWD; i++)
		ASSERT_EQ(4, write(app_fd[i], &i, 4));
	for (i = 0; i < CROWD; i++) {
		int v = -1;

		ASSERT_EQ(0, set_nonblock(c.fd[i], 0));
		set_rcvtimeo(c.fd[i], 10000);
		ASSERT_EQ(4, ktls_recv(c.s[i], &v, 4, MSG_WAITALL, NULL));
		ASSERT_EQ(i, v);
		v = ~i;
		ASSERT_EQ(4, write(c.fd[i], &v, 4));
	}
	for (i = 0; i < CROWD; i++) {
		int v = 0;

		set_rcvtimeo(app_fd[i], 10000);
		ASSERT_EQ(4, read_full(app_fd[i], &v, 4));
		ASSERT_EQ(~i, v);
	}

	for (i = 0; i < CROWD; i++) {
		ktls_session_free(app_s[i]);
		ktls_session_free(c.s[i]);
		close(app_fd[i]);
		close(c.fd[i]);
	}
	for (k = 0; k < CONNS; k++)
		ktls_handoff_close(h[k]);
	ktls_config_free(c.cfg);
	free(c.fd);
	free(c.s);
	free(c.ret);
	free(app_fd);
	free(app_s);
	free(status);
	free(by_fd);
	ASSERT_NO_FD_LEAK(&self->d);
	rss1 = proc_rss_kib(self->d.pid);
	TH_LOG("ktlsd RSS %ld KiB before, %ld KiB after", rss0, rss1);
	if (DAEMON_SLOW == 1)
		ASSERT_GT(rss0 + 4096, rss1);
}


/* ---- Other programs speaking to ktlsd ---- */

#define SKIP_IF_NO_KTLS(said) do {					\
	if (strstr(said, "no TLS support"))				\
		SKIP(goto out, NO_KTLS_REASON);				\
} while (0)

#define NO_PEER { .pid = -1, .in = -1, .out = -1 }

static char peer_a[65536], peer_b[65536];

/*
 * A TLS server program (its stdout only), listening on port; then the
 * client program that is to reach it through ktlsd.
 */
static void spawn_both(struct __test_metadata *_metadata, struct peer *srv,
		       char *const srv_argv[], int port, struct peer *cli,
		       char *const cli_argv[])
{
	ASSERT_LT(0, port);
	peer_a[0] = peer_b[0] = 0;
	srv->data_only = 1;
	ASSERT_EQ(0, peer_spawn(srv, srv_argv));
	ASSERT_EQ(0, wait_listen(port, 10000));
	ASSERT_EQ(0, peer_spawn(cli, cli_argv));
}

/* The client's input ends: it exits 0 (what it said is in peer_a). */
static void client_exits(struct __test_metadata *_metadata, struct peer *cli)
{
	close(cli->in);
	cli->in = -1;
	ASSERT_EQ(0, peer_wait(cli, 10000)) TH_LOG("%s", peer_a);
}

/* Both programs gone: ktlsd holds nothing more than when idle. */
static void stop_both(struct __test_metadata *_metadata,
		      const struct daemon *d, struct peer *cli,
		      struct peer *srv)
{
	peer_stop(cli);
	peer_stop(srv);
	ASSERT_NO_FD_LEAK(d);
}

/* ktlsctl connect --handoff against gnutls-serv --echo: a line echoed. */
TEST_F_TIMEOUT(hd, ktlsctl_to_gnutls_serv, 120)
{
	struct peer srv = NO_PEER, ctl = NO_PEER;
	char path[PATH_MAX], port[16], hostport[32], handoff_arg[160];
	char *srv_argv[] = { "gnutls-serv", "--echo", "-q", "-p", port,
		"--x509certfile", TEST_CERT, "--x509keyfile", TEST_KEY, NULL };
	char *ctl_argv[] = { path, "connect", hostport, handoff_arg,
		"--profile", "out", NULL };
	int pt = free_port();

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	snprintf(port, sizeof(port), "%d", pt);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", pt);
	snprintf(handoff_arg, sizeof(handoff_arg), "--handoff=%s",
		 self->d.sock);
	spawn_both(_metadata, &srv, srv_argv, pt, &ctl, ctl_argv);
	ASSERT_EQ(15, write(ctl.in, "echo through 1\n", 15));
	peer_expect(&ctl, "echo through 1\n", peer_a, sizeof(peer_a), 20000);
	SKIP_IF_NO_KTLS(peer_a);
	ASSERT_NE(NULL, strstr(peer_a, "echo through 1\n"))
		TH_LOG("ktlsctl said: %s\nktlsd: %s", peer_a,
		       log_tail(&self->d));
	ASSERT_NE(NULL, strstr(peer_a, "TLS 1.3")) TH_LOG("%s", peer_a);
	ASSERT_EQ(15, write(ctl.in, "echo through 2\n", 15));
	ASSERT_TRUE(peer_expect(&ctl, "echo through 2\n", peer_a,
				sizeof(peer_a), 10000));
	client_exits(_metadata, &ctl);
out:
	stop_both(_metadata, &self->d, &ctl, &srv);
}

/* ktlsctl connect --handoff against openssl s_server: lines both ways. */
TEST_F_TIMEOUT(hd, ktlsctl_to_openssl, 120)
{
	struct peer srv = NO_PEER, ctl = NO_PEER;
	char path[PATH_MAX], hostport[32], handoff_arg[160];
	char *srv_argv[] = { "openssl", "s_server", "-accept", hostport,
		"-quiet", "-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		NULL };
	char *ctl_argv[] = { path, "connect", hostport, handoff_arg,
		"--profile", "out", NULL };
	int pt = free_port();

	ASSERT_EQ(0, ktlsctl_path(path, sizeof(path)));
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", pt);
	snprintf(handoff_arg, sizeof(handoff_arg), "--handoff=%s",
		 self->d.sock);
	spawn_both(_metadata, &srv, srv_argv, pt, &ctl, ctl_argv);
	ASSERT_EQ(12, write(ctl.in, "to s_server\n", 12));
	peer_expect(&ctl, "kTLS TX", peer_a, sizeof(peer_a), 20000);
	SKIP_IF_NO_KTLS(peer_a);
	ASSERT_NE(NULL, strstr(peer_a, "kTLS TX"))
		TH_LOG("ktlsctl said: %s\nktlsd: %s", peer_a,
		       log_tail(&self->d));
	ASSERT_TRUE(peer_expect(&srv, "to s_server\n", peer_b, sizeof(peer_b),
				10000)) TH_LOG("s_server got: %s", peer_b);
	ASSERT_EQ(14, write(srv.in, "from s_server\n", 14));
	ASSERT_TRUE(peer_expect(&ctl, "from s_server\n", peer_a, sizeof(peer_a),
				10000)) TH_LOG("ktlsctl said: %s", peer_a);
	client_exits(_metadata, &ctl);
out:
	stop_both(_metadata, &self->d, &ctl, &srv);
}

/* examples/handoff.py, from the source tree next to the build. */
static int example_path(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n;

	if (!access("examples/handoff.py", R_OK)) {
		snprintf(path, size, "examples/handoff.py");
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = 0;
	snprintf(path, size, "%s/../../../examples/handoff.py", dirname(self));
	return access(path, R_OK) ? -errno : 0;
}

/* The Python example (the protocol without libktls) to openssl s_server. */
TEST_F_TIMEOUT(hd, python_example_to_openssl, 120)
{
	struct peer srv = NO_PEER, py = NO_PEER;
	char path[PATH_MAX], port[16], hostport[32];
	char *srv_argv[] = { "openssl", "s_server", "-accept", hostport,
		"-quiet", "-naccept", "1", "-cert", TEST_CERT, "-key", TEST_KEY,
		NULL };
	/* Debian's own: a pyenv shim costs seconds under emulation. */
	char *py_argv[] = { access("/usr/bin/python3", X_OK) ? "python3" :
		"/usr/bin/python3", path, "--socket", self->d.sock,
		"--profile", "out", "--server-name", "localhost", "127.0.0.1",
		port, NULL };
	int pt = free_port();

	ASSERT_EQ(0, example_path(path, sizeof(path)))
		TH_LOG("examples/handoff.py not found");
	snprintf(port, sizeof(port), "%d", pt);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", pt);
	spawn_both(_metadata, &srv, srv_argv, pt, &py, py_argv);
	ASSERT_EQ(15, write(py.in, "line from py 1\n", 15));
	peer_expect(&py, "handoff", peer_a, sizeof(peer_a), 30000);
	if (strstr(peer_a, "status -4097"))
		SKIP(goto out, NO_KTLS_REASON);
	ASSERT_TRUE(peer_expect(&srv, "line from py 1\n", peer_b,
				sizeof(peer_b), 20000))
		TH_LOG("s_server got: %s\nhandoff.py said: %s\nktlsd: %s",
		       peer_b, peer_a, log_tail(&self->d));
	ASSERT_EQ(16, write(srv.in, "reply from ossl\n", 16));
	ASSERT_TRUE(peer_expect(&py, "reply from ossl\n", peer_a,
				sizeof(peer_a), 10000))
		TH_LOG("handoff.py said: %s", peer_a);
	ASSERT_NE(NULL, strstr(peer_a, "status 0: TLS 1.3"))
		TH_LOG("%s", peer_a);
	client_exits(_metadata, &py);
out:
	stop_both(_metadata, &self->d, &py, &srv);
}

/* ---- max_inflight ---- */

FIXTURE(busy)
{
	struct daemon d;
};

FIXTURE_SETUP(busy)
{
	daemon_start(_metadata, &self->d, PROFILES, 2);
}

FIXTURE_TEARDOWN(busy)
{
	daemon_stop(_metadata, &self->d);
}

/* Two handshakes wait on silent peers: a third is refused at once. */
TEST_F(busy, third_handoff_is_busy)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct ktls_handoff *h;
	int fds[3][2], i, got[3] = { 1, 1, 1 };
	uint64_t id[3];
	int64_t t0;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, tcp_pair(fds[i]));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(0, submit(h, fds[0][1], "web", NULL, 0, &id[0]));
	ASSERT_EQ(0, submit(h, fds[1][1], "web", NULL, 0, &id[1]));
	t0 = ms_now();
	ASSERT_EQ(0, submit(h, fds[2][1], "web", NULL, 0, &id[2]));
	ASSERT_EQ(1, wait_result(h, &r, 2000)) TH_LOG("no refusal at once");
	ASSERT_EQ(id[2], r.id) TH_LOG("the first result was not the third's");
	ASSERT_EQ(-EBUSY, r.status) TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_GT(1000, ms_now() - t0);
	ASSERT_NE(0, ktls_handoff_error(h)[0]);
	/*
	 * The silent peers leave: their handshakes end, the slots free. (A
	 * job that had not begun yet would find the socket closed: give them
	 * time to wait for their ClientHello.)
	 */
	sleep_ms(300);
	close(fds[0][0]);
	close(fds[1][0]);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, wait_result(h, &r, 5000));
		ASSERT_TRUE(r.id == id[0] || r.id == id[1]);
		got[r.id == id[0] ? 0 : 1] = r.status;
	}
	ASSERT_EQ(-ECONNRESET, got[0]) TH_LOG("%s", log_tail(&self->d));
	ASSERT_EQ(-ECONNRESET, got[1]) TH_LOG("%s", log_tail(&self->d));
	ktls_handoff_close(h);
	for (i = 0; i < 3; i++) {
		if (i == 2)
			close(fds[i][0]);
		close(fds[i][1]);
	}
	good_handoff(_metadata, &self->d, "web", -1);
	serves_on(_metadata, &self->d);
}

/* ---- Idle connections, and what one uid may hold ---- */

/* "shared": a server profile that uids 65534 and 65533 may use. */
#define SHARED_PROFILE							\
	"\n[profile shared]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 20000\n"					\
	"allow_users = 65534 65533\n"

/*
 * n connections to ktlsd's socket made by a process running as uid (and
 * gone by the time this returns): ktlsd takes them for uid's, since the
 * credentials are those of the connecting process. Into fds: 0 or -errno.
 */
static int connect_as(const struct daemon *d, uid_t uid, int n, int *fds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	int sp[2], err = 0, i, status;
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	pid_t pid;

	if (n < 1 || n > 4)
		return -EINVAL;
	/* The socket is 0666; its directory must let others through. */
	if (chmod(d->dir, 0711) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int mine[4];

		close(sp[0]);
		if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
			err = -errno;
		for (i = 0; !err && i < n; i++) {
			mine[i] = unix_connect(d->sock);
			if (mine[i] < 0)
				err = mine[i];
		}
		if (err)
			_exit(write(sp[1], &err, sizeof(err)) != sizeof(err));
		_exit(send_fds(sp[1], &err, sizeof(err), mine, n) != 0);
	}
	close(sp[1]);
	if (recvmsg(sp[0], &m, MSG_CMSG_CLOEXEC) != sizeof(err))
		err = err ? err : -EIO;
	close(sp[0]);
	waitpid(pid, &status, 0);
	c = CMSG_FIRSTHDR(&m);
	if (!err && (!c || c->cmsg_type != SCM_RIGHTS ||
		     c->cmsg_len != CMSG_LEN(n * sizeof(int))))
		err = -EIO;
	if (!err)
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	return err;
}

/* ktlsd says why it closes (request id 0, status want, phrase), and does. */
static void told_and_closed(struct __test_metadata *_metadata, int sock,
			    int want, const char *phrase, int timeout_ms)
{
	struct reply rep;
	int ret = read_reply(sock, &rep, timeout_ms);

	ASSERT_EQ(0, ret) TH_LOG("no reply: %s", strerror(-ret));
	ASSERT_EQ(0ull, rep.r.id);
	ASSERT_EQ(want, rep.r.status)
		TH_LOG("expected %d (%s), got %d: %s", want, strerror(-want),
		       rep.r.status, rep.msg);
	ASSERT_NE(NULL, strstr(rep.msg, phrase)) TH_LOG("%s", rep.msg);
	ASSERT_TRUE(closed_within(sock, 3000))
		TH_LOG("ktlsd kept the connection after saying: %s", rep.msg);
}

FIXTURE(idle)
{
	struct daemon d;
};

FIXTURE_SETUP(idle)
{
	self->d.ktlsd_keys = "idle_timeout = 1500\n";
	daemon_start(_metadata, &self->d, PROFILES, 1024);
}

FIXTURE_TEARDOWN(idle)
{
	daemon_stop(_metadata, &self->d);
}

/*
 * A connection that never asks for anything is closed after idle_timeout,
 * with the reason; one that asked something a second later, a second
 * later too. The daemon serves on meanwhile and after.
 */
TEST_F(idle, idle_connection_is_closed)
{
	struct pollfd p = { .events = POLLIN };
	struct reply rep;
	int silent, used;
	int64_t t0, t1;

	t0 = ms_now();
	silent = unix_connect(self->d.sock);
	ASSERT_LE(0, silent);
	used = unix_connect(self->d.sock);
	ASSERT_LE(0, used);
	sleep_ms(1000);
	t1 = ms_now();
	ASSERT_EQ(0, send_req(used, -1, 3, "web", NULL, NULL, 0));
	ASSERT_EQ(0, read_reply(used, &rep, 10000));
	ASSERT_EQ(-EBADF, rep.r.status) TH_LOG("%s", rep.msg);
	told_and_closed(_metadata, silent, -ETIMEDOUT, "idle_timeout", 10000);
	ASSERT_LE(1450, ms_now() - t0)
		TH_LOG("closed after %lld ms of 1500", (long long)(ms_now() - t0));
	/* The request kept the other one open. */
	p.fd = used;
	ASSERT_EQ(0, poll(&p, 1, 0)) TH_LOG("closed with the idle one");
	told_and_closed(_metadata, used, -ETIMEDOUT, "idle_timeout", 10000);
	ASSERT_LE(1450, ms_now() - t1)
		TH_LOG("closed %lld ms after its request", (long long)(ms_now() - t1));
	ASSERT_EQ(2, log_wait(&self->d, "idle for 1500 ms; closing it", 2,
			      2000)) TH_LOG("%s", log_tail(&self->d));
	close(silent);
	close(used);
	serves_on(_metadata, &self->d);
}

/*
 * libktls replaces a connection that ktlsd closed for idleness: a program
 * that keeps one handle and hands over a socket now and then never sees
 * the close. (Each request here is refused at once: a pipe.)
 */
TEST_F(idle, library_reconnects_after_idle_close)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;
	int p[2], i;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(-ENOTSOCK, ktls_handoff(h, p[0], &req, &s))
			TH_LOG("request %d: %s", i, ktls_handoff_error(h));
		sleep_ms(2500);		/* idle_timeout is 1500 */
	}
	ASSERT_EQ(3, log_wait(&self->d, "idle for 1500 ms; closing it", 3,
			      5000)) TH_LOG("%s", log_tail(&self->d));
	ktls_handoff_close(h);
	close(p[0]);
	close(p[1]);
	serves_on(_metadata, &self->d);
}

/*
 * A handshake in flight is not idleness: a connection waiting for a reply
 * longer than idle_timeout gets it; idle_timeout after it, it is closed.
 */
TEST_F(idle, connection_waiting_for_reply_is_not_idle)
{
	struct reply rep;
	int sock, fds[2];
	int64_t t0, t1;

	ASSERT_EQ(0, tcp_pair(fds));
	sock = unix_connect(self->d.sock);
	ASSERT_LE(0, sock);
	/* A silent peer: "web" gives up after 3 s, twice idle_timeout. */
	ASSERT_EQ(0, send_req(sock, fds[1], 7, "web", NULL, NULL, 0));
	t0 = ms_now();
	ASSERT_EQ(0, read_reply(sock, &rep, 20000));
	t1 = ms_now();
	ASSERT_EQ(7ull, rep.r.id) TH_LOG("%d: %s", rep.r.status, rep.msg);
	ASSERT_EQ(-ETIMEDOUT, rep.r.status) TH_LOG("%s", rep.msg);
	ASSERT_LE(2900, t1 - t0);
	told_and_closed(_metadata, sock, -ETIMEDOUT, "idle_timeout", 10000);
	/* Counted from the reply: the handshake's 3 s, then 1.5 s. */
	ASSERT_LE(4450, ms_now() - t0)
		TH_LOG("closed %lld ms after the request",
		       (long long)(ms_now() - t0));
	close(sock);
	close(fds[0]);
	close(fds[1]);
	serves_on(_metadata, &self->d);
}

FIXTURE(peruid)
{
	struct daemon d;
};

FIXTURE_SETUP(peruid)
{
	if (geteuid() != 0)
		SKIP(return, "acting as other uids needs root");
	self->d.ktlsd_keys = "max_connections_per_uid = 2\n"
			     "max_inflight_per_uid = 2\n";
	daemon_start(_metadata, &self->d, PROFILES SHARED_PROFILE, 1024);
}

FIXTURE_TEARDOWN(peruid)
{
	daemon_stop(_metadata, &self->d);
}

/* A request that needs no handshake: -EBADF, on a connection that works. */
static void answered(struct __test_metadata *_metadata, int sock)
{
	struct reply rep;

	ASSERT_EQ(0, send_req(sock, -1, 3, "shared", NULL, NULL, 0));
	ASSERT_EQ(0, read_reply(sock, &rep, 10000))
		TH_LOG("no reply on a connection ktlsd took");
	ASSERT_EQ(3ull, rep.r.id);
	ASSERT_EQ(-EBADF, rep.r.status) TH_LOG("%s", rep.msg);
}

/*
 * uid 65534 opens three connections: the third is refused with the
 * reason. uid 65533 and root are served meanwhile; once 65534 closes one,
 * it may open another.
 */
TEST_F(peruid, connections_per_uid)
{
	int mine[3], other[2], again, i;

	ASSERT_EQ(0, connect_as(&self->d, 65534, 3, mine));
	told_and_closed(_metadata, mine[2], -EBUSY, "max_connections_per_uid",
			10000);
	ASSERT_EQ(1, log_wait(&self->d, "connection of uid 65534", 1, 2000));
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "refused: Too many handoff "
			       "connections: uid 65534 has 2 open"))
		TH_LOG("%s", log_tail(&self->d));
	answered(_metadata, mine[0]);
	answered(_metadata, mine[1]);
	/* Another user is not held back by it, nor is root. */
	ASSERT_EQ(0, connect_as(&self->d, 65533, 2, other));
	answered(_metadata, other[0]);
	answered(_metadata, other[1]);
	good_handoff(_metadata, &self->d, "web", -1);
	/* One of 65534's connections goes: it may open another. */
	close(mine[0]);
	ASSERT_FDS(&self->d, 3);
	ASSERT_EQ(0, connect_as(&self->d, 65534, 1, &again));
	answered(_metadata, again);
	close(again);
	for (i = 1; i < 3; i++)
		close(mine[i]);
	close(other[0]);
	close(other[1]);
	serves_on(_metadata, &self->d);
}

/*
 * uid 65534 has two handshakes in flight (silent peers): its third
 * request gets -EBUSY at once, with the reason, on the same connection.
 * uid 65533 and root are served meanwhile; once 65534's handshakes end,
 * its requests are taken again.
 */
TEST_F(peruid, inflight_per_uid)
{
	int sock, other, fds[4][2], i;
	struct reply rep;
	int64_t t0;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, tcp_pair(fds[i]));
	ASSERT_EQ(0, connect_as(&self->d, 65534, 1, &sock));
	ASSERT_EQ(0, connect_as(&self->d, 65533, 1, &other));
	ASSERT_EQ(0, send_req(sock, fds[0][1], 1, "shared", NULL, NULL, 0));
	ASSERT_EQ(0, send_req(sock, fds[1][1], 2, "shared", NULL, NULL, 0));
	t0 = ms_now();
	ASSERT_EQ(0, send_req(sock, fds[2][1], 3, "shared", NULL, NULL, 0));
	ASSERT_EQ(0, read_reply(sock, &rep, 10000));
	ASSERT_EQ(3ull, rep.r.id) TH_LOG("%d: %s", rep.r.status, rep.msg);
	ASSERT_EQ(-EBUSY, rep.r.status) TH_LOG("%s", rep.msg);
	ASSERT_NE(NULL, strstr(rep.msg, "max_inflight_per_uid"))
		TH_LOG("%s", rep.msg);
	ASSERT_GT(5000, ms_now() - t0);
	ASSERT_NE(NULL, strstr(log_tail(&self->d), "handoff from uid 65534"))
		TH_LOG("%s", log_tail(&self->d));
	/* uid 65533 is taken: its handshake runs, to its timeout. */
	ASSERT_EQ(0, send_req(other, fds[3][1], 4, "shared", NULL, NULL, 300));
	ASSERT_EQ(0, read_reply(other, &rep, 20000));
	ASSERT_EQ(4ull, rep.r.id);
	ASSERT_EQ(-ETIMEDOUT, rep.r.status) TH_LOG("%s", rep.msg);
	/* And root. */
	good_handoff(_metadata, &self->d, "web", -1);
	/* 65534's silent peers leave: its handshakes end, it may ask again. */
	close(fds[0][0]);
	close(fds[1][0]);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, read_reply(sock, &rep, 20000));
		ASSERT_TRUE(rep.r.id == 1 || rep.r.id == 2);
		ASSERT_EQ(-ECONNRESET, rep.r.status) TH_LOG("%s", rep.msg);
	}
	ASSERT_EQ(0, send_req(sock, fds[2][1], 5, "shared", NULL, NULL, 300));
	ASSERT_EQ(0, read_reply(sock, &rep, 20000));
	ASSERT_EQ(5ull, rep.r.id);
	ASSERT_EQ(-ETIMEDOUT, rep.r.status) TH_LOG("%s", rep.msg);
	close(sock);
	close(other);
	for (i = 0; i < 4; i++) {
		if (i >= 2)
			close(fds[i][0]);
		close(fds[i][1]);
	}
	serves_on(_metadata, &self->d);
}

TEST_HARNESS_MAIN
