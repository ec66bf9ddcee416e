/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktls-preload.so: TLS through ktlsd for programs that have none
 * (docs/preload.md). Private to lib/preload/; nothing here is exported but
 * the libc functions it interposes (lib/preload/preload.map).
 */
#ifndef KTLS_PRELOAD_H
#define KTLS_PRELOAD_H

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <ktls.h>

#include "wire.h"	/* KTLS_SECRET_MAX */

#define PRELOAD_EXPORT __attribute__((visibility("default")))

/* ---- real.c: the functions we interpose, as libc has them ---- */
struct preload_real {
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*shutdown)(int, int);
	int (*fcntl)(int, int, ...);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *,
			    socklen_t *);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*epoll_ctl)(int, int, int, void *);
};
extern struct preload_real real;

/*
 * Set while the shim itself runs libktls on this thread: libktls's calls
 * to recvmsg(), shutdown(), close()... bind to our definitions too, and
 * must pass straight through to libc's.
 */
extern __thread int preload_inside;

/* One line on stderr, "ktls-preload: ..." (never key material). */
void preload_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A detached thread of the shim running fn(arg), with every signal blocked
 * (the program's signals stay the program's threads'). 0 or -errno.
 */
int preload_thread(void *(*fn)(void *), void *arg);

/* ---- conf.c: KTLS_PRELOAD_ACCEPT and KTLS_PRELOAD_CONNECT ---- */
struct preload_accept {
	unsigned short port;
	char profile[64];
};

struct preload_connect {
	char host[256];		/* as written: a name or an address */
	unsigned short port;
	char profile[64];
};

/* Parse the environment once; 0, or -EINVAL after logging the reason. */
int conf_load(void);
/* The server profile for a listener on local port, or NULL. */
const char *conf_accept_profile(unsigned short port);
/*
 * The client profile for a connection to sa, or NULL; *name is the host
 * as configured when it is a name (SNI and the name to verify), else NULL.
 */
const char *conf_connect_profile(const struct sockaddr *sa, socklen_t len,
				 const char **name);
/* Whether anything is configured at all. */
int conf_active(void);

/* ---- fdtab.c: what the shim knows about each descriptor ---- */
struct preload_listener;

/*
 * What ktlsd negotiated for one connection, as the shim passes it on to
 * the table (through the accept pair, on the server side). The TLS 1.3
 * traffic secrets are there only when ktlsd said that this kernel takes
 * new keys (secret_len 0 otherwise): whoever holds a copy wipes it with
 * preload_hs_wipe() as soon as the table has it.
 */
struct preload_hs {
	int32_t version;	/* KTLS_TLS12/13 */
	uint32_t cipher;	/* KTLS_CIPHER_* */
	uint32_t secret_len;
	uint8_t secret_tx[KTLS_SECRET_MAX], secret_rx[KTLS_SECRET_MAX];
};

/* hs from a session ktlsd handed over (the secrets only if it can rekey). */
void preload_hs_from(struct preload_hs *hs, const struct ktls_session *s);
void preload_hs_wipe(struct preload_hs *hs);

/*
 * A kTLS connection handed over by ktlsd, shared by its dups. Its session
 * parses records, and holds the traffic secrets for the peer's KeyUpdate
 * where there are any: in the process that owns the connection only, and
 * wiped when the connection is closed, and at exit.
 */
struct preload_conn {
	struct ktls_session *s;	/* adopted from ktlsd's reply */
	int refs;		/* descriptors of this process on it */
	int owned;		/* this process closes it (close_notify) */
};

#define PRELOAD_FDS 65536

/*
 * The session works on the descriptor it is given here: dups share it,
 * and the one it was adopted on may be closed by now.
 */
void fdtab_conn_at(struct preload_conn *c, int fd);

/* The connection behind fd, or NULL (no lock: a plain load). */
struct preload_conn *fdtab_conn(int fd);
/* The listener behind fd, or NULL. */
struct preload_listener *fdtab_listener(int fd);
/*
 * Record a new connection on fd (as ktlsd negotiated it, role
 * KTLS_SERVER/KTLS_CLIENT). 0, or -errno (fd then unchanged). The caller
 * still wipes hs.
 */
int fdtab_add_conn(int fd, const struct preload_hs *hs, int role);
void fdtab_set_listener(int fd, struct preload_listener *l);
/* fd is being closed: forget it; close_notify if it was the last one. */
void fdtab_forget(int fd);
/* newfd now refers to what oldfd does (dup, dup2, dup3, F_DUPFD). */
void fdtab_dup(int oldfd, int newfd);
/* At start-up: descriptors with kTLS that an exec left us. */
void fdtab_scan(void);

/* ---- accept.c: the server side ---- */
/* listen() on a configured port: 1 handled (ret in *ret), 0 not ours. */
int accept_listen(int fd, int backlog, int *ret);
/* accept4() on a shimmed listener. */
int accept_take(struct preload_listener *l, int fd, struct sockaddr *addr,
		socklen_t *len, int flags);
/* The TCP listener behind a shimmed listener fd. */
int accept_real_fd(const struct preload_listener *l);

/* ---- connect.c: the client side ---- */
/* connect() to a configured address: 1 handled (ret in *ret), 0 not ours. */
int connect_handle(int fd, const struct sockaddr *sa, socklen_t len,
		   int *ret);
/* TCP connect, waiting for it if the socket is non-blocking; 0 or -errno. */
int connect_tcp(int fd, const struct sockaddr *sa, socklen_t len);
/*
 * Hand connected fd to ktlsd; what it negotiated in *hs (always filled:
 * the caller wipes it). 0 or -errno.
 */
int connect_handshake(int fd, const char *profile, const char *name,
		      struct preload_hs *hs);

/* ---- nbconnect.c: the client side for non-blocking sockets ---- */
/* Start one: *ret -1, errno EINPROGRESS; 1. */
int connect_start(int fd, const struct sockaddr *sa, socklen_t len,
		  const char *profile, const char *name, int *ret);
/* A connect in progress on fd: its TCP socket for socket calls, or -1. */
int connect_pending_fd(int fd);
/* fd is closed or replaced: a connect in progress there is abandoned. */
void connect_forget(int fd);
/* getsockopt(SO_ERROR) on fd, if the shim answers it: 1 (*err set). */
int connect_so_error(int fd, int *err);
/* epoll_ctl() on a connect in progress: remember it for the swap. */
void connect_epoll(int epfd, int op, int fd, const void *ev);

/* ---- recv.c: reads on shimmed connections ---- */
ssize_t recv_conn(struct preload_conn *c, int fd, const struct iovec *iov,
		  int iovcnt, int flags);

/* errno for a libktls error (KTLS_E_* included). */
int preload_errno(int err);

#endif
