// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Front door 2: the kernel's TLS handshake upcall (Linux 6.5+), the
 * netlink protocol tlshd speaks. NFS and NVMe ask the kernel for a
 * handshake on their socket; the kernel multicasts READY to the "tlshd"
 * group; the agent answers with ACCEPT and gets the socket as a new fd of
 * its own with the request's parameters; it runs the handshake, installs
 * kTLS and reports with DONE, naming the fd. DONE is sent on every path
 * once an fd was accepted: the consumer waits for it (or for its timeout).
 *
 * The multicast socket is polled by one worker like any listener; ACCEPT
 * and DONE are request/reply exchanges with the kernel on a second socket,
 * local and quick, made under a lock because DONE comes from whichever
 * worker ran the handshake. The handshake itself is an ordinary job.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <linux/netlink.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "daemon.h"
#include "handshake_nl.h"
#include "upcall.h"

/* ACCEPTs per wake-up at most: others wait for the next poll. */
#define ACCEPT_BATCH	64

struct upcall {
	struct ev ev;			/* the multicast socket */
	struct ktlsd *d;
	struct nl_sock *mc;
	pthread_mutex_t lock;		/* cmd, for ACCEPT and DONE */
	struct nl_sock *cmd;
	int family, group;
	int remote_auth;		/* the kernel takes DONE_REMOTE_AUTH */
	unsigned ready;			/* READYs in the batch being read */
	unsigned ahead;			/* requests taken before their READY */
	uint64_t next_id;
	int warned_missed;
	int warned_attr;		/* an ACCEPT attribute we do not know */
};

static const char *type_name(int type)
{
	return type == HANDSHAKE_MSG_TYPE_CLIENTHELLO ? "client" :
	       type == HANDSHAKE_MSG_TYPE_SERVERHELLO ? "server" : "unknown";
}

static const char *auth_name(int auth)
{
	return auth == HANDSHAKE_AUTH_UNAUTH ? "unauthenticated" :
	       auth == HANDSHAKE_AUTH_PSK ? "psk" :
	       auth == HANDSHAKE_AUTH_X509 ? "x509" : "unspecified";
}

/* ---- Request and reply on the command socket ---- */

struct xact {
	int done, err;
	void (*parse)(struct nlattr *head, int len, void *arg);
	void *arg;
};

static int xact_valid(struct nl_msg *msg, void *arg)
{
	struct xact *x = arg;
	struct nlmsghdr *nh = nlmsg_hdr(msg);
	struct genlmsghdr *gh;

	if (!x->parse || !genlmsg_valid_hdr(nh, 0))
		return NL_SKIP;
	gh = nlmsg_data(nh);
	x->parse(genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), x->arg);
	x->parse = NULL;	/* one reply per request */
	return NL_OK;
}

static int xact_ack(struct nl_msg *msg, void *arg)
{
	struct xact *x = arg;

	(void)msg;
	x->done = 1;
	return NL_STOP;
}

static int xact_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct xact *x = arg;

	(void)nla;
	x->err = e->error;
	x->done = 1;
	return NL_STOP;
}

static struct nl_sock *open_sock(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	if (!sk)
		return NULL;
	if (genl_connect(sk)) {
		nl_socket_free(sk);
		return NULL;
	}
	fd = nl_socket_get_fd(sk);
	/* Close-on-exec whatever libnl did; a stuck kernel cannot hang us. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return sk;
}

/* Under u->lock: send msg, read its reply (if any) and ack. 0 or -errno. */
static int transact(struct upcall *u, struct nl_msg *msg, struct xact *x)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, xact_valid, x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, xact_ack, x);
	nl_cb_err(cb, NL_CB_CUSTOM, xact_err, x);
	ret = nl_send_auto(u->cmd, msg);
	while (ret >= 0 && !x->done) {
		ret = nl_recvmsgs(u->cmd, cb);
		if (x->done)
			ret = 0;
	}
	nl_cb_put(cb);
	if (ret < 0) {
		/* Out of step with the kernel: start over on a new socket. */
		struct nl_sock *fresh = open_sock();

		log_warn("upcall: netlink exchange failed: %s", nl_geterror(ret));
		if (fresh) {
			nl_socket_free(u->cmd);
			u->cmd = fresh;
		}
		return -EIO;
	}
	return x->err;
}

