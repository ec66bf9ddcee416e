/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the handoff tests (tests/vm/handoff_*.c) share, one section per
 * concern (tests/vm/handoff_util.c): their profiles, ktlsd's descriptors,
 * the protocol spoken by hand, a libktls far end in a thread, handoffs
 * through libktls, and the handoff that shows that ktlsd still serves.
 */
#ifndef KTLS_HANDOFF_UTIL_H
#define KTLS_HANDOFF_UTIL_H

#include <pthread.h>

#include <ktls.h>

#include "ktlsd_proc.h"
#include "internal.h"
#include "wire.h"

/*
 * A handshake that should work: 0; or where the kernel has no kTLS, the
 * failure at the install (the handshake itself went through).
 */
#define OK_STATUS (host_has_ktls() ? 0 : -KTLS_E_NO_KTLS)

#define NO_KTLS_REASON "kTLS: the kernel has no TLS ULP"

/* Receive and send timeouts of fd, in ms. */
void set_rcvtimeo(int fd, int ms);

/* O_NONBLOCK on or off: 0 or -errno. */
int set_nonblock(int fd, int on);

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

/* What ktlsd's descriptors are, for failure messages (a static buffer). */
const char *fd_list(pid_t pid);

/* ktlsd's descriptor count once it stops moving (up to ~2 s) to want. */
int settle_fds(const struct daemon *d, int want, int timeout_ms);

/* ktlsd holds extra descriptors more than when idle (within ~2 s). */
#define ASSERT_FDS(d, extra) do {					\
	int __n = settle_fds(d, (d)->base_fds + (extra), 2000);		\
	ASSERT_EQ((d)->base_fds + (extra), __n)				\
		TH_LOG("ktlsd holds %d descriptors, %d when idle:%s",	\
		       __n, (d)->base_fds, fd_list(hs_pid((d)->pid)));		\
} while (0)

/* Everything the test handed over or opened is closed: so is ktlsd's. */
#define ASSERT_NO_FD_LEAK(d) ASSERT_FDS(d, 0)

/* ---- Speaking the protocol by hand ---- */

/* A connection to ktlsd's socket (30 s timeouts), or -errno. */
int unix_connect(const char *path);

/* buf, with nfds descriptors attached to its first byte. */
int send_fds(int sock, const void *buf, size_t len, const int *fds,
	     int nfds);

/* A request into b (wire_buf_wipe_free() it): 0 or -errno. */
int encode_req(struct wire_buf *b, uint64_t id, const char *profile,
	       const char *sni, const char *alpn, unsigned timeout_ms);

/* A request with fd attached (none if fd < 0): 0 or -errno. */
int send_req(int sock, int fd, uint64_t id, const char *profile,
	     const char *sni, const char *alpn, unsigned timeout_ms);

/* Exactly len bytes: 0, -ETIMEDOUT, -ECONNRESET (the end came first). */
int recv_exact(int sock, void *buf, size_t len, int timeout_ms);

/* A decoded reply; r's pointers go stale at the next read_reply(). */
struct reply {
	struct wire_reply r;
	char msg[WIRE_MSG_MAX + 1];
};

/* 0, or -ETIMEDOUT, -ECONNRESET, -EPROTO (not a valid version 1 reply). */
int read_reply(int sock, struct reply *rep, int timeout_ms);

/* Whether ktlsd closes sock (with nothing more to say) within the time. */
int closed_within(int sock, int timeout_ms);

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

/* A client (trusting the test certificate) or server (with it) on fd. */
int far_start(struct far_end *f, int fd, enum ktls_role role,
	      const char *alpn);

/* Wait for the far end's handshake: its result. */
int far_join(struct far_end *f);

/* far_join(), then free its session and config. */
void far_free(struct far_end *f);

/*
 * The handoff's outcome is in: if it failed, stop the far end waiting for
 * more, then wait for it (before any assertion can unwind the stack that
 * holds f).
 */
void far_settle(struct far_end *f, int status, int app_fd);

/* The far end's explanation of its failure, or "". */
const char *far_error(const struct far_end *f);

/* ---- Handoffs through libktls ---- */

/* One result within the time: 1 (in *r), -ETIMEDOUT, or h's error. */
int wait_result(struct ktls_handoff *h, struct ktls_handoff_result *r,
		int timeout_ms);

/* ktls_handoff_submit() of fd with these parameters. */
int submit(struct ktls_handoff *h, int fd, const char *profile,
	   const char *sni, unsigned timeout_ms, uint64_t *id);

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
void conn_pair(struct __test_metadata *_metadata, struct conn *c);

/*
 * A connection whose far end is libktls in far_role (offering far_alpn,
 * sending c->far.send once done), already handshaking; both ends give up
 * waiting after 10 s.
 */
void conn_open(struct __test_metadata *_metadata, struct conn *c,
	       enum ktls_role far_role, const char *far_alpn);

/*
 * ktls_handoff() of c->app: the status, ktlsd's message in c->msg. A far
 * end has finished when this returns.
 */
int conn_handoff(const struct daemon *d, struct conn *c, const char *profile,
		 const char *sni, const char *alpn, unsigned timeout_ms);

/* conn_handoff() that must time out: how long it took, in ms. */
int64_t conn_times_out(struct __test_metadata *_metadata,
		       const struct daemon *d, struct conn *c,
		       const char *profile, unsigned timeout_ms);

/* Free what the connection holds, close both ends. */
void conn_close(struct conn *c);

/* ---- ktlsd serves on ---- */

/*
 * A handoff that must work, to show that ktlsd still serves: a server
 * profile, with a libktls client at the far end; through ktls_handoff() on
 * a new connection, or by hand on sock when sock >= 0. Where the kernel has
 * kTLS a few bytes then go each way; elsewhere the handshake must get as
 * far as the install.
 */
void good_handoff(struct __test_metadata *_metadata, const struct daemon *d,
		  const char *profile, int sock);

/* After a failure: ktlsd still serves, and holds nothing more than idle. */
void serves_on(struct __test_metadata *_metadata, const struct daemon *d);

/*
 * A well-formed request for profile with nfds descriptors must get status
 * want with a message; the connection stays usable: a handoff on it works.
 */
void refused(struct __test_metadata *_metadata, const struct daemon *d,
	     const int *fds, int nfds, const char *profile, const char *sni,
	     const char *alpn, int want);

/* ---- An RSA server besides the ECDSA one ---- */

/* dir/rsa.key (2048 bits) and dir/rsa.pem, for localhost; 0 or -1. */
int make_rsa_cert(const char *dir);

/* Server profiles "ec" (TEST_CERT) and "rsa" (of make_rsa_cert(dir)). */
#define EC_RSA_PROFILES(dir)						\
	"[profile ec]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"\n"								\
	"[profile rsa]\n"						\
	"role = server\n"						\
	"certificate = " dir "/rsa.pem\n"				\
	"key = " dir "/rsa.key\n"

#endif
