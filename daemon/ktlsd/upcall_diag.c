// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Who else listens for the kernel's handshake requests: the kernel hands
 * each request to whichever agent ACCEPTs first, so two agents (tlshd and
 * ktlsd, say) would split them. netlink_diag tells which sockets joined
 * the group, /proc whose they are. What of tlshd's surroundings ktlsd
 * takes on (its keyrings, its debug levels) or says it does not (session
 * tags). And what the kernel's handshake family offers that ktlsd does not
 * serve yet (key updates for its consumers, one day), from the family's
 * description. And what the supervisor asks at start.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>

#include <gnutls/gnutls.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/genetlink.h>

#include "handshake_nl.h"
#include "upcall.h"

/* Whose netlink socket is inode ino: "comm (pid N)", from /proc. */
static void socket_owner(unsigned ino, char *who, size_t len)
{
	char path[600], link[64], want[32];
	struct dirent *p, *f;
	DIR *proc = opendir("/proc"), *fds;
	FILE *comm;
	ssize_t n;

	snprintf(who, len, "a process");
	snprintf(want, sizeof(want), "socket:[%u]", ino);
	while (proc && (p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		while (fds && (f = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name,
				 f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (strcmp(link, want))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
			comm = fopen(path, "re");
			if (comm && fgets(link, sizeof(link), comm))
				link[strcspn(link, "\n")] = 0;
			else
				snprintf(link, sizeof(link), "?");
			if (comm)
				fclose(comm);
			snprintf(who, len, "%s (pid %s)", link, p->d_name);
			closedir(fds);
			closedir(proc);
			return;
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
}

int upcall_other_listener(int grp, char *who, size_t len)
{
	struct {
		struct nlmsghdr nh;
		struct netlink_diag_req r;
	} req = {
		.nh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = AF_NETLINK,
			.sdiag_protocol = NETLINK_GENERIC,
			.ndiag_show = NDIAG_SHOW_GROUPS,
		},
	};
	static char buf[32768];
	int fd, found = 0, ret = 0;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		struct nlmsghdr *nh;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			struct netlink_diag_msg *m = NLMSG_DATA(nh);
			struct nlattr *a;
			int rem;

			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				ret = e->error ? e->error : -EIO;
				goto out;
			}
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || found)
				continue;
			a = (struct nlattr *)((char *)m + NLMSG_ALIGN(sizeof(*m)));
			rem = nh->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*m)));
			for (; nla_ok(a, rem); a = nla_next(a, &rem)) {
				const uint32_t *g = nla_data(a);

				if (nla_type(a) != NETLINK_DIAG_GROUPS ||
				    nla_len(a) < (int)(((grp - 1) / 32 + 1) * 4))
					continue;
				if (g[(grp - 1) / 32] & (1u << ((grp - 1) % 32))) {
					socket_owner(m->ndiag_ino, who, len);
					found = 1;
				}
			}
		}
	}
out:
	close(fd);
	return ret ? ret : found;
}

/* ---- tlshd's surroundings: keyrings, debug levels, session tags ---- */

int upcall_note_tags(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	int files = 0;

	while (dir && (e = readdir(dir)))
		files += e->d_name[0] != '.';
	if (dir)
		closedir(dir);
	if (files)
		log_warn("%s: tlshd's session tags are not implemented by ktlsd; "
			 "the %d file(s) there are not read and no session is "
			 "tagged", path, files);
	return files;
}

/* GnuTLS's debug messages ([debug] tls), a line each. */
static void gnutls_log(int level, const char *msg)
{
	log_debug("gnutls[%d]: %.*s", level, (int)strcspn(msg, "\n"), msg);
}

void upcall_conf_apply(const struct conf *c)
{
	const struct upcall_conf *u = c->upcall;
	int tls = u && u->tls_debug > 0 ? u->tls_debug : 0;

	/* Process-wide, as in tlshd: the configuration in force sets them. */
	gnutls_global_set_log_function(gnutls_log);
	gnutls_global_set_log_level(tls);
	nl_debug = u && u->nl_debug > 0 ? u->nl_debug : 0;
}

