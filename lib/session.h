/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside a ktls_session, for the files that make one: session.c (the
 * handshake), failure.c (how it fails), install.c (keys into the kernel)
 * and adopt.c (a session ktlsd made). Other lib/ files use the accessors
 * in internal.h.
 */
#ifndef KTLS_SESSION_H
#define KTLS_SESSION_H

#include <netinet/in.h>
#include <sys/un.h>

#include "internal.h"

enum state { S_NEW, S_HANDSHAKE, S_DONE, S_FAILED };

/* What the peer's hello said of the records it takes (reclimit.c). */
struct reclimit {
	unsigned rsl;		/* record_size_limit it sent; 0: none */
	unsigned mfl;		/* max_fragment_length in bytes; 0: none */
};

struct ktls_session {
	const struct ktls_config *cfg;	/* NULL for a handed-off session */
	enum ktls_role role;
	int kernel_rekey;
	int fd;
	enum state state;
	gnutls_session_t gs;
	char *server_name;
	char peer_name[INET6_ADDRSTRLEN]; /* the name checked without one */
	char *alpn_list;	/* ktls_session_set_alpn()'s, or NULL */
	int tickets;		/* client: keep tickets, for resumption */
	int ticket_pick;	/* server: tickets_hello() is to choose the key */
	/* Handed over by ktlsd, which takes a TLS 1.3 ticket (adopt.c). */
	uint64_t ticket_token;	/* 0: none, or no more */
	struct sockaddr_un ticket_to;
	struct ktls_tx_count tx;
	int blocking;
	int never_block;	/* ktlsd's: not blocking, whatever the fd */
	int diag_nl;		/* ktlsd's sock_diag socket, or -1 */
	int64_t deadline_ms;
	int timed_out;
	unsigned verify_status;	/* KTLS_VERIFY_REQUEST_CLIENT's verdict */
	int io_errno;		/* errno of the last failed send/recv */
	/* The fatal alert that ended the handshake (ktls_session_alert()). */
	enum { ALERT_NONE, ALERT_RECEIVED, ALERT_SENT } alert_from;
	int alert;

	size_t rec_left;	/* bytes of the current record not yet read */
	unsigned char hdr[5];	/* a record header being read */
	size_t hdr_got;

	unsigned char *early;
	size_t early_len;
	struct ktls_rx_end rx_end;
	struct reclimit rl;

	/* TLS 1.3 application traffic secrets, for KeyUpdate; wiped on free. */
	uint8_t secret_rx[KTLS_SECRET_MAX], secret_tx[KTLS_SECRET_MAX];
	size_t secret_len;

	struct ktls_info info;
	uint8_t peer_sha256[32];	/* info.peer_sha256 in bytes */
	int have_peer_sha256;
	char cipher_name[24], group[32], sigalg[48], alpn[256], sni[256];
	char *peer_subject;
	char error[512];
};

/* ---- failure.c ---- */

/* Say why in s->error, mark s failed, and return err. */
int session_fail(struct ktls_session *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An alert during the handshake; a fatal one that went out is kept. */
void session_send_alert(struct ktls_session *s, int level, int desc);
/*
 * The handshake failed with the GnuTLS error gerr: send the peer the
 * alert it calls for, keep the alert that ended it, fail s with a
 * sentence for the operator; the -errno or -KTLS_E_* value for it.
 */
int session_handshake_error(struct ktls_session *s, int gerr);

/* ---- reclimit.c ---- */

/*
 * Read the record limits from one handshake message of the peer (its body,
 * htype a gnutls_handshake_description_t): a ClientHello or ServerHello
 * replaces what rl held, EncryptedExtensions adds to it, others are
 * ignored. 0, or -EPROTO for extensions that do not parse.
 */
int reclimit_parse(struct reclimit *rl, unsigned htype, const uint8_t *msg,
		   size_t len);
/*
 * The most plaintext one record to the peer may carry under version
 * (KTLS_TLS12/13), as the kernel's TLS_TX_MAX_PAYLOAD_LEN takes it; 0 when
 * the peer takes full records (16384 bytes).
 */
unsigned reclimit_payload(const struct reclimit *rl, int version);
/* The handshake hook that feeds reclimit_parse() from the session. */
int reclimit_hook(gnutls_session_t gs, unsigned htype, unsigned when,
		  unsigned incoming, const gnutls_datum_t *msg);

/* ---- install.c ---- */

/*
 * After the handshake: keep the data that came with it, move the socket
 * to kTLS with the negotiated keys and fill in s->info; S_DONE. 0, or
 * a negative error with s->error saying why (S_FAILED).
 */
int session_install(struct ktls_session *s);
/* The peer's SHA-256 fingerprint: kept as bytes, and as hex in info. */
void session_set_peer_sha256(struct ktls_session *s, const uint8_t *md);
/*
 * s->info's version and cipher, and its strings pointing into s's own
 * buffers (filled before: group, sigalg, alpn, sni, peer_subject).
 */
void session_set_info(struct ktls_session *s, int version, unsigned cipher);

/* ---- tickets.c ---- */

/*
 * A server's tickets on gs: under its one key, or, with a previous key
 * too, under the key that opens the client's ticket, chosen by
 * tickets_hello() when the ClientHello comes (msg: its body). 0 or -ENOMEM;
 * tickets_hello(): 0 or a GnuTLS error.
 */
int tickets_enable(struct ktls_session *s, gnutls_session_t gs);
int tickets_hello(gnutls_session_t gs, const gnutls_datum_t *msg);
/* Whether a ClientHello body offers a ticket (exported for the tests). */
int tickets_offered(const uint8_t *hello, size_t len);

#endif
