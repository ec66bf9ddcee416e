// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The subscriber's side of accept mode (lib/handoff.c,
 * ktls_handoff_subscribe()), against a stand-in for ktlsd on a Unix
 * socket that plays one script: each delivery's descriptor goes with its
 * own message even when several wait in the socket at once; a delivery
 * without one is refused; an older ktlsd (which answers type 3 as a
 * malformed message and closes) gives -EOPNOTSUPP; after the connection
 * ends the subscription is asked again, under the same id, on a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "testutil.h"

#include <ktls.h>
#include "wire.h"

struct stand_in;
typedef void script_fn(struct stand_in *si);

struct stand_in {
	char dir[64], path[96];
	int lfd;
	script_fn *script;
	pthread_t th;
	/* What the script saw and made: */
	int subscribes;		/* subscription messages read */
	uint64_t ids[4];	/* their ids */
	char profile[64];
	int sent[3];		/* our ends of the sockets delivered */
	int failed;		/* a step of the script went wrong */
};

/* Read one message whole; its type, or -1. */
static int read_msg(int fd, struct wire_req *rq, uint8_t *buf, size_t cap)
{
	size_t have = 0, want = WIRE_HDR_LEN;
	ssize_t n;

	while (have < want) {
		n = recv(fd, buf + have, want - have, 0);
		if (n <= 0)
			return -1;
		have += n;
		if (have == WIRE_HDR_LEN) {
			want += (size_t)buf[8] << 24 | buf[9] << 16 |
				buf[10] << 8 | buf[11];
			if (want > cap)
				return -1;
		}
	}
	if (wire_decode_req(buf + WIRE_HDR_LEN, want - WIRE_HDR_LEN, rq, NULL))
		return -1;
	return buf[5];
}

/* A subscription message: recorded; 0 or -1. */
static int take_subscribe(struct stand_in *si, int c)
{
	uint8_t buf[WIRE_HDR_LEN + WIRE_REQ_MAX];
	struct wire_req rq;

	if (read_msg(c, &rq, buf, sizeof(buf)) != WIRE_SUBSCRIBE ||
	    si->subscribes == 4)
		return -1;
	si->ids[si->subscribes++] = rq.id;
	snprintf(si->profile, sizeof(si->profile), "%.*s",
		 (int)rq.profile.len, rq.profile.p);
	return 0;
}

