// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The client of the key process (keyproc_srv.c): start one, ask it to
 * load keys, and make GnuTLS private keys whose sign callbacks ask it.
 *
 * It is ktlsd's own executable started again with KEYPROC_ARG, not a
 * fork: a fresh address space holds nothing of ours, and spawning is safe
 * from a process that already runs threads (a reload does). The
 * constructor below turns any program linked with this file (ktlsd, and
 * the tests that load configurations) into a key process when started
 * that way, before its main() or anything else of it runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktlsd.h"
#include "keyproc.h"

/* A signature takes milliseconds; a key process this late is stuck. */
#define KP_TIMEOUT_S	10

extern char **environ;

__attribute__((constructor))
static void keyproc_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], KEYPROC_ARG))
		return;
	log_open(argc > 2 && !strcmp(argv[2], "stderr"), LOG_INFO);
	exit(keyproc_srv_run(KEYPROC_FD));
}

/* Its own session (no terminal's signals), default signals, none blocked. */
static int spawn_attr(posix_spawnattr_t *a)
{
	sigset_t none, def;

	sigemptyset(&none);
	sigfillset(&def);
	sigdelset(&def, SIGKILL);
	sigdelset(&def, SIGSTOP);
	if (posix_spawnattr_init(a))
		return -ENOMEM;
	posix_spawnattr_setsigmask(a, &none);
	posix_spawnattr_setsigdefault(a, &def);
	return posix_spawnattr_setflags(a, POSIX_SPAWN_SETSIGMASK |
					POSIX_SPAWN_SETSIGDEF |
					POSIX_SPAWN_SETSID) ? -EINVAL : 0;
}

/*
 * Our own executable, as started (a package upgrade that replaces the
 * file changes nothing): "/proc/self/fd/N" of a descriptor opened on
 * /proc/self/exe at the first spawn. Rather than /proc/self/exe itself,
 * which a program run under valgrind finds to be valgrind's.
 */
static const char *self_exe(void)
{
	static char path[32];
	int fd;

	if (path[0])
		return path;
	fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	if (fd < 0)
		return "/proc/self/exe";
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return path;
}

static int spawn(int fd, pid_t *pid)
{
	char *argv[] = { "ktlsd-key", KEYPROC_ARG,
			 log_to_stderr() ? "stderr" : "syslog", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t a;
	int ret;

	ret = spawn_attr(&a);
	if (ret)
		return ret;
	if (posix_spawn_file_actions_init(&fa)) {
		posix_spawnattr_destroy(&a);
		return -ENOMEM;
	}
	ret = -posix_spawn_file_actions_adddup2(&fa, fd, KEYPROC_FD);
	if (!ret)
		ret = -posix_spawn(pid, self_exe(), &fa, &a, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&a);
	return ret;
}

int keyproc_spawn(struct keyproc **out)
{
	struct keyproc *kp = calloc(1, sizeof(*kp));
	int sv[2], child, ret;

	if (!kp)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		free(kp);
		return ret;
	}
	/* dup2() onto itself would leave close-on-exec set. */
	child = sv[1] != KEYPROC_FD ? sv[1] :
		fcntl(sv[1], F_DUPFD_CLOEXEC, KEYPROC_FD + 1);
	ret = child < 0 ? -errno : spawn(child, &kp->pid);
	if (child >= 0 && child != sv[1])
		close(child);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		free(kp);
		return ret;
	}
	keyproc_init(kp, sv[0]);
	log_debug("key process started: pid %d", (int)kp->pid);
	*out = kp;
	return 0;
}

