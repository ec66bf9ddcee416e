// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Start-up: libc's own functions behind the ones we interpose, the
 * configuration, and the refusals (a set-id program, a configuration we
 * cannot read). A program the shim cannot serve safely does not run: it
 * would otherwise speak plaintext where TLS was asked for.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "preload.h"

struct preload_real real;
__thread int preload_inside;

#define RESOLVE(name) (*(void **)&real.name = dlsym(RTLD_NEXT, #name))

static void real_resolve(void)
{
	RESOLVE(listen);
	RESOLVE(accept4);
	RESOLVE(connect);
	RESOLVE(close);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(shutdown);
	RESOLVE(fcntl);
	RESOLVE(recvmsg);
	RESOLVE(recvfrom);
	RESOLVE(read);
	RESOLVE(readv);
	RESOLVE(getsockname);
	RESOLVE(getsockopt);
	RESOLVE(setsockopt);
	RESOLVE(epoll_ctl);
	if (!real.listen || !real.accept4 || !real.connect || !real.close ||
	    !real.dup || !real.dup2 || !real.dup3 || !real.shutdown ||
	    !real.fcntl || !real.recvmsg || !real.recvfrom || !real.read ||
	    !real.readv || !real.getsockname || !real.getsockopt ||
	    !real.epoll_ctl ||
	    !real.setsockopt) {
		preload_log("refused: libc's socket functions were not found");
		_exit(127);
	}
}

void preload_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "ktls-preload[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	if (write(2, line, n) < 0)
		return;		/* nowhere else to say it */
}

int preload_errno(int err)
{
	switch (-err) {
	case KTLS_E_ALERT:
	case KTLS_E_REKEY:
		return ECONNRESET;
	case KTLS_E_NO_KTLS:
	case KTLS_E_CIPHER:
		return EOPNOTSUPP;
	case KTLS_E_VERIFY:
	case KTLS_E_HANDSHAKE:
	case KTLS_E_CONFIG:
		return ECONNABORTED;
	}
	return err < 0 && -err < KTLS_E_BASE ? -err : EIO;
}

__attribute__((constructor)) static void preload_init(void)
{
	real_resolve();
	if (conf_load())
		_exit(127);
	if (conf_active() && getauxval(AT_SECURE)) {
		preload_log("refused: a set-id program (its environment is not trusted)");
		_exit(127);
	}
	fdtab_scan();
}

int preload_thread(void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	pthread_attr_t a;
	pthread_t t;
	int ret;

	sigfillset(&all);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&t, &a, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	return -ret;
}
