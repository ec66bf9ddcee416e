// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key process of the configuration harnesses, as a thread: linked
 * into the libFuzzer targets only (make fuzz), with
 * -Wl,--wrap=keyproc_spawn,--wrap=keyproc_put. ktlsd starts its key
 * process by running its own executable again; for a fuzz target that is
 * a second sanitized process per input, which cost more than all the
 * parsing (about 30 inputs a second). Here the same server
 * (keyproc_srv_handle()) answers the same requests over the same
 * SOCK_SEQPACKET connection, from a thread: what the configuration sends
 * and what the server makes of it both run under the fuzzer's coverage
 * and sanitizers. The replay tests (make check) keep the real process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktlsd.h"
#include "keyproc.h"

void __real_keyproc_put(struct keyproc *kp);
int __real_keyproc_spawn(struct keyproc **out);
int __wrap_keyproc_spawn(struct keyproc **out);
void __wrap_keyproc_put(struct keyproc *kp);

/*
 * One thread for the whole run, serving one connection at a time: a
 * thread per input would leave its thread-local state (glibc's, GnuTLS's
 * random generator's) behind each time, and libFuzzer then looks for a
 * leak after every input.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static pthread_t server;
static int started, pending = -1, busy;
static struct keyproc *serving;

/* keyproc_srv_run()'s loop, without what it does to the process. */
static void serve(int fd)
{
	static uint8_t msg[KP_MSG_MAX + 1], reply[KP_MSG_MAX];
	struct keyproc_srv *s = keyproc_srv_new();
	const char *why = "";
	size_t rlen = 0;
	ssize_t n;

	while (s) {
		n = recv(fd, msg, sizeof(msg), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || keyproc_srv_handle(s, msg, n, reply, &rlen, &why) ||
		    send(fd, reply, rlen, MSG_NOSIGNAL) < 0)
			break;
	}
	keyproc_srv_free(s);
	close(fd);
}

static void *server_main(void *arg)
{
	int fd;

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (pending < 0)
			pthread_cond_wait(&changed, &lock);
		fd = pending;
		pending = -1;
		pthread_mutex_unlock(&lock);
		serve(fd);
		pthread_mutex_lock(&lock);
		busy = 0;
		pthread_cond_broadcast(&changed);
	}
	return NULL;
}

int __wrap_keyproc_spawn(struct keyproc **out)
{
	struct keyproc *kp;
	int sv[2];

	pthread_mutex_lock(&lock);
	/* A second key process at once: a real one. */
	if (busy || (!started && pthread_create(&server, NULL, server_main,
						 NULL))) {
		pthread_mutex_unlock(&lock);
		return __real_keyproc_spawn(out);
	}
	started = 1;
	kp = calloc(1, sizeof(*kp));
	if (!kp || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		pthread_mutex_unlock(&lock);
		free(kp);
		return -ENOMEM;
	}
	keyproc_init(kp, sv[0]);
	serving = kp;
	busy = 1;
	pending = sv[1];
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	*out = kp;
	return 0;
}

/*
 * The last reference closes the connection: wait for its server to end,
 * so that what it allocated is freed within the input, as a process's
 * would be gone.
 */
void __wrap_keyproc_put(struct keyproc *kp)
{
	int last = kp && atomic_load(&kp->refs) == 1;

	__real_keyproc_put(kp);
	if (!last)
		return;
	pthread_mutex_lock(&lock);
	while (busy && serving == kp)
		pthread_cond_wait(&changed, &lock);
	pthread_mutex_unlock(&lock);
}
