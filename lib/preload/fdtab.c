// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the shim knows about each descriptor of this process: the kTLS
 * connections it handed over (shared by their dups) and the listeners it
 * stands in for. Reads look entries up without a lock (a pointer load);
 * changes take one mutex.
 *
 * close_notify goes out when the last descriptor of a connection in the
 * process that owns it is closed, or when that process exits. fork() gives
 * the connections to the child: the pattern of servers that fork per
 * connection is that the parent closes its copy and the child serves it.
 * A parent that keeps serving after fork() closes without close_notify
 * (docs/preload.md). After exec the table is rebuilt from the descriptors
 * that have the TLS upper layer; those are owned by the new program.
 *
 * The traffic secrets for the peer's KeyUpdate follow the ownership: the
 * kernel's receive key is the socket's, shared by every process that has
 * it, so only one process can keep up with the updates. At fork() the
 * parent wipes its copies (the child owns the connections); a KeyUpdate
 * read by the parent is then an error, as before 6.14. exec loses them.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "session.h"
#include "preload.h"

struct slot {
	struct preload_conn *conn;
	struct preload_listener *listener;
};

static struct slot tab[PRELOAD_FDS];
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;

static int in_range(int fd)
{
	return fd >= 0 && fd < PRELOAD_FDS;
}

struct preload_conn *fdtab_conn(int fd)
{
	if (!in_range(fd) || preload_inside)
		return NULL;
	return __atomic_load_n(&tab[fd].conn, __ATOMIC_ACQUIRE);
}

struct preload_listener *fdtab_listener(int fd)
{
	if (!in_range(fd) || preload_inside)
		return NULL;
	return __atomic_load_n(&tab[fd].listener, __ATOMIC_ACQUIRE);
}

void fdtab_conn_at(struct preload_conn *c, int fd)
{
	c->s->fd = fd;
}

void preload_hs_from(struct preload_hs *hs, const struct ktls_session *s)
{
	const struct ktls_info *in = ktls_session_info(s);
	const uint8_t *tx, *rx;
	int len = session_secrets(s, &tx, &rx);

	memset(hs, 0, sizeof(*hs));
	if (!in)
		return;		/* version 0: the table refuses it */
	hs->version = in->version;
	hs->cipher = in->cipher;
	/* ktlsd's word, from its probe of this kernel, for this session. */
	if (!session_can_rekey(s) || len <= 0 || len > KTLS_SECRET_MAX)
		return;
	memcpy(hs->secret_tx, tx, len);
	memcpy(hs->secret_rx, rx, len);
	hs->secret_len = len;
}

void preload_hs_wipe(struct preload_hs *hs)
{
	gnutls_memset(hs, 0, sizeof(*hs));
}

/* Forget c's traffic secrets: a KeyUpdate is then an error to the reader. */
static void conn_wipe(struct preload_conn *c)
{
	gnutls_memset(c->s->secret_tx, 0, sizeof(c->s->secret_tx));
	gnutls_memset(c->s->secret_rx, 0, sizeof(c->s->secret_rx));
	c->s->secret_len = 0;
}

static void conn_put(struct preload_conn *c, int fd)
{
	if (--c->refs)
		return;
	fdtab_conn_at(c, fd);
	preload_inside++;
	if (c->owned)
		ktls_close_notify(c->s);
	ktls_session_free(c->s);
	preload_inside--;
	free(c);
}

/* Drop whatever fd stood for; the caller holds the lock. */
static void slot_clear(int fd)
{
	struct preload_conn *c = tab[fd].conn;

	__atomic_store_n(&tab[fd].conn, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&tab[fd].listener, NULL, __ATOMIC_RELEASE);
	if (c)
		conn_put(c, fd);
}

