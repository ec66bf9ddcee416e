// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The service manager's side channels, spoken directly rather than
 * through libsystemd: sd_notify(3) datagrams ("READY=1", "RELOADING=1",
 * "STOPPING=1", "STATUS=...") and sd_listen_fds(3) socket activation. Both
 * are a few lines of documented protocol, and ktlsd then runs the same
 * under any init system.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ktlsd.h"

#define LISTEN_FDS_START 3

void notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd, saved = errno;

	if (!path || !state || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	/* An abstract name is its bytes exactly, with no terminator. */
	if (len > sizeof(sa.sun_path) ||
	    (path[0] == '/' && len == sizeof(sa.sun_path)))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	/* Nothing to do if the manager is gone: it can no longer care. */
	sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       offsetof(struct sockaddr_un, sun_path) + len);
	close(fd);
out:
	errno = saved;
}

/* A decimal number that is all of s, in 1..max; else -1. */
static long env_number(const char *name, long max)
{
	const char *s = getenv(name);
	char *end;
	long n;

	if (!s || !*s)
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n < 1 || n > max)
		return -1;
	return n;
}

/*
 * $LISTEN_FDNAMES (colon-separated, in descriptor order) into names[i]
 * for i < max: copies (NULL where none), or nothing when unset.
 */
static void fd_names(char **names, long max)
{
	const char *s = getenv("LISTEN_FDNAMES");
	size_t len;
	long i;

	for (i = 0; s && i < max; i++) {
		len = strcspn(s, ":");
		names[i] = len ? strndup(s, len) : NULL;
		s = s[len] ? s + len + 1 : NULL;
	}
}

int notify_listen_fds_named(char **names, int max)
{
	long pid = env_number("LISTEN_PID", LONG_MAX);
	long n = env_number("LISTEN_FDS", INT_MAX - LISTEN_FDS_START);
	long i;

	if (names && pid == getpid() && n > 0)
		fd_names(names, n < max ? n : max);
	/* Children must not take them for theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid != getpid() || n < 1)
		return 0;
	for (i = 0; i < n; i++) {
		int fd = LISTEN_FDS_START + i;
		int flags = fcntl(fd, F_GETFD);

		if (flags < 0) {
			log_warn("LISTEN_FDS=%ld, but descriptor %d is not open: "
				 "ignoring socket activation", n, fd);
			return 0;
		}
		if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC))
			return 0;
	}
	return n;
}
