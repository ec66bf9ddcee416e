// SPDX-License-Identifier: LGPL-2.1-or-later
/* Small primitives shared by lib/ files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int util_write_all(int fd, const void *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		buf = (const char *)buf + n;
		len -= n;
	}
	return 0;
}

int util_temp_beside(const char *path, char *tmp)
{
	int fd;

	if (snprintf(tmp, PATH_MAX, "%s.tmp-XXXXXX", path) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int util_replace_file(const char *path, const void *data, size_t len,
		      mode_t mode, int durable)
{
	char tmp[PATH_MAX];
	int fd, ret;

	fd = util_temp_beside(path, tmp);
	if (fd < 0)
		return fd;
	ret = fchmod(fd, mode) ? -errno : util_write_all(fd, data, len);
	if (!ret && durable && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}