static struct nl_msg *new_msg(struct upcall *u, int cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, u->family, 0,
				0, cmd, HANDSHAKE_FAMILY_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/*
 * Send msg, unless putting its attributes failed (put_err), and read its
 * reply and ack under u->lock; msg is freed. 0 or -errno.
 */
static int request(struct upcall *u, struct nl_msg *msg, int put_err,
		   struct xact *x)
{
	int ret = -EMSGSIZE;

	if (!put_err) {
		pthread_mutex_lock(&u->lock);
		ret = transact(u, msg, x);
		pthread_mutex_unlock(&u->lock);
	}
	nlmsg_free(msg);
	return ret;
}

/* DONE for the socket fd: status 0 or a positive errno. 0 or -errno. */
static int send_done(struct upcall *u, int fd, int status,
		     const int32_t *remote, unsigned n)
{
	struct nl_msg *msg = new_msg(u, HANDSHAKE_CMD_DONE);
	struct xact x = { 0 };
	unsigned i;
	int ret;

	if (!msg)
		return -ENOMEM;
	ret = nla_put_u32(msg, HANDSHAKE_A_DONE_STATUS, status) ||
	      nla_put_u32(msg, HANDSHAKE_A_DONE_SOCKFD, fd);
	for (i = 0; !ret && u->remote_auth && i < n; i++)
		ret = nla_put_u32(msg, HANDSHAKE_A_DONE_REMOTE_AUTH, remote[i]);
	return request(u, msg, ret, &x);
}

/* ---- ACCEPT: the request's parameters ---- */

static int get_u32(const struct nlattr *a, uint32_t *v)
{
	if (nla_len(a) < (int)sizeof(uint32_t))
		return -EINVAL;
	*v = nla_get_u32((struct nlattr *)a);
	return 0;
}

static void parse_certificate(struct upreq *r, struct nlattr *nest)
{
	struct nlattr *a;
	uint32_t v;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		if (get_u32(a, &v))
			continue;
		if (nla_type(a) == HANDSHAKE_A_X509_CERT)
			r->cert = v;
		else if (nla_type(a) == HANDSHAKE_A_X509_PRIVKEY)
			r->privkey = v;
	}
}

static void parse_accept(struct nlattr *head, int len, void *arg)
{
	struct upreq *r = arg;
	struct nlattr *a;
	uint32_t v;
	int rem, n;

	nla_for_each_attr(a, head, len, rem) {
		switch (nla_type(a)) {
		case HANDSHAKE_A_ACCEPT_SOCKFD:
			if (!get_u32(a, &v) && v <= INT_MAX)
				r->sockfd = v;
			break;
		case HANDSHAKE_A_ACCEPT_MESSAGE_TYPE:
			if (!get_u32(a, &v))
				r->type = v;
			break;
		case HANDSHAKE_A_ACCEPT_TIMEOUT:
			if (!get_u32(a, &v))
				r->timeout_ms = v;
			break;
		case HANDSHAKE_A_ACCEPT_AUTH_MODE:
			if (!get_u32(a, &v))
				r->auth = v;
			break;
		case HANDSHAKE_A_ACCEPT_PEER_IDENTITY:
			/* The kernel sends up to five; all are kept. */
			if (!get_u32(a, &v) && r->n_peerids < UPCALL_MAX_IDS)
				r->peerids[r->n_peerids++] = v;
			break;
		case HANDSHAKE_A_ACCEPT_CERTIFICATE:
			parse_certificate(r, a);
			break;
		case HANDSHAKE_A_ACCEPT_PEERNAME:
			n = nla_len(a);
			/* A C string within the attribute, or nothing. */
			if (n > 1 && (size_t)n <= sizeof(r->peername) &&
			    memchr(nla_data(a), 0, n)) {
				memcpy(r->peername, nla_data(a), n);
				if (strlen(r->peername) != strcspn(r->peername,
							" \t\r\n/\\"))
					r->peername[0] = 0;
			}
			break;
		case HANDSHAKE_A_ACCEPT_KEYRING:
			if (!get_u32(a, &v))
				r->keyring = v;
			break;
		default:
			r->unknown_attr = nla_type(a);
			break;
		}
	}
}

