/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running real TLS peers (openssl, gnutls-cli/serv) from the tests: spawn
 * with pipes, wait for a port, read until a marker, make a test cert.
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

/* Start argv (searched in PATH) with its stdio on pipes. */
static inline int peer_spawn(struct peer *p, char *const argv[])
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(p->data_only ? null : out[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	return 0;
}

static inline void peer_stop(struct peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
	}
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0)
		close(p->out);
	p->pid = -1;
	p->in = p->out = -1;
}

/*
 * Read the peer's output into buf until it contains marker or the time
 * is up; returns 1 when found. buf keeps what was read.
 */
static inline int peer_expect(struct peer *p, const char *marker, char *buf,
			      size_t cap, int timeout_ms)
{
	size_t len = strlen(buf);
	struct pollfd pfd = { .fd = p->out, .events = POLLIN };

	while (!strstr(buf, marker)) {
		ssize_t n;

		if (timeout_ms <= 0 || poll(&pfd, 1, 100) < 0)
			return 0;
		timeout_ms -= 100;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (len + 1 >= cap)
			len = 0;	/* keep looking in fresh space */
		n = read(p->out, buf + len, cap - 1 - len);
		if (n <= 0)
			return 0;
		len += n;
		buf[len] = 0;
	}
	return 1;
}

/* A free loopback port (bound then released). */
static inline int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Connect to 127.0.0.1:port, retrying while the server starts. */
static inline int connect_retry(int port, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (; timeout_ms > 0; timeout_ms -= 50) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/*
 * Wait until something listens on TCP port (IPv4 or IPv6), without
 * connecting: a server started with "accept one connection" must not see
 * a probe. Reads /proc/net/tcp{,6}. 0, or -ETIMEDOUT.
 */
static inline int wait_listen(int port, int timeout_ms)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	char line[512];
	unsigned lport, state;
	size_t i;

	for (; timeout_ms > 0; timeout_ms -= 50) {
		for (i = 0; i < 2; i++) {
			FILE *f = fopen(files[i], "re");

			while (f && fgets(line, sizeof(line), f)) {
				char *c = strchr(line, ':');

				/* "sl: local_addr:port rem_addr:port st ..." */
				if (!c || !(c = strchr(c + 1, ':')) ||
				    sscanf(c + 1, "%x %*s %x", &lport, &state) != 2)
					continue;
				if ((int)lport == port && state == 0x0A) {
					fclose(f);
					return 0;
				}
			}
			if (f)
				fclose(f);
		}
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/* A listening socket on 127.0.0.1; *port gets its number. */
static inline int listen_any(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 4) || getsockname(fd, (struct sockaddr *)&sa, &len))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

/*
 * Wait up to timeout_ms for the peer to exit; its exit status, 128+signal,
 * or -1 if it is still running (then it is left to peer_stop()).
 */
static inline int peer_wait(struct peer *p, int timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int status;

	for (; timeout_ms > 0; timeout_ms -= 20) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid) {
			p->pid = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		}
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * A program of the build (build/NAME), found from the test binary
 * (build/tests/vm/TEST), unless the environment variable env names it.
 */
static inline int build_tool_path(char *path, size_t size, const char *name,
				  const char *env_name)
{
	char self[PATH_MAX];
	const char *env = getenv(env_name);
	ssize_t n;

	if (env && *env) {
		snprintf(path, size, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = '\0';
	snprintf(path, size, "%s/../../%s", dirname(self), name);
	return 0;
}

/* build/ktlsctl ($KTLSCTL wins). */
static inline int ktlsctl_path(char *path, size_t size)
{
	return build_tool_path(path, size, "ktlsctl", "KTLSCTL");
}

/* build/ktlsd ($KTLSD wins). */
static inline int ktlsd_path(char *path, size_t size)
{
	return build_tool_path(path, size, "ktlsd", "KTLSD");
}

#define TEST_CERT_DIR "/tmp/ktls-test-certs"
#define TEST_CERT TEST_CERT_DIR "/cert.pem"
#define TEST_KEY TEST_CERT_DIR "/key.pem"

/* A self-signed P-256 certificate for localhost and 127.0.0.1. */
static inline int make_test_cert(void)
{
	if (!access(TEST_CERT, R_OK) && !access(TEST_KEY, R_OK))
		return 0;
	mkdir(TEST_CERT_DIR, 0700);
	return system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
		      " -nodes -days 2 -subj /CN=localhost"
		      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
		      " -keyout " TEST_KEY " -out " TEST_CERT " 2>/dev/null") ? -1 : 0;
}

#endif