/* A request not answered in KP_TIMEOUT_S counts as the process gone. */
static void conn_set(struct kp_conn *c, int fd)
{
	struct timeval tv = { .tv_sec = KP_TIMEOUT_S };

	c->fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void keyproc_init(struct keyproc *kp, int fd)
{
	size_t i;

	atomic_init(&kp->refs, 1);
	pthread_mutex_init(&kp->c.lock, NULL);
	conn_set(&kp->c, fd);
	pthread_mutex_init(&kp->lanes_lock, NULL);
	for (i = 0; i < KP_LANES; i++) {
		kp->lanes[i].fd = -1;
		pthread_mutex_init(&kp->lanes[i].lock, NULL);
	}
}

struct keyproc *keyproc_get(struct keyproc *kp)
{
	if (kp)
		atomic_fetch_add(&kp->refs, 1);
	return kp;
}

/*
 * It exits at EOF, which comes now unless another process still holds
 * the connection (a forked handshake process that inherited it): wait a
 * little, never block. Not our child (another process spawned it, or
 * reaped it): ECHILD at once. One that outlives the wait is left to
 * whoever reaps this process's children.
 */
static void reap(pid_t pid)
{
	int i;

	for (i = 0; i < 50; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return;
		usleep(2000);
	}
	log_debug("the key process (pid %d) still runs: another process "
		  "holds its connection", (int)pid);
}

void keyproc_forget(struct keyproc *kp)
{
	size_t i;

	if (!kp)
		return;
	if (kp->c.fd >= 0)
		close(kp->c.fd);
	kp->c.fd = -1;
	for (i = 0; i < KP_LANES; i++) {
		if (kp->lanes[i].fd >= 0)
			close(kp->lanes[i].fd);
		kp->lanes[i].fd = -1;
		kp->lanes[i].state = -1;
	}
	kp->dead = 1;
}

void keyproc_put(struct keyproc *kp)
{
	size_t i;

	if (!kp || atomic_fetch_sub(&kp->refs, 1) != 1)
		return;
	keyproc_forget(kp);
	if (kp->pid > 0)	/* 0: its parent reaped it already */
		reap(kp->pid);
	pthread_mutex_destroy(&kp->c.lock);
	pthread_mutex_destroy(&kp->lanes_lock);
	for (i = 0; i < KP_LANES; i++)
		pthread_mutex_destroy(&kp->lanes[i].lock);
	free(kp);
}

/* ---- One request, one reply ---- */

static int gone(struct keyproc *kp, int err)
{
	if (!kp->dead)
		log_err("the key process (pid %d) %s: handshakes that need a "
			"private key fail until the configuration is reloaded "
			"(SIGHUP)", (int)kp->pid, err == -ETIMEDOUT ?
			"does not answer" : "is gone");
	kp->dead = 1;
	return err;
}

/* The descriptor a packet carried, or -1. */
static int passed_fd(struct msghdr *m)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(m);
	int fd = -1;

	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/*
 * Its reply to request id: skips late replies to earlier ones. A
 * descriptor that came with the reply goes to *fd when fd is given; any
 * other is closed.
 */
static ssize_t receive(struct kp_conn *c, uint32_t id, uint8_t *buf,
		       struct keyproc_hdr *h, int *fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, KP_MSG_MAX };
	struct msghdr m;
	ssize_t n;
	int got;

	for (;;) {
		m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		n = recvmsg(c->fd, &m, MSG_TRUNC | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -EPIPE;
		got = passed_fd(&m);
		if (n >= KP_HDR_LEN && n <= KP_MSG_MAX)
			memcpy(h, buf, KP_HDR_LEN);
		if (n < KP_HDR_LEN || n > KP_MSG_MAX ||
		    m.msg_flags & MSG_CTRUNC || h->len != n - KP_HDR_LEN) {
			if (got >= 0)
				close(got);
			return -EBADMSG;
		}
		if (h->id == id && fd) {
			*fd = got;
			return n - KP_HDR_LEN;
		}
		if (got >= 0)
			close(got);
		if (h->id == id)
			return n - KP_HDR_LEN;
	}
}

/*
 * Send type with body a (+ b) over c, wait for the reply: its body
 * (KP_MSG_MAX bytes) into out, length returned, type in *rtype, a
 * descriptor it carried in *fd (when fd is given; -1 if none); a KP_ERROR
 * reply is returned as its negative errno.
 */
static ssize_t call(struct keyproc *kp, struct kp_conn *c, uint16_t type,
		    const void *a, size_t alen, const void *b, size_t blen,
		    uint8_t *out, uint16_t *rtype, int *fd)
{
	struct keyproc_hdr h = { .type = type, .len = alen + blen };
	struct iovec iov[3] = { { &h, KP_HDR_LEN }, { (void *)a, alen },
				{ (void *)b, blen } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 3 };
	uint8_t buf[KP_MSG_MAX];
	int32_t err;
	ssize_t n;

	if (fd)
		*fd = -1;
	pthread_mutex_lock(&c->lock);
	h.id = ++c->next_id;
	n = kp->dead || c->fd < 0 ? -EPIPE :
	    sendmsg(c->fd, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
	if (!n)
		n = receive(c, h.id, buf, &h, fd);
	if (n == -EPIPE || n == -ECONNRESET || n == -ETIMEDOUT || n == -EBADMSG)
		n = gone(kp, n);
	pthread_mutex_unlock(&c->lock);
	if (n < 0)
		return n;
	*rtype = h.type;
	if (h.type == KP_ERROR) {
		if (n != sizeof(err))
			return -EBADMSG;
		memcpy(&err, buf + KP_HDR_LEN, sizeof(err));
		return err < 0 && err > -4096 ? err : -EBADMSG;
	}
	memcpy(out, buf + KP_HDR_LEN, n);
	return n;
}

/* ---- Lanes: a connection per signing thread ---- */

/* Bumped in the child of every fork: lanes opened before are the parent's. */
static atomic_uint fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void forked(void)
{
	atomic_fetch_add(&fork_gen, 1);
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, forked);
}

/* LANE over the first connection: the new connection, or -errno. */
static int ask_lane(struct keyproc *kp)
{
	uint8_t out[KP_MSG_MAX];
	uint16_t type;
	ssize_t n;
	int fd;

	n = call(kp, &kp->c, KP_LANE, NULL, 0, NULL, 0, out, &type, &fd);
	if (n < 0)
		return n;
	if (type == KP_OK && !n && fd >= 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return type == KP_OK && !n ? -EOPNOTSUPP : -EBADMSG;
}

/* This thread's slot of every keyproc's lanes; -1: none taken yet. */
static __thread int slot = -1;

void keyproc_set_lane(unsigned n)
{
	slot = n % KP_LANES;
}

/*
 * Lane n of kp, asked for once per process (a lane inherited through a
 * fork is the parent's: closed here, not used); the first connection
 * when the key process gave none (KP_LANES_MAX reached) or is gone.
 */
static struct kp_conn *lane(struct keyproc *kp, unsigned n)
{
	unsigned gen = atomic_load(&fork_gen);
	struct kp_conn *l = &kp->lanes[n], *use;
	int fd;

	pthread_mutex_lock(&kp->lanes_lock);
	if (l->state && l->gen != gen) {
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		l->state = 0;
	}
	if (!l->state && !kp->dead) {
		fd = ask_lane(kp);
		if (fd >= 0)
			conn_set(l, fd);
		else if (fd != -EPIPE && fd != -ETIMEDOUT)
			log_debug("key process: no lane (%s): signing over "
				  "the first connection", strerror(-fd));
		l->state = fd >= 0 ? 1 : -1;
		l->gen = gen;
	}
	use = l->state > 0 ? l : &kp->c;
	pthread_mutex_unlock(&kp->lanes_lock);
	return use;
}

int keyproc_open_lane(struct keyproc *kp, unsigned n)
{
	pthread_once(&fork_once, watch_forks);
	return lane(kp, n % KP_LANES) == &kp->c ? -EAGAIN : 0;
}

/* This thread's lane: a thread that took no slot takes the next. */
static struct kp_conn *lane_for(struct keyproc *kp)
{
	static atomic_uint slots;

	pthread_once(&fork_once, watch_forks);
	if (slot < 0)
		slot = atomic_fetch_add(&slots, 1) % KP_LANES;
	return lane(kp, slot);
}

int keyproc_load(struct keyproc *kp, int source, const void *what,
		 struct kp_loaded *out)
{
	uint8_t buf[KP_MSG_MAX];
	uint32_t src = source;
	uint16_t type;
	ssize_t n;

	if (source == KP_SRC_KEYRING)
		n = call(kp, &kp->c, KP_LOAD, &src, sizeof(src), what,
			 sizeof(int32_t), buf, &type, NULL);
	else
		n = call(kp, &kp->c, KP_LOAD, &src, sizeof(src), what,
			 strlen(what), buf, &type, NULL);
	if (n < 0)
		return n;
	if (type != KP_LOADED || n != sizeof(*out))
		return -EBADMSG;
	memcpy(out, buf, sizeof(*out));
	return 0;
}

static int call_ok(struct keyproc *kp, uint16_t type, const void *a,
		   size_t alen)
{
	uint8_t out[KP_MSG_MAX];
	uint16_t rtype;
	ssize_t n = call(kp, &kp->c, type, a, alen, NULL, 0, out, &rtype, NULL);

	if (n < 0)
		return n;
	return rtype == KP_OK && !n ? 0 : -EBADMSG;
}

int keyproc_seal(struct keyproc *kp)
{
	return call_ok(kp, KP_SEAL, NULL, 0);
}

int keyproc_drop(struct keyproc *kp, uint32_t key)
{
	return call_ok(kp, KP_DROP, &key, sizeof(key));
}

int keyproc_sign(struct keyproc *kp, uint32_t key, int form, unsigned algo,
		 unsigned flags, const gnutls_datum_t *in, gnutls_datum_t *sig)
{
	struct kp_sign rq = { .key = key, .algo = algo, .flags = flags,
			      .form = form };
	uint8_t out[KP_MSG_MAX];
	uint16_t type;
	ssize_t n;

	if (in->size > KP_SIGN_MAX)
		return -EMSGSIZE;
	n = call(kp, lane_for(kp), KP_SIGN, &rq, sizeof(rq), in->data, in->size,
		 out, &type, NULL);
	if (n < 0)
		return n;
	if (type != KP_SIGNATURE || !n || n > KP_SIG_MAX)
		return -EBADMSG;
	sig->data = gnutls_malloc(n);
	if (!sig->data)
		return -ENOMEM;
	memcpy(sig->data, out, n);
	sig->size = n;
	return 0;
}

/* ---- GnuTLS external keys ---- */

struct ext_key {
	struct keyproc *kp;
	struct kp_loaded k;
	int drop;
};

static int sign_with(struct ext_key *k, int form, gnutls_sign_algorithm_t algo,
		     unsigned flags, const gnutls_datum_t *in,
		     gnutls_datum_t *sig)
{
	int ret = keyproc_sign(k->kp, k->k.key, form, algo, flags, in, sig);

	if (ret && ret != -EPIPE && ret != -ETIMEDOUT)
		log_warn("key process: signing with key %u (%s): %s", k->k.key,
			 gnutls_sign_get_name(algo) ? gnutls_sign_get_name(algo)
						    : "raw", strerror(-ret));
	return ret ? GNUTLS_E_PK_SIGN_FAILED : 0;
}

static int ext_sign_data(gnutls_privkey_t pk, gnutls_sign_algorithm_t algo,
			 void *arg, unsigned flags, const gnutls_datum_t *data,
			 gnutls_datum_t *sig)
{
	(void)pk;
	return sign_with(arg, KP_FORM_DATA, algo, flags, data, sig);
}

static int ext_sign_hash(gnutls_privkey_t pk, gnutls_sign_algorithm_t algo,
			 void *arg, unsigned flags, const gnutls_datum_t *hash,
			 gnutls_datum_t *sig)
{
	(void)pk;
	return sign_with(arg, KP_FORM_HASH, algo, flags, hash, sig);
}

static void ext_deinit(gnutls_privkey_t pk, void *arg)
{
	struct ext_key *k = arg;

	(void)pk;
	if (k->drop)
		keyproc_drop(k->kp, k->k.key);
	keyproc_put(k->kp);
	free(k);
}

static int ext_info(gnutls_privkey_t pk, unsigned flags, void *arg)
{
	struct ext_key *k = arg;
	unsigned algo;

	(void)pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return k->k.pk;
	/* RSA-PSS: the salt is as long as the key allows. */
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return k->k.bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) {
		algo = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
		return gnutls_sign_supports_pk_algorithm(algo, k->k.pk);
	}
	return -1;
}

int keyproc_privkey(struct keyproc *kp, const struct kp_loaded *key, int drop,
		    gnutls_privkey_t *out)
{
	struct ext_key *k = calloc(1, sizeof(*k));
	gnutls_privkey_t p;

	if (!k)
		return -ENOMEM;
	if (gnutls_privkey_init(&p) < 0) {
		free(k);
		return -ENOMEM;
	}
	k->kp = keyproc_get(kp);
	k->k = *key;
	k->drop = drop;
	if (gnutls_privkey_import_ext4(p, k, ext_sign_data, ext_sign_hash, NULL,
				       ext_deinit, ext_info,
				       GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0) {
		keyproc_put(kp);
		free(k);
		gnutls_privkey_deinit(p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}
