/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What ktlsd needs from libktls beyond the public API (ktls.h): the
 * session's secrets and peer details for handing it over, and the peer
 * address of a socket. Not installed, not exported from the shared
 * library; ktlsd and ktlsctl link libktls.a. lib/internal.h includes
 * this file.
 */
#ifndef KTLSD_LIB_API_H
#define KTLSD_LIB_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "ktls.h"

/*
 * fd's peer as a numeric address ("192.0.2.1", "2001:db8::1"; an
 * IPv4-mapped IPv6 address as IPv4, the way certificates name it) in buf
 * (INET6_ADDRSTRLEN bytes). 0, -EAFNOSUPPORT (not IP) or -errno.
 */
int sockinfo_peer_address(int fd, char *buf, size_t len);

/*
 * Whether fd's TCP connection is established: 0, -ENOTCONN, or -errno
 * when fd gives no TCP_INFO; on failure *msg (if msg) is a sentence for
 * the operator.
 */
int sockinfo_tcp_established(int fd, const char **msg);

/*
 * The offload of a socket named, not held: what ktlsd's handshake process
 * (without CAP_NET_ADMIN, which sock_diag wants for the ULP's details
 * before Linux 6.15) asks its supervisor. sockinfo_sockid(): fd's family
 * and sock_diag name (addresses, ports, cookie). sockinfo_offload_id():
 * that socket's modes, as sockinfo_offload() gives them, for a caller
 * with CAP_NET_ADMIN. 0 or -errno.
 */
struct inet_diag_sockid;
int sockinfo_sockid(int fd, int *family, struct inet_diag_sockid *id);
int sockinfo_offload_id(int family, const struct inet_diag_sockid *id,
			enum ktls_offload *tx, enum ktls_offload *rx);
/* Correct what a session reports of its offload (after the above). */
void session_set_offload(struct ktls_session *s, enum ktls_offload tx,
			 enum ktls_offload rx);

/* ---- sockinfo.c: every kTLS socket (ktlsctl status) ---- */

/* A TCP socket with the "tls" ULP, as sock_diag reports it. */
struct tls_sock {
	int family;			/* AF_INET, AF_INET6 */
	uint8_t src[16], dst[16];	/* addresses, network order */
	uint16_t sport, dport;		/* ports, host order */
	uint8_t state;			/* TCP_ESTABLISHED, ... */
	uint32_t uid, inode;		/* the socket's owner and inode */
	unsigned version, cipher;	/* TLS_1_3_VERSION, TLS_CIPHER_*; 0 */
	unsigned txconf, rxconf;	/* TLS_CONF_*: BASE (off), SW, HW... */
	int zc_sendfile, rx_no_pad;	/* the TLS_TX_ZEROCOPY_RO, TLS_RX_EXPECT_NO_PAD flags */
	int details;			/* the kernel's TLS block was there */
};

typedef int (*tls_sock_fn)(const struct tls_sock *s, void *arg);
/*
 * Call fn for every TCP socket of this network namespace (IPv4, then
 * IPv6) that sock_diag shows with the "tls" ULP; fn's nonzero return ends
 * the walk and is returned. 0 or -errno. Sockets of every user are listed
 * to anyone, but before Linux 6.15 the kernel shows the ULP to
 * CAP_NET_ADMIN only, and without it this finds none: ask
 * sockinfo_tls_visible().
 */
int sockinfo_tls_sockets(tls_sock_fn fn, void *arg);
/*
 * Whether sock_diag shows us the TLS details of sockets, tried on a
 * socket pair of our own: 1, 0 (withheld: no CAP_NET_ADMIN before 6.15),
 * or -errno: -ENOENT when the kernel has no "tls" ULP (none loaded).
 */
int sockinfo_tls_visible(void);

/* ---- tls_stat.c: the kernel's kTLS counters (/proc/net/tls_stat) ---- */

#define TLS_STAT_PATH "/proc/net/tls_stat"

typedef int (*tls_stat_fn)(const char *name, unsigned long long value,
			   void *arg);
/*
 * Call fn for each "Name value" line of path (NULL: TLS_STAT_PATH), in the
 * file's order; names are letters and digits only (others are skipped).
 * Returns how many lines fn saw, fn's first nonzero return (which ends
 * the walk), or -errno from opening the file: -ENOENT when the tls module
 * is not loaded.
 */
int tls_stat_read(const char *path, tls_stat_fn fn, void *arg);
/* The same for the file's text in buf (NUL-terminated; cut into lines). */
int tls_stat_parse(char *buf, tls_stat_fn fn, void *arg);
/* What counter name counts, as a sentence fragment; NULL if unknown. */
const char *tls_stat_meaning(const char *name);

/*
 * ktlsd's sessions: ktls_session_new() without its socket checks (ktlsd
 * made them: handoff_req.c, upcall.c). Unless may_block, the handshake
 * never waits whatever fd's O_NONBLOCK (every read and write uses
 * MSG_DONTWAIT; a step ends with -EAGAIN), so the application's file
 * flags stay untouched. The offload report after the install asks
 * sock_diag on diag_nl, a NETLINK_SOCK_DIAG socket the caller keeps and
 * uses from one thread at a time (-1: one of the session's own), unless
 * the kernel's counts of NIC installs tell it (nic_count.c; with a
 * diag_nl of the caller's only: it keeps /proc/net/tls_stat open). 0,
 * -EINVAL or -ENOMEM.
 */
