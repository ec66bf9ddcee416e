// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tests/run-tests turns harness TAP into the line "make check" ends with,
 * so it must count exactly and be able to fail. Fake test binaries print
 * TAP as Linux 6.1's kselftest.h does; every expected count is written out
 * here, never taken from the script under test. tests/check, the driver
 * above it, runs here in a copy of the source tree whose VM runner is a
 * fake that only records how it was called.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "testutil.h"

#define RUN_TESTS "tests/run-tests"
#define CHECK "tests/check"

/* Linux 6.1's harness runs the test body even when the setup skipped. */

static const char tap_pass3[] =
	"TAP version 13\n"
	"1..3\n"
	"# Starting 3 tests from 1 test cases.\n"
	"#  RUN           fake.one ...\n"
	"#            OK  fake.one\n"
	"ok 1 fake.one\n"
	"#  RUN           fake.two ...\n"
	"#            OK  fake.two\n"
	"ok 2 fake.two\n"
	"#  RUN           fake.three ...\n"
	"#            OK  fake.three\n"
	"ok 3 fake.three\n"
	"# PASSED: 3 / 3 tests passed.\n"
	"# Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0\n";

/* A skip whose reason mentions kTLS, but not first: never a failure. */
static const char tap_mixed[] =
	"TAP version 13\n"
	"1..3\n"
	"# Starting 3 tests from 1 test cases.\n"
	"#  RUN           fake.one ...\n"
	"#            OK  fake.one\n"
	"ok 1 fake.one\n"
	"#  RUN           fake.two ...\n"
	"# fake.c:42:two:Expected 0 (0) == ret (-22)\n"
	"# two: Test terminated by assertion\n"
	"#          FAIL  fake.two\n"
	"not ok 2 fake.two\n"
	"#  RUN           fake.three ...\n"
	"#      SKIP      no IPv6 here, kTLS not tried\n"
	"#            OK  fake.three\n"
	"ok 3 # SKIP no IPv6 here, kTLS not tried\n"
	"# FAILED: 2 / 3 tests passed.\n"
	"# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0\n";

static const char tap_ktls_skip[] =
	"TAP version 13\n"
	"1..2\n"
	"# Starting 2 tests from 1 test cases.\n"
	"#  RUN           fake.plain_tcp ...\n"
	"#            OK  fake.plain_tcp\n"
	"ok 1 fake.plain_tcp\n"
	"#  RUN           fake.tls_tx ...\n"
	"#      SKIP      kTLS: the kernel has no \"tls\" ULP\n"
	"#            OK  fake.tls_tx\n"
	"ok 2 # SKIP kTLS: the kernel has no \"tls\" ULP\n"
	"# PASSED: 2 / 2 tests passed.\n"
	"# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0\n";

static const char tap_other_skip[] =
	"TAP version 13\n"
	"1..2\n"
	"# Starting 2 tests from 1 test cases.\n"
	"#  RUN           fake.ipv4 ...\n"
	"#            OK  fake.ipv4\n"
	"ok 1 fake.ipv4\n"
	"#  RUN           fake.ipv6 ...\n"
	"#      SKIP      no IPv6 on this host\n"
	"#            OK  fake.ipv6\n"
	"ok 2 # SKIP no IPv6 on this host\n"
	"# PASSED: 2 / 2 tests passed.\n"
	"# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0\n";

/* Killed in its third test: no totals, three planned results missing. */
static const char tap_truncated[] =
	"TAP version 13\n"
	"1..5\n"
	"# Starting 5 tests from 1 test cases.\n"
	"#  RUN           fake.one ...\n"
	"#            OK  fake.one\n"
	"ok 1 fake.one\n"
	"#  RUN           fake.two ...\n"
	"#            OK  fake.two\n"
	"ok 2 fake.two\n"
	"#  RUN           fake.three ...\n";

/*
 * tests/check's VM runner, faked: it records its arguments and, given
 * --notes, notes a retried boot, as tests/vm/run does.
 */
