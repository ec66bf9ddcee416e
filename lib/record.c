// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Records after the switch. The kernel encrypts and decrypts; the record
 * type travels in a control message (TLS_SET_RECORD_TYPE on send,
 * TLS_GET_RECORD_TYPE on receive). Application data goes straight to the
 * caller; alerts and post-handshake messages are handled here.
 *
 * Reading. The type of the next record is known only once it has been
 * read: recvmsg() stops at a change of type and returns at most one
 * non-data record, but there is no way to ask for the type without
 * consuming bytes (MSG_PEEK would cost a second system call per read). So
 * every read goes into the caller's buffer, however small; when the bytes
 * turn out to be an alert or a handshake message, they go to a parser, and
 * the rest of that message is read into a small local buffer, never past
 * the message's end. The next read into the caller's buffer thus starts at
 * a message boundary. The parser takes a byte stream, so a record holding
 * several messages, a message split over records (allowed for handshake
 * messages, and for alerts in TLS 1.2) and a 1-byte caller's buffer all
 * work. Bytes of the caller's buffer past the returned count may have been
 * overwritten by such messages.
 *
 * The parser's state lives in one ktls_recv() call. The rest of a record
 * already sits decrypted in the kernel, so finishing a message within a
 * record never waits. A message continued in a later record (no common
 * implementation does this after the handshake) is waited for, up to
 * CTL_WAIT_MS, even under MSG_DONTWAIT: returning -EAGAIN there would lose
 * our place in the stream.
 *
 * After the peer's close_notify, or any fatal error, every later call
 * returns the same end (the session remembers it): nothing the peer sends
 * after a KeyUpdate we could not follow, or after an alert, is returned.
 *
 * Whether this side has already closed (close_notify or a fatal alert sent)
 * is read from the TCP state, so that no path sends a second alert. This
 * matters beyond tidiness: after shutdown(SHUT_WR), kTLS sendmsg() returns
 * success and drops the record (seen on 6.1, 6.12 and 7.2).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "internal.h"

enum { REC_ALERT = 21, REC_HANDSHAKE = 22, REC_DATA = 23 };

enum {
	HS_HELLO_REQUEST = 0,		/* TLS 1.2: server asks to renegotiate */
	HS_CLIENT_HELLO = 1,		/* TLS 1.2: client renegotiates */
	HS_NEW_SESSION_TICKET = 4,	/* TLS 1.3 */
	HS_KEY_UPDATE = 24,		/* TLS 1.3 */
};

#define CTL_CHUNK	512		/* local buffer for control messages */
#define CTL_WAIT_MS	10000		/* for a message split over records */
#define CTL_MAX		64		/* control reads per call (warning floods) */
/*
 * Largest post-handshake message we take: a NewSessionTicket with a
 * 64 KiB ticket and 64 KiB of extensions still fits. Tickets are skipped,
 * except for a client that keeps them for resumption: then the message is
 * collected whole, in memory, and handed to GnuTLS (resume.c).
 */
#define CTL_MAX_HS	(1u << 18)

#define MORE 1		/* parser: message handled, keep reading */

/* A control message being assembled. */
struct ctl {
	unsigned char type;	/* record type; 0 between messages */
	unsigned char hdr[4];	/* alert: level, description; handshake: type, length */
	size_t got;		/* bytes of hdr so far */
	size_t skip;		/* handshake body bytes still to consume */
	int key_update;		/* the body is a KeyUpdate's request byte */
	int request;		/* ... which said update_requested */
	unsigned char *msg;	/* a ticket kept whole for GnuTLS, or NULL */
	size_t msg_len;
};

/* Between messages, and at the end of ktls_recv(). */
static void ctl_reset(struct ctl *c)
{
	if (c->msg) {
		gnutls_memset(c->msg, 0, c->msg_len);
		free(c->msg);
	}
	memset(c, 0, sizeof(*c));
}

