// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The client side for a non-blocking socket: connect() returns
 * EINPROGRESS at once, and the socket becomes writable only when kTLS is
 * on it. The TCP socket moves to a descriptor of the shim; the program's
 * descriptor number holds the read end of a pipe meanwhile, which is never
 * writable (we keep the write end, so it never hangs up either). A thread
 * connects, hands the socket to ktlsd, and then puts it back at the
 * program's number (dup3): poll() and select() see it writable from
 * then on. epoll registrations of the placeholder die with it, so the
 * shim notes them (epoll_ctl) and registers the socket again after the
 * swap; with the socket ready, level- and edge-triggered waits both wake.
 * A failure puts the socket back shut down, and getsockopt(SO_ERROR)
 * gives the error once, as for a failed TCP connect.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "preload.h"

#define NB_EPOLL 4

struct nbc {
	int fd;			/* the program's number */
	int sock;		/* the TCP socket, while pending */
	int pipe_w;
	int fdflags, flflags;	/* the program's FD_CLOEXEC, O_* */
	int cancelled;
	struct sockaddr_storage sa;
	socklen_t len;
	char profile[64], name[256];
	int nep;
	struct { int epfd; struct epoll_event ev; } ep[NB_EPOLL];
};

static pthread_mutex_t nb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nbc *pending[PRELOAD_FDS];
static int errs[PRELOAD_FDS];	/* SO_ERROR of a failed one, until read */

/* A child must not inherit the lock held by another thread. */
static void nb_lock_take(void)
{
	pthread_mutex_lock(&nb_lock);
}

static void nb_lock_give(void)
{
	pthread_mutex_unlock(&nb_lock);
}

__attribute__((constructor)) static void nb_init(void)
{
	pthread_atfork(nb_lock_take, nb_lock_give, nb_lock_give);
}

static void nbc_free(struct nbc *n)
{
	real.close(n->pipe_w);
	free(n);
}

/* Put the socket back at the program's number; the caller holds nb_lock. */
static int swap_in(struct nbc *n)
{
	if (real.dup3(n->sock, n->fd, n->fdflags & FD_CLOEXEC ? O_CLOEXEC : 0) < 0)
		return -errno;
	real.fcntl(n->fd, F_SETFL, n->flflags);
	for (int i = 0; i < n->nep; i++)
		epoll_ctl(n->ep[i].epfd, EPOLL_CTL_ADD, n->fd, &n->ep[i].ev);
	return 0;
}

static void *nb_main(void *arg)
{
	struct nbc *n = arg;
	struct preload_hs hs = { 0 };
	int err;

	preload_inside = 1;
	err = connect_tcp(n->sock, (struct sockaddr *)&n->sa, n->len);
	if (!err)
		err = connect_handshake(n->sock, n->profile,
					n->name[0] ? n->name : NULL, &hs);
	if (err)
		shutdown(n->sock, SHUT_RDWR);
	pthread_mutex_lock(&nb_lock);
	if (!n->cancelled) {
		pending[n->fd] = NULL;
		if (!swap_in(n)) {
			preload_inside = 0;
			if (!err)
				err = fdtab_add_conn(n->fd, &hs, KTLS_CLIENT);
			if (err)
				shutdown(n->fd, SHUT_RDWR);
			preload_inside = 1;
		}
		errs[n->fd] = err ? preload_errno(err) : 0;
	}
	pthread_mutex_unlock(&nb_lock);
	preload_hs_wipe(&hs);
	real.close(n->sock);
	nbc_free(n);
	return NULL;
}

/* Move the socket out and the placeholder in; 0 or -errno. */
static int stand_in(struct nbc *n)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	n->pipe_w = p[1];
	n->sock = real.fcntl(n->fd, F_DUPFD_CLOEXEC, 3);
	if (n->sock < 0 ||
	    real.dup3(p[0], n->fd, n->fdflags & FD_CLOEXEC ? O_CLOEXEC : 0) < 0) {
		int e = errno;

		if (n->sock >= 0)
			real.close(n->sock);
		real.close(p[0]);
		real.close(p[1]);
		return -e;
	}
	real.close(p[0]);
	real.fcntl(n->sock, F_SETFL, n->flflags & ~O_NONBLOCK);
	return 0;
}

int connect_start(int fd, const struct sockaddr *sa, socklen_t len,
		  const char *profile, const char *name, int *ret)
{
	struct nbc *n = calloc(1, sizeof(*n));
	int err = -ENOMEM;

	*ret = -1;
	if (fd >= PRELOAD_FDS)
		err = -EMFILE;
	else if (n) {
		n->fd = fd;
		n->fdflags = real.fcntl(fd, F_GETFD);
		n->flflags = real.fcntl(fd, F_GETFL);
		n->len = len < sizeof(n->sa) ? len : sizeof(n->sa);
		memcpy(&n->sa, sa, n->len);
		strcpy(n->profile, profile);	/* both 64 bytes */
		snprintf(n->name, sizeof(n->name), "%s", name ? name : "");
		pthread_mutex_lock(&nb_lock);
		err = stand_in(n);
		if (!err) {
			pending[fd] = n;
			errs[fd] = 0;
			err = preload_thread(nb_main, n);
			if (err) {
				pending[fd] = NULL;
				swap_in(n);
				real.close(n->sock);
			}
		}
		pthread_mutex_unlock(&nb_lock);
	}
	if (err) {
		if (n)
			nbc_free(n);
		errno = -err;
		return 1;
	}
	errno = EINPROGRESS;
	return 1;
}

int connect_pending_fd(int fd)
{
	struct nbc *n;
	int s = -1;

	if (fd < 0 || fd >= PRELOAD_FDS || preload_inside)
		return -1;
	pthread_mutex_lock(&nb_lock);
	n = pending[fd];
	if (n)
		s = n->sock;
	pthread_mutex_unlock(&nb_lock);
	return s;
}

void connect_forget(int fd)
{
	if (fd < 0 || fd >= PRELOAD_FDS || preload_inside)
		return;
	pthread_mutex_lock(&nb_lock);
	if (pending[fd]) {
		pending[fd]->cancelled = 1;
		pending[fd] = NULL;
	}
	errs[fd] = 0;
	pthread_mutex_unlock(&nb_lock);
}

int connect_so_error(int fd, int *err)
{
	int found = 0;

	if (fd < 0 || fd >= PRELOAD_FDS || preload_inside)
		return 0;
	pthread_mutex_lock(&nb_lock);
	if (pending[fd]) {
		*err = 0;	/* still in progress */
		found = 1;
	} else if (errs[fd]) {
		*err = errs[fd];
		errs[fd] = 0;
		found = 1;
	}
	pthread_mutex_unlock(&nb_lock);
	return found;
}

void connect_epoll(int epfd, int op, int fd, const void *ev)
{
	struct nbc *n;

	if (fd < 0 || fd >= PRELOAD_FDS || preload_inside)
		return;
	pthread_mutex_lock(&nb_lock);
	n = pending[fd];
	if (n) {
		int i;

		for (i = 0; i < n->nep && n->ep[i].epfd != epfd; i++)
			;
		if (op == EPOLL_CTL_DEL) {
			if (i < n->nep)
				n->ep[i] = n->ep[--n->nep];
		} else if (ev && (i < n->nep || n->nep < NB_EPOLL)) {
			n->ep[i].epfd = epfd;
			memcpy(&n->ep[i].ev, ev, sizeof(struct epoll_event));
			if (i == n->nep)
				n->nep++;
		}
	}
	pthread_mutex_unlock(&nb_lock);
}
