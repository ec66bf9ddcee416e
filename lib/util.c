// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small primitives shared by lib/ files. */
#include <time.h>

#include "internal.h"

int64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
