// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-socket kTLS state, as the kernel reports it through sock_diag: the
 * "tls" ULP's TLS_INFO_TXCONF / TLS_INFO_RXCONF say whether each direction
 * is off, done in software or offloaded to the NIC. Nothing else tells SW
 * from HW: getsockopt(SOL_TLS) returns the keys, not where they live.
 *
 * Before Linux 6.15 the kernel sends the whole ULP block (name and TLS
 * details) only to requesters with CAP_NET_ADMIN; from 6.15 on, the TLS
 * part goes to everyone. Without it we return -EPERM rather than guess.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define SOCKINFO_SEQ 0x6b746c73 /* any value; checked in the reply */

/* What we found in the reply; conf values are TLS_CONF_*, 0 if absent. */
struct sockinfo_tls {
	int ulp_seen; /* INET_DIAG_ULP_INFO present */
	int is_tls;   /* ... and its name is "tls" */
	int tls_seen; /* INET_ULP_INFO_TLS present */
	unsigned txconf, rxconf;
	unsigned version, cipher; /* TLS_INFO_VERSION, _CIPHER */
	int zc_tx, rx_no_pad;	  /* the flags TLS_INFO_ZC_RO_TX, _RX_NO_PAD */
};

/* Walk the attributes in [buf, buf + len); calls fn for each. */
static int sockinfo_attrs(const void *buf, size_t len, int (*fn)(const struct nlattr *, void *),
			  void *arg)
{
	const unsigned char *p = buf;
	int err;

	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return -EPROTO;
		err = fn(a, arg);
		if (err)
			return err;
		step = NLA_ALIGN(a->nla_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

static const void *nla_payload(const struct nlattr *a)
{
	return (const unsigned char *)a + NLA_HDRLEN;
}

static size_t nla_payload_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static int sockinfo_tls_attr(const struct nlattr *a, void *arg)
{
	struct sockinfo_tls *t = arg;
	uint16_t v;

	switch (a->nla_type & NLA_TYPE_MASK) {
	case TLS_INFO_ZC_RO_TX:
		t->zc_tx = 1;
		return 0;
	case TLS_INFO_RX_NO_PAD:
		t->rx_no_pad = 1;
		return 0;
	case TLS_INFO_VERSION:
	case TLS_INFO_CIPHER:
	case TLS_INFO_TXCONF:
	case TLS_INFO_RXCONF:
		break;
	default:
		return 0;
	}
	if (nla_payload_len(a) < sizeof(v))
		return -EPROTO;
	memcpy(&v, nla_payload(a), sizeof(v));
	switch (a->nla_type & NLA_TYPE_MASK) {
	case TLS_INFO_VERSION:
		t->version = v;
		break;
	case TLS_INFO_CIPHER:
		t->cipher = v;
		break;
	case TLS_INFO_TXCONF:
		t->txconf = v;
		break;
	default:
		t->rxconf = v;
	}
	return 0;
}

static int sockinfo_ulp_attr(const struct nlattr *a, void *arg)
{
	struct sockinfo_tls *t = arg;
	const char *name = nla_payload(a);
	size_t len = nla_payload_len(a);

	switch (a->nla_type & NLA_TYPE_MASK) {
	case INET_ULP_INFO_NAME:
		t->is_tls = len >= sizeof("tls") && !memcmp(name, "tls", 4);
		break;
	case INET_ULP_INFO_TLS:
		t->tls_seen = 1;
		return sockinfo_attrs(nla_payload(a), len, sockinfo_tls_attr, t);
	}
	return 0;
}

static int sockinfo_diag_attr(const struct nlattr *a, void *arg)
{
	struct sockinfo_tls *t = arg;

	if ((a->nla_type & NLA_TYPE_MASK) != INET_DIAG_ULP_INFO)
		return 0;
	t->ulp_seen = 1;
	return sockinfo_attrs(nla_payload(a), nla_payload_len(a), sockinfo_ulp_attr, t);
}

/* A request for the socket named by id, with the ULP's details. */
static void sockinfo_request_id(int family, const struct inet_diag_sockid *id,
				struct inet_diag_req_v2 *req)
{
	memset(req, 0, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	/* The ULP's attributes ride along with INET_DIAG_INFO only. */
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	req->idiag_states = ~0u;
	req->id = *id;
}

/* The sock_diag request that names exactly this socket. */
static int sockinfo_request(int fd, int family, struct inet_diag_req_v2 *req)
{
	struct sockaddr_storage local, peer;
	socklen_t llen = sizeof(local), plen = sizeof(peer);
	uint64_t cookie;
	socklen_t clen = sizeof(cookie);

	if (getsockname(fd, (struct sockaddr *)&local, &llen) ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen))
		return -errno;
	if (!family)		/* the caller knows it is TCP, not over what */
		family = local.ss_family;
	if ((family != AF_INET && family != AF_INET6) ||
	    local.ss_family != family || peer.ss_family != family)
		return -EINVAL;

	memset(req, 0, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = IPPROTO_TCP;
	/* The ULP's attributes ride along with INET_DIAG_INFO only. */
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	req->idiag_states = ~0u;
	if (family == AF_INET) {
		const struct sockaddr_in *l = (struct sockaddr_in *)&local;
		const struct sockaddr_in *p = (struct sockaddr_in *)&peer;

		req->id.idiag_sport = l->sin_port;
		req->id.idiag_dport = p->sin_port;
		memcpy(req->id.idiag_src, &l->sin_addr, sizeof(l->sin_addr));
		memcpy(req->id.idiag_dst, &p->sin_addr, sizeof(p->sin_addr));
	} else {
		const struct sockaddr_in6 *l = (struct sockaddr_in6 *)&local;
		const struct sockaddr_in6 *p = (struct sockaddr_in6 *)&peer;

		req->id.idiag_sport = l->sin6_port;
		req->id.idiag_dport = p->sin6_port;
		memcpy(req->id.idiag_src, &l->sin6_addr, sizeof(l->sin6_addr));
		memcpy(req->id.idiag_dst, &p->sin6_addr, sizeof(p->sin6_addr));
		req->id.idiag_if = p->sin6_scope_id;
	}
	/* The cookie makes sure that we get this socket and no other. */
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &clen) || clen != sizeof(cookie)) {
		req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
		req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	} else {
		req->id.idiag_cookie[0] = (uint32_t)cookie;
		req->id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	}
	return 0;
}

/* One sock_diag request for TCP sockets (flags: NLM_F_DUMP or 0) on nl. */
static int sockinfo_send(int nl, const struct inet_diag_req_v2 *req, unsigned flags,
			 unsigned seq)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} msg;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	memset(&msg, 0, sizeof(msg));
	msg.nh.nlmsg_len = sizeof(msg);
	msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nh.nlmsg_flags = NLM_F_REQUEST | flags;
	msg.nh.nlmsg_seq = seq;
	msg.req = *req;
	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) !=
	    (ssize_t)sizeof(msg))
		return -errno;
	return 0;
}