/* xact_valid() with an ACCEPT reply, for tests/fuzz/upcall_accept.c. */
void upcall_parse_accept(struct nl_msg *msg, struct upreq *r)
{
	struct xact x = { .parse = parse_accept, .arg = r };

	xact_valid(msg, &x);
}

/* One ACCEPT: 0 with r filled (r->sockfd may still be -1), or -errno. */
static int do_accept(struct upcall *u, struct upreq *r)
{
	struct nl_msg *msg = new_msg(u, HANDSHAKE_CMD_ACCEPT);
	struct xact x = { .parse = parse_accept, .arg = r };

	if (!msg)
		return -ENOMEM;
	return request(u, msg, nla_put_u32(msg, HANDSHAKE_A_ACCEPT_HANDLER_CLASS,
					   HANDSHAKE_HANDLER_CLASS_TLSHD), &x);
}

/* ---- Requests ---- */

static void describe_peer(int fd, char *buf, size_t len)
{
	if (sockinfo_peer_address(fd, buf, len))
		snprintf(buf, len, "?");
}

void upcall_verify_name(const char *peername, const struct profile *p,
			int fd, char *buf, size_t len)
{
	if (peername && peername[0])
		snprintf(buf, len, "%s", peername);
	else if (p->server_name)
		snprintf(buf, len, "%s", p->server_name);
	else
		describe_peer(fd, buf, len);
}

/* Refuse a request before it became a job; DONE goes out at once. */
static void fail_now(struct upcall *u, struct upreq *r, int status,
		     const char *msg, int count)
{
	char peer[INET6_ADDRSTRLEN];
	int ret;

	describe_peer(r->sockfd, peer, sizeof(peer));
	log_info("upcall: %s %s handshake with %s refused: %s (DONE status %d)",
		 type_name(r->type), auth_name(r->auth), peer, msg, status);
	ret = send_done(u, r->sockfd, status, NULL, 0);
	if (ret) {
		atomic_fetch_add(&u->d->stats->front[FRONT_UPCALL].reply_failed, 1);
		log_warn("upcall: DONE for %s failed: %s", peer, strerror(-ret));
	}
	if (count) {
		stats_accepted(u->d->stats, FRONT_UPCALL);
		stats_finished(u->d->stats, FRONT_UPCALL, -status, 0);
	}
	close(r->sockfd);
	free(r);
}

static void upcall_done(struct job *j, int status, const char *msg,
			const struct ktls_session *s)
{
	struct upreq *r = (struct upreq *)j;
	struct upcall *u = r->u;
	int32_t ids[UPCALL_MAX_IDS] = { 0 };
	unsigned n = 0;
	int st = upcall_status(r, status, s), ret;

	(void)msg;	/* job_finish() logged it */
	if (!st)
		n = upcall_remote_ids(r, s, ids);
	ret = send_done(u, r->sockfd, st, ids, n);
	if (ret) {
		atomic_fetch_add(&u->d->stats->front[FRONT_UPCALL].reply_failed, 1);
		log_warn("upcall: DONE for %s failed: %s%s", j->peer,
			 strerror(-ret), ret == -EBUSY ? " (the kernel gave up "
			 "on the request first)" : "");
	}
	log_info("upcall: %s %s handshake %s %s: DONE status %d%s%s%s%s%s",
		 type_name(r->type), auth_name(r->auth),
		 r->type == HANDSHAKE_MSG_TYPE_CLIENTHELLO ? "to" : "from",
		 j->peer, st, st ? " " : "", st ? strerror(st) : "",
		 j->server_name[0] ? " (the name checked: '" : "",
		 j->server_name, j->server_name[0] ? "')" : "");
	close(r->sockfd);
}

