// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The RX_TCP receiver's check of the records it reads off TCP (datapath.c
 * says why): headers, lengths, and one record in CHECK_EVERY decrypted.
 */
#include <sys/mman.h>

#include <gnutls/crypto.h>

#include "bench.h"

void rx_check_init(struct rx_check *c, const unsigned char *key,
		   const unsigned char *iv, uint64_t seq, int file, size_t len)
{
	gnutls_datum_t k = { (unsigned char *)key, KEY_LEN };

	memset(c, 0, sizeof(*c));
	if (gnutls_aead_cipher_init(&c->aead, GNUTLS_CIPHER_AES_128_GCM, &k) < 0)
		die("gnutls_aead_cipher_init failed");
	memcpy(c->iv, iv, NONCE_LEN);
	c->seq = seq;
	c->len = len;
	c->want = mmap(NULL, len, PROT_READ, MAP_SHARED, file, 0);
	if (c->want == MAP_FAILED)
		die("mapping the data file: %s", strerror(errno));
}

void rx_check_free(struct rx_check *c)
{
	gnutls_aead_cipher_deinit(c->aead);
	munmap((void *)c->want, c->len);
	explicit_bzero(c->iv, sizeof(c->iv));
}

static void rx_header(struct rx_check *c)
{
	const unsigned char *h = c->rec;
	size_t len = (size_t)h[3] << 8 | h[4];

	if (h[0] != REC_DATA || h[1] != 3 || h[2] != 3 ||
	    len < REC_OVERHEAD || len > REC_MAX_CT)
		die("record %lu (after %zu bytes of data): header %02x %02x%02x "
		    "length %zu is not a TLS 1.3 record", c->records, c->got,
		    h[0], h[1], h[2], len);
	c->rec_len = REC_HDR + len;
	/* Every record up to the first data (a ticket may come first). */
	c->keep = !c->data_seen || c->records % CHECK_EVERY == 0 ||
		  c->got + len - REC_OVERHEAD >= c->len;
}

/* Decrypt the record in c->rec: its bytes must be the file's, in order. */
static void rx_decrypt(struct rx_check *c)
{
	static unsigned char pt[REC_MAX_CT];
	unsigned char nonce[NONCE_LEN], type;
	size_t n = sizeof(pt);
	int i, ret;

	memcpy(nonce, c->iv, NONCE_LEN);
	for (i = 0; i < 8; i++)
		nonce[NONCE_LEN - 8 + i] ^= (unsigned char)(c->seq >> (56 - 8 * i));
	ret = gnutls_aead_cipher_decrypt(c->aead, nonce, NONCE_LEN, c->rec,
					 REC_HDR, 16, c->rec + REC_HDR,
					 c->rec_len - REC_HDR, pt, &n);
	if (ret < 0)
		die("record %lu (sequence %llu) does not decrypt: %s", c->records,
		    (unsigned long long)c->seq, gnutls_strerror(ret));
	while (n && !pt[n - 1])
		n--;		/* TLS 1.3 padding */
	if (!n)
		die("record %lu has no content type", c->records);
	type = pt[--n];
	if (type == REC_HANDSHAKE && !c->data_seen)
		return;
	if (type != REC_DATA)
		die("record %lu: content type %u among the data", c->records, type);
	if (n > c->len - c->got || memcmp(pt, c->want + c->got, n))
		die("record %lu: its %zu bytes are not the file's at offset %zu",
		    c->records, n, c->got);
	c->got += n;
	c->data_seen = 1;
	c->checked++;
}

static void rx_record(struct rx_check *c)
{
	if (c->keep)
		rx_decrypt(c);
	else
		c->got += c->rec_len - REC_HDR - REC_OVERHEAD;
	if (c->got > c->len)
		die("record %lu: more data than the %zu bytes sent", c->records,
		    c->len);
	c->records++;
	c->seq++;
	c->have = 0;
}

/* Take n bytes off the wire: headers checked, kept records collected. */
void rx_feed(struct rx_check *c, const unsigned char *p, size_t n)
{
	while (n) {
		size_t take;

		if (c->have < REC_HDR) {
			take = REC_HDR - c->have < n ? REC_HDR - c->have : n;
			memcpy(c->rec + c->have, p, take);
			c->have += take;
			if (c->have == REC_HDR)
				rx_header(c);
		} else {
			take = c->rec_len - c->have < n ? c->rec_len - c->have : n;
			if (c->keep)
				memcpy(c->rec + c->have, p, take);
			c->have += take;
			if (c->have == c->rec_len)
				rx_record(c);
		}
		p += take;
		n -= take;
	}
}
