/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libktls: TLS handshakes in userspace (GnuTLS), record layer in the kernel.
 *
 * Conventions for every function here: an int return is >= 0 on success
 * and a negative errno value on failure; pointers returned by accessors
 * stay valid until the object they came from is freed. Objects are not
 * locked: use one from one thread at a time. A struct ktls_config may be
 * shared read-only by many sessions once it is set up. The library never
 * logs; ktls_session_error() gives the operator-facing message.
 */
#ifndef KTLS_H
#define KTLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TLS versions, as on the wire. */
#define KTLS_TLS12	0x0303
#define KTLS_TLS13	0x0304

/* Record-layer ciphers the kernel can take (bit mask). */
#define KTLS_CIPHER_AES_128_GCM		(1u << 0)
#define KTLS_CIPHER_AES_256_GCM		(1u << 1)
#define KTLS_CIPHER_CHACHA20_POLY1305	(1u << 2)
#define KTLS_CIPHER_AES_128_CCM		(1u << 3)
#define KTLS_CIPHER_ALL			0xfu

/*
 * A cipher's name ("aes-128-gcm") for one KTLS_CIPHER_* bit, NULL for
 * anything else; and the bit for a name (in any case), 0 if unknown.
 */
const char *ktls_cipher_name(unsigned cipher);
unsigned ktls_cipher_from_name(const char *name);

/*
 * TLS alerts, as on the wire: the levels, and the descriptions of RFC 8446
 * (section 6) plus TLS 1.2's no_renegotiation, which TLS 1.3 reserves.
 * ktls_send_alert() sends them, ktls_recv() and ktls_session_alert()
 * report them.
 */
#define KTLS_ALERT_LEVEL_WARNING		1
#define KTLS_ALERT_LEVEL_FATAL			2

#define KTLS_ALERT_CLOSE_NOTIFY			0
#define KTLS_ALERT_UNEXPECTED_MESSAGE		10
#define KTLS_ALERT_BAD_RECORD_MAC		20
#define KTLS_ALERT_RECORD_OVERFLOW		22
#define KTLS_ALERT_HANDSHAKE_FAILURE		40
#define KTLS_ALERT_BAD_CERTIFICATE		42
#define KTLS_ALERT_UNSUPPORTED_CERTIFICATE	43
#define KTLS_ALERT_CERTIFICATE_REVOKED		44
#define KTLS_ALERT_CERTIFICATE_EXPIRED		45
#define KTLS_ALERT_CERTIFICATE_UNKNOWN		46
#define KTLS_ALERT_ILLEGAL_PARAMETER		47
#define KTLS_ALERT_UNKNOWN_CA			48
#define KTLS_ALERT_ACCESS_DENIED		49
#define KTLS_ALERT_DECODE_ERROR			50
#define KTLS_ALERT_DECRYPT_ERROR		51
#define KTLS_ALERT_PROTOCOL_VERSION		70
#define KTLS_ALERT_INSUFFICIENT_SECURITY	71
#define KTLS_ALERT_INTERNAL_ERROR		80
#define KTLS_ALERT_INAPPROPRIATE_FALLBACK	86
#define KTLS_ALERT_USER_CANCELED		90
#define KTLS_ALERT_NO_RENEGOTIATION		100	/* TLS 1.2 only */
#define KTLS_ALERT_MISSING_EXTENSION		109
#define KTLS_ALERT_UNSUPPORTED_EXTENSION	110
#define KTLS_ALERT_UNRECOGNIZED_NAME		112
#define KTLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE 113
#define KTLS_ALERT_UNKNOWN_PSK_IDENTITY		115
#define KTLS_ALERT_CERTIFICATE_REQUIRED		116
#define KTLS_ALERT_NO_APPLICATION_PROTOCOL	120

/*
 * The RFC's name of an alert description ("unknown_ca"), NULL for a
 * number that has none above. The string is static.
 */
const char *ktls_alert_name(int desc);

/*
 * Our own error codes (negative, beyond errno's range). Functions return
 * them alongside plain -errno values; ktls_strerror() names both.
 */
