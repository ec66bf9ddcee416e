// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key process itself: loads private keys when asked and signs with
 * them, over the connection it was started with and over lanes: further
 * connections that LANE asks for, each served by a thread of its own
 * that signs and does nothing else, so that the handshake process's
 * workers sign at once. Every packet is size-checked against its header
 * and its type before a field of it is read; a malformed one is logged
 * and ends its connection (the first one's, and with it the process).
 * Keys never leave this process: no message carries one out.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keyutils.h>

#include "ktlsd.h"
#include "keyproc.h"

#define KP_FILE_MAX	(1 << 20)

struct keyproc_srv {
	/* keys[]: SIGN holds it to read, LOAD and DROP to write. */
	pthread_rwlock_t lock;
	gnutls_privkey_t keys[KP_KEYS_MAX];	/* key id - 1 */
	uint8_t from_url[KP_KEYS_MAX];		/* a token's: signs alone */
	pthread_mutex_t url_lock;
	int sealed;
	int lane_asked;		/* LANE: keyproc_srv_run() opens it */
	pthread_mutex_t lanes_lock;	/* lanes and lane_fd[] */
	int lanes;			/* open */
	int lane_fd[KP_LANES_MAX];	/* their ends, -1: free */
};

static int lanes_open(struct keyproc_srv *s)
{
	int n;

	pthread_mutex_lock(&s->lanes_lock);
	n = s->lanes;
	pthread_mutex_unlock(&s->lanes_lock);
	return n;
}

struct keyproc_srv *keyproc_srv_new(void)
{
	struct keyproc_srv *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->url_lock, NULL);
	pthread_mutex_init(&s->lanes_lock, NULL);
	memset(s->lane_fd, -1, sizeof(s->lane_fd));
	return s;
}

/*
 * Every key freed once the signatures in progress are done; a lane that
 * asks later finds none. A lane still open (keyproc_srv_run() shut them
 * all; one stuck past its wait) keeps the rest, reachable from here: the
 * process is ending.
 */
static struct keyproc_srv *volatile kept;

void keyproc_srv_free(struct keyproc_srv *s)
{
	size_t i;

	if (!s)
		return;
	pthread_rwlock_wrlock(&s->lock);
	for (i = 0; i < KP_KEYS_MAX; i++) {
		if (s->keys[i])
			gnutls_privkey_deinit(s->keys[i]);
		s->keys[i] = NULL;
	}
	pthread_rwlock_unlock(&s->lock);
	if (lanes_open(s)) {
		kept = s;
		return;
	}
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->url_lock);
	pthread_mutex_destroy(&s->lanes_lock);
	free(s);
}

/* ---- Loading ---- */

/* PEM carries its own armour; anything else is taken as DER. */
static gnutls_x509_crt_fmt_t key_format(const gnutls_datum_t *d)
{
	return memmem(d->data, d->size, "-----BEGIN", 10) ? GNUTLS_X509_FMT_PEM
							  : GNUTLS_X509_FMT_DER;
}

static int import_raw(gnutls_privkey_t pk, const gnutls_datum_t *d)
{
	return gnutls_privkey_import_x509_raw(pk, d, key_format(d), NULL, 0) < 0 ?
	       -EKEYREJECTED : 0;
}

/* Our own buffer, so that it is wiped: gnutls_load_file()'s is not. */
static int import_file(gnutls_privkey_t pk, const char *path)
{
	gnutls_datum_t d = { 0 };
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ret = fstat(fd, &st) ? -errno : !S_ISREG(st.st_mode) ? -EINVAL :
	      st.st_size > KP_FILE_MAX ? -EFBIG : 0;
	if (!ret && !(d.data = malloc(st.st_size + 1)))
		ret = -ENOMEM;
	if (!ret) {
		n = read(fd, d.data, st.st_size + 1);
		ret = n < 0 ? -errno : n > st.st_size ? -EFBIG : 0;
		d.size = n > 0 ? n : 0;
	}
	close(fd);
	if (!ret)
		ret = import_raw(pk, &d);
	if (d.data) {
		explicit_bzero(d.data, st.st_size + 1);
		free(d.data);
	}
	return ret;
}