static const char fake_vm_run[] =
	"echo \"$*\" >>vm-run.args\n"
	"while [ $# -gt 0 ]; do\n"
	"\tcase $1 in\n"
	"\t--notes) echo \"6.12.0-fake: guest died during boot\" >>\"$2\"; shift 2 ;;\n"
	"\t--) break ;;\n"
	"\t*) shift ;;\n"
	"\tesac\n"
	"done\n"
	"exit 0";

FIXTURE(run_tests)
{
	char dir[32];
	char rt[PATH_MAX], check[PATH_MAX];
	char out[16384], err[16384];
	char file[16384];
	char log[65536];
};

/* An executable script that prints tap and then runs the shell code then. */
static int make_bin(const char *path, const char *tap, const char *then)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "#!/bin/sh\ncat <<'EOF'\n%sEOF\n%s\n", tap, then);
	if (fclose(f))
		return -errno;
	return chmod(path, 0755) ? -errno : 0;
}

/* The whole (small) file into buf, NUL-terminated; 0 or -errno. */
static int read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	return 0;
}

/*
 * Run prog with the arguments in ap (NULL-terminated), CI set to ci or
 * unset when ci is NULL, whatever this test runs under. Its stdout and
 * stderr land in self->out and self->err. Exit status, or -1.
 */
