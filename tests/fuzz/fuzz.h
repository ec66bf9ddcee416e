/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the fuzz harnesses (tests/fuzz/NAME.c) share. Each harness is a
 * libFuzzer target (LLVMFuzzerTestOneInput, `make fuzz`) and, built with
 * replay.c instead of libFuzzer, a host test that runs its seed corpus and
 * kept crash inputs (`make check`).
 */
#ifndef KTLS_FUZZ_H
#define KTLS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What the parser made of the last input: 1 accepted, 0 refused. The
 * replay test holds seeds named ok-* and bad-* to it.
 */
extern int fuzz_verdict;

/* Set by replay.c: a harness without its sandbox then skips, not exits. */
extern int fuzz_replay;

/* An invariant broke: say which, and crash, so the fuzzer keeps the input. */
#define FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond))						\
			fuzz_fail(__FILE__, __LINE__, #cond);		\
	} while (0)
void fuzz_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));

/*
 * For the configuration parsers, which open the files a configuration
 * names: move this process into a user and mount namespace of its own
 * where /dev, /etc, /run and /tmp are empty tmpfs (/etc holding only a
 * passwd, group and nsswitch.conf), and /run/ktlsd-fuzz holds the files
 * the seeds name (FUZZ_DIR below), and stdin is /dev/null. A path the
 * fuzzer writes then reaches no device node, none of the host's
 * configuration and none of the FIFOs and sockets under /run and /tmp;
 * the rest stays readable, /proc too (the sanitizers read it). Call
 * once, before any thread starts. 0, or -errno (no user namespaces).
 */
#define FUZZ_DIR	"/run/ktlsd-fuzz"
int fuzz_sandbox(void);

/*
 * A memfd holding data, for parsers that take a path: *path is set to
 * "/proc/self/fd/N" (static storage). 0 or -errno.
 */
int fuzz_memfd_path(const uint8_t *data, size_t size, const char **path);

/*
 * The body of a handoff message of this type (at most max bytes) whose
 * header data starts with, copied into a buffer of exactly its length (a
 * read past it is seen) and its length in *len; NULL when data holds no
 * such message whole. Free it with free().
 */
uint8_t *fuzz_wire_body(const uint8_t *data, size_t size, int type,
			size_t max, long *len);

#endif
