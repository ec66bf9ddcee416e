// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Finding ktlsd's handshake process (comm "ktlsd-hs", a child of the
 * supervisor) from /proc: for the tests and the bench alike, so nothing
 * here needs the test harness.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsproc.h"

const char *proc_stat(pid_t pid, char *buf, size_t len, char *comm,
		      size_t comm_len)
{
	char path[64], *lp, *rp;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	lp = strchr(buf, '(');
	rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp || !rp[1])
		return NULL;
	if (comm)
		snprintf(comm, comm_len, "%.*s", (int)(rp - lp - 1), lp + 1);
	return rp + 2;
}

/* ppid, comm and start time of pid; 0 or -1. */
static int ppid_comm_start(pid_t pid, pid_t *ppid, char *comm, size_t len,
			   unsigned long long *start)
{
	char buf[1024];
	const char *p = proc_stat(pid, buf, sizeof(buf), comm, len);
	int i;

	/* state (3), ppid (4), ... starttime (22). */
	if (!p || sscanf(p, "%*c %d", ppid) != 1)
		return -1;
	for (i = 3; i < 22 && p; i++)
		p = strchr(p + 1, ' ');
	return p && sscanf(p + 1, "%llu", start) == 1 ? 0 : -1;
}

pid_t child_named(pid_t parent, const char *name)
{
	unsigned long long start, newest = 0;
	DIR *dir = opendir("/proc");
	struct dirent *e;
	pid_t pid, ppid, found = -1;
	char comm[32];

	while (dir && (e = readdir(dir))) {
		pid = atoi(e->d_name);
		if (pid <= 0 || ppid_comm_start(pid, &ppid, comm, sizeof(comm), &start))
			continue;
		if (ppid == parent && !strcmp(comm, name) &&
		    start >= newest) {
			newest = start;
			found = pid;
		}
	}
	if (dir)
		closedir(dir);
	return found;
}

pid_t hs_pid(pid_t supervisor)
{
	return child_named(supervisor, "ktlsd-hs");
}

pid_t child_wait(pid_t parent, const char *name, pid_t not, int timeout_ms)
{
	pid_t pid;
	int waited;

	for (waited = 0;; waited += 5) {
		pid = child_named(parent, name);
		if ((pid > 0 && pid != not) || waited >= timeout_ms)
			return pid != not ? pid : -1;
		usleep(5000);
	}
}

pid_t hs_wait(pid_t supervisor, pid_t not, int timeout_ms)
{
	return child_wait(supervisor, "ktlsd-hs", not, timeout_ms);
}

int proc_maps_have(pid_t pid, const char *s)
{
	char path[64], line[512];
	int found = 0;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = !!strstr(line, s);
	fclose(f);
	return found;
}