static int run_prog(FIXTURE_DATA(run_tests) *self, const char *prog,
		    const char *ci, va_list ap)
{
	const char *argv[16] = { prog };
	int status, i = 1;
	pid_t pid;

	while (i < 15 && (argv[i] = va_arg(ap, const char *)))
		i++;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open("rt.stdout", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0644);
		int e = open("rt.stderr", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		if (ci ? setenv("CI", ci, 1) : unsetenv("CI"))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	read_text("rt.stdout", self->out, sizeof(self->out));
	read_text("rt.stderr", self->err, sizeof(self->err));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* tests/run-tests with these arguments; see run_prog(). */
static int run_rt(FIXTURE_DATA(run_tests) *self, const char *ci, ...)
{
	va_list ap;
	int ret;

	va_start(ap, ci);
	ret = run_prog(self, self->rt, ci, ap);
	va_end(ap);
	return ret;
}

/* The fake source tree's tests/check with these arguments, CI unset. */
static int run_check(FIXTURE_DATA(run_tests) *self, ...)
{
	va_list ap;
	int ret;

	va_start(ap, self);
	ret = run_prog(self, "src/tests/check", NULL, ap);
	va_end(ap);
	return ret;
}

static size_t append_commented(char *buf, size_t len, size_t cap,
			       const char *s)
{
	for (; *s && len + 3 < cap; s++) {
		if (len && buf[len - 1] == '\n') {
			buf[len++] = '#';
			buf[len++] = ' ';
		}
		buf[len++] = *s;
	}
	buf[len] = 0;
	return len;
}

/*
 * What run-tests printed last, for TH_LOG. Every line starts with "# ":
 * the TAP it echoes would otherwise be read as this binary's own results
 * by the run-tests that runs this test.
 */
static const char *printed(FIXTURE_DATA(run_tests) *self)
{
	size_t len = 0, cap = sizeof(self->log);

	len = append_commented(self->log, len, cap, "\nrun-tests stdout:\n");
	len = append_commented(self->log, len, cap, self->out);
	if (self->log[len - 1] != '\n')
		len = append_commented(self->log, len, cap, "\n");
	len = append_commented(self->log, len, cap, "run-tests stderr:\n");
	len = append_commented(self->log, len, cap, self->err);
	if (self->log[len - 1] == '\n')
		self->log[len - 1] = 0;
	return self->log;
}

/* results/TIER/NAME.counts without its final newline; "" if missing. */
static const char *counts(FIXTURE_DATA(run_tests) *self, const char *tier,
			  const char *name)
{
	char path[PATH_MAX];
	size_t n;

	snprintf(path, sizeof(path), "results/%s/%s.counts", tier, name);
	read_text(path, self->file, sizeof(self->file));
	n = strlen(self->file);
	if (n && self->file[n - 1] == '\n')
		self->file[n - 1] = 0;
	return self->file;
}

/* stdout must be exactly this one line. */
#define ASSERT_STDOUT(line) \
	ASSERT_EQ(0, strcmp(line "\n", self->out)) \
		TH_LOG("expected the line \"%s\" on stdout:%s", line, \
		       printed(self))

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

FIXTURE_SETUP(run_tests)
{
	if (!realpath(RUN_TESTS, self->rt) || access(self->rt, X_OK))
		SKIP(return, "run from the source tree (no %s)", RUN_TESTS);
	if (!realpath(CHECK, self->check) || access(self->check, X_OK))
		SKIP(return, "run from the source tree (no %s)", CHECK);
	/* make check SANITIZE=1 names its VM tests and memory: not these. */
	unsetenv("KTLSD_VM_ONLY");
	unsetenv("KTLSD_VM_MEM");
	strcpy(self->dir, "/tmp/ktls-run-tests-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir))
		TH_LOG("mkdtemp: %s", strerror(errno));
	/* Relative paths from here on: the fixture's temporary directory. */
	ASSERT_EQ(0, chdir(self->dir));
	ASSERT_EQ(0, mkdir("bin", 0755));
	ASSERT_EQ(0, make_bin("bin/pass3", tap_pass3, "exit 0"));
	ASSERT_EQ(0, make_bin("bin/mixed", tap_mixed, "exit 1"));
	ASSERT_EQ(0, make_bin("bin/ktls_skip", tap_ktls_skip, "exit 0"));
	ASSERT_EQ(0, make_bin("bin/other_skip", tap_other_skip, "exit 0"));
	ASSERT_EQ(0, make_bin("bin/truncated", tap_truncated, "kill -9 $$"));
	/* Its exit status of 0 must not be taken for success. */
	ASSERT_EQ(0, make_bin("bin/silent", "", "exit 0"));

	/* tests/check in a source tree of its own, over a build tree. */
	ASSERT_EQ(0, mkdir("src", 0755));
	ASSERT_EQ(0, mkdir("src/tests", 0755));
	ASSERT_EQ(0, mkdir("src/tests/vm", 0755));
	ASSERT_EQ(0, symlink(self->check, "src/tests/check"));
	ASSERT_EQ(0, symlink(self->rt, "src/tests/run-tests"));
	ASSERT_EQ(0, make_bin("src/tests/vm/run", "", fake_vm_run));
	ASSERT_EQ(0, mkdir("build", 0755));
	ASSERT_EQ(0, mkdir("build/tests", 0755));
	ASSERT_EQ(0, mkdir("build/tests/unit", 0755));
	ASSERT_EQ(0, mkdir("build/tests/vm", 0755));
	/* Says which kernels tests/check told the unit tier about. */
	ASSERT_EQ(0, make_bin("build/tests/unit/pass3", tap_pass3,
			      "echo \"# kernels=[${KTLSD_CHECK_KERNELS-unset}]\""));
	ASSERT_EQ(0, make_bin("build/tests/vm/pass3", tap_pass3, "exit 0"));
	/* The trixie-root tier runs where this was built. */
	ASSERT_EQ(0, make_bin("build/tests/vm/nfs", tap_pass3, "exit 0"));
}

FIXTURE_TEARDOWN(run_tests)
{
	if (!self->dir[0] || chdir("/"))
		return;
	nftw(self->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TEST_F(run_tests, all_pass)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_rt(self, NULL, "run", "results", "unit", "bin/pass3",
			    NULL))
		TH_LOG("run of 3 passes did not exit 0:%s", printed(self));
	ASSERT_NE(NULL, strstr(self->out, tap_pass3))
		TH_LOG("the binary's TAP was not echoed:%s", printed(self));
	ASSERT_STREQ("3 0 0", counts(self, "unit", "pass3"))
		TH_LOG("counts of 3 passes are wrong");
	ASSERT_EQ(0, read_text("results/unit/pass3.tap", self->file,
			       sizeof(self->file)))
		TH_LOG("no results/unit/pass3.tap");
	ASSERT_EQ(0, strcmp(tap_pass3, self->file))
		TH_LOG("results/unit/pass3.tap is not the binary's TAP");
	ASSERT_EQ(0, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary of 3 passes did not exit 0:%s", printed(self));
	ASSERT_STDOUT("3 passed, 0 failed, 0 skipped");
}

TEST_F(run_tests, failure_fails)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(1, run_rt(self, NULL, "run", "results", "unit", "bin/mixed",
			    NULL))
		TH_LOG("run with a \"not ok\" did not exit 1:%s",
		       printed(self));
	ASSERT_STREQ("1 1 1", counts(self, "unit", "mixed"))
		TH_LOG("counts of ok, not ok, skip are wrong");
	ASSERT_EQ(1, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary with a failure did not exit 1:%s",
		       printed(self));
	ASSERT_STDOUT("1 passed, 1 failed, 1 skipped");
	ASSERT_NE(NULL, strstr(self->err, "FAILED: unit/mixed"))
		TH_LOG("summary did not name the failed binary:%s",
		       printed(self));
}

TEST_F(run_tests, ktls_skip_without_ci_is_skipped)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_rt(self, NULL, "run", "results", "unit",
			    "bin/ktls_skip", NULL))
		TH_LOG("kTLS skip without CI failed the run:%s",
		       printed(self));
	ASSERT_STREQ("1 0 1", counts(self, "unit", "ktls_skip"))
		TH_LOG("kTLS skip without CI is not counted as skipped");
	ASSERT_EQ(0, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary of a kTLS skip without CI did not exit 0:%s",
		       printed(self));
	ASSERT_STDOUT("1 passed, 0 failed, 1 skipped");
}

TEST_F(run_tests, ktls_skip_under_ci_fails)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(1, run_rt(self, "true", "run", "results", "unit",
			    "bin/ktls_skip", NULL))
		TH_LOG("kTLS skip under CI=true did not fail the run:%s",
		       printed(self));
	ASSERT_STREQ("1 1 0", counts(self, "unit", "ktls_skip"))
		TH_LOG("kTLS skip under CI=true is not counted as failed");
	/* CI is read when counting; the summary only adds up. */
	ASSERT_EQ(1, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary of a kTLS skip under CI did not exit 1:%s",
		       printed(self));
	ASSERT_STDOUT("1 passed, 1 failed, 0 skipped");
}