/* The error an NLMSG_ERROR message carries, or -EPROTO. */
static int sockinfo_nl_error(const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EPROTO;
	return e->error < 0 ? e->error : -EPROTO;
}

/* Parse the kernel's one reply (in buf, len bytes) into t. */
static int sockinfo_reply(const void *buf, size_t len, const struct inet_diag_req_v2 *req,
			  struct sockinfo_tls *t)
{
	const struct nlmsghdr *nh = buf;
	const struct inet_diag_msg *msg;
	size_t hdr = NLMSG_LENGTH(sizeof(*msg));

	if (len < sizeof(*nh) || nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > len ||
	    nh->nlmsg_seq != SOCKINFO_SEQ)
		return -EPROTO;
	if (nh->nlmsg_type == NLMSG_ERROR)
		return sockinfo_nl_error(nh);
	if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY || nh->nlmsg_len < hdr)
		return -EPROTO;
	msg = NLMSG_DATA(nh);
	if (msg->id.idiag_sport != req->id.idiag_sport ||
	    msg->id.idiag_dport != req->id.idiag_dport)
		return -EPROTO;
	if (nh->nlmsg_len <= NLMSG_ALIGN(hdr))
		return 0;
	return sockinfo_attrs((const unsigned char *)buf + NLMSG_ALIGN(hdr),
			      nh->nlmsg_len - NLMSG_ALIGN(hdr), sockinfo_diag_attr, t);
}

