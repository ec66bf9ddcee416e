// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A ClientHello body as a peer sends it, looked at by lib/tickets.c for a
 * ticket before GnuTLS reads it (servers with a previous ticket key). The
 * input is copied to a buffer of exactly its size, so a read past it is
 * seen. Accepted: it offers a ticket; then the extension's type is in it.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"
#include "session.h"

/* The two bytes of an extension type that says "a ticket" are in p. */
static int names_ticket(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (!p[i] && (p[i + 1] == 35 || p[i + 1] == 41))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fuzz_verdict = tickets_offered(copy, size);
	FUZZ_CHECK(fuzz_verdict == 0 || fuzz_verdict == 1);
	FUZZ_CHECK(!fuzz_verdict || names_ticket(copy, size));
	free(copy);
	return 0;
}