TEST_F(run_tests, other_skip_under_ci_is_skipped)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_rt(self, "true", "run", "results", "unit",
			    "bin/other_skip", NULL))
		TH_LOG("non-kTLS skip under CI=true failed the run:%s",
		       printed(self));
	ASSERT_STREQ("1 0 1", counts(self, "unit", "other_skip"))
		TH_LOG("non-kTLS skip under CI=true is not counted as skipped");
	ASSERT_EQ(0, run_rt(self, "true", "summary", "results", NULL))
		TH_LOG("summary of a non-kTLS skip did not exit 0:%s",
		       printed(self));
	ASSERT_STDOUT("1 passed, 0 failed, 1 skipped");
}

TEST_F(run_tests, ktls_later_in_reason_under_ci_is_skipped)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(1, run_rt(self, "true", "run", "results", "unit",
			    "bin/mixed", NULL))
		TH_LOG("run with a \"not ok\" did not exit 1:%s",
		       printed(self));
	ASSERT_STREQ("1 1 1", counts(self, "unit", "mixed"))
		TH_LOG("a skip whose reason does not start with kTLS was "
		       "counted as failed under CI=true");
}

TEST_F(run_tests, truncated_plan_counts_missing_as_failed)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(1, run_rt(self, NULL, "run", "results", "unit",
			    "bin/truncated", NULL))
		TH_LOG("binary killed after 2 of 5 did not fail the run:%s",
		       printed(self));
	ASSERT_STREQ("2 3 0", counts(self, "unit", "truncated"))
		TH_LOG("the 3 planned but missing results are not failures");
	ASSERT_EQ(1, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary of a truncated plan did not exit 1:%s",
		       printed(self));
	ASSERT_STDOUT("2 passed, 3 failed, 0 skipped");
}

