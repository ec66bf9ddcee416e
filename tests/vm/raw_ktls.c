// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel-only baseline: kTLS with hand-set keys on a loopback TCP pair,
 * for TLS 1.2 and 1.3 and every cipher we support. Proves the test bed
 * (the VM kernel really encrypts and decrypts) and, through the wire test,
 * that what it sends is a TLS record that an independent AEAD (GnuTLS)
 * opens with the same keys.
 */
#include <fcntl.h>
#include <linux/tls.h>
#include <pthread.h>
#include <sys/sendfile.h>
#include <sys/wait.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "kselftest_harness.h"
#include "testutil.h"

union crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
	struct tls12_crypto_info_aes_ccm_128 ccm128;
};

struct cipher_desc {
	unsigned short type;
	size_t key_len, salt_len, iv_len, size;
	gnutls_cipher_algorithm_t gnutls;
};

static const struct cipher_desc ciphers[] = {
	{ TLS_CIPHER_AES_GCM_128, 16, 4, 8,
	  sizeof(struct tls12_crypto_info_aes_gcm_128),
	  GNUTLS_CIPHER_AES_128_GCM },
	{ TLS_CIPHER_AES_GCM_256, 32, 4, 8,
	  sizeof(struct tls12_crypto_info_aes_gcm_256),
	  GNUTLS_CIPHER_AES_256_GCM },
	{ TLS_CIPHER_CHACHA20_POLY1305, 32, 0, 12,
	  sizeof(struct tls12_crypto_info_chacha20_poly1305),
	  GNUTLS_CIPHER_CHACHA20_POLY1305 },
	{ TLS_CIPHER_AES_CCM_128, 16, 4, 8,
	  sizeof(struct tls12_crypto_info_aes_ccm_128),
	  GNUTLS_CIPHER_AES_128_CCM },
};

static const struct cipher_desc *cipher_find(unsigned short type)
{
	size_t i;

	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (ciphers[i].type == type)
			return &ciphers[i];
	return NULL;
}

/* Field pointers inside a crypto_info of any of our ciphers. */
static void crypto_fields(union crypto_info *ci, unsigned char **key,
			  unsigned char **salt, unsigned char **iv,
			  unsigned char **seq)
{
	switch (ci->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		*key = ci->gcm128.key; *salt = ci->gcm128.salt;
		*iv = ci->gcm128.iv; *seq = ci->gcm128.rec_seq;
		break;
	case TLS_CIPHER_AES_GCM_256:
		*key = ci->gcm256.key; *salt = ci->gcm256.salt;
		*iv = ci->gcm256.iv; *seq = ci->gcm256.rec_seq;
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		*key = ci->chacha.key; *salt = ci->chacha.salt;
		*iv = ci->chacha.iv; *seq = ci->chacha.rec_seq;
		break;
	default:
		*key = ci->ccm128.key; *salt = ci->ccm128.salt;
		*iv = ci->ccm128.iv; *seq = ci->ccm128.rec_seq;
		break;
	}
}

/*
 * Key material for one direction, derived from a seed by the test's own
 * pattern so that both ends (and the wire check) agree without a handshake.
 */
static void make_crypto_info(union crypto_info *ci, unsigned short version,
			     const struct cipher_desc *c, uint64_t seed)
{
	unsigned char *key, *salt, *iv, *seq;

	memset(ci, 0, sizeof(*ci));
	ci->info.version = version;
	ci->info.cipher_type = c->type;
	crypto_fields(ci, &key, &salt, &iv, &seq);
	fill_pattern(key, c->key_len, seed, 0);
	fill_pattern(salt, c->salt_len, seed, 100);
	fill_pattern(iv, c->iv_len, seed, 200);
	/* A non-zero starting sequence number, as after a handshake. */
	memset(seq, 0, 8);
	seq[7] = 3;
}

FIXTURE(ktls)
{
	int fd[2];		/* [0] connected, [1] accepted */
	int notls;
	union crypto_info ci[2]; /* keys for data sent by fd[0] / fd[1] */
};