void upcall_link_keyrings(const struct conf *c)
{
	static const char *const always[] = { ".nvme", ".nfs", ".nfsd" };
	const struct upcall_conf *u = c->upcall;
	int32_t serial;
	size_t i;

	for (i = 0; u && i < u->n_keyrings; i++) {
		/* The consumers' own come with their modules: below. */
		if (!strcmp(u->keyrings[i], always[0]) ||
		    !strcmp(u->keyrings[i], always[1]) ||
		    !strcmp(u->keyrings[i], always[2]))
			continue;
		serial = keyring_lookup(u->keyrings[i]);
		if (!serial || keyring_possess_shared(serial))
			log_warn("%s: [authenticate] keyrings: '%s' is not a "
				 "keyring ktlsd can link; skipped",
				 u->tlshd_path ? u->tlshd_path : "tlshd's file",
				 u->keyrings[i]);
	}
	/* The consumers' own, as tlshd links them; absent without NFS or NVMe. */
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++) {
		serial = keyring_lookup(always[i]);
		if (serial)
			keyring_possess_shared(serial);
	}
}

/* ---- What the handshake family offers beyond what ktlsd knows ---- */

/*
 * What ktlsd serves: the kernel lists ACCEPT and DONE as operations
 * (READY is a notification) and the groups "none" and "tlshd" (6.12 and
 * 7.2 alike). Key updates for kernel consumers would come as a new
 * operation, a new group or a new version.
 */
static int known_op(uint32_t op)
{
	return op == HANDSHAKE_CMD_ACCEPT || op == HANDSHAKE_CMD_DONE;
}

static int known_group(const char *name)
{
	return !strcmp(name, "none") || !strcmp(name, HANDSHAKE_MCGRP_TLSHD);
}

static void add_news(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_news(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 2 >= len)
		return;
	if (n)
		buf[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

static int ops_news(struct nlattr *ops, char *buf, size_t len)
{
	struct nlattr *op, *a;
	int rem, news = 0;

	nla_for_each_nested(op, ops, rem) {
		a = nla_find(nla_data(op), nla_len(op), CTRL_ATTR_OP_ID);
		if (!a || nla_len(a) < 4)
			return -EINVAL;
		if (known_op(nla_get_u32(a)))
			continue;
		add_news(buf, len, "operation %u;", nla_get_u32(a));
		news = 1;
	}
	return news;
}

static int groups_news(struct nlattr *grps, char *buf, size_t len)
{
	struct nlattr *g, *a;
	int rem, news = 0;

	nla_for_each_nested(g, grps, rem) {
		a = nla_find(nla_data(g), nla_len(g), CTRL_ATTR_MCAST_GRP_NAME);
		if (!a || !memchr(nla_data(a), 0, nla_len(a)))
			return -EINVAL;
		if (known_group(nla_data(a)))
			continue;
		add_news(buf, len, "multicast group '%s';",
			 (const char *)nla_data(a));
		news = 1;
	}
	return news;
}

int upcall_family_news(const struct nlmsghdr *nh, char *buf, size_t len)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct genlmsghdr *gh;
	int ret, news = 0;

	buf[0] = 0;
	if (nh->nlmsg_type != GENL_ID_CTRL ||
	    !genlmsg_valid_hdr((struct nlmsghdr *)nh, 0))
		return -EINVAL;
	gh = nlmsg_data(nh);
	if (gh->cmd != CTRL_CMD_NEWFAMILY ||
	    nla_parse(tb, CTRL_ATTR_MAX, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL) ||
	    !tb[CTRL_ATTR_FAMILY_NAME] || !tb[CTRL_ATTR_VERSION] ||
	    nla_len(tb[CTRL_ATTR_VERSION]) < 4 ||
	    strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]),
		   HANDSHAKE_FAMILY_NAME))
		return -EINVAL;
	if (nla_get_u32(tb[CTRL_ATTR_VERSION]) > HANDSHAKE_FAMILY_VERSION) {
		add_news(buf, len, "version %u;",
			 nla_get_u32(tb[CTRL_ATTR_VERSION]));
		news = 1;
	}
	if (tb[CTRL_ATTR_MAXATTR] && nla_len(tb[CTRL_ATTR_MAXATTR]) >= 4 &&
	    nla_get_u32(tb[CTRL_ATTR_MAXATTR]) > HANDSHAKE_A_ACCEPT_MAX) {
		add_news(buf, len, "attributes up to %u;",
			 nla_get_u32(tb[CTRL_ATTR_MAXATTR]));
		news = 1;
	}
	ret = tb[CTRL_ATTR_OPS] ? ops_news(tb[CTRL_ATTR_OPS], buf, len) : 0;
	if (ret >= 0)
		news |= ret;
	ret = ret < 0 ? ret : tb[CTRL_ATTR_MCAST_GROUPS] ?
	      groups_news(tb[CTRL_ATTR_MCAST_GROUPS], buf, len) : 0;
	if (ret < 0)
		return ret;
	return news | ret;
}