TEST_F(run_tests, silent_binary_fails)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(1, run_rt(self, NULL, "run", "results", "unit",
			    "bin/silent", NULL))
		TH_LOG("binary printing nothing did not fail the run:%s",
		       printed(self));
	ASSERT_STREQ("0 1 0", counts(self, "unit", "silent"))
		TH_LOG("binary printing nothing is not one failure");
	ASSERT_EQ(1, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary of a silent binary did not exit 1:%s",
		       printed(self));
	ASSERT_STDOUT("0 passed, 1 failed, 0 skipped");
}

TEST_F(run_tests, missing_binary_fails)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(1, run_rt(self, NULL, "run", "results", "unit",
			    "bin/absent", NULL))
		TH_LOG("a binary that does not exist did not fail the run:%s",
		       printed(self));
	ASSERT_STREQ("0 1 0", counts(self, "unit", "absent"))
		TH_LOG("a binary that does not exist is not one failure");
}

TEST_F(run_tests, failed_tier_fails_summary)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_rt(self, NULL, "run", "results", "unit", "bin/pass3",
			    NULL))
		TH_LOG("run of 3 passes did not exit 0:%s", printed(self));
	ASSERT_EQ(0, run_rt(self, NULL, "fail", "results", "vm-trixie",
			    "the VM timed out", NULL))
		TH_LOG("run-tests fail did not exit 0:%s", printed(self));
	ASSERT_STREQ("0 1 0", counts(self, "vm-trixie", "tier"))
		TH_LOG("a failed tier is not one failure");
	ASSERT_EQ(1, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary with a failed tier did not exit 1:%s",
		       printed(self));
	ASSERT_STDOUT("3 passed, 1 failed, 0 skipped");
}

TEST_F(run_tests, summary_says_why_tier_failed)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_rt(self, NULL, "fail", "results", "vm-trixie",
			    "the VM timed out", NULL))
		TH_LOG("run-tests fail did not exit 0:%s", printed(self));
	ASSERT_EQ(1, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary with a failed tier did not exit 1:%s",
		       printed(self));
	ASSERT_NE(NULL, strstr(self->err, "vm-trixie: the VM timed out"))
		TH_LOG("summary did not say why the tier failed:%s",
		       printed(self));
}

TEST_F(run_tests, empty_results_fail)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, mkdir("results", 0755));
	ASSERT_EQ(1, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("summary of no results did not exit 1:%s",
		       printed(self));
	ASSERT_STDOUT("0 passed, 1 failed, 0 skipped");
}

TEST_F(run_tests, summary_adds_binaries_and_tiers)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(1, run_rt(self, "true", "run", "results", "unit",
			    "bin/pass3", "bin/mixed", NULL))
		TH_LOG("unit tier with a failure did not exit 1:%s",
		       printed(self));
	ASSERT_EQ(1, run_rt(self, "true", "run", "results", "vm-bookworm",
			    "bin/ktls_skip", "bin/truncated", "bin/other_skip",
			    NULL))
		TH_LOG("vm tier with failures did not exit 1:%s",
		       printed(self));
	ASSERT_STREQ("3 0 0", counts(self, "unit", "pass3"));
	ASSERT_STREQ("1 1 1", counts(self, "unit", "mixed"));
	ASSERT_STREQ("1 1 0", counts(self, "vm-bookworm", "ktls_skip"));
	ASSERT_STREQ("2 3 0", counts(self, "vm-bookworm", "truncated"));
	ASSERT_STREQ("1 0 1", counts(self, "vm-bookworm", "other_skip"));
	ASSERT_EQ(1, run_rt(self, "true", "summary", "results", NULL))
		TH_LOG("summary over two tiers did not exit 1:%s",
		       printed(self));
	ASSERT_STDOUT("8 passed, 5 failed, 2 skipped");
}

TEST_F(run_tests, summary_repeats_notes)
{
	int fd;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_rt(self, NULL, "run", "results", "vm-trixie",
			    "bin/pass3", NULL))
		TH_LOG("run of 3 passes did not exit 0:%s", printed(self));
	fd = open("results/vm-trixie/vm.notes",
		  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(13, write(fd, "boot retried\n", 13));
	close(fd);
	ASSERT_EQ(0, run_rt(self, NULL, "summary", "results", NULL))
		TH_LOG("a note failed the summary:%s", printed(self));
	ASSERT_STDOUT("3 passed, 0 failed, 0 skipped");
	ASSERT_NE(NULL, strstr(self->err, "note: vm-trixie: boot retried\n"))
		TH_LOG("summary did not repeat the tier's note:%s",
		       printed(self));
}

