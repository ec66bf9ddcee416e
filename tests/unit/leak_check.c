// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The leak check that tests/kselftest_harness.h adds to every test under
 * SANITIZE=1 must be able to fail: a test that loses memory is reported
 * "not ok" with LeakSanitizer's report, one that frees it or keeps it
 * reachable passes. Fake tests run through the harness's own __run_test()
 * (fork, run, _exit, wait) in a child whose output goes to a file, so
 * their TAP never mixes with this binary's.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "testutil.h"

#ifdef KTLS_LEAK_CHECK

#define BLOCKS 4

static void *kept[BLOCKS];

/* Not inlined: no pointer to the blocks outlives this frame. */
static __attribute__((noinline)) void alloc_blocks(int keep, int release)
{
	int i;

	for (i = 0; i < BLOCKS; i++) {
		char *p = malloc(100 + i);

		if (!p)
			abort();
		memset(p, 'x', 100 + i);
		if (keep)
			kept[i] = p;
		else if (release)
			free(p);
	}
}

/*
 * Four blocks, so that one pointer left over in a register cannot hide
 * the loss.
 */
static void loses(struct __test_metadata *_metadata,
		  struct __fixture_variant_metadata *variant)
{
	alloc_blocks(0, 0);
}

static void frees(struct __test_metadata *_metadata,
		  struct __fixture_variant_metadata *variant)
{
	alloc_blocks(0, 1);
}

static void keeps(struct __test_metadata *_metadata,
		  struct __fixture_variant_metadata *variant)
{
	alloc_blocks(1, 0);
}

/* The harness takes this one as skipped unless the leak check fails it. */
static void skips_and_loses(struct __test_metadata *_metadata,
			    struct __fixture_variant_metadata *variant)
{
	alloc_blocks(0, 0);
	_metadata->skip = 1;
}

FIXTURE(leak)
{
	char out[65536];
	char log[65536];
};

FIXTURE_SETUP(leak)
{
}

FIXTURE_TEARDOWN(leak)
{
}

/*
 * Run fn as the harness runs a test, in a child with stdout and stderr
 * in a file read back into self->out. The child exits 0 if the harness
 * said the fake test passed, 2 if skipped, 1 if failed; -1 if no status.
 */
static int run_fake(FIXTURE_DATA(leak) *self, const char *name, leakcheck_fn fn)
{
	char path[] = "/tmp/ktls-leak-check-XXXXXX";
	int fd, status;
	ssize_t n;
	pid_t pid;

	self->out[0] = 0;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	unlink(path);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		static struct __fixture_metadata f = { .name = "fake" };
		static struct __fixture_variant_metadata v = { .name = "" };
		static struct __test_metadata t = { .termsig = -1, .timeout = 60 };
		struct __test_results *results;

		results = mmap(NULL, sizeof(*results), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (results == MAP_FAILED || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		t.name = name;
		t.fn = fn;
		t.fixture = &f;
		t.results = results;
		if (leakcheck_wrap(&t))
			_exit(126);
		__run_test(&f, &v, &t);
		fflush(stdout);
		_exit(t.skip ? 2 : t.passed ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid) {
		close(fd);
		return -1;
	}
	n = pread(fd, self->out, sizeof(self->out) - 1, 0);
	self->out[n > 0 ? n : 0] = 0;
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* What the fake test printed, every line behind "# ": not our TAP. */
static const char *printed(FIXTURE_DATA(leak) *self)
{
	size_t len = 0, cap = sizeof(self->log);
	const char *s;

	self->log[len++] = '\n';
	self->log[len++] = '#';
	self->log[len++] = ' ';
	for (s = self->out; *s && len + 3 < cap; s++) {
		self->log[len++] = *s;
		if (*s == '\n' && s[1]) {
			self->log[len++] = '#';
			self->log[len++] = ' ';
		}
	}
	self->log[len] = 0;
	return self->log;
}

/* Every test of this binary went through the check (TEST_HARNESS_MAIN). */
TEST_F(leak, this_test_is_checked)
{
	ASSERT_TRUE(_metadata->fn == leakcheck_run)
		TH_LOG("TEST_HARNESS_MAIN did not route this test through the leak check");
}

TEST_F(leak, lost_memory_fails_the_test)
{
	ASSERT_EQ(1, run_fake(self, "loses", loses))
		TH_LOG("a test that lost memory did not fail:%s", printed(self));
	ASSERT_NE(NULL, strstr(self->out, "ERROR: LeakSanitizer: detected memory leaks"))
		TH_LOG("no LeakSanitizer report:%s", printed(self));
	ASSERT_NE(NULL, strstr(self->out, "loses: LeakSanitizer: memory lost by the test"))
		TH_LOG("the harness output does not say which test lost memory:%s",
		       printed(self));
	ASSERT_NE(NULL, strstr(self->out, "not ok "))
		TH_LOG("no \"not ok\" line:%s", printed(self));
	ASSERT_NE(NULL, strstr(self->out, "alloc_blocks"))
		TH_LOG("the report does not show where the memory came from:%s",
		       printed(self));
}

TEST_F(leak, freed_memory_passes)
{
	ASSERT_EQ(0, run_fake(self, "frees", frees))
		TH_LOG("a test that freed its memory failed:%s", printed(self));
	ASSERT_EQ(NULL, strstr(self->out, "LeakSanitizer"))
		TH_LOG("%s", printed(self));
}

/* Memory still reachable from a global at the end is not lost. */
TEST_F(leak, reachable_memory_passes)
{
	ASSERT_EQ(0, run_fake(self, "keeps", keeps))
		TH_LOG("a test that kept its memory reachable failed:%s",
		       printed(self));
	ASSERT_EQ(NULL, strstr(self->out, "LeakSanitizer"))
		TH_LOG("%s", printed(self));
}

TEST_F(leak, skipped_test_that_lost_memory_fails)
{
	ASSERT_EQ(1, run_fake(self, "skips_and_loses", skips_and_loses))
		TH_LOG("a skipped test that lost memory was not failed:%s",
		       printed(self));
	ASSERT_NE(NULL, strstr(self->out, "ERROR: LeakSanitizer: detected memory leaks"))
		TH_LOG("no LeakSanitizer report:%s", printed(self));
}

#else

TEST(leak_check)
{
	SKIP(return, "built without AddressSanitizer: nothing to check (make SANITIZE=1)");
}

#endif /* KTLS_LEAK_CHECK */

TEST_HARNESS_MAIN
