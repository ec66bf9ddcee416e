// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Who else listens for the kernel's handshake requests: the kernel hands
 * each request to whichever agent ACCEPTs first, so two agents (tlshd and
 * ktlsd, say) would split them. netlink_diag tells which sockets joined
 * the group, /proc whose they are. And what the kernel offers, asked by
 * the supervisor at start.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>

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