enum {
	KTLS_E_BASE = 4096,
	KTLS_E_NO_KTLS,		/* the kernel has no TLS ULP */
	KTLS_E_CIPHER,		/* the kernel cannot take the negotiated cipher */
	KTLS_E_ALERT,		/* the peer sent a fatal alert */
	KTLS_E_VERIFY,		/* the peer's certificate did not verify */
	KTLS_E_HANDSHAKE,	/* any other handshake failure */
	KTLS_E_CONFIG,		/* bad credentials, files or options */
	KTLS_E_REKEY,		/* the peer updated its keys; this kernel cannot follow */
};

/* Human description of a negative return value of this library. */
const char *ktls_strerror(int err);

/* ---- What the running kernel supports ---- */

struct ktls_probe {
	size_t size;		/* set by the caller: sizeof(struct ktls_probe) */
	int ulp;		/* 0: TCP_ULP "tls" works; else the -errno seen */
	unsigned tx12, rx12;	/* KTLS_CIPHER_* usable with TLS 1.2 */
	unsigned tx13, rx13;	/* ... and with TLS 1.3 */
	int rekey;		/* TLS 1.3 key update of an installed key */
	char kernel[65];	/* uname -r */
	char why[256];		/* when kTLS is unusable: what to do about it */
};

/*
 * Find out what kernel TLS can do here, by trying it on a loopback socket
 * pair. Returns 0 (even when kTLS is missing: see p->ulp and p->why),
 * -EINVAL for a NULL p or a p->size that does not reach ulp, or -errno
 * when the probe itself could not run (no loopback, no sockets). Fields
 * past p->size are left untouched.
 */
int ktls_probe(struct ktls_probe *p);

/* ---- Configuration (credentials and policy), shared by sessions ---- */

enum ktls_role { KTLS_CLIENT, KTLS_SERVER };

struct ktls_config;

/*
 * A new configuration for one role. Returns 0 or -ENOMEM. It offers only
 * ciphers the running kernel can install, learnt from a ktls_probe() made
 * once per process (again while the kernel has no kTLS).
 */
int ktls_config_new(struct ktls_config **cfg, enum ktls_role role);
/* Release it; sessions made from it must be freed first. */
void ktls_config_free(struct ktls_config *cfg);

/*
 * Trust anchors (PEM) for verifying the peer, path NULL for the system's;
 * and an optional CRL. 0, -EINVAL, -ENOENT (no such file), or
 * -KTLS_E_CONFIG (no certificate, or no CRL, in it).
 */
int ktls_config_set_ca_file(struct ktls_config *cfg, const char *path);
int ktls_config_set_crl_file(struct ktls_config *cfg, const char *path);
/*
 * A certificate chain and its private key (PEM). A server may add several;
 * the one matching the client's SNI is used. A client's is sent when the
 * server asks for a client certificate. 0, -EINVAL, -ENOENT, or
 * -KTLS_E_CONFIG (not PEM that GnuTLS reads, or a key that is not the
 * certificate's).
 */
int ktls_config_add_cert(struct ktls_config *cfg, const char *cert_path,
			 const char *key_path);
/*
 * A TLS 1.3 external PSK (the key as raw bytes, at most 512); one per
 * configuration. 0, -EINVAL (empty identity or key, a key too long, or a
 * PSK set already), -ENOMEM, -KTLS_E_CONFIG.
 */
int ktls_config_set_psk(struct ktls_config *cfg, const char *identity,
			const void *key, size_t key_len);
/*
 * ALPN protocols offered (client) or accepted (server): "h2,http/1.1", at
 * most 8 names of 1 to 255 bytes. 0, -EINVAL, -ENOMEM.
 */
int ktls_config_set_alpn(struct ktls_config *cfg, const char *list);
/* Allowed versions (KTLS_TLS12, KTLS_TLS13); default both. 0 or -EINVAL. */
int ktls_config_set_versions(struct ktls_config *cfg, int min, int max);
/*
 * Allowed ciphers (KTLS_CIPHER_*, at least one); default all that the
 * kernel takes. 0 or -EINVAL.
 */
int ktls_config_set_ciphers(struct ktls_config *cfg, unsigned mask);

/*
 * How the peer is verified. By default a client checks the server's chain
 * against the trust store AND the server's name: the one given with
 * ktls_session_set_server_name(), else the peer's numeric IP address
 * (which the certificate must then carry as an IP SAN). A server asks for
 * no client certificate. The flags loosen or tighten that:
 */
