// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Keys into the kernel: at the end of the handshake (TCP_ULP "tls", then
 * TLS_TX and TLS_RX from GnuTLS's record state) and at each TLS 1.3 key
 * update (the next traffic secret, derived here). Key material leaves
 * through one exit that wipes it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <gnutls/x509.h>

#include "session.h"

/* linux/tls.h of Linux 6.19+; older kernels answer ENOPROTOOPT. */
#ifndef TLS_TX_MAX_PAYLOAD_LEN
#define TLS_TX_MAX_PAYLOAD_LEN 5
#endif

/*
 * Before the keys go in: whether the kernel can keep to the peer's record
 * size limit (max bytes of data per record, 0: no limit to keep). A
 * kernel that cannot would send records the peer must refuse with
 * record_overflow, later, when the application believes it is connected:
 * the session fails now instead, with an alert (tlshd 1.4 fails these
 * with EIO too). 0 or the error.
 */
static int check_record_limit(struct ktls_session *s, unsigned max)
{
	uint16_t v;
	socklen_t len = sizeof(v);
	int e;

	if (!max || !getsockopt(s->fd, SOL_TLS, TLS_TX_MAX_PAYLOAD_LEN, &v, &len))
		return 0;
	e = errno;
	session_send_alert(s, KTLS_ALERT_LEVEL_FATAL, KTLS_ALERT_INTERNAL_ERROR);
	if (e == ENOPROTOOPT)
		return session_fail(s, -EMSGSIZE, "The peer takes records of at "
				    "most %u bytes of data (RFC 8449 record size "
				    "limit) and this kernel cannot keep to a limit: "
				    "that needs Linux 6.19 or later "
				    "(TLS_TX_MAX_PAYLOAD_LEN).", max);
	return session_fail(s, -e, "Reading the kernel's record size limit "
			    "failed: %s.", strerror(e));
}

/* After the keys, before any data: the peer's limit, kept by the kernel. */
static int set_record_limit(struct ktls_session *s, unsigned max)
{
	uint16_t v = max;
	int e;

	if (!max || !setsockopt(s->fd, SOL_TLS, TLS_TX_MAX_PAYLOAD_LEN, &v,
				sizeof(v)))
		return 0;
	e = errno;
	return session_fail(s, -e, "The kernel refused the peer's record size "
			    "limit (%u bytes of data per record): %s.", max,
			    strerror(e));
}

/* Keep application data that GnuTLS already decrypted. */
static int take_early_data(struct ktls_session *s)
{
	size_t pending;

	while ((pending = gnutls_record_check_pending(s->gs)) > 0) {
		unsigned char *p = realloc(s->early, s->early_len + pending);
		ssize_t n;

		if (!p)
			return -ENOMEM;
		s->early = p;
		n = gnutls_record_recv(s->gs, p + s->early_len, pending);
		if (n <= 0)
			return -EIO;
		s->early_len += n;
	}
	return 0;
}

static int install_dir(struct ktls_session *s, int read, int version,
		       unsigned cipher)
{
	gnutls_datum_t iv, key;
	unsigned char seq[8];
	union ktls_crypto_info ci;
	int size, ret = 0;

	if (gnutls_record_get_state(s->gs, read, NULL, &iv, &key, seq) < 0)
		return session_fail(s, -EIO, "GnuTLS gave no key material.");
	size = keys_crypto_info(&ci, version, cipher, key.data, key.size,
				iv.data, iv.size, seq);
	if (size < 0) {
		ret = session_fail(s, size, "Internal error mapping the %s key.",
				   read ? "receive" : "send");
		goto out;
	}
	if (setsockopt(s->fd, SOL_TLS, read ? TLS_RX : TLS_TX, &ci, size)) {
		int e = errno;

		if (e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP)
			ret = session_fail(s, -KTLS_E_CIPHER, "The kernel (%s) refused "
					   "%s for TLS %s: it lacks this cipher. Allow "
					   "another cipher.", read ? "RX" : "TX",
					   ktls_cipher_name(cipher),
					   version == KTLS_TLS13 ? "1.3" : "1.2");
		else
			ret = session_fail(s, -e, "Installing the %s key failed: %s.",
					   read ? "receive" : "send", strerror(e));
	}
out:
	gnutls_memset(&ci, 0, sizeof(ci));
	gnutls_memset(seq, 0, sizeof(seq));
	return ret;
}

void session_set_peer_sha256(struct ktls_session *s, const uint8_t *md)
{
	size_t i;

	memcpy(s->peer_sha256, md, sizeof(s->peer_sha256));
	s->have_peer_sha256 = 1;
	for (i = 0; i < sizeof(s->peer_sha256); i++)
		snprintf(s->info.peer_sha256 + 2 * i, 3, "%02x", md[i]);
}

