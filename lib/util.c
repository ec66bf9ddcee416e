// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small primitives shared by lib/ files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int util_parse_alpn(const char *list, char **buf, gnutls_datum_t *out,
		    unsigned *n)
{
	char *tok, *end;

	*n = 0;
	*buf = strdup(list);
	if (!*buf)
		return -ENOMEM;
	/* Every comma-separated name must be 1..255 bytes: no empty ones. */
	for (tok = *buf; tok; tok = end) {
		size_t len;

		end = strchr(tok, ',');
		if (end)
			*end++ = 0;
		len = strlen(tok);
		if (*n == KTLS_ALPN_MAX || len == 0 || len > 255) {
			*n = 0;
			return -EINVAL;
		}
		out[*n].data = (unsigned char *)tok;
		out[*n].size = len;
		(*n)++;
	}
	return 0;
}