FIXTURE_VARIANT(ktls)
{
	unsigned short version;
	unsigned short cipher;
};

#define VARIANT(name, ver, c)				\
	FIXTURE_VARIANT_ADD(ktls, name)			\
	{ .version = ver, .cipher = c }

VARIANT(12_aes_gcm_128, TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128);
VARIANT(12_aes_gcm_256, TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_256);
VARIANT(12_chacha20_poly1305, TLS_1_2_VERSION, TLS_CIPHER_CHACHA20_POLY1305);
VARIANT(12_aes_ccm_128, TLS_1_2_VERSION, TLS_CIPHER_AES_CCM_128);
VARIANT(13_aes_gcm_128, TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128);
VARIANT(13_aes_gcm_256, TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256);
VARIANT(13_chacha20_poly1305, TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305);
VARIANT(13_aes_ccm_128, TLS_1_3_VERSION, TLS_CIPHER_AES_CCM_128);

FIXTURE_SETUP(ktls)
{
	const struct cipher_desc *c = cipher_find(variant->cipher);
	int i, err;

	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, tcp_pair(self->fd));
	err = tcp_set_ulp_tls(self->fd[0]);
	if (err == -ENOENT) {
		self->notls = 1;
		return;
	}
	ASSERT_EQ(0, err) TH_LOG("TCP_ULP tls: %s", strerror(-err));
	ASSERT_EQ(0, tcp_set_ulp_tls(self->fd[1]));

	for (i = 0; i < 2; i++)
		make_crypto_info(&self->ci[i], variant->version, c, 1000 + i);
	/* fd[i] sends with ci[i]; its peer receives with the same keys. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, setsockopt(self->fd[i], SOL_TLS, TLS_TX,
					&self->ci[i], c->size))
			TH_LOG("TLS_TX: %s", strerror(errno));
		ASSERT_EQ(0, setsockopt(self->fd[!i], SOL_TLS, TLS_RX,
					&self->ci[i], c->size))
			TH_LOG("TLS_RX: %s", strerror(errno));
	}
}

FIXTURE_TEARDOWN(ktls)
{
	close(self->fd[0]);
	close(self->fd[1]);
}

#define REQUIRE_KTLS() do {						\
	if (self->notls)						\
		SKIP(return, "kTLS: TCP_ULP \"tls\" unavailable on %s", \
		     "this kernel");					\
} while (0)

TEST_F(ktls, small_both_ways)
{
	static const char ping[] = "ping through the kernel's record layer";
	static const char pong[] = "and the answer back";
	char buf[128];

	REQUIRE_KTLS();
	ASSERT_EQ((ssize_t)sizeof(ping), send(self->fd[0], ping, sizeof(ping), 0));
	ASSERT_EQ((ssize_t)sizeof(ping), read_full(self->fd[1], buf, sizeof(ping)));
	ASSERT_EQ(0, memcmp(buf, ping, sizeof(ping)));
	ASSERT_EQ((ssize_t)sizeof(pong), send(self->fd[1], pong, sizeof(pong), 0));
	ASSERT_EQ((ssize_t)sizeof(pong), read_full(self->fd[0], buf, sizeof(pong)));
	ASSERT_EQ(0, memcmp(buf, pong, sizeof(pong)));
}

TEST_F(ktls, one_byte_writes)
{
	unsigned char out[1000], in[1000];
	size_t i;

	REQUIRE_KTLS();
	fill_pattern(out, sizeof(out), 7, 0);
	for (i = 0; i < sizeof(out); i++)
		ASSERT_EQ(1, send(self->fd[0], &out[i], 1, 0));
	ASSERT_EQ((ssize_t)sizeof(in), read_full(self->fd[1], in, sizeof(in)));
	ASSERT_EQ(-1, check_pattern(in, sizeof(in), 7, 0));
}

struct writer {
	int fd;
	size_t len;
	uint64_t seed;
	ssize_t done;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	static __thread unsigned char buf[65536];
	size_t off = 0;

	while (off < w->len) {
		size_t n = w->len - off < sizeof(buf) ? w->len - off : sizeof(buf);

		fill_pattern(buf, n, w->seed, off);
		if (write_full(w->fd, buf, n) != (ssize_t)n)
			break;
		off += n;
	}
	w->done = off;
	return NULL;
}

/* Read len bytes of the pattern; returns the first bad offset or -1. */
static long long read_and_check(int fd, size_t len, uint64_t seed,
				size_t *got)
{
	static unsigned char buf[65536];
	long long bad = -1;

	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		if (bad < 0)
			bad = check_pattern(buf, n, seed, *got);
		*got += n;
	}
	return bad;
}

