// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The test bed itself: tests/vm/run must return the guest command's exit
 * status, run it in the same directory with a writable share, boot a
 * kernel that offers the "tls" ULP, kill a hung guest at its timeout, and
 * boot again a guest that died before its command started, but not one
 * that died after. Skipped when tests/check runs the host tier alone
 * (make check KERNELS=) and in sanitizer builds.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "testutil.h"

#define RUNNER "tests/vm/run"

/* Run argv, capture up to cap-1 bytes of stdout+stderr; exit status or -1. */
static int run_capture(char *const argv[], char *out, size_t cap)
{
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], out + len, cap - 1 - len)) > 0) {
		len += n;
		if (len == cap - 1)
			len = 0;	/* keep the tail only */
	}
	out[len] = 0;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(runner)
{
	char out[65536];
};

/* Linux 6.1's harness runs the test body even when the setup skipped. */

FIXTURE_SETUP(runner)
{
	const char *kernels = getenv("KTLSD_CHECK_KERNELS");

	if (kernels && !kernels[0])
		SKIP(return, "no VM: KERNELS is empty (the host tier alone)");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* 78 s of guests; a sanitizer finds nothing in a shell script. */
	SKIP(return, "a sanitizer build: the plain build's tier tests the "
		     "runner");
#endif
	if (access(RUNNER, X_OK))
		SKIP(return, "run from the source tree (no %s)", RUNNER);
}

FIXTURE_TEARDOWN(runner)
{
}

/*
 * One boot for several facts (each costs seconds under TCG): the guest's
 * kernel has the ULP, it runs in our directory, writes to the share, and
 * its command's exit status comes back as ours.
 */
TEST_F_TIMEOUT(runner, guest_has_tls_ulp_cwd_share_and_status, 300)
{
	char dir[] = "/tmp/ktls-share-XXXXXX", cmd[512], path[600], cwd[256];
	char buf[64] = "";
	char *argv[] = { RUNNER, "--share", dir, "--", "sh", "-c", cmd, NULL };
	FILE *f;

	RETURN_IF_SKIPPED();
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_NE(NULL, getcwd(cwd, sizeof(cwd)));
	snprintf(cmd, sizeof(cmd),
		 "modprobe tls && grep -w tls /proc/sys/net/ipv4/tcp_available_ulp"
		 " && test -x %s && uname -r > %s/release && exit 7", RUNNER, dir);
	ASSERT_EQ(7, run_capture(argv, self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "tls"));
	snprintf(path, sizeof(path), "%s/release", dir);
	f = fopen(path, "re");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	/* The guest runs a Debian kernel, not necessarily the host's. */
	ASSERT_NE(NULL, strstr(buf, "-amd64"));
	unlink(path);
	rmdir(dir);
}

TEST_F_TIMEOUT(runner, hung_guest_is_killed, 300)
{
	char *argv[] = { RUNNER, "--timeout", "10", "--", "sleep", "600", NULL };

	RETURN_IF_SKIPPED();
	ASSERT_EQ(124, run_capture(argv, self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "did not finish within 10s"));
}

/* Newer userspace: a debootstrapped trixie tree, our tree bound in. */
TEST_F_TIMEOUT(runner, trixie_rootfs_sees_source_tree, 600)
{
	char *argv[] = { RUNNER, "--rootfs", "trixie", "--", "sh", "-c",
		"grep -q '^13' /etc/debian_version && test -x /usr/sbin/tlshd"
		" && test -x " RUNNER " && echo trixie-ok", NULL };

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_capture(argv, self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "trixie-ok"));
}

#define BOOT_RETRIED "vm: guest died during boot (before the command started); retrying"

/*
 * A guest that dies while booting proves nothing about the command: the
 * runner boots it again. The test hook crashes the first boot just before
 * the command would start; the second runs it and its status comes back.
 */
TEST_F_TIMEOUT(runner, boot_death_is_retried, 300)
{
	char notes[] = "/tmp/ktls-vm-notes-XXXXXX", text[1024] = "";
	char *argv[] = { RUNNER, "--notes", notes, "--", "sh", "-c", "exit 3", NULL };
	ssize_t n;
	int fd;

	RETURN_IF_SKIPPED();
	fd = mkostemp(notes, O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setenv("KTLSVM_FAKE_BOOT_DEATHS", "1", 1));
	EXPECT_EQ(3, run_capture(argv, self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	/* The kernel's words: the hook's own may be cut up by the panic's. */
	EXPECT_NE(NULL, strstr(self->out, "Kernel panic - not syncing: sysrq triggered crash"))
		TH_LOG("the first boot was not crashed by the hook:\n%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, BOOT_RETRIED " (1 of 2)"))
		TH_LOG("the retry was not announced:\n%s", self->out);
	EXPECT_EQ(NULL, strstr(self->out, "(2 of 2)"))
		TH_LOG("one crash, but two retries:\n%s", self->out);
	n = read_full(fd, text, sizeof(text) - 1);
	close(fd);
	unlink(notes);
	ASSERT_LT(0, n);
	text[n] = 0;
	EXPECT_NE(NULL, strstr(text, "died during boot (before the command started); retrying (1 of 2)"))
		TH_LOG("--notes file holds \"%s\"", text);
}

/* Retries are bounded: a guest that never boots still fails, with 125. */
TEST_F_TIMEOUT(runner, boot_deaths_beyond_retries_fail, 300)
{
	char *argv[] = { RUNNER, "--", "true", NULL };

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, setenv("KTLSVM_FAKE_BOOT_DEATHS", "2", 1));
	ASSERT_EQ(0, setenv("KTLSVM_BOOT_RETRIES", "1", 1));
	ASSERT_EQ(125, run_capture(argv, self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, BOOT_RETRIED " (1 of 1)"))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "died during boot, before the command started, in 2 boot(s)"))
		TH_LOG("%s", self->out);
}

/* Once the command started, a guest that dies is the command's failure. */
TEST_F_TIMEOUT(runner, death_after_command_started_is_not_retried, 300)
{
	char *argv[] = { RUNNER, "--", "sh", "-c",
		"echo command-started; echo c >/proc/sysrq-trigger; sleep 60", NULL };

	RETURN_IF_SKIPPED();
	ASSERT_EQ(125, run_capture(argv, self->out, sizeof(self->out)))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "command-started"))
		TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "died after the command started"))
		TH_LOG("%s", self->out);
	ASSERT_EQ(NULL, strstr(self->out, "retrying"))
		TH_LOG("a crash of the command was retried:\n%s", self->out);
}

TEST_HARNESS_MAIN
