// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The libc functions the shim stands in for. Each passes through
 * untouched unless its descriptor is one the shim keeps (a handed-over
 * connection or a listener it stands in for), or its address is
 * configured (listen, connect).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "preload.h"

PRELOAD_EXPORT int listen(int fd, int backlog)
{
	int ret;

	if (accept_listen(fd, backlog, &ret))
		return ret;
	return real.listen(fd, backlog);
}

PRELOAD_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len,
			   int flags)
{
	struct preload_listener *l = fdtab_listener(fd);

	if (l)
		return accept_take(l, fd, addr, len, flags);
	return real.accept4(fd, addr, len, flags);
}

PRELOAD_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return accept4(fd, addr, len, 0);
}

PRELOAD_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	int ret;

	if (connect_pending_fd(fd) >= 0) {
		errno = EALREADY;
		return -1;
	}
	if (connect_handle(fd, sa, len, &ret))
		return ret;
	return real.connect(fd, sa, len);
}

PRELOAD_EXPORT int close(int fd)
{
	fdtab_forget(fd);	/* close_notify while the socket is open */
	connect_forget(fd);
	return real.close(fd);
}

PRELOAD_EXPORT int shutdown(int fd, int how)
{
	struct preload_conn *c = fdtab_conn(fd);

	if (c && how != SHUT_RD) {
		fdtab_conn_at(c, fd);
		preload_inside++;	/* it shuts down itself */
		ktls_close_notify(c->s);
		preload_inside--;
	}
	return real.shutdown(fd, how);
}

PRELOAD_EXPORT int dup(int fd)
{
	int ret = real.dup(fd);

	if (ret >= 0)
		fdtab_dup(fd, ret);
	return ret;
}

static int dup_to(int fd, int nfd, int flags, int three)
{
	int ret;

	if (fd != nfd && (fdtab_conn(fd) || fdtab_listener(fd)) &&
	    real.fcntl(fd, F_GETFD) < 0)
		return -1;	/* EBADF before nfd is touched */
	if (fd != nfd) {
		fdtab_forget(nfd);
		connect_forget(nfd);
	}
	ret = three ? real.dup3(fd, nfd, flags) : real.dup2(fd, nfd);
	if (ret >= 0)
		fdtab_dup(fd, ret);
	return ret;
}

PRELOAD_EXPORT int dup2(int fd, int nfd)
{
	return dup_to(fd, nfd, 0, 0);
}

PRELOAD_EXPORT int dup3(int fd, int nfd, int flags)
{
	return dup_to(fd, nfd, flags, 1);
}

static int fcntl_common(int fd, int cmd, void *arg)
{
	int ret = real.fcntl(fd, cmd, arg);

	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		fdtab_dup(fd, ret);
	return ret;
}

PRELOAD_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

PRELOAD_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

/* ---- reads ---- */

/* What _FORTIFY_SOURCE builds call (glibc does not declare them). */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t size);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t size, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t size,
		       int flags, struct sockaddr *addr, socklen_t *alen);

PRELOAD_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct preload_conn *c = fdtab_conn(fd);
	struct iovec iov = { buf, len };

	return c ? recv_conn(c, fd, &iov, 1, 0) : real.read(fd, buf, len);
}

PRELOAD_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len,
				  size_t size)
{
	if (len > size)
		abort();
	return read(fd, buf, len);
}

PRELOAD_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	struct preload_conn *c = fdtab_conn(fd);

	return c ? recv_conn(c, fd, iov, n, 0) : real.readv(fd, iov, n);
}

PRELOAD_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
				struct sockaddr *addr, socklen_t *alen)
{
	struct preload_conn *c = fdtab_conn(fd);
	struct iovec iov = { buf, len };

	if (!c)
		return real.recvfrom(fd, buf, len, flags, addr, alen);
	if (addr && alen)
		*alen = 0;	/* as TCP leaves it */
	return recv_conn(c, fd, &iov, 1, flags);
}

PRELOAD_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

PRELOAD_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len,
				  size_t size, int flags)
{
	if (len > size)
		abort();
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

PRELOAD_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len,
				      size_t size, int flags,
				      struct sockaddr *addr, socklen_t *alen)
{
	if (len > size)
		abort();
	return recvfrom(fd, buf, len, flags, addr, alen);
}

PRELOAD_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	struct preload_conn *c = fdtab_conn(fd);
	ssize_t n;

	if (!c)
		return real.recvmsg(fd, m, flags);
	n = recv_conn(c, fd, m->msg_iov, m->msg_iovlen, flags);
	if (n >= 0) {
		m->msg_namelen = 0;
		m->msg_controllen = 0;
		m->msg_flags = 0;
	}
	return n;
}

/*
 * ---- a listener the shim stands in for answers as the TCP one, and so
 * does a connect in progress ----
 */

static int tcp_fd(int fd)
{
	struct preload_listener *l = fdtab_listener(fd);
	int s;

	if (l)
		return accept_real_fd(l);
	s = connect_pending_fd(fd);
	return s >= 0 ? s : fd;
}

PRELOAD_EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	return real.getsockname(tcp_fd(fd), sa, len);
}

PRELOAD_EXPORT int getsockopt(int fd, int level, int name, void *val,
			      socklen_t *len)
{
	int err;

	if (level == SOL_SOCKET && name == SO_ERROR && val && len &&
	    *len >= sizeof(int) && connect_so_error(fd, &err)) {
		*(int *)val = err;
		*len = sizeof(int);
		return 0;
	}
	return real.getsockopt(tcp_fd(fd), level, name, val, len);
}

PRELOAD_EXPORT int setsockopt(int fd, int level, int name, const void *val,
			      socklen_t len)
{
	return real.setsockopt(tcp_fd(fd), level, name, val, len);
}

PRELOAD_EXPORT int epoll_ctl(int epfd, int op, int fd,
			     struct epoll_event *ev)
{
	connect_epoll(epfd, op, fd, ev);
	return real.epoll_ctl(epfd, op, fd, ev);
}