TEST_F_TIMEOUT(ktls, bulk_16m_both_ways, 300)
{
	const size_t len = 16 << 20;
	struct writer w[2] = {
		{ .fd = self->fd[0], .len = len, .seed = 11 },
		{ .fd = self->fd[1], .len = len, .seed = 12 },
	};
	pthread_t th[2];
	size_t got;
	int i;

	REQUIRE_KTLS();
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer_main, &w[i]));
	/* Each side's data is checked by the other side. */
	ASSERT_EQ(-1, read_and_check(self->fd[1], len, 11, &got));
	ASSERT_EQ(len, got);
	ASSERT_EQ(-1, read_and_check(self->fd[0], len, 12, &got));
	ASSERT_EQ(len, got);
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ASSERT_EQ((ssize_t)len, w[i].done);
	}
}

TEST_F_TIMEOUT(ktls, sendfile_8m, 300)
{
	const size_t len = 8 << 20;
	char path[] = "/tmp/ktls-sendfile-XXXXXX";
	unsigned char *buf;
	size_t got;
	off_t off = 0;
	pid_t pid;
	int file, status;

	REQUIRE_KTLS();
	file = mkstemp(path);
	ASSERT_LE(0, file);
	unlink(path);
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	fill_pattern(buf, len, 21, 0);
	ASSERT_EQ((ssize_t)len, write_full(file, buf, len));
	free(buf);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		while ((size_t)off < len)
			if (sendfile(self->fd[0], file, &off, len - off) <= 0)
				_exit(1);
		_exit(0);
	}
	ASSERT_EQ(-1, read_and_check(self->fd[1], len, 21, &got));
	ASSERT_EQ(len, got);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	close(file);
}

TEST_F(ktls, wrong_key_is_rejected)
{
	const struct cipher_desc *c = cipher_find(variant->cipher);
	union crypto_info bad = self->ci[1];
	unsigned char *key, *salt, *iv, *seq;
	char buf[64];
	int fd[2];

	REQUIRE_KTLS();
	/* A fresh pair whose receiver has one key bit flipped. */
	ASSERT_EQ(0, tcp_pair(fd));
	ASSERT_EQ(0, tcp_set_ulp_tls(fd[0]));
	ASSERT_EQ(0, tcp_set_ulp_tls(fd[1]));
	crypto_fields(&bad, &key, &salt, &iv, &seq);
	key[0] ^= 1;
	ASSERT_EQ(0, setsockopt(fd[0], SOL_TLS, TLS_TX, &self->ci[1], c->size));
	ASSERT_EQ(0, setsockopt(fd[1], SOL_TLS, TLS_RX, &bad, c->size));
	ASSERT_EQ(5, send(fd[0], "hello", 5, 0));
	ASSERT_EQ(-1, recv(fd[1], buf, sizeof(buf), 0));
	ASSERT_EQ(EBADMSG, errno);
	close(fd[0]);
	close(fd[1]);
}

/*
 * Open records written by the kernel with GnuTLS's AEAD, building nonce and
 * additional data by the RFCs (5246/5288, 6655, 7905 for TLS 1.2; 8446 for
 * TLS 1.3): the kernel's record layer must match them bit for bit.
 */