#define KTLS_VERIFY_NONE		(1u << 0) /* client: accept any server */
#define KTLS_VERIFY_REQUIRE_CLIENT	(1u << 1) /* server: demand a cert */
/* server: ask for a cert, verify it if one comes, go on without one */
#define KTLS_VERIFY_REQUEST_CLIENT	(1u << 2)
/*
 * client: check the chain only, never a name: any certificate the trust
 * store vouches for is accepted, whatever host it was issued to. Only
 * for a private CA that issues certificates to nobody else.
 */
#define KTLS_VERIFY_CHAIN_ONLY		(1u << 3)

/* 0, or -EINVAL (cfg NULL, an unknown flag, NONE with CHAIN_ONLY). */
int ktls_config_set_verify(struct ktls_config *cfg, unsigned flags);
/* Whole-handshake deadline, default 10 s. 0 or -EINVAL (0 ms). */
int ktls_config_set_timeout(struct ktls_config *cfg, unsigned ms);

/*
 * Session resumption with tickets; off by default, set it before making
 * sessions. A server issues tickets (TLS 1.2 and 1.3), sealed with keys
 * GnuTLS derives from a random master key per 6-hour period, so they
 * rotate by themselves; the master key lives in cfg only (wiped by
 * ktls_config_free() or on = 0) and tickets from other processes do not
 * resume. A client keeps the tickets of every session, as
 * ktls_session_set_resumption(s, NULL, 0) does for one. 0, -EINVAL
 * (cfg NULL), -ENOMEM.
 */
int ktls_config_set_tickets(struct ktls_config *cfg, int on);

#define KTLS_TICKET_KEY_LEN 64

/*
 * Server: tickets (as above) under keys shared by several servers, so
 * each resumes the others' sessions. keys holds one master key of
 * KTLS_TICKET_KEY_LEN random bytes, or two: the first seals new tickets,
 * the second, the key before a rotation, still opens the tickets it
 * sealed. The keys are copied into cfg (wiped with it); the caller wipes
 * its own copy. 0, -EINVAL (cfg NULL or a client's, keys NULL, len not
 * one or two keys), -ENOMEM.
 */
int ktls_config_set_ticket_keys(struct ktls_config *cfg, const void *keys,
				size_t len);

/*
 * Options of the kernel's record layer, set right after the install when
 * the kernel takes them (ktls_session_info()->options says which are in
 * effect):
 *
 * KTLS_OPT_ZEROCOPY_SENDFILE (TLS_TX_ZEROCOPY_RO): sendfile() through a
 * NIC that offloads TLS encrypts straight from the page cache. A file
 * changed while it is being sent can then go out as a record whose tag
 * the peer rejects (it closes the connection); only for files nobody
 * writes while they are served. Linux 5.19 and later; software kTLS
 * copies anyway and ignores it (and it is not reported in effect there).
 * KTLS_OPT_RX_NO_PAD (TLS_RX_EXPECT_NO_PAD): TLS 1.3 receive decrypts into
 * the caller's buffer in one pass, betting the peer adds no padding; a
 * padded record is decrypted again (the kernel counts it in
 * TlsRxNoPadViolation). For peers known not to pad. Set from Linux 6.12
 * on (6.1 has it, but handed a padded record up with wrong bytes when
 * tested here); never on TLS 1.2.
 *
 * 0, or -EINVAL (cfg NULL, an unknown bit).
 */
#define KTLS_OPT_ZEROCOPY_SENDFILE	(1u << 0)
#define KTLS_OPT_RX_NO_PAD		(1u << 1)
int ktls_config_set_kernel_options(struct ktls_config *cfg, unsigned opts);

/*
 * For ktls_send(): update our sending key (TLS 1.3 KeyUpdate) before more
 * than bytes have gone out under one key; 0, the default, never. Sessions
 * take it when they are made. Only where ktls_key_update() works (TLS 1.3,
 * a kernel that takes new keys); elsewhere ktls_send() just sends. 0, or
 * -EINVAL for a NULL cfg.
 */
int ktls_config_set_rekey_limit(struct ktls_config *cfg, uint64_t bytes);

/*
 * Like ktls_config_add_cert(), from buffers: a certificate chain (leaf
 * first) and its private key, each PEM or DER (told apart by the PEM
 * armour; keys PKCS#1, PKCS#8 or SEC1). The buffers stay the caller's,
 * who should wipe the key. 0, -EINVAL, -ENOMEM or -KTLS_E_CONFIG (not a
 * certificate or key GnuTLS can read).
 */
