// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Other programs in the tests: TLS peers on pipes, ports to wait for,
 * programs of the build, the test certificate.
 */
#include "peers.h"

int peer_spawn(struct peer *p, char *const argv[])
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

void peer_stop(struct peer *p)
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

int peer_expect(struct peer *p, const char *marker, char *buf, size_t cap,
		int timeout_ms)
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

int peer_wait(struct peer *p, int timeout_ms)
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

int free_port(void)
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

int connect_retry(int port, int timeout_ms)
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

/* Whether file (/proc/net/tcp or tcp6) has a socket listening on port. */
static int listed_listening(const char *file, int port)
{
	FILE *f = fopen(file, "re");
	unsigned lport, state;
	char line[512];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		/* "sl: local_addr:port rem_addr:port st ..." */
		if (!c || !(c = strchr(c + 1, ':')) ||
		    sscanf(c + 1, "%x %*s %x", &lport, &state) != 2)
			continue;
		found = (int)lport == port && state == 0x0A;
	}
	if (f)
		fclose(f);
	return found;
}

int wait_listen(int port, int timeout_ms)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	for (; timeout_ms > 0; timeout_ms -= 50) {
		if (listed_listening("/proc/net/tcp", port) ||
		    listed_listening("/proc/net/tcp6", port))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int listen_any(int *port)
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

int build_tool_path(char *path, size_t size, const char *name,
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

int ktlsctl_path(char *path, size_t size)
{
	return build_tool_path(path, size, "ktlsctl", "KTLSCTL");
}

int ktlsd_path(char *path, size_t size)
{
	return build_tool_path(path, size, "ktlsd", "KTLSD");
}

int make_test_cert(void)
{
	if (!access(TEST_CERT, R_OK) && !access(TEST_KEY, R_OK))
		return 0;
	mkdir(TEST_CERT_DIR, 0700);
	return system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
		      " -nodes -days 2 -subj /CN=localhost"
		      " -addext subjectAltName=DNS:localhost,IP:127.0.0.1"
		      " -keyout " TEST_KEY " -out " TEST_CERT " 2>/dev/null") ? -1 : 0;
}

int gnutls_serv_echo(struct peer *p, int *port)
{
	char ps[16];
	char *argv[] = { "gnutls-serv", "--echo", "-p", ps, "--x509certfile",
			 TEST_CERT, "--x509keyfile", TEST_KEY, NULL };
	int ret;

	*port = free_port();
	if (*port < 0)
		return -EADDRNOTAVAIL;
	snprintf(ps, sizeof(ps), "%d", *port);
	ret = peer_spawn(p, argv);
	return ret ? ret : wait_listen(*port, 10000);
}
