// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl probe [--json]: what kernel TLS can do on this machine (and each
 * interface's TLS offload, probe_nic.c), for an
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

/* The cipher masks as [TLS 1.2, 1.3][TX, RX]. */
static void cipher_masks(const struct ktls_probe *p, unsigned m[2][2])
{
	m[0][0] = p->tx12;
	m[0][1] = p->rx12;
	m[1][0] = p->tx13;
	m[1][1] = p->rx13;
}

static void print_json(const struct ktls_probe *p)
{
	unsigned m[2][2];
	int v, d;

	cipher_masks(p, m);
	printf("{\"ulp_available\": %s, \"why\": ", p->ulp ? "false" : "true");
	ctl_json_string(p->why);
	printf(", \"kernel\": ");
	ctl_json_string(p->kernel);
	for (v = 0; v < 2; v++) {
		printf(", \"tls1%d\": {", 2 + v);
		for (d = 0; d < 2; d++) {
			printf("%s\"%s\": [", d ? ", " : "", d ? "rx" : "tx");
			print_ciphers(m[v][d], 1);
			putchar(']');
		}
		putchar('}');
	}
	printf(", \"rekey\": %s", p->rekey ? "true" : "false");
	ctl_probe_nic(1);
	printf("}\n");
}

static void print_ciphers_text(const struct ktls_probe *p)
{
	unsigned m[2][2];
	int v, d;

	cipher_masks(p, m);
	for (v = 0; v < 2; v++) {
		for (d = 0; d < 2; d++) {
			printf("TLS 1.%d %s:    ", 2 + v, d ? "RX" : "TX");
			print_ciphers(m[v][d], 0);
			putchar('\n');
		}
	}
	printf("TLS 1.3 rekey: %s\n", p->rekey ? "yes" : "no");
}

static void print_text(const struct ktls_probe *p)
{
	if (probe_usable(p))
		printf("kTLS:          available\n");
	else
		printf("kTLS:          not available: %s\n",
		       *p->why ? p->why : "no cipher works in both directions.");
	printf("kernel:        %s\n", p->kernel);
	if (!p->ulp)
		print_ciphers_text(p);
	ctl_probe_nic(0);
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