/* 1 while this side may still send, 0 once it has sent its FIN; or -errno. */
static int can_send(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -errno;
	return ti.tcpi_state == TCP_ESTABLISHED || ti.tcpi_state == TCP_CLOSE_WAIT;
}

/*
 * Nothing may follow a fatal alert, in either direction: send ours (desc;
 * none when desc < 0, the peer's ended it) unless this side has closed
 * already, and stop sending. Every later read returns ret, as this does.
 */
static ssize_t record_fail(struct ktls_session *s, int desc, ssize_t ret)
{
	int fd = session_fd(s);

	session_rx_end(s)->err = (int)ret;

	if (can_send(fd) > 0) {
		if (desc >= 0)
			ktls_send_alert(s, KTLS_ALERT_LEVEL_FATAL, desc);
		shutdown(fd, SHUT_WR);
	}
	return ret;
}

/* One record of the given type through the kernel; 0 or -errno. */
static int send_record(struct ktls_session *s, unsigned char type,
		       const void *body, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)body, len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	int fd = session_fd(s), ret;
	ssize_t n;

	/* After shutdown(SHUT_WR) kTLS takes records and drops them. */
	ret = can_send(fd);
	if (ret <= 0)
		return ret ? ret : -EPIPE;
	memset(&cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cm) = type;
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

KTLS_EXPORT int ktls_send_alert(struct ktls_session *s, int level, int desc)
{
	unsigned char body[2] = { (unsigned char)level, (unsigned char)desc };

	if (session_fd(s) < 0 ||
	    (level != KTLS_ALERT_LEVEL_WARNING && level != KTLS_ALERT_LEVEL_FATAL) ||
	    desc < 0 || desc > 255)
		return -EINVAL;
	return send_record(s, REC_ALERT, body, sizeof(body));
}

/*
 * Our KeyUpdate (RFC 8446, 4.6.3) under the current keys, then the next
 * send key into the kernel: the peer switches when it reads the message.
 */
static int send_key_update(struct ktls_session *s, int request_peer)
{
	unsigned char msg[5] = { HS_KEY_UPDATE, 0, 0, 1, request_peer ? 1 : 0 };
	int ret = send_record(s, REC_HANDSHAKE, msg, sizeof(msg));

	return ret ? ret : session_rekey(s, 0);
}

KTLS_EXPORT int ktls_key_update(struct ktls_session *s, int request_peer)
{
	int ret;

	if (session_fd(s) < 0)
		return -EINVAL;
	if (!session_can_rekey(s))
		return -KTLS_E_REKEY;	/* nothing sent: the old keys go on */
	ret = send_key_update(s, request_peer);
	/* Half-way (message sent, key not taken) the connection is lost. */
	return ret < 0 && ret != -EPIPE ? record_fail(s, KTLS_ALERT_INTERNAL_ERROR, ret) : ret;
}

KTLS_EXPORT ssize_t ktls_send(struct ktls_session *s, const void *buf,
			      size_t len, int flags)
{
	struct ktls_tx_count *tx;
	int fd = session_fd(s), ret;
	size_t done = 0, chunk;
	ssize_t n;

	if (fd < 0 || (!buf && len) || (flags & ~(MSG_DONTWAIT | MSG_MORE)))
		return -EINVAL;
	/* After our close the kernel would take the data and drop it. */
	ret = can_send(fd);
	if (ret <= 0)
		return ret ? ret : -EPIPE;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	tx = session_tx_count(s);
	while (done < len) {
		chunk = len - done;
		if (tx->limit && session_can_rekey(s)) {
			if (tx->bytes >= tx->limit) {
				ret = ktls_key_update(s, 0);
				if (ret < 0)
					return done ? (ssize_t)done : ret;
			}
			if (chunk > tx->limit - tx->bytes)
				chunk = tx->limit - tx->bytes;
		}
		n = send(fd, (const char *)buf + done, chunk, flags | MSG_NOSIGNAL);
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		done += n;
		tx->bytes += n;
		if ((size_t)n < chunk)
			break;
	}
	return done;
}

