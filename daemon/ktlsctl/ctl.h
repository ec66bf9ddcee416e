/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ktlsctl's subcommands, called from its main() with the subcommand's own argv. */
#ifndef KTLS_CTL_H
#define KTLS_CTL_H

/* one function per ktlsctl subcommand */

/*
 * ktlsctl probe [--json]: what kernel TLS can do here. argv[0] is "probe".
 * Returns the exit status: 0 kTLS usable, 1 not usable, 2 usage error.
 */
int ctl_probe(int argc, char **argv);

/* ktlsctl connect / listen: handshake, then relay stdin and stdout. */
int ctl_connect(int argc, char **argv);
int ctl_listen(int argc, char **argv);

/* ktlsctl stats [--socket PATH] [--json]: ktlsd's counters. */
int ctl_stats(int argc, char **argv);

#endif