int session_new_daemon(struct ktls_session **s, const struct ktls_config *cfg,
		       int fd, int may_block, int diag_nl);

/*
 * One whole TLS 1.3 NewSessionTicket message (header included) into a
 * GnuTLS client session after its handshake, one that is no ktls_session's:
 * ktlsd keeps them for the tickets programs send back. 0, -ENOMEM, or
 * -EPROTO when GnuTLS refused it.
 */
int session_gnutls_ticket(gnutls_session_t gs, const uint8_t *msg,
			  size_t len);
/*
 * Resumption data of a GnuTLS client session once a ticket is in
 * (gnutls_free() it, wiped first): 0, -EAGAIN (no ticket yet), -ENOMEM,
 * -EIO.
 */
int session_gnutls_data(gnutls_session_t gs, gnutls_datum_t *d);
/*
 * ktlsd: take the GnuTLS session out of s (s keeps none; free it as
 * usual). NULL if it has none.
 */
gnutls_session_t session_take_gnutls(struct ktls_session *s);

/* Whether the kernel and the session can move to the next TLS 1.3 keys. */
int session_can_rekey(const struct ktls_session *s);

/*
 * TLS 1.3 traffic secrets of an installed session, for handing it over:
 * sets *tx and *rx (the session's own, wiped when it is freed) and returns
 * their length; 0 for TLS 1.2 or before the switch.
 */
int session_secrets(const struct ktls_session *s, const uint8_t **tx,
		    const uint8_t **rx);
/*
 * The peer's certificate chain (DER, leaf first) after a successful
 * handshake, owned by the session; NULL with *n = 0 when there is none.
 */
const gnutls_datum_t *session_peer_certs(const struct ktls_session *s,
					 unsigned *n);
/*
 * The SHA-256 fingerprint of the peer's certificate (ktls_info's
 * peer_sha256, in bytes) into out after a successful handshake. 0, or
 * -ENOENT when there is none.
 */
int session_peer_sha256(const struct ktls_session *s, uint8_t out[32]);

/*
 * Building a configuration with many setters: from hold to release the
 * setters leave its GnuTLS priorities alone, and release makes them once
 * (a parse costs more than most setters). No session may be made from cfg
 * in between. Release returns what the last setter's remaking would have:
 * 0 or a negative error.
 */
void config_hold_priority(struct ktls_config *cfg);
int config_release_priority(struct ktls_config *cfg);

/*
 * Tests of ktlsd's sock_diag paths: the offload report always asks
 * sock_diag, never the kernel's counts (nic_count.c). Before any session.
 */
void nic_count_disable(void);
/*
 * ktlsd's handshake process at its start: the counts' file opened now (if
 * the kernel has TLS), so that it is among the descriptors a fresh process
 * holds rather than one that appears at the first handshake.
 */
void nic_count_open(void);

/* ---- config_mem.c: keys held elsewhere ---- */

/*
 * A certificate chain (PEM or DER, leaf first) with a private key that
 * may sign elsewhere (gnutls_privkey_import_ext4()): cfg owns key on
 * success, the caller still does on failure. 0, -EINVAL, or
 * -KTLS_E_CONFIG when the chain does not parse or does not match the key.
 */
int config_add_cert_privkey(struct ktls_config *cfg, const void *cert,
			    size_t cert_len, gnutls_privkey_t key);

/* ---- config_mem.c: PSKs for SHA-384 suites ---- */

/*
 * Whether this GnuTLS binds external PSKs with SHA-384 (3.8.11 and
 * later): 1 or 0. Without it a PSK made for SHA-384 suites never matches.
 */
int config_psk_sha384_supported(void);
/*
 * Before ktls_config_set_psk() on a client: the PSK is for SHA-384 suites
 * (TLS_AES_256_GCM_SHA384). 0, -EINVAL (a PSK set already), -EOPNOTSUPP
 * (this GnuTLS cannot).
 */
int config_set_psk_sha384(struct ktls_config *cfg);

/* ---- util.c: files ---- */

/* All len bytes of buf to fd, through EINTR and short writes: 0 or -errno. */
int util_write_all(int fd, const void *buf, size_t len);

/*
 * A new file beside path, named path.tmp-XXXXXX into tmp (PATH_MAX bytes):
 * created exclusively (a name nobody could prepare), mode 0600, O_CLOEXEC.
 * Its descriptor, or -errno.
 */
int util_temp_beside(const char *path, char *tmp);

/*
 * path replaced whole by data: written to util_temp_beside(), given mode,
 * synced first if durable, then renamed over path, so a reader sees the
 * old file or the new one. 0 or -errno; no temporary file is left.
 */
int util_replace_file(const char *path, const void *data, size_t len,
		      mode_t mode, int durable);

#endif
