// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktls_handoff_result() and the caller's struct size: a caller built
 * against a shorter struct ktls_handoff_result gets the fields it has and
 * not a byte more. On the host, against a fake ktlsd: a Unix socket that
 * reads the library's request and answers with a reply made by the wire
 * encoder (lib/wire.h), a refusal or a handshake that "worked".
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ktls.h>

#include "kselftest_harness.h"
#include "testutil.h"
#include "internal.h"
#include "wire.h"

FIXTURE(fake)
{
	char dir[32], path[64];
	int lfd;		/* the fake ktlsd's listening socket */
	int conn;		/* its end of the library's connection */
	struct ktls_handoff *h;
	int fds[2];		/* [0] handed over (any socket will do here) */
	uint64_t id;		/* what ktls_handoff_submit() said */
	uint64_t req_id;	/* what the fake read in the request */
};

FIXTURE_SETUP(fake)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };

	self->lfd = self->conn = self->fds[0] = self->fds[1] = -1;
	strcpy(self->dir, "/tmp/ktls-hres-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/sock", self->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", self->path);
	self->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(self->lfd, 1));
	ASSERT_EQ(0, ktls_handoff_open(&self->h, self->path));
	self->conn = accept4(self->lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_LE(0, self->conn);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, self->fds));
	ASSERT_EQ(0, ktls_handoff_submit(self->h, self->fds[0], &req, &self->id));
}

FIXTURE_TEARDOWN(fake)
{
	char cmd[64];

	ktls_handoff_close(self->h);
	if (self->conn >= 0)
		close(self->conn);
	if (self->lfd >= 0)
		close(self->lfd);
	if (self->fds[0] >= 0)
		close(self->fds[0]);
	if (self->fds[1] >= 0)
		close(self->fds[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (self->dir[0] && system(cmd))
		fprintf(stderr, "# could not remove %s\n", self->dir);
}

/* The fake's side: read len bytes, closing any descriptor that comes. */
static int fake_read(int fd, uint8_t *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	size_t done = 0;

	while (done < len) {
		struct iovec iov = { buf + done, len - done };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
		};
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return -1;
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			size_t i, k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int got;

			for (i = 0; c->cmsg_type == SCM_RIGHTS && i < k; i++) {
				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(got);
			}
		}
		done += n;
	}
	return 0;
}

/* The fake reads the one request and answers it with w (its id set here). */
static void fake_answer(struct __test_metadata *_metadata,
			FIXTURE_DATA(fake) *self, struct wire_reply *w)
{
	uint8_t hdr[WIRE_HDR_LEN], body[WIRE_REQ_MAX];
	struct wire_buf b = { 0 };
	struct wire_req req;
	long len;

	ASSERT_EQ(0, fake_read(self->conn, hdr, sizeof(hdr)));
	len = wire_check_header(hdr, WIRE_REQUEST, WIRE_REQ_MAX);
	ASSERT_LE(0, len);
	ASSERT_EQ(0, fake_read(self->conn, body, len));
	ASSERT_EQ(0, wire_decode_req(body, len, &req, NULL));
	self->req_id = req.id;
	w->id = req.id;
	ASSERT_EQ(0, wire_encode_reply(&b, w));
	ASSERT_EQ((ssize_t)b.len, write_full(self->conn, b.p, b.len));
	wire_buf_wipe_free(&b);
}

static void refuse(struct __test_metadata *_metadata, FIXTURE_DATA(fake) *self)
{
	static const char why[] = "uid 1000 may not use profile web";
	struct wire_reply w = {
		.status = -EACCES,
		.message = { why, sizeof(why) - 1 },
	};

	fake_answer(_metadata, self, &w);
}

/* What ktlsd says after a TLS 1.3 handshake as a server. */
static void succeed(struct __test_metadata *_metadata, FIXTURE_DATA(fake) *self)
{
	struct wire_reply w = {
		.version = KTLS_TLS13,
		.cipher = KTLS_CIPHER_AES_128_GCM,
		.group = { "x25519", 6 },
		.offload_tx = KTLS_OFFLOAD_SW,
		.offload_rx = KTLS_OFFLOAD_SW,
		.role = 1,
	};

	fake_answer(_metadata, self, &w);
}

