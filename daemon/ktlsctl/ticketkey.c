// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ktlsctl ticket-key new|rotate FILE: the file of session ticket keys that
 * ktlsd's server profiles share (ticket_key_file, ktlsd.conf(5)). new:
 * one random key, in a file that must not exist yet. rotate: a new key
 * first, the old first key second (it still opens the tickets it sealed);
 * a key two rotations old is dropped. Written whole, mode 0600, synced,
 * renamed into place: a ktlsd that reloads meanwhile reads the old file or
 * the new one, never a part. Then reload each ktlsd (SIGHUP) that uses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <ktls.h>

#include "ctl.h"

#define KEY KTLS_TICKET_KEY_LEN

/* The first key of path into key: 0, or -errno (-EINVAL: wrong size). */
static int first_key(const char *path, uint8_t key[KEY])
{
	uint8_t buf[2 * KEY + 1];
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		ret = -errno;
	else if (n != KEY && n != 2 * KEY)
		ret = -EINVAL;
	else
		memcpy(key, buf, KEY);
	close(fd);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

static int write_keys(const char *path, int rotate)
{
	uint8_t keys[2 * KEY];
	int ret = 0;

	if (rotate)
		ret = first_key(path, keys + KEY);
	else if (!access(path, F_OK))
		ret = -EEXIST;
	if (!ret && gnutls_rnd(GNUTLS_RND_KEY, keys, KEY) < 0)
		ret = -EIO;
	if (!ret)
		ret = ctl_secret_save(path, keys, rotate ? 2 * KEY : KEY);
	explicit_bzero(keys, sizeof(keys));
	if (ret)
		fprintf(stderr, "ktlsctl: ticket-key %s %s: %s\n",
			rotate ? "rotate" : "new", path,
			ret == -EINVAL ? "not a file of ticket keys (64 or 128 "
			"bytes)" : ret == -EEXIST ? "exists (rotate it, or "
			"remove it first)" : strerror(-ret));
	return ret ? 1 : 0;
}

int ctl_ticket_key(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "new") && strcmp(argv[1], "rotate"))) {
		fprintf(stderr, "usage: ktlsctl ticket-key new|rotate FILE\n");
		return 2;
	}
	return write_keys(argv[2], !strcmp(argv[1], "rotate"));
}