/*
 * Ask sock_diag what req names, on nl (a NETLINK_SOCK_DIAG socket, or -1
 * for one of its own); fills t. 0 or -errno.
 */
static int sockinfo_ask(const struct inet_diag_req_v2 *req, int nl,
			struct sockinfo_tls *t)
{
	/* TCP_INFO, meminfo, congestion control and the ULP: a few hundred
	 * bytes today; room for what later kernels add. */
	long buf[8192 / sizeof(long)];
	ssize_t n;
	int own = nl < 0, err;

	if (own)
		nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	err = sockinfo_send(nl, req, 0, SOCKINFO_SEQ);
	if (err)
		goto out;
	do
		n = recv(nl, buf, sizeof(buf), MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	if ((size_t)n > sizeof(buf)) {
		err = -EMSGSIZE;
		goto out;
	}
	err = sockinfo_reply(buf, n, req, t);
out:
	if (own)
		close(nl);
	return err;
}

/* Ask sock_diag about fd (family 0: read from fd) on nl, or -1; fills t. */
static int sockinfo_query(int fd, int family, int nl, struct sockinfo_tls *t)
{
	struct inet_diag_req_v2 req;
	int err = sockinfo_request(fd, family, &req);

	return err ? err : sockinfo_ask(&req, nl, t);
}

int sockinfo_sockid(int fd, int *family, struct inet_diag_sockid *id)
{
	struct inet_diag_req_v2 req;
	socklen_t len = sizeof(*family);
	int err;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, family, &len))
		return -errno;
	if (*family != AF_INET && *family != AF_INET6)
		return -EINVAL;
	err = sockinfo_request(fd, *family, &req);
	if (!err)
		*id = req.id;
	return err;
}

static int sockinfo_mode(unsigned conf, enum ktls_offload *mode)
{
	switch (conf) {
	case TLS_CONF_BASE:
		*mode = KTLS_OFFLOAD_NONE;
		return 0;
	case TLS_CONF_SW:
		*mode = KTLS_OFFLOAD_SW;
		return 0;
	case TLS_CONF_HW:
	case TLS_CONF_HW_RECORD:
		*mode = KTLS_OFFLOAD_HW;
		return 0;
	}
	return -EPROTO;
}

/*
 * How the kernel runs each direction of fd's TLS. A TCP socket without
 * the "tls" ULP gives NONE for both. Returns 0, or -errno: -EINVAL when
 * fd is not a TCP socket over IPv4/IPv6, -ENOTSOCK / -EBADF from the
 * kernel, -EPERM when the kernel withholds the details (before 6.15,
 * without CAP_NET_ADMIN), -EPROTO on a reply we cannot read.
 */
int sockinfo_offload(int fd, enum ktls_offload *tx, enum ktls_offload *rx)
{
	char ulp[16] = "";
	socklen_t len = sizeof(int);
	int family, proto;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len))
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len))
		return -errno;
	if ((family != AF_INET && family != AF_INET6) || proto != IPPROTO_TCP)
		return -EINVAL;

	/* Cheap and unprivileged: most sockets end here. */
	len = sizeof(ulp) - 1;
	if (getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &len))
		return -errno;
	ulp[len < sizeof(ulp) ? len : sizeof(ulp) - 1] = '\0';
	if (strcmp(ulp, "tls")) {
		*tx = *rx = KTLS_OFFLOAD_NONE;
		return 0;
	}

	return sockinfo_tls_modes(fd, family, -1, tx, rx);
}

