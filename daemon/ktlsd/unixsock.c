// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Unix stream sockets ktlsd listens on (handoff, control): bound at a
 * path from the configuration, with its mode and group. A socket file left
 * behind by a ktlsd that died is replaced; one where a process still
 * answers is not, so the callers ask unixsock_answers() first.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ktlsd.h"

/* path as a socket address: 0, or -ENAMETOOLONG. */
static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int unixsock_answers(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret;

	if (unix_addr(path, &sa))
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ret = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ret;
}

int unixsock_listen(const char *path, mode_t mode, gid_t gid, int backlog)
{
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, err;

	err = unix_addr(path, &sa);
	if (err)
		return err;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			log_warn("creating %s: %m", dir);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, mode) ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid)) ||
	    listen(fd, backlog)) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}