TEST_F(ktls, wire_records_open_with_gnutls)
{
	const struct cipher_desc *c = cipher_find(variant->cipher);
	union crypto_info ci = self->ci[0];
	unsigned char *key, *salt, *iv, *seqp;
	gnutls_aead_cipher_hd_t aead;
	gnutls_datum_t kd;
	uint64_t seq = 0;
	int fd[2], rec, i;

	REQUIRE_KTLS();
	ASSERT_EQ(0, tcp_pair(fd));
	ASSERT_EQ(0, tcp_set_ulp_tls(fd[0]));
	ASSERT_EQ(0, setsockopt(fd[0], SOL_TLS, TLS_TX, &ci, c->size));
	crypto_fields(&ci, &key, &salt, &iv, &seqp);
	for (i = 0; i < 8; i++)
		seq = seq << 8 | seqp[i];
	kd.data = key;
	kd.size = c->key_len;
	ASSERT_EQ(0, gnutls_aead_cipher_init(&aead, c->gnutls, &kd));

	for (rec = 0; rec < 3; rec++, seq++) {
		unsigned char msg[300], hdr[5], body[512], nonce[12], aad[13];
		unsigned char plain[512];
		size_t plen = sizeof(plain), blen, ctoff = 0, msglen;
		int tls13 = variant->version == TLS_1_3_VERSION;

		msglen = 100 + 50 * rec;
		fill_pattern(msg, msglen, 31, rec * 1000);
		ASSERT_EQ((ssize_t)msglen, send(fd[0], msg, msglen, 0));
		ASSERT_EQ(5, read_full(fd[1], hdr, 5));
		ASSERT_EQ(23, hdr[0]);	/* application_data */
		ASSERT_EQ(0x03, hdr[1]);
		ASSERT_EQ(0x03, hdr[2]);
		blen = hdr[3] << 8 | hdr[4];
		ASSERT_GE(sizeof(body), blen);
		ASSERT_EQ((ssize_t)blen, read_full(fd[1], body, blen));

		/* Per-record nonce. */
		if (c->salt_len) {
			memcpy(nonce, salt, 4);
			if (tls13) {
				memcpy(nonce + 4, iv, 8);
			} else {
				/* TLS 1.2 AES: the explicit nonce leads the record. */
				memcpy(nonce + 4, body, 8);
				ctoff = 8;
			}
		} else {
			memcpy(nonce, iv, 12);
		}
		if (tls13 || !c->salt_len)
			for (i = 0; i < 8; i++)
				nonce[4 + i] ^= (unsigned char)(seq >> (56 - 8 * i));

		if (tls13) {
			memcpy(aad, hdr, 5);
		} else {
			size_t ptlen = blen - ctoff - 16;

			for (i = 0; i < 8; i++)
				aad[i] = (unsigned char)(seq >> (56 - 8 * i));
			aad[8] = 23;
			aad[9] = 3;
			aad[10] = 3;
			aad[11] = (unsigned char)(ptlen >> 8);
			aad[12] = (unsigned char)ptlen;
		}
		ASSERT_EQ(0, gnutls_aead_cipher_decrypt(aead, nonce, 12, aad,
				tls13 ? 5 : 13, 16, body + ctoff, blen - ctoff,
				plain, &plen))
			TH_LOG("record %d does not open with the RFC nonce", rec);
		if (tls13) {
			/* TLSInnerPlaintext: content, then the real type. */
			ASSERT_EQ(msglen + 1, plen);
			ASSERT_EQ(23, plain[msglen]);
		} else {
			ASSERT_EQ(msglen, plen);
		}
		ASSERT_EQ(0, memcmp(plain, msg, msglen));
	}
	gnutls_aead_cipher_deinit(aead);
	close(fd[0]);
	close(fd[1]);
}

TEST_F(ktls, kernel_counts_sw_sessions)
{
	REQUIRE_KTLS();
	/* The fixture's two sockets hold software TX and RX contexts. */
	ASSERT_LE(2, tls_stat("TlsCurrTxSw"));
	ASSERT_LE(2, tls_stat("TlsCurrRxSw"));
}

TEST_HARNESS_MAIN
