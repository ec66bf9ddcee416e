// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ktlsd of a test: its configuration and log files, its start and its
 * stop, and what its log says.
 */
#define KTLS_TEST_HELPER
#include "ktlsd_proc.h"

#include <dirent.h>
#include <pwd.h>

int write_file(const struct daemon *d, const char *text)
{
	char tmp[160];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", d->conf);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write_full(fd, text, strlen(text)) < 0 || close(fd))
		return -errno;
	return rename(tmp, d->conf) ? -errno : 0;
}

const char *test_user_line(void)
{
	/* The VM has a ktlsd user (tests/vm/stage2); a bare host may not. */
	return getpwnam("ktlsd") ? "" : "user = nobody\n";
}

int write_conf(const struct daemon *d, const char *more)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "[ktlsd]\n"
		 "socket = %s\n"
		 "socket_mode = 0666\n"
		 "log = stderr\n"
		 "log_level = info\n"
		 "max_inflight = %u\n"
		 "%s%s"
		 "\n%s\n%s", d->sock, d->max_inflight, test_user_line(),
		 d->ktlsd_keys ? d->ktlsd_keys : "", d->profiles, more);
	return write_file(d, text);
}

/* A whole file, NUL-terminated (free it), or NULL. */
static char *read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc(st.st_size + 1);
	n = buf ? read_full(fd, buf, st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

char *log_read(const struct daemon *d)
{
	return read_file(d->log);
}

const char *log_tail(const struct daemon *d)
{
	static char tail[3000];
	char *all = log_read(d);
	size_t len;

	if (!all)
		return "(no log)";
	len = strlen(all);
	snprintf(tail, sizeof(tail), "%s",
		 all + (len > sizeof(tail) - 1 ? len - (sizeof(tail) - 1) : 0));
	free(all);
	return tail;
}

int log_count(const struct daemon *d, const char *needle)
{
	char *all = log_read(d), *p;
	int n = 0;

	for (p = all; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(all);
	return n;
}

int daemon_alive(struct daemon *d)
{
	int status;

	if (d->pid <= 0)
		return 0;
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->early_status = status;
		d->pid = -1;
		return 0;
	}
	return 1;
}

int log_wait(struct daemon *d, const char *needle, int count, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;
	int n;

	for (;;) {
		n = log_count(d, needle);
		if (n >= count || ms_now() >= end || !daemon_alive(d))
			return n;
		sleep_ms(20);
	}
}

int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/*
 * make memcheck (KTLSD_VALGRIND=1): ktlsd under valgrind's memcheck, and
 * so every process it forks or spawns, each logging to DIR/memcheck.PID;
 * definite leaks count as errors.
 */
static void exec_ktlsd(const struct daemon *d, const char *bin)
{
	char logs[PATH_MAX];

	if (!getenv("KTLSD_VALGRIND"))
		execl(bin, "ktlsd", "-f", "-c", d->conf, (char *)NULL);
	snprintf(logs, sizeof(logs), "--log-file=%s/memcheck.%%p", d->dir);
	execlp("valgrind", "valgrind", "--trace-children=yes",
	       "--leak-check=full", "--show-leak-kinds=definite",
	       "--errors-for-leak-kinds=definite", "--num-callers=30", logs,
	       bin, "-f", "-c", d->conf, (char *)NULL);
}

/*
 * The first memcheck log of the test's ktlsd processes that reports an
 * error, or that has no final summary within 30 s (a process that did not
 * end); NULL when all are clean or memcheck was not used.
 */
static const char *memcheck_report(const struct daemon *d)
{
	static char report[6000];
	int64_t end = ms_now() + 30000;
	char path[PATH_MAX], *all;
	struct dirent *e;
	int bad = 0;
	DIR *dir;

	if (!getenv("KTLSD_VALGRIND") || !(dir = opendir(d->dir)))
		return NULL;
	while (!bad && (e = readdir(dir))) {
		if (strncmp(e->d_name, "memcheck.", 9))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->dir, e->d_name);
		while (!(all = read_file(path)) || !strstr(all, "ERROR SUMMARY")) {
			free(all);
			all = NULL;
			if (ms_now() >= end)
				break;
			sleep_ms(100);
		}
		bad = !all || !strstr(all, "ERROR SUMMARY: 0 errors");
		if (bad)
			snprintf(report, sizeof(report), "%s: %s", e->d_name,
				 all ? all : "no summary: the process did not end");
		free(all);
	}
	closedir(dir);
	return bad ? report : NULL;
}