#define CANARY 0xa5

/* A caller's struct of some size, inside bytes that must stay CANARY. */
union caller {
	struct ktls_handoff_result r;
	unsigned char b[sizeof(struct ktls_handoff_result) + 32];
};

static void caller_init(union caller *c, size_t size)
{
	memset(c, CANARY, sizeof(*c));
	c->r.size = size;
}

/* The first byte at or past off that is not CANARY, or sizeof(c->b). */
static size_t caller_touched(const union caller *c, size_t off)
{
	while (off < sizeof(c->b) && c->b[off] == CANARY)
		off++;
	return off;
}

#define ASSERT_UNTOUCHED_PAST(c, off) do {				\
	size_t __o = (off), __t = caller_touched(c, __o);		\
									\
	ASSERT_EQ(sizeof((c)->b), __t)					\
		TH_LOG("byte %zu written; the caller's struct ends at %zu", \
		       __t, __o);					\
} while (0)

/* A caller built before session was added: the refusal, and no more. */
TEST_F(fake, old_size_refusal)
{
	size_t size = offsetof(struct ktls_handoff_result, session);
	union caller c;

	refuse(_metadata, self);
	caller_init(&c, size);
	ASSERT_EQ(1, ktls_handoff_result(self->h, &c.r)) TH_LOG("%s",
		ktls_handoff_error(self->h));
	EXPECT_EQ(self->id, c.r.id);
	EXPECT_EQ(self->req_id, c.r.id);
	EXPECT_EQ(self->fds[0], c.r.fd);
	EXPECT_EQ(-EACCES, c.r.status);
	EXPECT_EQ(size, c.r.size);
	EXPECT_STREQ("uid 1000 may not use profile web", ktls_handoff_error(self->h));
	ASSERT_UNTOUCHED_PAST(&c, size);
}

/*
 * The same caller after a handshake that worked: status 0, and the
 * session it has no room for is not written (the library frees it).
 */
TEST_F(fake, old_size_success)
{
	size_t size = offsetof(struct ktls_handoff_result, session);
	union caller c;

	succeed(_metadata, self);
	caller_init(&c, size);
	ASSERT_EQ(1, ktls_handoff_result(self->h, &c.r)) TH_LOG("%s",
		ktls_handoff_error(self->h));
	EXPECT_EQ(self->id, c.r.id);
	EXPECT_EQ(self->fds[0], c.r.fd);
	EXPECT_EQ(0, c.r.status);
	ASSERT_UNTOUCHED_PAST(&c, size);
}

/* Room for the id only: the rest of the struct is not the library's. */
TEST_F(fake, id_only)
{
	size_t size = offsetof(struct ktls_handoff_result, fd);
	union caller c;

	refuse(_metadata, self);
	caller_init(&c, size);
	ASSERT_EQ(1, ktls_handoff_result(self->h, &c.r));
	EXPECT_EQ(self->id, c.r.id);
	ASSERT_UNTOUCHED_PAST(&c, size);
}

/* Today's struct gets every field, the session included. */
TEST_F(fake, full_size_success)
{
	const struct ktls_info *in;
	union caller c;

	succeed(_metadata, self);
	caller_init(&c, sizeof(c.r));
	ASSERT_EQ(1, ktls_handoff_result(self->h, &c.r)) TH_LOG("%s",
		ktls_handoff_error(self->h));
	EXPECT_EQ(self->id, c.r.id);
	EXPECT_EQ(self->fds[0], c.r.fd);
	ASSERT_EQ(0, c.r.status);
	ASSERT_NE(NULL, c.r.session);
	in = ktls_session_info(c.r.session);
	ASSERT_NE(NULL, in);
	EXPECT_EQ(KTLS_TLS13, in->version);
	EXPECT_EQ(KTLS_CIPHER_AES_128_GCM, in->cipher);
	EXPECT_STREQ("x25519", in->group);
	ktls_session_free(c.r.session);
	ASSERT_UNTOUCHED_PAST(&c, sizeof(c.r));
}