int ktls_config_add_cert_mem(struct ktls_config *cfg, const void *cert,
			     size_t cert_len, const void *key, size_t key_len);

/*
 * Servers: find TLS 1.3 external PSKs by the identity the client offers,
 * during the handshake. fn gets arg, the identity (NUL-terminated) and a
 * buffer of *key_len bytes (KTLS_PSK_LOOKUP_MAX); it stores the key and
 * its length and returns 0, or returns -errno to refuse the identity (the
 * handshake then fails). fn runs on the thread that drives the handshake,
 * once per handshake that offers a PSK. Instead of ktls_config_set_psk().
 * 0, -EINVAL (a client configuration, or PSKs set already), -ENOMEM.
 */
#define KTLS_PSK_LOOKUP_MAX 512
typedef int (*ktls_psk_lookup_fn)(void *arg, const char *identity,
				  uint8_t *key, size_t *key_len);
int ktls_config_set_psk_lookup(struct ktls_config *cfg, ktls_psk_lookup_fn fn,
			       void *arg);

/* ---- One handshake on one connected TCP socket ---- */

struct ktls_session;

/*
 * A session over the connected TCP socket fd, which stays the caller's
 * (never closed here). Returns 0, -ENOMEM, or -EINVAL.
 */
int ktls_session_new(struct ktls_session **s, const struct ktls_config *cfg,
		     int fd);
/*
 * Client: the name sent as SNI and checked against the certificate (an IP
 * address is checked, not sent). Without one, the certificate is checked
 * against the peer's numeric address (see ktls_config_set_verify()).
 */
int ktls_session_set_server_name(struct ktls_session *s, const char *name);

/* This session's ALPN list, in place of the configuration's. */
int ktls_session_set_alpn(struct ktls_session *s, const char *list);

/*
 * Client, before the handshake: offer to resume the session that data
 * describes (from ktls_session_get_resumption(); copied here), and keep
 * this connection's tickets for the next one. data NULL with len 0: none
 * to resume, only keep the tickets. A server that declines gives a full
 * handshake (ktls_info.resumed tells). 0, -EINVAL (s not a client before
 * its handshake; or data GnuTLS cannot use, e.g. expired: s then keeps
 * tickets and makes a full handshake), -ENOMEM.
 */
int ktls_session_set_resumption(struct ktls_session *s, const void *data,
				size_t len);

/*
 * Client, after the handshake of a session that keeps tickets (see
 * above, or ktls_config_set_tickets()): copy the data to resume it later
 * into buf (*len bytes) and set *len to its length. TLS 1.2: ready after
 * the handshake (a ticket, or a session ID for a server with a cache).
 * TLS 1.3: tickets come after the handshake and ktls_recv() takes them
 * from the stream, so read first; the latest one counts. The data holds
 * a secret: keep it like a key, and use it once (RFC 8446, C.4). 0;
 * -ENOSPC (buf NULL or too small; *len says how much is needed); -EAGAIN
 * (TLS 1.3: no ticket read yet); -EINVAL (not a client after its
 * handshake, or one that keeps no tickets); -EOPNOTSUPP (handed over by
 * ktlsd); -ENOMEM; -EIO.
 */
int ktls_session_get_resumption(const struct ktls_session *s, void *buf,
				size_t *len);

/*
 * Run the handshake and install the negotiated keys in the kernel (TX and
 * RX). On a blocking socket it runs to the end (bounded by the timeout);
 * on a non-blocking one it returns -EAGAIN when it must wait: poll for
 * ktls_session_want() and call again. Returns 0 when the socket carries
 * kTLS, else a -errno or KTLS_E_* error (ktls_session_error() explains).
 * Nothing of the peer's application data is lost: what arrived with the
 * handshake is kept for ktls_session_early_data(). A peer's record size
 * limit (RFC 8449) is kept by the kernel for every record after the
 * switch (Linux 6.19+); where the kernel cannot, a peer that asks for
 * records under 16 KiB fails the handshake with -EMSGSIZE.
 */
int ktls_session_handshake(struct ktls_session *s);

