/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running real TLS peers (openssl, gnutls-cli/serv) from the tests: spawn
 * with pipes, wait for a port, read until a marker, make a test cert
 * (tests/lib/peers.c).
 */
#ifndef KTLS_PEERS_H
#define KTLS_PEERS_H

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

struct peer {
	pid_t pid;
	int in;		/* the peer's stdin */
	int out;	/* the peer's stdout (and stderr unless data_only) */
	int data_only;	/* set before spawning: stderr to /dev/null */
};

/* Start argv (searched in PATH) with its stdio on pipes; 0 or -errno. */
int peer_spawn(struct peer *p, char *const argv[]);

/* SIGTERM, reaped; its pipes closed. */
void peer_stop(struct peer *p);

/*
 * Read the peer's output into buf until it contains marker or the time
 * is up; returns 1 when found. buf keeps what was read.
 */
int peer_expect(struct peer *p, const char *marker, char *buf, size_t cap,
		int timeout_ms);

/*
 * Wait up to timeout_ms for the peer to exit; its exit status, 128+signal,
 * or -1 if it is still running (then it is left to peer_stop()).
 */
int peer_wait(struct peer *p, int timeout_ms);

/* A free loopback port (bound then released), or -1. */
int free_port(void);

/* Connect to 127.0.0.1:port, retrying while the server starts. */
int connect_retry(int port, int timeout_ms);

/*
 * Wait until something listens on TCP port (IPv4 or IPv6), without
 * connecting: a server started with "accept one connection" must not see
 * a probe. Reads /proc/net/tcp{,6}. 0, or -ETIMEDOUT.
 */
int wait_listen(int port, int timeout_ms);

/* A listening socket on 127.0.0.1 (*port gets its number), or -1. */
int listen_any(int *port);

/*
 * gnutls-serv --echo with the test certificate (make_test_cert()) on a
 * free port (*port), listening: 0, or -errno.
 */
int gnutls_serv_echo(struct peer *p, int *port);

/*
 * A program of the build (build/NAME), found from the test binary
 * (build/tests/vm/TEST), unless the environment variable env_name names
 * it. 0 or -errno.
 */
int build_tool_path(char *path, size_t size, const char *name,
		    const char *env_name);

/* build/ktlsctl ($KTLSCTL wins). */
int ktlsctl_path(char *path, size_t size);

/* build/ktlsd ($KTLSD wins). */
int ktlsd_path(char *path, size_t size);

#define TEST_CERT_DIR "/tmp/ktls-test-certs"
#define TEST_CERT TEST_CERT_DIR "/cert.pem"
#define TEST_KEY TEST_CERT_DIR "/key.pem"

/* A self-signed P-256 certificate for localhost and 127.0.0.1: 0 or -1. */
int make_test_cert(void);

#endif
