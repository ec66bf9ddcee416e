// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Unix stream sockets ktlsd listens on (handoff, control): bound at a
 * path from the configuration, with its mode and group, and served by one
 * accept loop. A socket file left behind by a ktlsd that died is replaced;
 * one where a process still answers is not, so the callers ask
 * unixsock_answers() first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"

/* Out of descriptors: look at the backlog again after this long. */
#define PAUSE_MS	250

struct unix_listener {
	struct ev ev;
	struct ktlsd *d;
	unixsock_take_fn *take;
	const char *what;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* or "" */
	int paused;			/* out of fds: not polled awhile */
};

/* path as a socket address: 0, or -ENAMETOOLONG. */
static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int unixsock_answers(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret;

	if (unix_addr(path, &sa))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ret = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ret;
}

int unixsock_listen(const char *path, mode_t mode, gid_t gid, int backlog)
{
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, err;

	err = unix_addr(path, &sa);
	if (err)
		return err;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			log_warn("creating %s: %m", dir);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, mode) ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid)) ||
	    listen(fd, backlog)) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* The accept loop stopped on errno: pause when out of descriptors. */
static void accept_stopped(struct unix_listener *l)
{
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		/*
		 * The connections wait in the backlog. Still polled, the
		 * listener would spin (and log) without end: look again in a
		 * while, and say it once.
		 */
		if (!l->paused)
			log_warn("accept on the %s socket: %m; retrying every "
				 "%d ms", l->what, PAUSE_MS);
		l->paused = 1;
		loop_modify(&l->ev, 0);
		l->ev.deadline = now_ms() + PAUSE_MS;
		return;
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_warn("accept on the %s socket: %m", l->what);
	if (l->paused) {
		log_info("accepting %s connections again", l->what);
		l->paused = 0;
		loop_modify(&l->ev, EPOLLIN);
	}
}

static void listener_handle(struct ev *e, unsigned events)
{
	struct unix_listener *l = (struct unix_listener *)e;
	struct ucred cred;
	socklen_t len;
	int fd;

	if (events & (EV_STOP | EV_EXIT)) {
		loop_remove(e);
		close(e->fd);
		if (l->path[0])
			unlink(l->path);
		free(l);
		return;
	}
	while ((fd = accept4(e->fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			log_warn("refusing a %s connection: %m", l->what);
			close(fd);
			continue;
		}
		l->take(l->d, fd, &cred);
	}
	accept_stopped(l);
}

int unixsock_serve(struct ktlsd *d, int fd, const char *path,
		   const char *what, unixsock_take_fn *take)
{
	struct unix_listener *l;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (path)
		snprintf(l->path, sizeof(l->path), "%s", path);
	l->ev.fd = fd;
	l->ev.handle = listener_handle;
	l->d = d;
	l->take = take;
	l->what = what;
	loop_add(d, NULL, &l->ev, EPOLLIN);
	return 0;
}
