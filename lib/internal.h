/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libktls internals shared between lib/ files; nothing here is exported. */
#ifndef KTLS_INTERNAL_H
#define KTLS_INTERNAL_H

#include <linux/tls.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "ktls.h"
#include "daemon.h"	/* what ktlsd uses; declared there */
#include "wire.h"	/* KTLS_SECRET_MAX */

#define KTLS_EXPORT __attribute__((visibility("default")))

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/* Any of the crypto_info structs that setsockopt(SOL_TLS) takes. */
union ktls_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
	struct tls12_crypto_info_aes_ccm_128 ccm128;
};

/* ---- keys.c: GnuTLS key material -> kernel structs; TLS 1.3 HKDF ---- */

/* KTLS_CIPHER_* for a GnuTLS cipher, or 0 if the kernel cannot take it. */
unsigned keys_cipher_from_gnutls(gnutls_cipher_algorithm_t alg);
/* The kernel's TLS_CIPHER_* for a KTLS_CIPHER_* bit, or 0. */
unsigned short keys_kernel_cipher(unsigned cipher);
/* Its key length in bytes, or 0 for an unknown cipher. */
size_t keys_cipher_key_len(unsigned cipher);
/* The size of its crypto_info struct, or 0 for an unknown cipher. */
size_t keys_crypto_info_size(unsigned cipher);
/* Its name in a GnuTLS priority string ("AES-128-GCM"), or NULL. */
const char *keys_cipher_prio(unsigned cipher);

/*
 * Fill ci for one direction from what gnutls_record_get_state() returns:
 * the cipher key, its "IV" (TLS 1.3: the 12-byte write IV; TLS 1.2 AES:
 * the 4-byte implicit salt; ChaCha20: the 12-byte IV) and the 8-byte
 * big-endian record sequence number. version is KTLS_TLS12/KTLS_TLS13.
 * For TLS 1.2 AES the explicit nonce (iv) continues from seq, as GnuTLS's
 * did. ci is zeroed first, also on failure. Returns the size to pass to
 * setsockopt(), -EINVAL for a bad version, length or NULL, -EOPNOTSUPP
 * for a cipher value that is not exactly one known KTLS_CIPHER_* bit.
 */
int keys_crypto_info(union ktls_crypto_info *ci, int version, unsigned cipher,
		     const uint8_t *key, size_t key_len,
		     const uint8_t *iv, size_t iv_len, const uint8_t seq[8]);

/*
 * HKDF-Expand-Label of RFC 8446 section 7.1; 0, -EOPNOTSUPP for an unknown
 * hash, -EINVAL past the label, context or length limits.
 */
int keys_hkdf_expand_label(gnutls_mac_algorithm_t mac,
			   const uint8_t *secret, size_t secret_len,
			   const char *label, const uint8_t *context,
			   size_t context_len, uint8_t *out, size_t out_len);
/* The hash of a TLS 1.3 cipher suite using this cipher. */
gnutls_mac_algorithm_t keys_cipher_hash(unsigned cipher);
/* TLS 1.3 write key and IV from a traffic secret ("key", "iv"). */
int keys_traffic_key_iv(unsigned cipher, const uint8_t *secret,
			size_t secret_len, uint8_t *key, size_t key_len,
			uint8_t *iv, size_t iv_len);
/*
 * The next traffic secret after a KeyUpdate ("traffic upd"). out holds
 * secret_len bytes and may be secret itself. Both functions return
 * -EINVAL when secret_len is not the suite's hash length.
 */
int keys_next_secret(unsigned cipher, const uint8_t *secret,
		     size_t secret_len, uint8_t *out);

/* ---- util.c ---- */

/*
 * Milliseconds on CLOCK_MONOTONIC, for the library's deadlines (ktlsd's
 * event loop has its own clock, now_ms() in daemon/ktlsd/loop.h).
 */
int64_t util_now_ms(void);

#define KTLS_ALPN_MAX 8

/*
 * Split "h2,http/1.1" into at most KTLS_ALPN_MAX names pointing into *buf
 * (a copy the caller frees, also on failure). 0, -EINVAL or -ENOMEM.
 */
int util_parse_alpn(const char *list, char **buf, gnutls_datum_t *out,
		    unsigned *n);

/* ---- sockinfo.c: per-socket kTLS state ---- */

/*
 * How the kernel runs each direction of fd's TLS: KTLS_OFFLOAD_NONE,
 * _SW or _HW. 0 or -errno.
 */
int sockinfo_offload(int fd, enum ktls_offload *tx, enum ktls_offload *rx);
/*
 * The same for a TCP socket known to have the "tls" ULP (we installed
 * it): no checks, family 0 read from fd, and the query sent on nl (a
 * NETLINK_SOCK_DIAG socket the caller keeps) unless nl is -1.
 */
int sockinfo_tls_modes(int fd, int family, int nl, enum ktls_offload *tx,
		       enum ktls_offload *rx);

/* ---- nic_count.c: no NIC took it, told without sock_diag ---- */