static int upcall_gone(struct job *j)
{
	(void)j;	/* the kernel cancels by timing out; so do we */
	return 0;
}

static const struct job_ops upcall_ops = {
	.done = upcall_done,
	.gone = upcall_gone,
	.retry = upcall_retry,
};

/* What upcall_creds() gave a request that did not become a job. */
static void drop_creds(struct job *j)
{
	conf_put(j->conf);
	profile_free(j->own);
	free(j->own);
	j->conf = NULL;
	j->own = NULL;
}

static void start(struct upcall *u, struct upreq *r)
{
	const char *msg = "";
	struct job *j = &r->j;
	int ret;

	if (r->unknown_attr && !u->warned_attr++)
		log_info("upcall: the kernel sent ACCEPT attribute %d, which "
			 "this ktlsd does not know (a newer kernel); it is "
			 "ignored", r->unknown_attr);
	ret = upcall_precheck(r, &msg);
	if (!ret)
		ret = upcall_creds(ktlsd_conf(u->d), r, &msg);
	if (ret) {
		fail_now(u, r, ret, msg, 1);
		return;
	}
	upcall_job_setup(r);
	j->ops = &upcall_ops;
	j->owner = u;
	j->id = ++u->next_id;
	/* The job's copy is closed by the loop; ours stays for DONE. */
	j->ev.fd = fcntl(r->sockfd, F_DUPFD_CLOEXEC, 3);
	if (j->ev.fd < 0) {
		drop_creds(j);
		fail_now(u, r, EIO, "out of descriptors", 1);
		return;
	}
	log_debug("upcall: %s %s handshake, peer name '%s', timeout %u ms, "
		  "%u peer ids, cert %d key %d keyring %d, profile %s",
		  type_name(r->type), auth_name(r->auth), r->peername,
		  j->timeout_ms, r->n_peerids, r->cert, r->privkey, r->keyring,
		  j->p->name);
	ret = job_submit(u->d, j);
	if (!ret)
		return;
	close(j->ev.fd);
	drop_creds(j);
	fail_now(u, r, ret == -EBUSY ? EBUSY : ESHUTDOWN,
		 ret == -EBUSY ? "too many handshakes in flight" :
		 "ktlsd is shutting down", 0);
}

/* Take every request waiting; expected: READYs just seen. */
static void accept_all(struct upcall *u, unsigned expected)
{
	unsigned got = 0, i;
	struct upreq *r;
	int ret;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			log_err("upcall: out of memory; requests wait");
			return;
		}
		r->u = u;
		r->sockfd = -1;
		ret = do_accept(u, r);
		if (ret || r->sockfd < 0) {
			if (r->sockfd >= 0)
				fail_now(u, r, EIO, "the ACCEPT reply was "
					 "incomplete", 1);
			else
				free(r);
			if (ret == -EACCES && geteuid())
				log_err("upcall: ACCEPT refused: the request "
					"names a keyring (NVMe's .nvme) that the "
					"kernel links into our keyring, and user "
					"%u may not write it (docs/privsep.md)",
					(unsigned)geteuid());
			else if (ret && ret != -EAGAIN)
				log_warn("upcall: ACCEPT failed: %s",
					 strerror(-ret));
			if (ret && ret != -EAGAIN)
				expected = 0;	/* not taken by another */
			break;
		}
		got++;
		start(u, r);
	}
	/*
	 * One ACCEPT loop may take requests whose READY is still on its way;
	 * only READYs beyond all we took were served by someone else.
	 */
	u->ahead += got;
	if (expected > u->ahead) {
		atomic_fetch_add(&u->d->stats->front[FRONT_UPCALL].missed,
				 expected - u->ahead);
		if (!u->warned_missed++)
			log_warn("upcall: the kernel announced %u handshake "
				 "request(s) that another agent took first: is "
				 "tlshd running too? Run only one of them.",
				 expected - u->ahead);
		u->ahead = 0;
	} else {
		u->ahead -= expected;
	}
}

