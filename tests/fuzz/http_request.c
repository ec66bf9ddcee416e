// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The example file server's request parser (examples/fileserver/http.c),
 * driven as a client thread drives it (serve.c): what arrived, stray CRLFs
 * skipped, one head after another while complete heads are there. A
 * request it accepts names a path that stays beneath the root.
 */
#include <string.h>

#include "fuzz.h"
#include "fileserver.h"

/* serve.c's buffer: a head, and the byte parse_request() may end it with. */
static char buf[HEAD_MAX + 1];

static void check_served(const struct request *r)
{
	const char *seg;
	char out[1024];

	FUZZ_CHECK(!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"));
	FUZZ_CHECK(r->path[0] == '/' && strlen(r->path) < sizeof(r->path));
	for (seg = r->path; seg; seg = strchr(seg + 1, '/'))
		FUZZ_CHECK(strncmp(seg, "/..", 3) || (seg[3] && seg[3] != '/'));
	FUZZ_CHECK(r->minor >= 0 && r->minor <= 9);
	FUZZ_CHECK(format_head(out, sizeof(out), 200,
			       content_type(r->path), 0, r->keep) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size < HEAD_MAX ? size : HEAD_MAX, skip, head;
	struct request r;
	int status, first = 1;
	char next;

	fuzz_verdict = 0;
	memcpy(buf, data, len);
	for (;;) {
		for (skip = 0; skip < len &&
		     (buf[skip] == '\r' || buf[skip] == '\n'); skip++)
			;
		memmove(buf, buf + skip, len - skip);
		len -= skip;
		head = head_end(buf, len);
		if (!head)
			break;
		FUZZ_CHECK(head <= len);
		next = buf[head];
		status = parse_request(buf, head, &r);
		buf[head] = next;
		if (!status) {
			check_served(&r);
		} else {
			FUZZ_CHECK(status >= 400 && status <= 505 &&
				   strcmp(reason(status),
					  "Internal Server Error"));
			if (status != 405 && status != 403 && status != 404)
				r.keep = 0;
		}
		if (first)
			fuzz_verdict = !status;
		first = 0;
		memmove(buf, buf + head, len - head);
		len -= head;
		if (!r.keep)
			break;
	}
	return 0;
}
