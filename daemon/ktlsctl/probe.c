// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl probe [--json]: what kernel TLS can do on this machine, for an
 * operator (text) or a script (one JSON object). Exit 0 when kTLS is
 * usable, 1 when it is not, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ktls.h"
#include "ctl.h"

static const char probe_usage[] = "usage: ktlsctl probe [--json]\n";

/* Usable: the ULP attaches and some cipher works in both directions. */
static int probe_usable(const struct ktls_probe *p)
{
	return !p->ulp && (p->tx12 | p->tx13) && (p->rx12 | p->rx13);
}

void ctl_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_ciphers(unsigned mask, int json)
{
	const char *sep = "";
	unsigned bit;

	for (bit = 1; bit && bit <= KTLS_CIPHER_ALL; bit <<= 1) {
		const char *name;

		if (!(mask & bit))
			continue;
		name = ktls_cipher_name(bit);
		fputs(sep, stdout);
		if (name && json)
			ctl_json_string(name);
		else if (name)
			fputs(name, stdout);
		else
			printf(json ? "\"cipher-0x%x\"" : "cipher-0x%x", bit);
		sep = json ? ", " : " ";
	}
	if (!json && !*sep)
		printf("none");
}

static void print_json(const struct ktls_probe *p)
{
	printf("{\"ulp_available\": %s, \"why\": ", p->ulp ? "false" : "true");
	ctl_json_string(p->why);
	printf(", \"kernel\": ");
	ctl_json_string(p->kernel);
	printf(", \"tls12\": {\"tx\": [");
	print_ciphers(p->tx12, 1);
	printf("], \"rx\": [");
	print_ciphers(p->rx12, 1);
	printf("]}, \"tls13\": {\"tx\": [");
	print_ciphers(p->tx13, 1);
	printf("], \"rx\": [");
	print_ciphers(p->rx13, 1);
	printf("]}, \"rekey\": %s}\n", p->rekey ? "true" : "false");
}

static void print_text(const struct ktls_probe *p)
{
	if (probe_usable(p))
		printf("kTLS:          available\n");
	else
		printf("kTLS:          not available: %s\n",
		       *p->why ? p->why : "no cipher works in both directions.");
	printf("kernel:        %s\n", p->kernel);
	if (p->ulp)
		return;
	printf("TLS 1.2 TX:    ");
	print_ciphers(p->tx12, 0);
	printf("\nTLS 1.2 RX:    ");
	print_ciphers(p->rx12, 0);
	printf("\nTLS 1.3 TX:    ");
	print_ciphers(p->tx13, 0);
	printf("\nTLS 1.3 RX:    ");
	print_ciphers(p->rx13, 0);
	printf("\nTLS 1.3 rekey: %s\n", p->rekey ? "yes" : "no");
}

int ctl_probe(int argc, char **argv)
{
	struct ktls_probe p = {.size = sizeof(p)};
	int json = 0, i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(probe_usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "ktlsctl probe: unknown argument '%s'\n%s", argv[i],
				probe_usage);
			return 2;
		}
	}

	err = ktls_probe(&p);
	if (err < 0) {
		fprintf(stderr, "ktlsctl probe: the probe could not run: %s\n", strerror(-err));
		return 1;
	}
	if (json)
		print_json(&p);
	else
		print_text(&p);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "ktlsctl probe: writing the result: %s\n", strerror(errno));
		return 1;
	}
	return probe_usable(&p) ? 0 : 1;
}