static int mc_valid(struct nl_msg *msg, void *arg)
{
	struct upcall *u = arg;
	struct nlmsghdr *nh = nlmsg_hdr(msg);
	struct sockaddr_nl *src = nlmsg_get_src(msg);
	struct genlmsghdr *gh;
	struct nlattr *a;

	/* The kernel's, of our family, with the header it must have. */
	if ((src && src->nl_pid) || nh->nlmsg_type != u->family ||
	    !genlmsg_valid_hdr(nh, 0))
		return NL_SKIP;
	gh = nlmsg_data(nh);
	if (gh->cmd != HANDSHAKE_CMD_READY)
		return NL_SKIP;
	a = nla_find(genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0),
		     HANDSHAKE_A_ACCEPT_HANDLER_CLASS);
	if (a && nla_len(a) >= 4 &&
	    nla_get_u32(a) == HANDSHAKE_HANDLER_CLASS_TLSHD)
		u->ready++;
	return NL_OK;
}

static void upcall_free(struct upcall *u)
{
	if (u->mc)
		nl_socket_free(u->mc);
	if (u->cmd)
		nl_socket_free(u->cmd);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static void mc_handle(struct ev *e, unsigned events)
{
	struct upcall *u = (struct upcall *)e;
	int i, ret, lost = 0;

	if (events & EV_EXIT) {
		/* Every DONE is out (nothing is in flight): close up. */
		loop_remove(e);
		u->d->upcall = NULL;
		upcall_free(u);
		return;
	}
	if (events & EV_STOP) {
		/*
		 * No new requests; DONE still needs the command socket. The
		 * supervisor keeps the socket open: unpoll it first, or epoll
		 * would go on reporting it after our close.
		 */
		loop_unpoll(e);
		nl_socket_free(u->mc);
		u->mc = NULL;
		e->fd = -1;
		return;
	}
	if (!u->mc)
		return;
	if (events & EV_TIMEOUT) {
		/* At start: what waited while no process served. */
		accept_all(u, 0);
		return;
	}
	u->ready = 0;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		ret = nl_recvmsgs_default(u->mc);
		if (ret == -NLE_AGAIN)
			break;
		if (ret < 0) {
			/* ENOBUFS: READYs were dropped; ACCEPT finds them. */
			lost = 1;
			if (ret != -NLE_NOMEM)
				log_warn("upcall: reading the kernel's "
					 "announcements: %s", nl_geterror(ret));
			break;
		}
	}
	if (u->ready || lost)
		accept_all(u, u->ready);
}

/* ---- Start-up: what the kernel offers, and who else listens ---- */

/*
 * What DONE accepts, told by a DONE the kernel must refuse (fd -1):
 * EBADF means the attributes passed, EINVAL that one is unknown, EPERM
 * that we lack CAP_NET_ADMIN.
 */
static int probe_done(struct upcall *u, int with_remote_auth)
{
	int32_t none = TLS_NO_PEERID;
	int ret, saved = u->remote_auth;

	u->remote_auth = with_remote_auth;
	ret = send_done(u, -1, 0, &none, 1);
	u->remote_auth = saved;
	return ret;
}

/* What DONE takes (u->remote_auth): 0, or -EPERM without CAP_NET_ADMIN. */
static int probe_kernel(struct upcall *u)
{
	int ret = probe_done(u, 1);

	if (ret == -EINVAL && probe_done(u, 0) == -EBADF) {
		ret = -EBADF;
		log_info("upcall: this kernel takes no REMOTE_AUTH in DONE");
	} else if (ret == -EBADF) {
		u->remote_auth = 1;
	}
	if (ret == -EPERM || ret == -EACCES)
		return -EPERM;
	if (ret != -EBADF)
		log_warn("upcall: probing DONE gave '%s'; going on",
			 strerror(-ret));
	return 0;
}

/*
 * Take on tlshd's debug levels; say what the kernel offers
 * that ktlsd does not serve (key updates?).
 */
