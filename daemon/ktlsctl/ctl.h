/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ktlsctl's subcommands, called from its main() with the subcommand's own argv. */
#ifndef KTLS_CTL_H
#define KTLS_CTL_H

#include <stddef.h>

#include <ktls.h>

/* one function per ktlsctl subcommand */

/*
 * ktlsctl probe [--json]: what kernel TLS can do here. argv[0] is "probe".
 * Returns the exit status: 0 kTLS usable, 1 not usable, 2 usage error.
 */
int ctl_probe(int argc, char **argv);

/* ktlsctl connect / listen: handshake, then relay stdin and stdout. */
int ctl_connect(int argc, char **argv);
int ctl_listen(int argc, char **argv);

/*
 * ktlsctl subscribe PROFILE [--handoff SOCKET] [--once]: take the
 * connections ktlsd accepts for the profile, one line each on stdout,
 * and echo what each sends.
 */
int ctl_subscribe(int argc, char **argv);

/* ktlsctl stats [--socket PATH] [--json | --prometheus]: ktlsd's counters. */
int ctl_stats(int argc, char **argv);

/* ktlsctl status [--json]: every kTLS socket here, the kernel's counters. */
int ctl_status(int argc, char **argv);

/* ktlsctl ticket-key new|rotate FILE: ktlsd's shared ticket keys. */
int ctl_ticket_key(int argc, char **argv);

/*
 * Each interface's TLS offload features on stdout (probe_nic.c): text
 * lines, or (json) a ", \"interfaces\": [...]" member to close an object.
 */
void ctl_probe_nic(int json);
/* Where a direction's crypto runs, as ktlsctl prints it (conn.c). */
const char *ctl_offload_name(enum ktls_offload m);
/* Says why ktls_recv() failed with n (alert: the one it gave); 1. */
int ctl_recv_failed(ssize_t n, int alert);
/* s as a JSON string, quoted and escaped, on stdout (probe.c). */
void ctl_json_string(const char *s);

/* ---- secret.c: files that hold secrets ---- */

/* A PSK file holds no more (hex digits and whitespace) than this. */
#define CTL_PSK_FILE_MAX	4096

/*
 * The key a PSK file holds in hex (whitespace ignored) into key, cap
 * bytes at most: its length; -EINVAL for anything else in the file (an
 * odd number of digits, a key longer than cap, none), -EFBIG for a file
 * longer than CTL_PSK_FILE_MAX bytes, or what open() or read() said. Only
 * key holds the key afterwards (wiped on failure).
 */
int ctl_secret_read_psk(const char *path, unsigned char *key, size_t cap);

/*
 * Replace path with a file of mode 0600 holding data: written to a new
 * file beside it (never to one that was there: a file or a symlink at
 * PATH.tmp, say), synced and renamed into place. 0, or -errno.
 */
int ctl_secret_save(const char *path, const void *data, size_t len);

#endif
