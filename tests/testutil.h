/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the tests: loopback TCP pairs, deterministic data,
 * and the rule for missing kernel TLS support (skip, reason "kTLS ...";
 * the test runner turns such skips into failures when CI=true).
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* Milliseconds on the monotonic clock, and a sleep in them. */
static inline int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A process's resident memory (VmRSS) in KiB, or -1. */
static inline long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * Connect two TCP sockets over 127.0.0.1. Returns 0 and fills fds[0]
 * (the connecting side) and fds[1] (the accepted side), or -errno.
 */
static inline int tcp_pair(int fds[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, c = -1, a = -1, err;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len))
		goto err;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
		goto err;
	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (a < 0)
		goto err;
	close(lfd);
	fds[0] = c;
	fds[1] = a;
	return 0;
err:
	err = -errno;
	if (c >= 0)
		close(c);
	close(lfd);
	return err;
}

/* Attach the "tls" upper layer protocol; -errno on failure. */
static inline int tcp_set_ulp_tls(int fd)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	return 0;
}

/* A byte stream that depends on the seed and the offset only. */
static inline void fill_pattern(void *buf, size_t len, uint64_t seed,
				uint64_t off)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull ^ seed;

		x ^= x >> 29;
		p[i] = (unsigned char)(x * 0xBF58476D1CE4E5B9ull >> 56);
	}
}

/* Offset of the first byte that differs from the pattern, or -1. */
static inline long long check_pattern(const void *buf, size_t len,
				      uint64_t seed, uint64_t off)
{
	unsigned char tmp[4096];
	size_t done = 0, n;

	while (done < len) {
		n = len - done < sizeof(tmp) ? len - done : sizeof(tmp);
		fill_pattern(tmp, n, seed, off + done);
		if (memcmp(tmp, (const unsigned char *)buf + done, n)) {
			size_t i;

			for (i = 0; i < n; i++)
				if (tmp[i] != ((const unsigned char *)buf)[done + i])
					return (long long)(off + done + i);
		}
		done += n;
	}
	return -1;
}

/* Read exactly len bytes (or until EOF/error); returns bytes read. */
static inline ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done ? (ssize_t)done : n;
		done += n;
	}
	return done;
}

static inline ssize_t write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += n;
	}
	return done;
}

/* Value of one counter in /proc/net/tls_stat, or -1. */
static inline long long tls_stat(const char *name)
{
	char key[64];
	long long val;
	FILE *f = fopen("/proc/net/tls_stat", "re");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &val) == 2) {
		if (!strcmp(key, name)) {
			fclose(f);
			return val;
		}
	}
	fclose(f);
	return -1;
}

/* Whether TCP_ULP "tls" works here, tried once per process. */
static inline int host_has_ktls(void)
{
	static int known = -1;
	int fds[2];

	if (known < 0 && !tcp_pair(fds)) {
		known = !tcp_set_ulp_tls(fds[0]);
		close(fds[0]);
		close(fds[1]);
	}
	return known == 1;
}

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