/* A "user" key: the only readable type that holds a key as given. */
static int import_keyring(gnutls_privkey_t pk, int32_t serial)
{
	gnutls_datum_t d;
	char *desc = NULL;
	uint8_t *data;
	size_t len;
	int ret;

	if (serial <= 0)
		return -ENOKEY;
	if (keyctl_describe_alloc(serial, &desc) < 0)
		return -errno;
	ret = strncmp(desc, "user;", 5) ? -EKEYREJECTED : 0;
	free(desc);
	if (!ret)
		ret = keyring_read(serial, &data, &len);
	if (ret)
		return ret;
	d.data = data;
	d.size = len;
	ret = import_raw(pk, &d);
	explicit_bzero(data, len);
	free(data);
	return ret;
}

static int import_url(gnutls_privkey_t pk, const char *url)
{
	int ret = gnutls_privkey_import_url(pk, url, 0);

	if (ret == GNUTLS_E_UNIMPLEMENTED_FEATURE)
		return -EPROTONOSUPPORT;
	return ret < 0 ? -EKEYREJECTED : 0;
}

/* A path or URL from the body: no NUL inside, copied with one after. */
static int body_string(const uint8_t *b, size_t len, char *out)
{
	if (!len || len > KP_PATH_MAX || memchr(b, 0, len))
		return -1;
	memcpy(out, b, len);
	out[len] = 0;
	return 0;
}

static int free_slot(const struct keyproc_srv *s)
{
	int i;

	for (i = 0; i < KP_KEYS_MAX; i++)
		if (!s->keys[i])
			return i;
	return -1;
}

/*
 * LOAD: the source was checked; loads into a free slot. The import runs
 * unlocked (a token or a file may be slow): lanes go on signing.
 */
static int load(struct keyproc_srv *s, uint32_t src, const char *str,
		int32_t serial, struct kp_loaded *out)
{
	gnutls_privkey_t pk;
	unsigned bits = 0;
	int slot, ret;

	if (s->sealed && src != KP_SRC_KEYRING)
		return -EPERM;
	if (src == KP_SRC_FILE && str[0] != '/')
		return -EINVAL;
	if (gnutls_privkey_init(&pk) < 0)
		return -ENOMEM;
	ret = src == KP_SRC_FILE ? import_file(pk, str) :
	      src == KP_SRC_URL ? import_url(pk, str) :
	      import_keyring(pk, serial);
	if (ret) {
		gnutls_privkey_deinit(pk);
		return ret;
	}
	pthread_rwlock_wrlock(&s->lock);
	slot = free_slot(s);
	if (slot >= 0) {
		s->keys[slot] = pk;
		s->from_url[slot] = src == KP_SRC_URL;
	}
	pthread_rwlock_unlock(&s->lock);
	if (slot < 0) {
		gnutls_privkey_deinit(pk);
		return -ENOSPC;
	}
	out->pk = gnutls_privkey_get_pk_algorithm(pk, &bits);
	out->bits = bits;
	out->key = slot + 1;
	return 0;
}

/* ---- Requests ---- */

static gnutls_privkey_t key_of(const struct keyproc_srv *s, uint32_t id)
{
	return id >= 1 && id <= KP_KEYS_MAX ? s->keys[id - 1] : NULL;
}

/*
 * Under the read lock: a DROP waits for the signatures in progress. A
 * software key signs in several threads at once, as GnuTLS's credentials
 * do in a threaded server; a token's key signs alone (a PKCS#11 session
 * is not GnuTLS's to share).
 */
static int sign_locked(struct keyproc_srv *s, const struct kp_sign *rq,
		       const gnutls_datum_t *in, gnutls_datum_t *sig)
{
	gnutls_privkey_t pk;
	int ret, url;

	pthread_rwlock_rdlock(&s->lock);
	pk = key_of(s, rq->key);
	url = pk && s->from_url[rq->key - 1];
	if (url)
		pthread_mutex_lock(&s->url_lock);
	ret = !pk ? -ENOKEY : (rq->form == KP_FORM_HASH ?
	      gnutls_privkey_sign_hash2(pk, rq->algo, rq->flags, in, sig) :
	      gnutls_privkey_sign_data2(pk, rq->algo, rq->flags, in, sig)) < 0 ?
	      -EKEYREJECTED : 0;
	if (url)
		pthread_mutex_unlock(&s->url_lock);
	pthread_rwlock_unlock(&s->lock);
	return ret;
}

