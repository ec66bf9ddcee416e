// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * How long ktls_handoff() waits for ktlsd's reply, and which fields of the
 * caller's struct ktls_handoff_req it reads (lib/handoff.c). A stand-in for
 * ktlsd on a Unix socket takes the request, records it, says nothing for a
 * while, then closes: a call that is still waiting then ends -ECONNRESET,
 * one that gave up earlier ends -ETIMEDOUT.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "testutil.h"

#include <ktls.h>
#include "wire.h"

/* ktls_handoff() waits this much longer than the request's timeout. */
#define GRACE_MS 5000

struct stand_in {
	char dir[64], path[96];
	int lfd;
	int hold_ms;		/* silence after the request, then close */
	pthread_t th;
	int running;
	/* What came: */
	int got_request, got_fd;
	uint32_t timeout_ms;
};

/* Read one whole request (and its descriptor) from fd; 0 or -1. */
static int read_request(struct stand_in *si, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint8_t msg[WIRE_HDR_LEN + WIRE_REQ_MAX];
	size_t have = 0, want = WIRE_HDR_LEN;
	struct wire_req rq;
	struct cmsghdr *c;
	long len;

	while (have < want) {
		struct iovec iov = { msg + have, want - have };
		struct msghdr m = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
		};
		ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return -1;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			int passed;

			if (c->cmsg_type != SCM_RIGHTS)
				continue;
			memcpy(&passed, CMSG_DATA(c), sizeof(passed));
			close(passed);
			si->got_fd = 1;
		}
		have += n;
		if (have == WIRE_HDR_LEN && want == WIRE_HDR_LEN) {
			len = wire_check_header(msg, WIRE_REQUEST, WIRE_REQ_MAX);
			if (len < 0)
				return -1;
			want += len;
		}
	}
	if (wire_decode_req(msg + WIRE_HDR_LEN, have - WIRE_HDR_LEN, &rq, NULL))
		return -1;
	si->timeout_ms = rq.timeout_ms;
	si->got_request = 1;
	return 0;
}

static void *stand_in_main(void *arg)
{
	struct stand_in *si = arg;
	int fd = accept4(si->lfd, NULL, NULL, SOCK_CLOEXEC);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (fd < 0)
		return NULL;
	/* Silent until hold_ms have passed or the caller hangs up. */
	if (!read_request(si, fd))
		poll(&pfd, 1, si->hold_ms);
	close(fd);
	return NULL;
}

FIXTURE(wait)
{
	struct stand_in si;
	int pair[2];		/* pair[0]: the "TCP socket" handed over */
};

FIXTURE_SETUP(wait)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(self->si.dir, "/tmp/ktls-handoff-wait-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->si.dir));
	snprintf(self->si.path, sizeof(self->si.path), "%s/handoff.sock",
		 self->si.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", self->si.path);
	self->si.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->si.lfd);
	ASSERT_EQ(0, bind(self->si.lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(self->si.lfd, 4));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				self->pair));
}

FIXTURE_TEARDOWN(wait)
{
	if (self->si.running)
		pthread_join(self->si.th, NULL);
	close(self->si.lfd);
	close(self->pair[0]);
	close(self->pair[1]);
	unlink(self->si.path);
	rmdir(self->si.dir);
}

/*
 * ktls_handoff() with req against a stand-in that is silent for hold_ms,
 * then closes: its status; how long it took in *ms.
 */
static int handoff_silent(struct __test_metadata *_metadata,
			  FIXTURE_DATA(wait) *self,
			  const struct ktls_handoff_req *req, int hold_ms,
			  int64_t *ms)
{
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;
	int64_t t0;
	int ret;

	self->si.hold_ms = hold_ms;
	ret = pthread_create(&self->si.th, NULL, stand_in_main, &self->si);
	if (ret)
		return -ret;
	self->si.running = 1;
	ret = ktls_handoff_open(&h, self->si.path);
	if (ret)
		return ret;
	t0 = ms_now();
	ret = ktls_handoff(h, self->pair[0], req, &s);
	*ms = ms_now() - t0;
	TH_LOG("status %d after %lld ms: %s", ret, (long long)*ms,
	       ktls_handoff_error(h));
	ktls_handoff_close(h);
	pthread_join(self->si.th, NULL);
	self->si.running = 0;
	return ret;
}

