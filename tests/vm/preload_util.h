/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the tests of libktls-preload.so (tests/vm/preload*.c) share
 * (tests/vm/preload_util.c): ktlsd's profiles, files of a known pattern,
 * programs started under the shim, and a relay that records what a
 * client puts on the wire.
 */
#ifndef KTLS_PRELOAD_UTIL_H
#define KTLS_PRELOAD_UTIL_H

#include <pthread.h>

#include "ktlsd_proc.h"

/* "web": a server profile; "out": a client that trusts the test cert. */
#define PRELOAD_PROFILES						\
	"[profile web]\n"						\
	"role = server\n"						\
	"certificate = " TEST_CERT "\n"					\
	"key = " TEST_KEY "\n"						\
	"handshake_timeout = 60000\n"					\
	"\n"								\
	"[profile out]\n"						\
	"role = client\n"						\
	"ca = " TEST_CERT "\n"						\
	"server_name = localhost\n"					\
	"handshake_timeout = 60000\n"

/* Write len bytes of pattern seed to dir/name: 0 or -errno. */
int put_file(const char *dir, const char *name, size_t len, uint64_t seed);

/* -1 if path holds exactly len bytes of pattern seed, else where not (-2: size). */
long long file_differs(const char *path, size_t len, uint64_t seed);

/* Whether prog is in PATH. */
int have(const char *prog);

/*
 * Skip a test whose program this root lacks, unless KTLSD_PRELOAD_REQUIRED;
 * and under a sanitizer, whose shim cannot go into other programs.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NEED(prog)							\
	SKIP(return, "preload: a sanitized shim cannot be preloaded")
#else
#define NEED(prog)							\
	do {								\
		if (!have(prog) && !getenv("KTLSD_PRELOAD_REQUIRED"))	\
			SKIP(return, "preload: no %s in this root", prog); \
	} while (0)
#endif

/* A shell command line in the background (its own process group), output to log. */
pid_t server_start(const char *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* SIGTERM, then SIGKILL after 10 s; reaped. */
void server_stop(pid_t pid);

/*
 * A TCP relay on 127.0.0.1:port to 127.0.0.1:to, one connection after
 * another, that keeps the first cap bytes each client sent (the "wire").
 */
struct relay {
	int lfd, port, to;
	volatile int stop;
	pthread_t t;
	pthread_mutex_t lock;
	unsigned char wire[1 << 16];
	size_t len;		/* kept */
	size_t conns;		/* connections relayed */
};

int relay_start(struct relay *r, int to);
void relay_stop(struct relay *r);
/* Whether the client's bytes hold needle (under the lock). */
int relay_saw(struct relay *r, const char *needle);

#endif