static int sign(struct keyproc_srv *s, const struct kp_sign *rq,
		const uint8_t *data, size_t len, uint8_t *out, size_t *out_len)
{
	gnutls_datum_t in = { (unsigned char *)data, len }, sig = { 0 };
	int ret = sign_locked(s, rq, &in, &sig);

	if (ret)
		return ret;
	ret = sig.size > KP_SIG_MAX ? -EMSGSIZE : 0;
	if (!ret) {
		memcpy(out, sig.data, sig.size);
		*out_len = sig.size;
	}
	gnutls_free(sig.data);
	return ret;
}

static size_t reply_to(uint8_t *reply, uint32_t id, uint16_t type,
		       const void *body, size_t len)
{
	struct keyproc_hdr h = { .type = type, .len = len, .id = id };

	memcpy(reply, &h, KP_HDR_LEN);
	if (len && body != reply + KP_HDR_LEN)
		memcpy(reply + KP_HDR_LEN, body, len);
	return KP_HDR_LEN + len;
}

static size_t reply_err(uint8_t *reply, uint32_t id, int32_t err)
{
	return reply_to(reply, id, KP_ERROR, &err, sizeof(err));
}

#define malformed(text)	(*why = (text), -EBADMSG)

/*
 * The flags GnuTLS hands an external key's sign callbacks during a
 * handshake. Others are refused before GnuTLS sees them: GnuTLS 3.7 loses
 * memory on some (tests/fuzz/crashes/keyproc_req), which a compromised
 * handshake process could repeat until the key process ran out.
 */
#define KP_SIGN_FLAGS	(GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA | \
			 GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS | \
			 GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE | \
			 GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH)

static int handle_load(struct keyproc_srv *s, const struct keyproc_hdr *h,
		       const uint8_t *b, uint8_t *reply, size_t *rlen,
		       const char **why)
{
	char str[KP_PATH_MAX + 1] = "";
	struct kp_loaded out;
	int32_t serial = 0;
	uint32_t src;
	int ret;

	if (h->len < sizeof(src))
		return malformed("LOAD without a source");
	memcpy(&src, b, sizeof(src));
	if (src == KP_SRC_KEYRING) {
		if (h->len != sizeof(src) + sizeof(serial))
			return malformed("LOAD of a keyring key: not 8 bytes");
		memcpy(&serial, b + sizeof(src), sizeof(serial));
	} else if (src == KP_SRC_FILE || src == KP_SRC_URL) {
		if (body_string(b + sizeof(src), h->len - sizeof(src), str))
			return malformed("LOAD: an empty, long or NUL-holding name");
	} else {
		return malformed("LOAD from an unknown source");
	}
	ret = load(s, src, str, serial, &out);
	if (ret == -EPERM)
		log_warn("key process: a key from a %s was asked for after "
			 "the configuration was loaded: refused",
			 src == KP_SRC_FILE ? "file" : "URL");
	*rlen = ret ? reply_err(reply, h->id, ret)
		    : reply_to(reply, h->id, KP_LOADED, &out, sizeof(out));
	return 0;
}

static int handle_sign(struct keyproc_srv *s, const struct keyproc_hdr *h,
		       const uint8_t *b, uint8_t *reply, size_t *rlen,
		       const char **why)
{
	struct kp_sign rq;
	size_t n = 0;
	int ret;

	if (h->len < sizeof(rq) || h->len - sizeof(rq) > KP_SIGN_MAX)
		return malformed("SIGN: body size out of range");
	memcpy(&rq, b, sizeof(rq));
	if (rq.form != KP_FORM_DATA && rq.form != KP_FORM_HASH)
		return malformed("SIGN: unknown form");
	if (rq.flags & ~KP_SIGN_FLAGS)
		return malformed("SIGN: a flag a handshake does not use");
	if (!gnutls_sign_get_name(rq.algo) &&
	    !(rq.form == KP_FORM_HASH && rq.flags & GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA))
		return malformed("SIGN: unknown signature algorithm");
	ret = sign(s, &rq, b + sizeof(rq), h->len - sizeof(rq),
		   reply + KP_HDR_LEN, &n);
	*rlen = ret ? reply_err(reply, h->id, ret)
		    : reply_to(reply, h->id, KP_SIGNATURE, reply + KP_HDR_LEN, n);
	return 0;
}