int sockinfo_tls_modes(int fd, int family, int nl, enum ktls_offload *tx,
		       enum ktls_offload *rx)
{
	struct sockinfo_tls t = {0};
	int err = sockinfo_query(fd, family, nl, &t);

	if (err)
		return err;
	/* The ULP is "tls": a missing block means the kernel withheld it. */
	if (!t.ulp_seen || (t.is_tls && !t.tls_seen))
		return -EPERM;
	if (!t.is_tls)
		return -EPROTO;
	err = sockinfo_mode(t.txconf, tx);
	if (!err)
		err = sockinfo_mode(t.rxconf, rx);
	return err;
}

int sockinfo_offload_id(int family, const struct inet_diag_sockid *id,
			enum ktls_offload *tx, enum ktls_offload *rx)
{
	struct inet_diag_req_v2 req;
	struct sockinfo_tls t = {0};
	int err;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	sockinfo_request_id(family, id, &req);
	err = sockinfo_ask(&req, -1, &t);
	if (err)
		return err;
	if (!t.ulp_seen) {
		/* Asked with CAP_NET_ADMIN: no ULP block is no ULP. */
		*tx = *rx = KTLS_OFFLOAD_NONE;
		return 0;
	}
	if (!t.is_tls)
		return -EPROTO;
	if (!t.tls_seen)
		return -EPERM;
	err = sockinfo_mode(t.txconf, tx);
	return err ? err : sockinfo_mode(t.rxconf, rx);
}

int sockinfo_tcp_established(int fd, const char **msg)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int ret = 0;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		ret = -errno;
	else if (ti.tcpi_state != TCP_ESTABLISHED)
		ret = -ENOTCONN;
	if (ret && msg)
		*msg = "The TCP connection is not established.";
	return ret;
}

int sockinfo_peer_address(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
	const void *addr;
	int af;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return -errno;
	if (ss.ss_family == AF_INET) {
		af = AF_INET;
		addr = &((const struct sockaddr_in *)&ss)->sin_addr;
	} else if (ss.ss_family == AF_INET6 &&
		   IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		af = AF_INET;
		addr = &in6->sin6_addr.s6_addr[12];
	} else if (ss.ss_family == AF_INET6) {
		af = AF_INET6;
		addr = &in6->sin6_addr;
	} else {
		return -EAFNOSUPPORT;
	}
	return inet_ntop(af, addr, buf, len) ? 0 : -errno;
}

/* ---- Every TLS socket of the network namespace (ktlsctl status) ---- */

#define SOCKINFO_DUMP_SEQ (SOCKINFO_SEQ + 1)

/* One inet_diag_msg of a dump into a tls_sock; 1 if it is a TLS socket. */
static int sockinfo_dump_one(const struct nlmsghdr *nh, int family, struct tls_sock *ts)
{
	const struct inet_diag_msg *msg = NLMSG_DATA(nh);
	size_t hdr = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(*msg)));
	struct sockinfo_tls t = {0};

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*msg)))
		return -EPROTO;
	if (nh->nlmsg_len > hdr &&
	    sockinfo_attrs((const unsigned char *)nh + hdr, nh->nlmsg_len - hdr,
			   sockinfo_diag_attr, &t))
		return -EPROTO;
	if (t.ulp_seen && !t.is_tls)
		return 0;
	memset(ts, 0, sizeof(*ts));
	ts->family = family;
	memcpy(ts->src, msg->id.idiag_src, sizeof(ts->src));
	memcpy(ts->dst, msg->id.idiag_dst, sizeof(ts->dst));
	ts->sport = ntohs(msg->id.idiag_sport);
	ts->dport = ntohs(msg->id.idiag_dport);
	ts->state = msg->idiag_state;
	ts->uid = msg->idiag_uid;
	ts->inode = msg->idiag_inode;
	/* No ULP block at all: either none, or the kernel withheld it. */
	ts->details = t.ulp_seen && t.tls_seen;
	ts->version = t.version;
	ts->cipher = t.cipher;
	ts->txconf = t.txconf;
	ts->rxconf = t.rxconf;
	ts->zc_sendfile = t.zc_tx;
	ts->rx_no_pad = t.rx_no_pad;
	return t.ulp_seen;
}