/*
 * The peer's fingerprint in the reply reaches ktlsd's side of the library
 * as the same 32 bytes (session_peer_sha256()) and the application as hex;
 * a reply without one has none.
 */
TEST_F(fake, peer_sha256_bytes)
{
	static const uint8_t fp[32] = {
		0x00, 0x01, 0x7f, 0x80, 0xff, 0xa5, 0x5a, 0x10,
		0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90,
		0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x0f, 0x1e,
		0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0xfe,
	};
	struct wire_reply w = {
		.version = KTLS_TLS13,
		.cipher = KTLS_CIPHER_AES_128_GCM,
		.peer_sha256 = fp,
	};
	struct ktls_handoff_result r = { .size = sizeof(r) };
	uint8_t out[32];

	fake_answer(_metadata, self, &w);
	ASSERT_EQ(1, ktls_handoff_result(self->h, &r));
	ASSERT_EQ(0, r.status);
	ASSERT_NE(NULL, r.session);
	memset(out, 0xee, sizeof(out));
	EXPECT_EQ(0, session_peer_sha256(r.session, out));
	EXPECT_EQ(0, memcmp(fp, out, sizeof(fp)));
	EXPECT_STREQ("00017f80ffa55a102030405060708090"
		     "a0b0c0d0e0f00f1e2d3c4b5a697887fe",
		     ktls_session_info(r.session)->peer_sha256);
	ktls_session_free(r.session);
}

TEST_F(fake, no_peer_sha256)
{
	struct ktls_handoff_result r = { .size = sizeof(r) };
	uint8_t out[32];

	succeed(_metadata, self);
	ASSERT_EQ(1, ktls_handoff_result(self->h, &r));
	ASSERT_NE(NULL, r.session);
	EXPECT_EQ(-ENOENT, session_peer_sha256(r.session, out));
	EXPECT_STREQ("", ktls_session_info(r.session)->peer_sha256);
	ktls_session_free(r.session);
}

/*
 * A size short of id is refused before anything is read: the reply waits
 * for a caller that gives a proper one.
 */
TEST_F(fake, size_short_of_id)
{
	size_t size = offsetof(struct ktls_handoff_result, id) + sizeof(uint64_t) - 1;
	union caller c;

	refuse(_metadata, self);
	caller_init(&c, 0);
	ASSERT_EQ(-EINVAL, ktls_handoff_result(self->h, &c.r));
	caller_init(&c, size);
	ASSERT_EQ(-EINVAL, ktls_handoff_result(self->h, &c.r));
	ASSERT_UNTOUCHED_PAST(&c, sizeof(size_t));
	ASSERT_EQ(-EINVAL, ktls_handoff_result(self->h, NULL));
	caller_init(&c, sizeof(c.r));
	ASSERT_EQ(1, ktls_handoff_result(self->h, &c.r));
	EXPECT_EQ(-EACCES, c.r.status);
	EXPECT_EQ(self->id, c.r.id);
}

/*
 * ktls_handoff() passes a struct of its own: a refusal comes back as its
 * status. The reply is written before the request goes out (the socket
 * holds it), for the id the library gives next: one more than the last.
 */
TEST_F(fake, blocking_handoff)
{
	struct ktls_handoff_req req = { .size = sizeof(req), .profile = "web" };
	struct ktls_handoff_result r = { .size = sizeof(r) };
	struct wire_reply w = { .status = -ENOENT };
	struct wire_buf b = { 0 };
	struct ktls_session *s = NULL;

	refuse(_metadata, self);	/* the fixture's request, out of the way */
	ASSERT_EQ(1, ktls_handoff_result(self->h, &r));
	w.id = self->id + 1;
	ASSERT_EQ(0, wire_encode_reply(&b, &w));
	ASSERT_EQ((ssize_t)b.len, write_full(self->conn, b.p, b.len));
	wire_buf_wipe_free(&b);
	ASSERT_EQ(-ENOENT, ktls_handoff(self->h, self->fds[0], &req, &s))
		TH_LOG("%s", ktls_handoff_error(self->h));
	ASSERT_EQ(NULL, s);
}

TEST_HARNESS_MAIN