void session_set_offload(struct ktls_session *s, enum ktls_offload tx,
			 enum ktls_offload rx)
{
	s->info.tx = tx;
	s->info.rx = rx;
}

void session_set_info(struct ktls_session *s, int version, unsigned cipher)
{
	struct ktls_info *in = &s->info;

	in->version = version;
	in->cipher = cipher;
	snprintf(s->cipher_name, sizeof(s->cipher_name), "%s",
		 ktls_cipher_name(cipher));
	in->cipher_name = s->cipher_name;
	in->group = s->group;
	in->sigalg = s->sigalg;
	in->alpn = s->alpn;
	in->sni = s->sni;
	in->peer_subject = s->peer_subject;
}

/* The peer certificate's subject and SHA-256 fingerprint, if it sent one. */
static void take_peer_cert(struct ktls_session *s)
{
	const gnutls_datum_t *peers;
	gnutls_x509_crt_t crt;
	unsigned char md[32];
	gnutls_datum_t d;
	unsigned n = 0;
	size_t len;

	peers = gnutls_certificate_get_peers(s->gs, &n);
	if (!peers || !n)
		return;
	if (!gnutls_x509_crt_init(&crt)) {
		if (!gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) &&
		    !gnutls_x509_crt_get_dn3(crt, &d, 0)) {
			s->peer_subject = strdup((char *)d.data);
			gnutls_free(d.data);
		}
		gnutls_x509_crt_deinit(crt);
	}
	len = sizeof(md);
	if (!gnutls_fingerprint(GNUTLS_DIG_SHA256, &peers[0], md, &len) &&
	    len == sizeof(s->peer_sha256))
		session_set_peer_sha256(s, md);
}

static void fill_info(struct ktls_session *s, int version, unsigned cipher,
		      const struct nic_count *before)
{
	struct ktls_info *in = &s->info;
	const char *name;
	gnutls_datum_t d;
	unsigned type;
	size_t len;

	name = gnutls_group_get_name(gnutls_group_get(s->gs));
	snprintf(s->group, sizeof(s->group), "%s", name ? name : "");
	name = gnutls_sign_get_name(gnutls_sign_algorithm_get(s->gs));
	snprintf(s->sigalg, sizeof(s->sigalg), "%s", name ? name : "");
	if (!gnutls_alpn_get_selected_protocol(s->gs, &d))
		snprintf(s->alpn, sizeof(s->alpn), "%.*s", (int)d.size, d.data);
	if (s->cfg->role == KTLS_CLIENT) {
		snprintf(s->sni, sizeof(s->sni), "%s",
			 s->server_name ? s->server_name : "");
	} else {
		len = sizeof(s->sni) - 1;
		if (gnutls_server_name_get(s->gs, s->sni, &len, &type, 0) < 0)
			s->sni[0] = 0;
	}
	take_peer_cert(s);
	session_set_info(s, version, cipher);
	in->resumed = gnutls_session_is_resumed(s->gs);
	/* No NIC took a direction (nic_count.c), or ask sock_diag. */
	if (nic_count_unmoved(s->fd, before))
		in->tx = in->rx = KTLS_OFFLOAD_SW;
	else if (sockinfo_tls_modes(s->fd, 0, s->diag_nl, &in->tx, &in->rx) < 0)
		in->tx = in->rx = KTLS_OFFLOAD_UNKNOWN;
}

/*
 * The record-layer options of opts that the kernel takes on fd, set after
 * the install (neither changes the keys): those in effect. One it lacks,
 * or no-pad on TLS 1.2, is left off, as ktls_config_set_kernel_options()
 * says. Zero-copy is set whatever does the crypto (harmless in software)
 * but only in effect, and so reported, with a NIC doing it, as the kernel
 * reports it (sock_diag).
 */
/*
 * Whether the kernel's no-pad receive reads padded records right: not on
 * 6.1, where a padded record was handed up with wrong bytes (measured,
 * tests/vm/options.c); right on 6.12 and 7.x. Below 6.12 it stays off.
 */
static int no_pad_safe(void)
{
	static int safe = -1;
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (safe < 0)
		safe = !uname(&u) &&
		       sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
		       (major > 6 || (major == 6 && minor >= 12));
	return safe;
}

static unsigned set_options(int fd, unsigned opts, int version,
			    enum ktls_offload tx)
{
	unsigned on = 0;
	int one = 1;

