/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the tests (tests/lib/testutil.c): loopback TCP pairs,
 * deterministic data, clocks, counters of this machine, and the rule for
 * missing kernel TLS support (skip, reason "kTLS ..."; the test runner
 * turns such skips into failures when CI=true). Also the system headers
 * that nearly every test needs.
 */
#ifndef KTLS_TESTUTIL_H
#define KTLS_TESTUTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* Milliseconds on the monotonic clock, and a sleep in them. */
int64_t ms_now(void);

/*
 * A shell command made like printf's format, run with system(): its exit
 * status, or 128 when it did not exit normally.
 */
int __attribute__((format(printf, 1, 2))) run_shell(const char *fmt, ...);
void sleep_ms(int ms);

/*
 * At the start of a test body whose fixture's setup may SKIP: the 6.1
 * kselftest harness runs the body even then.
 */
#define RETURN_IF_SKIPPED() do { if (_metadata->skip) return; } while (0)

/* The number after "key:" in /proc/PID/status ("VmRSS", "Threads"), or -1. */
long proc_status(pid_t pid, const char *key);
/* A process's resident memory (VmRSS) in KiB, or -1. */
long proc_rss_kib(pid_t pid);

/*
 * At least want open descriptors for this process and what it starts:
 * raises the soft limit, and the hard one too where that is allowed
 * (root). 0; or -errno, the soft limit then raised to the hard one.
 */
int raise_nofile(rlim_t want);

/*
 * Connect two TCP sockets over 127.0.0.1. Returns 0 and fills fds[0]
 * (the connecting side) and fds[1] (the accepted side), or -errno.
 */
int tcp_pair(int fds[2]);

/* Attach the "tls" upper layer protocol; -errno on failure. */
int tcp_set_ulp_tls(int fd);

/* A byte stream that depends on the seed and the offset only. */
void fill_pattern(void *buf, size_t len, uint64_t seed, uint64_t off);
/*
 * len - 1 hex digits from fill_pattern()'s bytes, then a newline: a line
 * that no command letter of openssl s_server or s_client starts.
 */
void hex_line(char *buf, size_t len, uint64_t seed);

/* Offset of the first byte that differs from the pattern, or -1. */
long long check_pattern(const void *buf, size_t len, uint64_t seed,
			uint64_t off);

/* Read exactly len bytes (or until EOF/error); returns bytes read. */
ssize_t read_full(int fd, void *buf, size_t len);

/* Write all of buf (retrying after EINTR): len, or -1. */
ssize_t write_full(int fd, const void *buf, size_t len);

/* Value of one counter in /proc/net/tls_stat, or -1. */
long long tls_stat(const char *name);

/* Whether TCP_ULP "tls" works here, tried once per process. */
int host_has_ktls(void);

/*
 * tests/check runs the PSK tests once more with a GnuTLS that binds PSKs
 * with SHA-384 and KTLSD_PSK_SHA384_REQUIRED=1: there, a test that finds
 * no such support (supported 0) fails instead of taking the other path.
 */
#define ASSERT_PSK_SHA384_UNLESS_OPTIONAL(supported)			\
	ASSERT_TRUE((supported) || !getenv("KTLSD_PSK_SHA384_REQUIRED"))	\
		TH_LOG("KTLSD_PSK_SHA384_REQUIRED, but the GnuTLS loaded "	\
		       "cannot bind a PSK with SHA-384")

/* For libktls tests: the session's explanation of its failure says phrase. */
#define ASSERT_ERROR_HAS(s, phrase)					\
	ASSERT_NE(NULL, strstr(ktls_session_error(s), phrase))		\
		TH_LOG("error text: \"%s\"", ktls_session_error(s))

/* The end failed with err, and its explanation says phrase. */
#define ASSERT_FAILED(err, ret, s, phrase) do {				\
	ASSERT_EQ(err, ret) TH_LOG("%s", ktls_session_error(s));	\
	ASSERT_ERROR_HAS(s, phrase);					\
} while (0)

#endif