KTLS_EXPORT int ktls_close_notify(struct ktls_session *s)
{
	int fd = session_fd(s), ret;

	if (fd < 0)
		return -EINVAL;
	ret = can_send(fd);
	if (ret <= 0)
		return ret;	/* closed already: by us, or after a fatal alert */
	ret = ktls_send_alert(s, KTLS_ALERT_LEVEL_WARNING, KTLS_ALERT_CLOSE_NOTIFY);
	if (ret < 0)
		return ret;
	return shutdown(fd, SHUT_WR) ? -errno : 0;
}

/* One recvmsg(); *type is the record type, 0 when the kernel gave none. */
static ssize_t recv_record(int fd, void *buf, size_t len, int flags,
			   unsigned char *type)
{
	union {
		char buf[CMSG_SPACE(sizeof(unsigned char))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*type = 0;
	n = recvmsg(fd, &msg, flags);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_TLS &&
		    cm->cmsg_type == TLS_GET_RECORD_TYPE &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(unsigned char)))
			*type = *CMSG_DATA(cm);
	return n;
}

/* What the kernel's receive errors mean for the connection. */
static ssize_t recv_error(struct ktls_session *s, ssize_t err)
{
	switch (err) {
	case -EKEYEXPIRED:
		/* 6.14+: the peer's KeyUpdate came; we do not follow it. */
		return record_fail(s, KTLS_ALERT_INTERNAL_ERROR, -KTLS_E_REKEY);
	case -EBADMSG:
		/* The kernel sends no alert itself (RFC 8446, 5.2). */
		return record_fail(s, KTLS_ALERT_BAD_RECORD_MAC, -EBADMSG);
	case -EMSGSIZE:
		return record_fail(s, KTLS_ALERT_RECORD_OVERFLOW, -EMSGSIZE);
	}
	return err;
}

/*
 * Read more of the control message in progress into buf; see the comment
 * at the top for why this waits, and for how long.
 */
static ssize_t recv_rest(struct ktls_session *s, void *buf, size_t len,
			 unsigned char *type, int64_t *deadline)
{
	struct pollfd pfd = { .fd = session_fd(s), .events = POLLIN };
	int64_t left;
	ssize_t n;

	for (;;) {
		n = recv_record(pfd.fd, buf, len, MSG_DONTWAIT, type);
		if (n >= 0)
			return n;
		if (n == -EINTR)
			continue;
		if (n != -EAGAIN)
			return recv_error(s, n);
		if (!*deadline)
			*deadline = util_now_ms() + CTL_WAIT_MS;
		left = *deadline - util_now_ms();
		if (left <= 0)
			return record_fail(s, KTLS_ALERT_INTERNAL_ERROR, -ETIMEDOUT);
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return record_fail(s, KTLS_ALERT_INTERNAL_ERROR, -errno);
	}
}

static ssize_t on_alert(struct ktls_session *s, const unsigned char *a,
			int *alert)
{
	int tls13 = session_version(s) == KTLS_TLS13;

	if (a[1] == KTLS_ALERT_CLOSE_NOTIFY) {
		/* The peer may be gone already: nothing to report then. */
		ktls_close_notify(s);
		/* Whatever the peer sends after it is ignored (RFC 8446, 6.1). */
		session_rx_end(s)->eof = 1;
		return 0;
	}
	/*
	 * TLS 1.3 (section 6): every alert but the two closure alerts is an
	 * error, whatever its level. TLS 1.2 leaves warnings to the receiver.
	 */
	if (tls13 ? a[1] == KTLS_ALERT_USER_CANCELED : a[0] == KTLS_ALERT_LEVEL_WARNING)
		return MORE;
	if (alert)
		*alert = a[1];
	return record_fail(s, -1, -KTLS_E_ALERT);
}