/* A reply, with fd attached to its first byte unless fd < 0. */
static int reply(int c, uint64_t id, int status, int fd)
{
	static const uint8_t secret[32] = { 1, 2, 3 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct wire_reply r = { .id = id, .status = status };
	struct wire_buf b = { 0 };
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (!status && fd >= 0) {
		r.version = KTLS_TLS13;
		r.cipher = KTLS_CIPHER_AES_128_GCM;
		r.role = 1;
		r.secret_tx = r.secret_rx = secret;
		r.secret_len = sizeof(secret);
	}
	if (status)
		r.message = (struct wire_str){ "Bad message type.", 17 };
	if (wire_encode_reply(&b, &r))
		return -1;
	iov = (struct iovec){ b.p, b.len };
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	n = sendmsg(c, &m, MSG_NOSIGNAL);
	wire_buf_wipe_free(&b);
	return n == (ssize_t)iov.iov_len ? 0 : -1;
}

/* A socket pair: one end delivered, the other kept in si->sent[i]. */
static int deliver(struct stand_in *si, int c, int i)
{
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	si->sent[i] = sv[1];	/* before the client can look */
	ret = reply(c, si->ids[si->subscribes - 1], 0, sv[0]);
	close(sv[0]);
	return ret;
}

/* Two deliveries back to back, then one without a descriptor. */
static void script_deliver(struct stand_in *si)
{
	int c = accept4(si->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0 || take_subscribe(si, c) || reply(c, si->ids[0], 0, -1) ||
	    deliver(si, c, 0) || deliver(si, c, 1) ||
	    reply(c, si->ids[0], 0, -1))
		si->failed = 1;
	/* Until the client is done: then its end of file. */
	if (c >= 0) {
		char x;

		while (recv(c, &x, 1, 0) > 0)
			;
		close(c);
	}
}

/* An older ktlsd: type 3 is a malformed message; say so and close. */
static void script_old(struct stand_in *si)
{
	uint8_t buf[WIRE_HDR_LEN + WIRE_REQ_MAX];
	struct wire_req rq;
	int c = accept4(si->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0 || read_msg(c, &rq, buf, sizeof(buf)) != WIRE_SUBSCRIBE ||
	    reply(c, 0, -EBADMSG, -1))
		si->failed = 1;
	if (c >= 0)
		close(c);
}

/* Acknowledge, close; the second connection's subscription gets one. */
static void script_again(struct stand_in *si)
{
	int c = accept4(si->lfd, NULL, NULL, SOCK_CLOEXEC), c2 = -1;
	char x;

	if (c < 0 || take_subscribe(si, c) || reply(c, si->ids[0], 0, -1))
		si->failed = 1;
	if (c >= 0)
		close(c);
	c2 = accept4(si->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c2 < 0 || take_subscribe(si, c2) ||
	    reply(c2, si->ids[1], 0, -1) || deliver(si, c2, 0))
		si->failed = 1;
	if (c2 >= 0) {
		while (recv(c2, &x, 1, 0) > 0)
			;
		close(c2);
	}
}

static void *stand_in_main(void *arg)
{
	struct stand_in *si = arg;

	si->script(si);
	return NULL;
}

FIXTURE(sub)
{
	struct stand_in si;
	struct ktls_handoff *h;
};

FIXTURE_SETUP(sub)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stand_in *si = &self->si;

	memset(si, 0, sizeof(*si));
	si->sent[0] = si->sent[1] = si->sent[2] = -1;
	strcpy(si->dir, "/tmp/ktls-sub-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(si->dir));
	snprintf(si->path, sizeof(si->path), "%s/h.sock", si->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", si->path);
	si->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, si->lfd);
	ASSERT_EQ(0, bind(si->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(si->lfd, 8));
}

FIXTURE_TEARDOWN(sub)
{
	int i;

	ktls_handoff_close(self->h);
	pthread_join(self->si.th, NULL);
	for (i = 0; i < 3; i++)
		if (self->si.sent[i] >= 0)
			close(self->si.sent[i]);
	close(self->si.lfd);
	unlink(self->si.path);
	rmdir(self->si.dir);
}

static void run(struct __test_metadata *_metadata, struct stand_in *si,
		script_fn *script)
{
	si->script = script;
	ASSERT_EQ(0, pthread_create(&si->th, NULL, stand_in_main, si));
}

/* One result within 5 s: ktls_handoff_result()'s return. */
static int next(struct ktls_handoff *h, struct ktls_handoff_result *r)
{
	struct pollfd p = { .events = POLLIN };
	int ret, i;

	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->fd = -1;
	for (i = 0; i < 50; i++) {
		ret = ktls_handoff_result(h, r);
		if (ret)
			return ret;
		p.fd = ktls_handoff_fd(h);
		poll(&p, 1, 100);
	}
	return 0;
}

/* Whether a and b are the two ends of one socket pair. */
static int same_pair(int a, int b)
{
	char x = 'x', y = 0;

	return write(b, &x, 1) == 1 && read(a, &y, 1) == 1 && y == 'x';
}

TEST_F(sub, each_descriptor_with_its_message)
{
	struct ktls_handoff_result r[2], bad;
	uint64_t id = 0;
	int i;

	run(_metadata, &self->si, script_deliver);
	ASSERT_EQ(0, ktls_handoff_open(&self->h, self->si.path));
	ASSERT_EQ(0, ktls_handoff_subscribe(self->h, "web", &id));
	ASSERT_EQ(1, self->si.subscribes);
	ASSERT_EQ(id, self->si.ids[0]);
	ASSERT_STREQ("web", self->si.profile);
	/* Let both deliveries (and the bad one) wait in the socket. */
	usleep(200 * 1000);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, next(self->h, &r[i])) TH_LOG("%s",
			ktls_handoff_error(self->h));
		ASSERT_EQ(id, r[i].id);
		ASSERT_EQ(0, r[i].status);
		ASSERT_LE(0, r[i].fd);
		ASSERT_NE(NULL, r[i].session);
		ASSERT_EQ(FD_CLOEXEC, fcntl(r[i].fd, F_GETFD) & FD_CLOEXEC);
	}
	ASSERT_FALSE(self->si.failed);
	ASSERT_TRUE(same_pair(r[0].fd, self->si.sent[0]));
	ASSERT_TRUE(same_pair(r[1].fd, self->si.sent[1]));
	/* A delivery without its socket: the connection is done for. */
	ASSERT_EQ(-EPROTO, next(self->h, &bad));
	ASSERT_NE(NULL, strstr(ktls_handoff_error(self->h), "without a socket"));
	for (i = 0; i < 2; i++) {
		ktls_session_free(r[i].session);
		close(r[i].fd);
	}
	/* A subscribed handle takes no handoffs. */
	ASSERT_EQ(-EINPROGRESS, ktls_handoff_subscribe(self->h, "web", &id));
}

TEST_F(sub, older_ktlsd_is_not_supported)
{
	uint64_t id = 0;

	run(_metadata, &self->si, script_old);
	ASSERT_EQ(0, ktls_handoff_open(&self->h, self->si.path));
	ASSERT_EQ(-EOPNOTSUPP, ktls_handoff_subscribe(self->h, "web", &id));
	ASSERT_NE(NULL, strstr(ktls_handoff_error(self->h), "older"))
		TH_LOG("%s", ktls_handoff_error(self->h));
	ASSERT_EQ(0u, id);
	ASSERT_FALSE(self->si.failed);
}

TEST_F(sub, subscribed_again_after_the_end)
{
	struct ktls_handoff_result r;
	uint64_t id = 0;

	run(_metadata, &self->si, script_again);
	ASSERT_EQ(0, ktls_handoff_open(&self->h, self->si.path));
	ASSERT_EQ(0, ktls_handoff_subscribe(self->h, "web", &id));
	ASSERT_EQ(1, next(self->h, &r)) TH_LOG("%s",
					       ktls_handoff_error(self->h));
	ASSERT_EQ(2, self->si.subscribes);
	ASSERT_EQ(id, self->si.ids[1]) TH_LOG("asked again under another id");
	ASSERT_EQ(id, r.id);
	ASSERT_EQ(0, r.status);
	ASSERT_TRUE(same_pair(r.fd, self->si.sent[0]));
	ASSERT_FALSE(self->si.failed);
	ktls_session_free(r.session);
	close(r.fd);
}

TEST_HARNESS_MAIN