/*
 * Non-blocking handshakes: after -EAGAIN, what to poll the socket for
 * (KTLS_WANT_READ: POLLIN, KTLS_WANT_WRITE: POLLOUT); 0 when no
 * handshake is under way.
 */
#define KTLS_WANT_READ	1
#define KTLS_WANT_WRITE	2
int ktls_session_want(const struct ktls_session *s);

/*
 * Non-blocking handshakes: milliseconds left before the configured
 * deadline, to bound the caller's poll(); 0 once it has passed (the next
 * ktls_session_handshake() returns -ETIMEDOUT); -1 before the first call.
 */
int ktls_session_time_left(const struct ktls_session *s);

/*
 * Application data that the peer sent before the switch to kTLS and that
 * the handshake already read: the caller must consume it before reading
 * the socket. Sets *buf (owned by the session) and returns its length.
 */
size_t ktls_session_early_data(const struct ktls_session *s,
			       const void **buf);

/*
 * Who does a direction's record crypto. UNKNOWN: the kernel would not say
 * (before 6.15 it tells only processes with CAP_NET_ADMIN).
 */
enum ktls_offload {
	KTLS_OFFLOAD_NONE, KTLS_OFFLOAD_SW, KTLS_OFFLOAD_HW, KTLS_OFFLOAD_UNKNOWN
};

struct ktls_info {
	int version;		/* KTLS_TLS12 / KTLS_TLS13 */
	unsigned cipher;	/* one KTLS_CIPHER_* bit */
	const char *cipher_name, *group, *sigalg, *alpn, *sni;
	const char *peer_subject;	/* NULL without a peer certificate */
	char peer_sha256[65];		/* hex; empty without one */
	int resumed;
	enum ktls_offload tx, rx;
	unsigned options;	/* KTLS_OPT_* in effect */
};

/* The negotiated parameters, valid after a successful handshake. */
const struct ktls_info *ktls_session_info(const struct ktls_session *s);

/* Operator-facing text for the session's last failure ("" if none). */
const char *ktls_session_error(const struct ktls_session *s);

/*
 * The fatal alert that ended the handshake, received or sent: returns its
 * description (KTLS_ALERT_*, 0 to 255) and, if sent is not NULL, sets
 * *sent to 1 when this end sent it, 0 when the peer did. A failing end
 * sends the most specific alert it can (unknown_ca, certificate_revoked,
 * certificate_required, ...); one from the peer made
 * ktls_session_handshake() return -KTLS_E_ALERT. -ENOENT when no alert
 * ended it: the handshake has not ended, succeeded, failed without one
 * (timeout, closed connection, configuration) or was run by ktlsd;
 * -EINVAL for a NULL s. *sent is written only on success. Alerts after
 * the switch are ktls_recv()'s to report.
 */
int ktls_session_alert(const struct ktls_session *s, int *sent);

/* Free the session and wipe its secrets. The socket is left open. */
void ktls_session_free(struct ktls_session *s);

/* ---- After the switch: records through the kernel ---- */

/*
 * Receive application data on the session's socket once kTLS is installed.
 * Records that are not application data are handled here: the peer's
 * close_notify answers with ours and returns 0 (end of file; a plain TCP
 * EOF also returns 0); a fatal alert returns -KTLS_E_ALERT and, if alert is
 * not NULL, stores its description (KTLS_ALERT_*) there;
 * post-handshake messages are consumed: a TLS 1.3 NewSessionTicket goes
 * to GnuTLS when the session keeps tickets (ktls_session_get_resumption();
 * one GnuTLS cannot parse is -EPROTO with decode_error, one that finds no
 * memory is dropped); in a session from ktls_handoff() whose ktlsd profile
 * resumes (resumption = yes), the first one goes back to ktlsd, on a
 * connection of its own, without waiting (docs/handoff.md, "Ticket");
 * else it is skipped. A TLS 1.3
 * KeyUpdate is followed (new receive key; ours too if the peer asks) where
 * the kernel takes new keys (6.14+); elsewhere it returns -KTLS_E_REKEY
 * after sending a fatal alert, and no byte after it is ever returned. flags: MSG_DONTWAIT (then
 * -EAGAIN) and MSG_WAITALL, as for recv(). Returns the number of bytes, 0,
 * or a negative error; besides those above: -EBADMSG (a record failed
 * authentication; bad_record_mac is sent), -EMSGSIZE (record_overflow
 * sent), -EPROTO (a message the peer must not send here, e.g. a ticket to
 * a server; unexpected_message sent), -ECONNRESET (the stream ended inside
 * a message), -ETIMEDOUT (a message split over records did not complete
 * within 10 s), -EINVAL (bad arguments, or no kTLS installed). After any
 * fatal alert, sent or received, our sending side is shut down; after the
 * peer's close_notify or any fatal error every later call returns the same.
 * TLS 1.2 renegotiation requests are refused with a no_renegotiation
 * warning. Bytes of buf past the returned count may be overwritten.
 */