static void upcall_news(struct upcall *u, const struct conf *c, char *buf,
			size_t len)
{
	int ret;

	upcall_conf_apply(c);	/* the keyrings: the supervisor links them */
	ret = upcall_probe_family(u->cmd, buf, len);

	if (ret > 0)
		log_info("upcall: the kernel's handshake family has more than "
			 "ktlsd serves (ACCEPT, DONE): %s key updates for its "
			 "consumers, perhaps; they are not served yet", buf);
	else if (!ret)
		log_debug("upcall: the kernel's handshake family has ACCEPT and "
			  "DONE only: no key-update messages for its consumers");
	else
		log_debug("upcall: reading the handshake family's description: "
			  "%s", strerror(-ret));
}

/*
 * In the supervisor: the socket that hears the kernel's announcements,
 * joined to the "tlshd" group once for every handshake process to come,
 * so that the kernel always finds a listener, even during a restart.
 */
int upcall_listen(struct listeners *ls, const struct conf *c, int activated_fd)
{
	struct nl_sock *sk;
	int ret, family, group;

	(void)activated_fd;	/* the kernel calls us, not a socket */
	if (!c->upcall || c->upcall->enable == UPCALL_NO) {
		log_info("upcall: disabled by the configuration");
		return 0;
	}
	sk = open_sock();
	if (!sk)
		return upcall_unavailable(c, -EIO, "cannot open a generic netlink "
				   "socket");
	ret = upcall_resolve(sk, c, &family, &group);
	nl_socket_free(sk);
	if (ret <= 0)
		return ret;
	sk = open_sock();
	if (!sk || nl_socket_add_membership(sk, group) ||
	    nl_socket_set_nonblocking(sk)) {
		if (sk)
			nl_socket_free(sk);
		return upcall_unavailable(c, -EIO, "cannot join the handshake family's "
				   "'tlshd' multicast group");
	}
	ls->upcall_mc = sk;
	ls->upcall_family = family;
	ls->upcall_group = group;
	return 0;
}

/* In a handshake process: serve what the supervisor's socket hears. */
int upcall_open(struct ktlsd *d, const struct conf *c,
		const struct listeners *ls)
{
	struct upcall *u;
	struct utsname kr;
	char what[400];

	if (!ls->upcall_mc)
		return 0;
	if (uname(&kr))
		snprintf(kr.release, sizeof(kr.release), "?");
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	pthread_mutex_init(&u->lock, NULL);
	u->d = d;
	u->family = ls->upcall_family;
	u->group = ls->upcall_group;
	u->cmd = open_sock();
	if (!u->cmd) {
		upcall_free(u);
		return upcall_unavailable(c, -EIO, "cannot open a generic netlink "
				   "socket");
	}
	if (probe_kernel(u)) {
		upcall_free(u);
		return upcall_unavailable(c, -EPERM, "serving the kernel's handshake "
				   "requests needs CAP_NET_ADMIN: run ktlsd as "
				   "root, or give it the capability "
				   "(AmbientCapabilities=CAP_NET_ADMIN)");
	}
	upcall_news(u, c, what, sizeof(what));
	/* This process's copy of the supervisor's socket. */
	u->mc = ls->upcall_mc;
	/* Announcements have no sequence of ours; mc_valid checks them. */
	nl_socket_disable_seq_check(u->mc);
	nl_socket_modify_cb(u->mc, NL_CB_VALID, NL_CB_CUSTOM, mc_valid, u);
	u->ev.fd = nl_socket_get_fd(u->mc);
	u->ev.handle = mc_handle;
	u->ev.deadline = 1;	/* the requests announced before we ran */
	d->upcall = u;
	loop_add(d, NULL, &u->ev, EPOLLIN);
	log_info("upcall: serving the kernel's TLS handshake requests "
		 "(kernel %s%s); credentials: client %s, server %s%s%s",
		 kr.release, u->remote_auth ? "" : ", no REMOTE_AUTH",
		 c->upcall->client.p ? c->upcall->client.p->name : "none",
		 c->upcall->server.p ? c->upcall->server.p->name : "none",
		 c->upcall->tlshd_path ? " from " : "",
		 c->upcall->tlshd_path ? c->upcall->tlshd_path : "");
	return 0;
}