struct family_reply {
	int done, ret;
	char *buf;
	size_t len;
};

static int family_valid(struct nl_msg *msg, void *arg)
{
	struct family_reply *f = arg;

	f->ret = upcall_family_news(nlmsg_hdr(msg), f->buf, f->len);
	return NL_OK;
}

static int family_end(struct nl_msg *msg, void *arg)
{
	struct family_reply *f = arg;

	(void)msg;
	f->done = 1;
	return NL_STOP;
}

int upcall_probe_family(struct nl_sock *sk, char *buf, size_t len)
{
	struct family_reply f = { .ret = -ENOMSG, .buf = buf, .len = len };
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret = -ENOMEM;

	buf[0] = 0;
	if (!msg || !cb ||
	    !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0, 0,
			 CTRL_CMD_GETFAMILY, 1) ||
	    nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, HANDSHAKE_FAMILY_NAME))
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, family_valid, &f);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, family_end, &f);
	ret = nl_send_auto(sk, msg);
	while (ret >= 0 && !f.done)
		ret = nl_recvmsgs(sk, cb);
	ret = ret < 0 ? -EIO : f.ret;
out:
	nlmsg_free(msg);
	nl_cb_put(cb);
	return ret;
}

/* A problem with the upcall at start: fatal if asked for, else a warning. */
int upcall_unavailable(const struct conf *c, int err, const char *what)
{
	if (c->upcall->enable == UPCALL_YES) {
		log_err("upcall: %s", what);
		return err;
	}
	log_warn("upcall: %s; the kernel's handshake requests (NFS, NVMe over "
		 "TLS) are not served by ktlsd. The handoff works as before.",
		 what);
	return 0;
}

int upcall_resolve(struct nl_sock *sk, const struct conf *c, int *family,
		   int *group)
{
	char who[400], what[800];
	struct utsname kr;
	int ret;

	*family = genl_ctrl_resolve(sk, HANDSHAKE_FAMILY_NAME);
	*group = genl_ctrl_resolve_grp(sk, HANDSHAKE_FAMILY_NAME,
				       HANDSHAKE_MCGRP_TLSHD);
	if (*family < 0 || *group < 0) {
		if (uname(&kr))
			snprintf(kr.release, sizeof(kr.release), "?");
		snprintf(what, sizeof(what), "this kernel (%s) has no "
			 "'handshake' netlink family: the TLS handshake upcall "
			 "needs Linux 6.5 or later built with "
			 "CONFIG_NET_HANDSHAKE", kr.release);
		return upcall_unavailable(c, -EPROTONOSUPPORT, what);
	}
	ret = upcall_other_listener(*group, who, sizeof(who));
	if (ret > 0) {
		snprintf(what, sizeof(what), "%s already listens for the "
			 "kernel's handshake requests (netlink group "
			 "handshake/tlshd); two agents would split them. Stop "
			 "it (systemctl stop tlshd) or set enable = no in "
			 "[upcall]", who);
		return upcall_unavailable(c, -EADDRINUSE, what);
	}
	if (ret < 0)
		log_debug("upcall: cannot tell whether another agent listens "
			  "(netlink_diag: %s)", strerror(-ret));
	return 1;
}
