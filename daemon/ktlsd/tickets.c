// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Session tickets of server profiles. tickets = yes: a random key per
 * configuration, so tickets resume on this ktlsd until the next reload.
 * ticket_key_file = PATH: keys shared by every server that reads the same
 * file (ktlsd.conf(5) has the format: one 64-byte key, or two where the
 * second is the key before a rotation and only opens tickets), read at
 * start and at each reload, so servers behind one name resume each
 * other's sessions.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_parse.h"

/* Why st is no file of keys we take, or NULL. */
static const char *unsafe(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_mode & 077)
		return "readable or writable by group or others (chmod 600)";
	if (st->st_uid && st->st_uid != geteuid())
		return "owned by another user than root or ktlsd's";
	if (st->st_size != KTLS_TICKET_KEY_LEN &&
	    st->st_size != 2 * KTLS_TICKET_KEY_LEN)
		return "not one 64-byte key or two (128 bytes)";
	return NULL;
}

/* The keys of path into buf (*len bytes): 0, or an error with *why. */
static int read_keys(const char *path, uint8_t *buf, size_t *len,
		     const char **why)
{
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		*why = strerror(errno);
	} else if ((*why = unsafe(&st))) {
		ret = -EINVAL;
	} else {
		n = read(fd, buf, st.st_size);
		*len = n > 0 ? (size_t)n : 0;
		if (n != st.st_size) {
			ret = n < 0 ? -errno : -EIO;
			*why = n < 0 ? strerror(errno) : "changed while read";
		}
	}
	close(fd);
	return ret;
}

int tickets_apply(struct parse *p, struct profile *pr, const struct draft *d)
{
	uint8_t keys[2 * KTLS_TICKET_KEY_LEN];
	const char *why = NULL;
	size_t len = 0;
	int ret;

	if (!d->ticket_key_file) {
		ret = d->tickets ? ktls_config_set_tickets(pr->cfg, 1) : 0;
		return ret ? fail_key(p, P_TICKETS, draft_at(d, P_TICKETS), ret,
				      "tickets: %s", ktls_strerror(ret)) : 0;
	}
	ret = read_keys(d->ticket_key_file, keys, &len, &why);
	if (!ret) {
		ret = ktls_config_set_ticket_keys(pr->cfg, keys, len);
		why = ret ? ktls_strerror(ret) : NULL;
	}
	explicit_bzero(keys, sizeof(keys));
	if (!ret)
		return 0;
	return fail_key(p, P_TICKET_KEY_FILE, draft_at(d, P_TICKET_KEY_FILE),
			ret, "ticket_key_file: %s: %s", d->ticket_key_file, why);
}
