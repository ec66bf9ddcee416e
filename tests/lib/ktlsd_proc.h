/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A real build/ktlsd for the tests (tests/lib/ktlsd_proc.c): configuration
 * written to a fresh directory, started in the foreground with its log in
 * a file, waited for, and stopped with SIGTERM, which it must obey with
 * exit status 0.
 */
#ifndef KTLS_KTLSD_PROC_H
#define KTLS_KTLSD_PROC_H

#include <dirent.h>
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "hsproc.h"
#include "peers.h"

/*
 * Waits for ktlsd are this many times longer in a ThreadSanitizer build
 * (make TSAN=1) or under valgrind (make memcheck): under TCG on a busy
 * host its start took over 20 s and a reload over 5 s. And three times
 * with AddressSanitizer (make check SANITIZE=1): in the VM, on a machine
 * running two more guests, a reload once took over 20 s. Memory figures
 * mean nothing there.
 */
#if defined(__SANITIZE_THREAD__) || defined(KTLSD_MEMCHECK)
#define DAEMON_SLOW 6
#elif defined(__SANITIZE_ADDRESS__)
#define DAEMON_SLOW 3
#else
#define DAEMON_SLOW 1
#endif
#if DAEMON_SLOW > 1
/* TEST_F() takes it where it is used: the tests' own limit, stretched. */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT (30 * DAEMON_SLOW)
#endif

struct daemon {
	pid_t pid;		/* 0: not started; -1: gone */
	int early_status;	/* wait status if it died before teardown */
	unsigned max_inflight;
	pid_t hs;		/* its handshake process at start */
	int base_fds;		/* the handshake process's descriptors when
				   idle */
	const char *profiles;	/* the [profile] sections to write */
	const char *ktlsd_keys;	/* more lines for [ktlsd], or NULL */
	char dir[64], conf[128], sock[128], log[128];
};

/*
 * Start ktlsd with max_inflight and profiles (and d->ktlsd_keys, set
 * before) in a new directory, and wait until it is ready; asserts on the
 * way. d->base_fds: its descriptors then.
 */
void daemon_start(struct __test_metadata *_metadata, struct daemon *d,
		  const char *profiles, unsigned max_inflight);

/*
 * SIGTERM: ktlsd must exit 0 within a few seconds, with no sanitizer
 * report in its log; else the test fails. Also fails it if ktlsd died
 * during the test. Removes the directory (unless $KTLSD_TEST_KEEP).
 */
void daemon_stop(struct __test_metadata *_metadata, struct daemon *d);

/* Whether ktlsd still runs; reaps it (and keeps its status) if not. */
int daemon_alive(struct daemon *d);

/* Wait for ktlsd to exit: its wait status, or -1 after the time. */
int daemon_wait(struct daemon *d, int timeout_ms);

/* Replace the configuration file in one step (ktlsd may read it now). */
int write_file(const struct daemon *d, const char *text);

/* The test configuration, with more profiles after it. 0 or -errno. */
int write_conf(const struct daemon *d, const char *more);
/* "user = nobody\n" where there is no ktlsd user, else "". */
const char *test_user_line(void);

/* The whole log so far (malloc'd, NUL-terminated), or NULL. */
char *log_read(const struct daemon *d);

/* The end of the log, for failure messages (a static buffer). */
const char *log_tail(const struct daemon *d);

/* How many times needle is in the log. */
int log_count(const struct daemon *d, const char *needle);

/* Wait until needle is in the log count times; the count seen. */
int log_wait(struct daemon *d, const char *needle, int count, int timeout_ms);

/* A process's open descriptors, or -errno. */
int count_fds(pid_t pid);


/* Unlink the files of a directory (not recursive), then the directory. */
void remove_dir(const char *path);

#endif