static int handle_drop(struct keyproc_srv *s, const struct keyproc_hdr *h,
		       const uint8_t *b, uint8_t *reply, size_t *rlen,
		       const char **why)
{
	gnutls_privkey_t pk;
	uint32_t id;

	if (h->len != sizeof(id))
		return malformed("DROP: not 4 bytes");
	memcpy(&id, b, sizeof(id));
	pthread_rwlock_wrlock(&s->lock);
	pk = key_of(s, id);
	if (pk)
		s->keys[id - 1] = NULL;
	pthread_rwlock_unlock(&s->lock);
	if (!pk) {
		*rlen = reply_err(reply, h->id, -ENOKEY);
		return 0;
	}
	gnutls_privkey_deinit(pk);
	*rlen = reply_to(reply, h->id, KP_OK, NULL, 0);
	return 0;
}

/* LANE: OK, and keyproc_srv_run() sends the lane with it. */
static int handle_lane(struct keyproc_srv *s, const struct keyproc_hdr *h,
		       uint8_t *reply, size_t *rlen, const char **why)
{
	if (h->len)
		return malformed("LANE with a body");
	if (lanes_open(s) >= KP_LANES_MAX) {
		*rlen = reply_err(reply, h->id, -EMFILE);
		return 0;
	}
	s->lane_asked = 1;
	*rlen = reply_to(reply, h->id, KP_OK, NULL, 0);
	return 0;
}

/* One request; on a lane (lane set) SIGN is the only one. */
static int handle(struct keyproc_srv *s, int lane, const uint8_t *msg,
		  size_t len, uint8_t *reply, size_t *reply_len,
		  const char **why)
{
	struct keyproc_hdr h;

	if (len < KP_HDR_LEN)
		return malformed("shorter than a header");
	if (len > KP_MSG_MAX)
		return malformed("longer than any request");
	memcpy(&h, msg, KP_HDR_LEN);
	if (h.zero || h.len != len - KP_HDR_LEN)
		return malformed("header and packet sizes disagree");
	msg += KP_HDR_LEN;
	if (lane && h.type != KP_SIGN)
		return malformed("a lane takes SIGN only");
	switch (h.type) {
	case KP_LOAD:
		return handle_load(s, &h, msg, reply, reply_len, why);
	case KP_SIGN:
		return handle_sign(s, &h, msg, reply, reply_len, why);
	case KP_DROP:
		return handle_drop(s, &h, msg, reply, reply_len, why);
	case KP_SEAL:
		if (h.len)
			return malformed("SEAL with a body");
		s->sealed = 1;
		*reply_len = reply_to(reply, h.id, KP_OK, NULL, 0);
		return 0;
	case KP_LANE:
		return handle_lane(s, &h, reply, reply_len, why);
	}
	return malformed("unknown request type");
}

int keyproc_srv_handle(struct keyproc_srv *s, const uint8_t *msg, size_t len,
		       uint8_t *reply, size_t *reply_len, const char **why)
{
	return handle(s, 0, msg, len, reply, reply_len, why);
}

/* ---- The process: its start ---- */

/* Nothing but the connection and stderr (for the log) stays open. */
static void shed_process(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	prctl(PR_SET_NAME, "ktlsd-key");
	prctl(PR_SET_DUMPABLE, 0);
	/*
	 * It ends when the last process holding its connection has, not by
	 * a signal: stopping the unit sends SIGTERM to every process in it,
	 * and the handshakes still draining need their signatures.
	 */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		if (null > 2)
			close(null);
	}
	close_range(KEYPROC_FD + 1, ~0u, 0);
}

/* ---- Lanes ---- */