ssize_t ktls_recv(struct ktls_session *s, void *buf, size_t len, int flags,
		  int *alert);

/*
 * Send application data, like send(fd, buf, len, flags | MSG_NOSIGNAL),
 * counting what goes out under the current key: with a rekey limit
 * (ktls_config_set_rekey_limit()), our key is updated (ktls_key_update(),
 * no request to the peer) before the count would pass it. Only bytes sent
 * here count; every update of our key restarts the count. flags:
 * MSG_DONTWAIT, MSG_MORE. Returns the bytes sent, which may be fewer than
 * len (a full non-blocking socket, a signal), or a negative error: -EINVAL
 * (bad arguments, or no kTLS installed), -EPIPE (our side is closed),
 * -EAGAIN, the -errno of send(), or ktls_key_update()'s error when nothing
 * was sent before it failed.
 */
ssize_t ktls_send(struct ktls_session *s, const void *buf, size_t len,
		  int flags);

/*
 * Send an alert record through the kernel: level KTLS_ALERT_LEVEL_WARNING
 * or KTLS_ALERT_LEVEL_FATAL, desc a KTLS_ALERT_* description (any value
 * up to 255 goes out as given). Nothing else happens: after a fatal alert
 * the caller stops sending and closes. 0, -EINVAL (bad level or desc, or
 * no kTLS installed), -EPIPE once our side has closed (the kernel would
 * drop the record), or -errno.
 */
int ktls_send_alert(struct ktls_session *s, int level, int desc);

/*
 * TLS 1.3: move our sending side to the next keys (KeyUpdate), asking the
 * peer to do the same if request_peer. The peer's own KeyUpdates are
 * followed inside ktls_recv(). Needs a kernel that takes new keys (6.14+;
 * see ktls_probe's rekey): otherwise -KTLS_E_REKEY and nothing is sent.
 * 0 or a negative error (the connection is then unusable).
 */
int ktls_key_update(struct ktls_session *s, int request_peer);

/*
 * Close the TLS connection cleanly: send close_notify, then shut down the
 * sending side of the socket (the fd stays open). 0 or -errno; a second
 * call returns 0 and sends nothing. Do not send() afterwards: the kernel
 * reports success and drops the data.
 */
int ktls_close_notify(struct ktls_session *s);

/* ---- Handing a connected socket to ktlsd (docs/handoff.md) ---- */

/* Where ktlsd listens unless told otherwise ($KTLS_HANDOFF_SOCKET wins). */
#define KTLS_HANDOFF_SOCKET "/run/ktlsd/handoff.sock"

struct ktls_handoff;

/*
 * Connect to ktlsd's handoff socket: path, or $KTLS_HANDOFF_SOCKET, or
 * KTLS_HANDOFF_SOCKET when both are NULL/unset. One connection carries
 * any number of handoffs, one after another or many in flight; when
 * ktlsd has closed it for being idle (nothing pending: its idle_timeout),
 * the next request opens a new one by itself (poll ktls_handoff_fd()
 * only while requests are pending, or see its id-0 reply as a result
 * error and carry on: the socket then changes). 0, or
 * -errno of socket()/connect() (-ENOENT: ktlsd is not running there,
 * -EACCES: not allowed to use its socket), -ENAMETOOLONG, -ENOMEM.
 */
int ktls_handoff_open(struct ktls_handoff **h, const char *path);
/* Close the connection; replies still pending are lost. */
void ktls_handoff_close(struct ktls_handoff *h);
/* The connection's socket, to poll for POLLIN in an event loop. */
int ktls_handoff_fd(const struct ktls_handoff *h);

