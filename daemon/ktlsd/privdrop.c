// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The handshake process gives up root: it parses what arrives from the
 * network and from local programs, so it runs as its own user (ktlsd, or
 * [ktlsd] user), with no supplementary group and no capability but
 * CAP_NET_ADMIN, and that one only when it serves the kernel's upcall
 * (ACCEPT and DONE of the handshake netlink family check it; see
 * docs/privsep.md for what was measured). It keeps what the supervisor
 * opened and loaded before the fork: the listening sockets and the
 * credentials in memory; it cannot open the key files again.
 *
 * The capability calls are the raw system calls (two words of a bit
 * set): libcap would be a dependency for four lines.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "ktlsd.h"

int privdrop_lookup(const struct conf *c, struct hs_user *u)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (geteuid() != 0) {
		u->uid = geteuid();
		u->gid = getegid();
		return 0;
	}
	errno = 0;
	pw = getpwnam(c->user);
	if (!pw || !pw->pw_uid) {
		log_err("%s: the user '%s' %s: ktlsd runs its handshake "
			"process as an unprivileged user. Create it (useradd "
			"--system --no-create-home %s) or name another in "
			"[ktlsd] user", c->path, c->user,
			pw ? "is root" : "does not exist", c->user);
		return -ENOENT;
	}
	u->drop = 1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", c->user);
	return 0;
}

/* Permitted and effective: CAP_NET_ADMIN or nothing; inheritable nothing. */
static int set_caps(int net_admin)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (net_admin)
		data[0].effective = data[0].permitted = 1u << CAP_NET_ADMIN;
	return syscall(SYS_capset, &h, data) ? -errno : 0;
}

/*
 * Nothing for a later execve() to gain back (there is none, and
 * no_new_privs is set too). Needs CAP_SETPCAP, which a service manager
 * may not have given: then the bounding set stays as it was.
 */
static void drop_bounding(int net_admin)
{
	int cap;

	for (cap = 0; cap < 64; cap++) {
		if (net_admin && cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno == EINVAL)
			break;
	}
}

static int become(const struct hs_user *u, int net_admin)
{
	uid_t r, e, s;

	drop_bounding(net_admin);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (net_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (setgroups(0, NULL) || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid))
		return -errno;
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (getresuid(&r, &e, &s) || r != u->uid || e != u->uid ||
	    s != u->uid || !setresuid(0, 0, 0))
		return -EPERM;	/* root could come back: refuse to go on */
	return 0;
}

int privdrop_apply(const struct hs_user *u, int net_admin, pid_t ppid)
{
	int ret = 0;

	if (u->drop)
		ret = become(u, net_admin);
	/* Not root: the capabilities we were given, less all but one. */
	if (!ret && (u->drop || !net_admin))
		ret = set_caps(net_admin);
	if (ret == -EPERM && !u->drop)
		ret = 0;	/* nothing to give up */
	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	/* A change of user resets both: set them after it. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0))
		return -errno;
	if (getppid() != ppid)
		return -ESRCH;	/* the supervisor went before we could tell */
	return 0;
}
