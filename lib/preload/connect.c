// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The client side, blocking: connect() to a configured address connects,
 * then hands the socket to ktlsd with the client profile, and returns only
 * when kTLS is on it: the program's first write goes out encrypted. On
 * failure the socket is shut down in both directions before connect()
 * returns -1, so that nothing can go out in plaintext, whatever the
 * program does next. A non-blocking socket: nbconnect.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

static pthread_mutex_t h_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ktls_handoff *h;
static pid_t h_pid;

/* The process's connection to ktlsd (not the parent's after fork). */
static int handoff_get(void)
{
	int ret;

	if (h && h_pid == getpid())
		return 0;
	h = NULL;	/* a parent's: its socket closes with our exec/exit */
	ret = ktls_handoff_open(&h, NULL);
	if (ret)
		h = NULL;
	h_pid = getpid();
	return ret;
}

int connect_tcp(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t el = sizeof(int);
	int err = 0;

	if (!real.connect(fd, sa, len))
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	if (real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
		return -errno;
	return -err;
}

int connect_handshake(int fd, const char *profile, const char *name,
		      struct preload_hs *hs)
{
	struct ktls_handoff_req req = {
		.size = sizeof(req), .profile = profile, .server_name = name,
	};
	struct ktls_session *s = NULL;
	int ret, fl = real.fcntl(fd, F_GETFL);

	real.fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);	/* ktlsd's copy too */
	pthread_mutex_lock(&h_lock);
	preload_inside++;
	ret = handoff_get();
	if (ret) {
		preload_log("connect refused: no ktlsd at its handoff socket (%s)",
			    strerror(-ret));
		ret = -ECONNREFUSED;
	} else {
		ret = ktls_handoff(h, fd, &req, &s);
		if (ret)
			preload_log("connect refused: TLS with profile %s failed: %s",
				    profile, ktls_handoff_error(h));
		if (ret == -ECONNRESET || ret == -EPROTO) {
			ktls_handoff_close(h);
			h = NULL;
		}
	}
	preload_inside--;
	pthread_mutex_unlock(&h_lock);
	real.fcntl(fd, F_SETFL, fl);
	memset(hs, 0, sizeof(*hs));
	if (ret)
		return ret;
	if (ktls_session_early_data(s, &(const void *){ NULL }))
		ret = -EPROTO;	/* bytes we could not give the program */
	else
		preload_hs_from(hs, s);
	preload_inside++;
	ktls_session_free(s);	/* wipes its copy of the secrets */
	preload_inside--;
	return ret;
}

int connect_handle(int fd, const struct sockaddr *sa, socklen_t len,
		   int *ret)
{
	const char *name = NULL, *profile;
	struct preload_hs hs;
	int type = 0, err;
	socklen_t tl = sizeof(type);

	if (preload_inside)
		return 0;
	profile = conf_connect_profile(sa, len, &name);
	if (!profile || real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) ||
	    type != SOCK_STREAM)
		return 0;
	if (real.fcntl(fd, F_GETFL) & O_NONBLOCK)
		return connect_start(fd, sa, len, profile, name, ret);
	err = connect_tcp(fd, sa, len);
	if (!err)
		err = connect_handshake(fd, profile, name, &hs);
	if (!err)
		err = fdtab_add_conn(fd, &hs, KTLS_CLIENT);
	preload_hs_wipe(&hs);
	if (err) {
		shutdown(fd, SHUT_RDWR);
		errno = preload_errno(err);
		*ret = -1;
		return 1;
	}
	*ret = 0;
	return 1;
}
