// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers shared by the tests and the bench: clocks, descriptors and
 * memory of processes, loopback TCP pairs, whole reads and writes,
 * deterministic data, and whether this kernel has kTLS.
 */
#include <stdarg.h>
#include <sys/wait.h>

#include "testutil.h"

int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

long proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

long proc_rss_kib(pid_t pid)
{
	return proc_status(pid, "VmRSS");
}

int raise_nofile(rlim_t want)
{
	struct rlimit r;
	int err;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return -errno;
	if (r.rlim_cur >= want)
		return 0;
	r.rlim_cur = want;
	if (r.rlim_max < want)
		r.rlim_max = want;
	if (!setrlimit(RLIMIT_NOFILE, &r))
		return 0;
	/* Not allowed to raise the hard limit: as far as it goes. */
	err = -errno;
	if (!getrlimit(RLIMIT_NOFILE, &r)) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	return err;
}

int tcp_pair(int fds[2])
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

int tcp_set_ulp_tls(int fd)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls")))
		return -errno;
	return 0;
}

void fill_pattern(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t x = (off + i) * 0x9E3779B97F4A7C15ull ^ seed;

		x ^= x >> 29;
		p[i] = (unsigned char)(x * 0xBF58476D1CE4E5B9ull >> 56);
	}
}

void hex_line(char *buf, size_t len, uint64_t seed)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	fill_pattern(buf, len, seed, 0);
	for (i = 0; i < len - 1; i++)
		buf[i] = hex[(unsigned char)buf[i] & 15];
	buf[len - 1] = '\n';
}

long long check_pattern(const void *buf, size_t len, uint64_t seed,
			uint64_t off)
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

ssize_t read_full(int fd, void *buf, size_t len)
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

ssize_t write_full(int fd, const void *buf, size_t len)
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

long long tls_stat(const char *name)
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

int host_has_ktls(void)
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

int run_shell(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
