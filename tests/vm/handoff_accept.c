// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Accept mode against a real build/ktlsd: a server profile listens
 * (listen = ...), a program subscribes over the handoff socket
 * (ktls_handoff_subscribe()) and gets each connection as a ready kTLS
 * socket. Clients are libktls in a thread (handoff_util's far end).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "handoff_util.h"
#include "hsproc.h"

#define PORT4		18443
#define PORT6		18446
#define PORT_SHY	18447
#define QUEUE		2

#define STR_(x)		#x
#define STR(x)		STR_(x)

#define ACCEPT_PROFILES PROFILES					\
	"\n[profile acc]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 5000\n"					\
	"listen = 127.0.0.1:" STR(PORT4) "\n"				\
	"subscriber_queue = " STR(QUEUE) "\n"				\
	"\n[profile acc6]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"listen = [::1]:" STR(PORT6) "\n"				\
	"\n[profile shy]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"listen = 127.0.0.1:" STR(PORT_SHY) "\n"			\
	"allow_users = 12345\n"

FIXTURE(acc)
{
	struct daemon d;
};

FIXTURE_SETUP(acc)
{
	daemon_start(_metadata, &self->d, ACCEPT_PROFILES, 1024);
}

FIXTURE_TEARDOWN(acc)
{
	daemon_stop(_metadata, &self->d);
}

/* A TCP connection to ktlsd's port (blocking, 30 s timeouts), or -errno. */
static int dial(int family, unsigned port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	set_rcvtimeo(fd, 30000);
	ret = family == AF_INET6 ?
	      connect(fd, (struct sockaddr *)&s6, sizeof(s6)) :
	      connect(fd, (struct sockaddr *)&s4, sizeof(s4));
	if (ret) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* A client: connected, its TLS handshake started in a thread. */
static void client(struct __test_metadata *_metadata, struct far_end *f,
		   int family, unsigned port)
{
	int fd = dial(family, port);

	ASSERT_LE(0, fd) TH_LOG("connect to port %u: %s", port,
				strerror(-fd));
	ASSERT_EQ(0, far_start(f, fd, KTLS_CLIENT, NULL));
}

static void client_free(struct far_end *f)
{
	int fd = f->fd;

	far_free(f);
	close(fd);
}

static void subscribe(struct __test_metadata *_metadata,
		      const struct daemon *d, const char *profile,
		      struct ktls_handoff **h, uint64_t *id)
{
	int ret;

	ASSERT_EQ(0, ktls_handoff_open(h, d->sock));
	ret = ktls_handoff_subscribe(*h, profile, id);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", strerror(-ret),
				 ktls_handoff_error(*h));
}

/* One delivery within the time, for subscription id. */
static void delivered(struct __test_metadata *_metadata,
		      struct ktls_handoff *h, uint64_t id,
		      struct ktls_handoff_result *r, int timeout_ms)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	ret = wait_result(h, r, timeout_ms);
	ASSERT_EQ(1, ret) TH_LOG("no delivery: %s (%s)", strerror(-ret),
				 ktls_handoff_error(h));
	ASSERT_EQ(id, r->id);
	ASSERT_EQ(0, r->status) TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_LE(0, r->fd);
	ASSERT_NE(NULL, r->session);
}

static void result_free(struct ktls_handoff_result *r)
{
	ktls_session_free(r->session);
	close(r->fd);
	r->session = NULL;
	r->fd = -1;
}

/* len bytes of pattern seed written on fd, read back through s. */
static void one_way(struct __test_metadata *_metadata, int fd,
		    struct ktls_session *s, size_t len, int seed,
		    const char *reader)
{
	static char buf[1 << 20], got[sizeof(buf)];
	ssize_t n, done;

	ASSERT_GE(sizeof(buf), len);
	fill_pattern(buf, len, seed, 0);
	ASSERT_EQ((ssize_t)len, write_full(fd, buf, len));
	for (done = 0; done < (ssize_t)len; done += n) {
		n = ktls_recv(s, got + done, len - done, 0, NULL);
		ASSERT_LT(0, n) TH_LOG("%s read: %s", reader, strerror(-n));
	}
	ASSERT_EQ(-1, check_pattern(got, len, seed, 0));
}