/* Send the dump request for family on nl. */
static int sockinfo_dump_request(int nl, int family)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_ext = 1 << (INET_DIAG_INFO - 1),
		/* A listener cannot take a ULP. */
		.idiag_states = ~0u & ~(1u << TCP_LISTEN),
	};

	return sockinfo_send(nl, &req, NLM_F_DUMP, SOCKINFO_DUMP_SEQ);
}

/* The messages of one recv(): 1 when the dump is done, 0 for more, or -errno. */
static int sockinfo_dump_part(const void *buf, size_t len, int family, tls_sock_fn fn,
			      void *arg)
{
	const struct nlmsghdr *nh;
	struct tls_sock ts;
	int ret;

	for (nh = buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
		if (nh->nlmsg_seq != SOCKINFO_DUMP_SEQ)
			return -EPROTO;
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR)
			return sockinfo_nl_error(nh);
		if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		ret = sockinfo_dump_one(nh, family, &ts);
		if (ret <= 0) {
			if (ret < 0)
				return ret;
			continue;
		}
		ret = fn(&ts, arg);
		if (ret)
			return ret;
	}
	return 0;
}

static int sockinfo_dump_family(int family, tls_sock_fn fn, void *arg)
{
	long buf[32768 / sizeof(long)];
	ssize_t n;
	int nl, ret;

	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	ret = sockinfo_dump_request(nl, family);
	while (!ret) {
		n = recv(nl, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EPROTO;
			break;
		}
		ret = sockinfo_dump_part(buf, n, family, fn, arg);
	}
	close(nl);
	return ret < 0 ? ret : ret == 1 ? 0 : ret;
}

int sockinfo_tls_sockets(tls_sock_fn fn, void *arg)
{
	int ret;

	ret = sockinfo_dump_family(AF_INET, fn, arg);
	if (!ret)
		ret = sockinfo_dump_family(AF_INET6, fn, arg);
	return ret;
}

/* A connected loopback pair (fds[0] connected, fds[1] accepted); 0 or -errno. */
static int sockinfo_pair(int fds[2])
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int l, ret = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = fds[1] = -1;
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		ret = -errno;
	if (!ret && (fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		ret = -errno;
	if (!ret && connect(fds[0], (struct sockaddr *)&sa, sizeof(sa)))
		ret = -errno;
	if (!ret && (fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		ret = -errno;
	close(l);
	return ret;
}

/* Close at once, with a RST: no FIN_WAIT socket left behind in a dump. */
static void sockinfo_close_now(int fd)
{
	struct linger lg = {1, 0};

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Whether the tls module is loaded: asking for the ULP would load it. */
static int sockinfo_tls_loaded(void)
{
	char buf[256] = "", *w, *save = NULL;
	int fd = open("/proc/sys/net/ipv4/tcp_available_ulp", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 1;	/* cannot tell: try */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		if (!strcmp(w, "tls"))
			return 1;
	return 0;
}

int sockinfo_tls_visible(void)
{
	enum ktls_offload tx, rx;
	int fds[2], ret;

	if (!sockinfo_tls_loaded())
		return -ENOENT;
	ret = sockinfo_pair(fds);
	if (!ret && setsockopt(fds[0], IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		ret = -errno;
	if (!ret)
		ret = sockinfo_offload(fds[0], &tx, &rx);
	sockinfo_close_now(fds[0]);
	sockinfo_close_now(fds[1]);
	if (ret == -EPERM)
		return 0;
	return ret ? ret : 1;
}