/* A timeout the request may give: waited for, with GRACE_MS more. */
TEST_F(wait, request_timeout_is_waited_for)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = "web", .timeout_ms = 100,
	};
	int64_t ms;
	int ret = handoff_silent(_metadata, self, &req, 8000, &ms);

	ASSERT_EQ(-ETIMEDOUT, ret);
	ASSERT_EQ(1, self->si.got_request);
	ASSERT_EQ(1, self->si.got_fd);
	ASSERT_EQ(100u, self->si.timeout_ms);
	ASSERT_LE(100 + GRACE_MS - 50, ms);
	ASSERT_GT(100 + GRACE_MS + 1500, ms);
}

/*
 * timeout_ms near UINT_MAX: adding the grace must not wrap around to a
 * few seconds (UINT_MAX - 1000 + 5000 is 3999 in 32 bits). ktls_handoff()
 * must still be waiting when the stand-in closes after 4.6 s.
 */
TEST_F(wait, huge_timeout_does_not_wrap)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = "web",
		.timeout_ms = UINT_MAX - 1000,
	};
	int64_t ms;
	int ret = handoff_silent(_metadata, self, &req, 4600, &ms);

	ASSERT_EQ(UINT_MAX - 1000, self->si.timeout_ms);
	ASSERT_EQ(-ECONNRESET, ret)
		TH_LOG("gave up after %lld ms", (long long)ms);
	ASSERT_LE(4500, ms);
}

/*
 * A caller's struct that ends inside timeout_ms (.size short of the whole
 * field) has no timeout: not sent, and not waited for either. Behind the
 * caller's size the memory says 1 ms; taken, it would end the wait after
 * 1 + GRACE_MS ms, before the stand-in closes after 5.6 s.
 */
TEST_F(wait, short_struct_has_no_timeout)
{
	struct ktls_handoff_req req = {
		.size = offsetof(struct ktls_handoff_req, timeout_ms) + 1,
		.profile = "web", .timeout_ms = 1,
	};
	int64_t ms;
	int ret = handoff_silent(_metadata, self, &req, 5600, &ms);

	ASSERT_EQ(1, self->si.got_request);
	ASSERT_EQ(0u, self->si.timeout_ms) TH_LOG("a timeout was sent");
	ASSERT_EQ(-ECONNRESET, ret)
		TH_LOG("gave up after %lld ms", (long long)ms);
	ASSERT_LE(5500, ms);
}

/* A struct too short to hold the profile pointer: refused, nothing sent. */
TEST_F(wait, struct_without_profile_is_refused)
{
	struct ktls_handoff_req req = {
		.size = offsetof(struct ktls_handoff_req, profile) + 4,
		.profile = "web",
	};
	struct ktls_session *s = NULL;
	struct ktls_handoff *h;

	ASSERT_EQ(0, ktls_handoff_open(&h, self->si.path));
	ASSERT_EQ(-EINVAL, ktls_handoff(h, self->pair[0], &req, &s));
	req.size = sizeof(size_t);
	ASSERT_EQ(-EINVAL, ktls_handoff(h, self->pair[0], &req, &s));
	ASSERT_EQ(NULL, s);
	ktls_handoff_close(h);
}

/*
 * ktlsd drains (a reload or a stop) and has shut the read side of an idle
 * connection: the request is refused with EPIPE before ktlsd took any of
 * it, so libktls sends it again on a new connection, where it arrives.
 */
TEST_F(wait, request_goes_again_after_read_side_shut)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "p" };
	struct ktls_handoff *h;
	int first, second;
	uint64_t id;

	ASSERT_EQ(0, ktls_handoff_open(&h, self->si.path));
	first = accept4(self->si.lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, first);
	ASSERT_EQ(0, shutdown(first, SHUT_RD));
	ASSERT_EQ(0, ktls_handoff_submit(h, self->pair[0], &req, &id))
		TH_LOG("%s", ktls_handoff_error(h));
	second = accept4(self->si.lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, second);
	ASSERT_EQ(0, read_request(&self->si, second));
	ASSERT_TRUE(self->si.got_fd);
	ktls_handoff_close(h);
	close(first);
	close(second);
}

TEST_HARNESS_MAIN
