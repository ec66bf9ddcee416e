// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's kTLS counters, /proc/net/tls_stat: one "Name value" line
 * each, for the whole network namespace. ktlsd exports them as metrics and
 * ktlsctl status prints them with what they mean, so both read them here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* What each counter counts, in the words an operator needs. */
static const struct {
	const char *name, *meaning;
} meanings[] = {
	{ "TlsCurrTxSw", "TX directions open now, encrypted by the kernel" },
	{ "TlsCurrRxSw", "RX directions open now, decrypted by the kernel" },
	{ "TlsCurrTxDevice", "TX directions open now, encrypted by a NIC" },
	{ "TlsCurrRxDevice", "RX directions open now, decrypted by a NIC" },
	{ "TlsTxSw", "TX directions installed for kernel crypto since boot" },
	{ "TlsRxSw", "RX directions installed for kernel crypto since boot" },
	{ "TlsTxDevice", "TX directions installed for NIC crypto since boot" },
	{ "TlsRxDevice", "RX directions installed for NIC crypto since boot" },
	{ "TlsDecryptError", "records that failed to decrypt or authenticate "
	  "(bad keys, corruption or an attack)" },
	{ "TlsRxDeviceResync", "times a NIC was told where the next record "
	  "starts after it lost track" },
	{ "TlsDecryptRetry", "records decrypted twice because no-pad was "
	  "assumed and the peer padded" },
	{ "TlsRxNoPadViolation", "data records decrypted twice because no-pad "
	  "was assumed and the peer padded" },
	{ "TlsTxRekeyOk", "TLS 1.3 TX key updates that succeeded" },
	{ "TlsRxRekeyOk", "TLS 1.3 RX key updates that succeeded" },
	{ "TlsTxRekeyError", "TLS 1.3 TX key updates that failed" },
	{ "TlsRxRekeyError", "TLS 1.3 RX key updates that failed" },
	{ "TlsRxRekeyReceived", "KeyUpdate messages received, each waiting "
	  "for user space to give the next RX key" },
};

const char *tls_stat_meaning(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++)
		if (!strcmp(name, meanings[i].name))
			return meanings[i].meaning;
	return NULL;
}

/* A name as the kernel writes them: letters and digits, at most 63. */
static int good_name(const char *s)
{
	size_t n = strlen(s);

	return n && n < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

/* One line to fn if it is "Name value": 1 with *ret fn's, else 0. */
static int one_line(const char *line, tls_stat_fn fn, void *arg, int *ret)
{
	char name[64];
	unsigned long long v;

	if (sscanf(line, "%63s %llu", name, &v) != 2 || !good_name(name))
		return 0;
	*ret = fn(name, v, arg);
	return 1;
}

int tls_stat_read(const char *path, tls_stat_fn fn, void *arg)
{
	char line[128];
	int ret = 0, n = 0;
	FILE *f;

	f = fopen(path ? path : TLS_STAT_PATH, "re");
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f))
		n += one_line(line, fn, arg, &ret);
	fclose(f);
	return ret ? ret : n;
}

int tls_stat_parse(char *buf, tls_stat_fn fn, void *arg)
{
	char *line, *save;
	int ret = 0, n = 0;

	for (line = strtok_r(buf, "\n", &save); !ret && line;
	     line = strtok_r(NULL, "\n", &save))
		n += one_line(line, fn, arg, &ret);
	return ret ? ret : n;
}
