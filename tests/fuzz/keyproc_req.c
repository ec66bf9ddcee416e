// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key process's request parser (daemon/ktlsd/keyproc_srv.c), as a
 * compromised handshake process could drive it: an input is a sequence
 * of packets, each a 2-byte length (little-endian) then that many bytes,
 * sent to a key process that loaded tests/fuzz/data/key.pem as key 1 and
 * was sealed, as ktlsd leaves it. Each packet's reply must be well formed
 * and answer that packet; a malformed packet ends the input, as it ends
 * the connection. fuzz_verdict: every packet was accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fuzz.h"
#include "keyproc.h"
#include "ktlsd.h"

static char key_path[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A file after SEAL is logged each time: not what is looked at here. */
	log_open(1, LOG_ERR);
	snprintf(key_path, sizeof(key_path), "%s/data/key.pem", FUZZ_SRC);
	return 0;
}

static void check_reply(const uint8_t *req, const uint8_t *reply, size_t len)
{
	struct keyproc_hdr rq, h;
	int32_t err;

	FUZZ_CHECK(len >= KP_HDR_LEN && len <= KP_MSG_MAX);
	memcpy(&rq, req, KP_HDR_LEN);
	memcpy(&h, reply, KP_HDR_LEN);
	FUZZ_CHECK(h.id == rq.id && !h.zero);
	FUZZ_CHECK(h.len == len - KP_HDR_LEN);
	switch (h.type) {
	case KP_OK:
		FUZZ_CHECK(h.len == 0);
		FUZZ_CHECK(rq.type == KP_SEAL || rq.type == KP_DROP ||
			   rq.type == KP_LANE);
		break;
	case KP_LOADED:
		FUZZ_CHECK(h.len == sizeof(struct kp_loaded));
		FUZZ_CHECK(rq.type == KP_LOAD);
		break;
	case KP_SIGNATURE:
		FUZZ_CHECK(h.len > 0 && h.len <= KP_SIG_MAX);
		FUZZ_CHECK(rq.type == KP_SIGN);
		break;
	case KP_ERROR:
		FUZZ_CHECK(h.len == sizeof(err));
		memcpy(&err, reply + KP_HDR_LEN, sizeof(err));
		FUZZ_CHECK(err < 0 && err > -4096);
		break;
	default:
		FUZZ_CHECK(!"a reply of an unknown type");
	}
}

/* The key and SEAL, through the parser as ktlsd sends them. */
static int prepare(struct keyproc_srv *s, uint8_t *reply)
{
	static uint8_t msg[KP_MSG_MAX];
	struct keyproc_hdr h = { .type = KP_LOAD, .id = 1 };
	uint32_t src = KP_SRC_FILE;
	const char *why;
	size_t n, rlen;

	n = strlen(key_path);
	h.len = sizeof(src) + n;
	memcpy(msg, &h, KP_HDR_LEN);
	memcpy(msg + KP_HDR_LEN, &src, sizeof(src));
	memcpy(msg + KP_HDR_LEN + sizeof(src), key_path, n);
	if (keyproc_srv_handle(s, msg, KP_HDR_LEN + h.len, reply, &rlen, &why) ||
	    ((struct keyproc_hdr *)reply)->type != KP_LOADED)
		return -1;
	h = (struct keyproc_hdr){ .type = KP_SEAL, .id = 2 };
	memcpy(msg, &h, KP_HDR_LEN);
	return keyproc_srv_handle(s, msg, KP_HDR_LEN, reply, &rlen, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t reply[KP_MSG_MAX];
	struct keyproc_srv *s = keyproc_srv_new();
	const char *why;
	size_t len, rlen;
	uint8_t *pkt;
	int ret = 0;

	fuzz_verdict = 0;
	FUZZ_CHECK(s && !prepare(s, reply));
	while (size >= 2 && !ret) {
		len = data[0] | data[1] << 8;
		data += 2;
		size -= 2;
		if (len > size)
			break;
		/* Its own buffer, exactly as long: a read past it is seen. */
		pkt = malloc(len ? len : 1);
		FUZZ_CHECK(pkt);
		memcpy(pkt, data, len);
		why = NULL;
		ret = keyproc_srv_handle(s, pkt, len, reply, &rlen, &why);
		FUZZ_CHECK(ret == 0 || (ret == -EBADMSG && why));
		if (!ret)
			check_reply(pkt, reply, rlen);
		free(pkt);
		data += len;
		size -= len;
	}
	fuzz_verdict = !ret && !size;
	keyproc_srv_free(s);
	return 0;
}
