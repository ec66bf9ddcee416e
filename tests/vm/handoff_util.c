// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the handoff tests (tests/vm/handoff_*.c) share: their profiles,
 * ktlsd's descriptors, the protocol spoken by hand, a libktls far end in a
 * thread, handoffs through libktls, and the handoff that shows that ktlsd
 * still serves.
 */
#define KTLS_TEST_HELPER
#include <sys/un.h>

#include "handoff_util.h"

void set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

/* ---- ktlsd's descriptors ---- */

const char *fd_list(pid_t pid)
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

int settle_fds(const struct daemon *d, int want, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;
	int n;

	for (;;) {
		n = count_fds(hs_pid(d->pid));
		if (n == want || ms_now() >= end)
			return n;
		sleep_ms(20);
	}
}

/* ---- Speaking the protocol by hand ---- */

int unix_connect(const char *path)
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

int send_fds(int sock, const void *buf, size_t len, const int *fds,
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

int encode_req(struct wire_buf *b, uint64_t id, const char *profile,
	       const char *sni, const char *alpn, unsigned timeout_ms)
{
	struct wire_req w = {
		.id = id, .profile = wstr(profile), .server_name = wstr(sni),
		.alpn = wstr(alpn), .timeout_ms = timeout_ms,
	};

	return wire_encode_req(b, &w);
}

int send_req(int sock, int fd, uint64_t id, const char *profile,
	     const char *sni, const char *alpn, unsigned timeout_ms)
{
	struct wire_buf b = { 0 };
	int ret = encode_req(&b, id, profile, sni, alpn, timeout_ms);

	if (!ret)
		ret = send_fds(sock, b.p, b.len, &fd, fd >= 0);
	wire_buf_wipe_free(&b);
	return ret;
}

int recv_exact(int sock, void *buf, size_t len, int timeout_ms)
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

static uint8_t reply_buf[WIRE_HDR_LEN + WIRE_REPLY_MAX];

int read_reply(int sock, struct reply *rep, int timeout_ms)
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

int closed_within(int sock, int timeout_ms)
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

int far_start(struct far_end *f, int fd, enum ktls_role role,
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

int far_join(struct far_end *f)
{
	if (f->running)
		pthread_join(f->th, NULL);
	f->running = 0;
	return f->ret;
}

void far_free(struct far_end *f)
{
	far_join(f);
	if (f->s)
		ktls_session_free(f->s);
	if (f->cfg)
		ktls_config_free(f->cfg);
	f->s = NULL;
	f->cfg = NULL;
}

void far_settle(struct far_end *f, int status, int app_fd)
{
	if (status)
		shutdown(app_fd, SHUT_RDWR);
	far_join(f);
}

const char *far_error(const struct far_end *f)
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

int wait_result(struct ktls_handoff *h, struct ktls_handoff_result *r,
		int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;
	struct pollfd p = { .events = POLLIN };
	int ret;

	for (;;) {
		ret = ktls_handoff_result(h, r);
		if (ret)
			return ret;
		if (ms_now() >= end)
			return -ETIMEDOUT;
		/* Asked each time: libktls may have moved to a new socket. */
		p.fd = ktls_handoff_fd(h);
		poll(&p, 1, (int)(end - ms_now()));
	}
}

int submit(struct ktls_handoff *h, int fd, const char *profile,
	   const char *sni, unsigned timeout_ms, uint64_t *id)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = profile, .server_name = sni,
		.timeout_ms = timeout_ms,
	};

	return ktls_handoff_submit(h, fd, &req, id);
}

/* ---- Connections handed over ---- */

void conn_pair(struct __test_metadata *_metadata, struct conn *c)
{
	int fds[2];

	ASSERT_EQ(0, tcp_pair(fds));
	c->peer = fds[0];
	c->app = fds[1];
}

void conn_open(struct __test_metadata *_metadata, struct conn *c,
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

int conn_handoff(const struct daemon *d, struct conn *c,
		 const char *profile, const char *sni, const char *alpn,
		 unsigned timeout_ms)
{
	int ret = handoff(d, c->app, profile, sni, alpn, timeout_ms, &c->s,
			  c->msg, sizeof(c->msg));

	if (c->far.running)
		far_settle(&c->far, ret, c->app);
	return ret;
}

int64_t conn_times_out(struct __test_metadata *_metadata,
		       const struct daemon *d, struct conn *c,
		       const char *profile, unsigned timeout_ms)
{
	int64_t t0 = ms_now();
	int ret = conn_handoff(d, c, profile, NULL, NULL, timeout_ms);

	ASSERT_EQ(-ETIMEDOUT, ret) TH_LOG("%s", c->msg);
	return ms_now() - t0;
}

void conn_close(struct conn *c)
{
	if (c->s)
		ktls_session_free(c->s);
	far_free(&c->far);
	close(c->app);
	close(c->peer);
}

/* ---- ktlsd serves on ---- */

void good_handoff(struct __test_metadata *_metadata,
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

void serves_on(struct __test_metadata *_metadata,
	       const struct daemon *d)
{
	good_handoff(_metadata, d, "web", -1);
	ASSERT_NO_FD_LEAK(d);
}

void refused(struct __test_metadata *_metadata, const struct daemon *d,
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

int make_rsa_cert(const char *dir)
{
	return run_shell("(set -e; mkdir -p %s; cd %s;"
			 "printf 'cn=localhost\\ndns_name=localhost\\n"
			 "ip_address=127.0.0.1\\nexpiration_days=2\\n"
			 "tls_www_server\\nsigning_key\\n' >tmpl;"
			 "certtool -p --rsa --bits 2048 --outfile rsa.key;"
			 "certtool -s --load-privkey rsa.key --template tmpl "
			 "--outfile rsa.pem) >/dev/null 2>&1", dir, dir) ? -1 : 0;
}