struct ktls_handoff_req {
	size_t size;		/* sizeof(struct ktls_handoff_req) */
	const char *profile;	/* a profile of ktlsd's configuration */
	const char *server_name; /* client profiles: SNI and name to verify */
	const char *alpn;	/* client profiles: protocols to offer */
	unsigned timeout_ms;	/* 0: the profile's; may only shorten it */
};

/*
 * Hand the connected TCP socket fd to ktlsd, which runs the handshake on
 * it with the profile's credentials and installs kTLS; wait for the
 * result. fd stays the caller's throughout (ktlsd works on a duplicate).
 * On success *s is a session in the state ktls_session_handshake() leaves:
 * ktls_session_info(), ktls_session_early_data(), ktls_recv(),
 * ktls_key_update() and ktls_close_notify() work on it; free it with
 * ktls_session_free() (fd is not closed). Returns 0, or the handshake's
 * error (as ktls_session_handshake() would give it), -EBUSY when ktlsd
 * has too many handshakes in flight, -EACCES when this process may not use
 * the profile, -ENOENT for an unknown profile, -EPERM for an override the
 * profile does not allow, -ECONNRESET when ktlsd went away, -EPROTO when
 * it spoke nonsense; ktls_handoff_error() has ktlsd's message. -EINPROGRESS
 * if non-blocking handoffs are still pending on h.
 */
int ktls_handoff(struct ktls_handoff *h, int fd,
		 const struct ktls_handoff_req *req, struct ktls_session **s);

/*
 * The same for event loops: send the request and return at once with its
 * id in *id (any of many may be in flight). Returns 0, -EAGAIN when the
 * connection cannot take the request now (poll for POLLOUT and retry), or
 * an error as above for a request that could not be sent.
 */
int ktls_handoff_submit(struct ktls_handoff *h, int fd,
			const struct ktls_handoff_req *req, uint64_t *id);

struct ktls_handoff_result {
	size_t size;		/* set by the caller: sizeof(struct ktls_handoff_result) */
	uint64_t id;		/* as ktls_handoff_submit() gave it */
	int fd;			/* the socket that request carried */
	int status;		/* 0, or an error as ktls_handoff() returns */
	struct ktls_session *session;	/* status 0: the caller's to free */
};

/*
 * Collect one finished handoff without blocking, in whatever order they
 * complete: 1 when *r was filled (r->status says how it went,
 * ktls_handoff_error() has the message), 0 when none is ready (poll
 * ktls_handoff_fd() for POLLIN), or a negative error for the connection
 * itself (-ECONNRESET: ktlsd closed it; -EPROTO: a malformed reply), after
 * which h is only good for closing. Only the fields that r->size covers
 * are written, the rest of *r is left untouched (a session that does not
 * fit is freed; fd keeps kTLS); -EINVAL, with nothing read, for a NULL h
 * or r or an r->size that does not reach id.
 */
int ktls_handoff_result(struct ktls_handoff *h,
			struct ktls_handoff_result *r);

/*
 * Accept mode: take the connections ktlsd accepts for a server profile
 * that listens (listen = ADDR:PORT in ktlsd.conf), each one handshaken,
 * with kTLS installed. Waits for ktlsd's answer (up to 30 s). From then
 * on ktls_handoff_result() returns one result per connection under *id:
 * r->fd is the new socket (the caller's to close; blocking, close-on-exec)
 * and r->session as after ktls_handoff(). When ktlsd closes the
 * connection (a reload, a restart) libktls subscribes again on a new one
 * by itself; poll ktls_handoff_fd() afresh after each call. Subscribers
 * of one profile share its connections in turn. h then serves this
 * subscription only (ktls_handoff_submit(): -EBUSY); use another handle
 * for handoffs or another profile. Returns 0, -EINPROGRESS (requests
 * pending on h, or already subscribed), -ENOENT (no such profile),
 * -EACCES (this user may not use it), -EADDRNOTAVAIL (it does not
 * listen), -EOPNOTSUPP (ktlsd is too old), -ETIMEDOUT, -ECONNRESET;
 * ktls_handoff_error() has ktlsd's message.
 */
int ktls_handoff_subscribe(struct ktls_handoff *h, const char *profile,
			   uint64_t *id);

/* ktlsd's message for the last result or failure on h ("" if none). */
const char *ktls_handoff_error(const struct ktls_handoff *h);

#ifdef __cplusplus
}
#endif
#endif
