// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl's files that hold secrets: a PSK in hex, read with read(2)
 * into a buffer wiped afterwards, not through stdio, whose buffer would
 * be freed with the key in it; resumption data, written to a new file of
 * its own and renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Up to size bytes of fd into buf: the count, or -errno. */
static ssize_t read_upto(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		got += n;
	}
	return got;
}

int ctl_secret_read_psk(const char *path, unsigned char *key, size_t cap)
{
	char text[CTL_PSK_FILE_MAX + 1];
	size_t n = 0, i;
	ssize_t len;
	int fd, c, v, hi = -1, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* One byte more than allowed tells a file that is too long. */
	len = read_upto(fd, text, sizeof(text));
	close(fd);
	ret = len < 0 ? (int)len : len > CTL_PSK_FILE_MAX ? -EFBIG : 0;
	for (i = 0; !ret && i < (size_t)len; i++) {
		c = (unsigned char)text[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		v = hex_value(c);
		if (v < 0 || (hi >= 0 && n == cap)) {
			ret = -EINVAL;
		} else if (hi < 0) {
			hi = v;
		} else {
			key[n++] = hi << 4 | v;
			hi = -1;
		}
	}
	if (!ret && (hi >= 0 || !n))
		ret = -EINVAL;
	explicit_bzero(text, sizeof(text));
	if (ret) {
		explicit_bzero(key, n);
		return ret;
	}
	return n;
}

int ctl_secret_save(const char *path, const void *data, size_t len)
{
	return util_replace_file(path, data, len, 0600, 1);
}