/* A complete handshake message header: decide, or skip the body. */
static ssize_t on_handshake(struct ktls_session *s, struct ctl *c)
{
	size_t len = (size_t)c->hdr[1] << 16 | c->hdr[2] << 8 | c->hdr[3];
	int tls13 = session_version(s) == KTLS_TLS13;

	int client = session_role(s) == KTLS_CLIENT;

	switch (c->hdr[0]) {
	case HS_NEW_SESSION_TICKET:
		/* In TLS 1.2 tickets come within the handshake only. */
		if (!tls13 || !client)
			break;
		if (len > CTL_MAX_HS)
			return record_fail(s, KTLS_ALERT_DECODE_ERROR, -EPROTO);
		c->skip = len;
		/* Kept whole for GnuTLS; without memory it is skipped. */
		if (session_wants_tickets(s)) {
			c->msg = malloc(sizeof(c->hdr) + len);
			if (c->msg) {
				memcpy(c->msg, c->hdr, sizeof(c->hdr));
				c->msg_len = sizeof(c->hdr);
			}
		}
		return MORE;
	case HS_KEY_UPDATE:
		if (!tls13)
			break;
		if (len != 1)
			return record_fail(s, KTLS_ALERT_DECODE_ERROR, -EPROTO);
		/*
		 * Before 6.14 the kernel cannot take the peer's new key. The
		 * peer did nothing wrong: internal_error says so, where
		 * unexpected_message would blame it. Nothing after this
		 * message is read.
		 */
		if (!session_can_rekey(s))
			return record_fail(s, KTLS_ALERT_INTERNAL_ERROR, -KTLS_E_REKEY);
		c->skip = 1;
		c->key_update = 1;
		return MORE;
	case HS_HELLO_REQUEST:
	case HS_CLIENT_HELLO:
		/*
		 * TLS 1.2 renegotiation: refuse politely and carry on
		 * (RFC 5246, 7.2.2); the peer decides whether to continue.
		 */
		if (tls13 || client != (c->hdr[0] == HS_HELLO_REQUEST))
			break;
		if (c->hdr[0] == HS_HELLO_REQUEST ? len != 0 : len > CTL_MAX_HS)
			return record_fail(s, KTLS_ALERT_DECODE_ERROR, -EPROTO);
		c->skip = len;
		ktls_send_alert(s, KTLS_ALERT_LEVEL_WARNING, KTLS_ALERT_NO_RENEGOTIATION);
		return MORE;
	}
	return record_fail(s, KTLS_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
}

/*
 * The peer's KeyUpdate, read whole: its next records use the next secret,
 * so the kernel must have that key before we read on. If the peer asked,
 * ours goes out too, before any more data of ours.
 */
static ssize_t on_key_update(struct ktls_session *s, int request)
{
	int ret;

	if (request > 1)
		return record_fail(s, KTLS_ALERT_ILLEGAL_PARAMETER, -EPROTO);
	ret = session_rekey(s, 1);
	if (ret)
		return record_fail(s, KTLS_ALERT_INTERNAL_ERROR, -KTLS_E_REKEY);
	/* Our side may have closed: then there is nothing to update. */
	if (request && can_send(session_fd(s)) > 0) {
		ret = send_key_update(s, 0);
		if (ret)
			return record_fail(s, KTLS_ALERT_INTERNAL_ERROR, -KTLS_E_REKEY);
	}
	return MORE;
}

/*
 * A whole TLS 1.3 ticket, for a client that wants resumption data. One
 * GnuTLS cannot read is the peer's fault (decode_error); without memory
 * the ticket is dropped, and the data goes on.
 */
static ssize_t on_ticket(struct ktls_session *s, const unsigned char *msg,
			 size_t len)
{
	int ret = session_take_ticket(s, msg, len);

	if (ret == -EPROTO)
		return record_fail(s, KTLS_ALERT_DECODE_ERROR, -EPROTO);
	return MORE;
}

/* Feed n bytes of one control record; MORE, or what ktls_recv returns. */
static ssize_t ctl_feed(struct ktls_session *s, struct ctl *c,
			unsigned char type, const unsigned char *p, size_t n,
			int *alert)
{
	size_t hlen = type == REC_ALERT ? 2 : 4, take;
	ssize_t ret;

	while (n) {
		c->type = type;
		if (c->got < hlen) {
			take = hlen - c->got < n ? hlen - c->got : n;
			memcpy(c->hdr + c->got, p, take);
			c->got += take;
			if (c->got == hlen) {
				ret = type == REC_ALERT ? on_alert(s, c->hdr, alert)
							: on_handshake(s, c);
				if (ret != MORE)
					return ret;
			}
		} else {
			take = c->skip < n ? c->skip : n;
			if (c->key_update)
				c->request = p[0];
			if (c->msg) {
				memcpy(c->msg + c->msg_len, p, take);
				c->msg_len += take;
			}
			c->skip -= take;
		}
		p += take;
		n -= take;
		if (c->got == hlen && !c->skip) {
			int key_update = c->key_update, request = c->request;

			ret = c->msg ? on_ticket(s, c->msg, c->msg_len) : MORE;
			ctl_reset(c);
			if (ret != MORE)
				return ret;
			if (key_update) {
				ret = on_key_update(s, request);
				if (ret != MORE)
					return ret;
			}
		}
	}
	return MORE;
}

/* Bytes that complete the message in progress (the header first). */
static size_t ctl_need(const struct ctl *c)
{
	size_t hlen = c->type == REC_ALERT ? 2 : 4;

	return c->got < hlen ? hlen - c->got : c->skip;
}

static ssize_t recv_loop(struct ktls_session *s, void *buf, size_t len,
			 int flags, int *alert, struct ctl *c)
{
	unsigned char tmp[CTL_CHUNK], type;
	int64_t deadline = 0;
	const void *p;
	ssize_t n, ret;
	int msgs = 0;

	for (;;) {
		if (!c->type) {
			n = recv_record(session_fd(s), buf, len, flags, &type);
			if (n < 0)
				return recv_error(s, n);
			/*
			 * Without a type the bytes are data (or n == 0: end of
			 * stream): the kernel fails a read with EIO rather than
			 * hand out another record type without its cmsg.
			 */
			if (!type || (type == REC_DATA && n > 0))
				return n;
			if (++msgs > CTL_MAX)
				return record_fail(s, KTLS_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
			p = buf;
		} else {
			size_t want = ctl_need(c);

			n = recv_rest(s, tmp, want < sizeof(tmp) ? want : sizeof(tmp),
				      &type, &deadline);
			if (n < 0)
				return n;
			if (!n && !type)	/* the stream ended within a message */
				return -ECONNRESET;
			/* Handshake messages may not be interleaved (5.1). */
			if (type != c->type)
				return record_fail(s, KTLS_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
			p = tmp;
		}
		if (type == REC_DATA)	/* an empty record: allowed, skipped */
			continue;
		/* Empty alert or handshake records are not (RFC 8446, 5.1). */
		if ((type != REC_ALERT && type != REC_HANDSHAKE) || !n)
			return record_fail(s, KTLS_ALERT_UNEXPECTED_MESSAGE, -EPROTO);
		ret = ctl_feed(s, c, type, p, n, alert);
		if (ret != MORE)
			return ret;
	}
}

KTLS_EXPORT ssize_t ktls_recv(struct ktls_session *s, void *buf, size_t len,
			      int flags, int *alert)
{
	struct ctl c = { 0 };
	ssize_t ret;

	if (session_fd(s) < 0 || !buf || !len ||
	    (flags & ~(MSG_DONTWAIT | MSG_WAITALL)))
		return -EINVAL;
	if (session_rx_end(s)->err)
		return session_rx_end(s)->err;
	if (session_rx_end(s)->eof)
		return 0;
	ret = recv_loop(s, buf, len, flags, alert, &c);
	ctl_reset(&c);	/* a ticket cut short by an error */
	return ret;
}