struct lane {
	struct keyproc_srv *s;
	int fd;
	int slot;			/* in s->lane_fd[] */
};

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	uint8_t *msg = malloc(KP_MSG_MAX + 1), *reply = malloc(KP_MSG_MAX);
	const char *why = "";
	size_t rlen = 0;
	ssize_t n;

	while (msg && reply) {
		n = recv(l->fd, msg, KP_MSG_MAX + 1, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (handle(l->s, 1, msg, n, reply, &rlen, &why)) {
			log_err("key process: malformed request on a lane (%s, "
				"%zd bytes): closing the lane", why, n);
			break;
		}
		if (send(l->fd, reply, rlen, MSG_NOSIGNAL) < 0)
			break;
	}
	free(msg);
	free(reply);
	pthread_mutex_lock(&l->s->lanes_lock);
	l->s->lane_fd[l->slot] = -1;
	l->s->lanes--;
	close(l->fd);
	pthread_mutex_unlock(&l->s->lanes_lock);
	free(l);
	return NULL;
}

/* A lane: a thread serves one end; the other end, or -errno. */
static int open_lane(struct keyproc_srv *s)
{
	struct lane *l = malloc(sizeof(*l));
	pthread_attr_t a;
	pthread_t t;
	int sv[2], ret;

	if (!l)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		free(l);
		return ret;
	}
	l->s = s;
	l->fd = sv[0];
	/* A free slot there is: LANE checked the count, and only we add. */
	pthread_mutex_lock(&s->lanes_lock);
	for (l->slot = 0; s->lane_fd[l->slot] >= 0; l->slot++)
		;
	s->lane_fd[l->slot] = sv[0];
	s->lanes++;
	pthread_mutex_unlock(&s->lanes_lock);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	ret = -pthread_create(&t, &a, lane_main, l);
	pthread_attr_destroy(&a);
	if (!ret)
		return sv[1];
	pthread_mutex_lock(&s->lanes_lock);
	s->lane_fd[l->slot] = -1;
	s->lanes--;
	pthread_mutex_unlock(&s->lanes_lock);
	close(sv[0]);
	close(sv[1]);
	free(l);
	return ret;
}

/*
 * The first connection closed: every lane shut, so that its thread ends
 * once the signature it may be making is sent; waited for, a second at
 * most (a signature takes milliseconds).
 */
static void end_lanes(struct keyproc_srv *s)
{
	int i;

	pthread_mutex_lock(&s->lanes_lock);
	for (i = 0; i < KP_LANES_MAX; i++)
		if (s->lane_fd[i] >= 0)
			shutdown(s->lane_fd[i], SHUT_RDWR);
	pthread_mutex_unlock(&s->lanes_lock);
	for (i = 0; i < 500 && lanes_open(s); i++)
		usleep(2000);
}

/* LANE's OK with the lane's descriptor, or an ERROR instead. */
static int send_lane(struct keyproc_srv *s, int fd, uint8_t *reply,
		     size_t rlen)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { reply, rlen };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	struct keyproc_hdr h;
	int lane = open_lane(s), ret;

	if (lane < 0) {
		memcpy(&h, reply, KP_HDR_LEN);
		rlen = reply_err(reply, h.id, lane);
		return send(fd, reply, rlen, MSG_NOSIGNAL) < 0 ? -1 : 0;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &lane, sizeof(int));
	ret = sendmsg(fd, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
	close(lane);
	return ret;
}

/* ---- The process: its first connection ---- */

int keyproc_srv_run(int fd)
{
	static uint8_t msg[KP_MSG_MAX + 1], reply[KP_MSG_MAX];
	struct keyproc_srv *s;
	const char *why = "";
	size_t rlen = 0;
	ssize_t n;
	int status = 0;

	shed_process();
	s = keyproc_srv_new();
	if (!s)
		return 1;
	for (;;) {
		n = recv(fd, msg, sizeof(msg), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* EOF: the last holder of the other end closed */
		if (keyproc_srv_handle(s, msg, n, reply, &rlen, &why)) {
			log_err("key process: malformed request (%s, %zd "
				"bytes): closing the connection", why, n);
			status = 1;
			break;
		}
		if (s->lane_asked) {
			s->lane_asked = 0;
			if (send_lane(s, fd, reply, rlen))
				break;
		} else if (send(fd, reply, rlen, MSG_NOSIGNAL) < 0) {
			break;
		}
	}
	end_lanes(s);
	keyproc_srv_free(s);
	close(fd);
	return status;
}