/* The last line of s is line; 1 if so. */
static int last_line_is(const char *s, const char *line)
{
	size_t n = strlen(s), l = strlen(line);

	if (n < l + 1 || s[n - 1] != '\n')
		return 0;
	if (strncmp(s + n - 1 - l, line, l))
		return 0;
	return n == l + 1 || s[n - l - 2] == '\n';
}

/* make check KERNELS= : the host tier alone, and no VM. */
TEST_F(run_tests, check_empty_kernels_runs_host_tier_only)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_check(self, "build", "", NULL))
		TH_LOG("tests/check with no kernels failed:%s", printed(self));
	read_text("vm-run.args", self->file, sizeof(self->file));
	ASSERT_EQ(0, self->file[0])
		TH_LOG("KERNELS was empty, yet the VM runner was called: %s",
		       self->file);
	ASSERT_NE(NULL, strstr(self->out, "# kernels=[]\n"))
		TH_LOG("the unit tier was not told that KERNELS is empty:%s",
		       printed(self));
	ASSERT_NE(NULL, strstr(self->out, "== no VM tiers (KERNELS is empty)\n"))
		TH_LOG("%s", printed(self));
	ASSERT_TRUE(last_line_is(self->out, "3 passed, 0 failed, 0 skipped"))
		TH_LOG("%s", printed(self));
}

TEST_F(run_tests, check_boots_each_kernel_named)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_check(self, "build", "bookworm sid", NULL))
		TH_LOG("%s", printed(self));
	read_text("vm-run.args", self->file, sizeof(self->file));
	ASSERT_NE(NULL, strstr(self->file, "--kernel bookworm --share "))
		TH_LOG("runner calls: %s", self->file);
	ASSERT_NE(NULL, strstr(self->file, "--kernel sid --share "))
		TH_LOG("runner calls: %s", self->file);
	ASSERT_NE(NULL, strstr(self->file, "--kernel sid --rootfs trixie "))
		TH_LOG("runner calls: %s", self->file);
	ASSERT_EQ(NULL, strstr(self->file, "--kernel trixie"))
		TH_LOG("a kernel that was not named was booted: %s", self->file);
	ASSERT_NE(NULL, strstr(self->out, "# kernels=[bookworm sid]\n"))
		TH_LOG("%s", printed(self));
	/* Each tier's retried boots, as the runner noted them. */
	ASSERT_NE(NULL, strstr(self->err,
			       "note: vm-bookworm: 6.12.0-fake: guest died during boot\n"))
		TH_LOG("%s", printed(self));
	ASSERT_NE(NULL, strstr(self->err,
			       "note: trixie-root-sid: 6.12.0-fake: guest died during boot\n"))
		TH_LOG("%s", printed(self));
	ASSERT_TRUE(last_line_is(self->out, "3 passed, 0 failed, 0 skipped"))
		TH_LOG("%s", printed(self));
}

/*
 * KTLSD_SLICE: the kernels named there run only the tests of the kernel
 * slice (records is one, handoff_bad is not); the others run them all.
 */
