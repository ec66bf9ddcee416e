/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The key process: the one process that holds private keys. It is ktlsd's
 * own executable started again (a fresh address space), serving one
 * SOCK_SEQPACKET connection; it loads keys when asked and signs with them,
 * nothing else. docs/keyproc.md describes the protocol and why.
 *
 * keyproc.c is the client side (spawn, LOAD, SEAL, SIGN, and the GnuTLS
 * external key whose callbacks send SIGN); keyproc_srv.c the server side.
 */
#ifndef KTLSD_KEYPROC_H
#define KTLSD_KEYPROC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gnutls/abstract.h>

/* ---- The protocol: every message one packet, a header then a body ---- */

struct keyproc_hdr {
	uint16_t type;			/* KP_* */
	uint16_t zero;			/* must be 0 */
	uint32_t len;			/* of the body after the header */
	uint32_t id;			/* a reply carries its request's */
};

#define KP_HDR_LEN	12
#define KP_PATH_MAX	4096		/* LOAD: a path or URL, no NUL */
#define KP_SIGN_MAX	8192		/* SIGN: the bytes to sign */
#define KP_SIG_MAX	2048		/* a signature (RSA 16384 bits) */
#define KP_MSG_MAX	(KP_HDR_LEN + 16 + KP_SIGN_MAX)
#define KP_KEYS_MAX	4096		/* keys loaded at once */
#define KP_LANES_MAX	64		/* lanes open at once */

enum {
	/* Requests */
	KP_LOAD = 1,		/* u32 source (KP_SRC_*), then its data */
	KP_SEAL = 2,		/* empty: no more keys from files or URLs */
	KP_SIGN = 3,		/* struct kp_sign, then the bytes */
	KP_DROP = 4,		/* u32 key id: forget the key */
	KP_LANE = 5,		/* empty: OK carries a new connection */
	/* Replies */
	KP_OK = 0x100,		/* empty */
	KP_LOADED = 0x101,	/* struct kp_loaded */
	KP_SIGNATURE = 0x102,	/* the signature's bytes */
	KP_ERROR = 0x103,	/* i32: a negative errno */
};

enum {
	KP_SRC_FILE = 1,	/* an absolute path (PEM or DER) */
	KP_SRC_URL = 2,		/* a URL GnuTLS knows ("pkcs11:...") */
	KP_SRC_KEYRING = 3,	/* i32 serial of a "user" key, possessed */
};

/* SIGN's fixed part; form says which GnuTLS callback asked. */
enum { KP_FORM_DATA = 0, KP_FORM_HASH = 1 };
struct kp_sign {
	uint32_t key;
	uint32_t algo;			/* gnutls_sign_algorithm_t */
	uint32_t flags;			/* GnuTLS's sign flags */
	uint32_t form;			/* KP_FORM_* */
};

struct kp_loaded {
	uint32_t key;			/* the id SIGN and DROP name */
	uint32_t pk;			/* gnutls_pk_algorithm_t */
	uint32_t bits;
};

/* ---- keyproc_srv.c: the server ---- */

/* The argument that makes ktlsd's executable a key process. */
#define KEYPROC_ARG	"--key-process"
/* The descriptor it serves, set up by keyproc_spawn(). */
#define KEYPROC_FD	3

struct keyproc_srv;
struct keyproc_srv *keyproc_srv_new(void);
void keyproc_srv_free(struct keyproc_srv *s);
/*
 * One request of len bytes (as received) into reply (KP_MSG_MAX bytes),
 * its length in *reply_len. 0: send the reply; -EBADMSG: the request was
 * malformed (*why says how) and the connection ends. Semantic errors (an
 * unknown key, a file after SEAL) are KP_ERROR replies, not -EBADMSG.
 */
int keyproc_srv_handle(struct keyproc_srv *s, const uint8_t *msg, size_t len,
		       uint8_t *reply, size_t *reply_len, const char **why);
/* Serve fd until it closes or misbehaves; the process's exit status. */
int keyproc_srv_run(int fd);

/* ---- keyproc.c: the client ---- */

/* A connection to the key process: SEQPACKET, close-on-exec. */
struct kp_conn {
	int fd;
	uint32_t next_id;
	pthread_mutex_t lock;		/* one request at a time */
	int state;			/* a lane: 0 not asked, 1 open, -1 none */
	unsigned gen;			/* a lane: the fork it was opened after */
};

/* Lanes a client opens at most; more threads share them. */
#define KP_LANES	16

struct keyproc {
	atomic_int refs;
	pid_t pid;
	int dead;			/* EOF seen: logged once */
	struct kp_conn c;		/* the first connection: every request */
	pthread_mutex_t lanes_lock;	/* opening lanes */
	struct kp_conn lanes[KP_LANES];	/* SIGN: one per signing thread */
};

/*
 * A new key process, our own executable run with KEYPROC_ARG, with one
 * reference. 0 or -errno.
 */
int keyproc_spawn(struct keyproc **out);
/* A client of the key process already connected on fd, with one reference. */
void keyproc_init(struct keyproc *kp, int fd);
struct keyproc *keyproc_get(struct keyproc *kp);
/* The last reference closes the connection (the key process exits). */
void keyproc_put(struct keyproc *kp);
/*
 * In a forked process that must not keep kp's key process alive: this
 * process's descriptors of it closed (requests fail with EPIPE after).
 */
void keyproc_forget(struct keyproc *kp);
/*
 * Load a key (source KP_SRC_*; what: a path or URL, or for
 * KP_SRC_KEYRING a pointer to the int32_t serial). 0 with *out set (its
 * id, algorithm and size), or -errno: what the key process said (-ENOENT, -EACCES, -EPERM
 * after SEAL, -EKEYREJECTED for a key GnuTLS could not read) or -EPIPE
 * when it is gone.
 */
int keyproc_load(struct keyproc *kp, int source, const void *what,
		 struct kp_loaded *out);
int keyproc_seal(struct keyproc *kp);
int keyproc_drop(struct keyproc *kp, uint32_t key);
/*
 * Lanes up front: lane n of kp asked for now (0, or -EAGAIN when the
 * first connection must do), and this thread's signatures go over lane n
 * of any keyproc (n modulo KP_LANES). ktlsd's workers do both at start,
 * so that their descriptors are all open before the first handshake.
 */
int keyproc_open_lane(struct keyproc *kp, unsigned n);
void keyproc_set_lane(unsigned n);
/*
 * Sign: *sig is gnutls_malloc'd. 0 or -errno. Each thread signs over a
 * lane of its own (KP_LANE; keyproc_set_lane()'s, or one asked for at its
 * first signature), so the workers' signatures run at once in the key
 * process; the first connection when no lane can be had.
 */
int keyproc_sign(struct keyproc *kp, uint32_t key, int form, unsigned algo,
		 unsigned flags, const gnutls_datum_t *in, gnutls_datum_t *sig);
/*
 * A GnuTLS private key that signs through the key process with the key
 * keyproc_load() gave; it holds a reference to kp, and DROPs the key when
 * freed if drop is set (per-request keys). 0 or -errno.
 */
int keyproc_privkey(struct keyproc *kp, const struct kp_loaded *key, int drop,
		    gnutls_privkey_t *out);

#endif
