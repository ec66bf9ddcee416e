// SPDX-License-Identifier: GPL-2.0-or-later
/* ktlsctl: the command-line face of libktls and of ktlsd. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: ktlsctl probe [--json]\n"
"       ktlsctl connect HOST:PORT [options]\n"
"       ktlsctl listen [ADDR:]PORT --cert FILE --key FILE [options] [--once]\n"
"       ktlsctl connect|listen ... --handoff[=SOCKET] --profile NAME\n"
"         (ktlsd runs the handshake with the profile's credentials)\n"
"       ktlsctl subscribe PROFILE [--handoff SOCKET] [--once]\n"
"         (accept mode: ktlsd listens for the profile; each connection\n"
"         described in one line and echoed back)\n"
"       ktlsctl status [--json]\n"
"         (every kTLS socket here and its process; the kernel's counters)\n"
"       ktlsctl stats [--socket PATH] [--json | --prometheus]\n"
"         (ktlsd's counters per front door: handoff and kernel upcall;\n"
"         --prometheus: all its metrics, in Prometheus' text format)\n"
"       ktlsctl ticket-key new|rotate FILE\n"
"         (the session ticket keys ktlsd's servers share: ticket_key_file)\n"
"options: --sni NAME  --alpn LIST  --ca FILE | --insecure  --crl FILE\n"
"         --chain-only (check the server's chain, not its name)\n"
"         --cert FILE --key FILE  --psk-identity ID --psk-file FILE\n"
"         --tls-version 1.2|1.3  --cipher aes-128-gcm|aes-256-gcm|\n"
"           chacha20-poly1305|aes-128-ccm  --require-client-cert\n"
"         --timeout MS  --quiet\n"
"         connect: --session-file FILE (resume from it, save new tickets)\n"
"         listen: --tickets (issue session tickets)\n"
"         --zerocopy-sendfile  --rx-no-pad (kernel options; with --handoff\n"
"           the profile's zerocopy_sendfile and rx_expect_no_pad decide)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "probe"))
		return ctl_probe(argc - 1, argv + 1);
	if (!strcmp(argv[1], "connect"))
		return ctl_connect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "listen"))
		return ctl_listen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "subscribe"))
		return ctl_subscribe(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return ctl_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return ctl_stats(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ticket-key"))
		return ctl_ticket_key(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "ktlsctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
