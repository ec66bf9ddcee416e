// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel keyrings, as the handshake upcall uses them: the kernel
 * names certificates, private keys and PSKs by key serial, and links the
 * consumer's keyring (".nvme", ".nfs", ...) into the accepting process's
 * keyring (6.12) or names it in the request (later kernels). Keys are
 * readable by a possessor, so what we search we first link into our
 * process keyring; that keyring is created before the worker threads so
 * that all of them share it (a keyring installed later would be the
 * creating thread's alone).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keyutils.h>

#include "ktlsd.h"

void keyring_join_session(void)
{
	if (keyctl_join_session_keyring(NULL) < 0)
		log_warn("joining a session keyring of our own: %m");
}

void keyring_init(void)
{
	if (keyctl_get_keyring_ID(KEY_SPEC_PROCESS_KEYRING, 1) < 0)
		log_warn("creating the process keyring: %m");
}

int keyring_share(int32_t serial)
{
	return keyctl_link(serial, KEY_SPEC_SESSION_KEYRING) ? -errno : 0;
}

void keyring_unshare(int32_t serial)
{
	keyctl_unlink(serial, KEY_SPEC_SESSION_KEYRING);
}

int keyring_read(int32_t serial, uint8_t **data, size_t *len)
{
	uint8_t *buf = NULL;
	long n, size;

	if (serial <= 0)
		return -ENOKEY;
	/* Our own buffer, sized first, so that no copy escapes the wipe. */
	for (size = keyctl_read(serial, NULL, 0);; size = n) {
		if (size < 0)
			return -errno;
		if (size > (1 << 20))
			return -EMSGSIZE;
		buf = malloc(size ? size : 1);
		if (!buf)
			return -ENOMEM;
		n = keyctl_read(serial, (char *)buf, size);
		if (n >= 0 && n <= size)
			break;
		explicit_bzero(buf, size);
		free(buf);
		if (n < 0)
			return -errno;
	}
	*data = buf;
	*len = n;
	return 0;
}

/* keyctl_describe() of serial: "type;uid;gid;perm;description". */
static long describe(int32_t serial, char *desc, size_t len)
{
	long n;

	if (serial <= 0)
		return -ENOKEY;
	n = keyctl_describe(serial, desc, len);
	return n < 0 ? -errno : n;
}

int keyring_describe(int32_t serial, char *buf, size_t len)
{
	char desc[512], *p = desc;
	long n;
	int i;

	n = describe(serial, desc, sizeof(desc));
	if (n < 0)
		return n;
	if (n > (long)sizeof(desc))
		return -ENAMETOOLONG;
	/* "type;uid;gid;perm;description": the description may hold ';'. */
	for (i = 0; i < 4 && p; i++) {
		p = strchr(p, ';');
		if (p)
			p++;
	}
	if (!p || strlen(p) >= len)
		return -EINVAL;
	strcpy(buf, p);
	return 0;
}

int keyring_check_type(int32_t serial, const char *const *types, char *type,
		       size_t len)
{
	char desc[512];
	size_t n;
	long got;

	got = describe(serial, desc, sizeof(desc));
	if (got < 0)
		return got;
	desc[sizeof(desc) - 1] = 0;
	/* "type;uid;gid;perm;description" */
	n = strcspn(desc, ";");
	desc[n] = 0;
	for (; *types; types++)
		if (!strcmp(desc, *types))
			return 0;
	snprintf(type, len, "%s", desc);
	return -EKEYREJECTED;
}

int32_t keyring_lookup(const char *name)
{
	char *end;
	long id;

	if (!name || !*name)
		return 0;
	id = strtol(name, &end, 0);
	if (end != name && !*end)
		return id > 0 ? (int32_t)id : 0;
	id = find_key_by_type_and_desc("keyring", name, 0);
	return id > 0 ? (int32_t)id : 0;
}

static int link_into(int32_t keyring, int32_t into)
{
	if (keyring <= 0)
		return -EINVAL;
	return keyctl_link(keyring, into) ? -errno : 0;
}

int keyring_possess(int32_t keyring)
{
	return link_into(keyring, KEY_SPEC_PROCESS_KEYRING);
}

int keyring_possess_shared(int32_t keyring)
{
	return link_into(keyring, KEY_SPEC_SESSION_KEYRING);
}

int32_t keyring_find_possessed_psk(const char *identity)
{
	long id = keyctl_search(KEY_SPEC_PROCESS_KEYRING, "psk", identity, 0);

	return id > 0 ? id : 0;
}

int32_t keyring_find_psk(const int32_t *keyrings, size_t n,
			 const char *identity)
{
	long id;
	size_t i;

	for (i = 0; i < n; i++) {
		keyring_possess(keyrings[i]);
		id = keyctl_search(keyrings[i], "psk", identity, 0);
		if (id > 0)
			return id;
	}
	id = keyctl_search(KEY_SPEC_SESSION_KEYRING, "psk", identity, 0);
	return id > 0 ? id : 0;
}

int32_t keyring_add_peer_cert(const void *der, size_t len,
			      const char *peername)
{
	char desc[300];
	key_serial_t serial;

	snprintf(desc, sizeof(desc), "TLS x509 %s", peername);
	serial = add_key("asymmetric", desc, der, len, KEY_SPEC_USER_KEYRING);
	if (serial < 0) {
		log_debug("upcall: adding the peer's certificate as a key: %m");
		return 0;
	}
	/* Root's keyring (the consumer runs as root): root alone reads it. */
	if (keyctl_setperm(serial, KEY_USR_READ)) {
		log_debug("upcall: keyctl_setperm: %m");
		return 0;
	}
	return serial;
}
