/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Front door 2: the kernel's TLS handshake upcall (netlink family
 * "handshake", the protocol tlshd speaks) and its configuration ([upcall]
 * in ktlsd.conf, or tlshd's own configuration file). The kernel keyrings
 * it passes credentials in are keyring.c's (ktlsd.h).
 */
#ifndef KTLSD_UPCALL_H
#define KTLSD_UPCALL_H

#include <stdint.h>

#include "loop.h"

/* tlshd's configuration, where ktls-utils puts it (newest first). */
#define TLSHD_CONFIG		"/etc/tlshd/config"
#define TLSHD_CONFIG_LEGACY	"/etc/tlshd.conf"
/* tlshd's session tags (1.4, built with --enable-session-tags). */
#define TLSHD_TAGS_DIR		"/etc/tlshd/tags.d"

enum { UPCALL_AUTO, UPCALL_YES, UPCALL_NO };

/* Credentials for one side (client or server) of upcall handshakes. */
struct upcall_side {
	const struct profile *p;	/* the default: a ktlsd profile or own */
	struct profile own;		/* built from tlshd's configuration */
	struct profile anon;		/* client, AUTH_UNAUTH: trust only */
	int tls13_only;
	int have_cert;
};

struct upcall_conf {
	int enable;			/* UPCALL_* */
	int line;			/* of [upcall], 0 when absent */
	char *tlshd_config;		/* tlshd_config = PATH, or NULL */
	char *client_profile, *server_profile;
	char *tlshd_path;		/* the tlshd file read, or NULL */
	struct upcall_side client, server;
	char **keyrings;		/* tlshd's keyrings= (names or serials) */
	size_t n_keyrings;
	int debug;			/* tlshd [debug] loglevel */
	int tls_debug, nl_debug;	/* [debug] tls and nl */
};

/* ---- upcall_conf.c ---- */

struct upcall_conf *upcall_conf_new(void);
void upcall_conf_free(struct upcall_conf *u);
/*
 * After every profile is built: resolve client_profile/server_profile,
 * read tlshd's configuration where one applies and load its credentials.
 * 0, or -errno with a sentence in err.
 */
int upcall_conf_finish(struct conf *c, char *err, size_t errlen);

/* One kernel request, from ACCEPT to DONE. */
#define UPCALL_MAX_IDS	8
struct upreq {
	struct job j;			/* first: job_finish() frees the whole */
	struct upcall *u;
	int sockfd;			/* the kernel's copy, named in DONE */
	int type, auth;			/* HANDSHAKE_MSG_TYPE_*, _AUTH_* */
	unsigned timeout_ms;		/* 0: none given */
	int32_t peerids[UPCALL_MAX_IDS];
	unsigned n_peerids;
	unsigned psk_next;		/* the client's next PSK to offer */
	int32_t cert, privkey, keyring;	/* 0: none */
	char peername[256];
	int unknown_attr;		/* the last ACCEPT attribute not known */
	/* the outcome */
	int32_t psk_used;		/* the PSK's key serial */
	atomic_int psk_unknown;		/* UPCALL_PSK_*: the client's PSK */
};

enum { UPCALL_PSK_FOUND, UPCALL_PSK_UNKNOWN, UPCALL_PSK_UNUSABLE };

/*
 * The credentials for r, in r->j: conf, the reference c to the
 * configuration in force (taken over: kept in r->j, or dropped on
 * failure), and p, one of its profiles or own, a profile of r's own built
 * from the keys the kernel named. 0, or a positive errno for DONE with
 * *msg saying why (r->j untouched).
 */
int upcall_creds(struct conf *c, struct upreq *r, const char **msg);
/*
 * A client PSK request whose handshake failed: r->j gets a profile of
 * its own for the next PSK the kernel named (the one before is freed).
 * 1 when there is one to try, 0 when none is left.
 */
int upcall_psk_next(struct upreq *r);
/*
 * The hash a PSK is for: an NVMe identity ("NVMe1R02 ...") says it (256
 * or 384; -1 for one unknown), else the key's length does (48 bytes: 384,
 * 32: 256, else 0: any).
 */
int upcall_psk_hash(const char *identity, size_t key_len);

/* ---- upcall_result.c ---- */

/*
 * A request before its credentials: a handshake type we know, on an
 * established TCP socket; the keyring it names linked (or a line saying
 * it cannot be). 0, or a positive errno for DONE with *msg.
 */
int upcall_precheck(struct upreq *r, const char **msg);
/*
 * r->j after upcall_creds(): its front door, its timeout (the kernel's,
 * or the profile's, said in a line), the name a client verifies.
 */
void upcall_job_setup(struct upreq *r);

/*
 * The status DONE carries for a job's outcome (status 0 or -errno, s the
 * session if one was made): 0 or a positive errno, as tlshd reports it.
 */
int upcall_status(struct upreq *r, int status, const struct ktls_session *s);
/* The job_ops retry of upcall jobs: a client's next PSK. */
int upcall_retry(struct job *j, int status, const struct ktls_session *s);
/* Who the peer proved to be, as key serials for DONE, into ids. */
unsigned upcall_remote_ids(struct upreq *r, const struct ktls_session *s,
			   int32_t *ids);

/* ---- upcall_diag.c ---- */

/*
 * Does another socket listen to multicast group grp of generic netlink?
 * 1 (who says whose: "comm (pid N)"), 0, or -errno when the kernel cannot
 * tell (no netlink_diag).
 */
int upcall_other_listener(int grp, char *who, size_t len);
/* Apply tlshd's [debug] tls and nl levels (GnuTLS's, libnl's) of c. */
void upcall_conf_apply(const struct conf *c);
/*
 * Link tlshd's [authenticate] keyrings and the consumers' own (.nvme,
 * .nfs, .nfsd) into the session keyring we share, as tlshd links them
 * into its own: the supervisor does it, as root, before it starts each
 * handshake process, which then possesses them (it runs as another user).
 */
void upcall_link_keyrings(const struct conf *c);
/*
 * tlshd's session tags (tls-session-tags(7)) are not implemented: a line
 * when the directory path (TLSHD_TAGS_DIR) holds files; how many.
 */
int upcall_note_tags(const char *path);

struct nlmsghdr;
struct nl_sock;
/*
 * What a CTRL_CMD_GETFAMILY reply for the handshake family shows beyond
 * what ktlsd serves (a newer version, operations other than ACCEPT and
 * DONE, attributes past ACCEPT_KEYRING, another multicast group): 1 with
 * them listed in buf, 0 (nothing new; buf empty), or -EINVAL (not such a
 * reply).
 */
int upcall_family_news(const struct nlmsghdr *nh, char *buf, size_t len);
/* Ask the kernel on sk, then upcall_family_news(); or -errno. */
int upcall_probe_family(struct nl_sock *sk, char *buf, size_t len);
/* A problem with the upcall at start: err if it was asked for, else 0 (a
 * warning is logged either way). */
int upcall_unavailable(const struct conf *c, int err, const char *what);
/*
 * The handshake family and its tlshd group (on sk), and nobody else in
 * it: 1; else what upcall_unavailable() says (logged).
 */
int upcall_resolve(struct nl_sock *sk, const struct conf *c, int *family,
		   int *group);

/* ---- upcall.c ---- */

struct upcall;
struct nl_msg;
/*
 * Fill r from a reply to ACCEPT, as the command socket does (r->sockfd
 * -1 beforehand: it stays so without a valid SOCKFD). Only the fuzz
 * harness calls it from outside.
 */
void upcall_parse_accept(struct nl_msg *msg, struct upreq *r);
/*
 * The supervisor's part: join the kernel's handshake upcall as c says,
 * the socket into ls. 0 when joined or when the upcall is off or
 * unavailable and only defaulted (logged), -errno when it was asked for
 * explicitly and cannot be served.
 */
int upcall_listen(struct listeners *ls, const struct conf *c, int activated_fd);
/*
 * A handshake process's part: serve what ls->upcall_mc hears, with a
 * command socket of its own (ACCEPT, DONE need CAP_NET_ADMIN). 0 or as
 * upcall_listen().
 */
int upcall_open(struct ktlsd *d, const struct conf *c,
		const struct listeners *ls);
/*
 * The name a client handshake checks the server's certificate against,
 * into buf: the kernel's PEERNAME if it sent one, else the profile's
 * server_name, else the numeric address of fd's peer (as tlshd does).
 * Never empty: a client without a name would check the chain alone.
 */
void upcall_verify_name(const char *peername, const struct profile *p,
			int fd, char *buf, size_t len);

#endif