/* The kernel's counts of directions given to a NIC (ok: they were read). */
struct nic_count {
	int64_t tx, rx;
	int ok;
};
void nic_count_read(struct nic_count *c);
/*
 * After an install on fd that started after before was read: 1 when
 * neither count moved and fd is in the namespace they count (so both
 * directions are in software), 0 when that cannot be told.
 */
int nic_count_unmoved(int fd, const struct nic_count *before);


/* ---- config.c / session.c ---- */

struct ktls_config {
	enum ktls_role role;
	gnutls_certificate_credentials_t x509;
	gnutls_psk_client_credentials_t psk_client;
	gnutls_psk_server_credentials_t psk_server;
	char *psk_identity;
	gnutls_datum_t psk_key;
	gnutls_datum_t alpn[KTLS_ALPN_MAX];
	unsigned n_alpn;
	char *alpn_buf;
	int vmin, vmax;
	unsigned ciphers;
	unsigned kernel12, kernel13;	/* what the kernel takes both ways */
	int kernel_rekey;		/* it takes new TLS 1.3 keys */
	unsigned verify;
	unsigned timeout_ms;
	int have_trust, have_cert;
	gnutls_priority_t prio;
	int psk_sha384;			/* clients: bind the PSK with SHA-384 */
	ktls_psk_lookup_fn psk_lookup;	/* servers: PSKs found by identity */
	void *psk_lookup_arg;
	int tickets;			/* ktls_config_set_tickets() */
	gnutls_datum_t ticket_key;	/* servers: GnuTLS's master ticket key */
	gnutls_datum_t ticket_prev;	/* servers: the key before a rotation */
	uint64_t rekey_limit;		/* ktls_send(): bytes per send key; 0 off */
	unsigned options;		/* KTLS_OPT_*, set after the install */
	int held, stale;		/* config_hold_priority(): prio is
					   made again on release */
};

/* The configuration of the ktls_session behind a GnuTLS session. */
const struct ktls_config *session_config(gnutls_session_t gs);

/* The socket and negotiated version of an installed session (-1/0 before). */
int session_fd(const struct ktls_session *s);
int session_version(const struct ktls_session *s);
enum ktls_role session_role(const struct ktls_session *s);

/*
 * How reading ended, kept for the session's life (record.c): after the
 * peer's close_notify every read is an end of file, after a fatal error
 * every read repeats it, whatever else the peer sends.
 */
struct ktls_rx_end {
	int eof;
	int err;
};
struct ktls_rx_end *session_rx_end(struct ktls_session *s);

/*
 * A client that asked for resumption, or one ktlsd made that ktlsd takes
 * tickets for: TLS 1.3 tickets read after the switch go to GnuTLS or back
 * to ktlsd (session_take_ticket), others are skipped.
 */
int session_wants_tickets(const struct ktls_session *s);
/*
 * Client, before the handshake: keep tickets from now on (the GnuTLS
 * session is made again without GNUTLS_NO_TICKETS if it had it). 0,
 * -EINVAL (not a client session that has not started) or -ENOMEM.
 */
int session_keep_tickets(struct ktls_session *s);
/* The GnuTLS session; NULL for a session handed over by ktlsd. */
gnutls_session_t session_gnutls(const struct ktls_session *s);
/*
 * Hand GnuTLS one whole NewSessionTicket message (header included) read
 * through the kernel. 0, -ENOMEM, or -EPROTO when GnuTLS refused it.
 */
int session_take_ticket(struct ktls_session *s, const uint8_t *msg,
			size_t len);
struct sockaddr_un;
/*
 * A session ktlsd made (adopt.c): where its TLS 1.3 ticket goes, the
 * token of the reply. Sent once, on a connection of its own, without
 * waiting for an answer; any failure just stops the sending.
 */
void session_set_ticket_sink(struct ktls_session *s,
			     const struct sockaddr_un *to, uint64_t token);
void session_ticket_back(struct ktls_session *s, const uint8_t *msg,
			 size_t len);

/*
 * ktls_send()'s count: bytes sent under the current send key, and the
 * configured limit (0: none). session_rekey() of the send side zeroes it.
 */
struct ktls_tx_count {
	uint64_t bytes;
	uint64_t limit;
};
struct ktls_tx_count *session_tx_count(struct ktls_session *s);

/*
 * Advance one direction (read: RX) to the next traffic secret and install
 * its key with sequence number 0 (install.c). 0 or -errno.
 */
int session_rekey(struct ktls_session *s, int read);

/*
 * A session in the installed state, built from ktlsd's reply for the
 * socket fd (adopt.c). 0, -EPROTO (impossible values in the reply) or
 * -ENOMEM.
 */
struct wire_reply;
int session_adopt(struct ktls_session **s, int fd, const struct wire_reply *r);


/* Rebuild cfg->prio after a change of versions, ciphers or PSK. */
int config_update_priority(struct ktls_config *cfg);

/* config_mem.c: PSK credentials, with SHA-384 binders where GnuTLS can. */
int config_psk_client_alloc(struct ktls_config *cfg);
int config_psk_server_alloc(struct ktls_config *cfg);

#endif
