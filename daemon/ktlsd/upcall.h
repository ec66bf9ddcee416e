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
	int32_t cert, privkey, keyring;	/* 0: none */
	char peername[256];
	/* the outcome */
	int32_t psk_used;		/* the PSK's key serial */
	atomic_int psk_unknown;		/* the client named an unknown PSK */
};

/*
 * The credentials for r, in r->j: conf, the reference c to the
 * configuration in force (taken over: kept in r->j, or dropped on
 * failure), and p, one of its profiles or own, a profile of r's own built
 * from the keys the kernel named. 0, or a positive errno for DONE with
 * *msg saying why (r->j untouched).
 */
int upcall_creds(struct conf *c, struct upreq *r, const char **msg);

/* ---- upcall_diag.c ---- */

/*
 * Does another socket listen to multicast group grp of generic netlink?
 * 1 (who says whose: "comm (pid N)"), 0, or -errno when the kernel cannot
 * tell (no netlink_diag).
 */
int upcall_other_listener(int grp, char *who, size_t len);
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
