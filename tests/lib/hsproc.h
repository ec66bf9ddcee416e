/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ktlsd's handshake process, as the tests find it (tests/lib/hsproc.c). */
#ifndef KTLS_TEST_HSPROC_H
#define KTLS_TEST_HSPROC_H

#include <stddef.h>
#include <sys/types.h>

/*
 * /proc/pid/stat read into buf: what follows the command name's ") "
 * (from the state field on), or NULL; the name into comm when not NULL.
 */
const char *proc_stat(pid_t pid, char *buf, size_t len, char *comm,
		      size_t comm_len);

/*
 * The newest child of parent with this comm ("ktlsd-hs", "ktlsd-key"), or
 * -1; and one that is not `not`, waiting up to timeout_ms for it.
 */
pid_t child_named(pid_t parent, const char *name);
pid_t child_wait(pid_t parent, const char *name, pid_t not, int timeout_ms);
/*
 * The newest handshake process of supervisor (during a reload the old one
 * drains beside the new one), or -1; and one that is not `not`.
 */
pid_t hs_pid(pid_t supervisor);
pid_t hs_wait(pid_t supervisor, pid_t not, int timeout_ms);

/* Whether pid (0: this process) maps a file whose name has s; -1: unknown. */
int proc_maps_have(pid_t pid, const char *s);

#endif
