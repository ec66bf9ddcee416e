// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel's reply to HANDSHAKE_CMD_ACCEPT, from a raw generic netlink
 * message: what libnl hands ktlsd's callback once it has checked that the
 * message fits the buffer (nlmsg_ok()) and is not a control message. The
 * request's fields must keep their bounds: a peer name is a C string of
 * host-name characters, the key serials fit their array.
 */
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>

#include "fuzz.h"
#include "ktlsd.h"
#include "upcall.h"

static void check_request(const struct upreq *r)
{
	struct profile p = { .server_name = "fuzz.test" };
	char name[300];
	size_t n;

	FUZZ_CHECK(r->n_peerids <= UPCALL_MAX_IDS);
	n = strnlen(r->peername, sizeof(r->peername));
	FUZZ_CHECK(n < sizeof(r->peername));
	FUZZ_CHECK(strcspn(r->peername, " \t\r\n/\\") == n);
	upcall_verify_name(r->peername, &p, -1, name, sizeof(name));
	FUZZ_CHECK(!strcmp(name, n ? r->peername : "fuzz.test"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlmsghdr hdr, *copy;
	struct nl_msg *msg;
	struct upreq *r;

	fuzz_verdict = 0;
	if (size < sizeof(hdr))
		return 0;
	memcpy(&hdr, data, sizeof(hdr));
	if (hdr.nlmsg_len < sizeof(hdr) || hdr.nlmsg_len > size ||
	    hdr.nlmsg_type < NLMSG_MIN_TYPE)
		return 0;
	/* libnl's recvmsgs() makes each message an nl_msg the same way. */
	copy = malloc(hdr.nlmsg_len);
	if (!copy)
		abort();
	memcpy(copy, data, hdr.nlmsg_len);
	msg = nlmsg_convert(copy);
	free(copy);
	r = calloc(1, sizeof(*r));
	if (!msg || !r)
		abort();
	r->sockfd = -1;
	upcall_parse_accept(msg, r);
	check_request(r);
	fuzz_verdict = r->sockfd >= 0;
	free(r);
	nlmsg_free(msg);
	return 0;
}