void daemon_start(struct __test_metadata *_metadata, struct daemon *d,
		  const char *profiles, unsigned max_inflight)
{
	char bin[PATH_MAX];
	int ready;

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, make_test_cert());
	ASSERT_EQ(0, ktlsd_path(bin, sizeof(bin)));
	ASSERT_EQ(0, access(bin, X_OK)) TH_LOG("no ktlsd at %s (make)", bin);
	/* Enough descriptors for a thousand TCP pairs, here and in ktlsd. */
	raise_nofile(16384);
	strcpy(d->dir, "/tmp/ktlsd-test-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(d->dir));
	snprintf(d->conf, sizeof(d->conf), "%s/ktlsd.conf", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/handoff.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/ktlsd.log", d->dir);
	d->max_inflight = max_inflight;
	d->profiles = profiles;
	ASSERT_EQ(0, write_conf(d, ""));
	d->pid = fork();
	ASSERT_LE(0, d->pid);
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		exec_ktlsd(d, bin);
		_exit(127);
	}
	ready = log_wait(d, "ready:", 1, 20000 * DAEMON_SLOW);
	if (!ready && d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = -1;
	}
	ASSERT_EQ(1, ready) TH_LOG("ktlsd did not start: %s", log_tail(d));
	/* Idle: what every test must get back to. */
	d->hs = hs_pid(d->pid);
	ASSERT_LT(0, d->hs) TH_LOG("no handshake process under ktlsd %d",
				   d->pid);
	d->base_fds = count_fds(d->hs);
	ASSERT_LT(0, d->base_fds);
}

void remove_dir(const char *path)
{
	struct dirent *e;
	char file[PATH_MAX];
	DIR *dir = opendir(path);

	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		unlink(file);
	}
	if (dir)
		closedir(dir);
	rmdir(path);
}

int daemon_wait(struct daemon *d, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;

	while (daemon_alive(d)) {
		if (ms_now() >= end)
			return -1;
		sleep_ms(20);
	}
	return d->early_status;
}

/*
 * A sanitizer's report in the log (make TSAN=1): the first one, else NULL.
 * TSan also makes ktlsd exit 66, but not when it was killed.
 */
static const char *sanitizer_report(const struct daemon *d)
{
	static char report[6000];
	char *all = log_read(d), *p;

	p = all ? strstr(all, "Sanitizer") : NULL;
	if (p) {
		while (p > all && p[-1] != '\n')
			p--;
		snprintf(report, sizeof(report), "%s", p);
	}
	free(all);
	return p ? report : NULL;
}

/* How long ktlsd may take to exit after SIGTERM: 8 s, and a drain's 10. */
#define STOP_WAIT_S	((8 + 10) * DAEMON_SLOW)

/*
 * No EXPECT_* here: after a failed ASSERT the harness would print their
 * message even on success.
 */
void daemon_stop(struct __test_metadata *_metadata, struct daemon *d)
{
	const char *report;
	int status;

	if (daemon_alive(d)) {
		kill(d->pid, SIGTERM);
		status = daemon_wait(d, STOP_WAIT_S * 1000);
		if (status == -1) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
		}
		d->pid = -1;
		d->early_status = 0;
		if (status) {
			TH_LOG("ktlsd did not exit 0 within %d s of SIGTERM "
			       "(wait status %d): %s", STOP_WAIT_S, status,
			       log_tail(d));
			_metadata->passed = 0;
		}
	} else if (d->pid == -1 && d->early_status) {
		TH_LOG("ktlsd died during the test (wait status %d): %s",
		       d->early_status, log_tail(d));
		_metadata->passed = 0;
	}
	report = d->dir[0] ? sanitizer_report(d) : NULL;
	if (report) {
		TH_LOG("ktlsd's log has a sanitizer report:\n%s", report);
		_metadata->passed = 0;
	}
	report = d->dir[0] ? memcheck_report(d) : NULL;
	if (report) {
		TH_LOG("memcheck:\n%s", report);
		_metadata->passed = 0;
	}
	if (d->dir[0] && !getenv("KTLSD_TEST_KEEP"))
		remove_dir(d->dir);
}