	if (opts & KTLS_OPT_ZEROCOPY_SENDFILE &&
	    !setsockopt(fd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &one, sizeof(one)) &&
	    tx == KTLS_OFFLOAD_HW)
		on |= KTLS_OPT_ZEROCOPY_SENDFILE;
	if (opts & KTLS_OPT_RX_NO_PAD && version == KTLS_TLS13 &&
	    no_pad_safe() &&
	    !setsockopt(fd, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &one, sizeof(one)))
		on |= KTLS_OPT_RX_NO_PAD;
	return on;
}

int session_install(struct ktls_session *s)
{
	struct nic_count before;
	unsigned cipher, limit;
	int version, ret;

	switch (gnutls_protocol_get_version(s->gs)) {
	case GNUTLS_TLS1_2:
		version = KTLS_TLS12;
		break;
	case GNUTLS_TLS1_3:
		version = KTLS_TLS13;
		break;
	default:
		return session_fail(s, -KTLS_E_HANDSHAKE, "Negotiated a TLS version "
				    "the kernel cannot carry.");
	}
	cipher = keys_cipher_from_gnutls(gnutls_cipher_get(s->gs));
	if (!cipher)
		return session_fail(s, -KTLS_E_CIPHER, "Negotiated cipher %s, which "
				    "kernel TLS cannot carry.",
				    gnutls_cipher_get_name(gnutls_cipher_get(s->gs)));
	ret = take_early_data(s);
	if (ret < 0)
		return session_fail(s, ret, "Reading data sent with the "
				    "handshake failed.");

	if (setsockopt(s->fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"))) {
		int e = errno;

		session_send_alert(s, KTLS_ALERT_LEVEL_FATAL,
				   KTLS_ALERT_INTERNAL_ERROR);
		if (e == ENOENT)
			return session_fail(s, -KTLS_E_NO_KTLS, "The kernel has no TLS "
					    "support: load the module (modprobe tls) or "
					    "use a kernel built with CONFIG_TLS.");
		if (e == ENOTCONN)
			return session_fail(s, -ENOTCONN, "The peer closed its side of "
					    "the connection right after the handshake; "
					    "the kernel takes over established "
					    "connections only.");
		return session_fail(s, -e, "Enabling kernel TLS on the socket "
				    "failed: %s.", strerror(e));
	}
	limit = reclimit_payload(&s->rl, version);
	ret = check_record_limit(s, limit);
	/*
	 * ktlsd's sessions (a kept sock_diag socket) only: the counts' file
	 * stays open, and a program may close descriptors it does not know.
	 * The ULP made the file if it was not there yet.
	 */
	before.ok = 0;
	if (!ret && s->diag_nl >= 0)
		nic_count_read(&before);
	if (!ret)
		ret = install_dir(s, 0, version, cipher);
	if (!ret)
		ret = install_dir(s, 1, version, cipher);
	if (!ret)
		ret = set_record_limit(s, limit);
	if (ret)
		return ret;
	fill_info(s, version, cipher, &before);
	s->info.options = set_options(s->fd, s->cfg->options, version,
				      s->info.tx);
	s->state = S_DONE;
	return 0;
}

int session_can_rekey(const struct ktls_session *s)
{
	return s->state == S_DONE && s->info.version == KTLS_TLS13 &&
	       s->secret_len && s->kernel_rekey;
}

int session_rekey(struct ktls_session *s, int read)
{
	uint8_t *secret = read ? s->secret_rx : s->secret_tx;
	unsigned cipher = s->info.cipher;
	size_t klen = keys_cipher_key_len(cipher);
	uint8_t key[32], iv[12], seq[8] = { 0 };
	union ktls_crypto_info ci;
	int ret, size = 0;

	if (!session_can_rekey(s) || klen > sizeof(key))
		return -EOPNOTSUPP;
	ret = keys_next_secret(cipher, secret, s->secret_len, secret);
	if (!ret)
		ret = keys_traffic_key_iv(cipher, secret, s->secret_len, key, klen,
					  iv, sizeof(iv));
	if (!ret)
		ret = size = keys_crypto_info(&ci, KTLS_TLS13, cipher, key, klen,
					      iv, sizeof(iv), seq);
	if (ret >= 0)
		ret = setsockopt(s->fd, SOL_TLS, read ? TLS_RX : TLS_TX, &ci, size)
			? -errno : 0;
	if (!ret && !read)
		s->tx.bytes = 0;
	gnutls_memset(key, 0, sizeof(key));
	gnutls_memset(iv, 0, sizeof(iv));
	gnutls_memset(&ci, 0, sizeof(ci));
	return ret;
}