/* Bytes both ways between the subscriber's socket and the client. */
static void both_ways(struct __test_metadata *_metadata,
		      struct ktls_handoff_result *r, struct far_end *f,
		      size_t len)
{
	ASSERT_EQ(0, far_join(f)) TH_LOG("client: %s", far_error(f));
	one_way(_metadata, r->fd, f->s, len, 11, "client");
	one_way(_metadata, f->fd, r->session, len, 12, "subscriber");
}

/* One client served through subscription id, its data checked. */
static void served(struct __test_metadata *_metadata, struct ktls_handoff *h,
		   uint64_t id, int family, unsigned port)
{
	struct ktls_handoff_result r;
	struct far_end f = { 0 };

	client(_metadata, &f, family, port);
	delivered(_metadata, h, id, &r, 20000 * DAEMON_SLOW);
	both_ways(_metadata, &r, &f, 4096);
	result_free(&r);
	client_free(&f);
}

/* The kTLS socket and the session it comes with, then data both ways. */
TEST_F(acc, subscriber_gets_ktls_socket)
{
	const struct ktls_info *in;
	struct ktls_handoff_result r;
	struct far_end f = { 0 };
	struct ktls_handoff *h;
	uint64_t id;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	subscribe(_metadata, &self->d, "acc", &h, &id);
	client(_metadata, &f, AF_INET, PORT4);
	delivered(_metadata, h, id, &r, 20000 * DAEMON_SLOW);
	in = ktls_session_info(r.session);
	ASSERT_NE(NULL, in);
	ASSERT_EQ(KTLS_TLS13, in->version);
	ASSERT_STREQ("localhost", in->sni);
	ASSERT_EQ(KTLS_SERVER, (int)session_role(r.session));
	ASSERT_EQ(r.fd, session_fd(r.session));
	/* Blocking and close-on-exec, as accept4(SOCK_CLOEXEC) gives it. */
	ASSERT_EQ(0, fcntl(r.fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(FD_CLOEXEC, fcntl(r.fd, F_GETFD) & FD_CLOEXEC);
	both_ways(_metadata, &r, &f, sizeof(char[1 << 20]));
	result_free(&r);
	client_free(&f);
	ktls_handoff_close(h);
	ASSERT_NO_FD_LEAK(&self->d);
}

TEST_F(acc, ipv6_listener)
{
	struct ktls_handoff *h;
	uint64_t id;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	subscribe(_metadata, &self->d, "acc6", &h, &id);
	served(_metadata, h, id, AF_INET6, PORT6);
	ktls_handoff_close(h);
}

/*
 * No subscriber: ktlsd does not accept; the connection waits in the
 * listen queue, and is served once a program subscribes.
 */
TEST_F(acc, no_subscriber_waits_in_backlog)
{
	struct ktls_handoff_result r;
	struct far_end f = { 0 };
	struct ktls_handoff *h;
	uint64_t id;
	int fd;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	fd = dial(AF_INET, PORT4);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, far_start(&f, fd, KTLS_CLIENT, NULL));
	usleep(1500 * 1000);
	ASSERT_EQ(0, log_count(&self->d, "handshake 127.0.0.1"))
		TH_LOG("ktlsd served a connection nobody subscribed for: %s",
		       log_tail(&self->d));
	ASSERT_FDS(&self->d, 0);
	subscribe(_metadata, &self->d, "acc", &h, &id);
	delivered(_metadata, h, id, &r, 20000 * DAEMON_SLOW);
	both_ways(_metadata, &r, &f, 1000);
	result_free(&r);
	client_free(&f);
	ktls_handoff_close(h);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * A client that may be refused: ktlsd may close the connection before
 * its handshake begins (then the session cannot start) or after.
 */
/* A client that may be refused; 1 if it got a connection at all. */
static int try_client(struct far_end *f)
{
	int fd = dial(AF_INET, PORT4);

	*f = (struct far_end){ 0 };
	if (fd < 0)
		return 0;
	far_start(f, fd, KTLS_CLIENT, NULL);	/* its outcome: either */
	far_free(f);
	close(fd);
	return 1;
}

/* ktlsd_accept_dropped_total, as `ktlsctl stats --prometheus` says it. */
static long dropped_total(void)
{
	char ctl[PATH_MAX], cmd[PATH_MAX + 64], line[256];
	long n = -1;
	FILE *f;

	if (ktlsctl_path(ctl, sizeof(ctl)))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s stats --prometheus", ctl);
	f = popen(cmd, "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "ktlsd_accept_dropped_total %ld", &n);
	if (f)
		pclose(f);
	return n;
}

/* The same count, as `ktlsctl stats --json` has it for the handoff door. */
static long dropped_json(void)
{
	char ctl[PATH_MAX], cmd[PATH_MAX + 64], line[4096], *at;
	long n = -1;
	FILE *f;

	if (ktlsctl_path(ctl, sizeof(ctl)))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s stats --json", ctl);
	f = popen(cmd, "r");
	while (f && fgets(line, sizeof(line), f)) {
		at = strstr(line, "\"accept_dropped\":");
		if (!strncmp(line, "{\"front\":\"handoff\"", 18) && at)
			sscanf(at, "\"accept_dropped\":%ld", &n);
	}
	if (f)
		pclose(f);
	return n;
}

/* A subscription as uid/gid in a child: ktls_handoff_subscribe()'s return. */
static int subscribe_as(struct __test_metadata *_metadata,
			const struct daemon *d, uid_t uid, const char *profile)
{
	int res = -1, p[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ktls_handoff *h;
		uint64_t id;

		res = 1;	/* setuid or open failed: not an errno */
		if (!setgroups(0, NULL) && !setgid(uid) && !setuid(uid) &&
		    !ktls_handoff_open(&h, d->sock))
			res = ktls_handoff_subscribe(h, profile, &id);
		_exit(write(p[1], &res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(res), read_full(p[0], &res, sizeof(res)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	return res;
}

/* Each refusal with its status and a message; the handle stays usable. */
TEST_F(acc, refused_subscriptions)
{
	struct ktls_handoff *h;
	uint64_t id = 0;

	ASSERT_EQ(0, ktls_handoff_open(&h, self->d.sock));
	ASSERT_EQ(-ENOENT, ktls_handoff_subscribe(h, "nope", &id));
	ASSERT_STREQ("No such profile.", ktls_handoff_error(h));
	/* A server profile without listen, and a client profile. */
	ASSERT_EQ(-EADDRNOTAVAIL, ktls_handoff_subscribe(h, "web", &id));
	ASSERT_NE(NULL, strstr(ktls_handoff_error(h), "does not listen"));
	ASSERT_EQ(-EADDRNOTAVAIL, ktls_handoff_subscribe(h, "out", &id));
	ASSERT_EQ(-EINVAL, ktls_handoff_subscribe(h, "", &id));
	ASSERT_EQ(0u, id);
	ASSERT_EQ(0, ktls_handoff_subscribe(h, "acc", &id))
		TH_LOG("%s", ktls_handoff_error(h));
	ASSERT_NE(0u, id);
	ASSERT_EQ(-EINPROGRESS, ktls_handoff_subscribe(h, "acc6", &id));
	ktls_handoff_close(h);
	ASSERT_EQ(3, log_wait(&self->d, "subscription of uid 0", 3, 2000));

	if (geteuid() != 0)
		SKIP(return, "changing uid needs root");
	ASSERT_EQ(0, chmod(self->d.dir, 0711));
	ASSERT_EQ(-EACCES, subscribe_as(_metadata, &self->d, 54321, "shy"))
		TH_LOG("%s", log_tail(&self->d));
	ASSERT_EQ(1, log_wait(&self->d, "subscription of uid 54321", 1, 2000));
	ASSERT_NO_FD_LEAK(&self->d);
}

/* Two subscribers of one profile take its connections in turn. */
TEST_F_TIMEOUT(acc, two_subscribers_share, 120)
{
	struct ktls_handoff_result r;
	struct ktls_handoff *h[2];
	struct far_end f = { 0 };
	uint64_t id[2];
	int got[2] = { 0, 0 }, i, k, ret;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	subscribe(_metadata, &self->d, "acc", &h[0], &id[0]);
	subscribe(_metadata, &self->d, "acc", &h[1], &id[1]);
	for (i = 0; i < 4; i++) {
		client(_metadata, &f, AF_INET, PORT4);
		ASSERT_EQ(0, far_join(&f)) TH_LOG("%s", far_error(&f));
		for (ret = 0, k = 0; !ret; k = !k) {
			r = (struct ktls_handoff_result){ .size = sizeof(r) };
			ret = wait_result(h[k], &r, 100);
			if (ret == -ETIMEDOUT)
				ret = 0;
		}
		k = !k;
		ASSERT_EQ(1, ret) TH_LOG("%s", ktls_handoff_error(h[k]));
		ASSERT_EQ(id[k], r.id);
		ASSERT_EQ(0, r.status);
		got[k]++;
		result_free(&r);
		client_free(&f);
		f = (struct far_end){ 0 };
	}
	ASSERT_EQ(2, got[0]) TH_LOG("%d and %d", got[0], got[1]);
	ASSERT_EQ(2, got[1]);
	ktls_handoff_close(h[0]);
	/* The other goes on alone. */
	served(_metadata, h[1], id[1], AF_INET, PORT4);
	ktls_handoff_close(h[1]);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * A subscriber that never reads: its socket buffer fills, then its
 * queue in ktlsd (subscriber_queue = 2); later connections are closed,
 * logged and counted (the same count in the Prometheus text and in the
 * JSON of `ktlsctl stats`). ktlsd holds no more than the queue
 * (descriptors, and its RSS stays within 2 MiB over 20 refused
 * connections); once the subscriber reads again new connections are
 * served.
 */
TEST_F_TIMEOUT(acc, stuck_subscriber_hits_the_bound, 300)
{
	struct ktls_handoff_result r;
	struct far_end f = { 0 };
	struct ktls_handoff *h;
	int i, taken = 0, ret, dialled = 0;
	long rss0, rss1, rss2, dropped;
	uint64_t id;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	subscribe(_metadata, &self->d, "acc", &h, &id);
	rss0 = proc_rss_kib(hs_pid(self->d.pid));
	for (i = 0; i < 120; i++) {
		dialled += try_client(&f);
		if (log_count(&self->d, "every subscriber's queue is full"))
			break;
	}
	ASSERT_GT(120, i) TH_LOG("no drop after 120 connections: %s",
				 log_tail(&self->d));
	TH_LOG("the bound was hit at connection %d", i + 1);
	/* Twenty more: closed, and ktlsd does not grow with them. */
	rss1 = proc_rss_kib(hs_pid(self->d.pid));
	for (int k = 0; k < 20; k++)
		dialled += try_client(&f);
	rss2 = proc_rss_kib(hs_pid(self->d.pid));
	TH_LOG("handshake process RSS: %ld KiB subscribed, %ld at the bound, "
	       "%ld after 20 more", rss0, rss1, rss2);
	ASSERT_LT(0, rss0);
	ASSERT_GT(rss1 + 2048, rss2);
	/* The subscriber's connection and its queue, nothing more. */
	ASSERT_FDS(&self->d, 1 + QUEUE);
	/* Reading again: what waited comes, then new connections. */
	while ((ret = wait_result(h, &r, 1000)) == 1) {
		ASSERT_EQ(0, r.status);
		taken++;
		result_free(&r);
		r = (struct ktls_handoff_result){ .size = sizeof(r) };
	}
	ASSERT_EQ(-ETIMEDOUT, ret);
	/* The queue and what the socket buffer held; some were dropped. */
	ASSERT_LE(QUEUE + 1, taken);
	ASSERT_GT(i + 1 + 20, taken);
	/* Counted: at least the one logged, at most what was not taken. */
	dropped = dropped_total();
	TH_LOG("%ld dropped of %d connections, %d taken", dropped, dialled,
	       taken);
	ASSERT_LE(1, dropped);
	ASSERT_GE(dialled - taken, dropped);
	ASSERT_EQ(dropped, dropped_json());
	served(_metadata, h, id, AF_INET, PORT4);
	ktls_handoff_close(h);
	ASSERT_NO_FD_LEAK(&self->d);
}

/*
 * The handshake process killed: the supervisor holds the listening
 * socket; libktls subscribes again to the new process by itself, and a
 * connection made meanwhile is served.
 */
TEST_F_TIMEOUT(acc, handshake_process_killed, 120)
{
	struct ktls_handoff_result r;
	struct far_end f = { 0 };
	struct ktls_handoff *h;
	pid_t old, hs;
	uint64_t id;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	subscribe(_metadata, &self->d, "acc", &h, &id);
	served(_metadata, h, id, AF_INET, PORT4);
	old = hs_pid(self->d.pid);
	ASSERT_LT(0, old);
	ASSERT_EQ(0, kill(old, SIGKILL));
	client(_metadata, &f, AF_INET, PORT4);
	hs = hs_wait(self->d.pid, old, 10000 * DAEMON_SLOW);
	ASSERT_LT(0, hs) TH_LOG("no new handshake process");
	delivered(_metadata, h, id, &r, 30000 * DAEMON_SLOW);
	both_ways(_metadata, &r, &f, 1000);
	result_free(&r);
	client_free(&f);
	served(_metadata, h, id, AF_INET, PORT4);
	ktls_handoff_close(h);
}

/* A reload: the subscription moves to the new process, nothing refused. */
TEST_F_TIMEOUT(acc, reload_keeps_serving, 120)
{
	struct ktls_handoff *h;
	uint64_t id;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	subscribe(_metadata, &self->d, "acc", &h, &id);
	served(_metadata, h, id, AF_INET, PORT4);
	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d, "info: reloaded ", 1,
			      10000 * DAEMON_SLOW)) TH_LOG("%s",
							   log_tail(&self->d));
	served(_metadata, h, id, AF_INET, PORT4);
	served(_metadata, h, id, AF_INET, PORT4);
	ASSERT_EQ(0, log_count(&self->d, "listen addresses change"));
	ktls_handoff_close(h);
}

/* A reload that changes listen: warned, the sockets stay as they were. */
TEST_F(acc, reload_with_new_listen_warns)
{
	ASSERT_EQ(0, write_conf(&self->d, "[profile more]\nrole = server\n"
				"certificate = " TEST_CERT "\nkey = " TEST_KEY
				"\nlisten = 127.0.0.1:18449\n"));
	ASSERT_EQ(0, kill(self->d.pid, SIGHUP));
	ASSERT_EQ(1, log_wait(&self->d, "listen addresses change only with "
			      "a restart", 1, 10000 * DAEMON_SLOW))
		TH_LOG("%s", log_tail(&self->d));
	ASSERT_EQ(-ECONNREFUSED, dial(AF_INET, 18449));
}

/* len bytes of a peer's stdout within timeout_ms, whatever they are. */
static ssize_t read_timed(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (poll(&p, 1, timeout_ms) != 1)
			break;
		n = read(fd, buf + done, len - done);
		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

/*
 * ktlsctl subscribe with openssl s_client as the client: the line that
 * describes the connection, every byte value echoed back as it was sent,
 * and a clean exit (--once) when s_client's close_notify comes.
 */
TEST_F_TIMEOUT(acc, ktlsctl_subscribe_echoes, 120)
{
	static char sent[32768], got[sizeof(sent)];
	char ctl[PATH_MAX], out[4096] = "", hostport[32];
	char *sub[] = { ctl, "subscribe", "acc", "--handoff", self->d.sock,
			"--once", NULL };
	char *cli[] = { "openssl", "s_client", "-connect", hostport, "-quiet",
			"-no_ign_eof", "-nocommands", "-servername", "localhost",
			"-CAfile", TEST_CERT, "-verify_return_error", NULL };
	struct peer s = { .pid = -1, .in = -1, .out = -1 };
	struct peer c = { .pid = -1, .in = -1, .out = -1, .data_only = 1 };
	size_t i;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	ASSERT_EQ(0, ktlsctl_path(ctl, sizeof(ctl)));
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", PORT4);
	for (i = 0; i < sizeof(sent); i++)
		sent[i] = (char)(i * 7 + i / 256);
	ASSERT_EQ(0, peer_spawn(&s, sub));
	ASSERT_TRUE(peer_expect(&s, "subscribed to profile acc\n", out,
				sizeof(out), 10000 * DAEMON_SLOW))
		TH_LOG("ktlsctl said: %s", out);
	ASSERT_EQ(0, peer_spawn(&c, cli));
	ASSERT_EQ((ssize_t)sizeof(sent), write_full(c.in, sent, sizeof(sent)));
	ASSERT_EQ((ssize_t)sizeof(got), read_timed(c.out, got, sizeof(got),
						   20000 * DAEMON_SLOW));
	ASSERT_EQ(0, memcmp(sent, got, sizeof(sent)));
	ASSERT_TRUE(peer_expect(&s, "peer -\n", out, sizeof(out), 5000))
		TH_LOG("ktlsctl said: %s", out);
	ASSERT_NE(NULL, strstr(out, "\n127.0.0.1:")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, " TLS 1.3 aes-")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, " SNI localhost ALPN - kTLS TX sw RX sw "
			       "peer -\n")) TH_LOG("%s", out);
	/* s_client's input ends: its close_notify ends the echo, and ktlsctl. */
	close(c.in);
	c.in = -1;
	ASSERT_EQ(0, peer_wait(&s, 10000 * DAEMON_SLOW)) TH_LOG("%s", out);
	peer_stop(&c);
	peer_stop(&s);
	ASSERT_NO_FD_LEAK(&self->d);
}

/* The whole of path (malloc'd), or NULL. */
static char *slurp(const char *path)
{
	char *buf = calloc(1, 65536);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (buf && fd >= 0 && read_full(fd, buf, 65535) < 0)
		buf[0] = 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

/*
 * Socket activation as systemd does it (systemd-socket-activate): the
 * socket named after the profile is its listener (the profile has no
 * listen line), the Unix one the handoff socket, even named as systemd
 * names it by default (after the unit, ktlsd.socket) when a profile has
 * that name too.
 */
TEST_F_TIMEOUT(acc, socket_activation_by_name, 120)
{
	char dir[] = "/tmp/ktlsd-act-XXXXXX", conf[128], sock[128], logf[128];
	char bin[PATH_MAX], text[2048], port[32], *log = NULL;
	struct ktls_handoff *h;
	int i, fd, status;
	uint64_t id;
	pid_t pid;

	if (!host_has_ktls())
		SKIP(return, NO_KTLS_REASON);
	if (access("/usr/bin/systemd-socket-activate", X_OK))
		SKIP(return, "no systemd-socket-activate");
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/ktlsd.conf", dir);
	snprintf(sock, sizeof(sock), "%s/passed.sock", dir);
	snprintf(logf, sizeof(logf), "%s/ktlsd.log", dir);
	snprintf(port, sizeof(port), "127.0.0.1:%d", PORT4 + 10);
	snprintf(text, sizeof(text), "[ktlsd]\nsocket = %s/unused.sock\n"
		 "log = stderr\n%s\n[profile pass]\nrole = server\n"
		 "certificate = " TEST_CERT "\nkey = " TEST_KEY "\n"
		 "[profile ktlsd.socket]\nrole = server\n"
		 "certificate = " TEST_CERT "\nkey = " TEST_KEY "\n", dir,
		 test_user_line());
	fd = open(conf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(text), write_full(fd, text, strlen(text)));
	close(fd);
	ASSERT_EQ(0, ktlsd_path(bin, sizeof(bin)));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl("/usr/bin/systemd-socket-activate",
		      "systemd-socket-activate", "-l", port, "-l", sock,
		      "--fdname=pass:ktlsd.socket", bin, "-f", "-c", conf,
		      (char *)NULL);
		_exit(127);
	}
	/* It starts ktlsd at the first connection: this one. */
	for (i = 0; i < 100 * DAEMON_SLOW && access(sock, F_OK); i++)
		usleep(100 * 1000);
	ASSERT_EQ(0, ktls_handoff_open(&h, sock));
	for (i = 0; i < 100 * DAEMON_SLOW; i++) {
		free(log);
		log = slurp(logf);
		if (log && strstr(log, "ready:"))
			break;
		usleep(100 * 1000);
	}
	ASSERT_NE(NULL, strstr(log, "profile pass: listening on the socket "
			       "passed by socket activation")) TH_LOG("%s", log);
	ASSERT_NE(NULL, strstr(log, "ready:")) TH_LOG("%s", log);
	ASSERT_NE(NULL, strstr(log, "(ktlsd.socket) is a Unix socket: the "
			       "handoff socket")) TH_LOG("%s", log);
	ASSERT_EQ(0, ktls_handoff_subscribe(h, "pass", &id))
		TH_LOG("%s", ktls_handoff_error(h));
	served(_metadata, h, id, AF_INET, PORT4 + 10);
	ktls_handoff_close(h);
	ASSERT_EQ(0, kill(pid, SIGTERM));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("status %#x", status);
	free(log);
	unlink(conf);
	unlink(logf);
	unlink(sock);
	rmdir(dir);
}

TEST_HARNESS_MAIN
