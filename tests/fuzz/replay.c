// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A fuzz harness without libFuzzer, as a host test: every seed of
 * tests/fuzz/corpus/NAME and every kept crash input of
 * tests/fuzz/crashes/NAME goes through LLVMFuzzerTestOneInput() once. A
 * crash, or a broken invariant (FUZZ_CHECK), fails the test; so does a
 * seed named ok-* that the parser refuses or one named bad-* that it
 * accepts. Linked with each harness into $(B)/tests/unit/fuzz_NAME; NAME
 * comes from the program's name, FUZZ_SRC (tests/fuzz) from the Makefile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* GnuTLS's own leaks (tests/lsan.supp) are told by its frames. */
#define KTLS_LSAN_OPTIONS ":fast_unwind_on_malloc=0"
#include "kselftest_harness.h"
#include "fuzz.h"

/* Not every harness has one. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The whole of dir's entry name; its size, or -errno. */
static long load(DIR *dir, const char *name, uint8_t **data)
{
	int fd = openat(dirfd(dir), name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	long ret;

	*data = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !(*data = malloc(st.st_size + 1)))
		ret = -errno;
	else if (read(fd, *data, st.st_size) != st.st_size)
		ret = -EIO;
	else
		ret = st.st_size;
	close(fd);
	return ret;
}

#define FUZZ_NAME (program_invocation_short_name + strlen("fuzz_"))

static DIR *open_dir(const char *kind)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/%s", FUZZ_SRC, kind, FUZZ_NAME);
	return opendir(path);
}

TEST(corpus)
{
	/* Opened first: the sandbox may hide where they are. */
	DIR *seeds = open_dir("corpus"), *crashes = open_dir("crashes");
	int ok = 0, bad = 0, kept = 0;
	struct dirent *e;
	uint8_t *data;
	long len;

	ASSERT_NE(NULL, seeds) TH_LOG("tests/fuzz/corpus/%s: %s", FUZZ_NAME,
				      strerror(errno));
	fuzz_replay = 1;
	if (LLVMFuzzerInitialize && LLVMFuzzerInitialize(NULL, NULL))
		SKIP(return, "%s: no user namespace for the sandbox", FUZZ_NAME);
	while ((e = readdir(seeds))) {
		if (e->d_name[0] == '.')
			continue;
		len = load(seeds, e->d_name, &data);
		ASSERT_LE(0, len) TH_LOG("%s: %s", e->d_name, strerror(-len));
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		if (!strncmp(e->d_name, "ok-", 3)) {
			EXPECT_EQ(1, fuzz_verdict) TH_LOG("seed %s refused",
							  e->d_name);
			ok++;
		} else if (!strncmp(e->d_name, "bad-", 4)) {
			EXPECT_EQ(0, fuzz_verdict) TH_LOG("seed %s accepted",
							  e->d_name);
			bad++;
		}
	}
	closedir(seeds);
	EXPECT_LT(0, ok) TH_LOG("no seed named ok-*");
	EXPECT_LT(0, bad) TH_LOG("no seed named bad-*");
	while (crashes && (e = readdir(crashes))) {
		if (e->d_name[0] == '.')
			continue;
		len = load(crashes, e->d_name, &data);
		ASSERT_LE(0, len) TH_LOG("%s: %s", e->d_name, strerror(-len));
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		kept++;
	}
	if (crashes)
		closedir(crashes);
	TH_LOG("%d ok-* and %d bad-* seeds, %d crash inputs", ok, bad, kept);
}

TEST_HARNESS_MAIN