int fdtab_add_conn(int fd, const struct preload_hs *hs, int role)
{
	struct wire_reply r = {
		.version = hs->version, .cipher = hs->cipher,
		.role = role == KTLS_SERVER,
		.rekey = hs->secret_len != 0,
		.secret_tx = hs->secret_tx, .secret_rx = hs->secret_rx,
		.secret_len = hs->secret_len,	/* checked by session_adopt */
	};
	struct preload_conn *c;
	int ret;

	if (!in_range(fd))
		return -EMFILE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	ret = session_adopt(&c->s, fd, &r);
	if (ret) {
		free(c);
		return ret;
	}
	c->refs = 1;
	c->owned = 1;
	pthread_mutex_lock(&tab_lock);
	slot_clear(fd);
	__atomic_store_n(&tab[fd].conn, c, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_lock);
	return 0;
}

void fdtab_set_listener(int fd, struct preload_listener *l)
{
	pthread_mutex_lock(&tab_lock);
	slot_clear(fd);
	__atomic_store_n(&tab[fd].listener, l, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_lock);
}

void fdtab_forget(int fd)
{
	if (!in_range(fd) || (!fdtab_conn(fd) && !fdtab_listener(fd)))
		return;
	pthread_mutex_lock(&tab_lock);
	slot_clear(fd);
	pthread_mutex_unlock(&tab_lock);
}

void fdtab_dup(int oldfd, int newfd)
{
	if (!in_range(newfd) || oldfd == newfd)
		return;
	pthread_mutex_lock(&tab_lock);
	slot_clear(newfd);
	if (in_range(oldfd)) {
		struct preload_conn *c = tab[oldfd].conn;

		if (c)
			c->refs++;
		tab[newfd].listener = tab[oldfd].listener;
		__atomic_store_n(&tab[newfd].conn, c, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&tab_lock);
}

static void before_fork(void)
{
	pthread_mutex_lock(&tab_lock);
}

static void in_parent(void)
{
	for (int fd = 0; fd < PRELOAD_FDS; fd++)
		if (tab[fd].conn) {
			tab[fd].conn->owned = 0;
			conn_wipe(tab[fd].conn);
		}
	pthread_mutex_unlock(&tab_lock);
}

static void in_child(void)
{
	pthread_mutex_unlock(&tab_lock);
}

/* A socket with the TLS upper layer, both directions installed. */
static int has_ktls(int fd)
{
	char ulp[16] = "";
	socklen_t len = sizeof(ulp);

	if (real.getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &len) ||
	    strcmp(ulp, "tls"))
		return 0;
	return 1;
}

/* The version and cipher the kernel has for receiving on fd. */
static int ktls_params(int fd, int *version, unsigned *cipher)
{
	struct tls_crypto_info ci;
	socklen_t len = sizeof(ci);
	unsigned short kc;

	if (real.getsockopt(fd, SOL_TLS, TLS_RX, &ci, &len))
		return -errno;
	*version = ci.version == TLS_1_3_VERSION ? KTLS_TLS13 : KTLS_TLS12;
	for (unsigned bit = 1; bit; bit <<= 1) {
		kc = keys_kernel_cipher(bit);
		if (kc && kc == ci.cipher_type) {
			*cipher = bit;
			return 0;
		}
	}
	return -EOPNOTSUPP;
}

void fdtab_scan(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	pthread_atfork(before_fork, in_parent, in_child);
	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name), version = 0;
		unsigned cipher = 0;
		struct preload_hs hs = { 0 };	/* no secrets cross exec */

		if (e->d_name[0] == '.' || fd == dirfd(d) || !has_ktls(fd) ||
		    ktls_params(fd, &version, &cipher))
			continue;
		hs.version = version;
		hs.cipher = cipher;
		/* The role is not known: a client's skips tickets. */
		if (fdtab_add_conn(fd, &hs, KTLS_CLIENT))
			preload_log("descriptor %d has kTLS but cannot be tracked", fd);
	}
	closedir(d);
}

__attribute__((destructor)) static void fdtab_exit(void)
{
	preload_inside++;
	for (int fd = 0; fd < PRELOAD_FDS; fd++) {
		struct preload_conn *c = tab[fd].conn;

		if (c && c->owned) {
			fdtab_conn_at(c, fd);
			ktls_close_notify(c->s);
		}
		if (c)
			conn_wipe(c);
	}
	preload_inside--;
}
