// SPDX-License-Identifier: GPL-2.0-or-later
/* Helpers of the libktls-preload.so tests (tests/vm/preload_util.h). */
#define KTLS_TEST_HELPER
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "preload_util.h"

int put_file(const char *dir, const char *name, size_t len, uint64_t seed)
{
	char path[256];
	char *buf = malloc(len ? len : 1);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fill_pattern(buf, len, seed, 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_full(fd, buf, len) != (ssize_t)len)
		ret = -EIO;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

long long file_differs(const char *path, size_t len, uint64_t seed)
{
	char *buf = malloc(len + 1);
	long long at = -2;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && buf && read_full(fd, buf, len + 1) == (ssize_t)len)
		at = check_pattern(buf, len, seed, 0);
	if (fd >= 0)
		close(fd);
	free(buf);
	return at;
}

int have(const char *prog)
{
	return !run_shell("command -v %s >/dev/null 2>&1", prog);
}

pid_t server_start(const char *log, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

void server_stop(pid_t pid)
{
	int64_t end = ms_now() + 10000;
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (ms_now() > end) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		sleep_ms(50);
	}
}

static void keep(struct relay *r, const unsigned char *p, size_t n)
{
	pthread_mutex_lock(&r->lock);
	if (n > sizeof(r->wire) - r->len)
		n = sizeof(r->wire) - r->len;
	memcpy(r->wire + r->len, p, n);
	r->len += n;
	pthread_mutex_unlock(&r->lock);
}

/* Both ways until both ends have closed. */
static void shuttle(struct relay *r, int c, int s)
{
	struct pollfd p[2] = { { .fd = c, .events = POLLIN },
			       { .fd = s, .events = POLLIN } };
	unsigned char buf[16384];

	while ((p[0].fd >= 0 || p[1].fd >= 0) && !r->stop) {
		if (poll(p, 2, 200) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				shutdown(i ? c : s, SHUT_WR);
				p[i].fd = -1;
				continue;
			}
			if (!i)
				keep(r, buf, n);
			if (write_full(i ? c : s, buf, n) != n)
				p[i].fd = -1;
		}
	}
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;

	while (!r->stop) {
		struct pollfd p = { .fd = r->lfd, .events = POLLIN };
		int c, s;

		if (poll(&p, 1, 100) <= 0)
			continue;
		c = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		s = connect_retry(r->to, 5000);
		if (s >= 0) {
			shuttle(r, c, s);
			close(s);
		}
		close(c);
		r->conns++;
	}
	return NULL;
}

int relay_start(struct relay *r, int to)
{
	r->to = to;
	r->stop = 0;
	r->len = r->conns = 0;
	pthread_mutex_init(&r->lock, NULL);
	r->lfd = listen_any(&r->port);
	if (r->lfd < 0)
		return -1;
	return -pthread_create(&r->t, NULL, relay_main, r);
}

void relay_stop(struct relay *r)
{
	r->stop = 1;
	pthread_join(r->t, NULL);
	close(r->lfd);
}

int relay_saw(struct relay *r, const char *needle)
{
	int found;

	pthread_mutex_lock(&r->lock);
	found = memmem(r->wire, r->len, needle, strlen(needle)) != NULL;
	pthread_mutex_unlock(&r->lock);
	return found;
}