TEST_F(run_tests, check_slice_runs_kernel_tests_only)
{
	char *boot, *next;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, make_bin("build/tests/vm/records", tap_pass3, "exit 0"));
	ASSERT_EQ(0, make_bin("build/tests/vm/handoff_bad", tap_pass3,
			      "exit 0"));
	ASSERT_EQ(0, setenv("KTLSD_SLICE", "bookworm", 1));
	ASSERT_EQ(0, run_check(self, "build", "bookworm trixie", NULL))
		TH_LOG("%s", printed(self));
	unsetenv("KTLSD_SLICE");
	read_text("vm-run.args", self->file, sizeof(self->file));
	boot = strstr(self->file, "--kernel bookworm --share ");
	ASSERT_NE(NULL, boot) TH_LOG("runner calls: %s", self->file);
	next = strchr(boot, '\n');
	ASSERT_NE(NULL, next);
	*next++ = 0;
	EXPECT_NE(NULL, strstr(boot, "/records")) TH_LOG("bookworm: %s", boot);
	EXPECT_EQ(NULL, strstr(boot, "/handoff_bad"))
		TH_LOG("bookworm ran a test outside the slice: %s", boot);
	EXPECT_EQ(NULL, strstr(boot, "/pass3"))
		TH_LOG("bookworm ran a test outside the slice: %s", boot);
	boot = strstr(next, "--kernel trixie --share ");
	ASSERT_NE(NULL, boot) TH_LOG("runner calls: %s", next);
	EXPECT_NE(NULL, strstr(boot, "/records")) TH_LOG("trixie: %s", boot);
	EXPECT_NE(NULL, strstr(boot, "/handoff_bad")) TH_LOG("trixie: %s", boot);
	EXPECT_NE(NULL, strstr(boot, "/pass3")) TH_LOG("trixie: %s", boot);
}

/*
 * On the trixie root, a sliced kernel runs the upcall's consumers (nfs is
 * one) but not the shim's plain paths (preload_conn).
 */
TEST_F(run_tests, check_slice_on_the_trixie_root)
{
	char *boot, *next;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, make_bin("build/tests/vm/preload_conn", tap_pass3,
			      "exit 0"));
	ASSERT_EQ(0, setenv("KTLSD_SLICE", "sid", 1));
	ASSERT_EQ(0, run_check(self, "build", "sid trixie", NULL))
		TH_LOG("%s", printed(self));
	unsetenv("KTLSD_SLICE");
	read_text("vm-run.args", self->file, sizeof(self->file));
	boot = strstr(self->file, "--kernel sid --rootfs trixie ");
	ASSERT_NE(NULL, boot) TH_LOG("runner calls: %s", self->file);
	next = strchr(boot, '\n');
	ASSERT_NE(NULL, next);
	*next++ = 0;
	EXPECT_NE(NULL, strstr(boot, "/nfs")) TH_LOG("sid: %s", boot);
	EXPECT_EQ(NULL, strstr(boot, "/preload_conn"))
		TH_LOG("sid's root ran a test outside the slice: %s", boot);
	boot = strstr(next, "--kernel trixie --rootfs trixie ");
	ASSERT_NE(NULL, boot) TH_LOG("runner calls: %s", next);
	EXPECT_NE(NULL, strstr(boot, "/nfs")) TH_LOG("trixie: %s", boot);
	EXPECT_NE(NULL, strstr(boot, "/preload_conn")) TH_LOG("trixie: %s", boot);
}

/* No KERNELS argument at all: the trixie kernel, as before. */
TEST_F(run_tests, check_without_kernels_boots_trixie)
{
	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, run_check(self, "build", NULL))
		TH_LOG("%s", printed(self));
	read_text("vm-run.args", self->file, sizeof(self->file));
	ASSERT_NE(NULL, strstr(self->file, "--kernel trixie --share "))
		TH_LOG("runner calls: %s", self->file);
}

/* KTLSD_VM_MEM (sanitizer builds): every guest gets that much memory. */
TEST_F(run_tests, check_gives_guests_vm_mem)
{
	char *boot, *next;
	int n = 0;

	RETURN_IF_SKIPPED();
	ASSERT_EQ(0, setenv("KTLSD_VM_MEM", "2G", 1));
	ASSERT_EQ(0, run_check(self, "build", "sid", NULL))
		TH_LOG("%s", printed(self));
	unsetenv("KTLSD_VM_MEM");
	read_text("vm-run.args", self->file, sizeof(self->file));
	for (boot = self->file; boot && *boot; boot = next, n++) {
		next = strchr(boot, '\n');
		if (next)
			*next++ = 0;
		ASSERT_NE(NULL, strstr(boot, " --mem 2G "))
			TH_LOG("a guest without --mem 2G: %s", boot);
	}
	ASSERT_EQ(2, n) TH_LOG("runner calls: %s", self->file);
}

TEST_HARNESS_MAIN
