// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sockets passed by socket activation, sorted by accept_activated()
 * (daemon/ktlsd/accept.c) by what they are as well as by their names.
 * systemd names a socket after its unit unless FileDescriptorName= says
 * otherwise ("ktlsd.socket"), and a profile may have that name too: the
 * Unix socket must still be the handoff socket, and a TCP listener only
 * counts for the server profile it is named after. Every socket of the
 * wrong kind for its name is closed with a log line that says why.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "kselftest_harness.h"
#include "ktlsd.h"
#include "peers.h"

#define CONF_TEXT							\
	"[profile ktlsd.socket]\n"					\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"\n[profile out]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"

FIXTURE(act)
{
	char dir[40], path[80], logf[80], log[8192];
	struct listeners ls;
	struct conf *c;
	int n_unix;
};

FIXTURE_SETUP(act)
{
	char err[512];
	int fd;

	ASSERT_EQ(0, make_test_cert());
	strcpy(self->dir, "/tmp/ktlsd-act-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/ktlsd.conf", self->dir);
	snprintf(self->logf, sizeof(self->logf), "%s/log", self->dir);
	fd = open(self->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(CONF_TEXT),
		  write_full(fd, CONF_TEXT, strlen(CONF_TEXT)));
	close(fd);
	ASSERT_EQ(0, conf_load(self->path, &self->c, err, sizeof(err)))
		TH_LOG("%s", err);
	memset(&self->ls, 0, sizeof(self->ls));
}

FIXTURE_TEARDOWN(act)
{
	char cmd[80];

	accept_close(&self->ls);
	conf_put(self->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* A listening Unix stream socket in the scratch directory. */
static int unix_listener(FIXTURE_DATA(act) *self)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/u%d.sock", self->dir,
		 self->n_unix++);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 4))
		return -1;
	return fd;
}

/* A TCP socket on 127.0.0.1, any port: listening, or not (then bound only). */
static int tcp_socket(int listening)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (listening && listen(fd, 4)))
		return -1;
	return fd;
}

static int udp_socket(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

/* accept_activated() with ktlsd's log (stderr) caught in self->log. */
static int activated(struct __test_metadata *_metadata,
		     FIXTURE_DATA(act) *self, const int *fds, char **names,
		     int n)
{
	int saved, lfd, ret;
	ssize_t len;

	lfd = open(self->logf, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, lfd);
	saved = dup(2);
	ASSERT_LE(0, saved);
	ASSERT_EQ(2, dup2(lfd, 2));
	ret = accept_activated(&self->ls, self->c, fds, names, n);
	dup2(saved, 2);
	close(saved);
	len = pread(lfd, self->log, sizeof(self->log) - 1, 0);
	close(lfd);
	ASSERT_LE(0, len);
	self->log[len] = 0;
	return ret;
}

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* systemd's default name: the unit's, which a profile also has here. */
TEST_F(act, unix_socket_named_like_a_profile_is_the_handoff_socket)
{
	char *names[] = { "ktlsd.socket" };
	int fd = unix_listener(self);

	ASSERT_LE(0, fd);
	ASSERT_EQ(fd, activated(_metadata, self, &fd, names, 1))
		TH_LOG("log: %s", self->log);
	ASSERT_TRUE(is_open(fd));
	ASSERT_EQ(0u, self->ls.n_tcp);
	ASSERT_NE(NULL, strstr(self->log, "(ktlsd.socket) is a Unix socket: "
			       "the handoff socket, not the profile's"))
		TH_LOG("log: %s", self->log);
	close(fd);
}

/* Both under the same name: each goes where its kind says, in any order. */
TEST_F(act, same_name_tcp_to_the_profile_unix_to_the_handoff)
{
	char *names[] = { "ktlsd.socket", "ktlsd.socket" };
	int fds[2] = { tcp_socket(1), unix_listener(self) };

	ASSERT_LE(0, fds[0]);
	ASSERT_LE(0, fds[1]);
	ASSERT_EQ(fds[1], activated(_metadata, self, fds, names, 2))
		TH_LOG("log: %s", self->log);
	ASSERT_EQ(1u, self->ls.n_tcp);
	ASSERT_STREQ("ktlsd.socket", self->ls.tcp[0].profile);
	ASSERT_EQ(fds[0], self->ls.tcp[0].fd);
	ASSERT_TRUE(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
	ASSERT_NE(NULL, strstr(self->log, "profile ktlsd.socket: listening on "
			       "the socket passed by socket activation"));
	ASSERT_NULL(strstr(self->log, "closed")) TH_LOG("log: %s", self->log);
	close(fds[1]);
}

/* Each socket of the wrong kind for its name: closed, and the log says why. */
TEST_F(act, wrong_kinds_are_closed_with_a_reason)
{
	char *names[] = { "ktlsd.socket", "nope", "out", "ktlsd.socket",
			  "handoff", "second", NULL };
	int fds[7] = { udp_socket(), tcp_socket(1), tcp_socket(1),
		       tcp_socket(0), unix_listener(self), unix_listener(self),
		       tcp_socket(1) };
	static const char *const why[] = {
		"(ktlsd.socket): neither a listening Unix stream socket",
		"(nope): a TCP socket not named after a profile",
		"(out): named after a client profile",
		"(ktlsd.socket): neither a listening Unix stream socket",
		NULL,
		"(second): a second Unix socket",
		"(no name): a TCP socket not named after a profile",
	};
	char want[128];
	int i;

	for (i = 0; i < 7; i++)
		ASSERT_LE(0, fds[i]) TH_LOG("socket %d", i);
	ASSERT_EQ(fds[4], activated(_metadata, self, fds, names, 7))
		TH_LOG("log: %s", self->log);
	ASSERT_EQ(0u, self->ls.n_tcp);
	for (i = 0; i < 7; i++) {
		if (!why[i])
			continue;
		ASSERT_FALSE(is_open(fds[i])) TH_LOG("socket %d left open", i);
		snprintf(want, sizeof(want), "descriptor %d %s", fds[i], why[i]);
		ASSERT_NE(NULL, strstr(self->log, want))
			TH_LOG("no \"%s\" in: %s", want, self->log);
	}
	ASSERT_TRUE(is_open(fds[4]));
	close(fds[4]);
}

TEST_HARNESS_MAIN
