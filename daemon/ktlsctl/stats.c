// SPDX-License-Identifier: GPL-2.0-or-later
/* ktlsctl stats: ktlsd's counters, from its control socket. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define CONTROL_SOCKET "/run/ktlsd/control.sock"

int ctl_stats(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = CONTROL_SOCKET, *cmd = "stats\n";
	char buf[4096];
	ssize_t n;
	int i, fd;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			cmd = "stats json\n";
		} else if (!strcmp(argv[i], "--prometheus")) {
			cmd = "stats prometheus\n";
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			path = argv[i] + 9;
		} else {
			fprintf(stderr, "usage: ktlsctl stats [--socket PATH] "
				"[--json | --prometheus]\n");
			return 2;
		}
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ktlsctl: %s: path too long\n", path);
		return 2;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "ktlsctl: cannot reach ktlsd's control socket "
			"%s: %s%s\n", path, strerror(errno),
			errno == EACCES ? " (it answers root only)" :
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is ktlsd running?)" : "");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		perror("ktlsctl: writing to ktlsd");
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	close(fd);
	if (n < 0) {
		perror("ktlsctl: reading from ktlsd");
		return 1;
	}
	return 0;
}
